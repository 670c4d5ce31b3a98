// SPDX-License-Identifier: Apache-2.0
/* The receiver plugin's configuration: the keys of `receivers: tgprof:`,
 * their defaults, where each lands in struct plugin_config, and the checks
 * that need more than one key or more than a type. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/plugin/config.h"

struct reports {
	char text[32][CONFIGMAP_ERR_MAX + 64];
	size_t n;
};

static void collect(void *ctx, const char *key, const char *problem)
{
	struct reports *r = ctx;

	if (r->n < 32)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s: %s", key,
			 problem);
}

static void set_ok(struct tgprof_config *cfg, const char *key,
		   const char *value)
{
	char err[CONFIGMAP_ERR_MAX] = "";

	cr_assert_eq(plugin_config__set(cfg, key, value, err, sizeof(err)), 0,
		     "%s=%s: %s", key, value, err);
}

static void set_fails(struct tgprof_config *cfg, const char *key,
		      const char *value, int want, const char *msg)
{
	char err[CONFIGMAP_ERR_MAX] = "";

	cr_assert_eq(plugin_config__set(cfg, key, value, err, sizeof(err)),
		     want, "%s=%s: %s", key, value, err);
	cr_assert_str_eq(err, msg);
}

/* Validates @cfg and expects exactly the @n problems of @want. */
static void expect_problems(const struct tgprof_config *cfg,
			    const char *const *want, size_t n)
{
	struct reports r = { 0 };
	size_t i, got = plugin_config__validate(cfg, collect, &r);

	for (i = 0; i < r.n && i < n; i++)
		cr_expect_str_eq(r.text[i], want[i]);
	cr_assert_eq(got, n, "%zu problems, first: %s", got,
		     r.n ? r.text[0] : "none");
}

Test(plugin_config, defaults_are_the_documented_ones)
{
	struct tgprof_config *cfg = plugin_config__new();
	const struct plugin_config *pc = plugin_config__get(cfg);

	cr_assert_not_null(cfg);
	cr_assert_eq(pc->rcv.freq_hz, 19);
	cr_assert_eq(pc->report_interval_ns, 5000000000ULL);
	cr_assert(pc->rcv.kernel_stacks);
	cr_assert(!pc->rcv.include_idle);
	cr_assert_str_eq(pc->service_name, "");
	cr_assert_str_eq(pc->host_name, "");
	cr_assert_str_eq(pc->rcv.proc_root, "/proc");
	cr_assert_eq(pc->rcv.ringbuf_bytes, 0);
	cr_assert_eq(pc->rcv.max_processes, 16384);
	cr_assert_eq(pc->rcv.max_symbol_files, 512);
	cr_assert_eq(pc->rcv.sweep_interval_ns, 10000000000ULL);
	cr_assert_eq(pc->rcv.maps_reread_interval_ns, 250000000ULL);
	cr_assert_eq(pc->rcv.exit_grace_ns, 2000000000ULL);
	cr_assert_eq(pc->queue_size, 10);
	cr_assert_eq(pc->consumer_retry.initial_interval_ns, 1000000000ULL);
	cr_assert_eq(pc->consumer_retry.max_interval_ns, 30000000000ULL);
	cr_assert_eq(pc->consumer_retry.max_elapsed_ns, 300000000000ULL);
	cr_assert_eq(pc->filter.include_pid.n, 0);
	cr_assert_eq(pc->filter.exclude_cgroup.n, 0);
	cr_assert_str_eq(pc->unwinder, "eh_frame");
	cr_assert_eq(pc->rcv.unwind_table_bytes, 32u << 20);
	cr_assert_eq(pc->rcv.stack_copy_bytes, 16u << 10);
	/* What is not a key keeps the receiver's own default. */
	cr_assert_str_eq(pc->rcv.kallsyms_path, "/proc/kallsyms");
	expect_problems(cfg, NULL, 0);
	plugin_config__free(cfg);
}

