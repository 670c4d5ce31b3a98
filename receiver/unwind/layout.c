// SPDX-License-Identifier: Apache-2.0
/* Rows of a compiled table in, the kernel's chunks and page index out
 * (bpf/unwind_maps.h explains the layout); and the BPF walk's lookup over
 * them, for the tests. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/unwind/layout.h"

#define PAGE_BYTES (1ull << UNWIND_PAGE_SHIFT)
#define SLOT_MASK ((1u << UNWIND_SLOT_BITS) - 1)
#define MAX_CHUNKS (1u << (32 - UNWIND_SLOT_BITS))

/* Where rows go while the layout is built. A dry run (no chunks array)
 * only counts the chunks, so the real one allocates them at their exact
 * number: a large library's layout is megabytes, and growing it by
 * doubling held up to twice that. */
struct packer {
	struct unwind_layout *l;
	bool dry;
	/* Streaming: each chunk goes to put() once complete, from one
	 * buffer, instead of l->chunks. */
	unwind_layout_put_fn put;
	void *ctx;
	struct unwind_chunk *cur; /* the chunk rows go into */
	uint32_t cap; /* chunks allocated */
	uint32_t used; /* slots used in the last chunk */
	size_t first; /* row index at slot 0 of the last chunk */
	size_t emitted; /* rows [first, emitted) are in the last chunk */
};

