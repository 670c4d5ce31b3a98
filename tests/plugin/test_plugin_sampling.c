// SPDX-License-Identifier: Apache-2.0
/* libtgprof_receiver.so sampling the real kernel, driven by a second host
 * through its ABI only: a consumer that answers RETRY then OK gets every
 * interval exactly once, PERMANENT answers are dropped and counted,
 * shutdown flushes the last interval or drops within its timeout, start
 * fails fast without BTF, and a process excluded by name never reaches
 * the consumer. Short report intervals and fixtures that spin make real
 * samples arrive. Needs root. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"
#include "tests/plugin/plugin_host.h"

#define RUN_TIMEOUT_MS 30000
#define SHUTDOWN_NS (10 * NSEC_PER_SEC)
#define MAX_IDS 4096

static struct test_host h;

static void setup(void)
{
	harness_require_root();
	th_open(&h);
}

static void teardown(void)
{
	th_close(&h);
}

TestSuite(plugin_sampling, .init = setup, .fini = teardown);

/* A pthread_exit() leader whose worker spins for @spin_ms, paused until
 * fixture_go(). */
static void spawn_leader(struct fixture *f, const char *spin_ms)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("pthread_exit_leader", path,
					      sizeof(path)),
			 "100", (char *)spin_ms, NULL };

	fixture_spawn(f, argv, 0);
}

/* A receiver of only @f's process, its report interval @interval, then
 * the keys of @extra (NULL: none). */
static struct tgprof_receiver *
start_for(struct fixture *f, const char *interval, const struct th_kv *extra)
{
	char pid[16];
	struct th_kv kv[] = {
		{ "sampling_frequency_hz", "97" },
		{ "report_interval", interval },
		{ "filter.include_pid", pid },
		{ "consumer_retry.initial_interval", "50ms" },
		{ "consumer_retry.max_interval", "100ms" },
		{ NULL, NULL },
	};
	struct tgprof_receiver *r;
	struct tgprof_config *cfg;
	char err[512];
	int ret;

	snprintf(pid, sizeof(pid), "%d", f->pid);
	cfg = th_config(&h, kv);
	for (; extra && extra->key; extra++) {
		ret = h.p->config_set(cfg, extra->key, extra->value, err,
				      sizeof(err));
		cr_assert_eq(ret, 0, "%s: %s", extra->key, err);
	}
	r = th_create(&h, cfg);
	h.p->config_free(cfg);
	ret = h.p->start(r);
	cr_assert_eq(ret, 0, "start: %s\n%s", strerror(-ret),
		     h.log ? h.log : "");
	return r;
}

/* Sample events of @pid in the offers answered @answer (all: -1). */
static uint64_t events_of(uint32_t pid, int answer)
{
	uint64_t n = 0;
	size_t i;

	pthread_mutex_lock(&h.lock);
	for (i = 0; i < h.noffers; i++)
		if (answer < 0 || (int)h.offers[i].answer == answer)
			n += th_request_events_of(h.offers[i].buf,
						  h.offers[i].len, pid);
	pthread_mutex_unlock(&h.lock);
	return n;
}

/* Every profile id of the offers answered @answer (all: -1) is unique:
 * no request was taken twice. Returns how many offers there were. */
static size_t assert_unique_profiles(int answer)
{
	static uint8_t ids[MAX_IDS][16];
	size_t i, j, n = 0, offers = 0;

	pthread_mutex_lock(&h.lock);
	for (i = 0; i < h.noffers; i++) {
		if (answer >= 0 && (int)h.offers[i].answer != answer)
			continue;
		offers++;
		n += th_request_profile_ids(h.offers[i].buf, h.offers[i].len,
					    ids + n, MAX_IDS - n);
		cr_assert_lt(n, MAX_IDS);
	}
	pthread_mutex_unlock(&h.lock);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			cr_assert_neq(memcmp(ids[i], ids[j], 16), 0,
				      "profile %zu and %zu are one", i, j);
	return offers;
}

struct wait_ctx {
	struct fixture *f;
	struct fixture *g;
	struct tgprof_receiver *r;
	size_t min_offers;
	uint64_t min_samples;
	uint32_t pid; /* whose events must have been consumed */
};

static bool offers_arrived(void *arg)
{
	struct wait_ctx *w = arg;
	struct tgprof_receiver_stats s;

	fixture_pump(w->f);
	if (w->g)
		fixture_pump(w->g);
	if (!w->f->exited || (w->g && !w->g->exited))
		return false;
	if (th_noffers(&h) < w->min_offers)
		return false;
	if (w->pid && events_of(w->pid, TGPROF_CONSUME_OK) < 5)
		return false;
	th_stats(&h, w->r, &s);
	return s.samples >= w->min_samples;
}

