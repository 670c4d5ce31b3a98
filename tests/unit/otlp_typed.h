/* SPDX-License-Identifier: Apache-2.0 */
/* Hand-made OTLP requests for the exporters' tests: frames of any
 * profile.frame.type ("cpython", a type no exporter knows), which the
 * receiver's profile builder cannot make, packed as an
 * ExportProfilesServiceRequest. */
#ifndef TGPROF_TESTS_OTLP_TYPED_H
#define TGPROF_TESTS_OTLP_TYPED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct typed_frame {
	const char *type; /* profile.frame.type; NULL: no attribute */
	const char *name; /* its function; NULL: a location without one */
	const char *file; /* the function's source file; NULL: none */
	uint32_t line;
	const char *mapping; /* its mapping's file; NULL: mapping 0 */
	uint64_t address;
	/* The type through the string table (string_value_strindex)
	 * rather than as string_value. */
	bool strindex;
};

struct typed_sample {
	const char *comm; /* process.executable.name of its resource */
	const struct typed_frame *frames; /* leaf first */
	size_t n;
	uint32_t count; /* timestamps */
};

/* The request of @n samples, each in a resource of its own (pid 100 +
 * its index), one location per frame. Returns the packed request (caller
 * frees with free()) and *ret_len; fails the test on any error. */
void *typed_request(const struct typed_sample *s, size_t n, size_t *ret_len);

#endif
