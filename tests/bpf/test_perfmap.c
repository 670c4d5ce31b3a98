// SPDX-License-Identifier: Apache-2.0
/* JIT frames on the real kernel: Node.js with --perf-basic-prof running a
 * known hot JavaScript function, and the JVM (-XX:+PreserveFramePointer)
 * after `jcmd PID Compiler.perfmap`, are sampled; the runtime's perf map
 * names the hot function in the samples, as a frame of kind jit. Prints
 * the share of samples that name it and what the others are. Needs root,
 * Debian's nodejs and openjdk-17-jdk-headless (cmake/install-deps.sh). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/bpf/harness.h"

#define TEST_FREQ 499
#define RUN_TIMEOUT_MS 90000
#define NODE "/usr/bin/node"
#define JAVA_HOME "/usr/lib/jvm/java-17-openjdk-amd64"
#define NODE_SCRIPT "/tmp/tgprof-perfmap-hot.js"
#define JAVA_SRC "/tmp/TgprofPerfmapHot.java"
#define MAX_OTHERS 64

/* What the samples of one process held. */
struct jit_tally {
	uint32_t tgid;
	const char *hot; /* substring of the hot function's name */
	uint64_t samples;
	uint64_t hot_samples; /* some frame names the hot function */
	uint64_t hot_jit; /* ... and that frame is of kind jit */
	uint64_t jit_frames; /* frames of kind jit, any name */
	uint64_t depth_sum; /* user frames of hot samples */
	/* The innermost user frame of the other samples after the first hot
	 * one. */
	struct {
		char name[96];
		uint64_t n;
	} others[MAX_OTHERS];
	uint64_t others_unlisted;
	uint64_t others_before; /* before the first hot sample */
	char example[1024]; /* one hot sample's user stack */
};

static void tally_other(struct jit_tally *t, const char *name)
{
	size_t i;

	if (!name)
		name = "(unnamed)";
	for (i = 0; i < MAX_OTHERS && t->others[i].n; i++) {
		if (!strncmp(t->others[i].name, name,
			     sizeof(t->others[i].name) - 1)) {
			t->others[i].n++;
			return;
		}
	}
	if (i == MAX_OTHERS) {
		t->others_unlisted++;
		return;
	}
	snprintf(t->others[i].name, sizeof(t->others[i].name), "%s", name);
	t->others[i].n = 1;
}

static void tally_on_sample(void *ctx, const struct sym_sample *s)
{
	struct jit_tally *t = ctx;
	const struct sym_frame *leaf = NULL;
	bool hot = false, hot_jit = false;
	char what[96];
	uint32_t i;

	if (s->tgid != t->tgid)
		return;
	t->samples++;
	for (i = s->nkernel; i < s->nframes; i++) {
		const struct sym_frame *fr = &s->frames[i];

		if (fr->kind == FRAME_JIT)
			t->jit_frames++;
		if (!leaf)
			leaf = fr;
		if (fr->name && strstr(fr->name, t->hot)) {
			hot = true;
			hot_jit |= fr->kind == FRAME_JIT;
		}
	}
	if (!hot) {
		/* The innermost user frame says where the time went: its
		 * name, else the memory it is in. */
		if (!leaf)
			snprintf(what, sizeof(what), "(kernel only)");
		else if (leaf->name)
			snprintf(what, sizeof(what), "%s%s", leaf->name,
				 leaf->kind == FRAME_JIT ? " [jit]" : "");
		else
			snprintf(what, sizeof(what), "unnamed in %s",
				 leaf->module ? leaf->module : "no mapping");
		/* Start-up is one count; what follows is listed. */
		if (!t->hot_samples)
			t->others_before++;
		else
			tally_other(t, what);
		return;
	}
	t->hot_samples++;
	t->hot_jit += hot_jit;
	t->depth_sum += s->nframes - s->nkernel;
	if (!t->example[0] && leaf->name && strstr(leaf->name, t->hot)) {
		size_t len = 0;

		for (i = s->nkernel; i < s->nframes && len < 900; i++)
			len += (size_t)snprintf(
				t->example + len, sizeof(t->example) - len,
				"%s%.60s%s", len ? " <- " : "",
				s->frames[i].name ? s->frames[i].name : "?",
				s->frames[i].kind == FRAME_JIT ? " [jit]" : "");
	}
}

static uint64_t singles(const struct jit_tally *t)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < MAX_OTHERS; i++)
		n += t->others[i].n == 1;
	return n;
}

