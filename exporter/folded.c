// SPDX-License-Identifier: Apache-2.0
/* Folded-stack aggregation: OTLP requests (through otlp_folded.c) or a
 * folded file feed stacks in; `tgprof record` and the file exporter write
 * them as stacks.folded and compute the flame graph and the top-functions
 * report from them. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/folded.h"
#include "lib/htab.h"
#include "lib/sat.h"

#define FOLDED_DEFAULT_MAX_STACKS 1000000
/* folded__read() skips longer lines (the '\n' excluded) ... */
#define FOLDED_MAX_LINE (1024 * 1024)
/* ... so no stack is stored that could not be read back with its count. */
#define FOLDED_MAX_STACK (FOLDED_MAX_LINE - 32)

struct folded_stack {
	struct htab_node node;
	uint64_t count;
	size_t len;
	char stack[]; /* NUL-terminated */
};

struct folded {
	struct htab stacks; /* of struct folded_stack */
	size_t max_stacks; /* the overflow stack is not counted against it */
	bool has_overflow_stack;
	uint64_t total;
	uint64_t overflow;
	/* Scratch for formatting one stack; grows up to FOLDED_MAX_STACK. */
	struct folded_line line;
};

struct folded *folded__new(size_t max_stacks)
{
	struct folded *f;

	f = calloc(1, sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->max_stacks = max_stacks ? max_stacks : FOLDED_DEFAULT_MAX_STACKS;
	f->line = FOLDED_LINE_INIT(FOLDED_MAX_STACK);
	return f;
}

void folded__free(struct folded *f)
{
	struct htab_node *pos, *tmp;
	size_t bkt;

	if (!f)
		return;
	htab_for_each_safe(&f->stacks, pos, tmp, bkt)
		free(container_of(pos, struct folded_stack, node));
	htab__free(&f->stacks);
	folded_line__release(&f->line);
	free(f);
}

static struct folded_stack *
folded__lookup(const struct folded *f, const char *s, size_t len, uint64_t hash)
{
	struct htab_node *pos;
	struct folded_stack *st;

	htab_for_each(&f->stacks, pos, hash) {
		st = container_of(pos, struct folded_stack, node);
		if (st->len == len && !memcmp(st->stack, s, len))
			return st;
	}
	return NULL;
}

static struct folded_stack *folded__insert(struct folded *f, const char *s,
					   size_t len, uint64_t hash)
{
	struct folded_stack *st;

	st = malloc(sizeof(*st) + len + 1);
	if (!st)
		return NULL;
	st->count = 0;
	st->len = len;
	memcpy(st->stack, s, len);
	st->stack[len] = '\0';
	if (htab__insert(&f->stacks, &st->node, hash)) {
		free(st);
		return NULL;
	}
	return st;
}

/* @s is already sanitized, 0 < @len <= FOLDED_MAX_STACK. */
static int folded__add_len(struct folded *f, const char *s, size_t len,
			   uint64_t count)
{
	static const char ovf[] = FOLDED_OVERFLOW_STACK;
	struct folded_stack *st;
	uint64_t hash;
	bool is_ovf;

	if (!count)
		return 0;
	is_ovf = len == sizeof(ovf) - 1 && !memcmp(s, ovf, len);
	hash = hash_bytes(s, len, 0);
	st = folded__lookup(f, s, len, hash);
	if (!st && !is_ovf &&
	    f->stacks.count - f->has_overflow_stack >= f->max_stacks) {
		is_ovf = true;
		s = ovf;
		len = sizeof(ovf) - 1;
		hash = hash_bytes(s, len, 0);
		st = folded__lookup(f, s, len, hash);
	}
	if (!st) {
		st = folded__insert(f, s, len, hash);
		if (!st)
			return -ENOMEM;
		if (is_ovf)
			f->has_overflow_stack = true;
	}
	st->count = sat_add(st->count, count);
	f->total = sat_add(f->total, count);
	/* Also when a file written at the limit is read back: the overflow
	 * stack always stands for counts over a limit. */
	if (is_ovf)
		f->overflow = sat_add(f->overflow, count);
	return 0;
}

static int folded_line__reserve(struct folded_line *l, size_t need)
{
	size_t cap = l->cap ? l->cap : 256;
	char *p;

	if (need <= l->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > l->max + 1)
		cap = l->max + 1;
	if (cap < need)
		return -E2BIG;
	p = realloc(l->buf, cap);
	if (!p)
		return -ENOMEM;
	l->buf = p;
	l->cap = cap;
	return 0;
}

void folded_line__reset(struct folded_line *l)
{
	l->len = 0;
	l->full = false;
}

void folded_line__release(struct folded_line *l)
{
	free(l->buf);
	l->buf = NULL;
	l->cap = 0;
	folded_line__reset(l);
}

/* Keeps one stack on one line whatever a process names its threads or a
 * binary its symbols: the separator and control bytes are replaced. */
static char folded__sanitize_char(unsigned char c)
{
	if (c == ';')
		return ':';
	if (c < 0x20 || c == 0x7f)
		return '?';
	return (char)c;
}

/* Cuts @len to at most @max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

static int folded_line__push_len(struct folded_line *l, const char *name,
				 size_t len, const char *suffix)
{
	size_t slen = strlen(suffix), room, i;
	int err;

	if (l->full)
		return 0;
	len = utf8_cut(name, len, FOLDED_MAX_NAME);
	room = l->max - (sizeof(FOLDED_TRUNCATED) - 1) - 1;
	if (l->len + 1 + len + slen > room) {
		l->full = true;
		name = FOLDED_TRUNCATED;
		len = sizeof(FOLDED_TRUNCATED) - 1;
		slen = 0;
	}
	err = folded_line__reserve(l, l->len + 1 + len + slen + 1);
	if (err)
		return err;
	if (l->len)
		l->buf[l->len++] = ';';
	for (i = 0; i < len; i++)
		l->buf[l->len++] = folded__sanitize_char(name[i]);
	memcpy(l->buf + l->len, suffix, slen);
	l->len += slen;
	l->buf[l->len] = '\0';
	return 0;
}

int folded_line__push(struct folded_line *l, const char *name,
		      const char *suffix)
{
	return folded_line__push_len(l, name, strlen(name), suffix);
}

int folded_line__push_sourced(struct folded_line *l, const char *name,
			      const char *file, const char *suffix)
{
	/* The file keeps a quarter at most: the name comes first. */
	size_t flen = utf8_cut(file, strlen(file), FOLDED_MAX_NAME / 4);
	size_t nlen = utf8_cut(name, strlen(name), FOLDED_MAX_NAME - flen - 3);
	char buf[FOLDED_MAX_NAME + 1];

