// SPDX-License-Identifier: Apache-2.0
/* Tests of the ELF reader under the symbolizer (receiver/symbols/elfsym.c): known
 * functions of the symbols_* fixtures are named from their file offsets,
 * and corrupt or truncated files never make it read outside the file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_fixture.h"
#include "receiver/symbols/elfsym.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name

static const char *const fixture_funcs[] = {
	"symbols_alpha",
	"symbols_beta",
	"symbols_local",
	"symbols_unsized",
};

/* The address nm reports for @sym in @path (-D: dynamic symbols only). */
static uint64_t nm_addr(const char *path, const char *sym, bool dynamic)
{
	char cmd[512], line[512], name[256], type;
	unsigned long long addr, found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s --defined-only '%s'",
		 dynamic ? "-D" : "", path);
	p = popen(cmd, "r");
	cr_assert(p, "popen nm");
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    strcmp(name, sym) == 0)
			found = addr;
	}
	pclose(p);
	cr_assert(found, "nm finds %s in %s", sym, path);
	return found;
}

/*
 * The file offset of @vaddr, found through the section headers: a route
 * independent of the program headers the reader translates with.
 */
static uint64_t section_offset(const char *path, uint64_t vaddr)
{
	uint64_t off = UINT64_MAX;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s", path);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		gelf_getshdr(scn, &sh);
		if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS &&
		    vaddr >= sh.sh_addr && vaddr < sh.sh_addr + sh.sh_size)
			off = sh.sh_offset + (vaddr - sh.sh_addr);
	}
	elf_end(elf);
	close(fd);
	cr_assert(off != UINT64_MAX, "a section holds %#llx",
		  (unsigned long long)vaddr);
	return off;
}

static struct elfsym *load_path(const char *path)
{
	struct elfsym *e;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s", path);
	e = elfsym__load_fd(fd);
	close(fd);
	return e;
}

static unsigned char *slurp(const char *path, size_t *ret_len)
{
	unsigned char *buf;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s", path);
	cr_assert(fstat(fd, &st) == 0);
	buf = malloc(st.st_size);
	cr_assert(buf);
	cr_assert(read(fd, buf, st.st_size) == st.st_size);
	close(fd);
	*ret_len = st.st_size;
	return buf;
}

static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("tgprof-elfsym-test", MFD_CLOEXEC);

	cr_assert(fd >= 0);
	cr_assert(write(fd, buf, len) == (ssize_t)len);
	return fd;
}

/* Translates offset -> vaddr and names each fixture function there. */
static void assert_names_fixture(const char *path, bool dynamic, size_t nfuncs)
{
	uint64_t vaddr, off, got, sym_off;
	struct elfsym *e;
	const char *name;
	size_t i;

	e = load_path(path);
	cr_assert(e, "load %s: %s", path, strerror(errno));
	for (i = 0; i < nfuncs; i++) {
		vaddr = nm_addr(path, fixture_funcs[i], dynamic);
		off = section_offset(path, vaddr);
		cr_assert_eq(elfsym__offset_to_vaddr(e, off + 1, &got), 0);
		cr_assert_eq(got, vaddr + 1, "%s: offset %#llx", path,
			     (unsigned long long)off);
		name = elfsym__lookup(e, got, &sym_off);
		cr_assert(name, "%s: %s is named", path, fixture_funcs[i]);
		cr_assert_str_eq(name, fixture_funcs[i]);
		cr_assert_eq(sym_off, 1);
	}
	elfsym__free(e);
}

Test(elfsym, pie_binary_offset_translates_to_symbol)
{
	assert_names_fixture(FIXTURE("symbols_pie"), false, 4);
}

Test(elfsym, non_pie_binary_offset_translates_to_symbol)
{
	assert_names_fixture(FIXTURE("symbols_nopie"), false, 4);
}

