/* SPDX-License-Identifier: Apache-2.0 */
/* Byte keys in, dense indices out: the one interning table behind every
 * dictionary table (dictionary.c), every cache keyed by raw facts
 * (stacks.c) and the builder's process and Sample tables (builder.c).
 *
 * An entry is its key, copied into the interval's arena, and an index:
 * its position in the table (table__intern), or a value the caller
 * remembers for the key (table__remember, for caches). A table is bounded
 * in entries and, optionally, in key bytes; it is emptied, not freed, at
 * every interval, like the arena its entries live in.
 */
#ifndef TGPROF_RECEIVER_PROFILE_TABLE_H
#define TGPROF_RECEIVER_PROFILE_TABLE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/arena.h"
#include "lib/htab.h"
#include "lib/vec.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct table_entry {
	struct htab_node node;
	int32_t idx;
	uint32_t len; /* key bytes */
	/* The key, then a NUL: a string key reads as a C string. */
	uint64_t key[];
};

struct table {
	struct htab h;
	struct arena *arena; /* borrowed: the interval's */
	/* v[idx] for an indexed table; v[0] is NULL where index 0 is the
	 * zero entry, which is never stored. NULL for a cache. */
	const struct table_entry **v;
	uint32_t n, cap; /* n counts the zero entry */
	uint32_t first; /* 1 with a zero entry, else 0 */
	uint32_t max; /* entries, the zero entry excluded */
	size_t bytes, max_bytes; /* key bytes; max_bytes 0: unbounded */
};

/* How a table numbers its entries. */
enum table_kind {
	TABLE_CACHE, /* key -> a value of the caller's, no index */
	TABLE_INDEXED, /* key -> 0, 1, 2, ... */
	TABLE_ZERO_ENTRY, /* key -> 1, 2, ...; 0 is the zero entry */
};

/* An empty table of at most @max entries and @max_bytes key bytes (0:
 * unbounded), its entries in @arena: 0 or -ENOMEM. */
int table__init(struct table *t, enum table_kind kind, struct arena *arena,
		uint32_t max, size_t max_bytes);
/* Forgets every entry (the arena is the caller's to reset); keeps the
 * memory for the next interval. */
void table__reset(struct table *t);
/* Accepts a zeroed, never initialized table. */
void table__free(struct table *t);

/* Entries, the zero entry excluded. */
static inline uint32_t table__count(const struct table *t)
{
	return t->n - t->first;
}

/* Whether a new entry of @len key bytes would pass a bound. */
static inline bool table__full(const struct table *t, size_t len)
{
	return table__count(t) >= t->max ||
	       (t->max_bytes && t->bytes + len > t->max_bytes);
}

/* The key of entry @idx of an indexed table (not the zero entry). */
static inline const void *table__key(const struct table *t, int32_t idx)
{
	return t->v[idx]->key;
}

/* Whether keys @a and @b of @len bytes are equal: word by word, inline
 * (keys are mostly a few words, and equal when their hashes are). */
static inline bool key_equal(const void *a, const void *b, size_t len)
{
	const unsigned char *p = a, *q = b;
	uint64_t x, y;

	/* Unrolled: a key of a constant size compares without a loop. */
#pragma GCC unroll 8
	for (; len >= 8; p += 8, q += 8, len -= 8) {
		memcpy(&x, p, 8);
		memcpy(&y, q, 8);
		if (x != y)
			return false;
	}
	return !len || !memcmp(p, q, len);
}

/* The entry whose key is @key (@len bytes, hashed to @hash), or NULL. */
static inline const struct table_entry *
table__find(const struct table *t, const void *key, uint32_t len, uint64_t hash)
{
	const struct table_entry *e;
	const struct htab_node *pos;

	if (!t->h.nbuckets)
		return NULL;
	/* The bucket walked here rather than by htab__first()/next(): this
	 * is the hot lookup of every sample. */
	for (pos = t->h.buckets[hash & (t->h.nbuckets - 1)]; pos;
	     pos = pos->next) {
		if (pos->hash != hash)
			continue;
		e = container_of(pos, struct table_entry, node);
		if (e->len == len && key_equal(e->key, key, len))
			return e;
	}
	return NULL;
}

/*
 * Adds @key, which the table does not hold, to an indexed table: 0 and
 * *@ret_idx, -ENOSPC when a bound is reached (@force ignores the bounds:
 * for the few entries every request needs) or -ENOMEM.
 */
int table__add(struct table *t, const void *key, uint32_t len, uint64_t hash,
	       bool force, int32_t *ret_idx);

/* The index of @key in an indexed table, added when missing: as
 * table__add(). */
static inline int table__intern(struct table *t, const void *key, uint32_t len,
				uint64_t hash, bool force, int32_t *ret_idx)
{
	const struct table_entry *e = table__find(t, key, len, hash);

	if (e) {
		*ret_idx = e->idx;
		return 0;
	}
	return table__add(t, key, len, hash, force, ret_idx);
}

/* A cache remembers @key -> @val while it has room (past that, lookups
 * take the slow way they came by): 0 or -ENOMEM. */
int table__remember(struct table *t, const void *key, uint32_t len,
		    uint64_t hash, int32_t val);

/* Folds @v into the running hash @h: cheap and order-sensitive;
 * hash_u64() finishes a key. */
static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
	h ^= v * 0xff51afd7ed558ccdULL;
	return ((h << 31) | (h >> 33)) * 0x9e3779b97f4a7c15ULL;
}

/* A second lane with other constants, independent of hash_mix(): two
 * lanes make a 128-bit hash (struct rawkey). */
static inline uint64_t hash_mix2(uint64_t h, uint64_t v)
{
	h ^= v * 0xc4ceb9fe1a85ec53ULL;
	return ((h << 29) | (h >> 35)) * 0xd6e8feb86659fd93ULL;
}

/* hash_u64() inline: the finish of every key hash on the hot path. */
static inline uint64_t hash_final(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The hash of a key of @len bytes, 8 at a time. */
static inline uint64_t hash_key(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = len, w;

#pragma GCC unroll 8
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		h = hash_mix(h, w);
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = hash_mix(h, w);
	}
	return hash_final(h);
}

#endif
