// SPDX-License-Identifier: Apache-2.0
/* Tests of the symbolizer (receiver/symbols/symbolizer.c) on the ELF fixtures built
 * for it: each file is mapped into this process the way a loader maps it,
 * and addresses inside it are named through /proc/self/maps. Separate
 * debug files (build-id, debuglink, inside a container's root), MiniDebugInfo,
 * DWARF lines and inlines, C++ and Rust names, sharing by build-id, the
 * byte budget and corrupted files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakeproc.h"
#include "receiver/processes/maps.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/symbolizer.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name
#define TARGET_SRC TGPROF_SOURCE_DIR "/tests/fixtures/symbols_target.c"

/* ---- helpers ---- */

/* The address nm reports for @sym in @path. */
static uint64_t nm_addr(const char *path, const char *sym)
{
	char cmd[PATH_MAX + 64], line[1024], name[512], type;
	unsigned long long addr, found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", path);
	p = popen(cmd, "r");
	cr_assert(p, "popen nm");
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %511s", &addr, &type, name) == 3 &&
		    strcmp(name, sym) == 0)
			found = addr;
	pclose(p);
	cr_assert(found, "nm finds %s in %s", sym, path);
	return found;
}

/* The line of @path holding @marker. */
static uint32_t source_line(const char *path, const char *marker)
{
	char line[1024];
	uint32_t n = 0;
	FILE *f = fopen(path, "re");

	cr_assert(f, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	cr_assert_fail("%s has no %s", path, marker);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = s ? strlen(s) : 0, lf = strlen(suffix);

	return s && ls >= lf && strcmp(s + ls - lf, suffix) == 0;
}

struct mapped {
	void *base;
	size_t len;
	uint64_t seg_vaddr; /* ELF address of base */
	struct maps *maps; /* /proc/self/maps after mapping */
	const struct mapping *m;
};

/*
 * Maps the PT_LOAD segment of @path that holds ELF address @vaddr, as a
 * loader would (page-aligned file offset), and finds its mapping in our
 * maps. Returns the run-time address of @vaddr.
 */
static uint64_t map_elf(const char *path, uint64_t vaddr, struct mapped *mp)
{
	uint64_t off = 0, seg_vaddr = 0, filesz = 0, page = 4096, aligned;
	GElf_Phdr ph;
	size_t n, i, len;
	char *text;
	Elf *elf;
	int fd;

	memset(mp, 0, sizeof(*mp));
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert(elf && elf_getphdrnum(elf, &n) == 0);
	for (i = 0; i < n; i++) {
		cr_assert(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr &&
		    vaddr < ph.p_vaddr + ph.p_filesz) {
			off = ph.p_offset;
			seg_vaddr = ph.p_vaddr;
			filesz = ph.p_filesz;
		}
	}
	elf_end(elf);
	cr_assert(filesz, "a PT_LOAD of %s holds %#llx", path,
		  (unsigned long long)vaddr);
	aligned = off & ~(page - 1);
	mp->len = filesz + (off - aligned);
	mp->base =
		mmap(NULL, mp->len, PROT_READ, MAP_PRIVATE, fd, (off_t)aligned);
	cr_assert(mp->base != MAP_FAILED);
	close(fd);
	mp->seg_vaddr = seg_vaddr - (off - aligned);
	cr_assert_eq(procfs__read_maps("/proc", getpid(), 0, &text, &len), 0);
	cr_assert_eq(maps__parse(text, len, 0, &mp->maps), 0);
	free(text);
	mp->m = maps__find(mp->maps, (uint64_t)(uintptr_t)mp->base + vaddr -
					     mp->seg_vaddr);
	cr_assert(mp->m);
	return (uint64_t)(uintptr_t)mp->base + vaddr - mp->seg_vaddr;
}

static void unmap_elf(struct mapped *mp)
{
	munmap(mp->base, mp->len);
	maps__free(mp->maps);
}

static int warnings;

static void count_warnings(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level == TG_LOG_WARN) {
		warnings++;
		cr_log_info("warning: %s", msg);
	}
}

