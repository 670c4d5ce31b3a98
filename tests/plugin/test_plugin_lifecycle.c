// SPDX-License-Identifier: Apache-2.0
/* libtgprof_receiver.so through its ABI, as a second host sees it, with no
 * sampling: the entry and its versions, hosts of other sizes and majors,
 * the config callbacks, shutdown without start and twice, stats sizes,
 * and a start refused for want of privilege. Needs no root. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sanitizer/lsan_interface.h>

#include "lib/clock.h"
#include "tests/plugin/plugin_host.h"

static struct test_host h;

static void setup(void)
{
	th_open(&h);
}

static void teardown(void)
{
	th_close(&h);
}

TestSuite(plugin, .init = setup, .fini = teardown);

Test(plugin, entry_describes_abi_1)
{
	const struct tgprof_plugin *p = h.p;
	size_t i;

	cr_assert_eq(p->abi_major, 1);
	cr_assert_eq(p->abi_minor, TGPROF_ABI_MINOR);
	cr_assert_eq(p->sz, sizeof(struct tgprof_plugin));
	cr_assert_str_eq(p->name, "tgprof");
	cr_assert_str_eq(p->version, TGPROF_VERSION);
	cr_assert_geq(p->stability, TGPROF_STABILITY_DEVELOPMENT);
	cr_assert_leq(p->stability, TGPROF_STABILITY_STABLE);
	cr_assert_gt(p->config_nkeys, 0);
	for (i = 0; i < p->config_nkeys; i++) {
		cr_assert_not_null(p->config_keys[i].name);
		cr_assert_not_null(p->config_keys[i].description);
		cr_assert(p->config_keys[i].default_value ||
				  (p->config_keys[i].flags &
				   TGPROF_CONFIG_REQUIRED),
			  "%s has no default", p->config_keys[i].name);
	}
	cr_assert_not_null(p->config_new);
	cr_assert_not_null(p->stats);
}

Test(plugin, entry_refuses_another_major)
{
	const struct tgprof_plugin *(*entry)(uint32_t);

	*(void **)&entry = dlsym(h.so, TGPROF_PLUGIN_ENTRY);
	cr_assert_not_null(entry);
	errno = 0;
	cr_assert_null(entry(TGPROF_ABI_MAJOR + 1));
	cr_assert_eq(errno, ENOTSUP);
	errno = 0;
	cr_assert_null(entry(0));
	cr_assert_eq(errno, ENOTSUP);
	cr_assert_eq(entry(TGPROF_ABI_MAJOR), h.p);
}

Test(plugin, shutdown_without_start_is_valid)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_receiver *r = th_create(&h, cfg);
	enum tgprof_status st[8];
	struct tgprof_receiver_stats s;

	h.p->config_free(cfg);
	cr_assert_eq(h.p->shutdown(r, 1000 * NSEC_PER_MSEC), 0);
	cr_assert_eq(th_statuses(&h, st, 8), 2);
	cr_assert_eq(st[0], TGPROF_STATUS_STOPPING);
	cr_assert_eq(st[1], TGPROF_STATUS_STOPPED);
	th_stats(&h, r, &s);
	cr_assert_eq(s.requests, 0);
	cr_assert_eq(th_noffers(&h), 0);
	h.p->destroy(r);
}

Test(plugin, shutdown_twice_is_idempotent)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_receiver *r = th_create(&h, cfg);
	enum tgprof_status st[8];

	h.p->config_free(cfg);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	cr_assert_eq(h.p->shutdown(r, NSEC_PER_SEC), 0);
	/* Reported once. */
	cr_assert_eq(th_statuses(&h, st, 8), 2);
	/* A receiver that was shut down does not start again. */
	cr_assert_eq(h.p->start(r), -EINVAL);
	cr_assert_eq(th_statuses(&h, st, 8), 2);
	h.p->destroy(r);
}

Test(plugin, destroy_and_config_free_accept_null)
{
	h.p->destroy(NULL);
	h.p->config_free(NULL);
	cr_assert_eq(h.p->shutdown(NULL, 0), -EINVAL);
	cr_assert_eq(h.p->start(NULL), -EINVAL);
}

