/* SPDX-License-Identifier: Apache-2.0 */
/* Every kind of loss, logged: takes the running totals of what was lost
 * (samples and events lost in the kernel, requests an exporter dropped,
 * ...) now and then, and gives out at most one warning per kind and
 * LOSSLOG_INTERVAL_NS, naming what was lost since the last warning and
 * the running total:
 *
 *   level=warn msg="kernel ring buffer full: samples lost" lost=36 total=230
 *
 * A kind is its message and component. The first loss of a kind is
 * logged at once; what follows within the interval waits for the next
 * warning (or the final flush). Only the main thread calls it. */
#ifndef TGPROF_CMD_LOSSLOG_H
#define TGPROF_CMD_LOSSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/tgprof/runlog.h"

#define LOSSLOG_INTERVAL_NS (60ull * 1000000000ull)
#define LOSSLOG_KINDS_MAX 256 /* more: the least recently seen is forgotten */
#define LOSSLOG_COMPONENT_MAX 160

struct losslog_kind {
	const char *msg; /* static */
	char component[LOSSLOG_COMPONENT_MAX];
	uint64_t logged; /* the total the last warning gave */
	uint64_t last_log_ns; /* CLOCK_MONOTONIC; 0: never logged */
	uint64_t seen_ns; /* last noted */
};

struct losslog {
	struct runlog *log; /* borrowed */
	uint64_t interval_ns;
	struct losslog_kind kinds[LOSSLOG_KINDS_MAX];
	size_t n;
};

/* @log is borrowed and must outlive @l; @interval_ns between two warnings
 * of a kind. */
void losslog__init(struct losslog *l, struct runlog *log, uint64_t interval_ns);

/*
 * The running total @total of kind (@msg, static; @component) at @now_ns.
 * Warns when it grew and the kind's last warning is @interval_ns old, or
 * when @flush (at shutdown: whatever was not said yet). A total that went
 * back (a counter restarted) is taken as the new baseline.
 */
void losslog__note(struct losslog *l, const char *msg, const char *component,
		   uint64_t total, uint64_t now_ns, bool flush);

#endif
