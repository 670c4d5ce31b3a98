// SPDX-License-Identifier: Apache-2.0
/* Symbol cache budget: takes the executable file mappings of every process
 * running on this host (/proc/PID/maps), plays a trace of samples over
 * them through receiver/symbols/symbolizer.c once per budget, and prints
 * for each budget the hit rate, the files loaded per 1,000 samples, the
 * evictions, the time spent, and the bytes the cache accounted next to the
 * heap it really kept (mallinfo2). A sample picks a process with a Zipf
 * law (few busy processes, many idle ones, as on a real host) and has 8
 * frames: one in its executable, one in libc when it maps it, the rest in
 * any of its executable mappings: a harsher spread than a real profile's,
 * whose frames gather in a few files. symbol_cache_memory's default is
 * the largest budget that fits tgprof's 32 MiB next to its fixed costs
 * (bench/README.md "Symbol cache budget").
 * Files are opened by their path on this host (as if this process mapped
 * them), so a process that exits during the run changes nothing.
 * Usage: symcache_bench [SAMPLES] [MAX_PROCESSES]. Needs root to open
 * other processes' files. Prints figures; gates nothing.
 * symcache_bench --file PATH: one file's symbol table: its bytes per
 * symbol, its load's time and resident peak, the cost of a lookup and of
 * reading a name back from the file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/rand.h"
#include "receiver/processes/maps.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/elfsym.h"
#include "receiver/symbols/symbolizer.h"

#define BENCH_SAMPLES 50000
#define BENCH_MAX_PROCS 600
#define BENCH_FRAMES 8

struct bproc {
	uint32_t pid;
	struct maps *maps; /* executable file mappings */
	size_t exe; /* index of the executable's text mapping */
	ssize_t libc; /* -1: no libc */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int load_proc(uint32_t pid, struct bproc *p)
{
	struct maps *all;
	size_t len, i, j = 0;
	char *text;

	if (procfs__read_maps("/proc", pid, 0, &text, &len))
		return -1;
	if (maps__parse(text, len, MAPS_EXEC_ONLY, &all)) {
		free(text);
		return -1;
	}
	free(text);
	/* Keep file mappings only, in place. */
	for (i = 0; i < all->n; i++)
		if (all->v[i].kind == MAPPING_FILE)
			all->v[j++] = all->v[i];
	all->n = j;
	if (!j) {
		maps__free(all);
		return -1;
	}
	p->pid = pid;
	p->maps = all;
	p->exe = 0;
	p->libc = -1;
	for (i = 0; i < j; i++)
		if (strstr(all->v[i].path, "/libc.so"))
			p->libc = (ssize_t)i;
	return 0;
}

static size_t load_procs(struct bproc *v, size_t max)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir("/proc");
	char *end;
	unsigned long pid;

	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		pid = strtoul(de->d_name, &end, 10);
		if (*end || !pid || pid == (unsigned long)getpid())
			continue;
		if (!load_proc((uint32_t)pid, &v[n]))
			n++;
	}
	closedir(d);
	return n;
}