Test(elfsym, stripped_binary_names_exported_functions_through_dynsym)
{
	const char *path = FIXTURE("symbols_stripped");
	uint64_t local, vaddr;
	struct elfsym *e, *full;

	/* alpha, beta: exported. */
	assert_names_fixture(path, true, 2);
	e = load_path(path);
	full = load_path(FIXTURE("symbols_dynsym"));
	cr_assert(e && full);
	cr_assert_lt(elfsym__count(e), elfsym__count(full));
	/* Same layout as its unstripped twin: the local function is there
	 * but has no name left to find. */
	local = nm_addr(FIXTURE("symbols_dynsym"), "symbols_local", false);
	cr_assert_eq(elfsym__offset_to_vaddr(e, section_offset(path, local),
					     &vaddr),
		     0);
	cr_assert_null(elfsym__lookup(e, vaddr, NULL));
	cr_assert_str_eq(elfsym__lookup(full, local, NULL), "symbols_local");
	elfsym__free(full);
	elfsym__free(e);
}

/* The build-id readelf prints for @path, as bytes. */
static size_t readelf_build_id(const char *path, uint8_t *buf, size_t cap)
{
	char cmd[512], line[512], *p;
	unsigned int byte;
	size_t n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
	f = popen(cmd, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, "Build ID: ");
		if (!p)
			continue;
		for (p += 10; n < cap && sscanf(p, "%2x", &byte) == 1; p += 2)
			buf[n++] = (uint8_t)byte;
	}
	pclose(f);
	return n;
}

Test(elfsym, build_id_matches_the_gnu_note)
{
	static const char *const files[] = {
		FIXTURE("symbols_pie"),
		FIXTURE("symbols_nopie"),
		FIXTURE("symbols_stripped"),
	};
	uint8_t want[ELFSYM_MAX_BUILD_ID], got[ELFSYM_MAX_BUILD_ID];
	size_t i, n;
	struct elfsym *e;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = readelf_build_id(files[i], want, sizeof(want));
		cr_assert_gt(n, 0, "%s has a build-id", files[i]);
		e = load_path(files[i]);
		cr_assert(e);
		cr_assert_eq(elfsym__build_id(e, got, sizeof(got)), n);
		cr_assert_arr_eq(got, want, n);
		/* Too small a buffer gets nothing rather than a prefix. */
		cr_assert_eq(elfsym__build_id(e, got, n - 1), 0);
		elfsym__free(e);
	}
}

Test(elfsym, unsized_symbol_covers_its_code_but_not_the_next_function)
{
	const char *path = FIXTURE("symbols_pie");
	uint64_t unsized, alpha, off;
	struct elfsym *e;

	unsized = nm_addr(path, "symbols_unsized", false);
	alpha = nm_addr(path, "symbols_alpha", false);
	e = load_path(path);
	cr_assert(e);
	cr_assert_str_eq(elfsym__lookup(e, unsized + 3, &off),
			 "symbols_unsized");
	cr_assert_eq(off, 3);
	cr_assert_str_eq(elfsym__lookup(e, alpha, &off), "symbols_alpha");
	cr_assert_eq(off, 0);
	elfsym__free(e);
}

Test(elfsym, address_outside_every_symbol_is_not_named)
{
	struct elfsym *e = load_path(FIXTURE("symbols_pie"));
	uint64_t vaddr;

	cr_assert(e);
	cr_assert_null(elfsym__lookup(e, 0, NULL));
	cr_assert_null(elfsym__lookup(e, UINT64_MAX, NULL));
	cr_assert_null(elfsym__lookup(e, 0x7fffffff0000ull, NULL));
	cr_assert_eq(elfsym__offset_to_vaddr(e, 1ull << 40, &vaddr), -ENOENT);
	cr_assert_eq(elfsym__offset_to_vaddr(NULL, 0, &vaddr), -ENOENT);
	cr_assert_null(elfsym__lookup(NULL, 0x1000, NULL));
	elfsym__free(e);
}

Test(elfsym, non_elf_files_fail_with_enoexec)
{
	static const char text[] = "#!/bin/sh\necho not an ELF file\n";
	int fd;

	fd = memfd_with(text, sizeof(text));
	errno = 0;
	cr_assert_null(elfsym__load_fd(fd));
	cr_assert_eq(errno, ENOEXEC);
	close(fd);

	fd = memfd_with("", 0);
	errno = 0;
	cr_assert_null(elfsym__load_fd(fd));
	cr_assert_eq(errno, ENOEXEC);
	close(fd);

	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	errno = 0;
	cr_assert_null(elfsym__load_fd(fd));
	cr_assert_eq(errno, ENOEXEC);
	close(fd);

	errno = 0;
	cr_assert_null(elfsym__load_fd(-1));
	cr_assert_eq(errno, EBADF);

	errno = 0;
	cr_assert_null(elfsym__load_mem(text, sizeof(text)));
	cr_assert_eq(errno, ENOEXEC);
	cr_assert_null(elfsym__load_mem(NULL, 0));
	cr_assert_eq(errno, ENOEXEC);
	elfsym__free(NULL);
}

