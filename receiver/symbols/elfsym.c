// SPDX-License-Identifier: Apache-2.0
/* Symbolizer input: one ELF file (or the [vdso] image) read with libelf into
 * a compact table the symbolizer caches per file: function symbols sorted
 * by address, PT_LOAD segments for offset translation, the GNU build-id.
 * The names of a file's symbols stay in the file: the table keeps its own
 * descriptor and reads a name with pread() when it is asked for one. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "receiver/symbols/elfsym.h"
#include "receiver/runtimes/go/pclntab.h"

#define ELFSYM_MAX_SEGMENTS 64 /* real files have 2 to 6 PT_LOADs */
/* A symbol without a size (hand-written assembly) covers up to the next
 * symbol or the end of its section, but never more than this. */
#define ELFSYM_UNSIZED_MAX 16384
#define ELFSYM_MAX_NOTE_BYTES (1u << 20)
#define ELFSYM_MAX_TABLE_BYTES (1ull << 30) /* one .symtab or its strings */
/* How many lower symbols a lookup checks when the nearest one ends before
 * the address (a sized symbol nested inside a larger one). */
#define ELFSYM_NEST_SCAN 8
#define ELFSYM_MAX_DEBUGDATA (64u << 20) /* compressed .gnu_debugdata */
/* Loading reads symbol tables and their strings through buffers of these
 * sizes, never a whole table: the transient memory of a load is the
 * candidates (24 bytes a symbol) and these. */
#define ELFSYM_SYM_CHUNK (64u << 10)
#define ELFSYM_STR_CHUNK (256u << 10)
/* A name read for a lookup is read in a first small piece. */
#define ELFSYM_NAME_FIRST_READ 256

struct elfsym_seg {
	uint64_t off;
	uint64_t filesz;
	uint64_t vaddr;
};

struct elfsym_sym {
	uint32_t size;
	uint32_t name; /* offset in ->names; file offset when ->fd >= 0 */
};

/* Lookups search addrs[] through a small top-level array of every
 * ELFSYM_BLOCK-th address: a few cache lines per lookup instead of one
 * per step of a binary search over the whole table. */
#define ELFSYM_BLOCK 32

struct elfsym {
	uint64_t *addrs; /* sorted; addrs[i] is syms[i]'s start */
	struct elfsym_sym *syms;
	uint64_t *top; /* addrs[i * ELFSYM_BLOCK] */
	size_t nsyms;
	char *names; /* NULL when the names are read from ->fd */
	size_t names_len;
	/* The file the names are read from (ours, O_CLOEXEC), -1 when they
	 * are in ->names; its size and mtime at load tell a changed file. */
	int fd;
	uint64_t file_size;
	struct timespec file_mtime;
	/* elfsym__name() of an fd table: the names it read, per symbol (the
	 * symbolizer copies names out instead and never makes these). */
	char **named;
	size_t named_bytes;
	size_t name_errors; /* names that could not be read back */
	bool names_fallback; /* the descriptor could not be kept */
	struct elfsym_seg segs[ELFSYM_MAX_SEGMENTS];
	size_t nsegs;
	uint8_t build_id[ELFSYM_MAX_BUILD_ID];
	size_t build_id_len;
	/* Symbols left out: beyond ELFSYM_MAX_SYMBOLS, or whose table was
	 * corrupt. Kept for debugging; the cache has no use for it yet. */
	size_t dropped;
	struct elfsym_debug debug;
	char debuglink[ELFSYM_MAX_DEBUGLINK];
};

/* A symbol while the tables are merged: 24 bytes. */
struct elfsym_cand {
	uint64_t addr;
	uint32_t size; /* its extent: st_size, else to the section's end */
	uint32_t name; /* file offset of its name (tables under 4 GiB) */
	uint16_t len; /* name length, < ELFSYM_MAX_NAME */
	uint16_t rank; /* lower wins among symbols at one address */
};

#define CAND_UNSIZED (1u << 8) /* in rank: the symbol has no st_size */

struct elfsym_cands {
	struct elfsym_cand *v;
	size_t n;
	size_t cap;
};

/* Where the bytes come from: an fd (pread) or a private memory copy. */
struct elfsym_src {
	int fd;
	const unsigned char *mem;
	uint64_t size;
};

static pthread_once_t elfsym_once = PTHREAD_ONCE_INIT;

/* elf_version() only records that the caller knows the current version
 * (elfutils accepts EV_CURRENT always), but it writes a libelf global:
 * once per process. */
static void elfsym__init_libelf(void)
{
	(void)elf_version(EV_CURRENT);
}

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int src__read(const struct elfsym_src *src, uint64_t off, void *buf,
		     size_t len)
{
	ssize_t n;

	if (!range_ok(off, len, src->size))
		return -ENOEXEC;
	if (src->mem) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	n = pread(src->fd, buf, len, (off_t)off);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -ENOEXEC;
}

static uint64_t get_uint(const unsigned char *p, size_t len, bool msb)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[msb ? len - 1 - i : i] << (8 * i);
	return v;
}