static struct tg_logger test_log = { count_warnings, NULL, TG_LOG_DEBUG };

/* A budget a fixture's symbols fit in, and whose quarter its lines do
 * not: the sizes the byte-budget tests measure are names only. */
#define NAMES_ONLY_BUDGET (32u << 10)

static struct symbolizer *new_sym(const char *debug_dirs, size_t max_bytes)
{
	struct symbolizer_opts o = {
		.sz = sizeof(o),
		.debug_dirs = debug_dirs,
		.max_bytes = max_bytes,
	};
	struct symbolizer *sy = symbolizer__new(&o, &test_log);

	cr_assert(sy, "symbolizer__new: %s", strerror(errno));
	return sy;
}

static size_t lookup(struct symbolizer *sy, const struct mapping *m,
		     uint64_t addr, struct sym_frame *out, size_t max)
{
	return symbolizer__user(sy, (uint32_t)getpid(), (uint32_t)getpid(), m,
				addr, false, out, max);
}

/* Names @fn of @path (addresses from @unsplit) and returns its frame. */
static void assert_named(struct symbolizer *sy, const char *path,
			 const char *unsplit, const char *sym, const char *want)
{
	struct sym_frame fr[4];
	struct mapped mp;
	uint64_t addr = map_elf(path, nm_addr(unsplit, sym), &mp);
	size_t n = lookup(sy, mp.m, addr, fr, 4);

	cr_assert_geq(n, 1);
	cr_assert_str_eq(fr[n - 1].name ? fr[n - 1].name : "(null)", want,
			 "%s in %s", sym, path);
	cr_assert_eq(fr[n - 1].addr, addr);
	cr_assert_eq(fr[n - 1].mapping, mp.m);
	symbolizer__next_epoch(sy);
	unmap_elf(&mp);
}

/* The inline site of @path: two frames, leaf inlined into outer, with the
 * lines of symbols_target.c. */
static void assert_inline_chain(struct symbolizer *sy, const char *path,
				const char *unsplit)
{
	uint32_t site = source_line(TARGET_SRC, "tgprof:inline-site");
	uint32_t call = source_line(TARGET_SRC, "tgprof:inline-call");
	struct sym_frame fr[8];
	struct mapped mp;
	uint64_t addr;
	size_t n;

	addr = map_elf(path, nm_addr(unsplit, "symbols_inline_site"), &mp);
	n = lookup(sy, mp.m, addr, fr, 8);
	cr_assert_eq(n, 2, "inlined leaf + its caller, got %zu", n);
	cr_assert_str_eq(fr[0].name, "symbols_inline_leaf");
	cr_assert(fr[0].inlined);
	cr_assert(ends_with(fr[0].file, "/tests/fixtures/symbols_target.c"),
		  "file %s", fr[0].file);
	cr_assert_eq(fr[0].line, site);
	cr_assert_eq(fr[0].addr, addr);
	cr_assert_eq(fr[0].mapping, mp.m);
	cr_assert_str_eq(fr[1].name, "symbols_inline_outer");
	cr_assert_not(fr[1].inlined);
	cr_assert(ends_with(fr[1].file, "/tests/fixtures/symbols_target.c"));
	cr_assert_eq(fr[1].line, call);
	cr_assert_eq(fr[1].sym_offset,
		     addr - (uint64_t)(uintptr_t)mp.base -
			     (nm_addr(unsplit, "symbols_inline_outer") -
			      mp.seg_vaddr));
	/* With room for one frame, the containing function is kept. */
	n = lookup(sy, mp.m, addr, fr, 1);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fr[0].name, "symbols_inline_outer");
	cr_assert_eq(fr[0].line, call);
	symbolizer__next_epoch(sy);
	unmap_elf(&mp);
}

/* ---- DWARF in the binary ---- */

Test(symbolizer_files, inlined_function_is_its_own_frame_with_file_and_line)
{
	struct symbolizer *sy = new_sym(NULL, 0);
	struct symbolizer_stats st;

	assert_inline_chain(sy, FIXTURE("symbols_target"),
			    FIXTURE("symbols_target"));
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.dwarf_files, 1);
	cr_assert_geq(st.inlined_frames, 1);
	symbolizer__free(sy);
}

