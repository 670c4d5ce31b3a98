// SPDX-License-Identifier: Apache-2.0
/* Frames to Locations to a Stack (see stacks.h): the receiver's frames,
 * innermost first, come in; the dictionary's mapping, location and stack
 * indices go out, through caches keyed by raw facts.
 */
#include "receiver/profile/stacks.h"

int stacks__init(struct stacks *st, struct dictionary *dict,
		 struct arena *arena, uint32_t max_entries, uint32_t max_stacks)
{
	int err;

	st->dict = dict;
	/* The caches are bounded like the tables: when one is full,
	 * lookups go on through the dictionary, only slower. */
	err = table__init(&st->mapraw, TABLE_CACHE, arena, max_entries, 0);
	if (!err)
		err = table__init(&st->locraw, TABLE_CACHE, arena, max_entries,
				  0);
	if (!err)
		err = table__init(&st->stackraw, TABLE_CACHE, arena, max_stacks,
				  0);
	return err;
}

void stacks__reset(struct stacks *st)
{
	table__reset(&st->mapraw);
	table__reset(&st->locraw);
	table__reset(&st->stackraw);
}

void stacks__free(struct stacks *st)
{
	if (!st)
		return;
	table__free(&st->mapraw);
	table__free(&st->locraw);
	table__free(&st->stackraw);
}

/* File-backed mappings are described file-relative: memory_start and
 * file_offset are the file offset of the mapping, addresses are file
 * offsets (address - memory_start + file_offset is the file offset, as in
 * pprof). Every process mapping the same part of the same file then shares
 * one Mapping and its Locations, whatever its address layout. */
static bool mapping_is_file(const struct mapping *m)
{
	return m->kind == MAPPING_FILE || m->kind == MAPPING_VDSO;
}

/* The address a user frame's Location carries. */
static uint64_t frame_address(const struct sym_frame *f)
{
	const struct mapping *m = f->mapping;

	if (!m || !mapping_is_file(m))
		return f->addr;
	return f->addr - m->start + m->offset;
}

/* A mapping as the process table describes it: the key of the cache that
 * spares a frame the hashing of its path. */
struct mapraw_key {
	uint64_t start, end, offset, inode;
	uint64_t path_hash; /* anonymous and special mappings: their name */
	uint64_t dev; /* major << 32 | minor */
	uint64_t kind;
};

/* The mapping of a user frame, through the cache of raw mappings. */
static int stacks__user_mapping(struct stacks *st, const struct sym_frame *f,
				int32_t *ret_idx)
{
	const struct mapping *m = f->mapping;
	struct mapraw_key k = {
		.start = m->start,
		.end = m->end,
		.offset = m->offset,
		.inode = m->inode,
		.dev = (uint64_t)m->dev_major << 32 | m->dev_minor,
		.kind = m->kind,
	};
	const struct table_entry *e;
	uint64_t hash;
	int err;

	/* Anonymous and special mappings have no inode: their name tells
	 * them apart. */
	if (!m->inode && m->path)
		k.path_hash = hash_str(m->path);
	hash = hash_key(&k, sizeof(k));
	e = table__find(&st->mapraw, &k, sizeof(k), hash);
	if (e) {
		*ret_idx = e->idx;
		return 0;
	}
	if (mapping_is_file(m))
		err = dict__mapping(st->dict, m->offset,
				    m->offset + (m->end - m->start), m->offset,
				    m->path, f->build_id, f->build_id_len,
				    ret_idx);
	else
		err = dict__mapping(st->dict, m->start, m->end, m->offset,
				    m->path, f->build_id, f->build_id_len,
				    ret_idx);
	if (err)
		return err;
	return table__remember(&st->mapraw, &k, sizeof(k), hash, *ret_idx);
}

/* (mapping, address, what the symbolizer made of it) -> location. */
struct locraw_key {
	uint64_t addr;
	int32_t mapping;
	uint32_t proc; /* 1 + process, for addresses not in a file; else 0 */
	uint64_t tag;
};

/*
 * The location of frames[first..last]: an inline chain (every frame but
 * the last inlined into the next) at one address, lines innermost first.
 * @leaf: the sample's first user address, looked up at the address itself
 * rather than as a return address: it may name another function.
 */
