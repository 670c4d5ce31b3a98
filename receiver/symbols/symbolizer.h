/* SPDX-License-Identifier: Apache-2.0 */
/* Turns sampled addresses into frames: user addresses through the mapping
 * the process table found and the ELF file behind it (opened inside the
 * process's root, matched by device and inode), kernel addresses through
 * kallsyms, JIT code in anonymous memory through the runtime's perf map.
 * Symbol tables, DWARF line tables and demangled names are
 * cached per file, keyed by build-id (else device, inode, size, mtime),
 * shared by every process mapping that file; the cache is bounded in files
 * and in bytes (LRU).
 * The raw facts (address, mapping, file offset) stay in every frame so a
 * backend can re-symbolize. */
#ifndef TGPROF_RECEIVER_SYMBOLIZER_H
#define TGPROF_RECEIVER_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "receiver/processes/maps.h"
#include "receiver/symbols/perfmap.h"

enum frame_kind {
	FRAME_NATIVE = 0,
	FRAME_KERNEL = 1,
	FRAME_JIT = 2, /* named by the runtime's perf map */
	/* A Python function CPython runs (receiver/runtimes/python/): no
	 * mapping; addr is its instruction in the process's memory. */
	FRAME_CPYTHON = 3,
};

/*
 * One frame. An address whose code was inlined gives several frames with
 * the same addr: the innermost inlined function first, each with
 * `inlined` set, then the function it was inlined into (inlined false).
 * Strings and the build-id are borrowed from the symbolizer: valid until
 * the next symbolizer__next_epoch().
 */
struct sym_frame {
	uint64_t addr; /* as sampled */
	enum frame_kind kind;
	bool inlined; /* inlined into the frame that follows */
	const char *name; /* function for display (demangled); NULL unknown */
	/* The name as the symbol table has it (mangled for C++ and Rust);
	 * the same pointer as name when there is nothing to demangle. */
	const char *system_name;
	uint64_t sym_offset; /* addr - function start, when name is set */
	const char *file; /* source file (DWARF); NULL unknown */
	uint32_t line; /* source line, 1-based; 0 unknown */
	uint32_t start_line; /* the function's first line; 0 unknown */
	/* File basename ("libc.so.6"), "[vdso]", a kernel module name, or
	 * "vmlinux"; NULL when no mapping covers addr. */
	const char *module;
	const struct mapping *mapping; /* user frames: borrowed, or NULL */
	uint64_t file_offset; /* user frames with a mapping */
	const uint8_t *build_id; /* GNU build-id of the file; NULL none */
	uint32_t build_id_len;
};

/* The default symbol cache budget (symbol_cache_memory): bench/README.md
 * "Symbol cache budget" has the hit rates it was chosen by. */
#define SYMBOLIZER_DEFAULT_MAX_BYTES (8u << 20)

/* Most frames one address can expand to (inline chain + function). */
#define SYM_MAX_FRAMES_PER_ADDR 16

struct symbolizer_opts {
	size_t sz; /* sizeof(struct symbolizer_opts) */
	const char *proc_root; /* NULL: "/proc" */
	const char *kallsyms_path; /* NULL: "/proc/kallsyms" */
	bool kernel; /* load kernel symbols */
	size_t max_files; /* cached ELF files; 0: 512 */
	/* Memory budget of the symbol cache in bytes: symbol tables, DWARF,
	 * demangled names, the entries. 0: SYMBOLIZER_DEFAULT_MAX_BYTES. A file that alone needs more gets no
	 * symbols (one warning); a file whose DWARF would take more than a
	 * quarter keeps its names but no lines. */
	size_t max_bytes;
	/* Roots of separate debug files, colon-separated, each searched as
	 * DIR/.build-id/xx/rest.debug and DIR/<binary's dir>/<debuglink>,
	 * inside the process's root first, then on the host. NULL:
	 * "/usr/lib/debug". At most 8. Copied. */
	const char *debug_dirs;
	/* Name JIT code in anonymous executable memory through the perf map
	 * its runtime writes (/tmp/perf-PID.map inside the process's root;
	 * receiver/symbols/perfmap.h). */
	bool perf_maps;
	size_t perf_map_max_bytes; /* bytes read of one map; 0: 16 MiB */
};