	memcpy(buf, name, nlen);
	memcpy(buf + nlen, " (", 2);
	memcpy(buf + nlen + 2, file, flen);
	buf[nlen + flen + 2] = ')';
	return folded_line__push_len(l, buf, nlen + flen + 3, suffix);
}

int folded_line__push_module(struct folded_line *l, const char *module,
			     const char *suffix)
{
	char mod[FOLDED_MAX_NAME + 1];
	size_t len;

	if (!module || !module[0])
		return folded_line__push(l, FOLDED_UNKNOWN, suffix);
	len = strlen(module);
	/* "[vdso]" already reads as a module. */
	if (module[0] == '[' && module[len - 1] == ']')
		return folded_line__push_len(l, module, len, suffix);
	len = utf8_cut(module, len, FOLDED_MAX_NAME - 2);
	mod[0] = '[';
	memcpy(mod + 1, module, len);
	mod[len + 1] = ']';
	return folded_line__push_len(l, mod, len + 2, suffix);
}

int folded__add(struct folded *f, const char *stack, uint64_t count)
{
	size_t len, i;
	int err;

	if (!f || !stack)
		return -EINVAL;
	len = strlen(stack);
	if (!len)
		return -EINVAL;
	if (len > FOLDED_MAX_STACK)
		return -E2BIG;
	for (i = 0; i < len; i++)
		if ((unsigned char)stack[i] < 0x20 || stack[i] == 0x7f)
			break;
	if (i == len)
		return folded__add_len(f, stack, len, count);

	/* Control bytes would split the line: store a cleaned copy. */
	err = folded_line__reserve(&f->line, len + 1);
	if (err)
		return err;
	for (i = 0; i < len; i++)
		f->line.buf[i] =
			stack[i] == ';' ? ';' : folded__sanitize_char(stack[i]);
	f->line.buf[len] = '\0';
	return folded__add_len(f, f->line.buf, len, count);
}

