/* SPDX-License-Identifier: Apache-2.0 */
/* The counters of `tgprof run` (run_stats.c): the statistics of every
 * receiver and exporter summed into struct run_totals, rendered as the
 * Prometheus text of /metrics and as the stats log line. */
#ifndef TGPROF_CMD_RUN_STATS_H
#define TGPROF_CMD_RUN_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/metrics.h"
#include "cmd/tgprof/runlog.h"
#include "exporter/file.h"
#include "exporter/otlp_http.h"
#include "include/tgprof/receiver.h"

/* Exporters with counters of their own in one struct run_totals: those
 * of a configuration, and those a reload just replaced. */
#define RUN_TOTALS_EXPORTERS (2 * CONFIG_MAX_COMPONENTS)

enum run_exporter_kind { RUN_EXPORTER_OTLP, RUN_EXPORTER_FILE };

/* One exporter's counters, known by its component id: what /metrics
 * labels exporter="otlphttp/pyroscope". */
struct run_exporter_totals {
	char id[CONFIG_ID_MAX + 1];
	enum run_exporter_kind kind;
	struct otlp_http_stats http; /* RUN_EXPORTER_OTLP */
	struct file_exporter_stats file; /* RUN_EXPORTER_FILE */
	uint64_t refused; /* requests it could not queue */
};

/* Counters, summed over receivers and exporters, and each exporter's. */
struct run_totals {
	struct tgprof_receiver_stats rcv;
	struct otlp_http_stats http;
	struct file_exporter_stats file;
	uint64_t refused;
	/* Each exporter's, in the order they were first added; one entry
	 * per id. The sums above count every exporter, even one that found
	 * no room here. */
	struct run_exporter_totals exp[RUN_TOTALS_EXPORTERS];
	size_t nexp;
};

/* What /metrics says of the daemon itself. Strings borrowed. */
struct run_facts {
	bool up; /* every pipeline receiver runs */
	const char *plugin_name;
	const char *plugin_version; /* NULL: none */
	uint64_t start_unix_ns;
	uint64_t reloads;
	uint64_t reload_failures;
	struct metrics_server_stats http; /* the metrics port's connections */
};

/* Adds one receiver's counters (and gauges, when @gauges: they are not
 * kept for components that are gone). */
void run_totals__add_receiver(struct run_totals *t,
			      const struct tgprof_receiver_stats *s,
			      bool gauges);
/* Adds one exporter's, exporter @id of @kind: its OTLP/HTTP or file
 * statistics (NULL: none, as a file exporter with no format has) and the
 * requests it refused, to the sums and to its own entry. */
void run_totals__add_exporter(struct run_totals *t, const char *id,
			      enum run_exporter_kind kind,
			      const struct otlp_http_stats *http,
			      const struct file_exporter_stats *file,
			      uint64_t refused, bool gauges);
/* Adds the counters of @e (an exporter of earlier totals) to the entry of
 * the same id in @t, not to the sums: what keeps an exporter's counters
 * from going back when a reload replaces it by one of the same id. */
void run_totals__carry_exporter(struct run_totals *t,
				const struct run_exporter_totals *e);
/* The entry of exporter @id in @t, or NULL. Borrowed. */
const struct run_exporter_totals *
run_totals__find_exporter(const struct run_totals *t, const char *id);
/* Drops the entries of @t whose id @keep(@ctx, id) refuses (the sums
 * stay). */
void run_totals__keep_exporters(struct run_totals *t,
				bool (*keep)(void *ctx, const char *id),
				void *ctx);
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
