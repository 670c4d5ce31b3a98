// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/symbols/perfmap.c: the perf map parser on the lines
 * runtimes write and on hostile files (huge, cut, binary junk, out of
 * order), and the cache on a fake /proc: read inside the process's root
 * under its namespace PID, never through a symlink, re-read on a miss. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "receiver/symbols/perfmap.h"

/* Parses an exact-size heap copy so ASan sees any read past @len. */
static struct perfmap *parse_n(const char *text, size_t len,
			       const struct perfmap_limits *lim,
			       struct perfmap_parse_stats *st)
{
	struct perfmap *pm = NULL;
	char *copy = malloc(len ? len : 1);

	cr_assert_not_null(copy);
	memcpy(copy, text, len);
	cr_assert_eq(perfmap__parse(copy, len, lim, &pm, st), 0);
	free(copy);
	cr_assert_not_null(pm);
	return pm;
}

static struct perfmap *parse(const char *text, struct perfmap_parse_stats *st)
{
	return parse_n(text, strlen(text), NULL, st);
}

static const char *name_at(const struct perfmap *pm, uint64_t addr)
{
	const struct perfmap_sym *s = perfmap__find(pm, addr);

	return s ? s->name : NULL;
}

/* Sorted, non-overlapping, every name non-empty text. */
static void assert_well_formed(const struct perfmap *pm)
{
	size_t i;

	for (i = 0; i < pm->n; i++) {
		cr_assert_lt(pm->v[i].start, pm->v[i].end);
		cr_assert_gt(strlen(pm->v[i].name), 0);
		if (i)
			cr_assert_leq(pm->v[i - 1].end, pm->v[i].start);
	}
}

Test(perfmap, reads_node_and_jvm_lines_with_spaces_in_names)
{
	struct perfmap_parse_stats st;
	struct perfmap *pm =
		parse("3ef414c0 398 LazyCompile:~hot /srv/app/hot.js:12\n"
		      "0x00007f1234560000 0x180 java.lang.String::hashCode()\n"
		      "7f0000001000 20 BytecodeHandler:Ldar\r\n",
		      &st);

	cr_assert_eq(pm->n, 3);
	cr_assert_eq(st.lines, 3);
	cr_assert_eq(st.skipped, 0);
	cr_assert_str_eq(name_at(pm, 0x3ef414c0),
			 "LazyCompile:~hot /srv/app/hot.js:12");
	cr_assert_str_eq(name_at(pm, 0x3ef414c0 + 0x397),
			 "LazyCompile:~hot /srv/app/hot.js:12");
	cr_assert_null(name_at(pm, 0x3ef414c0 + 0x398));
	cr_assert_str_eq(name_at(pm, 0x7f123456017f),
			 "java.lang.String::hashCode()");
	cr_assert_str_eq(name_at(pm, 0x7f0000001010), "BytecodeHandler:Ldar");
	cr_assert_null(name_at(pm, 0x3ef414bf));
	perfmap__free(pm);
}

Test(perfmap, sorts_lines_written_out_of_order)
{
	struct perfmap *pm = parse("3000 10 c\n1000 10 a\n2000 10 b\n", NULL);

	cr_assert_eq(pm->n, 3);
	assert_well_formed(pm);
	cr_assert_str_eq(name_at(pm, 0x1005), "a");
	cr_assert_str_eq(name_at(pm, 0x2005), "b");
	cr_assert_str_eq(name_at(pm, 0x3005), "c");
	perfmap__free(pm);
}

