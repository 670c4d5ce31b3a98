/* SPDX-License-Identifier: Apache-2.0 */
/* User side of bpf/sampler.bpf.c: opens and configures the BPF object (the
 * unwind-table maps sized before load), attaches one CPU-clock perf event
 * per online CPU and the exec/exit tracepoints, and hands every record of
 * its two ring buffers (samples, process events) to a callback, merged in
 * time order. */
#ifndef TGPROF_RECEIVER_SAMPLER_H
#define TGPROF_RECEIVER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind.h"
#include "lib/log.h"

/* Most elements each unwind-table map may hold (bpf/unwind_maps.h). With
 * BPF_F_NO_PREALLOC only the bucket array (16 bytes per element, rounded
 * up to a power of two) exists up front; elements are allocated as
 * receiver/unwind/loader.c inserts them. */
struct sampler_unwind_sizes {
	uint32_t chunks;
	uint32_t groups;
	uint32_t files;
	uint32_t procs_small;
	uint32_t procs_large;
};

/* The unwind-table maps' fds, borrowed from the sampler. */
struct sampler_unwind_maps {
	int chunks;
	int groups;
	int files;
	int procs_small;
	int procs_large;
};

struct sampler_opts {
	size_t sz; /* sizeof(struct sampler_opts) */
	uint32_t freq_hz;
	bool kernel_stacks;
	bool include_idle;
	/* The sample ring. Power of two, >= page size. 0: sized from the
	 * frequency and the online CPUs (twice the samples of a 500 ms
	 * drain latency at full rate, plus 16 samples with stack copies,
	 * 256 KiB to 64 MiB). */
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
	/* Walk user stacks with the unwind tables (the maps sized by
	 * unwind_sizes, filled through sampler__unwind_maps()); false: frame
	 * pointers only, and the maps hold one element each. */
	bool unwind_tables;
	struct sampler_unwind_sizes unwind_sizes;
	/* Stack bytes a sample carries when the walk reaches code whose table
	 * is not loaded yet; at most TGPROF_MAX_STACK_COPY; 0: none. */
	uint32_t stack_copy_bytes;
	/* Walk the Python frames of processes in the python_procs map
	 * (sampler__python_map(), bpf/python.h). */
	bool python_frames;
	/* The exec/exit events ring. Power of two, >= page size. 0: 128 KiB
	 * per online CPU, 256 KiB to 16 MiB. */
	size_t events_ringbuf_bytes;
	/* Off-CPU samples (tp_btf/sched_switch, loaded only when on): waits
	 * of at least off_cpu_min_ns, off_cpu_percent (1..100) of blocking
	 * switches sampled, at most off_cpu_threads threads waiting at once
	 * tracked (each up to TGPROF_OFFCPU_SLOTS frames, allocated as they
	 * block). */
	bool off_cpu;
	uint64_t off_cpu_min_ns;
	uint32_t off_cpu_percent;
	uint32_t off_cpu_threads;
};

