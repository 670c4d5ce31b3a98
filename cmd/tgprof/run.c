// SPDX-License-Identifier: Apache-2.0
/* `tgprof run --config FILE`: the daemon. Loads the receiver plugin and the
 * collector-style config, wires each pipeline receiver to every pipeline
 * exporter (the consumer callback fans a request out to their queues),
 * and runs until SIGTERM or SIGINT (graceful: the receivers' last interval
 * is offered and the exporters' queues drained within
 * service.shutdown_timeout). SIGHUP reloads the file: a config that fails
 * to load keeps the running one; a good one replaces receivers and
 * exporters, the old ones flushed. Signals arrive through a signalfd read
 * by the main thread, which alone calls the plugin's callbacks (the
 * receivers' threads only call back into the consumer, status and log).
 *
 * The consumer answers, for one request:
 *   OK         at least one exporter queued it (an exporter that could not
 *              counts it as refused: a drop);
 *   RETRY      none could, for lack of memory: the receiver offers it again;
 *   PERMANENT  none could for another reason (none is left to take it).
 * The exporters then own their copies: the OTLP/HTTP exporter retries what
 * the collector asks it to, the file exporter drops what it cannot write. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/hostlog.h"
#include "cmd/tgprof/losslog.h"
#include "cmd/tgprof/metrics.h"
#include "cmd/tgprof/plugin_load.h"
#include "cmd/tgprof/run_stats.h"
#include "cmd/tgprof/runlog.h"
#include "cmd/tgprof/tgprof.h"
#include "cmd/tgprof/config/yamltree.h"
#include "exporter/file.h"
#include "exporter/otlp_http.h"
#include "lib/clock.h"

#define RUN_DEFAULT_PERIOD_NS (5 * NSEC_PER_SEC)
/* /metrics is this fresh; losses are looked for as often. */
#define RUN_SNAPSHOT_NS NSEC_PER_SEC
#define RUN_COMPONENT_MAX (CONFIG_ID_MAX + 16) /* "exporters.ID" */

struct run;
struct run_gen;

struct run_receiver {
	struct run *run;
	struct run_gen *gen;
	const struct config_receiver *conf; /* borrowed from gen->cfg */
	char component[RUN_COMPONENT_MAX]; /* "receivers.tgprof" */
	struct tgprof_host host; /* lent to the receiver */
	struct tgprof_receiver *r;
	bool started;
	_Atomic int status; /* enum tgprof_status; 0: none reported */
};

struct run_exporter {
	const struct config_exporter *conf; /* borrowed from gen->cfg */
	char component[RUN_COMPONENT_MAX]; /* "exporters.otlphttp" */
	enum run_exporter_kind kind;
	struct runlog_component log;
	struct otlp_http *http;
	struct file_exporter *file;
	_Atomic uint64_t refused; /* requests it could not queue */
};

/* One configuration at work: what a reload replaces. */
struct run_gen {
	struct config *cfg; /* owned */
	struct run_receiver rcv[CONFIG_MAX_COMPONENTS];
	size_t nrcv;
	struct run_exporter exp[CONFIG_MAX_COMPONENTS];
	size_t nexp;
	uint64_t period_ns; /* statistics: the shortest report interval */
};

struct run {
	struct runlog log;
	/* component=tgprof: what no configured component says (libbpf, the
	 * metrics server). */
	struct runlog_component own;
	struct host_log libbpf_hook; /* main.c's route, onto our log */
	struct plugin_handle plugin;
	bool plugin_from_config; /* service.plugin chose it */
	const char *config_path;
	struct run_gen *gen;
	/* Counters of receivers and exporters already gone, so that totals
	 * never go back (Prometheus counters). Gauges are not kept. Each
	 * exporter's own only while an exporter of its id is configured. */
	struct run_totals retired;
	uint64_t reloads;
	uint64_t reload_failures;
	struct metrics_server *metrics;
	/* The counters of metrics servers a reload replaced. */
	struct metrics_server_stats metrics_retired;
	char metrics_address[256];
	uint64_t start_unix_ns;
	struct losslog losses; /* every kind of loss, rate-limited */
};

static const char *status_name(int st)
{
	switch (st) {
	case TGPROF_STATUS_STARTING:
		return "starting";
	case TGPROF_STATUS_OK:
		return "ok";
	case TGPROF_STATUS_RECOVERABLE_ERROR:
		return "recoverable_error";
	case TGPROF_STATUS_PERMANENT_ERROR:
		return "permanent_error";
	case TGPROF_STATUS_STOPPING:
		return "stopping";
	case TGPROF_STATUS_STOPPED:
		return "stopped";
	}
	return "none";
}

/* ---- the host services lent to each receiver ------------------------- */

