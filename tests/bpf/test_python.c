// SPDX-License-Identifier: Apache-2.0
/* CPython frames on the real kernel: Debian's /usr/bin/python3.11 runs
 * tests/fixtures/python_calltree.py (main -> a -> b, the hot loop, and
 * main -> c); its samples must name b with its file and line, under a and
 * main, in place of the interpreter's _PyEval_EvalFrameDefault frames,
 * with the native frames that start the interpreter below them. The same
 * when the main thread has left (pthread_exit) and a Python thread runs
 * on, and when the script and the interpreter's path exist only in the
 * process's own mount namespace. Needs root. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PYTHON "/usr/bin/python3.11"
#define SCRIPT "python_calltree.py"
#define TEST_FREQ 199
#define RUN_SECONDS "6"
#define RUN_TIMEOUT_MS 60000
#define NS_DIR "/tmp/tgprof-test-python-ns"

struct py_tally {
	uint32_t tgid;
	uint32_t hot_line; /* the "# HOT_LINE" line of the script */
	bool started; /* a sample with Python frames was seen */
	uint64_t samples; /* since then */
	uint64_t python; /* with Python frames */
	uint64_t hot; /* b at its file and hot line, under a and main, with
			 native frames below */
	uint64_t c;
	uint64_t main_thread; /* taken on the leader thread */
	uint64_t non_python_kind; /* b, a or main not of kind cpython */
	char example[4096]; /* one stack that is not hot, to tell */
};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = s ? strlen(s) : 0, m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

static void describe(const struct sym_sample *s, char *buf, size_t len)
{
	size_t off = 0;
	uint32_t i;

	buf[0] = '\0';
	for (i = s->nkernel; i < s->nframes && off + 1 < len; i++) {
		const struct sym_frame *f = &s->frames[i];

		off += snprintf(buf + off, len - off, "%s%s@%s:%u;",
				f->kind == FRAME_CPYTHON ? "py:" : "",
				f->name ? f->name : "?", f->file ? f->file : "",
				f->line);
	}
}

static void tally_on_sample(void *ctx, const struct sym_sample *s)
{
	struct py_tally *t = ctx;
	int ib = -1, ia = -1, im = -1, native_below = 0, npy = 0;
	bool is_c = false;
	uint32_t i;

	if (s->tgid != t->tgid)
		return;
	for (i = s->nkernel; i < s->nframes; i++)
		npy += s->frames[i].kind == FRAME_CPYTHON;
	/* The process is found Python on its first sample's maps read:
	 * samples before that have native frames only. */
	if (!t->started && !npy)
		return;
	t->started = true;
	t->samples++;
	t->python += npy > 0;
	t->main_thread += s->tid == s->tgid;
	for (i = s->nkernel; i < s->nframes; i++) {
		const struct sym_frame *f = &s->frames[i];
		const char *n = f->name ? f->name : "";
		bool py = f->kind == FRAME_CPYTHON;

		if (im >= 0) {
			/* What starts the interpreter: native, below main. */
			if (!py &&
			    (!strcmp(n, "Py_RunMain") ||
			     !strcmp(n, "Py_BytesMain") ||
			     !strcmp(n, "thread_run") ||
			     !strcmp(n, "start_thread") ||
			     !strcmp(n, "clone3") || !strcmp(n, "__clone3")))
				native_below = 1;
			continue;
		}
		if (!strcmp(n, "c") && py)
			is_c = true;
		if (!strcmp(n, "b") && ib < 0) {
			if (!py)
				t->non_python_kind++;
			if (py && ends_with(f->file, "/" SCRIPT) &&
			    f->line == t->hot_line)
				ib = (int)i;
		} else if (!strcmp(n, "a") && ib >= 0 && ia < 0 && py) {
			ia = (int)i;
		} else if (!strcmp(n, "main") && ia >= 0 && py) {
			im = (int)i;
		}
	}
	t->c += is_c;
	if (ib >= 0 && ia > ib && im > ia && native_below)
		t->hot++;
	else if (!is_c && !t->example[0])
		describe(s, t->example, sizeof(t->example));
}

/* The line of the script marked "# HOT_LINE". */
static uint32_t hot_line(const char *script)
{
	char line[512];
	uint32_t n = 0;
	FILE *fp = fopen(script, "r");

	cr_assert_not_null(fp, "%s", script);
	while (fgets(line, sizeof(line), fp)) {
		n++;
		if (strstr(line, "# HOT_LINE")) {
			fclose(fp);
			return n;
		}
	}
	fclose(fp);
	cr_assert_fail("%s has no # HOT_LINE", script);
	return 0;
}

