/* `tgprof record`: one-shot profiling with no collector. Samples the host
 * (or one process and all its threads) for a while through the receiver,
 * folds the symbolized samples and builds one OTLP profile of the whole
 * recording, then writes stacks.folded, flamegraph.svg, profile.pb.gz
 * (pprof), profile.otlp.pb and the top functions. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/tgprof/hostlog.h"
#include "cmd/tgprof/tgprof.h"
#include "exporter/flamegraph.h"
#include "exporter/folded.h"
#include "exporter/otlp_http.h"
#include "exporter/pprof.h"
#include "exporter/topfuncs.h"
#include "lib/clock.h"
#include "lib/outdir.h"
#include "receiver/processes/procfs.h"
#include "receiver/profile/profile.h"
#include "receiver/receiver.h"

#define RECORD_MAX_FREQ 10000
#define RECORD_MAX_SECONDS (7 * 24 * 3600)
#define PROGRESS_INTERVAL_NS (250 * NSEC_PER_MSEC)
#define EXPORT_SHUTDOWN_NS (30 * NSEC_PER_SEC)

struct record_opts {
	uint32_t pid;
	uint64_t duration_ns;
	uint32_t freq_hz;
	const char *outdir;
	const char *service_name; /* NULL: each process's executable name */
	/* OTLP/HTTP export while recording (--endpoint): one request per
	 * report interval. */
	const char *endpoint;
	uint64_t interval_ns;
	bool no_gzip;
	const char *ca_file;
	bool insecure;
	struct otlp_http_header headers[OTLP_HTTP_MAX_HEADERS];
	size_t nheaders;
	bool kernel_stacks;
	bool include_idle;
	unsigned int top;
	int progress; /* -1: when stderr is a terminal */
	enum tg_log_level log_level;
};

/* Set by SIGINT/SIGTERM: stop sampling and write what was recorded. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void record_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof record [-p PID] [-d SECONDS] [-F HZ] [-o DIR]\n"
		"\n"
		"Samples on-CPU stacks of every process (or of PID and all its threads)\n"
		"and writes DIR/stacks.folded, DIR/flamegraph.svg, DIR/profile.pb.gz\n"
		"(pprof) and DIR/profile.otlp.pb (OTLP); prints the top functions.\n"
		"\n"
		"  -p, --pid PID          only this process (all its threads)\n"
		"  -d, --duration TIME    how long: 10, 10s, 500ms, 2m (default 10s)\n"
		"  -F, --freq HZ          samples per second per CPU, 1..%d (default 19)\n"
		"  -o, --output DIR       where to write (default ./tgprof-out)\n"
		"      --service-name NAME  service.name of every process in the\n"
		"                         profiles (default: its executable name)\n"
		"      --endpoint URL     also send OTLP profiles to a collector\n"
		"                         (http://host:4318; POST URL/v1development/profiles)\n"
		"      --interval TIME    report interval for --endpoint (default 5s)\n"
		"      --header NAME=VALUE  extra HTTP header for --endpoint (repeatable)\n"
		"      --no-gzip          send uncompressed\n"
		"      --ca-file FILE     CA certificates for an https endpoint\n"
		"      --insecure-skip-verify  do not verify the endpoint's certificate\n"
		"      --no-kernel        no kernel stacks\n"
		"      --idle             include the idle task's samples\n"
		"      --top N            functions in each top list (default 10)\n"
		"      --no-progress      no live progress line\n"
		"  -v, --verbose          more log lines (twice: debug)\n"
		"  -q, --quiet            errors only\n",
		RECORD_MAX_FREQ);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tgprof: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return -EINVAL;
}

/* "10", "10s", "1.5s", "500ms", "2m", "1h" -> ns. */
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long v;
	int c;

	o->duration_ns = 10 * NSEC_PER_SEC;
	o->interval_ns = 5 * NSEC_PER_SEC;
	o->freq_hz = 19;
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
			if (parse_uint(optarg, ULONG_MAX, &v) || !v ||
			    v > RECORD_MAX_FREQ) {
				fprintf(stderr,
					"tgprof: invalid frequency '%s': expected 1 to %d Hz\n",
					optarg, RECORD_MAX_FREQ);
				return -EINVAL;
			}
			o->freq_hz = v;
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
			if (parse_duration(optarg, &o->interval_ns) ||
			    o->interval_ns < 100 * NSEC_PER_MSEC)
				return usage_error(
					"invalid interval '%s': expected a duration of at least 100ms",
					optarg);
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
		case 'v':
			if (o->log_level < TG_LOG_DEBUG)
				o->log_level++;
			break;
		case 'q':
			o->log_level = TG_LOG_ERROR;
			break;
		case 'h':
			record_usage(stdout);
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

