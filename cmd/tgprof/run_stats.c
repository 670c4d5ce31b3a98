// SPDX-License-Identifier: Apache-2.0
/* The counters of `tgprof run`: each receiver's and exporter's statistics
 * come in and are summed (struct run_totals), each exporter's also kept
 * by its component id; the Prometheus text that /metrics serves
 * (metrics.c, one series per configured exporter) and the periodic stats
 * log line go out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tgprof/run_stats.h"

static void add_receiver(struct tgprof_receiver_stats *t,
			 const struct tgprof_receiver_stats *s, bool gauges)
{
	t->samples += s->samples;
	t->samples_lost += s->samples_lost;
	t->events_lost += s->events_lost;
	t->samples_filtered += s->samples_filtered;
	if (gauges)
		t->processes += s->processes;
	t->new_processes += s->new_processes;
	t->execs += s->execs;
	t->group_exits += s->group_exits;
	t->symbol_cache_hits += s->symbol_cache_hits;
	t->symbol_cache_misses += s->symbol_cache_misses;
	t->frames_resolved += s->frames_resolved;
	t->frames_unresolved += s->frames_unresolved;
	t->requests += s->requests;
	t->requests_consumed += s->requests_consumed;
	t->consume_retries += s->consume_retries;
	t->requests_dropped += s->requests_dropped;
	t->request_bytes += s->request_bytes;
	t->samples_dropped += s->samples_dropped;
	t->samples_overflow += s->samples_overflow;
	t->unwind_complete += s->unwind_complete;
	t->unwind_stop_no_mapping += s->unwind_stop_no_mapping;
	t->unwind_stop_no_table += s->unwind_stop_no_table;
	t->unwind_stop_unsupported += s->unwind_stop_unsupported;
	t->unwind_stop_read_fault += s->unwind_stop_read_fault;
	t->unwind_stop_depth += s->unwind_stop_depth;
	t->unwind_stop_bad_frame += s->unwind_stop_bad_frame;
	t->unwind_stop_fp_end += s->unwind_stop_fp_end;
	t->unwind_frames_table += s->unwind_frames_table;
	t->unwind_frames_fp += s->unwind_frames_fp;
	t->unwind_walks_finished += s->unwind_walks_finished;
	if (gauges) {
		t->unwind_table_files += s->unwind_table_files;
		t->unwind_table_bytes += s->unwind_table_bytes;
	}
	t->unwind_table_evictions += s->unwind_table_evictions;
	t->unwind_compile_ns += s->unwind_compile_ns;
	t->python_samples += s->python_samples;
	t->python_frames += s->python_frames;
	t->python_read_errors += s->python_read_errors;
	t->python_truncated += s->python_truncated;
	t->python_code_evictions += s->python_code_evictions;
	t->events_repairs += s->events_repairs;
	t->off_cpu_switches += s->off_cpu_switches;
	t->off_cpu_sampled_out += s->off_cpu_sampled_out;
	t->off_cpu_no_room += s->off_cpu_no_room;
	t->off_cpu_short += s->off_cpu_short;
	t->off_cpu_sent += s->off_cpu_sent;
	t->off_cpu_lost += s->off_cpu_lost;
	t->off_cpu_samples += s->off_cpu_samples;
	t->off_cpu_ns += s->off_cpu_ns;
	t->off_cpu_replaced += s->off_cpu_replaced;
	t->off_cpu_late += s->off_cpu_late;
	if (gauges) {
		t->python_processes += s->python_processes;
		t->python_code_bytes += s->python_code_bytes;
		t->python_code_entries += s->python_code_entries;
		t->symbol_cache_bytes += s->symbol_cache_bytes;
		t->symbol_cache_files += s->symbol_cache_files;
		t->perf_map_bytes += s->perf_map_bytes;
		t->kernel_symbol_bytes += s->kernel_symbol_bytes;
		t->process_table_bytes += s->process_table_bytes;
	}
	t->symbol_cache_evictions += s->symbol_cache_evictions;
	t->process_idle_drops += s->process_idle_drops;
}

static void add_http(struct otlp_http_stats *t, const struct otlp_http_stats *s,
		     bool gauges)
{
	t->enqueued += s->enqueued;
	t->sent += s->sent;
	t->bytes_sent += s->bytes_sent;
	t->retries += s->retries;
	t->dropped_queue_full += s->dropped_queue_full;
	t->dropped_permanent += s->dropped_permanent;
	t->dropped_retries_exhausted += s->dropped_retries_exhausted;
	t->dropped_shutdown += s->dropped_shutdown;
	if (gauges)
		t->queued += s->queued;
}

static void add_file(struct file_exporter_stats *t,
		     const struct file_exporter_stats *s, bool gauges)
{
	t->enqueued += s->enqueued;
	t->written += s->written;
	t->files_written += s->files_written;
	t->bytes_written += s->bytes_written;
	t->files_removed += s->files_removed;
	t->dropped_queue_full += s->dropped_queue_full;
	t->dropped_error += s->dropped_error;
	t->dropped_shutdown += s->dropped_shutdown;
	if (gauges)
		t->queued += s->queued;
}

void run_totals__add_receiver(struct run_totals *t,
			      const struct tgprof_receiver_stats *s,
			      bool gauges)
{
	add_receiver(&t->rcv, s, gauges);
}

const struct run_exporter_totals *
run_totals__find_exporter(const struct run_totals *t, const char *id)
{
	size_t i;

	for (i = 0; i < t->nexp; i++)
		if (!strcmp(t->exp[i].id, id))
			return &t->exp[i];
	return NULL;
}

/* The entry of @id, added when new; NULL when there is no room. */
static struct run_exporter_totals *exporter_entry(struct run_totals *t,
						  const char *id,
						  enum run_exporter_kind kind)
{
	struct run_exporter_totals *e;

