/* SPDX-License-Identifier: Apache-2.0 */
/* The one gzip writer: the OTLP/HTTP exporter's request bodies
 * (Content-Encoding: gzip), the pprof sink's profile.pb.gz, and the encode
 * benchmark's figures of what goes on the wire. zlib counts the bytes of
 * one call in a 32-bit uInt, so input and output are handed to it in
 * chunks: any size that fits in memory is compressed, none is truncated. */
#ifndef TGPROF_LIB_GZIP_H
#define TGPROF_LIB_GZIP_H

#include <stddef.h>

/* Bytes handed to zlib per call: well inside its 32-bit counts. */
#define GZIP_CHUNK (1ul << 30)

/*
 * gzip (RFC 1952, deflate at zlib's default level 6) of @len bytes at @in.
 * Returns 0 with *@ret_buf (caller frees with free()) and *@ret_len, or
 * -ENOMEM, -EIO when zlib fails otherwise, -EINVAL for a NULL @in with a
 * length. Nothing is written to the outputs on error.
 */
int gzip__compress(const void *in, size_t len, void **ret_buf, size_t *ret_len);

/* gzip__compress() handing zlib at most @chunk bytes (at least 1) of input
 * and of output per call: GZIP_CHUNK in production; tests pass a small one
 * to run the path that sizes above 4 GiB take. */
int gzip__compress_chunked(const void *in, size_t len, size_t chunk,
			   void **ret_buf, size_t *ret_len);

#endif
