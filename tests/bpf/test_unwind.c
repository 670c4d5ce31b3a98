// SPDX-License-Identifier: Apache-2.0
/* The table walk on the real kernel: fixtures built -O2 without frame
 * pointers (a PLT into a shared library, C++ exceptions, a signal handler
 * in the middle of the stack, recursion 200 deep, a thread of a
 * pthread_exit() leader) and Debian's own xz and python3.11 reach main
 * through the right frames, and a Go program's goroutines runtime.goexit
 * (named and walked from .gopclntab when the binary is stripped);
 * a process's first samples are complete; a corrupted stack's stops are
 * counted; a tiny table budget evicts and still profiles; frame pointers
 * stay available. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"

#define TEST_FREQ 499
#define RUN_TIMEOUT_MS 60000
#define MIN_SAMPLES 100
#define XZ_DATA "/tmp/tgprof-unwind-xz.txt"
#define PY_SCRIPT "/tmp/tgprof-unwind-recurse.py"

/* Runs @argv (started after the receiver, so its first samples come
 * before its tables are loaded) until it exits, then drains what the
 * kernel still holds. */
static struct receiver *profile(char *const argv[], struct fixture *f,
				struct receiver_config *cfg,
				const struct receiver_sink *sink, bool only_it)
{
	struct receiver *r;

	harness_require_root();
	fixture_spawn(f, argv, 0);
	cfg->filter_tgid = only_it ? (uint32_t)f->pid : 0;
	r = harness_receiver(cfg, sink);
	fixture_go(f);
	harness_run_to_clean_exit(r, f, RUN_TIMEOUT_MS, argv[0]);
	receiver__stop(r);
	return r;
}

/* A link of a chain: @name, at most @gap frames after the previous link
 * (inlined callees, a signal trampoline); the first link may be anywhere. */
struct link {
	const char *name;
	int gap;
};

/* Whether the frames of @stack (";f0;f1;...;") hold the chain in order. */
static bool has_chain(const char *stack, const struct link *chain, size_t n)
{
	const char *p = stack, *q;
	char needle[256];
	size_t i;
	int gap;

	snprintf(needle, sizeof(needle), ";%s;", chain[0].name);
	p = strstr(p, needle);
	while (p) {
		q = p + strlen(needle) - 1;
		for (i = 1; i < n; i++) {
			size_t len = strlen(chain[i].name);

			for (gap = 0; gap <= chain[i].gap; gap++) {
				if (!strncmp(q + 1, chain[i].name, len) &&
				    q[1 + len] == ';')
					break;
				q = strchr(q + 1, ';');
				if (!q || !q[1])
					return false;
			}
			if (gap > chain[i].gap)
				break;
			q += 1 + len;
		}
		if (i == n)
			return true;
		p = strstr(p + 1, needle);
	}
	return false;
}

struct shares {
	size_t samples; /* of the process (or thread) */
	size_t rooted; /* reaching the root frame */
	size_t with_first; /* holding the chain's first frame */
	size_t chained; /* of those, the whole chain */
};

/* Counts @c's samples of @tgid (and @tid when not 0). */
static void count_shares(const struct capture *c, pid_t tgid, pid_t tid,
			 const char *root, const struct link *chain, size_t n,
			 struct shares *ret)
{
	char needle[256];
	size_t i;

	memset(ret, 0, sizeof(*ret));
	snprintf(needle, sizeof(needle), ";%s;", chain[0].name);
	for (i = 0; i < c->n; i++) {
		const struct cap_sample *s = &c->v[i];

		if (s->tgid != (uint32_t)tgid ||
		    (tid && s->tid != (uint32_t)tid))
			continue;
		ret->samples++;
		ret->rooted += cap_has(s, root);
		if (!strstr(s->stack, needle))
			continue;
		ret->with_first++;
		ret->chained += has_chain(s->stack, chain, n);
	}
}

/* Prints a few samples that miss @root, for the failure message. */
static void show_misses(const struct capture *c, pid_t tgid, const char *root)
{
	size_t i, shown = 0;

	for (i = 0; i < c->n && shown < 5; i++) {
		if (c->v[i].tgid != (uint32_t)tgid || cap_has(&c->v[i], root))
			continue;
		fprintf(stderr, "  without %s: %s\n", root, c->v[i].stack);
		shown++;
	}
}

