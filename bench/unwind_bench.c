// SPDX-License-Identifier: Apache-2.0
/* Unwind-table benchmark: what compiling every executable file on this
 * host costs at start-up (receiver/unwind/table.c), and how the compiler
 * compares with libdw's CFI interface, the peer it was chosen over.
 *   - every executable file mapped by the processes on the host (from
 *     /proc/PID/maps, opened through /proc/PID/root, deduplicated by
 *     device and inode): compile time, rows and table bytes, total, per
 *     file and the top 10;
 *   - libc and the largest file: compile time (median of runs) next to
 *     producing the same rows with dwarf_cfi_addrframe().
 * Usage: unwind_bench [RUNS]. Prints figures; gates nothing. */
#include <ctype.h>
#include <dirent.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "receiver/unwind/table.h"

#define BENCH_MAX_FILES 8192
#define BENCH_LIBC "/lib/x86_64-linux-gnu/libc.so.6"

struct file {
	char path[PATH_MAX]; /* as opened: /proc/PID/root/... */
	size_t name_off; /* path + name_off: as the process sees it */
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	uint64_t ns;
	size_t rows;
	int err;
	struct unwind_table_stats st;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_rows_desc(const void *a, const void *b)
{
	const struct file *x = a, *y = b;

	return x->rows < y->rows ? 1 : x->rows > y->rows ? -1 : 0;
}

/* Compiles @path once; returns ns, fills rows and stats. */
static uint64_t compile_once(const char *path, struct file *f)
{
	struct unwind_table *t = NULL;
	uint64_t t0, t1;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		f->err = -errno;
		return 0;
	}
	t0 = now_ns();
	f->err = unwind_table__compile_fd(fd, -1, NULL, &t);
	t1 = now_ns();
	close(fd);
	if (!f->err) {
		unwind_table__rows(t, &f->rows);
		unwind_table__stats(t, &f->st);
	}
	unwind_table__free(t);
	return t1 - t0;
}

/* Every executable file mapping of every process, once per dev/inode. */
static size_t scan_host(struct file *files, size_t cap)
{
	char maps[PATH_MAX], line[PATH_MAX + 256], perms[8], path[PATH_MAX];
	unsigned long lo, hi, off, ino;
	unsigned int major, minor;
	size_t n = 0, i;
	struct dirent *de;
	struct stat st;
	FILE *f;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < cap) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(maps, sizeof(maps), "/proc/%s/maps", de->d_name);
		f = fopen(maps, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f) && n < cap) {
			if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %4095s",
				   &lo, &hi, perms, &off, &major, &minor, &ino,
				   path) != 8)
				continue;
			if (perms[2] != 'x' || path[0] != '/' || !ino)
				continue;
			for (i = 0; i < n; i++)
				if (files[i].ino == ino &&
				    files[i].dev ==
					    ((uint64_t)major << 32 | minor))
					break;
			if (i < n)
				continue;
			if ((size_t)snprintf(
				    files[n].path, sizeof(files[n].path) - 1,
				    "/proc/%.16s/root%.3900s", de->d_name,
				    path) >= sizeof(files[n].path) - 1)
				continue;
			if (stat(files[n].path, &st) != 0 ||
			    (uint64_t)st.st_ino != ino)
				continue;
			files[n].name_off =
				strlen("/proc//root") + strlen(de->d_name);
			files[n].dev = (uint64_t)major << 32 | minor;
			files[n].ino = ino;
			files[n].size = (uint64_t)st.st_size;
			n++;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * The peer: the same rows from libdw's CFI interface, one
 * dwarf_cfi_addrframe() per row (libdw runs the FDE's program up to the
 * address each time, as a compiler built on it must). Gaps are skipped
 * with our own rows, which flatters libdw. Returns ns, or 0 on failure.
 */
static uint64_t libdw_compile(const char *path, size_t *ret_rows)
{
	const struct unwind_row *rows;
	struct unwind_table *t = NULL;
	uint64_t t0, t1, addr, end, base;
	Dwarf_Op mem[3], *ops;
	Dwarf_Addr fs, fe;
	Dwarf_Frame *fr;
	Dwarf_CFI *cfi;
	size_t n, k = 0, nops, out = 0;
	bool signal;
	Elf *elf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || unwind_table__compile_fd(fd, -1, NULL, &t))
		return 0;
	rows = unwind_table__rows(t, &n);
	base = unwind_table__base(t);
	end = base + unwind_table__extent(t);
	elf_version(EV_CURRENT);
	t0 = now_ns();
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	if (!cfi) {
		elf_end(elf);
		close(fd);
		unwind_table__free(t);
		return 0;
	}
	for (addr = base; addr < end;) {
		if (dwarf_cfi_addrframe(cfi, addr, &fr) == 0) {
			dwarf_frame_info(fr, &fs, &fe, &signal);
			dwarf_frame_cfa(fr, &ops, &nops);
			dwarf_frame_register(fr, 6, mem, &ops, &nops);
			dwarf_frame_register(fr, 16, mem, &ops, &nops);
			free(fr);
			out++;
			addr = fe > addr ? fe : addr + 1;
			continue;
		}
		while (k < n && rows[k].pc + base <= addr)
			k++;
		addr = k < n ? rows[k].pc + base : end;
	}
	t1 = now_ns();
	dwarf_cfi_end(cfi);
	elf_end(elf);
	close(fd);
	unwind_table__free(t);
	*ret_rows = out;
	return t1 - t0;
}

