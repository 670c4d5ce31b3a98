// SPDX-License-Identifier: Apache-2.0
/* The size check of every size-prefixed option struct: see opts.h. */
#include <errno.h>
#include <string.h>

#include "lib/opts.h"

int opts__copy(void *dst, size_t dst_size, const void *src)
{
	const unsigned char *p = src;
	size_t sz, i;

	memset(dst, 0, dst_size);
	if (!src)
		return 0;
	memcpy(&sz, src, sizeof(sz));
	if (sz < sizeof(sz))
		return -EINVAL;
	for (i = dst_size; i < sz; i++) {
		if (p[i])
			return -EINVAL;
	}
	memcpy(dst, src, sz < dst_size ? sz : dst_size);
	return 0;
}