/*
 * libelf sizes its section array from the header before we can look at
 * anything: an extended section count (e_shnum 0, the real count in the
 * sh_size of section 0) can claim billions of sections and make it
 * allocate that much. Such files are refused before elf_begin().
 */
static int elfsym__precheck(const struct elfsym_src *src)
{
	unsigned char eh[64], sh0[64];
	uint64_t shoff, shnum, entsize;
	bool is64, msb;
	int err;

	err = src__read(src, 0, eh, EI_NIDENT);
	if (err)
		return err;
	if (memcmp(eh, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	if (eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64)
		return -ENOEXEC;
	if (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)
		return -ENOEXEC;
	is64 = eh[EI_CLASS] == ELFCLASS64;
	msb = eh[EI_DATA] == ELFDATA2MSB;
	err = src__read(src, 0, eh,
			is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr));
	if (err)
		return err;
	if (is64) {
		shoff = get_uint(eh + offsetof(Elf64_Ehdr, e_shoff), 8, msb);
		entsize = get_uint(eh + offsetof(Elf64_Ehdr, e_shentsize), 2,
				   msb);
		shnum = get_uint(eh + offsetof(Elf64_Ehdr, e_shnum), 2, msb);
	} else {
		shoff = get_uint(eh + offsetof(Elf32_Ehdr, e_shoff), 4, msb);
		entsize = get_uint(eh + offsetof(Elf32_Ehdr, e_shentsize), 2,
				   msb);
		shnum = get_uint(eh + offsetof(Elf32_Ehdr, e_shnum), 2, msb);
	}
	if (shnum != 0 || shoff == 0)
		return 0;
	if (entsize != (is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
		return -ENOEXEC;
	err = src__read(src, shoff, sh0, entsize);
	if (err)
		return err;
	if (is64)
		shnum = get_uint(sh0 + offsetof(Elf64_Shdr, sh_size), 8, msb);
	else
		shnum = get_uint(sh0 + offsetof(Elf32_Shdr, sh_size), 4, msb);
	if (shnum > src->size / entsize ||
	    !range_ok(shoff, shnum * entsize, src->size))
		return -ENOEXEC;
	return 0;
}

static void elfsym__parse_notes(struct elfsym *e, Elf_Data *data)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	if (!data || !data->d_buf)
		return;
	while (off < data->d_size) {
		next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
		if (next == 0 || next <= off)
			return;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0 &&
		    nh.n_descsz > 0 && nh.n_descsz <= ELFSYM_MAX_BUILD_ID) {
			memcpy(e->build_id, (char *)data->d_buf + desc_off,
			       nh.n_descsz);
			e->build_id_len = nh.n_descsz;
			return;
		}
		off = next;
	}
}

static void elfsym__read_phdrs(struct elfsym *e, Elf *elf, const GElf_Ehdr *eh,
			       uint64_t size)
{
	size_t phnum, i, entsize = gelf_fsize(elf, ELF_T_PHDR, 1, EV_CURRENT);
	GElf_Phdr ph;
	Elf_Data *d;

	if (elf_getphdrnum(elf, &phnum) != 0 || phnum == 0)
		return;
	if (eh->e_phentsize != entsize || phnum > size / entsize ||
	    !range_ok(eh->e_phoff, (uint64_t)phnum * entsize, size))
		return;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph))
			return;
		/* A segment cut off by truncation still translates
		 * offsets; only notes are read from the file. */
		if (ph.p_type == PT_LOAD && ph.p_filesz > 0 &&
		    e->nsegs < ELFSYM_MAX_SEGMENTS) {
			e->segs[e->nsegs].off = ph.p_offset;
			e->segs[e->nsegs].filesz = ph.p_filesz;
			e->segs[e->nsegs].vaddr = ph.p_vaddr;
			e->nsegs++;
		} else if (ph.p_type == PT_NOTE && !e->build_id_len &&
			   ph.p_filesz > 0 &&
			   ph.p_filesz <= ELFSYM_MAX_NOTE_BYTES &&
			   range_ok(ph.p_offset, ph.p_filesz, size)) {
			d = elf_getdata_rawchunk(
				elf, (int64_t)ph.p_offset, ph.p_filesz,
				ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
			elfsym__parse_notes(e, d);
		}
	}
}

/* A section's bytes may only be read when they lie inside the file. */
static bool shdr_readable(const GElf_Shdr *sh, uint64_t size, uint64_t max)
{
	return sh->sh_type != SHT_NOBITS && !(sh->sh_flags & SHF_COMPRESSED) &&
	       sh->sh_size <= max && range_ok(sh->sh_offset, sh->sh_size, size);
}

