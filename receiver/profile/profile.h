/* SPDX-License-Identifier: Apache-2.0 */
/* The profile builder (DESIGN.md section 6): symbolized samples in, one
 * serialized OTLP ExportProfilesServiceRequest per report interval out,
 * at the wire format of opentelemetry-proto v1.10/v1.11 (proto/README.md).
 *
 * One ResourceProfiles per process, one ScopeProfiles ("tgprof"), one CPU
 * Profile: sample_type (samples, count), period_type (cpu, nanoseconds),
 * period 1e9 / Hz. Samples with the same stack, thread and CPU are one
 * Sample carrying a timestamp per event (no values: every CPU Sample has
 * that one shape). Off-CPU samples (sym_sample.off_cpu_ns) make a second
 * Profile of their process: sample_type (off_cpu, nanoseconds), no
 * period, one value per Sample, the nanoseconds waited summed, no
 * timestamps. One dictionary per request, every table led
 * by its zero entry, every entry deduplicated.
 *
 * Everything a remote process can grow is bounded per interval; what does
 * not fit is counted (struct profile_builder_stats), never kept unbounded.
 * Not thread-safe: the receiver thread owns a builder.
 */
#ifndef TGPROF_RECEIVER_PROFILE_H
#define TGPROF_RECEIVER_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "receiver/receiver.h"

#define PROFILE_SCOPE_NAME "tgprof"
/* The function of the one location that stands for the samples whose
 * stack did not fit the interval's bounds (the folded stacks' name). */
#define PROFILE_OVERFLOW_FUNCTION "[other stacks: limit reached]"
/* The mapping of the kernel's own frames (address range unknown), as perf
 * names it; a module's frames get "[module]", as perf names those. */
#define PROFILE_KERNEL_MAPPING "[kernel.kallsyms]"
/* service.name of kernel threads (no executable, no address space): one
 * stable service per host, the thread's name staying in thread.name. */
#define PROFILE_KERNEL_SERVICE "kernel"
/* Longer strings (function names, paths) are cut, and counted. */
#define PROFILE_MAX_STRING_LEN 4096
/* Locations per stack beyond this are cut at the root end, and counted. */
#define PROFILE_MAX_STACK_DEPTH 2048

/*
 * The sample attributes a builder can attach to a Sample, one bit each.
 * Every one of them becomes a series label in Pyroscope: thread.id and
 * cpu.logical_number multiply series by threads and CPUs; thread.name
 * only by the names programs give their threads.
 */
enum profile_sample_attr {
	PROFILE_ATTR_THREAD_ID = 1u << 0, /* thread.id (int) */
	PROFILE_ATTR_THREAD_NAME = 1u << 1, /* thread.name (string) */
	PROFILE_ATTR_CPU = 1u << 2, /* cpu.logical_number (int) */
};

#define PROFILE_ATTRS_ALL \
	(PROFILE_ATTR_THREAD_ID | PROFILE_ATTR_THREAD_NAME | PROFILE_ATTR_CPU)
/* Their OTLP keys, as a config map's choices. */
#define PROFILE_ATTR_CHOICES "thread.id|thread.name|cpu.logical_number"

/* The bit of the sample attribute whose OTLP key is @name, or 0. */
uint32_t profile_sample_attr__parse(const char *name);

/*
 * service.name of a process when no service_name is configured:
 * PROFILE_KERNEL_SERVICE for a kernel thread; when the executable
 * @exe_path (NULL: unknown) has no file name of its own
 * (procfs__exe_is_anonymous(): memfd, O_TMPFILE), the base name of its
 * argv[0] @argv0, else its process name @comm; else the executable's
 * base name, else @comm. Borrowed from the arguments or static; "" when
 * nothing names it.
 */
const char *profile_service_name(bool kernel_thread, const char *exe_path,
				 const char *argv0, const char *comm);