Test(elfsym, memory_image_loads_like_the_file)
{
	const char *path = FIXTURE("symbols_nopie");
	uint8_t a[ELFSYM_MAX_BUILD_ID], b[ELFSYM_MAX_BUILD_ID];
	struct elfsym *from_file, *from_mem;
	unsigned char *buf;
	uint64_t v1, v2, vaddr;
	size_t len, i;

	buf = slurp(path, &len);
	from_file = load_path(path);
	from_mem = elfsym__load_mem(buf, len);
	/* The reader works on its own copy. */
	memset(buf, 0xa5, len);
	free(buf);
	cr_assert(from_file && from_mem);
	cr_assert_eq(elfsym__count(from_mem), elfsym__count(from_file));
	cr_assert_eq(elfsym__build_id(from_mem, a, sizeof(a)),
		     elfsym__build_id(from_file, b, sizeof(b)));
	for (i = 0; i < 4; i++) {
		vaddr = nm_addr(path, fixture_funcs[i], false);
		cr_assert_eq(elfsym__offset_to_vaddr(
				     from_mem, section_offset(path, vaddr),
				     &v1),
			     0);
		cr_assert_eq(v1, vaddr);
		cr_assert_str_eq(elfsym__lookup(from_mem, v1, &v2),
				 fixture_funcs[i]);
	}
	cr_assert_geq(elfsym__memory(from_mem), elfsym__count(from_mem));
	elfsym__free(from_mem);
	elfsym__free(from_file);
}

/* ---- hostile input ---- */

struct probe_set {
	uint64_t addrs[64];
	size_t n;
};

/* Where the fixture's names live, plus a sweep of both address layouts. */
static void probes_init(struct probe_set *p, const char *path)
{
	size_t i;

	p->n = 0;
	for (i = 0; i < 4; i++)
		p->addrs[p->n++] = nm_addr(path, fixture_funcs[i], false);
}

/*
 * A table loaded from a damaged copy may name things, but only with bytes
 * that are in the copy: anything else was read from outside it.
 */
static void assert_only_names_from(struct elfsym *e, const unsigned char *buf,
				   size_t len, const struct probe_set *p)
{
	static char last[ELFSYM_MAX_NAME];
	const char *name;
	uint8_t id[ELFSYM_MAX_BUILD_ID];
	uint64_t a, vaddr;
	size_t i;

	if (!e)
		return;
	last[0] = '\0';
	cr_assert_leq(elfsym__build_id(e, id, sizeof(id)), sizeof(id));
	for (i = 0; i < p->n + 2 * 0x3000 / 4; i++) {
		if (i < p->n)
			a = p->addrs[i];
		else if (i < p->n + 0x3000 / 4)
			a = 0x1000 + (i - p->n) * 4;
		else
			a = 0x401000 + (i - p->n - 0x3000 / 4) * 4;
		name = elfsym__lookup(e, a, NULL);
		/* Names of an fd table share one buffer: compare text. */
		if (!name || strcmp(name, last) == 0)
			continue;
		snprintf(last, sizeof(last), "%s", name);
		cr_assert(memmem(buf, len, name, strlen(name) + 1),
			  "name '%s' is not in the file", name);
	}
	for (a = 0; a < 0x6000; a += 0x40)
		elfsym__offset_to_vaddr(e, a, &vaddr);
}

/* Loads @buf both ways (fd and memory) and checks what comes out. */
static void load_damaged(const unsigned char *buf, size_t len,
			 const struct probe_set *p, bool via_fd)
{
	struct elfsym *e;
	int fd;

	e = elfsym__load_mem(buf, len);
	if (!e)
		cr_assert(errno == ENOEXEC || errno == ENOMEM, "errno %d",
			  errno);
	assert_only_names_from(e, buf, len, p);
	elfsym__free(e);
	if (!via_fd)
		return;
	fd = memfd_with(buf, len);
	e = elfsym__load_fd(fd);
	close(fd);
	if (!e)
		cr_assert(errno == ENOEXEC || errno == ENOMEM, "errno %d",
			  errno);
	assert_only_names_from(e, buf, len, p);
	elfsym__free(e);
}

