/* The host's component tables (otlphttp, file, service) and their checks;
 * see exporter_config.h. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/tgprof/exporter_config.h"

/* ---- otlphttp ---------------------------------------------------------- */

#define OTLPHTTP_KEYS(X)                                                       \
	X("endpoint", endpoint, STRING, NULL, 0, 0, TGPROF_CONFIG_REQUIRED,    \
	  "The collector's OTLP/HTTP base URL; /v1development/profiles is "    \
	  "appended.",                                                         \
	  .max_len = 2048, .example = "http://localhost:4318")                 \
	X("compression", compression, STRING, "gzip", 0, 0, 0,                 \
	  "Content-Encoding of the requests.", .choices = "gzip|none")         \
	X("headers", headers, STRING_MAP, "{}", 0, 0, 0,                       \
	  "Extra HTTP headers, like authorization: \"Bearer ${env:TOKEN}\".",  \
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
	X("retry_on_failure.enabled", retry_on_failure.enabled, BOOL, "true",  \
	  0, 0, 0,                                                             \
	  "Send again what failed for a reason that may pass (429, 502, "      \
	  "503, 504, network).")                                               \
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

/* ---- service ------------------------------------------------------------- */

#define SERVICE_KEYS(X)                                                       \
	X("pipelines.profiles.receivers", receivers, STRING_LIST, NULL, 0, 0, \
	  TGPROF_CONFIG_REQUIRED,                                             \
	  "Receivers whose profiles the pipeline carries, by id "             \
	  "type[/name].",                                                     \
	  .min_items = 1, .max_items = 16, .max_len = 127,                    \
	  .example = "[tgprof]")                                              \
	X("pipelines.profiles.exporters", exporters, STRING_LIST, NULL, 0, 0, \
	  TGPROF_CONFIG_REQUIRED,                                             \
	  "Exporters every profile goes to, by id type[/name].",              \
	  .min_items = 1, .max_items = 16, .max_len = 127,                    \
	  .example = "[otlphttp, file]")                                      \
	X("telemetry.logs.level", log_level, STRING, "info", 0, 0, 0,         \
	  "Least severe log events written to stderr.",                       \
	  .choices = "error|warn|info|debug")                                 \
	X("telemetry.logs.encoding", log_encoding, STRING, "logfmt", 0, 0, 0, \
	  "One event per line, as logfmt or JSON.", .choices = "logfmt|json") \
	X("telemetry.metrics.address", metrics_address, STRING, "", 0, 0, 0,  \
	  "host:port serving self-statistics in the Prometheus text format "  \
	  "(use a loopback address); empty: off.",                            \
	  .max_len = 255)                                                     \
	X("plugin", plugin, STRING, "", 0, 0, 0,                              \
	  "Path of libtgprof_receiver.so; empty: next to the binary, then "   \
	  "the install libdir.",                                              \
	  .max_len = 1023)                                                    \
	X("shutdown_timeout", shutdown_timeout_ns, DURATION, "10s",           \
	  CONFIGMAP_MS(100), CONFIGMAP_MIN(10), 0,                            \
	  "Time to flush the last interval and send what is queued on "       \
	  "SIGTERM or SIGINT.")

#define SERVICE_FIELD(...) CONFIGMAP_FIELD(struct service_config, __VA_ARGS__)

static const struct tgprof_config_key service_keys[] = { SERVICE_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field service_fields[] = { SERVICE_KEYS(
	SERVICE_FIELD) };
static const struct configmap service_map = {
	.keys = service_keys,
	.fields = service_fields,
	.nkeys = sizeof(service_keys) / sizeof(service_keys[0]),
	.marks_offset = offsetof(struct service_config, marks),
};

/* ---- checks ------------------------------------------------------------ */

static bool key_set(const struct configmap *m, const void *cfg,
		    const char *name)
{
	int idx = configmap__find(m->keys, m->nkeys, name);

	return idx >= 0 && configmap__is_set(m, cfg, idx);
}

static size_t problem(configmap_report_fn report, void *ctx, const char *key,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t problem(configmap_report_fn report, void *ctx, const char *key,
		      const char *fmt, ...)
{
	char msg[CONFIGMAP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report)
		report(ctx, key, msg);
	return 1;
}

/* A host name or an IPv4 address: letters, digits, '-', '.', '_'. */
static bool good_host(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 253)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._", s[i]))
			return false;
	return true;
}

/* "[v6]": hex digits, ':' and '.' inside brackets. */
static bool good_ipv6(const char *s, size_t len)
{
	size_t i;

	if (len < 4 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i + 1 < len; i++)
		if (!isxdigit((unsigned char)s[i]) && !strchr(":.", s[i]))
			return false;
	return true;
}

static bool good_port(const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 5)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* host[:port] (port required when @need_port). */
static bool good_authority(const char *s, size_t len, bool need_port)
{
	const char *colon;
	size_t hl;

	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return false;
		hl = close - s + 1;
		if (!good_ipv6(s, hl))
			return false;
		if (hl == len)
			return !need_port;
		return s[hl] == ':' && good_port(s + hl + 1, len - hl - 1);
	}
	colon = memchr(s, ':', len);
	if (!colon)
		return !need_port && good_host(s, len);
	hl = colon - s;
	return good_host(s, hl) && good_port(colon + 1, len - hl - 1);
}

bool host_port__valid(const char *s)
{
	return good_authority(s, strlen(s), true);
}

bool http_url__valid(const char *s)
{
	size_t skip, alen;
	const char *a;

	if (!strncasecmp(s, "http://", 7))
		skip = 7;
	else if (!strncasecmp(s, "https://", 8))
		skip = 8;
	else
		return false;
	a = s + skip;
	alen = strcspn(a, "/");
	if (!good_authority(a, alen, false))
		return false;
	/* A path prefix may follow; no query, fragment, spaces or
	 * credentials (those go in headers). */
	return !strpbrk(a, "?# \t\r\n@");
}

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

static size_t otlphttp_check(const void *cfg, configmap_report_fn report,
			     void *ctx)
{
	static const char *const reserved[] = {
		"content-type", "content-encoding",  "content-length",
		"host",		"transfer-encoding",
	};
	const struct otlphttp_config *c = cfg;
	char got[CONFIGMAP_QUOTE_BUF], key[CONFIGMAP_NAME_MAX + 16];
	size_t n = 0, i, j;

	if (key_set(&otlphttp_map, c, "endpoint") &&
	    !http_url__valid(c->endpoint)) {
		configmap__quote(c->endpoint, got, sizeof(got));
		n += problem(
			report, ctx, "endpoint",
			"expected an http:// or https:// URL with a host (like http://localhost:4318), got %s",
			got);
	}
	for (i = 0; i < c->headers.n; i++) {
		const char *name = c->headers.names[i];

		snprintf(key, sizeof(key), "headers.%s", name);
		if (!good_header_name(name)) {
			configmap__quote(name, got, sizeof(got));
			n += problem(
				report, ctx, key,
				"expected a header name of letters, digits and !#$%%&'*+-.^_`|~, got %s",
				got);
			continue;
		}
		for (j = 0; j < sizeof(reserved) / sizeof(reserved[0]); j++)
			if (!strcasecmp(name, reserved[j]))
				n += problem(
					report, ctx, key,
					"expected a header the exporter does not set itself");
		if (strpbrk(c->headers.values[i], "\r\n"))
			n += problem(report, ctx, key,
				     "expected a header value on one line");
	}
	if (*c->tls.cert_file && !*c->tls.key_file)
		n += problem(report, ctx, "tls.key_file",
			     "required when tls.cert_file is set");
	if (*c->tls.key_file && !*c->tls.cert_file)
		n += problem(report, ctx, "tls.cert_file",
			     "required when tls.key_file is set");
	if (c->retry_on_failure.initial_interval_ns >
	    c->retry_on_failure.max_interval_ns) {
		char a[32], b[32];

		configmap__format_duration(c->retry_on_failure.max_interval_ns,
					   a, sizeof(a));
		configmap__format_duration(
			c->retry_on_failure.initial_interval_ns, b, sizeof(b));
		n += problem(
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
		n += problem(
			report, ctx, "retry_on_failure.max_elapsed_time",
			"expected at least retry_on_failure.max_interval (%s), got %s",
			a, b);
	}
	return n;
}

static size_t file_check(const void *cfg, configmap_report_fn report, void *ctx)
{
	const struct file_config *c = cfg;
	char key[64];
	size_t n = 0, i, j;

	if (key_set(&file_map, c, "directory") && !*c->directory)
		n += problem(report, ctx, "directory",
			     "expected a directory path, got \"\"");
	for (i = 0; i < c->formats.n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(c->formats.items[i], c->formats.items[j]))
				continue;
			snprintf(key, sizeof(key), "formats[%zu]", i);
			n += problem(report, ctx, key, "\"%s\" is listed twice",
				     c->formats.items[i]);
			break;
		}
	}
	return n;
}

