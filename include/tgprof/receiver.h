/* SPDX-License-Identifier: Apache-2.0 */
/* tgprof receiver plugin ABI.
 *
 * libtgprof_receiver.so exports one symbol, tgprof_receiver_plugin(). It
 * returns a descriptor of callbacks modelled on an OpenTelemetry Collector
 * receiver: default config, set/validate/free config, create, start,
 * shutdown, destroy, stats. The host gives the receiver its services (log,
 * status, clock) and a consumer that borrows each serialized OTLP
 * ExportProfilesServiceRequest for the duration of one call.
 *
 * C99, <stdint.h>/<stddef.h> types only. Rules (docs/ABI.md has them in
 * full):
 *  - The major version changes only when an existing field or callback
 *    changes meaning; a plugin refuses (returns NULL) for another major.
 *  - Minor versions only append: fields at the end of structs, callbacks
 *    at the end of the descriptor, values at the end of enums. Every
 *    struct that crosses the boundary starts with its size (sz); a reader
 *    uses a field only when sz covers it and treats the rest as zero.
 *  - Integer functions return 0 or a negative errno; constructors return
 *    NULL and set errno.
 *  - Strings and buffers passed in are borrowed for the call; what the
 *    plugin returns is owned by the plugin unless a comment says otherwise.
 */
#ifndef TGPROF_RECEIVER_ABI_H
#define TGPROF_RECEIVER_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TGPROF_ABI_MAJOR 1
#define TGPROF_ABI_MINOR 4

/* The name of the one exported symbol, for dlsym(). */
#define TGPROF_PLUGIN_ENTRY "tgprof_receiver_plugin"

enum tgprof_log_level {
	TGPROF_LOG_ERROR = 0,
	TGPROF_LOG_WARN = 1,
	TGPROF_LOG_INFO = 2,
	TGPROF_LOG_DEBUG = 3,
};

/* Component status, as the collector reports it. */
enum tgprof_status {
	TGPROF_STATUS_STARTING = 1,
	TGPROF_STATUS_OK = 2,
	TGPROF_STATUS_RECOVERABLE_ERROR = 3,
	TGPROF_STATUS_PERMANENT_ERROR = 4,
	TGPROF_STATUS_STOPPING = 5,
	TGPROF_STATUS_STOPPED = 6,
};

/* What a consumer answers for one request. */
enum tgprof_consume_result {
	TGPROF_CONSUME_OK = 0, /* taken; never offered again */
	TGPROF_CONSUME_RETRY = 1, /* offer the same request again later */
	TGPROF_CONSUME_PERMANENT = 2, /* refused for good: dropped, counted */
};

enum tgprof_stability {
	TGPROF_STABILITY_DEVELOPMENT = 1,
	TGPROF_STABILITY_ALPHA = 2,
	TGPROF_STABILITY_BETA = 3,
	TGPROF_STABILITY_STABLE = 4,
};

/* Services the host lends the receiver. Every callback may be called from
 * the receiver's own thread; the host makes them thread-safe. */
struct tgprof_host {
	size_t sz; /* sizeof(struct tgprof_host) as the host was built */
	uint32_t abi_major;
	uint32_t abi_minor;
	void *ctx; /* passed back to every callback */
	/* One event; @msg has no newline and is borrowed for the call.
	 * Required. */
	void (*log)(void *ctx, enum tgprof_log_level level, const char *msg);
	/* Status changes; @msg (may be NULL) is borrowed for the call.
	 * NULL: not reported. */
	void (*report_status)(void *ctx, enum tgprof_status status,
			      const char *msg);
	/* Wall clock in Unix nanoseconds; NULL: CLOCK_REALTIME. */
	uint64_t (*now_unix_ns)(void *ctx);
	/* One serialized opentelemetry.proto.collector.profiles.v1development
	 * ExportProfilesServiceRequest, borrowed for the call. Required. */
	enum tgprof_consume_result (*consume_profiles)(void *ctx,
						       const void *request,
						       size_t len);
};

enum tgprof_config_type {
	TGPROF_CONFIG_BOOL = 1,
	TGPROF_CONFIG_INT = 2, /* int64; bounds min..max */
	TGPROF_CONFIG_DURATION = 3, /* "5s", "250ms", "2m"; ns; bounds in ns */
	TGPROF_CONFIG_SIZE = 4, /* "8MiB", "512KiB", bytes; bounds in bytes */
	TGPROF_CONFIG_STRING = 5,
	TGPROF_CONFIG_STRING_LIST = 6,
	TGPROF_CONFIG_INT_LIST = 7, /* each element within min..max */
};

enum tgprof_config_flags {
	TGPROF_CONFIG_REQUIRED = 1u << 0, /* no default: must be set */
};

