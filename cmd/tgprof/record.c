// SPDX-License-Identifier: Apache-2.0
/* `tgprof record`: one-shot profiling with no collector. Hosts the
 * receiver plugin through its ABI, as `tgprof run` does, with a consumer of
 * its own: each report interval's OTLP request is folded (stacks.folded,
 * flamegraph.svg, the top functions), merged into one request of the whole
 * recording (profile.otlp.pb, and profile.pb.gz made from it) and, with
 * --endpoint, also sent to a collector. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cmd/tgprof/hostlog.h"
#include "cmd/tgprof/plugin_load.h"
#include "cmd/tgprof/tgprof.h"
#include "exporter/flamegraph.h"
#include "exporter/folded.h"
#include "exporter/otlp_folded.h"
#include "exporter/otlp_http.h"
#include "exporter/otlp_merge.h"
#include "exporter/pprof.h"
#include "exporter/topfuncs.h"
#include "include/tgprof/receiver.h"
#include "lib/clock.h"
#include "lib/configmap.h"
#include "lib/outdir.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define RECORD_MAX_SECONDS (7 * 24 * 3600)
#define PROGRESS_INTERVAL_NS (250 * NSEC_PER_MSEC)
#define EXPORT_SHUTDOWN_NS (30 * NSEC_PER_SEC)
/* The plugin's consumer is this process: its last interval is quick. */
#define PLUGIN_SHUTDOWN_NS (30 * NSEC_PER_SEC)

/* The plugin keys record reads its defaults and bounds from. */
#define KEY_FREQ "sampling_frequency_hz"
#define KEY_INTERVAL "report_interval"
#define KEY_SAMPLE_ATTRS "sample_attributes"

#define RECORD_MAX_SETS 64

struct record_opts {
	uint32_t pid;
	uint64_t duration_ns;
	const char *freq; /* -F as given; NULL: the plugin's default */
	const char *interval; /* --interval as given; NULL: likewise */
	const char *outdir;
	const char *service_name; /* NULL: each process's executable name */
	const char *plugin; /* --plugin; NULL: the default places */
	/* OTLP/HTTP export while recording (--endpoint): one request per
	 * report interval. */
	const char *endpoint;
	bool no_gzip;
	const char *ca_file;
	bool insecure;
	struct otlp_http_header headers[OTLP_HTTP_MAX_HEADERS];
	size_t nheaders;
	bool kernel_stacks;
	bool include_idle;
	bool off_cpu; /* --off-cpu: where threads wait, in offcpu.* */
	/* --set KEY=VALUE: receiver keys, applied after the options above. */
	const char *sets[RECORD_MAX_SETS];
	size_t nsets;
	unsigned int top;
	int progress; /* -1: when stderr is a terminal */
	enum tg_log_level log_level;
};

/* What the plugin's key table says about -F and --interval. */
struct record_keys {
	const struct tgprof_config_key *freq;
	const struct tgprof_config_key *interval;
	uint32_t freq_hz; /* -F, else the key's default */
	char interval_text[32]; /* --interval for the plugin; "": default */
};

/* Where each interval's request goes: touched from the plugin's thread
 * (the consumer) until shutdown() returned, then from the main thread. */
struct record_sinks {
	struct folded *folded; /* stacks.folded, flamegraph.svg, top */
	/* --off-cpu: offcpu.folded, offcpu.svg, its top; NULL without. */
	struct folded *offcpu;
	struct otlp_merge *merge; /* profile.otlp.pb, profile.pb.gz */
	struct otlp_http *http; /* --endpoint */
	/* Intervals a sink could not take; the first of each is logged. */
	uint64_t fold_failed, merge_failed, export_failed;
};

struct record {
	struct host_log hl;
	struct record_sinks sinks;
	struct tgprof_host host; /* lent to the receiver */
	atomic_int status; /* the receiver's last enum tgprof_status */
};

/* Set by SIGINT/SIGTERM: stop sampling and write what was recorded. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const struct tgprof_config_key *plugin_key(const struct tgprof_plugin *p,
						  const char *name)
{
	int i = configmap__find(p->config_keys, p->config_nkeys, name);

	return i < 0 ? NULL : &p->config_keys[i];
}

/* @keys NULL: no plugin could be loaded to say the bounds. */
static void record_usage(FILE *out, const struct record_keys *keys)
{
	char freq[64] = "", interval[64] = "";

	if (keys) {
		snprintf(freq, sizeof(freq), ", %lld..%lld (default %s)",
			 (long long)keys->freq->min, (long long)keys->freq->max,
			 keys->freq->default_value);
		snprintf(interval, sizeof(interval), " (default %s)",
			 keys->interval->default_value);
	}
	fprintf(out,
		"usage: tgprof record [-p PID] [-d SECONDS] [-F HZ] [-o DIR]\n"
		"\n"
		"Samples on-CPU stacks of every process (or of PID and all its threads)\n"
		"and writes DIR/stacks.folded, DIR/flamegraph.svg, DIR/profile.pb.gz\n"
		"(pprof) and DIR/profile.otlp.pb (OTLP); prints the top functions.\n"
		"With --off-cpu, also where threads wait: DIR/offcpu.folded,\n"
		"DIR/offcpu.svg and DIR/offcpu.pb.gz, weighed in nanoseconds.\n"
		"\n"
		"  -p, --pid PID          only this process (all its threads)\n"
		"  -d, --duration TIME    how long: 10, 10s, 500ms, 2m (default 10s)\n"
		"  -F, --freq HZ          samples per second per CPU%s\n"
		"  -o, --output DIR       where to write (default ./tgprof-out)\n"
		"      --service-name NAME  service.name of every process in the\n"
		"                         profiles (default: its executable name)\n"
		"      --endpoint URL     also send OTLP profiles to a collector\n"
		"                         (http://host:4318; POST URL/v1development/profiles;\n"
		"                         grpc://host:4317 or grpcs://host:4317: OTLP/gRPC)\n"
		"      --interval TIME    report interval for --endpoint%s\n"
		"      --header NAME=VALUE  extra HTTP header for --endpoint (repeatable)\n"
		"      --no-gzip          send uncompressed\n"
		"      --ca-file FILE     CA certificates for an https endpoint\n"
		"      --insecure-skip-verify  do not verify the endpoint's certificate\n"
		"      --no-kernel        no kernel stacks\n"
		"      --idle             include the idle task's samples\n"
		"      --off-cpu          also record off-CPU time (the off_cpu*\n"
		"                         keys tune it: --set off_cpu_min_duration=5ms)\n"
		"      --set KEY=VALUE    set a key of the receiver, as in the\n"
		"                         daemon's receivers.tgprof section\n"
		"                         (repeatable; 'tgprof config --keys' lists\n"
		"                         them): --set unwinder=frame_pointer\n"
		"      --top N            functions in each top list (default 10)\n"
		"      --no-progress      no live progress line\n"
		"      --plugin PATH      the receiver plugin, libtgprof_receiver.so\n"
		"                         (default: next to tgprof, then the libdir)\n"
		"  -v, --verbose          more log lines (twice: debug)\n"
		"  -q, --quiet            errors only\n",
		freq, interval);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tgprof: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -EINVAL;
}

