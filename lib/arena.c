// SPDX-License-Identifier: Apache-2.0
/* Bump allocator: see arena.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

#define ARENA_CHUNK (256u << 10)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

void *arena__alloc(struct arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	struct arena_chunk *c = a->head;
	size_t csize;
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (!c || c->size - c->used < size) {
		csize = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		c = malloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	a->used += size;
	return p;
}

void *arena__zalloc(struct arena *a, size_t size)
{
	void *p = arena__alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

char *arena__strndup(struct arena *a, const char *s, size_t max)
{
	size_t len = strnlen(s, max);
	char *d = arena__alloc(a, len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

void arena__reset(struct arena *a)
{
	struct arena_chunk *c, *keep = NULL;
	size_t want = a->used + a->used / 4;

	while ((c = a->head)) {
		a->head = c->next;
		if (!keep && c->size >= want)
			keep = c;
		else
			free(c);
	}
	if (!keep && want > ARENA_CHUNK) {
		keep = malloc(sizeof(*keep) + want);
		if (keep)
			keep->size = want;
	}
	if (keep) {
		keep->used = 0;
		keep->next = NULL;
		a->head = keep;
	}
	a->used = 0;
}

void arena__free(struct arena *a)
{
	struct arena_chunk *c, *next;

	if (!a)
		return;
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = 0;
}
