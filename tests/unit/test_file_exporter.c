// SPDX-License-Identifier: Apache-2.0
/* Guards exporter/file.c: each request becomes one file per format, named
 * by its time and written atomically; at most max_files of each format
 * stay (files of an earlier run count); a request that cannot be written is
 * dropped, counted and logged once; shutdown drains the queue or counts
 * what it could not write. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "exporter/file.h"
#include "lib/clock.h"
#include "receiver/profile/profile.h"

#define SECOND NSEC_PER_SEC

static char dir[64];
static int errors_logged;
static char last_error[512];

static void on_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level == TG_LOG_ERROR) {
		errors_logged++;
		snprintf(last_error, sizeof(last_error), "%s", msg);
	}
}

static const struct tg_logger logger = { .fn = on_log,
					 .max_level = TG_LOG_DEBUG };

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tgprof-file-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	errors_logged = 0;
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

/* One small request: "app;main;work" @count times. */
/* A request of @count CPU samples of app;main;work and, with @off_ns,
 * one off-CPU sample of that many nanoseconds on the same stack. */
static void *request_off(size_t *len, int count, uint64_t off_ns)
{
	struct profile_builder_opts o = { .sz = sizeof(o), .host_name = "h" };
	struct profile_builder *b = profile_builder__new(&o);
	struct proc p = { .tgid = 9, .start_ns = 1, .comm = "app" };
	struct sym_frame f[2] = {
		{ .addr = 0x20, .name = "work", .system_name = "work" },
		{ .addr = 0x10, .name = "main", .system_name = "main" },
	};
	struct sym_sample s = { .tgid = 9,
				.tid = 9,
				.start_ns = 1,
				.comm = "app",
				.pcomm = "app",
				.proc = &p,
				.frames = f,
				.nframes = 2 };
	void *req;

	cr_assert_not_null(b);
	while (count--) {
		s.ts_ns = boot_ns();
		cr_assert_eq(profile_builder__add(b, &s), 0);
	}
	if (off_ns) {
		s.off_cpu_ns = off_ns;
		cr_assert_eq(profile_builder__add(b, &s), 0);
	}
	cr_assert_eq(profile_builder__flush(b, &req, len), 0);
	profile_builder__free(b);
	return req;
}

static void *request(size_t *len, int count)
{
	return request_off(len, count, 0);
}

/* The names in the directory ending in @suffix, sorted; how many. */
static size_t names(const char *suffix, char out[][64], size_t max)
{
	struct dirent **list;
	size_t n = 0, sl = strlen(suffix);
	int i, total;

	total = scandir(dir, &list, NULL, alphasort);
	cr_assert_geq(total, 0);
	for (i = 0; i < total; i++) {
		size_t l = strlen(list[i]->d_name);

		if (l > sl && !strcmp(list[i]->d_name + l - sl, suffix)) {
			if (n < max)
				snprintf(out[n], 64, "%.63s", list[i]->d_name);
			n++;
		}
		free(list[i]);
	}
	free(list);
	return n;
}

static char *slurp(const char *name)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void touch(const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
}

TestSuite(file_exporter, .init = setup, .fini = teardown);

Test(file_exporter, writes_every_format_atomically)
{
	struct file_exporter_opts o = { .sz = sizeof(o), .directory = dir };
	struct file_exporter_stats st;
	struct file_exporter *e;
	char got[8][64], *text;
	size_t len;
	void *req = request(&len, 3);

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.enqueued, 2);
	cr_assert_eq(st.written, 2);
	cr_assert_eq(st.files_written, 8);
	cr_assert_gt(st.bytes_written, len * 2);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(file_exporter__submit(e, req, len), -ESHUTDOWN);

	cr_assert_eq(names(".folded", got, 8), 2);
	/* Named by time, in order, never the same name twice. */
	cr_assert_str_neq(got[0], got[1]);
	cr_assert_lt(strcmp(got[0], got[1]), 0);
	cr_assert_eq(strncmp(got[0], FILE_EXPORTER_PREFIX, 7), 0);
	text = slurp(got[1]);
	cr_assert_str_eq(text, "app;main;work 3\n");
	free(text);
	cr_assert_eq(names(".svg", got, 8), 2);
	cr_assert_eq(names(".pb.gz", got, 8), 2);
	cr_assert_eq(names(".otlp.pb", got, 8), 2);
	text = slurp(got[0]);
	cr_assert_eq(memcmp(text, req, len), 0, "otlp is not the request");
	free(text);
	cr_assert_eq(names(".tmp", got, 8), 0);
	cr_assert_eq(errors_logged, 0);
	file_exporter__free(e, 0);
	free(req);
}

