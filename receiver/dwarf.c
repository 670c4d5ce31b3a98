/* Symbolizer input for source lines: one ELF file's DWARF through libdw,
 * turned into (function, file, line) frames per address, inlined callees
 * first. The symbolizer holds one per cached file that has DWARF. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "receiver/dwarf.h"

/* Frames kept per cached address; longer chains are looked up each time. */
#define DWARF_SLOT_FRAMES 4
/* libelf's copy of the sections, our padded copy (see dwarf__pad) and
 * libdw's indexes (CU tree, abbreviations, line tables): counted as that
 * many times the sections' size. */
#define DWARF_MEMORY_FACTOR 3
/* Zero bytes after each DWARF section: see dwarf__pad(). */
#define DWARF_PAD 64
#define DWARF_MAX_SECTIONS 64
#define DWARF_MAX_UNITS (1u << 20)
#define DWARF_MAX_UNIT_RANGES 4096 /* ranges of one unit or function */
#define DWARF_MAX_UNIT_DIES (1u << 21) /* DIEs indexed per unit */

struct dwarf_slot {
	uint64_t key; /* vaddr + 1; 0: empty */
	uint32_t n;
	struct dwarf_frame f[DWARF_SLOT_FRAMES];
};

/* One line table row; rows are sorted by address within a unit. */
struct dw_line {
	uint64_t addr;
	const char *file;
	uint32_t line;
	uint32_t end; /* end of a sequence: no code from here */
};

/* A function or inlined call's address range, with its enclosing one. */
struct dw_scope {
	uint64_t lo;
	uint64_t hi;
	const char *name;
	const char *call_file; /* inlined: where the enclosing one calls */
	uint32_t call_line;
	uint32_t depth;
	int32_t parent; /* index, -1 for a top-level function */
};

/* A compilation unit, indexed on its first lookup. */
struct dw_unit {
	Dwarf_Off die_off;
	bool indexed;
	bool failed; /* too large or unreadable: the slow walk serves it */
	struct dw_line *lines;
	size_t nlines;
	struct dw_scope *scopes;
	size_t nscopes;
};

/* One address range of a unit; sorted by lo. */
struct dw_range {
	uint64_t lo;
	uint64_t hi;
	uint32_t unit;
};

struct dwarf_file {
	Elf *elf;
	Dwarf *dbg;
	size_t section_bytes;
	size_t max_bytes;
	size_t index_bytes; /* units, ranges and the per-unit indexes */
	struct dw_unit *units;
	size_t nunits;
	struct dw_range *ranges;
	size_t nranges;
	void *pads[DWARF_MAX_SECTIONS]; /* our copies of the sections */
	size_t npads;
	struct dwarf_slot *slots;
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
 * The padding ends every such string. Compressed sections are inflated
 * first, as dwarf_begin_elf() would. Returns 0 or -errno.
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
		copy = malloc(data->d_size + DWARF_PAD);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data->d_buf, data->d_size);
		memset((char *)copy + data->d_size, 0, DWARF_PAD);
		data->d_buf = copy;
		raw->d_buf = copy;
		d->pads[d->npads++] = copy;
	}
	return 0;
}

struct dwarf_file *dwarf__open_fd(int fd, size_t max_bytes)
{
	struct dwarf_file *d;
	uint64_t bytes = 0;
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
	/* Read, not mapped: see the header. */
	d->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF) {
		err = ENOEXEC;
		goto err_free;
	}
	err = -dwarf__section_bytes(d->elf, (uint64_t)st.st_size, &bytes);
	if (err)
		goto err_free;
	if (!bytes) {
		err = ENODATA;
		goto err_free;
	}
	if (bytes > max_bytes / DWARF_MEMORY_FACTOR) {
		err = EFBIG;
		goto err_free;
	}
	d->section_bytes = bytes;
	err = -dwarf__pad(d);
	if (err)
		goto err_free;
	d->dbg = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
	if (!d->dbg) {
		err = ENODATA;
		goto err_free;
	}
	/* Every section libdw uses was read by dwarf_begin_elf(); later
	 * reads through the fd (which the caller closes) must fail. */
	elf_cntl(d->elf, ELF_C_FDDONE);
	d->max_bytes = max_bytes;
	err = -dwarf__index_units(d);
	if (err)
		goto err_free;
	d->slots = calloc(DWARF_CACHE_SLOTS, sizeof(*d->slots));
	if (!d->slots) {
		err = ENOMEM;
		goto err_free;
	}
	return d;