static int cands__push(struct elfsym_cands *c, const struct elfsym_cand *x)
{
	struct elfsym_cand *v;
	size_t cap;

	if (c->n == ELFSYM_MAX_SYMBOLS)
		return -E2BIG;
	if (c->n == c->cap) {
		cap = c->cap ? c->cap + c->cap / 2 : 1024;
		if (cap > ELFSYM_MAX_SYMBOLS)
			cap = ELFSYM_MAX_SYMBOLS;
		v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *x;
	return 0;
}

/* Prefer .symtab, then a symbol with a size, then the name a user writes
 * (getpid over __getpid), then global over weak over local. The leading
 * underscores are added once the name has been read. */
static uint16_t cand_rank(bool symtab, bool sized, int bind)
{
	uint32_t b = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;

	return (uint16_t)((symtab ? 0 : 1u << 12) | (sized ? 0 : CAND_UNSIZED) |
			  b);
}

/* End of the section a symbol lives in, to stop an unsized symbol there. */
static uint64_t section_end(Elf *elf, size_t shnum, uint64_t value,
			    uint64_t shndx)
{
	GElf_Shdr sh;
	Elf_Scn *scn;

	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx >= shnum)
		return UINT64_MAX;
	scn = elf_getscn(elf, shndx);
	if (!scn || !gelf_getshdr(scn, &sh))
		return UINT64_MAX;
	if (value < sh.sh_addr || value - sh.sh_addr >= sh.sh_size)
		return UINT64_MAX;
	return sh.sh_addr + sh.sh_size;
}

/* One symbol entry, decoded from the file's byte order and class. */
struct elfsym_raw {
	uint32_t name;
	uint8_t info;
	uint16_t shndx;
	uint64_t value;
	uint64_t size;
};

static void raw_sym(const unsigned char *p, bool is64, bool msb,
		    struct elfsym_raw *r)
{
	if (is64) {
		r->name = (uint32_t)get_uint(p + offsetof(Elf64_Sym, st_name),
					     4, msb);
		r->info = p[offsetof(Elf64_Sym, st_info)];
		r->shndx = (uint16_t)get_uint(p + offsetof(Elf64_Sym, st_shndx),
					      2, msb);
		r->value = get_uint(p + offsetof(Elf64_Sym, st_value), 8, msb);
		r->size = get_uint(p + offsetof(Elf64_Sym, st_size), 8, msb);
	} else {
		r->name = (uint32_t)get_uint(p + offsetof(Elf32_Sym, st_name),
					     4, msb);
		r->info = p[offsetof(Elf32_Sym, st_info)];
		r->shndx = (uint16_t)get_uint(p + offsetof(Elf32_Sym, st_shndx),
					      2, msb);
		r->value = get_uint(p + offsetof(Elf32_Sym, st_value), 4, msb);
		r->size = get_uint(p + offsetof(Elf32_Sym, st_size), 4, msb);
	}
}

static int cand_by_name(const void *pa, const void *pb)
{
	const struct elfsym_cand *a = pa, *b = pb;

	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	return 0;
}

/*
 * Reads the names of candidates v[0..n) (offsets into the string table at
 * [str_off, str_off + str_size)) through one buffer, in file order: each
 * gets its length and the underscores of its rank, or is dropped when its
 * name has no NUL within the table and ELFSYM_MAX_NAME. Returns how many
 * remain (compacted to the front) or -errno.
 */
static ssize_t elfsym__scan_names(struct elfsym *e,
				  const struct elfsym_src *src,
				  struct elfsym_cand *v, size_t n,
				  uint64_t str_off, uint64_t str_size,
				  unsigned char *buf)
{
	uint64_t end = str_off + str_size, at = 0, have = 0, o, want;
	const unsigned char *p, *nul;
	size_t i, k = 0, us;
	int err;

	qsort(v, n, sizeof(*v), cand_by_name);
	for (i = 0; i < n; i++) {
		o = v[i].name;
		want = end - o < ELFSYM_MAX_NAME ? end - o : ELFSYM_MAX_NAME;
		if (o < at || o + want > at + have) {
			at = o;
			have = end - o < ELFSYM_STR_CHUNK ? end - o :
							    ELFSYM_STR_CHUNK;
			err = src__read(src, at, buf, have);
			if (err) {
				e->dropped += n - i;
				have = 0;
				break;
			}
		}
		p = buf + (o - at);
		nul = memchr(p, '\0', want);
		if (!nul || nul == p) {
			e->dropped++;
			continue;
		}
		for (us = 0; us < 3 && p[us] == '_'; us++)
			;
		v[k] = v[i];
		v[k].len = (uint16_t)(nul - p);
		v[k].rank |= (uint16_t)(us << 4);
		k++;
	}
	return (ssize_t)k;
}

/*
 * Adds the function symbols of one symbol table to @c: entries read in
 * ELFSYM_SYM_CHUNK pieces, then their names checked in file order. Only
 * the header of its string table is needed; no section stays in memory.
 */