Test(plugin_config, the_defaults_agree_with_the_receiver_core)
{
	struct tgprof_config *cfg = plugin_config__new();
	const struct plugin_config *pc = plugin_config__get(cfg);
	struct receiver_config core;

	receiver_config__defaults(&core);
	/* The frequency has one default, the key table's: the core has
	 * none (receiver__new() refuses 0). */
	cr_assert_eq(core.freq_hz, 0);
	cr_assert_eq(pc->rcv.freq_hz, 19);
	cr_assert_eq(pc->rcv.kernel_stacks, core.kernel_stacks);
	cr_assert_eq(pc->rcv.include_idle, core.include_idle);
	cr_assert_eq(pc->rcv.ringbuf_bytes, core.ringbuf_bytes);
	cr_assert_eq(pc->rcv.sweep_interval_ns, core.sweep_interval_ns);
	cr_assert_eq(pc->rcv.maps_reread_interval_ns,
		     core.maps_reread_interval_ns);
	cr_assert_eq(pc->rcv.exit_grace_ns, core.exit_grace_ns);
	cr_assert_eq(pc->rcv.max_processes, core.max_processes);
	cr_assert_eq(pc->rcv.max_symbol_files, core.max_symbol_files);
	cr_assert_str_eq(pc->rcv.proc_root, core.proc_root);
	cr_assert_eq(core.unwinder, RECEIVER_UNWIND_TABLES);
	cr_assert_eq(pc->rcv.unwind_table_bytes, core.unwind_table_bytes);
	cr_assert_eq(pc->rcv.stack_copy_bytes, core.stack_copy_bytes);
	plugin_config__free(cfg);
}

