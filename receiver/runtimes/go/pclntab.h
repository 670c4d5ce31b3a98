/* SPDX-License-Identifier: Apache-2.0 */
/* The function table of a Go binary, read from its .gopclntab: what names
 * the functions of a Go program built with -ldflags=-s (no .symtab), and
 * unwinds it when built with -w too (no CFI), as Kubernetes' own binaries
 * and most Go container images are. Used by receiver/symbols/elfsym.c and
 * receiver/unwind/table.c.
 *
 * The table (runtime.pcHeader, Go 1.16 and later, 64-bit little-endian)
 * gives each function's entry as an offset from the start of the Go text
 * and its name as an offset into the table's name section, where names are
 * NUL-terminated: the caller reads them from the file as it reads a string
 * table's. The start of the text is the header's own when it holds one;
 * else the module data's (runtime.firstmoduledata, found in .go.module,
 * .noptrdata or .data by its pointers to the table); else .text's start,
 * but only where the table's functions fill .text (the Go linker's own
 * layout), so that a guess never shifts every name onto its neighbour.
 *
 * Each function's SP table (pcsp, runtime.pcvalue's encoding) says how far
 * SP is below the function's entry SP at each pc, which is what Go's own
 * traceback finds callers with.
 *
 * Hostile input: every offset is checked against the table; entries that
 * do not rise end the walk; at most GOPCLNTAB_MAX_FUNCS functions are
 * read; an SP table is read for at most as many steps as its function
 * has bytes, and what cannot be read is UNKNOWN. */
#ifndef TGPROF_RECEIVER_RUNTIMES_GO_PCLNTAB_H
#define TGPROF_RECEIVER_RUNTIMES_GO_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOPCLNTAB_MAX_FUNCS (4u << 20)
/* How much of the sections that may hold the module data is searched. */
#define GOPCLNTAB_MAX_SCAN (16u << 20)

/* Reads @len bytes at file offset @off into @buf: 0 or -errno. */
typedef int (*gopclntab_read_fn)(void *ctx, uint64_t off, void *buf,
				 size_t len);

/* A section: its virtual address, file offset and size (0: absent). */
struct gopclntab_section {
	uint64_t addr;
	uint64_t off;
	uint64_t size;
};

#define GOPCLNTAB_MAX_DATA 3

struct gopclntab_input {
	gopclntab_read_fn read;
	void *read_ctx;
	struct gopclntab_section pclntab; /* .gopclntab */
	struct gopclntab_section text; /* .text */
	/* Where the module data may be, searched in this order (the file's
	 * own for elfsym.c): .go.module (Go 1.26), .noptrdata, .data. */
	struct gopclntab_section data[GOPCLNTAB_MAX_DATA];
	size_t ndata;
};

/* Called for each function, in address order: its entry address, size,
 * and the file offset of its name. Nonzero stops the walk, returned. */
typedef int (*gopclntab_func_fn)(void *ctx, uint64_t addr, uint64_t size,
				 uint64_t name_off);

/*
 * Walks the functions of @in's table. On success, *@ret_names_off and
 * *@ret_names_size give where the names are in the file (each name's NUL
 * must be found before its end). Returns 0, -ENOEXEC when the table is
 * not one this reader knows (a version, word size or byte order it does
 * not read, a corrupt header), -ENOENT when the start of the text cannot
 * be known for sure, a read's -errno, or @fn's nonzero value.
 */
int gopclntab__funcs(const struct gopclntab_input *in, gopclntab_func_fn fn,
		     void *ctx, uint64_t *ret_names_off,
		     uint64_t *ret_names_size);

/* What a run of a function's code says about its caller. */
enum gopclntab_frame {
	/* The caller's RSP (the CFA) is RSP + sp + 8, its return address
	 * at CFA - 8. */
	GOPCLNTAB_FRAME_SP,
	/* The outermost frame of a stack (runtime.goexit, mstart). */
	GOPCLNTAB_FRAME_END,
	/* A function that moves SP to another stack (systemstack, gogo,
	 * the vDSO calls): its caller cannot be found from SP, and the Go
	 * runtime's own traceback stops there too. */
	GOPCLNTAB_FRAME_SWITCH,
	/* Its SP table is missing or could not be read. */
	GOPCLNTAB_FRAME_UNKNOWN,
};

/* The largest frame believed, bytes: above it, UNKNOWN. */
#define GOPCLNTAB_MAX_FRAME (1 << 24)

/* Called for each run [@start, @end) of a function's code with one rule,
 * in address order. Nonzero stops the walk, returned. */
typedef int (*gopclntab_frame_fn)(void *ctx, uint64_t start, uint64_t end,
				  enum gopclntab_frame kind, int64_t sp);

/*
 * Walks the SP tables (pcsp) of @in's functions: how to find each
 * function's caller at every pc, as the Go runtime's traceback does,
 * for binaries with no call-frame information (built with -ldflags=-w).
 * Without @sp_tables, only the END and SWITCH functions are handed on,
 * which a binary's CFI does not mark. Returns the number of functions,
 * or what gopclntab__funcs() would.
 */
long gopclntab__frames(const struct gopclntab_input *in, bool sp_tables,
		       gopclntab_frame_fn fn, void *ctx);

#endif
