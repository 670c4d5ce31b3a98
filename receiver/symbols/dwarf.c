// SPDX-License-Identifier: Apache-2.0
/* Symbolizer input for source lines: one ELF file's DWARF through libdw,
 * turned into (function, file, line) frames per address, inlined callees
 * first. The symbolizer holds one per cached file that has DWARF. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/htab.h"
#include "receiver/symbols/dwarf.h"

/* Addresses of units too large to index are walked one at a time, which
 * costs far more than a map lookup: the last few are remembered with
 * their frames (up to DWARF_WALK_FRAMES; longer chains are walked again). */
#define DWARF_WALK_SLOTS 256
#define DWARF_WALK_FRAMES 4
/* libelf's copy of the sections, our padded copy (see dwarf__pad: made
 * only of malformed sections) and libdw's indexes (CU tree,
 * abbreviations, line tables): at most that many times the sections'
 * size, the bound a file is admitted by; dwarf__memory() counts the
 * copies actually made. */
#define DWARF_MEMORY_FACTOR 3
/* Zero bytes after each DWARF section: see dwarf__pad(). */
#define DWARF_PAD 64
#define DWARF_MAX_SECTIONS 64
#define DWARF_MAX_UNITS (1u << 20)
#define DWARF_MAX_UNIT_RANGES 4096 /* ranges of one unit or function */
#define DWARF_MAX_UNIT_DIES (1u << 21) /* DIEs indexed per unit */

/* Each unit's lines and scopes are merged into one map, built on its
 * first lookup: a row wherever the file, line or innermost function
 * changes, keyed by its address. A lookup finds its row through the
 * file's granule table (the row in force at the start of each 64 bytes
 * of code, filled as units are indexed), else through the unit ranges,
 * each with a bucket table over its part of the rows (a unit's ranges lie
 * apart: the hot and cold parts of its functions). Either way it reads a
 * handful of cache lines and makes no libdw call: the table entry, a row
 * or two, then one per function of the inline chain, which rows and
 * scopes reach by offsets. File names are interned per file. */
#define DWARF_GRANULE_SHIFT 6
#define DWARF_MAX_SPAN (1u << 31) /* of a unit: keys are the low 32 bits */
#define DWARF_ROWS_PER_BUCKET 4
#define DWARF_SCAN_ROWS 8 /* a longer bucket is halved down to this */
#define DWARF_RANGES_PER_BUCKET 2
#define DWARF_NONE UINT32_MAX /* no file, no scope */
/* The maps live in chunks of their own, packed together rather than
 * between libdw's much larger allocations for the same units (fewer pages
 * for a lookup to touch), and freed with the file. */
#define DWARF_CHUNK_MIN (4u << 10)
#define DWARF_CHUNK_MAX (256u << 10)
/* libdw's handle, the sections it inflated and the line tables it
 * caches per unit are needed only to index a unit (or to walk one too
 * large to index); the maps hold their own copies of every name. Once a
 * file has gone DWARF_IDLE_LOOKUPS lookups and DWARF_IDLE_NS without
 * needing libdw, all of that is released (and the free heap trimmed) and
 * a later lookup that needs it reads the file again through the fd kept
 * for it. Only files whose DWARF is at least the open's release_min bytes
 * keep an fd and are released. */
#define DWARF_IDLE_LOOKUPS 1024u /* a power of two: see dwarf__idle() */
#define DWARF_IDLE_NS (10ull * 1000000000ull)
/* Distinct strings (file and function names) of one file's DWARF (the
 * budget stops it first). */
#define DWARF_MAX_FILES (1u << 24)
/* Names are packed in blocks of this size carved from the chunks (a
 * longer one gets a block of its own). */
#define DWARF_STR_BLOCK 4096u
/* Interning nodes are carved from the chunks this many at a time. */
#define DWARF_FILE_NODES 256

struct dw_chunk {
	struct dw_chunk *next;
	size_t size; /* bytes after the header */
	size_t used;
	max_align_t data[];
};

/* Sorted keys reached through buckets of 1 << shift addresses:
 * bucket[b] is the first key at or above base + (b << shift). */
struct dw_index {
	uint64_t base;
	uint32_t *bucket; /* nbuckets + 1 */
	uint32_t nbuckets;
	uint32_t shift;
};

/* From its key to the next row's: the line table's file and line
 * (DWARF_NONE, 0: none) and the innermost function or inlined call. A
 * unit's rows end with one at its hi that holds nothing, then come its
 * scopes. */
struct dw_row {
	uint32_t key; /* the low 32 bits of its address: see key_le() */
	uint32_t line;
	uint32_t file; /* in dwarf_file.files */
	int32_t scope; /* bytes from this row to its scope; 0: none */
};

/* A function or inlined call; the one around it comes before it. */
struct dw_scope {
	const char *name;
	const char *call_file; /* inlined: where the enclosing one calls */
	uint32_t call_line;
	int32_t parent; /* scopes from this one to its parent; 0: none */
};

/* A compilation unit, indexed on its first lookup. */
struct dw_unit {
	const struct dw_row *rows; /* by key, keys distinct */
	uint32_t nrows;
	bool indexed;
	bool failed; /* too large or unreadable: the slow walk serves it */
	/* Only to index it: */
	uint32_t first_range; /* its ranges: dw_range.next */
	uint64_t lo; /* hull of the unit's ranges: lookups stay inside */
	uint64_t hi;
	Dwarf_Off die_off;
};

/* One address range of a unit; sorted by lo. Once the unit is indexed,
 * bucket[j] is the index of the unit's first row at or above
 * lo + (j << shift), for j up to ((hi - 1 - lo) >> shift) + 1. */
struct dw_range {
	uint64_t lo;
	uint64_t hi;
	const uint32_t *bucket; /* NULL: unit not indexed (or no rows) */
	const struct dw_row *rows; /* the unit's */
	uint32_t unit;
	uint32_t shift;
	uint32_t next; /* the unit's next range, DWARF_NONE */
};

/* A file name in the interning table; only indexing reads it. Carved
 * from the chunks, so it never moves while the table points at it. */
struct dw_file_node {
	struct htab_node node;
	uint32_t id; /* in dwarf_file.files */
};

/* A remembered address: its row in an indexed unit's map (16 bytes, so
 * the table stays in cache and a miss costs little). */
struct dwarf_slot {
	uint64_t key; /* vaddr + 1; 0: empty */
	const struct dw_row *row;
};

/* A remembered address of a unit walked per address: its frames. */
struct dwarf_walked {
	uint64_t key; /* vaddr + 1; 0: empty */
	uint32_t n;
	struct dwarf_frame f[DWARF_WALK_FRAMES];
};