Test(plugin_config, every_key_lands_in_its_member)
{
	struct tgprof_config *cfg = plugin_config__new();
	const struct plugin_config *pc = plugin_config__get(cfg);

	set_ok(cfg, "sampling_frequency_hz", "99");
	set_ok(cfg, "report_interval", "10s");
	set_ok(cfg, "kernel_stacks", "false");
	set_ok(cfg, "include_idle", "true");
	set_ok(cfg, "service_name", "checkout");
	set_ok(cfg, "host_name", "node-1");
	set_ok(cfg, "proc_root", "/host/proc");
	set_ok(cfg, "ring_buffer_size", "8MiB");
	set_ok(cfg, "max_processes", "1048576");
	set_ok(cfg, "symbol_cache_files", "65536");
	set_ok(cfg, "sweep_interval", "0");
	set_ok(cfg, "maps_reread_interval", "1s");
	set_ok(cfg, "exit_grace", "500ms");
	set_ok(cfg, "unwinder", "frame_pointer");
	set_ok(cfg, "unwind_table_memory", "256MiB");
	set_ok(cfg, "stack_copy_size", "8KiB");
	set_ok(cfg, "queue_size", "1000");
	set_ok(cfg, "consumer_retry.initial_interval", "2s");
	set_ok(cfg, "consumer_retry.max_interval", "1m");
	set_ok(cfg, "consumer_retry.max_elapsed_time", "0");
	set_ok(cfg, "filter.include_pid", "42");
	set_ok(cfg, "filter.exclude_pid", "1");
	set_ok(cfg, "filter.include_comm", "^java$");
	set_ok(cfg, "filter.exclude_comm", "kworker/.*");
	set_ok(cfg, "filter.include_container", "0123456789ab");
	set_ok(cfg, "filter.exclude_container",
	       "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
	set_ok(cfg, "filter.include_cgroup", "/kubepods.slice");
	set_ok(cfg, "filter.exclude_cgroup", "/system.slice/cron.service");

	cr_assert_eq(pc->rcv.freq_hz, 99);
	cr_assert_eq(pc->report_interval_ns, 10000000000ULL);
	cr_assert(!pc->rcv.kernel_stacks);
	cr_assert(pc->rcv.include_idle);
	cr_assert_str_eq(pc->service_name, "checkout");
	cr_assert_str_eq(pc->host_name, "node-1");
	cr_assert_str_eq(pc->rcv.proc_root, "/host/proc");
	cr_assert_eq(pc->rcv.ringbuf_bytes, 8u << 20);
	cr_assert_eq(pc->rcv.max_processes, 1048576);
	cr_assert_eq(pc->rcv.max_symbol_files, 65536);
	cr_assert_eq(pc->rcv.sweep_interval_ns, 0);
	cr_assert_eq(pc->rcv.maps_reread_interval_ns, 1000000000ULL);
	cr_assert_eq(pc->rcv.exit_grace_ns, 500000000ULL);
	cr_assert_str_eq(pc->unwinder, "frame_pointer");
	cr_assert_eq(pc->rcv.unwind_table_bytes, 256u << 20);
	cr_assert_eq(pc->rcv.stack_copy_bytes, 8u << 10);
	cr_assert_eq(pc->queue_size, 1000);
	cr_assert_eq(pc->consumer_retry.initial_interval_ns, 2000000000ULL);
	cr_assert_eq(pc->consumer_retry.max_interval_ns, 60000000000ULL);
	cr_assert_eq(pc->consumer_retry.max_elapsed_ns, 0);
	cr_assert_eq(pc->filter.include_pid.items[0], 42);
	cr_assert_eq(pc->filter.exclude_pid.items[0], 1);
	cr_assert_str_eq(pc->filter.include_comm.items[0], "^java$");
	cr_assert_str_eq(pc->filter.exclude_comm.items[0], "kworker/.*");
	cr_assert_str_eq(pc->filter.include_container.items[0], "0123456789ab");
	cr_assert_str_eq(pc->filter.include_cgroup.items[0], "/kubepods.slice");
	cr_assert_str_eq(pc->filter.exclude_cgroup.items[0],
			 "/system.slice/cron.service");
	expect_problems(cfg, NULL, 0);
	plugin_config__free(cfg);
}

Test(plugin_config, bounds_come_from_the_table)
{
	struct tgprof_config *cfg = plugin_config__new();

	set_fails(cfg, "sampling_frequency_hz", "0", -ERANGE,
		  "expected an integer in 1..10000, got \"0\"");
	set_fails(cfg, "sampling_frequency_hz", "10001", -ERANGE,
		  "expected an integer in 1..10000, got \"10001\"");
	set_fails(
		cfg, "report_interval", "2h", -ERANGE,
		"expected a duration in 100ms..1h (like 250ms, 5s, 2m), got \"2h\"");
	set_fails(
		cfg, "ring_buffer_size", "2GiB", -ERANGE,
		"expected a size in 0..1GiB (like 512KiB, 8MiB), got \"2GiB\"");
	set_fails(cfg, "max_processes", "15", -ERANGE,
		  "expected an integer in 16..1048576, got \"15\"");
	set_fails(cfg, "symbol_cache_files", "65537", -ERANGE,
		  "expected an integer in 1..65536, got \"65537\"");
	set_fails(cfg, "unwinder", "dwarf", -EINVAL,
		  "expected one of eh_frame, frame_pointer, got \"dwarf\"");
	set_fails(
		cfg, "stack_copy_size", "32KiB", -ERANGE,
		"expected a size in 0..16KiB (like 512KiB, 8MiB), got \"32KiB\"");
	set_fails(cfg, "queue_size", "1001", -ERANGE,
		  "expected an integer in 1..1000, got \"1001\"");
	set_fails(cfg, "filter.include_pid", "4194305", -ERANGE,
		  "expected an integer in 1..4194304, got \"4194305\"");
	set_fails(
		cfg, "filter.include_container",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		-ERANGE, "expected at most 64 bytes, got 65");
	set_fails(cfg, "filter.include_pids", "1", -ENOENT,
		  "unknown key (did you mean filter.include_pid?)");
	plugin_config__free(cfg);
}

Test(plugin_config, filter_lists_are_bounded)
{
	struct tgprof_config *cfg = plugin_config__new();
	char pid[16];
	int i;

	for (i = 1; i <= PLUGIN_FILTER_PIDS_MAX; i++) {
		snprintf(pid, sizeof(pid), "%d", i);
		set_ok(cfg, "filter.exclude_pid", pid);
	}
	set_fails(cfg, "filter.exclude_pid", "5000", -ERANGE,
		  "expected at most 1024 elements");
	cr_assert_eq(plugin_config__get(cfg)->filter.exclude_pid.n,
		     PLUGIN_FILTER_PIDS_MAX);
	plugin_config__free(cfg);
}

Test(plugin_config, a_list_first_set_replaces_then_appends)
{
	struct tgprof_config *cfg = plugin_config__new();
	const struct plugin_filter *f = &plugin_config__get(cfg)->filter;

	set_ok(cfg, "filter.include_comm", "a");
	set_ok(cfg, "filter.include_comm", "b");
	cr_assert_eq(f->include_comm.n, 2);
	cr_assert_str_eq(f->include_comm.items[1], "b");
	/* NULL: the host read an empty YAML list. */
	set_ok(cfg, "filter.include_comm", NULL);
	cr_assert_eq(f->include_comm.n, 0);
	plugin_config__free(cfg);
}

Test(plugin_config, sample_attributes_default_to_thread_name_and_are_checked)
{
	struct tgprof_config *cfg = plugin_config__new();
	const struct configmap_str_list *l =
		&plugin_config__get(cfg)->sample_attributes;
	const char *want[] = {
		"sample_attributes[2]: \"thread.id\" is listed twice (also sample_attributes[0])",
	};
	char err[CONFIGMAP_ERR_MAX] = "";

	/* Few Pyroscope series by default: no thread id, no CPU. */
	cr_assert_eq(l->n, 1);
	cr_assert_str_eq(l->items[0], "thread.name");
	set_ok(cfg, "sample_attributes", "thread.id");
	set_ok(cfg, "sample_attributes", "cpu.logical_number");
	cr_assert_eq(l->n, 2);
	expect_problems(cfg, NULL, 0);
	/* An unknown name says which ones there are. */
	cr_assert_eq(plugin_config__set(cfg, "sample_attributes", "thread_id",
					err, sizeof(err)),
		     -EINVAL);
	cr_assert(strstr(err, "thread.id, thread.name, cpu.logical_number"),
		  "%s", err);
	cr_assert(strstr(err, "\"thread_id\""), "%s", err);
	cr_assert_eq(l->n, 2);
	set_ok(cfg, "sample_attributes", "thread.id");
	expect_problems(cfg, want, 1);
	/* An empty list: no sample attribute at all. */
	set_ok(cfg, "sample_attributes", NULL);
	cr_assert_eq(l->n, 0);
	expect_problems(cfg, NULL, 0);
	plugin_config__free(cfg);
}

Test(plugin_config, the_ring_buffer_is_automatic_or_a_power_of_two)
{
	static const char *const want[] = {
		"ring_buffer_size: expected 0 (automatic) or a power of two from 4KiB to 1GiB, got 5000",
	};
	static const char *const want_small[] = {
		"ring_buffer_size: expected 0 (automatic) or a power of two from 4KiB to 1GiB, got 2KiB",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "ring_buffer_size", "4KiB");
	expect_problems(cfg, NULL, 0);
	set_ok(cfg, "ring_buffer_size", "1GiB");
	expect_problems(cfg, NULL, 0);
	set_ok(cfg, "ring_buffer_size", "5000");
	expect_problems(cfg, want, 1);
	set_ok(cfg, "ring_buffer_size", "2048");
	expect_problems(cfg, want_small, 1);
	plugin_config__free(cfg);
}

Test(plugin_config, comm_filters_must_compile_as_extended_regexes)
{
	static const char *const want[] = {
		"filter.include_comm[1]: expected a POSIX extended regular expression, got \"[a-\" (Unmatched [, [^, [:, [., or [=)",
		"filter.exclude_comm[0]: expected a POSIX extended regular expression, got \"(x\" (Unmatched ( or \\()",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "filter.include_comm", "^(java|python)[0-9.]*$");
	set_ok(cfg, "filter.include_comm", "[a-");
	set_ok(cfg, "filter.exclude_comm", "(x");
	expect_problems(cfg, want, 2);
	plugin_config__free(cfg);
}

Test(plugin_config, container_ids_are_12_to_64_lowercase_hex)
{
	static const char *const want[] = {
		"filter.include_container[0]: expected a container id of 12 to 64 lowercase hex digits, got \"0123456789a\"",
		"filter.include_container[1]: expected a container id of 12 to 64 lowercase hex digits, got \"0123456789AB\"",
		"filter.exclude_container[0]: expected a container id of 12 to 64 lowercase hex digits, got \"docker://0123456789ab\"",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "filter.include_container", "0123456789a");
	set_ok(cfg, "filter.include_container", "0123456789AB");
	set_ok(cfg, "filter.include_container", "0123456789ab");
	set_ok(cfg, "filter.exclude_container", "docker://0123456789ab");
	expect_problems(cfg, want, 3);
	plugin_config__free(cfg);
}

Test(plugin_config, cgroups_are_absolute_v2_paths)
{
	static const char *const want[] = {
		"filter.include_cgroup[0]: expected a cgroup v2 path starting with / (like /system.slice/cron.service), got \"kubepods.slice\"",
		"filter.include_cgroup[1]: expected a cgroup v2 path starting with / (like /system.slice/cron.service), got \"/a//b\"",
		"filter.exclude_cgroup[0]: expected a cgroup v2 path starting with / (like /system.slice/cron.service), got \"/a/../b\"",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "filter.include_cgroup", "kubepods.slice");
	set_ok(cfg, "filter.include_cgroup", "/a//b");
	set_ok(cfg, "filter.include_cgroup", "/");
	set_ok(cfg, "filter.include_cgroup", "/kubepods.slice/pod1");
	set_ok(cfg, "filter.exclude_cgroup", "/a/../b");
	expect_problems(cfg, want, 3);
	plugin_config__free(cfg);
}

Test(plugin_config, one_process_cannot_be_both_included_and_excluded)
{
	static const char *const want[] = {
		"filter.exclude_pid[1]: PID 42 is both included and excluded (also in filter.include_pid)",
		"filter.exclude_comm[0]: \"^java$\" is both included and excluded (also in filter.include_comm)",
		"filter.exclude_container[0]: \"0123456789abcdef\" is both included and excluded (also in filter.include_container)",
		"filter.exclude_cgroup[0]: \"/kubepods.slice\" is both included and excluded (also in filter.include_cgroup)",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "filter.include_pid", "41");
	set_ok(cfg, "filter.include_pid", "42");
	set_ok(cfg, "filter.exclude_pid", "7");
	set_ok(cfg, "filter.exclude_pid", "42");
	set_ok(cfg, "filter.include_comm", "^java$");
	set_ok(cfg, "filter.exclude_comm", "^java$");
	/* A short id names the container its long id starts with. */
	set_ok(cfg, "filter.include_container", "0123456789ab");
	set_ok(cfg, "filter.exclude_container", "0123456789abcdef");
	set_ok(cfg, "filter.include_cgroup", "/kubepods.slice");
	set_ok(cfg, "filter.exclude_cgroup", "/kubepods.slice");
	/* A subtree excluded from an included tree is fine. */
	set_ok(cfg, "filter.exclude_cgroup", "/kubepods.slice/besteffort");
	expect_problems(cfg, want, 4);
	plugin_config__free(cfg);
}

Test(plugin_config, retry_intervals_must_be_in_order)
{
	static const char *const want[] = {
		"consumer_retry.initial_interval: expected at most consumer_retry.max_interval (10s), got 1m",
		"consumer_retry.max_elapsed_time: expected 0 (no limit) or at least consumer_retry.max_interval (10s), got 5s",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "consumer_retry.initial_interval", "1m");
	set_ok(cfg, "consumer_retry.max_interval", "10s");
	set_ok(cfg, "consumer_retry.max_elapsed_time", "5s");
	expect_problems(cfg, want, 2);
	set_ok(cfg, "consumer_retry.max_elapsed_time", "0");
	set_ok(cfg, "consumer_retry.initial_interval", "10s");
	expect_problems(cfg, NULL, 0);
	plugin_config__free(cfg);
}

Test(plugin_config, proc_root_is_an_absolute_path)
{
	static const char *const want[] = {
		"proc_root: expected an absolute path, got \"host/proc\"",
	};
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "proc_root", "host/proc");
	expect_problems(cfg, want, 1);
	plugin_config__free(cfg);
}