/* At least 95% of the samples reach @root, the chain's first frame is in
 * at least half of them, and 95% of those hold the whole chain. */
static void assert_complete(const struct capture *c, pid_t tgid, pid_t tid,
			    const char *root, const struct link *chain,
			    size_t n)
{
	struct shares sh;

	count_shares(c, tgid, tid, root, chain, n, &sh);
	if (sh.rooted * 100 < sh.samples * 95)
		show_misses(c, tgid, root);
	cr_assert_geq(sh.samples, MIN_SAMPLES, "only %zu samples", sh.samples);
	cr_assert_geq(sh.rooted * 100, sh.samples * 95,
		      "%zu of %zu samples reach %s", sh.rooted, sh.samples,
		      root);
	cr_assert_geq(sh.with_first * 2, sh.samples, "%zu of %zu samples in %s",
		      sh.with_first, sh.samples, chain[0].name);
	cr_assert_geq(sh.chained * 100, sh.with_first * 95,
		      "%zu of %zu samples in %s have the whole chain",
		      sh.chained, sh.with_first, chain[0].name);
}

#define CHAIN(...)                                             \
	(const struct link[]){ __VA_ARGS__ },                  \
		sizeof((const struct link[]){ __VA_ARGS__ }) / \
			sizeof(struct link)