size_t folded__stacks(const struct folded *f)
{
	return f ? f->stacks.count : 0;
}

uint64_t folded__total(const struct folded *f)
{
	return f ? f->total : 0;
}

uint64_t folded__overflow(const struct folded *f)
{
	return f ? f->overflow : 0;
}

static int folded__cmp(const void *a, const void *b)
{
	const struct folded_stack *x = *(const struct folded_stack *const *)a;
	const struct folded_stack *y = *(const struct folded_stack *const *)b;

	return strcmp(x->stack, y->stack);
}

int folded__for_each(const struct folded *f,
		     int (*fn)(void *ctx, const char *stack, uint64_t count),
		     void *ctx)
{
	struct folded_stack **v;
	struct htab_node *pos, *tmp;
	size_t bkt, n = 0, i;
	int ret = 0;

	if (!f || !fn)
		return -EINVAL;
	if (!f->stacks.count)
		return 0;
	v = malloc(f->stacks.count * sizeof(*v));
	if (!v)
		return -ENOMEM;
	htab_for_each_safe(&f->stacks, pos, tmp, bkt)
		v[n++] = container_of(pos, struct folded_stack, node);
	qsort(v, n, sizeof(*v), folded__cmp);
	for (i = 0; i < n && !ret; i++)
		ret = fn(ctx, v[i]->stack, v[i]->count);
	free(v);
	return ret;
}

static int folded__write_one(void *ctx, const char *stack, uint64_t count)
{
	FILE *out = ctx;

	if (fprintf(out, "%s %" PRIu64 "\n", stack, count) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int folded__write(const struct folded *f, FILE *out)
{
	int err;

	if (!f || !out)
		return -EINVAL;
	err = folded__for_each(f, folded__write_one, out);
	if (err)
		return err;
	if (fflush(out) || ferror(out))
		return errno ? -errno : -EIO;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* "0".."18446744073709551615" and nothing else. */
static bool parse_count(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned int d;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned int)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*ret = v;
	return true;
}

/*
 * Adds one line (NUL-terminated, no '\n'). The count follows the last blank:
 * frames may contain spaces. Returns 1 for a malformed line, 0 for an added
 * or blank line, -errno when adding failed.
 */
static int folded__read_line(struct folded *f, char *line, size_t len)
{
	uint64_t count;
	char *sep;
	int err;

	while (len && is_blank(line[len - 1]))
		line[--len] = '\0';
	if (!len)
		return 0;
	sep = line + len;
	while (sep > line && sep[-1] != ' ' && sep[-1] != '\t')
		sep--;
	if (sep == line || !parse_count(sep, &count))
		return 1;
	sep--;
	while (sep > line && is_blank(sep[-1]))
		sep--;
	*sep = '\0';
	if (sep == line)
		return 1;
	err = folded__add(f, line, count);
	if (err == -EINVAL || err == -E2BIG)
		return 1;
	return err;
}

int folded__read(struct folded *f, FILE *in, size_t *ret_skipped)
{
	size_t len, skipped = 0;
	bool too_long, has_nul;
	char *line;
	int c, err = 0;

	if (!f || !in)
		return -EINVAL;
	line = malloc(FOLDED_MAX_LINE + 1);
	if (!line)
		return -ENOMEM;
	for (;;) {
		len = 0;
		too_long = false;
		has_nul = false;
		while ((c = getc(in)) != EOF && c != '\n') {
			if (len == FOLDED_MAX_LINE) {
				too_long = true;
				continue;
			}
			has_nul |= c == '\0';
			line[len++] = (char)c;
		}
		if (c == EOF && !len && !too_long)
			break;
		line[len] = '\0';
		if (too_long || has_nul) {
			skipped++;
		} else {
			err = folded__read_line(f, line, len);
			if (err < 0)
				goto out;
			skipped += (size_t)err;
			err = 0;
		}
		if (c == EOF)
			break;
	}
	if (ferror(in)) {
		err = -EIO;
		goto out;
	}
	if (ret_skipped)
		*ret_skipped = skipped;
out:
	free(line);
	return err;
}
