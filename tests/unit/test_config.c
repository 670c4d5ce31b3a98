// SPDX-License-Identifier: Apache-2.0
/* The host's YAML configuration: what `tgprof validate` and `tgprof run`
 * read. Each class of bad input gets its exact message, with the file
 * position and the key path; good input fills the receiver's config
 * through a plugin descriptor and the host's exporter and service
 * structs. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/config/yamltree.h"
#include "receiver/plugin/config.h"

/* The receiver's config part, as receiver/plugin/plugin.c will describe it. */
static const struct tgprof_plugin *receiver_plugin(void)
{
	static const struct tgprof_plugin d = {
		.sz = sizeof(struct tgprof_plugin),
		.abi_major = TGPROF_ABI_MAJOR,
		.abi_minor = TGPROF_ABI_MINOR,
		.name = "tgprof",
		.version = "test",
		.stability = TGPROF_STABILITY_DEVELOPMENT,
		.config_keys = plugin_config_keys,
		.config_nkeys = PLUGIN_CONFIG_NKEYS,
		.config_new = plugin_config__new,
		.config_set = plugin_config__set,
		.config_validate = plugin_config__validate,
		.config_free = plugin_config__free,
	};

	return &d;
}

static struct config_problems problems;

static void release_problems(void)
{
	config_problems__release(&problems);
}

TestSuite(config, .fini = release_problems);

static int load(const char *yaml, struct config **ret)
{
	const struct tgprof_plugin *plugins[] = { receiver_plugin() };

	config_problems__release(&problems);
	return config__load_buffer("t.yaml", yaml, strlen(yaml), plugins, 1,
				   ret, &problems);
}

static struct config *load_ok(const char *yaml)
{
	struct config *cfg = NULL;
	int err = load(yaml, &cfg);

	cr_assert_eq(err, 0, "%d: %s", err,
		     problems.n ? problems.items[0].text : "no problem");
	cr_assert_not_null(cfg);
	return cfg;
}

/* Loading @yaml fails with exactly the @n problems of @want, in order. */
static void expect_problems(const char *yaml, const char *const *want, size_t n)
{
	struct config *cfg = NULL;
	size_t i;

	cr_assert_eq(load(yaml, &cfg), -EINVAL);
	cr_assert_null(cfg);
	for (i = 0; i < problems.n && i < n; i++)
		cr_expect_str_eq(problems.items[i].text, want[i]);
	cr_assert_eq(problems.n, n, "%zu problems; last: %s", problems.n,
		     problems.n ? problems.items[problems.n - 1].text : "");
}

#define EXPECT_PROBLEMS(yaml, ...)                                  \
	do {                                                        \
		static const char *const want_[] = { __VA_ARGS__ }; \
		expect_problems((yaml), want_,                      \
				sizeof(want_) / sizeof(want_[0]));  \
	} while (0)

/* A valid file around a receivers.tgprof body. */
#define WITH_RECEIVER(body)               \
	"receivers:\n"                    \
	"  tgprof:\n" body "exporters:\n" \
	"  file:\n"                       \
	"    directory: /tmp/out\n"       \
	"service:\n"                      \
	"  pipelines:\n"                  \
	"    profiles:\n"                 \
	"      receivers: [tgprof]\n"     \
	"      exporters: [file]\n"

static const struct plugin_config *receiver_of(const struct config *cfg,
					       const char *id)
{
	const struct config_receiver *r = config__receiver(cfg, id);

	cr_assert_not_null(r, "no receiver %s", id);
	return plugin_config__get(r->cfg);
}

static void *exporter_of(const struct config *cfg, const char *id)
{
	const struct config_exporter *e = config__exporter(cfg, id);

	cr_assert_not_null(e, "no exporter %s", id);
	return e->cfg;
}

