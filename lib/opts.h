/* SPDX-License-Identifier: Apache-2.0 */
/* Size-prefixed option structs, the libbpf way: every *_opts struct that
 * crosses a module boundary starts with `size_t sz`, the caller's sizeof,
 * so a caller built against an older or a newer header keeps working. */
#ifndef TGPROF_LIB_OPTS_H
#define TGPROF_LIB_OPTS_H

#include <stddef.h>

/*
 * Copies the caller's options @src into @dst, our struct of @dst_size
 * bytes, both starting with `size_t sz`. @dst is zeroed first, then gets
 * the first min(sz, @dst_size) bytes of @src: the fields an older caller
 * does not know stay 0, which every option reads as its default. A newer
 * caller's longer struct is accepted only if every byte past @dst_size is
 * zero, since options we do not know cannot be honoured. @src NULL means
 * all defaults.
 *
 * Returns 0, or -EINVAL when sz does not cover sz itself or an unknown
 * byte is set (@dst is then all zero).
 */
int opts__copy(void *dst, size_t dst_size, const void *src);

#endif