static size_t service_check(const void *cfg, configmap_report_fn report,
			    void *ctx)
{
	const struct service_config *c = cfg;
	char got[CONFIGMAP_QUOTE_BUF];

	if (!*c->metrics_address || host_port__valid(c->metrics_address))
		return 0;
	configmap__quote(c->metrics_address, got, sizeof(got));
	return problem(report, ctx, "telemetry.metrics.address",
		       "expected host:port (like 127.0.0.1:8888), got %s", got);
}

const struct host_component host_exporters[] = {
	{
		.type = "otlphttp",
		.map = &otlphttp_map,
		.size = sizeof(struct otlphttp_config),
		.check = otlphttp_check,
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

const struct host_component host_service = {
	.type = "service",
	.map = &service_map,
	.size = sizeof(struct service_config),
	.check = service_check,
};

const struct host_component *host_exporter__find(const char *type)
{
	size_t i;

	for (i = 0; i < host_nexporters; i++)
		if (!strcmp(host_exporters[i].type, type))
			return &host_exporters[i];
	return NULL;
}

void *host_component__new(const struct host_component *c)
{
	char err[CONFIGMAP_ERR_MAX];
	void *cfg = calloc(1, c->size);
	int ret;

	if (!cfg)
		return NULL;
	ret = configmap__init(c->map, cfg, err, sizeof(err));
	if (ret) {
		host_component__free(c, cfg);
		errno = -ret;
		return NULL;
	}
	return cfg;
}

int host_component__set(const struct host_component *c, void *cfg,
			const char *key, const char *value, char *err,
			size_t errlen)
{
	return configmap__set(c->map, cfg, key, value, err, errlen);
}

struct count_ctx {
	configmap_report_fn report;
	void *ctx;
	size_t n;
};

static void count_report(void *ctx, const char *key, const char *msg)
{
	struct count_ctx *cc = ctx;

	cc->n++;
	if (cc->report)
		cc->report(cc->ctx, key, msg);
}

size_t host_component__validate(const struct host_component *c, const void *cfg,
				configmap_report_fn report, void *ctx)
{
	struct count_ctx cc = { .report = report, .ctx = ctx };

	configmap__validate(c->map, cfg, count_report, &cc);
	if (c->check)
		c->check(cfg, count_report, &cc);
	return cc.n;
}

void host_component__free(const struct host_component *c, void *cfg)
{
	if (!c || !cfg)
		return;
	configmap__release(c->map, cfg);
	free(cfg);
}

int otlphttp_config__opts(const struct otlphttp_config *c,
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
	return 0;
}

enum tg_log_level service_config__log_level(const struct service_config *c)
{
	if (!strcmp(c->log_level, "error"))
		return TG_LOG_ERROR;
	if (!strcmp(c->log_level, "warn"))
		return TG_LOG_WARN;
	if (!strcmp(c->log_level, "debug"))
		return TG_LOG_DEBUG;
	return TG_LOG_INFO;
}

bool service_config__log_json(const struct service_config *c)
{
	return !strcmp(c->log_encoding, "json");
}