Test(elfsym, truncated_copies_load_safely_at_every_length, .timeout = 240)
{
	const char *path = FIXTURE("symbols_pie");
	struct probe_set p;
	unsigned char *buf, *cut;
	size_t len, n;

	probes_init(&p, path);
	buf = slurp(path, &len);
	for (n = 0; n <= len; n++) {
		/* A private allocation of exactly n bytes: ASan sees any
		 * read past the cut. */
		cut = malloc(n ? n : 1);
		cr_assert(cut);
		memcpy(cut, buf, n);
		load_damaged(cut, n, &p, n % 97 == 0 || n + 256 > len);
		free(cut);
	}
	free(buf);
}

/*
 * Plain truncation loses the section headers first (they are at the end of
 * the file). Here they are kept, moved right after the cut, so the symbol
 * and string tables they describe run off the end of the data.
 */
Test(elfsym, truncated_tables_under_intact_section_headers_load_safely,
     .timeout = 240)
{
	const char *path = FIXTURE("symbols_pie");
	unsigned char *buf, *cut;
	struct probe_set p;
	size_t len, n, shoff, shlen, named = 0;
	struct elfsym *e;
	Elf64_Ehdr *eh;

	probes_init(&p, path);
	buf = slurp(path, &len);
	eh = (Elf64_Ehdr *)buf;
	shoff = eh->e_shoff;
	shlen = (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
	cr_assert_eq(shoff + shlen, len, "section headers end the file");
	for (n = sizeof(Elf64_Ehdr); n <= shoff; n++) {
		cut = malloc(n + shlen);
		cr_assert(cut);
		memcpy(cut, buf, n);
		memcpy(cut + n, buf + shoff, shlen);
		((Elf64_Ehdr *)cut)->e_shoff = n;
		load_damaged(cut, n + shlen, &p, n % 97 == 0);
		e = elfsym__load_mem(cut, n + shlen);
		named += e && elfsym__lookup(e, p.addrs[0], NULL);
		elfsym__free(e);
		free(cut);
	}
	/* .dynsym is near the start: most cuts still name something. */
	cr_assert_gt(named, 0);
	free(buf);
}

static void put_uint(unsigned char *p, size_t size, uint64_t v)
{
	memcpy(p, &v, size); /* little endian: x86-64 and the fixtures */
}

Test(elfsym, corrupt_section_headers_are_refused_or_survived, .timeout = 240)
{
	static const uint64_t hostile[] = {
		0,	    1,		0x40,	    0xfff,	    0x10000,
		0x7fffffff, 0xffffffff, 1ull << 62, UINT64_MAX - 7, UINT64_MAX,
	};
	/* Offsets of the fields of an Elf64_Shdr, and their sizes. */
	static const struct {
		size_t off, size;
	} fields[] = {
		{ offsetof(Elf64_Shdr, sh_name), 4 },
		{ offsetof(Elf64_Shdr, sh_type), 4 },
		{ offsetof(Elf64_Shdr, sh_flags), 8 },
		{ offsetof(Elf64_Shdr, sh_addr), 8 },
		{ offsetof(Elf64_Shdr, sh_offset), 8 },
		{ offsetof(Elf64_Shdr, sh_size), 8 },
		{ offsetof(Elf64_Shdr, sh_link), 4 },
		{ offsetof(Elf64_Shdr, sh_info), 4 },
		{ offsetof(Elf64_Shdr, sh_entsize), 8 },
	};
	const char *path = FIXTURE("symbols_pie");
	unsigned char *buf, *copy;
	const Elf64_Ehdr *eh;
	struct probe_set p;
	size_t len, i, f, h;
	uint64_t shoff;

	probes_init(&p, path);
	buf = slurp(path, &len);
	eh = (const Elf64_Ehdr *)buf;
	shoff = eh->e_shoff;
	copy = malloc(len);
	cr_assert(copy);
	for (i = 0; i < eh->e_shnum; i++) {
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			for (h = 0; h < sizeof(hostile) / sizeof(hostile[0]);
			     h++) {
				memcpy(copy, buf, len);
				put_uint(copy + shoff + i * sizeof(Elf64_Shdr) +
						 fields[f].off,
					 fields[f].size, hostile[h]);
				load_damaged(copy, len, &p, h % 3 == 0);
			}
		}
	}
	free(copy);
	free(buf);
}

