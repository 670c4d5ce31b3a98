/* SPDX-License-Identifier: Apache-2.0 */
/* The function table of a Go binary, read from its .gopclntab: what names
 * the functions of a Go program built with -ldflags=-s (no .symtab), as
 * Kubernetes' own binaries and most Go container images are.
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
 * Hostile input: every offset is checked against the table; entries that
 * do not rise, or leave the text, end the walk; at most
 * GOPCLNTAB_MAX_FUNCS functions are read. */
#ifndef TGPROF_RECEIVER_GOPCLNTAB_H
#define TGPROF_RECEIVER_GOPCLNTAB_H

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
	/* Where the module data may be, searched in order: .go.module
	 * (Go 1.26), .noptrdata, .data. */
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

#endif
