// SPDX-License-Identifier: Apache-2.0
/* gRPC status pieces of the OTLP/gRPC exporter (exporter/grpc_status.c):
 * the collector's retry rule, grpc-status and grpc-message parsing,
 * RetryInfo's delay out of grpc-status-details-bin (and malformed values
 * read as "none"), the length prefix. */
#include <criterion/criterion.h>
#include <string.h>

#include "exporter/grpc_status.h"

Test(grpc_status, retry_rule_is_the_collectors)
{
	static const int retried[] = { GRPC_CANCELLED,	 GRPC_DEADLINE_EXCEEDED,
				       GRPC_ABORTED,	 GRPC_OUT_OF_RANGE,
				       GRPC_UNAVAILABLE, GRPC_DATA_LOSS };
	size_t i;
	int code;

	for (i = 0; i < sizeof(retried) / sizeof(*retried); i++)
		cr_assert(grpc_code__retryable(retried[i], false), "%d",
			  retried[i]);
	cr_assert_not(grpc_code__retryable(GRPC_RESOURCE_EXHAUSTED, false));
	cr_assert(grpc_code__retryable(GRPC_RESOURCE_EXHAUSTED, true));
	for (code = 0; code <= 16; code++) {
		bool r = false;

		for (i = 0; i < sizeof(retried) / sizeof(*retried); i++)
			r |= retried[i] == code;
		if (!r && code != GRPC_RESOURCE_EXHAUSTED)
			cr_assert_not(grpc_code__retryable(code, true), "%s",
				      grpc_code__name(code));
	}
	cr_assert_str_eq(grpc_code__name(GRPC_INVALID_ARGUMENT),
			 "INVALID_ARGUMENT");
	cr_assert_str_eq(grpc_code__name(99), "UNKNOWN");
}

Test(grpc_status, status_and_message_values_are_parsed_and_cleaned)
{
	char out[16];

	cr_assert_eq(grpc_status__parse("14", 2), 14);
	cr_assert_eq(grpc_status__parse(" 0\r\n", 4), 0);
	cr_assert_eq(grpc_status__parse("", 0), -1);
	cr_assert_eq(grpc_status__parse("1x", 2), -1);
	cr_assert_eq(grpc_status__parse("123", 3), -1);
	grpc_message__decode("bad%20input%0A%zz", 17, out, sizeof(out));
	cr_assert_str_eq(out, "bad input?%zz");
	grpc_message__decode("0123456789abcdefghij", 20, out, sizeof(out));
	cr_assert_eq(strlen(out), sizeof(out) - 1);
}

/* base64 of google.rpc.Status{code 8, message "slow", details [Any{
 * RetryInfo{retry_delay {seconds 2, nanos 500000000}}}]} */
static const char with_retry_info[] =
	"CAgSBHNsb3caNgoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5m"
	"bxIKCggIAhCAyrXuAQ";

Test(grpc_status, retry_info_delay_is_read_from_the_details)
{
	uint64_t ns = 0;

	cr_assert(grpc_details__retry_delay(with_retry_info,
					    strlen(with_retry_info), &ns));
	cr_assert_eq(ns, 2500000000ULL);
	/* Status without details, garbage, truncation: no RetryInfo. */
	cr_assert_not(grpc_details__retry_delay("CAgSBHNsb3c", 11, &ns));
	cr_assert_not(grpc_details__retry_delay("!!!!", 4, &ns));
	cr_assert_not(grpc_details__retry_delay(with_retry_info, 40, &ns));
}

Test(grpc_status, prefix_is_flag_then_big_endian_length)
{
	uint8_t p[GRPC_FRAME_PREFIX];

	grpc_frame__prefix(p, true, 0x01020304);
	cr_assert_eq(memcmp(p, "\x01\x01\x02\x03\x04", 5), 0);
	grpc_frame__prefix(p, false, 7);
	cr_assert_eq(memcmp(p, "\x00\x00\x00\x00\x07", 5), 0);
}
