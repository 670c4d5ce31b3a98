/* SPDX-License-Identifier: Apache-2.0 */
/* Intrusive chained hash table shared by every stage that deduplicates:
 * the process table, the symbol cache, stack aggregation.
 *
 * Callers embed a struct htab_node in their own object, compute the 64-bit
 * hash of its key and compare keys themselves while walking a bucket.
 * The table never allocates nodes; it only grows its bucket array.
 */
#ifndef TGPROF_LIB_HTAB_H
#define TGPROF_LIB_HTAB_H

#include <stddef.h>
#include <stdint.h>

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))
#endif

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

struct htab {
	struct htab_node **buckets;
	size_t nbuckets; /* power of two, or 0 before the first insert */
	size_t count;
};

/* An empty table; allocates on first insert. */
#define HTAB_INIT \
	{         \
		0 \
	}

/* Inserts @node with @hash. Returns 0 or -ENOMEM (the node is not linked). */
int htab__insert(struct htab *h, struct htab_node *node, uint64_t hash);
/* Unlinks @node, which must be in @h. */
void htab__remove(struct htab *h, struct htab_node *node);
/* First node of the bucket @hash falls in; walk with htab__next(). */
struct htab_node *htab__first(const struct htab *h, uint64_t hash);
/* Next node after @node with the same @hash. */
struct htab_node *htab__next(const struct htab_node *node, uint64_t hash);
/* Frees the bucket array; the nodes belong to the caller. */
void htab__free(struct htab *h);
/* Empties the table but keeps its bucket array for the next inserts (a
 * table refilled at every interval); the nodes belong to the caller. */
void htab__clear(struct htab *h);
/* Bytes of the bucket array now, and once one more node is inserted
 * (more when that insert grows it): a caller that charges its memory to a
 * budget charges the difference before htab__insert(). */
size_t htab__bytes(const struct htab *h);
size_t htab__bytes_after_insert(const struct htab *h);

/* Iterates every node; @tmp allows removing @pos while iterating. */
#define htab_for_each_safe(h, pos, tmp, bkt)            \
	for ((bkt) = 0; (bkt) < (h)->nbuckets; (bkt)++) \
		for ((pos) = (h)->buckets[bkt],         \
		    (tmp) = (pos) ? (pos)->next : NULL; \
		     (pos); (pos) = (tmp), (tmp) = (pos) ? (pos)->next : NULL)

/* Walks the nodes whose hash equals @hash. */
#define htab_for_each(h, pos, hash)                   \
	for ((pos) = htab__first((h), (hash)); (pos); \
	     (pos) = htab__next((pos), (hash)))

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed);
uint64_t hash_str(const char *s);
uint64_t hash_u64(uint64_t x);

#endif
