/* User side of bpf/sampler.bpf.c: opens and configures the BPF object,
 * attaches one CPU-clock perf event per online CPU and the exec/exit
 * tracepoints, and hands every ring-buffer record to a callback in order. */
#ifndef TGPROF_RECEIVER_SAMPLER_H
#define TGPROF_RECEIVER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

struct sampler_opts {
	size_t sz; /* sizeof(struct sampler_opts) */
	uint32_t freq_hz;
	bool kernel_stacks;
	bool include_idle;
	/* Power of two, >= page size. 0: sized from the frequency and the
	 * online CPUs (half a second at full rate, 256 KiB to 64 MiB). */
	size_t ringbuf_bytes;
	/* Filters applied in the kernel (borrowed, copied into BPF maps).
	 * A process is sampled when it is in include_tgids (if any) and in
	 * or below one of include_cgroups (if any), and in neither exclude
	 * list. Cgroups are cgroup v2 ids (the inode of the directory). */
	const uint32_t *include_tgids;
	uint32_t n_include_tgids;
	const uint32_t *exclude_tgids;
	uint32_t n_exclude_tgids;
	const uint64_t *include_cgroups;
	uint32_t n_include_cgroups;
	const uint64_t *exclude_cgroups;
	uint32_t n_exclude_cgroups;
	/* Enables sampler__exclude(): user space decides some processes only
	 * once it sees them (by name, container). */
	bool dynamic_exclusion;
};

/* Sums of the per-CPU counters of bpf/sampler.bpf.c. */
struct sampler_counters {
	uint64_t samples; /* perf events that fired */
	uint64_t samples_idle;
	uint64_t samples_filtered;
	uint64_t samples_lost; /* ring buffer full */
	uint64_t events_lost; /* exec/exit records lost: ring buffer full */
	uint64_t kstack_errors;
	uint64_t ustack_errors;
	uint32_t cpus; /* perf events attached */
};

/* Called for every record, in ring order. @rec is valid during the call. */
typedef void (*sampler_record_fn)(void *ctx, const void *rec, size_t len);

/* Opens, configures, loads and attaches. Returns the sampler (caller frees
 * with sampler__free()) or NULL + errno; the cause was logged. */
struct sampler *sampler__new(const struct sampler_opts *opts,
			     sampler_record_fn fn, void *ctx,
			     const struct tg_logger *log);

/* Waits up to @timeout_ms for a wakeup (the kernel wakes the reader only
 * once the ring is a quarter full), then hands every waiting record to the
 * callback. Call it periodically: small batches never wake anyone.
 * Returns how many were handled, or -errno. */
int sampler__poll(struct sampler *s, int timeout_ms);

/* Hands out what is in the ring buffer now without waiting. */
int sampler__drain(struct sampler *s);

void sampler__counters(const struct sampler *s, struct sampler_counters *ret);

/*
 * Stops sampling process @tgid whose leader started at @start_ns (a reused
 * PID stays sampled). Needs opts.dynamic_exclusion. 0, -ENOSPC when
 * TGPROF_MAX_EXCLUDED processes are excluded already (the caller keeps
 * dropping their samples itself), or -errno.
 */
int sampler__exclude(struct sampler *s, uint32_t tgid, uint64_t start_ns);

/* Forgets an exclusion (the process exited or exec'd). 0 or -ENOENT. */
int sampler__unexclude(struct sampler *s, uint32_t tgid);

/* Stops sampling: detaches the perf events and the exec/exit
 * tracepoints, then hands out what the ring buffer still holds. Counters
 * and the exclusion map stay usable until sampler__free(). Returns how
 * many records were handed out, or -errno. */
int sampler__stop(struct sampler *s);

/* Detaches and frees. Accepts NULL. */
void sampler__free(struct sampler *s);

#endif
