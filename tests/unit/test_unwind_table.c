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
