// SPDX-License-Identifier: Apache-2.0
/* Tests of the DWARF reader (receiver/symbols/dwarf.c) on the symbols
 * fixture: what it holds in memory for a well-formed file and for one
 * whose string section does not end its last string. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <elfutils/libdw.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver/symbols/dwarf.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name

/* A copy of @src in a temporary file, with the last byte of section
 * @section set to @byte when @section is not NULL. Returns its fd. */
static int copy_with_last_byte(const char *src, const char *section, char byte)
{
	char path[] = "/tmp/tgprof-dwarf-XXXXXX", buf[65536];
	int in, out;
	ssize_t n;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t shstrndx;
	Elf *elf;

	in = open(src, O_RDONLY | O_CLOEXEC);
	cr_assert(in >= 0, "open %s", src);
	out = mkstemp(path);
	cr_assert(out >= 0);
	unlink(path);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		cr_assert(write(out, buf, (size_t)n) == n);
	if (section) {
		elf_version(EV_CURRENT);
		elf = elf_begin(in, ELF_C_READ, NULL);
		cr_assert(elf && !elf_getshdrstrndx(elf, &shstrndx));
		while ((scn = elf_nextscn(elf, scn))) {
			cr_assert(gelf_getshdr(scn, &sh));
			if (strcmp(elf_strptr(elf, shstrndx, sh.sh_name),
				   section))
				continue;
			cr_assert(!(sh.sh_flags & SHF_COMPRESSED) &&
				  sh.sh_size > 0);
			cr_assert(pwrite(out, &byte, 1,
					 (off_t)(sh.sh_offset + sh.sh_size -
						 1)) == 1);
			break;
		}
		cr_assert(scn, "%s has no %s", src, section);
		elf_end(elf);
	}
	close(in);
	return out;
}

static size_t lookups(struct dwarf_file *d)
{
	struct dwarf_frame f[DWARF_MAX_FRAMES];
	size_t named = 0, n;
	uint64_t a;

	/* Every address of the fixture's small text: whatever DWARF says,
	 * each lookup stays inside what was read. */
	for (a = 0x1000; a < 0x3000; a++) {
		n = dwarf__lookup(d, a, f, DWARF_MAX_FRAMES);
		named += n && f[n - 1].name;
	}
	return named;
}

Test(dwarf, only_an_unterminated_section_is_copied_again)
{
	int fd = copy_with_last_byte(FIXTURE("symbols_target"), NULL, 0);
	int fd2 = copy_with_last_byte(FIXTURE("symbols_target"), ".debug_str",
				      'A');
	struct dwarf_file *d = dwarf__open_fd(fd, 64u << 20);
	struct dwarf_file *bad = dwarf__open_fd(fd2, 64u << 20);
	size_t str_size = 0;

	cr_assert_not_null(d);
	cr_assert_not_null(bad);
	/* Before any lookup both hold their sections and nothing else; the
	 * unterminated .debug_str is held once more, with zeros after it. */
	str_size = dwarf__memory(bad) - dwarf__memory(d);
	cr_assert_gt(dwarf__memory(bad), dwarf__memory(d),
		     "an unterminated .debug_str is padded (%zu vs %zu)",
		     dwarf__memory(bad), dwarf__memory(d));
	cr_assert_lt(str_size, 4096, "only that section is copied: %zu",
		     str_size);
	cr_assert_gt(lookups(d), 0, "the fixture's functions are named");
	cr_assert_gt(lookups(bad), 0, "and still named when padded");
	dwarf__free(bad);
	dwarf__free(d);
	close(fd2);
	close(fd);
}

/* The .text of the ELF file at @fd, as ELF virtual addresses. */
static void text_of(int fd, uint64_t *ret_lo, uint64_t *ret_hi)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *elf;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert(elf && !elf_getshdrstrndx(elf, &shstrndx));
	*ret_lo = *ret_hi = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		cr_assert(gelf_getshdr(scn, &sh));
		if (!strcmp(elf_strptr(elf, shstrndx, sh.sh_name), ".text")) {
			*ret_lo = sh.sh_addr;
			*ret_hi = sh.sh_addr + sh.sh_size;
		}
	}
	elf_end(elf);
	cr_assert_gt(*ret_hi, *ret_lo, "no .text");
}

