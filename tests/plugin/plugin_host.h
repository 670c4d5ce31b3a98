/* SPDX-License-Identifier: Apache-2.0 */
/* A second host for libtgprof_receiver.so, written as any host would be:
 * dlopen() the library, ask its one entry for the descriptor, hand the
 * receiver a struct tgprof_host. Its consumer answers from a script and
 * keeps a copy of every request offered; log lines and status reports
 * are recorded. Everything the receiver's thread calls is locked.
 *
 * Only include/tgprof/receiver.h and the generated protobuf-c code (to
 * decode requests) are used: nothing of the plugin's insides. */
#ifndef TGPROF_TESTS_PLUGIN_HOST_H
#define TGPROF_TESTS_PLUGIN_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "include/tgprof/receiver.h"

#define TH_MAX_SCRIPT 16
#define TH_MAX_STATUS 64

/* One request as the consumer saw it (a copy) and what it answered. */
struct th_offer {
	void *buf;
	size_t len;
	enum tgprof_consume_result answer;
};

struct test_host {
	struct tgprof_host host; /* what create() gets */
	void *so;
	const struct tgprof_plugin *p;

	pthread_mutex_t lock; /* guards everything below */
	/* The consumer's answers in order, then @then for every later one. */
	enum tgprof_consume_result script[TH_MAX_SCRIPT];
	size_t nscript;
	enum tgprof_consume_result then;
	struct th_offer *offers;
	size_t noffers, capoffers;
	char *log; /* "LEVEL: message\n" lines */
	size_t loglen, logcap;
	enum tgprof_status status[TH_MAX_STATUS];
	char status_msg[TH_MAX_STATUS][256];
	size_t nstatus;
	/* consume_profiles() must come from the receiver's own thread, never
	 * from the host's (the one that opened). */
	pthread_t opener;
	size_t consumed_on_host_thread;
};

/* dlopen()s the plugin (TGPROF_PLUGIN_PATH), takes its descriptor for
 * TGPROF_ABI_MAJOR and fills @h->host. Asserts on failure. */
void th_open(struct test_host *h);
/* Frees what @h recorded and dlclose()s. */
void th_close(struct test_host *h);

/* One config_set() call. */
struct th_kv {
	const char *key;
	const char *value;
};

/* The default config with @kv applied in order, up to an entry whose key
 * is NULL (@kv NULL: none). Asserts that every set succeeds. */
struct tgprof_config *th_config(struct test_host *h, const struct th_kv *kv);

/* A receiver for @cfg borrowing @h->host. Asserts. */
struct tgprof_receiver *th_create(struct test_host *h,
				  const struct tgprof_config *cfg);

void th_stats(struct test_host *h, struct tgprof_receiver *r,
	      struct tgprof_receiver_stats *ret);

size_t th_noffers(struct test_host *h);
bool th_log_has(struct test_host *h, const char *needle);
/* The statuses reported so far, in order; returns how many. */
size_t th_statuses(struct test_host *h, enum tgprof_status *ret, size_t max);

/* Points fds 1 and 2 at a fresh file, to see whether the plugin prints;
 * @saved keeps the old ones. Returns the file's fd. */
int th_stdio_capture(int saved[2]);
/* Puts fds 1 and 2 back; returns how many bytes were printed meanwhile. */
long th_stdio_restore(int fd, int saved[2]);

/* Calls @cond every 20 ms until it holds or @timeout_ms passed. */
bool th_wait(bool (*cond)(void *ctx), void *ctx, int timeout_ms);

/* ---- what a request holds (decoded with protobuf-c) ---- */

struct th_request {
	bool decoded;
	size_t resources;
	uint64_t events; /* sample timestamps, all processes */
	uint64_t first_time_unix_ns; /* earliest Profile.time_unix_nano */
};

/* Decodes @buf: asserts it is an ExportProfilesServiceRequest. */
void th_request_facts(const void *buf, size_t len, struct th_request *ret);
/* Sample events of the resource(s) with process.pid @pid. */
uint64_t th_request_events_of(const void *buf, size_t len, uint32_t pid);
/* Whether a Function of its dictionary is named @name. */
bool th_request_has_function(const void *buf, size_t len, const char *name);
/* The profile_id of every Profile, 16 bytes each, into @ids (room for
 * @max); returns how many there are. */
size_t th_request_profile_ids(const void *buf, size_t len, uint8_t (*ids)[16],
			      size_t max);

#endif
