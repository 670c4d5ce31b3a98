// SPDX-License-Identifier: Apache-2.0
/* The host's exporters in the YAML (`otlphttp`, `otlp`, `file`): one
 * config map table each (otlphttp and otlp share all keys but two), the
 * checks beyond types, and the OTLP exporter's options made from their
 * struct. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "cmd/tgprof/config/exporters.h"

/* ---- otlphttp ---------------------------------------------------------- */

/* The keys after the endpoint, the same in otlphttp and otlp. */
#define OTLP_SHARED_KEYS(X, RETRIED, TLS_MORE)                                 \
	X("compression", compression, STRING, "gzip", 0, 0, 0,                 \
	  "Compression of the requests (gzip: Content-Encoding, or "           \
	  "grpc-encoding for otlp).",                                          \
	  .choices = "gzip|none")                                              \
	X("headers", headers, STRING_MAP, "{}", 0, 0, 0,                       \
	  "Extra HTTP headers (gRPC metadata for otlp), like authorization: "  \
	  "\"Bearer ${env:TOKEN}\".",                                          \
	  .max_items = OTLP_HTTP_MAX_HEADERS, .max_len = 4096)                 \
	X("timeout", timeout_ns, DURATION, "30s", CONFIGMAP_MS(100),           \
	  CONFIGMAP_MIN(10), 0, "Time allowed for one request.")               \
	X("tls.ca_file", tls.ca_file, STRING, "", 0, 0, 0,                     \
	  "PEM bundle of the CAs that sign the collector's certificate; "      \
	  "empty: the system's.",                                              \
	  .max_len = 1023)                                                     \
	X("tls.cert_file", tls.cert_file, STRING, "", 0, 0, 0,                 \
	  "Client certificate (PEM), with tls.key_file.", .max_len = 1023)     \
	X("tls.key_file", tls.key_file, STRING, "", 0, 0, 0,                   \
	  "Client private key (PEM), with tls.cert_file.", .max_len = 1023)    \
	X("tls.insecure_skip_verify", tls.insecure_skip_verify, BOOL, "false", \
	  0, 0, 0, "Accept any server certificate (for tests only).")          \
	TLS_MORE(X)                                                            \
	X("retry_on_failure.enabled", retry_on_failure.enabled, BOOL, "true",  \
	  0, 0, 0,                                                             \
	  "Send again what failed for a reason that may pass (" RETRIED        \
	  ", network).")                                                       \
	X("retry_on_failure.initial_interval",                                 \
	  retry_on_failure.initial_interval_ns, DURATION, "5s",                \
	  CONFIGMAP_MS(1), CONFIGMAP_HOUR(1), 0,                               \
	  "First wait before a retry; it doubles, jittered, up to "            \
	  "max_interval.")                                                     \
	X("retry_on_failure.max_interval", retry_on_failure.max_interval_ns,   \
	  DURATION, "30s", CONFIGMAP_MS(1), CONFIGMAP_HOUR(1), 0,              \
	  "Longest wait between two attempts.")                                \
	X("retry_on_failure.max_elapsed_time",                                 \
	  retry_on_failure.max_elapsed_ns, DURATION, "300s", CONFIGMAP_SEC(1), \
	  CONFIGMAP_HOUR(24), 0,                                               \
	  "After this long a request is dropped and counted.")                 \
	X("sending_queue.queue_size", sending_queue.queue_size, INT, "100", 1, \
	  100000, 0,                                                           \
	  "Requests waiting to be sent; when full the oldest is dropped and "  \
	  "counted.")

#define OTLPHTTP_KEYS(X)                                                    \
	X("endpoint", endpoint, STRING, NULL, 0, 0, TGPROF_CONFIG_REQUIRED, \
	  "The collector's OTLP/HTTP base URL; /v1development/profiles is " \
	  "appended.",                                                      \
	  .max_len = 2048, .example = "http://localhost:4318")              \
	OTLP_SHARED_KEYS(X, "429, 502, 503, 504", OTLP_NO_KEYS)

#define OTLP_KEYS(X)                                                        \
	X("endpoint", endpoint, STRING, NULL, 0, 0, TGPROF_CONFIG_REQUIRED, \
	  "The collector's OTLP/gRPC address: host:port (TLS unless "       \
	  "tls.insecure), or http://host:port (h2c), https://host:port.",   \
	  .max_len = 2048, .example = "localhost:4317")                     \
	OTLP_SHARED_KEYS(X,                                                 \
			 "UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, "        \
			 "CANCELLED, OUT_OF_RANGE, DATA_LOSS; "             \
			 "RESOURCE_EXHAUSTED with RetryInfo",               \
			 OTLP_TLS_INSECURE)

#define OTLP_NO_KEYS(X)
#define OTLP_TLS_INSECURE(X)                                    \
	X("tls.insecure", tls.insecure, BOOL, "false", 0, 0, 0, \
	  "A host:port endpoint is plaintext HTTP/2 (h2c), not TLS.")

#define OTLPHTTP_FIELD(...) CONFIGMAP_FIELD(struct otlphttp_config, __VA_ARGS__)

