// SPDX-License-Identifier: Apache-2.0
/* Symbolizer input: one ELF file (or the [vdso] image) read with libelf into
 * a compact table the symbolizer caches per file: function symbols sorted
 * by address, PT_LOAD segments for offset translation, the GNU build-id. */
#include <errno.h>
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

struct elfsym_seg {
	uint64_t off;
	uint64_t filesz;
	uint64_t vaddr;
};

struct elfsym_sym {
	uint32_t size;
	uint32_t name; /* offset in ->names */
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
	char *names;
	size_t names_len;
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

/* A symbol while the tables are merged; names point into libelf data. */
struct elfsym_cand {
	uint64_t addr;
	uint64_t end;
	const char *name;
	uint32_t rank; /* lower wins among symbols at one address */
	bool sized;
};

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
		cap = c->cap ? c->cap * 2 : 1024;
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
 * (getpid over __getpid), then global over weak over local. */
static uint32_t cand_rank(bool symtab, bool sized, const char *name, int bind)
{
	uint32_t us = 0, b;

	while (name[us] == '_' && us < 3)
		us++;
	b = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
	return (symtab ? 0 : 1u << 12) | (sized ? 0 : 1u << 8) | (us << 4) | b;
}

/* End of the section a symbol lives in, to stop an unsized symbol there. */
static uint64_t section_end(Elf *elf, size_t shnum, const GElf_Sym *sym)
{
	GElf_Shdr sh;
	Elf_Scn *scn;

	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE ||
	    sym->st_shndx >= shnum)
		return UINT64_MAX;
	scn = elf_getscn(elf, sym->st_shndx);
	if (!scn || !gelf_getshdr(scn, &sh))
		return UINT64_MAX;
	if (sym->st_value < sh.sh_addr ||
	    sym->st_value - sh.sh_addr >= sh.sh_size)
		return UINT64_MAX;
	return sh.sh_addr + sh.sh_size;
}

static int elfsym__read_symtab(struct elfsym *e, struct elfsym_cands *c,
			       Elf *elf, Elf_Scn *scn, size_t shnum,
			       uint64_t size)
{
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	uint64_t n, i;
	struct elfsym_cand x;
	Elf_Data *data, *strs;
	GElf_Shdr sh, strsh;
	Elf_Scn *strscn;
	GElf_Sym sym;
	const char *strbuf;
	bool symtab;
	int type, err;

	if (!gelf_getshdr(scn, &sh) || !entsize || sh.sh_entsize != entsize ||
	    !shdr_readable(&sh, size, ELFSYM_MAX_TABLE_BYTES))
		return 0;
	symtab = sh.sh_type == SHT_SYMTAB;
	if (sh.sh_link == 0 || sh.sh_link >= shnum)
		return 0;
	strscn = elf_getscn(elf, sh.sh_link);
	if (!strscn || !gelf_getshdr(strscn, &strsh) ||
	    strsh.sh_type != SHT_STRTAB ||
	    !shdr_readable(&strsh, size, ELFSYM_MAX_TABLE_BYTES))
		return 0;
	data = elf_getdata(scn, NULL);
	strs = elf_getdata(strscn, NULL);
	if (!data || !strs || !data->d_buf || !strs->d_buf)
		return 0;
	strbuf = strs->d_buf;
	n = data->d_size / entsize;
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
			continue;
		if (sym.st_name == 0 || sym.st_name >= strs->d_size ||
		    !memchr(strbuf + sym.st_name, '\0',
			    strs->d_size - sym.st_name))
			continue;
		x.addr = sym.st_value;
		x.name = strbuf + sym.st_name;
		x.sized = sym.st_size != 0;
		if (x.sized) {
			if (sym.st_size > UINT32_MAX ||
			    sym.st_value + sym.st_size < sym.st_value)
				continue;
			x.end = sym.st_value + sym.st_size;
		} else {
			x.end = section_end(elf, shnum, &sym);
			if (x.end - x.addr > ELFSYM_UNSIZED_MAX)
				x.end = UINT64_MAX - x.addr <
							ELFSYM_UNSIZED_MAX ?
						UINT64_MAX :
						x.addr + ELFSYM_UNSIZED_MAX;
		}
		x.rank = cand_rank(symtab, x.sized, x.name,
				   GELF_ST_BIND(sym.st_info));
		err = cands__push(c, &x);
		if (err == -E2BIG)
			e->dropped++;
		else if (err)
			return err;
	}
	return 0;
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct elfsym_cand *a = pa, *b = pb;
	size_t la, lb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	la = strlen(a->name);
	lb = strlen(b->name);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* One symbol per address (the best-ranked name), names into one pool. */
