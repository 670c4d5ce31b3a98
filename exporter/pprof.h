/* SPDX-License-Identifier: Apache-2.0 */
/* The pprof sink: one serialized OTLP ExportProfilesServiceRequest (what
 * the profile builder produces) converted to a gzip'd pprof Profile, the
 * profile.pb.gz that `go tool pprof` and Pyroscope's /ingest read. Every
 * process of the request lands in the one Profile; labels tell them apart
 * (pid, comm, tid, thread, cpu), every one a string label (integers in
 * decimal), the kind Pyroscope makes series labels of. pprof has no frame
 * type: a frame's mapping tells it. Kernel frames are in the mapping
 * "[kernel.kallsyms]" (a module's: "[module]"), as perf names them; a
 * frame of any other type but native (profile.frame.type "jit",
 * "cpython", any value) in the mapping "[TYPE]": "[jit]", "[cpython]". */
#ifndef TGPROF_EXPORTER_PPROF_H
#define TGPROF_EXPORTER_PPROF_H

#include <stddef.h>

#include "exporter/otlp_request.h"

/*
 * Converts @len bytes of ExportProfilesServiceRequest at @req. The Profile
 * has sample types (samples, count) and (cpu, nanoseconds), one value of
 * each per sample (events, events * period); period type (cpu,
 * nanoseconds); mappings with their build-ids; locations with their lines;
 * functions with their names, system names and files.
 * The mappings made for frame types follow the request's own (at most 64
 * types; frames of more keep their mapping).
 * Returns 0 and *ret_buf (gzip'd; caller frees with free()) / *ret_len,
 * -EBADMSG when @req does not decode, -EINVAL when it refers to entries
 * its dictionary does not have, or -ENOMEM.
 */
int pprof__from_otlp(const void *req, size_t len, void **ret_buf,
		     size_t *ret_len);

/* pprof__from_otlp() of the profiles of @kind only (pprof__from_otlp()
 * takes the CPU ones). An off-CPU Profile has the one sample type
 * (off_cpu, nanoseconds), the nanoseconds waited, and no period. */
int pprof__from_otlp_kind(const void *req, size_t len,
			  enum otlp_profile_kind kind, void **ret_buf,
			  size_t *ret_len);

#endif