/* "10", "10s", "1.5s", "500ms", "2m", "1h" -> ns, 1 ms to 7 days. */
static int parse_duration(const char *s, uint64_t *ret_ns)
{
	double v, mult = NSEC_PER_SEC;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return -EINVAL;
	if (!strcmp(end, "ms"))
		mult = NSEC_PER_MSEC;
	else if (!strcmp(end, "m"))
		mult = 60.0 * NSEC_PER_SEC;
	else if (!strcmp(end, "h"))
		mult = 3600.0 * NSEC_PER_SEC;
	else if (*end && strcmp(end, "s"))
		return -EINVAL;
	v *= mult;
	if (v < NSEC_PER_MSEC || v > (double)RECORD_MAX_SECONDS * NSEC_PER_SEC)
		return -ERANGE;
	*ret_ns = (uint64_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long v;
	char *end;

	if (*s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end || errno)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Everything but -F and --interval, whose bounds are the plugin's (see
 * record_keys__read()). 0, 1 for -h, or -EINVAL after one line. */
static int parse_args(int argc, char **argv, struct record_opts *o)
{
	enum {
		OPT_NO_KERNEL = 256,
		OPT_IDLE,
		OPT_TOP,
		OPT_NO_PROGRESS,
		OPT_SERVICE_NAME,
		OPT_ENDPOINT,
		OPT_INTERVAL,
		OPT_HEADER,
		OPT_NO_GZIP,
		OPT_CA_FILE,
		OPT_INSECURE,
		OPT_PLUGIN,
		OPT_SET,
		OPT_OFF_CPU,
	};
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "freq", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "idle", no_argument, NULL, OPT_IDLE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "service-name", required_argument, NULL, OPT_SERVICE_NAME },
		{ "endpoint", required_argument, NULL, OPT_ENDPOINT },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "header", required_argument, NULL, OPT_HEADER },
		{ "no-gzip", no_argument, NULL, OPT_NO_GZIP },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "insecure-skip-verify", no_argument, NULL, OPT_INSECURE },
		{ "plugin", required_argument, NULL, OPT_PLUGIN },
		{ "set", required_argument, NULL, OPT_SET },
		{ "off-cpu", no_argument, NULL, OPT_OFF_CPU },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long v;
	int c;

	o->duration_ns = 10 * NSEC_PER_SEC;
	o->outdir = "tgprof-out";
	o->kernel_stacks = true;
	o->top = 10;
	o->progress = -1;
	o->log_level = TG_LOG_WARN;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:d:F:o:vqh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, INT_MAX, &v) || !v)
				return usage_error("invalid PID '%s'", optarg);
			o->pid = v;
			break;
		case 'd':
			if (parse_duration(optarg, &o->duration_ns))
				return usage_error(
					"invalid duration '%s': expected seconds (10, 2.5s, 500ms, 2m) between 1ms and 7 days",
					optarg);
			break;
		case 'F':
			o->freq = optarg;
			break;
		case 'o':
			if (!*optarg)
				return usage_error("empty output directory%s",
						   "");
			o->outdir = optarg;
			break;
		case OPT_NO_KERNEL:
			o->kernel_stacks = false;
			break;
		case OPT_IDLE:
			o->include_idle = true;
			break;
		case OPT_OFF_CPU:
			o->off_cpu = true;
			break;
		case OPT_SET:
			if (!strchr(optarg, '=') || *optarg == '=')
				return usage_error(
					"invalid --set '%s': expected KEY=VALUE",
					optarg);
			if (o->nsets == RECORD_MAX_SETS)
				return usage_error("more than 64 --set%s", "");
			o->sets[o->nsets++] = optarg;
			break;
		case OPT_TOP:
			if (parse_uint(optarg, 1000, &v))
				return usage_error(
					"invalid --top '%s': expected 0 to 1000",
					optarg);
			o->top = v;
			break;
		case OPT_NO_PROGRESS:
			o->progress = 0;
			break;
		case OPT_SERVICE_NAME:
			if (!*optarg)
				return usage_error("empty service name%s", "");
			o->service_name = optarg;
			break;
		case OPT_ENDPOINT:
			o->endpoint = optarg;
			break;
		case OPT_INTERVAL:
			o->interval = optarg;
			break;
		case OPT_HEADER: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg)
				return usage_error(
					"invalid header '%s': expected NAME=VALUE",
					optarg);
			if (o->nheaders == OTLP_HTTP_MAX_HEADERS)
				return usage_error("more than %s headers",
						   "32");
			*eq = '\0';
			o->headers[o->nheaders].name = optarg;
			o->headers[o->nheaders++].value = eq + 1;
			break;
		}
		case OPT_NO_GZIP:
			o->no_gzip = true;
			break;
		case OPT_CA_FILE:
			o->ca_file = optarg;
			break;
		case OPT_INSECURE:
			o->insecure = true;
			break;
		case OPT_PLUGIN:
			o->plugin = optarg;
			break;
		case 'v':
			if (o->log_level < TG_LOG_DEBUG)
				o->log_level++;
			break;
		case 'q':
			o->log_level = TG_LOG_ERROR;
			break;
		case 'h':
			return 1;
		case ':':
			fprintf(stderr, "tgprof: option '%s' needs a value\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "tgprof: unknown option '%s'\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->endpoint &&
	    (o->nheaders || o->no_gzip || o->ca_file || o->insecure))
		return usage_error(
			"%s",
			"--header, --no-gzip, --ca-file and --insecure-skip-verify need --endpoint");
	return 0;
}