struct dwarf_file {
	Elf *elf;
	Dwarf *dbg; /* NULL while released */
	int fd; /* kept to read the file again; -1: never released */
	bool gone; /* could not be read again: no more indexing */
	uint64_t file_size; /* what the file was when first read */
	int64_t file_mtime_ns;
	uint64_t idle; /* lookups since libdw was last needed */
	uint64_t last_use_ns; /* CLOCK_MONOTONIC_COARSE */
	size_t section_bytes;
	size_t max_bytes;
	size_t index_bytes; /* units, ranges, file names, the units' maps */
	struct dw_unit *units;
	size_t nunits;
	struct dw_range *ranges;
	size_t nranges;
	struct dw_index rix; /* over ranges[].lo */
	/* gran[g]: the row in force at gbase + (g << DWARF_GRANULE_SHIFT)
	 * when the granule lies in one range of an indexed unit, else NULL;
	 * no table when too large. */
	const struct dw_row **gran;
	uint64_t gbase;
	size_t ngran;
	struct dw_chunk *chunks; /* the units' maps; newest first */
	const char **files; /* interned names of the indexed units' files */
	uint32_t nfiles;
	uint32_t files_cap;
	struct htab file_tab; /* of struct dw_file_node: name -> files[] */
	struct dw_file_node *spare_nodes; /* carved, not used yet */
	char *str_free; /* names are packed here, unaligned */
	size_t str_left;
	uint32_t nspare_nodes;
	void *pads[DWARF_MAX_SECTIONS]; /* our copies of the sections */
	size_t npads;
	size_t pad_bytes; /* held by pads */
	struct dwarf_slot *slots; /* DWARF_CACHE_SLOTS */
	struct dwarf_walked *walked; /* DWARF_WALK_SLOTS, on first walk */
	struct dwarf_stats st;
};

static pthread_once_t dwarf_once = PTHREAD_ONCE_INIT;

static int dwarf__index_units(struct dwarf_file *d);

static void dwarf__init_libelf(void)
{
	(void)elf_version(EV_CURRENT);
}

static bool is_dwarf_section(const char *name)
{
	return name && (strncmp(name, ".debug_", 7) == 0 ||
			strncmp(name, ".zdebug_", 8) == 0);
}

/* Sum of the DWARF sections, uncompressed: what dwarf_begin_elf() reads. */
static int dwarf__section_bytes(Elf *elf, uint64_t file_size, uint64_t *ret)
{
	size_t shstrndx;
	uint64_t sum = 0, sz;
	Elf_Scn *scn = NULL;
	const char *name;
	GElf_Shdr sh;
	GElf_Chdr ch;
	size_t n = 0;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		if (++n > 65536 || !gelf_getshdr(scn, &sh))
			return -ENOEXEC;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!is_dwarf_section(name))
			continue;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset > file_size ||
		    sh.sh_size > file_size - sh.sh_offset)
			return -ENOEXEC;
		sz = sh.sh_size;
		if ((sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch))
			sz = ch.ch_size;
		if (sz > (1ull << 40))
			return -EFBIG;
		sum += sz;
	}
	*ret = sum;
	return 0;
}

/*
 * Gives libdw a copy of every DWARF section followed by zero bytes. libdw
 * (0.188) runs strlen() over strings in .debug_line and .debug_str
 * without checking they end inside the section: a file whose last string
 * is not terminated made it read past the buffer (found by the fuzzer).
 * The padding ends every such string. A section whose last byte is zero
 * needs none (every string and LEB128 in it ends inside it), and is left
 * as libelf read it: only a malformed file pays for a second copy, where
 * every section used to (libc's debug file: 28 MiB held twice).
 * Compressed sections are inflated first, as dwarf_begin_elf() would.
 * Returns 0 or -errno.
 */
static int dwarf__pad(struct dwarf_file *d)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf_Data *data, *raw;
	const char *name;
	GElf_Shdr sh;
	void *copy;

	if (elf_getshdrstrndx(d->elf, &shstrndx) != 0)
		return -ENOEXEC;
	while ((scn = elf_nextscn(d->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (!is_dwarf_section(name))
			continue;
		if (d->npads == DWARF_MAX_SECTIONS)
			return -E2BIG;
		if ((sh.sh_flags & SHF_COMPRESSED) &&
		    elf_compress(scn, 0, 0) < 0)
			return -ENOEXEC;
		if (name[1] == 'z' && elf_compress_gnu(scn, 0, 0) < 0)
			return -ENOEXEC;
		/* libdw reads through both views of the section: give the
		 * copy to each (libelf frees its own buffer, not d_buf). */
		data = elf_getdata(scn, NULL);
		raw = elf_rawdata(scn, NULL);
		if (!data || !data->d_buf || !data->d_size || !raw ||
		    raw->d_size != data->d_size)
			continue;
		if (!((const char *)data->d_buf)[data->d_size - 1])
			continue;
		copy = malloc(data->d_size + DWARF_PAD);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data->d_buf, data->d_size);
		memset((char *)copy + data->d_size, 0, DWARF_PAD);
		data->d_buf = copy;
		raw->d_buf = copy;
		d->pads[d->npads++] = copy;
		d->pad_bytes += data->d_size + DWARF_PAD;
	}
	return 0;
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* libdw's handle over the file at @fd (size @file_size): the sections
 * read (inflated, padded) now. On a second read the DWARF must be what it
 * was. Returns 0 or -errno; on failure dwarf__unload() cleans up. */
static int dwarf__load(struct dwarf_file *d, int fd, uint64_t file_size)
{
	uint64_t bytes = 0;
	int err;

	/* Read, not mapped: see the header. */
	d->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF)
		return -ENOEXEC;
	err = dwarf__section_bytes(d->elf, file_size, &bytes);
	if (err)
		return err;
	if (!bytes)
		return -ENODATA;
	if (d->section_bytes && bytes != d->section_bytes)
		return -ESTALE;
	if (bytes > d->max_bytes / DWARF_MEMORY_FACTOR)
		return -EFBIG;
	d->section_bytes = bytes;
	err = dwarf__pad(d);
	if (err)
		return err;
	d->dbg = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
	if (!d->dbg)
		return -ENODATA;
	/* Every section libdw uses was read by dwarf_begin_elf(); later
	 * reads through the fd must fail. */
	elf_cntl(d->elf, ELF_C_FDDONE);
	return 0;
}

/* Frees libdw's handle, libelf's and our copies of the sections. */
static void dwarf__unload(struct dwarf_file *d)
{
	if (d->dbg)
		dwarf_end(d->dbg);
	d->dbg = NULL;
	if (d->elf)
		elf_end(d->elf);
	d->elf = NULL;
	while (d->npads)
		free(d->pads[--d->npads]);
	d->pad_bytes = 0;
}

/* libdw's handle, read again from the kept fd when released. False when
 * it cannot be had (the file changed, or is unreadable): the units not
 * indexed yet stay without lines from then on. */
static bool dwarf__need(struct dwarf_file *d)
{
	struct stat st;
	int err;

	d->idle = 0;
	d->last_use_ns = coarse_ns();
	if (d->dbg)
		return true;
	if (d->gone || d->fd < 0)
		return false;
	err = -ESTALE;
	if (fstat(d->fd, &st) == 0 && (uint64_t)st.st_size == d->file_size &&
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ==
		    d->file_mtime_ns)
		err = dwarf__load(d, d->fd, d->file_size);
	if (err) {
		dwarf__unload(d);
		d->gone = true;
		close(d->fd);
		d->fd = -1;
		d->st.reopen_failed++;
		return false;
	}
	d->st.reopens++;
	return true;
}