static void host_log_cb(void *ctx, enum tgprof_log_level level, const char *msg)
{
	struct run_receiver *rr = ctx;
	enum tg_log_level lvl = level > TGPROF_LOG_DEBUG ?
					TG_LOG_DEBUG :
					(enum tg_log_level)level;

	runlog__log(&rr->run->log, lvl, msg ? msg : "",
		    RL_STR("component", rr->component));
}

static void host_status_cb(void *ctx, enum tgprof_status status,
			   const char *msg)
{
	struct run_receiver *rr = ctx;
	enum tg_log_level level = TG_LOG_DEBUG;

	atomic_store(&rr->status, (int)status);
	if (status == TGPROF_STATUS_PERMANENT_ERROR)
		level = TG_LOG_ERROR;
	else if (status == TGPROF_STATUS_RECOVERABLE_ERROR)
		level = TG_LOG_WARN;
	runlog__log(&rr->run->log, level, "receiver status",
		    RL_STR("component", rr->component),
		    RL_STR("status", status_name(status)),
		    RL_STR("reason", msg ? msg : ""));
}

static int exporter_submit(struct run_exporter *re, const void *req, size_t len)
{
	if (re->kind == RUN_EXPORTER_FILE && !re->file)
		return 0; /* no format to write */
	if (re->kind == RUN_EXPORTER_OTLP)
		return otlp_http__submit(re->http, req, len);
	return file_exporter__submit(re->file, req, len);
}

/* Called from the receiver's thread (or the main thread in shutdown).
 * Touches only the exporters' queues and atomics: see the top. */
static enum tgprof_consume_result host_consume_cb(void *ctx, const void *req,
						  size_t len)
{
	struct run_receiver *rr = ctx;
	struct run_gen *g = rr->gen;
	size_t i, taken = 0, nomem = 0;
	int err;

	for (i = 0; i < g->nexp; i++) {
		struct run_exporter *re = &g->exp[i];

		err = exporter_submit(re, req, len);
		if (!err) {
			taken++;
			continue;
		}
		if (err == -ENOMEM)
			nomem++;
		atomic_fetch_add(&re->refused, 1);
		runlog__log(&rr->run->log, TG_LOG_WARN,
			    "exporter refused a profile",
			    RL_STR("component", re->component),
			    RL_STR("error", strerror(-err)));
	}
	if (taken || !g->nexp)
		return TGPROF_CONSUME_OK;
	return nomem ? TGPROF_CONSUME_RETRY : TGPROF_CONSUME_PERMANENT;
}

/* ---- statistics ---------------------------------------------------------- */

static void receiver_stats(const struct run_receiver *rr,
			   struct tgprof_receiver_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	if (rr->r && rr->conf->plugin->stats(rr->r, st))
		memset(st, 0, sizeof(*st));
}

/* The counters of one exporter into @t. */
static void exporter_stats(const struct run_exporter *re, struct run_totals *t,
			   bool gauges)
{
	struct otlp_http_stats hs;
	struct file_exporter_stats fs;

	if (re->http)
		otlp_http__stats(re->http, &hs);
	if (re->file)
		file_exporter__stats(re->file, &fs);
	run_totals__add_exporter(t, re->conf->id, re->kind,
				 re->http ? &hs : NULL, re->file ? &fs : NULL,
				 atomic_load(&re->refused), gauges);
}

/* What is gone (retired), plus what runs now: each configured exporter
 * with what its predecessors of the same id counted. */
static void totals__collect(const struct run *run, struct run_totals *t)
{
	struct tgprof_receiver_stats st;
	const struct run_exporter_totals *old;
	const struct run_gen *g = run->gen;
	size_t i;

	*t = run->retired;
	t->nexp = 0;
	for (i = 0; g && i < g->nrcv; i++) {
		receiver_stats(&g->rcv[i], &st);
		run_totals__add_receiver(t, &st, true);
	}
	for (i = 0; g && i < g->nexp; i++) {
		old = run_totals__find_exporter(&run->retired,
						g->exp[i].conf->id);
		if (old)
			run_totals__carry_exporter(t, old);
		exporter_stats(&g->exp[i], t, true);
	}
}

static bool configured(void *ctx, const char *id)
{
	const struct run_gen *g = ctx;
	size_t i;

	for (i = 0; g && i < g->nexp; i++)
		if (!strcmp(g->exp[i].conf->id, id))
			return true;
	return false;
}

/* Whether every pipeline receiver runs. */
static bool healthy(const struct run *run)
{
	const struct run_gen *g = run->gen;
	size_t i;

	if (!g || !g->nrcv)
		return false;
	for (i = 0; i < g->nrcv; i++) {
		int st = atomic_load(&g->rcv[i].status);

		if (!g->rcv[i].started || st == TGPROF_STATUS_PERMANENT_ERROR ||
		    st == TGPROF_STATUS_STOPPING || st == TGPROF_STATUS_STOPPED)
			return false;
	}
	return true;
}

