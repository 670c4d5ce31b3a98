/* SPDX-License-Identifier: Apache-2.0 */
/* The host's log: "tgprof: LEVEL: message" lines on stderr from any thread
 * (the receiver plugin's and the exporter's threads log too), kept apart
 * from `tgprof record`'s live progress line; and libbpf's own messages
 * routed into it. */
#ifndef TGPROF_CMD_HOSTLOG_H
#define TGPROF_CMD_HOSTLOG_H

#include <pthread.h>
#include <stdbool.h>

#include "lib/log.h"

struct host_log {
	struct tg_logger logger;
	pthread_mutex_t lock; /* one line at a time; guards progress_shown */
	bool progress_shown; /* a progress line must be cleared first */
};

/* Lines up to @max_level go to stderr. */
void host_log__init(struct host_log *hl, enum tg_log_level max_level);

/*
 * Routes libbpf's messages through @hl, NULL to stop. libbpf's print hook
 * is process-wide, so only the host sets it (the plugin never does,
 * docs/ABI.md): the plugin uses the same shared libbpf.so.1 the host
 * links, so this reaches the plugin's BPF loading too. @hl must stay valid
 * until routed elsewhere or stopped.
 */
void host_log__route_libbpf(struct host_log *hl);

#endif
