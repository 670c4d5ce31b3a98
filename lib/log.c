// SPDX-License-Identifier: Apache-2.0
/* Logging through the host's callback: see log.h. */
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"

void tg_log(const struct tg_logger *log, enum tg_log_level level,
	    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log || !log->fn || level > log->max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->ctx, level, msg);
}

const char *tg_log_level_name(enum tg_log_level level)
{
	switch (level) {
	case TG_LOG_ERROR:
		return "error";
	case TG_LOG_WARN:
		return "warn";
	case TG_LOG_INFO:
		return "info";
	case TG_LOG_DEBUG:
		return "debug";
	}
	return "unknown";
}
