// SPDX-License-Identifier: Apache-2.0
/*
 * Off-CPU profiling's cost on a switch-heavy workload: two threads of this
 * process, both on CPU 0, pass a byte back and forth through two pipes
 * (every pass is a blocking switch out of one thread and a switch in of
 * the other), under
 * a receiver filtered to this process with off_cpu off, on at the
 * defaults, on at a lower sampling percentage, and on without kernel
 * stacks, each for SECONDS, the four in turn ROUNDS times in one run. Prints per configuration (medians
 * of the rounds): blocking switches per second, the switch program's time
 * per run and per walked switch (kernel.bpf_stats_enabled), what became
 * of the switches (walked, short, sent), and the throughput lost against
 * off.
 *
 *   sudo BUILD/bench/offcpu_bench [SECONDS [ROUNDS [PERCENT]]]
 *   (3 s, 5 rounds, 10 %)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bpf_stats.h"
#include "lib/clock.h"
#include "receiver/receiver.h"

#define MAX_ROUNDS 32
#define NCONFIGS 4

struct config {
	const char *name;
	bool off_cpu;
	uint32_t percent;
	bool no_kernel; /* kernel_stacks off */
};

struct result {
	double trips_per_s; /* round trips: the workload's throughput */
	double switches_per_s;
	double us_per_run; /* the switch program, any switch on the host */
	double us_per_walked; /* its time per switch it walked */
	uint64_t seen, walked, short_waits, sent;
};

static int ab[2], ba[2];
static atomic_bool stop;
static atomic_ullong passes;
static atomic_ullong vswitches; /* voluntary context switches */

/* This thread's voluntary context switches: its blocking switches out. */
static unsigned long long thread_vswitches(void)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen("/proc/thread-self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One side: @first writes before it reads. Counts passes. */
static void pingpong(int in, int out, bool first)
{
	unsigned long long n = 0, v0 = thread_vswitches();
	char c = 'x';

	if (first && write(out, &c, 1) != 1)
		abort();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (read(in, &c, 1) != 1)
			abort();
		if (write(out, &c, 1) != 1)
			abort();
		n++;
	}
	atomic_fetch_add(&passes, n);
	atomic_fetch_add(&vswitches, thread_vswitches() - v0);
}

/* Both threads on CPU 0: every pass is a switch on one CPU, as lmbench's
 * lat_ctx measures them, not a wakeup of another CPU out of idle (an IPI,
 * which in a VM costs more than the switch and hides it). */
static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *ping(void *arg)
{
	(void)arg;
	pin_cpu0();
	pingpong(ba[0], ab[1], true);
	return NULL;
}

static void *pong(void *arg)
{
	(void)arg;
	pin_cpu0();
	pingpong(ab[0], ba[1], false);
	return NULL;
}

static void quiet_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TG_LOG_WARN)
		fprintf(stderr, "receiver: %s\n", msg);
}

static int run_one(const struct config *conf, double seconds,
		   struct result *ret)
{
	struct tg_logger log = { .fn = quiet_log, .max_level = TG_LOG_WARN };
	struct receiver_config cfg;
	struct receiver_stats st;
	const struct sampler_counters *k = &st.sampler;
	struct receiver *r;
	pthread_t t1, t2;
	uint64_t t0, t_end, elapsed;
	char c;

