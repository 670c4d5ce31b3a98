/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's small HTTP server (service.telemetry.metrics.address):
 * GET /metrics answers the self-statistics in the Prometheus text format,
 * GET /healthz 200 while the receivers run and 503 otherwise, for
 * Kubernetes probes. One thread of its own, no dependency. The main
 * thread publishes a new body and health now and then; requests only read
 * the last one published, so a probe never waits on the receivers.
 *
 * Bounded: requests of at most METRICS_REQUEST_MAX bytes, at most
 * METRICS_MAX_CLIENTS connections at once, METRICS_TIMEOUT_MS for a
 * connection from accept to the last byte of the answer (however slowly
 * the client trickles bytes in); one request per connection. Every
 * connection waiting is accepted at once: when all slots are taken, the
 * oldest connection still sending its request is closed to make room
 * (shed, counted), so a probe never waits behind clients that misbehave
 * nor behind a scrape (answers come from the body already published). */
#ifndef TGPROF_CMD_METRICS_H
#define TGPROF_CMD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

#define METRICS_REQUEST_MAX 4096
#define METRICS_MAX_CLIENTS 32
#define METRICS_TIMEOUT_MS 3000
#define METRICS_BODY_MAX (1u << 20)

struct metrics_server;

/* What the server did with its connections, since it started. */
struct metrics_server_stats {
	uint64_t connections; /* accepted */
	uint64_t timed_out; /* closed at METRICS_TIMEOUT_MS from accept */
	uint64_t shed; /* closed to make room for a newer connection */
};

/*
 * Binds @address ("host:port", "[v6]:port"; a port of 0 picks one, see
 * metrics_server__port()) and starts the thread. Returns the server
 * (caller frees with metrics_server__free()) or NULL + errno: EINVAL (an
 * address that does not parse or resolve), EADDRINUSE, EACCES, ...; the
 * reason is logged. @log is borrowed and must outlive the server.
 */
struct metrics_server *metrics_server__new(const char *address,
					   const struct tg_logger *log);

/* The port it listens on. */
int metrics_server__port(const struct metrics_server *s);

/* Replaces what /metrics answers (@body, copied; at most
 * METRICS_BODY_MAX bytes) and whether /healthz says healthy. 0 or
 * -ENOMEM / -E2BIG (the previous body stays). */
int metrics_server__publish(struct metrics_server *s, const char *body,
			    size_t len, bool healthy);

/* Adds the counters of @s (NULL: none) to @st. */
void metrics_server__stats(const struct metrics_server *s,
			   struct metrics_server_stats *st);

/* Stops the thread, closes every socket, frees. Accepts NULL. */
void metrics_server__free(struct metrics_server *s);

#endif