struct writer {
	const struct folded *folded;
	const struct record_opts *opts;
	const char *title;
	const void *otlp; /* the recording's ExportProfilesServiceRequest */
	size_t otlp_len;
	const void *pprof; /* gzip'd pprof Profile */
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

/* Where every symbolized sample goes. */
struct record_sinks {
	struct folded *folded; /* stacks.folded, flamegraph.svg, top */
	/* The OTLP profile of the whole recording (profile.otlp.pb, and
	 * profile.pb.gz from it). */
	struct profile_builder *profile;
	/* With --endpoint: the current report interval, and the exporter
	 * each interval's request goes to. */
	struct profile_builder *interval;
	struct otlp_http *http;
	uint64_t next_flush_ns; /* CLOCK_MONOTONIC */
};

static void on_sample(void *ctx, const struct sym_sample *s)
{
	struct record_sinks *sinks = ctx;

	folded__add_sample(sinks->folded, s);
	/* Drops are counted by the builders and reported at the end. */
	profile_builder__add(sinks->profile, s);
	if (sinks->interval)
		profile_builder__add(sinks->interval, s);
}

/* Ends a report interval: its request goes to the exporter's queue (never
 * waiting on the network). An interval without samples sends nothing. */
static void export_interval(struct record_sinks *sinks, struct host_log *hl)
{
	void *req = NULL;
	size_t len = 0;
	int err;

	if (!sinks->interval)
		return;
	err = profile_builder__flush(sinks->interval, &req, &len);
	if (!err && len)
		err = otlp_http__submit(sinks->http, req, len);
	if (err)
		tg_warn(&hl->logger, "export: interval dropped: %s",
			strerror(-err));
	free(req);
}

static int export_start(struct record_sinks *sinks, const struct record_opts *o,
			struct host_log *hl)
{
	struct otlp_http_opts ho = { .sz = sizeof(ho) };
	struct profile_builder_opts po = { .sz = sizeof(po) };

