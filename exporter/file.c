// SPDX-License-Identifier: Apache-2.0
/* File exporter: requests queue in submit(), a writer thread turns each
 * into the configured formats (raw OTLP, pprof, folded stacks, flame
 * graph), writes them through temporary files and rotates what is kept.
 * Both the requests and each format's kept files are a lib/queue. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exporter/file.h"
#include "exporter/flamegraph.h"
#include "exporter/folded.h"
#include "exporter/otlp_folded.h"
#include "exporter/pprof.h"
#include "lib/clock.h"
#include "lib/opts.h"
#include "lib/outdir.h"
#include "lib/queue.h"

#define DEFAULT_MAX_FILES 100
#define DEFAULT_QUEUE_SIZE 8
/* Files of one format listed from the directory at start; more are left
 * alone (and said once). */
#define SCAN_MAX 1000000
#define NAME_MAX_LEN 160 /* "tgprof-20250101T000000.000Z.otlp.pb" and room */
#define NFORMATS 7

/* Each format's files, rotated apart. The off-CPU rows come with their
 * format's bit, written only for a request that has off-CPU samples, and
 * before the CPU rows: a name is the first row whose suffix it ends in. */
static const struct {
	uint32_t bit;
	const char *name;
	const char *suffix;
	enum otlp_profile_kind kind;
} formats[NFORMATS] = {
	{ FILE_FORMAT_PPROF, "pprof", ".offcpu.pb.gz", OTLP_PROFILE_OFF_CPU },
	{ FILE_FORMAT_FOLDED, "folded", ".offcpu.folded",
	  OTLP_PROFILE_OFF_CPU },
	{ FILE_FORMAT_SVG, "svg", ".offcpu.svg", OTLP_PROFILE_OFF_CPU },
	{ FILE_FORMAT_OTLP, "otlp", ".otlp.pb", OTLP_PROFILE_CPU },
	{ FILE_FORMAT_PPROF, "pprof", ".pb.gz", OTLP_PROFILE_CPU },
	{ FILE_FORMAT_FOLDED, "folded", ".folded", OTLP_PROFILE_CPU },
	{ FILE_FORMAT_SVG, "svg", ".svg", OTLP_PROFILE_CPU },
};

struct fe_req {
	uint64_t stamp_ms; /* Unix ms: the file names */
	size_t len;
	unsigned char data[];
};

struct file_exporter {
	/* Set by file_exporter__new(), read-only afterwards. */
	struct tg_logger log; /* copy; log.ctx borrowed */
	char *dir;
	int dirfd;
	uint32_t formats;
	uint32_t max_files;
	uint32_t queue_size;
	char *title;
	pthread_t thread;

	/* The writer thread's own. */
	bool scanned; /* the directory was listed */
	/* The files of each format, oldest first, max_files of them: the
	 * one a new file pushes out is removed. */
	struct queue *kept[NFORMATS];
	int last_err; /* of the previous request: said once per outage */

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond; /* work queued, or stopping */
	struct queue *queue; /* of struct fe_req, waiting to be written */
	bool busy; /* one request being written */
	uint64_t last_stamp_ms;
	bool stopping;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC, once stopping */
	bool joined;
	int shutdown_result;
	struct file_exporter_stats st; /* those the queue does not count */
};

uint32_t file_format__parse(const char *name)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		if (formats[i].kind == OTLP_PROFILE_CPU &&
		    !strcmp(formats[i].name, name))
			return formats[i].bit;
	return 0;
}

const char *file_format__suffix(uint32_t format)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		if (formats[i].kind == OTLP_PROFILE_CPU &&
		    formats[i].bit == format)
			return formats[i].suffix;
	return NULL;
}

/* ---- kept files ------------------------------------------------------- */

/* Adds @name (owned from now on) to the files of format @i, removing the
 * oldest beyond max_files. */