Test(perfmap, later_line_wins_where_code_was_replaced)
{
	struct perfmap_parse_stats st;
	/* old at 1000..1100 recompiled as new at the same address; mid
	 * overlaps the tail of other; an older line under a newer one. */
	struct perfmap *pm = parse("1000 100 old\n"
				   "5000 100 other\n"
				   "1000 100 new\n"
				   "5080 100 mid\n"
				   "9000 100 newer\n",
				   &st);
	struct perfmap *pm2 =
		parse("9000 100 first\n9040 10 inner_older\n", NULL);

	assert_well_formed(pm);
	cr_assert_str_eq(name_at(pm, 0x1000), "new");
	cr_assert_str_eq(name_at(pm, 0x10ff), "new");
	cr_assert_str_eq(name_at(pm, 0x507f), "other");
	cr_assert_str_eq(name_at(pm, 0x5080), "mid");
	cr_assert_str_eq(name_at(pm, 0x517f), "mid");
	cr_assert_eq(st.overlaps, 2);
	/* The later line wins even where it lies inside an older one. */
	assert_well_formed(pm2);
	cr_assert_str_eq(name_at(pm2, 0x9000), "first");
	cr_assert_str_eq(name_at(pm2, 0x9040), "inner_older");
	perfmap__free(pm);
	perfmap__free(pm2);
}

Test(perfmap, skips_and_counts_binary_junk_and_bad_lines)
{
	static const char text[] = "1000 10 good\n"
				   "\x7f"
				   "ELF\x02\x01\x01\0\0\0\0\0\n" /* binary */
				   "2000 10 na\0me\n" /* NUL inside the name */
				   "3000 10 bad\xff\xfe utf8\n"
				   "4000 10 \xed\xa0\x80 surrogate\n"
				   "5000 10 esc\x1b[31m\n"
				   "6000 0 zero_size\n"
				   "ffffffffffffffff 10 wraps\n"
				   "12345678901234567 10 too_many_digits\n"
				   "7000 10\n" /* no name */
				   "xyz 10 not_hex\n"
				   "8000 10 caf\xc3\xa9 ok\n";
	struct perfmap_parse_stats st;
	struct perfmap *pm = parse_n(text, sizeof(text) - 1, NULL, &st);

	assert_well_formed(pm);
	cr_assert_eq(pm->n, 2, "kept %zu", pm->n);
	cr_assert_eq(st.skipped, 10, "skipped %llu",
		     (unsigned long long)st.skipped);
	cr_assert_str_eq(name_at(pm, 0x1000), "good");
	cr_assert_str_eq(name_at(pm, 0x8000), "caf\xc3\xa9 ok");
	perfmap__free(pm);
}

Test(perfmap, cut_off_last_line_is_dropped_not_half_read)
{
	struct perfmap_parse_stats st;
	struct perfmap *pm = parse("1000 10 whole\n2000 10 hal", &st);

	cr_assert_eq(pm->n, 1);
	cr_assert(st.partial_line);
	cr_assert_null(name_at(pm, 0x2000));
	perfmap__free(pm);
}

Test(perfmap, long_names_are_cut_on_a_character_boundary)
{
	struct perfmap_limits lim = { .max_name = 16 };
	struct perfmap_parse_stats st;
	/* 15 ASCII bytes then a 2-byte character: byte 16 is its middle. */
	struct perfmap *pm =
		parse_n("1000 10 aaaaaaaaaaaaaaa\xc3\xa9tail\n", 30, &lim, &st);

	cr_assert_eq(pm->n, 1);
	cr_assert_eq(st.names_cut, 1);
	cr_assert_str_eq(name_at(pm, 0x1000), "aaaaaaaaaaaaaaa");
	perfmap__free(pm);
}

Test(perfmap, lines_past_the_bound_are_skipped_and_counted)
{
	struct perfmap_limits lim = { .max_lines = 3 };
	struct perfmap_parse_stats st;
	static const char text[] = "1000 10 a\n2000 10 b\n3000 10 c\n"
				   "4000 10 d\n5000 10 e\n";
	struct perfmap *pm = parse_n(text, sizeof(text) - 1, &lim, &st);

	cr_assert_eq(pm->n, 3);
	cr_assert_eq(st.skipped, 2);
	cr_assert_null(name_at(pm, 0x4000));
	perfmap__free(pm);
}

