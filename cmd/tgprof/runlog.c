// SPDX-License-Identifier: Apache-2.0
/* logfmt and JSON lines for the daemon's log: see runlog.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/tgprof/runlog.h"
#include "lib/clock.h"

struct line {
	char buf[RUNLOG_LINE_MAX];
	size_t len;
	bool cut;
};

static void put(struct line *ln, const char *s, size_t n)
{
	size_t room = sizeof(ln->buf);

	if (ln->cut)
		return;
	if (ln->len + n > room) {
		n = room - ln->len;
		ln->cut = true;
	}
	memcpy(ln->buf + ln->len, s, n);
	ln->len += n;
}

static void puts_(struct line *ln, const char *s)
{
	put(ln, s, strlen(s));
}

static void putc_(struct line *ln, char c)
{
	if (ln->cut)
		return;
	if (ln->len == sizeof(ln->buf)) {
		ln->cut = true;
		return;
	}
	ln->buf[ln->len++] = c;
}

/* @s between double quotes, '"' and '\\' escaped, the common control bytes
 * as \n, \t, \r and the others as JSON's \u00XX or logfmt's \xXX; at most
 * @max bytes of @s. */
static void quoted(struct line *ln, const char *s, size_t max, bool json)
{
	const unsigned char *p;
	char esc[8];
	size_t i;

	putc_(ln, '"');
	for (p = (const unsigned char *)s, i = 0; *p && i < max; p++, i++) {
		switch (*p) {
		case '"':
			puts_(ln, "\\\"");
			break;
		case '\\':
			puts_(ln, "\\\\");
			break;
		case '\n':
			puts_(ln, "\\n");
			break;
		case '\t':
			puts_(ln, "\\t");
			break;
		case '\r':
			puts_(ln, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc),
					 json ? "\\u%04x" : "\\x%02x", *p);
				puts_(ln, esc);
			} else {
				putc_(ln, (char)*p);
			}
		}
	}
	putc_(ln, '"');
}

/* logfmt: bare when the value has no space, '=', '"' or control byte,
 * quoted and escaped otherwise (and when empty). */
static void logfmt_value(struct line *ln, const char *s, size_t max, bool quote)
{
	const unsigned char *p;

	quote |= !*s;
	for (p = (const unsigned char *)s; *p && !quote; p++)
		quote = *p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f;
	if (quote)
		quoted(ln, s, max, false);
	else
		puts_(ln, s);
}

/* A key is written as given when it is a word; anything else becomes '_'
 * (keys come from tgprof's code, never from a remote). */
static void key(struct line *ln, const char *k, bool json)
{
	const char *p;

	if (json)
		putc_(ln, '"');
	for (p = k; *p; p++)
		putc_(ln, (*p >= 'a' && *p <= 'z') ||
					  (*p >= 'A' && *p <= 'Z') ||
					  (*p >= '0' && *p <= '9') ||
					  *p == '_' || *p == '.' ?
				  *p :
				  '_');
	puts_(ln, json ? "\":" : "=");
}

static void value(struct line *ln, const struct runlog_kv *kv, bool json)
{
	char num[32];

	switch (kv->type) {
	case RUNLOG_STR:
		if (json)
			quoted(ln, kv->s ? kv->s : "", SIZE_MAX, true);
		else
			logfmt_value(ln, kv->s ? kv->s : "", SIZE_MAX, false);
		return;
	case RUNLOG_U64:
		snprintf(num, sizeof(num), "%" PRIu64, kv->u);
		break;
	case RUNLOG_I64:
		snprintf(num, sizeof(num), "%" PRId64, kv->i);
		break;
	case RUNLOG_BOOL:
		snprintf(num, sizeof(num), "%s", kv->b ? "true" : "false");
		break;
	}
	puts_(ln, num);
}

static void timestamp(char *buf, size_t len)
{
	uint64_t now = clock_ns(CLOCK_REALTIME);
	time_t secs = (time_t)(now / NSEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec,
		 (unsigned int)(now % NSEC_PER_SEC / NSEC_PER_MSEC));
}

void runlog__init(struct runlog *l, int fd, enum tg_log_level level, bool json)
{
	pthread_mutex_init(&l->lock, NULL);
	l->fd = fd;
	atomic_store(&l->level, (int)level);
	atomic_store(&l->json, json);
}

void runlog__set(struct runlog *l, enum tg_log_level level, bool json)
{
	atomic_store(&l->level, (int)level);
	atomic_store(&l->json, json);
}

void runlog__destroy(struct runlog *l)
{
	pthread_mutex_destroy(&l->lock);
}

bool runlog__enabled(struct runlog *l, enum tg_log_level level)
{
	return (int)level <= atomic_load(&l->level);
}

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* stderr gone: nothing else to tell */
		buf += n;
		len -= n;
	}
}

/* A message cut to this many bytes when the whole event does not fit a
 * line: escaped (six bytes a byte at worst), it still does. */
#define CUT_MSG_MAX 1000

static void build(struct line *ln, bool json, enum tg_log_level level,
		  const char *msg, size_t max_msg, const struct runlog_kv *kv,
		  size_t n)
{
	char ts[64];
	size_t i;

	ln->len = 0;
	ln->cut = false;
	timestamp(ts, sizeof(ts));
	if (json) {
		puts_(ln, "{\"ts\":\"");
		puts_(ln, ts);
		puts_(ln, "\",\"level\":\"");
		puts_(ln, tg_log_level_name(level));
		puts_(ln, "\",\"msg\":");
		quoted(ln, msg, max_msg, true);
	} else {
		puts_(ln, "ts=");
		puts_(ln, ts);
		puts_(ln, " level=");
		puts_(ln, tg_log_level_name(level));
		/* The message is always quoted: it reads as one. */
		puts_(ln, " msg=");
		logfmt_value(ln, msg, max_msg, true);
	}
	for (i = 0; i < n; i++) {
		putc_(ln, json ? ',' : ' ');
		key(ln, kv[i].key, json);
		value(ln, &kv[i], json);
	}
	if (json)
		putc_(ln, '}');
	putc_(ln, '\n');
}

void runlog__event(struct runlog *l, enum tg_log_level level, const char *msg,
		   const struct runlog_kv *kv, size_t n)
{
	static const struct runlog_kv cut = { .key = "truncated",
					      .type = RUNLOG_BOOL,
					      .b = true };
	bool json = atomic_load(&l->json);
	struct line ln;

	if (!runlog__enabled(l, level))
		return;
	build(&ln, json, level, msg, SIZE_MAX, kv, n);
	/* Too long: still one valid event, with the start of its message. */
	if (ln.cut)
		build(&ln, json, level, msg, CUT_MSG_MAX, &cut, 1);
	pthread_mutex_lock(&l->lock);
	write_all(l->fd, ln.buf, ln.len);
	pthread_mutex_unlock(&l->lock);
}

static void component_log(void *ctx, enum tg_log_level level, const char *msg)
{
	struct runlog_component *c = ctx;

	runlog__log(c->log, level, msg, RL_STR("component", c->component));
}

void runlog_component__init(struct runlog_component *c, struct runlog *l,
			    const char *component)
{
	c->log = l;
	c->component = component;
	c->logger.fn = component_log;
	c->logger.ctx = c;
	c->logger.max_level = TG_LOG_DEBUG;
}