static const struct tgprof_config_key otlphttp_keys[] = { OTLPHTTP_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field otlphttp_fields[] = { OTLPHTTP_KEYS(
	OTLPHTTP_FIELD) };
static const struct configmap otlphttp_map = {
	.keys = otlphttp_keys,
	.fields = otlphttp_fields,
	.nkeys = sizeof(otlphttp_keys) / sizeof(otlphttp_keys[0]),
	.marks_offset = offsetof(struct otlphttp_config, marks),
};

static const struct tgprof_config_key otlp_keys[] = { OTLP_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field otlp_fields[] = { OTLP_KEYS(
	OTLPHTTP_FIELD) };
static const struct configmap otlp_map = {
	.keys = otlp_keys,
	.fields = otlp_fields,
	.nkeys = sizeof(otlp_keys) / sizeof(otlp_keys[0]),
	.marks_offset = offsetof(struct otlphttp_config, marks),
};

/* ---- file ---------------------------------------------------------------- */

#define FILE_KEYS(X)                                                           \
	X("directory", directory, STRING, NULL, 0, 0, TGPROF_CONFIG_REQUIRED,  \
	  "Where each interval's files go (created).", .max_len = 1023,        \
	  .example = "./tgprof-out")                                           \
	X("formats", formats, STRING_LIST, "[pprof, otlp, folded, svg]", 0, 0, \
	  0,                                                                   \
	  "What to write for each interval: pprof (.pb.gz), otlp "             \
	  "(.otlp.pb), folded stacks, svg flame graph.",                       \
	  .choices = FILE_FORMATS, .max_items = 4, .min_items = 1)             \
	X("max_files", max_files, INT, "100", 1, 100000, 0,                    \
	  "Interval files kept per format; the oldest are removed.")

#define FILE_FIELD(...) CONFIGMAP_FIELD(struct file_config, __VA_ARGS__)

static const struct tgprof_config_key file_keys[] = { FILE_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field file_fields[] = { FILE_KEYS(FILE_FIELD) };
static const struct configmap file_map = {
	.keys = file_keys,
	.fields = file_fields,
	.nkeys = sizeof(file_keys) / sizeof(file_keys[0]),
	.marks_offset = offsetof(struct file_config, marks),
};

/* RFC 9110 token characters. */
static bool good_header_name(const char *s)
{
	const char *p;

	if (!*s)
		return false;
	for (p = s; *p; p++)
		if (!isalnum((unsigned char)*p) &&
		    !strchr("!#$%&'*+-.^_`|~", *p))
			return false;
	return true;
}

/* otlp's endpoint: host:port, or an http(s) URL without a path. */
static bool grpc_endpoint_valid(const char *s)
{
	const char *a = strstr(s, "://"), *slash;

	if (!a)
		return host_port__valid(s);
	if (!http_url__valid(s))
		return false;
	slash = strchr(a + 3, '/');
	return !slash || !slash[1];
}

/* Both OTLP exporters' checks; @grpc for otlp. */
static size_t otlp_check(const struct otlphttp_config *c, bool grpc,
			 configmap_report_fn report, void *ctx)
{
	static const char *const reserved[] = {
		"content-type", "content-encoding",  "content-length",
		"host",		"transfer-encoding",
	};
	const struct configmap *map = grpc ? &otlp_map : &otlphttp_map;
	char got[CONFIGMAP_QUOTE_BUF], key[CONFIGMAP_NAME_MAX + 16];
	size_t n = 0, i, j;

	if (host_component__is_set(map, c, "endpoint") && !grpc &&
	    !http_url__valid(c->endpoint)) {
		configmap__quote(c->endpoint, got, sizeof(got));
		n += host_component__problem(
			report, ctx, "endpoint",
			"expected an http:// or https:// URL with a host (like http://localhost:4318), got %s",
			got);
	}
	if (host_component__is_set(map, c, "endpoint") && grpc &&
	    !grpc_endpoint_valid(c->endpoint)) {
		configmap__quote(c->endpoint, got, sizeof(got));
		n += host_component__problem(
			report, ctx, "endpoint",
			"expected host:port or an http:// or https:// URL without a path (like localhost:4317), got %s",
			got);
	}
	for (i = 0; i < c->headers.n; i++) {
		const char *name = c->headers.names[i];

		snprintf(key, sizeof(key), "headers.%s", name);
		if (!good_header_name(name)) {
			configmap__quote(name, got, sizeof(got));
			n += host_component__problem(
				report, ctx, key,
				"expected a header name of letters, digits and !#$%%&'*+-.^_`|~, got %s",
				got);
			continue;
		}
		for (j = 0; j < sizeof(reserved) / sizeof(reserved[0]); j++)
			if (!strcasecmp(name, reserved[j]))
				break;
		if (j < sizeof(reserved) / sizeof(reserved[0]) ||
		    (grpc && (!strcasecmp(name, "te") ||
			      !strncasecmp(name, "grpc-", 5))))
			n += host_component__problem(
				report, ctx, key,
				"expected a header the exporter does not set itself");
		if (strpbrk(c->headers.values[i], "\r\n"))
			n += host_component__problem(
				report, ctx, key,
				"expected a header value on one line");
	}
	if (*c->tls.cert_file && !*c->tls.key_file)
		n += host_component__problem(
			report, ctx, "tls.key_file",
			"required when tls.cert_file is set");
	if (*c->tls.key_file && !*c->tls.cert_file)
		n += host_component__problem(
			report, ctx, "tls.cert_file",
			"required when tls.key_file is set");
	if (c->retry_on_failure.initial_interval_ns >
	    c->retry_on_failure.max_interval_ns) {
		char a[32], b[32];

		configmap__format_duration(c->retry_on_failure.max_interval_ns,
					   a, sizeof(a));
		configmap__format_duration(
			c->retry_on_failure.initial_interval_ns, b, sizeof(b));
		n += host_component__problem(
			report, ctx, "retry_on_failure.initial_interval",
			"expected at most retry_on_failure.max_interval (%s), got %s",
			a, b);
	}
	if (c->retry_on_failure.max_elapsed_ns <
	    c->retry_on_failure.max_interval_ns) {
		char a[32], b[32];

		configmap__format_duration(c->retry_on_failure.max_interval_ns,
					   a, sizeof(a));
		configmap__format_duration(c->retry_on_failure.max_elapsed_ns,
					   b, sizeof(b));
		n += host_component__problem(
			report, ctx, "retry_on_failure.max_elapsed_time",
			"expected at least retry_on_failure.max_interval (%s), got %s",
			a, b);
	}
	return n;
}

static size_t otlphttp_check(const void *cfg, configmap_report_fn report,
			     void *ctx)
{
	return otlp_check(cfg, false, report, ctx);
}

static size_t otlpgrpc_check(const void *cfg, configmap_report_fn report,
			     void *ctx)
{
	return otlp_check(cfg, true, report, ctx);
}

static size_t file_check(const void *cfg, configmap_report_fn report, void *ctx)
{
	const struct file_config *c = cfg;
	char key[64];
	size_t n = 0, i, j;

	if (host_component__is_set(&file_map, c, "directory") && !*c->directory)
		n += host_component__problem(
			report, ctx, "directory",
			"expected a directory path, got \"\"");
	for (i = 0; i < c->formats.n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(c->formats.items[i], c->formats.items[j]))
				continue;
			snprintf(key, sizeof(key), "formats[%zu]", i);
			n += host_component__problem(report, ctx, key,
						     "\"%s\" is listed twice",
						     c->formats.items[i]);
			break;
		}
	}
	return n;
}

const struct host_component host_exporters[] = {
	{
		.type = "otlphttp",
		.map = &otlphttp_map,
		.size = sizeof(struct otlphttp_config),
		.check = otlphttp_check,
	},
	{
		.type = "otlp",
		.map = &otlp_map,
		.size = sizeof(struct otlphttp_config),
		.check = otlpgrpc_check,
	},
	{
		.type = "file",
		.map = &file_map,
		.size = sizeof(struct file_config),
		.check = file_check,
	},
};
const size_t host_nexporters =
	sizeof(host_exporters) / sizeof(host_exporters[0]);

const struct host_component *host_exporter__find(const char *type)
{
	size_t i;

	for (i = 0; i < host_nexporters; i++)
		if (!strcmp(host_exporters[i].type, type))
			return &host_exporters[i];
	return NULL;
}

int otlphttp_config__opts(const struct otlphttp_config *c, bool grpc,
			  struct otlp_http_opts *ret,
			  struct otlp_http_header *headers, size_t maxheaders)
{
	size_t i;

	if (c->headers.n > maxheaders)
		return -E2BIG;
	for (i = 0; i < c->headers.n; i++) {
		headers[i].name = c->headers.names[i];
		headers[i].value = c->headers.values[i];
	}
	memset(ret, 0, sizeof(*ret));
	ret->sz = sizeof(*ret);
	ret->endpoint = c->endpoint;
	ret->gzip = !strcmp(c->compression, "gzip");
	ret->headers = c->headers.n ? headers : NULL;
	ret->nheaders = c->headers.n;
	ret->ca_file = *c->tls.ca_file ? c->tls.ca_file : NULL;
	ret->cert_file = *c->tls.cert_file ? c->tls.cert_file : NULL;
	ret->key_file = *c->tls.key_file ? c->tls.key_file : NULL;
	ret->insecure_skip_verify = c->tls.insecure_skip_verify;
	ret->request_timeout_ns = c->timeout_ns;
	ret->retry_initial_ns = c->retry_on_failure.initial_interval_ns;
	ret->retry_max_ns = c->retry_on_failure.max_interval_ns;
	ret->retry_max_elapsed_ns = c->retry_on_failure.enabled ?
					    c->retry_on_failure.max_elapsed_ns :
					    1;
	ret->queue_size = c->sending_queue.queue_size;
	ret->grpc = grpc;
	ret->insecure = grpc && c->tls.insecure;
	return 0;
}
