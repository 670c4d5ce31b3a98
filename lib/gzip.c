// SPDX-License-Identifier: Apache-2.0
/* gzip through zlib's deflate, streamed in chunks: see gzip.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <zlib.h>

#include "lib/gzip.h"

/* windowBits 15 + 16: deflate's 32 KiB window in a gzip wrapper. */
#define GZIP_WINDOW_BITS (15 + 16)
#define GZIP_MEM_LEVEL 8

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Room for more output: deflateBound() is exact for one call, streaming
 * may need a little more. */
static int gzip__grow(unsigned char **buf, size_t *cap)
{
	size_t n = *cap + *cap / 2 + 4096;
	unsigned char *nb;

	if (n < *cap)
		return -ENOMEM;
	nb = realloc(*buf, n);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

/* Runs deflate over @in until the stream ends; *@ret_len bytes written. */
static int gzip__deflate(z_stream *z, const unsigned char *in, size_t len,
			 size_t chunk, unsigned char **buf, size_t *cap,
			 size_t *ret_len)
{
	size_t in_off = 0, out_off = 0, n;
	int zerr, err;

	for (;;) {
		if (!z->avail_in && in_off < len) {
			n = min_size(len - in_off, chunk);
			z->next_in = (Bytef *)(in + in_off);
			z->avail_in = (uInt)n;
			in_off += n;
		}
		if (!z->avail_out) {
			if (out_off == *cap) {
				err = gzip__grow(buf, cap);
				if (err)
					return err;
			}
			n = min_size(*cap - out_off, chunk);
			z->next_out = *buf + out_off;
			z->avail_out = (uInt)n;
			out_off += n;
		}
		/* Z_FINISH once the last input is handed over; deflate
		 * then asks for output until the stream ends. */
		zerr = deflate(z, in_off == len ? Z_FINISH : Z_NO_FLUSH);
		if (zerr == Z_STREAM_END)
			break;
		if (zerr != Z_OK && zerr != Z_BUF_ERROR)
			return zerr == Z_MEM_ERROR ? -ENOMEM : -EIO;
	}
	*ret_len = out_off - z->avail_out;
	return 0;
}

int gzip__compress_chunked(const void *in, size_t len, size_t chunk,
			   void **ret_buf, size_t *ret_len)
{
	unsigned char *buf = NULL;
	z_stream z = { 0 };
	size_t cap, out_len;
	int err;

	if ((!in && len) || !chunk)
		return -EINVAL;
	if (chunk > GZIP_CHUNK)
		chunk = GZIP_CHUNK;
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
			 GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	/* uLong is 64 bits here: the bound of the whole input at once. */
	cap = deflateBound(&z, (uLong)len);
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto err_end;
	}
	err = gzip__deflate(&z, in, len, chunk, &buf, &cap, &out_len);
	if (err)
		goto err_free;
	deflateEnd(&z);
	*ret_buf = buf;
	*ret_len = out_len;
	return 0;

err_free:
	free(buf);
err_end:
	deflateEnd(&z);
	return err;
}

int gzip__compress(const void *in, size_t len, void **ret_buf, size_t *ret_len)
{
	return gzip__compress_chunked(in, len, GZIP_CHUNK, ret_buf, ret_len);
}