Test(elfsym, absurd_header_counts_are_refused_or_survived)
{
	const char *path = FIXTURE("symbols_pie");
	struct probe_set p;
	unsigned char *buf, *copy;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh0;
	size_t len, i;

	probes_init(&p, path);
	buf = slurp(path, &len);
	copy = malloc(len);
	cr_assert(copy);
	for (i = 0; i < 14; i++) {
		memcpy(copy, buf, len);
		eh = (Elf64_Ehdr *)copy;
		sh0 = (Elf64_Shdr *)(copy + eh->e_shoff);
		switch (i) {
		case 0:
			eh->e_shnum = 0xffff;
			break;
		case 1: /* extended count claiming 2^40 sections */
			eh->e_shnum = 0;
			sh0->sh_size = 1ull << 40;
			break;
		case 2:
			eh->e_shnum = 0;
			sh0->sh_size = UINT64_MAX;
			break;
		case 3:
			eh->e_shoff = UINT64_MAX - 100;
			break;
		case 4: /* extended program header count */
			eh->e_phnum = PN_XNUM;
			sh0->sh_info = 0xffffffff;
			break;
		case 5:
			eh->e_phnum = 0xfffe;
			break;
		case 6:
			eh->e_phoff = UINT64_MAX - 8;
			break;
		case 7: /* extended string table index */
			eh->e_shstrndx = SHN_XINDEX;
			sh0->sh_link = 0xfffffff0;
			break;
		case 8:
			eh->e_shstrndx = eh->e_shnum + 5;
			break;
		case 9:
			eh->e_shentsize = 1;
			break;
		case 10:
			eh->e_phentsize = 3;
			break;
		case 11:
			eh->e_ident[EI_CLASS] = ELFCLASS32;
			break;
		case 12:
			eh->e_ident[EI_DATA] = ELFDATA2MSB;
			break;
		case 13:
			eh->e_ident[EI_CLASS] = 7;
			break;
		}
		load_damaged(copy, len, &p, true);
	}
	free(copy);
	free(buf);
}

