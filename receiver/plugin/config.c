// SPDX-License-Identifier: Apache-2.0
/* The receiver plugin's configuration: one key list, expanded into the
 * public key table and the config map that fills struct plugin_config,
 * plus the checks types alone cannot make. See plugin_config.h. */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/plugin/config.h"
#include "receiver/profile/profile.h"

/* The receivers.tgprof keys: (name, member, TYPE, default, min, max,
 * flags, description[, field extras]). Keys below one parent stay
 * together. */
#define PLUGIN_CONFIG_KEYS(X)                                                  \
	X("sampling_frequency_hz", rcv.freq_hz, INT, "19", 1, 10000, 0,        \
	  "Samples per second taken on each CPU.")                             \
	X("report_interval", report_interval_ns, DURATION, "5s",               \
	  CONFIGMAP_MS(100), CONFIGMAP_HOUR(1), 0,                             \
	  "How often the samples become one profile handed to the consumer.")  \
	X("kernel_stacks", rcv.kernel_stacks, BOOL, "true", 0, 0, 0,           \
	  "Also sample kernel stacks (kernel frames are named with "           \
	  "CAP_SYSLOG).")                                                      \
	X("include_idle", rcv.include_idle, BOOL, "false", 0, 0, 0,            \
	  "Keep the samples of the idle task (PID 0).")                        \
	X("service_name", service_name, STRING, "", 0, 0, 0,                   \
	  "service.name of every profile; empty: each process's executable "   \
	  "name (kernel threads: kernel; a memfd or other executable "         \
	  "without a file name: the process name).",                           \
	  .max_len = 255)                                                      \
	X("host_name", host_name, STRING, "", 0, 0, 0,                         \
	  "host.name of every profile; empty: the node's hostname.",           \
	  .max_len = 255)                                                      \
	X("sample_attributes", sample_attributes, STRING_LIST,                 \
	  "[thread.name]", 0, 0, 0,                                            \
	  "Attributes each sample carries (thread.id, thread.name, "           \
	  "cpu.logical_number); Pyroscope makes each one a series label, "     \
	  "thread.id and cpu.logical_number multiply the series.",             \
	  .max_items = 3, .choices = PROFILE_ATTR_CHOICES)                     \
	X("proc_root", rcv.proc_root, STRING, "/proc", 0, 0, 0,                \
	  "Where the host's procfs is mounted (in a container, the host's "    \
	  "/proc mounted in).",                                                \
	  .max_len = 1023)                                                     \
	X("ring_buffer_size", rcv.ringbuf_bytes, SIZE, "0", 0,                 \
	  CONFIGMAP_GIB(1), 0,                                                 \
	  "Kernel ring buffer for samples: 0 sizes it from the frequency "     \
	  "and the CPU count (twice a 500 ms drain latency of samples, and "   \
	  "with off_cpu of 250 off-CPU samples a second per CPU), else a "     \
	  "power of two of at least 4KiB. Exec and exit events have "          \
	  "their own ring, sized from the CPU count.")                         \
	X("max_processes", rcv.max_processes, INT, "16384", 16, 1048576, 0,    \
	  "Processes tracked at once; beyond it the least recently sampled "   \
	  "is evicted.")                                                       \
	X("symbol_cache_files", rcv.max_symbol_files, INT, "512", 1, 65536, 0, \
	  "Binaries whose symbol tables stay loaded (and files that failed, "  \
	  "remembered not to be opened again at once).")                       \
	X("symbol_cache_memory", rcv.max_symbol_bytes, SIZE, "8MiB",           \
	  CONFIGMAP_KIB(256), CONFIGMAP_GIB(4), 0,                             \
	  "Memory for binaries' symbol tables, line tables and demangled "     \
	  "names; past it the least recently used binaries are dropped and "   \
	  "counted, and read again when sampled. Line tables larger than a "   \
	  "quarter of it are left out.")                                       \
	X("perf_maps", rcv.perf_maps, BOOL, "true", 0, 0, 0,                   \
	  "Name JIT-compiled code (Node.js --perf-basic-prof, the JVM's jcmd " \
	  "Compiler.perfmap, LuaJIT, .NET DOTNET_PerfMapEnabled) through the " \
	  "/tmp/perf-PID.map its runtime writes, read inside the process's "   \
	  "root.")                                                             \
	X("perf_map_max_bytes", rcv.perf_map_max_bytes, SIZE, "16MiB",         \
	  CONFIGMAP_KIB(4), CONFIGMAP_GIB(1), 0,                               \
	  "Bytes read of one process's perf map; the rest is left unread and " \
	  "counted. Maps held at once: four times this.")                      \
	X("python_frames", rcv.python_frames, BOOL, "true", 0, 0, 0,           \
	  "Show the Python functions (qualified name, file, line) CPython "    \
	  "3.11 to 3.13 runs, in place of the interpreter's "                  \
	  "_PyEval_EvalFrameDefault frames; read from the process's memory "   \
	  "in the kernel at each sample.")                                     \
	X("python_code_memory", rcv.python_code_bytes, SIZE, "8MiB",           \
	  CONFIGMAP_KIB(256), CONFIGMAP_GIB(1), 0,                             \
	  "Memory for Python code objects' names and line tables; past it "    \
	  "the least recently used are dropped and counted.")                  \
	X("off_cpu", rcv.off_cpu, BOOL, "false", 0, 0, 0,                      \
	  "Also profile where threads wait: each blocking switch's stacks "    \
	  "(as CPU samples walk them), weighted by the nanoseconds until the " \
	  "thread runs again, sent as a second profile (off_cpu, "             \
	  "nanoseconds). Costs some microseconds per sampled switch.")         \
	X("off_cpu_min_duration", rcv.off_cpu_min_ns, DURATION, "1ms", 0,      \
	  CONFIGMAP_MIN(1), 0,                                                 \
	  "Waits shorter than this are counted, not sent.")                    \
	X("off_cpu_sampling_percent", rcv.off_cpu_percent, INT, "100", 1, 100, \
	  0,                                                                   \
	  "Percentage of blocking switches whose stacks are walked (the cost " \
	  "of off-CPU profiling falls with it); the others are counted, not "  \
	  "walked, and each wait walked weighs its time x 100 / percent.")     \
	X("off_cpu_threads", rcv.off_cpu_threads, INT, "4096", 16, 1048576, 0, \
	  "Threads waiting at once whose stacks are kept until they run "      \
	  "again (about 4KiB of kernel memory each, allocated as they "        \
	  "wait); beyond it waits are counted, not sent.")                     \
	X("sweep_interval", rcv.sweep_interval_ns, DURATION, "10s", 0,         \
	  CONFIGMAP_HOUR(1), 0,                                                \
	  "How often the process table is checked against /proc for exits "    \
	  "the kernel events missed; 0: never.")                               \
	X("maps_reread_interval", rcv.maps_reread_interval_ns, DURATION,       \
	  "250ms", 0, CONFIGMAP_MIN(1), 0,                                     \
	  "Shortest time between two reads of one process's memory maps.")     \
	X("exit_grace", rcv.exit_grace_ns, DURATION, "2s", 0,                  \
	  CONFIGMAP_MIN(1), 0,                                                 \
	  "How long an exited process stays known for the samples that "       \
	  "follow its exit.")                                                  \
	X("process_idle_timeout", rcv.process_idle_ns, DURATION, "2m", 0,      \
	  CONFIGMAP_HOUR(24), 0,                                               \
	  "A process not sampled for this long has its memory maps, unwind "   \
	  "ranges and perf map dropped, read again at its next sample; 0: "    \
	  "never.")                                                            \
	X("unwinder", unwinder, STRING, "eh_frame", 0, 0, 0,                   \
	  "How user stacks are walked: eh_frame (every binary's call-frame "   \
	  "tables, in the kernel; frame pointers where a binary has none) "    \
	  "or frame_pointer (no tables; stacks through code built without "    \
	  "frame pointers stop).",                                             \
	  .choices = "eh_frame|frame_pointer")                                 \
	X("unwind_table_memory", rcv.unwind_table_bytes, SIZE, "32MiB",        \
	  CONFIGMAP_KIB(64), CONFIGMAP_GIB(4), 0,                              \
	  "Kernel memory for unwind tables (eh_frame); past it the least "     \
	  "recently used binaries are evicted, counted, and walked with "      \
	  "frame pointers.")                                                   \
	X("stack_copy_size", rcv.stack_copy_bytes, SIZE, "16KiB", 0,           \
	  CONFIGMAP_KIB(16), 0,                                                \
	  "User stack a sample carries when it is taken before its "           \
	  "process's tables are loaded, to finish its walk in user space; "    \
	  "0: those stacks stop there.")                                       \
	X("queue_size", queue_size, INT, "10", 1, 1000, 0,                     \
	  "Profiles built and waiting for the consumer; when full the "        \
	  "oldest is dropped and counted.")                                    \
	X("consumer_retry.initial_interval",                                   \
	  consumer_retry.initial_interval_ns, DURATION, "1s", CONFIGMAP_MS(1), \
	  CONFIGMAP_HOUR(1), 0,                                                \
	  "First wait before a profile the consumer answered RETRY is "        \
	  "offered again.")                                                    \
	X("consumer_retry.max_interval", consumer_retry.max_interval_ns,       \
	  DURATION, "30s", CONFIGMAP_MS(1), CONFIGMAP_HOUR(1), 0,              \
	  "Longest wait between two offers of one profile (the wait "          \
	  "doubles up to it).")                                                \
	X("consumer_retry.max_elapsed_time", consumer_retry.max_elapsed_ns,    \
	  DURATION, "300s", 0, CONFIGMAP_HOUR(24), 0,                          \
	  "After this long a profile still refused is dropped and counted; "   \
	  "0: no limit.")                                                      \
	X("filter.include_pid", filter.include_pid, INT_LIST, "[]", 1,         \
	  PLUGIN_PID_MAX, 0,                                                   \
	  "Only these processes (all their threads); at most 1024.",           \
	  .max_items = PLUGIN_FILTER_PIDS_MAX)                                 \
	X("filter.exclude_pid", filter.exclude_pid, INT_LIST, "[]", 1,         \
	  PLUGIN_PID_MAX, 0, "Never these processes; at most 1024.",           \
	  .max_items = PLUGIN_FILTER_PIDS_MAX)                                 \
	X("filter.include_comm", filter.include_comm, STRING_LIST, "[]", 0, 0, \
	  0,                                                                   \
	  "Only processes whose name matches one of these POSIX extended "     \
	  "regular expressions; at most 64.",                                  \
	  .max_items = PLUGIN_FILTER_PATTERNS_MAX,                             \
	  .max_len = PLUGIN_PATTERN_MAX)                                       \
	X("filter.exclude_comm", filter.exclude_comm, STRING_LIST, "[]", 0, 0, \
	  0,                                                                   \
	  "Never processes whose name matches one of these POSIX extended "    \
	  "regular expressions; at most 64.",                                  \
	  .max_items = PLUGIN_FILTER_PATTERNS_MAX,                             \
	  .max_len = PLUGIN_PATTERN_MAX)                                       \
	X("filter.include_container", filter.include_container, STRING_LIST,   \
	  "[]", 0, 0, 0,                                                       \
	  "Only processes in these containers: ids of 12 to 64 lowercase "     \
	  "hex digits (a prefix of the full id); at most 256.",                \
	  .max_items = PLUGIN_FILTER_IDS_MAX, .max_len = 64)                   \
	X("filter.exclude_container", filter.exclude_container, STRING_LIST,   \
	  "[]", 0, 0, 0,                                                       \
	  "Never processes in these containers (ids as for "                   \
	  "include_container); at most 256.",                                  \
	  .max_items = PLUGIN_FILTER_IDS_MAX, .max_len = 64)                   \
	X("filter.include_cgroup", filter.include_cgroup, STRING_LIST, "[]",   \
	  0, 0, 0,                                                             \
	  "Only processes in these cgroup v2 paths or below them, like "       \
	  "/kubepods.slice; at most 256.",                                     \
	  .max_items = PLUGIN_FILTER_IDS_MAX, .max_len = 1023)                 \
	X("filter.exclude_cgroup", filter.exclude_cgroup, STRING_LIST, "[]",   \
	  0, 0, 0,                                                             \
	  "Never processes in these cgroup v2 paths or below them; at most "   \
	  "256.",                                                              \
	  .max_items = PLUGIN_FILTER_IDS_MAX, .max_len = 1023)

