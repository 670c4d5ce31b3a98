/* SPDX-License-Identifier: Apache-2.0 */
/* Saturating arithmetic for counters and deadlines that a hostile request
 * or a long run could push past 64 bits: they stop at the maximum rather
 * than wrap (or, signed, be undefined). */
#ifndef TGPROF_LIB_SAT_H
#define TGPROF_LIB_SAT_H

#include <stdint.h>

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* @a + @b for signed values, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t sat_add_s64(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

#endif