static void tally_print(const struct jit_tally *t, const char *what)
{
	size_t i;

	fprintf(stderr,
		"%s: %llu samples, %llu (%.1f %%) name %s (%llu as jit), "
		"%.1f user frames deep; a hot stack: %s\n",
		what, (unsigned long long)t->samples,
		(unsigned long long)t->hot_samples,
		t->samples ?
			100.0 * (double)t->hot_samples / (double)t->samples :
			0.0,
		t->hot, (unsigned long long)t->hot_jit,
		t->hot_samples ? (double)t->depth_sum / (double)t->hot_samples :
				 0.0,
		t->example);
	fprintf(stderr,
		"  the others: %llu before the first hot sample (start-up), "
		"then:\n",
		(unsigned long long)t->others_before);
	for (i = 0; i < MAX_OTHERS && t->others[i].n; i++)
		if (t->others[i].n > 1)
			fprintf(stderr, "  other: %llu x %s\n",
				(unsigned long long)t->others[i].n,
				t->others[i].name);
	fprintf(stderr, "  other: %llu more, each a single sample\n",
		(unsigned long long)(t->others_unlisted + singles(t)));
}

static void print_perf_map_stats(const struct receiver_stats *st)
{
	const struct perfmap_stats *p = &st->sym.perf_map;

	fprintf(stderr,
		"perf maps: %llu read, %llu bytes, %llu lines, %llu skipped, "
		"%llu rereads, %llu hits, %llu misses, %llu absent, "
		"%llu refused\n",
		(unsigned long long)p->maps_read,
		(unsigned long long)p->bytes_read, (unsigned long long)p->lines,
		(unsigned long long)p->lines_skipped,
		(unsigned long long)p->rereads, (unsigned long long)p->hits,
		(unsigned long long)p->misses, (unsigned long long)p->absent,
		(unsigned long long)p->refused);
}

static void write_file(const char *path, const char *text)
{
	FILE *out = fopen(path, "we");

	cr_assert_not_null(out, "%s: %s", path, strerror(errno));
	cr_assert(fputs(text, out) >= 0);
	cr_assert_eq(fclose(out), 0);
}

static bool fixture_warm(void *ctx)
{
	unsigned long long v;

	return fixture_value(ctx, "warm", &v) ||
	       ((struct fixture *)ctx)->exited;
}

/* The process's perf map, from the host's side: its PID namespace is
 * ours. */
static void unlink_perf_map(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
	unlink(path);
}

