// SPDX-License-Identifier: Apache-2.0
/* The table compiler: an ELF file (fd or memory) in, its struct unwind_row
 * table out (table.h), for the BPF loader to copy into maps and the
 * user-space walk to search. Reads the ELF and program headers, the CFI
 * sections (pread, bounded), orders the FDEs, runs them (cfi.c) and
 * merges the rows. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "receiver/runtimes/go/pclntab.h"
#include "receiver/unwind/cfi.h"
#include "receiver/unwind/table.h"

#define TABLE_MAX_PHDRS 4096
#define TABLE_MAX_SHDRS (1u << 20)
#define TABLE_MAX_SEGS 16 /* PT_LOADs kept for the bias */
#define TABLE_MAX_NOTE_BYTES (64u << 10)
#define TABLE_MAX_SHSTRTAB (16u << 20)
#define TABLE_CIE_CACHE 64 /* real files have 1 to a few dozen CIEs */
#ifndef SHT_X86_64_UNWIND
#define SHT_X86_64_UNWIND 0x70000001
#endif

struct table_seg {
	uint64_t off;
	uint64_t filesz;
	uint64_t vaddr;
	bool exec;
};

struct unwind_table {
	struct unwind_row *rows;
	size_t n;
	size_t cap;
	uint64_t base;
	uint64_t extent;
	struct table_seg segs[TABLE_MAX_SEGS];
	size_t nsegs;
	uint8_t build_id[UNWIND_TABLE_MAX_BUILD_ID];
	size_t build_id_len;
	struct unwind_table_stats stats;
};

/* Where the bytes come from: an fd (pread) or borrowed memory. */
struct src {
	int fd;
	const uint8_t *mem;
	uint64_t size;
};

/* One ELF file's headers, as far as the compiler needs them. */
struct elf_file {
	struct src src;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	size_t nph;
	Elf64_Shdr *sh;
	size_t nsh;
	char *shstr;
	size_t shstr_len;
};

/* An FDE to run: where, and from which section (0 .eh_frame, 1 the
 * file's .debug_frame, 2 the debug file's). */
struct fde_ref {
	uint64_t start;
	uint64_t end;
	uint64_t off;
	uint32_t sec;
};

struct cie_slot {
	struct cfi_cie cie;
	uint32_t sec;
	bool used;
};