/* Called per lookup that did without libdw: releases it once idle. The
 * clock is read once every DWARF_IDLE_LOOKUPS such lookups. */
static void dwarf__idle(struct dwarf_file *d)
{
	if (!d->dbg || d->fd < 0)
		return;
	if ((++d->idle & (DWARF_IDLE_LOOKUPS - 1)) ||
	    coarse_ns() - d->last_use_ns < DWARF_IDLE_NS)
		return;
	dwarf__release(d);
}

int dwarf__release(struct dwarf_file *d)
{
	if (!d || d->fd < 0)
		return -EINVAL;
	if (!d->dbg)
		return 0;
	dwarf__unload(d);
	d->idle = 0;
	d->st.releases++;
	/* libdw's line tables are many small blocks: give the pages they
	 * leave free back. */
	malloc_trim(0);
	return 0;
}

struct dwarf_file *dwarf__open_fd_release(int fd, size_t max_bytes,
					  size_t release_min)
{
	struct dwarf_file *d;
	struct stat st;
	int err;

	pthread_once(&dwarf_once, dwarf__init_libelf);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		errno = ENOEXEC;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->fd = -1;
	d->max_bytes = max_bytes;
	d->file_size = (uint64_t)st.st_size;
	d->file_mtime_ns =
		(int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	err = -dwarf__load(d, fd, d->file_size);
	if (err)
		goto err_free;
	err = -dwarf__index_units(d);
	if (err)
		goto err_free;
	d->slots = calloc(DWARF_CACHE_SLOTS, sizeof(*d->slots));
	if (!d->slots) {
		err = ENOMEM;
		goto err_free;
	}
	if (d->section_bytes >= release_min) {
		d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (d->fd < 0)
			d->st.reopen_failed++; /* kept loaded instead */
	}
	d->last_use_ns = coarse_ns();
	return d;

err_free:
	dwarf__free(d);
	errno = err;
	return NULL;
}

struct dwarf_file *dwarf__open_fd(int fd, size_t max_bytes)
{
	return dwarf__open_fd_release(fd, max_bytes, DWARF_RELEASE_MIN_BYTES);
}

void dwarf__free(struct dwarf_file *d)
{
	if (!d)
		return;
	dwarf__unload(d);
	if (d->fd >= 0)
		close(d->fd);
	while (d->chunks) {
		struct dw_chunk *c = d->chunks;

		d->chunks = c->next;
		free(c);
	}
	free(d->units);
	free(d->ranges);
	free(d->gran);
	free(d->files);
	htab__free(&d->file_tab);
	free(d->slots);
	free(d->walked);
	free(d);
}

size_t dwarf__memory(const struct dwarf_file *d)
{
	if (!d)
		return 0;
	/* Released, libdw's share is gone; the budget still admits the
	 * file as if it were held (it may be read again). */
	return sizeof(*d) +
	       (d->dbg ? d->section_bytes * (DWARF_MEMORY_FACTOR - 1) : 0) +
	       d->pad_bytes + d->index_bytes +
	       DWARF_CACHE_SLOTS * sizeof(*d->slots);
}

void dwarf__stats(const struct dwarf_file *d, struct dwarf_stats *ret)
{
	if (!d) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = d->st;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a)) {
		s = dwarf_formstring(&a);
		if (s && s[0])
			return s;
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &a)) {
		s = dwarf_formstring(&a);
		if (s && s[0])
			return s;
	}
	return NULL;
}

/* DW_AT_call_file/line of an inlined subroutine: where its caller called. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *die, struct dwarf_frame *f)
{
	Dwarf_Attribute a;
	Dwarf_Files *files;
	Dwarf_Word idx, line;
	size_t nfiles;

	f->file = NULL;
	f->line = 0;
	if (dwarf_attr(die, DW_AT_call_file, &a) &&
	    dwarf_formudata(&a, &idx) == 0 &&
	    dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && idx < nfiles)
		f->file = dwarf_filesrc(files, idx, NULL, NULL);
	if (dwarf_attr(die, DW_AT_call_line, &a) &&
	    dwarf_formudata(&a, &line) == 0 && line <= UINT32_MAX)
		f->line = (uint32_t)line;
}

static bool is_pc_scope(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
	       tag == DW_TAG_catch_block;
}

/* Scopes without addresses that hold functions (C++ and Rust). */
static bool is_container(int tag)
{
	return tag == DW_TAG_namespace || tag == DW_TAG_module;
}

/*
 * The functions containing @vaddr in @cu, outermost first, into chain[]:
 * a depth-first walk that enters namespaces freely and, once a DIE with
 * addresses contains @vaddr, only goes deeper. Iterative, bounded.
 * Returns the chain length.
 */
static size_t dwarf__walk(struct dwarf_file *d, Dwarf_Die *cu, uint64_t vaddr,
			  Dwarf_Die *chain, size_t max)
{
	Dwarf_Die stack[DWARF_MAX_DEPTH];
	bool committed[DWARF_MAX_DEPTH];
	size_t top = 0, n = 0, steps = 0;
	Dwarf_Die child;
	int tag;

	if (dwarf_child(cu, &stack[0]) != 0)
		return 0;
	committed[0] = true; /* the CU itself contains vaddr */
	for (;;) {
		Dwarf_Die *die = &stack[top];

		if (++steps > DWARF_MAX_DIES) {
			d->st.walk_limited++;
			return n;
		}
		tag = dwarf_tag(die);
		if (is_pc_scope(tag) && dwarf_haspc(die, vaddr) == 1) {
			if ((tag == DW_TAG_subprogram ||
			     tag == DW_TAG_inlined_subroutine) &&
			    n < max)
				chain[n++] = *die;
			if (top + 1 == DWARF_MAX_DEPTH) {
				d->st.walk_limited++;
				return n;
			}
			if (dwarf_child(die, &child) != 0)
				return n;
			/* Nothing after this DIE at this level matters. */
			committed[top + 1] = true;
			stack[++top] = child;
			continue;
		}
		if (is_container(tag) && top + 1 < DWARF_MAX_DEPTH &&
		    dwarf_child(die, &child) == 0) {
			committed[top + 1] = false;
			stack[++top] = child;
			continue;
		}
		/* Next sibling; at the end of a level, back to the parent's
		 * next sibling unless the parent contains vaddr. */
		while (dwarf_siblingof(&stack[top], &stack[top]) != 0) {
			if (committed[top] || top == 0)
				return n;
			top--;
		}
	}
}

/* ---- the per-file index: unit ranges, then per unit one address map ---- */

static void *grow(void *v, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	void *nv;

	if (need <= *cap)
		return v;
	while (c < need)
		c *= 2;
	nv = realloc(v, c * elem);
	if (nv)
		*cap = c;
	return nv;
}

/* @v (@n of @cap elements) reallocated to its size, or as it was. */
static void *shrink(void *v, size_t n, size_t cap, size_t elem)
{
	void *nv;

	if (!n || n == cap)
		return v;
	nv = realloc(v, n * elem);
	return nv ? nv : v;
}

