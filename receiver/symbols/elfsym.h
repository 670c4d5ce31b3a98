/* SPDX-License-Identifier: Apache-2.0 */
/* One ELF file's function symbols, read with libelf: .symtab and .dynsym
 * merged, sorted by address, plus the PT_LOAD program headers that turn a
 * file offset into the ELF virtual address symbols are expressed in (the
 * same for PIE and non-PIE), plus the GNU build-id.
 *
 * The names of a file's symbols are not held: the table keeps its own
 * descriptor of the file (O_CLOEXEC) and reads a name with pread() when a
 * lookup asks for it, about 16 bytes a symbol in memory. Tables of an
 * in-memory image ([vdso], MiniDebugInfo), and of a file whose descriptor
 * could not be kept (EMFILE), copy their names instead.
 *
 * Hostile input: a container can hand tgprof any file. Every offset, size
 * and string index is checked against the file; a corrupt table is skipped
 * with an error, never read out of bounds. The file is never mapped (a
 * truncated mapping raises SIGBUS): a name read back from a file that has
 * changed, shrunk, or holds no NUL where it should is a counted error, and
 * the symbol has no name. */
#ifndef TGPROF_RECEIVER_ELFSYM_H
#define TGPROF_RECEIVER_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ELFSYM_MAX_BUILD_ID 64
#define ELFSYM_MAX_SYMBOLS (8u << 20) /* more are ignored and counted */
#define ELFSYM_MAX_DEBUGLINK 256 /* longer .gnu_debuglink names: ignored */
/* Longest symbol name read, with its NUL; longer names are left out. */
#define ELFSYM_MAX_NAME 8192

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
 * Loads the symbols of the ELF file open at @fd (not closed; the table
 * keeps a duplicate of it to read names from, closed by elfsym__free()).
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
 * The function containing ELF virtual address @vaddr: its name and
 * *ret_offset = vaddr - symbol start. NULL when no symbol covers @vaddr or
 * its name cannot be read. The name is borrowed from @e. When the names
 * are in the file, @e keeps the names these two functions read (an array
 * of a pointer per symbol made on first use): callers that look up many
 * names of a large file, as the symbolizer, use elfsym__name_copy().
 */
const char *elfsym__lookup(struct elfsym *e, uint64_t vaddr,
			   uint64_t *ret_offset);

/*
 * Same, as the index of the symbol (0 .. elfsym__count() - 1), or -1: how
 * a cache keeps per-symbol data (demangled names) beside the table.
 */
int64_t elfsym__lookup_index(const struct elfsym *e, uint64_t vaddr,
			     uint64_t *ret_offset);

/* The name of symbol @index (borrowed as elfsym__lookup()'s), NULL when
 * out of range or unreadable. */
const char *elfsym__name(struct elfsym *e, size_t index);

/*
 * Copies the name of symbol @index into @buf (@cap bytes, NUL-terminated;
 * at most ELFSYM_MAX_NAME are used) without keeping anything in @e.
 * Returns its length, or -ERANGE (index, or a name longer than @cap),
 * -ESTALE (the file changed since the load), -ENOEXEC (no NUL where the
 * name should end: truncated or rewritten) or the read's -errno; the last
 * three are counted in elfsym__name_errors().
 */
ssize_t elfsym__name_copy(struct elfsym *e, size_t index, char *buf,
			  size_t cap);

/* True when @e reads its names from the file (holds a descriptor). */
bool elfsym__names_in_file(const struct elfsym *e);

/* True when @e wanted to keep its file open but could not (EMFILE...)
 * and copied its names instead. */
bool elfsym__names_fallback(const struct elfsym *e);

/* Names that could not be read back from the file. */
size_t elfsym__name_errors(const struct elfsym *e);

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