Test(plugin_config, a_copy_lives_on_its_own)
{
	struct tgprof_config *cfg = plugin_config__new(), *dup;

	set_ok(cfg, "proc_root", "/host/proc");
	set_ok(cfg, "filter.include_comm", "java");
	dup = plugin_config__dup(cfg);
	cr_assert_not_null(dup);
	plugin_config__free(cfg);
	cr_assert_str_eq(plugin_config__get(dup)->rcv.proc_root, "/host/proc");
	cr_assert_str_eq(plugin_config__get(dup)->filter.include_comm.items[0],
			 "java");
	plugin_config__free(dup);
	plugin_config__free(NULL);
}

Test(plugin_config, validation_without_a_callback_still_counts)
{
	struct tgprof_config *cfg = plugin_config__new();

	set_ok(cfg, "ring_buffer_size", "5000");
	cr_assert_eq(plugin_config__validate(cfg, NULL, NULL), 1);
	cr_assert_eq(plugin_config__validate(NULL, NULL, NULL), 1);
	plugin_config__free(cfg);
}

Test(plugin_config, the_key_table_checks_clean)
{
	struct reports r = { 0 };
	size_t i;

	cr_assert_eq(configmap__check(plugin_config__map(), collect, &r), 0,
		     "%s", r.text[0]);
	cr_assert_eq(plugin_config_nkeys, PLUGIN_CONFIG_NKEYS);
	for (i = 0; i < plugin_config_nkeys; i++)
		cr_assert_eq(plugin_config_keys[i].flags &
				     TGPROF_CONFIG_REQUIRED,
			     0, "%s", plugin_config_keys[i].name);
}
