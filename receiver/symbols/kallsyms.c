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
/* A kept name offset with this bit set marks where text stops
 * (is_end_marker()): nothing from its address on is named. */
#define KALLSYMS_END_MARKER (1u << 31)
#define KALLSYMS_MAX_POOL (KALLSYMS_END_MARKER - 1)
/* Function padding of CONFIG_FUNCTION_PADDING_CFI kernels: "__pfx_NAME"
 * just below NAME, half of a 6.x kernel's text symbols. */
#define KALLSYMS_PFX "__pfx_"
#define KALLSYMS_PFX_LEN (sizeof(KALLSYMS_PFX) - 1)

/* A symbol while the file is read: sorted by address, then rank. */
struct ksym_load {
	uint64_t addr;
	uint32_t name; /* offset in ->pool */
	uint32_t module; /* offset in ->pool, or KALLSYMS_NO_MODULE */
	uint32_t rank; /* lower wins among symbols at one address */
};

/* Symbols from index first on that share a value, up to the next run:
 * the upper 32 bits of their addresses (one run for x86-64's kernel and
 * modules, a few elsewhere), or their module. */
struct ksym_run {
	uint32_t first;
	uint32_t value;
};

/*
 * Kept form, 8 bytes per symbol for the ~120k of a distribution kernel:
 * the low half of each address (the high half by run), and the name's
 * offset. A symbol ends where the next begins, at most KALLSYMS_MAX_EXTENT
 * on; an end marker covers nothing. A name shares the pool bytes of the
 * "__pfx_" name listed just before it.
 */
struct kallsyms {
	struct ksym_load *load; /* until kallsyms__finish() */
	size_t cap;
	size_t n;
	uint32_t *low; /* sorted with ->highs */
	uint32_t *names; /* offset in ->pool | KALLSYMS_END_MARKER */
	struct ksym_run *highs; /* value: the high half */
	size_t nhighs;
	struct ksym_run *modules; /* value: offset in ->pool or
				     KALLSYMS_NO_MODULE */
	size_t nmodules;
	char *pool;
	size_t pool_len;
	size_t pool_cap;
	uint32_t last_name; /* the pool offset of the last name added */
	bool have_last;
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