/* The keys of -F and --interval in @p's table: 0, or -ENOENT after one
 * line (a plugin that is not tgprof's). */
static int record_keys__find(const struct tgprof_plugin *p,
			     struct record_keys *k)
{
	int64_t def;

	k->freq = plugin_key(p, KEY_FREQ);
	k->interval = plugin_key(p, KEY_INTERVAL);
	if (!k->freq || k->freq->type != TGPROF_CONFIG_INT || !k->interval ||
	    k->interval->type != TGPROF_CONFIG_DURATION ||
	    !k->freq->default_value || !k->interval->default_value ||
	    configmap__parse_int(k->freq->default_value, &def) || def < 1 ||
	    def > UINT32_MAX) {
		fprintf(stderr,
			"tgprof: the receiver plugin has no %s and %s keys tgprof record can use: it is not tgprof's\n",
			KEY_FREQ, KEY_INTERVAL);
		return -ENOENT;
	}
	k->freq_hz = (uint32_t)def;
	return 0;
}

/* -F and --interval against the plugin's bounds: 0 (*@ret_interval
 * written, as the plugin reads a duration, when --interval was given), or
 * -EINVAL after one line. */
static int record_keys__check(struct record_keys *k,
			      const struct record_opts *o, char *ret_interval,
			      size_t len)
{
	const struct tgprof_config_key *f = k->freq, *iv = k->interval;
	char bound[32];
	unsigned long v;
	uint64_t ns;

	if (o->freq) {
		if (parse_uint(o->freq, ULONG_MAX, &v) || (int64_t)v < f->min ||
		    (int64_t)v > f->max) {
			fprintf(stderr,
				"tgprof: invalid frequency '%s': expected %lld to %lld Hz\n",
				o->freq, (long long)f->min, (long long)f->max);
			return -EINVAL;
		}
		k->freq_hz = (uint32_t)v;
	}
	if (!o->interval)
		return 0;
	if (parse_duration(o->interval, &ns) || ns < (uint64_t)iv->min) {
		configmap__format_duration((uint64_t)iv->min, bound,
					   sizeof(bound));
		fprintf(stderr,
			"tgprof: invalid interval '%s': expected a duration of at least %s\n",
			o->interval, bound);
		return -EINVAL;
	}
	if (ns > (uint64_t)iv->max) {
		configmap__format_duration((uint64_t)iv->max, bound,
					   sizeof(bound));
		fprintf(stderr,
			"tgprof: invalid interval '%s': expected a duration of at most %s\n",
			o->interval, bound);
		return -EINVAL;
	}
	configmap__format_duration(ns, ret_interval, len);
	return 0;
}

/* Creates the directory and proves a file can be written there, so a bad
 * -o fails before minutes of sampling, not after. */
