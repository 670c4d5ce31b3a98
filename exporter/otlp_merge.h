/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP requests -> one OTLP request: `tgprof record` gets one serialized
 * ExportProfilesServiceRequest per report interval from the receiver
 * plugin and writes one for the whole recording (profile.otlp.pb, and the
 * pprof made from it). Each request is decoded, checked and re-interned
 * into the merged request's dictionary. */
#ifndef TGPROF_EXPORTER_OTLP_MERGE_H
#define TGPROF_EXPORTER_OTLP_MERGE_H

#include <stddef.h>
#include <stdint.h>

/* The function of the one location that stands for the samples whose
 * stack did not fit the merged request's bounds (the name the receiver's
 * profile builder and the folded stacks use for theirs). */
#define OTLP_MERGE_OVERFLOW_FUNCTION "[other stacks: limit reached]"
/* Locations per stack beyond this are cut at the root end, and counted. */
#define OTLP_MERGE_MAX_STACK_DEPTH 2048
/* A request with a longer list (lines of a location, attribute indices of
 * an entry, a sample or a profile, attributes of a resource or a scope,
 * elements of one attribute value) or an attribute value nested deeper is
 * refused as a whole: tgprof's receiver writes nothing near that. */
#define OTLP_MERGE_MAX_LIST 256
#define OTLP_MERGE_MAX_VALUE_DEPTH 8

struct otlp_merge_opts {
	size_t sz; /* sizeof(struct otlp_merge_opts) */
	/* Bounds of the merged request; 0: default. */
	uint32_t max_resources; /* ResourceProfiles, and Profiles: 4096 */
	uint32_t max_stacks; /* distinct stacks: 65536 */
	/* Each of the location, function, mapping, link and attribute
	 * tables: 262144. */
	uint32_t max_entries;
	uint32_t max_samples; /* distinct Samples: 262144 */
	/* Timestamps and values kept, one per event: 1048576. */
	uint32_t max_events;
	/* Bytes of what a remote process names: the string table, attribute
	 * values, resources and scopes: 16 MiB. */
	size_t max_string_bytes;
};

/* Samples are counted as the folded stacks count them: a Sample's values
 * summed, else its timestamps. */
struct otlp_merge_stats {
	uint64_t requests; /* merged */
	/* Not decoded, or refused by the checks: nothing of them added. */
	uint64_t requests_rejected;
	uint64_t samples; /* read from the requests merged */
	/* Kept, but in the overflow stack: a dictionary table, the stack
	 * table or the string bytes were full. */
	uint64_t samples_overflow;
	/* Kept with their OTLP_MERGE_MAX_STACK_DEPTH innermost locations. */
	uint64_t stacks_truncated;
	/* Samples lost: max_resources reached (resources or profiles). */
	uint64_t dropped_resources;
	uint64_t dropped_samples; /* samples lost: max_samples reached */
	uint64_t dropped_events; /* samples lost: max_events reached */
	uint64_t dropped_nomem; /* samples lost: allocation failed */
	/* Attribute and link references of samples and profiles left out:
	 * their table was full. */
	uint64_t references_dropped;
	/* Profiles' original_payload: never carried into the merge. */
	uint64_t payloads_dropped;
	/* The merged request now (entries exclude the zero entries). */
	uint32_t resources;
	uint32_t profiles;
	uint32_t stacks;
	uint32_t locations;
	uint32_t functions;
	uint32_t mappings;
	uint32_t links;
	uint32_t attributes;
	uint32_t strings;
	uint32_t sample_records; /* distinct Samples */
	uint32_t events; /* timestamps and values kept */
};

struct otlp_merge;

/* An empty merge. NULL + errno (EINVAL for bad options); caller frees
 * with otlp_merge__free(). */
struct otlp_merge *otlp_merge__new(const struct otlp_merge_opts *opts);

/*
 * Merges @len bytes of ExportProfilesServiceRequest at @req (borrowed for
 * the call). ResourceProfiles with the same resource (attributes in the
 * same order, schema URL) become one; in it, ScopeProfiles with the same
 * scope, and in those, Profiles with the same sample type, period type,
 * period, attributes and payload format. Their time span widens to hold
 * them all. Samples of one Profile with the same stack, attributes and
 * link and no values become one, with the timestamps of all, in the order
 * they came; a Sample with values is kept as it is.
 *
 * Nothing in the request is trusted: every index and list is checked
 * before anything is added. Returns 0 (what did not fit the bounds is
 * counted, see struct otlp_merge_stats), -EBADMSG when it does not decode,
 * -EINVAL when an index is out of its table or a list too long (nothing
 * added either way), or -ENOMEM (what was added before stays, the rest
 * of the request is counted in dropped_nomem).
 */
int otlp_merge__add(struct otlp_merge *m, const void *req, size_t len);

/*
 * Serializes the merged request: one dictionary (every table led by its
 * zero entry, as the profile builder writes it), the resources in the
 * order they first came. Nothing merged yet gives an empty request (0
 * bytes, *ret_buf still allocated). Returns 0 and *ret_buf (caller frees
 * with free()) / *ret_len, or -ENOMEM. The merge is unchanged: more can be
 * added and encoded again.
 */
int otlp_merge__encode(struct otlp_merge *m, void **ret_buf, size_t *ret_len);

void otlp_merge__stats(const struct otlp_merge *m,
		       struct otlp_merge_stats *ret);

/* Accepts NULL. */
void otlp_merge__free(struct otlp_merge *m);

#endif
