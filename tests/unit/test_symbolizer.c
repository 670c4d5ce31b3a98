// SPDX-License-Identifier: Apache-2.0
/* Tests of the symbolizer (receiver/symbols/symbolizer.c) on the test process
 * itself: its own functions, libc, the [vdso], through mappings read here
 * from /proc/self/maps; plus the cache, its epochs and kernel frames. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fakeproc.h"
#include "receiver/symbols/symbolizer.h"

/* ---- this process's mappings, parsed here (not with maps.c) ---- */

struct self_maps {
	struct mapping *v;
	size_t n;
};

static void self_maps_read(struct self_maps *sm)
{
	unsigned long long start, end, off, ino;
	char line[PATH_MAX + 256], perms[8], *path;
	unsigned int major, minor;
	struct mapping *m;
	size_t cap = 0, len;
	int pos;
	FILE *f;

	memset(sm, 0, sizeof(*sm));
	f = fopen("/proc/self/maps", "re");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start,
			   &end, perms, &off, &major, &minor, &ino, &pos) != 7)
			continue;
		if (sm->n == cap) {
			cap = cap ? cap * 2 : 256;
			sm->v = realloc(sm->v, cap * sizeof(*sm->v));
			cr_assert(sm->v);
		}
		path = line + pos;
		len = strcspn(path, "\n");
		path[len] = '\0';
		m = &sm->v[sm->n++];
		memset(m, 0, sizeof(*m));
		m->start = start;
		m->end = end;
		m->offset = off;
		m->inode = ino;
		m->dev_major = major;
		m->dev_minor = minor;
		m->prot = (perms[0] == 'r' ? MAPPING_READ : 0) |
			  (perms[1] == 'w' ? MAPPING_WRITE : 0) |
			  (perms[2] == 'x' ? MAPPING_EXEC : 0);
		if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0) {
			m->deleted = true;
			path[len - 10] = '\0';
		}
		if (!path[0])
			m->kind = MAPPING_ANON;
		else if (strcmp(path, "[vdso]") == 0)
			m->kind = MAPPING_VDSO;
		else if (path[0] == '[')
			m->kind = MAPPING_SPECIAL;
		else
			m->kind = MAPPING_FILE;
		m->path = strdup(path);
		cr_assert(m->path);
	}
	fclose(f);
}

static void self_maps_free(struct self_maps *sm)
{
	size_t i;

	for (i = 0; i < sm->n; i++)
		free((char *)sm->v[i].path);
	free(sm->v);
}

static const struct mapping *self_maps_find(const struct self_maps *sm,
					    uint64_t addr)
{
	size_t i;

	for (i = 0; i < sm->n; i++)
		if (addr >= sm->v[i].start && addr < sm->v[i].end)
			return &sm->v[i];
	cr_assert_fail("no mapping holds %#llx", (unsigned long long)addr);
	return NULL;
}

/* ---- what the tests symbolize ---- */

__attribute__((noinline)) int symbolizer_probe_fn(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 5 + 3;
}

static uint64_t fn_addr(int (*fn)(int))
{
	return (uint64_t)(uintptr_t)fn;
}

static uint64_t libc_getpid(void)
{
	void *p = dlsym(RTLD_DEFAULT, "getpid");

	cr_assert(p);
	return (uint64_t)(uintptr_t)p;
}

static const char *exe_basename(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	cr_assert(n > 0);
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

static struct symbolizer *new_symbolizer(size_t max_files)
{
	struct symbolizer_opts opts = {
		.sz = sizeof(opts),
		.proc_root = "/proc",
		.max_files = max_files,
	};
	struct symbolizer *sy = symbolizer__new(&opts, NULL);

	cr_assert(sy, "symbolizer__new: %s", strerror(errno));
	return sy;
}

static void user_frame(struct symbolizer *sy, const struct mapping *m,
		       uint64_t addr, bool ret, struct sym_frame *out)
{
	symbolizer__user(sy, (uint32_t)getpid(), (uint32_t)getpid(), m, addr,
			 ret, out, 1);
}

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && strcmp(ci, "true") == 0;
}

/* map_files needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE. */
static void require_map_files(const struct mapping *m)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	if (!in_ci())
		cr_skip_test("map_files not readable: %s", strerror(errno));
	cr_assert_fail("map_files not readable in CI: %s", strerror(errno));
}

