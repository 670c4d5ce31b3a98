// SPDX-License-Identifier: Apache-2.0
/* A burst of new programs against the receiver's thread, which compiles
 * each new binary's unwind table while it also drains the ring buffer:
 * N distinct binaries (copies of python3.11, each with its own build-id,
 * so no table is shared) exec'd at once and kept busy, recorded whole-host
 * in the same run by three receivers, each on its own thread: tables with
 * the default stack copies, tables without stack copies, and frame
 * pointers only (no compiling). Prints, for each, the samples
 * and exec/exit events the kernel lost because the ring buffer was full,
 * the samples that carried their stack, and the tables' CPU.
 *
 * Usage: sudo exec_burst [N [HZ [SECONDS]]] (defaults 50, 99, 3). Prints
 * figures; gates nothing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "receiver/receiver.h"

#define SRC "/usr/bin/python3.11"
#define DIR_ "/dev/shm/tgprof-exec-burst"
#define MAX_N 256

static void die(const char *what)
{
	fprintf(stderr, "exec_burst: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Copies SRC to @dst with the last byte of its GNU build-id set to @i. */
static void copy_distinct(const char *dst, unsigned int i)
{
	uint8_t *p, *note;
	struct stat st;
	int in, out;

	in = open(SRC, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st))
		die(SRC);
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, in, 0);
	if (p == MAP_FAILED)
		die("mmap");
	/* The note: namesz 4, descsz 20, type 3 (NT_GNU_BUILD_ID), "GNU". */
	note = memmem(p, st.st_size, "\x04\0\0\0\x14\0\0\0\x03\0\0\0GNU", 16);
	if (!note || note + 16 + 20 > p + st.st_size)
		die("no build-id note");
	note[16 + 19] = (uint8_t)i;
	note[16 + 18] ^= 0x5a;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0 || write(out, p, st.st_size) != st.st_size)
		die(dst);
	close(out);
	munmap(p, st.st_size);
	close(in);
}

struct side {
	const char *name;
	struct receiver *r;
	struct receiver_sink sink;
	struct receiver_stats st;
	uint32_t copy_bytes;
	struct receiver_stats before;
	uint64_t samples, samples0;
	volatile bool stop, reset;
	pthread_t thread;
};

static void count(void *ctx, const struct sym_sample *s)
{
	(void)s;
	((struct side *)ctx)->samples++;
}

/* Each receiver on its own thread, as in tgprof: one's compiling does not
 * hold up the other's ring. */
static void *side_run(void *arg)
{
	struct side *s = arg;

	while (!s->stop) {
		if (receiver__poll(s->r, 20) < 0 && errno != EINTR)
			break;
		/* The burst starts: its counters from here, taken on the
		 * receiver's own thread. */
		if (s->reset) {
			receiver__stats(s->r, &s->before);
			s->samples0 = s->samples;
			s->reset = false;
		}
	}
	return NULL;
}

static void side_start(struct side *s, enum receiver_unwinder u, uint32_t hz,
		       const struct tg_logger *log)
{
	struct receiver_config cfg;

	receiver_config__defaults(&cfg);
	cfg.freq_hz = hz;
	cfg.unwinder = u;
	cfg.stack_copy_bytes = s->copy_bytes;
	s->sink.on_sample = count;
	s->sink.ctx = s;
	s->r = receiver__new(&cfg, &s->sink, log);
	if (!s->r || receiver__start(s->r))
		die("starting a receiver");
	if (pthread_create(&s->thread, NULL, side_run, s))
		die("pthread_create");
}

static void side_stop(struct side *s)
{
	s->stop = true;
	pthread_join(s->thread, NULL);
	receiver__stop(s->r);
	receiver__stats(s->r, &s->st);
}

static void quiet_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TG_LOG_WARN)
		fprintf(stderr, "tgprof: %s\n", msg);
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 50;
	uint32_t hz = argc > 2 ? (uint32_t)atoi(argv[2]) : 99;
	int secs = argc > 3 ? atoi(argv[3]) : 3;
	struct tg_logger log = { .fn = quiet_log, .max_level = TG_LOG_WARN };
	struct side sides[3] = {
		{ .name = "tables", .copy_bytes = 16384 },
		{ .name = "tables, no copy", .copy_bytes = 0 },
		{ .name = "frame pointers", .copy_bytes = 16384 },
	};
	char path[MAX_N][64], script[128];
	pid_t pid[MAX_N];
	uint64_t t0, burst_ns;
	unsigned int i;
	int status, k;

	if (!n || n > MAX_N || !hz || secs < 1)
		return 2;
	if (mkdir(DIR_, 0755) && errno != EEXIST)
		die(DIR_);
	for (i = 0; i < n; i++) {
		snprintf(path[i], sizeof(path[i]), DIR_ "/python-%u", i);
		copy_distinct(path[i], i);
	}
	snprintf(
		script, sizeof(script),
		"import time\nt = time.time()\nwhile time.time() - t < %d: pass\n",
		secs);
	setenv("PYTHONHOME", "/usr", 1);

	side_start(&sides[0], RECEIVER_UNWIND_TABLES, hz, &log);
	side_start(&sides[1], RECEIVER_UNWIND_TABLES, hz, &log);
	side_start(&sides[2], RECEIVER_UNWIND_FRAME_POINTER, hz, &log);
	/* Let both settle on the host's running processes first. */
	usleep(1500000);
	for (k = 0; k < 3; k++)
		sides[k].reset = true;
	for (k = 0; k < 3; k++)
		while (sides[k].reset)
			usleep(1000);
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork");
		if (!pid[i]) {
			execl(path[i], path[i], "-c", script, (char *)NULL);
			_exit(127);
		}
	}
	burst_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	for (i = 0; i < n; i++)
		waitpid(pid[i], &status, 0);
	/* The exits' records drain within a poll or two. */
	usleep(500000);
	{
		for (k = 0; k < 3; k++)
			side_stop(&sides[k]);
		printf("%u distinct binaries (copies of %s, own build-ids) exec'd in %.1f ms, each busy %d s; whole host at %u Hz, default ring buffer:\n",
		       n, SRC, burst_ns / 1e6, secs, hz);
		printf("%-15s %8s %12s %11s %14s %12s %10s %9s\n", "unwinder",
		       "samples", "samples lost", "events lost", "stack copies",
		       "not copied", "tables", "compile");
		for (k = 0; k < 3; k++) {
			struct side *s = &sides[k];

			printf("%-15s %8" PRIu64 " %12" PRIu64 " %11" PRIu64
			       " %14" PRIu64 " %12" PRIu64 " %10" PRIu64
			       " %6.0f ms\n",
			       s->name, s->samples - s->samples0,
			       s->st.sampler.samples_lost -
				       s->before.sampler.samples_lost,
			       s->st.sampler.events_lost -
				       s->before.sampler.events_lost,
			       s->st.sampler.stack_copies -
				       s->before.sampler.stack_copies,
			       s->st.sampler.stack_copies_skipped -
				       s->before.sampler.stack_copies_skipped,
			       s->st.unwind.files_loaded -
				       s->before.unwind.files_loaded,
			       (s->st.unwind.compile_cpu_ns -
				s->before.unwind.compile_cpu_ns +
				s->st.unwind.load_cpu_ns -
				s->before.unwind.load_cpu_ns) /
				       1e6);
		}
	}
	for (k = 0; k < 3; k++)
		receiver__free(sides[k].r);
	for (i = 0; i < n; i++)
		unlink(path[i]);
	rmdir(DIR_);
	return 0;
}