Test(config, a_complete_file_fills_every_component)
{
	struct config *cfg =
		load_ok("receivers:\n"
			"  tgprof:\n"
			"    sampling_frequency_hz: 99\n"
			"    report_interval: 10s\n"
			"    kernel_stacks: false\n"
			"    filter:\n"
			"      include_comm: [\"^java$\", python]\n"
			"      exclude_pid: [1, 2]\n"
			"exporters:\n"
			"  otlphttp:\n"
			"    endpoint: https://collector.example:4318/prefix\n"
			"    compression: none\n"
			"    headers: { x-scope-orgid: tenant-1 }\n"
			"    tls: { ca_file: /etc/ca.pem }\n"
			"    retry_on_failure: { max_interval: 1m }\n"
			"    sending_queue: { queue_size: 7 }\n"
			"  otlphttp/backup:\n"
			"    endpoint: http://[::1]:4318\n"
			"  file:\n"
			"    directory: ./out\n"
			"    formats: [svg, folded]\n"
			"service:\n"
			"  pipelines:\n"
			"    profiles:\n"
			"      receivers: [tgprof]\n"
			"      exporters: [otlphttp, otlphttp/backup, file]\n"
			"  telemetry:\n"
			"    logs: { level: debug, encoding: json }\n"
			"    metrics: { address: \"127.0.0.1:8888\" }\n"
			"  shutdown_timeout: 20s\n");
	const struct plugin_config *rc = receiver_of(cfg, "tgprof");
	const struct otlphttp_config *o = exporter_of(cfg, "otlphttp");
	const struct otlphttp_config *b = exporter_of(cfg, "otlphttp/backup");
	const struct file_config *f = exporter_of(cfg, "file");
	const struct service_config *s = cfg->service;

	cr_assert_eq(cfg->nreceivers, 1);
	cr_assert_eq(cfg->nexporters, 3);
	cr_assert_eq(rc->rcv.freq_hz, 99);
	cr_assert_eq(rc->report_interval_ns, 10000000000ULL);
	cr_assert(!rc->rcv.kernel_stacks);
	cr_assert_eq(rc->filter.include_comm.n, 2);
	cr_assert_str_eq(rc->filter.include_comm.items[0], "^java$");
	cr_assert_eq(rc->filter.exclude_pid.items[1], 2);
	cr_assert_str_eq(o->endpoint, "https://collector.example:4318/prefix");
	cr_assert_str_eq(o->compression, "none");
	cr_assert_str_eq(o->headers.names[0], "x-scope-orgid");
	cr_assert_str_eq(o->headers.values[0], "tenant-1");
	cr_assert_str_eq(o->tls.ca_file, "/etc/ca.pem");
	cr_assert_eq(o->retry_on_failure.max_interval_ns, 60000000000ULL);
	cr_assert_eq(o->sending_queue.queue_size, 7);
	cr_assert_str_eq(b->endpoint, "http://[::1]:4318");
	cr_assert_str_eq(b->compression, "gzip");
	cr_assert_str_eq(f->directory, "./out");
	cr_assert_eq(f->formats.n, 2);
	cr_assert_str_eq(f->formats.items[0], "svg");
	cr_assert_eq(f->max_files, 100);
	cr_assert_eq(s->exporters.n, 3);
	cr_assert_eq(service_config__log_level(s), TG_LOG_DEBUG);
	cr_assert(service_config__log_json(s));
	cr_assert_str_eq(s->metrics_address, "127.0.0.1:8888");
	cr_assert_eq(s->shutdown_timeout_ns, 20000000000ULL);
	config__free(cfg);
}

Test(config, otlphttp_settings_map_onto_the_exporter_options)
{
	struct config *cfg = load_ok(
		"exporters:\n"
		"  otlphttp:\n"
		"    endpoint: https://c:4318\n"
		"    headers: { authorization: Bearer x, x-a: b }\n"
		"    tls: { cert_file: /c.pem, key_file: /k.pem }\n"
		"    timeout: 5s\n"
		"    retry_on_failure: { enabled: false }\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles: { receivers: [tgprof], exporters: [otlphttp] }\n"
		"receivers: { tgprof: }\n");
	struct otlp_http_header h[OTLP_HTTP_MAX_HEADERS];
	struct otlp_http_opts opts;

	cr_assert_eq(otlphttp_config__opts(exporter_of(cfg, "otlphttp"), false,
					   &opts, h, OTLP_HTTP_MAX_HEADERS),
		     0);
	cr_assert_eq(opts.sz, sizeof(opts));
	cr_assert_str_eq(opts.endpoint, "https://c:4318");
	cr_assert(opts.gzip);
	cr_assert_eq(opts.nheaders, 2);
	cr_assert_str_eq(opts.headers[1].name, "x-a");
	cr_assert_str_eq(opts.headers[1].value, "b");
	cr_assert_null(opts.ca_file);
	cr_assert_str_eq(opts.cert_file, "/c.pem");
	cr_assert_str_eq(opts.key_file, "/k.pem");
	cr_assert_eq(opts.request_timeout_ns, 5000000000ULL);
	cr_assert_eq(opts.retry_initial_ns, 5000000000ULL);
	cr_assert_eq(opts.retry_max_ns, 30000000000ULL);
	/* No retries: an elapsed cap that ends them after one attempt. */
	cr_assert_eq(opts.retry_max_elapsed_ns, 1);
	cr_assert_eq(opts.queue_size, 100);
	cr_assert_eq(otlphttp_config__opts(exporter_of(cfg, "otlphttp"), false,
					   &opts, h, 1),
		     -E2BIG);
	config__free(cfg);
}

Test(config, otlp_settings_map_onto_grpc_exporter_options)
{
	struct config *cfg = load_ok(
		"exporters:\n"
		"  otlp:\n"
		"    endpoint: collector:4317\n"
		"    compression: none\n"
		"    tls: { insecure: true }\n"
		"    sending_queue: { queue_size: 7 }\n"
		"  otlphttp:\n"
		"    endpoint: http://c:4318\n"
		"    tls: { insecure_skip_verify: true }\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles: { receivers: [tgprof], exporters: [otlp] }\n"
		"receivers: { tgprof: }\n");
	struct otlp_http_header h[OTLP_HTTP_MAX_HEADERS];
	struct otlp_http_opts opts;

	cr_assert_eq(otlphttp_config__opts(exporter_of(cfg, "otlp"), true,
					   &opts, h, OTLP_HTTP_MAX_HEADERS),
		     0);
	cr_assert(opts.grpc);
	cr_assert(opts.insecure);
	cr_assert_not(opts.gzip);
	cr_assert_str_eq(opts.endpoint, "collector:4317");
	cr_assert_eq(opts.queue_size, 7);
	cr_assert_eq(otlphttp_config__opts(exporter_of(cfg, "otlphttp"), false,
					   &opts, h, OTLP_HTTP_MAX_HEADERS),
		     0);
	cr_assert_not(opts.grpc);
	cr_assert_not(opts.insecure);
	config__free(cfg);
}

