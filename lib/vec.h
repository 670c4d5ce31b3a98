/* SPDX-License-Identifier: Apache-2.0 */
/* Growable arrays with a 32-bit capacity: the profile builder's tables and
 * the OTLP merger's lists grow through vec__reserve(). The caller owns the
 * array and frees it with free(). */
#ifndef TGPROF_LIB_VEC_H
#define TGPROF_LIB_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* @v (elements of @elem bytes) grown to hold at least @need, *@cap
 * updated; @v itself when it already does; NULL when out of memory (@v is
 * then untouched). */
void *vec__grow(void *v, uint32_t *cap, uint32_t need, size_t elem);

/* Makes array @v (capacity @cap) hold @need elements: 0 or -ENOMEM. */
#define vec__reserve(v, cap, need)                                            \
	({                                                                    \
		void *nv__ = (need) <= (cap) ? (void *)(v) :                  \
					       vec__grow((v), &(cap), (need), \
							 sizeof(*(v)));       \
		if (nv__)                                                     \
			(v) = nv__;                                           \
		nv__ ? 0 : -ENOMEM;                                           \
	})

#endif
