// SPDX-License-Identifier: Apache-2.0
/* The test host: see plugin_host.h. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "tests/plugin/plugin_host.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	resource_profiles;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name

static const char *level_name(enum tgprof_log_level level)
{
	switch (level) {
	case TGPROF_LOG_ERROR:
		return "error";
	case TGPROF_LOG_WARN:
		return "warn";
	case TGPROF_LOG_INFO:
		return "info";
	case TGPROF_LOG_DEBUG:
		return "debug";
	}
	return "?";
}

static void note_thread(struct test_host *h)
{
	if (pthread_equal(pthread_self(), h->opener))
		h->consumed_on_host_thread++;
}

static void host_log(void *ctx, enum tgprof_log_level level, const char *msg)
{
	struct test_host *h = ctx;
	size_t need = strlen(msg) + 16;

	pthread_mutex_lock(&h->lock);
	if (h->loglen + need >= h->logcap) {
		h->logcap = (h->logcap + need) * 2;
		h->log = realloc(h->log, h->logcap);
		cr_assert_not_null(h->log);
	}
	h->loglen += snprintf(h->log + h->loglen, h->logcap - h->loglen,
			      "%s: %s\n", level_name(level), msg);
	pthread_mutex_unlock(&h->lock);
	/* Seen only when a test fails (Criterion shows the worker's
	 * stderr) or runs with --verbose. */
	if (getenv("TGPROF_TEST_VERBOSE"))
		fprintf(stderr, "plugin %s: %s\n", level_name(level), msg);
}

static void host_status(void *ctx, enum tgprof_status status, const char *msg)
{
	struct test_host *h = ctx;

	pthread_mutex_lock(&h->lock);
	if (h->nstatus < TH_MAX_STATUS) {
		h->status[h->nstatus] = status;
		snprintf(h->status_msg[h->nstatus],
			 sizeof(h->status_msg[h->nstatus]), "%s",
			 msg ? msg : "");
		h->nstatus++;
	}
	pthread_mutex_unlock(&h->lock);
}

static enum tgprof_consume_result host_consume(void *ctx, const void *buf,
					       size_t len)
{
	struct test_host *h = ctx;
	enum tgprof_consume_result answer;
	struct th_offer *o;

	pthread_mutex_lock(&h->lock);
	note_thread(h);
	answer = h->noffers < h->nscript ? h->script[h->noffers] : h->then;
	if (h->noffers == h->capoffers) {
		h->capoffers = h->capoffers ? h->capoffers * 2 : 16;
		h->offers =
			realloc(h->offers, h->capoffers * sizeof(*h->offers));
		cr_assert_not_null(h->offers);
	}
	o = &h->offers[h->noffers++];
	/* Borrowed for the call: a consumer that keeps it copies it. */
	o->buf = malloc(len);
	cr_assert_not_null(o->buf);
	memcpy(o->buf, buf, len);
	o->len = len;
	o->answer = answer;
	pthread_mutex_unlock(&h->lock);
	return answer;
}

void th_open(struct test_host *h)
{
	const struct tgprof_plugin *(*entry)(uint32_t);

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->opener = pthread_self();
	h->then = TGPROF_CONSUME_OK;
	h->so = dlopen(TGPROF_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h->so, "dlopen: %s", dlerror());
	*(void **)&entry = dlsym(h->so, TGPROF_PLUGIN_ENTRY);
	cr_assert_not_null(entry, "dlsym: %s", dlerror());
	h->p = entry(TGPROF_ABI_MAJOR);
	cr_assert_not_null(h->p, "the plugin refused ABI %d: %s",
			   TGPROF_ABI_MAJOR, strerror(errno));
	cr_assert_geq(h->p->sz, sizeof(struct tgprof_plugin));

	h->host.sz = sizeof(h->host);
	h->host.abi_major = TGPROF_ABI_MAJOR;
	h->host.abi_minor = TGPROF_ABI_MINOR;
	h->host.ctx = h;
	h->host.log = host_log;
	h->host.report_status = host_status;
	h->host.consume_profiles = host_consume;
}

void th_close(struct test_host *h)
{
	size_t i;

	for (i = 0; i < h->noffers; i++)
		free(h->offers[i].buf);
	free(h->offers);
	free(h->log);
	if (h->so)
		dlclose(h->so);
	pthread_mutex_destroy(&h->lock);
}

struct tgprof_config *th_config(struct test_host *h, const struct th_kv *kv)
{
	struct tgprof_config *cfg = h->p->config_new();
	char err[512];
	int ret;

	cr_assert_not_null(cfg);
	for (; kv && kv->key; kv++) {
		ret = h->p->config_set(cfg, kv->key, kv->value, err,
				       sizeof(err));
		cr_assert_eq(ret, 0, "config_set(%s, %s): %s", kv->key,
			     kv->value, err);
	}
	return cfg;
}

struct tgprof_receiver *th_create(struct test_host *h,
				  const struct tgprof_config *cfg)
{
	struct tgprof_receiver *r = h->p->create(cfg, &h->host);

	cr_assert_not_null(r, "create: %s\n%s", strerror(errno),
			   h->log ? h->log : "");
	return r;
}

void th_stats(struct test_host *h, struct tgprof_receiver *r,
	      struct tgprof_receiver_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->sz = sizeof(*ret);
	cr_assert_eq(h->p->stats(r, ret), 0);
}

size_t th_noffers(struct test_host *h)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->noffers;
	pthread_mutex_unlock(&h->lock);
	return n;
}