/* The statuses reported, as a string like "1,2,3,2,5,6". */
static const char *status_trail(char *buf, size_t size)
{
	enum tgprof_status st[TH_MAX_STATUS];
	size_t i, n = th_statuses(&h, st, TH_MAX_STATUS), off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++)
		off += snprintf(buf + off, size - off, "%s%d", i ? "," : "",
				(int)st[i]);
	return buf;
}

Test(plugin_sampling, retry_then_ok_delivers_every_sample_once)
{
	int saved[2], stdio;
	long printed;
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct fixture f;
	size_t ok_offers;
	char trail[128];
	int err;

	h.script[0] = TGPROF_CONSUME_RETRY;
	h.nscript = 1;
	h.then = TGPROF_CONSUME_OK;
	spawn_leader(&f, "2500");
	stdio = th_stdio_capture(saved);
	r = start_for(&f, "200ms", NULL);
	fixture_go(&f);
	w = (struct wait_ctx){
		.f = &f, .r = r, .min_offers = 3, .pid = (uint32_t)f.pid
	};
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS),
		  "%zu offers, log:\n%s", th_noffers(&h), h.log ? h.log : "");
	err = h.p->shutdown(r, SHUTDOWN_NS);
	printed = th_stdio_restore(stdio, saved);
	cr_assert_eq(err, 0, "shutdown: %s", strerror(-err));
	th_stats(&h, r, &s);
	/* Everything went through the host's log: libbpf included. */
	cr_assert_eq(printed, 0, "%ld bytes printed", printed);

	/* The request refused with RETRY came back, byte for byte. */
	cr_assert_eq(h.offers[0].answer, TGPROF_CONSUME_RETRY);
	cr_assert_eq(h.offers[1].len, h.offers[0].len);
	cr_assert_eq(memcmp(h.offers[1].buf, h.offers[0].buf, h.offers[0].len),
		     0, "the retried request changed");
	/* Each interval was taken once, and every sample is in exactly one
	 * of them. */
	ok_offers = assert_unique_profiles(TGPROF_CONSUME_OK);
	cr_assert_eq(ok_offers, h.noffers - 1);
	cr_assert_eq(s.requests_consumed, ok_offers);
	cr_assert_eq(s.requests, ok_offers);
	cr_assert_eq(s.consume_retries, 1);
	cr_assert_eq(s.requests_dropped, 0);
	cr_assert_gt(s.samples, 0);
	cr_assert_eq(events_of((uint32_t)f.pid, TGPROF_CONSUME_OK), s.samples,
		     "consumed %llu sample events, the receiver added %llu",
		     (unsigned long long)events_of((uint32_t)f.pid,
						   TGPROF_CONSUME_OK),
		     (unsigned long long)s.samples);
	cr_assert_gt(s.request_bytes, 0);
	cr_assert_geq(s.new_processes, 1);
	/* The worker outlived its leader and kept its names. */
	cr_assert(th_request_has_function(h.offers[h.noffers - 1].buf,
					  h.offers[h.noffers - 1].len,
					  "worker_spin_hot") ||
		  th_request_has_function(h.offers[1].buf, h.offers[1].len,
					  "worker_spin_hot"));
	/* STARTING, OK, RECOVERABLE_ERROR (retrying), OK, STOPPING,
	 * STOPPED. */
	cr_assert_str_eq(status_trail(trail, sizeof(trail)), "1,2,3,2,5,6");
	cr_assert_eq(h.consumed_on_host_thread, 0);

	h.p->destroy(r);
	fixture_cleanup(&f);
}

Test(plugin_sampling, permanent_answers_are_dropped_and_counted)
{
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct fixture f;
	size_t offers;
	int err;

	h.then = TGPROF_CONSUME_PERMANENT;
	spawn_leader(&f, "1500");
	r = start_for(&f, "200ms", NULL);
	fixture_go(&f);
	w = (struct wait_ctx){ .f = &f, .r = r, .min_offers = 2 };
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS),
		  "%zu offers, log:\n%s", th_noffers(&h), h.log ? h.log : "");
	err = h.p->shutdown(r, SHUTDOWN_NS);
	cr_assert_eq(err, 0, "shutdown: %s", strerror(-err));
	th_stats(&h, r, &s);

	/* Each refused request was offered once, never again. */
	offers = assert_unique_profiles(-1);
	cr_assert_eq(offers, h.noffers);
	cr_assert_eq(s.requests, offers);
	cr_assert_eq(s.requests_dropped, offers);
	cr_assert_eq(s.requests_consumed, 0);
	cr_assert_eq(s.consume_retries, 0);
	cr_assert(th_log_has(&h, "refused a profile for good"), "%s", h.log);

	h.p->destroy(r);
	fixture_cleanup(&f);
}