Test(config, otlp_endpoint_and_grpc_headers_are_checked)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"exporters:\n"
		"  otlp:\n"
		"    endpoint: http://c:4317/v1\n"
		"    headers: { te: x, grpc-timeout: 1S, x-ok: y }\n"
		"  otlp/b:\n"
		"    endpoint: c\n"
		"  otlp/c:\n"
		"    endpoint: https://c:4317/\n"
		"  otlp/d:\n"
		"    endpoint: c:4317\n"
		"    tls: { insecure: maybe }\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [otlp] } }\n",
		"t.yaml:4:15: exporters.otlp.endpoint: expected host:port or an http:// or https:// URL without a path (like localhost:4317), got \"http://c:4317/v1\"",
		"t.yaml:5:20: exporters.otlp.headers.te: expected a header the exporter does not set itself",
		"t.yaml:5:37: exporters.otlp.headers.grpc-timeout: expected a header the exporter does not set itself",
		"t.yaml:7:15: exporters.otlp/b.endpoint: expected host:port or an http:// or https:// URL without a path (like localhost:4317), got \"c\"",
		"t.yaml:12:22: exporters.otlp/d.tls.insecure: expected true or false, got \"maybe\"");
}

Test(config, wrong_type_says_what_was_expected)
{
	EXPECT_PROBLEMS(
		WITH_RECEIVER("    sampling_frequency_hz: fast\n"
			      "    kernel_stacks: [true]\n"
			      "    filter:\n"
			      "      include_pid: 42\n"
			      "      exclude_pid: [1, { a: b }]\n"
			      "      include_comm: { a: b }\n"),
		"t.yaml:3:28: receivers.tgprof.sampling_frequency_hz: expected an integer in 1..10000, got \"fast\"",
		"t.yaml:4:20: receivers.tgprof.kernel_stacks: expected true or false, got a list",
		"t.yaml:6:20: receivers.tgprof.filter.include_pid: expected a list of integers (like [1, 2]), got \"42\"",
		"t.yaml:7:24: receivers.tgprof.filter.exclude_pid[1]: expected an integer, got a mapping",
		"t.yaml:8:21: receivers.tgprof.filter.include_comm: expected a list of strings (like [a, b]), got a mapping");
}

Test(config, out_of_bounds_names_the_bounds)
{
	EXPECT_PROBLEMS(
		WITH_RECEIVER("    sampling_frequency_hz: 0\n"
			      "    report_interval: 50ms\n"
			      "    ring_buffer_size: 2GiB\n"
			      "    queue_size: 1001\n"
			      "    filter: { include_pid: [1, 5000000] }\n"),
		"t.yaml:3:28: receivers.tgprof.sampling_frequency_hz: expected an integer in 1..10000, got \"0\"",
		"t.yaml:4:22: receivers.tgprof.report_interval: expected a duration in 100ms..1h (like 250ms, 5s, 2m), got \"50ms\"",
		"t.yaml:5:23: receivers.tgprof.ring_buffer_size: expected a size in 0..1GiB (like 512KiB, 8MiB), got \"2GiB\"",
		"t.yaml:6:17: receivers.tgprof.queue_size: expected an integer in 1..1000, got \"1001\"",
		"t.yaml:7:32: receivers.tgprof.filter.include_pid[1]: expected an integer in 1..4194304, got \"5000000\"");
}

Test(config, unknown_keys_are_errors_at_every_level)
{
	EXPECT_PROBLEMS(
		"receivers:\n"
		"  tgprof:\n"
		"    sampling_frequncy_hz: 19\n"
		"    filter: { include_pids: [1] }\n"
		"    filtr: {}\n"
		"    color: blue\n"
		"exporters:\n"
		"  file: { directory: x, compression: gzip }\n"
		"processors: {}\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles: { receivers: [tgprof], exporters: [file] }\n"
		"    traces: { receivers: [tgprof], exporters: [file] }\n",
		"t.yaml:3:5: receivers.tgprof.sampling_frequncy_hz: unknown key (did you mean sampling_frequency_hz?)",
		"t.yaml:4:15: receivers.tgprof.filter.include_pids: unknown key (did you mean filter.include_pid?)",
		"t.yaml:5:5: receivers.tgprof.filtr: unknown key (did you mean filter?)",
		"t.yaml:6:5: receivers.tgprof.color: unknown key",
		"t.yaml:8:25: exporters.file.compression: unknown key",
		"t.yaml:9:1: processors: unknown key (expected receivers, exporters or service)",
		"t.yaml:13:5: service.pipelines.traces: unknown key");
}

