// SPDX-License-Identifier: Apache-2.0
/* Guards lib/rand.c, the random source behind retry jitter: it is
 * splitmix64, a seed replays its sequence (so tests of jitter are
 * deterministic), unseeded generators differ, and draws below n stay below
 * n and spread over the range. */
#include <stdint.h>

#include <criterion/criterion.h>

#include "lib/rand.h"

Test(rand, sequence_is_splitmix64)
{
	/* The reference sequence of splitmix64 seeded with 1234567. */
	struct rand64 r;

	rand64__init(&r, 1234567);
	cr_assert_eq(rand64__next(&r), 6457827717110365317ULL);
	cr_assert_eq(rand64__next(&r), 3203168211198807973ULL);
	cr_assert_eq(rand64__next(&r), 9817491932198370423ULL);
}

Test(rand, same_seed_replays_the_same_sequence)
{
	struct rand64 a, b;
	int i;

	rand64__init(&a, 42);
	rand64__init(&b, 42);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(rand64__next(&a), rand64__next(&b));
}

Test(rand, unseeded_generators_differ)
{
	struct rand64 a, b;

	rand64__init(&a, 0);
	rand64__init(&b, 0);
	cr_assert_neq(a.state, 0);
	cr_assert_neq(rand64__next(&a), rand64__next(&b),
		      "two generators seeded at once drew the same bits");
}

Test(rand, below_stays_in_range_and_covers_it)
{
	unsigned int hits[10] = { 0 };
	struct rand64 r;
	uint64_t v;
	int i;

	rand64__init(&r, 7);
	for (i = 0; i < 10000; i++) {
		v = rand64__below(&r, 10);
		cr_assert_lt(v, 10);
		hits[v]++;
	}
	/* 1000 expected each; 5 sigma is about 150. */
	for (i = 0; i < 10; i++)
		cr_assert(hits[i] > 850 && hits[i] < 1150, "%d drawn %u times",
			  i, hits[i]);
	cr_assert_eq(rand64__below(&r, 0), 0);
	cr_assert_eq(rand64__below(&r, 1), 0);
}