/* Whether @bytes more fit the budget the file was opened with. */
static bool dwarf__charge(struct dwarf_file *d, size_t bytes)
{
	size_t used = d->section_bytes * (DWARF_MEMORY_FACTOR - 1) +
		      d->pad_bytes + d->index_bytes;

	if (used > d->max_bytes || bytes > d->max_bytes - used)
		return false;
	d->index_bytes += bytes;
	return true;
}

static void dwarf__uncharge(struct dwarf_file *d, size_t bytes)
{
	d->index_bytes -= bytes < d->index_bytes ? bytes : d->index_bytes;
}

/* @bytes for a unit's map, freed with the file; whole chunks are charged
 * to the budget. NULL when they do not fit or on ENOMEM. */
static void *dwarf__alloc(struct dwarf_file *d, size_t bytes)
{
	struct dw_chunk *c = d->chunks;
	size_t size;

	if (bytes > SIZE_MAX / 2)
		return NULL;
	bytes = (bytes + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (c && c->size - c->used >= bytes) {
		c->used += bytes;
		return (char *)c->data + c->used - bytes;
	}
	size = c ? c->size * 2 : DWARF_CHUNK_MIN;
	if (size > DWARF_CHUNK_MAX)
		size = DWARF_CHUNK_MAX;
	if (size < bytes)
		size = bytes;
	if (!dwarf__charge(d, sizeof(*c) + size))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (!c) {
		dwarf__uncharge(d, sizeof(*c) + size);
		return NULL;
	}
	c->size = size;
	c->used = bytes;
	/* A large map gets a chunk of its own, behind the one in use. */
	if (bytes > DWARF_CHUNK_MAX / 4 && d->chunks) {
		c->next = d->chunks->next;
		d->chunks->next = c;
	} else {
		c->next = d->chunks;
		d->chunks = c;
	}
	return c->data;
}

/*
 * Buckets of 1 << *ret_shift addresses from @base to @base + @span (both
 * included) over the sorted @keys[0..n), all in there: about @per keys to
 * a bucket when the keys are spread evenly (a crowded one still works,
 * searched by halving). bucket[j] is @first + the index of the first key
 * at or above base + (j << shift); there are *ret_nb + 1. In the file's
 * chunks; NULL when over the budget or on ENOMEM.
 */
static uint32_t *dw_buckets(struct dwarf_file *d, uint64_t base, uint64_t span,
			    const uint64_t *keys, size_t n, size_t first,
			    size_t per, uint32_t *ret_shift, uint32_t *ret_nb)
{
	uint64_t want = n / per + 1, kb;
	uint32_t shift = 0, *bucket;
	size_t nb, b = 0, i;

	if (first + n >= UINT32_MAX)
		return NULL;
	while (shift < 63 && (span >> shift) >= want)
		shift++;
	nb = (size_t)(span >> shift) + 1;
	bucket = dwarf__alloc(d, (nb + 1) * sizeof(*bucket));
	if (!bucket)
		return NULL;
	for (i = 0; i < n; i++) {
		kb = (keys[i] - base) >> shift;
		while (b <= kb)
			bucket[b++] = (uint32_t)(first + i);
	}
	while (b <= nb)
		bucket[b++] = (uint32_t)(first + n);
	*ret_shift = shift;
	*ret_nb = (uint32_t)nb;
	return bucket;
}

/* The keys of @ix (n of them) to search for the last one at or below @x:
 * [*ret_lo, *ret_hi); *ret_lo - 1 when none of those is. False when @x
 * is below every key. */
static bool dw_index__window(const struct dw_index *ix, size_t n, uint64_t x,
			     size_t *ret_lo, size_t *ret_hi)
{
	uint64_t b;

	if (!n || x < ix->base)
		return false;
	b = (x - ix->base) >> ix->shift;
	if (b >= ix->nbuckets) {
		*ret_lo = n;
		*ret_hi = n;
		return true;
	}
	*ret_lo = ix->bucket[b];
	*ret_hi = ix->bucket[b + 1];
	return true;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct dw_range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* The granule table, when it costs less than a tenth of the sections
 * (its code is dense, not a few ranges far apart); lookups do without. */
static void dwarf__alloc_granules(struct dwarf_file *d)
{
	uint64_t hi = 0, n;
	size_t i;

	for (i = 0; i < d->nranges; i++)
		if (d->ranges[i].hi > hi)
			hi = d->ranges[i].hi;
	d->gbase = d->ranges[0].lo;
	n = ((hi - d->gbase) >> DWARF_GRANULE_SHIFT) + 1;
	if (n > d->section_bytes / 10 / sizeof(*d->gran) ||
	    !dwarf__charge(d, n * sizeof(*d->gran)))
		return;
	d->gran = calloc(n, sizeof(*d->gran));
	if (!d->gran) {
		dwarf__uncharge(d, n * sizeof(*d->gran));
		return;
	}
	d->ngran = n;
}

/* Buckets over the sorted unit ranges; each unit's hull and ranges. */
static int dwarf__index_ranges(struct dwarf_file *d)
{
	size_t n = d->nranges, i;
	struct dw_range *r;
	struct dw_unit *u;
	uint64_t *lo;

	if (!n)
		return 0;
	qsort(d->ranges, n, sizeof(*d->ranges), range_cmp);
	lo = malloc(n * sizeof(*lo));
	if (!lo)
		return -ENOMEM;
	/* Each unit's hull, and its ranges in order for its index. */
	for (i = n; i--;) {
		r = &d->ranges[i];
		u = &d->units[r->unit];
		lo[i] = r->lo;
		if (u->lo > r->lo)
			u->lo = r->lo;
		if (u->hi < r->hi)
			u->hi = r->hi;
		r->next = u->first_range;
		u->first_range = (uint32_t)i;
	}
	d->rix.base = lo[0];
	d->rix.bucket = dw_buckets(d, lo[0], lo[n - 1] - lo[0], lo, n, 0,
				   DWARF_RANGES_PER_BUCKET, &d->rix.shift,
				   &d->rix.nbuckets);
	free(lo);
	if (!d->rix.bucket)
		return -EFBIG;
	dwarf__alloc_granules(d);
	return 0;
}

/* Every compile unit with addresses, and its ranges. */
static int dwarf__index_units(struct dwarf_file *d)
{
	size_t ucap = 0, rcap = 0, nr;
	Dwarf_CU *cu = NULL;
	Dwarf_Addr base, lo, hi;
	Dwarf_Die cudie;
	uint8_t unit_type;
	Dwarf_Half version;
	ptrdiff_t off;
	void *nv;

	while (dwarf_get_units(d->dbg, cu, &cu, &version, &unit_type, &cudie,
			       NULL) == 0) {
		if (d->nunits == DWARF_MAX_UNITS ||
		    d->nranges >= DWARF_NONE - DWARF_MAX_UNIT_RANGES)
			break;
		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		nr = 0;
		off = 0;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0 &&
		       nr < DWARF_MAX_UNIT_RANGES) {
			if (lo >= hi)
				continue;
			nv = grow(d->ranges, &rcap, d->nranges + 1,
				  sizeof(*d->ranges));
			if (!nv)
				return -ENOMEM;
			d->ranges = nv;
			d->ranges[d->nranges++] = (struct dw_range){
				.lo = lo, .hi = hi, .unit = (uint32_t)d->nunits
			};
			nr++;
		}
		if (!nr)
			continue;
		nv = grow(d->units, &ucap, d->nunits + 1, sizeof(*d->units));
		if (!nv)
			return -ENOMEM;
		d->units = nv;
		d->units[d->nunits] = (struct dw_unit){
			.first_range = DWARF_NONE,
			.lo = UINT64_MAX,
			.die_off = dwarf_dieoffset(&cudie),
		};
		d->nunits++;
	}
	/* Exact sizes: a small file's DWARF should cost little. */
	d->units = shrink(d->units, d->nunits, ucap, sizeof(*d->units));
	d->ranges = shrink(d->ranges, d->nranges, rcap, sizeof(*d->ranges));
	if (!dwarf__charge(d, d->nunits * sizeof(*d->units) +
				      d->nranges * sizeof(*d->ranges)))
		return -EFBIG;
	return dwarf__index_ranges(d);
}

/* A node for the file name table, from the chunks; NULL over budget. */
static struct dw_file_node *dwarf__file_node(struct dwarf_file *d)
{
	if (!d->nspare_nodes) {
		d->spare_nodes = dwarf__alloc(
			d, DWARF_FILE_NODES * sizeof(*d->spare_nodes));
		if (!d->spare_nodes)
			return NULL;
		d->nspare_nodes = DWARF_FILE_NODES;
	}
	d->nspare_nodes--;
	return d->spare_nodes++;
}

/* Room for one more name in d->files; charged to the budget. */
static int dwarf__grow_files(struct dwarf_file *d)
{
	size_t cap = d->files_cap;
	void *nv;

	if (d->nfiles >= DWARF_MAX_FILES)
		return -EFBIG;
	nv = grow(d->files, &cap, d->nfiles + 1, sizeof(*d->files));
	if (!nv)
		return -ENOMEM;
	d->files = nv;
	if (!dwarf__charge(d, (cap - d->files_cap) * sizeof(*d->files)))
		return -EFBIG;
	d->files_cap = (uint32_t)cap;
	return 0;
}

/* @len bytes for a name, packed; NULL over the budget. */
static char *dwarf__alloc_str(struct dwarf_file *d, size_t len)
{
	char *p;

	if (len > DWARF_STR_BLOCK / 4)
		return dwarf__alloc(d, len);
	if (d->str_left < len) {
		d->str_free = dwarf__alloc(d, DWARF_STR_BLOCK);
		if (!d->str_free) {
			d->str_left = 0;
			return NULL;
		}
		d->str_left = DWARF_STR_BLOCK;
	}
	p = d->str_free;
	d->str_free += len;
	d->str_left -= len;
	return p;
}

/* The index of string @name (a file or function name, borrowed from
 * libdw) in d->files, a copy of it added when new (libdw may be released:
 * the maps hand out only their own copies); DWARF_NONE for NULL. */
static int dwarf__intern_file(struct dwarf_file *d, const char *name,
			      uint32_t *ret)
{
	struct dw_file_node *fn;
	struct htab_node *pos;
	size_t buckets, len;
	uint64_t h;
	char *copy;
	int err;

	*ret = DWARF_NONE;
	if (!name)
		return 0;
	h = hash_str(name);
	htab_for_each(&d->file_tab, pos, h) {
		fn = container_of(pos, struct dw_file_node, node);
		if (!strcmp(d->files[fn->id], name)) {
			*ret = fn->id;
			return 0;
		}
	}
	if (d->nfiles == d->files_cap) {
		err = dwarf__grow_files(d);
		if (err)
			return err;
	}
	len = strlen(name) + 1;
	fn = dwarf__file_node(d);
	copy = fn ? dwarf__alloc_str(d, len) : NULL;
	if (!copy)
		return -EFBIG;
	memcpy(copy, name, len);
	/* The bucket array the insert may grow into, net of the old one. */
	buckets = htab__bytes_after_insert(&d->file_tab) -
		  htab__bytes(&d->file_tab);
	if (!dwarf__charge(d, buckets))
		return -EFBIG;
	fn->id = d->nfiles;
	err = htab__insert(&d->file_tab, &fn->node, h);
	if (err) {
		dwarf__uncharge(d, buckets);
		return err;
	}
	d->files[d->nfiles] = copy;
	*ret = d->nfiles++;
	return 0;
}

/* The file's own copy of @s (NULL for NULL or when over the budget). */
static const char *dwarf__own(struct dwarf_file *d, const char *s)
{
	uint32_t id;

	if (dwarf__intern_file(d, s, &id) || id == DWARF_NONE)
		return NULL;
	return d->files[id];
}

/* Build-time: a line table row. */
struct dw_src {
	uint64_t addr;
	uint32_t file;
	uint32_t line; /* 0 also at the end of a sequence: no code there */
};

/* Build-time: a function or inlined call. */
struct dw_scope_src {
	const char *name;
	const char *call_file;
	uint32_t call_line;
	uint32_t parent; /* index, DWARF_NONE */
};

/* Build-time: what holds from an address of the map on. */
struct dw_state {
	uint32_t line;
	uint32_t file;
	uint32_t scope; /* index, DWARF_NONE */
};

/* Build-time: one address range of a scope. */
struct dw_span {
	uint64_t lo;
	uint64_t hi;
	uint32_t scope;
	uint32_t depth;
};

/* What a unit's map is made of; its bytes are held against the budget
 * until the map is built. */
struct unit_build {
	struct dw_src *src;
	size_t nsrc;
	struct dw_span *spans;
	size_t nspans;
	size_t spans_cap;
	struct dw_scope_src *scopes;
	size_t nscopes;
	size_t scopes_cap;
	size_t charged;
};

static bool build__charge(struct dwarf_file *d, struct unit_build *b,
			  size_t bytes)
{
	if (!dwarf__charge(d, bytes))
		return false;
	b->charged += bytes;
	return true;
}

/* Appends one element to *v (n of cap), growing it within the budget. */
static void *build__push(struct dwarf_file *d, struct unit_build *b, void **v,
			 size_t *n, size_t *cap, size_t elem)
{
	size_t old = *cap;
	void *nv;

	if (*n == *cap) {
		if (*n >= (SIZE_MAX >> 1) / elem)
			return NULL;
		nv = grow(*v, cap, *n + 1, elem);
		if (!nv || !build__charge(d, b, (*cap - old) * elem)) {
			if (nv)
				*v = nv;
			return NULL;
		}
		*v = nv;
	}
	return (char *)*v + (*n)++ * elem;
}

static void build__free(struct dwarf_file *d, struct unit_build *b)
{
	free(b->src);
	free(b->spans);
	free(b->scopes);
	dwarf__uncharge(d, b->charged);
	memset(b, 0, sizeof(*b));
}

static int dwarf__collect_lines(struct dwarf_file *d, struct unit_build *b,
				Dwarf_Die *cu)
{
	const char *name, *last_name = NULL;
	uint32_t last_file = DWARF_NONE;
	Dwarf_Lines *lines;
	Dwarf_Line *l;
	Dwarf_Addr addr;
	struct dw_src *r;
	size_t n, i;
	bool end;
	int lineno, err;

	if (dwarf_getsrclines(cu, &lines, &n) != 0 || !n)
		return 0;
	if (n > SIZE_MAX / sizeof(*b->src) ||
	    !build__charge(d, b, n * sizeof(*b->src)))
		return -EFBIG;
	b->src = malloc(n * sizeof(*b->src));
	if (!b->src)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		l = dwarf_onesrcline(lines, i);
		if (!l || dwarf_lineaddr(l, &addr) != 0)
			continue;
		if (b->nsrc && addr < b->src[b->nsrc - 1].addr)
			continue; /* libdw sorts; keep ours sorted anyway */
		r = &b->src[b->nsrc++];
		r->addr = addr;
		r->file = DWARF_NONE;
		r->line = 0;
		if (dwarf_lineendsequence(l, &end) == 0 && end)
			continue;
		name = dwarf_linesrc(l, NULL, NULL);
		if (name != last_name) {
			err = dwarf__intern_file(d, name, &last_file);
			if (err)
				return err;
			last_name = name;
		}
		r->file = last_file;
		r->line = dwarf_lineno(l, &lineno) == 0 && lineno > 0 ?
				  (uint32_t)lineno :
				  0;
	}
	return 0;
}

