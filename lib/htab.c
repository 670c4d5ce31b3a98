// SPDX-License-Identifier: Apache-2.0
/* Intrusive chained hash table: see htab.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/htab.h"

#define HTAB_MIN_BUCKETS 64

/* The bucket count htab__grow() goes to. */
static size_t htab__grown(const struct htab *h)
{
	return h->nbuckets ? h->nbuckets * 2 : HTAB_MIN_BUCKETS;
}

static int htab__grow(struct htab *h)
{
	size_t n = htab__grown(h);
	struct htab_node **b, *pos, *next;
	size_t i;

	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (i = 0; i < h->nbuckets; i++) {
		for (pos = h->buckets[i]; pos; pos = next) {
			next = pos->next;
			pos->next = b[pos->hash & (n - 1)];
			b[pos->hash & (n - 1)] = pos;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = n;
	return 0;
}

/* Whether the next insert grows the table: it keeps the load factor at
 * or below 1. */
static bool htab__full(const struct htab *h)
{
	return h->count >= h->nbuckets;
}

int htab__insert(struct htab *h, struct htab_node *node, uint64_t hash)
{
	size_t idx;
	int err;

	if (htab__full(h)) {
		err = htab__grow(h);
		if (err)
			return err;
	}
	node->hash = hash;
	idx = hash & (h->nbuckets - 1);
	node->next = h->buckets[idx];
	h->buckets[idx] = node;
	h->count++;
	return 0;
}

void htab__remove(struct htab *h, struct htab_node *node)
{
	struct htab_node **pp;

	if (!h->nbuckets)
		return;
	for (pp = &h->buckets[node->hash & (h->nbuckets - 1)]; *pp;
	     pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			h->count--;
			return;
		}
	}
}

struct htab_node *htab__first(const struct htab *h, uint64_t hash)
{
	struct htab_node *pos;

	if (!h->nbuckets)
		return NULL;
	for (pos = h->buckets[hash & (h->nbuckets - 1)]; pos; pos = pos->next)
		if (pos->hash == hash)
			return pos;
	return NULL;
}

struct htab_node *htab__next(const struct htab_node *node, uint64_t hash)
{
	struct htab_node *pos;

	for (pos = node->next; pos; pos = pos->next)
		if (pos->hash == hash)
			return pos;
	return NULL;
}

void htab__free(struct htab *h)
{
	if (!h)
		return;
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = 0;
	h->count = 0;
}

void htab__clear(struct htab *h)
{
	if (h->nbuckets)
		memset(h->buckets, 0, h->nbuckets * sizeof(*h->buckets));
	h->count = 0;
}

size_t htab__bytes(const struct htab *h)
{
	return h->nbuckets * sizeof(*h->buckets);
}

size_t htab__bytes_after_insert(const struct htab *h)
{
	return (htab__full(h) ? htab__grown(h) : h->nbuckets) *
	       sizeof(*h->buckets);
}

/* A 64-bit mix (the finalizer of MurmurHash3); good enough for tables. */
uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

uint64_t hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL), w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = hash_u64(h ^ w) + 0x9e3779b97f4a7c15ULL;
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	return hash_u64(h ^ w);
}

uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0);
}
