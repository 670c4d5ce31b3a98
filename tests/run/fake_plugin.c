// SPDX-License-Identifier: Apache-2.0
/* A receiver plugin for the host's tests: implements the plugin ABI
 * (include/tgprof/receiver.h) without BPF or root. Every report interval
 * its thread builds one canned ExportProfilesServiceRequest with the
 * profile builder and offers it to the host's consumer:
 *
 *   COMM;main;interval_N;work;hot_inline_[i];do_syscall_64_[k]  (samples)
 *
 * N counts the intervals from 1, so a test sees which ones arrived; the
 * one offered by shutdown() is logged as the last. Built three times:
 * as it is, and with FAKE_ABI_MAJOR or FAKE_DESCRIPTOR_SZ changed, to be
 * refused by the host. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "include/tgprof/receiver.h"
#include "lib/clock.h"
#include "lib/configmap.h"
#include "receiver/profile/profile.h"

#ifndef FAKE_ABI_MAJOR
#define FAKE_ABI_MAJOR TGPROF_ABI_MAJOR
#endif
#ifndef FAKE_DESCRIPTOR_SZ
#define FAKE_DESCRIPTOR_SZ sizeof(struct tgprof_plugin)
#endif

#define EXPORT __attribute__((visibility("default")))

struct fake_config {
	uint64_t report_interval_ns;
	char *comm; /* the process name of every sample */
	uint32_t samples; /* per interval */
	bool fail_start; /* start() fails as without privileges */
	uint32_t permanent_error_after; /* intervals; 0: never */
	uint32_t kernel_loss; /* samples and events lost per interval */
	struct configmap_marks marks;
};

#define FAKE_KEYS(X)                                                         \
	X("report_interval", report_interval_ns, DURATION, "1s",             \
	  CONFIGMAP_MS(10), CONFIGMAP_HOUR(1), 0,                            \
	  "How often a canned profile is offered.")                          \
	X("comm", comm, STRING, "fake_app", 0, 0, 0,                         \
	  "Process name of every sample.", .max_len = 15)                    \
	X("samples", samples, INT, "10", 1, 1000, 0,                         \
	  "Samples in each profile.")                                        \
	X("fail_start", fail_start, BOOL, "false", 0, 0, 0,                  \
	  "start() fails as it would without privileges.")                   \
	X("permanent_error_after", permanent_error_after, INT, "0", 0, 1000, \
	  0,                                                                 \
	  "Intervals after which it reports a permanent error and stops "    \
	  "offering; 0: never.")                                             \
	X("kernel_loss", kernel_loss, INT, "0", 0, 1000, 0,                  \
	  "Samples, and events, counted as lost in the kernel each "         \
	  "interval.")

#define FAKE_FIELD(...) CONFIGMAP_FIELD(struct fake_config, __VA_ARGS__)

