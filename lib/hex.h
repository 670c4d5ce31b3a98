/* SPDX-License-Identifier: Apache-2.0 */
/* One hexadecimal digit (a character) in, its value (0..15) or -1 out. */
#ifndef TGPROF_LIB_HEX_H
#define TGPROF_LIB_HEX_H

static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