struct profile_builder_opts {
	size_t sz; /* sizeof(struct profile_builder_opts) */
	const char *host_name; /* host.name; NULL: uname()'s nodename */
	/* service.name of every process; NULL: profile_service_name() of
	 * each. Both strings are copied. */
	const char *service_name;
	/* The PROFILE_ATTR_* bits of the sample attributes left out; 0:
	 * every one is attached. */
	uint32_t omit_sample_attrs;
	uint32_t freq_hz; /* per CPU, for the period; 0: 19 */
	/* Bounds per interval (from one flush to the next); 0: default. */
	uint32_t max_processes; /* 4096 */
	uint32_t max_stacks; /* distinct stacks: 65536 */
	/* Each of the location, function, mapping and attribute tables:
	 * 262144. */
	uint32_t max_entries;
	uint32_t max_samples; /* distinct (process, stack, thread, CPU): 262144 */
	uint32_t max_events; /* timestamps, one per sample added: 1048576 */
	size_t max_string_bytes; /* dictionary strings: 16 MiB */
	/* The wall clock profiles are stamped with, in Unix ns (a plugin
	 * host's); NULL: CLOCK_REALTIME. Called with @clock_ctx. */
	uint64_t (*now_unix_ns)(void *ctx);
	void *clock_ctx;
};

struct profile_builder_stats {
	uint64_t samples; /* added since the builder was made */
	/* Kept, but in the overflow stack: a dictionary table was full. */
	uint64_t samples_overflow;
	/* Kept with their PROFILE_MAX_STACK_DEPTH innermost locations. */
	uint64_t stacks_truncated;
	uint64_t dropped_processes; /* samples lost: max_processes reached */
	uint64_t dropped_samples; /* samples lost: max_samples reached */
	uint64_t dropped_events; /* samples lost: max_events reached */
	uint64_t dropped_nomem; /* samples lost: allocation failed */
	uint64_t strings_truncated; /* longer than PROFILE_MAX_STRING_LEN */
	/* Of samples: off-CPU ones, and the nanoseconds they weigh. */
	uint64_t off_cpu_samples;
	uint64_t off_cpu_ns;
	uint64_t requests; /* produced by profile_builder__flush() */
	uint64_t request_bytes; /* their serialized size, in all */
	/* The interval being built (entries exclude the zero entries). */
	uint32_t processes;
	uint32_t stacks;
	uint32_t locations;
	uint32_t functions;
	uint32_t mappings;
	uint32_t attributes;
	uint32_t strings;
	uint32_t sample_records; /* distinct Samples */
	uint32_t events; /* samples added and kept */
};

/* Returns a builder (caller frees with profile_builder__free()) or NULL +
 * errno (EINVAL for bad options). Starts the first interval. */
struct profile_builder *
profile_builder__new(const struct profile_builder_opts *opts);

/*
 * Adds one sample to the interval. Everything in @s is copied; @s->proc
 * (optional) lends the executable path and container id. Samples identical
 * but for the time are merged. Returns 0 when the sample was kept (in the
 * overflow stack, if need be), -ENOSPC when a bound dropped it, -ENOMEM;
 * every drop is counted.
 */
int profile_builder__add(struct profile_builder *b, const struct sym_sample *s);

/*
 * Serializes everything added since the previous flush (or creation) into
 * one ExportProfilesServiceRequest and starts a new interval. Returns 0 and
 * *ret_buf (caller frees with free()) / *ret_len; with no sample in the
 * interval, *ret_buf = NULL and *ret_len = 0 (a collector drops an empty
 * request: never send one). On -ENOMEM the interval is kept for the next
 * try.
 */
int profile_builder__flush(struct profile_builder *b, void **ret_buf,
			   size_t *ret_len);

void profile_builder__stats(const struct profile_builder *b,
			    struct profile_builder_stats *ret);

/* Accepts NULL. */
void profile_builder__free(struct profile_builder *b);

#endif
