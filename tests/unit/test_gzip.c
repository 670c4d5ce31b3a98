// SPDX-License-Identifier: Apache-2.0
/* Guards lib/gzip.c, the gzip behind the OTLP/HTTP bodies and
 * profile.pb.gz: what it writes gunzips to the input, and input and
 * output larger than one zlib call (32-bit counts: 4 GiB) are streamed
 * chunk by chunk rather than truncated or refused. The chunk is made small
 * here, so the path a 4 GiB profile takes runs without 4 GiB of memory. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <zlib.h>

#include "lib/gzip.h"
#include "lib/rand.h"

/* Half incompressible, half repetitive: deflate both stores and matches. */
static unsigned char *sample(size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	struct rand64 r;
	size_t i;

	cr_assert_not_null(buf);
	rand64__init(&r, 5);
	for (i = 0; i < len; i++)
		buf[i] = i < len / 2 ? (unsigned char)rand64__next(&r) :
				       (unsigned char)("tgprof;main;"[i % 12]);
	return buf;
}

/* Gunzips @gz and checks it is exactly @want. */
static void assert_gunzips_to(const void *gz, size_t gz_len, const void *want,
			      size_t want_len)
{
	unsigned char *out = malloc(want_len + 1);
	z_stream z = { 0 };

	cr_assert_not_null(out);
	cr_assert_geq(gz_len, 2);
	cr_assert(((const unsigned char *)gz)[0] == 0x1f &&
			  ((const unsigned char *)gz)[1] == 0x8b,
		  "no gzip magic");
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gz_len;
	z.next_out = out;
	z.avail_out = (uInt)want_len + 1;
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END,
		     "not one gzip stream");
	cr_assert_eq(z.total_out, want_len);
	cr_assert_eq(z.avail_in, 0, "bytes after the stream");
	cr_assert_eq(memcmp(out, want, want_len), 0);
	inflateEnd(&z);
	free(out);
}

Test(gzip, output_gunzips_to_the_input)
{
	const size_t len = 300000;
	unsigned char *in = sample(len);
	size_t gz_len = 0;
	void *gz = NULL;

	cr_assert_eq(gzip__compress(in, len, &gz, &gz_len), 0);
	assert_gunzips_to(gz, gz_len, in, len);
	/* The repetitive half shrinks. */
	cr_assert_lt(gz_len, len * 3 / 4);
	free(gz);
	free(in);
}

Test(gzip, gzip_of_more_than_4GiB_is_streamed_chunk_by_chunk)
{
	/* Chunks of 1000 and of 7 bytes stand for zlib's 4 GiB: input and
	 * output both span many of them. */
	static const size_t chunks[] = { 1000, 7 };
	const size_t len = 200000;
	unsigned char *in = sample(len);
	size_t i, gz_len;
	void *gz;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		gz = NULL;
		gz_len = 0;
		cr_assert_eq(gzip__compress_chunked(in, len, chunks[i], &gz,
						    &gz_len),
			     0);
		cr_assert_gt(gz_len, 50 * chunks[i]);
		assert_gunzips_to(gz, gz_len, in, len);
		free(gz);
	}
	free(in);
}

Test(gzip, empty_input_is_an_empty_gzip_stream)
{
	size_t gz_len = 0;
	void *gz = NULL;

	cr_assert_eq(gzip__compress(NULL, 0, &gz, &gz_len), 0);
	assert_gunzips_to(gz, gz_len, "", 0);
	free(gz);
	cr_assert_eq(gzip__compress(NULL, 1, &gz, &gz_len), -EINVAL);
	cr_assert_eq(gzip__compress_chunked("x", 1, 0, &gz, &gz_len), -EINVAL);
}