Test(symbolizer_files, plain_function_has_its_file_and_line)
{
	struct symbolizer *sy = new_sym(NULL, 0);
	struct sym_frame fr[4];
	struct mapped mp;
	uint64_t addr;
	size_t n;

	addr = map_elf(FIXTURE("symbols_target"),
		       nm_addr(FIXTURE("symbols_target"), "symbols_plain"),
		       &mp);
	n = lookup(sy, mp.m, addr, fr, 4);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fr[0].name, "symbols_plain");
	cr_assert_eq(fr[0].name, fr[0].system_name, "nothing to demangle");
	cr_assert(ends_with(fr[0].file, "symbols_target.c"));
	cr_assert_eq(fr[0].line, source_line(TARGET_SRC, "tgprof:plain-line"));
	cr_assert(fr[0].build_id && fr[0].build_id_len == 20);
	/* The second lookup of the address is served from the cache. */
	n = lookup(sy, mp.m, addr, fr, 4);
	cr_assert_eq(fr[0].line, source_line(TARGET_SRC, "tgprof:plain-line"));
	symbolizer__free(sy);
	unmap_elf(&mp);
}

/* ---- names from elsewhere ---- */

Test(symbolizer_files, stripped_binary_is_named_from_debug_file_by_build_id)
{
	struct symbolizer *sy = new_sym(FIXTURE("debugroot"), 0);
	struct symbolizer_stats st;

	assert_named(sy, FIXTURE("symbols_buildid"),
		     FIXTURE("symbols_unsplit_buildid"), "symbols_plain",
		     "symbols_plain");
	assert_named(sy, FIXTURE("symbols_buildid"),
		     FIXTURE("symbols_unsplit_buildid"), "symbols_hidden",
		     "symbols_hidden");
	assert_inline_chain(sy, FIXTURE("symbols_buildid"),
			    FIXTURE("symbols_unsplit_buildid"));
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.debug_files, 1);
	cr_assert_eq(st.dwarf_files, 1);
	cr_assert_eq(st.bad_files, 0);
	symbolizer__free(sy);
}

Test(symbolizer_files, stripped_binary_without_its_debug_file_has_no_names)
{
	struct symbolizer *sy = new_sym("/nonexistent/tgprof/debug", 0);
	struct symbolizer_stats st;

	assert_named(sy, FIXTURE("symbols_buildid"),
		     FIXTURE("symbols_unsplit_buildid"), "symbols_plain",
		     "(null)");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.debug_files, 0);
	cr_assert_eq(st.bad_files, 0, "stripped is not corrupt");
	symbolizer__free(sy);
}

Test(symbolizer_files, stripped_binary_is_named_from_debug_file_by_debuglink)
{
	/* No build-id tree: only the debuglink (fixtures/.debug/) finds it. */
	struct symbolizer *sy = new_sym("/nonexistent/tgprof/debug", 0);
	struct symbolizer_stats st;

	assert_named(sy, FIXTURE("symbols_debuglink"),
		     FIXTURE("symbols_unsplit_debuglink"), "symbols_hidden",
		     "symbols_hidden");
	assert_inline_chain(sy, FIXTURE("symbols_debuglink"),
			    FIXTURE("symbols_unsplit_debuglink"));
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.debug_files, 1);
	symbolizer__free(sy);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(symbolizer_files, debuglink_whose_crc_does_not_match_is_ignored)
{
	char dir[] = "/tmp/tgprof-debuglink-XXXXXX", bin[PATH_MAX],
	     dbg[PATH_MAX];
	struct symbolizer *sy;
	struct symbolizer_stats st;
	int fd;

	cr_assert(mkdtemp(dir));
	snprintf(bin, sizeof(bin), "%s/symbols_debuglink", dir);
	snprintf(dbg, sizeof(dbg), "%s/.debug", dir);
	cr_assert_eq(mkdir(dbg, 0755), 0);
	strcat(dbg, "/symbols_debuglink.debug");
	copy_file(FIXTURE("symbols_debuglink"), bin);
	copy_file(TGPROF_FIXTURE_DIR "/.debug/symbols_debuglink.debug", dbg);
	/* One byte more: another CRC. */
	fd = open(dbg, O_WRONLY | O_APPEND | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);

	sy = new_sym("/nonexistent/tgprof/debug", 0);
	assert_named(sy, bin, FIXTURE("symbols_unsplit_debuglink"),
		     "symbols_hidden", "(null)");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.debug_files, 0);
	symbolizer__free(sy);

	/* The same file, intact: found. */
	copy_file(TGPROF_FIXTURE_DIR "/.debug/symbols_debuglink.debug", dbg);
	sy = new_sym("/nonexistent/tgprof/debug", 0);
	assert_named(sy, bin, FIXTURE("symbols_unsplit_debuglink"),
		     "symbols_hidden", "symbols_hidden");
	symbolizer__free(sy);
	unlink(dbg);
	unlink(bin);
	*strrchr(dbg, '/') = '\0';
	rmdir(dbg);
	rmdir(dir);
}

