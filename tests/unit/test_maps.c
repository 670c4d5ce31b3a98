// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/processes/maps.c, the parser every maps read by the process table
 * goes through: crafted /proc/PID/maps text, including the cut-off and
 * corrupt reads a vanishing process produces. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "receiver/processes/maps.h"

#define LINE_APP \
	"55d0c0a00000-55d0c0a21000 r-xp 00002000 fd:01 1835023                    /usr/bin/app\n"
#define LINE_HEAP \
	"55d0c1e6e000-55d0c1e8f000 rw-p 00000000 00:00 0                          [heap]\n"
#define LINE_ANON "7f3e2c000000-7f3e2c021000 rw-p 00000000 00:00 0 \n"
#define LINE_LIBC \
	"7f3e2c228000-7f3e2c3bd000 r-xp 00028000 fd:01 1843367                    /usr/lib/x86_64-linux-gnu/libc.so.6\n"
#define LINE_JIT "7f3e2c500000-7f3e2c510000 rwxp 00000000 00:00 0 \n"
#define LINE_VVAR \
	"7ffd2b3f8000-7ffd2b3fc000 r--p 00000000 00:00 0                          [vvar]\n"
#define LINE_VDSO \
	"7ffd2b3fc000-7ffd2b3fe000 r-xp 00000000 00:00 0                          [vdso]\n"
#define LINE_VSYSCALL \
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"

static const char full_text[] = LINE_APP LINE_HEAP LINE_ANON LINE_LIBC LINE_JIT
	LINE_VVAR LINE_VDSO LINE_VSYSCALL;

/* Parses an exact-size heap copy so ASan sees any read past @len. */
static struct maps *parse_n(const char *text, size_t len, unsigned int flags)
{
	struct maps *m = NULL;
	char *copy = malloc(len ? len : 1);
	int err;

	cr_assert_not_null(copy);
	memcpy(copy, text, len);
	err = maps__parse(copy, len, flags, &m);
	free(copy);
	cr_assert_eq(err, 0, "maps__parse: %d", err);
	cr_assert_not_null(m);
	return m;
}

static struct maps *parse(const char *text, unsigned int flags)
{
	return parse_n(text, strlen(text), flags);
}

static void assert_sorted(const struct maps *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		cr_assert_lt(m->v[i].start, m->v[i].end);
		if (i)
			cr_assert_leq(m->v[i - 1].end, m->v[i].start);
	}
}