/* One configuration key, as a component declares it. */
struct tgprof_config_key {
	/* Path below the component, dots for nesting: "filter.exclude_pid". */
	const char *name;
	enum tgprof_config_type type;
	/* The default as YAML writes it ("19", "5s", "true", "[]"); NULL
	 * only for TGPROF_CONFIG_REQUIRED keys. */
	const char *default_value;
	int64_t min; /* INT, DURATION, SIZE, INT_LIST: inclusive bounds */
	int64_t max;
	uint32_t flags; /* enum tgprof_config_flags */
	const char *description; /* one sentence */
};

struct tgprof_config; /* owned by the plugin */
struct tgprof_receiver; /* owned by the plugin */

/* Counters since create(). The caller sets sz; the plugin fills the
 * fields that fit in it. */
struct tgprof_receiver_stats {
	size_t sz;
	uint64_t samples; /* symbolized and added to a profile */
	uint64_t samples_lost; /* dropped in the kernel: ring buffer full */
	uint64_t events_lost; /* exec/exit events dropped in the kernel */
	uint64_t samples_filtered; /* excluded by the filters (kernel and
				      user space) */
	uint64_t processes; /* tracked now */
	uint64_t new_processes;
	uint64_t execs;
	uint64_t group_exits;
	uint64_t symbol_cache_hits;
	uint64_t symbol_cache_misses;
	uint64_t frames_resolved;
	uint64_t frames_unresolved;
	uint64_t requests; /* built and queued for the consumer */
	uint64_t requests_consumed; /* answered OK */
	uint64_t consume_retries; /* RETRY answers */
	/* PERMANENT answers, retries given up, pushed out of a full queue,
	 * or left when shutdown's timeout ran out. */
	uint64_t requests_dropped;
	uint64_t request_bytes; /* serialized bytes of the requests built */
	/* ABI 1.1. Symbolized but in no request: over a bound of the
	 * interval's profile (processes, samples, events) or out of memory.
	 * samples + samples_dropped is every sample symbolized. */
	uint64_t samples_dropped;
	/* In a request, but on the one stack that stands for the stacks over
	 * the interval's dictionary bounds ("[other stacks: limit reached]");
	 * counted in samples too. */
	uint64_t samples_overflow;
	/* ABI 1.1 too: user stacks walked with unwind tables (unwinder
	 * eh_frame), counted per sample once its walk is over (in the
	 * kernel, or finished in user space from its stack copy). */
	uint64_t unwind_complete; /* reached the outermost frame */
	uint64_t unwind_stop_no_mapping; /* an address in no mapping */
	uint64_t unwind_stop_no_table; /* its table was not loaded */
	uint64_t unwind_stop_unsupported; /* CFI the walk cannot follow */
	uint64_t unwind_stop_read_fault; /* stack unreadable or not copied */
	uint64_t unwind_stop_depth; /* the frame limit */
	uint64_t unwind_stop_bad_frame; /* a frame that cannot be right */
	uint64_t unwind_stop_fp_end; /* frame-pointer fallback ran out */
	uint64_t unwind_frames_table; /* frames unwound with a table row */
	uint64_t unwind_frames_fp; /* frames unwound with frame pointers */
	uint64_t unwind_walks_finished; /* finished from a stack copy */
	uint64_t unwind_table_files; /* binaries with tables loaded now */
	uint64_t unwind_table_bytes; /* kernel memory of those tables */
	uint64_t unwind_table_evictions; /* taken out to stay in bounds */
	uint64_t unwind_compile_ns; /* CPU time compiling tables */
	/* ABI 1.2: CPython frames (python_frames). */
	uint64_t python_processes; /* Python processes walked now */
	uint64_t python_samples; /* samples with Python frames */
	uint64_t python_frames; /* Python frames recorded in the kernel */
	/* Walks a read of the interpreter's memory stopped, and code
	 * objects that could not be read (named "<unknown>"). */
	uint64_t python_read_errors;
	uint64_t python_truncated; /* Python stacks over 128 frames: cut */
	uint64_t python_code_bytes; /* code objects' names, lines held now */
	uint64_t python_code_entries; /* code objects cached now */
	uint64_t python_code_evictions; /* dropped for python_code_memory */
	/* ABI 1.3: the memory every cache of the receiver holds now, in
	 * bytes (gauges), and what keeps it bounded. Kernel memory of the
	 * unwind tables and Python code objects: above. */
	uint64_t symbol_cache_bytes; /* under symbol_cache_memory */
	uint64_t symbol_cache_files; /* binaries cached now */
	uint64_t symbol_cache_evictions; /* dropped to stay in bounds */
	uint64_t perf_map_bytes; /* JIT perf maps held */
	uint64_t kernel_symbol_bytes; /* kallsyms table */
	uint64_t process_table_bytes; /* processes, mappings, strings */
	/* Processes whose mappings (and unwind ranges, perf map) were dropped
	 * after process_idle_timeout without a sample. */
	uint64_t process_idle_drops;
	/* ABI 1.3: drains after which the process table was repaired from
	 * /proc because exec/exit events were lost (events_lost rose). */
	uint64_t events_repairs;
	/* ABI 1.4: off-CPU samples (off_cpu). Blocking switches of the
	 * profiled threads, and how each ended: not walked (the sampling
	 * percentage), no room (off_cpu_threads threads already waiting),
	 * shorter than off_cpu_min_duration, sent, lost (ring full), or
	 * replaced (its switch back in was not seen and where it ended
	 * could not be placed). off_cpu_samples of the sent ones reached a
	 * profile, weighing off_cpu_ns. off_cpu_late: waits whose switch
	 * back in was not seen, placed from the kernel's scheduler
	 * statistics (then short, sent or lost). */
	uint64_t off_cpu_switches;
	uint64_t off_cpu_sampled_out;
	uint64_t off_cpu_no_room;
	uint64_t off_cpu_short;
	uint64_t off_cpu_sent;
	uint64_t off_cpu_lost;
	uint64_t off_cpu_samples;
	uint64_t off_cpu_ns;
	uint64_t off_cpu_replaced;
	uint64_t off_cpu_late;
};