struct compile {
	struct unwind_table *t;
	uint32_t max_rows;
	struct cfi_section secs[3];
	struct cie_slot cies[TABLE_CIE_CACHE];
	struct fde_ref *fdes;
	size_t nfdes;
	size_t fdes_cap;
	/* The last row as merged, stored or not (past the cap). */
	struct unwind_row last;
	bool have_last;
	bool cut;
	/* The range the FDE being run may write. */
	uint64_t clip_lo;
	uint64_t clip_hi;
};

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static int src__read(const struct src *s, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	if (!range_ok(off, len, s->size))
		return -EINVAL;
	if (s->mem) {
		memcpy(buf, s->mem + off, len);
		return 0;
	}
	while (done < len) {
		n = pread(s->fd, (char *)buf + done, len - done,
			  (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EINVAL; /* truncated under us */
		done += (size_t)n;
	}
	return 0;
}

static int src__init_fd(struct src *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0)
		return -ENOEXEC;
	s->fd = fd;
	s->mem = NULL;
	s->size = (uint64_t)st.st_size;
	return 0;
}

static void elf_file__release(struct elf_file *f)
{
	free(f->ph);
	free(f->sh);
	free(f->shstr);
	f->ph = NULL;
	f->sh = NULL;
	f->shstr = NULL;
}

static int elf_file__read_shdrs(struct elf_file *f)
{
	uint64_t shnum = f->eh.e_shnum, shstrndx = f->eh.e_shstrndx;
	Elf64_Shdr sh0, *str;
	int err;

	if (!f->eh.e_shoff)
		return 0;
	if (f->eh.e_shentsize != sizeof(Elf64_Shdr))
		return -EINVAL;
	err = src__read(&f->src, f->eh.e_shoff, &sh0, sizeof(sh0));
	if (err)
		return err;
	/* Extended numbering: the real values are in section 0. */
	if (shnum == 0)
		shnum = sh0.sh_size;
	if (shstrndx == SHN_XINDEX)
		shstrndx = sh0.sh_link;
	if (shnum == 0)
		return 0;
	if (shnum > TABLE_MAX_SHDRS || shnum > f->src.size / sizeof(sh0) ||
	    !range_ok(f->eh.e_shoff, shnum * sizeof(sh0), f->src.size))
		return -EINVAL;
	f->sh = malloc(shnum * sizeof(*f->sh));
	if (!f->sh)
		return -ENOMEM;
	err = src__read(&f->src, f->eh.e_shoff, f->sh, shnum * sizeof(sh0));
	if (err)
		return err;
	f->nsh = shnum;
	if (shstrndx == SHN_UNDEF || shstrndx >= shnum)
		return 0; /* no names: sections cannot be found by name */
	str = &f->sh[shstrndx];
	if (str->sh_type != SHT_STRTAB || str->sh_size == 0 ||
	    str->sh_size > TABLE_MAX_SHSTRTAB)
		return 0;
	f->shstr = malloc(str->sh_size + 1);
	if (!f->shstr)
		return -ENOMEM;
	err = src__read(&f->src, str->sh_offset, f->shstr, str->sh_size);
	if (err)
		return err;
	f->shstr[str->sh_size] = '\0';
	f->shstr_len = str->sh_size;
	return 0;
}

/* Reads the ELF, program and section headers. -ENOEXEC: not an x86-64
 * ELF file; -EINVAL: headers that do not fit the file. */
static int elf_file__open(struct elf_file *f, bool need_phdrs)
{
	const Elf64_Ehdr *eh = &f->eh;
	int err;

	err = src__read(&f->src, 0, &f->eh, sizeof(f->eh));
	if (err)
		return err == -EINVAL ? -ENOEXEC : err;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64)
		return -ENOEXEC;
	if (need_phdrs || eh->e_phnum) {
		if (eh->e_phnum && eh->e_phentsize != sizeof(Elf64_Phdr))
			return -EINVAL;
		if (eh->e_phnum > TABLE_MAX_PHDRS ||
		    !range_ok(eh->e_phoff,
			      (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
			      f->src.size))
			return -EINVAL;
		if (eh->e_phnum) {
			f->ph = malloc(eh->e_phnum * sizeof(*f->ph));
			if (!f->ph)
				return -ENOMEM;
			err = src__read(&f->src, eh->e_phoff, f->ph,
					eh->e_phnum * sizeof(*f->ph));
			if (err)
				return err;
			f->nph = eh->e_phnum;
		}
	}
	return elf_file__read_shdrs(f);
}

static const Elf64_Shdr *elf_file__section(const struct elf_file *f,
					   const char *name)
{
	const Elf64_Shdr *sh;
	size_t i;

	if (!f->shstr)
		return NULL;
	for (i = 1; i < f->nsh; i++) {
		sh = &f->sh[i];
		if (sh->sh_name >= f->shstr_len || sh->sh_type == SHT_NOBITS)
			continue;
		if (strcmp(f->shstr + sh->sh_name, name) == 0)
			return sh;
	}
	return NULL;
}

/* Inflates a SHF_COMPRESSED section (zlib) of @len bytes at @raw. */
static int inflate_section(const uint8_t *raw, uint64_t len, uint8_t **ret,
			   uint64_t *ret_len)
{
	Elf64_Chdr ch;
	z_stream zs = { 0 };
	uint8_t *out;
	int zerr, err;

	if (len < sizeof(ch))
		return -EBADMSG;
	memcpy(&ch, raw, sizeof(ch));
	if (ch.ch_type != ELFCOMPRESS_ZLIB)
		return -EOPNOTSUPP;
	if (ch.ch_size == 0 || ch.ch_size > UNWIND_TABLE_MAX_SECTION)
		return ch.ch_size ? -EFBIG : -EBADMSG;
	out = malloc(ch.ch_size);
	if (!out)
		return -ENOMEM;
	if (inflateInit(&zs) != Z_OK) {
		err = -ENOMEM;
		goto err_free;
	}
	zs.next_in = (Bytef *)raw + sizeof(ch);
	zs.avail_in = (uInt)(len - sizeof(ch));
	zs.next_out = out;
	zs.avail_out = (uInt)ch.ch_size;
	zerr = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (zerr != Z_STREAM_END || zs.total_out != ch.ch_size) {
		err = -EBADMSG;
		goto err_free;
	}
	*ret = out;
	*ret_len = ch.ch_size;
	return 0;

err_free:
	free(out);
	return err;
}

/* Reads @len bytes at file offset @off into a new buffer; inflates them
 * when @compressed. */
static int read_bytes(const struct src *s, uint64_t off, uint64_t len,
		      bool compressed, uint8_t **ret, uint64_t *ret_len)
{
	uint8_t *buf;
	int err;

	if (len > UNWIND_TABLE_MAX_SECTION)
		return -EFBIG;
	if (!range_ok(off, len, s->size))
		return -EINVAL;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	err = src__read(s, off, buf, len);
	if (err)
		goto err_free;
	if (compressed) {
		err = inflate_section(buf, len, ret, ret_len);
		free(buf);
		return err;
	}
	*ret = buf;
	*ret_len = len;
	return 0;

err_free:
	free(buf);
	return err;
}

static void table__read_build_id(struct unwind_table *t,
				 const struct elf_file *f)
{
	uint8_t buf[TABLE_MAX_NOTE_BYTES];
	uint32_t namesz, descsz, type;
	uint64_t pos, align, len;
	size_t i;

	for (i = 0; i < f->nph && !t->build_id_len; i++) {
		if (f->ph[i].p_type != PT_NOTE || f->ph[i].p_filesz < 12)
			continue;
		len = f->ph[i].p_filesz;
		if (len > sizeof(buf) ||
		    src__read(&f->src, f->ph[i].p_offset, buf, len))
			continue;
		align = f->ph[i].p_align == 8 ? 8 : 4;
		for (pos = 0; len - pos >= 12;) {
			memcpy(&namesz, buf + pos, 4);
			memcpy(&descsz, buf + pos + 4, 4);
			memcpy(&type, buf + pos + 8, 4);
			pos += 12;
			if (namesz > len - pos)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 &&
			    memcmp(buf + pos, "GNU", 4) == 0) {
				pos += (namesz + align - 1) & ~(align - 1);
				if (pos > len || descsz > len - pos ||
				    descsz == 0 ||
				    descsz > UNWIND_TABLE_MAX_BUILD_ID)
					break;
				memcpy(t->build_id, buf + pos, descsz);
				t->build_id_len = descsz;
				break;
			}
			pos += (namesz + align - 1) & ~(align - 1);
			if (pos > len)
				break;
			pos += ((uint64_t)descsz + align - 1) & ~(align - 1);
			if (pos > len)
				break;
		}
	}
}