static int check_outdir(const char *dir)
{
	char probe[PATH_MAX];
	struct stat st;
	int fd, err;

	err = outdir__make(dir);
	if (err)
		return err;
	if (stat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (snprintf(probe, sizeof(probe), "%s/.tgprof-probe-XXXXXX", dir) >=
	    (int)sizeof(probe))
		return -ENAMETOOLONG;
	fd = mkstemp(probe);
	if (fd < 0)
		return -errno;
	close(fd);
	unlink(probe);
	return 0;
}

/*
 * A pidfd of the -p target, in *@ret_fd. It becomes readable when the
 * whole thread group is gone, not when its leader alone left with
 * pthread_exit() (the kernel's thread_group_exited()): the same rule the
 * process table keeps. Returns 0, EXIT_USAGE after one line for a PID
 * that is not there, has exited or is a thread's, EXIT_RUNTIME when it
 * cannot be watched.
 */
static int target_open(uint32_t pid, int *ret_fd)
{
	struct pollfd p;
	int fd;

	fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (fd < 0 && errno == ESRCH) {
		fprintf(stderr, "tgprof: no process with PID %u\n", pid);
		return EXIT_USAGE;
	}
	/* Not a thread-group leader: ENOENT on recent kernels (6.18),
	 * EINVAL on older ones. */
	if (fd < 0 && (errno == ENOENT || errno == EINVAL)) {
		fprintf(stderr,
			"tgprof: %u is a thread, not a process: give the PID of its process (Tgid in /proc/%u/status)\n",
			pid, pid);
		return EXIT_USAGE;
	}
	if (fd < 0) {
		fprintf(stderr, "tgprof: cannot watch process %u: %s\n", pid,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 0) > 0) {
		fprintf(stderr, "tgprof: process %u has exited\n", pid);
		close(fd);
		return EXIT_USAGE;
	}
	*ret_fd = fd;
	return 0;
}

/* ---- the host services lent to the receiver ---------------------------- */

static void record_log(void *ctx, enum tgprof_log_level level, const char *msg)
{
	struct record *rec = ctx;
	enum tg_log_level lvl = level > TGPROF_LOG_DEBUG ?
					TG_LOG_DEBUG :
					(enum tg_log_level)level;

	tg_log(&rec->hl.logger, lvl, "%s", msg ? msg : "");
}

static void record_status(void *ctx, enum tgprof_status status, const char *msg)
{
	struct record *rec = ctx;

	(void)msg; /* a failure's reason was logged */
	atomic_store(&rec->status, (int)status);
}

/* Logs the first failure of a sink, counts all. */
static void sink_failed(struct record *rec, uint64_t *count, const char *what,
			int err)
{
	if (!(*count)++)
		tg_warn(&rec->hl.logger, "%s: %s", what, strerror(-err));
}

/* Called from the receiver's thread, once per report interval: the request
 * is borrowed, every sink copies what it keeps. What a sink cannot take
 * is lost to it alone and counted; offering the request again would add
 * it twice to the others. */
static enum tgprof_consume_result record_consume(void *ctx, const void *req,
						 size_t len)
{
	struct record *rec = ctx;
	struct record_sinks *s = &rec->sinks;
	int err;

	err = otlp_folded__add(s->folded, req, len);
	if (!err && s->offcpu)
		err = otlp_folded__add_kind(s->offcpu, req, len,
					    OTLP_PROFILE_OFF_CPU);
	if (err)
		sink_failed(rec, &s->fold_failed,
			    "an interval could not be folded", err);
	err = otlp_merge__add(s->merge, req, len);
	if (err)
		sink_failed(
			rec, &s->merge_failed,
			"an interval could not join the recording's profile",
			err);
	if (s->http) {
		err = otlp_http__submit(s->http, req, len);
		if (err)
			sink_failed(rec, &s->export_failed,
				    "export: interval dropped", err);
	}
	return TGPROF_CONSUME_OK;
}

/* ---- the recording's sinks ------------------------------------------- */

/* One profile for the whole recording: bounds sized for it, rather than
 * for one report interval. */
static struct otlp_merge *record_merge_new(const struct record_opts *o,
					   uint32_t freq_hz)
{
	struct otlp_merge_opts mo = { .sz = sizeof(mo) };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double events;

	mo.max_resources = 65536;
	mo.max_stacks = 1000000; /* as many as the folded stacks */
	mo.max_entries = 4000000;
	mo.max_samples = 4000000;
	mo.max_string_bytes = 256u << 20;
	/* Every sample is a timestamp (12 bytes held): room for all of
	 * them, within reason. */
	events = (double)o->duration_ns / NSEC_PER_SEC * freq_hz *
		 (cpus > 0 ? cpus : 1) * 1.1;
	mo.max_events = events < 1 << 20 ? 1 << 20 :
			events > 8 << 20 ? 8 << 20 :
					   (uint32_t)events;
	return otlp_merge__new(&mo);
}

static int export_start(struct record *rec, const struct record_opts *o)
{
	struct otlp_http_opts ho = { .sz = sizeof(ho) };
	char *grpc_url = NULL;

	ho.endpoint = o->endpoint;
	/* grpc:// is h2c, grpcs:// TLS: the exporter's gRPC mode with an
	 * http(s) URL. */
	if (!strncasecmp(o->endpoint, "grpc://", 7) ||
	    !strncasecmp(o->endpoint, "grpcs://", 8)) {
		bool tls = o->endpoint[4] == 's' || o->endpoint[4] == 'S';

		if (asprintf(&grpc_url, "%s://%s", tls ? "https" : "http",
			     o->endpoint + (tls ? 8 : 7)) < 0)
			return -ENOMEM;
		ho.endpoint = grpc_url;
		ho.grpc = true;
	}
	ho.gzip = !o->no_gzip;
	ho.headers = o->headers;
	ho.nheaders = o->nheaders;
	ho.ca_file = o->ca_file;
	ho.insecure_skip_verify = o->insecure;
	rec->sinks.http = otlp_http__new(&ho, &rec->hl.logger);
	if (!rec->sinks.http) {
		int err = -errno;

		free(grpc_url);
		return err;
	}
	free(grpc_url);
	return 0;
}

/* Waits for the exporter's queue within the shutdown timeout (the
 * receiver has handed over its last interval) and says what happened to
 * every request. */
static void export_finish(struct record *rec, const struct record_opts *o)
{
	struct otlp_http_stats hs;

	if (!rec->sinks.http)
		return;
	otlp_http__shutdown(rec->sinks.http, EXPORT_SHUTDOWN_NS);
	otlp_http__stats(rec->sinks.http, &hs);
	if (o->log_level > TG_LOG_ERROR)
		fprintf(stderr,
			"tgprof: export: sent %llu requests (%llu bytes), retries %llu, dropped %llu\n",
			(unsigned long long)hs.sent,
			(unsigned long long)hs.bytes_sent,
			(unsigned long long)hs.retries,
			(unsigned long long)(hs.dropped_queue_full +
					     hs.dropped_permanent +
					     hs.dropped_retries_exhausted +
					     hs.dropped_shutdown +
					     rec->sinks.export_failed));
}

/* ---- the receiver ------------------------------------------------------ */

/* Sets @key from the command line's @value (@opt names it for the user):
 * 0, or an exit code after one line. */
static int config_set(const struct tgprof_plugin *p, struct tgprof_config *cfg,
		      const char *key, const char *value, const char *opt)
{
	char err[512];
	int e;

	e = p->config_set(cfg, key, value, err, sizeof(err));
	if (!e)
		return 0;
	if (e == -ENOENT) {
		fprintf(stderr,
			"tgprof: the receiver plugin has no key %s (for %s)\n",
			key, opt);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "tgprof: invalid %s '%s': %s\n", opt, value, err);
	return EXIT_USAGE;
}

/* --set KEY=VALUE: 0 or an exit code after saying why. */
static int record_set(const struct tgprof_plugin *p, struct tgprof_config *cfg,
		      const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[128], err[512];
	size_t len = (size_t)(eq - kv);
	int e;

	if (len >= sizeof(key)) {
		fprintf(stderr, "tgprof: invalid --set '%s': key too long\n",
			kv);
		return EXIT_USAGE;
	}
	memcpy(key, kv, len);
	key[len] = '\0';
	e = p->config_set(cfg, key, eq + 1, err, sizeof(err));
	if (!e)
		return 0;
	if (e == -ENOENT)
		fprintf(stderr,
			"tgprof: --set %s: the receiver has no key '%s' ('tgprof config --keys' lists them)\n",
			kv, key);
	else
		fprintf(stderr, "tgprof: --set %s: %s\n", kv, err);
	return EXIT_USAGE;
}

static void report_problem(void *ctx, const char *key, const char *problem)
{
	(void)ctx;
	fprintf(stderr, "tgprof: receivers.tgprof.%s: %s\n", key, problem);
}

/* A recording keeps every sample attribute: its pprof labels and the
 * folded stacks of threads without a process name need them, and one
 * recording makes few series. A plugin without the key attaches them
 * all anyway. */
static int record_sample_attributes(const struct tgprof_plugin *p,
				    struct tgprof_config *cfg)
{
	static const char *const all[] = { "thread.id", "thread.name",
					   "cpu.logical_number" };
	char err[512];
	size_t i;
	int e;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		e = p->config_set(cfg, KEY_SAMPLE_ATTRS, all[i], err,
				  sizeof(err));
		if (e == -ENOENT)
			return 0;
		if (e) {
			fprintf(stderr,
				"tgprof: the receiver plugin refused %s %s: %s\n",
				KEY_SAMPLE_ATTRS, all[i], err);
			return EXIT_RUNTIME;
		}
	}
	return 0;
}