	po.service_name = o->service_name;
	po.freq_hz = o->freq_hz;
	sinks->interval = profile_builder__new(&po);
	if (!sinks->interval)
		return -errno;
	ho.endpoint = o->endpoint;
	ho.gzip = !o->no_gzip;
	ho.headers = o->headers;
	ho.nheaders = o->nheaders;
	ho.ca_file = o->ca_file;
	ho.insecure_skip_verify = o->insecure;
	sinks->http = otlp_http__new(&ho, &hl->logger);
	if (!sinks->http)
		return -errno;
	sinks->next_flush_ns = clock_ns(CLOCK_MONOTONIC) + o->interval_ns;
	return 0;
}

/* Sends the last interval, waits for the queue within the shutdown
 * timeout and says what happened to every request. */
static void export_finish(struct record_sinks *sinks, struct host_log *hl,
			  const struct record_opts *o)
{
	struct otlp_http_stats hs;

	if (!sinks->http)
		return;
	export_interval(sinks, hl);
	otlp_http__shutdown(sinks->http, EXPORT_SHUTDOWN_NS);
	otlp_http__stats(sinks->http, &hs);
	if (o->log_level > TG_LOG_ERROR)
		fprintf(stderr,
			"tgprof: export: sent %llu requests (%llu bytes), retries %llu, dropped %llu\n",
			(unsigned long long)hs.sent,
			(unsigned long long)hs.bytes_sent,
			(unsigned long long)hs.retries,
			(unsigned long long)(hs.dropped_queue_full +
					     hs.dropped_permanent +
					     hs.dropped_retries_exhausted +
					     hs.dropped_shutdown));
}

static void show_progress(struct host_log *hl, const struct receiver *r,
			  uint64_t elapsed_ns, uint64_t duration_ns)
{
	struct receiver_stats st;

	receiver__stats(r, &st);
	pthread_mutex_lock(&hl->lock);
	fprintf(stderr,
		"\r\033[Ktgprof: recording %5.1fs / %.1fs  samples %llu  processes %llu  lost %llu",
		elapsed_ns / 1e9, duration_ns / 1e9,
		(unsigned long long)st.samples,
		(unsigned long long)st.procs.new_processes,
		(unsigned long long)(st.sampler.samples_lost +
				     st.sampler.events_lost));
	hl->progress_shown = true;
	pthread_mutex_unlock(&hl->lock);
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

/* Whether the -p target is still there: its thread group, by the same rule
 * the process table uses (a zombie leader with live threads is alive). */
static bool target_alive(uint32_t pid, uint64_t start_ticks)
{
	return procfs__group_liveness("/proc", pid, start_ticks, NULL) ==
	       GROUP_ALIVE;
}

static int check_target(uint32_t pid, uint64_t *ret_start_ticks)
{
	struct proc_stat st;

	if (procfs__read_stat("/proc", pid, 0, &st)) {
		fprintf(stderr, "tgprof: no process with PID %u\n", pid);
		return -ESRCH;
	}
	if (!target_alive(pid, st.start_ticks)) {
		fprintf(stderr, "tgprof: process %u has exited\n", pid);
		return -ESRCH;
	}
	*ret_start_ticks = st.start_ticks;
	return 0;
}

static void print_summary(const struct receiver_stats *st,
			  const struct folded *f,
			  const struct profile_builder *pb, uint64_t elapsed_ns,
			  const struct record_opts *o)
{
	struct profile_builder_stats ps;
	uint64_t dropped;

	fprintf(stderr,
		"tgprof: %llu samples in %.1f s at %u Hz from %llu processes; lost %llu samples, %llu events\n",
		(unsigned long long)st->samples, elapsed_ns / 1e9, o->freq_hz,
		(unsigned long long)st->procs.new_processes,
		(unsigned long long)st->sampler.samples_lost,
		(unsigned long long)st->sampler.events_lost);
	if (folded__overflow(f))
		fprintf(stderr,
			"tgprof: %llu samples beyond the distinct-stack limit are in '%s'\n",
			(unsigned long long)folded__overflow(f),
			FOLDED_OVERFLOW_STACK);
	profile_builder__stats(pb, &ps);
	dropped = ps.dropped_processes + ps.dropped_samples +
		  ps.dropped_events + ps.dropped_nomem;
	if (dropped || ps.samples_overflow)
		fprintf(stderr,
			"tgprof: the pprof and OTLP profiles are over their bounds: %llu samples left out, %llu in '%s'\n",
			(unsigned long long)dropped,
			(unsigned long long)ps.samples_overflow,
			PROFILE_OVERFLOW_FUNCTION);
}

/* One profile for the whole recording: bounds sized for it, rather than
 * for one report interval. */
static struct profile_builder *record_profile_new(const struct record_opts *o)
{
	struct profile_builder_opts po = { .sz = sizeof(po) };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double events;

	po.service_name = o->service_name;
	po.freq_hz = o->freq_hz;
	po.max_processes = 65536;
	po.max_stacks = 1000000; /* as many as the folded stacks */
	po.max_entries = 4000000;
	po.max_samples = 4000000;
	po.max_string_bytes = 256u << 20;
	/* Every sample is a timestamp (12 bytes held): room for all of
	 * them, within reason. */
	events = (double)o->duration_ns / NSEC_PER_SEC * o->freq_hz *
		 (cpus > 0 ? cpus : 1) * 1.1;
	po.max_events = events < 1 << 20 ? 1 << 20 :
			events > 8 << 20 ? 8 << 20 :
					   (uint32_t)events;
	return profile_builder__new(&po);
}

/* The OTLP request of the whole recording and the pprof made from it.
 * With no sample at all, both still get written: an empty request and a
 * Profile without samples. */
static int encode_profiles(struct profile_builder *pb, struct writer *w)
{
	void *otlp = NULL, *pprof = NULL;
	size_t otlp_len = 0, pprof_len = 0;
	int err;

	err = profile_builder__flush(pb, &otlp, &otlp_len);
	if (err)
		return err;
	err = pprof__from_otlp(otlp ? otlp : "", otlp_len, &pprof, &pprof_len);
	if (err) {
		free(otlp);
		return err;
	}
	w->otlp = otlp;
	w->otlp_len = otlp_len;
	w->pprof = pprof;
	w->pprof_len = pprof_len;
	return 0;
}

static int record_loop(struct receiver *r, const struct record_opts *o,
		       struct host_log *hl, struct record_sinks *sinks,
		       uint64_t target_start, uint64_t *ret_elapsed)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC), now, next_progress = 0;
	bool progress = o->progress < 0 ? isatty(STDERR_FILENO) : o->progress;
	int n;