/* The host's wall clock: 2001-09-09T01:46:40Z and on, whatever the
 * machine's says. */
#define HOST_EPOCH_NS 1000000000000000000ULL

static uint64_t host_clock(void *ctx)
{
	(void)ctx;
	return HOST_EPOCH_NS + clock_ns(CLOCK_MONOTONIC);
}

Test(plugin_sampling, shutdown_flushes_the_last_interval)
{
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct th_request facts;
	struct fixture f;
	int err;

	h.host.now_unix_ns = host_clock;
	spawn_leader(&f, "1000");
	/* An interval longer than the test: only shutdown ends it. */
	r = start_for(&f, "1h", NULL);
	fixture_go(&f);
	w = (struct wait_ctx){ .f = &f, .r = r, .min_samples = 10 };
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS), "log:\n%s",
		  h.log ? h.log : "");
	cr_assert_eq(th_noffers(&h), 0);
	err = h.p->shutdown(r, SHUTDOWN_NS);
	cr_assert_eq(err, 0, "shutdown: %s", strerror(-err));
	th_stats(&h, r, &s);

	cr_assert_eq(th_noffers(&h), 1);
	cr_assert_eq(s.requests_consumed, 1);
	cr_assert_eq(events_of((uint32_t)f.pid, TGPROF_CONSUME_OK), s.samples);
	/* Stamped by the host's clock, not the machine's. */
	th_request_facts(h.offers[0].buf, h.offers[0].len, &facts);
	cr_assert_geq(facts.first_time_unix_ns, HOST_EPOCH_NS);
	cr_assert_lt(facts.first_time_unix_ns,
		     HOST_EPOCH_NS + clock_ns(CLOCK_MONOTONIC));

	h.p->destroy(r);
	fixture_cleanup(&f);
}

Test(plugin_sampling, shutdown_drops_what_the_consumer_did_not_take_in_time)
{
	static const struct th_kv slow_retry[] = {
		{ "consumer_retry.max_interval", "10s" },
		{ "consumer_retry.initial_interval", "10s" },
		{ NULL, NULL },
	};
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct fixture f;
	uint64_t t0, took;
	char trail[128];
	int err;

	h.then = TGPROF_CONSUME_RETRY;
	spawn_leader(&f, "1000");
	r = start_for(&f, "200ms", slow_retry);
	fixture_go(&f);
	w = (struct wait_ctx){ .f = &f, .r = r, .min_offers = 1 };
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS), "log:\n%s",
		  h.log ? h.log : "");
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = h.p->shutdown(r, 300 * NSEC_PER_MSEC);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	th_stats(&h, r, &s);

	cr_assert_eq(err, -ETIMEDOUT);
	/* Within the timeout, give or take one wait for the kernel's ring
	 * and a loaded machine. */
	cr_assert_lt(took, 2 * NSEC_PER_SEC, "shutdown took %llu ms",
		     (unsigned long long)(took / NSEC_PER_MSEC));
	/* Its backoff (5 s or more) had not ended: offered once only. */
	cr_assert_eq(th_noffers(&h), 1);
	cr_assert_eq(s.requests_consumed, 0);
	cr_assert_geq(s.requests_dropped, 1);
	cr_assert_eq(s.requests, s.requests_dropped);
	cr_assert(th_log_has(&h, "within the timeout were dropped"), "%s",
		  h.log);
	/* Retrying, then stopping: nothing after STOPPING but STOPPED. */
	cr_assert_str_eq(status_trail(trail, sizeof(trail)), "1,2,3,5,6");

	h.p->destroy(r);
	fixture_cleanup(&f);
}

