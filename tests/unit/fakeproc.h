/* SPDX-License-Identifier: Apache-2.0 */
/* A fake /proc for the unit tests: a temporary directory handed to procfs,
 * the process table and the symbolizer as their proc root, filled with the
 * task directories, stat and maps files and links each test describes. */
#ifndef TGPROF_TESTS_UNIT_FAKEPROC_H
#define TGPROF_TESTS_UNIT_FAKEPROC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every call below fails the running test (a Criterion assertion) when the
 * file system refuses; paths are printf formats relative to the root. One
 * tree at a time per process, which is what Criterion's one process per
 * test gives.
 */

/* Creates /tmp/<prefix>-XXXXXX and returns its path: borrowed, valid until
 * fakeproc_remove(). */
const char *fakeproc_create(const char *prefix);

/* Removes the whole tree (links are removed, never followed). Returns 0,
 * also when there is no tree, or -errno. */
int fakeproc_remove(void);

/* rm -r ROOT/<fmt>: a task or a process leaving /proc. */
void fakeproc_rmtree(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* ROOT/<fmt> into @buf: for what the tests do by hand. */
void fakeproc_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* mkdir -p ROOT/<fmt>. */
void fakeproc_mkdir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes @text to ROOT/<fmt>, fopen() @mode: "w" replaces, "a" appends. */
void fakeproc_write(const char *text, const char *mode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ROOT/<fmt> becomes a symbolic link to @target, taken as it is. */
void fakeproc_symlink(const char *target, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "TGID" for @tid 0 (the group's own entry), else "TGID/task/TID". */
void fakeproc_task_dir(char *buf, size_t size, uint32_t tgid, uint32_t tid);

/* What a stat line says that the receiver reads. */
struct fakeproc_stat {
	const char *comm; /* any bytes: spaces, parentheses, too long */
	char state;
	uint64_t start_ticks;
	/* All 0: the task has no mm (a kernel thread, a zombie), and the
	 * other fields the kernel takes from the mm are printed as 0 too. */
	uint64_t start_code, end_code, start_stack;
};

/* Writes the stat file of fakeproc_task_dir(@tgid, @tid), making its
 * directories: the kernel's 52 fields, the first @tid (or @tgid). */
void fakeproc_write_stat(uint32_t tgid, uint32_t tid,
			 const struct fakeproc_stat *st);

#endif