Test(symbolizer_files, minidebuginfo_names_functions_missing_from_dynsym)
{
	struct symbolizer *sy = new_sym("/nonexistent/tgprof/debug", 0);
	struct symbolizer_stats st;

	assert_named(sy, FIXTURE("symbols_minidebug"),
		     FIXTURE("symbols_unsplit_minidebug"), "symbols_hidden",
		     "symbols_hidden");
	assert_named(sy, FIXTURE("symbols_minidebug"),
		     FIXTURE("symbols_unsplit_minidebug"), "symbols_plain",
		     "symbols_plain");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.minidebuginfo, 1);
	cr_assert_eq(st.debug_files, 0);
	symbolizer__free(sy);
}

/* A container: ROOT/100/task/100/root is a directory with its own
 * /usr/lib/debug; the binary is at /bin/... inside it only. */
Test(symbolizer_files, debug_file_inside_the_process_root_is_found_there)
{
	char croot[] = "/tmp/tgprof-container-XXXXXX", path[PATH_MAX],
	     cmd[4 * PATH_MAX];
	struct symbolizer_opts o = { .sz = sizeof(o) };
	struct mapping m;
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct symbolizer *sy;
	struct mapped mp;
	uint64_t addr;
	size_t n;

	cr_assert(mkdtemp(croot));
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p '%s/bin' '%s/usr/lib/debug' && "
		 "cp '%s' '%s/bin/' && cp -r '%s/.build-id' "
		 "'%s/usr/lib/debug/'",
		 croot, croot, FIXTURE("symbols_buildid"), croot,
		 FIXTURE("debugroot"), croot);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	o.proc_root = fakeproc_create("tgprof-containerproc");
	fakeproc_mkdir("100/task/100");
	fakeproc_symlink(croot, "100/task/100/root");
	sy = symbolizer__new(&o, &test_log);
	cr_assert(sy);

	snprintf(path, sizeof(path), "%s/bin/symbols_buildid", croot);
	addr = map_elf(path,
		       nm_addr(FIXTURE("symbols_unsplit_buildid"),
			       "symbols_hidden"),
		       &mp);
	m = *mp.m;
	m.path = "/bin/symbols_buildid"; /* as the container sees it */
	n = symbolizer__user(sy, 100, 100, &m, addr, false, fr, 4);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(fr[0].name, "symbols_hidden");
	cr_assert_str_eq(fr[0].module, "symbols_buildid");
	cr_assert(ends_with(fr[0].file, "symbols_target.c"));
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.debug_files, 1);
	cr_assert_eq(st.open_errors, 0);
	symbolizer__free(sy);
	unmap_elf(&mp);
	cr_assert_eq(fakeproc_remove(), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", croot);
	cr_assert_eq(system(cmd), 0);
}

/* ---- demangled names ---- */

