/* SPDX-License-Identifier: Apache-2.0 */
/* Unwind tables: one ELF file's call-frame information (.eh_frame through
 * .eh_frame_hdr, else .debug_frame, from the file or its separate debug
 * file; for a Go binary with neither, its functions' SP tables) compiled
 * into the sorted struct unwind_row array of bpf/unwind.h that the BPF
 * sampler and the user-space walk (walk.h) unwind with.
 *
 * Addresses. A table covers the file's executable PT_LOAD segments: row
 * pcs are offsets from unwind_table__base(), an ELF virtual address (the
 * lowest executable p_vaddr), up to unwind_table__extent(). For a runtime
 * address A inside an executable mapping [start, end) of the file mapped
 * at file offset pgoff (from /proc/PID/maps), with the PT_LOAD segment S
 * that contains pgoff:
 *
 *     bias  = start - pgoff + S.p_offset - S.p_vaddr   (unwind_table__bias)
 *     vaddr = A - bias                                  (ELF virtual address)
 *     pc    = vaddr - base = A - (bias + base)          (struct unwind_row.pc)
 *
 * so a process's range map can keep one number per mapping, bias + base,
 * the same for PIE, non-PIE (bias 0) and shared libraries. This is the
 * translation receiver/symbols/elfsym.c makes from file offsets.
 *
 * Rows. Row i holds from rows[i].pc up to rows[i + 1].pc, the last one up
 * to the extent; rows[0].pc is 0. Consecutive rows never hold the same
 * rules. Addresses no FDE covers are UNWIND_CFA_NONE rows (frame-pointer
 * fallback). A lookup for a return address (every frame but the first and
 * those a signal interrupted) must use the return address - 1: a call at
 * the end of a function (noreturn) returns past its FDE.
 *
 * Hostile input: every offset, length and pointer read from the file is
 * checked against what was read; a corrupt file gives -EBADMSG or -EINVAL,
 * never a crash, a loop or a read out of bounds. Files are read with
 * pread(), never mapped, so a file truncated under us cannot SIGBUS. */
#ifndef TGPROF_RECEIVER_UNWIND_TABLE_H
#define TGPROF_RECEIVER_UNWIND_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind.h"

/* Rows per table when the caller sets no cap (libLLVM-15: ~1.1M rows). */
#define UNWIND_TABLE_DEFAULT_MAX_ROWS (4u << 20)
/* A CFI section larger than this is refused (-EFBIG) without reading it. */
#define UNWIND_TABLE_MAX_SECTION (256u << 20)
#define UNWIND_TABLE_MAX_BUILD_ID 64

/* Where a table's rows come from. */
enum unwind_table_source {
	UNWIND_SOURCE_EH_FRAME = 1, /* .eh_frame, FDEs through .eh_frame_hdr */
	UNWIND_SOURCE_EH_FRAME_SCAN = 2, /* .eh_frame without a usable hdr */
	UNWIND_SOURCE_DEBUG_FRAME = 3, /* .debug_frame of the file itself */
	UNWIND_SOURCE_DEBUG_FILE = 4, /* .debug_frame of the debug file */
	/* a Go binary without CFI: its functions' SP tables (.gopclntab) */
	UNWIND_SOURCE_GOPCLNTAB = 5,
};

struct unwind_table_opts {
	size_t sz; /* sizeof(struct unwind_table_opts): how the struct grows */
	/* Rows kept at most; 0: UNWIND_TABLE_DEFAULT_MAX_ROWS. Past the
	 * cap the table ends with one UNWIND_CFA_NONE row (frame pointers)
	 * and stats.rows_cut counts what was left out. */
	uint32_t max_rows;
	uint32_t reserved;
};

