// SPDX-License-Identifier: Apache-2.0
/* Tests of the table compiler (receiver/unwind/table.c): every address of
 * real libraries' text gets the rules libdw's own CFI reader gives, and
 * corrupt or truncated files are refused without a crash. */
#include <criterion/criterion.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "go_fixture.h"
#include "receiver/unwind/table.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name
#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

static struct unwind_table *compile_path(const char *path, const char *dbg,
					 int *ret_err)
{
	struct unwind_table *t = NULL;
	int fd, dfd = -1, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	if (dbg) {
		dfd = open(dbg, O_RDONLY | O_CLOEXEC);
		cr_assert(dfd >= 0, "open %s: %s", dbg, strerror(errno));
	}
	err = unwind_table__compile_fd(fd, dfd, NULL, &t);
	close(fd);
	if (dfd >= 0)
		close(dfd);
	if (ret_err)
		*ret_err = err;
	else
		cr_assert_eq(err, 0, "compile %s: %s", path, strerror(-err));
	return t;
}

/* What libdw says about one address, in the row format's terms. */
static struct unwind_row libdw_row(Dwarf_Frame *fr)
{
	struct unwind_row r = { 0 };
	Dwarf_Op mem[3], *ops;
	size_t nops;
	bool signal;
	Dwarf_Addr s, e;

	cr_assert_eq(dwarf_frame_info(fr, &s, &e, &signal), 16);
	if (signal) {
		r.cfa_type = UNWIND_CFA_SIGNAL;
		return r;
	}
	cr_assert_eq(dwarf_frame_register(fr, 16, mem, &ops, &nops), 0);
	if (nops == 0 && ops == mem) {
		r.cfa_type =
			UNWIND_CFA_END; /* the return address is undefined */
		return r;
	}
	/* The return address at CFA - 8. */
	if (!(nops == 2 && ops[0].atom == DW_OP_call_frame_cfa &&
	      ops[1].atom == DW_OP_plus_uconst &&
	      (int64_t)ops[1].number == -8)) {
		r.cfa_type = UNWIND_CFA_UNSUPPORTED;
		return r;
	}
	cr_assert_eq(dwarf_frame_cfa(fr, &ops, &nops), 0);
	/* libdw writes register + offset as DW_OP_bregx reg, offset. */
	if (nops == 1 && ops[0].atom == DW_OP_bregx &&
	    (ops[0].number == 7 || ops[0].number == 6)) {
		r.cfa_type = ops[0].number == 7 ? UNWIND_CFA_RSP :
						  UNWIND_CFA_RBP;
		r.cfa_offset = (int32_t)ops[0].number2;
	} else if (nops == 9 && ops[0].atom == DW_OP_breg7 &&
		   ops[1].atom == DW_OP_breg16 && ops[1].number == 0 &&
		   ops[2].atom == DW_OP_lit15 && ops[3].atom == DW_OP_and &&
		   ops[4].atom >= DW_OP_lit0 && ops[4].atom <= DW_OP_lit31 &&
		   ops[5].atom == DW_OP_ge && ops[6].atom == DW_OP_lit3 &&
		   ops[7].atom == DW_OP_shl && ops[8].atom == DW_OP_plus) {
		r.cfa_type = UNWIND_CFA_PLT;
		r.cfa_offset = (int32_t)ops[0].number;
		r.rbp_offset = (int16_t)(ops[4].atom - DW_OP_lit0);
		return r;
	} else {
		r.cfa_type = UNWIND_CFA_UNSUPPORTED;
		return r;
	}
	cr_assert_eq(dwarf_frame_register(fr, 6, mem, &ops, &nops), 0);
	if (nops == 0) {
		r.rbp_type = UNWIND_RBP_SAME; /* same value or undefined */
	} else if (nops == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
		r.rbp_type = UNWIND_RBP_AT_CFA;
	} else if (nops == 2 && ops[0].atom == DW_OP_call_frame_cfa &&
		   ops[1].atom == DW_OP_plus_uconst) {
		r.rbp_type = UNWIND_RBP_AT_CFA;
		r.rbp_offset = (int16_t)(int64_t)ops[1].number;
	} else {
		memset(&r, 0, sizeof(r));
		r.cfa_type = UNWIND_CFA_UNSUPPORTED;
	}
	return r;
}