err_free:
	dwarf__free(d);
	errno = err;
	return NULL;
}

void dwarf__free(struct dwarf_file *d)
{
	if (!d)
		return;
	if (d->dbg)
		dwarf_end(d->dbg);
	if (d->elf)
		elf_end(d->elf);
	while (d->npads)
		free(d->pads[--d->npads]);
	while (d->nunits--) {
		free(d->units[d->nunits].lines);
		free(d->units[d->nunits].scopes);
	}
	free(d->units);
	free(d->ranges);
	free(d->slots);
	free(d);
}

size_t dwarf__memory(const struct dwarf_file *d)
{
	if (!d)
		return 0;
	return sizeof(*d) + d->section_bytes * DWARF_MEMORY_FACTOR +
	       d->index_bytes + DWARF_CACHE_SLOTS * sizeof(*d->slots);
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

/* ---- the per-file index: unit ranges, then per unit lines and scopes ---- */

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

/* Whether @bytes more fit the budget the file was opened with. */
static bool dwarf__charge(struct dwarf_file *d, size_t bytes)
{
	size_t used = d->section_bytes * DWARF_MEMORY_FACTOR + d->index_bytes;

	if (used > d->max_bytes || bytes > d->max_bytes - used)
		return false;
	d->index_bytes += bytes;
	return true;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct dw_range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
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
		if (d->nunits == DWARF_MAX_UNITS)
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
		memset(&d->units[d->nunits], 0, sizeof(*d->units));
		d->units[d->nunits++].die_off = dwarf_dieoffset(&cudie);
	}
	if (d->nranges)
		qsort(d->ranges, d->nranges, sizeof(*d->ranges), range_cmp);
	if (!dwarf__charge(d, ucap * sizeof(*d->units) +
				      rcap * sizeof(*d->ranges)))
		return -EFBIG;
	return 0;
}

static int dwarf__index_lines(struct dwarf_file *d, struct dw_unit *u,
			      Dwarf_Die *cu)
{
	Dwarf_Lines *lines;
	Dwarf_Line *l;
	Dwarf_Addr addr;
	size_t n, i;
	bool end;
	int lineno;

	if (dwarf_getsrclines(cu, &lines, &n) != 0 || !n)
		return 0;
	if (!dwarf__charge(d, n * sizeof(*u->lines)))
		return -EFBIG;
	u->lines = malloc(n * sizeof(*u->lines));
	if (!u->lines)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		l = dwarf_onesrcline(lines, i);
		if (!l || dwarf_lineaddr(l, &addr) != 0)
			continue;
		if (u->nlines && addr < u->lines[u->nlines - 1].addr)
			continue; /* libdw sorts; keep ours sorted anyway */
		u->lines[u->nlines].addr = addr;
		u->lines[u->nlines].file = dwarf_linesrc(l, NULL, NULL);
		u->lines[u->nlines].line = dwarf_lineno(l, &lineno) == 0 &&
							   lineno > 0 ?
						   (uint32_t)lineno :
						   0;
		u->lines[u->nlines].end = dwarf_lineendsequence(l, &end) == 0 &&
					  end;
		u->nlines++;
	}
	return 0;
}

struct scope_build {
	struct dw_scope *v;
	size_t n;
	size_t cap;
};

/* Entries for each range of a function or inlined call. */
static int scope_add(struct dwarf_file *d, struct scope_build *b, Dwarf_Die *cu,
		     Dwarf_Die *die, int tag, uint32_t depth, int32_t parent,
		     int32_t *ret_first)
{
	Dwarf_Addr base, lo, hi;
	struct dwarf_frame call = { 0 };
	const char *name = die_name(die);
	ptrdiff_t off = 0;
	size_t nr = 0;
	void *nv;

	*ret_first = -1;
	if (tag == DW_TAG_inlined_subroutine)
		call_site(cu, die, &call);
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0 &&
	       nr < DWARF_MAX_UNIT_RANGES) {
		if (lo >= hi)
			continue;
		if (b->n == b->cap) {
			if (!dwarf__charge(d, (b->cap ? b->cap : 64) *
						      sizeof(*b->v)))
				return -EFBIG;
			nv = grow(b->v, &b->cap, b->n + 1, sizeof(*b->v));
			if (!nv)
				return -ENOMEM;
			b->v = nv;
		}
		if (*ret_first < 0)
			*ret_first = (int32_t)b->n;
		b->v[b->n++] = (struct dw_scope){
			.lo = lo,
			.hi = hi,
			.name = name,
			.call_file = call.file,
			.call_line = call.line,
			.depth = depth,
			.parent = parent,
		};
		nr++;
	}
	return 0;
}