static void keep(struct file_exporter *e, size_t i, char *name)
{
	void *dropped;
	char *oldest;

	queue__push(e->kept[i], name, strlen(name), &dropped);
	oldest = dropped;
	if (!oldest)
		return;
	if (!unlinkat(e->dirfd, oldest, 0) || errno == ENOENT) {
		pthread_mutex_lock(&e->lock);
		e->st.files_removed++;
		pthread_mutex_unlock(&e->lock);
	} else {
		tg_warn(&e->log, "file: cannot remove %s/%s: %s", e->dir,
			oldest, strerror(errno));
	}
	free(oldest);
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && !memcmp(s + len - n, suffix, n);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The format index of a file a run of this exporter wrote, or -1. */
static int format_of(const struct file_exporter *e, const char *name)
{
	size_t len = strlen(name), i;

	if (strncmp(name, FILE_EXPORTER_PREFIX,
		    sizeof(FILE_EXPORTER_PREFIX) - 1))
		return -1;
	for (i = 0; i < NFORMATS; i++)
		if ((e->formats & formats[i].bit) &&
		    has_suffix(name, len, formats[i].suffix))
			return (int)i;
	return -1;
}

/* Lists what earlier runs left, oldest first, and removes their stale
 * temporary files (a write cut by a crash). */
static int scan_dir(struct file_exporter *e)
{
	char **found[NFORMATS] = { NULL };
	size_t n[NFORMATS] = { 0 }, cap[NFORMATS] = { 0 }, i, j;
	bool too_many = false;
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	fd = openat(e->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int f;

		if (!strncmp(de->d_name, "." FILE_EXPORTER_PREFIX,
			     sizeof(FILE_EXPORTER_PREFIX)) &&
		    has_suffix(de->d_name, strlen(de->d_name), ".tmp")) {
			unlinkat(e->dirfd, de->d_name, 0);
			continue;
		}
		f = format_of(e, de->d_name);
		if (f < 0 || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		if (n[f] == SCAN_MAX) {
			too_many = true;
			continue;
		}
		if (n[f] == cap[f]) {
			size_t c = cap[f] ? 2 * cap[f] : 64;
			char **v = realloc(found[f], c * sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				goto out;
			}
			found[f] = v;
			cap[f] = c;
		}
		found[f][n[f]] = strdup(de->d_name);
		if (!found[f][n[f]]) {
			err = -ENOMEM;
			goto out;
		}
		n[f]++;
	}
	if (too_many)
		tg_warn(&e->log,
			"file: %s holds more than %d files of one format; only that many are rotated",
			e->dir, SCAN_MAX);
	for (i = 0; i < NFORMATS; i++) {
		if (n[i])
			qsort(found[i], n[i], sizeof(*found[i]), cmp_names);
		for (j = 0; j < n[i]; j++) {
			keep(e, i, found[i][j]);
			found[i][j] = NULL;
		}
	}
out:
	for (i = 0; i < NFORMATS; i++) {
		for (j = 0; j < n[i]; j++)
			free(found[i][j]);
		free(found[i]);
	}
	closedir(d);
	return err;
}

/* ---- writing one request ------------------------------------------------ */

struct content {
	const struct fe_req *req;
	const struct file_exporter *e;
	const char *stamp; /* ISO 8601, for the flame graph's title */
	uint32_t format; /* the one being written: FILE_FORMAT_* */
	enum otlp_profile_kind kind; /* and of which profiles */
	void *pprof;
	size_t pprof_len;
	struct folded *folded;
	struct folded *offcpu; /* the off-CPU folded stacks, once made */
};

static int write_bytes(FILE *f, const void *buf, size_t len)
{
	return len && fwrite(buf, 1, len, f) != len ? -EIO : 0;
}

/* The folded stacks of @kind, made once: 0 and *@ret, or -errno. */
static int content__folded_kind(struct content *c, enum otlp_profile_kind kind,
				struct folded **ret)
{
	struct folded **f = kind == OTLP_PROFILE_OFF_CPU ? &c->offcpu :
							   &c->folded;
	int err;

	if (!*f) {
		*f = folded__new(0);
		if (!*f)
			return -errno;
		err = otlp_folded__add_kind(*f, c->req->data, c->req->len,
					    kind);
		if (err) {
			folded__free(*f);
			*f = NULL;
			return err;
		}
	}
	*ret = *f;
	return 0;
}

/* Whether the request has profiles of @c's kind to write: CPU always (an
 * interval without samples is never sent), off-CPU when it has some. */
static bool content__has_kind(struct content *c)
{
	struct folded *f;

	if (c->kind == OTLP_PROFILE_CPU)
		return true;
	return !content__folded_kind(c, OTLP_PROFILE_OFF_CPU, &f) &&
	       folded__stacks(f);
}

/* Writes @c in its current format: outdir__write()'s fill. */
static int content__write(void *ctx, FILE *f)
{
	struct flamegraph_opts fo = { .sz = sizeof(fo) };
	struct content *c = ctx;
	char title[256];
	int err;

	bool off = c->kind == OTLP_PROFILE_OFF_CPU;
	struct folded *stacks;

	switch (c->format) {
	case FILE_FORMAT_OTLP:
		return write_bytes(f, c->req->data, c->req->len);
	case FILE_FORMAT_PPROF:
		free(c->pprof);
		c->pprof = NULL;
		err = pprof__from_otlp_kind(c->req->data, c->req->len, c->kind,
					    &c->pprof, &c->pprof_len);
		if (err)
			return err;
		return write_bytes(f, c->pprof, c->pprof_len);
	case FILE_FORMAT_FOLDED:
		err = content__folded_kind(c, c->kind, &stacks);
		return err ? err : folded__write(stacks, f);
	case FILE_FORMAT_SVG:
		err = content__folded_kind(c, c->kind, &stacks);
		if (err)
			return err;
		snprintf(title, sizeof(title), "%s, %sinterval ending %s",
			 c->e->title, off ? "off-CPU time, " : "", c->stamp);
		fo.title = title;
		fo.count_name = off ? "nanoseconds" : NULL;
		return flamegraph__write(stacks, &fo, f);
	}
	return -EINVAL;
}

static void stamp_text(uint64_t ms, char *compact, size_t clen, char *iso,
		       size_t ilen)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(compact, clen, "%04d%02d%02dT%02d%02d%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned int)(ms % 1000));
	snprintf(iso, ilen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned int)(ms % 1000));
}

/* Lists the directory at the first write rather than at creation: on a
 * reload, the exporter being replaced may still be writing its last
 * interval into the same directory, and those files must count too. */
static void scan_once(struct file_exporter *e)
{
	int err;

	if (e->scanned)
		return;
	e->scanned = true;
	err = scan_dir(e);
	if (err)
		tg_warn(&e->log,
			"file: cannot list %s (%s): files already there are not rotated",
			e->dir, strerror(-err));
}

static void write_request(struct file_exporter *e, const struct fe_req *r)
{
	char compact[64], iso[64], name[NAME_MAX_LEN];
	struct content c = { .req = r, .e = e, .stamp = iso };
	uint64_t bytes = 0, files = 0, size;
	const char *failed = NULL;
	int err = 0, first_err = 0;
	size_t i;

	scan_once(e);
	stamp_text(r->stamp_ms, compact, sizeof(compact), iso, sizeof(iso));
	for (i = 0; i < NFORMATS; i++) {
		char *kept_name;

		if (!(e->formats & formats[i].bit))
			continue;
		c.format = formats[i].bit;
		c.kind = formats[i].kind;
		if (!content__has_kind(&c))
			continue;
		snprintf(name, sizeof(name), "%s%s%s", FILE_EXPORTER_PREFIX,
			 compact, formats[i].suffix);
		err = outdir__write(e->dirfd, name, 0644, content__write, &c,
				    &size);
		if (err) {
			if (!first_err) {
				first_err = err;
				failed = formats[i].name;
			}
			continue;
		}
		files++;
		bytes += size;
		kept_name = strdup(name);
		/* Without memory, not rotated then, but written. */
		if (kept_name)
			keep(e, i, kept_name);
	}
	free(c.pprof);
	folded__free(c.folded);
	folded__free(c.offcpu);

	if (first_err && first_err != e->last_err)
		tg_err(&e->log,
		       "file: interval %s dropped: writing %s to %s: %s", iso,
		       failed, e->dir, strerror(-first_err));
	else if (!first_err && e->last_err)
		tg_warn(&e->log, "file: writing to %s works again", e->dir);
	e->last_err = first_err;

	pthread_mutex_lock(&e->lock);
	e->st.files_written += files;
	e->st.bytes_written += bytes;
	if (first_err)
		e->st.dropped_error++;
	else
		e->st.written++;
	pthread_mutex_unlock(&e->lock);
}

/* ---- the writer thread -------------------------------------------------- */

static void *writer_main(void *arg)
{
	struct file_exporter *e = arg;
	struct fe_req *r;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!queue__len(e->queue) && !e->stopping)
			pthread_cond_wait(&e->cond, &e->lock);
		if (!queue__len(e->queue))
			break;
		if (e->stopping && clock_ns(CLOCK_MONOTONIC) >= e->deadline_ns)
			break;
		r = queue__pop(e->queue, NULL);
		e->busy = true;
		pthread_mutex_unlock(&e->lock);

		write_request(e, r);
		free(r);

		pthread_mutex_lock(&e->lock);
		e->busy = false;
	}
	queue__drop_all(e->queue, QUEUE_DROP_SHUTDOWN);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- the public side ---------------------------------------------------- */