/* Sums of the per-CPU counters of bpf/sampler.bpf.c. */
struct sampler_counters {
	uint64_t samples; /* perf events that fired */
	uint64_t samples_idle;
	uint64_t samples_filtered;
	uint64_t samples_lost; /* ring buffer full */
	uint64_t events_lost; /* exec/exit records lost: events ring full */
	uint64_t kstack_errors;
	uint64_t ustack_errors;
	uint32_t cpus; /* perf events attached */
	/* The table walk: frames by table row and by frame pointer (no table
	 * covered the address), samples that carried stack for user space
	 * and those whose stack could not be read, and why walks ended. */
	uint64_t frames_table;
	uint64_t frames_fp;
	uint64_t stack_copies;
	uint64_t stack_copy_errors;
	uint64_t stack_copies_skipped; /* ring over half full: not copied */
	uint64_t unwind_stops[UNWIND_STOP_MAX];
	/* The CPython walk: samples of Python threads, their frames, walks
	 * a read of the interpreter's memory stopped, Python stacks cut at
	 * TGPROF_MAX_PYSTACK, samples of a Python process whose thread had
	 * no thread state. */
	uint64_t py_samples;
	uint64_t py_frames;
	uint64_t py_read_errors;
	uint64_t py_truncated;
	uint64_t py_no_thread;
	/* The sampling program's run time and runs, from the kernel's BPF
	 * statistics: 0 unless kernel.bpf_stats_enabled is 1. */
	uint64_t bpf_run_ns;
	uint64_t bpf_runs;
	uint32_t bpf_verified_insns; /* what the verifier went through */
	/* Off-CPU: blocking switches seen (filters passed), and how each
	 * ended (bpf/sampler.h, TGPROF_CNT_OFFCPU_*): seen = sampled_out +
	 * no_room + short + emitted + lost + replaced + those still
	 * waiting. */
	uint64_t offcpu_seen;
	uint64_t offcpu_sampled_out;
	uint64_t offcpu_no_room;
	uint64_t offcpu_short;
	uint64_t offcpu_emitted;
	uint64_t offcpu_lost;
	/* Parked, the switch back in not seen, and where the wait ended not
	 * known: lost. */
	uint64_t offcpu_replaced;
	/* Not an end: switches back in not seen, placed from the kernel's
	 * scheduler statistics (then short, emitted or lost). */
	uint64_t offcpu_late;
	/* The switch program's run time and runs (bpf_stats_enabled). */
	uint64_t offcpu_bpf_run_ns;
	uint64_t offcpu_bpf_runs;
	/* Switches the program did not run for: it was running on that
	 * CPU already (the kernel's recursion guard). */
	uint64_t offcpu_bpf_misses;
	uint64_t wakeups; /* polls a ring buffer's wakeup ended */
	uint64_t events; /* exec/exit records read */
	uint64_t ring_bytes; /* the sample ring's size */
	uint64_t events_ring_bytes; /* the events ring's size */
};

/* Called for every record: each ring in its order, events merged before the
 * samples taken after them. @rec is valid during the call. */
typedef void (*sampler_record_fn)(void *ctx, const void *rec, size_t len);

/* Opens, configures, loads and attaches. Returns the sampler (caller frees
 * with sampler__free()) or NULL + errno; the cause was logged. */
struct sampler *sampler__new(const struct sampler_opts *opts,
			     sampler_record_fn fn, void *ctx,
			     const struct tg_logger *log);

/* Waits up to @timeout_ms for a wakeup (the kernel wakes the reader only
 * once the sample ring is a quarter full, or 64 events wait), then hands
 * every waiting record of both rings to the callback, each event before
 * the samples taken after it. Call it periodically: small batches never
 * wake anyone. Returns how many were handled, or -errno. */
int sampler__poll(struct sampler *s, int timeout_ms);

/* Hands out what is in the ring buffers now without waiting. */
int sampler__drain(struct sampler *s);

/* The kernel's count of exec/exit events lost (events ring full), as read
 * just before the last drain began: a rise since an earlier drain means
 * the records handed out since then miss some, and the state they built
 * needs repairing from /proc. */
uint64_t sampler__events_lost_seen(const struct sampler *s);

void sampler__counters(const struct sampler *s, struct sampler_counters *ret);

/* For tests of the off-CPU program (off_cpu on): detaches it (@on false),
 * so that the kernel's switches go unseen as some kernels leave some
 * untraced, or attaches it again. 0 or -errno. */
int sampler__off_cpu_attach(struct sampler *s, bool on);

/* Whether thread @tid has an off-CPU record parked: 1, 0, or -errno. */
int sampler__off_cpu_parked(const struct sampler *s, uint32_t tid);

/* The unwind-table maps, for receiver/unwind/loader.c. */
void sampler__unwind_maps(const struct sampler *s,
			  struct sampler_unwind_maps *ret);

/* The python_procs map (TGID -> struct tgprof_python_proc), borrowed. */
int sampler__python_map(const struct sampler *s);

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