static int stacks__location(struct stacks *st, uint32_t proc,
			    const struct sym_frame *frames, uint32_t first,
			    uint32_t last, bool leaf, int32_t *ret_idx)
{
	const struct sym_frame *outer = &frames[last];
	bool kernel = outer->kind == FRAME_KERNEL;
	/* Kernel and file addresses mean the same in every process; any
	 * other address only in its own. */
	bool shared = kernel ||
		      (outer->mapping && mapping_is_file(outer->mapping));
	struct locraw_key k = {
		.addr = kernel ? outer->addr : frame_address(outer),
		.proc = shared ? 0 : proc + 1,
		.tag = (uint32_t)kernel | (uint32_t)leaf << 1 |
		       (uint32_t) !!outer->name << 2 | (last - first) << 3 |
		       (uint64_t)outer->kind << 32,
	};
	struct dict_line *lines = st->lines;
	const struct table_entry *e;
	uint32_t i, nlines = 0;
	int32_t attr;
	uint64_t hash;
	int err = 0;

	if (kernel) {
		err = dict__kernel_mapping(st->dict, outer->module, &k.mapping);
	} else if (outer->kind == FRAME_CPYTHON) {
		/* Python frames: one mapping, named for the runtime. */
		err = dict__runtime_mapping(st->dict, "cpython", &k.mapping);
	} else if (!outer->mapping) {
		k.mapping = 0;
	} else if (outer->mapping == st->last_mapping) {
		k.mapping = st->last_mapping_idx;
	} else {
		err = stacks__user_mapping(st, outer, &k.mapping);
		st->last_mapping = err ? NULL : outer->mapping;
		st->last_mapping_idx = k.mapping;
	}
	if (err)
		return err;

	hash = hash_key(&k, sizeof(k));
	e = table__find(&st->locraw, &k, sizeof(k), hash);
	if (e) {
		*ret_idx = e->idx;
		return 0;
	}
	for (i = first; i <= last; i++) {
		if (!frames[i].name)
			continue;
		err = dict__function(st->dict, frames[i].name,
				     frames[i].system_name, frames[i].file,
				     frames[i].start_line, false,
				     &lines[nlines].fn);
		if (err)
			return err;
		lines[nlines].line = frames[i].line;
		nlines++;
	}
	err = dict__frame_type(st->dict, outer->kind, &attr);
	if (!err)
		err = dict__location(st->dict, k.mapping, k.addr, attr, lines,
				     nlines, false, ret_idx);
	if (err)
		return err;
	return table__remember(&st->locraw, &k, sizeof(k), hash, *ret_idx);
}

/* The stack of @s through the dictionary: every frame interned. */
static int stacks__build(struct stacks *st, uint32_t proc,
			 const struct sym_sample *s, int32_t *ret_idx)
{
	const struct sym_frame *fr = s->frames;
	uint32_t i = 0, last, end, n = 0;
	int err;

	/* The sample's mappings are borrowed for this call only. */
	st->last_mapping = NULL;
	while (i < s->nframes) {
		if (n == PROFILE_MAX_STACK_DEPTH) {
			st->stacks_truncated++;
			break;
		}
		/* An inline chain never crosses from kernel to user. */
		end = i < s->nkernel ? s->nkernel : s->nframes;
		if (end > s->nframes)
			end = s->nframes;
		last = i;
		while (last + 1 < end && fr[last].inlined &&
		       last - i + 1 < DICT_MAX_LINES)
			last++;
		err = stacks__location(st, proc, fr, i, last, i == s->nkernel,
				       &st->locs[n]);
		if (err)
			return err;
		n++;
		i = last + 1;
	}
	return dict__stack(st->dict, st->locs, n, false, ret_idx);
}

static uint64_t frame_tag(const struct sym_frame *f)
{
	return (uint64_t)(f->kind == FRAME_KERNEL) | (uint64_t)f->inlined << 1 |
	       (uint64_t) !!f->mapping << 2 | (uint64_t) !!f->name << 3;
}

void rawkey__init(struct rawkey *k, const struct sym_sample *s)
{
	const struct proc *p = s->proc;
	uint64_t h1, h2, v, image;
	uint32_t i;

	/* The process image, as the builder tells processes apart: TGID,
	 * leader start, what the process table knows of it. */
	image = (uint64_t)s->tgid << 32 | (p ? p->facts_gen : 0);
	k->proc = UINT32_MAX;
	k->maps_gen = p ? p->maps_reads : 0;
	k->aspace = p ? p->aspace_id : 0;
	k->nframes = s->nframes;
	k->nkernel = s->nkernel;
	v = (uint64_t)k->maps_gen << 1 | !!p;
	h1 = hash_mix(hash_mix(hash_mix(image, s->start_ns), v), k->aspace);
	h2 = hash_mix2(hash_mix2(hash_mix2(k->aspace, v), s->start_ns), image);
	v = ((uint64_t)k->nframes << 32) | k->nkernel;
	h1 = hash_mix(h1, v);
	h2 = hash_mix2(h2, v);
	for (i = 0; i < s->nframes; i++) {
		/* User addresses are below 2^56: the kind fits above. */
		v = s->frames[i].addr ^ frame_tag(&s->frames[i]) << 60 ^
		    (uint64_t)s->frames[i].kind << 56;
		h1 = hash_mix(h1, v);
		h2 = hash_mix2(h2, v);
	}
	k->h1 = hash_final(h1);
	k->h2 = hash_final(h2 ^ 0x5bd1e9955bd1e995ULL);
}

int stacks__get(struct stacks *st, const struct sym_sample *s,
		const struct rawkey *k, int32_t *ret_idx, bool *ret_cached)
{
	const struct table_entry *e;
	int err;

	/* The first half is hash enough: the key holds the second. */
	e = table__find(&st->stackraw, k, sizeof(*k), k->h1);
	*ret_cached = e;
	if (e) {
		*ret_idx = e->idx;
		return 0;
	}
	err = stacks__build(st, k->proc, s, ret_idx);
	if (err || table__full(&st->stackraw, sizeof(*k)))
		return err;
	err = table__remember(&st->stackraw, k, sizeof(*k), k->h1, *ret_idx);
	*ret_cached = !err;
	return err;
}
