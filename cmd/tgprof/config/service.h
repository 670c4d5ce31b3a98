/* SPDX-License-Identifier: Apache-2.0 */
/* The `service` section of the YAML (service.c): the pipeline, the
 * daemon's logs and metrics, the plugin path, the shutdown timeout. */
#ifndef TGPROF_CMD_CONFIG_SERVICE_H
#define TGPROF_CMD_CONFIG_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "cmd/tgprof/config/component.h"
#include "lib/configmap.h"
#include "lib/log.h"

/* service */
struct service_config {
	struct configmap_str_list receivers; /* pipelines.profiles.receivers */
	struct configmap_str_list exporters; /* pipelines.profiles.exporters */
	char *log_level; /* "error", "warn", "info", "debug" */
	char *log_encoding; /* "logfmt", "json" */
	char *metrics_address; /* "": off; else host:port */
	char *plugin; /* "": the default search */
	uint64_t shutdown_timeout_ns;
	struct configmap_marks marks;
};

extern const struct host_component host_service;

/* The log level and encoding the service section names. */
enum tg_log_level service_config__log_level(const struct service_config *c);
bool service_config__log_json(const struct service_config *c);

#endif