	if (ks->pool_len + len + 1 > KALLSYMS_MAX_POOL)
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

/* @name's offset in the pool: inside the "__pfx_@name" just added when
 * that is the name before it, as /proc/kallsyms lists them. */
static int name__add(struct kallsyms *ks, const char *name, uint32_t *ret_off)
{
	const char *last = ks->pool + ks->last_name;
	int err;

	if (ks->have_last && !strncmp(last, KALLSYMS_PFX, KALLSYMS_PFX_LEN) &&
	    !strcmp(last + KALLSYMS_PFX_LEN, name)) {
		*ret_off = ks->last_name + (uint32_t)KALLSYMS_PFX_LEN;
	} else {
		err = pool__add(ks, name, strlen(name), ret_off);
		if (err)
			return err;
	}
	ks->last_name = *ret_off;
	ks->have_last = true;
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
	err = name__add(ks, name, &name_off);
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

/* Starts a run at symbol @first unless the last run has @value. */
static int run__add(struct ksym_run **runs, size_t *n, uint32_t value,
		    uint32_t first)
{
	struct ksym_run *v;

	if (*n && (*runs)[*n - 1].value == value)
		return 0;
	v = realloc(*runs, (*n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	v[*n] = (struct ksym_run){ .first = first, .value = value };
	*runs = v;
	(*n)++;
	return 0;
}

/* The last run of @runs (@n >= 1) that starts at or before symbol @i. */
static const struct ksym_run *run__find(const struct ksym_run *runs, size_t n,
					size_t i)
{
	size_t lo = 0, hi = n, mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (runs[mid].first <= i)
			lo = mid;
		else
			hi = mid;
	}
	return &runs[lo];
}

/* Sorts, keeps one name per address, in the kept form. */
static int kallsyms__finish(struct kallsyms *ks)
{
	const struct ksym_load *l;
	uint32_t name, n = 0;
	uint64_t last = 0;
	size_t i;
	int err;

	qsort(ks->load, ks->n, sizeof(*ks->load), ksym_cmp);
	for (i = 0; i < ks->n; i++)
		if (!i || ks->load[i].addr != ks->load[i - 1].addr)
			n++;
	ks->low = malloc(n * sizeof(*ks->low));
	ks->names = malloc(n * sizeof(*ks->names));
	if (!ks->low || !ks->names)
		return -ENOMEM;
	n = 0;
	for (i = 0; i < ks->n; i++) {
		l = &ks->load[i];
		if (n && l->addr == last)
			continue;
		last = l->addr;
		err = run__add(&ks->highs, &ks->nhighs,
			       (uint32_t)(l->addr >> 32), n);
		if (!err)
			err = run__add(&ks->modules, &ks->nmodules, l->module,
				       n);
		if (err)
			return err;
		name = l->name;
		if (is_end_marker(ks->pool + name))
			name |= KALLSYMS_END_MARKER;
		ks->low[n] = (uint32_t)l->addr;
		ks->names[n++] = name;
	}
	free(ks->load);
	ks->load = NULL;
	ks->n = n;
	ks->cap = 0;
	/* Held for the receiver's life: give back what doubling left. */
	if (ks->pool_len < ks->pool_cap) {
		ks->pool = shrink(ks->pool, ks->pool_len);
		ks->pool_cap = ks->pool_len;
	}
	return 0;
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
	err = kallsyms__finish(ks);
	if (err)
		goto err_free;
	fclose(f);
	return ks;

err_free:
	kallsyms__free(ks);
err_close:
	fclose(f);
	errno = -err;
	return NULL;
}

/* The address of symbol @i. */
static uint64_t ksym_addr(const struct kallsyms *ks, size_t i)
{
	return (uint64_t)run__find(ks->highs, ks->nhighs, i)->value << 32 |
	       ks->low[i];
}

/* The number of symbols at or below @addr. */
static size_t ksym_rank_of(const struct kallsyms *ks, uint64_t addr)
{
	uint32_t high = (uint32_t)(addr >> 32), low = (uint32_t)addr;
	size_t lo = 0, hi = ks->nhighs, mid, end;

	/* The first run whose addresses are all above @addr. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ks->highs[mid].value <= high)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	end = lo < ks->nhighs ? ks->highs[lo].first : ks->n;
	if (ks->highs[lo - 1].value < high)
		return end;
	/* Within the run of @addr's high half. */
	lo = ks->highs[lo - 1].first;
	hi = end;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ks->low[mid] <= low)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The module name of symbol @i, NULL for vmlinux. */
static const char *ksym_module(const struct kallsyms *ks, size_t i)
{
	uint32_t name = run__find(ks->modules, ks->nmodules, i)->value;

	return name == KALLSYMS_NO_MODULE ? NULL : ks->pool + name;
}

const char *kallsyms__lookup(const struct kallsyms *ks, uint64_t addr,
			     uint64_t *ret_offset, const char **ret_module)
{
	uint64_t start;
	size_t i;

	if (!ks || !ks->n)
		return NULL;
	i = ksym_rank_of(ks, addr);
	if (!i)
		return NULL;
	i--;
	start = ksym_addr(ks, i);
	if (ks->names[i] & KALLSYMS_END_MARKER ||
	    addr - start >= KALLSYMS_MAX_EXTENT)
		return NULL;
	if (ret_offset)
		*ret_offset = addr - start;
	if (ret_module)
		*ret_module = ksym_module(ks, i);
	return ks->pool + ks->names[i];
}

size_t kallsyms__count(const struct kallsyms *ks)
{
	return ks ? ks->n : 0;
}

size_t kallsyms__memory(const struct kallsyms *ks)
{
	if (!ks)
		return 0;
	return sizeof(*ks) + ks->n * (sizeof(*ks->low) + sizeof(*ks->names)) +
	       ks->nhighs * sizeof(*ks->highs) +
	       ks->nmodules * sizeof(*ks->modules) + ks->pool_cap;
}

void kallsyms__free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->load);
	free(ks->low);
	free(ks->names);
	free(ks->highs);
	free(ks->modules);
	free(ks->pool);
	free(ks);
}