struct symbolizer_stats {
	uint64_t lookups;
	uint64_t resolved;
	uint64_t unresolved;
	uint64_t cache_hits;
	uint64_t cache_misses;
	uint64_t cache_evictions;
	uint64_t cache_files; /* cached now */
	/* Held by the cache: symbol tables, DWARF, demangled names and the
	 * entries themselves (bench/symbolize_bench.c checks it against
	 * the heap). Never above cache_max_bytes after an epoch ends. */
	uint64_t cache_bytes;
	uint64_t open_errors; /* files that could not be opened or matched */
	uint64_t elf_errors; /* files that are not valid ELF */
	uint64_t kernel_symbols; /* loaded from kallsyms (0: unavailable) */
	/* Files whose symbols were already cached under another inode or
	 * path with the same build-id: shared, not loaded again. */
	uint64_t cache_shared;
	uint64_t cache_max_bytes; /* the budget cache_bytes is held under */
	uint64_t debug_files; /* separate debug files found and read */
	uint64_t minidebuginfo; /* files with symbols from .gnu_debugdata */
	uint64_t dwarf_files; /* files loaded with DWARF (lines, inlines) */
	uint64_t dwarf_skipped; /* DWARF left out: over budget or unreadable */
	uint64_t inlined_frames; /* frames emitted for inlined functions */
	uint64_t demangled; /* distinct names demangled and cached */
	/* Names handed out for one epoch only: a file's name cache full. */
	uint64_t demangle_uncached;
	/* Symbol names stay in their files: read back when a lookup first
	 * needs one, and kept (counted in cache_bytes) while in use. */
	uint64_t sym_names_read;
	/* Names that could not be read back (the file changed, shrank or
	 * was rewritten since its symbols were loaded): frames unnamed. */
	uint64_t sym_name_errors;
	uint64_t sym_name_resets; /* a file's full name cache emptied */
	/* Frames left unnamed: the names of one epoch that no file's cache
	 * could keep exceeded an eighth of the budget. */
	uint64_t sym_names_dropped;
	/* Symbol tables whose file could not be kept open (EMFILE): their
	 * names copied into memory as a whole. */
	uint64_t sym_names_copied;
	/* Corrupt, truncated or too large files: one warning each. */
	uint64_t bad_files;
	uint64_t warnings_suppressed; /* by the warning rate limit */
	/* Files opened through /proc/PID/map_files (deleted, replaced, or
	 * unreachable by path inside the process's root). */
	uint64_t map_files_opens;
	uint64_t kernel_symbol_bytes; /* kallsyms table held */
	uint64_t heap_trims; /* malloc_trim() after large evictions */
	struct perfmap_stats perf_map; /* JIT names (all 0: perf_maps off) */
};

/* Returns a symbolizer (caller frees with symbolizer__free()) or NULL +
 * errno. Kernel symbols that cannot be loaded are logged once, not fatal. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts,
				   const struct tg_logger *log);
/* Accepts NULL. */
void symbolizer__free(struct symbolizer *sy);

/* Fills out[0..n) for kernel address @addr and returns n: 1 unless @max
 * is 0 (name may be NULL). */
size_t symbolizer__kernel(struct symbolizer *sy, uint64_t addr,
			  struct sym_frame *out, size_t max);

/*
 * Fills out[0..n) for user address @addr of thread @tid in group @tgid,
 * inside mapping @m (NULL: unknown address), and returns n: at least 1
 * when @max > 0, more when inlined functions were found (at most @max;
 * the outermost frame is always kept). @return_address: @addr is a return
 * address (every frame but the innermost), looked up at addr - 1 so a call
 * at the end of a function names that function.
 */
size_t symbolizer__user(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			const struct mapping *m, uint64_t addr,
			bool return_address, struct sym_frame *out, size_t max);

/* Process @tgid exited or exec'd: what was read for its image alone (its
 * perf map) is dropped, so a new image with that PID reads its own. */
void symbolizer__forget_process(struct symbolizer *sy, uint32_t tgid);

/* Ends an epoch (one sample): strings handed out before may be freed when
 * the cache evicts. Entries used in the current epoch are never evicted. */
void symbolizer__next_epoch(struct symbolizer *sy);

void symbolizer__stats(const struct symbolizer *sy,
		       struct symbolizer_stats *ret);

#endif