/* An interval with off-CPU samples: their own folded, flame graph and
 * pprof files beside the CPU ones, which keep only the CPU samples; an
 * interval without has none of them. */
Test(file_exporter, off_cpu_samples_get_their_own_files)
{
	struct file_exporter_opts o = { .sz = sizeof(o), .directory = dir };
	struct file_exporter_stats st;
	struct file_exporter *e;
	size_t len, cpu_len;
	void *req = request_off(&len, 1, 2500000);
	void *cpu_req = request(&cpu_len, 2);
	char got[8][64], *text;

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__submit(e, cpu_req, cpu_len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.written, 2);
	cr_assert_eq(st.files_written, 11);

	cr_assert_eq(names(".offcpu.folded", got, 8), 1);
	text = slurp(got[0]);
	cr_assert_str_eq(text, "app;main;work 2500000\n");
	free(text);
	cr_assert_eq(names(".offcpu.svg", got, 8), 1);
	cr_assert_eq(names(".offcpu.pb.gz", got, 8), 1);
	/* The CPU files: the two intervals, CPU samples only. */
	cr_assert_eq(names(".folded", got, 8), 3);
	text = slurp(got[0]);
	cr_assert_str_eq(text, "app;main;work 1\n");
	free(text);
	cr_assert_eq(errors_logged, 0);
	file_exporter__free(e, 0);
	free(req);
	free(cpu_req);
}

Test(file_exporter, keeps_max_files_counting_an_earlier_run)
{
	struct file_exporter_opts o = { .sz = sizeof(o),
					.directory = dir,
					.formats = FILE_FORMAT_FOLDED,
					.max_files = 3 };
	struct file_exporter_stats st;
	struct file_exporter *e;
	char got[8][64];
	size_t len, i;
	void *req = request(&len, 1);

	touch("tgprof-20000101T000000.000Z.folded");
	touch("tgprof-20000102T000000.000Z.folded");
	touch("tgprof-20000103T000000.000Z.folded");
	touch("tgprof-20000104T000000.000Z.folded");
	touch("tgprof-20000101T000000.000Z.svg"); /* not a format written */
	touch(".tgprof-20000105T000000.000Z.folded.tmp"); /* a crash's */
	touch("notes.folded");

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	/* Listed at the first write: a file written meanwhile counts too. */
	touch("tgprof-20000105T000000.000Z.folded");
	cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__free(e, 0);
	cr_assert_eq(names(".folded", got, 8), 4);
	cr_assert_str_eq(got[0], "notes.folded");
	cr_assert_str_eq(got[1], "tgprof-20000104T000000.000Z.folded");
	cr_assert_str_eq(got[2], "tgprof-20000105T000000.000Z.folded");
	cr_assert_eq(names(".tmp", got, 8), 0);

	/* Another run: its files replace the earlier ones, oldest first. */
	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	for (i = 0; i < 5; i++)
		cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.written, 5);
	cr_assert_eq(st.files_removed, 5);
	cr_assert_eq(names(".folded", got, 8), 4);
	cr_assert_str_eq(got[0], "notes.folded");
	for (i = 1; i < 4; i++)
		cr_assert(strncmp(got[i], "tgprof-2000", 11), "%s", got[i]);
	cr_assert_eq(names(".svg", got, 8), 1);
	cr_assert_eq(names(".pb.gz", got, 8), 0);
	file_exporter__free(e, 0);
	free(req);
}

Test(file_exporter, a_write_error_drops_and_logs_once)
{
	struct file_exporter_opts o = { .sz = sizeof(o),
					.directory = dir,
					.formats = FILE_FORMAT_OTLP };
	struct file_exporter_stats st;
	struct file_exporter *e;
	char got[4][64];
	size_t len, i;
	void *req = request(&len, 1);

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	cr_assert_eq(rmdir(dir), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.dropped_error, 3);
	cr_assert_eq(st.written, 0);
	cr_assert_eq(errors_logged, 1, "one line per outage");
	cr_assert(strstr(last_error, "No such file or directory"), "%s",
		  last_error);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(names(".otlp.pb", got, 4), 0);
	file_exporter__free(e, 0);
	free(req);
}