Test(config, missing_required_keys_point_at_their_component)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"exporters:\n"
		"  otlphttp:\n"
		"    compression: gzip\n"
		"  file: {}\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles: { receivers: [tgprof] }\n",
		"t.yaml:3:3: exporters.otlphttp.endpoint: required key is missing",
		"t.yaml:5:3: exporters.file.directory: required key is missing",
		"t.yaml:6:1: service.pipelines.profiles.exporters: required key is missing");
}

Test(config, no_service_at_all_is_two_missing_keys)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n",
		"t.yaml: service.pipelines.profiles.receivers: required key is missing",
		"t.yaml: service.pipelines.profiles.exporters: required key is missing");
}

Test(config, an_unset_environment_variable_is_named)
{
	unsetenv("TGPROF_TEST_UNSET");
	EXPECT_PROBLEMS(
		WITH_RECEIVER(
			"    service_name: \"svc-${env:TGPROF_TEST_UNSET}\"\n"),
		"t.yaml:3:19: receivers.tgprof.service_name: environment variable TGPROF_TEST_UNSET is not set");
}

Test(config, malformed_yaml_gives_line_and_column)
{
	EXPECT_PROBLEMS(
		"receivers:\n"
		"  tgprof:\n"
		"    report_interval: 5s\n"
		"   kernel_stacks: true\n",
		"t.yaml:4:4: malformed YAML: did not find expected key (while parsing a block mapping at 2:3)");
	EXPECT_PROBLEMS(
		"receivers: [tgprof\n",
		"t.yaml:2:1: malformed YAML: did not find expected ',' or ']' (while parsing a flow sequence at 1:12)");
	EXPECT_PROBLEMS(
		"receivers:\n\ttgprof: {}\n",
		"t.yaml:2:1: malformed YAML: found character that cannot start any token (while scanning for the next token)");
}

Test(config, a_pipeline_naming_an_unknown_component_is_refused)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"exporters:\n"
		"  file: { directory: x }\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles:\n"
		"      receivers: [tgprof/other]\n"
		"      exporters: [file, otlphttp/backup, file]\n",
		"t.yaml:7:19: service.pipelines.profiles.receivers[0]: \"tgprof/other\" is not a configured receiver (configured: tgprof)",
		"t.yaml:8:25: service.pipelines.profiles.exporters[1]: \"otlphttp/backup\" is not a configured exporter (configured: file)",
		"t.yaml:8:42: service.pipelines.profiles.exporters[2]: \"file\" is listed twice");
}

Test(config, empty_pipeline_lists_need_one_element)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles:\n"
		"      receivers: [tgprof]\n"
		"      exporters: []\n",
		"t.yaml:6:18: service.pipelines.profiles.exporters: expected at least 1 element");
}

Test(config, unknown_component_types_and_bad_ids)
{
	EXPECT_PROBLEMS(
		"receivers:\n"
		"  otlp: {}\n"
		"  Tgprof: {}\n"
		"  tgprof/: {}\n"
		"  tgprof/a b: {}\n"
		"exporters:\n"
		"  kafka: {}\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [otlp], exporters: [kafka] } }\n",
		"t.yaml:2:3: receivers.otlp: unknown receiver type \"otlp\" (known: tgprof)",
		"t.yaml:3:3: receivers: expected a component id type[/name] (type: lowercase letters, digits, _; name: letters, digits, _ . -), got \"Tgprof\"",
		"t.yaml:4:3: receivers: expected a component id type[/name] (type: lowercase letters, digits, _; name: letters, digits, _ . -), got \"tgprof/\"",
		"t.yaml:5:3: receivers: expected a component id type[/name] (type: lowercase letters, digits, _; name: letters, digits, _ . -), got \"tgprof/a b\"",
		"t.yaml:7:3: exporters.kafka: unknown exporter type \"kafka\" (known: otlphttp, otlp, file)",
		"t.yaml:9:40: service.pipelines.profiles.receivers[0]: \"otlp\" is not a configured receiver (configured: none)",
		"t.yaml:9:59: service.pipelines.profiles.exporters[0]: \"kafka\" is not a configured exporter (configured: none)");
}

Test(config, named_components_are_separate_instances)
{
	struct config *cfg =
		load_ok("receivers:\n"
			"  tgprof: { sampling_frequency_hz: 11 }\n"
			"  tgprof/fast: { sampling_frequency_hz: 999 }\n"
			"exporters:\n"
			"  file/a: { directory: a }\n"
			"  file/b.c-d_e: { directory: b }\n"
			"service:\n"
			"  pipelines:\n"
			"    profiles:\n"
			"      receivers: [tgprof, tgprof/fast]\n"
			"      exporters: [file/a, file/b.c-d_e]\n");

	cr_assert_eq(receiver_of(cfg, "tgprof")->rcv.freq_hz, 11);
	cr_assert_eq(receiver_of(cfg, "tgprof/fast")->rcv.freq_hz, 999);
	cr_assert_str_eq(
		((struct file_config *)exporter_of(cfg, "file/b.c-d_e"))
			->directory,
		"b");
	cr_assert_null(config__receiver(cfg, "tgprof/slow"));
	config__free(cfg);
}