/* The plugin's configuration of this recording: every option a key.
 * Returns 0 and *@ret (free with config_free), or an exit code after
 * saying why. */
static int record_config(const struct tgprof_plugin *p,
			 const struct record_opts *o,
			 const struct record_keys *k,
			 struct tgprof_config **ret)
{
	struct tgprof_config *cfg;
	char buf[32];
	int ret_code = 0;
	size_t i;

	cfg = p->config_new();
	if (!cfg) {
		fprintf(stderr, "tgprof: the receiver's configuration: %s\n",
			strerror(errno));
		return EXIT_RUNTIME;
	}
	snprintf(buf, sizeof(buf), "%u", k->freq_hz);
	ret_code = config_set(p, cfg, KEY_FREQ, buf, "-F");
	if (!ret_code && *k->interval_text)
		ret_code = config_set(p, cfg, KEY_INTERVAL, k->interval_text,
				      "--interval");
	if (!ret_code && !o->kernel_stacks)
		ret_code = config_set(p, cfg, "kernel_stacks", "false",
				      "--no-kernel");
	if (!ret_code && o->include_idle)
		ret_code = config_set(p, cfg, "include_idle", "true", "--idle");
	if (!ret_code && o->off_cpu)
		ret_code = config_set(p, cfg, "off_cpu", "true", "--off-cpu");
	if (!ret_code && o->pid) {
		snprintf(buf, sizeof(buf), "%u", o->pid);
		ret_code = config_set(p, cfg, "filter.include_pid", buf, "-p");
	}
	if (!ret_code && o->service_name)
		ret_code = config_set(p, cfg, "service_name", o->service_name,
				      "--service-name");
	if (!ret_code)
		ret_code = record_sample_attributes(p, cfg);
	for (i = 0; !ret_code && i < o->nsets; i++)
		ret_code = record_set(p, cfg, o->sets[i]);
	if (!ret_code && p->config_validate(cfg, report_problem, NULL))
		ret_code = EXIT_USAGE;
	if (ret_code) {
		p->config_free(cfg);
		return ret_code;
	}
	*ret = cfg;
	return 0;
}

static void receiver_stats(const struct tgprof_plugin *p,
			   struct tgprof_receiver *r,
			   struct tgprof_receiver_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	p->stats(r, st);
}

static void show_progress(struct record *rec, const struct tgprof_plugin *p,
			  struct tgprof_receiver *r, uint64_t elapsed_ns,
			  uint64_t duration_ns)
{
	struct tgprof_receiver_stats st;

	receiver_stats(p, r, &st);
	pthread_mutex_lock(&rec->hl.lock);
	fprintf(stderr,
		"\r\033[Ktgprof: recording %5.1fs / %.1fs  samples %llu  processes %llu  lost %llu",
		elapsed_ns / 1e9, duration_ns / 1e9,
		(unsigned long long)(st.samples + st.samples_dropped),
		(unsigned long long)st.new_processes,
		(unsigned long long)(st.samples_lost + st.events_lost));
	rec->hl.progress_shown = true;
	pthread_mutex_unlock(&rec->hl.lock);
}

static void clear_progress(struct host_log *hl)
{
	pthread_mutex_lock(&hl->lock);
	if (hl->progress_shown) {
		fputs("\r\033[K", stderr);
		hl->progress_shown = false;
	}
	pthread_mutex_unlock(&hl->lock);
}

/*
 * Until the duration is over, a stop signal came, the -p target's thread
 * group is gone (@pidfd readable; -1: none) or the receiver failed for
 * good. SIGINT and SIGTERM are blocked but while waiting (@waitmask), so
 * a signal never falls between the check and the wait. Returns 0 or -EIO
 * (the receiver logged why).
 */
static int record_loop(struct record *rec, const struct tgprof_plugin *p,
		       struct tgprof_receiver *r, const struct record_opts *o,
		       int pidfd, const sigset_t *waitmask,
		       uint64_t *ret_elapsed)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC), now, wake, next = 0;
	bool progress = o->progress < 0 ? isatty(STDERR_FILENO) : o->progress;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	struct timespec ts;
	int err = 0, n;

	for (;;) {
		now = clock_ns(CLOCK_MONOTONIC);
		if (stop_requested || now - start >= o->duration_ns)
			break;
		if (atomic_load(&rec->status) ==
		    TGPROF_STATUS_PERMANENT_ERROR) {
			err = -EIO;
			break;
		}
		if (progress && now >= next) {
			show_progress(rec, p, r, now - start, o->duration_ns);
			next = now + PROGRESS_INTERVAL_NS;
		}
		/* The status is looked at every PROGRESS_INTERVAL_NS too. */
		wake = start + o->duration_ns;
		if (wake > now + PROGRESS_INTERVAL_NS)
			wake = now + PROGRESS_INTERVAL_NS;
		ts.tv_sec = (wake - now) / NSEC_PER_SEC;
		ts.tv_nsec = (wake - now) % NSEC_PER_SEC;
		n = ppoll(&pfd, pidfd >= 0 ? 1 : 0, &ts, waitmask);
		if (n > 0) {
			tg_info(&rec->hl.logger, "process %u exited", o->pid);
			now = clock_ns(CLOCK_MONOTONIC);
			break;
		}
	}
	clear_progress(&rec->hl);
	*ret_elapsed = now - start;
	return err;
}