Test(plugin_sampling, start_without_btf_fails_fast_with_the_reason)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_receiver *r = th_create(&h, cfg);
	int err;

	/* This test's own mount namespace, where the kernel has no BTF. */
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", "/sys/kernel/btf", "tmpfs", 0, NULL), 0,
		     "mount: %s", strerror(errno));

	err = h.p->start(r);
	cr_assert_eq(err, -ENOTSUP, "start: %s", strerror(-err));
	cr_assert(th_log_has(&h, "error: no BTF: /sys/kernel/btf/vmlinux"),
		  "%s", h.log);
	cr_assert(strstr(h.status_msg[1], "CONFIG_DEBUG_INFO_BTF"), "%s",
		  h.status_msg[1]);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	h.p->destroy(r);
	h.p->config_free(cfg);
}

static void spawn_spinner(struct fixture *f, const char *name)
{
	char path[512];
	char *argv[] = { (char *)fixture_path(name, path, sizeof(path)), "2000",
			 NULL };

	fixture_spawn(f, argv, 0);
}

Test(plugin_sampling, excluded_name_never_reaches_the_consumer)
{
	static const struct th_kv kv[] = {
		{ "sampling_frequency_hz", "97" },
		{ "report_interval", "200ms" },
		{ "filter.exclude_comm", "^spin_alpha$" },
		{ NULL, NULL },
	};
	struct tgprof_receiver_stats s;
	struct tgprof_config *cfg;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct fixture a, b;
	size_t i;
	int err;

	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	cfg = th_config(&h, kv);
	r = th_create(&h, cfg);
	h.p->config_free(cfg);
	err = h.p->start(r);
	cr_assert_eq(err, 0, "start: %s\n%s", strerror(-err),
		     h.log ? h.log : "");
	fixture_go(&a);
	fixture_go(&b);
	w = (struct wait_ctx){ .f = &a,
			       .g = &b,
			       .r = r,
			       .min_offers = 1,
			       .pid = (uint32_t)b.pid };
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS),
		  "beta's samples did not arrive, log:\n%s",
		  h.log ? h.log : "");
	err = h.p->shutdown(r, SHUTDOWN_NS);
	cr_assert_eq(err, 0, "shutdown: %s", strerror(-err));
	th_stats(&h, r, &s);

	/* Before its exec, alpha is a copy of this test, not excluded by
	 * name; spin_alpha itself is in no request. */
	for (i = 0; i < h.noffers; i++)
		cr_assert_not(th_request_has_function(h.offers[i].buf,
						      h.offers[i].len,
						      "alpha_spin"),
			      "request %zu holds spin_alpha's samples", i);
	cr_assert_leq(events_of((uint32_t)a.pid, -1), 2);
	cr_assert_geq(events_of((uint32_t)b.pid, -1), 5);
	cr_assert_geq(s.samples_filtered, 10, "filtered %llu",
		      (unsigned long long)s.samples_filtered);

	h.p->destroy(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
}

/* A program without frame pointers, walked with tables (the default
 * unwinder): the ABI 1.1 unwind counters reach the host filled, and every
 * sample the receiver symbolized was walked once, so the complete walks
 * and the seven stop reasons add up to the samples. */
Test(plugin_sampling, unwind_counters_reach_the_host_and_add_up)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("unwind_recurse", path,
					      sizeof(path)),
			 "2000", "50", NULL };
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct wait_ctx w = { 0 };
	struct fixture f;
	uint64_t walked;
	int err;

	fixture_spawn(&f, argv, 0);
	r = start_for(&f, "200ms", NULL);
	fixture_go(&f);
	w = (struct wait_ctx){ .f = &f,
			       .r = r,
			       .min_offers = 1,
			       .min_samples = 50,
			       .pid = (uint32_t)f.pid };
	cr_assert(th_wait(offers_arrived, &w, RUN_TIMEOUT_MS),
		  "%zu offers, log:\n%s", th_noffers(&h), h.log ? h.log : "");
	err = h.p->shutdown(r, SHUTDOWN_NS);
	cr_assert_eq(err, 0, "shutdown: %s", strerror(-err));
	th_stats(&h, r, &s);

	walked = s.unwind_complete + s.unwind_stop_no_mapping +
		 s.unwind_stop_no_table + s.unwind_stop_unsupported +
		 s.unwind_stop_read_fault + s.unwind_stop_depth +
		 s.unwind_stop_bad_frame + s.unwind_stop_fp_end;
	cr_assert_eq(walked, s.samples + s.samples_dropped,
		     "%llu walks, %llu samples symbolized",
		     (unsigned long long)walked,
		     (unsigned long long)(s.samples + s.samples_dropped));
	/* 50 frames deep without frame pointers: only tables reach main. */
	cr_assert_geq(s.unwind_complete, walked * 9 / 10,
		      "%llu of %llu complete",
		      (unsigned long long)s.unwind_complete,
		      (unsigned long long)walked);
	/* Each walk the kernel took to main unwound 50 frames with table
	 * rows; those finished in user space (taken before the tables were
	 * loaded) are not counted there. */
	cr_assert_gt(s.unwind_complete, s.unwind_walks_finished);
	cr_assert_geq(
		s.unwind_frames_table,
		(s.unwind_complete - s.unwind_walks_finished) * 50,
		"%llu table frames, %llu complete, %llu finished from copies",
		(unsigned long long)s.unwind_frames_table,
		(unsigned long long)s.unwind_complete,
		(unsigned long long)s.unwind_walks_finished);
	cr_assert_gt(s.unwind_table_files, 0);
	cr_assert_gt(s.unwind_table_bytes, 0);
	cr_assert_gt(s.unwind_compile_ns, 0);

	h.p->destroy(r);
	fixture_cleanup(&f);
}

