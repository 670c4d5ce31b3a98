// SPDX-License-Identifier: Apache-2.0
/* gRPC status for the OTLP/gRPC exporter: reads grpc-status, grpc-message
 * and grpc-status-details-bin values (network input, every length checked)
 * into a code, a printable message and RetryInfo's delay, and writes the
 * request's length prefix. google.rpc.Status is walked by hand: three
 * fields of it are needed, and a malformed one is only "no RetryInfo". */
#include <string.h>

#include "exporter/grpc_status.h"
#include "lib/hex.h"

#define NSEC_PER_S 1000000000ULL
#define RETRY_INFO_TYPE "type.googleapis.com/google.rpc.RetryInfo"
/* A delay beyond a day is read as a day (and capped by retry_max later). */
#define GRPC_MAX_DELAY_S 86400

static const char *const grpc_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_code__name(int code)
{
	if (code < 0 ||
	    (size_t)code >= sizeof(grpc_names) / sizeof(*grpc_names))
		return "UNKNOWN";
	return grpc_names[code];
}

bool grpc_code__retryable(int code, bool has_retry_info)
{
	switch (code) {
	case GRPC_CANCELLED:
	case GRPC_DEADLINE_EXCEEDED:
	case GRPC_ABORTED:
	case GRPC_OUT_OF_RANGE:
	case GRPC_UNAVAILABLE:
	case GRPC_DATA_LOSS:
		return true;
	case GRPC_RESOURCE_EXHAUSTED:
		return has_retry_info;
	default:
		return false;
	}
}

int grpc_status__parse(const char *v, size_t len)
{
	int code = 0;
	size_t i;

	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
		       v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (!len || len > 2)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		code = code * 10 + (v[i] - '0');
	}
	return code;
}

void grpc_message__decode(const char *v, size_t len, char *out, size_t outsz)
{
	size_t i, n = 0;
	int hi, lo;
	unsigned char c;

	if (!outsz)
		return;
	for (i = 0; i < len && n + 1 < outsz; i++) {
		c = (unsigned char)v[i];
		if (c == '\r' || c == '\n') /* the header's own line end */
			continue;
		if (c == '%' && i + 2 < len &&
		    (hi = hex_digit(v[i + 1])) >= 0 &&
		    (lo = hex_digit(v[i + 2])) >= 0) {
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		}
		/* UTF-8 passes; control characters do not reach the log. */
		out[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into @out; the
 * decoded length, or -1. */
static long b64_decode(const char *v, size_t len, uint8_t *out, size_t outsz)
{
	uint32_t acc = 0;
	size_t n = 0, i;
	int bits = 0, d;

	while (len && (v[len - 1] == '=' || v[len - 1] == ' ' ||
		       v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	for (i = 0; i < len; i++) {
		d = b64val(v[i]);
		if (d < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == outsz)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)n;
}

struct pb {
	const uint8_t *p, *end;
};

static bool pb_varint(struct pb *b, uint64_t *ret)
{
	uint64_t v = 0;
	int shift;

	for (shift = 0; shift < 64 && b->p < b->end; shift += 7) {
		uint8_t c = *b->p++;

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

/* The next field: its number, wire type, and a varint's value or a
 * length-delimited field's bytes. False at the end or on malformed input. */
static bool pb_next(struct pb *b, uint32_t *field, uint64_t *val,
		    struct pb *sub)
{
	uint64_t key, len;

	if (b->p >= b->end || !pb_varint(b, &key))
		return false;
	*field = (uint32_t)(key >> 3);
	switch (key & 7) {
	case 0:
		return pb_varint(b, val);
	case 1:
	case 5: {
		size_t n = (key & 7) == 1 ? 8 : 4;

		if ((size_t)(b->end - b->p) < n)
			return false;
		b->p += n;
		*val = 0;
		return true;
	}
	case 2:
		if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p))
			return false;
		sub->p = b->p;
		sub->end = b->p + len;
		b->p += len;
		*val = len;
		*field |= 1u << 31; /* mark: length-delimited */
		return true;
	default:
		return false;
	}
}

#define PB_LEN(f) ((f) | 1u << 31)

/* google.protobuf.Duration into nanoseconds (negative: 0). */
static uint64_t duration_ns(struct pb d)
{
	uint64_t v, secs = 0, nanos = 0;
	uint32_t f;
	struct pb sub;

	while (pb_next(&d, &f, &v, &sub)) {
		if (f == 1)
			secs = v;
		else if (f == 2)
			nanos = v;
	}
	if ((int64_t)secs < 0 || (int32_t)nanos < 0)
		return 0;
	if (secs > GRPC_MAX_DELAY_S)
		return GRPC_MAX_DELAY_S * NSEC_PER_S;
	return secs * NSEC_PER_S + (uint32_t)nanos % NSEC_PER_S;
}

bool grpc_details__retry_delay(const char *v, size_t len, uint64_t *ret_ns)
{
	uint8_t buf[GRPC_MAX_DETAILS_B64 / 4 * 3 + 3];
	struct pb st, any, val, sub, type, info;
	uint64_t x;
	uint32_t f;
	long n;

	if (len > GRPC_MAX_DETAILS_B64)
		return false;
	n = b64_decode(v, len, buf, sizeof(buf));
	if (n < 0)
		return false;
	st.p = buf;
	st.end = buf + n;
	/* Status { int32 code = 1; string message = 2; repeated Any details
	 * = 3; } Any { string type_url = 1; bytes value = 2; } */
	while (pb_next(&st, &f, &x, &any)) {
		if (f != PB_LEN(3))
			continue;
		type.p = type.end = NULL;
		val.p = val.end = NULL;
		while (pb_next(&any, &f, &x, &sub)) {
			if (f == PB_LEN(1))
				type = sub;
			else if (f == PB_LEN(2))
				val = sub;
		}
		if (!type.p ||
		    (size_t)(type.end - type.p) !=
			    sizeof(RETRY_INFO_TYPE) - 1 ||
		    memcmp(type.p, RETRY_INFO_TYPE,
			   sizeof(RETRY_INFO_TYPE) - 1))
			continue;
		/* RetryInfo { google.protobuf.Duration retry_delay = 1; } */
		*ret_ns = 0;
		if (!val.p)
			return true;
		while (pb_next(&val, &f, &x, &info))
			if (f == PB_LEN(1))
				*ret_ns = duration_ns(info);
		return true;
	}
	return false;
}

void grpc_frame__prefix(uint8_t out[GRPC_FRAME_PREFIX], bool compressed,
			uint32_t len)
{
	out[0] = compressed ? 1 : 0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
}
