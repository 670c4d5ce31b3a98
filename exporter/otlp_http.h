/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP/HTTP exporter: sends serialized ExportProfilesServiceRequest bytes
 * to a collector (POST <endpoint>/v1development/profiles) from its own
 * thread, through a bounded queue, so the sampler never waits on the
 * network. Retries what a collector asks to retry, drops what it refuses,
 * and counts both.
 *
 * With opts.grpc it speaks OTLP/gRPC instead (the collector's `otlp`
 * exporter), with the same queue, retries, gzip, headers, TLS and counts:
 * over HTTP/2 (h2c with prior knowledge for http:// and, with
 * opts.insecure, for a bare host:port; TLS with ALPN h2 otherwise) it
 * POSTs one length-prefixed message to GRPC_EXPORT_PATH
 * (exporter/grpc_status.h) and reads grpc-status / grpc-message from the
 * trailers, or from the headers of a trailers-only response. Retried:
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
 * DATA_LOSS, and RESOURCE_EXHAUSTED when the status carries a
 * google.rpc.RetryInfo, whose retry_delay is honoured like Retry-After;
 * HTTP 429/502/503/504 and connection failures as above. Every other code
 * (INVALID_ARGUMENT, UNIMPLEMENTED, ...) and a response without
 * grpc-status are dropped at once (dropped_permanent). Each gRPC request
 * has a connection of its own: libcurl 7.88 fails a second stream on a
 * kept HTTP/2 connection.
 *
 * Retried (capped, jittered exponential backoff; Retry-After in seconds or
 * as an HTTP date is honoured, capped at retry_max): HTTP 429, 502, 503,
 * 504 and connection failures (refused, reset, timeout, DNS). Dropped at
 * once (dropped_permanent): every other 4xx, every other 5xx (Pyroscope
 * answers conversion errors with 500), redirects, TLS verification and
 * TLS file errors.
 *
 * Logging: one line per distinct failure (HTTP status or curl error) per
 * outage, not one per retry (warning when retried, error when dropped),
 * and one warning when the endpoint accepts requests again.
 *
 * Threads: submit, flush and stats may be called from any thread. The
 * logger is called from the sender thread: it must be safe there and
 * outlive the exporter. libcurl's process-wide curl_global_init() runs
 * once, in the first otlp_http__new() (pthread_once); tgprof never calls
 * curl_global_cleanup(). */
#ifndef TGPROF_EXPORTER_OTLP_HTTP_H
#define TGPROF_EXPORTER_OTLP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

#define OTLP_HTTP_PATH "/v1development/profiles"
#define OTLP_HTTP_MAX_HEADERS 32

struct otlp_http_header {
	const char *name;
	const char *value;
};

struct otlp_http_opts {
	size_t sz; /* sizeof(struct otlp_http_opts) */
	/* http(s)://host[:port][/prefix]; OTLP_HTTP_PATH is appended. */
	const char *endpoint;
	bool gzip; /* Content-Encoding: gzip; default (0) none */
	const struct otlp_http_header *headers; /* extra headers, copied */
	size_t nheaders; /* at most OTLP_HTTP_MAX_HEADERS */
	/* TLS. Verification is on unless insecure_skip_verify. */
	const char *ca_file; /* NULL: the system's CAs */
	const char *cert_file; /* client certificate (PEM), with key_file */
	const char *key_file;
	bool insecure_skip_verify;
	uint64_t connect_timeout_ns; /* 0: 5 s */
	uint64_t request_timeout_ns; /* whole request; 0: 30 s */
	/* Retries: exponential from initial to max, jittered, capped in all
	 * at max_elapsed (0: 5 s, 30 s, 300 s). Retry-After is honoured. */
	uint64_t retry_initial_ns;
	uint64_t retry_max_ns;
	uint64_t retry_max_elapsed_ns;
	/* Requests waiting (one more may be in flight); 0: 100, at most
	 * 100000. When full, the oldest waiting request is dropped. */
	uint32_t queue_size;
	/* OTLP/gRPC (see the top of this file). The endpoint is then
	 * http(s)://host[:port] or host[:port], without a path. */
	bool grpc;
	/* gRPC, an endpoint without a scheme: plaintext (h2c) instead of
	 * TLS, as the collector's tls.insecure. */
	bool insecure;
};

struct otlp_http_stats {
	uint64_t enqueued; /* requests handed in */
	uint64_t sent; /* accepted by the collector (2xx) */
	uint64_t bytes_sent; /* on the wire, after compression */
	uint64_t retries; /* attempts after the first */
	uint64_t dropped_queue_full; /* oldest dropped for a new one */
	uint64_t dropped_permanent; /* refused: see the top of this file */
	uint64_t dropped_retries_exhausted; /* max_elapsed ran out */
	uint64_t dropped_shutdown; /* still queued when shutdown timed out */
	uint32_t queued; /* waiting now, including one in flight */
};

/*
 * Validates @opts (an unparsable endpoint URL is -EINVAL, logged with the
 * reason), starts the sender thread and returns the exporter (caller frees
 * with otlp_http__free()), or NULL + errno. Does not contact the endpoint.
 */
struct otlp_http *otlp_http__new(const struct otlp_http_opts *opts,
				 const struct tg_logger *log);

/*
 * Queues @len bytes of one ExportProfilesServiceRequest (copied). Never
 * blocks on the network: when the queue is full, the oldest request is
 * dropped and counted. 0 or -ENOMEM (-EINVAL for a NULL @e).
 */
int otlp_http__submit(struct otlp_http *e, const void *req, size_t len);

/* Waits until the queue is empty or @timeout_ns passed (backoff waits are
 * kept). Returns 0, or -ETIMEDOUT with requests still queued; -EINVAL for
 * a NULL @e. */
int otlp_http__flush(struct otlp_http *e, uint64_t timeout_ns);

void otlp_http__stats(const struct otlp_http *e, struct otlp_http_stats *ret);

/* Tries to send what is queued for up to @timeout_ns, then stops the
 * thread and counts what is left as dropped_shutdown; the stats are final
 * afterwards and submit() must not be called again. A backoff wait pending
 * when it is called is cut short (one more try at once); a transfer still
 * running at the deadline is aborted, so a hung collector cannot hold it
 * longer. Idempotent. 0, or -ETIMEDOUT when requests were dropped. */
int otlp_http__shutdown(struct otlp_http *e, uint64_t timeout_ns);

/* otlp_http__shutdown(), then frees. Accepts NULL. */
void otlp_http__free(struct otlp_http *e, uint64_t timeout_ns);

#endif