/* ---- the files ------------------------------------------------------- */

struct writer {
	const struct folded *folded;
	const char *title;
	const char *count_name; /* of the flame graph; NULL: samples */
	void *otlp; /* the recording's ExportProfilesServiceRequest */
	size_t otlp_len;
	void *pprof; /* gzip'd pprof Profile */
	size_t pprof_len;
};

static int write_folded(void *ctx, FILE *f)
{
	const struct writer *w = ctx;

	return folded__write(w->folded, f);
}

static int write_svg(void *ctx, FILE *f)
{
	struct flamegraph_opts fo = { .sz = sizeof(fo) };
	const struct writer *w = ctx;

	fo.title = w->title;
	fo.count_name = w->count_name;
	return flamegraph__write(w->folded, &fo, f);
}

static int write_bytes(const void *buf, size_t len, FILE *f)
{
	return len && fwrite(buf, 1, len, f) != len ? -EIO : 0;
}

static int write_otlp(void *ctx, FILE *f)
{
	const struct writer *w = ctx;

	return write_bytes(w->otlp, w->otlp_len, f);
}

static int write_pprof(void *ctx, FILE *f)
{
	const struct writer *w = ctx;

	return write_bytes(w->pprof, w->pprof_len, f);
}

/* Writes DIR/NAME through a temporary file and renameat(), so a reader
 * never sees a half-written file. 0666 less the umask, as any tool's
 * output; the file exporter's own files are 0644. */
static int write_file(const char *dir, const char *name,
		      int (*fn)(void *w, FILE *f), struct writer *w)
{
	int dirfd, err;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	err = outdir__write(dirfd, name, 0666, fn, w, NULL);
	close(dirfd);
	return err;
}

/* The merged OTLP request of the whole recording and the pprof made from
 * it. With no sample at all, both still get written: an empty request and
 * a Profile without samples. */
static int encode_profiles(struct otlp_merge *m, struct writer *w)
{
	int err;

	err = otlp_merge__encode(m, &w->otlp, &w->otlp_len);
	if (err)
		return err;
	return pprof__from_otlp(w->otlp, w->otlp_len, &w->pprof, &w->pprof_len);
}

/* One line on the table walks, when any stack was walked with tables:
 * how many reached their outermost frame, and why the others stopped. */
static void print_unwind(const struct tgprof_receiver_stats *st)
{
	const struct {
		const char *why;
		uint64_t n;
	} stop[] = {
		{ "no mapping", st->unwind_stop_no_mapping },
		{ "no table", st->unwind_stop_no_table },
		{ "unsupported CFI", st->unwind_stop_unsupported },
		{ "read fault", st->unwind_stop_read_fault },
		{ "depth limit", st->unwind_stop_depth },
		{ "bad frame", st->unwind_stop_bad_frame },
		{ "frame pointers ran out", st->unwind_stop_fp_end },
	};
	uint64_t walked = st->unwind_complete;
	char why[256] = "";
	size_t i, len = 0;

	for (i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		walked += stop[i].n;
		if (stop[i].n && len < sizeof(why))
			len += snprintf(why + len, sizeof(why) - len,
					"%s%s %llu", len ? ", " : "",
					stop[i].why,
					(unsigned long long)stop[i].n);
	}
	if (!walked)
		return;
	fprintf(stderr,
		"tgprof: unwinding: %llu of %llu table-walked stacks complete (%.1f %%); stopped: %s\n",
		(unsigned long long)st->unwind_complete,
		(unsigned long long)walked,
		100.0 * st->unwind_complete / walked, len ? why : "none");
}