Test(symbolizer, own_function_is_named_through_its_mapping)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn) + 1;
	struct symbolizer_stats st;
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;
	char exe[PATH_MAX];

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	cr_assert_eq(m->kind, MAPPING_FILE);
	sy = new_symbolizer(0);
	user_frame(sy, m, addr, false, &fr);
	cr_assert_eq(fr.kind, FRAME_NATIVE);
	cr_assert_eq(fr.addr, addr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	cr_assert_eq(fr.sym_offset, 1);
	cr_assert_str_eq(fr.module, exe_basename(exe, sizeof(exe)));
	cr_assert_eq(fr.mapping, m);
	cr_assert_eq(fr.file_offset, addr - m->start + m->offset);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.lookups, 1);
	cr_assert_eq(st.resolved, 1);
	cr_assert_eq(st.unresolved, 0);
	cr_assert_eq(st.cache_misses, 1);
	cr_assert_eq(st.cache_files, 1);
	cr_assert_gt(st.cache_bytes, 0);
	cr_assert_eq(st.open_errors + st.elf_errors, 0);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, libc_function_is_named)
{
	uint64_t addr = libc_getpid();
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	sy = new_symbolizer(0);
	user_frame(sy, m, addr, false, &fr);
	/* getpid over its alias __getpid: the name a user writes. */
	cr_assert_str_eq(fr.name, "getpid");
	cr_assert_eq(fr.sym_offset, 0);
	cr_assert(strncmp(fr.module, "libc", 4) == 0, "module %s", fr.module);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, return_address_is_looked_up_one_byte_earlier)
{
	uint64_t start = fn_addr(symbolizer_probe_fn);
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m = self_maps_find(&sm, start);
	sy = new_symbolizer(0);
	/* A call ending right before the function returns to its first
	 * byte: that frame belongs to whatever precedes it. */
	user_frame(sy, m, start, true, &fr);
	cr_assert(!fr.name || strcmp(fr.name, "symbolizer_probe_fn") != 0);
	user_frame(sy, m, start + 1, true, &fr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	cr_assert_eq(fr.sym_offset, 1, "offset from the sampled address");
	cr_assert_eq(fr.file_offset, start + 1 - m->start + m->offset);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, second_lookup_in_a_file_is_a_cache_hit)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct symbolizer_stats st;
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	sy = new_symbolizer(0);
	user_frame(sy, m, addr, false, &fr);
	user_frame(sy, m, addr + 2, false, &fr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	symbolizer__next_epoch(sy);
	user_frame(sy, m, addr + 3, false, &fr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_misses, 1);
	cr_assert_eq(st.cache_hits, 2);
	cr_assert_eq(st.cache_files, 1);
	cr_assert_eq(st.lookups, 3);
	cr_assert_eq(st.resolved, 3);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, names_read_from_the_file_are_bounded_and_charged_to_budget)
{
	const size_t budget = 512u << 10;
	struct symbolizer_opts opts = {
		.sz = sizeof(opts),
		.proc_root = "/proc",
		.max_bytes = budget,
	};
	uint64_t addr = libc_getpid(), a, base, before;
	struct symbolizer_stats st;
	const struct mapping *m;
	struct sym_frame fr, first;
	struct symbolizer *sy;
	struct self_maps sm;
	size_t named = 0;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	cr_assert(m);
	sy = symbolizer__new(&opts, NULL);
	cr_assert(sy);
	user_frame(sy, m, addr, false, &first);
	cr_assert_str_eq(first.name, "getpid");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.sym_names_read, 1, "the name was read from libc");
	base = st.cache_bytes;
	user_frame(sy, m, addr, false, &fr);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.sym_names_read, 1, "and kept: not read again");
	cr_assert_eq(fr.name, first.name);
	/* Every function of libc in one epoch: more names than a file may
	 * keep (an eighth of the budget); the rest live for the epoch. */
	for (a = m->start; a < m->end; a += 16) {
		user_frame(sy, m, a, false, &fr);
		named += fr.name != NULL;
	}
	symbolizer__stats(sy, &st);
	cr_assert_gt(named, 1000);
	cr_assert_gt(st.sym_names_read, 1000);
	cr_assert_gt(st.demangle_uncached, 0, "the cache filled");
	cr_assert_gt(st.sym_names_dropped, 0, "and this epoch's share too");
	cr_assert_gt(st.cache_bytes, base + budget / 16, "names are charged");
	cr_assert_leq(st.cache_bytes, base + budget / 8, "within their share");
	cr_assert_eq(st.sym_name_errors, 0);
	cr_assert_str_eq(first.name, "getpid", "names live out the epoch");
	/* A new epoch: nothing is out any more, the full cache starts over. */
	before = st.cache_bytes;
	symbolizer__next_epoch(sy);
	user_frame(sy, m, addr, false, &fr);
	cr_assert_str_eq(fr.name, "getpid");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.sym_name_resets, 1);
	cr_assert_lt(st.cache_bytes, before);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, out_of_descriptors_the_names_are_copied_and_counted)
{
	uint64_t addr = libc_getpid();
	struct symbolizer_stats st;
	const struct mapping *m;
	struct rlimit rl, low;
	struct symbolizer *sy;
	struct self_maps sm;
	struct sym_frame fr;
	int extra[64], n = 0, i;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	cr_assert(m);
	sy = new_symbolizer(0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	extra[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert(extra[n] >= 0);
	low = rl;
	low.rlim_cur = (rlim_t)extra[n] + 32;
	n++;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64 &&
	       (extra[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		n++;
	cr_assert_eq(errno, EMFILE);
	/* One descriptor left: the file opens, a second one is refused. */
	close(extra[--n]);
	user_frame(sy, m, addr, false, &fr);
	for (i = 0; i < n; i++)
		close(extra[i]);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_str_eq(fr.name, "getpid", "named from copied names");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.sym_names_copied, 1);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, entry_used_this_epoch_survives_max_files_pressure)
{
	uint64_t own = fn_addr(symbolizer_probe_fn), libc = libc_getpid();
	const struct mapping *m_own, *m_libc;
	struct symbolizer_stats st;
	struct sym_frame a, b;
	struct self_maps sm;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m_own = self_maps_find(&sm, own);
	m_libc = self_maps_find(&sm, libc);
	cr_assert_neq(m_own->inode, m_libc->inode);
	sy = new_symbolizer(1);

	/* One sample with frames in two files and room for one. */
	user_frame(sy, m_own, own, false, &a);
	user_frame(sy, m_libc, libc, false, &b);
	/* Under ASan a freed table would make this a use-after-free. */
	cr_assert_str_eq(a.name, "symbolizer_probe_fn");
	cr_assert_str_eq(b.name, "getpid");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_files, 2);
	cr_assert_eq(st.cache_evictions, 0);

	/* The sample is done: the bound holds again, the older entry goes. */
	symbolizer__next_epoch(sy);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_files, 1);
	cr_assert_eq(st.cache_evictions, 1);
	user_frame(sy, m_libc, libc, false, &b);
	cr_assert_str_eq(b.name, "getpid");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_hits, 1, "libc was the one kept");

	/* A new file in a new epoch evicts right away. */
	symbolizer__next_epoch(sy);
	user_frame(sy, m_own, own, false, &a);
	cr_assert_str_eq(a.name, "symbolizer_probe_fn");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.cache_files, 1);
	cr_assert_eq(st.cache_evictions, 2);
	cr_assert_eq(st.cache_misses, 3);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