#define PLUGIN_FIELD(...) CONFIGMAP_FIELD(struct plugin_config, __VA_ARGS__)

/* Declared with PLUGIN_CONFIG_NKEYS elements: a row added without
 * counting it does not compile. */
const struct tgprof_config_key plugin_config_keys[] = { PLUGIN_CONFIG_KEYS(
	CONFIGMAP_KEY) };
const size_t plugin_config_nkeys = PLUGIN_CONFIG_NKEYS;

static const struct configmap_field plugin_config_fields[] = {
	PLUGIN_CONFIG_KEYS(PLUGIN_FIELD)
};

static const struct configmap plugin_config_map = {
	.keys = plugin_config_keys,
	.fields = plugin_config_fields,
	.nkeys = sizeof(plugin_config_keys) / sizeof(plugin_config_keys[0]),
	.marks_offset = offsetof(struct plugin_config, marks),
};

/* The ABI's opaque config is the plugin_config itself. */
struct tgprof_config {
	struct plugin_config pc;
};

const struct configmap *plugin_config__map(void)
{
	return &plugin_config_map;
}

const struct plugin_config *plugin_config__get(const struct tgprof_config *cfg)
{
	return &cfg->pc;
}

struct tgprof_config *plugin_config__new(void)
{
	struct tgprof_config *cfg = calloc(1, sizeof(*cfg));
	char err[CONFIGMAP_ERR_MAX];
	int ret;

