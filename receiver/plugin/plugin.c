// SPDX-License-Identifier: Apache-2.0
/* The receiver as a plugin (include/tgprof/receiver.h, docs/ABI.md): the
 * one exported entry, the descriptor, and the lifecycle around the
 * receiver core. A started receiver runs one thread that drives
 * receiver__poll(), feeds a profile builder, turns every report interval
 * into one request and offers the oldest queued request to the host's
 * consumer (receiver/plugin/reqqueue.c decides retries and drops). Everything
 * hangs off struct tgprof_receiver: the library has no mutable globals. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "include/tgprof/receiver.h"
#include "lib/caps.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "receiver/plugin/config.h"
#include "receiver/profile/profile.h"
#include "receiver/receiver.h"
#include "receiver/plugin/reqqueue.h"

#define TGPROF_EXPORT __attribute__((visibility("default")))

#define PLUGIN_NAME "tgprof"
#define PLUGIN_BTF_PATH "/sys/kernel/btf/vmlinux"
/* Longest wait in the kernel's ring: how late a stop request may be seen. */
#define PLUGIN_POLL_MAX_MS 100
/* A warning that repeats is logged at most this often, with a count. */
#define PLUGIN_WARN_INTERVAL_NS (60 * NSEC_PER_SEC)
#define PLUGIN_REASON_MAX 512

enum plugin_state {
	PLUGIN_CREATED = 0, /* or a start that failed: may start again */
	PLUGIN_RUNNING,
	PLUGIN_STOPPED, /* shut down: never starts again */
};

/* A warning that may repeat every interval. */
struct warn_limit {
	uint64_t last_ns; /* CLOCK_MONOTONIC; 0: never logged */
	uint64_t held; /* repeats not logged since */
};

struct tgprof_receiver {
	struct tgprof_config *cfg; /* our copy */
	const struct plugin_config *pc; /* typed view of cfg */
	/* The host's services as far as its sz went, the rest zero. */
	struct tgprof_host host;
	struct tg_logger log; /* the receiver core's, into host.log */
	enum plugin_state state;
	bool shut_down;

	/* From start() until shutdown(). */
	struct receiver_sink sink; /* borrowed by rcv */
	struct receiver *rcv;
	struct profile_builder *pb;
	struct reqqueue *queue;
	pthread_t thread;

	pthread_mutex_t lock; /* guards the members below it */
	bool stop;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC: the shutdown's timeout */
	struct tgprof_receiver_stats snap; /* what stats() returns */

	/* The thread's own. */
	enum tgprof_status status; /* last one it reported */
	bool poll_failed;
	uint64_t next_flush_ns; /* CLOCK_MONOTONIC */
	size_t shutdown_dropped;
	struct warn_limit warn_retry_expired, warn_permanent, warn_queue_full,
		warn_flush;
};

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* ---- the host's services ------------------------------------------------ */

static enum tgprof_log_level abi_level(enum tg_log_level level)
{
	switch (level) {
	case TG_LOG_ERROR:
		return TGPROF_LOG_ERROR;
	case TG_LOG_WARN:
		return TGPROF_LOG_WARN;
	case TG_LOG_INFO:
		return TGPROF_LOG_INFO;
	case TG_LOG_DEBUG:
		break;
	}
	return TGPROF_LOG_DEBUG;
}

static void plugin_log(void *ctx, enum tg_log_level level, const char *msg)
{
	struct tgprof_receiver *r = ctx;

	r->host.log(r->host.ctx, abi_level(level), msg);
}

static void plugin_report(struct tgprof_receiver *r, enum tgprof_status status,
			  const char *msg)
{
	if (r->host.report_status)
		r->host.report_status(r->host.ctx, status, msg);
}

static uint64_t plugin_now_unix(void *ctx)
{
	struct tgprof_receiver *r = ctx;

	return r->host.now_unix_ns(r->host.ctx);
}

/* Logs @fmt at warn level unless the same warning was logged less than
 * PLUGIN_WARN_INTERVAL_NS ago; then it is only counted, and the next one
 * says how many were held back. */