/* A Zipf(1) draw of 0..n-1 from the cumulative weights @cdf. */
static size_t zipf(struct rand64 *rng, const double *cdf, size_t n)
{
	double u = (double)(rand64__next(rng) >> 11) / (double)(1ull << 53);
	size_t lo = 0, hi = n - 1, mid;

	u *= cdf[n - 1];
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct mapping *frame_mapping(struct rand64 *rng,
					   const struct bproc *p, int i)
{
	if (i == BENCH_FRAMES - 1)
		return &p->maps->v[p->exe];
	if (i == BENCH_FRAMES - 2 && p->libc >= 0)
		return &p->maps->v[p->libc];
	return &p->maps->v[rand64__below(rng, p->maps->n)];
}

static void run(size_t budget, const struct bproc *procs, size_t nprocs,
		const double *cdf, size_t samples)
{
	struct symbolizer_opts o = { .sz = sizeof(o), .max_bytes = budget };
	struct sym_frame out[SYM_MAX_FRAMES_PER_ADDR];
	uint32_t self = (uint32_t)getpid();
	struct symbolizer_stats st;
	struct mallinfo2 before, after;
	const struct mapping *m;
	struct symbolizer *sy;
	struct rand64 rng;
	uint64_t t0, t1, peak = 0, named = 0, lookups = 0;
	size_t s, heap;
	int i;

	malloc_trim(0);
	before = mallinfo2();
	sy = symbolizer__new(&o, NULL);
	if (!sy) {
		perror("symbolizer__new");
		exit(1);
	}
	rand64__init(&rng, 0x5eed5eed5eedull);
	t0 = now_ns();
	for (s = 0; s < samples; s++) {
		const struct bproc *p = &procs[zipf(&rng, cdf, nprocs)];

		for (i = 0; i < BENCH_FRAMES; i++) {
			size_t n;

			m = frame_mapping(&rng, p, i);
			n = symbolizer__user(
				sy, self, self, m,
				m->start +
					rand64__below(&rng, m->end - m->start),
				i > 0, out, SYM_MAX_FRAMES_PER_ADDR);
			lookups++;
			named += n && out[n - 1].name;
		}
		symbolizer__next_epoch(sy);
		symbolizer__stats(sy, &st);
		if (st.cache_bytes > peak)
			peak = st.cache_bytes;
	}
	t1 = now_ns();
	symbolizer__stats(sy, &st);
	after = mallinfo2();
	heap = after.uordblks > before.uordblks ?
		       after.uordblks - before.uordblks :
		       0;
	if (budget)
		printf("%7.1f MiB", (double)budget / (1 << 20));
	else
		printf("  default");
	printf(" %7.2f%% %9.1f %9" PRIu64 " %8.1f %8.2f %8.2f %8.2f %6.1f%%\n",
	       100.0 * (double)st.cache_hits /
		       (double)(st.cache_hits + st.cache_misses),
	       1000.0 * (double)st.cache_misses / (double)samples,
	       st.cache_evictions, (double)(t1 - t0) / 1e6,
	       (double)peak / (1 << 20), (double)st.cache_bytes / (1 << 20),
	       (double)heap / (1 << 20),
	       100.0 * (double)named / (double)lookups);
	symbolizer__free(sy);
}

struct excess {
	const char *path;
	uint64_t accounted;
	uint64_t heap;
	bool dwarf;
};

static int by_excess(const void *pa, const void *pb)
{
	const struct excess *a = pa, *b = pb;
	int64_t ea = (int64_t)a->heap - (int64_t)a->accounted;
	int64_t eb = (int64_t)b->heap - (int64_t)b->accounted;

	return ea < eb ? 1 : ea > eb ? -1 : 0;
}

/* Each distinct file alone in a fresh cache (unbounded, so DWARF is
 * admitted): the heap it kept next to what the cache accounted. */
static void per_file(const struct bproc *procs, size_t nprocs)
{
	struct symbolizer_opts o = { .sz = sizeof(o), .max_bytes = 1ull << 32 };
	struct sym_frame out[SYM_MAX_FRAMES_PER_ADDR];
	uint64_t tot_acc = 0, tot_heap = 0, dw_acc = 0, dw_heap = 0;
	struct symbolizer_stats st;
	struct mallinfo2 before, after;
	struct excess *ex;
	size_t i, j, k, n = 0, cap = 0;

	for (i = 0; i < nprocs; i++)
		cap += procs[i].maps->n;
	ex = calloc(cap, sizeof(*ex));
	if (!ex)
		return;
	for (i = 0; i < nprocs; i++) {
		for (j = 0; j < procs[i].maps->n; j++) {
			const struct mapping *m = &procs[i].maps->v[j];
			struct symbolizer *sy;
			bool seen = false;

			for (k = 0; k < n && !seen; k++)
				seen = !strcmp(ex[k].path, m->path);
			if (seen)
				continue;
			malloc_trim(0);
			before = mallinfo2();
			sy = symbolizer__new(&o, NULL);
			if (!sy)
				continue;
			symbolizer__user(sy, (uint32_t)getpid(),
					 (uint32_t)getpid(), m,
					 m->start + (m->end - m->start) / 2,
					 false, out, SYM_MAX_FRAMES_PER_ADDR);
			symbolizer__stats(sy, &st);
			after = mallinfo2();
			ex[n].path = m->path;
			ex[n].accounted = st.cache_bytes;
			ex[n].heap = after.uordblks > before.uordblks ?
					     after.uordblks - before.uordblks :
					     0;
			ex[n].dwarf = st.dwarf_files > 0;
			tot_acc += ex[n].accounted;
			tot_heap += ex[n].heap;
			if (ex[n].dwarf) {
				dw_acc += ex[n].accounted;
				dw_heap += ex[n].heap;
			}
			n++;
			symbolizer__free(sy);
		}
	}
	qsort(ex, n, sizeof(*ex), by_excess);
	printf("\neach of %zu distinct files alone, unbounded: heap %.2f MiB, "
	       "accounted %.2f MiB (%+.1f%%); files with DWARF: heap %.2f MiB, "
	       "accounted %.2f MiB\nlargest excess of heap over accounted:\n",
	       n, (double)tot_heap / (1 << 20), (double)tot_acc / (1 << 20),
	       tot_acc ? 100.0 * ((double)tot_heap - (double)tot_acc) /
				 (double)tot_acc :
			 0.0,
	       (double)dw_heap / (1 << 20), (double)dw_acc / (1 << 20));
	for (i = 0; i < n && i < 8; i++)
		printf("  %9.1f KiB heap %9.1f KiB accounted%s  %s\n",
		       (double)ex[i].heap / 1024,
		       (double)ex[i].accounted / 1024,
		       ex[i].dwarf ? " DWARF" : "      ", ex[i].path);
	free(ex);
}

/* ---- one file: symbols, bytes, load cost, lookup cost ---- */

/* VmHWM of this process in KiB (the peak resident set). */
static long vm_hwm_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Loads @path's symbol table alone and prints its symbols, the bytes the
 * cache holds for them, the load's time and its transient peak (in a
 * child, VmHWM after the load minus before: what a load adds to the
 * process's resident peak), then the cost of a lookup (address -> symbol
 * index) and of reading a name back from the file.
 */