static int order_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct dw_scope *v = ctx;
	const struct dw_scope *a = &v[*(const size_t *)pa];
	const struct dw_scope *b = &v[*(const size_t *)pb];

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->depth < b->depth ? -1 : a->depth > b->depth;
}

/*
 * Every function and inlined call of @cu with its ranges and enclosing
 * entry, sorted by start (outer before inner at one address). Iterative
 * DFS, bounded in depth and DIEs.
 */
static int dwarf__index_scopes(struct dwarf_file *d, struct dw_unit *u,
			       Dwarf_Die *cu)
{
	Dwarf_Die stack[DWARF_MAX_DEPTH];
	int32_t owner[DWARF_MAX_DEPTH]; /* entry enclosing each level */
	uint32_t depth[DWARF_MAX_DEPTH];
	struct scope_build b = { 0 };
	struct dw_scope *sorted = NULL;
	size_t top = 0, dies = 0, i, *order = NULL;
	int32_t first, *map = NULL;
	Dwarf_Die child;
	int tag, err = 0;

	if (dwarf_child(cu, &stack[0]) != 0)
		return 0;
	owner[0] = -1;
	depth[0] = 0;
	for (;;) {
		Dwarf_Die *die = &stack[top];
		int32_t own = owner[top];
		uint32_t dep = depth[top];

		if (++dies > DWARF_MAX_UNIT_DIES) {
			err = -E2BIG;
			goto out;
		}
		tag = dwarf_tag(die);
		if (tag == DW_TAG_subprogram ||
		    tag == DW_TAG_inlined_subroutine) {
			err = scope_add(d, &b, cu, die, tag, dep, own, &first);
			if (err)
				goto out;
			if (first >= 0) {
				own = first;
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
				goto sort;
			top--;
		}
	}
sort:
	if (!b.n)
		goto out;
	/* Sort an order of indexes, then point parents at new places. */
	order = malloc(b.n * sizeof(*order));
	map = malloc(b.n * sizeof(*map));
	sorted = malloc(b.n * sizeof(*sorted));
	if (!order || !map || !sorted) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b.n; i++)
		order[i] = i;
	qsort_r(order, b.n, sizeof(*order), order_cmp, b.v);
	for (i = 0; i < b.n; i++) {
		sorted[i] = b.v[order[i]];
		map[order[i]] = (int32_t)i;
	}
	for (i = 0; i < b.n; i++)
		if (sorted[i].parent >= 0)
			sorted[i].parent = map[sorted[i].parent];
	free(b.v);
	b.v = sorted;
	sorted = NULL;
	u->scopes = b.v;
	u->nscopes = b.n;
	b.v = NULL;
out:
	free(sorted);
	free(order);
	free(map);
	free(b.v);
	return err;
}

/* The unit holding @vaddr, indexed; NULL with *ret_failed false when no
 * unit covers it, true when it could not be indexed. */
static struct dw_unit *dwarf__unit(struct dwarf_file *d, uint64_t vaddr,
				   Dwarf_Die *ret_cu, bool *ret_failed)
{
	size_t lo = 0, hi = d->nranges, mid;
	const struct dw_range *r;
	struct dw_unit *u;

	*ret_failed = false;
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
	u = &d->units[r->unit];
	*ret_failed = true;
	if (u->failed)
		return NULL;
	if (!u->indexed) {
		if (!dwarf_offdie(d->dbg, u->die_off, ret_cu)) {
			u->failed = true;
			return NULL;
		}
		u->indexed = true;
		if (dwarf__index_lines(d, u, ret_cu) ||
		    dwarf__index_scopes(d, u, ret_cu)) {
			u->failed = true;
			d->st.walk_limited++;
			return NULL;
		}
	}
	*ret_failed = false;
	return u;
}

/* Frames for @vaddr from an indexed unit; see dwarf__lookup(). */
static size_t dwarf__from_index(const struct dw_unit *u, uint64_t vaddr,
				struct dwarf_frame *all)
{
	size_t lo = 0, hi = u->nlines, mid, n = 0, guard;
	const struct dw_scope *s = NULL;
	int32_t i;