static void log_stats(struct run *run, const char *msg)
{
	struct run_totals t;

	totals__collect(run, &t);
	run_totals__log(&t, &run->log, msg);
}

/* A new body and health for the metrics server, from @t. */
static void publish_totals(struct run *run, const struct run_totals *t)
{
	struct run_facts facts = {
		.plugin_name = run->plugin.desc->name,
		.plugin_version = run->plugin.desc->version,
		.start_unix_ns = run->start_unix_ns,
		.reloads = run->reloads,
		.reload_failures = run->reload_failures,
	};
	size_t len = 0;
	char *body;

	if (!run->metrics)
		return;
	facts.up = healthy(run);
	facts.http = run->metrics_retired;
	metrics_server__stats(run->metrics, &facts.http);
	body = run_totals__render(t, &facts, &len);
	/* Without memory for a new body, the old one stays, health is new. */
	metrics_server__publish(run->metrics, body, len, facts.up);
	free(body);
}

static void publish(struct run *run)
{
	struct run_totals t;

	if (!run->metrics)
		return;
	totals__collect(run, &t);
	publish_totals(run, &t);
}

/* Each loss counter of @t into the rate-limited warnings; @flush at the
 * end says what is left unsaid. */
static void note_losses(struct run *run, const struct run_totals *t, bool flush)
{
	const uint64_t now = clock_ns(CLOCK_MONOTONIC);
	const struct run_exporter_totals *e;
	char comp[RUN_COMPONENT_MAX];
	struct losslog *l = &run->losses;

	losslog__note(l, "kernel ring buffer full: samples lost", "receivers",
		      t->rcv.samples_lost, now, flush);
	losslog__note(
		l,
		"kernel events ring full: process events lost (process table repaired from /proc)",
		"receivers", t->rcv.events_lost, now, flush);
	losslog__note(l, "kernel ring buffer full: off-CPU samples lost",
		      "receivers", t->rcv.off_cpu_lost, now, flush);
	losslog__note(
		l,
		"off-CPU waits lost: their switch back in was not seen, their end not placed",
		"receivers", t->rcv.off_cpu_replaced, now, flush);
	losslog__note(
		l,
		"off-CPU waits not kept: off_cpu_threads threads already waiting",
		"receivers", t->rcv.off_cpu_no_room, now, flush);
	losslog__note(
		l,
		"samples dropped: over the profile's bounds or out of memory",
		"receivers", t->rcv.samples_dropped, now, flush);
	losslog__note(
		l,
		"profiles dropped by the receiver: refused, retries given up, queue full or shutdown",
		"receivers", t->rcv.requests_dropped, now, flush);
	for (e = t->exp; e < t->exp + t->nexp; e++) {
		snprintf(comp, sizeof(comp), "exporters.%.*s", CONFIG_ID_MAX,
			 e->id);
		losslog__note(l, "exporter refused profiles: profiles dropped",
			      comp, e->refused, now, flush);
		if (e->kind == RUN_EXPORTER_FILE) {
			losslog__note(l, "export queue full: profiles dropped",
				      comp, e->file.dropped_queue_full, now,
				      flush);
			losslog__note(l, "file write failed: profiles dropped",
				      comp, e->file.dropped_error, now, flush);
			losslog__note(
				l,
				"export queue not drained at shutdown: profiles dropped",
				comp, e->file.dropped_shutdown, now, flush);
			continue;
		}
		losslog__note(l, "export queue full: profiles dropped", comp,
			      e->http.dropped_queue_full, now, flush);
		losslog__note(l, "export failed permanently: profiles dropped",
			      comp, e->http.dropped_permanent, now, flush);
		losslog__note(l, "export retries exhausted: profiles dropped",
			      comp, e->http.dropped_retries_exhausted, now,
			      flush);
		losslog__note(
			l,
			"export queue not drained at shutdown: profiles dropped",
			comp, e->http.dropped_shutdown, now, flush);
	}
}

/* Once per RUN_SNAPSHOT_NS: /metrics and the loss warnings. */
static void tick(struct run *run)
{
	struct run_totals t;

	totals__collect(run, &t);
	publish_totals(run, &t);
	note_losses(run, &t, false);
}

/* ---- a generation: receivers and exporters of one config ----------------- */

