/* SPDX-License-Identifier: Apache-2.0 */
/* Logging through the host: library code never prints on its own. A stage
 * gets a borrowed struct tg_logger; a NULL logger or callback is silent. */
#ifndef TGPROF_LIB_LOG_H
#define TGPROF_LIB_LOG_H

enum tg_log_level {
	TG_LOG_ERROR = 0,
	TG_LOG_WARN = 1,
	TG_LOG_INFO = 2,
	TG_LOG_DEBUG = 3,
};

struct tg_logger {
	/* @msg has no trailing newline and is only valid during the call. */
	void (*fn)(void *ctx, enum tg_log_level level, const char *msg);
	void *ctx;
	enum tg_log_level max_level;
};

void tg_log(const struct tg_logger *log, enum tg_log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

const char *tg_log_level_name(enum tg_log_level level);

#define tg_err(log, ...) tg_log((log), TG_LOG_ERROR, __VA_ARGS__)
#define tg_warn(log, ...) tg_log((log), TG_LOG_WARN, __VA_ARGS__)
#define tg_info(log, ...) tg_log((log), TG_LOG_INFO, __VA_ARGS__)
#define tg_debug(log, ...) tg_log((log), TG_LOG_DEBUG, __VA_ARGS__)

#endif
