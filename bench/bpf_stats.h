/* SPDX-License-Identifier: Apache-2.0 */
/* The sampling program's cost from the kernel's BPF statistics, shared by
 * the benchmarks: turns kernel.bpf_stats_enabled on, and gives the run
 * time per sample a receiver kept (struct sampler_counters in, µs out).
 * Header only; bench/ programs include it. */
#ifndef TGPROF_BENCH_BPF_STATS_H
#define TGPROF_BENCH_BPF_STATS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "receiver/sampler/sampler.h"

/* kernel.bpf_stats_enabled=1 (root); 0 when it is on. The kernel counts
 * run_time_ns and run_cnt only while it is on. */
static inline int bench_bpf_stats_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "we");

	if (!f)
		return -1;
	fputs("1\n", f);
	return fclose(f) ? -1 : 0;
}

/* Runs that returned at the filters (idle, another process). */
static inline uint64_t bench_bpf_runs_dropped(const struct sampler_counters *c)
{
	return c->samples_idle + c->samples_filtered;
}

/* The program's run time per sample kept, in µs. Every CPU's samples run
 * the program, those of other processes too: @dropped_ns is what one
 * dropped run costs (a receiver filtered to a sleeping process measures
 * it; 0 counts them in the kept ones' time). */
static inline double bench_bpf_us_per_sample(const struct sampler_counters *c,
					     double dropped_ns)
{
	uint64_t dropped = bench_bpf_runs_dropped(c);
	double ns;

	if (!c->bpf_runs || c->bpf_runs <= dropped)
		return 0;
	ns = (double)c->bpf_run_ns - dropped_ns * (double)dropped;
	return ns / 1e3 / (double)(c->bpf_runs - dropped);
}

static inline uint64_t bench_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
