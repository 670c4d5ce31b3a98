/* The host's own components in the YAML: the exporters (`otlphttp`,
 * `file`) and the `service` section. Each declares its keys in one config
 * map table, as the receiver plugin does; config.c fills them from YAML
 * and the pipeline wiring reads the structs. */
#ifndef TGPROF_CMD_EXPORTER_CONFIG_H
#define TGPROF_CMD_EXPORTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exporter/otlp_http.h"
#include "lib/configmap.h"
#include "lib/log.h"

/* exporters: otlphttp */
struct otlphttp_config {
	char *endpoint; /* http(s)://host[:port][/prefix] */
	char *compression; /* "gzip" or "none" */
	struct configmap_str_map headers;
	uint64_t timeout_ns;
	struct {
		char *ca_file; /* "": the system's CAs */
		char *cert_file; /* with key_file, or neither */
		char *key_file;
		bool insecure_skip_verify;
	} tls;
	struct {
		bool enabled;
		uint64_t initial_interval_ns;
		uint64_t max_interval_ns;
		uint64_t max_elapsed_ns;
	} retry_on_failure;
	struct {
		uint32_t queue_size;
	} sending_queue;
	struct configmap_marks marks;
};

#define FILE_FORMATS "pprof|otlp|folded|svg"

/* exporters: file */
struct file_config {
	char *directory;
	struct configmap_str_list formats; /* each one of FILE_FORMATS */
	uint32_t max_files; /* interval files kept per format */
	struct configmap_marks marks;
};

/* service */
struct service_config {
	struct configmap_str_list receivers; /* pipelines.profiles.receivers */
	struct configmap_str_list exporters; /* pipelines.profiles.exporters */
	char *log_level; /* "error", "warn", "info", "debug" */
	char *log_encoding; /* "logfmt", "json" */
	char *metrics_address; /* "": off; else host:port */
	char *plugin; /* "": the default search */
	uint64_t shutdown_timeout_ns;
	struct configmap_marks marks;
};

/* A component the host implements: its table and its checks. */
struct host_component {
	const char *type; /* "otlphttp"; "service" for the service section */
	const struct configmap *map;
	size_t size; /* of its struct */
	/* Checks beyond types (URLs, cross-key rules); reports each problem
	 * and returns how many. Pure. */
	size_t (*check)(const void *cfg, configmap_report_fn report, void *ctx);
};

extern const struct host_component host_exporters[];
extern const size_t host_nexporters;
extern const struct host_component host_service;

/* The exporter of type @type, or NULL. */
const struct host_component *host_exporter__find(const char *type);

/* A struct of @c's type at its defaults; caller frees with
 * host_component__free(). NULL + errno. */
void *host_component__new(const struct host_component *c);

/* configmap__set() on @c's table: 0 or -errno with @err. */
int host_component__set(const struct host_component *c, void *cfg,
			const char *key, const char *value, char *err,
			size_t errlen);

/* configmap__validate() then @c's own checks; returns the problems. */
size_t host_component__validate(const struct host_component *c, const void *cfg,
				configmap_report_fn report, void *ctx);

/* Accepts NULL. */
void host_component__free(const struct host_component *c, void *cfg);

/*
 * Fills @ret (for otlp_http__new()) from @c; the strings stay borrowed
 * from @c, the headers go to @headers (room for @maxheaders). There is no
 * switch for retries in the options: retry_on_failure.enabled false
 * becomes an elapsed cap of 1 ns, which ends retrying after the first
 * attempt. 0, or -E2BIG when the headers do not fit.
 */
int otlphttp_config__opts(const struct otlphttp_config *c,
			  struct otlp_http_opts *ret,
			  struct otlp_http_header *headers, size_t maxheaders);

/* The log level and encoding the service section names. */
enum tg_log_level service_config__log_level(const struct service_config *c);
bool service_config__log_json(const struct service_config *c);

/* Whether @s is "host:port" with a port of 1..65535 ("[::1]:8888" for
 * IPv6). */
bool host_port__valid(const char *s);

/* Whether @s is an http:// or https:// URL with a host. */
bool http_url__valid(const char *s);

#endif
