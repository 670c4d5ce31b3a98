/* SPDX-License-Identifier: Apache-2.0 */
/* A compiled table (table.h rows) in the kernel's layout (bpf/unwind_maps.h):
 * rows in, the chunks and page-index groups loader.c inserts out, and the
 * lookup the BPF walk makes, in C, so tests check the layout against the
 * table for every address. Pure: no I/O, no BPF. */
#ifndef TGPROF_RECEIVER_UNWIND_LAYOUT_H
#define TGPROF_RECEIVER_UNWIND_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind_maps.h"

struct unwind_layout {
	struct unwind_chunk *chunks; /* chunk i has key index i */
	uint32_t nchunks;
	struct unwind_group *groups; /* group i has key index i */
	uint32_t ngroups;
	uint32_t npages;
	/* Rows written more than once: the row in force at the start of a
	 * page that opens a chunk. */
	uint32_t rows_repeated;
	/* Rows of pages denser than a chunk, left to frame pointers. */
	uint32_t rows_cut;
};

/*
 * Lays out @rows[0..n) (sorted by pc, rows[0].pc == 0, as table.h makes
 * them) covering [0, @extent). Returns 0 and fills *ret (caller frees
 * with unwind_layout__release()), -EINVAL for rows that are not sorted or
 * do not start at 0, -E2BIG for an extent of 4 GiB or more, or -ENOMEM.
 */
int unwind_layout__build(const struct unwind_row *rows, size_t n,
			 uint64_t extent, struct unwind_layout *ret);

/*
 * The dry run of unwind_layout__build(): fills *ret's counts and page index
 * size (groups allocated, zeroed; no chunks) so the kernel bytes are known
 * before a chunk is made. Same errors. Release with unwind_layout__release().
 */
int unwind_layout__count(const struct unwind_row *rows, size_t n,
			 uint64_t extent, struct unwind_layout *ret);

/* Takes chunk @index, complete, borrowed for the call; 0 or -errno. */
typedef int (*unwind_layout_put_fn)(void *ctx, uint32_t index,
				    const struct unwind_chunk *chunk);

/*
 * Lays out the rows @l was counted from, handing each chunk to @put as it
 * is complete, from one chunk of memory instead of all of them (a large
 * library's layout is megabytes), and fills @l's page index. @l->chunks
 * stays NULL. Returns 0, @put's error (chunks before it were put), or
 * -ENOMEM.
 */
int unwind_layout__stream(const struct unwind_row *rows, size_t n,
			  struct unwind_layout *l, unwind_layout_put_fn put,
			  void *ctx);

/* Bytes the kernel allocates for the layout's elements (bpf/unwind_maps.h:
 * a 4 KiB object per chunk, 256 bytes per group). */
uint64_t unwind_layout__kernel_bytes(const struct unwind_layout *l);

/*
 * The row in force at table pc @pc as the BPF walk finds it: the page's
 * index entry, then a binary search of its chunk from there. NULL when
 * @pc is past the pages or an element is missing.
 */
const struct unwind_row *unwind_layout__lookup(const struct unwind_layout *l,
					       uint64_t pc);

/*
 * The second half of that lookup, for a chunk read from wherever it is
 * (the kernel's map): the row in force at @pc in chunk @c, from the slot of
 * page index entry @entry on. NULL when the slot is out of range.
 */
const struct unwind_row *unwind_layout__chunk_row(const struct unwind_chunk *c,
						  uint32_t entry, uint64_t pc);

/* Accepts a zeroed or released layout. */
void unwind_layout__release(struct unwind_layout *l);

#endif