/* The address of @want in our [vdso], found by reading its .dynsym. */
static uint64_t vdso_symbol(const struct mapping *m, const char *want)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf_Data *d;
	uint64_t found = 0;
	size_t len = m->end - m->start, i;
	char *copy = malloc(len);
	Elf *elf;

	cr_assert(copy);
	memcpy(copy, (const void *)(uintptr_t)m->start, len);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, len);
	cr_assert(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		gelf_getshdr(scn, &sh);
		if (sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		for (i = 0; d && gelf_getsym(d, (int)i, &sym); i++)
			if (strcmp(elf_strptr(elf, sh.sh_link, sym.st_name),
				   want) == 0)
				found = sym.st_value;
	}
	elf_end(elf);
	free(copy);
	cr_assert(found, "%s is in the vdso", want);
	/* The x86-64 vdso is linked at 0 with file offset == address. */
	return m->start + found;
}

Test(symbolizer, vdso_address_is_named_from_our_own_image)
{
	const struct mapping *m = NULL;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;
	uint64_t addr;
	size_t i;

	self_maps_read(&sm);
	for (i = 0; i < sm.n; i++)
		if (sm.v[i].kind == MAPPING_VDSO)
			m = &sm.v[i];
	cr_assert(m, "this process has a [vdso]");
	addr = vdso_symbol(m, "__vdso_clock_gettime");
	sy = new_symbolizer(0);
	user_frame(sy, m, addr + 2, true, &fr);
	cr_assert_str_eq(fr.module, "[vdso]");
	cr_assert(fr.name, "vdso frame is named");
	cr_assert(strcmp(fr.name, "clock_gettime") == 0 ||
			  strcmp(fr.name, "__vdso_clock_gettime") == 0,
		  "name %s", fr.name);
	cr_assert_eq(fr.sym_offset, 2);
	/* Loaded once: the second frame costs no load. */
	user_frame(sy, m, addr + 3, false, &fr);
	cr_assert(fr.name);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, null_mapping_gives_no_name_and_no_module)
{
	struct symbolizer_stats st;
	struct symbolizer *sy = new_symbolizer(0);
	struct sym_frame fr;

	memset(&fr, 0x5a, sizeof(fr));
	user_frame(sy, NULL, 0x1234, true, &fr);
	cr_assert_eq(fr.addr, 0x1234);
	cr_assert_eq(fr.kind, FRAME_NATIVE);
	cr_assert_null(fr.name);
	cr_assert_null(fr.module);
	cr_assert_null(fr.mapping);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.lookups, 1);
	cr_assert_eq(st.unresolved, 1);
	symbolizer__free(sy);
	symbolizer__free(NULL);
}

