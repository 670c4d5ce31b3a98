// SPDX-License-Identifier: Apache-2.0
/* What every component the host implements has in common: its struct
 * made from its config map's defaults, set key by key from the YAML,
 * validated by the map and its own checks, freed; and the checks that
 * more than one component makes (addresses, URLs). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/tgprof/config/component.h"

bool host_component__is_set(const struct configmap *m, const void *cfg,
			    const char *name)
{
	int idx = configmap__find(m->keys, m->nkeys, name);

	return idx >= 0 && configmap__is_set(m, cfg, idx);
}

size_t host_component__problem(configmap_report_fn report, void *ctx,
			       const char *key, const char *fmt, ...)
{
	char msg[CONFIGMAP_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (report)
		report(ctx, key, msg);
	return 1;
}

/* A host name or an IPv4 address: letters, digits, '-', '.', '_'. */
static bool good_host(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 253)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-._", s[i]))
			return false;
	return true;
}

/* "[v6]": hex digits, ':' and '.' inside brackets. */
static bool good_ipv6(const char *s, size_t len)
{
	size_t i;

	if (len < 4 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i + 1 < len; i++)
		if (!isxdigit((unsigned char)s[i]) && !strchr(":.", s[i]))
			return false;
	return true;
}

static bool good_port(const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 5)
		return false;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* host[:port] (port required when @need_port). */
static bool good_authority(const char *s, size_t len, bool need_port)
{
	const char *colon;
	size_t hl;

	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (!close)
			return false;
		hl = close - s + 1;
		if (!good_ipv6(s, hl))
			return false;
		if (hl == len)
			return !need_port;
		return s[hl] == ':' && good_port(s + hl + 1, len - hl - 1);
	}
	colon = memchr(s, ':', len);
	if (!colon)
		return !need_port && good_host(s, len);
	hl = colon - s;
	return good_host(s, hl) && good_port(colon + 1, len - hl - 1);
}

bool host_port__valid(const char *s)
{
	return good_authority(s, strlen(s), true);
}

bool http_url__valid(const char *s)
{
	size_t skip, alen;
	const char *a;

	if (!strncasecmp(s, "http://", 7))
		skip = 7;
	else if (!strncasecmp(s, "https://", 8))
		skip = 8;
	else
		return false;
	a = s + skip;
	alen = strcspn(a, "/");
	if (!good_authority(a, alen, false))
		return false;
	/* A path prefix may follow; no query, fragment, spaces or
	 * credentials (those go in headers). */
	return !strpbrk(a, "?# \t\r\n@");
}

void *host_component__new(const struct host_component *c)
{
	char err[CONFIGMAP_ERR_MAX];
	void *cfg = calloc(1, c->size);
	int ret;

	if (!cfg)
		return NULL;
	ret = configmap__init(c->map, cfg, err, sizeof(err));
	if (ret) {
		host_component__free(c, cfg);
		errno = -ret;
		return NULL;
	}
	return cfg;
}

int host_component__set(const struct host_component *c, void *cfg,
			const char *key, const char *value, char *err,
			size_t errlen)
{
	return configmap__set(c->map, cfg, key, value, err, errlen);
}

struct count_ctx {
	configmap_report_fn report;
	void *ctx;
	size_t n;
};

static void count_report(void *ctx, const char *key, const char *msg)
{
	struct count_ctx *cc = ctx;

	cc->n++;
	if (cc->report)
		cc->report(cc->ctx, key, msg);
}

size_t host_component__validate(const struct host_component *c, const void *cfg,
				configmap_report_fn report, void *ctx)
{
	struct count_ctx cc = { .report = report, .ctx = ctx };

	configmap__validate(c->map, cfg, count_report, &cc);
	if (c->check)
		c->check(cfg, count_report, &cc);
	return cc.n;
}

void host_component__free(const struct host_component *c, void *cfg)
{
	if (!c || !cfg)
		return;
	configmap__release(c->map, cfg);
	free(cfg);
}