/* The executable segments: the table's base and extent. */
static int table__read_segments(struct unwind_table *t,
				const struct elf_file *f)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	const Elf64_Phdr *ph;
	size_t i;

	for (i = 0; i < f->nph; i++) {
		ph = &f->ph[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_filesz && t->nsegs < TABLE_MAX_SEGS) {
			t->segs[t->nsegs].off = ph->p_offset;
			t->segs[t->nsegs].filesz = ph->p_filesz;
			t->segs[t->nsegs].vaddr = ph->p_vaddr;
			t->segs[t->nsegs].exec = ph->p_flags & PF_X;
			t->nsegs++;
		}
		if (!(ph->p_flags & PF_X) || !ph->p_memsz)
			continue;
		if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
			return -EINVAL;
		if (ph->p_vaddr < lo)
			lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > hi)
			hi = ph->p_vaddr + ph->p_memsz;
	}
	if (lo >= hi)
		return -ENOEXEC;
	if (hi - lo > UINT32_MAX)
		return -EFBIG;
	t->base = lo;
	t->extent = hi - lo;
	return 0;
}

/* ---- rows ---------------------------------------------------------- */

static bool row_same_rules(const struct unwind_row *a,
			   const struct unwind_row *b)
{
	return a->cfa_type == b->cfa_type && a->rbp_type == b->rbp_type &&
	       a->cfa_offset == b->cfa_offset && a->rbp_offset == b->rbp_offset;
}

/* The rows array cut to its length: the doubling left up to half of it
 * unused, held as long as the table is (the loader keeps tables). */
static void table__fit(struct unwind_table *t)
{
	struct unwind_row *v;

	if (!t->n || t->n == t->cap)
		return;
	v = realloc(t->rows, t->n * sizeof(*v));
	if (!v)
		return;
	t->rows = v;
	t->cap = t->n;
}

static int table__push(struct compile *c, const struct unwind_row *row)
{
	struct unwind_table *t = c->t;
	struct unwind_row *v;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 1024;
		if (cap > c->max_rows)
			cap = c->max_rows;
		v = realloc(t->rows, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->rows = v;
		t->cap = cap;
	}
	t->rows[t->n++] = *row;
	return 0;
}

/* Adds the rules @row from ELF address @vaddr on, merged with the row
 * before when the rules are the same. Past the cap, one NONE row ends the
 * table and the rest is counted. */
static int table__emit(struct compile *c, uint64_t vaddr,
		       const struct unwind_row *row)
{
	struct unwind_table *t = c->t;
	struct unwind_row r = *row;

	r.pc = (uint32_t)(vaddr - t->base);
	if (c->have_last && row_same_rules(&c->last, &r))
		return 0;
	c->last = r;
	c->have_last = true;
	if (c->cut) {
		t->stats.rows_cut++;
		return 0;
	}
	if (t->n && t->rows[t->n - 1].pc == r.pc) {
		/* An empty row before: replaced (never in well-formed CFI,
		 * rows come with a length). */
		t->rows[t->n - 1] = r;
		return 0;
	}
	if (t->n + 1 >= c->max_rows) {
		memset(&r, 0, sizeof(r));
		r.pc = (uint32_t)(vaddr - t->base);
		c->cut = true;
		t->stats.rows_cut++;
	}
	return table__push(c, &r);
}

static int table__emit_none(struct compile *c, uint64_t vaddr)
{
	static const struct unwind_row none = { .cfa_type = UNWIND_CFA_NONE };

	return table__emit(c, vaddr, &none);
}

static int compile__row(void *ctx, uint64_t start, uint64_t end,
			const struct unwind_row *row)
{
	struct compile *c = ctx;

	if (start < c->clip_lo)
		start = c->clip_lo;
	if (end > c->clip_hi)
		end = c->clip_hi;
	if (start >= end)
		return 0;
	return table__emit(c, start, row);
}

/* ---- FDEs ---------------------------------------------------------- */

static int compile__cie(struct compile *c, uint32_t sec, uint64_t off,
			struct cfi_cie **ret)
{
	struct cie_slot *slot = &c->cies[(off / 4) % TABLE_CIE_CACHE];
	int err;

	if (slot->used && slot->sec == sec && slot->cie.off == off) {
		*ret = &slot->cie;
		return 0;
	}
	slot->used = false;
	err = cfi__parse_cie(&c->secs[sec], off, &slot->cie);
	if (err)
		return err;
	slot->used = true;
	slot->sec = sec;
	*ret = &slot->cie;
	return 0;
}