static bool rules_eq(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->cfa_type == b->cfa_type && a->cfa_offset == b->cfa_offset &&
	       a->rbp_type == b->rbp_type && a->rbp_offset == b->rbp_offset;
}

/*
 * Walks every address of @path's executable segments: where libdw has a
 * frame, every compiled row inside the frame's range must carry its rules;
 * where it has none, the row must be UNWIND_CFA_NONE. Returns how many
 * addresses were checked.
 */
static uint64_t check_against_libdw(const char *path)
{
	uint64_t addr, end, lo, hi, checked = 0, frames = 0;
	const struct unwind_row *row, *rows;
	struct unwind_row want;
	struct unwind_table *t;
	Dwarf_Addr fs, fe;
	Dwarf_Frame *fr;
	Dwarf_CFI *cfi;
	GElf_Phdr ph;
	size_t n, i, k, phnum;
	bool signal;
	Elf *elf;
	int fd;

	t = compile_path(path, NULL, NULL);
	rows = unwind_table__rows(t, &n);
	cr_assert_gt(n, 1000, "%s has %zu rows", path, n);
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	cr_assert(elf);
	cfi = dwarf_getcfi_elf(elf);
	cr_assert(cfi, "libdw reads the CFI of %s", path);
	cr_assert_eq(elf_getphdrnum(elf, &phnum), 0);
	for (i = 0; i < phnum; i++) {
		cr_assert(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		lo = ph.p_vaddr;
		hi = ph.p_vaddr + ph.p_memsz;
		for (addr = lo; addr < hi; addr = end) {
			if (dwarf_cfi_addrframe(cfi, addr, &fr) != 0) {
				row = unwind_table__lookup(t, addr);
				cr_assert(row, "%s: a row for %#lx", path,
					  addr);
				cr_assert_eq(
					row->cfa_type, UNWIND_CFA_NONE,
					"%s %#lx: libdw has no CFI, the row "
					"says %u",
					path, addr, row->cfa_type);
				end = addr + 1;
				checked++;
				continue;
			}
			/* It returns the return address column. */
			cr_assert_eq(dwarf_frame_info(fr, &fs, &fe, &signal),
				     16);
			want = libdw_row(fr);
			free(fr);
			frames++;
			cr_assert(fs <= addr && fe > addr);
			end = fe < hi ? fe : hi;
			/* Every row that starts inside [addr, end), and the
			 * one holding addr. */
			row = unwind_table__lookup(t, addr);
			cr_assert(row, "%s: a row for %#lx", path, addr);
			for (k = (size_t)(row - rows); k < n; k++) {
				if (k != (size_t)(row - rows) &&
				    rows[k].pc + unwind_table__base(t) >= end)
					break;
				cr_assert(rules_eq(&rows[k], &want),
					  "%s %#lx: row at %#lx says cfa %u%+d "
					  "rbp %u%+d, libdw cfa %u%+d rbp "
					  "%u%+d",
					  path, addr,
					  rows[k].pc + unwind_table__base(t),
					  rows[k].cfa_type, rows[k].cfa_offset,
					  rows[k].rbp_type, rows[k].rbp_offset,
					  want.cfa_type, want.cfa_offset,
					  want.rbp_type, want.rbp_offset);
			}
			checked += end - addr;
		}
	}
	cr_assert_gt(frames, 1000);
	dwarf_cfi_end(cfi);
	elf_end(elf);
	close(fd);
	unwind_table__free(t);
	return checked;
}

Test(unwind_table, every_libc_text_address_matches_libdw)
{
	cr_assert_gt(check_against_libdw(LIBC), 1u << 20);
}

Test(unwind_table, every_libstdcxx_text_address_matches_libdw)
{
	cr_assert_gt(check_against_libdw(LIBSTDCXX), 1u << 20);
}

/* ---- where a file keeps its CFI ----------------------------------- */

/* The address nm reports for @sym in @path. */
static uint64_t nm_addr(const char *path, const char *sym)
{
	char cmd[512], line[512], name[256], type;
	unsigned long long addr, found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", path);
	p = popen(cmd, "r");
	cr_assert(p, "popen nm");
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    strcmp(name, sym) == 0)
			found = addr;
	pclose(p);
	cr_assert(found, "nm finds %s in %s", sym, path);
	return found;
}

