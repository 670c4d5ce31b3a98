/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How compiled unwind tables (bpf/unwind.h rows) sit in the sampler's BPF
 * maps: receiver/unwind/loader.c writes them, bpf/sampler.bpf.c walks stacks
 * with them, and the loader reads them back to finish a walk in user space.
 * Shared by kernel and user space: __u32/__u64 and fixed-size arrays only.
 *
 * Every map is a BPF_F_NO_PREALLOC hash: its memory follows what is loaded
 * (the kernel allocates an element when it is inserted and charges it to
 * tgprof's memory cgroup). A hash element costs 64 bytes besides its value
 * (struct htab_elem 48, the key rounded to 8, the allocator's 8-byte link)
 * and comes from a kmalloc size class, so every value below is sized to
 * fill its class: 4032 + 64 = 4096, 192 + 64 = 256, 432 + 64 = 496 (512).
 */
#ifndef TGPROF_BPF_UNWIND_MAPS_H
#define TGPROF_BPF_UNWIND_MAPS_H

#include "unwind.h"

/*
 * One file's rows, packed page by page into chunks: the rows a 2 KiB page
 * of the table (pc >> UNWIND_PAGE_SHIFT) needs, from the one in force at
 * the page's first byte to the last that starts in it, always sit in one
 * chunk, sorted by pc. A page whose rows do not fit in what is left of a
 * chunk starts the next one (repeating the row in force at its start), and
 * unused slots hold UNWIND_ROW_UNUSED rows. So a lookup reads one index
 * entry and one chunk and binary-searches from the page's first row to the
 * chunk's end: rows of later pages and unused rows all start above the pc.
 * A page with more rows than a chunk keeps its first UNWIND_CHUNK_ROWS - 1
 * and a frame-pointer row after them (counted by the loader).
 */
#define UNWIND_CHUNK_ROWS 336 /* 336 * 12 = 4032 bytes */
#define UNWIND_ROW_UNUSED 0xffffffffu /* the pc of an unused slot */

struct unwind_chunk {
	struct unwind_row rows[UNWIND_CHUNK_ROWS];
};

/*
 * The page index: for every page of a file's table, where its rows start,
 * as chunk << UNWIND_SLOT_BITS | slot. UNWIND_GROUP_PAGES entries make one
 * element (96 KiB of code). Pages are 2 KiB: the densest 4 KiB of code in
 * Debian's libraries holds up to 444 rows (libLLVM), more than a chunk;
 * the densest 2 KiB fits.
 */
#define UNWIND_PAGE_SHIFT 11
#define UNWIND_GROUP_PAGES 48
#define UNWIND_SLOT_BITS 9

struct unwind_group {
	__u32 page[UNWIND_GROUP_PAGES];
};

/* Chunks and groups of a file: file id and the chunk or group number. */
struct unwind_chunk_key {
	__u32 file_id;
	__u32 index;
};

enum unwind_file_state {
	/* Rows and page index are in the maps. */
	UNWIND_FILE_LOADED = 1,
	/* No table in the kernel (no CFI, unreadable, evicted, or over the
	 * memory bound): its frames are walked with the frame pointer. */
	UNWIND_FILE_NO_TABLE = 2,
};

/* unwind_files: file id -> state. A file id missing from the map is one
 * whose table is being prepared: the walk stops there and copies the
 * stack for user space to finish. Ids are never reused. */
struct unwind_file {
	__u32 state; /* enum unwind_file_state */
	__u32 nrows;
	__u64 extent; /* row pcs are below it; 0 unless LOADED */
};

/*
 * One executable mapping of a process: addresses [start, start + len) are
 * table pc (addr - base) of file_id. base is the mapping's load bias plus
 * the table's base (receiver/unwind/table.h). file_id 0: no table
 * (anonymous code, a file without CFI): frame pointers. An address in no
 * range stops the walk (UNWIND_STOP_NO_MAPPING).
 */
struct unwind_range {
	__u64 start;
	__u64 base;
	__u32 len;
	__u32 file_id;
};

/*
 * unwind_procs_small / unwind_procs_large: TGID -> the process's ranges,
 * sorted by start. A process with up to UNWIND_PROC_SMALL ranges is in
 * the small map (512-byte elements), others in the large one (4 KiB);
 * beyond UNWIND_PROC_LARGE the rest is walked with frame pointers,
 * counted. start_ns and aspace_id must match the sampled task: a reused
 * PID or an exec not yet handled finds no ranges.
 */
#define UNWIND_PROC_SMALL 17
#define UNWIND_PROC_LARGE 167

enum unwind_proc_flags {
	/* Its mappings could not be read: walk it with frame pointers. */
	UNWIND_PROC_FP_ONLY = 1 << 0,
};

struct unwind_proc_hdr {
	__u64 start_ns; /* the leader's start_boottime */
	__u64 aspace_id; /* tgprof_aspace_id() of the image; 0: any */
	__u32 n;
	__u32 flags; /* enum unwind_proc_flags */
};

struct unwind_proc_small {
	struct unwind_proc_hdr hdr;
	struct unwind_range r[UNWIND_PROC_SMALL];
};

struct unwind_proc_large {
	struct unwind_proc_hdr hdr;
	struct unwind_range r[UNWIND_PROC_LARGE];
};

/* Bytes the kernel allocates for one element of each map (see above). */
#define UNWIND_CHUNK_ELEM_BYTES 4096
#define UNWIND_GROUP_ELEM_BYTES 256
#define UNWIND_FILE_ELEM_BYTES 96
#define UNWIND_PROC_SMALL_ELEM_BYTES 512
#define UNWIND_PROC_LARGE_ELEM_BYTES 4096

#endif
