// SPDX-License-Identifier: Apache-2.0
/* The fake /proc tree of the unit tests: see fakeproc.h. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fakeproc.h"

static char root[PATH_MAX];

const char *fakeproc_create(const char *prefix)
{
	int n;

	cr_assert_eq(root[0], '\0', "a fake /proc already exists: %s", root);
	n = snprintf(root, sizeof(root), "/tmp/%s-XXXXXX", prefix);
	cr_assert(n > 0 && (size_t)n < sizeof(root), "prefix too long");
	cr_assert_not_null(mkdtemp(root), "mkdtemp: %s", strerror(errno));
	return root;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -errno : 0;
}

static int remove_tree(const char *path)
{
	int err = nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);

	return err == -1 ? -errno : err;
}

int fakeproc_remove(void)
{
	int err = 0;

	if (root[0])
		err = remove_tree(root);
	root[0] = '\0';
	return err;
}

static void vpath(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n, m;

	cr_assert_neq(root[0], '\0', "no fake /proc: fakeproc_create() first");
	n = snprintf(buf, size, "%s/", root);
	m = vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	cr_assert(m >= 0 && (size_t)m < size - (size_t)n, "path too long: %s",
		  buf);
}

void fakeproc_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpath(buf, size, fmt, ap);
	va_end(ap);
}

void fakeproc_rmtree(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	err = remove_tree(path);
	cr_assert_eq(err, 0, "removing %s: %s", path, strerror(-err));
}

static void mkdir_one(const char *path)
{
	cr_assert(!mkdir(path, 0755) || errno == EEXIST, "mkdir %s: %s", path,
		  strerror(errno));
}

void fakeproc_mkdir(const char *fmt, ...)
{
	char path[PATH_MAX], *p;
	va_list ap;

	va_start(ap, fmt);
	vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (p = path + strlen(root) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir_one(path);
		*p = '/';
	}
	mkdir_one(path);
}

void fakeproc_write(const char *text, const char *mode, const char *fmt, ...)
{
	size_t len = strlen(text);
	char path[PATH_MAX];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, mode);
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, len, f), len, "%s: short write", path);
	cr_assert_eq(fclose(f), 0, "%s: %s", path, strerror(errno));
}

void fakeproc_symlink(const char *target, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	cr_assert_eq(symlink(target, path), 0, "symlink %s: %s", path,
		     strerror(errno));
}

void fakeproc_task_dir(char *buf, size_t size, uint32_t tgid, uint32_t tid)
{
	if (tid)
		snprintf(buf, size, "%u/task/%u", tgid, tid);
	else
		snprintf(buf, size, "%u", tgid);
}

void fakeproc_write_stat(uint32_t tgid, uint32_t tid,
			 const struct fakeproc_stat *st)
{
	bool mm = st->start_code || st->end_code || st->start_stack;
	char dir[64], line[1024];
	int n;

	/* vsize, rss and fields 45-51 come from the mm: 0 without one. */
	n = snprintf(
		line, sizeof(line),
		"%u (%s) %c 1 %u %u 0 -1 4194560 1207 0 0 0 10 5 0 0 20 0 2 0 %llu %s 18446744073709551615 %llu %llu %llu 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 %s 0\n",
		tid ? tid : tgid, st->comm, st->state, tgid, tgid,
		(unsigned long long)st->start_ticks, mm ? "9261056 896" : "0 0",
		(unsigned long long)st->start_code,
		(unsigned long long)st->end_code,
		(unsigned long long)st->start_stack,
		mm ? "94000000002000 94000000003000 94000001000000 140720000000000 140720000000100 140720000000100 140720000004000" :
		     "0 0 0 0 0 0 0");
	cr_assert(n > 0 && (size_t)n < sizeof(line), "stat line too long");
	fakeproc_task_dir(dir, sizeof(dir), tgid, tid);
	fakeproc_mkdir("%s", dir);
	fakeproc_write(line, "w", "%s/stat", dir);
}
