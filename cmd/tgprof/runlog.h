/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's log: one event per line on stderr, logfmt or JSON, with a
 * UTC timestamp, a level, a message and typed fields:
 *
 *   ts=2025-05-09T07:29:33.186Z level=info msg="reloaded" receivers=1
 *   {"ts":"2025-05-09T07:29:33.186Z","level":"info","msg":"reloaded","receivers":1}
 *
 * Every thread logs through it (the plugin's log callback, the exporters,
 * libbpf); a line is written with one write(), under a lock, so lines never
 * interleave. The level and the encoding may change while it is in use
 * (a reload). */
#ifndef TGPROF_CMD_RUNLOG_H
#define TGPROF_CMD_RUNLOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

#define RUNLOG_LINE_MAX 8192 /* longer lines are cut, marked "..." */

enum runlog_kv_type {
	RUNLOG_STR,
	RUNLOG_U64,
	RUNLOG_I64,
	RUNLOG_BOOL,
};

/* One field: key=value. Strings are borrowed for the call. */
struct runlog_kv {
	const char *key;
	enum runlog_kv_type type;
	union {
		const char *s;
		uint64_t u;
		int64_t i;
		bool b;
	};
};

#define RL_STR(k, v) \
	((struct runlog_kv){ .key = (k), .type = RUNLOG_STR, .s = (v) })
#define RL_U64(k, v) \
	((struct runlog_kv){ .key = (k), .type = RUNLOG_U64, .u = (v) })
#define RL_I64(k, v) \
	((struct runlog_kv){ .key = (k), .type = RUNLOG_I64, .i = (v) })
#define RL_BOOL(k, v) \
	((struct runlog_kv){ .key = (k), .type = RUNLOG_BOOL, .b = (v) })

struct runlog {
	pthread_mutex_t lock; /* one line at a time */
	int fd;
	_Atomic int level; /* enum tg_log_level: the least severe written */
	_Atomic bool json;
};

/* Writes to @fd (borrowed). */
void runlog__init(struct runlog *l, int fd, enum tg_log_level level, bool json);
void runlog__set(struct runlog *l, enum tg_log_level level, bool json);
void runlog__destroy(struct runlog *l);

bool runlog__enabled(struct runlog *l, enum tg_log_level level);

/* One event: @msg, then @n fields. */
void runlog__event(struct runlog *l, enum tg_log_level level, const char *msg,
		   const struct runlog_kv *kv, size_t n);

/* An event with no fields. */
static inline void runlog__msg(struct runlog *l, enum tg_log_level level,
			       const char *msg)
{
	runlog__event(l, level, msg, NULL, 0);
}

/* runlog__event() with the fields as arguments: RL_STR("k", v), ... */
#define runlog__log(l, level, msg, ...)                                   \
	runlog__event((l), (level), (msg),                                \
		      (const struct runlog_kv[]){ __VA_ARGS__ },          \
		      sizeof((const struct runlog_kv[]){ __VA_ARGS__ }) / \
			      sizeof(struct runlog_kv))

/*
 * A struct tg_logger for a component (an exporter, libbpf): its messages
 * become events with component=@component. @component is borrowed and must
 * outlive the logger. The level is the runlog's, read at each event.
 */
struct runlog_component {
	struct runlog *log;
	const char *component;
	struct tg_logger logger;
};

void runlog_component__init(struct runlog_component *c, struct runlog *l,
			    const char *component);

#endif