static void plugin_warn(struct tgprof_receiver *r, struct warn_limit *wl,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plugin_warn(struct tgprof_receiver *r, struct warn_limit *wl,
			const char *fmt, ...)
{
	uint64_t now = mono_ns();
	char msg[400];
	va_list ap;

	if (wl->last_ns && now - wl->last_ns < PLUGIN_WARN_INTERVAL_NS) {
		wl->held++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (wl->held)
		tg_warn(&r->log, "%s (%llu more like it not logged)", msg,
			(unsigned long long)wl->held);
	else
		tg_warn(&r->log, "%s", msg);
	wl->last_ns = now;
	wl->held = 0;
}

/*
 * Copies the host's services: the fields its sz covers (a newer minor's
 * host is larger: what we do not know stays unread), checking the ones
 * ABI 1.0 requires. 0, -EINVAL or -ENOTSUP (another major).
 */
static int host__copy(struct tgprof_host *dst, const struct tgprof_host *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src || src->sz < sizeof(*dst))
		return -EINVAL;
	memcpy(dst, src, sizeof(*dst));
	dst->sz = sizeof(*dst);
	if (dst->abi_major != TGPROF_ABI_MAJOR)
		return -ENOTSUP;
	if (!dst->log || !dst->consume_profiles)
		return -EINVAL;
	return 0;
}

/* ---- stats -------------------------------------------------------------- */

/* Everything the receiver counts, in the ABI's terms. */
static void plugin__collect(struct tgprof_receiver *r,
			    struct tgprof_receiver_stats *st)
{
	struct profile_builder_stats ps;
	struct reqqueue_stats qs;
	struct receiver_stats rs;
	uint64_t lost;

	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	receiver__stats(r->rcv, &rs);
	profile_builder__stats(r->pb, &ps);
	reqqueue__stats(r->queue, &qs);

	lost = ps.dropped_processes + ps.dropped_samples + ps.dropped_events +
	       ps.dropped_nomem;
	/* CPU samples: off-CPU ones are off_cpu_samples. */
	st->samples = ps.samples > lost + ps.off_cpu_samples ?
			      ps.samples - lost - ps.off_cpu_samples :
			      0;
	st->samples_lost = rs.sampler.samples_lost;
	st->events_lost = rs.sampler.events_lost;
	st->samples_filtered =
		rs.sampler.samples_filtered + rs.samples_filtered;
	st->processes = rs.procs.processes;
	st->new_processes = rs.procs.new_processes;
	st->execs = rs.procs.execs;
	st->group_exits = rs.procs.group_exits;
	st->symbol_cache_hits = rs.sym.cache_hits;
	st->symbol_cache_misses = rs.sym.cache_misses;
	st->frames_resolved = rs.sym.resolved;
	st->frames_unresolved = rs.sym.unresolved;
	st->requests = qs.pushed;
	st->requests_consumed = qs.consumed;
	st->consume_retries = qs.retries;
	st->requests_dropped = qs.dropped_full + qs.dropped_permanent +
			       qs.dropped_expired + qs.dropped_shutdown;
	st->request_bytes = qs.pushed_bytes;
	st->samples_dropped = lost;
	st->samples_overflow = ps.samples_overflow;
	st->unwind_complete = rs.unwind_stops[UNWIND_STOP_END];
	st->unwind_stop_no_mapping = rs.unwind_stops[UNWIND_STOP_NO_MAPPING];
	st->unwind_stop_no_table = rs.unwind_stops[UNWIND_STOP_NO_TABLE];
	st->unwind_stop_unsupported = rs.unwind_stops[UNWIND_STOP_UNSUPPORTED];
	st->unwind_stop_read_fault = rs.unwind_stops[UNWIND_STOP_READ_FAULT];
	st->unwind_stop_depth = rs.unwind_stops[UNWIND_STOP_DEPTH];
	st->unwind_stop_bad_frame = rs.unwind_stops[UNWIND_STOP_BAD_FRAME];
	st->unwind_stop_fp_end = rs.unwind_stops[UNWIND_STOP_FP_END];
	st->unwind_frames_table = rs.sampler.frames_table;
	st->unwind_frames_fp = rs.sampler.frames_fp;
	st->unwind_walks_finished = rs.walks_finished;
	st->unwind_table_files = rs.unwind.files;
	st->unwind_table_bytes = rs.unwind.kernel_bytes;
	st->unwind_table_evictions = rs.unwind.files_evicted;
	st->unwind_compile_ns = rs.unwind.compile_cpu_ns;
	st->python_processes = rs.python.processes;
	st->python_samples = rs.sampler.py_samples;
	st->python_frames = rs.sampler.py_frames;
	st->python_read_errors =
		rs.sampler.py_read_errors + rs.python.code.read_errors;
	st->python_truncated = rs.sampler.py_truncated;
	st->python_code_bytes = rs.python.code.bytes;
	st->python_code_entries = rs.python.code.entries;
	st->python_code_evictions = rs.python.code.evictions;
	st->symbol_cache_bytes = rs.sym.cache_bytes;
	st->symbol_cache_files = rs.sym.cache_files;
	st->symbol_cache_evictions = rs.sym.cache_evictions;
	st->perf_map_bytes = rs.sym.perf_map.cached_bytes;
	st->kernel_symbol_bytes = rs.sym.kernel_symbol_bytes;
	st->process_table_bytes = rs.procs.bytes;
	st->process_idle_drops = rs.procs.idle_drops;
	st->events_repairs = rs.events_repairs;
	st->off_cpu_switches = rs.sampler.offcpu_seen;
	st->off_cpu_sampled_out = rs.sampler.offcpu_sampled_out;
	st->off_cpu_no_room = rs.sampler.offcpu_no_room;
	st->off_cpu_short = rs.sampler.offcpu_short;
	st->off_cpu_sent = rs.sampler.offcpu_emitted;
	st->off_cpu_lost = rs.sampler.offcpu_lost;
	st->off_cpu_samples = ps.off_cpu_samples;
	st->off_cpu_ns = ps.off_cpu_ns;
	st->off_cpu_replaced = rs.sampler.offcpu_replaced;
	st->off_cpu_late = rs.sampler.offcpu_late;
}

/* Makes the counters of now what stats() returns. */
static void plugin__publish(struct tgprof_receiver *r)
{
	struct tgprof_receiver_stats st;

	plugin__collect(r, &st);
	pthread_mutex_lock(&r->lock);
	r->snap = st;
	pthread_mutex_unlock(&r->lock);
}

/* ---- the receiver's thread ---------------------------------------------- */

static void plugin__sink(void *ctx, const struct sym_sample *s)
{
	struct tgprof_receiver *r = ctx;

	/* A sample over the builder's bounds is counted there. */
	profile_builder__add(r->pb, s);
}

/* Ends the report interval: its request joins the queue. */
static void plugin__flush(struct tgprof_receiver *r)
{
	struct reqqueue_stats before, after;
	void *buf = NULL;
	size_t len = 0;
	int err;

	err = profile_builder__flush(r->pb, &buf, &len);
	if (err) {
		/* The interval is kept: the next flush takes it along. */
		plugin_warn(r, &r->warn_flush,
			    "building the profile of an interval: %s",
			    strerror(-err));
		return;
	}
	if (!len)
		return;
	reqqueue__stats(r->queue, &before);
	reqqueue__push(r->queue, buf, len);
	reqqueue__stats(r->queue, &after);
	if (after.dropped_full > before.dropped_full)
		plugin_warn(
			r, &r->warn_queue_full,
			"queue_size (%u) profiles wait for the consumer: the oldest was dropped",
			r->pc->queue_size);
}

static enum reqqueue_answer queue_answer(enum tgprof_consume_result res)
{
	switch (res) {
	case TGPROF_CONSUME_OK:
		return REQQUEUE_OK;
	case TGPROF_CONSUME_RETRY:
		return REQQUEUE_RETRY;
	case TGPROF_CONSUME_PERMANENT:
		break;
	}
	return REQQUEUE_PERMANENT;
}

static void plugin__status(struct tgprof_receiver *r, enum tgprof_status st,
			   const char *msg)
{
	if (r->status == st)
		return;
	r->status = st;
	plugin_report(r, st, msg);
}

/* Offers the oldest request when it is due. Returns whether one was
 * offered (the next may be due at once). */
static bool plugin__offer_one(struct tgprof_receiver *r)
{
	struct reqqueue_stats before, after;
	enum tgprof_consume_result res;
	const void *buf;
	size_t len;

	if (reqqueue__peek(r->queue, mono_ns(), &buf, &len))
		return false;
	reqqueue__stats(r->queue, &before);
	res = r->host.consume_profiles(r->host.ctx, buf, len);
	if (reqqueue__answer(r->queue, queue_answer(res), mono_ns())) {
		if (r->status == TGPROF_STATUS_OK)
			plugin__status(r, TGPROF_STATUS_RECOVERABLE_ERROR,
				       "the consumer asked to retry a profile");
		return true;
	}
	reqqueue__stats(r->queue, &after);
	if (after.dropped_expired > before.dropped_expired)
		plugin_warn(
			r, &r->warn_retry_expired,
			"a profile the consumer kept refusing was dropped after consumer_retry.max_elapsed_time");
	else if (after.dropped_permanent > before.dropped_permanent)
		plugin_warn(
			r, &r->warn_permanent,
			"the consumer refused a profile for good (answer %d): dropped",
			(int)res);
	else if (r->status == TGPROF_STATUS_RECOVERABLE_ERROR)
		plugin__status(r, TGPROF_STATUS_OK, NULL);
	return true;
}

static void plugin__offer(struct tgprof_receiver *r)
{
	size_t n = reqqueue__len(r->queue);

	/* Each at most once per round: sampling must go on. */
	while (n-- && plugin__offer_one(r))
		;
}

static bool plugin__stopping(struct tgprof_receiver *r,
			     uint64_t *ret_deadline_ns)
{
	bool stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stop;
	*ret_deadline_ns = r->deadline_ns;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static void sleep_until(uint64_t mono_deadline_ns)
{
	struct timespec ts = {
		.tv_sec = mono_deadline_ns / NSEC_PER_SEC,
		.tv_nsec = mono_deadline_ns % NSEC_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/* Waits for the kernel's records (handling them) until the next interval
 * ends or the head of the queue is due, at most PLUGIN_POLL_MAX_MS. */
static void plugin__poll(struct tgprof_receiver *r)
{
	uint64_t now = mono_ns(), wake = r->next_flush_ns;
	uint64_t due = reqqueue__due_ns(r->queue);
	int timeout_ms = 0, n;

	if (due < wake)
		wake = due;
	if (wake > now) {
		uint64_t ms = (wake - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;

		timeout_ms = ms < PLUGIN_POLL_MAX_MS ? (int)ms :
						       PLUGIN_POLL_MAX_MS;
	}
	if (r->poll_failed) {
		sleep_until(now + (uint64_t)timeout_ms * NSEC_PER_MSEC);
		return;
	}
	n = receiver__poll(r->rcv, timeout_ms);
	if (n >= 0 || n == -EINTR)
		return;
	/* The ring cannot be read: nothing more will be sampled, but what
	 * was built still goes to the consumer. */
	r->poll_failed = true;
	tg_err(&r->log, "reading the kernel's samples: %s: sampling stopped",
	       strerror(-n));
	r->status = TGPROF_STATUS_PERMANENT_ERROR;
	plugin_report(r, TGPROF_STATUS_PERMANENT_ERROR,
		      "reading the kernel's samples failed");
}

/* After a stop request: the last records, the last interval, and the
 * queue offered until @deadline_ns; the rest dropped and counted. */
static void plugin__finish(struct tgprof_receiver *r, uint64_t deadline_ns)
{
	uint64_t now, due;

	/* From this thread, so that no status it reported can follow it;
	 * retries no longer change it. */
	plugin__status(r, TGPROF_STATUS_STOPPING, NULL);
	receiver__stop(r->rcv);
	plugin__flush(r);
	while (reqqueue__len(r->queue)) {
		now = mono_ns();
		if (now >= deadline_ns)
			break;
		due = reqqueue__due_ns(r->queue);
		if (due > now) {
			sleep_until(due < deadline_ns ? due : deadline_ns);
			continue;
		}
		plugin__offer_one(r);
	}
	r->shutdown_dropped = reqqueue__drop_all(r->queue);
	if (r->shutdown_dropped)
		tg_warn(&r->log,
			"shutdown: %zu profiles not taken by the consumer within the timeout were dropped",
			r->shutdown_dropped);
	plugin__publish(r);
}

static void *plugin__thread(void *arg)
{
	struct tgprof_receiver *r = arg;
	uint64_t deadline_ns;

	while (!plugin__stopping(r, &deadline_ns)) {
		plugin__poll(r);
		if (mono_ns() >= r->next_flush_ns) {
			plugin__flush(r);
			r->next_flush_ns += r->pc->report_interval_ns;
			/* A long stall does not make up the lost intervals. */
			if (r->next_flush_ns <= mono_ns())
				r->next_flush_ns =
					mono_ns() + r->pc->report_interval_ns;
		}
		plugin__offer(r);
		plugin__publish(r);
	}
	plugin__finish(r, deadline_ns);
	return NULL;
}

/* ---- start -------------------------------------------------------------- */

/* Logs why start() fails, keeps it for the status report, returns @err. */
static int plugin__fail(struct tgprof_receiver *r, char *reason, int err,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int plugin__fail(struct tgprof_receiver *r, char *reason, int err,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, PLUGIN_REASON_MAX, fmt, ap);
	va_end(ap);
	tg_err(&r->log, "%s", reason);
	return err;
}

/* What sampling needs, checked before anything is loaded, so the host
 * hears which capability is missing rather than a bare EPERM. */
static int plugin__check_privileges(struct tgprof_receiver *r, char *reason)
{
	const char *missing = caps__sampling_missing(&r->log);

	if (!missing)
		return 0;
	return plugin__fail(
		r, reason, -EPERM,
		"missing privilege: %s (loading BPF programs and CPU-clock perf events needs CAP_BPF and CAP_PERFMON, or root)",
		missing);
}

static int plugin__check_btf(struct tgprof_receiver *r, char *reason)
{
	if (!access(PLUGIN_BTF_PATH, R_OK))
		return 0;
	return plugin__fail(
		r, reason, -ENOTSUP,
		"no BTF: %s: %s (tgprof needs a kernel built with CONFIG_DEBUG_INFO_BTF=y)",
		PLUGIN_BTF_PATH, strerror(errno));
}

/* The receiver core's filter spec from the config's lists; the PID
 * arrays are ours until receiver__new() has compiled them. */
static int plugin__filter_spec(const struct plugin_filter *f,
			       struct filter_spec *spec, uint32_t **pids)
{
	const struct configmap_int_list *lists[2] = { &f->include_pid,
						      &f->exclude_pid };
	size_t i, j;

	for (i = 0; i < 2; i++) {
		if (!lists[i]->n)
			continue;
		pids[i] = calloc(lists[i]->n, sizeof(uint32_t));
		if (!pids[i])
			return -ENOMEM;
		/* Bounded by the key table: 1..PLUGIN_PID_MAX. */
		for (j = 0; j < lists[i]->n; j++)
			pids[i][j] = (uint32_t)lists[i]->items[j];
	}
	spec->include_pid = pids[0];
	spec->n_include_pid = f->include_pid.n;
	spec->exclude_pid = pids[1];
	spec->n_exclude_pid = f->exclude_pid.n;
#define STRINGS(name)                                            \
	do {                                                     \
		spec->name = (const char *const *)f->name.items; \
		spec->n_##name = f->name.n;                      \
	} while (0)
	STRINGS(include_comm);
	STRINGS(exclude_comm);
	STRINGS(include_container);
	STRINGS(exclude_container);
	STRINGS(include_cgroup);
	STRINGS(exclude_cgroup);
#undef STRINGS
	return 0;
}

/* Frees what start() built. */
static void plugin__teardown(struct tgprof_receiver *r)
{
	receiver__free(r->rcv);
	r->rcv = NULL;
	profile_builder__free(r->pb);
	r->pb = NULL;
	reqqueue__free(r->queue);
	r->queue = NULL;
}

/* The receiver core, the profile builder and the queue. */
static int plugin__build(struct tgprof_receiver *r, char *reason)
{
	struct profile_builder_opts po = { .sz = sizeof(po) };
	struct reqqueue_opts qo = { .sz = sizeof(qo) };
	const struct plugin_config *pc = r->pc;
	struct filter_spec spec = { 0 };
	struct receiver_config rc;
	uint32_t *pids[2] = { NULL, NULL };
	size_t i;
	int err;

	po.host_name = *pc->host_name ? pc->host_name : NULL;
	po.service_name = *pc->service_name ? pc->service_name : NULL;
	po.omit_sample_attrs = PROFILE_ATTRS_ALL;
	for (i = 0; i < pc->sample_attributes.n; i++)
		po.omit_sample_attrs &= ~profile_sample_attr__parse(
			pc->sample_attributes.items[i]);
	po.freq_hz = pc->rcv.freq_hz;
	if (r->host.now_unix_ns) {
		po.now_unix_ns = plugin_now_unix;
		po.clock_ctx = r;
	}
	r->pb = profile_builder__new(&po);
	if (!r->pb)
		return plugin__fail(r, reason, -errno,
				    "creating the profile builder: %s",
				    strerror(errno));

	qo.capacity = pc->queue_size;
	qo.initial_interval_ns = pc->consumer_retry.initial_interval_ns;
	qo.max_interval_ns = pc->consumer_retry.max_interval_ns;
	qo.max_elapsed_ns = pc->consumer_retry.max_elapsed_ns;
	r->queue = reqqueue__new(&qo);
	if (!r->queue)
		return plugin__fail(r, reason, -errno,
				    "creating the request queue: %s",
				    strerror(errno));

	err = plugin__filter_spec(&pc->filter, &spec, pids);
	if (err)
		goto out;
	rc = pc->rcv;
	rc.filter = &spec;
	rc.unwinder = strcmp(pc->unwinder, "frame_pointer") ?
			      RECEIVER_UNWIND_TABLES :
			      RECEIVER_UNWIND_FRAME_POINTER;
	r->sink.on_sample = plugin__sink;
	r->sink.ctx = r;
	r->rcv = receiver__new(&rc, &r->sink, &r->log);
	if (!r->rcv)
		err = plugin__fail(r, reason, -errno,
				   "creating the receiver: %s",
				   strerror(errno));
out:
	free(pids[0]);
	free(pids[1]);
	return err;
}

static int plugin_start(struct tgprof_receiver *r)
{
	char reason[PLUGIN_REASON_MAX] = "";
	sigset_t all, old;
	int err;

	if (!r)
		return -EINVAL;
	if (r->state == PLUGIN_RUNNING)
		return -EALREADY;
	if (r->state == PLUGIN_STOPPED || r->shut_down)
		return -EINVAL;

	plugin_report(r, TGPROF_STATUS_STARTING, NULL);
	err = plugin__check_privileges(r, reason);
	if (!err)
		err = plugin__check_btf(r, reason);
	if (!err)
		err = plugin__build(r, reason);
	if (!err) {
		err = receiver__start(r->rcv);
		/* The sampler logged the details. */
		if (err)
			plugin__fail(r, reason, err,
				     "cannot start sampling: %s",
				     strerror(-err));
	}
	if (err)
		goto err_teardown;

	r->stop = false;
	r->status = TGPROF_STATUS_OK;
	r->next_flush_ns = mono_ns() + r->pc->report_interval_ns;
	plugin__publish(r);
	/* The thread takes no signal: the host's handlers run on the host's
	 * threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&r->thread, NULL, plugin__thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		plugin__fail(r, reason, err,
			     "starting the receiver's thread: %s",
			     strerror(-err));
		goto err_teardown;
	}
	r->state = PLUGIN_RUNNING;
	plugin_report(r, TGPROF_STATUS_OK, NULL);
	return 0;

err_teardown:
	plugin__teardown(r);
	plugin_report(r, TGPROF_STATUS_PERMANENT_ERROR, reason);
	return err;
}

/* ---- the rest of the lifecycle ------------------------------------------ */

static void log_problem(void *ctx, const char *key, const char *problem)
{
	struct tgprof_receiver *r = ctx;

	tg_err(&r->log, "receivers.%s.%s: %s", PLUGIN_NAME, key, problem);
}

static struct tgprof_receiver *plugin_create(const struct tgprof_config *cfg,
					     const struct tgprof_host *host)
{
	struct tgprof_receiver *r;
	int err;

	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	err = host__copy(&r->host, host);
	if (err)
		goto err_free;
	r->log.fn = plugin_log;
	r->log.ctx = r;
	/* Debug lines are per process: ABI 1.0 has no way to ask for them. */
	r->log.max_level = TG_LOG_INFO;
	/* create() loads nothing, but it does not take a config that
	 * config_validate() refuses. */
	if (plugin_config__validate(cfg, log_problem, r)) {
		err = -EINVAL;
		goto err_free;
	}
	r->cfg = plugin_config__dup(cfg);
	if (!r->cfg) {
		err = -errno;
		goto err_free;
	}
	r->pc = plugin_config__get(r->cfg);
	err = -pthread_mutex_init(&r->lock, NULL);
	if (err)
		goto err_free;
	r->snap.sz = sizeof(r->snap);
	return r;

err_free:
	plugin_config__free(r->cfg);
	free(r);
	errno = -err;
	return NULL;
}

static int plugin_shutdown(struct tgprof_receiver *r, uint64_t timeout_ns)
{
	uint64_t now;
	int err = 0;

	if (!r)
		return -EINVAL;
	if (r->shut_down)
		return 0;
	r->shut_down = true;
	/* A running receiver's thread reports STOPPING itself. */
	if (r->state != PLUGIN_RUNNING)
		plugin_report(r, TGPROF_STATUS_STOPPING, NULL);
	if (r->state == PLUGIN_RUNNING) {
		now = mono_ns();
		pthread_mutex_lock(&r->lock);
		r->deadline_ns = timeout_ns > UINT64_MAX - now ?
					 UINT64_MAX :
					 now + timeout_ns;
		r->stop = true;
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
		if (r->shutdown_dropped)
			err = -ETIMEDOUT;
		/* The thread is gone: the last counters are read here. */
		plugin__publish(r);
	}
	plugin__teardown(r);
	r->state = PLUGIN_STOPPED;
	plugin_report(r, TGPROF_STATUS_STOPPED, NULL);
	return err;
}

static void plugin_destroy(struct tgprof_receiver *r)
{
	if (!r)
		return;
	/* A host that skipped shutdown(): stop at once. */
	if (r->state == PLUGIN_RUNNING)
		plugin_shutdown(r, 0);
	plugin__teardown(r);
	pthread_mutex_destroy(&r->lock);
	plugin_config__free(r->cfg);
	free(r);
}

static int plugin_stats(struct tgprof_receiver *r,
			struct tgprof_receiver_stats *stats)
{
	struct tgprof_receiver_stats st;
	size_t sz, n;

	if (!r || !stats || stats->sz < sizeof(stats->sz))
		return -EINVAL;
	sz = stats->sz;
	pthread_mutex_lock(&r->lock);
	st = r->snap;
	pthread_mutex_unlock(&r->lock);
	/* What fits; a newer host's fields we do not know read as zero. */
	n = sz < sizeof(st) ? sz : sizeof(st);
	memcpy(stats, &st, n);
	if (sz > n)
		memset((char *)stats + n, 0, sz - n);
	stats->sz = sz;
	return 0;
}

static const struct tgprof_plugin plugin_descriptor = {
	.sz = sizeof(struct tgprof_plugin),
	.abi_major = TGPROF_ABI_MAJOR,
	.abi_minor = TGPROF_ABI_MINOR,
	.name = PLUGIN_NAME,
	.version = TGPROF_VERSION,
	.stability = TGPROF_STABILITY_DEVELOPMENT,
	.config_keys = plugin_config_keys,
	.config_nkeys = PLUGIN_CONFIG_NKEYS,
	.config_new = plugin_config__new,
	.config_set = plugin_config__set,
	.config_validate = plugin_config__validate,
	.config_free = plugin_config__free,
	.create = plugin_create,
	.start = plugin_start,
	.shutdown = plugin_shutdown,
	.destroy = plugin_destroy,
	.stats = plugin_stats,
};

TGPROF_EXPORT const struct tgprof_plugin *
tgprof_receiver_plugin(uint32_t host_abi_major)
{
	if (host_abi_major != TGPROF_ABI_MAJOR) {
		errno = ENOTSUP;
		return NULL;
	}
	return &plugin_descriptor;
}
