// SPDX-License-Identifier: Apache-2.0
/* Go's function table (.gopclntab) in, functions out: entry, size and the
 * file offset of each name, for elfsym.c to make symbols of, and the runs
 * of each function's SP table, for table.c to make unwind rows of.
 * Layouts from the Go runtime's runtime/symtab.go and runtime2.go
 * (pcHeader, functab, _func, moduledata, pcvalue), read through bounded
 * windows, never mapped. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/runtimes/go/pclntab.h"

#define MAGIC_116 0xfffffffau /* Go 1.16, 1.17: absolute entries */
#define MAGIC_118 0xfffffff0u /* Go 1.18, 1.19: entries from textStart */
#define MAGIC_120 0xfffffff1u /* Go 1.20 and later: the same layout */

/* pcHeader: magic, two pad bytes, minLC, ptrSize, then words. */
#define HDR_WORDS_OFF 8
#define HDR_SIZE (HDR_WORDS_OFF + 8 * 8)

/* moduledata, in words: pcHeader, funcnametab (3), cutab (3), filetab
 * (3), pctab (3), pclntable (3), ftab (3), findfunctab, minpc, maxpc,
 * text, etext. */
#define MD_WORDS 24
#define MD_FUNCNAMETAB 1
#define MD_FUNCNAMETAB_LEN 2
#define MD_MINPC 20
#define MD_TEXT 22
/* .text's end past the table's functions: alignment padding only. */
#define TEXT_SLACK 64

#define WINDOW (64u << 10)

/* A window on the file: reads a small range through a 64 KiB buffer. */
struct window {
	const struct gopclntab_input *in;
	uint64_t at;
	size_t have;
	unsigned char buf[WINDOW];
};

static int window_get(struct window *w, uint64_t off, void *out, size_t len,
		      uint64_t end)
{
	size_t take;
	int err;

	if (off > end || len > end - off)
		return -ENOEXEC;
	if (off < w->at || off + len > w->at + w->have) {
		take = end - off < WINDOW ? (size_t)(end - off) : WINDOW;
		w->have = 0;
		err = w->in->read(w->in->read_ctx, off, w->buf, take);
		if (err)
			return err;
		w->at = off;
		w->have = take;
	}
	memcpy(out, w->buf + (off - w->at), len);
	return 0;
}