Test(symbolizer_files, cpp_names_are_demangled_and_keep_their_system_name)
{
	struct symbolizer *sy = new_sym(NULL, 0);
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct mapped mp;
	uint64_t addr;
	size_t n;

	assert_named(sy, FIXTURE("symbols_cpp"), FIXTURE("symbols_cpp"),
		     "_ZN11tgprof_demo6shapes4areaEii",
		     "tgprof_demo::shapes::area(int, int)");
	addr = map_elf(FIXTURE("symbols_cpp"),
		       nm_addr(FIXTURE("symbols_cpp"),
			       "_ZN11tgprof_demo6shapes11AccumulatorIlE3addEl"),
		       &mp);
	n = lookup(sy, mp.m, addr, fr, 4);
	cr_assert_str_eq(fr[n - 1].name,
			 "tgprof_demo::shapes::Accumulator<long>::add(long)");
	cr_assert_str_eq(fr[n - 1].system_name,
			 "_ZN11tgprof_demo6shapes11AccumulatorIlE3addEl");
	cr_assert(ends_with(fr[n - 1].file, "symbols_cpp.cc"));
	/* Demangled once, then served from the file's name cache. */
	n = lookup(sy, mp.m, addr + 1, fr, 4);
	cr_assert_str_eq(fr[n - 1].name,
			 "tgprof_demo::shapes::Accumulator<long>::add(long)");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.demangled, 2);
	symbolizer__free(sy);
	unmap_elf(&mp);
}

Test(symbolizer_files, rust_legacy_and_v0_names_are_demangled)
{
	struct symbolizer *sy = new_sym(NULL, 0);

	assert_named(sy, FIXTURE("symbols_target"), FIXTURE("symbols_target"),
		     "_ZN6tgprof4demo11rust_legacy17h0123456789abcdefE",
		     "tgprof::demo::rust_legacy");
	assert_named(sy, FIXTURE("symbols_target"), FIXTURE("symbols_target"),
		     "_RNvNtCs1234_6tgprof4demo7rust_v0",
		     "tgprof::demo::rust_v0");
	symbolizer__free(sy);
}

/* ---- a library loaded at run time ---- */

Test(symbolizer_files, dlopened_library_is_named_with_its_lines)
{
	struct symbolizer *sy = new_sym(NULL, 0);
	struct sym_frame fr[4];
	struct maps *maps;
	const struct mapping *m;
	char *text;
	size_t len, n;
	void *h, *fn;

	h = dlopen(FIXTURE("libfixture_dl.so"), RTLD_NOW | RTLD_LOCAL);
	cr_assert(h, "dlopen: %s", dlerror());
	fn = dlsym(h, "fixture_dl_spin");
	cr_assert(fn);
	cr_assert_eq(procfs__read_maps("/proc", getpid(), 0, &text, &len), 0);
	cr_assert_eq(maps__parse(text, len, 0, &maps), 0);
	free(text);
	m = maps__find(maps, (uint64_t)(uintptr_t)fn);
	cr_assert(m);
	n = lookup(sy, m, (uint64_t)(uintptr_t)fn, fr, 4);
	cr_assert_str_eq(fr[n - 1].name, "fixture_dl_spin");
	cr_assert_str_eq(fr[n - 1].module, "libfixture_dl.so");
	cr_assert(ends_with(fr[n - 1].file, "fixture_dl.c"));
	cr_assert_gt(fr[n - 1].line, 0);
	symbolizer__free(sy);
	maps__free(maps);
	dlclose(h);
}

/* ---- the cache ---- */

