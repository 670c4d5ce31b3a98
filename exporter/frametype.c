// SPDX-License-Identifier: Apache-2.0
/* Frame types: profile.frame.type values in, folded-stack marks out, and
 * back (frametype.h). The known types and their marks are one table. */
#include <string.h>

#include "exporter/frametype.h"

static const struct {
	const char *type; /* profile.frame.type, or the inlined mark's name */
	const char *suffix;
} known[FRAMETYPE_NKINDS] = {
	[FRAMETYPE_K_NATIVE] = { FRAMETYPE_NATIVE, "" },
	[FRAMETYPE_K_INLINED] = { FRAMETYPE_INLINED, "_[i]" },
	[FRAMETYPE_K_KERNEL] = { FRAMETYPE_KERNEL, "_[k]" },
	[FRAMETYPE_K_JIT] = { FRAMETYPE_JIT, "_[j]" },
	[FRAMETYPE_K_CPYTHON] = { FRAMETYPE_CPYTHON, "_[p]" },
	[FRAMETYPE_K_OTHER] = { FRAMETYPE_OTHER, NULL },
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '-';
}

const char *frametype__name(const char *type, char *buf,
			    enum frametype_kind *ret_kind)
{
	enum frametype_kind k = FRAMETYPE_K_NATIVE;
	size_t i;

	if (ret_kind)
		*ret_kind = FRAMETYPE_K_OTHER;
	if (!type || !*type) {
		if (ret_kind)
			*ret_kind = k;
		return FRAMETYPE_NATIVE;
	}
	/* "inlined" is a mark, not a value a producer sends. */
	for (k = FRAMETYPE_K_NATIVE; k < FRAMETYPE_K_OTHER; k++) {
		if (k == FRAMETYPE_K_INLINED || strcmp(type, known[k].type))
			continue;
		if (ret_kind)
			*ret_kind = k;
		return known[k].type;
	}
	for (i = 0; type[i] && i < FRAMETYPE_MAX_NAME; i++)
		buf[i] = name_char(type[i]) ? type[i] : '_';
	buf[i] = '\0';
	return i > 1 ? buf : FRAMETYPE_OTHER;
}

const char *frametype__suffix(const char *type, char *buf)
{
	char name[FRAMETYPE_MAX_NAME + 1];
	enum frametype_kind k;
	const char *n = frametype__name(type, name, &k);
	size_t len;

	if (k != FRAMETYPE_K_OTHER)
		return known[k].suffix;
	len = strlen(n);
	buf[0] = '_';
	buf[1] = '[';
	memcpy(buf + 2, n, len);
	buf[len + 2] = ']';
	buf[len + 3] = '\0';
	return buf;
}

void frametype__parse(const char *frame, size_t len, struct frametype_mark *ret)
{
	size_t i, n;
	enum frametype_kind k;

	*ret = (struct frametype_mark){ .kind = FRAMETYPE_K_NATIVE,
					.name = FRAMETYPE_NATIVE,
					.name_len =
						sizeof(FRAMETYPE_NATIVE) - 1,
					.base_len = len };
	if (len < 4 || frame[len - 1] != ']')
		return;
	/* The name runs back from the ']' to the "_[" that opens it. */
	for (i = len - 1; i > 0 && name_char(frame[i - 1]); i--)
		;
	n = len - 1 - i;
	if (!n || n > FRAMETYPE_MAX_NAME || i < 2 || frame[i - 1] != '[' ||
	    frame[i - 2] != '_')
		return;
	/* "_[" also satisfies name_char for '_': the loop stopped at '['. */
	ret->base_len = i - 2;
	for (k = FRAMETYPE_K_INLINED; k < FRAMETYPE_K_OTHER; k++) {
		if (strlen(known[k].suffix) == n + 3 &&
		    !memcmp(known[k].suffix + 2, frame + i, n)) {
			ret->kind = k;
			ret->name = known[k].type;
			ret->name_len = strlen(known[k].type);
			return;
		}
	}
	ret->kind = FRAMETYPE_K_OTHER;
	ret->name = frame + i;
	ret->name_len = n;
}

const char *frametype__kind_name(enum frametype_kind kind)
{
	if ((unsigned int)kind >= FRAMETYPE_NKINDS)
		return FRAMETYPE_OTHER;
	return known[kind].type;
}