/* A function or inlined call: its scope, then its ranges. *ret_scope is
 * DWARF_NONE when it has no address. */
static int scope_add(struct dwarf_file *d, struct unit_build *b, Dwarf_Die *cu,
		     Dwarf_Die *die, int tag, uint32_t depth, uint32_t parent,
		     uint32_t *ret_scope)
{
	Dwarf_Addr base, lo, hi;
	struct dwarf_frame call = { 0 };
	struct dw_scope_src *s;
	const char *name;
	struct dw_span *sp;
	ptrdiff_t off = 0;
	size_t nr = 0;

	*ret_scope = DWARF_NONE;
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0 &&
	       nr < DWARF_MAX_UNIT_RANGES) {
		if (lo >= hi)
			continue;
		if (*ret_scope == DWARF_NONE) {
			if (b->nscopes >= DWARF_NONE)
				return -E2BIG;
			if (tag == DW_TAG_inlined_subroutine)
				call_site(cu, die, &call);
			name = dwarf__own(d, die_name(die));
			call.file = dwarf__own(d, call.file);
			s = build__push(d, b, (void **)&b->scopes, &b->nscopes,
					&b->scopes_cap, sizeof(*s));
			if (!s)
				return -EFBIG;
			*s = (struct dw_scope_src){
				.name = name,
				.call_file = call.file,
				.call_line = call.line,
				.parent = parent,
			};
			*ret_scope = (uint32_t)(b->nscopes - 1);
		}
		sp = build__push(d, b, (void **)&b->spans, &b->nspans,
				 &b->spans_cap, sizeof(*sp));
		if (!sp)
			return -EFBIG;
		*sp = (struct dw_span){
			.lo = lo, .hi = hi, .scope = *ret_scope, .depth = depth
		};
		nr++;
	}
	return 0;
}

