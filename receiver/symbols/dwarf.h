/* SPDX-License-Identifier: Apache-2.0 */
/* Source lines and inlined frames of one ELF file's DWARF, read with libdw:
 * for an address, the file and line, and the chain of functions inlined
 * there, innermost first. A compile unit is indexed on its first lookup
 * into one sorted address map (lines and inlined scopes merged); a lookup
 * then makes no libdw call and reads a few cache lines. Where the last
 * DWARF_CACHE_SLOTS addresses fell in their map is remembered.
 *
 * The maps own copies of every name they give out, so libdw's handle,
 * the sections and libdw's per-unit line tables (most of the memory) are
 * needed only while units get indexed: a file whose DWARF is at least
 * DWARF_RELEASE_MIN_BYTES keeps a duplicate of its fd and, once idle
 * (many lookups and seconds without indexing), releases all of them; a
 * lookup that needs a unit not indexed yet reads the file again (only if
 * its size and mtime are unchanged, else that unit goes without lines).
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
#define DWARF_RELEASE_MIN_BYTES (1u << 20) /* see above */

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

/* dwarf__open_fd() with DWARF_RELEASE_MIN_BYTES replaced by @release_min
 * (0: every file keeps an fd and may be released; SIZE_MAX: none). */
struct dwarf_file *dwarf__open_fd_release(int fd, size_t max_bytes,
					  size_t release_min);

/*
 * Releases libdw's handle and the sections now (what idleness does on its
 * own), trimming the free heap. Lookups still answer the same; one that
 * needs libdw reads the file again. 0, or -EINVAL when @d keeps no fd.
 */
int dwarf__release(struct dwarf_file *d);

/*
 * Fills out[0..n) for ELF virtual address @vaddr, innermost first: each
 * inlined function (file and line inside it), then the function they were
 * inlined into (file and line of the outermost call site, or of @vaddr
 * when nothing was inlined). Returns n, 0 when DWARF does not cover
 * @vaddr. With more frames than @max, the innermost ones are dropped.
 */
size_t dwarf__lookup(struct dwarf_file *d, uint64_t vaddr,
		     struct dwarf_frame *out, size_t max);

/* Bytes held: the maps, names and caches exactly; while libdw is loaded,
 * an estimate of its share (its sections and indexes). What a symbol
 * cache charges for a loaded file's tables. */
size_t dwarf__memory(const struct dwarf_file *d);

struct dwarf_stats {
	uint64_t lookups;
	uint64_t cache_hits;
	uint64_t walk_limited; /* lookups that hit DWARF_MAX_DIES/DEPTH */
	uint64_t releases; /* libdw released when idle */
	uint64_t reopens; /* read again to index a unit */
	uint64_t reopen_failed; /* the file changed or could not be read */
};

void dwarf__stats(const struct dwarf_file *d, struct dwarf_stats *ret);

/* Accepts NULL. */
void dwarf__free(struct dwarf_file *d);

#endif