	e = (struct run_exporter_totals *)run_totals__find_exporter(t, id);
	if (e || t->nexp == RUN_TOTALS_EXPORTERS)
		return e;
	e = &t->exp[t->nexp++];
	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->kind = kind;
	return e;
}

void run_totals__add_exporter(struct run_totals *t, const char *id,
			      enum run_exporter_kind kind,
			      const struct otlp_http_stats *http,
			      const struct file_exporter_stats *file,
			      uint64_t refused, bool gauges)
{
	struct run_exporter_totals *e = exporter_entry(t, id, kind);

	if (http)
		add_http(&t->http, http, gauges);
	if (file)
		add_file(&t->file, file, gauges);
	t->refused += refused;
	if (!e)
		return;
	if (http)
		add_http(&e->http, http, gauges);
	if (file)
		add_file(&e->file, file, gauges);
	e->refused += refused;
}

void run_totals__carry_exporter(struct run_totals *t,
				const struct run_exporter_totals *old)
{
	struct run_exporter_totals *e = exporter_entry(t, old->id, old->kind);

	if (!e)
		return;
	add_http(&e->http, &old->http, false);
	add_file(&e->file, &old->file, false);
	e->refused += old->refused;
}

void run_totals__keep_exporters(struct run_totals *t,
				bool (*keep)(void *ctx, const char *id),
				void *ctx)
{
	size_t i, n = 0;

	for (i = 0; i < t->nexp; i++)
		if (keep(ctx, t->exp[i].id))
			t->exp[n++] = t->exp[i];
	t->nexp = n;
}

uint64_t run_totals__dropped(const struct run_totals *t)
{
	return t->rcv.requests_dropped + t->http.dropped_queue_full +
	       t->http.dropped_permanent + t->http.dropped_retries_exhausted +
	       t->http.dropped_shutdown + t->file.dropped_queue_full +
	       t->file.dropped_error + t->file.dropped_shutdown + t->refused;
}

void run_totals__log(const struct run_totals *t, struct runlog *log,
		     const char *msg)
{
	runlog__log(log, TG_LOG_INFO, msg, RL_U64("samples", t->rcv.samples),
		    RL_U64("samples_lost", t->rcv.samples_lost),
		    RL_U64("events_lost", t->rcv.events_lost),
		    RL_U64("samples_filtered", t->rcv.samples_filtered),
		    RL_U64("processes", t->rcv.processes),
		    RL_U64("new_processes", t->rcv.new_processes),
		    RL_U64("exits", t->rcv.group_exits),
		    RL_U64("symbol_hits", t->rcv.symbol_cache_hits),
		    RL_U64("symbol_misses", t->rcv.symbol_cache_misses),
		    RL_U64("requests", t->rcv.requests),
		    RL_U64("requests_consumed", t->rcv.requests_consumed),
		    RL_U64("sent", t->http.sent),
		    RL_U64("bytes_sent", t->http.bytes_sent),
		    RL_U64("files_written", t->file.files_written),
		    RL_U64("retries", t->rcv.consume_retries + t->http.retries),
		    RL_U64("dropped", run_totals__dropped(t)),
		    RL_U64("queued", t->http.queued + t->file.queued));
}

