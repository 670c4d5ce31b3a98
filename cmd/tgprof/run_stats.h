/* SPDX-License-Identifier: Apache-2.0 */
/* The counters of `tgprof run` (run_stats.c): the statistics of every
 * receiver and exporter summed into struct run_totals, rendered as the
 * Prometheus text of /metrics and as the stats log line. */
#ifndef TGPROF_CMD_RUN_STATS_H
#define TGPROF_CMD_RUN_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/tgprof/runlog.h"
#include "exporter/file.h"
#include "exporter/otlp_http.h"
#include "include/tgprof/receiver.h"

/* Counters, summed over receivers and exporters. */
struct run_totals {
	struct tgprof_receiver_stats rcv;
	struct otlp_http_stats http;
	struct file_exporter_stats file;
	uint64_t refused;
};

/* What /metrics says of the daemon itself. Strings borrowed. */
struct run_facts {
	bool up; /* every pipeline receiver runs */
	const char *plugin_name;
	const char *plugin_version; /* NULL: none */
	uint64_t start_unix_ns;
	uint64_t reloads;
	uint64_t reload_failures;
};

/* Adds one receiver's counters (and gauges, when @gauges: they are not
 * kept for components that are gone). */
void run_totals__add_receiver(struct run_totals *t,
			      const struct tgprof_receiver_stats *s,
			      bool gauges);
/* Adds one exporter's: its OTLP/HTTP or file statistics (NULL: not that
 * kind) and the requests it refused. */
void run_totals__add_exporter(struct run_totals *t,
			      const struct otlp_http_stats *http,
			      const struct file_exporter_stats *file,
			      uint64_t refused, bool gauges);
/* Requests dropped anywhere, for any reason. */
uint64_t run_totals__dropped(const struct run_totals *t);

/* Logs @t as one line, message @msg, at INFO. */
void run_totals__log(const struct run_totals *t, struct runlog *log,
		     const char *msg);

/* @t and @run in the Prometheus text format: the text (caller frees with
 * free()) and *@ret_len, or NULL when out of memory. */
char *run_totals__render(const struct run_totals *t,
			 const struct run_facts *run, size_t *ret_len);

#endif