/* The first address of [lo, hi) @d names. */
static uint64_t first_named(struct dwarf_file *d, uint64_t lo, uint64_t hi)
{
	struct dwarf_frame f[DWARF_MAX_FRAMES];
	size_t n;

	for (; lo < hi; lo++) {
		n = dwarf__lookup(d, lo, f, DWARF_MAX_FRAMES);
		if (n && f[n - 1].name)
			return lo;
	}
	cr_assert_fail("nothing named in .text");
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Every address of [lo, hi): @d answers as @ref does. Returns the
 * addresses with a named frame. */
static size_t assert_same_answers(struct dwarf_file *ref, struct dwarf_file *d,
				  uint64_t lo, uint64_t hi)
{
	struct dwarf_frame a[DWARF_MAX_FRAMES], b[DWARF_MAX_FRAMES];
	size_t n, m, i, named = 0;
	uint64_t x;

	for (x = lo; x < hi; x++) {
		n = dwarf__lookup(ref, x, a, DWARF_MAX_FRAMES);
		m = dwarf__lookup(d, x, b, DWARF_MAX_FRAMES);
		cr_assert_eq(n, m, "%#lx: %zu frames vs %zu", (long)x, n, m);
		for (i = 0; i < n; i++) {
			cr_assert(same_str(a[i].name, b[i].name),
				  "%#lx frame %zu: %s vs %s", (long)x, i,
				  a[i].name, b[i].name);
			cr_assert(same_str(a[i].file, b[i].file),
				  "%#lx frame %zu: %s vs %s", (long)x, i,
				  a[i].file, b[i].file);
			cr_assert_eq(a[i].line, b[i].line);
		}
		named += n && a[n - 1].name;
	}
	return named;
}

/* This test program itself: several units, built with -g. */
Test(dwarf, a_released_file_answers_as_before_and_reads_itself_again)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct dwarf_file *ref, *d;
	struct dwarf_frame f[DWARF_MAX_FRAMES], g[DWARF_MAX_FRAMES];
	struct dwarf_stats st;
	uint64_t lo, hi, x;
	size_t loaded, n, m;

	cr_assert(fd >= 0);
	text_of(fd, &lo, &hi);
	ref = dwarf__open_fd_release(fd, 256u << 20, SIZE_MAX);
	d = dwarf__open_fd_release(fd, 256u << 20, 0);
	close(fd); /* d keeps its own */
	cr_assert_not_null(ref);
	cr_assert_not_null(d);
	cr_assert_eq(dwarf__release(ref), -EINVAL, "ref keeps no fd");
	/* One unit indexed, its names taken, then libdw released. */
	x = first_named(ref, lo, hi);
	n = dwarf__lookup(d, x, f, DWARF_MAX_FRAMES);
	cr_assert_gt(n, 0);
	loaded = dwarf__memory(d);
	cr_assert_eq(dwarf__release(d), 0);
	cr_assert_lt(dwarf__memory(d), loaded,
		     "released: %zu bytes, loaded: %zu", dwarf__memory(d),
		     loaded);
	/* What was handed out before outlives libdw. */
	m = dwarf__lookup(ref, x, g, DWARF_MAX_FRAMES);
	cr_assert_eq(n, m);
	for (size_t i = 0; i < n; i++) {
		cr_assert(same_str(f[i].name, g[i].name));
		cr_assert(same_str(f[i].file, g[i].file));
	}
	/* The other units are indexed from the file read again. */
	cr_assert_gt(assert_same_answers(ref, d, lo, hi), 100);
	dwarf__stats(d, &st);
	cr_assert_eq(st.releases, 1);
	cr_assert_geq(st.reopens, 1, "the other units needed libdw");
	cr_assert_eq(st.reopen_failed, 0);
	/* Released again, everything is served by the maps. */
	cr_assert_eq(dwarf__release(d), 0);
	assert_same_answers(ref, d, lo, hi);
	dwarf__stats(d, &st);
	cr_assert_eq(st.releases, 2);
	cr_assert_eq(st.reopens, 1, "all indexed: no more reads");
	dwarf__free(d);
	dwarf__free(ref);
}