Test(file_exporter, a_request_that_does_not_decode_is_dropped)
{
	struct file_exporter_opts o = { .sz = sizeof(o), .directory = dir };
	struct file_exporter_stats st;
	struct file_exporter *e;
	char got[4][64];

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	cr_assert_eq(file_exporter__submit(e, "\xff\xff\xff", 3), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.dropped_error, 1);
	cr_assert_eq(errors_logged, 1);
	/* What could be written was, whole; nothing half-written stays. */
	cr_assert_eq(names(".otlp.pb", got, 4), 1);
	cr_assert_eq(names(".folded", got, 4), 0);
	cr_assert_eq(names(".tmp", got, 4), 0);
	file_exporter__free(e, 0);
}

Test(file_exporter, shutdown_without_time_counts_what_is_left)
{
	struct file_exporter_opts o = { .sz = sizeof(o),
					.directory = dir,
					.queue_size = 100 };
	struct file_exporter_stats st;
	struct file_exporter *e;
	size_t len, i;
	void *req = request(&len, 50);

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	for (i = 0; i < 50; i++)
		cr_assert_eq(file_exporter__submit(e, req, len), 0);
	file_exporter__shutdown(e, 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.written + st.dropped_shutdown, 50);
	cr_assert_eq(st.queued, 0);
	/* Idempotent. */
	cr_assert_eq(file_exporter__shutdown(e, SECOND),
		     st.dropped_shutdown ? -ETIMEDOUT : 0);
	file_exporter__free(e, 0);
	free(req);
}

Test(file_exporter, a_full_queue_drops_the_oldest)
{
	struct file_exporter_opts o = { .sz = sizeof(o),
					.directory = dir,
					.queue_size = 1 };
	struct file_exporter_stats st;
	struct file_exporter *e;
	size_t len, i;
	void *req = request(&len, 1);

	e = file_exporter__new(&o, &logger);
	cr_assert_not_null(e);
	for (i = 0; i < 200; i++)
		cr_assert_eq(file_exporter__submit(e, req, len), 0);
	cr_assert_eq(file_exporter__shutdown(e, 10 * SECOND), 0);
	file_exporter__stats(e, &st);
	cr_assert_eq(st.enqueued, 200);
	cr_assert_eq(st.written + st.dropped_queue_full, 200);
	cr_assert_gt(st.dropped_queue_full, 0);
	file_exporter__free(e, 0);
	free(req);
}

Test(file_exporter, a_directory_that_cannot_be_made_is_refused)
{
	struct file_exporter_opts o = { .sz = sizeof(o) };
	char path[128];

	touch("plain");
	snprintf(path, sizeof(path), "%s/plain/sub", dir);
	o.directory = path;
	errno = 0;
	cr_assert_null(file_exporter__new(&o, &logger));
	cr_assert_eq(errno, ENOTDIR);
	cr_assert_eq(errors_logged, 1);
	o.directory = dir;
	o.formats = 1u << 7;
	cr_assert_null(file_exporter__new(&o, &logger));
	cr_assert_eq(errno, EINVAL);
}

Test(file_exporter, option_structs_of_other_sizes_follow_the_opts_rule)
{
	struct {
		struct file_exporter_opts o;
		uint64_t unknown;
	} newer = { .o = { .sz = sizeof(newer), .directory = dir } };
	struct file_exporter_opts older = {
		.sz = offsetof(struct file_exporter_opts, formats),
		.directory = dir,
		.formats = FILE_FORMAT_OTLP, /* beyond its size: not read */
	};
	struct file_exporter *e;

	/* An older caller's fields are read, the rest take defaults. */
	e = file_exporter__new(&older, &logger);
	cr_assert_not_null(e);
	file_exporter__free(e, 0);
	/* A newer caller's zero fields are fine, a set one is refused. */
	e = file_exporter__new(&newer.o, &logger);
	cr_assert_not_null(e);
	file_exporter__free(e, 0);
	newer.unknown = 1;
	cr_assert_null(file_exporter__new(&newer.o, &logger));
	cr_assert_eq(errno, EINVAL);
	older.sz = 4;
	cr_assert_null(file_exporter__new(&older, &logger));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(errors_logged, 2);
}