static int elfsym__read_symtab(struct elfsym *e, struct elfsym_cands *c,
			       const struct elfsym_src *src, Elf *elf,
			       Elf_Scn *scn, size_t shnum, bool is64, bool msb)
{
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	uint64_t n, i, j, per, take, end, size;
	size_t first = c->n;
	struct elfsym_cand x;
	struct elfsym_raw r;
	GElf_Shdr sh, strsh;
	unsigned char *buf;
	Elf_Scn *strscn;
	bool symtab, sized;
	ssize_t kept;
	int type, err = 0;

	if (!gelf_getshdr(scn, &sh) || !entsize || sh.sh_entsize != entsize ||
	    !shdr_readable(&sh, src->size, ELFSYM_MAX_TABLE_BYTES))
		return 0;
	symtab = sh.sh_type == SHT_SYMTAB;
	if (sh.sh_link == 0 || sh.sh_link >= shnum)
		return 0;
	strscn = elf_getscn(elf, sh.sh_link);
	if (!strscn || !gelf_getshdr(strscn, &strsh) ||
	    strsh.sh_type != SHT_STRTAB ||
	    !shdr_readable(&strsh, src->size, ELFSYM_MAX_TABLE_BYTES))
		return 0;
	n = sh.sh_size / entsize;
	/* Candidates name their strings by a 32-bit file offset. */
	if (strsh.sh_offset + strsh.sh_size > UINT32_MAX) {
		e->dropped += n;
		return 0;
	}
	buf = malloc(ELFSYM_STR_CHUNK);
	if (!buf)
		return -ENOMEM;
	per = ELFSYM_SYM_CHUNK / entsize;
	for (i = 0; i < n && !err; i += take) {
		take = n - i < per ? n - i : per;
		if (src__read(src, sh.sh_offset + i * entsize, buf,
			      take * entsize) != 0)
			break;
		for (j = 0; j < take; j++) {
			raw_sym(buf + j * entsize, is64, msb, &r);
			type = GELF_ST_TYPE(r.info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			if (r.shndx == SHN_UNDEF || r.value == 0)
				continue;
			if (r.name == 0 || r.name >= strsh.sh_size)
				continue;
			sized = r.size != 0;
			if (sized) {
				if (r.size > UINT32_MAX ||
				    r.value + r.size < r.value)
					continue;
				size = r.size;
			} else {
				end = section_end(elf, shnum, r.value, r.shndx);
				size = end - r.value;
				if (size > ELFSYM_UNSIZED_MAX)
					size = ELFSYM_UNSIZED_MAX;
				if (UINT64_MAX - r.value < size)
					size = UINT64_MAX - r.value;
			}
			x.addr = r.value;
			x.size = (uint32_t)size;
			x.name = (uint32_t)(strsh.sh_offset + r.name);
			x.len = 0;
			x.rank = cand_rank(symtab, sized, GELF_ST_BIND(r.info));
			err = cands__push(c, &x);
			if (err == -E2BIG) {
				e->dropped++;
				err = 0;
			}
		}
	}
	/* None from this table: c->v may still be NULL. */
	if (!err && c->n > first) {
		kept = elfsym__scan_names(e, src, c->v + first, c->n - first,
					  strsh.sh_offset, strsh.sh_size, buf);
		if (kept < 0)
			err = (int)kept;
		else
			c->n = first + (size_t)kept;
	}
	free(buf);
	return err;
}

static int go_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return src__read(ctx, off, buf, len);
}

struct go_funcs {
	struct elfsym *e;
	struct elfsym_cands *c;
};

static int go_func(void *ctx, uint64_t addr, uint64_t size, uint64_t name)
{
	struct go_funcs *g = ctx;
	struct elfsym_cand x = {
		.addr = addr,
		.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size,
		.name = (uint32_t)name,
		.rank = cand_rank(true, true, STB_GLOBAL),
	};
	int err;

	if (name > UINT32_MAX)
		return -E2BIG;
	err = cands__push(g->c, &x);
	if (err == -E2BIG) {
		g->e->dropped++;
		err = 0;
	}
	return err;
}

/*
 * A Go binary without .symtab: its functions from .gopclntab (runtimes/go/pclntab.h),
 * their names checked in file order as a string table's. A table this
 * reader does not know, or whose text it cannot place, adds nothing.
 */
static int elfsym__read_gopclntab(struct elfsym *e, struct elfsym_cands *c,
				  const struct elfsym_src *src,
				  struct gopclntab_input *in)
{
	struct go_funcs g = { e, c };
	uint64_t names_off, names_size;
	size_t first = c->n;
	unsigned char *buf;
	ssize_t kept;
	int err;

	in->read = go_read;
	in->read_ctx = (void *)src;
	err = gopclntab__funcs(in, go_func, &g, &names_off, &names_size);
	if (err == -ENOMEM)
		return err;
	if (err || c->n == first) {
		e->dropped += c->n - first;
		c->n = first;
		return 0;
	}
	buf = malloc(ELFSYM_STR_CHUNK);
	if (!buf)
		return -ENOMEM;
	kept = elfsym__scan_names(e, src, c->v + first, c->n - first, names_off,
				  names_size, buf);
	free(buf);
	if (kept < 0)
		return (int)kept;
	c->n = first + (size_t)kept;
	return 0;
}