/* Parses the FDE at @off of section @sec (and its CIE). */
static int compile__fde(struct compile *c, uint32_t sec, uint64_t off,
			struct cfi_fde *fde, struct cfi_cie **ret_cie)
{
	enum cfi_entry_kind kind;
	uint64_t next, cie_off = 0;
	int err;

	err = cfi__entry(&c->secs[sec], off, &kind, &next, &cie_off);
	if (err)
		return err;
	if (kind != CFI_ENTRY_FDE)
		return -EBADMSG;
	err = compile__cie(c, sec, cie_off, ret_cie);
	if (err)
		return err;
	return cfi__parse_fde(&c->secs[sec], off, *ret_cie, fde);
}

static int compile__add_fde(struct compile *c, uint32_t sec,
			    const struct cfi_fde *fde)
{
	struct unwind_table *t = c->t;
	struct fde_ref *v;
	size_t cap;

	/* Code the linker dropped keeps its FDE at address 0 (or
	 * anywhere outside the text): nothing runs there. */
	if (fde->end <= fde->start || fde->end <= t->base ||
	    fde->start >= t->base + t->extent) {
		t->stats.fdes_skipped++;
		return 0;
	}
	if (c->nfdes == c->fdes_cap) {
		cap = c->fdes_cap ? c->fdes_cap * 2 : 256;
		v = realloc(c->fdes, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->fdes = v;
		c->fdes_cap = cap;
	}
	c->fdes[c->nfdes++] = (struct fde_ref){ .start = fde->start,
						.end = fde->end,
						.off = fde->off,
						.sec = sec };
	return 0;
}

/* Every FDE of a section, in file order. */
static int compile__scan(struct compile *c, uint32_t sec)
{
	const struct cfi_section *s = &c->secs[sec];
	enum cfi_entry_kind kind;
	uint64_t off = 0, next, cie_off;
	struct cfi_cie *cie;
	struct cfi_fde fde;
	int err;

	while (off < s->len) {
		err = cfi__entry(s, off, &kind, &next, &cie_off);
		if (err) {
			/* The lengths are lost from here on. */
			c->t->stats.fdes_corrupt++;
			return 0;
		}
		if (kind == CFI_ENTRY_END && s->eh)
			break;
		if (kind == CFI_ENTRY_FDE) {
			err = compile__cie(c, sec, cie_off, &cie);
			if (!err)
				err = cfi__parse_fde(s, off, cie, &fde);
			if (err)
				c->t->stats.fdes_corrupt++;
			else if ((err = compile__add_fde(c, sec, &fde)))
				return err;
		}
		off = next;
	}
	return 0;
}

/*
 * The FDEs of .eh_frame through .eh_frame_hdr's sorted table. -EBADMSG
 * when the header cannot be used (the caller scans instead).
 */
static int compile__hdr(struct compile *c, const uint8_t *hdr, uint64_t len,
			uint64_t hdr_vaddr)
{
	const struct cfi_section *s = &c->secs[0];
	uint64_t pos = 4, ptr, count, i, loc, addr;
	struct cfi_cie *cie;
	struct cfi_fde fde;
	int err;

	if (len < 4 || hdr[0] != 1 || hdr[3] == 0xff)
		return -EBADMSG;
	err = cfi__read_ptr(hdr, &pos, len, hdr_vaddr, hdr_vaddr, hdr[1], &ptr);
	if (err || ptr != s->vaddr)
		return -EBADMSG;
	err = cfi__read_ptr(hdr, &pos, len, hdr_vaddr, hdr_vaddr, hdr[2],
			    &count);
	if (err || count > len)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		if (cfi__read_ptr(hdr, &pos, len, hdr_vaddr, hdr_vaddr, hdr[3],
				  &loc) ||
		    cfi__read_ptr(hdr, &pos, len, hdr_vaddr, hdr_vaddr, hdr[3],
				  &addr))
			return -EBADMSG;
		if (addr < s->vaddr || addr - s->vaddr >= s->len) {
			c->t->stats.fdes_corrupt++;
			continue;
		}
		err = compile__fde(c, 0, addr - s->vaddr, &fde, &cie);
		if (err || fde.start != loc) {
			c->t->stats.fdes_corrupt++;
			continue;
		}
		err = compile__add_fde(c, 0, &fde);
		if (err)
			return err;
	}
	return 0;
}

static int fde_cmp(const void *pa, const void *pb)
{
	const struct fde_ref *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* .debug_frame FDEs fill only what .eh_frame leaves without CFI. */
static void compile__drop_shadowed(struct compile *c, size_t neh)
{
	size_t i, k = neh, lo, hi, mid;
	const struct fde_ref *d;

	for (i = neh; i < c->nfdes; i++) {
		d = &c->fdes[i];
		/* The last .eh_frame FDE starting before d's end. */
		lo = 0;
		hi = neh;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (c->fdes[mid].start < d->end)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo && c->fdes[lo - 1].end > d->start) {
			c->t->stats.fdes_skipped++;
			continue;
		}
		c->fdes[k++] = *d;
	}
	c->nfdes = k;
}

static bool fdes_sorted(const struct fde_ref *v, size_t lo, size_t hi)
{
	size_t i;

	for (i = lo + 1; i < hi; i++)
		if (fde_cmp(&v[i - 1], &v[i]) > 0)
			return false;
	return true;
}