static int exporter_create(struct run *run, struct run_exporter *re)
{
	const struct config_exporter *ce = re->conf;

	runlog_component__init(&re->log, &run->log, re->component);
	if (!strcmp(ce->component->type, "otlphttp") ||
	    !strcmp(ce->component->type, "otlp")) {
		struct otlp_http_header headers[OTLP_HTTP_MAX_HEADERS];
		struct otlp_http_opts o;
		int err;

		re->kind = RUN_EXPORTER_OTLP;
		err = otlphttp_config__opts(
			ce->cfg, !strcmp(ce->component->type, "otlp"), &o,
			headers, OTLP_HTTP_MAX_HEADERS);
		if (err)
			return err;
		re->http = otlp_http__new(&o, &re->log.logger);
		return re->http ? 0 : -errno;
	}
	if (!strcmp(ce->component->type, "file")) {
		const struct file_config *fc = ce->cfg;
		struct file_exporter_opts o = { .sz = sizeof(o) };
		size_t i;

		re->kind = RUN_EXPORTER_FILE;
		for (i = 0; i < fc->formats.n; i++)
			o.formats |= file_format__parse(fc->formats.items[i]);
		/* An empty list writes nothing: not "every format". */
		if (!o.formats)
			return 0;
		o.directory = fc->directory;
		o.max_files = fc->max_files;
		re->file = file_exporter__new(&o, &re->log.logger);
		return re->file ? 0 : -errno;
	}
	return -EINVAL;
}

static int receiver_create(struct run *run, struct run_gen *g,
			   struct run_receiver *rr)
{
	const struct tgprof_plugin *p = rr->conf->plugin;

	rr->run = run;
	rr->gen = g;
	atomic_store(&rr->status, 0);
	rr->started = false;
	rr->host = (struct tgprof_host){
		.sz = sizeof(rr->host),
		.abi_major = TGPROF_ABI_MAJOR,
		.abi_minor = TGPROF_ABI_MINOR,
		.ctx = rr,
		.log = host_log_cb,
		.report_status = host_status_cb,
		.consume_profiles = host_consume_cb,
	};
	rr->r = p->create(rr->conf->cfg, &rr->host);
	if (!rr->r) {
		int err = errno ? -errno : -ENOMEM;

		runlog__log(&run->log, TG_LOG_ERROR, "cannot create receiver",
			    RL_STR("component", rr->component),
			    RL_STR("error", strerror(-err)));
		return err;
	}
	return 0;
}

/* Keeps @rr's final counters in run->retired, then destroys it. */
static void receiver_retire(struct run *run, struct run_receiver *rr)
{
	struct tgprof_receiver_stats st;

	if (!rr->r)
		return;
	receiver_stats(rr, &st);
	run_totals__add_receiver(&run->retired, &st, false);
	rr->conf->plugin->destroy(rr->r);
	rr->r = NULL;
	rr->started = false;
}

static void exporter_retire(struct run *run, struct run_exporter *re)
{
	exporter_stats(re, &run->retired, false);
	otlp_http__free(re->http, 0);
	file_exporter__free(re->file, 0);
	re->http = NULL;
	re->file = NULL;
	atomic_store(&re->refused, 0);
}

static void gen_free(struct run *run, struct run_gen *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->nrcv; i++)
		receiver_retire(run, &g->rcv[i]);
	for (i = 0; i < g->nexp; i++)
		exporter_retire(run, &g->exp[i]);
	/* An exporter no longer configured has no series any more: what
	 * the retired keep stays bounded by two configurations. */
	run_totals__keep_exporters(&run->retired, configured, run->gen);
	config__free(g->cfg);
	free(g);
}

/* Creates the exporters and receivers that @cfg's pipeline names (taking
 * @cfg), none started. 0 and *ret, or -errno (logged). */
static int gen_new(struct run *run, struct config *cfg, uint64_t period_ns,
		   struct run_gen **ret)
{
	const struct service_config *sc = cfg->service;
	struct run_gen *g;
	size_t i;
	int err = 0;

	g = calloc(1, sizeof(*g));
	if (!g) {
		config__free(cfg);
		return -ENOMEM;
	}
	g->cfg = cfg;
	g->period_ns = period_ns;
	for (i = 0; i < sc->exporters.n; i++) {
		struct run_exporter *re = &g->exp[g->nexp];

		re->conf = config__exporter(cfg, sc->exporters.items[i]);
		snprintf(re->component, sizeof(re->component), "exporters.%s",
			 re->conf->id);
		g->nexp++;
		err = exporter_create(run, re);
		if (err) {
			runlog__log(&run->log, TG_LOG_ERROR,
				    "cannot create exporter",
				    RL_STR("component", re->component),
				    RL_STR("error", strerror(-err)));
			goto err_free;
		}
	}
	for (i = 0; i < sc->receivers.n; i++) {
		struct run_receiver *rr = &g->rcv[g->nrcv];

		rr->conf = config__receiver(cfg, sc->receivers.items[i]);
		snprintf(rr->component, sizeof(rr->component), "receivers.%s",
			 rr->conf->id);
		g->nrcv++;
		err = receiver_create(run, g, rr);
		if (err)
			goto err_free;
	}
	*ret = g;
	return 0;

err_free:
	gen_free(run, g);
	return err;
}