static int elfsym__build(struct elfsym *e, struct elfsym_cands *c)
{
	size_t i, j, k, n = 0, pool = 0, len;
	struct elfsym_cand *y;
	uint64_t end;
	bool sized;

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
			if (y->sized && (!sized || y->end > end)) {
				sized = true;
				end = y->end;
			} else if (!y->sized && !sized && y->end > end) {
				end = y->end;
			}
		}
		c->v[n] = c->v[i];
		c->v[n].end = end;
		c->v[n].sized = sized;
		n++;
	}
	c->n = n;
	e->syms = malloc(n * sizeof(*e->syms));
	e->addrs = malloc(n * sizeof(*e->addrs));
	e->top = malloc((n / ELFSYM_BLOCK + 1) * sizeof(*e->top));
	if (!e->syms || !e->addrs || !e->top)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pool += strlen(c->v[i].name) + 1;
	if (pool > UINT32_MAX)
		pool = UINT32_MAX;
	e->names = malloc(pool);
	if (!e->names)
		return -ENOMEM;
	for (i = 0, k = 0; i < n; i++) {
		struct elfsym_cand *x = &c->v[i];

		len = strlen(x->name) + 1;
		if (len > pool - e->names_len) {
			e->dropped += n - i;
			break;
		}
		end = x->end;
		if (!x->sized && i + 1 < n && c->v[i + 1].addr < end)
			end = c->v[i + 1].addr;
		if (end - x->addr > UINT32_MAX)
			end = x->addr + UINT32_MAX;
		e->addrs[k] = x->addr;
		if (k % ELFSYM_BLOCK == 0)
			e->top[k / ELFSYM_BLOCK] = x->addr;
		e->syms[k].size = (uint32_t)(end - x->addr);
		e->syms[k].name = (uint32_t)e->names_len;
		memcpy(e->names + e->names_len, x->name, len);
		e->names_len += len;
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

static int elfsym__read_sections(struct elfsym *e, Elf *elf,
				 const GElf_Ehdr *eh, uint64_t size)
{
	size_t shnum, shstrndx, i, entsize, from_symtab = 0;
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
	}
	e->debug.has_dwarf = e->debug.has_dwarf && has_line;
	if (symtab) {
		err = elfsym__read_symtab(e, &c, elf, symtab, shnum, size);
		from_symtab = c.n;
	}
	if (!err && dynsym)
		err = elfsym__read_symtab(e, &c, elf, dynsym, shnum, size);
	if (!err)
		err = elfsym__build(e, &c);
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
	elfsym__read_phdrs(e, elf, &eh, src->size);
	err = elfsym__read_sections(e, elf, &eh, src->size);
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

const char *elfsym__name(const struct elfsym *e, size_t index)
{
	return index < e->nsyms ? e->names + e->syms[index].name : NULL;
}

const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr,
			   uint64_t *ret_offset)
{
	int64_t k = elfsym__lookup_index(e, vaddr, ret_offset);

	return k < 0 ? NULL : e->names + e->syms[k].name;
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
	       (e->nsyms / ELFSYM_BLOCK + 1) * sizeof(*e->top) + e->names_len;
}

void elfsym__free(struct elfsym *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->addrs);
	free(e->top);
	free(e->names);
	free(e);
}
