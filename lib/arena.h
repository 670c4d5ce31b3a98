/* SPDX-License-Identifier: Apache-2.0 */
/* A bump allocator for data that dies all at once: the profile builder's
 * interval (dropped at every flush) and the messages of one encoding. */
#ifndef TGPROF_LIB_ARENA_H
#define TGPROF_LIB_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used; /* bytes handed out since the last reset */
};

/* An empty arena; allocates on first use. */
#define ARENA_INIT \
	{          \
		0  \
	}

/* @size bytes aligned for any type, valid until the next reset or free;
 * NULL when out of memory. */
void *arena__alloc(struct arena *a, size_t size);
/* The same, zeroed. */
void *arena__zalloc(struct arena *a, size_t size);
/* A copy of at most @max bytes of @s, NUL-terminated, or NULL. */
char *arena__strndup(struct arena *a, const char *s, size_t max);

/* Drops everything handed out, but keeps one chunk large enough for as
 * much again: arenas refilled at every interval do not go back to the
 * kernel for their memory. */
void arena__reset(struct arena *a);
/* Drops everything and frees the memory. Accepts NULL. */
void arena__free(struct arena *a);

#endif