/* Runs every FDE in address order into rows. */
static int compile__rows(struct compile *c)
{
	struct unwind_table *t = c->t;
	uint64_t cursor = t->base, text_end = t->base + t->extent, s, e;
	struct unwind_row saved_row = { 0 }, saved_last;
	size_t i, saved_n;
	bool saved_have, saved_cut;
	uint64_t saved_cutn;
	struct cfi_cie *cie;
	struct cfi_fde fde;
	int err;

	for (i = 0; i < c->nfdes; i++) {
		s = c->fdes[i].start > t->base ? c->fdes[i].start : t->base;
		e = c->fdes[i].end < text_end ? c->fdes[i].end : text_end;
		/* An FDE overlapping the next ends where the next begins,
		 * as a lookup through .eh_frame_hdr finds the later one. */
		if (i + 1 < c->nfdes && c->fdes[i + 1].start < e)
			e = c->fdes[i + 1].start;
		if (s >= e || s < cursor) {
			t->stats.fdes_skipped++;
			continue;
		}
		if (cursor < s) {
			err = table__emit_none(c, cursor);
			if (err)
				return err;
		}
		saved_n = t->n;
		if (t->n)
			saved_row = t->rows[t->n - 1];
		saved_last = c->last;
		saved_have = c->have_last;
		saved_cut = c->cut;
		saved_cutn = t->stats.rows_cut;
		c->clip_lo = s;
		c->clip_hi = e;
		err = compile__fde(c, c->fdes[i].sec, c->fdes[i].off, &fde,
				   &cie);
		if (!err)
			err = cfi__run(&c->secs[c->fdes[i].sec], cie, &fde,
				       compile__row, c);
		if (err == -ENOMEM)
			return err;
		if (err) {
			/* What the FDE said is not to be trusted: its
			 * range falls back to frame pointers. */
			t->stats.fdes_corrupt++;
			t->n = saved_n;
			if (t->n)
				t->rows[t->n - 1] = saved_row;
			c->last = saved_last;
			c->have_last = saved_have;
			c->cut = saved_cut;
			t->stats.rows_cut = saved_cutn;
			err = table__emit_none(c, s);
			if (err)
				return err;
		} else {
			t->stats.fdes++;
		}
		cursor = e;
	}
	if (cursor < text_end)
		return table__emit_none(c, cursor);
	return 0;
}

static void table__count(struct unwind_table *t)
{
	struct unwind_table_stats *st = &t->stats;
	uint64_t len;
	size_t i;

	st->rows = (uint32_t)t->n;
	for (i = 0; i < t->n; i++) {
		len = (i + 1 < t->n ? t->rows[i + 1].pc : t->extent) -
		      t->rows[i].pc;
		switch (t->rows[i].cfa_type) {
		case UNWIND_CFA_NONE:
			st->rows_none++;
			st->bytes_none += len;
			break;
		case UNWIND_CFA_UNSUPPORTED:
			st->rows_unsupported++;
			st->bytes_unsupported += len;
			break;
		case UNWIND_CFA_PLT:
			st->rows_plt++;
			break;
		case UNWIND_CFA_SIGNAL:
			st->rows_signal++;
			break;
		case UNWIND_CFA_END:
			st->rows_end++;
			break;
		}
	}
}

/* A CFI section of @f: its bytes (caller frees) and load address. */
static int read_cfi_section(const struct elf_file *f, const Elf64_Shdr *sh,
			    uint8_t **ret, struct cfi_section *ret_sec)
{
	uint64_t len;
	int err;

	err = read_bytes(&f->src, sh->sh_offset, sh->sh_size,
			 sh->sh_flags & SHF_COMPRESSED, ret, &len);
	if (err)
		return err;
	ret_sec->buf = *ret;
	ret_sec->len = len;
	ret_sec->vaddr = sh->sh_addr;
	return 0;
}

/* The file offset of ELF address @vaddr and the file bytes from there to
 * the end of its PT_LOAD segment. */
static int vaddr_to_off(const struct elf_file *f, uint64_t vaddr,
			uint64_t *ret_off, uint64_t *ret_avail)
{
	const Elf64_Phdr *ph;
	size_t i;

	for (i = 0; i < f->nph; i++) {
		ph = &f->ph[i];
		if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr ||
		    vaddr - ph->p_vaddr >= ph->p_filesz)
			continue;
		*ret_off = ph->p_offset + (vaddr - ph->p_vaddr);
		*ret_avail = ph->p_filesz - (vaddr - ph->p_vaddr);
		return 0;
	}
	return -EINVAL;
}

struct compile_bufs {
	uint8_t *eh;
	uint8_t *hdr;
	uint8_t *dbg[2];
};

/*
 * .eh_frame: from its section, else (no section headers) from the
 * PT_GNU_EH_FRAME header, whose eh_frame_ptr says where it is.
 */
static int compile__eh_frame(struct compile *c, const struct elf_file *f,
			     struct compile_bufs *b)
{
	const Elf64_Shdr *eh = elf_file__section(f, ".eh_frame");
	const Elf64_Shdr *hs = elf_file__section(f, ".eh_frame_hdr");
	uint64_t hdr_vaddr = 0, hdr_off = 0, hdr_len = 0, pos, ptr, avail, off;
	const Elf64_Phdr *gnu = NULL;
	size_t i;
	int err;