/* Shuts the started receivers down by @deadline_ns (CLOCK_MONOTONIC):
 * each offers its last interval to the exporters, still running. */
static void gen_stop_receivers(struct run *run, struct run_gen *g,
			       uint64_t deadline_ns)
{
	uint64_t now;
	size_t i;
	int err;

	for (i = 0; i < g->nrcv; i++) {
		struct run_receiver *rr = &g->rcv[i];

		if (!rr->r)
			continue;
		now = clock_ns(CLOCK_MONOTONIC);
		err = rr->conf->plugin->shutdown(
			rr->r, deadline_ns > now ? deadline_ns - now : 0);
		if (err)
			runlog__log(&run->log, TG_LOG_WARN,
				    "receiver shutdown incomplete",
				    RL_STR("component", rr->component),
				    RL_STR("error", strerror(-err)));
		rr->started = false;
	}
}

/* Starts every receiver. On a failure, stops those started. */
static int gen_start(struct run *run, struct run_gen *g, uint64_t timeout_ns)
{
	size_t i;
	int err;

	for (i = 0; i < g->nrcv; i++) {
		struct run_receiver *rr = &g->rcv[i];

		err = rr->conf->plugin->start(rr->r);
		if (err) {
			runlog__log(&run->log, TG_LOG_ERROR,
				    "cannot start receiver",
				    RL_STR("component", rr->component),
				    RL_STR("error", strerror(-err)));
			gen_stop_receivers(
				run, g, clock_ns(CLOCK_MONOTONIC) + timeout_ns);
			return err;
		}
		rr->started = true;
	}
	return 0;
}

/* Fresh receivers for @g after a shutdown (a receiver is started once). */
static int gen_recreate_receivers(struct run *run, struct run_gen *g)
{
	size_t i;
	int err;

	for (i = 0; i < g->nrcv; i++) {
		receiver_retire(run, &g->rcv[i]);
		err = receiver_create(run, g, &g->rcv[i]);
		if (err)
			return err;
	}
	return 0;
}

struct drain {
	struct run_exporter *re;
	uint64_t timeout_ns;
	int err;
	pthread_t thread;
	bool threaded;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;

	if (d->re->http)
		d->err = otlp_http__shutdown(d->re->http, d->timeout_ns);
	else if (d->re->file)
		d->err = file_exporter__shutdown(d->re->file, d->timeout_ns);
	return NULL;
}

/* Drains every exporter's queue at once, each within what is left until
 * @deadline_ns; what is still queued then is dropped and counted. */
static void gen_drain_exporters(struct run *run, struct run_gen *g,
				uint64_t deadline_ns)
{
	struct drain d[CONFIG_MAX_COMPONENTS];
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	size_t i;

	for (i = 0; i < g->nexp; i++) {
		d[i] = (struct drain){
			.re = &g->exp[i],
			.timeout_ns = deadline_ns > now ? deadline_ns - now : 0,
		};
		d[i].threaded =
			!pthread_create(&d[i].thread, NULL, drain_main, &d[i]);
		if (!d[i].threaded)
			drain_main(&d[i]);
	}
	for (i = 0; i < g->nexp; i++) {
		if (d[i].threaded)
			pthread_join(d[i].thread, NULL);
		if (d[i].err)
			runlog__log(&run->log, TG_LOG_WARN,
				    "exporter queue not drained in time",
				    RL_STR("component", g->exp[i].component),
				    RL_STR("error", strerror(-d[i].err)));
	}
}

/* ---- the configuration --------------------------------------------------- */

/* How often the statistics line is logged: the shortest report_interval
 * of the pipeline's receivers (read from the file as the loader did; the
 * plugin's config is opaque), else the key's default. */
static uint64_t stats_period(const char *buf, size_t len,
			     const struct config *cfg,
			     const struct tgprof_plugin *p)
{
	uint64_t def = RUN_DEFAULT_PERIOD_NS, best = UINT64_MAX, v;
	const struct ynode *rcvs = NULL;
	struct ytree *tree = NULL;
	struct ytree_error e;
	char err[256];
	size_t i;
	int k;

	k = configmap__find(p->config_keys, p->config_nkeys, "report_interval");
	if (k >= 0 && p->config_keys[k].default_value)
		configmap__parse_duration(p->config_keys[k].default_value,
					  &def);
	if (!ytree__parse(buf, len, &tree, &e))
		rcvs = ynode__get(tree->root, "receivers");
	for (i = 0; i < cfg->service->receivers.n; i++) {
		const struct ynode *n = ynode__get(
			ynode__get(rcvs, cfg->service->receivers.items[i]),
			"report_interval");
		char *text = NULL;

		v = def;
		if (n && n->kind == YNODE_SCALAR && !ynode__is_null(n))
			text = config__expand_env(n->text, err, sizeof(err));
		if (text && configmap__parse_duration(text, &v))
			v = def;
		free(text);
		if (v && v < best)
			best = v;
	}
	ytree__free(tree);
	return best == UINT64_MAX ? def : best;
}