/*
 * The descriptor. Static: valid while the library is loaded.
 *
 * Lifecycle: config_new -> config_set* -> config_validate -> create ->
 * start -> (consume_profiles calls from the receiver's thread) ->
 * shutdown -> destroy. config_new and config_validate have no side
 * effects (no kernel probing). start returns quickly and fails fast with
 * the reason logged and returned. shutdown is idempotent and valid
 * without start; it flushes what was sampled within its timeout (or drops
 * it, counted) and joins the receiver's threads. destroy accepts NULL.
 */
struct tgprof_plugin {
	size_t sz; /* sizeof(struct tgprof_plugin) as the plugin was built */
	uint32_t abi_major;
	uint32_t abi_minor;
	const char *name; /* component type in the config: "tgprof" */
	const char *version; /* the plugin's release, e.g. "0.1.0" */
	enum tgprof_stability stability;

	const struct tgprof_config_key *config_keys; /* every key, once */
	size_t config_nkeys;

	/* The default configuration. NULL + errno. */
	struct tgprof_config *(*config_new)(void);
	/*
	 * Sets @key (a config_keys name) from its text. For list types each
	 * call appends one element; the first call for a key replaces its
	 * default. Returns 0, or -EINVAL/-ERANGE/-ENOENT (unknown key) with a
	 * message saying what was expected written to @err.
	 */
	int (*config_set)(struct tgprof_config *cfg, const char *key,
			  const char *value, char *err, size_t errlen);
	/* Checks the whole config and reports every problem (key path, what
	 * was expected) through @report. Returns how many there were. */
	size_t (*config_validate)(const struct tgprof_config *cfg,
				  void (*report)(void *ctx, const char *key,
						 const char *problem),
				  void *ctx);
	void (*config_free)(struct tgprof_config *cfg);

	/* A receiver with a copy of @cfg, borrowing @host (which must outlive
	 * it). Loads nothing yet. NULL + errno. */
	struct tgprof_receiver *(*create)(const struct tgprof_config *cfg,
					  const struct tgprof_host *host);
	/* Loads and attaches, starts the receiver's thread. 0 or -errno; the
	 * reason (missing privilege, no BTF, attach failure) is logged. */
	int (*start)(struct tgprof_receiver *r);
	/* Stops sampling, offers the last interval to the consumer within
	 * @timeout_ns, joins the thread. 0, or -ETIMEDOUT when something had
	 * to be dropped. */
	int (*shutdown)(struct tgprof_receiver *r, uint64_t timeout_ns);
	void (*destroy)(struct tgprof_receiver *r);
	/* Fills @stats (sz set by the caller). 0 or -EINVAL. */
	int (*stats)(struct tgprof_receiver *r,
		     struct tgprof_receiver_stats *stats);
};

/*
 * The entry point. Returns the descriptor when the plugin speaks
 * @host_abi_major, else NULL with errno ENOTSUP. The host then checks
 * sz >= the descriptor size of the ABI minor it needs.
 */
const struct tgprof_plugin *tgprof_receiver_plugin(uint32_t host_abi_major);

#ifdef __cplusplus
}
#endif

#endif