	if (eh && eh->sh_type != SHT_PROGBITS &&
	    eh->sh_type != SHT_X86_64_UNWIND)
		eh = NULL;
	if (hs) {
		hdr_vaddr = hs->sh_addr;
		hdr_off = hs->sh_offset;
		hdr_len = hs->sh_size;
	} else {
		for (i = 0; i < f->nph; i++)
			if (f->ph[i].p_type == PT_GNU_EH_FRAME)
				gnu = &f->ph[i];
		if (gnu) {
			hdr_vaddr = gnu->p_vaddr;
			hdr_off = gnu->p_offset;
			hdr_len = gnu->p_filesz;
		}
	}
	if (hdr_len) {
		err = read_bytes(&f->src, hdr_off, hdr_len, false, &b->hdr,
				 &hdr_len);
		if (err == -ENOMEM)
			return err;
		if (err)
			hdr_len = 0;
	}
	if (eh) {
		err = read_cfi_section(f, eh, &b->eh, &c->secs[0]);
		if (err)
			return err;
	} else if (hdr_len >= 4 && b->hdr[0] == 1) {
		pos = 4;
		if (cfi__read_ptr(b->hdr, &pos, hdr_len, hdr_vaddr, hdr_vaddr,
				  b->hdr[1], &ptr) ||
		    vaddr_to_off(f, ptr, &off, &avail))
			return -EBADMSG;
		if (avail > UNWIND_TABLE_MAX_SECTION)
			avail = UNWIND_TABLE_MAX_SECTION;
		err = read_bytes(&f->src, off, avail, false, &b->eh, &avail);
		if (err)
			return err;
		c->secs[0] = (struct cfi_section){ .buf = b->eh,
						   .len = avail,
						   .vaddr = ptr };
	} else {
		return -ENODATA;
	}
	c->secs[0].eh = true;
	c->t->stats.source = UNWIND_SOURCE_EH_FRAME;
	if (hdr_len && compile__hdr(c, b->hdr, hdr_len, hdr_vaddr) == 0)
		return 0;
	/* No usable header: every entry, in file order. */
	c->nfdes = 0;
	c->t->stats.fdes_corrupt = 0;
	c->t->stats.fdes_skipped = 0;
	c->t->stats.source = UNWIND_SOURCE_EH_FRAME_SCAN;
	return compile__scan(c, 0);
}

static int compile__debug_frame(struct compile *c, const struct elf_file *f,
				uint32_t sec, uint8_t **buf)
{
	const Elf64_Shdr *sh = elf_file__section(f, ".debug_frame");
	int err;

	if (!sh || sh->sh_type != SHT_PROGBITS)
		return -ENODATA;
	err = read_cfi_section(f, sh, buf, &c->secs[sec]);
	if (err)
		return err;
	/* .debug_frame addresses are absolute: no pc-relative pointers. */
	c->secs[sec].vaddr = 0;
	c->secs[sec].eh = false;
	return compile__scan(c, sec);
}

/* ---- Go binaries without CFI --------------------------------------- */

static int go_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return src__read(ctx, off, buf, len);
}

/* One run of a Go function's code: its rule from @start, gaps before it
 * frame pointers (clip_lo is where the last run ended). */
static int go_frame(void *ctx, uint64_t start, uint64_t end,
		    enum gopclntab_frame kind, int64_t sp)
{
	struct compile *c = ctx;
	uint64_t text_end = c->t->base + c->t->extent;
	struct unwind_row row = { .cfa_type = UNWIND_CFA_NONE };
	int err;

	if (start < c->clip_lo)
		start = c->clip_lo;
	if (end > text_end)
		end = text_end;
	if (start >= end)
		return 0;
	if (c->clip_lo < start) {
		err = table__emit_none(c, c->clip_lo);
		if (err)
			return err;
	}
	if (kind == GOPCLNTAB_FRAME_SP) {
		row.cfa_type = UNWIND_CFA_RSP;
		row.cfa_offset = (int32_t)(sp + 8);
	} else if (kind == GOPCLNTAB_FRAME_END) {
		row.cfa_type = UNWIND_CFA_END;
	} else if (kind == GOPCLNTAB_FRAME_SWITCH) {
		row.cfa_type = UNWIND_CFA_UNSUPPORTED;
	}
	c->clip_lo = end;
	return table__emit(c, start, &row);
}

/*
 * A Go binary built with -ldflags=-w has no CFI, but its function table
 * says, for every pc, how far SP is below the function's entry SP
 * (runtime/go/pclntab.h): rows as the .debug_frame Go writes otherwise
 * would give. RBP is left as it is, as Go's own CFI leaves it. The
 * outermost functions end the stack; those that move SP to another stack
 * stop the walk (UNWIND_CFA_UNSUPPORTED, counted), where CFI would read a
 * return address from the wrong stack. Without @sp_tables, only those
 * two kinds get rows, the rest UNWIND_CFA_NONE.
 */