/* At a function's first instruction the CFA is RSP + 8, RBP untouched;
 * one byte in, unwind_cfi_calls has pushed a register. */
static void assert_entry_rows(const struct unwind_table *t, uint64_t leaf,
			      uint64_t calls)
{
	const struct unwind_row *r;

	r = unwind_table__lookup(t, leaf);
	cr_assert(r);
	cr_assert_eq(r->cfa_type, UNWIND_CFA_RSP);
	cr_assert_eq(r->cfa_offset, 8);
	r = unwind_table__lookup(t, calls);
	cr_assert(r);
	cr_assert_eq(r->cfa_type, UNWIND_CFA_RSP);
	cr_assert_eq(r->cfa_offset, 8);
	r = unwind_table__lookup(t, calls + 1);
	cr_assert(r);
	cr_assert_eq(r->cfa_type, UNWIND_CFA_RSP);
	cr_assert_eq(r->cfa_offset, 16);
}

Test(unwind_table, eh_frame_library_compiles_through_its_hdr)
{
	const char *lib = FIXTURE("libunwind_cfi_eh.so");
	struct unwind_table_stats st;
	struct unwind_table *t = compile_path(lib, NULL, NULL);

	unwind_table__stats(t, &st);
	cr_assert_eq(st.source, UNWIND_SOURCE_EH_FRAME);
	cr_assert_eq(st.rows_plt, 1, "the PLT stubs' expression");
	cr_assert_eq(st.fdes_corrupt, 0);
	assert_entry_rows(t, nm_addr(lib, "unwind_cfi_leaf"),
			  nm_addr(lib, "unwind_cfi_calls"));
	unwind_table__free(t);
}

Test(unwind_table, debug_frame_only_library_compiles_from_debug_frame)
{
	const char *lib = FIXTURE("libunwind_cfi_dbg.so");
	struct unwind_table_stats st;
	struct unwind_table *t = compile_path(lib, NULL, NULL);

	unwind_table__stats(t, &st);
	cr_assert_eq(st.source, UNWIND_SOURCE_DEBUG_FRAME);
	assert_entry_rows(t, nm_addr(lib, "unwind_cfi_leaf"),
			  nm_addr(lib, "unwind_cfi_calls"));
	unwind_table__free(t);
}

Test(unwind_table, stripped_library_finds_its_cfi_in_the_compressed_debug_file)
{
	const char *lib = FIXTURE("libunwind_cfi_split.so");
	const char *dbg = FIXTURE("libunwind_cfi_split.debug");
	const char *unsplit = FIXTURE("libunwind_cfi_dbg.so");
	struct unwind_table_stats st;
	struct unwind_table *t;
	int err;

	t = compile_path(lib, NULL, &err);
	cr_assert_eq(err, -ENODATA, "no CFI in the stripped file: %d", err);
	cr_assert_null(t);
	t = compile_path(lib, dbg, NULL);
	unwind_table__stats(t, &st);
	cr_assert_eq(st.source, UNWIND_SOURCE_DEBUG_FILE);
	assert_entry_rows(t, nm_addr(unsplit, "unwind_cfi_leaf"),
			  nm_addr(unsplit, "unwind_cfi_calls"));
	unwind_table__free(t);
}

/* ---- the table's shape -------------------------------------------- */