struct idle_ctx {
	struct fixture *f;
	struct tgprof_receiver *r;
	size_t from_offer; /* offers before it are not looked at */
	bool need_drop; /* wait for process_idle_drops instead */
};

/* Whether an offer from from_offer on has samples of the fixture and
 * names alpha_spin. */
static bool named_since(void *arg)
{
	struct idle_ctx *c = arg;
	bool found = false;
	size_t i;

	fixture_pump(c->f);
	pthread_mutex_lock(&h.lock);
	for (i = c->from_offer; i < h.noffers && !found; i++)
		found = th_request_events_of(h.offers[i].buf, h.offers[i].len,
					     (uint32_t)c->f->pid) > 0 &&
			th_request_has_function(h.offers[i].buf,
						h.offers[i].len, "alpha_spin");
	pthread_mutex_unlock(&h.lock);
	return found;
}

static bool idle_dropped(void *arg)
{
	struct idle_ctx *c = arg;
	struct tgprof_receiver_stats s;

	th_stats(&h, c->r, &s);
	return s.process_idle_drops > 0;
}

/* A process stopped for longer than process_idle_timeout loses its maps
 * and what hangs off them (counted); once it runs again its samples are
 * read afresh and still name its function. Every cache's size reaches
 * the host (ABI 1.3), the symbol cache's within symbol_cache_memory. */
Test(plugin_sampling,
     idle_process_state_is_dropped_and_rebuilt_at_its_next_sample)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("spin_alpha", path, sizeof(path)),
			 "60000", NULL };
	struct th_kv extra[] = { { "process_idle_timeout", "1s" },
				 { "symbol_cache_memory", "4MiB" },
				 { NULL, NULL } };
	struct tgprof_receiver_stats s;
	struct tgprof_receiver *r;
	struct idle_ctx c = { 0 };
	struct fixture f;

	fixture_spawn(&f, argv, 0);
	r = start_for(&f, "200ms", extra);
	fixture_go(&f);
	c.f = &f;
	c.r = r;
	cr_assert(th_wait(named_since, &c, RUN_TIMEOUT_MS),
		  "alpha_spin sampled and named; log:\n%s", h.log ? h.log : "");
	th_stats(&h, r, &s);
	cr_assert_eq(s.process_idle_drops, 0, "it runs: never idle");
	cr_assert_gt(s.symbol_cache_bytes, 0);
	cr_assert_leq(s.symbol_cache_bytes, 4u << 20);
	cr_assert_gt(s.symbol_cache_files, 0);
	cr_assert_gt(s.process_table_bytes, 0);
	cr_assert_gt(s.kernel_symbol_bytes, 0, "root reads kallsyms");

	/* Stopped, it is not sampled: past the timeout its maps go. */
	cr_assert_eq(kill(f.pid, SIGSTOP), 0);
	cr_assert(th_wait(idle_dropped, &c, RUN_TIMEOUT_MS),
		  "process_idle_drops; log:\n%s", h.log ? h.log : "");
	c.from_offer = th_noffers(&h);
	cr_assert_eq(kill(f.pid, SIGCONT), 0);
	cr_assert(th_wait(named_since, &c, RUN_TIMEOUT_MS),
		  "alpha_spin named again after the drop; log:\n%s",
		  h.log ? h.log : "");
	th_stats(&h, r, &s);
	cr_assert_geq(s.process_idle_drops, 1);

	kill(f.pid, SIGKILL);
	h.p->shutdown(r, SHUTDOWN_NS);
	h.p->destroy(r);
	fixture_cleanup(&f);
}