Test(symbolizer, anonymous_and_special_mappings_are_named_by_kind)
{
	struct mapping anon = {
		.start = 0x10000,
		.end = 0x20000,
		.kind = MAPPING_ANON,
		.path = "",
	};
	struct mapping heap = anon, odd = anon;
	struct symbolizer_stats st;
	struct symbolizer *sy = new_symbolizer(0);
	struct sym_frame fr;

	heap.kind = MAPPING_SPECIAL;
	heap.path = "[heap]";
	odd.kind = MAPPING_SPECIAL;
	odd.path = "[anon:tgprof test]";
	user_frame(sy, &anon, 0x10010, false, &fr);
	cr_assert_str_eq(fr.module, "[anon]");
	cr_assert_null(fr.name);
	cr_assert_eq(fr.file_offset, 0x10);
	user_frame(sy, &heap, 0x10010, false, &fr);
	cr_assert_str_eq(fr.module, "[heap]");
	cr_assert_null(fr.name);
	user_frame(sy, &odd, 0x10010, false, &fr);
	cr_assert_str_eq(fr.module, "[anon]");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.unresolved, 3);
	cr_assert_eq(st.cache_misses, 0, "no file behind them");
	symbolizer__free(sy);
}

static int debug_lines;

static void count_debug(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	(void)msg;
	if (level == TG_LOG_DEBUG)
		debug_lines++;
}

Test(symbolizer, mapping_whose_inode_does_not_match_counts_an_open_error)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct tg_logger log = { count_debug, NULL, TG_LOG_DEBUG };
	struct symbolizer_opts opts = { .sz = sizeof(opts) };
	struct symbolizer_stats st;
	struct mapping bad;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	bad = *self_maps_find(&sm, addr);
	/* Same path and device, another file: by path and by map_files. */
	bad.inode += 7777777;
	sy = symbolizer__new(&opts, &log);
	cr_assert(sy);
	user_frame(sy, &bad, addr, false, &fr);
	cr_assert_null(fr.name);
	cr_assert(fr.module && fr.module[0], "module from the path");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.open_errors, 1);
	cr_assert_eq(st.unresolved, 1);
	/* The failure is remembered: no second open, no second log line. */
	user_frame(sy, &bad, addr + 1, false, &fr);
	cr_assert_null(fr.name);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.open_errors, 1);
	cr_assert_eq(st.cache_hits, 1);
	cr_assert_eq(debug_lines, 1);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, deleted_mapping_is_read_through_map_files)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct symbolizer_stats st;
	struct mapping gone;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	gone = *self_maps_find(&sm, addr);
	require_map_files(&gone);
	gone.deleted = true;
	gone.path = "/nonexistent/tgprof/replaced-binary";
	sy = new_symbolizer(0);
	user_frame(sy, &gone, addr, false, &fr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	cr_assert_str_eq(fr.module, "replaced-binary");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.open_errors, 0);
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, path_now_naming_another_file_falls_back_to_map_files)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct mapping moved;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	moved = *self_maps_find(&sm, addr);
	require_map_files(&moved);
	/* The path exists but is another inode than the one mapped. */
	moved.path = "/proc/self/cmdline";
	sy = new_symbolizer(0);
	user_frame(sy, &moved, addr, false, &fr);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	symbolizer__free(sy);
	self_maps_free(&sm);
}