Test(maps, file_mapping_fields_are_parsed)
{
	struct maps *m = parse(LINE_LIBC, 0);

	cr_assert_eq(m->n, 1);
	cr_assert_eq(m->skipped, 0);
	cr_assert_eq(m->v[0].start, 0x7f3e2c228000ULL);
	cr_assert_eq(m->v[0].end, 0x7f3e2c3bd000ULL);
	cr_assert_eq(m->v[0].offset, 0x28000ULL);
	cr_assert_eq(m->v[0].dev_major, 0xfd);
	cr_assert_eq(m->v[0].dev_minor, 0x01);
	cr_assert_eq(m->v[0].inode, 1843367);
	cr_assert_eq(m->v[0].prot, MAPPING_READ | MAPPING_EXEC);
	cr_assert_eq(m->v[0].kind, MAPPING_FILE);
	cr_assert_not(m->v[0].deleted);
	cr_assert_str_eq(m->v[0].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	maps__free(m);
}

Test(maps, anonymous_mapping_has_empty_path)
{
	/* The kernel ends anonymous lines with a space; hand-written text
	 * often does not. Both are anonymous. */
	struct maps *m = parse("1000-2000 rw-p 00000000 00:00 0 \n"
			       "3000-4000 rw-s 00000000 00:05 77\n",
			       0);

	cr_assert_eq(m->n, 2);
	cr_assert_eq(m->skipped, 0);
	cr_assert_eq(m->v[0].kind, MAPPING_ANON);
	cr_assert_str_eq(m->v[0].path, "");
	cr_assert_eq(m->v[1].kind, MAPPING_ANON);
	cr_assert_str_eq(m->v[1].path, "");
	cr_assert_eq(m->v[1].prot,
		     MAPPING_READ | MAPPING_WRITE | MAPPING_SHARED);
	cr_assert_eq(m->v[1].inode, 77);
	maps__free(m);
}

Test(maps, vdso_and_bracketed_names_are_classified)
{
	struct maps *m = parse(full_text, 0);

	cr_assert_eq(m->n, 8);
	cr_assert_eq(m->skipped, 0);
	assert_sorted(m);
	cr_assert_eq(m->v[0].kind, MAPPING_FILE);
	cr_assert_eq(m->v[1].kind, MAPPING_SPECIAL);
	cr_assert_str_eq(m->v[1].path, "[heap]");
	cr_assert_eq(m->v[2].kind, MAPPING_ANON);
	cr_assert_eq(m->v[5].kind, MAPPING_SPECIAL);
	cr_assert_str_eq(m->v[5].path, "[vvar]");
	cr_assert_eq(m->v[6].kind, MAPPING_VDSO);
	cr_assert_str_eq(m->v[6].path, "[vdso]");
	cr_assert_eq(m->v[7].kind, MAPPING_SPECIAL);
	cr_assert_eq(m->v[7].start, 0xffffffffff600000ULL);
	maps__free(m);
}

Test(maps, names_that_are_not_files_are_special)
{
	struct maps *m = parse(
		"1000-2000 rw-p 00000000 00:00 0 [anon:tgprof arena]\n"
		"2000-3000 rw-s 00000000 00:0e 1054 anon_inode:[perf_event]\n",
		0);

	cr_assert_eq(m->n, 2);
	cr_assert_eq(m->v[0].kind, MAPPING_SPECIAL);
	cr_assert_str_eq(m->v[0].path, "[anon:tgprof arena]");
	cr_assert_eq(m->v[1].kind, MAPPING_SPECIAL);
	cr_assert_str_eq(m->v[1].path, "anon_inode:[perf_event]");
	maps__free(m);
}

Test(maps, deleted_suffix_is_stripped_and_flagged)
{
	struct maps *m =
		parse("1000-2000 r-xp 00000000 08:01 42 /tmp/app (deleted)\n"
		      "2000-3000 r-xp 00000000 00:01 43 /memfd:jit (deleted)\n"
		      "3000-4000 r-xp 00000000 08:01 44 /opt/(deleted)\n",
		      0);

	cr_assert_eq(m->n, 3);
	cr_assert_str_eq(m->v[0].path, "/tmp/app");
	cr_assert(m->v[0].deleted);
	cr_assert_eq(m->v[0].kind, MAPPING_FILE);
	cr_assert_str_eq(m->v[1].path, "/memfd:jit");
	cr_assert(m->v[1].deleted);
	/* No space before it: part of the name, not the kernel's mark. */
	cr_assert_str_eq(m->v[2].path, "/opt/(deleted)");
	cr_assert_not(m->v[2].deleted);
	maps__free(m);
}

Test(maps, path_with_spaces_is_kept_whole)
{
	struct maps *m = parse(
		"1000-2000 r-xp 00000000 08:01 42       /opt/my app/lib  x.so\n"
		"2000-3000 r-xp 00001000 08:01 42 /opt/my app/lib  x.so (deleted)\n",
		0);

	cr_assert_eq(m->n, 2);
	cr_assert_str_eq(m->v[0].path, "/opt/my app/lib  x.so");
	cr_assert_str_eq(m->v[1].path, "/opt/my app/lib  x.so");
	cr_assert(m->v[1].deleted);
	maps__free(m);
}

static char *long_line(size_t path_len, unsigned long long start)
{
	const char *fmt = "%llx-%llx r-xp 00000000 08:01 42 /";
	size_t head = 64, i;
	char *s = malloc(head + path_len + 2);
	int n;

	cr_assert_not_null(s);
	n = snprintf(s, head, fmt, start, start + 0x1000);
	for (i = 0; i < path_len; i++)
		s[n + i] = 'a' + (char)(i % 26);
	s[n + path_len] = '\n';
	s[n + path_len + 1] = '\0';
	return s;
}

Test(maps, overlong_line_is_skipped_and_counted)
{
	char *longest_ok, *too_long, *text;
	struct maps *m;
	size_t n;

	/* Exactly MAPS_MAX_LINE bytes before the newline is still fine. */
	longest_ok = long_line(1, 0x1000);
	n = strlen(longest_ok) - 1;
	free(longest_ok);
	longest_ok = long_line(MAPS_MAX_LINE - n + 1, 0x1000);
	cr_assert_eq(strlen(longest_ok) - 1, MAPS_MAX_LINE);
	too_long = long_line(MAPS_MAX_LINE - n + 2, 0x3000);
	cr_assert_eq(strlen(too_long) - 1, MAPS_MAX_LINE + 1);

	text = malloc(strlen(longest_ok) + strlen(too_long) +
		      sizeof(LINE_LIBC));
	cr_assert_not_null(text);
	strcpy(text, longest_ok);
	strcat(text, too_long);
	strcat(text, LINE_LIBC);
	m = parse(text, 0);
	cr_assert_eq(m->n, 2);
	cr_assert_eq(m->skipped, 1);
	cr_assert_eq(m->v[0].start, 0x1000);
	cr_assert_eq(strlen(m->v[0].path), MAPS_MAX_LINE - n + 2);
	cr_assert_eq(m->v[1].start, 0x7f3e2c228000ULL);
	maps__free(m);
	free(text);
	free(too_long);
	free(longest_ok);
}

static bool same_mapping(const struct mapping *a, const struct mapping *b)
{
	return a->start == b->start && a->end == b->end &&
	       a->offset == b->offset && a->inode == b->inode &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->prot == b->prot && a->kind == b->kind &&
	       a->deleted == b->deleted && !strcmp(a->path, b->path);
}

Test(maps, truncated_input_never_yields_a_partial_entry)
{
	static const char text[] =
		"1000000-1001000 r-xp 00000000 08:01 9 /opt/my app/x (deleted)\n" LINE_APP
			LINE_HEAP LINE_LIBC LINE_VDSO;
	size_t len = sizeof(text) - 1, cut, i, lines_before;
	struct maps *whole = parse(text, 0);
	struct maps *m;

	cr_assert_eq(whole->n, 5);
	cr_assert_eq(whole->skipped, 0);

	/* A reader cut off anywhere: only the lines whose newline made it
	 * in are entries; the cut one is counted, never half-kept. */
	for (cut = 0; cut <= len; cut++) {
		m = parse_n(text, cut, 0);
		lines_before = 0;
		for (i = 0; i < cut; i++)
			lines_before += text[i] == '\n';
		cr_assert_eq(m->n, lines_before, "cut at %zu: %zu entries", cut,
			     m->n);
		for (i = 0; i < m->n; i++)
			cr_assert(same_mapping(&m->v[i], &whole->v[i]),
				  "cut at %zu: entry %zu differs", cut, i);
		cr_assert_eq(m->skipped, cut && text[cut - 1] != '\n',
			     "cut at %zu: skipped %zu", cut, m->skipped);
		maps__free(m);
	}
	maps__free(whole);
}

Test(maps, garbage_lines_are_skipped_and_counted)
{
	static const char *const garbage[] = {
		"hello world\n",
		"\n",
		" 1000-2000 r-xp 00000000 08:01 1 /a\n",
		"1000 r-xp 00000000 08:01 1 /a\n",
		"1000-2000\n",
		"1000-2000 r-xp\n",
		"1000-2000 r-xp 00000000 08:01\n",
		"1000-2000 r-xp 00000000 08:01 \n",
		"2000-1000 r-xp 00000000 08:01 1 /a\n",
		"1000-1000 r-xp 00000000 08:01 1 /a\n",
		"g000-2000 r-xp 00000000 08:01 1 /a\n",
		"1000-2000 rzxp 00000000 08:01 1 /a\n",
		"1000-2000 r-xq 00000000 08:01 1 /a\n",
		"1000-2000 r-x 00000000 08:01 1 /a\n",
		"10000000000000000-10000000000001000 r-xp 0 08:01 1 /a\n",
		"1000-2000 r-xp 00000000 08-01 1 /a\n",
		"1000-2000 r-xp 00000000 08:01 -1 /a\n",
		"1000-2000 r-xp 00000000 08:01 99999999999999999999 /a\n",
		"1000-2000 r-xp 00000000 08:01 1x /a\n",
		"1000-2000  r-xp 00000000 08:01 1 /a\n",
	};
	size_t i;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct maps *m = parse(garbage[i], 0);

		cr_assert_eq(m->n, 0, "accepted: %s", garbage[i]);
		cr_assert_eq(m->skipped, 1, "not counted: %s", garbage[i]);
		maps__free(m);
	}
}

