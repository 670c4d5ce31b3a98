/* `tgprof record`: one-shot profiling with no collector. Samples the host
 * (or one process and all its threads) for a while through the receiver,
 * folds the symbolized samples and writes stacks.folded, flamegraph.svg
 * and the top functions. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/tgprof/tgprof.h"
#include "exporter/flamegraph.h"
#include "exporter/folded.h"
#include "exporter/topfuncs.h"
#include "lib/clock.h"
#include "receiver/procfs.h"
#include "receiver/receiver.h"

#define RECORD_MAX_FREQ 10000
#define RECORD_MAX_SECONDS (7 * 24 * 3600)
#define PROGRESS_INTERVAL_NS (250 * NSEC_PER_MSEC)

struct record_opts {
	uint32_t pid;
	uint64_t duration_ns;
	uint32_t freq_hz;
	const char *outdir;
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
		"and writes DIR/stacks.folded and DIR/flamegraph.svg; prints the top\n"
		"functions.\n"
		"\n"
		"  -p, --pid PID          only this process (all its threads)\n"
		"  -d, --duration TIME    how long: 10, 10s, 500ms, 2m (default 10s)\n"
		"  -F, --freq HZ          samples per second per CPU, 1..%d (default 19)\n"
		"  -o, --output DIR       where to write (default ./tgprof-out)\n"
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
	enum { OPT_NO_KERNEL = 256, OPT_IDLE, OPT_TOP, OPT_NO_PROGRESS };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "freq", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'o' },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "idle", no_argument, NULL, OPT_IDLE },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	unsigned long v;
	int c;

	o->duration_ns = 10 * NSEC_PER_SEC;
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
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Creates the directory and proves a file can be written there, so a bad
 * -o fails before minutes of sampling, not after. */
static int check_outdir(const char *dir)
{
	char probe[PATH_MAX];
	struct stat st;
	int fd, err;

	err = make_dirs(dir);
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
};

static int write_folded(const struct writer *w, FILE *f)
{
	return folded__write(w->folded, f);
}

static int write_svg(const struct writer *w, FILE *f)
{
	struct flamegraph_opts fo = { .sz = sizeof(fo) };

	fo.title = w->title;
	return flamegraph__write(w->folded, &fo, f);
}

/* Writes DIR/NAME through a temporary file and rename(), so a reader never
 * sees a half-written file. */
static int write_file(const char *dir, const char *name,
		      int (*fn)(const struct writer *, FILE *),
		      const struct writer *w)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
		    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	err = fn(w, f);
	if (fflush(f) && !err)
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void on_sample(void *ctx, const struct sym_sample *s)
{
	folded__add_sample(ctx, s);
}

static void show_progress(struct host_log *hl, const struct receiver *r,
			  uint64_t elapsed_ns, uint64_t duration_ns)
{
	struct receiver_stats st;

	receiver__stats(r, &st);
	fprintf(stderr,
		"\r\033[Ktgprof: recording %5.1fs / %.1fs  samples %llu  processes %llu  lost %llu",
		elapsed_ns / 1e9, duration_ns / 1e9,
		(unsigned long long)st.samples,
		(unsigned long long)st.procs.new_processes,
		(unsigned long long)(st.sampler.samples_lost +
				     st.sampler.events_lost));
	hl->progress_shown = true;
}

static void clear_progress(struct host_log *hl)
{
	if (hl->progress_shown) {
		fputs("\r\033[K", stderr);
		hl->progress_shown = false;
	}
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
			  const struct folded *f, uint64_t elapsed_ns,
			  const struct record_opts *o)
{
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
}

static int record_loop(struct receiver *r, const struct record_opts *o,
		       struct host_log *hl, uint64_t target_start,
		       uint64_t *ret_elapsed)
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
	struct record_opts o = { 0 };
	struct receiver_config cfg;
	struct topfuncs *top = NULL;
	struct receiver_stats st;
	struct receiver *r = NULL;
	struct folded *f = NULL;
	struct host_log hl;
	uint64_t target_start = 0, elapsed = 0;
	char title[128];
	struct writer w;
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
	if (!f) {
		tg_err(&hl.logger, "out of memory");
		goto out;
	}
	sink.ctx = f;
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

	if (record_loop(r, &o, &hl, target_start, &elapsed))
		goto out;
	receiver__stats(r, &st);
	if (o.log_level > TG_LOG_ERROR)
		print_summary(&st, f, elapsed, &o);

	snprintf(title, sizeof(title), "tgprof: %s, %u Hz, %.1f s",
		 o.pid ? "one process" : "whole host", o.freq_hz,
		 elapsed / 1e9);
	w = (struct writer){ .folded = f, .opts = &o, .title = title };
	err = write_file(o.outdir, "stacks.folded", write_folded, &w);
	if (!err)
		err = write_file(o.outdir, "flamegraph.svg", write_svg, &w);
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
			"tgprof: wrote %s/stacks.folded and %s/flamegraph.svg\n",
			o.outdir, o.outdir);
	ret = 0;
out:
	topfuncs__free(top);
	receiver__free(r);
	folded__free(f);
	return ret;
}