Test(perfmap, random_bytes_never_crash_and_keep_the_map_well_formed)
{
	size_t len = 1u << 20, i;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct perfmap *pm;
	char *buf = malloc(len);

	cr_assert_not_null(buf);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Mostly hex digits, blanks and newlines: lines that almost
		 * parse reach the deeper checks. */
		buf[i] = "0123456789abcdefx \n\t\xc3\xa9\x80"[x % 23];
	}
	pm = parse_n(buf, len, NULL, NULL);
	assert_well_formed(pm);
	perfmap__free(pm);
	free(buf);
}

Test(perfmap, empty_map_finds_nothing)
{
	struct perfmap *pm = parse_n("", 0, NULL, NULL);

	cr_assert_eq(pm->n, 0);
	cr_assert_null(perfmap__find(pm, 0));
	cr_assert_null(perfmap__find(NULL, 0));
	perfmap__free(pm);
	perfmap__free(NULL);
}

Test(perfmap, status_gives_innermost_namespace_pid_and_effective_uid)
{
	/* Read through thread 4250 of process 4242: the thread's own
	 * NSpid is not the process's. */
	static const char status[] = "Name:\tnode\nUmask:\t0022\n"
				     "Tgid:\t4242\nPid:\t4250\n"
				     "Uid:\t1000\t1001\t1000\t1000\n"
				     "Gid:\t1000\t1000\t1000\t1000\n"
				     "NStgid:\t4242\t17\t1\n"
				     "NSpid:\t4250\t25\t9\n";
	static const char old[] = "Name:\tx\nTgid:\t99\nPid:\t98\n"
				  "Uid:\t0\t0\t0\t0\n";
	static const char none[] = "Name:\tx\nUid:\t0\t0\t0\t0\n";
	uint32_t pid = 0, uid = 0;

	cr_assert_eq(perfmap__parse_status(status, sizeof(status) - 1, &pid,
					   &uid),
		     0);
	cr_assert_eq(pid, 1);
	cr_assert_eq(uid, 1001);
	cr_assert_eq(perfmap__parse_status(old, sizeof(old) - 1, &pid, &uid),
		     0);
	cr_assert_eq(pid, 99);
	cr_assert_eq(perfmap__parse_status(none, sizeof(none) - 1, &pid, &uid),
		     -ENODATA);
	/* A status cut before the end of the NStgid line has no PID. */
	cr_assert_eq(perfmap__parse_status(status,
					   strstr(status, "NSpid") - status - 2,
					   &pid, &uid),
		     -ENODATA);
}

/* ---- the cache, on a fake /proc ---- */

#include "fakeproc.h"

#define TGID 4242
#define NSPID 17

/* Process TGID (thread TGID) whose root is ROOT/rootfs and whose own PID
 * namespace numbers it NSPID; its user is ours. */
static void fake_process(void)
{
	char status[256];

	fakeproc_create("tgprof-perfmap");
	fakeproc_mkdir("rootfs/tmp");
	fakeproc_mkdir("%d/task/%d", TGID, TGID);
	snprintf(status, sizeof(status),
		 "Name:\tnode\nTgid:\t%d\nPid:\t%d\n"
		 "Uid:\t%u\t%u\t%u\t%u\nNStgid:\t%d\t%d\nNSpid:\t%d\t%d\n",
		 TGID, TGID, getuid(), geteuid(), geteuid(), geteuid(), TGID,
		 NSPID, TGID, NSPID);
	fakeproc_write(status, "w", "%d/task/%d/status", TGID, TGID);
	/* Started at boot: every map is younger. */
	fakeproc_write_stat(TGID, 0,
			    &(struct fakeproc_stat){ .comm = "node",
						     .state = 'R',
						     .start_ticks = 0,
						     .start_code = 0x1000,
						     .end_code = 0x2000,
						     .start_stack = 0x7000 });
	fakeproc_symlink("../../../rootfs", "%d/task/%d/root", TGID, TGID);
}

