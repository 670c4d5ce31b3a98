// SPDX-License-Identifier: Apache-2.0
/* splitmix64 (Steele, Lea, Flood 2014): see rand.h. */
#include <stdint.h>

#include "lib/clock.h"
#include "lib/rand.h"

void rand64__init(struct rand64 *r, uint64_t seed)
{
	if (!seed)
		seed = clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)r;
	r->state = seed;
}

uint64_t rand64__next(struct rand64 *r)
{
	uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

uint64_t rand64__below(struct rand64 *r, uint64_t n)
{
	return n ? rand64__next(r) % n : 0;
}
