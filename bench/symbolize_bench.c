// SPDX-License-Identifier: Apache-2.0
/* Symbolizer benchmark: maps the text of libc and of the largest shared
 * library on the machine (or the one named on the command line) into this
 * process, then measures with receiver/symbols/symbolizer.c
 *   - the cold load of the large library (open, symbol tables, debug-file
 *     search, DWARF when present) and the bytes its cache entry holds;
 *   - 1,000,000 lookups of random addresses from both text sections: the
 *     first pass, which indexes each DWARF unit on its first lookup, then
 *     again with warm caches, in "samples" of 64 frames (one epoch each),
 *     and as many drawn from 1024 hot addresses, as a profile repeats its
 *     addresses;
 * once with symbol tables only, once with debug files and DWARF (those the
 * machine has installed, e.g. libc6-dbg).
 * Usage: symbolize_bench [LIBRARY] [LOOKUPS] [MAX_BYTES]. Prints figures;
 * gates nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/rand.h"
#include "receiver/processes/maps.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/symbolizer.h"

#define BENCH_LOOKUPS 1000000
#define BENCH_FRAMES_PER_SAMPLE 64
#define BENCH_HOT_SET 1024 /* distinct addresses of the hot-set run */

struct lib {
	char path[PATH_MAX];
	void *base; /* the mapped PT_LOAD holding .text */
	size_t len;
	uint64_t text_start; /* run-time addresses of .text */
	uint64_t text_end;
	const struct mapping *m;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static bool is_elf_so(const char *path)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = read(fd, magic, 4) == 4 && !memcmp(magic, ELFMAG, SELFMAG);
	close(fd);
	return ok;
}

/* The largest "*.so*" ELF file in a few library directories. */
static void scan_dir(const char *dir, char *best, off_t *best_size)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".so"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size <= *best_size || !is_elf_so(path))
			continue;
		*best_size = st.st_size;
		snprintf(best, PATH_MAX, "%s", path);
	}
	closedir(d);
}

static void largest_library(char *best)
{
	static const char *const dirs[] = {
		"/usr/lib/x86_64-linux-gnu",
		"/usr/lib/aarch64-linux-gnu",
		"/usr/lib",
		"/usr/lib64",
		"/usr/local/lib",
		"/lib/x86_64-linux-gnu",
	};
	off_t size = 0;
	size_t i;

	best[0] = '\0';
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		scan_dir(dirs[i], best, &size);
}

/* Maps the executable PT_LOAD of @l->path and finds .text in it. */
static int map_text(struct lib *l)
{
	uint64_t text_vaddr = 0, text_size = 0, off = 0, vaddr = 0, filesz = 0;
	uint64_t aligned;
	size_t shstrndx, n, i;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	const char *name;
	Elf *elf;
	int fd;

	fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) ||
	    elf_getphdrnum(elf, &n)) {
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		name = gelf_getshdr(scn, &sh) ?
			       elf_strptr(elf, shstrndx, sh.sh_name) :
			       NULL;
		if (name && !strcmp(name, ".text")) {
			text_vaddr = sh.sh_addr;
			text_size = sh.sh_size;
		}
	}
	for (i = 0; i < n; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    text_vaddr >= ph.p_vaddr &&
		    text_vaddr < ph.p_vaddr + ph.p_filesz) {
			off = ph.p_offset;
			vaddr = ph.p_vaddr;
			filesz = ph.p_filesz;
		}
	elf_end(elf);
	if (!text_size || !filesz) {
		close(fd);
		return -ENOEXEC;
	}
	aligned = off & ~4095ull;
	l->len = filesz + (off - aligned);
	l->base =
		mmap(NULL, l->len, PROT_READ, MAP_PRIVATE, fd, (off_t)aligned);
	close(fd);
	if (l->base == MAP_FAILED)
		return -errno;
	vaddr -= off - aligned;
	l->text_start = (uint64_t)(uintptr_t)l->base + text_vaddr - vaddr;
	l->text_end = l->text_start + text_size;
	return 0;
}

static int find_mappings(struct lib *libs, size_t n, struct maps **ret)
{
	char *text;
	size_t len, i;
	int err;

	err = procfs__read_maps("/proc", (uint32_t)getpid(), 0, &text, &len);
	if (err)
		return err;
	err = maps__parse(text, len, 0, ret);
	free(text);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		libs[i].m = maps__find(*ret, libs[i].text_start);
		if (!libs[i].m)
			return -ENOENT;
	}
	return 0;
}

static uint32_t self_pid;

static size_t frames(struct symbolizer *sy, const struct lib *l, uint64_t a,
		     struct sym_frame *out)
{
	return symbolizer__user(sy, self_pid, self_pid, l->m, a, false, out,
				SYM_MAX_FRAMES_PER_ADDR);
}

static size_t lib_of(const struct lib *libs, uint64_t a)
{
	return a >= libs[1].text_start && a < libs[1].text_end;
}

/* Lookups of @addrs[0..n), one epoch per BENCH_FRAMES_PER_SAMPLE;
 * returns ns per lookup and *ret_named. */
static double timed_lookups(struct symbolizer *sy, const struct lib *libs,
			    const uint64_t *addrs, size_t n, size_t *ret_named)
{
	struct sym_frame out[SYM_MAX_FRAMES_PER_ADDR];
	size_t i, k, named = 0;
	uint64_t t0 = now_ns();

	for (i = 0; i < n; i++) {
		k = frames(sy, &libs[lib_of(libs, addrs[i])], addrs[i], out);
		named += out[k - 1].name != NULL;
		if (i % BENCH_FRAMES_PER_SAMPLE == 0)
			symbolizer__next_epoch(sy);
	}
	*ret_named = named;
	return (double)(now_ns() - t0) / (double)n;
}