static void side_by_side(const char *label, const char *path, int runs)
{
	uint64_t *ours = calloc((size_t)runs, sizeof(uint64_t));
	uint64_t *peer = calloc((size_t)runs, sizeof(uint64_t));
	struct file f = { 0 };
	size_t peer_rows = 0;
	int i;

	if (!ours || !peer)
		goto out;
	for (i = 0; i < runs; i++) {
		ours[i] = compile_once(path, &f);
		peer[i] = libdw_compile(path, &peer_rows);
	}
	qsort(ours, (size_t)runs, sizeof(*ours), cmp_u64);
	qsort(peer, (size_t)runs, sizeof(*peer), cmp_u64);
	if (f.err) {
		printf("%s (%s): compile failed: %s\n", label, path,
		       strerror(-f.err));
		goto out;
	}
	printf("%s (%s):\n", label, path);
	printf("  tgprof compile   %8.2f ms  %zu rows, %zu table bytes, "
	       "%u FDEs, %u unsupported rows, %u gap rows\n",
	       ours[runs / 2] / 1e6, f.rows, f.rows * sizeof(struct unwind_row),
	       f.st.fdes, f.st.rows_unsupported, f.st.rows_none);
	if (peer[runs / 2])
		printf("  libdw addrframe  %8.2f ms  %zu frames (%.1fx)\n",
		       peer[runs / 2] / 1e6, peer_rows,
		       (double)peer[runs / 2] / (double)ours[runs / 2]);
out:
	free(ours);
	free(peer);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	uint64_t total_ns = 0, total_rows = 0, total_size = 0;
	size_t n, i, ok = 0, nodata = 0, failed = 0, *rows_sorted;
	struct file *files, *big = NULL;

	if (runs < 1)
		runs = 1;
	files = calloc(BENCH_MAX_FILES, sizeof(*files));
	if (!files)
		return 1;
	n = scan_host(files, BENCH_MAX_FILES);
	for (i = 0; i < n; i++) {
		files[i].ns = compile_once(files[i].path, &files[i]);
		total_size += files[i].size;
		if (files[i].err == -ENODATA) {
			nodata++;
			continue;
		}
		if (files[i].err) {
			failed++;
			continue;
		}
		ok++;
		total_ns += files[i].ns;
		total_rows += files[i].rows;
		if (!big || files[i].size > big->size)
			big = &files[i];
	}
	printf("host: %zu executable files mapped (%.1f MiB), %zu compiled, "
	       "%zu without CFI, %zu failed\n",
	       n, total_size / 1048576.0, ok, nodata, failed);
	printf("  total: %.1f ms, %" PRIu64 " rows, %.2f MiB of rows "
	       "(%zu bytes per row)\n",
	       total_ns / 1e6, total_rows,
	       total_rows * sizeof(struct unwind_row) / 1048576.0,
	       sizeof(struct unwind_row));
	rows_sorted = calloc(ok ? ok : 1, sizeof(*rows_sorted));
	if (rows_sorted && ok) {
		size_t k = 0;

		for (i = 0; i < n; i++)
			if (!files[i].err)
				rows_sorted[k++] = files[i].rows;
		qsort(rows_sorted, ok, sizeof(*rows_sorted), cmp_u64);
		printf("  rows per file: median %zu, p90 %zu, max %zu\n",
		       rows_sorted[ok / 2], rows_sorted[ok * 9 / 10],
		       rows_sorted[ok - 1]);
	}
	free(rows_sorted);
	qsort(files, n, sizeof(*files), cmp_rows_desc);
	printf("  top 10 by table size:\n");
	for (i = 0; i < n && i < 10; i++) {
		if (files[i].err)
			continue;
		printf("    %9zu rows %8.2f MiB %8.2f ms  %s\n", files[i].rows,
		       files[i].rows * sizeof(struct unwind_row) / 1048576.0,
		       files[i].ns / 1e6, files[i].path + files[i].name_off);
	}
	big = NULL; /* the sort moved it */
	for (i = 0; i < n; i++)
		if (!files[i].err && (!big || files[i].size > big->size))
			big = &files[i];
	printf("\nmedian of %d runs, side by side:\n", runs);
	side_by_side("libc", BENCH_LIBC, runs);
	if (big)
		side_by_side("largest mapped file", big->path, runs);
	side_by_side("libLLVM-15", "/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1",
		     runs);
	side_by_side("python3.11", "/usr/bin/python3.11", runs);
	free(files);
	return 0;
}