/*
 * Reads and checks the config file. Every problem is logged at error.
 * 0 and *ret (caller frees) with its statistics period, -EINVAL (the file
 * is wrong), or the -errno of a file that cannot be read, -ENOMEM.
 */
static int load_config(struct run *run, struct config **ret,
		       uint64_t *ret_period)
{
	const struct tgprof_plugin *plugins[1] = { run->plugin.desc };
	struct config_problems *problems;
	struct config *cfg = NULL;
	size_t len = 0, i;
	char *buf = NULL;
	int err;

	err = config__read_file(run->config_path, &buf, &len);
	if (err) {
		runlog__log(&run->log, TG_LOG_ERROR,
			    "cannot read the configuration",
			    RL_STR("file", run->config_path),
			    RL_STR("error", err == -EFBIG ?
						    "larger than 1 MiB" :
						    strerror(-err)));
		return err == -ENOMEM ? err : -EINVAL;
	}
	problems = calloc(1, sizeof(*problems));
	if (!problems) {
		free(buf);
		return -ENOMEM;
	}
	err = config__load_buffer(run->config_path, buf, len, plugins, 1, &cfg,
				  problems);
	for (i = 0; i < problems->n; i++)
		runlog__msg(&run->log, TG_LOG_ERROR, problems->items[i].text);
	if (err && err != -ENOMEM)
		runlog__log(&run->log, TG_LOG_ERROR, "invalid configuration",
			    RL_STR("file", run->config_path),
			    RL_U64("problems",
				   problems->n + problems->dropped));
	config_problems__release(problems);
	free(problems);
	if (!err) {
		*ret_period = stats_period(buf, len, cfg, run->plugin.desc);
		*ret = cfg;
	}
	free(buf);
	return err;
}

static void apply_log_settings(struct run *run, const struct service_config *s)
{
	runlog__set(&run->log, service_config__log_level(s),
		    service_config__log_json(s));
}

/* ---- reload -------------------------------------------------------------- */

static void reload_rejected(struct run *run, const char *why)
{
	run->reload_failures++;
	runlog__log(&run->log, TG_LOG_ERROR,
		    "reload rejected: the running configuration stays",
		    RL_STR("file", run->config_path), RL_STR("reason", why));
}

/* The old receivers are stopped: start the new ones, or, when they fail,
 * start the old configuration again. 0, or -errno when neither runs. */
static int reload_switch(struct run *run, struct run_gen *old,
			 struct run_gen *new, uint64_t timeout_ns)
{
	int err;

	err = gen_start(run, new, timeout_ns);
	if (!err)
		return 0;
	runlog__msg(
		&run->log, TG_LOG_ERROR,
		"the new configuration's receivers did not start; starting the running configuration's again");
	err = gen_recreate_receivers(run, old);
	if (!err)
		err = gen_start(run, old, timeout_ns);
	return err ? err : 1;
}

/* SIGHUP. 0 when the running configuration goes on (new or old); -errno
 * when nothing runs any more (the daemon ends). */