/*
 * Every function and inlined call of @cu with its ranges and the scope
 * around it, parents first. Iterative DFS, bounded in depth and DIEs.
 */
static int dwarf__collect_scopes(struct dwarf_file *d, struct unit_build *b,
				 Dwarf_Die *cu)
{
	Dwarf_Die stack[DWARF_MAX_DEPTH];
	uint32_t owner[DWARF_MAX_DEPTH]; /* scope enclosing each level */
	uint32_t depth[DWARF_MAX_DEPTH];
	size_t top = 0, dies = 0;
	uint32_t added;
	Dwarf_Die child;
	int tag, err;

	if (dwarf_child(cu, &stack[0]) != 0)
		return 0;
	owner[0] = DWARF_NONE;
	depth[0] = 0;
	for (;;) {
		Dwarf_Die *die = &stack[top];
		uint32_t own = owner[top];
		uint32_t dep = depth[top];

		if (++dies > DWARF_MAX_UNIT_DIES)
			return -E2BIG;
		tag = dwarf_tag(die);
		if (tag == DW_TAG_subprogram ||
		    tag == DW_TAG_inlined_subroutine) {
			err = scope_add(d, b, cu, die, tag, dep, own, &added);
			if (err)
				return err;
			if (added != DWARF_NONE) {
				own = added;
				dep++;
			}
		}
		if (top + 1 < DWARF_MAX_DEPTH && dwarf_haschildren(die) > 0 &&
		    dwarf_child(die, &child) == 0) {
			stack[++top] = child;
			owner[top] = own;
			depth[top] = dep;
			continue;
		}
		while (dwarf_siblingof(&stack[top], &stack[top]) != 0) {
			if (top == 0)
				return 0;
			top--;
		}
	}
}

/* By start, outer before inner at one address. */
static int span_cmp(const void *pa, const void *pb)
{
	const struct dw_span *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->depth != b->depth)
		return a->depth < b->depth ? -1 : 1;
	return a->scope < b->scope ? -1 : a->scope > b->scope;
}

/* The row in force at @x: the last line row at or below it (none after
 * an end of sequence), the innermost open scope. */
static struct dw_state build__state(const struct unit_build *b, size_t cur,
				    const uint32_t *open, size_t nopen)
{
	struct dw_state row = { .file = DWARF_NONE, .scope = DWARF_NONE };

	if (nopen)
		row.scope = b->spans[open[nopen - 1]].scope;
	if (cur < b->nsrc) {
		row.file = b->src[cur].file;
		row.line = b->src[cur].line;
	}
	return row;
}

/*
 * One sweep over the unit's hull, u->lo to u->hi, through the line rows
 * and the scope ranges (sorted by start, a stack of the open ones; an
 * improperly nested range only shadows the ones under it while it is on
 * top): a key wherever the row in force changes. Every step takes a row,
 * opens a range or closes one, so the rows number at most
 * nsrc + 2 * nspans + 1. Fills @rows and their addresses @keys, returns
 * their count.
 */
static size_t build__sweep(const struct dw_unit *u, const struct unit_build *b,
			   uint32_t *open, uint64_t *keys,
			   struct dw_state *rows)
{
	struct dw_state row, last = { .file = DWARF_NONE, .scope = DWARF_NONE };
	size_t r = 0, s = 0, nopen = 0, n = 0, cur = SIZE_MAX;
	uint64_t x = u->lo, next;

	for (;;) {
		while (r < b->nsrc && b->src[r].addr <= x)
			cur = r++;
		while (nopen && b->spans[open[nopen - 1]].hi <= x)
			nopen--;
		for (; s < b->nspans && b->spans[s].lo <= x; s++)
			if (b->spans[s].hi > x)
				open[nopen++] = (uint32_t)s;
		row = build__state(b, cur, open, nopen);
		if (row.file != last.file || row.line != last.line ||
		    row.scope != last.scope) {
			keys[n] = x;
			rows[n++] = row;
			last = row;
		}
		next = u->hi;
		if (r < b->nsrc && b->src[r].addr < next)
			next = b->src[r].addr;
		if (s < b->nspans && b->spans[s].lo < next)
			next = b->spans[s].lo;
		if (nopen && b->spans[open[nopen - 1]].hi < next)
			next = b->spans[open[nopen - 1]].hi;
		if (next >= u->hi)
			return n;
		x = next;
	}
}