struct metric {
	const char *name;
	const char *type; /* "counter", "gauge" */
	const char *help;
	size_t offset; /* in struct run_totals */
};

#define RCV(field) offsetof(struct run_totals, rcv.field)

static const struct metric receiver_metrics[] = {
	{ "tgprof_samples_total", "counter",
	  "Samples symbolized and added to a profile.", RCV(samples) },
	{ "tgprof_samples_lost_total", "counter",
	  "Samples dropped in the kernel: ring buffer full.",
	  RCV(samples_lost) },
	{ "tgprof_events_lost_total", "counter",
	  "Exec and exit events dropped in the kernel: events ring full.",
	  RCV(events_lost) },
	{ "tgprof_events_repairs_total", "counter",
	  "Process table repairs from /proc after lost exec and exit events.",
	  RCV(events_repairs) },
	{ "tgprof_off_cpu_switches_total", "counter",
	  "Blocking switches of profiled threads seen (off_cpu).",
	  RCV(off_cpu_switches) },
	{ "tgprof_off_cpu_sampled_out_total", "counter",
	  "Blocking switches not walked: off_cpu_sampling_percent.",
	  RCV(off_cpu_sampled_out) },
	{ "tgprof_off_cpu_no_room_total", "counter",
	  "Blocking switches not kept: off_cpu_threads threads waiting.",
	  RCV(off_cpu_no_room) },
	{ "tgprof_off_cpu_short_total", "counter",
	  "Waits shorter than off_cpu_min_duration.", RCV(off_cpu_short) },
	{ "tgprof_off_cpu_replaced_total", "counter",
	  "Off-CPU waits lost: their switch back in was not seen, their end not placed.",
	  RCV(off_cpu_replaced) },
	{ "tgprof_off_cpu_late_total", "counter",
	  "Off-CPU waits whose switch back in was not seen, placed from the scheduler's statistics.",
	  RCV(off_cpu_late) },
	{ "tgprof_off_cpu_lost_total", "counter",
	  "Off-CPU samples dropped in the kernel: ring buffer full.",
	  RCV(off_cpu_lost) },
	{ "tgprof_off_cpu_samples_total", "counter",
	  "Off-CPU samples symbolized and added to a profile.",
	  RCV(off_cpu_samples) },
	{ "tgprof_off_cpu_nanoseconds_total", "counter",
	  "Time waited that off-CPU samples weigh, in nanoseconds.",
	  RCV(off_cpu_ns) },
	{ "tgprof_samples_filtered_total", "counter",
	  "Samples excluded by the receiver's filters.",
	  RCV(samples_filtered) },
	{ "tgprof_processes", "gauge", "Processes tracked now.",
	  RCV(processes) },
	{ "tgprof_processes_new_total", "counter", "Processes discovered.",
	  RCV(new_processes) },
	{ "tgprof_execs_total", "counter", "exec() calls seen.", RCV(execs) },
	{ "tgprof_process_exits_total", "counter",
	  "Processes (thread groups) that exited.", RCV(group_exits) },
	{ "tgprof_symbol_cache_hits_total", "counter",
	  "Symbol lookups answered from the cache.", RCV(symbol_cache_hits) },
	{ "tgprof_symbol_cache_misses_total", "counter",
	  "Symbol lookups that had to read a file.", RCV(symbol_cache_misses) },
	{ "tgprof_frames_resolved_total", "counter",
	  "Frames given a function name.", RCV(frames_resolved) },
	{ "tgprof_frames_unresolved_total", "counter",
	  "Frames left without a function name.", RCV(frames_unresolved) },
	{ "tgprof_profiles_total", "counter",
	  "Profiles (one request per report interval) built and offered.",
	  RCV(requests) },
	{ "tgprof_profiles_consumed_total", "counter",
	  "Profiles taken by the exporters.", RCV(requests_consumed) },
	{ "tgprof_profile_retries_total", "counter",
	  "Profiles offered again after a RETRY answer.",
	  RCV(consume_retries) },
	{ "tgprof_profiles_dropped_total", "counter",
	  "Profiles the receiver dropped: refused, or its queue full.",
	  RCV(requests_dropped) },
	{ "tgprof_profile_bytes_total", "counter",
	  "Serialized bytes of the profiles offered.", RCV(request_bytes) },
	{ "tgprof_samples_dropped_total", "counter",
	  "Samples symbolized but in no profile: over a bound of the interval.",
	  RCV(samples_dropped) },
	{ "tgprof_samples_overflow_total", "counter",
	  "Samples on the one stack that stands for stacks over the bounds.",
	  RCV(samples_overflow) },
	{ "tgprof_unwind_complete_total", "counter",
	  "User stacks walked to their outermost frame.",
	  RCV(unwind_complete) },
	{ "tgprof_unwind_stop_no_mapping_total", "counter",
	  "User stacks stopped at an address in no mapping.",
	  RCV(unwind_stop_no_mapping) },
	{ "tgprof_unwind_stop_no_table_total", "counter",
	  "User stacks stopped at a binary whose table was not loaded.",
	  RCV(unwind_stop_no_table) },
	{ "tgprof_unwind_stop_unsupported_total", "counter",
	  "User stacks stopped at call-frame rules the walk cannot follow.",
	  RCV(unwind_stop_unsupported) },
	{ "tgprof_unwind_stop_read_fault_total", "counter",
	  "User stacks stopped at unreadable stack memory.",
	  RCV(unwind_stop_read_fault) },
	{ "tgprof_unwind_stop_depth_total", "counter",
	  "User stacks cut at the frame limit.", RCV(unwind_stop_depth) },
	{ "tgprof_unwind_stop_bad_frame_total", "counter",
	  "User stacks stopped at a frame that cannot be right.",
	  RCV(unwind_stop_bad_frame) },
	{ "tgprof_unwind_stop_fp_end_total", "counter",
	  "User stacks whose frame-pointer fallback ran out.",
	  RCV(unwind_stop_fp_end) },
	{ "tgprof_unwind_frames_table_total", "counter",
	  "User frames unwound with a table row.", RCV(unwind_frames_table) },
	{ "tgprof_unwind_frames_fp_total", "counter",
	  "User frames unwound with the frame pointer.",
	  RCV(unwind_frames_fp) },
	{ "tgprof_unwind_walks_finished_total", "counter",
	  "Early samples whose walk was finished in user space.",
	  RCV(unwind_walks_finished) },
	{ "tgprof_unwind_table_files", "gauge",
	  "Binaries with unwind tables in the kernel.",
	  RCV(unwind_table_files) },
	{ "tgprof_unwind_table_bytes", "gauge",
	  "Kernel memory of the unwind tables.", RCV(unwind_table_bytes) },
	{ "tgprof_unwind_table_evictions_total", "counter",
	  "Unwind tables evicted to stay under unwind_table_memory.",
	  RCV(unwind_table_evictions) },
	{ "tgprof_unwind_compile_nanoseconds_total", "counter",
	  "CPU time spent compiling unwind tables.", RCV(unwind_compile_ns) },
	{ "tgprof_python_processes", "gauge",
	  "CPython processes whose Python frames are walked.",
	  RCV(python_processes) },
	{ "tgprof_python_samples_total", "counter",
	  "Samples with Python frames.", RCV(python_samples) },
	{ "tgprof_python_frames_total", "counter",
	  "Python frames recorded in the kernel.", RCV(python_frames) },
	{ "tgprof_python_read_errors_total", "counter",
	  "Python walks or code objects whose memory could not be read.",
	  RCV(python_read_errors) },
	{ "tgprof_python_truncated_total", "counter",
	  "Python stacks cut at 128 frames.", RCV(python_truncated) },
	{ "tgprof_python_code_bytes", "gauge",
	  "Memory of the cached Python code objects.", RCV(python_code_bytes) },
	{ "tgprof_python_code_entries", "gauge", "Python code objects cached.",
	  RCV(python_code_entries) },
	{ "tgprof_python_code_evictions_total", "counter",
	  "Python code objects dropped to stay under python_code_memory.",
	  RCV(python_code_evictions) },
	{ "tgprof_symbol_cache_bytes", "gauge",
	  "Memory of the symbol cache (held under symbol_cache_memory).",
	  RCV(symbol_cache_bytes) },
	{ "tgprof_symbol_cache_files", "gauge",
	  "Binaries whose symbols are cached.", RCV(symbol_cache_files) },
	{ "tgprof_symbol_cache_evictions_total", "counter",
	  "Binaries dropped from the symbol cache to stay in its bounds.",
	  RCV(symbol_cache_evictions) },
	{ "tgprof_perf_map_bytes", "gauge", "Memory of the JIT perf maps held.",
	  RCV(perf_map_bytes) },
	{ "tgprof_kernel_symbol_bytes", "gauge",
	  "Memory of the kernel symbol table.", RCV(kernel_symbol_bytes) },
	{ "tgprof_process_table_bytes", "gauge",
	  "Memory of the process table: processes, mappings, strings.",
	  RCV(process_table_bytes) },
	{ "tgprof_process_idle_drops_total", "counter",
	  "Idle processes whose mappings were dropped (process_idle_timeout).",
	  RCV(process_idle_drops) },
};