static void require_python(void)
{
	harness_require_root();
	/* Not skipped: with CI=true a missing interpreter fails. */
	cr_assert_eq(access(PYTHON, X_OK), 0,
		     "%s is missing: cmake/install-deps.sh installs python3.11",
		     PYTHON);
}

/* Runs @argv under a receiver for the fixture's process and checks its
 * samples; @thread: main() runs in a thread, the leader left. */
static void run_and_check(char *const argv[], const char *script, bool thread,
			  const char *what)
{
	struct py_tally t = { 0 };
	struct receiver_sink sink = { .on_sample = tally_on_sample, .ctx = &t };
	struct receiver_config cfg;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;
	double share;

	t.hot_line = hot_line(script);
	fixture_spawn(&f, argv, 0);
	t.tgid = (uint32_t)f.pid;
	harness_config(&cfg, TEST_FREQ, (uint32_t)f.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	harness_run_to_clean_exit(r, &f, RUN_TIMEOUT_MS, what);
	receiver__stop(r);
	receiver__stats(r, &st);
	share = t.samples ? (double)t.hot / (double)t.samples : 0;
	printf("%s: %llu samples, %llu with Python frames, %.1f %% in b at line %u under a and main, %llu in c, %llu on the leader; kernel: %llu Python samples, %llu frames, %llu read errors, %llu without a thread state; code: %llu lookups, %llu read errors\n",
	       what, (unsigned long long)t.samples,
	       (unsigned long long)t.python, 100.0 * share, t.hot_line,
	       (unsigned long long)t.c, (unsigned long long)t.main_thread,
	       (unsigned long long)st.sampler.py_samples,
	       (unsigned long long)st.sampler.py_frames,
	       (unsigned long long)st.sampler.py_read_errors,
	       (unsigned long long)st.sampler.py_no_thread,
	       (unsigned long long)st.python.code.lookups,
	       (unsigned long long)st.python.code.read_errors);
	if (t.example[0])
		printf("  a stack that is not b's: %s\n", t.example);

	cr_assert_geq(st.python.detected, 1, "%s: not found to run Python",
		      what);
	cr_assert_geq(t.samples, 300, "%s: only %llu samples", what,
		      (unsigned long long)t.samples);
	cr_assert_geq(
		share, 0.95,
		"%s: %.1f %% of the samples name b at %s:%u under a and main (e.g. %s)",
		what, 100.0 * share, SCRIPT, t.hot_line, t.example);
	cr_assert_geq(t.c, 1, "%s: c never sampled", what);
	cr_assert_eq(t.non_python_kind, 0);
	/* The leader leaves right after starting the thread. */
	if (thread)
		cr_assert_lt(t.main_thread * 10, t.samples,
			     "%s: %llu samples of the leader", what,
			     (unsigned long long)t.main_thread);
	receiver__free(r);
	fixture_cleanup(&f);
}

Test(python, samples_name_b_at_its_line_under_a_and_main_above_native_frames,
     .timeout = 180)
{
	char buf[512];
	const char *script;

	require_python();
	script = fixture_path(SCRIPT, buf, sizeof(buf));
	{
		char *argv[] = { PYTHON, (char *)script, RUN_SECONDS, NULL };

		run_and_check(argv, script, false, "python3.11");
	}
}

Test(python, python_thread_is_walked_after_the_main_thread_left, .timeout = 180)
{
	char buf[512];
	const char *script;

	require_python();
	script = fixture_path(SCRIPT, buf, sizeof(buf));
	{
		char *argv[] = { PYTHON, (char *)script, RUN_SECONDS, "thread",
				 NULL };

		run_and_check(argv, script, true, "python3.11 (leader left)");
	}
}

/* The interpreter and the script at paths that exist only inside the
 * process's mount namespace (a tmpfs over NS_DIR, the interpreter bound
 * into it): the ELF is found through the process's root. */
Test(python, interpreter_in_another_mount_namespace_is_walked, .timeout = 180)
{
	char buf[512], cmd[2048];
	const char *script;

	require_python();
	cr_assert_eq(access("/usr/bin/unshare", X_OK), 0,
		     "unshare (util-linux) is missing");
	script = fixture_path(SCRIPT, buf, sizeof(buf));
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p " NS_DIR " && mount -t tmpfs tgprof " NS_DIR
		 " && touch " NS_DIR "/python3.11 && mount --bind " PYTHON
		 " " NS_DIR "/python3.11 && cp %s " NS_DIR "/" SCRIPT
		 " && exec " NS_DIR "/python3.11 " NS_DIR "/" SCRIPT
		 " " RUN_SECONDS,
		 script);
	{
		char *argv[] = { "/usr/bin/unshare",
				 "--mount",
				 "--",
				 "/bin/sh",
				 "-c",
				 cmd,
				 NULL };

		run_and_check(argv, script, false,
			      "python3.11 in its own mount namespace");
	}
	/* Outside, the path is an empty directory. */
	cr_assert_neq(access(NS_DIR "/python3.11", F_OK), 0);
}

