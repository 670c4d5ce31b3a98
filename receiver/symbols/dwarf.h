/* SPDX-License-Identifier: Apache-2.0 */
/* Source lines and inlined frames of one ELF file's DWARF, read with libdw:
 * for an address, the file and line, and the chain of functions inlined
 * there, innermost first. A compile unit is indexed on its first lookup
 * into one sorted address map (lines and inlined scopes merged); a lookup
 * then makes no libdw call and reads a few cache lines. Where the last
 * DWARF_CACHE_SLOTS addresses fell in their map is remembered.
 *
 * Hostile input: the DWARF sections are read into memory up front (never
 * mapped: a file truncated under us must not raise SIGBUS) only when their
 * size fits the caller's budget, and so must the indexes; the walks
 * through the DIE tree are iterative, their depth and the DIEs they visit
 * are bounded. */
#ifndef TGPROF_RECEIVER_DWARF_H
#define TGPROF_RECEIVER_DWARF_H

#include <stddef.h>
#include <stdint.h>

#define DWARF_MAX_FRAMES 16 /* inline chain + the containing function */
#define DWARF_MAX_DEPTH 64 /* DIE nesting the walk descends */
#define DWARF_MAX_DIES 65536 /* DIEs a lookup walks in an unindexed unit */
#define DWARF_CACHE_SLOTS 2048 /* addresses remembered per file */

struct dwarf_file;

/* One frame; strings are borrowed from the struct dwarf_file. */
struct dwarf_frame {
	/* Linkage (mangled) name when DWARF has one, else the plain name;
	 * NULL unknown. */
	const char *name;
	const char *file; /* NULL unknown */
	uint32_t line; /* 0 unknown */
};

/*
 * Reads the DWARF of the ELF file open at @fd (not kept: everything is
 * read now). Refuses, with errno EFBIG, DWARF whose sections exceed
 * @max_bytes. Returns the reader (caller frees with dwarf__free()) or NULL
 * + errno: ENODATA no DWARF, ENOEXEC not ELF, ENOMEM.
 */
struct dwarf_file *dwarf__open_fd(int fd, size_t max_bytes);

/*
 * Fills out[0..n) for ELF virtual address @vaddr, innermost first: each
 * inlined function (file and line inside it), then the function they were
 * inlined into (file and line of the outermost call site, or of @vaddr
 * when nothing was inlined). Returns n, 0 when DWARF does not cover
 * @vaddr. With more frames than @max, the innermost ones are dropped.
 */
size_t dwarf__lookup(struct dwarf_file *d, uint64_t vaddr,
		     struct dwarf_frame *out, size_t max);

/* Bytes held (an estimate for libdw's share: its sections and indexes). */
size_t dwarf__memory(const struct dwarf_file *d);

struct dwarf_stats {
	uint64_t lookups;
	uint64_t cache_hits;
	uint64_t walk_limited; /* lookups that hit DWARF_MAX_DIES/DEPTH */
};

void dwarf__stats(const struct dwarf_file *d, struct dwarf_stats *ret);

/* Accepts NULL. */
void dwarf__free(struct dwarf_file *d);

#endif
