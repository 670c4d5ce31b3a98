/* SPDX-License-Identifier: Apache-2.0 */
/* The receiver: drains the sampler, keeps the process table, symbolizes
 * every sample and hands it to a sink. One receiver instance owns all its
 * state (no globals); one thread drives it through receiver__poll(). */
#ifndef TGPROF_RECEIVER_RECEIVER_H
#define TGPROF_RECEIVER_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "receiver/processes/filter.h"
#include "receiver/processes/proctab.h"
#include "receiver/runtimes/python/python.h"
#include "receiver/sampler/sampler.h"
#include "receiver/symbols/symbolizer.h"
#include "receiver/unwind/loader.h"

/* How user stacks are walked. */
enum receiver_unwinder {
	/* The CFI tables (.eh_frame, .debug_frame) of every file, in the
	 * kernel; frame pointers where a file has none. */
	RECEIVER_UNWIND_TABLES = 0,
	/* Frame pointers only: no tables, no memory for
	 * them; stacks through code built without frame pointers stop. */
	RECEIVER_UNWIND_FRAME_POINTER = 1,
};

/* Default process_idle_ns: a daemon that wakes less often than this costs
 * one maps read per wake-up; one sampled less often holds nothing. */
#define RECEIVER_DEFAULT_IDLE_NS (120 * NSEC_PER_SEC)

struct receiver_config {
	/* Per CPU; required (no default here: the bounds and the default
	 * are the plugin's sampling_frequency_hz key). */
	uint32_t freq_hz;
	uint32_t filter_tgid; /* 0: the whole host */
	bool kernel_stacks; /* default true */
	bool include_idle; /* default false */
	size_t ringbuf_bytes; /* power of two; default 0: sized by the sampler */
	/* The exec/exit events ring: power of two; 0 (default): sized by the
	 * sampler from the CPUs. Not a plugin key: tests shrink it. */
	size_t events_ringbuf_bytes;
	uint64_t sweep_interval_ns; /* default 10 s; 0: never */
	uint64_t maps_reread_interval_ns; /* default 250 ms */
	/* How long an exited process stays in the table. The last thread
	 * runs on after the exit tracepoint (exit_notify, schedule), so
	 * samples can follow the exit record; they must find the process,
	 * not create a new one. Default 2 s. */
	uint64_t exit_grace_ns;
	/* A process not sampled for this long loses its mappings and what
	 * follows them (unwind ranges, perf map), read again at its next
	 * sample. Default RECEIVER_DEFAULT_IDLE_NS; 0: never. */
	uint64_t process_idle_ns;
	uint32_t max_processes; /* default 16384 */
	size_t max_symbol_files; /* default 512 */
	const char *proc_root; /* default "/proc"; borrowed */
	const char *kallsyms_path; /* default "/proc/kallsyms"; borrowed */
	/* Symbol cache budget in bytes (tables, DWARF, demangled names);
	 * default SYMBOLIZER_DEFAULT_MAX_BYTES. */
	size_t max_symbol_bytes;
	/* Name JIT code through the runtime's /tmp/perf-PID.map; default
	 * true. Bytes read of one map: default 16 MiB. */
	bool perf_maps;
	size_t perf_map_max_bytes;
	/* Which processes are profiled (receiver/processes/filter.h); NULL: all.
	 * Borrowed for receiver__new() only, which compiles it. PIDs and the
	 * cgroups that exist at start are filtered in the kernel; names,
	 * container ids and cgroup paths are decided here when a process is
	 * first sampled and after each exec, before its samples are
	 * symbolized, and an excluded process is then excluded in the kernel
	 * too. */
	const struct filter_spec *filter;
	/* Where cgroup v2 is mounted, to turn filter cgroup paths into the
	 * ids the kernel matches. NULL: /sys/fs/cgroup, or
	 * /sys/fs/cgroup/unified on a hybrid host. Borrowed; must outlive the
	 * receiver. */
	const char *cgroup_root;
	enum receiver_unwinder unwinder; /* default RECEIVER_UNWIND_TABLES */
	/* Kernel memory for unwind tables; default 32 MiB. Past it the least
	 * recently used files are evicted (their frames: frame pointers). */
	size_t unwind_table_bytes;
	/* User stack a sample carries when the kernel's walk reaches code
	 * whose table is not loaded yet (a process's first samples), for
	 * the walk to be finished here. At most TGPROF_MAX_STACK_COPY;
	 * default 16 KiB; 0: such stacks stop there. */
	uint32_t stack_copy_bytes;
	/* Python frames of CPython processes (3.11 to 3.13), interleaved
	 * with the native ones; default true. Memory for code objects'
	 * names and line tables: default PYCODE_DEFAULT_MAX_BYTES. */
	bool python_frames;
	size_t python_code_bytes;
	/* Off-CPU samples: where threads wait (bpf/sampler.bpf.c,
	 * handle_switch), sampled as struct sampler_opts says. Default off;
	 * min 1 ms, 100 %, 4096 threads. */
	bool off_cpu;
	uint64_t off_cpu_min_ns;
	uint32_t off_cpu_percent;
	uint32_t off_cpu_threads;
};

