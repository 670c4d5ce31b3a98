/* SPDX-License-Identifier: Apache-2.0 */
/* What the host's components (component.c) share: a component is its
 * config map table, its struct and its checks beyond types; the YAML
 * loader (config.c) fills and checks every one the same way. */
#ifndef TGPROF_CMD_CONFIG_COMPONENT_H
#define TGPROF_CMD_CONFIG_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/configmap.h"

/* A component the host implements: its table and its checks. */
struct host_component {
	const char *type; /* "otlphttp"; "service" for the service section */
	const struct configmap *map;
	size_t size; /* of its struct */
	/* Checks beyond types (URLs, cross-key rules); reports each problem
	 * and returns how many. Pure. */
	size_t (*check)(const void *cfg, configmap_report_fn report, void *ctx);
};

/* A struct of @c's type at its defaults; caller frees with
 * host_component__free(). NULL + errno. */
void *host_component__new(const struct host_component *c);

/* configmap__set() on @c's table: 0 or -errno with @err. */
int host_component__set(const struct host_component *c, void *cfg,
			const char *key, const char *value, char *err,
			size_t errlen);

/* configmap__validate() then @c's own checks; returns the problems. */
size_t host_component__validate(const struct host_component *c, const void *cfg,
				configmap_report_fn report, void *ctx);

/* Accepts NULL. */
void host_component__free(const struct host_component *c, void *cfg);

/* Whether key @name of @m was set in @cfg (not left at its default). */
bool host_component__is_set(const struct configmap *m, const void *cfg,
			    const char *name);

/* Reports one problem of key @key through @report (may be NULL) and
 * returns 1, for the checks to count with. */
size_t host_component__problem(configmap_report_fn report, void *ctx,
			       const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether @s is "host:port" with a port of 1..65535 ("[::1]:8888" for
 * IPv6). */
bool host_port__valid(const char *s);

/* Whether @s is an http:// or https:// URL with a host. */
bool http_url__valid(const char *s);

#endif