Test(config, env_variables_expand_in_every_scalar)
{
	struct config *cfg;
	const struct otlphttp_config *o;

	setenv("TGPROF_TEST_TOKEN", "s3cret", 1);
	setenv("TGPROF_TEST_HZ", "49", 1);
	setenv("TGPROF_TEST_EMPTY", "", 1);
	unsetenv("TGPROF_TEST_UNSET");
	cfg = load_ok(
		"receivers:\n"
		"  tgprof:\n"
		"    sampling_frequency_hz: ${env:TGPROF_TEST_HZ}\n"
		"    service_name: \"a${env:TGPROF_TEST_EMPTY}b\"\n"
		"    host_name: ${env:TGPROF_TEST_UNSET:-fallback}\n"
		"    filter: { include_comm: [\"^${env:TGPROF_TEST_TOKEN}$\"] }\n"
		"exporters:\n"
		"  otlphttp:\n"
		"    endpoint: http://localhost:4318\n"
		"    headers:\n"
		"      authorization: \"Bearer ${env:TGPROF_TEST_TOKEN}\"\n"
		"      x-literal: \"$${env:TGPROF_TEST_TOKEN} costs $5\"\n"
		"service:\n"
		"  pipelines:\n"
		"    profiles: { receivers: [tgprof], exporters: [otlphttp] }\n");
	o = exporter_of(cfg, "otlphttp");
	cr_assert_eq(receiver_of(cfg, "tgprof")->rcv.freq_hz, 49);
	cr_assert_str_eq(receiver_of(cfg, "tgprof")->service_name, "ab");
	cr_assert_str_eq(receiver_of(cfg, "tgprof")->host_name, "fallback");
	cr_assert_str_eq(
		receiver_of(cfg, "tgprof")->filter.include_comm.items[0],
		"^s3cret$");
	cr_assert_str_eq(o->headers.values[0], "Bearer s3cret");
	cr_assert_str_eq(o->headers.values[1],
			 "${env:TGPROF_TEST_TOKEN} costs $5");
	config__free(cfg);
}

static void expect_expansion(const char *in, const char *want)
{
	char err[256] = "";
	char *out = config__expand_env(in, err, sizeof(err));

	cr_assert_not_null(out, "%s: %s", in, err);
	cr_assert_str_eq(out, want);
	free(out);
}

static void expect_expansion_error(const char *in, const char *want)
{
	char err[256] = "";

	errno = 0;
	cr_assert_null(config__expand_env(in, err, sizeof(err)), "%s", in);
	cr_assert_eq(errno, EINVAL);
	cr_assert_str_eq(err, want);
}

Test(config, env_expansion_escapes_and_errors)
{
	setenv("TGPROF_TEST_A", "x", 1);
	unsetenv("TGPROF_TEST_UNSET");
	expect_expansion("", "");
	expect_expansion("plain $ and $$ and $x {}",
			 "plain $ and $$ and $x {}");
	expect_expansion("$${env:TGPROF_TEST_A}", "${env:TGPROF_TEST_A}");
	expect_expansion("$$${env:TGPROF_TEST_A}", "$${env:TGPROF_TEST_A}");
	expect_expansion("${env:TGPROF_TEST_A}${env:TGPROF_TEST_A}", "xx");
	expect_expansion("${env:TGPROF_TEST_UNSET:-}", "");
	expect_expansion("${env:TGPROF_TEST_A:-d}", "x");
	/* A value is not expanded again. */
	setenv("TGPROF_TEST_NESTED", "${env:TGPROF_TEST_A}", 1);
	expect_expansion("${env:TGPROF_TEST_NESTED}", "${env:TGPROF_TEST_A}");

	expect_expansion_error(
		"${env:TGPROF_TEST_UNSET}",
		"environment variable TGPROF_TEST_UNSET is not set");
	expect_expansion_error(
		"${env:TGPROF_TEST_A",
		"expected ${env:NAME} closed by }, got \"${env:TGPROF_TEST_A\"");
	expect_expansion_error("a ${",
			       "expected ${env:NAME} closed by }, got \"${\"");
	expect_expansion_error(
		"${file:/etc/passwd}",
		"expected ${env:NAME} (the only provider), got \"${file:/etc/passwd}\"");
	expect_expansion_error(
		"${TGPROF_TEST_A}",
		"expected ${env:NAME} (the only provider), got \"${TGPROF_TEST_A}\"");
	expect_expansion_error(
		"${env:1A}",
		"expected ${env:NAME} with a NAME of letters, digits and _, got \"${env:1A}\"");
	expect_expansion_error(
		"${env:}",
		"expected ${env:NAME} with a NAME of letters, digits and _, got \"${env:}\"");
}

Test(config, an_expansion_is_bounded)
{
	char *big = malloc(CONFIG_EXPAND_MAX);
	char err[256] = "";

	cr_assert_not_null(big);
	memset(big, 'x', CONFIG_EXPAND_MAX - 1);
	big[CONFIG_EXPAND_MAX - 1] = '\0';
	setenv("TGPROF_TEST_BIG", big, 1);
	free(big);
	cr_assert_null(config__expand_env("a${env:TGPROF_TEST_BIG}", err,
					  sizeof(err)));
	cr_assert_str_eq(
		err, "expected at most 65535 bytes after ${env:} expansion");
}

