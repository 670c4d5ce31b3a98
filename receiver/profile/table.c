// SPDX-License-Identifier: Apache-2.0
/* The interning table of the profile builder: see table.h. Keys in,
 * indices (or cached values) out; entries in the interval's arena. */
#include <stdlib.h>

#include "receiver/profile/table.h"

int table__init(struct table *t, enum table_kind kind, struct arena *arena,
		uint32_t max, size_t max_bytes)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->arena = arena;
	t->max = max;
	t->max_bytes = max_bytes;
	if (kind == TABLE_CACHE)
		return 0;
	/* An indexed table always has its array, so a reader never meets a
	 * NULL one; a zero entry's slot is NULL: it is never stored. */
	err = vec__reserve(t->v, t->cap, 1);
	if (err)
		return err;
	t->v[0] = NULL;
	t->first = kind == TABLE_ZERO_ENTRY;
	t->n = t->first;
	return 0;
}

void table__reset(struct table *t)
{
	htab__clear(&t->h);
	t->n = t->first;
	t->bytes = 0;
}

void table__free(struct table *t)
{
	htab__free(&t->h);
	free(t->v);
	t->v = NULL;
	t->cap = 0;
}

/* A new entry for @key with index or value @idx, in the hash table.
 * Inlined: it is most of what adding costs. */
static inline __attribute__((always_inline)) int
table__insert(struct table *t, const void *key, uint32_t len, uint64_t hash,
	      int32_t idx, const struct table_entry **ret)
{
	struct table_entry *e;
	int err;

	e = arena__alloc(t->arena, sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	e->idx = idx;
	e->len = len;
	/* Most keys are a few words: copied inline, not by libc. */
	if (len % 8 == 0 && len <= 64) {
		uint32_t i;

		for (i = 0; i < len / 8; i++)
			memcpy(&e->key[i], (const char *)key + 8 * i, 8);
	} else {
		memcpy(e->key, key, len);
	}
	((char *)e->key)[len] = '\0';
	err = htab__insert(&t->h, &e->node, hash);
	if (err)
		return err;
	t->n++;
	t->bytes += len;
	*ret = e;
	return 0;
}

int table__add(struct table *t, const void *key, uint32_t len, uint64_t hash,
	       bool force, int32_t *ret_idx)
{
	const struct table_entry *e;
	uint32_t idx = t->n;
	int err;

	if (!force && (table__full(t, len) || idx >= INT32_MAX))
		return -ENOSPC;
	/* Room in the array first: an entry in the hash table must be
	 * readable by its index. */
	err = vec__reserve(t->v, t->cap, idx + 1);
	if (!err)
		err = table__insert(t, key, len, hash, (int32_t)idx, &e);
	if (err)
		return err;
	t->v[idx] = e;
	*ret_idx = (int32_t)idx;
	return 0;
}

int table__remember(struct table *t, const void *key, uint32_t len,
		    uint64_t hash, int32_t val)
{
	const struct table_entry *e;

	if (table__full(t, len))
		return 0;
	return table__insert(t, key, len, hash, val, &e);
}