/* The first of the sorted @keys[0..n) at or above @x. */
static size_t lower_bound(const uint64_t *keys, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (keys[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Buckets for each range of @u over its rows (their addresses @keys[0..n)),
 * not yet visible to lookups. Returns 0 or -EFBIG. */
static int dwarf__bucket_ranges(struct dwarf_file *d, struct dw_unit *u,
				const uint64_t *keys, size_t n)
{
	size_t first, last;
	struct dw_range *r;
	uint32_t i, nb;

	for (i = u->first_range; i < d->nranges; i = r->next) {
		r = &d->ranges[i];
		first = lower_bound(keys, n, r->lo);
		last = first + lower_bound(keys + first, n - first, r->hi);
		r->bucket = dw_buckets(d, r->lo, r->hi - 1 - r->lo,
				       keys + first, last - first, first,
				       DWARF_ROWS_PER_BUCKET, &r->shift, &nb);
		if (!r->bucket)
			return -EFBIG;
	}
	return 0;
}

/* Whether the row keyed @key starts at or below @x, both within a unit:
 * keys are the low 32 bits of addresses, less than DWARF_MAX_SPAN apart. */
static bool key_le(uint32_t key, uint64_t x)
{
	return (int32_t)(key - (uint32_t)x) <= 0;
}

/* The row in force at @vaddr, inside @r, NULL when none is. */
static const struct dw_row *dw_range__find(const struct dw_range *r,
					   uint64_t vaddr)
{
	uint64_t j = (vaddr - r->lo) >> r->shift;
	size_t lo = r->bucket[j], hi = r->bucket[j + 1], mid, i, k;

	while (hi - lo > DWARF_SCAN_ROWS) {
		mid = lo + (hi - lo) / 2;
		if (key_le(r->rows[mid].key, vaddr))
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Count the few left without a branch on each: their keys are
	 * sorted, so those at or below vaddr come first. */
	for (i = lo, k = 0; i < hi; i++)
		k += key_le(r->rows[i].key, vaddr);
	lo += k;
	return lo ? &r->rows[lo - 1] : NULL;
}

/* The granules that range @k alone answers for (the range lookup would
 * choose it for every address in them) get their row in force. */
static void dwarf__fill_granules(struct dwarf_file *d, uint32_t k)
{
	const struct dw_range *r = &d->ranges[k];
	uint64_t end = r->hi, g, g1;

	if (!d->gran)
		return;
	if (k + 1 < d->nranges && d->ranges[k + 1].lo < end)
		end = d->ranges[k + 1].lo;
	g = (r->lo - d->gbase) >> DWARF_GRANULE_SHIFT;
	if (d->gbase + (g << DWARF_GRANULE_SHIFT) < r->lo)
		g++;
	g1 = (end - d->gbase) >> DWARF_GRANULE_SHIFT;
	for (; g < g1 && g < d->ngran; g++)
		d->gran[g] = dw_range__find(
			r, d->gbase + (g << DWARF_GRANULE_SHIFT));
}

/* Lets lookups use @u's ranges and granules once its map is @built; a
 * range without buckets sends them to the unit. */
static void dwarf__publish(struct dwarf_file *d, struct dw_unit *u, bool built)
{
	struct dw_range *r;
	uint32_t i;

	for (i = u->first_range; i < d->nranges; i = r->next) {
		r = &d->ranges[i];
		if (!built || !u->nrows) {
			r->bucket = NULL;
			continue;
		}
		r->rows = u->rows;
		dwarf__fill_granules(d, i);
	}
}

/*
 * The unit's map from what was collected, in one block of the chunks: its
 * rows, one more at its hi, then its scopes (rows and scopes reach each
 * other by offsets). The buckets of its ranges come just before. Charged
 * to the budget.
 */
static int dwarf__build_map(struct dwarf_file *d, struct dw_unit *u,
			    struct unit_build *b)
{
	size_t cap = b->nsrc + 2 * b->nspans + 1, n, i, bytes;
	struct dw_state *states = NULL;
	const struct dw_scope_src *ss;
	struct dw_scope *scopes;
	uint64_t *keys = NULL;
	uint32_t *open = NULL;
	struct dw_row *rows;
	int err = -ENOMEM;

	if (cap >= UINT32_MAX || u->hi - u->lo >= DWARF_MAX_SPAN)
		return -E2BIG;
	if (b->nspans)
		qsort(b->spans, b->nspans, sizeof(*b->spans), span_cmp);
	if (!build__charge(d, b,
			   b->nspans * sizeof(*open) +
				   cap * (sizeof(*keys) + sizeof(*states))))
		return -EFBIG;
	open = malloc((b->nspans ? b->nspans : 1) * sizeof(*open));
	keys = malloc(cap * sizeof(*keys));
	states = malloc(cap * sizeof(*states));
	if (!open || !keys || !states)
		goto out;
	n = build__sweep(u, b, open, keys, states);
	err = 0;
	if (!n)
		goto out;
	bytes = (n + 1) * sizeof(*rows) + b->nscopes * sizeof(*scopes);
	err = -E2BIG;
	if (bytes > INT32_MAX)
		goto out;
	err = -EFBIG;
	if (dwarf__bucket_ranges(d, u, keys, n))
		goto out;
	rows = dwarf__alloc(d, bytes);
	if (!rows)
		goto out;
	scopes = (struct dw_scope *)(rows + n + 1);
	for (i = 0; i < b->nscopes; i++) {
		ss = &b->scopes[i];
		scopes[i] = (struct dw_scope){
			.name = ss->name,
			.call_file = ss->call_file,
			.call_line = ss->call_line,
			/* Parents come first: a negative step. */
			.parent = ss->parent < i ?
					  (int32_t)ss->parent - (int32_t)i :
					  0,
		};
	}
	for (i = 0; i < n; i++) {
		rows[i] = (struct dw_row){
			.key = (uint32_t)keys[i],
			.line = states[i].line,
			.file = states[i].file,
		};
		if (states[i].scope < b->nscopes)
			rows[i].scope =
				(int32_t)((char *)&scopes[states[i].scope] -
					  (char *)&rows[i]);
	}
	rows[n] = (struct dw_row){ .key = (uint32_t)u->hi, .file = DWARF_NONE };
	u->rows = rows;
	u->nrows = (uint32_t)n;
	err = 0;
out:
	free(open);
	free(keys);
	free(states);
	return err;
}

/* Lines, scopes, then the map of the unit at @cu. */
static int dwarf__index_unit(struct dwarf_file *d, struct dw_unit *u,
			     Dwarf_Die *cu)
{
	struct unit_build b = { 0 };
	int err;

	err = dwarf__collect_lines(d, &b, cu);
	if (!err)
		err = dwarf__collect_scopes(d, &b, cu);
	if (!err && (b.nsrc || b.nspans))
		err = dwarf__build_map(d, u, &b);
	dwarf__publish(d, u, !err);
	build__free(d, &b);
	return err;
}

/* The range holding @vaddr, its unit indexed; NULL with *ret_failed
 * false when no unit (or no row of it) covers @vaddr, true when its unit
 * could not be indexed. */
static const struct dw_range *dwarf__range(struct dwarf_file *d, uint64_t vaddr,
					   bool *ret_failed)
{
	const struct dw_range *r;
	struct dw_unit *u;
	size_t lo, hi, mid;
	Dwarf_Die cu;

	*ret_failed = false;
	if (!dw_index__window(&d->rix, d->nranges, vaddr, &lo, &hi))
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (d->ranges[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	r = &d->ranges[lo - 1];
	if (vaddr >= r->hi)
		return NULL;
	if (r->bucket)
		return r;
	u = &d->units[r->unit];
	*ret_failed = u->failed;
	if (u->indexed)
		return NULL;
	if (!dwarf__need(d)) {
		/* Not read again: stays unindexed, counted once. */
		u->indexed = true;
		u->failed = true;
		d->st.walk_limited++;
		return NULL;
	}
	u->indexed = true;
	if (!dwarf_offdie(d->dbg, u->die_off, &cu)) {
		u->failed = true;
		*ret_failed = true;
		return NULL;
	}
	if (dwarf__index_unit(d, u, &cu)) {
		u->failed = true;
		*ret_failed = true;
		d->st.walk_limited++;
		return NULL;
	}
	return r->bucket ? r : NULL;
}

/* The row in force at @vaddr from the granule table; NULL: ask the
 * ranges. */
static const struct dw_row *dwarf__granule_row(const struct dwarf_file *d,
					       uint64_t vaddr)
{
	const struct dw_row *row;
	uint64_t g = (vaddr - d->gbase) >> DWARF_GRANULE_SHIFT;

	if (vaddr < d->gbase || g >= d->ngran)
		return NULL;
	row = d->gran[g];
	/* The unit's rows end with one at its hi, past any vaddr here. */
	while (row && key_le(row[1].key, vaddr))
		row++;
	return row;
}

/* Frames from a row, innermost first, into all[]; see dwarf__lookup(). */
static size_t dwarf__from_row(const struct dwarf_file *d,
			      const struct dw_row *row, struct dwarf_frame *all)
{
	const struct dw_scope *s = NULL;
	size_t n = 0;

	all[0].name = NULL;
	all[0].file = row->file < d->nfiles ? d->files[row->file] : NULL;
	all[0].line = row->line;
	if (row->scope)
		s = (const struct dw_scope *)((const char *)row + row->scope);
	/* Each scope's parent comes before it: no cycles; bounded anyway. */
	for (; s && n < DWARF_MAX_FRAMES;
	     s = s->parent ? s + s->parent : NULL) {
		all[n].name = s->name;
		if (n + 1 < DWARF_MAX_FRAMES) {
			all[n + 1].name = NULL;
			all[n + 1].file = s->parent ? s->call_file : NULL;
			all[n + 1].line = s->parent ? s->call_line : 0;
		}
		n++;
	}
	if (!n && all[0].file)
		n = 1;
	return n;
}

/* Frames for @vaddr in a unit too large to index, walking its DIEs. */
static size_t dwarf__walk_frames(struct dwarf_file *d, uint64_t vaddr,
				 struct dwarf_frame *all)
{
	Dwarf_Die cu, chain[DWARF_MAX_FRAMES];
	Dwarf_Line *line;
	size_t n, i, k;
	int lineno;

	if (!dwarf__need(d) || !dwarf_addrdie(d->dbg, vaddr, &cu))
		return 0;
	n = dwarf__walk(d, &cu, vaddr, chain, DWARF_MAX_FRAMES);
	/* all[0] innermost: the line table; each outer frame sits at the
	 * call site of the one inside it. */
	memset(all, 0, DWARF_MAX_FRAMES * sizeof(*all));
	line = dwarf_getsrc_die(&cu, vaddr);
	if (line) {
		all[0].file = dwarf_linesrc(line, NULL, NULL);
		if (dwarf_lineno(line, &lineno) == 0 && lineno > 0)
			all[0].line = (uint32_t)lineno;
	}
	if (!n) {
		all[0].file = dwarf__own(d, all[0].file);
		return all[0].file ? 1 : 0;
	}
	for (i = 0; i < n; i++) {
		k = n - 1 - i; /* chain is outermost first */
		all[i].name = die_name(&chain[k]);
		if (i + 1 < n)
			call_site(&cu, &chain[k], &all[i + 1]);
	}
	/* The caller keeps the names as long as the file: they must
	 * outlive libdw. */
	for (i = 0; i < n; i++) {
		all[i].name = dwarf__own(d, all[i].name);
		all[i].file = dwarf__own(d, all[i].file);
	}
	return n;
}

/* dwarf__walk_frames() through the cache of walked addresses. */
static size_t dwarf__walked(struct dwarf_file *d, uint64_t vaddr, uint64_t h,
			    struct dwarf_frame *all)
{
	struct dwarf_walked *w;
	size_t n;

	if (!d->walked && dwarf__charge(d, DWARF_WALK_SLOTS * sizeof(*w))) {
		d->walked = calloc(DWARF_WALK_SLOTS, sizeof(*w));
		if (!d->walked)
			dwarf__uncharge(d, DWARF_WALK_SLOTS * sizeof(*w));
	}
	w = d->walked ? &d->walked[h % DWARF_WALK_SLOTS] : NULL;
	if (w && w->key == vaddr + 1) {
		d->st.cache_hits++;
		memcpy(all, w->f, w->n * sizeof(*all));
		return w->n;
	}
	n = dwarf__walk_frames(d, vaddr, all);
	if (w && n <= DWARF_WALK_FRAMES) {
		w->key = vaddr + 1;
		w->n = (uint32_t)n;
		memcpy(w->f, all, n * sizeof(*all));
	}
	return n;
}

size_t dwarf__lookup(struct dwarf_file *d, uint64_t vaddr,
		     struct dwarf_frame *out, size_t max)
{
	struct dwarf_frame all[DWARF_MAX_FRAMES];
	const struct dw_row *row = NULL;
	const struct dw_range *r;
	struct dwarf_slot *s;
	size_t n = 0, i;
	uint64_t h;
	bool failed;

	if (!d || !max)
		return 0;
	d->st.lookups++;
	h = (vaddr * 0x9e3779b97f4a7c15ull) >> 40;
	s = &d->slots[h % DWARF_CACHE_SLOTS];
	if (s->key == vaddr + 1) {
		d->st.cache_hits++;
		row = s->row;
	} else {
		row = dwarf__granule_row(d, vaddr);
		if (!row) {
			r = dwarf__range(d, vaddr, &failed);
			if (r)
				row = dw_range__find(r, vaddr);
			else if (failed)
				n = dwarf__walked(d, vaddr, h, all);
		}
		if (row)
			*s = (struct dwarf_slot){ .key = vaddr + 1,
						  .row = row };
	}
	if (row)
		n = dwarf__from_row(d, row, all);
	dwarf__idle(d);
	/* Keep the outermost frames when @max is short. */
	i = n > max ? n - max : 0;
	memcpy(out, all + i, (n - i) * sizeof(*all));
	return n - i;
}