/* This test binary is built with AddressSanitizer: LeakSanitizer finds
 * every block no pointer reaches any more, the plugin's included (it is
 * loaded into this process and allocates through the same malloc). */
static void assert_nothing_leaked(const char *when)
{
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
		     "LeakSanitizer found leaks %s (its report is above)",
		     when);
}

Test(plugin, destroy_without_shutdown_frees_a_created_receiver)
{
	static const struct th_kv kv[] = {
		{ "filter.include_comm", "^a" },
		{ "filter.exclude_comm", "^b" },
		{ "filter.include_pid", "1" },
		{ "service_name", "svc" },
		{ NULL, NULL },
	};
	struct tgprof_config *cfg;

	assert_nothing_leaked("before the test");
	cfg = th_config(&h, kv);
	h.p->destroy(th_create(&h, cfg));
	h.p->config_free(cfg);
	assert_nothing_leaked("after destroy() and config_free()");
}

Test(plugin, shutdown_then_destroy_frees_everything)
{
	struct tgprof_config *cfg;
	struct tgprof_receiver *r;

	assert_nothing_leaked("before the test");
	cfg = th_config(&h, NULL);
	r = th_create(&h, cfg);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	h.p->destroy(r);
	h.p->config_free(cfg);
	assert_nothing_leaked("after shutdown() and destroy()");
}

/* A host built against a later minor: its struct is longer, with fields
 * this plugin does not know. */
struct newer_host {
	struct tgprof_host base;
	void (*future_callback)(void *ctx);
	uint64_t future_flags;
};

Test(plugin, host_of_a_newer_minor_is_accepted)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct newer_host nh;
	struct tgprof_receiver *r;

	memset(&nh, 0, sizeof(nh));
	nh.base = h.host;
	nh.base.sz = sizeof(nh);
	nh.base.abi_minor = TGPROF_ABI_MINOR + 1;
	r = h.p->create(cfg, &nh.base);
	cr_assert_not_null(r, "create: %s", strerror(errno));
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	h.p->destroy(r);
	h.p->config_free(cfg);
}

Test(plugin, host_of_another_major_or_too_small_is_refused)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_host bad;

	bad = h.host;
	bad.abi_major = TGPROF_ABI_MAJOR + 1;
	errno = 0;
	cr_assert_null(h.p->create(cfg, &bad));
	cr_assert_eq(errno, ENOTSUP);

	bad = h.host;
	bad.sz = offsetof(struct tgprof_host, consume_profiles);
	errno = 0;
	cr_assert_null(h.p->create(cfg, &bad));
	cr_assert_eq(errno, EINVAL);

	bad = h.host;
	bad.consume_profiles = NULL;
	errno = 0;
	cr_assert_null(h.p->create(cfg, &bad));
	cr_assert_eq(errno, EINVAL);

	bad = h.host;
	bad.log = NULL;
	errno = 0;
	cr_assert_null(h.p->create(cfg, &bad));
	cr_assert_eq(errno, EINVAL);

	errno = 0;
	cr_assert_null(h.p->create(cfg, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(h.p->create(NULL, &h.host));
	cr_assert_eq(errno, EINVAL);
	h.p->config_free(cfg);
}

Test(plugin, stats_fill_what_fits_in_the_callers_size)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_receiver *r = th_create(&h, cfg);
	struct {
		struct tgprof_receiver_stats base;
		uint64_t future[4];
	} big;
	struct tgprof_receiver_stats small;
	size_t old_sz = offsetof(struct tgprof_receiver_stats, samples_lost);

	/* A newer host: what the plugin does not know reads as zero. */
	memset(&big, 0xff, sizeof(big));
	big.base.sz = sizeof(big);
	cr_assert_eq(h.p->stats(r, &big.base), 0);
	cr_assert_eq(big.base.sz, sizeof(big));
	cr_assert_eq(big.base.samples, 0);
	cr_assert_eq(big.base.request_bytes, 0);
	cr_assert_eq(big.future[0], 0);
	cr_assert_eq(big.future[3], 0);

	/* An older one: nothing written past its size. */
	memset(&small, 0xff, sizeof(small));
	small.sz = old_sz;
	cr_assert_eq(h.p->stats(r, &small), 0);
	cr_assert_eq(small.sz, old_sz);
	cr_assert_eq(small.samples, 0);
	cr_assert_eq(small.samples_lost, UINT64_MAX);

	small.sz = 0;
	cr_assert_eq(h.p->stats(r, &small), -EINVAL);
	cr_assert_eq(h.p->stats(r, NULL), -EINVAL);
	h.p->destroy(r);
	h.p->config_free(cfg);
}