/* By address, then rank, then the shorter name; the file offset of the
 * name last, so equal candidates sort the same on every load. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct elfsym_cand *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->name != b->name)
		return a->name < b->name ? -1 : 1;
	return 0;
}

/*
 * The names stay in the file: the table keeps a descriptor of its own.
 * False when it cannot (an in-memory image, the descriptor limit), and
 * the names are copied instead.
 */
static bool elfsym__keep_fd(struct elfsym *e, const struct elfsym_src *src)
{
	struct stat st;
	int fd;

	if (src->mem)
		return false;
	fd = fcntl(src->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		e->names_fallback = true;
		return false;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		e->names_fallback = true;
		return false;
	}
	e->fd = fd;
	e->file_size = (uint64_t)st.st_size;
	e->file_mtime = st.st_mtim;
	return true;
}

/* One symbol per address (the best-ranked name); the names stay in the
 * file, or are copied into one pool when the file cannot be kept open. */
static int elfsym__build(struct elfsym *e, const struct elfsym_src *src,
			 struct elfsym_cands *c)
{
	size_t i, j, k, n = 0, pool = 0, len;
	struct elfsym_cand *y;
	uint64_t end, yend;
	bool sized, ysized, in_file;

	if (!c->n)
		return 0;
	qsort(c->v, c->n, sizeof(*c->v), cand_cmp);
	for (i = 0; i < c->n; i = j) {
		/* The extent of an address is the largest real size any of
		 * its names has; unsized names only count without one. */
		sized = false;
		end = 0;
		for (j = i; j < c->n && c->v[j].addr == c->v[i].addr; j++) {
			y = &c->v[j];
			ysized = !(y->rank & CAND_UNSIZED);
			yend = y->addr + y->size;
			if (ysized && (!sized || yend > end)) {
				sized = true;
				end = yend;
			} else if (!ysized && !sized && yend > end) {
				end = yend;
			}
		}
		c->v[n] = c->v[i];
		c->v[n].size = (uint32_t)(end - c->v[i].addr);
		c->v[n].rank = (uint16_t)((c->v[i].rank & ~CAND_UNSIZED) |
					  (sized ? 0 : CAND_UNSIZED));
		n++;
	}
	c->n = n;
	/* Give back what the merge freed before the table is made. */
	y = realloc(c->v, n * sizeof(*c->v));
	if (y) {
		c->v = y;
		c->cap = n;
	}
	e->syms = malloc(n * sizeof(*e->syms));
	e->addrs = malloc(n * sizeof(*e->addrs));
	e->top = malloc((n / ELFSYM_BLOCK + 1) * sizeof(*e->top));
	if (!e->syms || !e->addrs || !e->top)
		return -ENOMEM;
	in_file = elfsym__keep_fd(e, src);
	if (!in_file) {
		for (i = 0; i < n; i++)
			pool += c->v[i].len + 1u;
		if (pool > UINT32_MAX)
			pool = UINT32_MAX;
		e->names = malloc(pool ? pool : 1);
		if (!e->names)
			return -ENOMEM;
	}
	for (i = 0, k = 0; i < n; i++) {
		struct elfsym_cand *x = &c->v[i];

		len = x->len + 1u;
		end = x->addr + x->size;
		if ((x->rank & CAND_UNSIZED) && i + 1 < n &&
		    c->v[i + 1].addr < end)
			end = c->v[i + 1].addr;
		if (in_file) {
			e->syms[k].name = x->name;
		} else {
			if (len > pool - e->names_len) {
				e->dropped += n - i;
				break;
			}
			/* Read again: checked once, but a file may change. */
			if (src__read(src, x->name, e->names + e->names_len,
				      len) != 0 ||
			    e->names[e->names_len + len - 1] != '\0' ||
			    memchr(e->names + e->names_len, '\0', len - 1)) {
				e->dropped++;
				continue;
			}
			e->syms[k].name = (uint32_t)e->names_len;
			e->names_len += len;
		}
		e->addrs[k] = x->addr;
		if (k % ELFSYM_BLOCK == 0)
			e->top[k / ELFSYM_BLOCK] = x->addr;
		e->syms[k].size = (uint32_t)(end - x->addr);
		k++;
	}
	e->nsyms = k;
	return 0;
}

/* Uncompressed size of a section, through its Chdr when SHF_COMPRESSED. */
static uint64_t section_size(Elf_Scn *scn, const GElf_Shdr *sh)
{
	GElf_Chdr ch;

	if (!(sh->sh_flags & SHF_COMPRESSED))
		return sh->sh_size;
	if (!gelf_getchdr(scn, &ch))
		return sh->sh_size;
	return ch.ch_size;
}

