/* SPDX-License-Identifier: Apache-2.0 */
/* The host's exporters in the YAML (exporters.c): `otlphttp`, `otlp`
 * (gRPC) and `file`, each a config map table and a struct the pipeline
 * wiring reads. */
#ifndef TGPROF_CMD_CONFIG_EXPORTERS_H
#define TGPROF_CMD_CONFIG_EXPORTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/tgprof/config/component.h"
#include "exporter/otlp_http.h"
#include "lib/configmap.h"

/* exporters: otlphttp, and otlp (gRPC), whose keys are the same but for
 * the endpoint's form and tls.insecure */
struct otlphttp_config {
	/* otlphttp: http(s)://host[:port][/prefix]; otlp: host:port or
	 * http(s)://host:port */
	char *endpoint;
	char *compression; /* "gzip" or "none" */
	struct configmap_str_map headers;
	uint64_t timeout_ns;
	struct {
		char *ca_file; /* "": the system's CAs */
		char *cert_file; /* with key_file, or neither */
		char *key_file;
		bool insecure_skip_verify;
		bool insecure; /* otlp: plaintext for host:port */
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

extern const struct host_component host_exporters[];
extern const size_t host_nexporters;

/* The exporter of type @type, or NULL. */
const struct host_component *host_exporter__find(const char *type);

/*
 * Fills @ret (for otlp_http__new()) from @c, for OTLP/gRPC when @grpc
 * (the `otlp` type); the strings stay borrowed
 * from @c, the headers go to @headers (room for @maxheaders). There is no
 * switch for retries in the options: retry_on_failure.enabled false
 * becomes an elapsed cap of 1 ns, which ends retrying after the first
 * attempt. 0, or -E2BIG when the headers do not fit.
 */
int otlphttp_config__opts(const struct otlphttp_config *c, bool grpc,
			  struct otlp_http_opts *ret,
			  struct otlp_http_header *headers, size_t maxheaders);

#endif