Test(symbolizer_files, two_inodes_of_one_build_share_their_symbols)
{
	char a[] = "/tmp/tgprof-share-a-XXXXXX",
	     b[] = "/tmp/tgprof-share-b-XXXXXX";
	struct symbolizer_stats st1, st2;
	struct symbolizer *sy = new_sym(NULL, 0);
	uint64_t vaddr = nm_addr(FIXTURE("symbols_target"), "symbols_plain");
	struct sym_frame fr[4];
	struct mapped ma, mb;
	uint64_t addr;

	close(mkstemp(a));
	close(mkstemp(b));
	copy_file(FIXTURE("symbols_target"), a);
	copy_file(FIXTURE("symbols_target"), b);
	addr = map_elf(a, vaddr, &ma);
	lookup(sy, ma.m, addr, fr, 4);
	cr_assert_str_eq(fr[0].name, "symbols_plain");
	symbolizer__stats(sy, &st1);
	addr = map_elf(b, vaddr, &mb);
	cr_assert_neq(ma.m->inode, mb.m->inode);
	lookup(sy, mb.m, addr, fr, 4);
	cr_assert_str_eq(fr[0].name, "symbols_plain");
	cr_assert_str_eq(fr[0].module, strrchr(b, '/') + 1);
	symbolizer__stats(sy, &st2);
	cr_assert_eq(st2.cache_shared, 1);
	cr_assert_eq(st2.cache_misses, 2);
	cr_assert_eq(st2.cache_files, 2);
	/* Nothing loaded twice: the second entry adds only itself. */
	cr_assert_gt(st2.cache_bytes, st1.cache_bytes);
	cr_assert_lt(st2.cache_bytes - st1.cache_bytes, 512,
		     "nothing loaded twice");
	cr_assert_eq(st2.dwarf_files, 1);
	symbolizer__free(sy);
	unmap_elf(&ma);
	unmap_elf(&mb);
	unlink(a);
	unlink(b);
}

Test(symbolizer_files, byte_budget_evicts_the_least_recently_used_file)
{
	struct symbolizer_stats st;
	struct symbolizer *sy;
	struct sym_frame fr[4];
	struct mapped ma, mb;
	uint64_t a, b;

	/* Measure one file, then allow a little more than one. */
	sy = new_sym(NULL, NAMES_ONLY_BUDGET);
	a = map_elf(FIXTURE("symbols_target"),
		    nm_addr(FIXTURE("symbols_target"), "symbols_plain"), &ma);
	lookup(sy, ma.m, a, fr, 4);
	symbolizer__stats(sy, &st);
	symbolizer__free(sy);

	sy = new_sym(NULL, st.cache_bytes + st.cache_bytes / 2);
	b = map_elf(FIXTURE("symbols_cpp"),
		    nm_addr(FIXTURE("symbols_cpp"),
			    "_ZN11tgprof_demo6shapes4areaEii"),
		    &mb);
	lookup(sy, ma.m, a, fr, 4);
	cr_assert_str_eq(fr[0].name, "symbols_plain");
	symbolizer__next_epoch(sy);
	lookup(sy, mb.m, b, fr, 4);
	cr_assert_str_eq(fr[0].name, "tgprof_demo::shapes::area(int, int)",
			 "the file used now is never the one evicted");
	symbolizer__next_epoch(sy);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_evictions, 1);
	cr_assert_eq(st.cache_files, 1);
	cr_assert_leq(st.cache_bytes, st.cache_max_bytes);
	/* The evicted file comes back on demand. */
	lookup(sy, ma.m, a, fr, 4);
	cr_assert_str_eq(fr[0].name, "symbols_plain");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_misses, 3);
	symbolizer__free(sy);
	unmap_elf(&ma);
	unmap_elf(&mb);
}

/* Bytes a cache holds after looking up @sym of @path: its symbol tables
 * only, the budget too small for its lines (a quarter of it). */
static uint64_t bytes_of(const char *path, const char *sym)
{
	struct symbolizer *sy = new_sym(NULL, NAMES_ONLY_BUDGET);
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct mapped mp;
	uint64_t a = map_elf(path, nm_addr(path, sym), &mp);

	lookup(sy, mp.m, a, fr, 4);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.dwarf_files, 0, "%s: lines within a quarter", path);
	cr_assert_gt(st.cache_bytes, 1024, "%s: loaded", path);
	symbolizer__free(sy);
	unmap_elf(&mp);
	return st.cache_bytes;
}