/* Proves a file can be created in the directory, so that a bad directory
 * fails at start rather than at the first interval. */
static int probe_dir(int dirfd)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "." FILE_EXPORTER_PREFIX "probe-%d.tmp",
		 (int)getpid());
	unlinkat(dirfd, name, 0);
	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	unlinkat(dirfd, name, 0);
	return 0;
}

static void fe_free(struct file_exporter *e)
{
	size_t i;

	for (i = 0; i < NFORMATS; i++)
		queue__free(e->kept[i]);
	queue__free(e->queue);
	if (e->dirfd >= 0)
		close(e->dirfd);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e->title);
	free(e->dir);
	free(e);
}

struct file_exporter *file_exporter__new(const struct file_exporter_opts *opts,
					 const struct tg_logger *log)
{
	struct file_exporter_opts o;
	struct file_exporter *e;
	size_t i;
	int err;

	if (!opts || opts__copy(&o, sizeof(o), opts) || !o.directory ||
	    !*o.directory || (o.formats & ~FILE_FORMAT_ALL) ||
	    o.max_files > FILE_EXPORTER_MAX_FILES ||
	    o.queue_size > FILE_EXPORTER_MAX_QUEUE) {
		tg_err(log, "file: options missing or out of bounds");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	e->dirfd = -1;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (log)
		e->log = *log;
	e->formats = o.formats ? o.formats : FILE_FORMAT_ALL;
	e->max_files = o.max_files ? o.max_files : DEFAULT_MAX_FILES;
	e->queue_size = o.queue_size ? o.queue_size : DEFAULT_QUEUE_SIZE;
	e->dir = strdup(o.directory);
	e->title = strdup(o.title ? o.title : "tgprof");
	if (!e->dir || !e->title) {
		err = -ENOMEM;
		goto err_free;
	}
	e->queue = queue__new(e->queue_size);
	err = e->queue ? 0 : -ENOMEM;
	for (i = 0; !err && i < NFORMATS; i++) {
		e->kept[i] = queue__new(e->max_files);
		if (!e->kept[i])
			err = -ENOMEM;
	}
	if (err)
		goto err_free;

	err = outdir__make(e->dir);
	if (!err) {
		e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (e->dirfd < 0)
			err = -errno;
	}
	if (!err)
		err = probe_dir(e->dirfd);
	if (err) {
		tg_err(&e->log, "file: cannot write to directory %s: %s",
		       e->dir, strerror(-err));
		goto err_free;
	}
	err = -pthread_create(&e->thread, NULL, writer_main, e);
	if (err) {
		tg_err(&e->log, "file: cannot start the writer thread: %s",
		       strerror(-err));
		goto err_free;
	}
	return e;

err_free:
	fe_free(e);
	errno = -err;
	return NULL;
}

int file_exporter__submit(struct file_exporter *e, const void *req, size_t len)
{
	struct fe_req *r;
	uint64_t now_ms;
	void *old;

	if (!e || (!req && len))
		return -EINVAL;
	r = malloc(sizeof(*r) + len);
	if (!r)
		return -ENOMEM;
	r->len = len;
	if (len)
		memcpy(r->data, req, len);
	now_ms = clock_ns(CLOCK_REALTIME) / NSEC_PER_MSEC;

	pthread_mutex_lock(&e->lock);
	if (e->stopping) {
		pthread_mutex_unlock(&e->lock);
		free(r);
		return -ESHUTDOWN;
	}
	/* Strictly increasing: two intervals never share a name. */
	r->stamp_ms = now_ms > e->last_stamp_ms ? now_ms : e->last_stamp_ms + 1;
	e->last_stamp_ms = r->stamp_ms;
	queue__push(e->queue, r, len, &old);
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	free(old);
	return 0;
}

/* The exporter's counts and its queue's; @e->lock held. */
static void fe_stats_locked(const struct file_exporter *e,
			    struct file_exporter_stats *ret)
{
	struct queue_stats qs;

	queue__stats(e->queue, &qs);
	*ret = e->st;
	ret->enqueued = qs.pushed;
	ret->dropped_queue_full = qs.dropped[QUEUE_DROP_FULL];
	ret->dropped_shutdown = qs.dropped[QUEUE_DROP_SHUTDOWN];
	ret->queued = qs.len + e->busy;
}

void file_exporter__stats(struct file_exporter *e,
			  struct file_exporter_stats *ret)
{
	pthread_mutex_lock(&e->lock);
	fe_stats_locked(e, ret);
	pthread_mutex_unlock(&e->lock);
}

int file_exporter__shutdown(struct file_exporter *e, uint64_t timeout_ns)
{
	struct file_exporter_stats st;
	uint64_t dropped, now;

	if (!e)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (e->joined) {
		pthread_mutex_unlock(&e->lock);
		return e->shutdown_result;
	}
	e->stopping = true;
	now = clock_ns(CLOCK_MONOTONIC);
	e->deadline_ns = timeout_ns > UINT64_MAX - now ? UINT64_MAX :
							 now + timeout_ns;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);

	pthread_join(e->thread, NULL);

	pthread_mutex_lock(&e->lock);
	e->joined = true;
	fe_stats_locked(e, &st);
	dropped = st.dropped_shutdown;
	e->shutdown_result = dropped ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&e->lock);
	if (dropped)
		tg_warn(&e->log,
			"file: %llu intervals still queued at shutdown were dropped",
			(unsigned long long)dropped);
	return e->shutdown_result;
}

void file_exporter__free(struct file_exporter *e, uint64_t timeout_ns)
{
	if (!e)
		return;
	file_exporter__shutdown(e, timeout_ns);
	fe_free(e);
}
