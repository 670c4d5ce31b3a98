/* SPDX-License-Identifier: Apache-2.0 */
/* How often a stage may warn about what bad input did to it (a corrupt
 * file, a hostile perf map, a code object that is not one): at most
 * RATELIMIT_BURST lines a minute, the rest counted by the caller.
 * Not thread-safe: one per object that warns, under its lock if any. */
#ifndef TGPROF_LIB_RATELIMIT_H
#define TGPROF_LIB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/clock.h"

#define RATELIMIT_BURST 10
#define RATELIMIT_WINDOW_NS (60 * NSEC_PER_SEC)

struct ratelimit {
	uint64_t window_start_ns; /* CLOCK_MONOTONIC */
	unsigned int count; /* warnings asked for in this window */
};

/* Whether one more warning may go out at @now_ns (CLOCK_MONOTONIC). */
static inline bool ratelimit__allow(struct ratelimit *rl, uint64_t now_ns)
{
	if (now_ns - rl->window_start_ns > RATELIMIT_WINDOW_NS) {
		rl->window_start_ns = now_ns;
		rl->count = 0;
	}
	return rl->count++ < RATELIMIT_BURST;
}

#endif