/* Points every symbol of .symtab and .dynsym at hostile values. */
Test(elfsym, hostile_symbol_entries_are_skipped)
{
	const char *path = FIXTURE("symbols_pie");
	unsigned char *buf, *copy;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	Elf64_Sym *sym;
	struct probe_set p;
	size_t len, i, j, round;

	probes_init(&p, path);
	buf = slurp(path, &len);
	copy = malloc(len);
	cr_assert(copy);
	for (round = 0; round < 6; round++) {
		memcpy(copy, buf, len);
		eh = (const Elf64_Ehdr *)copy;
		for (i = 0; i < eh->e_shnum; i++) {
			sh = (const Elf64_Shdr *)(copy + eh->e_shoff +
						  i * sizeof(*sh));
			if (sh->sh_type != SHT_SYMTAB &&
			    sh->sh_type != SHT_DYNSYM)
				continue;
			for (j = 0; j < sh->sh_size / sizeof(*sym); j++) {
				sym = (Elf64_Sym *)(copy + sh->sh_offset) + j;
				switch (round) {
				case 0:
					sym->st_name = 0xfffffff0u - j;
					break;
				case 1:
					sym->st_size = UINT64_MAX - j;
					break;
				case 2:
					sym->st_value = UINT64_MAX - j;
					sym->st_size = 0;
					break;
				case 3:
					sym->st_shndx = 0xfff0;
					sym->st_size = 0;
					break;
				case 4:
					sym->st_shndx = (uint16_t)j;
					sym->st_size = 0;
					sym->st_info = ELF64_ST_INFO(STB_GLOBAL,
								     STT_FUNC);
					break;
				case 5:
					sym->st_value = j * 7;
					sym->st_size = j;
					break;
				}
			}
		}
		load_damaged(copy, len, &p, true);
	}
	free(copy);
	free(buf);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

Test(elfsym, random_byte_damage_never_reads_outside_the_file, .timeout = 240)
{
	const char *path = FIXTURE("symbols_nopie");
	unsigned char *buf, *copy;
	const Elf64_Ehdr *eh;
	struct probe_set p;
	uint64_t seed = 0x7467707266ull, r;
	size_t len, it, k, pos, shtab;

	probes_init(&p, path);
	buf = slurp(path, &len);
	eh = (const Elf64_Ehdr *)buf;
	shtab = eh->e_shoff;
	copy = malloc(len);
	cr_assert(copy);
	for (it = 0; it < 3000; it++) {
		memcpy(copy, buf, len);
		for (k = 0; k < 1 + it % 8; k++) {
			r = xorshift(&seed);
			/* Headers are where damage does harm: aim a third
			 * of it at each of them. */
			switch (r % 3) {
			case 0:
				pos = (r >> 8) % sizeof(Elf64_Ehdr);
				break;
			case 1:
				pos = shtab + (r >> 8) % (len - shtab);
				break;
			default:
				pos = (r >> 8) % len;
				break;
			}
			copy[pos] = (unsigned char)(r >> 40);
		}
		load_damaged(copy, len, &p, it % 10 == 0);
	}
	free(copy);
	free(buf);
}

Test(elfsym, garbage_after_the_elf_magic_is_refused_or_survived)
{
	uint64_t seed = 0x676172626167ull;
	unsigned char *buf;
	struct probe_set p = { .n = 0 };
	size_t it, i, len;

	for (it = 0; it < 2000; it++) {
		len = 16 + xorshift(&seed) % 8192;
		buf = malloc(len);
		cr_assert(buf);
		for (i = 0; i < len; i++)
			buf[i] = (unsigned char)xorshift(&seed);
		memcpy(buf, ELFMAG, SELFMAG);
		buf[EI_CLASS] = it % 2 ? ELFCLASS64 : ELFCLASS32;
		buf[EI_DATA] = it % 3 ? ELFDATA2LSB : ELFDATA2MSB;
		buf[EI_VERSION] = EV_CURRENT;
		load_damaged(buf, len, &p, it % 20 == 0);
		free(buf);
	}
}

/* ---- names kept in the file ---- */

/* The index of fixture function @want in @e, through its address. */
static size_t index_of(struct elfsym *e, const char *path, const char *want)
{
	uint64_t vaddr = nm_addr(path, want, false), off;
	int64_t i = elfsym__lookup_index(e, vaddr, &off);

	cr_assert_geq(i, 0, "%s has a symbol", want);
	cr_assert_eq(off, 0);
	return (size_t)i;
}

Test(elfsym, names_are_read_from_the_file_not_held_in_memory)
{
	const char *path = FIXTURE("symbols_nopie");
	struct elfsym *in_file, *in_mem;
	char a[ELFSYM_MAX_NAME], b[ELFSYM_MAX_NAME];
	size_t i, len, names = 0;
	unsigned char *buf;
	ssize_t na, nb;

	in_file = load_path(path);
	buf = slurp(path, &len);
	in_mem = elfsym__load_mem(buf, len);
	cr_assert(in_file && in_mem);
	cr_assert(elfsym__names_in_file(in_file), "a file keeps its names");
	cr_assert_not(elfsym__names_in_file(in_mem), "an image copies them");
	cr_assert_not(elfsym__names_fallback(in_file));
	cr_assert_eq(elfsym__count(in_file), elfsym__count(in_mem));
	cr_assert_gt(elfsym__count(in_file), 4);
	for (i = 0; i < elfsym__count(in_file); i++) {
		na = elfsym__name_copy(in_file, i, a, sizeof(a));
		nb = elfsym__name_copy(in_mem, i, b, sizeof(b));
		cr_assert_gt(na, 0, "symbol %zu read back: %zd", i, na);
		cr_assert_eq(na, nb);
		cr_assert_str_eq(a, b);
		names += (size_t)na + 1;
	}
	i = index_of(in_file, path, "symbols_beta");
	cr_assert_eq(elfsym__name_copy(in_file, i, a, sizeof(a)), 12);
	cr_assert_str_eq(a, "symbols_beta");
	/* The same table but for the names: none of them is in memory. */
	cr_assert_eq(elfsym__memory(in_file) + names, elfsym__memory(in_mem));
	cr_assert_eq(elfsym__name_errors(in_file), 0);
	elfsym__free(in_file);
	elfsym__free(in_mem);
	free(buf);
}

Test(elfsym, file_truncated_after_load_gives_counted_unnamed_symbols)
{
	const char *path = FIXTURE("symbols_nopie");
	char name[ELFSYM_MAX_NAME];
	unsigned char *buf;
	struct elfsym *e;
	size_t len, i, n;
	ssize_t got;
	int fd;

	buf = slurp(path, &len);
	fd = memfd_with(buf, len);
	e = elfsym__load_fd(fd);
	cr_assert(e, "load: %s", strerror(errno));
	i = index_of(e, path, "symbols_alpha");
	cr_assert_str_eq(elfsym__name(e, i), "symbols_alpha");
	/* Cut before the string tables: every name is gone. */
	cr_assert_eq(ftruncate(fd, 64), 0);
	close(fd);
	n = elfsym__count(e);
	for (i = 0; i < n; i++) {
		got = elfsym__name_copy(e, i, name, sizeof(name));
		cr_assert_lt(got, 0, "symbol %zu has no name now", i);
	}
	cr_assert_eq(elfsym__name_errors(e), n, "each failure is counted");
	/* Lookups go on: the names read before stay, the rest are NULL. */
	i = index_of(e, path, "symbols_beta");
	cr_assert_null(elfsym__name(e, i));
	cr_assert_gt(elfsym__name_errors(e), n);
	elfsym__free(e);
	free(buf);
}

Test(elfsym, file_rewritten_in_place_after_load_is_not_trusted)
{
	const char *path = FIXTURE("symbols_nopie");
	char name[ELFSYM_MAX_NAME];
	struct timespec ts[2] = { { 0, 0 }, { 12345, 0 } };
	unsigned char *buf;
	struct elfsym *e;
	size_t len, i;
	int fd;

	buf = slurp(path, &len);
	fd = memfd_with(buf, len);
	e = elfsym__load_fd(fd);
	cr_assert(e);
	i = index_of(e, path, "symbols_alpha");
	/* Same size, another modification time: another file. */
	ts[0].tv_nsec = UTIME_OMIT;
	cr_assert_eq(futimens(fd, ts), 0);
	cr_assert_eq(elfsym__name_copy(e, i, name, sizeof(name)), -ESTALE);
	cr_assert_eq(elfsym__name_errors(e), 1);
	close(fd);
	elfsym__free(e);
	free(buf);
}

Test(elfsym, out_of_descriptors_copies_the_names_and_says_so)
{
	const char *path = FIXTURE("symbols_nopie");
	struct rlimit rl, low;
	int fd, extra[64], nextra = 0, i, k;
	struct elfsym *e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)fd + 32;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Take every descriptor left. */
	while (nextra < 64 &&
	       (extra[nextra] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		nextra++;
	cr_assert_eq(errno, EMFILE, "descriptors exhausted");
	e = elfsym__load_fd(fd);
	for (i = 0; i < nextra; i++)
		close(extra[i]);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert(e, "loads without a descriptor of its own: %s",
		  strerror(errno));
	cr_assert(elfsym__names_fallback(e), "the fallback is reported");
	cr_assert_not(elfsym__names_in_file(e));
	for (k = 0; k < 4; k++)
		cr_assert_str_eq(
			elfsym__name(e, index_of(e, path, fixture_funcs[k])),
			fixture_funcs[k]);
	elfsym__free(e);
	close(fd);
}

/* ---- Go: names from .gopclntab -------------------------------------- */

/* go_spin, built with and without -s -w, has one layout: every function
 * nm finds in the first is named the same in the second, from its
 * .gopclntab alone (assembly functions without the ABI suffix .symtab
 * gives them: runtime.goexit.abi0 is runtime.goexit). */
Test(elfsym, go_binary_without_symtab_is_named_from_gopclntab)
{
	const char *full = FIXTURE("go_spin");
	const char *stripped = FIXTURE("go_spin_stripped");
	char cmd[512], line[1024], want[1024], type;
	size_t funcs = 0, same = 0, len;
	unsigned long long addr;
	int at;
	struct elfsym_debug d;
	struct elfsym *e;
	const char *got;
	uint64_t off;
	FILE *p;

	require_go_fixture(full);
	require_go_fixture(stripped);
	e = load_path(stripped);
	cr_assert(e, "load %s: %s", stripped, strerror(errno));
	elfsym__debug(e, &d);
	cr_assert(!d.has_symtab, "the stripped fixture has no .symtab");
	got = elfsym__lookup(e, nm_addr(full, "main.goSpinLeaf", false) + 3,
			     &off);
	cr_assert_str_eq(got ? got : "(none)", "main.goSpinLeaf");
	cr_assert_eq(off, 3);
	got = elfsym__lookup(e, nm_addr(full, "runtime.goexit.abi0", false),
			     &off);
	cr_assert_str_eq(got ? got : "(none)", "runtime.goexit");

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", full);
	p = popen(cmd, "r");
	cr_assert(p, "popen nm");
	while (fgets(line, sizeof(line), p)) {
		/* Names may hold spaces: the rest of the line. The text's
		 * bounds (runtime.text, runtime.etext) are no functions. */
		if (sscanf(line, "%llx %c %n", &addr, &type, &at) != 2 ||
		    (type != 'T' && type != 't'))
			continue;
		snprintf(want, sizeof(want), "%s", line + at);
		want[strcspn(want, "\n")] = '\0';
		if (!strchr(want, '.') || !strcmp(want, "runtime.text") ||
		    !strcmp(want, "runtime.etext"))
			continue;
		funcs++;
		len = strlen(want);
		if (len > 5 && !strcmp(want + len - 5, ".abi0"))
			want[len - 5] = '\0';
		got = elfsym__lookup(e, addr, &off);
		same += got && off == 0 && !strcmp(got, want);
	}
	pclose(p);
	cr_assert_geq(funcs, 1000, "nm lists %zu Go functions", funcs);
	cr_assert_geq(same * 100, funcs * 99,
		      "%zu of %zu functions named as .symtab names them", same,
		      funcs);
	elfsym__free(e);
}

/* The table's header, function table and function records overwritten
 * with chosen and pseudo-random values: every copy loads or is refused,
 * and names only what the copy holds. */
Test(elfsym, damaged_go_function_tables_are_survived, .timeout = 240)
{
	const char *path = FIXTURE("go_spin_stripped");
	uint64_t off = 0, size = 0, x = 0x9e3779b97f4a7c15ull, at;
	unsigned char *buf, *copy;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh, *shstr;
	struct probe_set p = { .n = 0 };
	size_t len, i, round;

	require_go_fixture(path);
	buf = slurp(path, &len);
	eh = (const Elf64_Ehdr *)buf;
	shstr = (const Elf64_Shdr *)(buf + eh->e_shoff +
				     eh->e_shstrndx * sizeof(*sh));
	for (i = 0; i < eh->e_shnum; i++) {
		sh = (const Elf64_Shdr *)(buf + eh->e_shoff + i * sizeof(*sh));
		if (!strcmp((const char *)buf + shstr->sh_offset + sh->sh_name,
			    ".gopclntab")) {
			off = sh->sh_offset;
			size = sh->sh_size;
		}
	}
	cr_assert(size > 4096, "the fixture has a .gopclntab");
	p.addrs[p.n++] = nm_addr(FIXTURE("go_spin"), "main.goSpinLeaf", false);
	copy = malloc(len);
	cr_assert(copy);
	for (round = 0; round < 400; round++) {
		memcpy(copy, buf, len);
		for (i = 0; i < 8; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			/* Half in the header's words, half anywhere in the
			 * function table and the records after it. */
			at = i % 2 ? off + (x >> 33) % 72 :
				     off + (x >> 33) % size;
			copy[at] = (unsigned char)(x >> 24);
			if (round % 4 == 0)
				memset(copy + off + 8 + (x >> 40) % 8 * 8, 0xff,
				       8);
		}
		load_damaged(copy, len, &p, round % 8 == 0);
	}
	free(copy);
	free(buf);
}