static struct perfmap_cache *new_cache(size_t max_bytes, uint64_t reread_ns)
{
	char root[4096];
	struct perfmap_cache_opts o = {
		.sz = sizeof(o),
		.proc_root = root,
		.max_bytes = max_bytes,
		.reread_ns = reread_ns,
	};
	struct perfmap_cache *c;

	fakeproc_path(root, sizeof(root), ".");
	c = perfmap_cache__new(&o, NULL);
	cr_assert_not_null(c);
	return c;
}

static const char *lookup(struct perfmap_cache *c, uint64_t addr)
{
	uint64_t off;

	return perfmap_cache__lookup(c, TGID, TGID, addr, &off);
}

static struct perfmap_stats stats(const struct perfmap_cache *c)
{
	struct perfmap_stats st;

	perfmap_cache__stats(c, &st);
	return st;
}

static void teardown(void)
{
	fakeproc_remove();
}

TestSuite(perfmap_cache, .fini = teardown);

Test(perfmap_cache, reads_the_map_inside_the_root_under_the_namespace_pid)
{
	struct perfmap_cache *c;
	uint64_t off = 0;

	fake_process();
	fakeproc_write("1000 100 LazyCompile:*hot\n", "w",
		       "rootfs/tmp/perf-%d.map", NSPID);
	/* A map under the host PID, or outside the root, is not it. */
	fakeproc_write("1000 100 wrong_pid\n", "w", "rootfs/tmp/perf-%d.map",
		       TGID);
	c = new_cache(0, 0);
	cr_assert_str_eq(perfmap_cache__lookup(c, TGID, TGID, 0x1010, &off),
			 "LazyCompile:*hot");
	cr_assert_eq(off, 0x10);
	cr_assert_eq(stats(c).maps_read, 1);
	cr_assert_eq(stats(c).hits, 1);
	cr_assert_eq(stats(c).cached, 1);
	cr_assert_null(lookup(c, 0x2000));
	cr_assert_eq(stats(c).misses, 1);
	perfmap_cache__free(c);
}

Test(perfmap_cache, refuses_a_map_that_is_a_symlink)
{
	struct perfmap_cache *c;

	fake_process();
	fakeproc_write("1000 100 planted\n", "w", "rootfs/tmp/other");
	fakeproc_symlink("other", "rootfs/tmp/perf-%d.map", NSPID);
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).refused, 1);
	cr_assert_eq(stats(c).maps_read, 0);
	perfmap_cache__free(c);
}

/* Whether ROOT/rootfs/tmp/perf-NSPID.map opens when symlinks are
 * followed the host's way: the escape the cache must not take. */
static bool host_open_reaches_outside(void)
{
	char path[4096];
	int fd;

	fakeproc_path(path, sizeof(path), "rootfs/tmp/perf-%d.map", NSPID);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

Test(perfmap_cache, never_leaves_the_root_through_a_symlinked_directory)
{
	struct perfmap_cache *c;
	char abs[4096];

	fake_process();
	/* ROOT/outside is outside the process's root (ROOT/rootfs). */
	fakeproc_mkdir("outside");
	fakeproc_write("1000 100 outside_root\n", "w", "outside/perf-%d.map",
		       NSPID);
	fakeproc_rmtree("rootfs/tmp");
	fakeproc_symlink("../outside", "rootfs/tmp");
	cr_assert(host_open_reaches_outside());
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).maps_read, 0);
	perfmap_cache__free(c);

	/* An absolute target is taken inside the root too. */
	fakeproc_rmtree("rootfs/tmp");
	fakeproc_path(abs, sizeof(abs), "outside");
	fakeproc_symlink(abs, "rootfs/tmp");
	cr_assert(host_open_reaches_outside());
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).maps_read, 0);
	perfmap_cache__free(c);
}

Test(perfmap_cache, refuses_a_fifo_without_blocking)
{
	struct perfmap_cache *c;
	char path[4096];

	fake_process();
	fakeproc_path(path, sizeof(path), "rootfs/tmp/perf-%d.map", NSPID);
	cr_assert_eq(mkfifo(path, 0600), 0);
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).refused, 1);
	perfmap_cache__free(c);
}