/* What a compile found; every skip and loss is counted here. */
struct unwind_table_stats {
	enum unwind_table_source source;
	uint32_t fdes; /* FDEs that gave rows */
	/* FDEs left out: empty, outside the executable segments (code
	 * dropped by the linker), or hidden by an overlapping FDE. */
	uint32_t fdes_skipped;
	/* FDEs or CIEs whose instructions or encodings could not be read:
	 * their range is UNWIND_CFA_NONE. */
	uint32_t fdes_corrupt;
	uint32_t rows; /* rows in the table */
	uint32_t rows_none; /* gaps without CFI: frame pointers */
	uint32_t rows_unsupported; /* rules the row format cannot hold */
	uint32_t rows_plt;
	uint32_t rows_signal;
	uint32_t rows_end;
	uint64_t rows_cut; /* rows dropped past opts.max_rows */
	uint64_t bytes_none; /* text bytes without CFI */
	uint64_t bytes_unsupported; /* text bytes with unsupported rules */
	/* Go functions whose rows came from their SP tables (.gopclntab):
	 * a Go binary without CFI, or the Go code of one whose .eh_frame
	 * covers only its C code. */
	uint32_t go_functions;
};

struct unwind_table;

/*
 * Compiles the CFI of the x86-64 ELF file open at @fd (read with pread, not
 * kept, not closed). .eh_frame is used when the file has one; else
 * .debug_frame, from the file or, when @debug_fd >= 0, from that separate
 * debug file (found by receiver/symbols/debuginfo.h; compressed sections
 * are inflated); with no CFI at all, a Go binary's .gopclntab
 * (receiver/runtimes/go/pclntab.h). The executable segments always come
 * from @fd. @opts may be NULL.
 * Returns 0 and *ret (caller frees with unwind_table__free()), or:
 * -ENOEXEC not an x86-64 ELF file or no executable segment, -ENODATA no
 * CFI at all (unwind with frame pointers), -EBADMSG / -EINVAL corrupt CFI
 * or headers, -EFBIG a section over UNWIND_TABLE_MAX_SECTION or text over
 * 4 GiB, -ENOMEM, or the read error.
 */
int unwind_table__compile_fd(int fd, int debug_fd,
			     const struct unwind_table_opts *opts,
			     struct unwind_table **ret);

/* Same, from an in-memory image (the [vdso]); @buf is borrowed for the
 * call only. */
int unwind_table__compile_mem(const void *buf, size_t len,
			      const struct unwind_table_opts *opts,
			      struct unwind_table **ret);

/* The rows (borrowed from @t, sorted by pc) and their count. */
const struct unwind_row *unwind_table__rows(const struct unwind_table *t,
					    size_t *ret_n);

/* The ELF virtual address row pc 0 stands for. */
uint64_t unwind_table__base(const struct unwind_table *t);

/* Bytes covered from the base: row pcs are below it. */
uint64_t unwind_table__extent(const struct unwind_table *t);

/*
 * The row for ELF virtual address @vaddr (binary search), borrowed from
 * @t; NULL outside [base, base + extent).
 */
const struct unwind_row *unwind_table__lookup(const struct unwind_table *t,
					      uint64_t vaddr);

/*
 * The load bias of a mapping of this file that starts at @map_start at
 * file offset @map_pgoff (runtime address = vaddr + bias), through the
 * PT_LOAD segment holding @map_pgoff. 0 and *ret_bias, or -ENOENT when no
 * segment holds that offset.
 */
int unwind_table__bias(const struct unwind_table *t, uint64_t map_start,
		       uint64_t map_pgoff, uint64_t *ret_bias);

/* The file's GNU build-id (borrowed; *ret_len 0 when it has none): the key
 * a table is shared under by every process mapping the file. */
const uint8_t *unwind_table__build_id(const struct unwind_table *t,
				      size_t *ret_len);

void unwind_table__stats(const struct unwind_table *t,
			 struct unwind_table_stats *ret);

/* Bytes the table holds in memory (rows and bookkeeping). */
size_t unwind_table__memory(const struct unwind_table *t);

/* Accepts NULL. */
void unwind_table__free(struct unwind_table *t);

#endif
