// SPDX-License-Identifier: Apache-2.0
/* What the kernel loses on a busy host: one receiver with the plugin's
 * defaults (unwind tables, stack copies, Python frames, the ring buffers
 * sized automatically) records the whole host at HZ for SECONDS, polled as
 * the plugin polls it (at most every 100 ms), while one spinner per online
 * CPU keeps every core busy and a churn thread forks and execs /bin/true
 * RATE times a second. Prints the processes on the host, the samples
 * delivered and lost, the exec/exit events lost and, with the events ring,
 * the repairs, the reader's wakeups and the rings' sizes.
 *
 * Usage: sudo ring_loss [HZ [SECONDS [RATE]]] (defaults 99, 20, 200).
 * Prints figures; gates nothing. Built against a tree from before the
 * events ring with -DRING_LOSS_BEFORE (the fields it lacks left out). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "receiver/receiver.h"

#define MAX_SPIN 64

static volatile bool stop;

static void die(const char *what)
{
	fprintf(stderr, "ring_loss: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void warn_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TG_LOG_WARN)
		fprintf(stderr, "tgprof: %s\n", msg);
}

static unsigned int count_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		die("/proc");
	while ((e = readdir(d)))
		n += e->d_name[0] >= '0' && e->d_name[0] <= '9';
	closedir(d);
	return n;
}

struct churn {
	unsigned int rate;
	uint64_t spawned;
};

/* RATE fork+exec+wait of /bin/true a second, paced by the clock. */
static void *churn_run(void *arg)
{
	struct churn *c = arg;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), due;
	pid_t pid;
	int status;

	while (!stop && c->rate) {
		due = t0 + c->spawned * NSEC_PER_SEC / c->rate;
		while (clock_ns(CLOCK_MONOTONIC) < due && !stop) {
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		}
		pid = fork();
		if (pid < 0)
			die("fork");
		if (!pid) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		c->spawned++;
	}
	return NULL;
}

struct reader {
	struct receiver *r;
	uint64_t samples;
};

static void count(void *ctx, const struct sym_sample *s)
{
	(void)s;
	((struct reader *)ctx)->samples++;
}

static void *reader_run(void *arg)
{
	struct reader *rd = arg;

	while (!stop)
		if (receiver__poll(rd->r, 100) < 0 && errno != EINTR)
			break;
	return NULL;
}

int main(int argc, char **argv)
{
	uint32_t hz = argc > 1 ? (uint32_t)atoi(argv[1]) : 99;
	int secs = argc > 2 ? atoi(argv[2]) : 20;
	struct churn churn = { .rate = argc > 3 ? atoi(argv[3]) : 200 };
	struct tg_logger log = { .fn = warn_log, .max_level = TG_LOG_WARN };
	struct receiver_stats before, st;
	struct receiver_config cfg;
	struct receiver_sink sink;
	struct reader rd = { 0 };
	pthread_t reader, churner;
	pid_t spin[MAX_SPIN];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int procs;
	uint64_t samples0;
	int i;

	if (!hz || secs < 1 || ncpu < 1)
		return 2;
	if (ncpu > MAX_SPIN)
		ncpu = MAX_SPIN;
	receiver_config__defaults(&cfg);
	cfg.freq_hz = hz;
	sink.on_sample = count;
	sink.ctx = &rd;
	rd.r = receiver__new(&cfg, &sink, &log);
	if (!rd.r || receiver__start(rd.r))
		die("starting the receiver");
	for (i = 0; i < ncpu; i++) {
		spin[i] = fork();
		if (spin[i] < 0)
			die("fork");
		if (!spin[i])
			for (;;)
				;
	}
	if (pthread_create(&reader, NULL, reader_run, &rd))
		die("pthread_create");
	/* The host's processes first: their tables and symbols load before
	 * the measured part. */
	sleep(3);
	receiver__stats(rd.r, &before);
	samples0 = rd.samples;
	procs = count_processes();
	if (pthread_create(&churner, NULL, churn_run, &churn))
		die("pthread_create");
	sleep(secs);
	stop = true;
	pthread_join(churner, NULL);
	pthread_join(reader, NULL);
	for (i = 0; i < ncpu; i++) {
		kill(spin[i], SIGKILL);
		waitpid(spin[i], NULL, 0);
	}
	receiver__stop(rd.r);
	receiver__stats(rd.r, &st);

	printf("%u Hz, %d s, %ld CPUs busy, %u processes on the host, %" PRIu64
	       " fork+exec of /bin/true (%u/s):\n",
	       hz, secs, ncpu, procs, churn.spawned, churn.rate);
	printf("  samples fired %" PRIu64 ", delivered %" PRIu64
	       ", lost %" PRIu64 "\n",
	       st.sampler.samples - before.sampler.samples,
	       rd.samples - samples0,
	       st.sampler.samples_lost - before.sampler.samples_lost);
	printf("  events lost %" PRIu64 ", execs %" PRIu64
	       ", group exits %" PRIu64 " (of sampled processes)\n",
	       st.sampler.events_lost - before.sampler.events_lost,
	       st.procs.execs - before.procs.execs,
	       st.procs.group_exits - before.procs.group_exits);
	printf("  stack copies %" PRIu64
	       ", not copied (ring half full) %" PRIu64 "\n",
	       st.sampler.stack_copies - before.sampler.stack_copies,
	       st.sampler.stack_copies_skipped -
		       before.sampler.stack_copies_skipped);
#ifndef RING_LOSS_BEFORE
	printf("  events read %" PRIu64 ", repairs %" PRIu64
	       ", reader wakeups %" PRIu64 " (%.1f/s), sample ring %" PRIu64
	       " KiB, events ring %" PRIu64 " KiB\n",
	       st.sampler.events - before.sampler.events,
	       st.events_repairs - before.events_repairs,
	       st.sampler.wakeups - before.sampler.wakeups,
	       (double)(st.sampler.wakeups - before.sampler.wakeups) / secs,
	       st.sampler.ring_bytes >> 10, st.sampler.events_ring_bytes >> 10);
#endif
	receiver__free(rd.r);
	return 0;
}