static int packer__new_chunk(struct packer *pk, size_t first)
{
	struct unwind_layout *l = pk->l;
	struct unwind_chunk *c;
	uint32_t i;

	if (l->nchunks == MAX_CHUNKS)
		return -E2BIG;
	if (pk->dry) {
		l->nchunks++;
		goto out;
	}
	if (pk->put) {
		if (l->nchunks) {
			int err = pk->put(pk->ctx, l->nchunks - 1, pk->cur);

			if (err)
				return err;
		}
		c = pk->cur;
		l->nchunks++;
		goto clear;
	}
	if (l->nchunks == pk->cap) {
		uint32_t cap = pk->cap ? pk->cap * 2 : 4;

		c = realloc(l->chunks, (size_t)cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		l->chunks = c;
		pk->cap = cap;
	}
	c = &l->chunks[l->nchunks++];
	pk->cur = c;
clear:
	for (i = 0; i < UNWIND_CHUNK_ROWS; i++)
		c->rows[i] = (struct unwind_row){ .pc = UNWIND_ROW_UNUSED };
out:
	pk->used = 0;
	pk->first = first;
	pk->emitted = first;
	return 0;
}

static void packer__emit(struct packer *pk, const struct unwind_row *row)
{
	if (!pk->dry)
		pk->cur->rows[pk->used] = *row;
	pk->used++;
}

/*
 * Places the rows of one page, [a, b], and returns the index entry that
 * points at row a. They go on in the last chunk when it holds row a and has
 * room for the rest; else a chunk starts at row a.
 */
static int packer__page(struct packer *pk, const struct unwind_row *rows,
			size_t a, size_t b, uint32_t *ret_entry)
{
	struct unwind_layout *l = pk->l;
	size_t i, count = b - a + 1;
	uint32_t slot;
	int err;

	/* Row a is in the chunk, or the next to go in (a row starts right
	 * at the page's first byte). */
	if (l->nchunks && a >= pk->first && a <= pk->emitted &&
	    b + 1 - pk->emitted <= UNWIND_CHUNK_ROWS - pk->used) {
		slot = (uint32_t)(a - pk->first);
		for (i = pk->emitted; i <= b; i++)
			packer__emit(pk, &rows[i]);
		pk->emitted = b + 1;
		goto out;
	}
	if (l->nchunks && a < pk->emitted)
		l->rows_repeated += (uint32_t)(pk->emitted - a);
	err = packer__new_chunk(pk, a);
	if (err)
		return err;
	slot = 0;
	if (count > UNWIND_CHUNK_ROWS) {
		/* A page denser than a chunk: the rest of it is walked with
		 * frame pointers, from the first row that did not fit. */
		for (i = a; i < a + UNWIND_CHUNK_ROWS - 1; i++)
			packer__emit(pk, &rows[i]);
		packer__emit(pk, &(struct unwind_row){ .pc = rows[i].pc });
		l->rows_cut += (uint32_t)(count - (UNWIND_CHUNK_ROWS - 1));
		pk->emitted = i; /* the chunk is full: nothing follows */
		goto out;
	}
	for (i = a; i <= b; i++)
		packer__emit(pk, &rows[i]);
	pk->emitted = b + 1;
out:
	*ret_entry = (uint32_t)(l->nchunks - 1) << UNWIND_SLOT_BITS | slot;
	return 0;
}

/* Places every page's rows: a dry run counts, a real one fills. */
static int layout__pack(struct packer *pk, const struct unwind_row *rows,
			size_t n)
{
	struct unwind_layout *l = pk->l;
	uint64_t start, end;
	size_t a = 0, b;
	uint32_t p, entry;
	int err;

	for (p = 0; p < l->npages; p++) {
		start = (uint64_t)p << UNWIND_PAGE_SHIFT;
		end = start + PAGE_BYTES;
		/* a: the row in force at the page's first byte; b: the last
		 * one that starts inside the page. */
		while (a + 1 < n && rows[a + 1].pc <= start)
			a++;
		for (b = a; b + 1 < n && rows[b + 1].pc < end; b++)
			;
		err = packer__page(pk, rows, a, b, &entry);
		if (err)
			return err;
		if (!pk->dry)
			l->groups[p / UNWIND_GROUP_PAGES]
				.page[p % UNWIND_GROUP_PAGES] = entry;
	}
	return 0;
}

int unwind_layout__count(const struct unwind_row *rows, size_t n,
			 uint64_t extent, struct unwind_layout *ret)
{
	struct unwind_layout l = { 0 };
	struct packer pk = { .l = &l, .dry = true };
	size_t i;
	int err;

	if (!n || rows[0].pc != 0 || extent <= rows[n - 1].pc)
		return -EINVAL;
	if (extent >= UNWIND_ROW_UNUSED)
		return -E2BIG;
	for (i = 1; i < n; i++)
		if (rows[i].pc <= rows[i - 1].pc)
			return -EINVAL;

	l.npages = (uint32_t)((extent + PAGE_BYTES - 1) >> UNWIND_PAGE_SHIFT);
	l.ngroups = (l.npages + UNWIND_GROUP_PAGES - 1) / UNWIND_GROUP_PAGES;
	l.groups = calloc(l.ngroups, sizeof(*l.groups));
	if (!l.groups)
		return -ENOMEM;
	err = layout__pack(&pk, rows, n);
	if (!err && !l.nchunks)
		err = -EINVAL;
	if (err) {
		unwind_layout__release(&l);
		return err;
	}
	*ret = l;
	return 0;
}

/* The real pass over what unwind_layout__count() counted in @l. */
static int layout__fill(struct unwind_layout *l, struct packer *pk,
			const struct unwind_row *rows, size_t n)
{
	l->nchunks = 0;
	l->rows_repeated = 0;
	l->rows_cut = 0;
	return layout__pack(pk, rows, n);
}

int unwind_layout__stream(const struct unwind_row *rows, size_t n,
			  struct unwind_layout *l, unwind_layout_put_fn put,
			  void *ctx)
{
	uint32_t counted = l->nchunks;
	struct unwind_chunk *buf;
	struct packer pk;
	int err;

	buf = malloc(sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	pk = (struct packer){ .l = l, .put = put, .ctx = ctx, .cur = buf };
	err = layout__fill(l, &pk, rows, n);
	if (!err && l->nchunks != counted)
		err = -EINVAL;
	if (!err)
		err = put(ctx, l->nchunks - 1, buf);
	free(buf);
	return err;
}

int unwind_layout__build(const struct unwind_row *rows, size_t n,
			 uint64_t extent, struct unwind_layout *ret)
{
	struct unwind_layout l;
	struct packer pk;
	int err;

	err = unwind_layout__count(rows, n, extent, &l);
	if (err)
		return err;
	l.chunks = malloc((size_t)l.nchunks * sizeof(*l.chunks));
	if (!l.chunks) {
		err = -ENOMEM;
		goto err_release;
	}
	pk = (struct packer){ .l = &l, .cap = l.nchunks };
	err = layout__fill(&l, &pk, rows, n);
	if (err)
		goto err_release;
	*ret = l;
	return 0;

err_release:
	unwind_layout__release(&l);
	return err;
}

uint64_t unwind_layout__kernel_bytes(const struct unwind_layout *l)
{
	return (uint64_t)l->nchunks * UNWIND_CHUNK_ELEM_BYTES +
	       (uint64_t)l->ngroups * UNWIND_GROUP_ELEM_BYTES;
}

const struct unwind_row *unwind_layout__lookup(const struct unwind_layout *l,
					       uint64_t pc)
{
	uint64_t page = pc >> UNWIND_PAGE_SHIFT;
	uint32_t entry;

	if (page >= l->npages)
		return NULL;
	entry = l->groups[page / UNWIND_GROUP_PAGES]
			.page[page % UNWIND_GROUP_PAGES];
	if ((entry >> UNWIND_SLOT_BITS) >= l->nchunks)
		return NULL;
	return unwind_layout__chunk_row(&l->chunks[entry >> UNWIND_SLOT_BITS],
					entry, pc);
}

const struct unwind_row *unwind_layout__chunk_row(const struct unwind_chunk *c,
						  uint32_t entry, uint64_t pc)
{
	uint64_t base, len, half;
	int i;

	base = entry & SLOT_MASK;
	if (base >= UNWIND_CHUNK_ROWS)
		return NULL;
	/* The same halvings as bpf/sampler.bpf.c's find_row(). */
	len = UNWIND_CHUNK_ROWS - base;
	for (i = 0; i < 9; i++) {
		half = len >> 1;
		if (c->rows[base + half].pc <= pc)
			base += half;
		len -= half;
	}
	return &c->rows[base];
}

void unwind_layout__release(struct unwind_layout *l)
{
	if (!l)
		return;
	free(l->chunks);
	free(l->groups);
	memset(l, 0, sizeof(*l));
}