Test(symbolizer, mapped_file_that_is_not_elf_counts_an_elf_error)
{
	static const char text[] = "tgprof: this mapped file is not ELF\n";
	char path[] = "/tmp/tgprof-symbolizer-XXXXXX";
	struct symbolizer_stats st;
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;
	void *p;
	int fd;

	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert(write(fd, text, sizeof(text)) == sizeof(text));
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	cr_assert(p != MAP_FAILED);
	self_maps_read(&sm);
	m = self_maps_find(&sm, (uint64_t)(uintptr_t)p);
	sy = new_symbolizer(0);
	user_frame(sy, m, (uint64_t)(uintptr_t)p + 8, false, &fr);
	cr_assert_null(fr.name);
	cr_assert_str_eq(fr.module, strrchr(path, '/') + 1);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.elf_errors, 1);
	cr_assert_eq(st.open_errors, 0);
	symbolizer__free(sy);
	self_maps_free(&sm);
	munmap(p, 4096);
	close(fd);
	unlink(path);
}

/* ---- kernel frames ---- */

static int warn_lines;

static void count_warn(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	(void)msg;
	if (level == TG_LOG_WARN)
		warn_lines++;
}

Test(symbolizer, kernel_frames_are_named_from_kallsyms)
{
	static const char text[] = "ffffffff81000000 T _text\n"
				   "ffffffff81000100 T schedule\n"
				   "ffffffff81000400 T _etext\n"
				   "ffffffffc0000000 t mod_fn\t[mymod]\n";
	struct symbolizer_opts opts = { .sz = sizeof(opts), .kernel = true };
	struct symbolizer_stats st;
	struct symbolizer *sy;
	struct sym_frame fr;
	char path[64];
	int fd;

	fd = memfd_create("tgprof-kallsyms", MFD_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert(write(fd, text, sizeof(text) - 1) == sizeof(text) - 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	opts.kallsyms_path = path;
	sy = symbolizer__new(&opts, NULL);
	cr_assert(sy);
	close(fd);
	symbolizer__kernel(sy, 0xffffffff81000123, &fr, 1);
	cr_assert_eq(fr.kind, FRAME_KERNEL);
	cr_assert_str_eq(fr.name, "schedule");
	cr_assert_eq(fr.sym_offset, 0x23);
	cr_assert_str_eq(fr.module, "vmlinux");
	cr_assert_null(fr.mapping);
	symbolizer__kernel(sy, 0xffffffffc0000010, &fr, 1);
	cr_assert_str_eq(fr.name, "mod_fn");
	cr_assert_str_eq(fr.module, "mymod");
	symbolizer__kernel(sy, 0xffffffff81000500, &fr, 1);
	cr_assert_null(fr.name);
	cr_assert_str_eq(fr.module, "vmlinux");
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.kernel_symbols, 4);
	cr_assert_eq(st.resolved, 2);
	cr_assert_eq(st.unresolved, 1);
	symbolizer__free(sy);
}

Test(symbolizer, missing_kernel_symbols_warn_once_and_are_not_fatal)
{
	struct tg_logger log = { count_warn, NULL, TG_LOG_DEBUG };
	struct symbolizer_opts opts = {
		.sz = sizeof(opts),
		.kernel = true,
		.kallsyms_path = "/nonexistent/tgprof/kallsyms",
	};
	struct symbolizer_stats st;
	struct symbolizer *sy;
	struct sym_frame fr;

	sy = symbolizer__new(&opts, &log);
	cr_assert(sy);
	symbolizer__kernel(sy, 0xffffffff81000123, &fr, 1);
	symbolizer__kernel(sy, 0xffffffff81000124, &fr, 1);
	cr_assert_null(fr.name);
	cr_assert_str_eq(fr.module, "vmlinux");
	cr_assert_eq(warn_lines, 1);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.kernel_symbols, 0);
	cr_assert_eq(st.unresolved, 2);
	symbolizer__free(sy);
}