	for (;;) {
		n = receiver__poll(r, 100);
		if (n < 0) {
			tg_err(&hl->logger, "reading samples: %s",
			       strerror(-n));
			return n;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		if (stop_requested || now - start >= o->duration_ns)
			break;
		if (o->pid && !target_alive(o->pid, target_start)) {
			tg_info(&hl->logger, "process %u exited", o->pid);
			break;
		}
		if (sinks->http && now >= sinks->next_flush_ns) {
			export_interval(sinks, hl);
			sinks->next_flush_ns += o->interval_ns;
		}
		if (progress && now >= next_progress) {
			show_progress(hl, r, now - start, o->duration_ns);
			next_progress = now + PROGRESS_INTERVAL_NS;
		}
	}
	/* What the kernel produced up to now still counts. */
	receiver__poll(r, 0);
	clear_progress(hl);
	*ret_elapsed = now - start;
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct receiver_sink sink = { .on_sample = on_sample };
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct record_sinks sinks = { 0 };
	struct record_opts o = { 0 };
	struct receiver_config cfg;
	struct topfuncs *top = NULL;
	struct receiver_stats st;
	struct receiver *r = NULL;
	struct folded *f = NULL;
	struct host_log hl;
	uint64_t target_start = 0, elapsed = 0;
	char title[128];
	struct writer w = { 0 };
	int err, ret = EXIT_RUNTIME;

	err = parse_args(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	host_log__init(&hl, o.log_level);

	if (o.pid && check_target(o.pid, &target_start))
		return EXIT_USAGE;
	err = check_outdir(o.outdir);
	if (err) {
		fprintf(stderr,
			"tgprof: cannot write to output directory '%s': %s\n",
			o.outdir, strerror(-err));
		return EXIT_USAGE;
	}
	if (!privileges_check(&hl.logger))
		return EXIT_RUNTIME;

	host_log__route_libbpf(&hl);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	f = folded__new(0);
	sinks.profile = record_profile_new(&o);
	if (!f || !sinks.profile) {
		tg_err(&hl.logger, "out of memory");
		goto out;
	}
	sinks.folded = f;
	sink.ctx = &sinks;
	if (o.endpoint) {
		err = export_start(&sinks, &o, &hl);
		if (err == -EINVAL) {
			ret = EXIT_USAGE;
			goto out;
		}
		if (err) {
			tg_err(&hl.logger, "export: %s", strerror(-err));
			goto out;
		}
	}
	receiver_config__defaults(&cfg);
	cfg.freq_hz = o.freq_hz;
	cfg.filter_tgid = o.pid;
	cfg.kernel_stacks = o.kernel_stacks;
	cfg.include_idle = o.include_idle;
	r = receiver__new(&cfg, &sink, &hl.logger);
	if (!r) {
		tg_err(&hl.logger, "creating the receiver: %m");
		goto out;
	}
	err = receiver__start(r);
	if (err) {
		tg_err(&hl.logger, "cannot start sampling: %s", strerror(-err));
		goto out;
	}
	tg_info(&hl.logger, "sampling %s at %u Hz for %.1f s",
		o.pid ? "one process" : "every CPU", o.freq_hz,
		o.duration_ns / 1e9);

	if (record_loop(r, &o, &hl, &sinks, target_start, &elapsed))
		goto out;
	export_finish(&sinks, &hl, &o);
	receiver__stats(r, &st);
	if (o.log_level > TG_LOG_ERROR)
		print_summary(&st, f, sinks.profile, elapsed, &o);

	snprintf(title, sizeof(title), "tgprof: %s, %u Hz, %.1f s",
		 o.pid ? "one process" : "whole host", o.freq_hz,
		 elapsed / 1e9);
	w = (struct writer){ .folded = f, .opts = &o, .title = title };
	err = encode_profiles(sinks.profile, &w);
	if (err) {
		tg_err(&hl.logger, "encoding the profiles: %s", strerror(-err));
		goto out;
	}
	err = write_file(o.outdir, "stacks.folded", write_folded, &w);
	if (!err)
		err = write_file(o.outdir, "flamegraph.svg", write_svg, &w);
	if (!err)
		err = write_file(o.outdir, "profile.pb.gz", write_pprof, &w);
	if (!err)
		err = write_file(o.outdir, "profile.otlp.pb", write_otlp, &w);
	if (err) {
		tg_err(&hl.logger, "writing to %s: %s", o.outdir,
		       strerror(-err));
		goto out;
	}

	if (o.top) {
		top = topfuncs__compute(f);
		if (top)
			topfuncs__print(top, o.top, stdout);
		fflush(stdout);
	}
	if (o.log_level > TG_LOG_ERROR)
		fprintf(stderr,
			"tgprof: wrote %s/stacks.folded, %s/flamegraph.svg, %s/profile.pb.gz and %s/profile.otlp.pb\n",
			o.outdir, o.outdir, o.outdir, o.outdir);
	ret = 0;
out:
	free((void *)w.otlp);
	free((void *)w.pprof);
	topfuncs__free(top);
	receiver__free(r);
	otlp_http__free(sinks.http, 0);
	profile_builder__free(sinks.interval);
	profile_builder__free(sinks.profile);
	folded__free(f);
	return ret;
}