Test(config, duplicate_keys_are_errors)
{
	EXPECT_PROBLEMS(
		"receivers:\n"
		"  tgprof:\n"
		"    filter:\n"
		"      include_pid: [1]\n"
		"      include_pid: [2]\n",
		"t.yaml:5:7: receivers.tgprof.filter.include_pid: duplicate key (first at 4:7)");
	EXPECT_PROBLEMS(
		"exporters: { file: { directory: a }, file: { directory: b } }\n",
		"t.yaml:1:38: exporters.file: duplicate key (first at 1:14)");
	EXPECT_PROBLEMS("service: {}\nservice: {}\n",
			"t.yaml:2:1: service: duplicate key (first at 1:1)");
}

Test(config, aliases_stand_for_their_anchored_value)
{
	struct config *cfg =
		load_ok("receivers:\n"
			"  tgprof:\n"
			"    filter:\n"
			"      include_comm: &apps [java, python]\n"
			"  tgprof/b:\n"
			"    filter: { include_comm: *apps }\n"
			"exporters:\n"
			"  file: &files { directory: out }\n"
			"  file/copy: *files\n"
			"service:\n"
			"  pipelines:\n"
			"    profiles:\n"
			"      receivers: [tgprof, tgprof/b]\n"
			"      exporters: [file, file/copy]\n");

	cr_assert_eq(receiver_of(cfg, "tgprof/b")->filter.include_comm.n, 2);
	cr_assert_str_eq(
		receiver_of(cfg, "tgprof/b")->filter.include_comm.items[1],
		"python");
	cr_assert_str_eq(
		((struct file_config *)exporter_of(cfg, "file/copy"))->directory,
		"out");
	config__free(cfg);
}

Test(config, merge_keys_and_unknown_aliases_are_refused)
{
	EXPECT_PROBLEMS(
		"x-base: &base { sampling_frequency_hz: 9 }\n"
		"receivers:\n"
		"  tgprof:\n"
		"    <<: *base\n",
		"t.yaml:1:1: x-base: unknown key (expected receivers, exporters or service)",
		"t.yaml:4:5: receivers.tgprof: merge keys (<<) are not supported; use an alias as a whole value",
		"t.yaml: service.pipelines.profiles.receivers: required key is missing",
		"t.yaml: service.pipelines.profiles.exporters: required key is missing");
	EXPECT_PROBLEMS(
		"receivers: *nowhere\n",
		"t.yaml:1:12: alias *nowhere names no anchor defined before it");
	/* An alias inside its own anchor would make a cycle. */
	EXPECT_PROBLEMS(
		"receivers: &r { tgprof: *r }\n",
		"t.yaml:1:25: alias *r names no anchor defined before it");
}

Test(config, nesting_is_bounded)
{
	char yaml[256];
	int i, o = 0;

	o += snprintf(yaml + o, sizeof(yaml) - o, "receivers: ");
	for (i = 0; i < 40; i++)
		yaml[o++] = '[';
	yaml[o] = '\0';
	/* The root mapping is the first level. */
	EXPECT_PROBLEMS(yaml, "t.yaml:1:43: nested deeper than 32 levels");
}

Test(config, nodes_are_bounded)
{
	size_t n = YTREE_MAX_NODES + 10, i, o = 0;
	char *yaml = malloc(2 * n + 32);
	struct config *cfg = NULL;

	cr_assert_not_null(yaml);
	o += sprintf(yaml, "receivers: [");
	for (i = 0; i < n; i++)
		o += sprintf(yaml + o, "1,");
	sprintf(yaml + o, "1]\n");
	cr_assert_eq(load(yaml, &cfg), -EINVAL);
	free(yaml);
	cr_assert_eq(problems.n, 1);
	cr_assert_str_eq(problems.items[0].text,
			 "t.yaml:1:131079: more than 65536 nodes");
}

Test(config, one_document_only)
{
	EXPECT_PROBLEMS("receivers: {}\n---\nexporters: {}\n",
			"t.yaml:2:1: more than one YAML document");
}

Test(config, the_file_is_bounded_and_must_be_readable)
{
	char path[] = "/tmp/tgprof-config-XXXXXX";
	const struct tgprof_plugin *plugins[] = { receiver_plugin() };
	struct config *cfg = NULL;
	char line[1024];
	FILE *f;
	int fd, i;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	memset(line, '#', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < 1025; i++)
		fwrite(line, 1, sizeof(line), f);
	fclose(f);
	config_problems__release(&problems);
	cr_assert_eq(config__load_file(path, plugins, 1, &cfg, &problems),
		     -EFBIG);
	cr_assert_eq(problems.n, 1);
	cr_assert(strstr(problems.items[0].text,
			 ": expected a file of at most 1048576 bytes"));
	unlink(path);

	config_problems__release(&problems);
	cr_assert_eq(config__load_file("/nonexistent/tgprof.yaml", plugins, 1,
				       &cfg, &problems),
		     -ENOENT);
	cr_assert_str_eq(
		problems.items[0].text,
		"/nonexistent/tgprof.yaml: cannot read: No such file or directory");
	cr_assert_null(cfg);
}