static uint64_t le(const unsigned char *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

struct header {
	uint32_t magic;
	uint64_t nfunc;
	uint64_t text_start; /* 0: not in the header */
	uint64_t funcname_off; /* the offsets from the table's start */
	uint64_t cu_off;
	uint64_t pctab_off;
	uint64_t pcln_off;
};

static int read_header(const struct gopclntab_input *in, struct header *h)
{
	const struct gopclntab_section *t = &in->pclntab;
	unsigned char b[HDR_SIZE];
	uint64_t w[8];
	int err, i;

	if (t->size < HDR_SIZE)
		return -ENOEXEC;
	err = in->read(in->read_ctx, t->off, b, sizeof(b));
	if (err)
		return err;
	h->magic = (uint32_t)le(b, 4);
	/* pad, pad, minLC 1 (x86), ptrSize 8 */
	if (b[4] || b[5] || b[6] != 1 || b[7] != 8)
		return -ENOEXEC;
	for (i = 0; i < 8; i++)
		w[i] = le(b + HDR_WORDS_OFF + 8 * i, 8);
	h->nfunc = w[0];
	if (h->magic == MAGIC_118 || h->magic == MAGIC_120) {
		h->text_start = w[2];
		h->funcname_off = w[3];
		h->cu_off = w[4];
		h->pctab_off = w[6];
		h->pcln_off = w[7];
	} else if (h->magic == MAGIC_116) {
		h->text_start = 0;
		h->funcname_off = w[2];
		h->cu_off = w[3];
		h->pctab_off = w[5];
		h->pcln_off = w[6];
	} else {
		return -ENOEXEC;
	}
	if (h->nfunc == 0 || h->funcname_off < HDR_SIZE ||
	    h->cu_off < h->funcname_off || h->cu_off > t->size ||
	    h->pctab_off > h->pcln_off || h->pcln_off >= t->size)
		return -ENOEXEC;
	return 0;
}

/* The module data's text, found by its pointers to the table and to the
 * names; 0 when no section holds it. */
static uint64_t moduledata_text(const struct gopclntab_input *in,
				const struct header *h, struct window *win)
{
	const struct gopclntab_section *t = &in->pclntab;
	uint64_t names = t->addr + h->funcname_off, left = GOPCLNTAB_MAX_SCAN;
	uint64_t off, end, v, md[MD_WORDS];
	unsigned char b[8 * MD_WORDS];
	size_t i, k;

	for (i = 0; i < in->ndata && left; i++) {
		const struct gopclntab_section *s = &in->data[i];

		if (s->size < sizeof(b))
			continue;
		end = s->off + (s->size < left ? s->size : left);
		left -= end - s->off;
		for (off = s->off; off + sizeof(b) <= end; off += 8) {
			if (window_get(win, off, b, 8, end))
				break;
			if (le(b, 8) != t->addr)
				continue;
			if (window_get(win, off, b, sizeof(b), end))
				break;
			for (k = 0; k < MD_WORDS; k++)
				md[k] = le(b + 8 * k, 8);
			if (md[MD_FUNCNAMETAB] != names ||
			    md[MD_FUNCNAMETAB_LEN] !=
				    h->cu_off - h->funcname_off)
				continue;
			v = md[MD_TEXT];
			if (!v || md[MD_MINPC] < v)
				return 0;
			return v;
		}
	}
	return 0;
}

/* One function of the table, as the walk hands it on. */
struct func_rec {
	uint64_t entry;
	uint64_t end;
	uint64_t name; /* offset in the name section */
	uint64_t pcsp; /* offset in the pc-value section */
	uint8_t flag;
};

/* _func (Go 1.18 and later): entryOff, nameOff, args, deferreturn, pcsp,
 * pcfile, pcln, npcdata, cuOffset, startLine (4 bytes each), funcID,
 * flag. Go 1.16 and 1.17: the entry a word, the rest 4 bytes later. */
#define FUNC_NAME 4
#define FUNC_PCSP 16
#define FUNC_FLAG 41
#define FUNC_SIZE 42

struct walk {
	const struct gopclntab_input *in;
	struct header h;
	/* Function table entries and the records they point at are far
	 * apart, each read in order: a window each. */
	struct window *win;
	struct window *rec_win;
	uint64_t text;
};

typedef int (*visit_fn)(struct walk *w, const struct func_rec *f, void *ctx);

static int walk_init(struct walk *w, const struct gopclntab_input *in)
{
	const struct gopclntab_section *t = &in->pclntab;
	uint64_t tab, tab_end, entsz, nfunc;
	unsigned char b[4];
	int err;

	memset(w, 0, sizeof(*w));
	w->in = in;
	err = read_header(in, &w->h);
	if (err)
		return err;
	w->win = calloc(1, sizeof(*w->win));
	w->rec_win = calloc(1, sizeof(*w->rec_win));
	if (!w->win || !w->rec_win)
		return -ENOMEM;
	w->win->in = in;
	w->rec_win->in = in;
	entsz = w->h.magic == MAGIC_116 ? 16 : 8;
	tab = t->off + w->h.pcln_off;
	tab_end = t->off + t->size;
	nfunc = w->h.nfunc < GOPCLNTAB_MAX_FUNCS ? w->h.nfunc :
						   GOPCLNTAB_MAX_FUNCS;
	if ((tab_end - tab) / entsz <= nfunc)
		return -ENOEXEC;
	w->h.nfunc = nfunc;
	if (w->h.magic == MAGIC_116)
		return 0;
	w->text = w->h.text_start;
	if (!w->text)
		w->text = moduledata_text(in, &w->h, w->win);
	if (!w->text && in->text.size) {
		/* The text's end is the last entry of functab. */
		err = window_get(w->win, tab + nfunc * entsz, b, 4, tab_end);
		if (err)
			return err;
		if (le(b, 4) <= in->text.size &&
		    in->text.size - le(b, 4) < TEXT_SLACK)
			w->text = in->text.addr;
	}
	return w->text ? 0 : -ENOENT;
}

static void walk_free(struct walk *w)
{
	free(w->win);
	free(w->rec_win);
}

/* Hands on each function with a size, in table order. */
static int walk_funcs(struct walk *w, visit_fn visit, void *ctx)
{
	const struct gopclntab_section *t = &w->in->pclntab;
	bool abs = w->h.magic == MAGIC_116;
	uint64_t entsz = abs ? 16 : 8, tab = t->off + w->h.pcln_off;
	uint64_t tab_end = t->off + t->size, i, func, shift;
	unsigned char b[FUNC_SIZE + 4];
	struct func_rec f;
	int err;

	for (i = 0; i < w->h.nfunc; i++) {
		/* This entry and the next one's start. */
		err = window_get(w->win, tab + i * entsz, b,
				 (size_t)(2 * entsz), tab_end);
		if (err)
			return err;
		if (abs) {
			f.entry = le(b, 8);
			func = le(b + 8, 8);
			f.end = le(b + 16, 8);
		} else {
			f.entry = w->text + le(b, 4);
			func = le(b + 4, 4);
			f.end = w->text + le(b + 8, 4);
		}
		if (f.end < f.entry)
			break; /* not rising: the rest is not trusted */
		if (f.end == f.entry)
			continue;
		shift = abs ? 4 : 0;
		if (func > tab_end - tab)
			return -ENOEXEC;
		err = window_get(w->rec_win, tab + func, b,
				 (size_t)(FUNC_SIZE + shift), tab_end);
		if (err)
			return err;
		f.name = le(b + FUNC_NAME + shift, 4);
		f.pcsp = le(b + FUNC_PCSP + shift, 4);
		/* Go 1.16 has no flags there; 1.17 cannot be told apart. */
		f.flag = abs ? 0 : b[FUNC_FLAG];
		err = visit(w, &f, ctx);
		if (err)
			return err;
	}
	return 0;
}

struct names {
	gopclntab_func_fn fn;
	void *ctx;
	uint64_t off;
	uint64_t size;
};

static int visit_name(struct walk *w, const struct func_rec *f, void *ctx)
{
	struct names *n = ctx;

	(void)w;
	if (f->name & 0x80000000u || f->name >= n->size)
		return 0;
	return n->fn(n->ctx, f->entry, f->end - f->entry, n->off + f->name);
}

int gopclntab__funcs(const struct gopclntab_input *in, gopclntab_func_fn fn,
		     void *ctx, uint64_t *ret_names_off,
		     uint64_t *ret_names_size)
{
	struct names n = { fn, ctx, 0, 0 };
	struct walk w;
	int err;

	err = walk_init(&w, in);
	if (!err) {
		n.off = in->pclntab.off + w.h.funcname_off;
		n.size = w.h.cu_off - w.h.funcname_off;
		*ret_names_off = n.off;
		*ret_names_size = n.size;
		err = walk_funcs(&w, visit_name, &n);
	}
	walk_free(&w);
	return err;
}

/* abi.FuncFlag */
#define FLAG_TOPFRAME 0x1
#define FLAG_SPWRITE 0x2

struct frames {
	gopclntab_frame_fn fn;
	void *ctx;
	struct window *pc_win; /* the pc-value section's own window */
	uint64_t pctab; /* its file offset and end */
	uint64_t pctab_end;
	bool sp_tables;
	long nfuncs;
};

static int uvarint(struct frames *fr, uint64_t *pos, uint32_t *ret)
{
	unsigned char c;
	unsigned int shift;
	uint32_t v = 0;
	int err;

	for (shift = 0; shift < 35; shift += 7) {
		err = window_get(fr->pc_win, *pos, &c, 1, fr->pctab_end);
		if (err)
			return err;
		(*pos)++;
		v |= (uint32_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -ENOEXEC;
}

/*
 * A function's SP table (runtime.pcvalue): pairs of a zigzag value delta
 * and a pc delta, the value starting at -1, until a zero value delta past
 * the first. Each run is handed on; what cannot be read is UNKNOWN.
 */
static int visit_frames(struct walk *w, const struct func_rec *f, void *ctx)
{
	struct frames *fr = ctx;
	uint64_t pos = fr->pctab + f->pcsp, pc = f->entry, next, steps;
	uint32_t uv, pcd;
	int64_t val = -1;
	int err;

	(void)w;
	fr->nfuncs++;
	if (f->flag & FLAG_TOPFRAME)
		return fr->fn(fr->ctx, f->entry, f->end, GOPCLNTAB_FRAME_END,
			      0);
	if (f->flag & FLAG_SPWRITE)
		return fr->fn(fr->ctx, f->entry, f->end, GOPCLNTAB_FRAME_SWITCH,
			      0);
	if (!fr->sp_tables)
		return 0;
	for (steps = 0; f->pcsp && pc < f->end && steps <= f->end - f->entry;
	     steps++) {
		err = uvarint(fr, &pos, &uv);
		if (!err && uv == 0 && steps) {
			/* The table ends before the function: the alignment
			 * padding after its last instruction, never run. */
			return fr->fn(fr->ctx, pc, f->end, GOPCLNTAB_FRAME_SP,
				      val);
		}
		if (!err)
			err = uvarint(fr, &pos, &pcd);
		if (err == -ENOMEM)
			return err;
		if (err)
			break;
		val += (int64_t)(uv >> 1) ^ -(int64_t)(uv & 1);
		next = pc + pcd < f->end ? pc + pcd : f->end;
		if (val < 0 || val > GOPCLNTAB_MAX_FRAME || !pcd)
			break;
		err = fr->fn(fr->ctx, pc, next, GOPCLNTAB_FRAME_SP, val);
		if (err)
			return err;
		pc = next;
	}
	if (pc < f->end)
		return fr->fn(fr->ctx, pc, f->end, GOPCLNTAB_FRAME_UNKNOWN, 0);
	return 0;
}

long gopclntab__frames(const struct gopclntab_input *in, bool sp_tables,
		       gopclntab_frame_fn fn, void *ctx)
{
	struct frames fr = { .fn = fn, .ctx = ctx, .sp_tables = sp_tables };
	struct walk w;
	int err;

	err = walk_init(&w, in);
	if (!err) {
		fr.pctab = in->pclntab.off + w.h.pctab_off;
		fr.pctab_end = in->pclntab.off + w.h.pcln_off;
		fr.pc_win = calloc(1, sizeof(*fr.pc_win));
		err = fr.pc_win ? 0 : -ENOMEM;
	}
	if (!err) {
		fr.pc_win->in = in;
		err = walk_funcs(&w, visit_frames, &fr);
	}
	free(fr.pc_win);
	walk_free(&w);
	return err ? err : fr.nfuncs;
}
