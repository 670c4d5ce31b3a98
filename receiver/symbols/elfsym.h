/* SPDX-License-Identifier: Apache-2.0 */
/* One ELF file's function symbols, read with libelf: .symtab and .dynsym
 * merged, sorted by address, plus the PT_LOAD program headers that turn a
 * file offset into the ELF virtual address symbols are expressed in (the
 * same for PIE and non-PIE), plus the GNU build-id.
 *
 * Hostile input: a container can hand tgprof any file. Every offset, size
 * and string index is checked against the file; a corrupt table is skipped
 * with an error, never read out of bounds. */
#ifndef TGPROF_RECEIVER_ELFSYM_H
#define TGPROF_RECEIVER_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELFSYM_MAX_BUILD_ID 64
#define ELFSYM_MAX_SYMBOLS (8u << 20) /* more are ignored and counted */
#define ELFSYM_MAX_DEBUGLINK 256 /* longer .gnu_debuglink names: ignored */

struct elfsym;

/* What a file says about its debug information, for the debug-file search
 * and the DWARF reader. Strings are borrowed from the struct elfsym. */
struct elfsym_debug {
	const char *debuglink; /* .gnu_debuglink file name; NULL none */
	uint32_t debuglink_crc; /* CRC-32 of that file */
	uint64_t debugdata_offset; /* .gnu_debugdata (xz) in the file */
	uint64_t debugdata_size; /* 0: no MiniDebugInfo */
	bool has_dwarf; /* .debug_info and .debug_line with contents */
	uint64_t dwarf_bytes; /* .debug_* sections, uncompressed */
	bool has_symtab; /* a .symtab was read (not only .dynsym) */
};

/*
 * Loads the symbols of the ELF file open at @fd (not closed, not kept).
 * Returns the table (caller frees with elfsym__free()) or NULL with errno:
 * ENOEXEC not an ELF file / corrupt headers, ENOMEM, or the read error.
 * A file with no symbol table at all still loads (lookups fail) so its
 * program headers and build-id remain usable.
 */
struct elfsym *elfsym__load_fd(int fd);

/* Same, from an in-memory image (the [vdso]); @buf is copied. */
struct elfsym *elfsym__load_mem(const void *buf, size_t len);

/*
 * Translates @file_offset (mapping offset + (addr - mapping start)) into
 * the ELF virtual address, through the PT_LOAD segment that contains it.
 * Returns 0 and *ret_vaddr, or -ENOENT when no segment covers it.
 */
int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t file_offset,
			    uint64_t *ret_vaddr);

/*
 * The function containing ELF virtual address @vaddr: its name (borrowed
 * from @e) and *ret_offset = vaddr - symbol start. NULL when no symbol
 * covers @vaddr.
 */
const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr,
			   uint64_t *ret_offset);

/*
 * Same, as the index of the symbol (0 .. elfsym__count() - 1), or -1: how
 * a cache keeps per-symbol data (demangled names) beside the table.
 */
int64_t elfsym__lookup_index(const struct elfsym *e, uint64_t vaddr,
			     uint64_t *ret_offset);

/* The name of symbol @index (borrowed), NULL when out of range. */
const char *elfsym__name(const struct elfsym *e, size_t index);

/* Copies the GNU build-id into @buf; returns its length (0: none). */
size_t elfsym__build_id(const struct elfsym *e, uint8_t *buf, size_t cap);

/*
 * The build-id of the ELF file open at @fd from its PT_NOTE segments alone,
 * without loading symbols: how the symbol cache finds a file it already
 * holds under another path or inode. Returns its length, 0 when there is
 * none in the program headers, or -errno (-ENOEXEC not ELF).
 */
int elfsym__peek_build_id(int fd, uint8_t *buf, size_t cap);

/* Fills *ret (strings borrowed from @e). */
void elfsym__debug(const struct elfsym *e, struct elfsym_debug *ret);

size_t elfsym__count(const struct elfsym *e); /* symbols */
size_t elfsym__memory(const struct elfsym *e); /* bytes held */

/* Accepts NULL. */
void elfsym__free(struct elfsym *e);

#endif
