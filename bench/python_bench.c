// SPDX-License-Identifier: Apache-2.0
/* What CPython frames cost: three receivers sample at once while Debian's
 * python3.11 runs tests/fixtures/python_calltree.py and a shell loop (a
 * native process) runs beside it: one receiver walks the Python process
 * with Python frames, one the same process without them, one the native
 * process with them on. Prints, for each, the samples handled per second
 * of the receiver thread's CPU (symbolizing, naming Python frames, the
 * interleave, the sink) and the BPF program's cost per sample (the
 * kernel's BPF statistics: run time over runs that were not filtered
 * out; filtered runs, cheap, are in the time too).
 *
 * Usage: sudo python_bench [SECONDS [HZ]] (defaults 8, 499), from the build
 * directory (it runs fixtures/python_calltree.py from there). Prints
 * figures; gates nothing. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bpf_stats.h"
#include "lib/clock.h"
#include "receiver/receiver.h"

#define PYTHON "/usr/bin/python3.11"
#define SCRIPT "fixtures/python_calltree.py"

struct run {
	const char *name;
	struct receiver *r;
	struct receiver_stats st;
	uint64_t samples, python_frames, cpu_ns;
	uint64_t start_ns; /* receiver__start(): symbols, load, verifier */
};

static void on_sample(void *ctx, const struct sym_sample *s)
{
	struct run *run = ctx;
	uint32_t i;

	run->samples++;
	for (i = 0; i < s->nframes; i++)
		run->python_frames += s->frames[i].kind == FRAME_CPYTHON;
}

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (!pid) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void start(struct run *run, struct receiver_sink *sink, uint32_t hz,
		  pid_t pid, bool python)
{
	struct receiver_config cfg;

	receiver_config__defaults(&cfg);
	cfg.freq_hz = hz;
	cfg.filter_tgid = (uint32_t)pid;
	cfg.python_frames = python;
	sink->on_sample = on_sample;
	sink->ctx = run;
	run->r = receiver__new(&cfg, sink, NULL);
	run->start_ns = boot_ns();
	if (!run->r || receiver__start(run->r)) {
		fprintf(stderr, "python_bench: cannot start a receiver: %s\n",
			strerror(errno));
		exit(1);
	}
	run->start_ns = boot_ns() - run->start_ns;
}

static void print(const struct run *run)
{
	const struct sampler_counters *c = &run->st.sampler;

	printf("%-34s %8" PRIu64 " %10.1f %10.0f %10.2f %8" PRIu32 " %8.0f\n",
	       run->name, run->samples,
	       run->samples ? (double)run->python_frames / run->samples : 0,
	       run->cpu_ns ? run->samples / (run->cpu_ns / 1e9) : 0,
	       bench_bpf_us_per_sample(c, 0), c->bpf_verified_insns,
	       run->start_ns / 1e6);
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 8;
	uint32_t hz = argc > 2 ? (uint32_t)atoi(argv[2]) : 499;
	char dur[16];
	char *py_argv[] = { PYTHON, SCRIPT, dur, NULL };
	char *sh_argv[] = { "/bin/sh", "-c",
			    "i=0; while :; do i=$((i+1)); done", NULL };
	struct receiver_sink sinks[3];
	struct run runs[3] = {
		{ .name = "python3.11, Python frames on" },
		{ .name = "python3.11, Python frames off" },
		{ .name = "sh (native), Python frames on" },
	};
	uint64_t t0, end;
	pid_t py, sh;
	int status, i;

	if (secs < 1 || !hz)
		return 2;
	if (access(PYTHON, X_OK) || access(SCRIPT, R_OK)) {
		fprintf(stderr, "python_bench: needs %s and ./%s\n", PYTHON,
			SCRIPT);
		return 1;
	}
	bench_bpf_stats_on();
	snprintf(dur, sizeof(dur), "%d", secs);
	py = spawn(py_argv);
	sh = spawn(sh_argv);
	start(&runs[0], &sinks[0], hz, py, true);
	start(&runs[1], &sinks[1], hz, py, false);
	start(&runs[2], &sinks[2], hz, sh, true);
	end = boot_ns() + (uint64_t)secs * NSEC_PER_SEC;
	while (boot_ns() < end) {
		for (i = 0; i < 3; i++) {
			t0 = bench_thread_cpu_ns();
			receiver__poll(runs[i].r, 10);
			runs[i].cpu_ns += bench_thread_cpu_ns() - t0;
		}
	}
	for (i = 0; i < 3; i++) {
		t0 = bench_thread_cpu_ns();
		receiver__stop(runs[i].r);
		runs[i].cpu_ns += bench_thread_cpu_ns() - t0;
		receiver__stats(runs[i].r, &runs[i].st);
	}
	kill(sh, SIGKILL);
	kill(py, SIGKILL);
	waitpid(sh, &status, 0);
	waitpid(py, &status, 0);

	printf("CPython frames, %d s at %u Hz, three receivers at once:\n",
	       secs, hz);
	printf("%-34s %8s %10s %10s %10s %8s %8s\n", "", "samples", "py fr/smp",
	       "smp/cpu-s", "bpf us/smp", "insns", "start ms");
	for (i = 0; i < 3; i++)
		print(&runs[i]);
	printf("(smp/cpu-s: samples per second of the receiver thread's CPU; bpf us/smp: the sampling program's run time per sample of the process, from kernel.bpf_stats_enabled; insns: what the verifier went through; start ms: receiver__start(), kernel symbols, BPF load and verification)\n");
	printf("Python code objects: %" PRIu64 " lookups, %" PRIu64
	       " misses, %" PRIu64 " read errors; kernel: %" PRIu64
	       " Python samples, %" PRIu64 " read errors, %" PRIu64
	       " without a thread state\n",
	       runs[0].st.python.code.lookups, runs[0].st.python.code.misses,
	       runs[0].st.python.code.read_errors,
	       runs[0].st.sampler.py_samples, runs[0].st.sampler.py_read_errors,
	       runs[0].st.sampler.py_no_thread);
	for (i = 0; i < 3; i++)
		receiver__free(runs[i].r);
	return 0;
}