/* .gnu_debuglink: a file name, NUL, padding to 4, the CRC-32 (file order). */
static void elfsym__read_debuglink(struct elfsym *e, Elf_Scn *scn,
				   const GElf_Shdr *sh, bool msb)
{
	const unsigned char *p;
	Elf_Data *d;
	size_t len, crc_off;

	if (sh->sh_size > ELFSYM_MAX_DEBUGLINK + 8)
		return;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size < 6)
		return;
	p = d->d_buf;
	len = strnlen((const char *)p, d->d_size);
	if (len == 0 || len >= ELFSYM_MAX_DEBUGLINK ||
	    memchr(p, '/', len) != NULL)
		return;
	crc_off = (len + 4) & ~(size_t)3;
	if (crc_off + 4 > d->d_size)
		return;
	memcpy(e->debuglink, p, len);
	e->debuglink[len] = '\0';
	e->debug.debuglink = e->debuglink;
	e->debug.debuglink_crc = (uint32_t)get_uint(p + crc_off, 4, msb);
}

/* Notes what a section says about debug information. */
static void elfsym__note_section(struct elfsym *e, Elf_Scn *scn,
				 const GElf_Shdr *sh, const char *name,
				 uint64_t size, bool msb)
{
	uint64_t bytes;

	if (!name)
		return;
	if (strncmp(name, ".debug_", 7) == 0 ||
	    strncmp(name, ".zdebug_", 8) == 0) {
		if (sh->sh_type == SHT_NOBITS || !sh->sh_size ||
		    !range_ok(sh->sh_offset, sh->sh_size, size))
			return;
		bytes = section_size(scn, sh);
		e->debug.dwarf_bytes += bytes < (1ull << 40) ? bytes :
							       (1ull << 40);
		if (strcmp(name, ".debug_info") == 0)
			e->debug.has_dwarf = true;
	} else if (strcmp(name, ".gnu_debuglink") == 0 &&
		   sh->sh_type == SHT_PROGBITS &&
		   shdr_readable(sh, size, ELFSYM_MAX_DEBUGLINK + 8)) {
		elfsym__read_debuglink(e, scn, sh, msb);
	} else if (strcmp(name, ".gnu_debugdata") == 0 &&
		   sh->sh_type == SHT_PROGBITS &&
		   shdr_readable(sh, size, ELFSYM_MAX_DEBUGDATA)) {
		e->debug.debugdata_offset = sh->sh_offset;
		e->debug.debugdata_size = sh->sh_size;
	}
}

/* Notes the sections a Go binary's function table needs. */
static void go_section(struct gopclntab_input *go, const char *name,
		       const GElf_Shdr *sh, uint64_t size)
{
	struct gopclntab_section s = { sh->sh_addr, sh->sh_offset,
				       sh->sh_size };

	if (sh->sh_type == SHT_NOBITS || !range_ok(s.off, s.size, size))
		return;
	if (!strcmp(name, ".gopclntab"))
		go->pclntab = s;
	else if (!strcmp(name, ".text"))
		go->text = s;
	else if ((!strcmp(name, ".go.module") || !strcmp(name, ".noptrdata") ||
		  !strcmp(name, ".data")) &&
		 go->ndata < GOPCLNTAB_MAX_DATA)
		go->data[go->ndata++] = s;
}

static int elfsym__read_sections(struct elfsym *e, Elf *elf,
				 const GElf_Ehdr *eh,
				 const struct elfsym_src *src)
{
	bool is64 = eh->e_ident[EI_CLASS] == ELFCLASS64;
	uint64_t size = src->size;
	size_t shnum, shstrndx, i, entsize, from_symtab = 0;
	struct gopclntab_input go = { 0 };
	struct elfsym_cands c = { 0 };
	Elf_Scn *symtab = NULL, *dynsym = NULL, *scn;
	bool msb = eh->e_ident[EI_DATA] == ELFDATA2MSB, has_line = false;
	const char *name;
	GElf_Shdr sh;
	int err = 0;

	entsize = gelf_fsize(elf, ELF_T_SHDR, 1, EV_CURRENT);
	if (elf_getshdrnum(elf, &shnum) != 0 || shnum == 0)
		return 0;
	/* A corrupt header string index means a corrupt section table. */
	if (elf_getshdrstrndx(elf, &shstrndx) != 0 || shstrndx >= shnum)
		return 0;
	if (eh->e_shentsize != entsize || shnum > size / entsize ||
	    !range_ok(eh->e_shoff, (uint64_t)shnum * entsize, size))
		return 0;
	for (i = 1; i < shnum; i++) {
		scn = elf_getscn(elf, i);
		if (!scn || !gelf_getshdr(scn, &sh))
			return 0;
		if (sh.sh_type == SHT_SYMTAB && !symtab)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM && !dynsym)
			dynsym = scn;
		else if (sh.sh_type == SHT_NOTE && !e->build_id_len &&
			 shdr_readable(&sh, size, ELFSYM_MAX_NOTE_BYTES))
			elfsym__parse_notes(e, elf_getdata(scn, NULL));
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		elfsym__note_section(e, scn, &sh, name, size, msb);
		if (name && strcmp(name, ".debug_line") == 0 &&
		    sh.sh_type != SHT_NOBITS && sh.sh_size)
			has_line = true;
		if (name && is64 && !msb)
			go_section(&go, name, &sh, size);
	}
	e->debug.has_dwarf = e->debug.has_dwarf && has_line;
	if (symtab) {
		err = elfsym__read_symtab(e, &c, src, elf, symtab, shnum, is64,
					  msb);
		from_symtab = c.n;
	}
	if (!err && dynsym)
		err = elfsym__read_symtab(e, &c, src, elf, dynsym, shnum, is64,
					  msb);
	if (!err && !from_symtab && go.pclntab.size)
		err = elfsym__read_gopclntab(e, &c, src, &go);
	if (!err)
		err = elfsym__build(e, src, &c);
	e->debug.has_symtab = from_symtab > 0;
	free(c.v);
	return err;
}

