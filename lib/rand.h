/* SPDX-License-Identifier: Apache-2.0 */
/* The one pseudo-random source: retry jitter (receiver/plugin/reqqueue.c,
 * exporter/otlp_http.c) and the benchmarks' inputs. splitmix64: fast,
 * every 64-bit state is valid, a fixed seed replays the same sequence.
 * Not for secrets or ids that must not collide across hosts (getrandom()).
 * Not thread-safe: each owner keeps its own state. */
#ifndef TGPROF_LIB_RAND_H
#define TGPROF_LIB_RAND_H

#include <stdint.h>

struct rand64 {
	uint64_t state;
};

/* Seeds @r with @seed, or, when @seed is 0, with the monotonic clock mixed
 * with @r's address (two generators seeded in the same nanosecond still
 * differ). */
void rand64__init(struct rand64 *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t rand64__next(struct rand64 *r);

/* A number in [0, @n), 0 for @n 0 (modulo bias below 2^-32 for n < 2^32:
 * fine for jitter and test data). */
uint64_t rand64__below(struct rand64 *r, uint64_t n);

#endif