Test(unwind_table, rows_are_sorted_merged_and_cover_the_text)
{
	const struct unwind_row *rows;
	struct unwind_table *t = compile_path(LIBC, NULL, NULL);
	struct unwind_table_stats st;
	size_t n, i;

	rows = unwind_table__rows(t, &n);
	unwind_table__stats(t, &st);
	cr_assert_eq(rows[0].pc, 0);
	for (i = 1; i < n; i++) {
		cr_assert_lt(rows[i - 1].pc, rows[i].pc, "row %zu sorted", i);
		cr_assert(!rules_eq(&rows[i - 1], &rows[i]),
			  "rows %zu and %zu merged", i - 1, i);
	}
	cr_assert_lt(rows[n - 1].pc, unwind_table__extent(t));
	cr_assert_eq(st.rows, n);
	cr_assert_eq(st.rows_signal, 1, "__restore_rt");
	cr_assert_geq(st.rows_end, 1, "_start-like outermost frames");
	cr_assert_eq(st.rows_cut, 0);
	cr_assert_null(unwind_table__lookup(t, unwind_table__base(t) - 1));
	cr_assert_null(unwind_table__lookup(
		t, unwind_table__base(t) + unwind_table__extent(t)));
	unwind_table__free(t);
}

Test(unwind_table, row_cap_cuts_the_table_and_counts_the_rest)
{
	struct unwind_table_opts opts = { .sz = sizeof(opts),
					  .max_rows = 1000 };
	struct unwind_table_stats st, full;
	const struct unwind_row *rows;
	struct unwind_table *t = NULL, *all;
	size_t n;
	int fd;

	all = compile_path(LIBC, NULL, NULL);
	unwind_table__stats(all, &full);
	fd = open(LIBC, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(unwind_table__compile_fd(fd, -1, &opts, &t), 0);
	close(fd);
	rows = unwind_table__rows(t, &n);
	unwind_table__stats(t, &st);
	cr_assert_eq(n, 1000);
	cr_assert_eq(rows[n - 1].cfa_type, UNWIND_CFA_NONE,
		     "past the cap: frame pointers");
	cr_assert_eq(st.rows_cut + n - 1, full.rows, "cut %lu of %u",
		     (unsigned long)st.rows_cut, full.rows);
	unwind_table__free(t);
	unwind_table__free(all);
}

Test(unwind_table, load_bias_comes_from_the_mapping_and_its_segment)
{
	struct unwind_table *t = compile_path(LIBC, NULL, NULL);
	uint64_t bias;

	/* Debian's libc: r-xp at file offset 0x26000, vaddr 0x26000. */
	cr_assert_eq(unwind_table__bias(t, 0x7f0000026000ull, 0x26000, &bias),
		     0);
	cr_assert_eq(bias, 0x7f0000000000ull);
	cr_assert_eq(unwind_table__base(t), 0x26000);
	cr_assert_eq(unwind_table__bias(t, 0x7f0000026000ull, 1ull << 40,
					&bias),
		     -ENOENT);
	unwind_table__free(t);
}

/* ---- bad input ---------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	cr_assert(buf);
	cr_assert_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

static bool refusal_ok(int err)
{
	return err == 0 || err == -EBADMSG || err == -EINVAL ||
	       err == -ENODATA || err == -ENOEXEC || err == -EFBIG ||
	       err == -EOPNOTSUPP;
}

static void compile_mem_ok(const uint8_t *buf, size_t len, const char *what,
			   size_t at)
{
	struct unwind_table *t = NULL;
	int err;

	err = unwind_table__compile_mem(buf, len, NULL, &t);
	cr_assert(refusal_ok(err), "%s at %zu: %d", what, at, err);
	cr_assert(err == 0 || !t);
	unwind_table__free(t);
}

Test(unwind_table, truncated_files_are_refused_cleanly)
{
	size_t len, cut;
	uint8_t *buf = read_file(FIXTURE("libunwind_cfi_eh.so"), &len);

	for (cut = 0; cut < len; cut += cut < 0x4000 ? 7 : 997)
		compile_mem_ok(buf, cut, "truncated", cut);
	free(buf);
}

Test(unwind_table, every_corrupt_cfi_byte_is_survived)
{
	const uint8_t vals[] = { 0x00, 0xff, 0x7f, 0x80, 0x0c, 0x2f };
	size_t len, off, v, lo, hi;
	uint8_t *buf = read_file(FIXTURE("libunwind_cfi_eh.so"), &len);
	uint8_t *copy = malloc(len);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	const Elf64_Shdr *sh;
	const char *names;
	unsigned int i;

	cr_assert(copy);
	/* Every byte of .eh_frame_hdr and .eh_frame, and of the headers. */
	sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
	names = (const char *)buf + sh[eh->e_shstrndx].sh_offset;
	lo = len;
	hi = 0;
	for (i = 1; i < eh->e_shnum; i++) {
		if (strncmp(names + sh[i].sh_name, ".eh_frame", 9) != 0)
			continue;
		if (sh[i].sh_offset < lo)
			lo = sh[i].sh_offset;
		if (sh[i].sh_offset + sh[i].sh_size > hi)
			hi = sh[i].sh_offset + sh[i].sh_size;
	}
	cr_assert_lt(lo, hi);
	for (off = 0; off < len; off++) {
		if (off >= 0x400 && (off < lo || off >= hi) &&
		    off < eh->e_shoff)
			continue;
		for (v = 0; v < sizeof(vals); v++) {
			memcpy(copy, buf, len);
			copy[off] = vals[v];
			compile_mem_ok(copy, len, "flipped", off);
		}
	}
	free(copy);
	free(buf);
}

