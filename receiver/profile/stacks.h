/* SPDX-License-Identifier: Apache-2.0 */
/* A sample's symbolized frames in, its Stack's index in the dictionary
 * out: every frame (an inline chain: one frame) becomes a Location of a
 * Mapping. Caches keyed by raw facts (the mapping's bounds and inode, the
 * address, the whole raw stack) come before the content-keyed dictionary,
 * so a stack seen before costs one lookup and a location seen before no
 * name hashing.
 */
#ifndef TGPROF_RECEIVER_PROFILE_STACKS_H
#define TGPROF_RECEIVER_PROFILE_STACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "receiver/profile/dictionary.h"
#include "receiver/receiver.h"

/*
 * What a sample's raw stack is known by in one process image: a 128-bit
 * hash of its addresses and of what the symbolizer found for each (the
 * two 64-bit halves computed independently), not the frames themselves,
 * as the OpenTelemetry eBPF profiler identifies traces. A collision among
 * a million stacks has a probability below 2^-88. No padding: it is a
 * table key.
 */
struct rawkey {
	uint64_t h1, h2;
	uint32_t proc; /* the builder's process index (not hashed) */
	uint32_t maps_gen;
	uint64_t aspace;
	uint32_t nframes, nkernel;
};

struct stacks {
	struct dictionary *dict; /* borrowed */
	struct table mapraw; /* raw mapping -> mapping_table */
	struct table locraw; /* mapping, address, symbolization -> location */
	struct table stackraw; /* struct rawkey -> stack_table */
	uint64_t stacks_truncated; /* since creation */
	/* The mapping of the last user frame of the stack being built:
	 * neighbouring frames are mostly in one file. */
	const struct mapping *last_mapping;
	int32_t last_mapping_idx;
	/* Scratch for one stack. */
	int32_t locs[PROFILE_MAX_STACK_DEPTH];
	struct dict_line lines[DICT_MAX_LINES];
};

/* Caches of at most @max_entries entries (raw stacks: @max_stacks) in
 * @arena, for @dict: 0 or -ENOMEM. */
int stacks__init(struct stacks *st, struct dictionary *dict,
		 struct arena *arena, uint32_t max_entries,
		 uint32_t max_stacks);
/* Empties the caches, with the dictionary. */
void stacks__reset(struct stacks *st);
/* Accepts a zeroed, never initialized one. */
void stacks__free(struct stacks *st);

/* The raw key of @s in its process image; k->proc is left for the caller
 * to set (its process index) before stacks__get(). */
void rawkey__init(struct rawkey *k, const struct sym_sample *s);

/*
 * The stack of @s (raw key @k) in *@ret_idx: remembered by its raw stack
 * (*@ret_cached true; false when that cache is full: as many raw stacks as
 * stacks, past that samples go through the dictionary, only slower).
 * Returns 0, -ENOSPC when a dictionary table is full, or -ENOMEM.
 */
int stacks__get(struct stacks *st, const struct sym_sample *s,
		const struct rawkey *k, int32_t *ret_idx, bool *ret_cached);

#endif
