// SPDX-License-Identifier: Apache-2.0
/* Symbolizer input for kernel frames: /proc/kallsyms read once into a
 * sorted table of text symbols (vmlinux and modules) that every kernel
 * address of every sample is looked up in. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/symbols/kallsyms.h"

/* KSYM_NAME_LEN is 512 since 6.1; a module name is at most 56 bytes. */
#define KALLSYMS_MAX_LINE 1024
#define KALLSYMS_MAX_SYMBOLS (4u << 20) /* a distribution kernel has ~200k */
/* No kernel function is this large: an address further past the last
 * symbol of a region is not kernel text we know. */
#define KALLSYMS_MAX_EXTENT (1u << 20)
#define KALLSYMS_NO_MODULE UINT32_MAX
/* In ksym.module: the symbol marks where text stops (is_end_marker()). */
#define KALLSYMS_END_MARKER (UINT32_MAX - 1)

/* A symbol while the file is read: sorted by address, then rank. */
struct ksym_load {
	uint64_t addr;
	uint32_t name; /* offset in ->pool */
	uint32_t module; /* offset in ->pool, or KALLSYMS_NO_MODULE */
	uint32_t rank; /* lower wins among symbols at one address */
};

/* A symbol as it is kept, one per address: 16 bytes for the ~120k of a
 * distribution kernel. It ends where the next begins, at most
 * KALLSYMS_MAX_EXTENT on; an end marker covers nothing. */
struct ksym {
	uint64_t addr;
	uint32_t name; /* offset in ->pool */
	uint32_t module; /* KALLSYMS_NO_MODULE, KALLSYMS_END_MARKER or an
			    offset in ->pool */
};

struct kallsyms {
	/* ksym_load until kallsyms__finish(), then ksym */
	union {
		struct ksym_load *load;
		struct ksym *syms;
	};
	size_t n;
	size_t cap;
	char *pool;
	size_t pool_len;
	size_t pool_cap;
	size_t skipped; /* malformed, too long, or beyond the cap */
};

/* Symbols that mark where text stops; what follows them (rodata, data,
 * freed init memory) is not code of theirs. */
static bool is_end_marker(const char *name)
{
	return strcmp(name, "_etext") == 0 || strcmp(name, "_einittext") == 0;
}