Test(maps, garbage_between_good_lines_keeps_the_good_ones)
{
	static const char text[] = LINE_APP
		"\x01\x02\x03 binary junk\n"
		"600000000000-600000001000 r-xp 0 08:01 1 /a\0b\n" LINE_LIBC;
	struct maps *m = parse_n(text, sizeof(text) - 1, 0);

	cr_assert_eq(m->n, 2);
	cr_assert_eq(m->skipped, 2);
	cr_assert_str_eq(m->v[0].path, "/usr/bin/app");
	cr_assert_str_eq(m->v[1].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	maps__free(m);
}

Test(maps, overlapping_and_unsorted_lines_are_dropped)
{
	struct maps *m = parse("1000-3000 r-xp 00000000 08:01 1 /a\n"
			       "2000-4000 r-xp 00000000 08:01 2 /b\n"
			       "0000-1000 r-xp 00000000 08:01 3 /c\n"
			       "3000-4000 r-xp 00000000 08:01 4 /d\n",
			       0);

	cr_assert_eq(m->n, 2);
	cr_assert_eq(m->skipped, 2);
	cr_assert_str_eq(m->v[0].path, "/a");
	cr_assert_str_eq(m->v[1].path, "/d");
	assert_sorted(m);
	maps__free(m);
}

Test(maps, exec_only_keeps_executable_mappings)
{
	struct maps *m = parse(full_text, MAPS_EXEC_ONLY);
	size_t i;

	cr_assert_eq(m->n, 5);
	cr_assert_eq(m->skipped, 0);
	for (i = 0; i < m->n; i++)
		cr_assert(m->v[i].prot & MAPPING_EXEC);
	cr_assert_str_eq(m->v[0].path, "/usr/bin/app");
	cr_assert_str_eq(m->v[1].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	cr_assert_eq(m->v[2].kind, MAPPING_ANON); /* JIT code */
	cr_assert_eq(m->v[3].kind, MAPPING_VDSO);
	cr_assert_str_eq(m->v[4].path, "[vsyscall]");
	maps__free(m);
}

Test(maps, find_has_inclusive_start_and_exclusive_end)
{
	struct maps *m = parse("1000-2000 r-xp 00000000 08:01 1 /a\n"
			       "2000-3000 r-xp 00000000 08:01 2 /b\n"
			       "5000-6000 r-xp 00000000 08:01 3 /c\n",
			       0);

	cr_assert_null(maps__find(m, 0));
	cr_assert_null(maps__find(m, 0xfff));
	cr_assert_str_eq(maps__find(m, 0x1000)->path, "/a");
	cr_assert_str_eq(maps__find(m, 0x1fff)->path, "/a");
	cr_assert_str_eq(maps__find(m, 0x2000)->path, "/b");
	cr_assert_str_eq(maps__find(m, 0x2fff)->path, "/b");
	cr_assert_null(maps__find(m, 0x3000));
	cr_assert_null(maps__find(m, 0x4fff));
	cr_assert_str_eq(maps__find(m, 0x5000)->path, "/c");
	cr_assert_str_eq(maps__find(m, 0x5fff)->path, "/c");
	cr_assert_null(maps__find(m, 0x6000));
	cr_assert_null(maps__find(m, UINT64_MAX));
	maps__free(m);
}

Test(maps, find_is_right_for_every_table_size)
{
	char line[128], *text;
	size_t n, i, len;
	struct maps *m;

	text = malloc(64 * sizeof(line));
	cr_assert_not_null(text);
	for (n = 1; n <= 64; n++) {
		/* Mappings [0x10000 * (i + 1), + 0x8000), gaps between. */
		for (i = 0, len = 0; i < n; i++)
			len += (size_t)sprintf(
				text + len,
				"%zx-%zx r-xp 00000000 08:01 %zu /lib%zu\n",
				(i + 1) * 0x10000, (i + 1) * 0x10000 + 0x8000,
				i, i);
		m = parse_n(text, len, 0);
		cr_assert_eq(m->n, n);
		cr_assert_null(maps__find(m, 0xffff));
		for (i = 0; i < n; i++) {
			uint64_t start = (i + 1) * 0x10000;

			cr_assert_eq(maps__find(m, start), &m->v[i]);
			cr_assert_eq(maps__find(m, start + 0x7fff), &m->v[i]);
			cr_assert_null(maps__find(m, start + 0x8000));
			cr_assert_null(maps__find(m, start - 1));
		}
		maps__free(m);
	}
	free(text);
}

Test(maps, empty_input_gives_an_empty_table)
{
	struct maps *m = parse_n("", 0, 0);

	cr_assert_eq(m->n, 0);
	cr_assert_eq(m->skipped, 0);
	cr_assert_null(maps__find(m, 0x1000));
	maps__free(m);
	cr_assert_null(maps__find(NULL, 0x1000));
}

Test(maps, entries_beyond_the_limit_are_counted)
{
	size_t extra = 10, total = MAPS_MAX_ENTRIES + extra, i, len = 0;
	char *text = malloc(total * 48);
	struct maps *m;

	cr_assert_not_null(text);
	for (i = 0; i < total; i++)
		len += (size_t)sprintf(text + len,
				       "%zx-%zx r-xp 00000000 00:00 0 \n",
				       (i + 1) * 0x1000,
				       (i + 1) * 0x1000 + 0x800);
	m = parse_n(text, len, MAPS_EXEC_ONLY);
	cr_assert_eq(m->n, MAPS_MAX_ENTRIES);
	cr_assert_eq(m->skipped, extra);
	cr_assert_eq(m->v[MAPS_MAX_ENTRIES - 1].start,
		     (uint64_t)MAPS_MAX_ENTRIES * 0x1000);
	maps__free(m);
	free(text);
}

Test(maps, free_accepts_null)
{
	maps__free(NULL);
}