/* ---- config ---- */

static int set(struct tgprof_config *cfg, const char *key, const char *value,
	       char *err, size_t len)
{
	err[0] = '\0';
	return h.p->config_set(cfg, key, value, err, len);
}

Test(plugin, config_set_reports_each_kind_of_error)
{
	struct tgprof_config *cfg = h.p->config_new();
	char err[512];

	cr_assert_not_null(cfg);
	cr_assert_eq(set(cfg, "sampling_frequency_hz", "99", err, sizeof(err)),
		     0);
	cr_assert_eq(set(cfg, "no_such_key", "1", err, sizeof(err)), -ENOENT);
	cr_assert_str_eq(err, "unknown key");
	cr_assert_eq(set(cfg, "sampling_frequency_hz", "fast", err,
			 sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "expected an integer in 1..10000, got \"fast\"");
	cr_assert_eq(set(cfg, "sampling_frequency_hz", "0", err, sizeof(err)),
		     -ERANGE);
	cr_assert_str_eq(err, "expected an integer in 1..10000, got \"0\"");
	cr_assert_eq(set(cfg, "report_interval", "1ms", err, sizeof(err)),
		     -ERANGE);
	cr_assert_str_eq(
		err,
		"expected a duration in 100ms..1h (like 250ms, 5s, 2m), got \"1ms\"");
	cr_assert_eq(set(cfg, "kernel_stacks", "yes", err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "expected true or false, got \"yes\"");
	cr_assert_eq(set(cfg, "filter.include_pid", "abc", err, sizeof(err)),
		     -EINVAL);
	cr_assert_str_eq(err, "expected an integer in 1..4194304, got \"abc\"");
	cr_assert_eq(set(cfg, "queue_size", "0", err, sizeof(err)), -ERANGE);
	/* A message is cut to the caller's buffer, never past it. */
	memset(err, 'x', sizeof(err));
	cr_assert_eq(set(cfg, "kernel_stacks", "yes", err, 8), -EINVAL);
	cr_assert_eq(strlen(err), 7);
	cr_assert_eq(err[8], 'x');
	/* Errors leave the config as it was: still valid. */
	cr_assert_eq(h.p->config_validate(cfg, NULL, NULL), 0);
	h.p->config_free(cfg);
}

struct problems {
	char keys[16][96];
	char text[16][512];
	size_t n;
};

static void collect(void *ctx, const char *key, const char *problem)
{
	struct problems *p = ctx;

	if (p->n < 16) {
		snprintf(p->keys[p->n], sizeof(p->keys[0]), "%s", key);
		snprintf(p->text[p->n], sizeof(p->text[0]), "%s", problem);
	}
	p->n++;
}

static const char *problem_of(const struct problems *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n && i < 16; i++)
		if (!strcmp(p->keys[i], key))
			return p->text[i];
	cr_assert_fail("no problem reported for %s", key);
	return NULL;
}

Test(plugin, config_validate_reports_every_problem_at_once)
{
	static const struct th_kv kv[] = {
		{ "filter.exclude_comm", "([" },
		{ "filter.include_container", "xyz" },
		{ "filter.exclude_cgroup", "relative" },
		{ "filter.include_pid", "12" },
		{ "filter.exclude_pid", "12" },
		{ "consumer_retry.initial_interval", "1m" },
		{ NULL, NULL },
	};
	struct tgprof_config *cfg = th_config(&h, kv);
	struct problems p = { 0 };

	cr_assert_eq(h.p->config_validate(cfg, collect, &p), 5);
	cr_assert_eq(p.n, 5);
	cr_assert(strstr(
		problem_of(&p, "filter.exclude_comm[0]"),
		"expected a POSIX extended regular expression, got \"([\""));
	cr_assert_str_eq(
		problem_of(&p, "filter.include_container[0]"),
		"expected a container id of 12 to 64 lowercase hex digits, got \"xyz\"");
	cr_assert_str_eq(
		problem_of(&p, "filter.exclude_cgroup[0]"),
		"expected a cgroup v2 path starting with / (like /system.slice/cron.service), got \"relative\"");
	cr_assert_str_eq(
		problem_of(&p, "filter.exclude_pid[0]"),
		"PID 12 is both included and excluded (also in filter.include_pid)");
	cr_assert_str_eq(
		problem_of(&p, "consumer_retry.initial_interval"),
		"expected at most consumer_retry.max_interval (30s), got 1m");
	/* Without a callback it still counts. */
	cr_assert_eq(h.p->config_validate(cfg, NULL, NULL), 5);

	/* create() takes no config that validate refuses, and says why
	 * through the host's log. */
	errno = 0;
	cr_assert_null(h.p->create(cfg, &h.host));
	cr_assert_eq(errno, EINVAL);
	cr_assert(th_log_has(
		&h,
		"error: receivers.tgprof.filter.exclude_pid[0]: PID 12 is both included and excluded"));
	h.p->config_free(cfg);
}

Test(plugin, default_config_is_valid_and_lists_append)
{
	static const struct th_kv kv[] = {
		{ "filter.exclude_comm", "^a$" },
		{ "filter.exclude_comm", "^b$" },
		{ "filter.include_comm", "x" },
		{ "filter.include_comm", "^b$" },
		{ NULL, NULL },
	};
	struct tgprof_config *cfg = h.p->config_new();
	struct problems p = { 0 };

	cr_assert_eq(h.p->config_validate(cfg, collect, &p), 0);
	h.p->config_free(cfg);

	/* The second exclude_comm appended: it collides with an include. */
	cfg = th_config(&h, kv);
	cr_assert_eq(h.p->config_validate(cfg, collect, &p), 1);
	cr_assert(strstr(problem_of(&p, "filter.exclude_comm[1]"),
			 "\"^b$\" is both included and excluded"));
	h.p->config_free(cfg);
}

/* ---- start without privilege ---- */

/* Every capability gone from this process (each Criterion test is a
 * process of its own): as a user without CAP_BPF would run. */
static void drop_all_capabilities(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	cr_assert_eq(syscall(SYS_capset, &hdr, data), 0, "capset: %s",
		     strerror(errno));
}

Test(plugin, start_without_cap_bpf_fails_fast_with_the_reason)
{
	struct tgprof_config *cfg = th_config(&h, NULL);
	struct tgprof_receiver *r = th_create(&h, cfg);
	struct tgprof_receiver_stats s;
	enum tgprof_status st[8];
	uint64_t t0, took;
	int saved[2], fd, err;
	long printed;

	drop_all_capabilities();
	fd = th_stdio_capture(saved);
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = h.p->start(r);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	printed = th_stdio_restore(fd, saved);

	cr_assert_eq(err, -EPERM, "start: %s", strerror(-err));
	cr_assert_lt(took, NSEC_PER_SEC, "took %llu ms",
		     (unsigned long long)(took / NSEC_PER_MSEC));
	cr_assert(
		th_log_has(&h,
			   "error: missing privilege: CAP_BPF and CAP_PERFMON"),
		"log:\n%s", h.log ? h.log : "");
	cr_assert_eq(th_statuses(&h, st, 8), 2);
	cr_assert_eq(st[0], TGPROF_STATUS_STARTING);
	cr_assert_eq(st[1], TGPROF_STATUS_PERMANENT_ERROR);
	cr_assert(strstr(h.status_msg[1], "CAP_BPF"), "%s", h.status_msg[1]);
	/* The plugin never prints: everything went through the host. */
	cr_assert_eq(printed, 0, "the plugin printed %ld bytes", printed);

	th_stats(&h, r, &s);
	cr_assert_eq(s.samples, 0);
	cr_assert_eq(h.p->shutdown(r, 0), 0);
	h.p->destroy(r);
	h.p->config_free(cfg);
}