static int compile__gopclntab(struct compile *c, const struct elf_file *f,
			      bool sp_tables)
{
	static const char *const data[] = { ".go.module", ".noptrdata",
					    ".data" };
	struct gopclntab_input in = { .read = go_read,
				      .read_ctx = (void *)&f->src };
	const Elf64_Shdr *sh;
	long n;
	size_t i;
	int err;

	sh = elf_file__section(f, ".gopclntab");
	if (!sh)
		return -ENODATA;
	in.pclntab = (struct gopclntab_section){ sh->sh_addr, sh->sh_offset,
						 sh->sh_size };
	sh = elf_file__section(f, ".text");
	if (sh)
		in.text = (struct gopclntab_section){ sh->sh_addr,
						      sh->sh_offset,
						      sh->sh_size };
	for (i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		sh = elf_file__section(f, data[i]);
		if (sh)
			in.data[in.ndata++] = (struct gopclntab_section){
				sh->sh_addr, sh->sh_offset, sh->sh_size
			};
	}
	c->clip_lo = c->t->base;
	n = gopclntab__frames(&in, sp_tables, go_frame, c);
	if (n == -ENOMEM)
		return -ENOMEM;
	if (n <= 0 || !c->t->n) {
		c->t->n = 0;
		c->have_last = false;
		return -ENODATA;
	}
	if (c->clip_lo < c->t->base + c->t->extent) {
		err = table__emit_none(c, c->clip_lo);
		if (err)
			return err;
	}
	c->t->stats.source = UNWIND_SOURCE_GOPCLNTAB;
	c->t->stats.fdes = (uint32_t)n;
	c->t->stats.go_functions = sp_tables ? (uint32_t)n : 0;
	return 0;
}

/*
 * A Go binary's own table over its CFI rows. The functions that end a
 * stack or switch stacks get their rows whatever the CFI says (Go's
 * .debug_frame describes a vDSO call's frame on the stack it left). And a
 * Go binary linked by the system linker (cgo) and stripped keeps the
 * .eh_frame of its C code only: with @sp_tables its Go code, where the
 * CFI rows are UNWIND_CFA_NONE, gets the rows of its SP tables. Both row
 * sets are step functions over the same text; the merge walks their
 * breakpoints.
 */
static int compile__overlay_go(struct compile *c, const struct elf_file *f,
			       bool sp_tables)
{
	struct unwind_row *a, *b, rule;
	size_t na, nb, i = 0, j = 0;
	struct compile *g;
	uint32_t pc, next;
	int err;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->t = calloc(1, sizeof(*g->t));
	if (!g->t) {
		free(g);
		return -ENOMEM;
	}
	g->max_rows = c->max_rows;
	g->t->base = c->t->base;
	g->t->extent = c->t->extent;
	err = compile__gopclntab(g, f, sp_tables);
	if (err || g->cut)
		goto out; /* not a Go binary, or not all of it: as it was */
	a = c->t->rows;
	na = c->t->n;
	b = g->t->rows;
	nb = g->t->n;
	c->t->rows = NULL;
	c->t->n = c->t->cap = 0;
	c->have_last = false;
	for (pc = 0;;) {
		rule = a[i].cfa_type == UNWIND_CFA_NONE ||
				       b[j].cfa_type == UNWIND_CFA_END ||
				       b[j].cfa_type == UNWIND_CFA_UNSUPPORTED ?
			       b[j] :
			       a[i];
		err = table__emit(c, c->t->base + pc, &rule);
		if (err)
			break;
		next = UINT32_MAX;
		if (i + 1 < na)
			next = a[i + 1].pc;
		if (j + 1 < nb && b[j + 1].pc < next)
			next = b[j + 1].pc;
		if (next == UINT32_MAX)
			break;
		i += i + 1 < na && a[i + 1].pc == next;
		j += j + 1 < nb && b[j + 1].pc == next;
		pc = next;
	}
	free(a);
	if (!err)
		c->t->stats.go_functions = g->t->stats.go_functions;
out:
	unwind_table__free(g->t);
	free(g);
	return err == -ENOMEM ? err : 0;
}

static int compile(const struct src *src, const struct src *dbg,
		   const struct unwind_table_opts *opts,
		   struct unwind_table **ret)
{
	struct elf_file f = { .src = *src }, df = { 0 };
	struct compile_bufs b = { 0 };
	struct compile *c;
	size_t neh;
	int err, derr;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->t = calloc(1, sizeof(*c->t));
	if (!c->t) {
		err = -ENOMEM;
		goto out_c;
	}
	c->max_rows = opts &&
				      opts->sz >=
					      offsetof(struct unwind_table_opts,
						       max_rows) +
						      4 &&
				      opts->max_rows ?
			      opts->max_rows :
			      UNWIND_TABLE_DEFAULT_MAX_ROWS;
	if (c->max_rows < 2)
		c->max_rows = 2;
	err = elf_file__open(&f, true);
	if (err)
		goto out;
	err = table__read_segments(c->t, &f);
	if (err)
		goto out;
	table__read_build_id(c->t, &f);

	err = compile__eh_frame(c, &f, &b);
	if (err && err != -ENODATA && err != -EBADMSG && err != -EINVAL)
		goto out;
	neh = c->nfdes;
	if (!neh && (err == -EBADMSG || err == -EINVAL))
		c->t->stats.fdes_corrupt++;
	if (!fdes_sorted(c->fdes, 0, neh))
		qsort(c->fdes, neh, sizeof(*c->fdes), fde_cmp);

