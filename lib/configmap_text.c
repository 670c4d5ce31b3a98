// SPDX-License-Identifier: Apache-2.0
/* Config values and keys as text, for the messages of configmap.c and the
 * tables configmap_print.c writes: durations and sizes in their largest
 * exact unit, quoted values, type names, bounds and what a key expects. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/configmap.h"

void configmap__quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, i;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (i = 0; s[i] && o + 8 < len && i < CONFIGMAP_QUOTE_MAX; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += snprintf(buf + o, len - o, "\\x%02x", c);
		} else {
			buf[o++] = c;
		}
	}
	if (s[i]) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

void configmap__format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{ "h", 3600000000000ULL },
		{ "m", 60000000000ULL },
		{ "s", 1000000000ULL },
		{ "ms", 1000000 },
		{ "us", 1000 },
	};
	size_t i;

	if (!ns) {
		snprintf(buf, len, "0s");
		return;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns % units[i].ns == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", ns / units[i].ns,
				 units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64 "ns", ns);
}

void configmap__format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "TiB", "GiB", "MiB", "KiB" };
	size_t i;

	for (i = 0; bytes && i < 4; i++) {
		unsigned shift = 40 - 10 * i;

		if (bytes % (1ULL << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", bytes >> shift,
				 units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, bytes);
}

/* ---- what a key expects --------------------------------------------- */

const char *configmap__type_name(enum tgprof_config_type type)
{
	switch ((int)type) {
	case TGPROF_CONFIG_BOOL:
		return "bool";
	case TGPROF_CONFIG_INT:
		return "int";
	case TGPROF_CONFIG_DURATION:
		return "duration";
	case TGPROF_CONFIG_SIZE:
		return "size";
	case TGPROF_CONFIG_STRING:
		return "string";
	case TGPROF_CONFIG_STRING_LIST:
		return "string list";
	case TGPROF_CONFIG_INT_LIST:
		return "int list";
	case CONFIGMAP_STRING_MAP:
		return "string map";
	}
	return "unknown";
}

void configmap__format_value(enum tgprof_config_type type, int64_t v, char *buf,
			     size_t len)
{
	if (type == TGPROF_CONFIG_DURATION && v >= 0)
		configmap__format_duration(v, buf, len);
	else if (type == TGPROF_CONFIG_SIZE && v >= 0)
		configmap__format_size(v, buf, len);
	else
		snprintf(buf, len, "%" PRId64, v);
}

bool configmap__has_bounds(const struct tgprof_config_key *k)
{
	switch ((int)k->type) {
	case TGPROF_CONFIG_INT:
	case TGPROF_CONFIG_DURATION:
	case TGPROF_CONFIG_SIZE:
	case TGPROF_CONFIG_INT_LIST:
		return true;
	}
	return false;
}

/* "1..10000", "at least 1", "at most 5", or "" for the numeric types. */
static void range_text(const struct tgprof_config_key *k, char *buf, size_t len)
{
	char lo[32], hi[32];

	buf[0] = '\0';
	if (!configmap__has_bounds(k))
		return;
	configmap__format_value(k->type, k->min, lo, sizeof(lo));
	configmap__format_value(k->type, k->max, hi, sizeof(hi));
	if (k->min != INT64_MIN && k->max != INT64_MAX)
		snprintf(buf, len, "%s..%s", lo, hi);
	else if (k->min != INT64_MIN)
		snprintf(buf, len, "at least %s", lo);
	else if (k->max != INT64_MAX)
		snprintf(buf, len, "at most %s", hi);
}

/* "gzip, none" from "gzip|none". */
static void choices_text(const char *choices, char *buf, size_t len)
{
	size_t o = 0;
	const char *c;

	for (c = choices; *c && o + 3 < len; c++) {
		if (*c == '|') {
			buf[o++] = ',';
			buf[o++] = ' ';
		} else {
			buf[o++] = *c;
		}
	}
	buf[o] = '\0';
}

void configmap__bounds_text(const struct tgprof_config_key *key,
			    const struct configmap_field *field, char *buf,
			    size_t len)
{
	bool list = key->type == TGPROF_CONFIG_STRING_LIST ||
		    key->type == TGPROF_CONFIG_INT_LIST ||
		    key->type == CONFIGMAP_STRING_MAP;
	char range[96] = "";
	size_t o;

	if (field && field->choices) {
		choices_text(field->choices, range, sizeof(range));
		snprintf(buf, len, "%s%s", list ? "each one of " : "one of ",
			 range);
		return;
	}
	range_text(key, range, sizeof(range));
	if (list && *range) {
		snprintf(buf, len, "each %s", range);
	} else {
		snprintf(buf, len, "%s", range);
	}
	o = strlen(buf);
	if (field && list && field->max_items && o < len)
		snprintf(buf + o, len - o, "%sat most %u %s", o ? ", " : "",
			 field->max_items,
			 key->type == CONFIGMAP_STRING_MAP ? "entries" :
							     "items");
	o = strlen(buf);
	if (field && field->max_len && !field->choices && o < len &&
	    key->type != TGPROF_CONFIG_INT_LIST)
		snprintf(buf + o, len - o, "%sup to %u bytes%s", o ? ", " : "",
			 field->max_len, list ? " each" : "");
}

/* What one value (a list element, a map value) of @k must be. */
void configmap__expected_text(const struct tgprof_config_key *k,
			      const struct configmap_field *f, char *buf,
			      size_t len)
{
	char range[96];

	range_text(k, range, sizeof(range));
	if (f && f->choices) {
		char c[160];

		choices_text(f->choices, c, sizeof(c));
		snprintf(buf, len, "one of %s", c);
		return;
	}
	switch ((int)k->type) {
	case TGPROF_CONFIG_BOOL:
		snprintf(buf, len, "true or false");
		break;
	case TGPROF_CONFIG_INT:
	case TGPROF_CONFIG_INT_LIST:
		snprintf(buf, len, "an integer%s%s", *range ? " in " : "",
			 range);
		break;
	case TGPROF_CONFIG_DURATION:
		snprintf(buf, len, "a duration%s%s (like 250ms, 5s, 2m)",
			 *range ? " in " : "", range);
		break;
	case TGPROF_CONFIG_SIZE:
		snprintf(buf, len, "a size%s%s (like 512KiB, 8MiB)",
			 *range ? " in " : "", range);
		break;
	default:
		snprintf(buf, len, "a string");
		break;
	}
}