/* 3.12 (shim frames owned by the C stack) and 3.13 (layout from
 * _Py_DebugOffsets, instr_ptr): Debian 12 ships neither, so these run
 * with the interpreters named in TGPROF_TEST_PYTHONS (colon-separated),
 * else pyenv's where installed, and are skipped without any. */
static int other_pythons(char paths[][256], int max)
{
	static const char *const pyenv[] = {
		"/root/.pyenv/versions/3.12.1/bin/python3.12",
		"/root/.pyenv/versions/3.13.0/bin/python3.13",
	};
	const char *env = getenv("TGPROF_TEST_PYTHONS");
	int n = 0;
	size_t i;

	if (env && *env) {
		char buf[1024], *save = NULL, *tok;

		snprintf(buf, sizeof(buf), "%s", env);
		for (tok = strtok_r(buf, ":", &save); tok && n < max;
		     tok = strtok_r(NULL, ":", &save))
			snprintf(paths[n++], 256, "%s", tok);
		return n;
	}
	for (i = 0; i < sizeof(pyenv) / sizeof(pyenv[0]) && n < max; i++)
		if (!access(pyenv[i], X_OK))
			snprintf(paths[n++], 256, "%s", pyenv[i]);
	return n;
}

Test(python, cpython_3_12_and_3_13_are_walked_where_installed, .timeout = 300)
{
	char paths[4][256], buf[512];
	const char *script;
	int i, n;

	harness_require_root();
	n = other_pythons(paths, 4);
	if (!n)
		cr_skip_test("no CPython 3.12 or 3.13 (TGPROF_TEST_PYTHONS)");
	script = fixture_path(SCRIPT, buf, sizeof(buf));
	for (i = 0; i < n; i++) {
		char *argv[] = { paths[i], (char *)script, RUN_SECONDS, NULL };

		run_and_check(argv, script, false, paths[i]);
	}
}

/* An interpreter that execs itself is found twice, its file read once:
 * the second detection takes _PyRuntime's place from the file cache. */
Test(python, an_interpreter_file_is_read_once_for_every_process_of_it,
     .timeout = 180)
{
	char buf[512];
	const char *script;
	struct py_tally t = { 0 };
	struct receiver_sink sink = { .on_sample = tally_on_sample, .ctx = &t };
	struct receiver_config cfg;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;

	require_python();
	script = fixture_path(SCRIPT, buf, sizeof(buf));
	{
		/* Half a second of CPU (sampled, so found) before the exec. */
		char *argv[] = {
			PYTHON,
			"-c",
			"import os, sys, time\n"
			"while time.process_time() < 0.5:\n"
			"    pass\n"
			"os.execv(sys.executable, [sys.executable] + sys.argv[1:])\n",
			(char *)script,
			"2",
			NULL
		};

		t.hot_line = hot_line(script);
		fixture_spawn(&f, argv, 0);
	}
	t.tgid = (uint32_t)f.pid;
	harness_config(&cfg, TEST_FREQ, (uint32_t)f.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	harness_run_to_clean_exit(r, &f, RUN_TIMEOUT_MS, "python");
	receiver__stop(r);
	receiver__stats(r, &st);
	printf("exec'd interpreter: %llu detected, %llu files read, %llu cache hits, %llu samples with Python frames\n",
	       (unsigned long long)st.python.detected,
	       (unsigned long long)st.python.files_read,
	       (unsigned long long)st.python.file_hits,
	       (unsigned long long)t.python);
	cr_assert_geq(st.python.detected, 2, "found before and after exec");
	cr_assert_eq(st.python.files_read, 1, "%llu reads of one file",
		     (unsigned long long)st.python.files_read);
	cr_assert_geq(st.python.file_hits, 1);
	cr_assert_gt(t.python, 0, "Python frames after the exec");
	receiver__free(r);
	fixture_cleanup(&f);
}
