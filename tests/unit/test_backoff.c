// SPDX-License-Identifier: Apache-2.0
/* Guards lib/backoff.c, the wait between retries of the plugin's request
 * queue and of the OTLP/HTTP exporter: it doubles from its first value up
 * to its cap, the jitter keeps it within half of that either way and never
 * above the cap, and no input overflows it or makes it 0. */
#include <stdint.h>

#include <criterion/criterion.h>

#include "lib/backoff.h"
#include "lib/clock.h"
#include "lib/rand.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC

/* The jitter factor 1.0 (the top 10 bits select 512/1024 + 0.5). */
#define MID (1ULL << 63)

Test(backoff, doubles_from_initial_up_to_max)
{
	uint32_t attempt;

	for (attempt = 0; attempt < 5; attempt++)
		cr_assert_eq(backoff__wait(100 * MS, 2 * SEC, attempt, MID),
			     (100 * MS) << attempt);
	cr_assert_eq(backoff__wait(100 * MS, 2 * SEC, 5, MID), 2 * SEC);
	cr_assert_eq(backoff__wait(100 * MS, 2 * SEC, UINT32_MAX, MID),
		     2 * SEC);
}

Test(backoff, backoff_is_capped_and_jittered_within_half)
{
	const uint64_t initial = SEC, max = 30 * SEC;
	uint64_t base, w, lo, hi;
	struct rand64 r;
	uint32_t attempt;
	int i;

	rand64__init(&r, 99);
	for (attempt = 0; attempt < 8; attempt++) {
		base = initial << attempt;
		if (base > max)
			base = max;
		lo = UINT64_MAX;
		hi = 0;
		for (i = 0; i < 2000; i++) {
			w = backoff__wait(initial, max, attempt,
					  rand64__next(&r));
			cr_assert_geq(w, base / 2, "attempt %u: %llu", attempt,
				      (unsigned long long)w);
			cr_assert_lt(w, base * 3 / 2);
			cr_assert_leq(w, max);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		/* Spread over the whole band below the cap. */
		cr_assert_lt(lo, base / 2 + base / 32);
		if (base * 3 / 2 <= max)
			cr_assert_gt(hi, base * 3 / 2 - base / 32);
		else
			cr_assert_eq(hi, max);
	}
	/* The ends of the band, exactly. */
	cr_assert_eq(backoff__wait(initial, max, 0, 0), initial / 2);
	cr_assert_gt(backoff__wait(initial, max, 0, UINT64_MAX),
		     initial * 3 / 2 - initial / 512);
}

Test(backoff, huge_or_zero_inputs_neither_overflow_nor_return_zero)
{
	cr_assert_eq(backoff__wait(UINT64_MAX / 2, UINT64_MAX, 3, MID),
		     UINT64_MAX);
	cr_assert_eq(backoff__wait(UINT64_MAX, UINT64_MAX, 0, UINT64_MAX),
		     UINT64_MAX);
	cr_assert_eq(backoff__wait(1, 1, 0, 0), 1);
	cr_assert_eq(backoff__wait(0, 0, 0, 0), 1);
	cr_assert_eq(backoff__wait(0, SEC, 0, MID), 1);
}