	if (!cfg)
		return NULL;
	/* Fields that are not keys (kallsyms_path, and whatever the
	 * receiver adds) keep the receiver's defaults; proc_root becomes
	 * the config map's own copy. */
	receiver_config__defaults(&cfg->pc.rcv);
	cfg->pc.rcv.proc_root = NULL;
	ret = configmap__init(&plugin_config_map, &cfg->pc, err, sizeof(err));
	if (ret) {
		plugin_config__free(cfg);
		errno = ret == -ENOMEM ? ENOMEM : EINVAL;
		return NULL;
	}
	return cfg;
}

int plugin_config__set(struct tgprof_config *cfg, const char *key,
		       const char *value, char *err, size_t errlen)
{
	if (!cfg || !key) {
		if (err && errlen)
			snprintf(err, errlen, "no config or no key");
		return -EINVAL;
	}
	return configmap__set(&plugin_config_map, &cfg->pc, key, value, err,
			      errlen);
}

void plugin_config__free(struct tgprof_config *cfg)
{
	if (!cfg)
		return;
	configmap__release(&plugin_config_map, &cfg->pc);
	free(cfg);
}

struct tgprof_config *plugin_config__dup(const struct tgprof_config *cfg)
{
	struct tgprof_config *dup;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	dup = malloc(sizeof(*dup));
	if (!dup)
		return NULL;
	*dup = *cfg;
	if (configmap__copy(&plugin_config_map, &dup->pc, &cfg->pc)) {
		free(dup);
		errno = ENOMEM;
		return NULL;
	}
	return dup;
}