Test(perfmap_cache, a_map_older_than_its_process_is_another_process_s)
{
	struct timespec ago[2] = { { .tv_nsec = UTIME_OMIT } };
	struct perfmap_cache *c;
	struct timespec boot;
	char path[4096];
	long hz = sysconf(_SC_CLK_TCK);

	fake_process();
	/* The process started now; its map was last written an hour ago,
	 * by the process that had the PID before. */
	cr_assert_eq(clock_gettime(CLOCK_BOOTTIME, &boot), 0);
	fakeproc_write_stat(
		TGID, 0,
		&(struct fakeproc_stat){ .comm = "node",
					 .state = 'R',
					 .start_ticks = (uint64_t)boot.tv_sec *
							(uint64_t)hz,
					 .start_code = 0x1000,
					 .end_code = 0x2000,
					 .start_stack = 0x7000 });
	fakeproc_write("1000 100 dead_process_fn\n", "w",
		       "rootfs/tmp/perf-%d.map", NSPID);
	fakeproc_path(path, sizeof(path), "rootfs/tmp/perf-%d.map", NSPID);
	ago[1].tv_sec = time(NULL) - 3600;
	cr_assert_eq(utimensat(AT_FDCWD, path, ago, 0), 0);
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).stale, 1);
	cr_assert_eq(stats(c).maps_read, 0);
	perfmap_cache__free(c);
}

Test(perfmap_cache, a_missing_map_is_counted_absent)
{
	struct perfmap_cache *c;

	fake_process();
	c = new_cache(0, 0);
	cr_assert_null(lookup(c, 0x1000));
	cr_assert_eq(stats(c).absent, 1);
	perfmap_cache__free(c);
}

Test(perfmap_cache, a_huge_map_is_read_up_to_the_bound_and_counted)
{
	struct perfmap_cache *c;
	size_t i;
	FILE *f;
	char path[4096];

	fake_process();
	fakeproc_path(path, sizeof(path), "rootfs/tmp/perf-%d.map", NSPID);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (i = 0; i < 100000; i++)
		fprintf(f, "%zx 10 fn_%zu\n", 0x100000 + i * 0x10, i);
	cr_assert_eq(fclose(f), 0);
	c = new_cache(4096, 0);
	cr_assert_str_eq(lookup(c, 0x100000), "fn_0");
	cr_assert_eq(stats(c).truncated, 1);
	cr_assert_leq(stats(c).bytes_read, 4096);
	/* Past the bound: not read, a miss. */
	cr_assert_null(lookup(c, 0x100000 + 99999 * 0x10));
	perfmap_cache__free(c);
}

