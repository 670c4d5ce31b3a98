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

#include <stddef.h>
#include <stdint.h>

#define ELFSYM_MAX_BUILD_ID 64
#define ELFSYM_MAX_SYMBOLS (8u << 20) /* more are ignored and counted */

struct elfsym;

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

/* Copies the GNU build-id into @buf; returns its length (0: none). */
size_t elfsym__build_id(const struct elfsym *e, uint8_t *buf, size_t cap);

size_t elfsym__count(const struct elfsym *e); /* symbols */
size_t elfsym__memory(const struct elfsym *e); /* bytes held */

/* Accepts NULL. */
void elfsym__free(struct elfsym *e);

#endif