/* ---- the checks beyond types ------------------------------------------ */

struct checker {
	void (*report)(void *ctx, const char *key, const char *problem);
	void *ctx;
	size_t n;
};

static void problem(struct checker *c, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct checker *c, const char *key, const char *fmt, ...)
{
	char msg[CONFIGMAP_ERR_MAX * 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->report)
		c->report(c->ctx, key, msg);
	c->n++;
}

static void count_problem(void *ctx, const char *key, const char *msg)
{
	struct checker *c = ctx;

	if (c->report)
		c->report(c->ctx, key, msg);
	c->n++;
}

static void check_ring_buffer(struct checker *c, const struct plugin_config *pc)
{
	size_t sz = pc->rcv.ringbuf_bytes;
	char got[32];

	if (!sz || (sz >= 4096 && sz <= (1ULL << 30) && !(sz & (sz - 1))))
		return;
	configmap__format_size(sz, got, sizeof(got));
	problem(c, "ring_buffer_size",
		"expected 0 (automatic) or a power of two from 4KiB to 1GiB, got %s",
		got);
}

static void check_retry(struct checker *c, const struct plugin_retry *r)
{
	char a[32], b[32];

	if (r->initial_interval_ns > r->max_interval_ns) {
		configmap__format_duration(r->max_interval_ns, a, sizeof(a));
		configmap__format_duration(r->initial_interval_ns, b,
					   sizeof(b));
		problem(c, "consumer_retry.initial_interval",
			"expected at most consumer_retry.max_interval (%s), got %s",
			a, b);
	}
	if (r->max_elapsed_ns && r->max_elapsed_ns < r->max_interval_ns) {
		configmap__format_duration(r->max_interval_ns, a, sizeof(a));
		configmap__format_duration(r->max_elapsed_ns, b, sizeof(b));
		problem(c, "consumer_retry.max_elapsed_time",
			"expected 0 (no limit) or at least consumer_retry.max_interval (%s), got %s",
			a, b);
	}
}