static const struct tgprof_config_key fake_keys[] = { FAKE_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field fake_fields[] = { FAKE_KEYS(FAKE_FIELD) };
static const struct configmap fake_map = {
	.keys = fake_keys,
	.fields = fake_fields,
	.nkeys = sizeof(fake_keys) / sizeof(fake_keys[0]),
	.marks_offset = offsetof(struct fake_config, marks),
};

struct tgprof_config {
	struct fake_config c;
};

struct tgprof_receiver {
	struct tgprof_config cfg;
	const struct tgprof_host *host;
	struct profile_builder *pb;
	pthread_t thread;
	bool started;
	bool joined;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	uint64_t interval; /* the last one built */
	struct tgprof_receiver_stats st; /* under lock */
};

static void fake_log(struct tgprof_receiver *r, enum tgprof_log_level level,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fake_log(struct tgprof_receiver *r, enum tgprof_log_level level,
		     const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->host->log)
		r->host->log(r->host->ctx, level, msg);
}

/* ---- config ------------------------------------------------------------ */

static struct tgprof_config *fake_config_new(void)
{
	struct tgprof_config *cfg = calloc(1, sizeof(*cfg));
	char err[CONFIGMAP_ERR_MAX];

	if (!cfg)
		return NULL;
	if (configmap__init(&fake_map, &cfg->c, err, sizeof(err))) {
		configmap__release(&fake_map, &cfg->c);
		free(cfg);
		errno = ENOMEM;
		return NULL;
	}
	return cfg;
}

static int fake_config_set(struct tgprof_config *cfg, const char *key,
			   const char *value, char *err, size_t errlen)
{
	return configmap__set(&fake_map, &cfg->c, key, value, err, errlen);
}

static size_t fake_config_validate(const struct tgprof_config *cfg,
				   void (*report)(void *ctx, const char *key,
						  const char *problem),
				   void *ctx)
{
	return configmap__validate(&fake_map, &cfg->c, report, ctx);
}

static void fake_config_free(struct tgprof_config *cfg)
{
	if (!cfg)
		return;
	configmap__release(&fake_map, &cfg->c);
	free(cfg);
}

/* ---- the canned profile ------------------------------------------------ */

static int build_request(struct tgprof_receiver *r, void **ret, size_t *len)
{
	char leaf[32];
	struct sym_frame fr[5] = {
		{ .addr = 0xffffffff81000010,
		  .kind = FRAME_KERNEL,
		  .name = "do_syscall_64",
		  .module = "vmlinux" },
		{ .addr = 0x401030, .inlined = true, .name = "hot_inline" },
		{ .addr = 0x401030, .name = "work" },
		{ .addr = 0x401020, .name = leaf },
		{ .addr = 0x401010, .name = "main" },
	};
	struct sym_sample s = {
		.tgid = 4242,
		.tid = 4243,
		.start_ns = 1,
		.comm = "worker",
		.pcomm = r->cfg.c.comm,
		.frames = fr,
		.nframes = 5,
		.nkernel = 1,
	};
	uint32_t i;
	int err;

	snprintf(leaf, sizeof(leaf), "interval_%llu",
		 (unsigned long long)r->interval);
	for (i = 0; i < 5; i++)
		fr[i].system_name = fr[i].name;
	for (i = 0; i < r->cfg.c.samples; i++) {
		s.ts_ns = boot_ns();
		err = profile_builder__add(r->pb, &s);
		if (err)
			return err;
	}
	err = profile_builder__flush(r->pb, ret, len);
	if (!err) {
		pthread_mutex_lock(&r->lock);
		r->st.samples += r->cfg.c.samples;
		r->st.samples_lost += r->cfg.c.kernel_loss;
		r->st.events_lost += r->cfg.c.kernel_loss;
		pthread_mutex_unlock(&r->lock);
	}
	return err;
}

/* Offers interval r->interval + 1 until answered (RETRY: again after a
 * short wait, at most until @give_up_ns on CLOCK_MONOTONIC). */
static void offer_interval(struct tgprof_receiver *r, bool last,
			   uint64_t give_up_ns)
{
	enum tgprof_consume_result res;
	void *req = NULL;
	size_t len = 0;

	r->interval++;
	if (build_request(r, &req, &len) || !req)
		return;
	pthread_mutex_lock(&r->lock);
	r->st.requests++;
	r->st.request_bytes += len;
	pthread_mutex_unlock(&r->lock);
	for (;;) {
		res = r->host->consume_profiles(r->host->ctx, req, len);
		if (res != TGPROF_CONSUME_RETRY)
			break;
		pthread_mutex_lock(&r->lock);
		r->st.consume_retries++;
		pthread_mutex_unlock(&r->lock);
		if (clock_ns(CLOCK_MONOTONIC) >= give_up_ns)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	}
	pthread_mutex_lock(&r->lock);
	if (res == TGPROF_CONSUME_OK)
		r->st.requests_consumed++;
	else
		r->st.requests_dropped++;
	pthread_mutex_unlock(&r->lock);
	fake_log(r, TGPROF_LOG_INFO, "fake: %s interval %llu answered %s",
		 last ? "last" : "offered", (unsigned long long)r->interval,
		 res == TGPROF_CONSUME_OK    ? "ok" :
		 res == TGPROF_CONSUME_RETRY ? "retry" :
					       "permanent");
	free(req);
}

static void *fake_main(void *arg)
{
	struct tgprof_receiver *r = arg;
	uint64_t next = clock_ns(CLOCK_REALTIME) + r->cfg.c.report_interval_ns;
	struct timespec ts;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		ts.tv_sec = next / NSEC_PER_SEC;
		ts.tv_nsec = next % NSEC_PER_SEC;
		while (!r->stopping &&
		       pthread_cond_timedwait(&r->cond, &r->lock, &ts) !=
			       ETIMEDOUT)
			;
		if (r->stopping)
			break;
		if (r->cfg.c.permanent_error_after &&
		    r->interval >= r->cfg.c.permanent_error_after) {
			/* Broken for good: says so once, then idles. */
			if (r->interval++ == r->cfg.c.permanent_error_after &&
			    r->host->report_status)
				r->host->report_status(
					r->host->ctx,
					TGPROF_STATUS_PERMANENT_ERROR,
					"fake: permanent_error_after reached");
			next += r->cfg.c.report_interval_ns;
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		offer_interval(r, false,
			       clock_ns(CLOCK_MONOTONIC) +
				       r->cfg.c.report_interval_ns);
		next += r->cfg.c.report_interval_ns;
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

static struct tgprof_receiver *fake_create(const struct tgprof_config *cfg,
					   const struct tgprof_host *host)
{
	struct profile_builder_opts po = { .sz = sizeof(po) };
	struct tgprof_receiver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->cfg = *cfg;
	if (configmap__copy(&fake_map, &r->cfg.c, &cfg->c)) {
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->host = host;
	po.host_name = "fake-host";
	r->pb = profile_builder__new(&po);
	if (!r->pb) {
		configmap__release(&fake_map, &r->cfg.c);
		free(r);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

static int fake_start(struct tgprof_receiver *r)
{
	int err;

	if (r->cfg.c.fail_start) {
		fake_log(
			r, TGPROF_LOG_ERROR,
			"fake: missing privilege: CAP_BPF (fail_start is set)");
		return -EPERM;
	}
	if (r->host->report_status)
		r->host->report_status(r->host->ctx, TGPROF_STATUS_STARTING,
				       NULL);
	err = pthread_create(&r->thread, NULL, fake_main, r);
	if (err)
		return -err;
	r->started = true;
	if (r->host->report_status)
		r->host->report_status(r->host->ctx, TGPROF_STATUS_OK, NULL);
	fake_log(r, TGPROF_LOG_INFO, "fake: started, comm %s, every %llu ms",
		 r->cfg.c.comm,
		 (unsigned long long)(r->cfg.c.report_interval_ns /
				      NSEC_PER_MSEC));
	return 0;
}

static int fake_shutdown(struct tgprof_receiver *r, uint64_t timeout_ns)
{
	if (!r->started || r->joined)
		return 0;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->joined = true;
	/* The interval sampled since the last report. */
	offer_interval(r, true, clock_ns(CLOCK_MONOTONIC) + timeout_ns);
	if (r->host->report_status)
		r->host->report_status(r->host->ctx, TGPROF_STATUS_STOPPED,
				       NULL);
	return 0;
}

static void fake_destroy(struct tgprof_receiver *r)
{
	if (!r)
		return;
	fake_shutdown(r, 0);
	profile_builder__free(r->pb);
	configmap__release(&fake_map, &r->cfg.c);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int fake_stats(struct tgprof_receiver *r,
		      struct tgprof_receiver_stats *ret)
{
	struct tgprof_receiver_stats st;
	size_t sz;

	if (!r || !ret || ret->sz < sizeof(size_t))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	st = r->st;
	pthread_mutex_unlock(&r->lock);
	st.processes = 1;
	st.new_processes = 1;
	st.symbol_cache_hits = st.samples * 4;
	st.symbol_cache_misses = 5;
	/* Cache sizes (ABI 1.3), each its own value for /metrics to show. */
	st.symbol_cache_bytes = 1048576;
	st.symbol_cache_files = 7;
	st.symbol_cache_evictions = 3;
	st.perf_map_bytes = 4096;
	st.kernel_symbol_bytes = 2097152;
	st.process_table_bytes = 65536;
	st.process_idle_drops = 2;
	sz = ret->sz < sizeof(st) ? ret->sz : sizeof(st);
	st.sz = ret->sz;
	memcpy(ret, &st, sz);
	return 0;
}

static const struct tgprof_plugin fake_plugin = {
	.sz = FAKE_DESCRIPTOR_SZ,
	.abi_major = FAKE_ABI_MAJOR,
	.abi_minor = TGPROF_ABI_MINOR,
	.name = "tgprof",
	.version = "0.0.0-fake",
	.stability = TGPROF_STABILITY_DEVELOPMENT,
	.config_keys = fake_keys,
	.config_nkeys = sizeof(fake_keys) / sizeof(fake_keys[0]),
	.config_new = fake_config_new,
	.config_set = fake_config_set,
	.config_validate = fake_config_validate,
	.config_free = fake_config_free,
	.create = fake_create,
	.start = fake_start,
	.shutdown = fake_shutdown,
	.destroy = fake_destroy,
	.stats = fake_stats,
};

EXPORT const struct tgprof_plugin *tgprof_receiver_plugin(uint32_t major)
{
	if (major != FAKE_ABI_MAJOR) {
		errno = ENOTSUP;
		return NULL;
	}
	return &fake_plugin;
}