static void prom_header(FILE *f, const char *name, const char *type,
			const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* @id as a Prometheus label value: backslash, quote and newline
 * escaped. */
static void prom_label_value(FILE *f, const char *id)
{
	for (; *id; id++) {
		if (*id == '\\' || *id == '"')
			fputc('\\', f);
		if (*id == '\n')
			fputs("\\n", f);
		else
			fputc(*id, f);
	}
}

/* One sample of a per-exporter family: NAME{exporter="ID"[,reason="R"]}. */
static void prom_exporter(FILE *f, const char *name,
			  const struct run_exporter_totals *e,
			  const char *reason, uint64_t v)
{
	fprintf(f, "%s{exporter=\"", name);
	prom_label_value(f, e->id);
	if (reason)
		fprintf(f, "\",reason=\"%s", reason);
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

/* A reason an exporter drops profiles, and where its count is. */
struct drop_reason {
	enum run_exporter_kind kind;
	const char *reason;
	size_t offset; /* in struct run_exporter_totals */
};

#define EXP(field) offsetof(struct run_exporter_totals, field)

static const struct drop_reason drop_reasons[] = {
	{ RUN_EXPORTER_OTLP, "queue_full", EXP(http.dropped_queue_full) },
	{ RUN_EXPORTER_OTLP, "permanent", EXP(http.dropped_permanent) },
	{ RUN_EXPORTER_OTLP, "retries_exhausted",
	  EXP(http.dropped_retries_exhausted) },
	{ RUN_EXPORTER_OTLP, "shutdown", EXP(http.dropped_shutdown) },
	{ RUN_EXPORTER_FILE, "queue_full", EXP(file.dropped_queue_full) },
	{ RUN_EXPORTER_FILE, "write_error", EXP(file.dropped_error) },
	{ RUN_EXPORTER_FILE, "shutdown", EXP(file.dropped_shutdown) },
};

/* The per-exporter families: one series per exporter of @t (a family
 * that means nothing to a kind, retries of a file exporter, has none of
 * its series). */
static void render_exporters(FILE *f, const struct run_totals *t)
{
	const struct run_exporter_totals *e;
	size_t i, j;

	prom_header(f, "tgprof_export_requests_total", "counter",
		    "Profiles an exporter delivered: sent (2xx) or written.");
	for (e = t->exp; e < t->exp + t->nexp; e++)
		prom_exporter(f, "tgprof_export_requests_total", e, NULL,
			      e->kind == RUN_EXPORTER_OTLP ? e->http.sent :
							     e->file.written);
	prom_header(f, "tgprof_export_bytes_total", "counter",
		    "Bytes an exporter delivered: on the wire, or in files.");
	for (e = t->exp; e < t->exp + t->nexp; e++)
		prom_exporter(f, "tgprof_export_bytes_total", e, NULL,
			      e->kind == RUN_EXPORTER_OTLP ?
				      e->http.bytes_sent :
				      e->file.bytes_written);
	prom_header(f, "tgprof_export_retries_total", "counter",
		    "Attempts to send a profile again.");
	for (e = t->exp; e < t->exp + t->nexp; e++)
		if (e->kind == RUN_EXPORTER_OTLP)
			prom_exporter(f, "tgprof_export_retries_total", e, NULL,
				      e->http.retries);
	prom_header(f, "tgprof_export_dropped_total", "counter",
		    "Profiles an exporter dropped, by reason.");
	for (i = 0; i < t->nexp; i++) {
		e = &t->exp[i];
		for (j = 0; j < sizeof(drop_reasons) / sizeof(drop_reasons[0]);
		     j++)
			if (drop_reasons[j].kind == e->kind)
				prom_exporter(
					f, "tgprof_export_dropped_total", e,
					drop_reasons[j].reason,
					*(const uint64_t *)((const char *)e +
							    drop_reasons[j]
								    .offset));
		prom_exporter(f, "tgprof_export_dropped_total", e, "refused",
			      e->refused);
	}
	prom_header(f, "tgprof_export_queue_length", "gauge",
		    "Profiles waiting in an exporter's queue.");
	for (e = t->exp; e < t->exp + t->nexp; e++)
		prom_exporter(f, "tgprof_export_queue_length", e, NULL,
			      e->kind == RUN_EXPORTER_OTLP ? e->http.queued :
							     e->file.queued);
	prom_header(f, "tgprof_export_files_removed_total", "counter",
		    "Files a file exporter removed to keep max_files.");
	for (e = t->exp; e < t->exp + t->nexp; e++)
		if (e->kind == RUN_EXPORTER_FILE)
			prom_exporter(f, "tgprof_export_files_removed_total", e,
				      NULL, e->file.files_removed);
}

char *run_totals__render(const struct run_totals *t,
			 const struct run_facts *run, size_t *ret_len)
{
	char *buf = NULL;
	size_t i;
	FILE *f;

	f = open_memstream(&buf, ret_len);
	if (!f)
		return NULL;
	prom_header(f, "tgprof_up", "gauge",
		    "1 while every receiver of the pipeline runs, else 0.");
	fprintf(f, "tgprof_up %d\n", run->up);
	prom_header(f, "tgprof_build_info", "gauge",
		    "The versions of tgprof and of its receiver plugin.");
	fprintf(f,
		"tgprof_build_info{version=\"%s\",plugin=\"%s\",plugin_version=\"%s\"} 1\n",
		TGPROF_VERSION, run->plugin_name,
		run->plugin_version ? run->plugin_version : "");
	prom_header(f, "tgprof_start_time_seconds", "gauge",
		    "When tgprof started, in Unix seconds.");
	fprintf(f, "tgprof_start_time_seconds %.3f\n",
		run->start_unix_ns / 1e9);
	for (i = 0; i < sizeof(receiver_metrics) / sizeof(receiver_metrics[0]);
	     i++) {
		const struct metric *m = &receiver_metrics[i];

		prom_header(f, m->name, m->type, m->help);
		fprintf(f, "%s %" PRIu64 "\n", m->name,
			*(const uint64_t *)((const char *)t + m->offset));
	}
	render_exporters(f, t);
	prom_header(f, "tgprof_config_reloads_total", "counter",
		    "Configurations applied on SIGHUP.");
	fprintf(f, "tgprof_config_reloads_total %" PRIu64 "\n", run->reloads);
	prom_header(
		f, "tgprof_config_reload_failures_total", "counter",
		"Configurations rejected on SIGHUP (the running one stayed).");
	fprintf(f, "tgprof_config_reload_failures_total %" PRIu64 "\n",
		run->reload_failures);
	prom_header(f, "tgprof_metrics_connections_total", "counter",
		    "Connections accepted on the metrics port.");
	fprintf(f, "tgprof_metrics_connections_total %" PRIu64 "\n",
		run->http.connections);
	prom_header(
		f, "tgprof_metrics_connections_closed_total", "counter",
		"Connections of the metrics port closed before their answer: "
		"at the deadline from accept, or shed for a newer one.");
	fprintf(f,
		"tgprof_metrics_connections_closed_total{reason=\"deadline\"} %" PRIu64
		"\n",
		run->http.timed_out);
	fprintf(f,
		"tgprof_metrics_connections_closed_total{reason=\"shed\"} %" PRIu64
		"\n",
		run->http.shed);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