static void check_unique(struct checker *c, const char *key,
			 const struct configmap_str_list *l)
{
	char name[96];
	size_t i, j;

	for (i = 1; i < l->n; i++) {
		for (j = 0; j < i && strcmp(l->items[j], l->items[i]); j++)
			;
		if (j == i)
			continue;
		snprintf(name, sizeof(name), "%s[%zu]", key, i);
		problem(c, name, "\"%s\" is listed twice (also %s[%zu])",
			l->items[i], key, j);
	}
}

static void check_patterns(struct checker *c, const char *key,
			   const struct configmap_str_list *l)
{
	char name[96], why[128], got[CONFIGMAP_QUOTE_BUF];
	size_t i;

	for (i = 0; i < l->n; i++) {
		regex_t re;
		int ret;

		ret = regcomp(&re, l->items[i], REG_EXTENDED | REG_NOSUB);
		if (!ret) {
			regfree(&re);
			continue;
		}
		regerror(ret, &re, why, sizeof(why));
		snprintf(name, sizeof(name), "%s[%zu]", key, i);
		configmap__quote(l->items[i], got, sizeof(got));
		problem(c, name,
			"expected a POSIX extended regular expression, got %s (%s)",
			got, why);
	}
}

static void check_containers(struct checker *c, const char *key,
			     const struct configmap_str_list *l)
{
	char name[96], got[CONFIGMAP_QUOTE_BUF];
	size_t i;

	for (i = 0; i < l->n; i++) {
		const char *id = l->items[i];
		size_t len = strspn(id, "0123456789abcdef");

		if (len == strlen(id) && len >= 12 && len <= 64)
			continue;
		snprintf(name, sizeof(name), "%s[%zu]", key, i);
		configmap__quote(id, got, sizeof(got));
		problem(c, name,
			"expected a container id of 12 to 64 lowercase hex digits, got %s",
			got);
	}
}