static int reload(struct run *run)
{
	struct run_gen *old = run->gen, *new = NULL;
	struct metrics_server *metrics = NULL;
	uint64_t period, timeout = old->cfg->service->shutdown_timeout_ns;
	const struct service_config *sc;
	struct config *cfg;
	bool new_metrics;
	int err;

	runlog__log(&run->log, TG_LOG_INFO, "reloading the configuration",
		    RL_STR("file", run->config_path));
	err = load_config(run, &cfg, &period);
	if (err) {
		reload_rejected(run, err == -ENOMEM ? "out of memory" :
						      "invalid configuration");
		return 0;
	}
	sc = cfg->service;
	if (run->plugin_from_config && strcmp(sc->plugin, run->plugin.path) &&
	    *sc->plugin)
		runlog__log(
			&run->log, TG_LOG_WARN,
			"service.plugin changed: the loaded plugin stays until tgprof restarts",
			RL_STR("loaded", run->plugin.path),
			RL_STR("configured", sc->plugin));
	new_metrics = strcmp(sc->metrics_address, run->metrics_address);
	if (new_metrics && *sc->metrics_address) {
		metrics = metrics_server__new(sc->metrics_address,
					      &run->own.logger);
		if (!metrics) {
			config__free(cfg);
			reload_rejected(run, "cannot serve metrics");
			return 0;
		}
	}
	err = gen_new(run, cfg, period, &new);
	if (err) {
		metrics_server__free(metrics);
		reload_rejected(run, "cannot create its components");
		return 0;
	}

	/* The old receivers' last intervals go to the old exporters. */
	gen_stop_receivers(run, old, clock_ns(CLOCK_MONOTONIC) + timeout);
	err = reload_switch(run, old, new, timeout);
	if (err) {
		gen_free(run, new);
		metrics_server__free(metrics);
		if (err < 0) {
			runlog__msg(&run->log, TG_LOG_ERROR,
				    "no configuration runs any more");
			return err;
		}
		reload_rejected(run, "its receivers did not start");
		return 0;
	}
	run->gen = new;
	gen_drain_exporters(run, old, clock_ns(CLOCK_MONOTONIC) + timeout);
	gen_free(run, old);
	apply_log_settings(run, sc);
	if (new_metrics) {
		metrics_server__stats(run->metrics, &run->metrics_retired);
		metrics_server__free(run->metrics);
		run->metrics = metrics;
		snprintf(run->metrics_address, sizeof(run->metrics_address),
			 "%s", sc->metrics_address);
	}
	run->reloads++;
	runlog__log(&run->log, TG_LOG_INFO, "configuration reloaded",
		    RL_U64("receivers", new->nrcv),
		    RL_U64("exporters", new->nexp),
		    RL_STR("metrics", run->metrics_address));
	publish(run);
	return 0;
}

/* ---- command line and main loop ------------------------------------------ */

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof run --config FILE [--plugin PATH]\n"
		"\n"
		"Runs the profiler as a daemon: the receivers, exporters and pipeline of\n"
		"FILE (docs/CONFIG.md). Logs to stderr, one event per line.\n"
		"\n"
		"  -c, --config FILE   the configuration (tgprof config --defaults)\n"
		"      --plugin PATH   the receiver plugin, libtgprof_receiver.so\n"
		"                      (default: service.plugin, else next to tgprof,\n"
		"                      else the install libdir)\n"
		"\n"
		"signals: SIGTERM, SIGINT  stop, flushing the last interval and the\n"
		"                          exporters' queues within service.shutdown_timeout\n"
		"         SIGHUP           reload FILE; a bad file keeps the running config\n"
		"exit codes: 0 stopped by a signal, 1 failure at run time (privileges,\n"
		"            kernel), 2 bad usage, configuration or plugin\n");
}

/* SIGTERM, SIGINT and SIGHUP come through a signalfd: blocked in every
 * thread (threads made later inherit the mask). */
static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	/* A peer that goes away is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Waits for signals until SIGTERM or SIGINT, logging statistics every
 * period and publishing metrics. Returns 0, or -errno when a reload left
 * nothing running. */
static int main_loop(struct run *run, int sfd)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t next_stats = now + run->gen->period_ns, next_snap = now;
	struct signalfd_siginfo si;
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	uint64_t wake;
	int err, timeout_ms;
	char name[16];

	for (;;) {
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= next_snap) {
			tick(run);
			next_snap = now + RUN_SNAPSHOT_NS;
		}
		if (now >= next_stats) {
			log_stats(run, "statistics");
			next_stats = now + run->gen->period_ns;
		}
		wake = next_stats < next_snap ? next_stats : next_snap;
		timeout_ms = wake > now ? (wake - now) / NSEC_PER_MSEC + 1 : 0;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			continue;
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				err = reload(run);
				if (err)
					return err;
				next_stats = clock_ns(CLOCK_MONOTONIC) +
					     run->gen->period_ns;
				continue;
			}
			snprintf(name, sizeof(name), "SIG%s",
				 sigabbrev_np(si.ssi_signo));
			runlog__log(&run->log, TG_LOG_INFO, "shutting down",
				    RL_STR("signal", name));
			return 0;
		}
	}
}

/* Stops everything within service.shutdown_timeout: the receivers first
 * (their last intervals reach the exporters), then the exporters' queues,
 * drained together. */
static void shutdown_all(struct run *run)
{
	struct run_totals t;
	uint64_t deadline;

	if (!run->gen)
		return;
	deadline = clock_ns(CLOCK_MONOTONIC) +
		   run->gen->cfg->service->shutdown_timeout_ns;
	gen_stop_receivers(run, run->gen, deadline);
	publish(run);
	gen_drain_exporters(run, run->gen, deadline);
	totals__collect(run, &t);
	note_losses(run, &t, true);
	run_totals__log(&t, &run->log, "stopped");
	gen_free(run, run->gen);
	run->gen = NULL;
}

