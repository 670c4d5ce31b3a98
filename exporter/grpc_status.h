/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC wire pieces for the OTLP/gRPC exporter (otlp_http.c in its gRPC
 * mode): takes the values of a response's grpc-status, grpc-message and
 * grpc-status-details-bin headers or trailers, gives out the status code,
 * its name, the message in plain text, whether the collector's otlp
 * exporter would retry it, and google.rpc.RetryInfo's retry_delay. Also
 * the 5-byte length prefix of a request message. Pure functions: no
 * allocation, no state; input is the network's and is bounded here. */
#ifndef TGPROF_EXPORTER_GRPC_STATUS_H
#define TGPROF_EXPORTER_GRPC_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GRPC_EXPORT_PATH \
	"/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define GRPC_FRAME_PREFIX 5
/* The longest grpc-status-details-bin value decoded (base64 characters). */
#define GRPC_MAX_DETAILS_B64 4096

enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

/* "UNAVAILABLE"; "CODE_<n>" style codes beyond the table read "UNKNOWN". */
const char *grpc_code__name(int code);

/* The collector's otlp exporter's rule: CANCELLED, DEADLINE_EXCEEDED,
 * ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried;
 * RESOURCE_EXHAUSTED only when the status carries RetryInfo (the server
 * says it can recover); every other code is permanent. */
bool grpc_code__retryable(int code, bool has_retry_info);

/* grpc-status's value ("14"): the code, or -1 when not a number 0..99. */
int grpc_status__parse(const char *v, size_t len);

/* grpc-message's value, percent-decoded into @out (NUL-terminated,
 * truncated to @outsz - 1, unprintable bytes shown as '?'). */
void grpc_message__decode(const char *v, size_t len, char *out, size_t outsz);

/*
 * grpc-status-details-bin's value (base64, padded or not, of a
 * google.rpc.Status): true with *@ret_ns set when one of its details is a
 * google.rpc.RetryInfo (its retry_delay, 0 when absent or negative);
 * false when there is none or the value is malformed or longer than
 * GRPC_MAX_DETAILS_B64.
 */
bool grpc_details__retry_delay(const char *v, size_t len, uint64_t *ret_ns);

/* The length prefix of one message: flag byte (1: compressed, with
 * grpc-encoding), then @len big-endian. */
void grpc_frame__prefix(uint8_t out[GRPC_FRAME_PREFIX], bool compressed,
			uint32_t len);

#endif