	/* .debug_frame: where .eh_frame says nothing. */
	derr = compile__debug_frame(c, &f, 1, &b.dbg[0]);
	if (derr == -ENOMEM) {
		err = derr;
		goto out;
	}
	if (dbg) {
		df.src = *dbg;
		derr = elf_file__open(&df, false);
		if (!derr)
			derr = compile__debug_frame(c, &df, 2, &b.dbg[1]);
		if (derr == -ENOMEM) {
			err = derr;
			goto out;
		}
	}
	if (c->nfdes > neh) {
		if (!neh)
			c->t->stats.source = c->fdes[0].sec == 1 ?
						     UNWIND_SOURCE_DEBUG_FRAME :
						     UNWIND_SOURCE_DEBUG_FILE;
		qsort(c->fdes + neh, c->nfdes - neh, sizeof(*c->fdes), fde_cmp);
		compile__drop_shadowed(c, neh);
		qsort(c->fdes, c->nfdes, sizeof(*c->fdes), fde_cmp);
	}
	if (!c->nfdes) {
		/* No CFI at all: a Go binary's own table, if it is one. */
		err = compile__gopclntab(c, &f, true);
		if (err == -ENODATA && c->t->stats.fdes_corrupt)
			err = -EBADMSG;
		if (err)
			goto out;
	} else {
		err = compile__rows(c);
		/* A Go binary: its own table; its SP tables too where
		 * .eh_frame is all the CFI (a stripped cgo binary). */
		if (!err && elf_file__section(&f, ".gopclntab"))
			err = compile__overlay_go(c, &f, c->nfdes == neh);
		if (err)
			goto out;
	}
	if (!c->t->stats.fdes) {
		err = -EBADMSG;
		goto out;
	}
	table__count(c->t);
	table__fit(c->t);
	*ret = c->t;
	c->t = NULL;
	err = 0;
out:
	free(b.eh);
	free(b.hdr);
	free(b.dbg[0]);
	free(b.dbg[1]);
	free(c->fdes);
	elf_file__release(&f);
	elf_file__release(&df);
	unwind_table__free(c->t);
out_c:
	free(c);
	return err;
}

int unwind_table__compile_fd(int fd, int debug_fd,
			     const struct unwind_table_opts *opts,
			     struct unwind_table **ret)
{
	struct src src, dbg;
	int err;

	err = src__init_fd(&src, fd);
	if (err)
		return err;
	if (debug_fd >= 0 && src__init_fd(&dbg, debug_fd) == 0)
		return compile(&src, &dbg, opts, ret);
	return compile(&src, NULL, opts, ret);
}

int unwind_table__compile_mem(const void *buf, size_t len,
			      const struct unwind_table_opts *opts,
			      struct unwind_table **ret)
{
	struct src src = { .fd = -1, .mem = buf, .size = len };

	if (!buf || !len)
		return -ENOEXEC;
	return compile(&src, NULL, opts, ret);
}

const struct unwind_row *unwind_table__rows(const struct unwind_table *t,
					    size_t *ret_n)
{
	*ret_n = t ? t->n : 0;
	return t ? t->rows : NULL;
}

uint64_t unwind_table__base(const struct unwind_table *t)
{
	return t ? t->base : 0;
}

uint64_t unwind_table__extent(const struct unwind_table *t)
{
	return t ? t->extent : 0;
}

const struct unwind_row *unwind_table__lookup(const struct unwind_table *t,
					      uint64_t vaddr)
{
	size_t lo = 0, hi, mid;
	uint32_t pc;

	if (!t || !t->n || vaddr < t->base || vaddr - t->base >= t->extent)
		return NULL;
	pc = (uint32_t)(vaddr - t->base);
	hi = t->n;
	/* The last row whose pc is at or below: rows[0].pc is 0. */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (t->rows[mid].pc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return &t->rows[lo];
}

int unwind_table__bias(const struct unwind_table *t, uint64_t map_start,
		       uint64_t map_pgoff, uint64_t *ret_bias)
{
	const struct table_seg *s;
	int pass;
	size_t i;

	if (!t)
		return -ENOENT;
	/* A mapping starts at the page holding its segment's first byte,
	 * and that page may hold the end of the segment before: the
	 * executable segments are tried first. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < t->nsegs; i++) {
			s = &t->segs[i];
			if (s->exec != !pass)
				continue;
			if (map_pgoff < (s->off & ~4095ull) ||
			    map_pgoff >= s->off + s->filesz)
				continue;
			*ret_bias = map_start - map_pgoff + s->off - s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

const uint8_t *unwind_table__build_id(const struct unwind_table *t,
				      size_t *ret_len)
{
	*ret_len = t ? t->build_id_len : 0;
	return t && t->build_id_len ? t->build_id : NULL;
}

void unwind_table__stats(const struct unwind_table *t,
			 struct unwind_table_stats *ret)
{
	if (!t) {
		memset(ret, 0, sizeof(*ret));
		return;
	}
	*ret = t->stats;
}

size_t unwind_table__memory(const struct unwind_table *t)
{
	return t ? sizeof(*t) + t->cap * sizeof(*t->rows) : 0;
}

void unwind_table__free(struct unwind_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t);
}