Test(symbolizer_files, byte_budget_evicts_least_recently_used_not_oldest)
{
	const char *path[3] = { FIXTURE("symbols_target"),
				FIXTURE("symbols_cpp"),
				FIXTURE("libfixture_dl.so") };
	const char *sym[3] = { "symbols_plain",
			       "_ZN11tgprof_demo6shapes4areaEii",
			       "fixture_dl_spin" };
	const char *want[3] = { "symbols_plain",
				"tgprof_demo::shapes::area(int, int)",
				"fixture_dl_spin" };
	uint64_t addr[3], bytes[3], budget, big, small;
	struct symbolizer_stats st;
	struct symbolizer *sy;
	struct sym_frame fr[4];
	struct mapped mp[3];
	size_t n;
	int i;

	for (i = 0; i < 3; i++)
		bytes[i] = bytes_of(path[i], sym[i]);
	big = bytes[1] > bytes[2] ? bytes[1] : bytes[2];
	small = bytes[1] > bytes[2] ? bytes[2] : bytes[1];
	/* Room for A and either of B, C; never for all three. */
	budget = bytes[0] + big + small / 2;
	sy = new_sym(NULL, budget);
	for (i = 0; i < 3; i++)
		addr[i] = map_elf(path[i], nm_addr(path[i], sym[i]), &mp[i]);

	/* A, B, then A again: B is now the least recently used. */
	lookup(sy, mp[0].m, addr[0], fr, 4);
	symbolizer__next_epoch(sy);
	lookup(sy, mp[1].m, addr[1], fr, 4);
	symbolizer__next_epoch(sy);
	lookup(sy, mp[0].m, addr[0], fr, 4);
	symbolizer__next_epoch(sy);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_evictions, 0);
	/* C pushes one out: B, not A (the oldest loaded). */
	n = lookup(sy, mp[2].m, addr[2], fr, 4);
	cr_assert_str_eq(fr[n - 1].name, want[2]);
	symbolizer__next_epoch(sy);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_evictions, 1);
	cr_assert_leq(st.cache_bytes, budget,
		      "%llu bytes over a budget of %llu",
		      (unsigned long long)st.cache_bytes,
		      (unsigned long long)budget);
	n = lookup(sy, mp[0].m, addr[0], fr, 4);
	cr_assert_str_eq(fr[n - 1].name, want[0]);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_misses, 3, "A was kept: a hit");
	symbolizer__next_epoch(sy);
	n = lookup(sy, mp[1].m, addr[1], fr, 4);
	cr_assert_str_eq(fr[n - 1].name, want[1]);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_misses, 4, "B was the one evicted");
	symbolizer__next_epoch(sy);
	symbolizer__stats(sy, &st);
	cr_assert_leq(st.cache_bytes, budget);
	symbolizer__free(sy);
	for (i = 0; i < 3; i++)
		unmap_elf(&mp[i]);
}

Test(symbolizer_files, cache_bytes_account_for_the_heap_it_holds)
{
	const char *path = FIXTURE("symbols_cpp");
	const char *sym = "_ZN11tgprof_demo6shapes4areaEii";
	struct symbolizer_stats st;
	struct symbolizer *sy;
	struct sym_frame fr[4];
	struct mapped mp;
	struct mallinfo2 before, after;
	uint64_t a, heap;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("the sanitizer's allocator has no mallinfo2");
#endif
	a = map_elf(path, nm_addr(path, sym), &mp);
	sy = new_sym(NULL, 0);
	/* The symbolizer's own fixed state is not the cache's. */
	before = mallinfo2();
	lookup(sy, mp.m, a, fr, 4);
	cr_assert_str_eq(fr[0].name, "tgprof_demo::shapes::area(int, int)");
	after = mallinfo2();
	symbolizer__stats(sy, &st);
	heap = after.uordblks > before.uordblks ?
		       after.uordblks - before.uordblks :
		       0;
	cr_log_info("heap %llu bytes, accounted %llu", (unsigned long long)heap,
		    (unsigned long long)st.cache_bytes);
	/* What stays allocated is what the budget counts, give or take
	 * malloc's headers and the hash tables' buckets. */
	cr_assert_leq(heap, st.cache_bytes + st.cache_bytes / 4 + 4096,
		      "heap %llu, accounted %llu", (unsigned long long)heap,
		      (unsigned long long)st.cache_bytes);
	cr_assert_geq(heap + heap / 4 + 4096, st.cache_bytes,
		      "heap %llu, accounted %llu", (unsigned long long)heap,
		      (unsigned long long)st.cache_bytes);
	symbolizer__free(sy);
	unmap_elf(&mp);
}