static struct elfsym *elfsym__load(const struct elfsym_src *src, Elf *elf)
{
	struct elfsym *e = NULL;
	GElf_Ehdr eh;
	int err;

	if (!elf) {
		err = -ENOEXEC;
		goto err_out;
	}
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err = -ENOEXEC;
		goto err_out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto err_out;
	}
	e->fd = -1;
	elfsym__read_phdrs(e, elf, &eh, src->size);
	err = elfsym__read_sections(e, elf, &eh, src);
	if (err)
		goto err_free;
	return e;

err_free:
	elfsym__free(e);
err_out:
	errno = -err;
	return NULL;
}

struct elfsym *elfsym__load_fd(int fd)
{
	struct elfsym_src src = { .fd = fd };
	struct elfsym *e;
	struct stat st;
	Elf *elf;
	int err;

	pthread_once(&elfsym_once, elfsym__init_libelf);
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto err_out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		err = -ENOEXEC;
		goto err_out;
	}
	src.size = (uint64_t)st.st_size;
	err = elfsym__precheck(&src);
	if (err)
		goto err_out;
	/* ELF_C_READ reads with pread() on demand: a file truncated under
	 * us gives short reads, where a mapping would raise SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	e = elfsym__load(&src, elf);
	err = errno;
	elf_end(elf);
	errno = err;
	return e;

err_out:
	errno = -err;
	return NULL;
}

struct elfsym *elfsym__load_mem(const void *buf, size_t len)
{
	struct elfsym_src src = { .fd = -1, .size = len };
	struct elfsym *e = NULL;
	unsigned char *copy;
	Elf *elf;
	int err;

	pthread_once(&elfsym_once, elfsym__init_libelf);
	if (!buf || !len) {
		err = -ENOEXEC;
		goto err_out;
	}
	/* libelf may write to the image it parses; the caller's is not
	 * ours to touch (the vdso is read-only). */
	copy = malloc(len);
	if (!copy) {
		err = -ENOMEM;
		goto err_out;
	}
	memcpy(copy, buf, len);
	src.mem = copy;
	err = elfsym__precheck(&src);
	if (err)
		goto err_copy;
	elf = elf_memory((char *)copy, len);
	e = elfsym__load(&src, elf);
	err = -errno;
	elf_end(elf);
	free(copy);
	if (!e)
		errno = -err;
	return e;

err_copy:
	free(copy);
err_out:
	errno = -err;
	return NULL;
}