/* A cgroup v2 path: absolute, no empty, "." or ".." component. */
static bool good_cgroup(const char *p)
{
	if (*p != '/')
		return false;
	if (!p[1])
		return true;
	while (*p) {
		size_t l;

		p++;
		l = strcspn(p, "/");
		if (!l || (l == 1 && p[0] == '.') ||
		    (l == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += l;
	}
	return true;
}

static void check_cgroups(struct checker *c, const char *key,
			  const struct configmap_str_list *l)
{
	char name[96], got[CONFIGMAP_QUOTE_BUF];
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (good_cgroup(l->items[i]))
			continue;
		snprintf(name, sizeof(name), "%s[%zu]", key, i);
		configmap__quote(l->items[i], got, sizeof(got));
		problem(c, name,
			"expected a cgroup v2 path starting with / (like /system.slice/cron.service), got %s",
			got);
	}
}

/* A container id that is a prefix of the other names the same container. */
static bool same_container(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return !strncmp(a, b, la < lb ? la : lb);
}

static void check_overlap_strings(struct checker *c, const char *what,
				  const struct configmap_str_list *inc,
				  const struct configmap_str_list *exc,
				  bool prefix)
{
	char name[96];
	size_t i, j;

	for (j = 0; j < exc->n; j++) {
		for (i = 0; i < inc->n; i++) {
			const char *a = inc->items[i], *b = exc->items[j];

			if (prefix ? !same_container(a, b) : strcmp(a, b))
				continue;
			snprintf(name, sizeof(name), "filter.exclude_%s[%zu]",
				 what, j);
			problem(c, name,
				"\"%s\" is both included and excluded (also in filter.include_%s)",
				b, what);
			break;
		}
	}
}

static void check_overlap_pids(struct checker *c,
			       const struct configmap_int_list *inc,
			       const struct configmap_int_list *exc)
{
	char name[96];
	size_t i, j;

	for (j = 0; j < exc->n; j++) {
		for (i = 0; i < inc->n; i++) {
			if (inc->items[i] != exc->items[j])
				continue;
			snprintf(name, sizeof(name), "filter.exclude_pid[%zu]",
				 j);
			problem(c, name,
				"PID %" PRId64
				" is both included and excluded (also in filter.include_pid)",
				exc->items[j]);
			break;
		}
	}
}

size_t plugin_config__validate(const struct tgprof_config *cfg,
			       void (*report)(void *ctx, const char *key,
					      const char *problem),
			       void *ctx)
{
	struct checker c = { .report = report, .ctx = ctx };
	const struct plugin_config *pc;
	const struct plugin_filter *f;

	if (!cfg) {
		problem(&c, "", "no configuration");
		return c.n;
	}
	pc = &cfg->pc;
	f = &pc->filter;
	configmap__validate(&plugin_config_map, pc, count_problem, &c);
	check_ring_buffer(&c, pc);
	if (pc->rcv.proc_root && pc->rcv.proc_root[0] != '/') {
		char got[CONFIGMAP_QUOTE_BUF];

		configmap__quote(pc->rcv.proc_root, got, sizeof(got));
		problem(&c, "proc_root", "expected an absolute path, got %s",
			got);
	}
	check_retry(&c, &pc->consumer_retry);
	check_unique(&c, "sample_attributes", &pc->sample_attributes);
	check_patterns(&c, "filter.include_comm", &f->include_comm);
	check_patterns(&c, "filter.exclude_comm", &f->exclude_comm);
	check_containers(&c, "filter.include_container", &f->include_container);
	check_containers(&c, "filter.exclude_container", &f->exclude_container);
	check_cgroups(&c, "filter.include_cgroup", &f->include_cgroup);
	check_cgroups(&c, "filter.exclude_cgroup", &f->exclude_cgroup);
	check_overlap_pids(&c, &f->include_pid, &f->exclude_pid);
	check_overlap_strings(&c, "comm", &f->include_comm, &f->exclude_comm,
			      false);
	check_overlap_strings(&c, "container", &f->include_container,
			      &f->exclude_container, true);
	check_overlap_strings(&c, "cgroup", &f->include_cgroup,
			      &f->exclude_cgroup, false);
	return c.n;
}