Test(perfmap, node_perf_basic_prof_names_the_hot_js_function, .timeout = 180)
{
	/* The hot function does its own loop: a call per 200k iterations
	 * leaves it its own frame whatever V8 inlines. It runs for 4 s of
	 * CPU, not of wall time: on a busy machine the share of start-up
	 * stays what it is on an idle one. */
	static const char script[] =
		"'use strict';\n"
		"function tgprofHotLoop(n) {\n"
		"  let x = 0;\n"
		"  for (let i = 0; i < n; i++) x = (x * 31 + i) | 0;\n"
		"  return x;\n"
		"}\n"
		"let s = 0;\n"
		"while (process.cpuUsage().user < 4e6)\n"
		"  s ^= tgprofHotLoop(200000);\n"
		"console.log('done=' + (s & 1));\n";
	char *argv[] = { NODE, "--perf-basic-prof", NODE_SCRIPT, NULL };
	struct jit_tally t = { .hot = "tgprofHotLoop" };
	struct receiver_sink sink = { .on_sample = tally_on_sample, .ctx = &t };
	struct receiver_config cfg;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;
	double share;

	harness_require_root();
	cr_assert_eq(access(NODE, X_OK), 0,
		     "%s is missing: cmake/install-deps.sh installs nodejs",
		     NODE);
	write_file(NODE_SCRIPT, script);
	fixture_spawn(&f, argv, 0);
	t.tgid = (uint32_t)f.pid;
	harness_config(&cfg, TEST_FREQ, (uint32_t)f.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	harness_run_to_clean_exit(r, &f, RUN_TIMEOUT_MS, "node");
	receiver__stop(r);
	receiver__stats(r, &st);
	/* Before the assertions: a failed run leaves no map behind. */
	unlink_perf_map(f.pid);
	tally_print(&t, "node --perf-basic-prof");
	print_perf_map_stats(&st);

	cr_assert_geq(t.samples, 500, "only %llu samples of node",
		      (unsigned long long)t.samples);
	share = (double)t.hot_samples / (double)t.samples;
	cr_assert_geq(share, 0.90,
		      "%.1f %% of node's samples name tgprofHotLoop",
		      100.0 * share);
	/* Every one of them through the perf map, as a jit frame. */
	cr_assert_eq(t.hot_jit, t.hot_samples);
	cr_assert_geq(st.sym.perf_map.maps_read, 1);
	receiver__free(r);
	fixture_cleanup(&f);
	unlink(NODE_SCRIPT);
}

Test(perfmap, jvm_compiler_perfmap_names_the_hot_java_method, .timeout = 240)
{
	static const char source[] =
		"public class TgprofPerfmapHot {\n"
		"  static long tgprofHotMethod(long n) {\n"
		"    long x = 0;\n"
		"    for (long i = 0; i < n; i++) x = x * 31 + (i ^ (x >>> 7));\n"
		"    return x;\n"
		"  }\n"
		"  public static void main(String[] a) {\n"
		"    long start = System.nanoTime(), s = 0;\n"
		"    boolean warm = false;\n"
		"    while (System.nanoTime() - start < 12_000_000_000L) {\n"
		"      s ^= tgprofHotMethod(2_000_000);\n"
		"      if (!warm && System.nanoTime() - start > 1_500_000_000L) {\n"
		"        warm = true;\n"
		"        System.out.println(\"warm=1\");\n"
		"        System.out.flush();\n"
		"      }\n"
		"    }\n"
		"    System.out.println(\"done=\" + (s & 1));\n"
		"  }\n"
		"}\n";
	/* TGPROF_TEST_JAVA_HOME: another JDK (17 or later) to try. */
	const char *home = getenv("TGPROF_TEST_JAVA_HOME");
	char java[512], jcmd_path[512], pid[16];
	char *argv[] = { java, "-XX:+PreserveFramePointer", JAVA_SRC, NULL };
	char *jcmd[] = { jcmd_path, pid, "Compiler.perfmap", NULL };
	struct jit_tally t = { .hot = "tgprofHotMethod" };
	struct receiver_sink sink = { .on_sample = tally_on_sample, .ctx = &t };
	struct receiver_config cfg;
	struct receiver_stats st;
	struct cmd_result res;
	struct receiver *r;
	struct fixture f;
	uint64_t before, samples_before;

	if (!home || !*home)
		home = JAVA_HOME;
	snprintf(java, sizeof(java), "%s/bin/java", home);
	snprintf(jcmd_path, sizeof(jcmd_path), "%s/bin/jcmd", home);
	harness_require_root();
	cr_assert_eq(access(argv[0], X_OK), 0,
		     "%s is missing: cmake/install-deps.sh installs "
		     "openjdk-17-jdk-headless",
		     argv[0]);
	write_file(JAVA_SRC, source);
	fixture_spawn(&f, argv, 0);
	t.tgid = (uint32_t)f.pid;
	harness_config(&cfg, TEST_FREQ, (uint32_t)f.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	cr_assert(harness_run_until(r, &f, fixture_warm, &f, RUN_TIMEOUT_MS),
		  "java did not warm up:\n%s", f.out);
	cr_assert_not(f.exited, "java ended early:\n%s", f.out);
	/* Before the map exists the JIT frames have no name. */
	before = t.hot_samples;
	samples_before = t.samples;
	snprintf(pid, sizeof(pid), "%d", (int)f.pid);
	run_cmd(jcmd, &res);
	cr_assert_eq(exit_code(&res), 0, "jcmd failed:\n%s\n%s", res.out,
		     res.err);
	harness_run_to_clean_exit(r, &f, RUN_TIMEOUT_MS, "java");
	receiver__stop(r);
	receiver__stats(r, &st);
	/* Before the assertions: a failed run leaves no map behind. */
	unlink_perf_map(f.pid);
	tally_print(&t,
		    "java -XX:+PreserveFramePointer, jcmd Compiler.perfmap");
	print_perf_map_stats(&st);
	fprintf(stderr,
		"before jcmd: %llu samples, %llu hot; after: %llu samples, "
		"%.1f %% name tgprofHotMethod\n",
		(unsigned long long)samples_before, (unsigned long long)before,
		(unsigned long long)(t.samples - samples_before),
		t.samples > samples_before ?
			100.0 * (double)(t.hot_samples - before) /
				(double)(t.samples - samples_before) :
			0.0);

	cr_assert_geq(st.sym.perf_map.maps_read, 1);
	cr_assert_geq(t.hot_jit, 50,
		      "only %llu samples name tgprofHotMethod as jit code",
		      (unsigned long long)t.hot_jit);
	receiver__free(r);
	fixture_cleanup(&f);
	unlink(JAVA_SRC);
}
