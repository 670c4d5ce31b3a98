/* SPDX-License-Identifier: Apache-2.0 */
/* The one retry wait: capped, jittered, exponential, as the collector's
 * exporters retry (DESIGN.md section 6). Used by the plugin's request queue
 * (receiver/plugin/reqqueue.c) between offers to the host's consumer and by
 * the OTLP/HTTP exporter (exporter/otlp_http.c) between POSTs. Pure: the
 * randomness comes in as an argument (lib/rand.h). */
#ifndef TGPROF_LIB_BACKOFF_H
#define TGPROF_LIB_BACKOFF_H

#include <stdint.h>

/*
 * The wait after the @attempt-th failure (0 for the first):
 * @initial_ns * 2^attempt, capped at @max_ns, times a factor in
 * [0.5, 1.5) taken from the top bits of @rnd, capped at @max_ns again.
 * Never 0 (an @initial_ns of 0 counts as 1), never overflows.
 */
uint64_t backoff__wait(uint64_t initial_ns, uint64_t max_ns, uint32_t attempt,
		       uint64_t rnd);

#endif