Test(dwarf, a_file_truncated_after_release_is_not_read_again)
{
	int fd = copy_with_last_byte("/proc/self/exe", NULL, 0);
	struct dwarf_frame f[DWARF_MAX_FRAMES], g[DWARF_MAX_FRAMES];
	struct dwarf_file *ref, *d;
	struct dwarf_stats st;
	uint64_t lo, hi, x;
	size_t n, m;

	text_of(fd, &lo, &hi);
	ref = dwarf__open_fd_release(fd, 256u << 20, SIZE_MAX);
	d = dwarf__open_fd_release(fd, 256u << 20, 0);
	cr_assert_not_null(ref);
	cr_assert_not_null(d);
	lo = first_named(ref, lo, hi);
	n = dwarf__lookup(d, lo, f, DWARF_MAX_FRAMES);
	cr_assert_gt(n, 0);
	cr_assert_eq(dwarf__release(d), 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	/* No crash, no read past the file; what was indexed still holds. */
	for (x = lo; x < hi; x++)
		(void)dwarf__lookup(d, x, g, DWARF_MAX_FRAMES);
	n = dwarf__lookup(d, lo, f, DWARF_MAX_FRAMES);
	m = dwarf__lookup(ref, lo, g, DWARF_MAX_FRAMES);
	cr_assert_eq(n, m);
	cr_assert(same_str(f[n - 1].name, g[m - 1].name));
	dwarf__stats(d, &st);
	cr_assert_eq(st.reopens, 0);
	cr_assert_eq(st.reopen_failed, 1, "refused once, counted");
	dwarf__free(d);
	dwarf__free(ref);
	close(fd);
}

/* What libdw itself says for this test program's addresses: the line
 * table row (file, line) in force, as the innermost frame's. */
Test(dwarf, the_index_gives_libdws_line_for_every_address)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	struct dwarf_frame f[DWARF_MAX_FRAMES];
	struct dwarf_file *d;
	Dwarf_Die cu;
	Dwarf_Line *line;
	Dwarf *dbg;
	uint64_t lo, hi, x;
	size_t n, checked = 0;
	int lineno;

	cr_assert(fd >= 0);
	text_of(fd, &lo, &hi);
	d = dwarf__open_fd_release(fd, 256u << 20, 0);
	cr_assert_not_null(d);
	cr_assert_eq(dwarf__release(d), 0, "answers come from the maps");
	dbg = dwarf_begin(fd, DWARF_C_READ);
	cr_assert_not_null(dbg);
	for (x = lo; x < hi; x++) {
		if (!dwarf_addrdie(dbg, x, &cu))
			continue;
		line = dwarf_getsrc_die(&cu, x);
		if (!line || dwarf_lineno(line, &lineno) || lineno <= 0)
			continue;
		n = dwarf__lookup(d, x, f, DWARF_MAX_FRAMES);
		cr_assert_gt(n, 0, "%#lx: libdw has a line", (long)x);
		cr_assert_eq(f[0].line, (uint32_t)lineno, "%#lx", (long)x);
		cr_assert(same_str(f[0].file, dwarf_linesrc(line, NULL, NULL)),
			  "%#lx: %s", (long)x, f[0].file);
		checked++;
	}
	cr_assert_gt(checked, 1000);
	dwarf_end(dbg);
	dwarf__free(d);
	close(fd);
}

/* Hostile: the DWARF cut short. Refused or answering, never a crash. */
Test(dwarf, a_truncated_file_is_refused_or_answers_without_crashing)
{
	int fd = copy_with_last_byte("/proc/self/exe", NULL, 0);
	struct dwarf_file *d;
	struct stat st;
	uint64_t lo, hi;
	size_t named;

	text_of(fd, &lo, &hi);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(ftruncate(fd, st.st_size - st.st_size / 3), 0);
	d = dwarf__open_fd(fd, 256u << 20);
	if (!d) {
		cr_assert(errno == ENOEXEC || errno == ENODATA, "refused: %s",
			  strerror(errno));
	} else {
		named = 0;
		for (uint64_t x = lo; x < hi; x += 3) {
			struct dwarf_frame f[DWARF_MAX_FRAMES];

			named += dwarf__lookup(d, x, f, DWARF_MAX_FRAMES);
		}
		cr_log_info("answered %zu frames", named);
		dwarf__free(d);
	}
	close(fd);
}