static void print_summary(const struct record *rec,
			  const struct tgprof_receiver_stats *st,
			  uint64_t elapsed_ns, uint32_t freq_hz)
{
	const struct record_sinks *s = &rec->sinks;
	struct otlp_merge_stats ms;
	uint64_t dropped, overflow;

	fprintf(stderr,
		"tgprof: %llu samples in %.1f s at %u Hz from %llu processes; lost %llu samples, %llu events\n",
		(unsigned long long)(st->samples + st->samples_dropped),
		elapsed_ns / 1e9, freq_hz,
		(unsigned long long)st->new_processes,
		(unsigned long long)st->samples_lost,
		(unsigned long long)st->events_lost);
	print_unwind(st);
	if (st->python_samples)
		fprintf(stderr,
			"tgprof: python: %llu samples with %llu Python frames; %llu read errors, %llu stacks cut; %llu code objects cached (%llu bytes, %llu evicted)\n",
			(unsigned long long)st->python_samples,
			(unsigned long long)st->python_frames,
			(unsigned long long)st->python_read_errors,
			(unsigned long long)st->python_truncated,
			(unsigned long long)st->python_code_entries,
			(unsigned long long)st->python_code_bytes,
			(unsigned long long)st->python_code_evictions);
	if (st->off_cpu_switches)
		fprintf(stderr,
			"tgprof: off-CPU: %llu blocking switches; %llu waits sent (%.1f ms in all), %llu shorter than the minimum, %llu sampled out, %llu without room, %llu lost\n",
			(unsigned long long)st->off_cpu_switches,
			(unsigned long long)st->off_cpu_sent,
			st->off_cpu_ns / 1e6,
			(unsigned long long)st->off_cpu_short,
			(unsigned long long)st->off_cpu_sampled_out,
			(unsigned long long)st->off_cpu_no_room,
			(unsigned long long)(st->off_cpu_lost +
					     st->off_cpu_replaced));
	if (st->sz >=
	    offsetof(struct tgprof_receiver_stats, process_idle_drops) +
		    sizeof(st->process_idle_drops))
		fprintf(stderr,
			"tgprof: memory: symbol cache %llu bytes (%llu binaries, %llu evicted), perf maps %llu, kernel symbols %llu, process table %llu, unwind tables %llu (kernel), python code %llu; %llu idle processes dropped\n",
			(unsigned long long)st->symbol_cache_bytes,
			(unsigned long long)st->symbol_cache_files,
			(unsigned long long)st->symbol_cache_evictions,
			(unsigned long long)st->perf_map_bytes,
			(unsigned long long)st->kernel_symbol_bytes,
			(unsigned long long)st->process_table_bytes,
			(unsigned long long)st->unwind_table_bytes,
			(unsigned long long)st->python_code_bytes,
			(unsigned long long)st->process_idle_drops);
	if (st->samples_dropped)
		fprintf(stderr,
			"tgprof: %llu samples were over the receiver's bounds of one report interval: no file has them\n",
			(unsigned long long)st->samples_dropped);
	if (folded__overflow(s->folded))
		fprintf(stderr,
			"tgprof: %llu samples beyond the distinct-stack limit are in '%s'\n",
			(unsigned long long)folded__overflow(s->folded),
			FOLDED_OVERFLOW_STACK);
	otlp_merge__stats(s->merge, &ms);
	dropped = ms.dropped_resources + ms.dropped_samples +
		  ms.dropped_events + ms.dropped_nomem;
	overflow = st->samples_overflow + ms.samples_overflow;
	if (dropped || overflow)
		fprintf(stderr,
			"tgprof: the pprof and OTLP profiles are over their bounds: %llu samples left out, %llu in '%s'\n",
			(unsigned long long)dropped,
			(unsigned long long)overflow,
			OTLP_MERGE_OVERFLOW_FUNCTION);
	if (s->fold_failed || s->merge_failed)
		fprintf(stderr,
			"tgprof: %llu report intervals are missing from stacks.folded, %llu from the pprof and OTLP profiles\n",
			(unsigned long long)s->fold_failed,
			(unsigned long long)s->merge_failed);
}

/* One view of the recording: its folded stacks, flame graph and pprof
 * files, and what its top functions count. */
struct view {
	const char *folded, *svg, *pprof;
	const char *what;
};

static const struct view cpu_view = { "stacks.folded", "flamegraph.svg",
				      "profile.pb.gz", "samples" };
static const struct view offcpu_view = { "offcpu.folded", "offcpu.svg",
					 "offcpu.pb.gz",
					 "nanoseconds off CPU" };

/* Writes @v's files of @w and prints its top functions: 0 or -errno
 * after one line. */
static int write_view(struct record *rec, const struct record_opts *o,
		      struct writer *w, const struct view *v)
{
	struct topfuncs *top;
	int err;

	err = write_file(o->outdir, v->folded, write_folded, w);
	if (!err)
		err = write_file(o->outdir, v->svg, write_svg, w);
	if (!err)
		err = write_file(o->outdir, v->pprof, write_pprof, w);
	if (err) {
		tg_err(&rec->hl.logger, "writing to %s: %s", o->outdir,
		       strerror(-err));
		return err;
	}
	if (o->top) {
		top = topfuncs__compute(w->folded);
		if (top)
			topfuncs__print_as(top, o->top, v->what, stdout);
		topfuncs__free(top);
		fflush(stdout);
	}
	return 0;
}

/* --off-cpu: the off-CPU view, its pprof made from the recording's
 * request @all (encoded already). */
static int write_offcpu(struct record *rec, const struct record_opts *o,
			const struct writer *all, const char *cpu_title)
{
	struct writer w = { .folded = rec->sinks.offcpu };
	char title[160];
	int err;

	snprintf(title, sizeof(title), "%s, off-CPU time", cpu_title);
	w.title = title;
	w.count_name = "nanoseconds";
	err = pprof__from_otlp_kind(all->otlp, all->otlp_len,
				    OTLP_PROFILE_OFF_CPU, &w.pprof,
				    &w.pprof_len);
	if (err) {
		tg_err(&rec->hl.logger, "encoding the off-CPU profile: %s",
		       strerror(-err));
		return err;
	}
	if (o->top)
		printf("\nOff-CPU time:\n");
	err = write_view(rec, o, &w, &offcpu_view);
	if (!err && o->log_level > TG_LOG_ERROR)
		fprintf(stderr,
			"tgprof: wrote %s/offcpu.folded, %s/offcpu.svg and %s/offcpu.pb.gz\n",
			o->outdir, o->outdir, o->outdir);
	free(w.pprof);
	return err;
}

static int write_outputs(struct record *rec, const struct record_opts *o,
			 uint64_t elapsed, uint32_t freq_hz)
{
	struct writer w = { .folded = rec->sinks.folded };
	char title[128];
	int err;

	snprintf(title, sizeof(title), "tgprof: %s, %u Hz, %.1f s",
		 o->pid ? "one process" : "whole host", freq_hz, elapsed / 1e9);
	w.title = title;
	err = encode_profiles(rec->sinks.merge, &w);
	if (err) {
		tg_err(&rec->hl.logger, "encoding the profiles: %s",
		       strerror(-err));
		goto out;
	}
	err = write_file(o->outdir, "profile.otlp.pb", write_otlp, &w);
	if (err) {
		tg_err(&rec->hl.logger, "writing to %s: %s", o->outdir,
		       strerror(-err));
		goto out;
	}
	err = write_view(rec, o, &w, &cpu_view);
	if (err)
		goto out;
	if (o->log_level > TG_LOG_ERROR)
		fprintf(stderr,
			"tgprof: wrote %s/stacks.folded, %s/flamegraph.svg, %s/profile.pb.gz and %s/profile.otlp.pb\n",
			o->outdir, o->outdir, o->outdir, o->outdir);
	if (rec->sinks.offcpu)
		err = write_offcpu(rec, o, &w, title);
out:
	free(w.otlp);
	free(w.pprof);
	return err;
}

