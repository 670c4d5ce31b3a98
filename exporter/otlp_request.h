/* SPDX-License-Identifier: Apache-2.0 */
/* A decoded OTLP ExportProfilesServiceRequest as the exporters that read
 * one (otlp_folded.c, pprof.c) name it: short names for the protobuf-c
 * types, and the index checks every lookup into an untrusted request's
 * tables goes through. */
#ifndef TGPROF_EXPORTER_OTLP_REQUEST_H
#define TGPROF_EXPORTER_OTLP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/sat.h"
#include "proto/otlp.h"

typedef pb_request otlp_request;
typedef pb_dictionary otlp_dictionary;
typedef pb_profile otlp_profile;
typedef pb_sample otlp_sample;
typedef pb_anyvalue otlp_anyvalue;

/* OTLP_REQUEST(unpack), OTLP_REQUEST(free_unpacked) */
#define OTLP_REQUEST(name) PB_REQUEST(name)
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_STRINDEX \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX

/* Whether @idx indexes a table of @n entries. */
static inline bool otlp_in_range(int64_t idx, size_t n)
{
	return idx >= 0 && (uint64_t)idx < n;
}

/* Entry @idx of @d's string table (@d may be NULL), or NULL when out of
 * range. Borrowed from the decoded request. */
static inline const char *otlp_dict_string(const otlp_dictionary *d,
					   int64_t idx)
{
	return otlp_in_range(idx, d ? d->n_string_table : 0) ?
		       d->string_table[idx] :
		       NULL;
}

/* The profiles of a request a reader takes: a process's CPU profile, or
 * its off-CPU one (sample type OTLP_OFF_CPU_TYPE, nanoseconds waited). */
enum otlp_profile_kind {
	OTLP_PROFILE_CPU = 0,
	OTLP_PROFILE_OFF_CPU = 1,
};

#define OTLP_OFF_CPU_TYPE "off_cpu"

/* The kind of @p in a request of dictionary @d: off-CPU by its sample
 * type, every other profile CPU. */
static inline enum otlp_profile_kind otlp_profile_kind(const otlp_dictionary *d,
						       const otlp_profile *p)
{
	const char *t =
		p->sample_type ?
			otlp_dict_string(d, p->sample_type->type_strindex) :
			NULL;

	return t && !strcmp(t, OTLP_OFF_CPU_TYPE) ? OTLP_PROFILE_OFF_CPU :
						    OTLP_PROFILE_CPU;
}

/* How many events @s stands for: the sum of its values (a negative sum
 * counts none), else its timestamps; at most INT64_MAX, whatever a hostile
 * request says, so the count fits a pprof value too. */
static inline uint64_t otlp_sample_count(const otlp_sample *s)
{
	int64_t n = 0;
	size_t i;

	if (!s->n_values)
		return s->n_timestamps_unix_nano > INT64_MAX ?
			       INT64_MAX :
			       s->n_timestamps_unix_nano;
	for (i = 0; i < s->n_values; i++)
		n = sat_add_s64(n, s->values[i]);
	return n > 0 ? (uint64_t)n : 0;
}

#endif