int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t file_offset,
			    uint64_t *ret_vaddr)
{
	const struct elfsym_seg *s;
	size_t i;

	if (!e)
		return -ENOENT;
	for (i = 0; i < e->nsegs; i++) {
		s = &e->segs[i];
		if (file_offset >= s->off && file_offset - s->off < s->filesz) {
			*ret_vaddr = file_offset - s->off + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

/* Index of the last symbol starting at or below @vaddr, + 1 (0: none). */
static size_t elfsym__upper(const struct elfsym *e, uint64_t vaddr)
{
	size_t lo = 0, hi = (e->nsyms + ELFSYM_BLOCK - 1) / ELFSYM_BLOCK, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e->top[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	/* Within block lo - 1: contiguous, a few cache lines. */
	hi = lo * ELFSYM_BLOCK < e->nsyms ? lo * ELFSYM_BLOCK : e->nsyms;
	lo = (lo - 1) * ELFSYM_BLOCK;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (e->addrs[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int64_t elfsym__lookup_index(const struct elfsym *e, uint64_t vaddr,
			     uint64_t *ret_offset)
{
	size_t up, i, k;

	if (!e || !e->nsyms)
		return -1;
	up = elfsym__upper(e, vaddr);
	for (i = 0; i < ELFSYM_NEST_SCAN && up > i; i++) {
		k = up - 1 - i;
		if (vaddr - e->addrs[k] < e->syms[k].size) {
			if (ret_offset)
				*ret_offset = vaddr - e->addrs[k];
			return (int64_t)k;
		}
	}
	return -1;
}

/* Whether the file still is the one the table was made from. */
static bool elfsym__file_unchanged(const struct elfsym *e)
{
	struct stat st;

	return fstat(e->fd, &st) == 0 && (uint64_t)st.st_size == e->file_size &&
	       st.st_mtim.tv_sec == e->file_mtime.tv_sec &&
	       st.st_mtim.tv_nsec == e->file_mtime.tv_nsec;
}

ssize_t elfsym__name_copy(struct elfsym *e, size_t index, char *buf, size_t cap)
{
	uint64_t off, want;
	const char *nul;
	ssize_t n, got;

	if (!e || index >= e->nsyms || cap < 2)
		return -ERANGE;
	if (e->fd < 0) {
		const char *name = e->names + e->syms[index].name;
		size_t len = strlen(name);

		if (len >= cap)
			return -ERANGE;
		memcpy(buf, name, len + 1);
		return (ssize_t)len;
	}
	off = e->syms[index].name;
	if (cap > ELFSYM_MAX_NAME)
		cap = ELFSYM_MAX_NAME;
	if (!elfsym__file_unchanged(e)) {
		e->name_errors++;
		return -ESTALE;
	}
	if (off >= e->file_size) {
		e->name_errors++;
		return -ENOEXEC;
	}
	want = e->file_size - off < cap ? e->file_size - off : cap;
	/* Most names are short: a first small read, the rest if needed. */
	got = 0;
	n = pread(e->fd, buf,
		  want < ELFSYM_NAME_FIRST_READ ? want : ELFSYM_NAME_FIRST_READ,
		  (off_t)off);
	if (n > 0) {
		got = n;
		nul = memchr(buf, '\0', (size_t)got);
		if (!nul && (uint64_t)got < want) {
			n = pread(e->fd, buf + got, want - (uint64_t)got,
				  (off_t)(off + (uint64_t)got));
			if (n > 0)
				got += n;
		}
	}
	nul = got > 0 ? memchr(buf, '\0', (size_t)got) : NULL;
	if (!nul || nul == buf) {
		e->name_errors++;
		return n < 0 ? -errno : -ENOEXEC;
	}
	return nul - buf;
}

const char *elfsym__name(struct elfsym *e, size_t index)
{
	char buf[ELFSYM_MAX_NAME];
	ssize_t len;

	if (!e || index >= e->nsyms)
		return NULL;
	if (e->fd < 0)
		return e->names + e->syms[index].name;
	if (!e->named) {
		e->named = calloc(e->nsyms, sizeof(*e->named));
		if (!e->named)
			return NULL;
		e->named_bytes = e->nsyms * sizeof(*e->named);
	}
	if (e->named[index])
		return e->named[index];
	len = elfsym__name_copy(e, index, buf, sizeof(buf));
	if (len <= 0)
		return NULL;
	e->named[index] = strdup(buf);
	if (e->named[index])
		e->named_bytes += (size_t)len + 1;
	return e->named[index];
}

const char *elfsym__lookup(struct elfsym *e, uint64_t vaddr,
			   uint64_t *ret_offset)
{
	int64_t k = elfsym__lookup_index(e, vaddr, ret_offset);

	return k < 0 ? NULL : elfsym__name(e, (size_t)k);
}

bool elfsym__names_in_file(const struct elfsym *e)
{
	return e && e->fd >= 0;
}

bool elfsym__names_fallback(const struct elfsym *e)
{
	return e && e->names_fallback;
}

size_t elfsym__name_errors(const struct elfsym *e)
{
	return e ? e->name_errors : 0;
}

size_t elfsym__build_id(const struct elfsym *e, uint8_t *buf, size_t cap)
{
	if (!e || !e->build_id_len || cap < e->build_id_len)
		return 0;
	memcpy(buf, e->build_id, e->build_id_len);
	return e->build_id_len;
}

int elfsym__peek_build_id(int fd, uint8_t *buf, size_t cap)
{
	struct elfsym_src src = { .fd = fd };
	struct elfsym *e = NULL;
	struct stat st;
	GElf_Ehdr eh;
	Elf *elf;
	int err;

	pthread_once(&elfsym_once, elfsym__init_libelf);
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return -ENOEXEC;
	src.size = (uint64_t)st.st_size;
	err = elfsym__precheck(&src);
	if (err)
		return err;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		err = -ENOEXEC;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto out;
	}
	elfsym__read_phdrs(e, elf, &eh, src.size);
	err = 0;
	if (e->build_id_len && e->build_id_len <= cap) {
		memcpy(buf, e->build_id, e->build_id_len);
		err = (int)e->build_id_len;
	}
out:
	free(e);
	elf_end(elf);
	return err;
}

void elfsym__debug(const struct elfsym *e, struct elfsym_debug *ret)
{
	if (!e) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = e->debug;
}

size_t elfsym__count(const struct elfsym *e)
{
	return e ? e->nsyms : 0;
}

size_t elfsym__memory(const struct elfsym *e)
{
	if (!e)
		return 0;
	return sizeof(*e) + e->nsyms * (sizeof(*e->syms) + sizeof(*e->addrs)) +
	       (e->nsyms / ELFSYM_BLOCK + 1) * sizeof(*e->top) + e->names_len +
	       e->named_bytes;
}

void elfsym__free(struct elfsym *e)
{
	size_t i;

	if (!e)
		return;
	free(e->syms);
	free(e->addrs);
	free(e->top);
	free(e->names);
	for (i = 0; e->named && i < e->nsyms; i++)
		free(e->named[i]);
	free(e->named);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}
