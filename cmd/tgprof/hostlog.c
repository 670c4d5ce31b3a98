// SPDX-License-Identifier: Apache-2.0
/* The host's log lines on stderr, and libbpf's print hook onto them: see
 * hostlog.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cmd/tgprof/hostlog.h"

/* libbpf's print hook has no context argument: the one host-wide logger it
 * reports to. Set by the host's main thread before any BPF object is
 * opened. */
static struct host_log *libbpf_log;

static void host_log__write(void *ctx, enum tg_log_level level, const char *msg)
{
	struct host_log *hl = ctx;

	pthread_mutex_lock(&hl->lock);
	if (hl->progress_shown) {
		fputs("\r\033[K", stderr);
		hl->progress_shown = false;
	}
	fprintf(stderr, "tgprof: %s: %s\n", tg_log_level_name(level), msg);
	pthread_mutex_unlock(&hl->lock);
}

void host_log__init(struct host_log *hl, enum tg_log_level max_level)
{
	memset(hl, 0, sizeof(*hl));
	pthread_mutex_init(&hl->lock, NULL);
	hl->logger.fn = host_log__write;
	hl->logger.ctx = hl;
	hl->logger.max_level = max_level;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum tg_log_level lvl = level == LIBBPF_WARN ? TG_LOG_WARN :
						       TG_LOG_DEBUG;
	char msg[512];
	size_t n;

	if (!libbpf_log || lvl > libbpf_log->logger.max_level)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	tg_log(&libbpf_log->logger, lvl, "libbpf: %s", msg);
	return 0;
}

void host_log__route_libbpf(struct host_log *hl)
{
	libbpf_log = hl;
	libbpf_set_print(hl ? libbpf_print : NULL);
}