static int file_figures(const char *path)
{
	char name[ELFSYM_MAX_NAME];
	uint64_t t0, t1, seed = 0x73796d73, vaddr, off, hits = 0;
	size_t n, i, reads = 0, name_bytes = 0;
	struct elfsym *e;
	long hwm0, hwm1;
	int fd, status;
	pid_t pid;
	int64_t k;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		hwm0 = vm_hwm_kib();
		e = elfsym__load_fd(fd);
		hwm1 = vm_hwm_kib();
		printf("load peak: +%.2f MiB resident (VmHWM %ld -> %ld KiB)\n",
		       (double)(hwm1 - hwm0) / 1024, hwm0, hwm1);
		fflush(stdout);
		_exit(e ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	t0 = now_ns();
	e = elfsym__load_fd(fd);
	t1 = now_ns();
	if (!e) {
		perror("elfsym__load_fd");
		return 1;
	}
	n = elfsym__count(e);
	printf("%s: %zu symbols, %zu bytes held (%.1f per symbol), names %s, "
	       "load %.1f ms\n",
	       path, n, elfsym__memory(e),
	       n ? (double)elfsym__memory(e) / (double)n : 0.0,
	       elfsym__names_in_file(e) ? "in the file" : "in memory",
	       (double)(t1 - t0) / 1e6);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (elfsym__name_copy(e, i, name, sizeof(name)) > 0) {
			reads++;
			name_bytes += strlen(name) + 1;
		}
	}
	t1 = now_ns();
	printf("name read back: %.0f ns each (%zu names, %.1f bytes "
	       "average)\n",
	       reads ? (double)(t1 - t0) / (double)reads : 0.0, reads,
	       reads ? (double)name_bytes / (double)reads : 0.0);
	t0 = now_ns();
	for (i = 0; i < 1000000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		if (elfsym__offset_to_vaddr(e, (seed >> 16) % (1ull << 26),
					    &vaddr))
			continue;
		k = elfsym__lookup_index(e, vaddr, &off);
		hits += k >= 0;
	}
	t1 = now_ns();
	printf("lookup: %.0f ns each (1,000,000 random offsets, %" PRIu64
	       " in a symbol)\n",
	       (double)(t1 - t0) / 1e6, hits);
	elfsym__free(e);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t mib[] = { 2, 4, 8, 16, 32, 64, 256 };
	size_t samples = argc > 1 ? strtoull(argv[1], NULL, 10) : BENCH_SAMPLES;
	size_t maxp = argc > 2 ? strtoull(argv[2], NULL, 10) : BENCH_MAX_PROCS;
	struct bproc *procs = calloc(maxp ? maxp : 1, sizeof(*procs));
	double *cdf;
	size_t n, i, files = 0;

	if (argc > 2 && !strcmp(argv[1], "--file"))
		return file_figures(argv[2]);
	if (!procs || !samples)
		return 1;
	n = load_procs(procs, maxp);
	if (!n) {
		fprintf(stderr, "symcache_bench: no process maps readable\n");
		return 1;
	}
	cdf = calloc(n, sizeof(*cdf));
	if (!cdf)
		return 1;
	for (i = 0; i < n; i++) {
		cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / (double)(i + 1);
		files += procs[i].maps->n;
	}
	printf("%zu processes, %zu executable file mappings; %zu samples of "
	       "%d frames, processes drawn Zipf(1)\n",
	       n, files, samples, BENCH_FRAMES);
	printf("   budget    hits loads/1k evictions  time ms peak MiB  end MiB "
	       "heap MiB  named\n");
	for (i = 0; i < sizeof(mib) / sizeof(mib[0]); i++)
		run(mib[i] << 20, procs, n, cdf, samples);
	run(0, procs, n, cdf, samples);
	per_file(procs, n);
	for (i = 0; i < n; i++)
		maps__free(procs[i].maps);
	free(procs);
	free(cdf);
	return 0;
}