static void log_started(struct run *run)
{
	const struct run_gen *g = run->gen;
	char rcv[512] = "", exp[512] = "";
	size_t i, o;

	for (i = 0, o = 0; i < g->nrcv && o < sizeof(rcv); i++)
		o += snprintf(rcv + o, sizeof(rcv) - o, "%s%s", i ? "," : "",
			      g->rcv[i].conf->id);
	for (i = 0, o = 0; i < g->nexp && o < sizeof(exp); i++)
		o += snprintf(exp + o, sizeof(exp) - o, "%s%s", i ? "," : "",
			      g->exp[i].conf->id);
	runlog__log(&run->log, TG_LOG_INFO, "tgprof running",
		    RL_STR("version", TGPROF_VERSION),
		    RL_I64("pid", (int64_t)getpid()),
		    RL_STR("config", run->config_path),
		    RL_STR("plugin", run->plugin.path),
		    RL_STR("plugin_version", run->plugin.desc->version ?
						     run->plugin.desc->version :
						     ""),
		    RL_STR("receivers", rcv), RL_STR("exporters", exp),
		    RL_STR("metrics", run->metrics_address),
		    RL_U64("stats_every_ms", g->period_ns / NSEC_PER_MSEC));
}

/* Plugin, config, components, metrics, then the receivers: every step
 * that can fail, in the order a user would fix them. Returns an exit code
 * (0: running). */
static int run_setup(struct run *run, const char *plugin_flag)
{
	char err_text[PLUGIN_ERR_MAX], plugin_path[PATH_MAX] = "";
	struct config *cfg;
	uint64_t period;
	int err;

	if (!plugin_flag || !*plugin_flag) {
		/* Only service.plugin, before the plugin that reads the
		 * rest: a file that does not read or parse stops here. */
		err = config__plugin_path(run->config_path, plugin_path,
					  sizeof(plugin_path), err_text,
					  sizeof(err_text));
		if (err) {
			runlog__msg(&run->log, TG_LOG_ERROR, err_text);
			return err == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
		}
		run->plugin_from_config = plugin_path[0];
	}
	err = plugin__load(plugin_flag && *plugin_flag ? plugin_flag :
							 plugin_path,
			   &run->plugin, err_text, sizeof(err_text));
	if (err) {
		runlog__msg(&run->log, TG_LOG_ERROR, err_text);
		return EXIT_USAGE;
	}
	err = load_config(run, &cfg, &period);
	if (err)
		return err == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	apply_log_settings(run, cfg->service);
	host_log__route_libbpf(&run->libbpf_hook);

	if (*cfg->service->metrics_address) {
		run->metrics = metrics_server__new(
			cfg->service->metrics_address, &run->own.logger);
		if (!run->metrics) {
			err = -errno;
			config__free(cfg);
			return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
		}
		snprintf(run->metrics_address, sizeof(run->metrics_address),
			 "%s", cfg->service->metrics_address);
	}
	err = gen_new(run, cfg, period, &run->gen);
	if (err)
		return err == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	err = gen_start(run, run->gen,
			run->gen->cfg->service->shutdown_timeout_ns);
	if (err)
		return EXIT_RUNTIME;
	log_started(run);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *config = NULL, *plugin = NULL;
	struct run *run;
	int sfd, err, ret;

	err = config_args__parse(argc, argv, run_usage, &config, &plugin);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	sfd = signals_open();
	if (sfd < 0) {
		fprintf(stderr, "tgprof: cannot receive signals: %s\n",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	run = calloc(1, sizeof(*run));
	if (!run) {
		close(sfd);
		fprintf(stderr, "tgprof: out of memory\n");
		return EXIT_RUNTIME;
	}
	run->config_path = config;
	run->start_unix_ns = clock_ns(CLOCK_REALTIME);
	runlog__init(&run->log, STDERR_FILENO, TG_LOG_INFO, false);
	runlog_component__init(&run->own, &run->log, "tgprof");
	losslog__init(&run->losses, &run->log, LOSSLOG_INTERVAL_NS);
	host_log__init(&run->libbpf_hook, TG_LOG_DEBUG);
	run->libbpf_hook.logger = run->own.logger;

	ret = run_setup(run, plugin);
	if (!ret) {
		err = main_loop(run, sfd);
		ret = err ? EXIT_RUNTIME : 0;
	}
	shutdown_all(run);
	metrics_server__free(run->metrics);
	if (!ret)
		runlog__msg(&run->log, TG_LOG_INFO, "tgprof stopped");
	/* libbpf's hook points at this run: unhook before the plugin goes. */
	libbpf_set_print(NULL);
	plugin__unload(&run->plugin);
	runlog__destroy(&run->log);
	free(run);
	close(sfd);
	return ret;
}