Test(symbolizer_files, file_over_the_budget_warns_once_and_keeps_its_mapping)
{
	struct symbolizer *sy = new_sym(NULL, 1024);
	struct symbolizer_stats st;
	struct sym_frame fr[4];
	struct mapped mp;
	uint64_t addr;
	int i;

	addr = map_elf(FIXTURE("symbols_target"),
		       nm_addr(FIXTURE("symbols_target"), "symbols_plain"),
		       &mp);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(lookup(sy, mp.m, addr + i, fr, 4), 1);
		cr_assert_null(fr[0].name);
		cr_assert_eq(fr[0].addr, addr + i);
		cr_assert_eq(fr[0].mapping, mp.m);
		cr_assert_str_eq(fr[0].module, "symbols_target");
		cr_assert_eq(fr[0].file_offset,
			     addr + i - mp.m->start + mp.m->offset);
		symbolizer__next_epoch(sy);
	}
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.bad_files, 1);
	cr_assert_eq(warnings, 1);
	/* Only the entry that remembers the failure. */
	cr_assert_lt(st.cache_bytes, 512);
	symbolizer__free(sy);
	unmap_elf(&mp);
}

/* ---- bad input ---- */

Test(symbolizer_files, corrupted_files_never_crash_and_warn_once_each,
     .timeout = 120)
{
	struct symbolizer *sy = new_sym(FIXTURE("debugroot"), 0);
	char path[PATH_MAX], *text;
	struct symbolizer_stats st;
	const struct mapping *m;
	struct sym_frame fr[8];
	struct dirent *de;
	struct maps *maps;
	size_t files = 0, len, k, n;
	struct stat sb;
	void *p;
	DIR *d;
	int fd, round;

	d = opendir(FIXTURE("corrupt"));
	cr_assert(d);
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".elf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", FIXTURE("corrupt"),
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		cr_assert(fd >= 0 && fstat(fd, &sb) == 0);
		p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
			 0);
		cr_assert(p != MAP_FAILED);
		close(fd);
		cr_assert_eq(procfs__read_maps("/proc", getpid(), 0, &text,
					       &len),
			     0);
		cr_assert_eq(maps__parse(text, len, 0, &maps), 0);
		free(text);
		m = maps__find(maps, (uint64_t)(uintptr_t)p);
		cr_assert(m);
		for (round = 0; round < 2; round++) {
			for (k = 0; k < (size_t)sb.st_size; k += 97) {
				n = lookup(sy, m, m->start + k, fr, 8);
				cr_assert_geq(n, 1);
				cr_assert_eq(fr[n - 1].addr, m->start + k);
				cr_assert_eq(fr[n - 1].mapping, m);
				cr_assert_eq(fr[n - 1].file_offset, k);
				cr_assert_str_eq(fr[n - 1].module, de->d_name);
			}
			symbolizer__next_epoch(sy);
		}
		maps__free(maps);
		munmap(p, (size_t)sb.st_size);
		files++;
	}
	closedir(d);
	cr_assert_geq(files, 20, "the corrupt fixtures were built");
	symbolizer__stats(sy, &st);
	cr_log_info("%zu corrupt files: %llu bad, %d warnings, %llu "
		    "suppressed, %llu resolved",
		    files, (unsigned long long)st.bad_files, warnings,
		    (unsigned long long)st.warnings_suppressed,
		    (unsigned long long)st.resolved);
	cr_assert_leq(st.bad_files, files);
	cr_assert_eq((uint64_t)warnings + st.warnings_suppressed, st.bad_files,
		     "one warning (or one count) per bad file");
	symbolizer__free(sy);
}
