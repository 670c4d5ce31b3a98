/* SPDX-License-Identifier: Apache-2.0 */
/* Packing: one interval as the builder aggregated it (the dictionary, the
 * processes, the Samples and their timestamps) comes in, the serialized
 * OTLP ExportProfilesServiceRequest goes out, through protobuf-c. Only
 * reads what it is given: the builder owns every input.
 */
#ifndef TGPROF_RECEIVER_PROFILE_ENCODE_H
#define TGPROF_RECEIVER_PROFILE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "receiver/profile/dictionary.h"

/* Attributes a Sample can carry (rows of the builder's sample_attrs[]). */
#define PROFILE_SAMPLE_ATTRS_MAX 8

/* A process of the interval: one ResourceProfiles. Its strings are
 * borrowed; NULL or "" leaves the attribute out. */
struct profile_process {
	uint32_t tgid;
	const char *service_name;
	const char *exe_name;
	const char *exe_path;
	const char *container_id;
};

/* Which profile of its process a Sample belongs to. */
enum profile_kind {
	PROFILE_KIND_CPU = 0, /* timestamps, one per sample */
	PROFILE_KIND_OFF_CPU = 1, /* one value: nanoseconds waited, summed */
};

/* A Sample: process, profile, stack and the attribute_table index of each
 * sample attribute (0: left out). The key of the builder's sample table,
 * of offsetof(attrs) + 4 bytes per attribute. */
struct profile_sample {
	uint32_t proc; /* index of its struct profile_process */
	uint32_t kind; /* enum profile_kind */
	int32_t stack; /* stack_table */
	int32_t attrs[PROFILE_SAMPLE_ATTRS_MAX];
};

/* Everything one request is made of, borrowed for encode__request(). */
struct encode_request {
	const struct dictionary *dict;
	/* Sample and period type of the CPU profile and of the off-CPU
	 * one, interned in @dict. */
	struct dict_value_types types;
	struct dict_value_types off_cpu_types;
	int64_t period_ns;
	const char *host_name; /* "": no host.name */

	const struct profile_process *const *procs;
	uint32_t nprocs;
	/* Keys struct profile_sample, indexed from 0; @nevents[i] events
	 * (timestamps) of Sample i. */
	const struct table *samples;
	const uint32_t *nevents;
	/* Off-CPU Samples: @values[i] nanoseconds of Sample i (0 for CPU
	 * Samples); one with 0 is left out. */
	const uint64_t *values;
	/* Event i: CLOCK_BOOTTIME @ev_ts[i] of Sample @ev_sample[i]. */
	const uint64_t *ev_ts;
	const uint32_t *ev_sample;
	uint32_t nev;
	int64_t boot_to_unix_ns; /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	/* The interval in Unix ns; widened to hold every event. */
	uint64_t start_ns, end_ns;
};

/*
 * Packs @r into one serialized request: 0 and *@ret_buf (caller frees
 * with free()) and *@ret_len, or -ENOMEM. The messages are built in
 * @scratch, reset before returning.
 */
int encode__request(const struct encode_request *r, struct arena *scratch,
		    void **ret_buf, size_t *ret_len);

#endif
