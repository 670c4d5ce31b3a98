// SPDX-License-Identifier: Apache-2.0
/* Go's function table (.gopclntab) in, functions out: entry, size and the
 * file offset of each name, for elfsym.c to make symbols of. Layouts from
 * the Go runtime's runtime/symtab.go (pcHeader, functab, _func and
 * moduledata), read through a bounded window, never mapped. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/symbols/gopclntab.h"

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
		h->pcln_off = w[7];
	} else if (h->magic == MAGIC_116) {
		h->text_start = 0;
		h->funcname_off = w[2];
		h->cu_off = w[3];
		h->pcln_off = w[6];
	} else {
		return -ENOEXEC;
	}
	if (h->nfunc == 0 || h->funcname_off < HDR_SIZE ||
	    h->cu_off < h->funcname_off || h->cu_off > t->size ||
	    h->pcln_off >= t->size)
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

int gopclntab__funcs(const struct gopclntab_input *in, gopclntab_func_fn fn,
		     void *ctx, uint64_t *ret_names_off,
		     uint64_t *ret_names_size)
{
	const struct gopclntab_section *t = &in->pclntab;
	uint64_t tab, tab_end, ent, entsz, nfunc, i, entry, next = 0, func;
	uint64_t name, text = 0, last_off;
	unsigned char b[32];
	struct window *win;
	struct header h;
	bool abs;
	int err;

	err = read_header(in, &h);
	if (err)
		return err;
	win = calloc(1, sizeof(*win));
	if (!win)
		return -ENOMEM;
	win->in = in;
	abs = h.magic == MAGIC_116;
	entsz = abs ? 16 : 8;
	tab = t->off + h.pcln_off;
	tab_end = t->off + t->size;
	nfunc = h.nfunc < GOPCLNTAB_MAX_FUNCS ? h.nfunc : GOPCLNTAB_MAX_FUNCS;
	if ((tab_end - tab) / entsz <= nfunc) {
		err = -ENOEXEC;
		goto out;
	}
	if (!abs) {
		text = h.text_start;
		if (!text)
			text = moduledata_text(in, &h, win);
		if (!text && in->text.size) {
			/* The text's end is the last entry of functab. */
			err = window_get(win, tab + nfunc * entsz, b, 4,
					 tab_end);
			if (err)
				goto out;
			last_off = le(b, 4);
			if (last_off <= in->text.size &&
			    in->text.size - last_off < TEXT_SLACK)
				text = in->text.addr;
		}
		if (!text) {
			err = -ENOENT;
			goto out;
		}
	}
	*ret_names_off = t->off + h.funcname_off;
	*ret_names_size = h.cu_off - h.funcname_off;
	for (i = 0; i < nfunc; i++) {
		/* This entry and the next one's start. */
		ent = tab + i * entsz;
		err = window_get(win, ent, b, (size_t)(2 * entsz), tab_end);
		if (err)
			goto out;
		if (abs) {
			entry = le(b, 8);
			func = le(b + 8, 8);
			next = le(b + 16, 8);
		} else {
			entry = text + le(b, 4);
			func = le(b + 4, 4);
			next = text + le(b + 8, 4);
		}
		if (next < entry)
			break; /* not rising: the rest is not trusted */
		if (next == entry)
			continue;
		/* _func: entry (an offset, or the address), nameOff. */
		if (func > tab_end - tab) {
			err = -ENOEXEC;
			goto out;
		}
		err = window_get(win, tab + func, b, abs ? 12 : 8, tab_end);
		if (err)
			goto out;
		name = le(b + (abs ? 8 : 4), 4);
		if (name & 0x80000000u || name >= *ret_names_size)
			continue;
		err = fn(ctx, entry, next - entry, *ret_names_off + name);
		if (err)
			goto out;
	}
	err = 0;
out:
	free(win);
	return err;
}