Test(unwind_table, not_elf_and_other_machines_are_not_executable)
{
	static const uint8_t text[] = "#!/bin/sh\necho not elf\n";
	struct unwind_table *t = NULL;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(unwind_table__compile_mem(text, sizeof(text), NULL, &t),
		     -ENOEXEC);
	buf = read_file(FIXTURE("libunwind_cfi_eh.so"), &len);
	((Elf64_Ehdr *)buf)->e_machine = EM_AARCH64;
	cr_assert_eq(unwind_table__compile_mem(buf, len, NULL, &t), -ENOEXEC);
	cr_assert_null(t);
	free(buf);
}

Test(unwind_table, vdso_image_compiles_from_memory)
{
	unsigned long lo = 0, hi = 0, a, b;
	struct unwind_table *t = NULL;
	char line[512];
	size_t n;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") &&
		    sscanf(line, "%lx-%lx", &a, &b) == 2) {
			lo = a;
			hi = b;
		}
	fclose(f);
	cr_assert(lo && hi > lo, "this process has a [vdso]");
	cr_assert_eq(unwind_table__compile_mem((const void *)lo, hi - lo, NULL,
					       &t),
		     0);
	unwind_table__rows(t, &n);
	cr_assert_gt(n, 1);
	unwind_table__free(t);
}

/* Compiles @full (with .debug_frame) and @stripped (-s -w, the same
 * layout): wherever the first has a rule from the Go linker's CFI, the
 * second's, from the SP tables of .gopclntab, is the same, but where it
 * ends the stack instead (the outermost functions) or stops the walk (the
 * stack-switching ones, in both tables). Returns the stripped table's
 * statistics. */