	all[0].name = NULL;
	all[0].file = NULL;
	all[0].line = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->lines[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && !u->lines[lo - 1].end) {
		all[0].file = u->lines[lo - 1].file;
		all[0].line = u->lines[lo - 1].line;
	}
	/* The last scope starting at or below vaddr; the innermost one
	 * holding vaddr is it or one of its ancestors (ranges nest). */
	lo = 0;
	hi = u->nscopes;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->scopes[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	i = (int32_t)lo - 1;
	for (guard = 0; i >= 0 && guard < DWARF_MAX_DEPTH; guard++) {
		s = &u->scopes[i];
		if (vaddr >= s->lo && vaddr < s->hi)
			break;
		i = s->parent;
		s = NULL;
	}
	for (guard = 0; s && n < DWARF_MAX_FRAMES && guard < DWARF_MAX_DEPTH;
	     guard++) {
		all[n].name = s->name;
		if (n + 1 < DWARF_MAX_FRAMES) {
			all[n + 1].name = NULL;
			all[n + 1].file = s->parent >= 0 ? s->call_file : NULL;
			all[n + 1].line = s->parent >= 0 ? s->call_line : 0;
		}
		n++;
		s = s->parent >= 0 ? &u->scopes[s->parent] : NULL;
	}
	if (!n && all[0].file)
		n = 1;
	return n;
}

static size_t dwarf__resolve(struct dwarf_file *d, uint64_t vaddr,
			     struct dwarf_frame *out, size_t max)
{
	Dwarf_Die cu, chain[DWARF_MAX_FRAMES];
	struct dwarf_frame all[DWARF_MAX_FRAMES];
	size_t n, i, k, skip;
	struct dw_unit *u;
	Dwarf_Line *line;
	bool failed;
	int lineno;

	u = dwarf__unit(d, vaddr, &cu, &failed);
	if (u) {
		n = dwarf__from_index(u, vaddr, all);
		skip = n > max ? n - max : 0;
		for (i = skip; i < n; i++)
			out[i - skip] = all[i];
		return n - skip;
	}
	/* A unit too large to index: walk it for this address alone. */
	if (!failed || !dwarf_addrdie(d->dbg, vaddr, &cu))
		return 0;
	n = dwarf__walk(d, &cu, vaddr, chain, DWARF_MAX_FRAMES);
	/* all[0] innermost: the line table; each outer frame sits at the
	 * call site of the one inside it. */
	memset(all, 0, sizeof(all));
	line = dwarf_getsrc_die(&cu, vaddr);
	if (line) {
		all[0].file = dwarf_linesrc(line, NULL, NULL);
		if (dwarf_lineno(line, &lineno) == 0 && lineno > 0)
			all[0].line = (uint32_t)lineno;
	}
	if (!n) {
		if (!all[0].file || !max)
			return 0;
		out[0] = all[0];
		return 1;
	}
	for (i = 0; i < n; i++) {
		k = n - 1 - i; /* chain is outermost first */
		all[i].name = die_name(&chain[k]);
		if (i + 1 < n)
			call_site(&cu, &chain[k], &all[i + 1]);
	}
	skip = n > max ? n - max : 0;
	for (i = skip; i < n; i++)
		out[i - skip] = all[i];
	return n - skip;
}

size_t dwarf__lookup(struct dwarf_file *d, uint64_t vaddr,
		     struct dwarf_frame *out, size_t max)
{
	struct dwarf_frame tmp[DWARF_MAX_FRAMES];
	struct dwarf_slot *s;
	uint64_t h;
	size_t n, i;

	if (!d || !max)
		return 0;
	d->st.lookups++;
	h = vaddr * 0x9e3779b97f4a7c15ull;
	s = &d->slots[(h >> 40) % DWARF_CACHE_SLOTS];
	if (s->key == vaddr + 1) {
		d->st.cache_hits++;
		n = s->n < max ? s->n : max;
		/* Keep the outermost frames when @max is short. */
		for (i = 0; i < n; i++)
			out[i] = s->f[s->n - n + i];
		return n;
	}
	n = dwarf__resolve(d, vaddr, tmp, DWARF_MAX_FRAMES);
	if (n <= DWARF_SLOT_FRAMES) {
		s->key = vaddr + 1;
		s->n = (uint32_t)n;
		memcpy(s->f, tmp, n * sizeof(*tmp));
	}
	i = n > max ? n - max : 0;
	memcpy(out, tmp + i, (n - i) * sizeof(*tmp));
	return n - i;
}