/* The plugin with its keys and -F and --interval checked against them:
 * 0, or an exit code after one line. With @help, the usage is printed
 * instead (with the plugin's bounds when it loads) and 0 returned. */
static int record_plugin(const struct record_opts *o, bool help,
			 struct plugin_handle *h, struct record_keys *k)
{
	char err[PLUGIN_ERR_MAX];
	int ret;

	if (help) {
		/* Quietly: the help is there even when the plugin is not. */
		ret = plugin__load(o->plugin, h, err, sizeof(err));
		record_usage(stdout,
			     !ret && !record_keys__find(h->desc, k) ? k : NULL);
		plugin__unload(h);
		return 0;
	}
	ret = plugin__open(o->plugin, NULL, h);
	if (ret)
		return ret;
	if (record_keys__find(h->desc, k))
		return EXIT_RUNTIME;
	if (record_keys__check(k, o, k->interval_text,
			       sizeof(k->interval_text)))
		return EXIT_USAGE;
	return 0;
}

/* Everything after the checks: the sinks, the receiver, the loop, the
 * files. Takes @cfg (the receiver's configuration). Returns the exit
 * code. */
static int record_run(struct record *rec, const struct tgprof_plugin *p,
		      const struct record_opts *o, const struct record_keys *k,
		      struct tgprof_config *cfg, int pidfd)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct tgprof_receiver *r = NULL;
	struct tgprof_receiver_stats st;
	sigset_t stop, waitmask;
	uint64_t elapsed = 0;
	int err, ret;

	/* Blocked from here on, the threads to come included, and let
	 * through only while the loop waits. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);

	ret = EXIT_RUNTIME;
	rec->sinks.folded = folded__new(0);
	rec->sinks.merge = record_merge_new(o, k->freq_hz);
	if (o->off_cpu)
		rec->sinks.offcpu = folded__new(0);
	if (!rec->sinks.folded || !rec->sinks.merge ||
	    (o->off_cpu && !rec->sinks.offcpu)) {
		tg_err(&rec->hl.logger, "out of memory");
		goto out;
	}
	if (o->endpoint) {
		err = export_start(rec, o);
		if (err == -EINVAL) {
			ret = EXIT_USAGE;
			goto out;
		}
		if (err) {
			tg_err(&rec->hl.logger, "export: %s", strerror(-err));
			goto out;
		}
	}
	rec->host = (struct tgprof_host){
		.sz = sizeof(rec->host),
		.abi_major = TGPROF_ABI_MAJOR,
		.abi_minor = TGPROF_ABI_MINOR,
		.ctx = rec,
		.log = record_log,
		.report_status = record_status,
		.consume_profiles = record_consume,
	};
	r = p->create(cfg, &rec->host);
	if (!r) {
		tg_err(&rec->hl.logger, "creating the receiver: %s",
		       strerror(errno));
		goto out;
	}
	/* The reason of a failure was logged. */
	if (p->start(r))
		goto out;
	tg_info(&rec->hl.logger, "sampling %s at %u Hz for %.1f s",
		o->pid ? "one process" : "every CPU", k->freq_hz,
		o->duration_ns / 1e9);

	err = record_loop(rec, p, r, o, pidfd, &waitmask, &elapsed);
	/* The last interval reaches the sinks before this returns. */
	p->shutdown(r, PLUGIN_SHUTDOWN_NS);
	if (err)
		goto out;
	export_finish(rec, o);
	receiver_stats(p, r, &st);
	if (o->log_level > TG_LOG_ERROR)
		print_summary(rec, &st, elapsed, k->freq_hz);
	if (!write_outputs(rec, o, elapsed, k->freq_hz))
		ret = 0;
out:
	p->destroy(r);
	p->config_free(cfg);
	return ret;
}

int cmd_record(int argc, char **argv)
{
	struct plugin_handle plugin = { 0 };
	struct record_opts o = { 0 };
	struct record_keys keys = { 0 };
	struct tgprof_config *cfg = NULL;
	struct record *rec;
	int err, ret, pidfd = -1;

	err = parse_args(argc, argv, &o);
	if (err < 0)
		return EXIT_USAGE;
	ret = record_plugin(&o, err > 0, &plugin, &keys);
	if (ret || err > 0)
		goto out_plugin;

	ret = EXIT_USAGE;
	if (o.pid) {
		ret = target_open(o.pid, &pidfd);
		if (ret)
			goto out_plugin;
	}
	/* Every key checked before anything is written or loaded. */
	ret = record_config(plugin.desc, &o, &keys, &cfg);
	if (ret)
		goto out_pidfd;
	err = check_outdir(o.outdir);
	if (err) {
		fprintf(stderr,
			"tgprof: cannot write to output directory '%s': %s\n",
			o.outdir, strerror(-err));
		ret = EXIT_USAGE;
		goto out_pidfd;
	}
	ret = EXIT_RUNTIME;
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		fprintf(stderr, "tgprof: out of memory\n");
		goto out_pidfd;
	}
	host_log__init(&rec->hl, o.log_level);
	if (privileges_check(&rec->hl.logger)) {
		host_log__route_libbpf(&rec->hl);
		ret = record_run(rec, plugin.desc, &o, &keys, cfg, pidfd);
		cfg = NULL;
		host_log__route_libbpf(NULL);
	}
	otlp_http__free(rec->sinks.http, 0);
	otlp_merge__free(rec->sinks.merge);
	folded__free(rec->sinks.folded);
	folded__free(rec->sinks.offcpu);
	free(rec);
out_pidfd:
	if (cfg)
		plugin.desc->config_free(cfg);
	if (pidfd >= 0)
		close(pidfd);
out_plugin:
	plugin__unload(&plugin);
	return ret;
}