Test(unwind, plt_call_into_a_shared_library_reaches_main, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_plt", path, sizeof(path)),
			 "2000", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	assert_complete(&c, f.pid, 0, "main",
			CHAIN({ "lib_leaf", 0 }, { "lib_entry", 0 },
			      { "plt_caller", 0 }, { "main", 0 },
			      { "__libc_start_call_main", 0 }));
	receiver__stats(r, &st);
	cr_assert_geq(st.unwind.files_loaded, 3, "exe, library and libc");
	cr_assert_gt(st.sampler.frames_table, 0);
	cr_assert_geq(st.unwind_stops[UNWIND_STOP_END] * 100, st.samples * 95);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

Test(unwind, cxx_exceptions_thrown_in_a_loop_reach_main, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_cxx", path, sizeof(path)),
			 "2000", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	/* Samples in libstdc++'s and libgcc's unwinder reach main too. */
	assert_complete(&c, f.pid, 0, "main",
			CHAIN({ "cxx_spin", 0 }, { "cxx_thrower", 0 },
			      { "cxx_catcher", 0 }, { "main", 0 }));
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

Test(unwind, signal_handler_frames_continue_past_the_trampoline, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_signal", path,
					      sizeof(path)),
			 "2000", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct shares sh;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	assert_complete(&c, f.pid, 0, "main",
			CHAIN({ "victim_inner", 0 }, { "victim_loop", 0 },
			      { "main", 0 }));
	/* The handler's samples: through __restore_rt into the interrupted
	 * function (it may have been inside an inlined callee or the vdso:
	 * a few frames between). */
	count_shares(&c, f.pid, 0, "main",
		     CHAIN({ "handler_spin", 0 }, { "on_alarm", 0 },
			   { "victim_inner", 5 }, { "victim_loop", 0 },
			   { "main", 0 }),
		     &sh);
	cr_assert_geq(sh.with_first, 20, "%zu handler samples", sh.with_first);
	cr_assert_geq(sh.chained * 100, sh.with_first * 95,
		      "%zu of %zu handler samples continue into victim_inner",
		      sh.chained, sh.with_first);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

/* @depth recurse frames between leaf_spin and main. */
static bool recursion_whole(const char *stack, int depth)
{
	const char *p = strstr(stack, ";leaf_spin;recurse;");
	int n = 0;

	if (!p)
		return false;
	p += strlen(";leaf_spin");
	while (!strncmp(p, ";recurse", 8) && p[8] == ';') {
		n++;
		p += 8;
	}
	return n == depth && !strncmp(p, ";main;", 6);
}

Test(unwind, recursion_200_frames_deep_reaches_main, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_recurse", path,
					      sizeof(path)),
			 "2000", "200", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	size_t i, n = 0, whole = 0;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	for (i = 0; i < c.n; i++) {
		if (c.v[i].tgid != (uint32_t)f.pid)
			continue;
		n++;
		whole += recursion_whole(c.v[i].stack, 200);
	}
	cr_assert_geq(n, MIN_SAMPLES);
	cr_assert_geq(whole * 100, n * 95, "%zu of %zu samples whole", whole,
		      n);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

static unsigned long long must_value(const struct fixture *f, const char *key)
{
	unsigned long long v = 0;

	cr_assert(fixture_value(f, key, &v), "fixture did not report %s:\n%s",
		  key, f->out);
	return v;
}

Test(unwind, thread_of_a_pthread_exit_leader_reaches_start_thread,
     .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_pthread_exit", path,
					      sizeof(path)),
			 "300", "2000", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver *r;
	struct fixture f;
	pid_t worker;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	worker = (pid_t)must_value(&f, "worker_tid");
	assert_complete(&c, f.pid, worker, "start_thread",
			CHAIN({ "worker_spin_hot", 0 }, { "worker", 0 },
			      { "start_thread", 0 }));
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

/* Debian's xz is stripped: main has no name, but it is the frame libc's
 * __libc_start_call_main called. */
static void write_xz_data(void)
{
	uint64_t x = 88172645463325252ULL;
	char line[81];
	FILE *out;
	int i, j;

	out = fopen(XZ_DATA, "we");
	cr_assert_not_null(out, "%s: %s", XZ_DATA, strerror(errno));
	for (i = 0; i < 40000; i++) {
		for (j = 0; j < 80; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			line[j] = "abcdefghijklmnopqrstuvwxyz    .,"[x % 32];
		}
		line[80] = '\n';
		cr_assert_eq(fwrite(line, 1, sizeof(line), out), sizeof(line));
	}
	cr_assert_eq(fclose(out), 0);
}

Test(unwind, debian_xz_reaches_main, .timeout = 180)
{
	/* Into XZ_DATA.xz: the fixture's stdout is the harness's pipe. */
	char *argv[] = {
		"/usr/bin/xz", "-9e", "-T1", "-k", "-f", XZ_DATA, NULL
	};
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver *r;
	struct fixture f;
	struct shares sh;

	harness_require_root();
	cr_assert_eq(access(argv[0], X_OK), 0, "xz-utils is not installed");
	write_xz_data();
	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	/* main: one frame inside __libc_start_call_main, whatever its
	 * name; the walk ends at _start. */
	count_shares(&c, f.pid, 0, "__libc_start_call_main",
		     CHAIN({ "lzma_code", 0 }, { "__libc_start_call_main", 4 }),
		     &sh);
	cr_assert_geq(sh.samples, MIN_SAMPLES);
	cr_assert_geq(sh.rooted * 100, sh.samples * 95,
		      "%zu of %zu samples reach main", sh.rooted, sh.samples);
	cr_assert_geq(sh.chained * 100, sh.with_first * 95);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
	unlink(XZ_DATA);
	unlink(XZ_DATA ".xz");
}

Test(unwind, debian_python_recursion_reaches_py_bytesmain, .timeout = 180)
{
	static const char script[] =
		"import time\n"
		"def f(n):\n"
		"    if n == 0:\n"
		"        t = time.monotonic()\n"
		"        while time.monotonic() - t < 0.002: pass\n"
		"        return 0\n"
		"    return f(n - 1) + 1\n"
		"end = time.monotonic() + 2.0\n"
		"while time.monotonic() < end:\n"
		"    f(40)\n";
	char *argv[] = { "/usr/bin/python3.11", PY_SCRIPT, NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver *r;
	struct fixture f;
	FILE *out;

	harness_require_root();
	cr_assert_eq(access(argv[0], X_OK), 0, "python3.11 is not installed");
	out = fopen(PY_SCRIPT, "we");
	cr_assert_not_null(out);
	cr_assert_eq(fputs(script, out) >= 0, 1);
	cr_assert_eq(fclose(out), 0);
	harness_config(&cfg, TEST_FREQ, 0);
	/* The native walk through the interpreter: its frames as they are,
	 * not replaced by the Python ones (tests/bpf/test_python.c). */
	cfg.python_frames = false;
	r = profile(argv, &f, &cfg, &sink, true);
	assert_complete(&c, f.pid, 0, "Py_BytesMain",
			CHAIN({ "_PyEval_EvalFrameDefault", 0 },
			      { "Py_BytesMain", 30 },
			      { "__libc_start_call_main", 0 }));
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
	unlink(PY_SCRIPT);
}

/* The walks of a profile only of the fixture were counted as complete:
 * nearly all end at the outermost frame, hardly any at a bad frame. */
static void assert_walks_end(const struct receiver_stats *st)
{
	uint64_t walks = 0, ends, bad;
	int i;

	for (i = 0; i < UNWIND_STOP_MAX; i++)
		walks += st->unwind_stops[i];
	ends = st->unwind_stops[UNWIND_STOP_END];
	bad = st->unwind_stops[UNWIND_STOP_BAD_FRAME];
	cr_assert_geq(walks, MIN_SAMPLES);
	cr_assert_geq(ends * 100, walks * 95,
		      "%llu of %llu walks complete, %llu bad frames",
		      (unsigned long long)ends, (unsigned long long)walks,
		      (unsigned long long)bad);
	cr_assert_leq(bad * 100, walks, "%llu of %llu walks bad frames",
		      (unsigned long long)bad, (unsigned long long)walks);
}

/* Profiles the Go fixture @name: 95 % of its samples reach its
 * goroutine's end, @goexit, through the whole chain from its leaf, and
 * its walks are counted complete. */
static void profile_go(const char *name, const char *goexit)
{
	char path[512], what[600];
	char *argv[] = { (char *)fixture_path(name, path, sizeof(path)), "1500",
			 NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;

	harness_require_root();
	snprintf(what, sizeof(what), "Go is not installed: no %s fixture",
		 name);
	harness_require(!access(argv[0], X_OK), what);
	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	receiver__stats(r, &st);
	assert_complete(&c, f.pid, 0, goexit,
			CHAIN({ "main.goSpinLeaf", 0 }, { "main.goSpinMid", 0 },
			      { "main.main.func1", 0 }, { goexit, 0 }));
	assert_walks_end(&st);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

/* Go: every function has CFI, and a goroutine's stack ends at
 * runtime.goexit with a zero return address, which is the end of a
 * complete stack, not a bad frame. */
Test(unwind, go_goroutine_stacks_are_complete_down_to_goexit, .timeout = 180)
{
	profile_go("go_spin", "runtime.goexit.abi0");
}

/* Built with -s -w, as most Go images ship: no .symtab, no CFI. The
 * frames are named from .gopclntab and walked with its SP tables, down to
 * runtime.goexit: main.goSpinMid too, which frame pointers skip (its
 * callee goSpinLeaf keeps no frame). */
Test(unwind, stripped_go_binary_is_named_and_walked_from_its_function_table,
     .timeout = 180)
{
	profile_go("go_spin_stripped", "runtime.goexit");
}

/* The same with cgo, linked by the system linker: .eh_frame for its C
 * code, the function table for its Go code. */
Test(unwind, stripped_cgo_binary_walks_its_go_code_from_its_function_table,
     .timeout = 180)
{
	profile_go("go_spin_cgo_stripped", "runtime.goexit");
}

static int by_time(const void *a, const void *b)
{
	const struct cap_sample *x = *(const struct cap_sample *const *)a;
	const struct cap_sample *y = *(const struct cap_sample *const *)b;

	return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

/* The samples taken before the process's tables were in the kernel carry
 * their stack and are finished here: the first 100 ms are as complete as
 * the rest. The first 100 ms of the process's CPU time, that is its first
 * 100 samples at 997 Hz (the CPU clock only ticks for it while it runs):
 * on a loaded host 100 ms of wall time may hold only a few of them. */
Test(unwind, first_100ms_of_a_new_process_are_complete, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_recurse", path,
					      sizeof(path)),
			 "400", "20", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct cap_sample **mine;
	size_t i, n = 0, first, whole = 0;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, 997, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	mine = calloc(c.n ? c.n : 1, sizeof(*mine));
	cr_assert_not_null(mine);
	for (i = 0; i < c.n; i++)
		if (c.v[i].tgid == (uint32_t)f.pid &&
		    cap_has(&c.v[i], "leaf_spin"))
			mine[n++] = &c.v[i];
	qsort(mine, n, sizeof(*mine), by_time);
	first = n < 100 ? n : 100;
	for (i = 0; i < first; i++)
		whole += recursion_whole(mine[i]->stack, 20);
	receiver__stats(r, &st);
	cr_assert_geq(first, 30, "%zu samples of the process in all", n);
	cr_assert_geq(whole * 100, first * 95,
		      "%zu of the first %zu samples whole", whole, first);
	/* They came through the stack copies. */
	cr_assert_gt(st.sampler.stack_copies, 0);
	cr_assert_gt(st.walks_finished, 0);
	free(mine);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

static void run_corrupt(const char *mode, enum unwind_stop want)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_corrupt", path,
					      sizeof(path)),
			 (char *)mode, "1500", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_stats st;
	struct shares sh;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	r = profile(argv, &f, &cfg, &sink, true);
	receiver__stats(r, &st);
	count_shares(&c, f.pid, 0, "main", CHAIN({ "corrupt_spin", 0 }), &sh);
	/* Profiled all the same: the spinning frame is named. */
	cr_assert_geq(sh.with_first, MIN_SAMPLES / 2);
	cr_assert_geq(st.sampler.unwind_stops[want] + st.unwind_stops[want],
		      sh.with_first / 2, "%s: %lu in the kernel, %lu in all",
		      mode, (unsigned long)st.sampler.unwind_stops[want],
		      (unsigned long)st.unwind_stops[want]);
	cr_assert_geq(st.unwind_stops[want], sh.with_first * 9 / 10);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

Test(unwind, unreadable_frame_is_counted_as_a_read_fault, .timeout = 120)
{
	run_corrupt("fault", UNWIND_STOP_READ_FAULT);
}

Test(unwind, frame_below_the_stack_is_counted_as_bad, .timeout = 120)
{
	run_corrupt("bad", UNWIND_STOP_BAD_FRAME);
}

/* A budget smaller than libc's table, on the whole host: files are
 * evicted or refused, counted, and the fixture is still profiled (frame
 * pointers where its files have no table). */
Test(unwind, tiny_table_memory_evicts_and_still_profiles, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_plt", path, sizeof(path)),
			 "1500", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_stats st;
	struct shares sh;
	struct receiver *r;
	struct fixture f;

	harness_config(&cfg, TEST_FREQ, 0);
	cfg.unwind_table_bytes = 12 << 10;
	r = profile(argv, &f, &cfg, &sink, false);
	receiver__stats(r, &st);
	count_shares(&c, f.pid, 0, "main", CHAIN({ "lib_leaf", 0 }), &sh);
	cr_assert_geq(sh.with_first, MIN_SAMPLES / 2, "%zu samples",
		      sh.with_first);
	cr_assert_gt(st.unwind.files_over_budget + st.unwind.files_evicted, 0);
	cr_assert_leq(st.unwind.kernel_bytes, cfg.unwind_table_bytes);
	cr_assert_gt(st.sampler.frames_fp, 0);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

/* unwinder: frame_pointer: no tables at all, bpf_get_stack's walk; a
 * program built with frame pointers still reaches main. */
Test(unwind, frame_pointer_unwinder_needs_no_tables, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("pthread_exit_leader", path,
					      sizeof(path)),
			 "1500", "100", NULL };
	struct receiver_config cfg;
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;
	size_t i;

	harness_config(&cfg, TEST_FREQ, 0);
	cfg.unwinder = RECEIVER_UNWIND_FRAME_POINTER;
	r = profile(argv, &f, &cfg, &sink, true);
	assert_complete(&c, f.pid, f.pid, "main",
			CHAIN({ "leader_spin", 0 }, { "main", 0 }));
	receiver__stats(r, &st);
	cr_assert_eq(st.unwind.files_loaded, 0);
	cr_assert_eq(st.sampler.stack_copies, 0);
	for (i = 0; i < UNWIND_STOP_MAX; i++)
		cr_assert_eq(st.sampler.unwind_stops[i], 0);
	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}