	receiver_config__defaults(&cfg);
	cfg.freq_hz = 19;
	cfg.filter_tgid = (uint32_t)getpid();
	cfg.off_cpu = conf->off_cpu;
	cfg.off_cpu_percent = conf->percent;
	cfg.kernel_stacks = !conf->no_kernel;
	r = receiver__new(&cfg, NULL, &log);
	if (!r || receiver__start(r)) {
		fprintf(stderr, "offcpu_bench: the receiver did not start\n");
		receiver__free(r);
		return -1;
	}
	if (pipe(ab) || pipe(ba))
		return -errno;
	atomic_store(&stop, false);
	atomic_store(&passes, 0);
	atomic_store(&vswitches, 0);
	t0 = boot_ns();
	t_end = t0 + (uint64_t)(seconds * 1e9);
	if (pthread_create(&t1, NULL, ping, NULL) ||
	    pthread_create(&t2, NULL, pong, NULL))
		abort();
	while (boot_ns() < t_end)
		receiver__poll(r, 100);
	atomic_store(&stop, true);
	/* One side may wait for a byte the other never sends again. */
	c = 'x';
	if (write(ab[1], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
		abort();
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	elapsed = boot_ns() - t0;
	receiver__stop(r);
	receiver__stats(r, &st);
	close(ab[0]);
	close(ab[1]);
	close(ba[0]);
	close(ba[1]);

	memset(ret, 0, sizeof(*ret));
	/* A round trip is a pass of each thread. */
	ret->trips_per_s =
		(double)atomic_load(&passes) / 2 / ((double)elapsed / 1e9);
	ret->switches_per_s =
		(double)atomic_load(&vswitches) / ((double)elapsed / 1e9);
	ret->seen = k->offcpu_seen;
	ret->walked = k->offcpu_seen - k->offcpu_sampled_out;
	ret->short_waits = k->offcpu_short;
	ret->sent = k->offcpu_emitted;
	if (k->offcpu_bpf_runs)
		ret->us_per_run = (double)k->offcpu_bpf_run_ns / 1e3 /
				  (double)k->offcpu_bpf_runs;
	if (ret->walked)
		ret->us_per_walked = (double)k->offcpu_bpf_run_ns / 1e3 /
				     (double)ret->walked;
	receiver__free(r);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	uint32_t pct = argc > 3 ? (uint32_t)atoi(argv[3]) : 10;
	char low[32];
	struct config cfgs[NCONFIGS] = {
		{ "off", false, 100, false },
		{ "on, defaults (1ms, 100%)", true, 100, false },
		{ low, true, pct, false },
		{ "on, 100%, no kernel stacks", true, 100, true },
	};
	static struct result res[NCONFIGS][MAX_ROUNDS];
	double v[MAX_ROUNDS], base = 0;
	int i, j;

	if (seconds <= 0 || rounds < 1 || rounds > MAX_ROUNDS || pct < 1 ||
	    pct > 100) {
		fprintf(stderr,
			"usage: offcpu_bench [SECONDS [ROUNDS [PERCENT]]]\n");
		return 2;
	}
	snprintf(low, sizeof(low), "on, 1ms, %u%%", pct);
	if (bench_bpf_stats_on())
		fprintf(stderr,
			"offcpu_bench: cannot enable kernel.bpf_stats_enabled: no BPF times\n");
	/* In turn, so the machine's drift spreads over all of them. */
	for (i = 0; i < rounds; i++)
		for (j = 0; j < NCONFIGS; j++)
			if (run_one(&cfgs[j], seconds, &res[j][i]))
				return 1;

	printf("pipe ping-pong between two threads, %.1f s x %d rounds each, medians\n",
	       seconds, rounds);
	printf("%-26s %10s %12s %7s %8s %10s %10s %9s %7s\n", "off_cpu",
	       "trips/s", "switches/s", "loss", "us/run", "us/walked", "seen/s",
	       "short", "sent");
	for (j = 0; j < NCONFIGS; j++) {
		double trips, switches, per_run, per_walked, seen;
		uint64_t nshort = 0, sent = 0;

		for (i = 0; i < rounds; i++)
			v[i] = res[j][i].trips_per_s;
		trips = median(v, rounds);
		if (!j)
			base = trips;
		for (i = 0; i < rounds; i++)
			v[i] = res[j][i].switches_per_s;
		switches = median(v, rounds);
		for (i = 0; i < rounds; i++)
			v[i] = res[j][i].us_per_run;
		per_run = median(v, rounds);
		for (i = 0; i < rounds; i++)
			v[i] = res[j][i].us_per_walked;
		per_walked = median(v, rounds);
		for (i = 0; i < rounds; i++)
			v[i] = (double)res[j][i].seen / seconds;
		seen = median(v, rounds);
		for (i = 0; i < rounds; i++) {
			nshort += res[j][i].short_waits;
			sent += res[j][i].sent;
		}
		printf("%-26s %10.0f %12.0f %6.1f%% %8.2f %10.2f %10.0f %9llu %7llu\n",
		       cfgs[j].name, trips, switches,
		       j ? 100.0 * (1 - trips / base) : 0.0, per_run,
		       per_walked, seen, (unsigned long long)nshort,
		       (unsigned long long)sent);
	}
	printf("(trips/s: round trips; switches/s: the two threads' voluntary context switches; loss: round trips lost against off; us/run: the switch program's time per run, any switch of the host; us/walked: its whole time per switch whose stacks it walked; seen/s: blocking switches of this process it saw; short, sent: of all rounds)\n");
	return 0;
}