static struct unwind_table_stats compare_go(const char *full,
					    const char *stripped)
{
	uint64_t a, base, extent, same = 0, sp = 0, ends = 0;
	const struct unwind_row *x, *y;
	struct unwind_table_stats st;
	struct unwind_table *tf, *ts;

	require_go_fixture(full);
	require_go_fixture(stripped);
	tf = compile_path(full, NULL, NULL);
	ts = compile_path(stripped, NULL, NULL);
	unwind_table__stats(tf, &st);
	cr_assert_eq(st.go_functions, 0, "%s: CFI only", full);
	/* Its CFI says nothing of switched stacks: the Go table does. */
	y = unwind_table__lookup(tf, nm_addr(full, "runtime.nanotime1.abi0"));
	cr_assert_eq(y->cfa_type, UNWIND_CFA_UNSUPPORTED);
	base = unwind_table__base(ts);
	extent = unwind_table__extent(ts);
	cr_assert_eq(base, unwind_table__base(tf));
	for (a = base; a < base + extent; a++) {
		y = unwind_table__lookup(ts, a);
		x = unwind_table__lookup(tf, a);
		cr_assert(x && y);
		if (y->cfa_type == UNWIND_CFA_END) {
			ends++;
			continue;
		}
		/* Where .debug_frame has a rule: not a function's
		 * padding, which the function table gives its last. */
		if (y->cfa_type != UNWIND_CFA_RSP ||
		    x->cfa_type != UNWIND_CFA_RSP)
			continue;
		sp++;
		same += rules_eq(x, y);
	}
	cr_assert_gt(sp, extent / 2);
	cr_assert_geq(same * 1000, sp * 999,
		      "%s: %llu of %llu addresses as .debug_frame has them",
		      stripped, (unsigned long long)same,
		      (unsigned long long)sp);
	cr_assert_gt(ends, 0);
	y = unwind_table__lookup(ts, nm_addr(full, "runtime.goexit.abi0"));
	cr_assert_eq(y->cfa_type, UNWIND_CFA_END);
	unwind_table__stats(ts, &st);
	cr_assert_geq(st.go_functions, 1000, "%u Go functions",
		      st.go_functions);
	unwind_table__free(tf);
	unwind_table__free(ts);
	return st;
}

/* go_spin built with -s -w has no CFI at all: every row comes from its
 * function table. */
Test(unwind_table, stripped_go_binary_unwinds_from_its_function_table)
{
	struct unwind_table_stats st;

	st = compare_go(FIXTURE("go_spin"), FIXTURE("go_spin_stripped"));
	cr_assert_eq(st.source, UNWIND_SOURCE_GOPCLNTAB);
	cr_assert_eq(st.fdes, st.go_functions);
}

/* With cgo, stripped: .eh_frame for the C code, the function table for
 * the Go code. */
Test(unwind_table, stripped_cgo_binary_unwinds_its_go_code_from_its_table)
{
	struct unwind_table_stats st;

	st = compare_go(FIXTURE("go_spin_cgo"),
			FIXTURE("go_spin_cgo_stripped"));
	cr_assert_eq(st.source, UNWIND_SOURCE_EH_FRAME);
	cr_assert_gt(st.fdes, 0, "the C code's FDEs");
}

/* Pseudo-random bytes over the function table: compiled or refused,
 * never a crash or a read out of bounds. */
Test(unwind_table, damaged_go_function_tables_are_survived, .timeout = 240)
{
	const char *path = FIXTURE("go_spin_stripped");
	uint64_t off = 0, size = 0, x = 0x2545f4914f6cdd1dull;
	const Elf64_Shdr *sh, *shstr;
	const Elf64_Ehdr *eh;
	uint8_t *buf, *copy;
	size_t len, i, round;

	require_go_fixture(path);
	buf = read_file(path, &len);
	eh = (const Elf64_Ehdr *)buf;
	shstr = (const Elf64_Shdr *)(buf + eh->e_shoff +
				     eh->e_shstrndx * sizeof(*sh));
	for (i = 1; i < eh->e_shnum; i++) {
		sh = (const Elf64_Shdr *)(buf + eh->e_shoff + i * sizeof(*sh));
		if (!strcmp((const char *)buf + shstr->sh_offset + sh->sh_name,
			    ".gopclntab")) {
			off = sh->sh_offset;
			size = sh->sh_size;
		}
	}
	cr_assert_gt(size, 4096);
	copy = malloc(len);
	cr_assert(copy);
	for (round = 0; round < 300; round++) {
		memcpy(copy, buf, len);
		for (i = 0; i < 16; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* The header's words, or anywhere in the table. */
			copy[off + (i % 4 ? x % size : x % 72)] =
				(uint8_t)(x >> 32);
		}
		compile_mem_ok(copy, len, "damaged .gopclntab", round);
	}
	free(copy);
	free(buf);
}
