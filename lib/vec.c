// SPDX-License-Identifier: Apache-2.0
/* Growable arrays: see vec.h. Capacities double from 64 up to UINT32_MAX. */
#include <stdlib.h>

#include "lib/vec.h"

void *vec__grow(void *v, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap = ncap > UINT32_MAX / 2 ? UINT32_MAX : ncap * 2;
	v = realloc(v, (size_t)ncap * elem);
	if (v)
		*cap = ncap;
	return v;
}