Test(config, yaml_lists_replace_the_default_list)
{
	struct config *cfg = load_ok(
		"receivers: { tgprof: }\n"
		"exporters: { file: { directory: x, formats: [svg] } }\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [file] } }\n");
	const struct file_config *f = exporter_of(cfg, "file");

	cr_assert_eq(f->formats.n, 1);
	cr_assert_str_eq(f->formats.items[0], "svg");
	config__free(cfg);
}

Test(config, an_empty_yaml_list_empties_a_default_list)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"exporters: { file: { directory: x, formats: [] } }\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [file] } }\n",
		"t.yaml:2:45: exporters.file.formats: expected at least 1 element");
}

Test(config, null_values_read_as_empty)
{
	struct config *cfg =
		load_ok(WITH_RECEIVER("    service_name: ~\n"
				      "    host_name:\n"
				      "    filter:\n"
				      "      include_pid:\n"
				      "    consumer_retry: null\n"));

	cr_assert_str_eq(receiver_of(cfg, "tgprof")->service_name, "");
	cr_assert_str_eq(receiver_of(cfg, "tgprof")->host_name, "");
	cr_assert_eq(receiver_of(cfg, "tgprof")->filter.include_pid.n, 0);
	config__free(cfg);
}

Test(config, quoted_null_is_a_string)
{
	struct config *cfg =
		load_ok(WITH_RECEIVER("    service_name: \"null\"\n"));

	cr_assert_str_eq(receiver_of(cfg, "tgprof")->service_name, "null");
	config__free(cfg);
}

Test(config, shapes_that_do_not_fit_are_said)
{
	EXPECT_PROBLEMS(
		"receivers:\n"
		"  tgprof:\n"
		"    filter: everything\n"
		"    consumer_retry: [1s]\n"
		"exporters: [file]\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [file] } }\n",
		"t.yaml:3:13: receivers.tgprof.filter: expected a mapping, got \"everything\"",
		"t.yaml:4:21: receivers.tgprof.consumer_retry: expected a mapping, got a list",
		"t.yaml:5:12: exporters: expected a mapping of component ids (type[/name]) to their settings, got a list",
		"t.yaml:7:61: service.pipelines.profiles.exporters[0]: \"file\" is not a configured exporter (configured: none)");
	EXPECT_PROBLEMS(
		"- receivers\n",
		"t.yaml:1:1: expected a mapping with receivers, exporters and service, got a list");
}

Test(config, exporter_checks_beyond_types)
{
	EXPECT_PROBLEMS(
		"receivers: { tgprof: }\n"
		"exporters:\n"
		"  otlphttp:\n"
		"    endpoint: localhost:4318\n"
		"    headers:\n"
		"      content-type: text/plain\n"
		"      bad header: x\n"
		"    tls: { key_file: /k.pem }\n"
		"    retry_on_failure: { initial_interval: 1m, max_interval: 10s }\n"
		"  otlphttp/b:\n"
		"    endpoint: \"\"\n"
		"    compression: zstd\n"
		"  file: { directory: \"\", formats: [svg, pdf, svg] }\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [file] } }\n"
		"  telemetry: { logs: { level: trace }, metrics: { address: \":8888\" } }\n",
		"t.yaml:3:3: exporters.otlphttp.tls.cert_file: required when tls.key_file is set",
		"t.yaml:4:15: exporters.otlphttp.endpoint: expected an http:// or https:// URL with a host (like http://localhost:4318), got \"localhost:4318\"",
		"t.yaml:6:21: exporters.otlphttp.headers.content-type: expected a header the exporter does not set itself",
		"t.yaml:7:19: exporters.otlphttp.headers.bad header: expected a header name of letters, digits and !#$%&'*+-.^_`|~, got \"bad header\"",
		"t.yaml:9:43: exporters.otlphttp.retry_on_failure.initial_interval: expected at most retry_on_failure.max_interval (10s), got 1m",
		"t.yaml:11:15: exporters.otlphttp/b.endpoint: expected an http:// or https:// URL with a host (like http://localhost:4318), got \"\"",
		"t.yaml:12:18: exporters.otlphttp/b.compression: expected one of gzip, none, got \"zstd\"",
		"t.yaml:13:22: exporters.file.directory: expected a directory path, got \"\"",
		"t.yaml:13:41: exporters.file.formats[1]: expected one of pprof, otlp, folded, svg, got \"pdf\"",
		"t.yaml:13:46: exporters.file.formats[2]: \"svg\" is listed twice",
		"t.yaml:16:31: service.telemetry.logs.level: expected one of error, warn, info, debug, got \"trace\"",
		"t.yaml:16:60: service.telemetry.metrics.address: expected host:port (like 127.0.0.1:8888), got \":8888\"");
}