static int pool__add(struct kallsyms *ks, const char *s, size_t len,
		     uint32_t *ret_off)
{
	size_t cap;
	char *p;

	if (ks->pool_len + len + 1 > UINT32_MAX - 1)
		return -E2BIG;
	if (ks->pool_len + len + 1 > ks->pool_cap) {
		cap = ks->pool_cap ? ks->pool_cap * 2 : 1u << 16;
		while (cap < ks->pool_len + len + 1)
			cap *= 2;
		p = realloc(ks->pool, cap);
		if (!p)
			return -ENOMEM;
		ks->pool = p;
		ks->pool_cap = cap;
	}
	memcpy(ks->pool + ks->pool_len, s, len);
	ks->pool[ks->pool_len + len] = '\0';
	*ret_off = (uint32_t)ks->pool_len;
	ks->pool_len += len + 1;
	return 0;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* Prefer the name a user knows (schedule, not _text at the same address),
 * then global over weak over local. */
static uint32_t ksym_rank(const char *name, char type)
{
	uint32_t us = 0, b;

	while (name[us] == '_' && us < 3)
		us++;
	b = type == 'T' ? 0 : type == 'W' ? 1 : type == 't' ? 2 : 3;
	return (is_end_marker(name) ? 1u << 12 : 0) | (us << 4) | b;
}

/*
 * One line: "ADDR TYPE NAME" optionally followed by "\t[MODULE]".
 * Returns 1 when a text symbol was added, 0 when the line was skipped,
 * -errno on allocation failure. Every address read is counted in
 * *addrs, and in *nonzero when it is not 0.
 */
static int kallsyms__parse_line(struct kallsyms *ks, char *line,
				uint32_t *last_mod, size_t *addrs,
				size_t *nonzero)
{
	char *p = line, *end, *name, *mod = NULL, *mod_end;
	uint32_t name_off, mod_off = KALLSYMS_NO_MODULE;
	unsigned long long addr;
	struct ksym_load *v;
	size_t cap;
	char type;
	int err;

	errno = 0;
	addr = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || errno)
		return 0;
	(*addrs)++;
	if (addr)
		(*nonzero)++;
	type = end[1];
	if (!type || end[2] != ' ')
		return 0;
	if (!is_text_type(type))
		return 0;
	name = end + 3;
	end = name + strcspn(name, "\t\n");
	if (end == name)
		return 0;
	if (*end == '\t') {
		mod = end + 1;
		if (*mod != '[')
			return 0;
		mod++;
		mod_end = strchr(mod, ']');
		if (!mod_end || mod_end == mod)
			return 0;
		*mod_end = '\0';
	}
	*end = '\0';
	if (ks->n == KALLSYMS_MAX_SYMBOLS)
		return -E2BIG;
	if (mod) {
		/* A module's symbols are listed together: share the name. */
		if (*last_mod != KALLSYMS_NO_MODULE &&
		    strcmp(ks->pool + *last_mod, mod) == 0) {
			mod_off = *last_mod;
		} else {
			err = pool__add(ks, mod, strlen(mod), &mod_off);
			if (err)
				return err;
			*last_mod = mod_off;
		}
	}
	err = pool__add(ks, name, strlen(name), &name_off);
	if (err)
		return err;
	if (ks->n == ks->cap) {
		cap = ks->cap ? ks->cap * 2 : 4096;
		v = realloc(ks->load, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ks->load = v;
		ks->cap = cap;
	}
	v = &ks->load[ks->n++];
	v->addr = addr;
	v->name = name_off;
	v->module = mod_off;
	v->rank = ksym_rank(name, type);
	return 1;
}

static int ksym_cmp(const void *pa, const void *pb)
{
	const struct ksym_load *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->name < b->name ? -1 : a->name > b->name;
}

/* The block of @p cut to @bytes, or @p when that fails or frees nothing. */
static void *shrink(void *p, size_t bytes)
{
	void *q = bytes ? realloc(p, bytes) : NULL;

	return q ? q : p;
}

/* Sorts, keeps one name per address, in the kept form. */
static void kallsyms__finish(struct kallsyms *ks)
{
	const struct ksym_load *l;
	size_t i, n = 0;
	struct ksym *s;

	qsort(ks->load, ks->n, sizeof(*ks->load), ksym_cmp);
	/* In place: symbol n is written at 16 n, symbol i >= n read from
	 * 24 i, which it never overtakes. */
	for (i = 0; i < ks->n; i++) {
		l = &ks->load[i];
		if (n && l->addr == ks->syms[n - 1].addr)
			continue;
		s = &ks->syms[n++];
		*s = (struct ksym){
			.addr = l->addr,
			.name = l->name,
			.module = is_end_marker(ks->pool + l->name) ?
					  KALLSYMS_END_MARKER :
					  l->module,
		};
	}
	ks->n = n;
	/* Held for the receiver's life: give back what doubling and the
	 * load form left over. */
	ks->syms = shrink(ks->syms, n * sizeof(*ks->syms));
	ks->cap = n;
	if (ks->pool_len < ks->pool_cap) {
		ks->pool = shrink(ks->pool, ks->pool_len);
		ks->pool_cap = ks->pool_len;
	}
}

struct kallsyms *kallsyms__load(const char *path)
{
	uint32_t last_mod = KALLSYMS_NO_MODULE;
	char line[KALLSYMS_MAX_LINE];
	struct kallsyms *ks;
	size_t len, addrs = 0, nonzero = 0;
	bool cut = false;
	FILE *f;
	int err;

	f = fopen(path ? path : "/proc/kallsyms", "re");
	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		err = -ENOMEM;
		goto err_close;
	}
	while (fgets(line, sizeof(line), f)) {
		len = strlen(line);
		if (cut || (len && line[len - 1] != '\n' && !feof(f))) {
			/* The tail of a line longer than the buffer arrives
			 * as further reads; none of it is a line start. */
			if (!cut)
				ks->skipped++;
			cut = len && line[len - 1] != '\n';
			continue;
		}
		err = kallsyms__parse_line(ks, line, &last_mod, &addrs,
					   &nonzero);
		if (err == -E2BIG) {
			ks->skipped++;
		} else if (err < 0) {
			goto err_free;
		} else if (err == 0) {
			ks->skipped++;
		}
	}
	if (ferror(f)) {
		err = -EIO;
		goto err_free;
	}
	if (addrs && !nonzero) {
		/* kptr_restrict hides every address from us. */
		err = -EPERM;
		goto err_free;
	}
	if (!ks->n) {
		err = -ENOENT;
		goto err_free;
	}
	kallsyms__finish(ks);
	fclose(f);
	return ks;

err_free:
	kallsyms__free(ks);
err_close:
	fclose(f);
	errno = -err;
	return NULL;
}

const char *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr,
			     uint64_t *ret_offset, const char **ret_module)
{
	size_t lo = 0, hi, mid;
	const struct ksym *s;

	if (!ks || !ks->n)
		return NULL;
	hi = ks->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &ks->syms[lo - 1];
	if (s->module == KALLSYMS_END_MARKER ||
	    addr - s->addr >= KALLSYMS_MAX_EXTENT)
		return NULL;
	if (ret_offset)
		*ret_offset = addr - s->addr;
	if (ret_module)
		*ret_module = s->module == KALLSYMS_NO_MODULE ?
				      NULL :
				      ks->pool + s->module;
	return ks->pool + s->name;
}

size_t kallsyms__count(const struct kallsyms *ks)
{
	return ks ? ks->n : 0;
}

size_t kallsyms__memory(const struct kallsyms *ks)
{
	if (!ks)
		return 0;
	return sizeof(*ks) + ks->cap * sizeof(*ks->syms) + ks->pool_cap;
}

void kallsyms__free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->pool);
	free(ks);
}