/* Fills @cfg with the defaults above; freq_hz is left 0. */
void receiver_config__defaults(struct receiver_config *cfg);

/* One symbolized sample, lent to the sink for the duration of the call. */
struct sym_sample {
	uint32_t tgid;
	uint32_t tid;
	uint32_t cpu;
	uint64_t ts_ns; /* CLOCK_BOOTTIME */
	uint64_t start_ns; /* leader start: the process identity with tgid */
	const char *comm; /* thread name */
	const char *pcomm; /* process name */
	const struct proc *proc;
	/* Innermost first: the kernel frames, then the user frames. */
	const struct sym_frame *frames;
	uint32_t nframes;
	uint32_t nkernel; /* frames[0..nkernel) are kernel frames */
	/* An off-CPU sample: nanoseconds the thread waited, blocked in
	 * these frames (ts_ns is when it ran again). 0: a CPU sample. */
	uint64_t off_cpu_ns;
};

struct receiver_sink {
	void (*on_sample)(void *ctx, const struct sym_sample *s);
	void *ctx;
};

struct receiver_stats {
	struct sampler_counters sampler;
	struct proctab_stats procs;
	struct symbolizer_stats sym;
	uint64_t records; /* ring buffer records handled */
	uint64_t records_malformed; /* wrong size or type: skipped */
	uint64_t samples; /* delivered to the sink */
	uint64_t samples_stale; /* user frames dropped: address space gone */
	/* Dropped here by the filters, before symbolization (those the
	 * kernel dropped are in sampler.samples_filtered). */
	uint64_t samples_filtered;
	/* Of those: the facts a filter needs (the cgroup file) could not be
	 * read, the process being gone already. Filters fail closed. */
	uint64_t samples_facts_unknown;
	uint64_t exclusions; /* processes put into the kernel's exclusion map */
	/* Exclusions the kernel map refused (full): those processes' samples
	 * are dropped here instead. */
	uint64_t exclusions_failed;
	uint64_t unexclusions; /* exclusions lifted by an exec or an exit */
	/* Unwind tables: files, kernel memory, compile time. */
	struct unwind_loader_stats unwind;
	/* Why each table-walked user stack ended, after the walks finished
	 * here (sampler.unwind_stops counts the kernel's walks alone). */
	uint64_t unwind_stops[UNWIND_STOP_MAX];
	/* Samples whose walk was finished here from their stack copy. */
	uint64_t walks_finished;
	/* Python processes, frames and the code cache (the kernel's walk:
	 * sampler.py_*). */
	struct python_stats python;
	/* Drains after which the process table was repaired from /proc
	 * because the kernel lost exec/exit events (sampler.events_lost
	 * rose): procs.repair_exits and procs.repair_execs say what they
	 * found. */
	uint64_t events_repairs;
	/* Of samples: off-CPU ones (sampler.offcpu_* counts the kernel's
	 * side). */
	uint64_t offcpu_samples;
};

/* Returns a receiver (caller frees with receiver__free()) or NULL + errno.
 * Loads nothing yet: see receiver__start(). @sink and @log are borrowed and
 * must outlive the receiver. */
struct receiver *receiver__new(const struct receiver_config *cfg,
			       const struct receiver_sink *sink,
			       const struct tg_logger *log);

/* Loads symbols and the BPF programs and attaches them. 0 or -errno; the
 * reason was logged. */
int receiver__start(struct receiver *r);

/* Handles what the kernel has produced, waiting up to @timeout_ms for it,
 * then reaps exited processes and sweeps when due. Returns the number of
 * records handled or -errno (-EINTR when interrupted by a signal). */
int receiver__poll(struct receiver *r, int timeout_ms);

/* Stops sampling (perf events and tracepoints detached) and handles what
 * the kernel had produced until then. The receiver does not start again;
 * its stats stay readable. Returns the records handled or -errno. */
int receiver__stop(struct receiver *r);

/* Runs a liveness sweep now. */
void receiver__sweep(struct receiver *r);

void receiver__stats(const struct receiver *r, struct receiver_stats *ret);

/* The process table, for inspection (tests, stats). Borrowed. */
const struct proctab *receiver__proctab(const struct receiver *r);

/* The sampler, for tests of the kernel side. Borrowed; NULL before start. */
struct sampler *receiver__sampler(struct receiver *r);

/* Detaches and frees everything. Accepts NULL. */
void receiver__free(struct receiver *r);

#endif