bool th_log_has(struct test_host *h, const char *needle)
{
	bool has;

	pthread_mutex_lock(&h->lock);
	has = h->log && strstr(h->log, needle);
	pthread_mutex_unlock(&h->lock);
	return has;
}

size_t th_statuses(struct test_host *h, enum tgprof_status *ret, size_t max)
{
	size_t n;

	pthread_mutex_lock(&h->lock);
	n = h->nstatus < max ? h->nstatus : max;
	memcpy(ret, h->status, n * sizeof(*ret));
	pthread_mutex_unlock(&h->lock);
	return n;
}

bool th_wait(bool (*cond)(void *ctx), void *ctx, int timeout_ms)
{
	struct timespec step = { .tv_nsec = 20 * 1000 * 1000 };
	int waited;

	for (waited = 0;; waited += 20) {
		if (cond(ctx))
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&step, NULL);
	}
}

int th_stdio_capture(int saved[2])
{
	char path[] = "/tmp/tgprof-plugin-stdio-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(stdout);
	fflush(stderr);
	saved[0] = dup(STDOUT_FILENO);
	saved[1] = dup(STDERR_FILENO);
	cr_assert(saved[0] >= 0 && saved[1] >= 0);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	return fd;
}

long th_stdio_restore(int fd, int saved[2])
{
	struct stat st;

	fflush(stdout);
	fflush(stderr);
	dup2(saved[0], STDOUT_FILENO);
	dup2(saved[1], STDERR_FILENO);
	close(saved[0]);
	close(saved[1]);
	cr_assert_eq(fstat(fd, &st), 0);
	close(fd);
	return (long)st.st_size;
}

/* ---- requests ---- */

static request *decode(const void *buf, size_t len)
{
	request *r = REQ(unpack)(NULL, len, buf);

	cr_assert_not_null(r, "a request that does not decode (%zu bytes)",
			   len);
	cr_assert_not_null(r->dictionary);
	return r;
}

static uint64_t resource_events(const resource_profiles *rp)
{
	uint64_t n = 0;
	size_t i, j, k;

	for (i = 0; i < rp->n_scope_profiles; i++)
		for (j = 0; j < rp->scope_profiles[i]->n_profiles; j++) {
			const Opentelemetry__Proto__Profiles__V1development__Profile
				*pr = rp->scope_profiles[i]->profiles[j];

			for (k = 0; k < pr->n_samples; k++)
				n += pr->samples[k]->n_timestamps_unix_nano;
		}
	return n;
}

static bool resource_pid(const resource_profiles *rp, uint32_t *ret)
{
	size_t i;

	if (!rp->resource)
		return false;
	for (i = 0; i < rp->resource->n_attributes; i++) {
		const Opentelemetry__Proto__Common__V1__KeyValue *kv =
			rp->resource->attributes[i];

		if (strcmp(kv->key, "process.pid") || !kv->value)
			continue;
		*ret = (uint32_t)kv->value->int_value;
		return true;
	}
	return false;
}

void th_request_facts(const void *buf, size_t len, struct th_request *ret)
{
	request *r = decode(buf, len);
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->decoded = true;
	ret->resources = r->n_resource_profiles;
	ret->first_time_unix_ns = UINT64_MAX;
	for (i = 0; i < r->n_resource_profiles; i++) {
		resource_profiles *rp = r->resource_profiles[i];
		size_t j, k;

		ret->events += resource_events(rp);
		for (j = 0; j < rp->n_scope_profiles; j++)
			for (k = 0; k < rp->scope_profiles[j]->n_profiles;
			     k++) {
				uint64_t t = rp->scope_profiles[j]
						     ->profiles[k]
						     ->time_unix_nano;

				if (t < ret->first_time_unix_ns)
					ret->first_time_unix_ns = t;
			}
	}
	REQ(free_unpacked)(r, NULL);
}

uint64_t th_request_events_of(const void *buf, size_t len, uint32_t pid)
{
	request *r = decode(buf, len);
	uint64_t n = 0;
	uint32_t p;
	size_t i;

	for (i = 0; i < r->n_resource_profiles; i++)
		if (resource_pid(r->resource_profiles[i], &p) && p == pid)
			n += resource_events(r->resource_profiles[i]);
	REQ(free_unpacked)(r, NULL);
	return n;
}

bool th_request_has_function(const void *buf, size_t len, const char *name)
{
	request *r = decode(buf, len);
	const Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
		*d = r->dictionary;
	bool has = false;
	size_t i;
	int32_t s;

	for (i = 0; i < d->n_function_table && !has; i++) {
		s = d->function_table[i]->name_strindex;
		has = s > 0 && (size_t)s < d->n_string_table &&
		      !strcmp(d->string_table[s], name);
	}
	REQ(free_unpacked)(r, NULL);
	return has;
}

size_t th_request_profile_ids(const void *buf, size_t len, uint8_t (*ids)[16],
			      size_t max)
{
	request *r = decode(buf, len);
	size_t i, j, k, n = 0;

	for (i = 0; i < r->n_resource_profiles; i++) {
		resource_profiles *rp = r->resource_profiles[i];

		for (j = 0; j < rp->n_scope_profiles; j++)
			for (k = 0; k < rp->scope_profiles[j]->n_profiles;
			     k++) {
				ProtobufCBinaryData id = rp->scope_profiles[j]
								 ->profiles[k]
								 ->profile_id;

				cr_assert_eq(id.len, 16);
				if (n < max)
					memcpy(ids[n], id.data, 16);
				n++;
			}
	}
	REQ(free_unpacked)(r, NULL);
	return n;
}