Test(symbolizer, options_from_another_abi_are_checked)
{
	struct {
		struct symbolizer_opts o;
		char future[8];
	} big = { .o = { .sz = sizeof(big) } };
	struct symbolizer_opts tiny = { .sz = 1 };
	struct symbolizer *sy;

	/* Unknown trailing fields left zero: accepted. */
	sy = symbolizer__new(&big.o, NULL);
	cr_assert(sy);
	symbolizer__free(sy);
	/* Set: refused, since they cannot be honoured. */
	big.future[3] = 1;
	errno = 0;
	cr_assert_null(symbolizer__new(&big.o, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(symbolizer__new(&tiny, NULL));
	cr_assert_eq(errno, EINVAL);
	sy = symbolizer__new(NULL, NULL);
	cr_assert(sy);
	symbolizer__free(sy);
}

/* ROOT/TGID/task/TID of a fake proc root, with a root (a link to the real
 * "/") if @has_root: a live thread has one, a zombie leader has not. */
static void fake_thread(uint32_t tgid, uint32_t tid, bool has_root)
{
	fakeproc_mkdir("%u/task/%u", tgid, tid);
	if (has_root)
		fakeproc_symlink("/", "%u/task/%u/root", tgid, tid);
}

Test(symbolizer, file_is_opened_through_another_thread_when_sampled_one_is_gone)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct symbolizer_opts opts = { .sz = sizeof(opts) };
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	opts.proc_root = fakeproc_create("tgprof-symroot");
	fake_thread(100, 100, false);
	fake_thread(100, 101, true);
	sy = symbolizer__new(&opts, NULL);
	cr_assert(sy);
	/* Sampled thread 100 has no root any more: thread 101 does. */
	symbolizer__user(sy, 100, 100, m, addr, false, &fr, 1);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	symbolizer__free(sy);
	cr_assert_eq(fakeproc_remove(), 0);
	self_maps_free(&sm);
}

Test(symbolizer, file_one_process_cannot_reach_is_retried_for_another)
{
	uint64_t addr = fn_addr(symbolizer_probe_fn);
	struct symbolizer_opts opts = { .sz = sizeof(opts) };
	struct symbolizer_stats st;
	const struct mapping *m;
	struct self_maps sm;
	struct sym_frame fr;
	struct symbolizer *sy;

	self_maps_read(&sm);
	m = self_maps_find(&sm, addr);
	opts.proc_root = fakeproc_create("tgprof-symroot");
	/* Process 200 has no thread with a root; process 300 has one. */
	fake_thread(200, 200, false);
	fake_thread(300, 300, true);
	sy = symbolizer__new(&opts, NULL);
	cr_assert(sy);

	symbolizer__user(sy, 200, 200, m, addr, false, &fr, 1);
	cr_assert_null(fr.name);
	symbolizer__next_epoch(sy);
	/* Process 200 again: the negative entry holds, no new attempt. */
	symbolizer__user(sy, 200, 200, m, addr, false, &fr, 1);
	cr_assert_null(fr.name);
	symbolizer__stats(sy, &st);
	cr_assert_eq(st.open_errors, 1);
	symbolizer__next_epoch(sy);
	/* Another process maps the same file and can reach it: named now,
	 * not after the negative entry's retry time. */
	symbolizer__user(sy, 300, 300, m, addr, false, &fr, 1);
	cr_assert_str_eq(fr.name, "symbolizer_probe_fn");
	symbolizer__free(sy);
	cr_assert_eq(fakeproc_remove(), 0);
	self_maps_free(&sm);
}