Test(config, urls_and_addresses)
{
	static const char *const good_urls[] = {
		"http://localhost:4318",
		"https://c.example",
		"HTTP://x/",
		"http://10.0.0.1:4318/otlp",
		"http://[::1]:4318",
		"https://[fe80::1]",
	};
	static const char *const bad_urls[] = {
		"",
		"localhost:4318",
		"ftp://x",
		"http://",
		"http://:4318",
		"http://x:0",
		"http://x:65536",
		"http://x:port",
		"http://u:p@x",
		"http://x/?q",
		"http://x y",
		"http://[::1",
	};
	static const char *const good_addrs[] = { "127.0.0.1:8888",
						  "localhost:1", "[::1]:9090" };
	static const char *const bad_addrs[] = { "", ":8888", "localhost",
						 "x:99999", "[::1]" };
	size_t i;

	for (i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++)
		cr_assert(http_url__valid(good_urls[i]), "%s", good_urls[i]);
	for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
		cr_assert(!http_url__valid(bad_urls[i]), "%s", bad_urls[i]);
	for (i = 0; i < sizeof(good_addrs) / sizeof(good_addrs[0]); i++)
		cr_assert(host_port__valid(good_addrs[i]), "%s", good_addrs[i]);
	for (i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++)
		cr_assert(!host_port__valid(bad_addrs[i]), "%s", bad_addrs[i]);
}

Test(config, problems_come_in_file_order_each_at_most_once)
{
	/* A bad value is said when read; validation does not repeat it
	 * as "required key is missing". */
	EXPECT_PROBLEMS(
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [otlphttp] } }\n"
		"exporters:\n"
		"  otlphttp: { endpoint: [http://x] }\n"
		"receivers:\n"
		"  tgprof: { sampling_frequency_hz: x }\n",
		"t.yaml:4:25: exporters.otlphttp.endpoint: expected a string, got a list",
		"t.yaml:6:36: receivers.tgprof.sampling_frequency_hz: expected an integer in 1..10000, got \"x\"");
}

Test(config, too_many_components_are_refused)
{
	char yaml[4096];
	int i, o = 0;

	o += snprintf(yaml + o, sizeof(yaml) - o, "exporters:\n");
	for (i = 0; i < CONFIG_MAX_COMPONENTS + 1; i++)
		o += snprintf(yaml + o, sizeof(yaml) - o,
			      "  file/%d: { directory: d }\n", i);
	o += snprintf(
		yaml + o, sizeof(yaml) - o,
		"receivers: { tgprof: }\n"
		"service:\n"
		"  pipelines: { profiles: { receivers: [tgprof], exporters: [file/0] } }\n");
	EXPECT_PROBLEMS(
		yaml, "t.yaml:18:3: exporters: expected at most 16 exporters");
}

Test(config, the_defaults_round_trip_and_equal_config_new)
{
	const struct tgprof_plugin *plugins[] = { receiver_plugin() };
	struct tgprof_config *fresh = plugin_config__new();
	const struct plugin_config *a, *b;
	struct config *cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(config__print_defaults(f, plugins, 1), 0);
	fclose(f);
	cfg = load_ok(buf);
	a = receiver_of(cfg, "tgprof");
	b = plugin_config__get(fresh);
	cr_assert_eq(a->rcv.freq_hz, b->rcv.freq_hz);
	cr_assert_eq(a->report_interval_ns, b->report_interval_ns);
	cr_assert_eq(a->rcv.ringbuf_bytes, b->rcv.ringbuf_bytes);
	cr_assert_eq(a->rcv.exit_grace_ns, b->rcv.exit_grace_ns);
	cr_assert_eq(a->consumer_retry.max_elapsed_ns,
		     b->consumer_retry.max_elapsed_ns);
	cr_assert_str_eq(a->rcv.proc_root, b->rcv.proc_root);
	cr_assert_str_eq(a->service_name, b->service_name);
	cr_assert_eq(cfg->nexporters, 3);
	cr_assert_str_eq(
		((struct otlphttp_config *)exporter_of(cfg, "otlp"))->endpoint,
		"localhost:4317");
	cr_assert_str_eq(
		((struct otlphttp_config *)exporter_of(cfg, "otlphttp"))
			->endpoint,
		"http://localhost:4318");
	cr_assert_eq(
		((struct file_config *)exporter_of(cfg, "file"))->formats.n, 4);
	config__free(cfg);
	plugin_config__free(fresh);
	free(buf);
}

Test(config, the_host_tables_check_clean)
{
	size_t i;

	for (i = 0; i < host_nexporters; i++)
		cr_assert_eq(configmap__check(host_exporters[i].map, NULL,
					      NULL),
			     0, "%s", host_exporters[i].type);
	cr_assert_eq(configmap__check(host_service.map, NULL, NULL), 0);
}

Test(config, the_plugin_path_is_read_before_the_rest)
{
	char path[] = "/tmp/tgprof-config-XXXXXX", buf[256], err[256];
	int fd = mkstemp(path);
	static const char yaml[] =
		"receivers: { unknown_plugin_type: {} }\n"
		"service: { plugin: \"${env:TGPROF_TEST_DIR}/libtgprof_receiver.so\" }\n";

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, yaml, sizeof(yaml) - 1),
		     (ssize_t)sizeof(yaml) - 1);
	close(fd);
	setenv("TGPROF_TEST_DIR", "/opt/tgprof/lib", 1);
	cr_assert_eq(config__plugin_path(path, buf, sizeof(buf), err,
					 sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(buf, "/opt/tgprof/lib/libtgprof_receiver.so");
	unlink(path);
}
