// SPDX-License-Identifier: Apache-2.0
/* /proc/PID/task/TID/maps text -> struct maps: the address layout that
 * proctab keeps per process and the symbolizer translates user addresses
 * with. Pure parsing: the text comes from procfs__read_maps().
 *
 * Ordering: the kernel prints mappings in address order, but a maps file
 * read in several read() calls may change in between (a VMA merged or
 * split), and the text may be garbage. A line that starts below the end of
 * the last kept mapping is dropped and counted in ->skipped, so the result
 * is sorted and non-overlapping without sorting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/processes/maps.h"

#define DELETED_SUFFIX " (deleted)"

/* One parsed line; path points into the caller's text. */
struct maps_line {
	struct mapping m;
	const char *path;
	size_t path_len;
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses at most @max_digits hex digits at *pp; at least one is required. */
static int parse_hex(const char **pp, const char *end, int max_digits,
		     uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;
	int d, n = 0;

	while (p < end && (d = hex_digit(*p)) >= 0) {
		if (++n > max_digits)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		p++;
	}
	if (!n)
		return -EINVAL;
	*pp = p;
	*ret = v;
	return 0;
}

static int parse_dec(const char **pp, const char *end, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0, d;

	if (p >= end || *p < '0' || *p > '9')
		return -EINVAL;
	while (p < end && *p >= '0' && *p <= '9') {
		d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*ret = v;
	return 0;
}

static int expect_char(const char **pp, const char *end, char c)
{
	if (*pp >= end || **pp != c)
		return -EINVAL;
	(*pp)++;
	return 0;
}

static int parse_prot(const char **pp, const char *end, uint32_t *ret)
{
	const char *p = *pp;
	uint32_t prot = 0;

	if (end - p < 4)
		return -EINVAL;
	if (p[0] == 'r')
		prot |= MAPPING_READ;
	else if (p[0] != '-')
		return -EINVAL;
	if (p[1] == 'w')
		prot |= MAPPING_WRITE;
	else if (p[1] != '-')
		return -EINVAL;
	if (p[2] == 'x')
		prot |= MAPPING_EXEC;
	else if (p[2] != '-')
		return -EINVAL;
	if (p[3] == 's')
		prot |= MAPPING_SHARED;
	else if (p[3] != 'p')
		return -EINVAL;
	*pp = p + 4;
	*ret = prot;
	return 0;
}

static enum mapping_kind path_kind(const char *path, size_t len)
{
	if (!len)
		return MAPPING_ANON;
	if (len == 6 && !memcmp(path, "[vdso]", 6))
		return MAPPING_VDSO;
	if (path[0] == '/')
		return MAPPING_FILE;
	/* [heap], [stack], [anon:name], but also names that are not files
	 * we could open, such as anon_inode:[perf_event]. */
	return MAPPING_SPECIAL;
}

/*
 * "start-end perms offset major:minor inode [path]" on [p, end), without
 * the newline. The path runs from the first non-space after the inode to
 * the end of the line, so it may contain spaces.
 */
static int maps_line__parse(const char *p, const char *end,
			    struct maps_line *ret)
{
	struct maps_line l = { 0 };
	uint64_t major, minor;
	size_t slen;

	if (parse_hex(&p, end, 16, &l.m.start) || expect_char(&p, end, '-') ||
	    parse_hex(&p, end, 16, &l.m.end) || expect_char(&p, end, ' ') ||
	    parse_prot(&p, end, &l.m.prot) || expect_char(&p, end, ' ') ||
	    parse_hex(&p, end, 16, &l.m.offset) || expect_char(&p, end, ' ') ||
	    parse_hex(&p, end, 8, &major) || expect_char(&p, end, ':') ||
	    parse_hex(&p, end, 8, &minor) || expect_char(&p, end, ' ') ||
	    parse_dec(&p, end, &l.m.inode))
		return -EINVAL;
	if (l.m.start >= l.m.end)
		return -EINVAL;
	l.m.dev_major = (uint32_t)major;
	l.m.dev_minor = (uint32_t)minor;

	/* The kernel writes a space after the inode even without a path. */
	if (p < end && *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	l.path = p;
	l.path_len = (size_t)(end - p);
	/* A NUL would silently cut the path short: the line is corrupt. */
	if (l.path_len && memchr(l.path, '\0', l.path_len))
		return -EINVAL;

	slen = sizeof(DELETED_SUFFIX) - 1;
	if (l.path_len > slen &&
	    !memcmp(l.path + l.path_len - slen, DELETED_SUFFIX, slen)) {
		l.path_len -= slen;
		l.m.deleted = true;
	}
	l.m.kind = path_kind(l.path, l.path_len);
	*ret = l;
	return 0;
}

static size_t count_lines(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	size_t n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p = nl + 1;
	}
	return n;
}

int maps__parse(const char *text, size_t len, unsigned int flags,
		struct maps **ret_maps)
{
	const char *p = text, *end = text + len, *nl;
	struct maps_line *lines = NULL;
	size_t cap, n = 0, bytes = 0, i;
	struct maps *m;
	uint64_t last_end = 0;
	char *s;
	int err = -ENOMEM;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	/* Only complete lines can become entries: size for those. */
	cap = len ? count_lines(text, len) : 0;
	if (cap > MAPS_MAX_ENTRIES)
		cap = MAPS_MAX_ENTRIES;
	if (cap) {
		lines = calloc(cap, sizeof(*lines));
		if (!lines)
			goto err_free_maps;
	}

	while (p < end) {
		struct maps_line l;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			/* Cut off by the reader: the path may be partial. */
			m->skipped++;
			break;
		}
		if ((size_t)(nl - p) > MAPS_MAX_LINE ||
		    maps_line__parse(p, nl, &l) || l.m.start < last_end) {
			m->skipped++;
			p = nl + 1;
			continue;
		}
		p = nl + 1;
		if ((flags & MAPS_EXEC_ONLY) && !(l.m.prot & MAPPING_EXEC))
			continue;
		if (n == cap) {
			m->skipped++;
			continue;
		}
		last_end = l.m.end;
		bytes += l.path_len + 1;
		lines[n++] = l;
	}

	if (n) {
		m->v = calloc(n, sizeof(*m->v));
		m->strings = malloc(bytes);
		if (!m->v || !m->strings)
			goto err_free_lines;
	}
	for (i = 0, s = m->strings; i < n; i++) {
		m->v[i] = lines[i].m;
		memcpy(s, lines[i].path, lines[i].path_len);
		s[lines[i].path_len] = '\0';
		m->v[i].path = s;
		s += lines[i].path_len + 1;
	}
	m->n = n;
	m->memory = sizeof(*m) + (n ? n * sizeof(*m->v) + bytes : 0);
	free(lines);
	*ret_maps = m;
	return 0;

err_free_lines:
	free(lines);
err_free_maps:
	maps__free(m);
	return err;
}

const struct mapping *maps__find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi, mid;

	if (!m || !m->n)
		return NULL;
	/* The last mapping that starts at or below @addr. */
	hi = m->n;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (addr < m->v[lo].start || addr >= m->v[lo].end)
		return NULL;
	return &m->v[lo];
}

void maps__free(struct maps *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->strings);
	free(m);
}
