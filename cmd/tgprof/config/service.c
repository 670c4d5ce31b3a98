// SPDX-License-Identifier: Apache-2.0
/* The `service` section of the YAML: pipelines, telemetry (logs,
 * metrics), the plugin path and the shutdown timeout; its config map
 * table and checks. */
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cmd/tgprof/config/service.h"

/* ---- service ------------------------------------------------------------- */

#define SERVICE_KEYS(X)                                                       \
	X("pipelines.profiles.receivers", receivers, STRING_LIST, NULL, 0, 0, \
	  TGPROF_CONFIG_REQUIRED,                                             \
	  "Receivers whose profiles the pipeline carries, by id "             \
	  "type[/name].",                                                     \
	  .min_items = 1, .max_items = 16, .max_len = 127,                    \
	  .example = "[tgprof]")                                              \
	X("pipelines.profiles.exporters", exporters, STRING_LIST, NULL, 0, 0, \
	  TGPROF_CONFIG_REQUIRED,                                             \
	  "Exporters every profile goes to, by id type[/name].",              \
	  .min_items = 1, .max_items = 16, .max_len = 127,                    \
	  .example = "[otlphttp, file]")                                      \
	X("telemetry.logs.level", log_level, STRING, "info", 0, 0, 0,         \
	  "Least severe log events written to stderr.",                       \
	  .choices = "error|warn|info|debug")                                 \
	X("telemetry.logs.encoding", log_encoding, STRING, "logfmt", 0, 0, 0, \
	  "One event per line, as logfmt or JSON.", .choices = "logfmt|json") \
	X("telemetry.metrics.address", metrics_address, STRING, "", 0, 0, 0,  \
	  "host:port serving self-statistics in the Prometheus text format "  \
	  "and /healthz; the host is localhost or a literal IP address of "   \
	  "this host (127.0.0.1; in Kubernetes the pod's, ${env:POD_IP}), "   \
	  "never a wildcard; empty: off.",                                    \
	  .max_len = 255)                                                     \
	X("plugin", plugin, STRING, "", 0, 0, 0,                              \
	  "Path of libtgprof_receiver.so; empty: next to the binary, then "   \
	  "the install libdir.",                                              \
	  .max_len = 1023)                                                    \
	X("shutdown_timeout", shutdown_timeout_ns, DURATION, "10s",           \
	  CONFIGMAP_MS(100), CONFIGMAP_MIN(10), 0,                            \
	  "Time to flush the last interval and send what is queued on "       \
	  "SIGTERM or SIGINT.")

#define SERVICE_FIELD(...) CONFIGMAP_FIELD(struct service_config, __VA_ARGS__)

static const struct tgprof_config_key service_keys[] = { SERVICE_KEYS(
	CONFIGMAP_KEY) };
static const struct configmap_field service_fields[] = { SERVICE_KEYS(
	SERVICE_FIELD) };
static const struct configmap service_map = {
	.keys = service_keys,
	.fields = service_fields,
	.nkeys = sizeof(service_keys) / sizeof(service_keys[0]),
	.marks_offset = offsetof(struct service_config, marks),
};

/* Whether the address @family/@addr is one of this host's interfaces. */
static bool address_of_this_host(int family, const void *addr)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			found = !memcmp(
				&((struct sockaddr_in *)i->ifa_addr)->sin_addr,
				addr, sizeof(struct in_addr));
		else
			found = !memcmp(
				&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				addr, sizeof(struct in6_addr));
	}
	freeifaddrs(ifs);
	return found;
}

/* What is wrong with the host part of a metrics address (host:port
 * already checked), or NULL: localhost, or a literal IP address of this
 * host. A name would be resolved by DNS, and a wildcard listens on every
 * interface, where anyone who reaches the node can hold the probe port. */
static const char *metrics_host_problem(const char *address)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t n;
	int family = AF_INET;

	if (*address == '[') {
		family = AF_INET6;
		address++;
		colon = strchr(address, ']');
	} else {
		colon = strrchr(address, ':');
	}
	n = colon - address;
	if (n >= sizeof(host))
		return "expected localhost or a literal IP address of this host";
	memcpy(host, address, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost"))
		return NULL;
	if (inet_pton(family, host, addr) != 1)
		return "expected localhost or a literal IP address of this host, not a name to resolve";
	if (family == AF_INET ?
		    ((struct in_addr *)addr)->s_addr == htonl(INADDR_ANY) :
		    IN6_IS_ADDR_UNSPECIFIED((struct in6_addr *)addr))
		return "expected one address, not every interface: anyone who reaches the host could hold the probe port (use 127.0.0.1, or the pod's ${env:POD_IP})";
	if (family == AF_INET ?
		    (ntohl(((struct in_addr *)addr)->s_addr) >> 24) == 127 :
		    IN6_IS_ADDR_LOOPBACK((struct in6_addr *)addr))
		return NULL;
	if (!address_of_this_host(family, addr))
		return "expected an address of this host's interfaces";
	return NULL;
}

static size_t service_check(const void *cfg, configmap_report_fn report,
			    void *ctx)
{
	const struct service_config *c = cfg;
	char got[CONFIGMAP_QUOTE_BUF];
	const char *why;

	if (!*c->metrics_address)
		return 0;
	configmap__quote(c->metrics_address, got, sizeof(got));
	if (!host_port__valid(c->metrics_address))
		return host_component__problem(
			report, ctx, "telemetry.metrics.address",
			"expected host:port (like 127.0.0.1:8888), got %s",
			got);
	why = metrics_host_problem(c->metrics_address);
	if (!why)
		return 0;
	return host_component__problem(report, ctx, "telemetry.metrics.address",
				       "%s, got %s", why, got);
}

const struct host_component host_service = {
	.type = "service",
	.map = &service_map,
	.size = sizeof(struct service_config),
	.check = service_check,
};

enum tg_log_level service_config__log_level(const struct service_config *c)
{
	if (!strcmp(c->log_level, "error"))
		return TG_LOG_ERROR;
	if (!strcmp(c->log_level, "warn"))
		return TG_LOG_WARN;
	if (!strcmp(c->log_level, "debug"))
		return TG_LOG_DEBUG;
	return TG_LOG_INFO;
}

bool service_config__log_json(const struct service_config *c)
{
	return !strcmp(c->log_encoding, "json");
}