Test(perfmap_cache, rereads_after_a_miss_when_the_runtime_appended)
{
	struct perfmap_cache *c;

	fake_process();
	fakeproc_write("1000 100 early\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	/* 1 ns: every miss may read again. */
	c = new_cache(0, 1);
	cr_assert_str_eq(lookup(c, 0x1000), "early");
	fakeproc_write("2000 100 compiled_later\n", "a",
		       "rootfs/tmp/perf-%d.map", NSPID);
	cr_assert_str_eq(lookup(c, 0x2000), "compiled_later");
	cr_assert_eq(stats(c).rereads, 1);
	cr_assert_eq(stats(c).maps_read, 2);
	/* The names handed out before stay valid until the epoch ends. */
	perfmap_cache__next_epoch(c);
	cr_assert_str_eq(lookup(c, 0x1000), "early");
	perfmap_cache__free(c);
}

Test(perfmap_cache, rereads_are_rate_limited)
{
	struct perfmap_cache *c;
	int i;

	fake_process();
	fakeproc_write("1000 100 early\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	c = new_cache(0, 3600ull * 1000000000ull);
	cr_assert_str_eq(lookup(c, 0x1000), "early");
	fakeproc_write("2000 100 compiled_later\n", "a",
		       "rootfs/tmp/perf-%d.map", NSPID);
	for (i = 0; i < 100; i++)
		cr_assert_null(lookup(c, 0x2000));
	cr_assert_eq(stats(c).rereads, 0);
	cr_assert_eq(stats(c).misses, 100);
	perfmap_cache__free(c);
}

Test(perfmap_cache, a_forgotten_process_reads_its_new_map)
{
	struct perfmap_cache *c;

	fake_process();
	fakeproc_write("1000 100 before_exec\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	c = new_cache(0, 3600ull * 1000000000ull);
	cr_assert_str_eq(lookup(c, 0x1000), "before_exec");
	fakeproc_write("1000 100 after_exec\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	perfmap_cache__forget(c, TGID);
	perfmap_cache__next_epoch(c);
	cr_assert_str_eq(lookup(c, 0x1000), "after_exec");
	cr_assert_eq(stats(c).cached, 1);
	perfmap_cache__free(c);
}

/* ---- through the symbolizer ---- */

#include "receiver/symbols/symbolizer.h"

static struct symbolizer *new_symbolizer(bool perf_maps)
{
	char root[4096];
	struct symbolizer_opts o = {
		.sz = sizeof(o),
		.proc_root = root,
		.perf_maps = perf_maps,
	};
	struct symbolizer *sy;

	fakeproc_path(root, sizeof(root), ".");
	sy = symbolizer__new(&o, NULL);
	cr_assert_not_null(sy);
	return sy;
}

static const struct mapping jit_mapping = {
	.start = 0x1000,
	.end = 0x10000,
	.prot = MAPPING_READ | MAPPING_EXEC,
	.kind = MAPPING_ANON,
	.path = "",
};

Test(perfmap_cache, anonymous_code_becomes_a_jit_frame_named_by_the_map)
{
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct symbolizer *sy;

	fake_process();
	fakeproc_write("1000 1000 JS:*hot /app.js:1\n2000 100 JS:*next\n", "w",
		       "rootfs/tmp/perf-%d.map", NSPID);
	sy = new_symbolizer(true);
	cr_assert_eq(symbolizer__user(sy, TGID, TGID, &jit_mapping, 0x1010,
				      false, fr, 4),
		     1);
	cr_assert_eq(fr[0].kind, FRAME_JIT);
	cr_assert_str_eq(fr[0].name, "JS:*hot /app.js:1");
	cr_assert_str_eq(fr[0].system_name, "JS:*hot /app.js:1");
	cr_assert_eq(fr[0].sym_offset, 0x10);
	cr_assert_eq(fr[0].mapping, &jit_mapping);
	/* A return address at the first byte of the next code object is
	 * the call at the end of this one. */
	cr_assert_eq(symbolizer__user(sy, TGID, TGID, &jit_mapping, 0x2000,
				      true, fr, 4),
		     1);
	cr_assert_str_eq(fr[0].name, "JS:*hot /app.js:1");
	cr_assert_eq(fr[0].sym_offset, 0x1000);
	cr_assert_eq(symbolizer__user(sy, TGID, TGID, &jit_mapping, 0x2000,
				      false, fr, 4),
		     1);
	cr_assert_str_eq(fr[0].name, "JS:*next");
	/* Code no mapping covers yet: the map may know it. */
	cr_assert_eq(symbolizer__user(sy, TGID, TGID, NULL, 0x2010, false, fr,
				      4),
		     1);
	cr_assert_eq(fr[0].kind, FRAME_JIT);
	cr_assert_str_eq(fr[0].name, "JS:*next");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.perf_map.hits, 4);
	cr_assert_eq(st.perf_map.maps_read, 1);
	symbolizer__next_epoch(sy);
	symbolizer__free(sy);
}

Test(perfmap_cache, perf_maps_off_leaves_anonymous_code_unnamed)
{
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct symbolizer *sy;

	fake_process();
	fakeproc_write("1000 1000 JS:*hot\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	sy = new_symbolizer(false);
	cr_assert_eq(symbolizer__user(sy, TGID, TGID, &jit_mapping, 0x1010,
				      false, fr, 4),
		     1);
	cr_assert_eq(fr[0].kind, FRAME_NATIVE);
	cr_assert_null(fr[0].name);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.perf_map.maps_read, 0);
	symbolizer__free(sy);
}

Test(perfmap_cache, file_backed_code_never_consults_the_map)
{
	static const struct mapping file = {
		.start = 0x1000,
		.end = 0x10000,
		.prot = MAPPING_READ | MAPPING_EXEC,
		.kind = MAPPING_FILE,
		.inode = 1,
		.path = "/usr/bin/app",
	};
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct symbolizer *sy;

	fake_process();
	fakeproc_write("1000 1000 JS:*hot\n", "w", "rootfs/tmp/perf-%d.map",
		       NSPID);
	sy = new_symbolizer(true);
	symbolizer__user(sy, TGID, TGID, &file, 0x1010, false, fr, 4);
	cr_assert_eq(fr[0].kind, FRAME_NATIVE);
	cr_assert_null(fr[0].name);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.perf_map.maps_read + st.perf_map.absent, 0);
	symbolizer__free(sy);
}

/* ---- on the real /proc, with a real process ---- */

#include <signal.h>
#include <sys/wait.h>

/* A child that waits until its pipe closes; its PID. */
static pid_t spawn_waiter(int *ret_fd)
{
	int p[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		close(p[1]);
		while (read(p[0], &c, 1) < 0)
			;
		_exit(0);
	}
	close(p[0]);
	*ret_fd = p[1];
	return pid;
}

static void reap_waiter(pid_t pid, int fd)
{
	close(fd);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

Test(perfmap_live, a_real_process_s_symlinked_map_is_refused)
{
	struct perfmap_cache_opts o = { .sz = sizeof(o) };
	struct perfmap_cache *c;
	char path[64];
	uint64_t off;
	pid_t pid;
	int fd;

	pid = spawn_waiter(&fd);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	unlink(path);
	cr_assert_eq(symlink("/etc/passwd", path), 0);
	c = perfmap_cache__new(&o, NULL);
	cr_assert_not_null(c);
	cr_assert_null(perfmap_cache__lookup(c, (uint32_t)pid, (uint32_t)pid,
					     0x1000, &off));
	cr_assert_eq(stats(c).refused, 1);
	cr_assert_eq(stats(c).bytes_read, 0);
	perfmap_cache__free(c);
	unlink(path);
	reap_waiter(pid, fd);
}

Test(perfmap_live, a_real_process_s_junk_map_is_skipped_and_counted)
{
	struct perfmap_cache_opts o = { .sz = sizeof(o),
					.max_bytes = 256 << 10 };
	struct perfmap_cache *c;
	uint64_t off, x = 88172645463325252ull;
	char path[64];
	size_t i;
	pid_t pid;
	FILE *f;
	int fd;

	pid = spawn_waiter(&fd);
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	f = fopen(path, "we");
	cr_assert_not_null(f);
	fputs("ffff 10 out_of_order\n1000 10 valid\n", f);
	for (i = 0; i < (1u << 20); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fputc((int)(x & 0xff), f);
	}
	cr_assert_eq(fclose(f), 0);
	c = perfmap_cache__new(&o, NULL);
	cr_assert_not_null(c);
	cr_assert_str_eq(perfmap_cache__lookup(c, (uint32_t)pid, (uint32_t)pid,
					       0x1000, &off),
			 "valid");
	cr_assert_str_eq(perfmap_cache__lookup(c, (uint32_t)pid, (uint32_t)pid,
					       0xffff, &off),
			 "out_of_order");
	cr_assert_eq(stats(c).truncated, 1);
	cr_assert_gt(stats(c).lines_skipped, 0);
	cr_assert_leq(stats(c).bytes_read, 256 << 10);
	perfmap_cache__free(c);
	unlink(path);
	reap_waiter(pid, fd);
}
