// SPDX-License-Identifier: Apache-2.0
/* Capped, jittered exponential backoff: see backoff.h. */
#include <stdint.h>

#include "lib/backoff.h"

uint64_t backoff__wait(uint64_t initial_ns, uint64_t max_ns, uint32_t attempt,
		       uint64_t rnd)
{
	uint64_t wait = initial_ns ? initial_ns : 1;
	/* [0.5, 1.5) in 1/1024 steps. */
	uint64_t factor = 512 + (rnd >> 54);

	while (attempt-- && wait < max_ns)
		wait = wait > UINT64_MAX / 2 ? UINT64_MAX : wait * 2;
	if (wait > max_ns)
		wait = max_ns;
	/* Split so that no wait, however long, overflows. */
	if (wait / 1024 > (UINT64_MAX - 1024) / factor)
		wait = UINT64_MAX;
	else
		wait = wait / 1024 * factor + wait % 1024 * factor / 1024;
	if (wait > max_ns)
		wait = max_ns;
	return wait ? wait : 1;
}