/* One configuration: cold load, then random and hot-set lookups. */
static int run(const char *label, const char *debug_dirs, size_t max_bytes,
	       const struct lib *libs, const uint64_t *addrs,
	       const uint64_t *hot, size_t n)
{
	struct symbolizer_opts o = { .sz = sizeof(o) };
	struct sym_frame out[SYM_MAX_FRAMES_PER_ADDR];
	struct symbolizer_stats st;
	struct symbolizer *sy;
	uint64_t t0, t1;
	size_t named;
	double ns;
	long rss0;

	o.debug_dirs = debug_dirs;
	o.max_bytes = max_bytes;
	sy = symbolizer__new(&o, NULL);
	if (!sy)
		return -errno;
	printf("== %s\n", label);
	rss0 = rss_kib();
	t0 = now_ns();
	frames(sy, &libs[1], libs[1].text_start, out);
	t1 = now_ns();
	symbolizer__stats(sy, &st);
	printf("  %s: cold load %.1f ms, cache %.1f MiB, RSS +%.1f MiB%s\n",
	       libs[1].path, (double)(t1 - t0) / 1e6,
	       (double)st.cache_bytes / (1 << 20),
	       (double)(rss_kib() - rss0) / 1024,
	       st.dwarf_files ? ", DWARF" : "");
	rss0 = rss_kib();
	t0 = now_ns();
	frames(sy, &libs[0], libs[0].text_start, out);
	t1 = now_ns();
	symbolizer__stats(sy, &st);
	printf("  %s: cold load %.1f ms, RSS +%.1f MiB%s\n", libs[0].path,
	       (double)(t1 - t0) / 1e6, (double)(rss_kib() - rss0) / 1024,
	       st.dwarf_files ? ", DWARF" : "");
	/* First pass warms the per-unit DWARF indexes and the names: what
	 * indexing the units costs, once per file. */
	ns = timed_lookups(sy, libs, addrs, n, &named);
	printf("  first pass over them (units indexed on first use): "
	       "%.1f ms\n",
	       ns * (double)n / 1e6);
	ns = timed_lookups(sy, libs, addrs, n, &named);
	printf("  %zu random text addresses: %.1f ns per lookup, %.1f%% "
	       "named\n",
	       n, ns, 100.0 * (double)named / (double)n);
	ns = timed_lookups(sy, libs, hot, n, &named);
	printf("  %zu lookups of %d hot addresses: %.1f ns per lookup\n", n,
	       BENCH_HOT_SET, ns);
	symbolizer__stats(sy, &st);
	printf("  cache: %" PRIu64 " files, %.1f MiB, %" PRIu64
	       " names demangled, %" PRIu64 " debug files\n",
	       st.cache_files, (double)st.cache_bytes / (1 << 20), st.demangled,
	       st.debug_files);
	symbolizer__free(sy);
	return 0;
}

int main(int argc, char **argv)
{
	struct lib libs[2] = { 0 };
	struct maps *maps = NULL;
	uint64_t *addrs, *hot;
	struct rand64 rng;
	size_t lookups = BENCH_LOOKUPS, max_bytes = 0, i;
	char *text, *line, *save = NULL;
	size_t len;

	elf_version(EV_CURRENT);
	self_pid = (uint32_t)getpid();
	/* libc: the file our own getpid() comes from. */
	if (procfs__read_maps("/proc", self_pid, 0, &text, &len))
		return 1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "/libc.so")) {
			snprintf(libs[0].path, sizeof(libs[0].path), "%s", p);
			break;
		}
	}
	free(text);
	if (argc > 1 && argv[1][0])
		snprintf(libs[1].path, sizeof(libs[1].path), "%s", argv[1]);
	else
		largest_library(libs[1].path);
	if (argc > 2)
		lookups = strtoull(argv[2], NULL, 10);
	if (argc > 3)
		max_bytes = strtoull(argv[3], NULL, 10);
	if (!libs[0].path[0] || !libs[1].path[0] || !lookups) {
		fprintf(stderr, "symbolize_bench: libraries not found\n");
		return 1;
	}
	for (i = 0; i < 2; i++) {
		if (map_text(&libs[i])) {
			fprintf(stderr, "symbolize_bench: cannot map %s\n",
				libs[i].path);
			return 1;
		}
	}
	if (find_mappings(libs, 2, &maps)) {
		fprintf(stderr, "symbolize_bench: mappings not found\n");
		return 1;
	}
	addrs = malloc(lookups * sizeof(*addrs));
	hot = malloc(lookups * sizeof(*hot));
	if (!addrs || !hot)
		return 1;
	rand64__init(&rng, 0x9e3779b97f4a7c15ull);
	for (i = 0; i < lookups; i++) {
		const struct lib *l = &libs[rand64__next(&rng) & 1];

		addrs[i] = l->text_start +
			   rand64__below(&rng, l->text_end - l->text_start);
	}
	/* A profile's addresses repeat: draw from a small set. */
	for (i = 0; i < lookups; i++)
		hot[i] = addrs[rand64__below(&rng, BENCH_HOT_SET)];

	printf("large library: %s (.text %.1f MiB); libc: %s\n", libs[1].path,
	       (double)(libs[1].text_end - libs[1].text_start) / (1 << 20),
	       libs[0].path);
	if (run("symbol tables only (no debug files)", "/nonexistent/tgprof",
		max_bytes, libs, addrs, hot, lookups) ||
	    run("with separate debug files and DWARF where installed", NULL,
		max_bytes, libs, addrs, hot, lookups))
		return 1;
	free(addrs);
	free(hot);
	maps__free(maps);
	for (i = 0; i < 2; i++)
		munmap(libs[i].base, libs[i].len);
	return 0;
}
