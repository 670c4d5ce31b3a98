/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP profiles -> folded stacks: decodes one serialized
 * ExportProfilesServiceRequest (what the receiver hands the host each
 * report interval) into folded stacks, so that `tgprof record` and the
 * file exporter write stacks.folded and the flame graph without the
 * receiver's internals. */
#ifndef TGPROF_EXPORTER_OTLP_FOLDED_H
#define TGPROF_EXPORTER_OTLP_FOLDED_H

#include <stddef.h>

#include "exporter/folded.h"
#include "exporter/otlp_request.h"

/*
 * Adds every sample of @len bytes of request at @req to @f, weighted by
 * its count (the sum of its values, else its timestamps). A stack reads
 * the process name first (the resource's process.executable.name, else
 * service.name, else the sample's thread.name, else "[unknown]"), then
 * the user frames root first, then the kernel frames. Each frame is
 * marked by its Location's profile.frame.type (exporter/frametype.h):
 * "native" (or none) unmarked, "kernel" "_[k]", "jit" "_[j]", "cpython"
 * "_[p]", any other value "_[VALUE]"; an inlined native function (each
 * Line of a Location but the last) "_[i]". A cpython frame, or one of a
 * type without its own mark, reads "function (file)" (the file's base
 * name, "pkg/__init__.py" for a package). A Location without a function
 * shows its mapping's file as "[name]", or "[unknown]".
 *
 * Nothing in the request is trusted: an index out of its table gives
 * -EINVAL and nothing of the request is added (the request is checked
 * before the first sample is added). -EBADMSG when it does not decode,
 * -ENOMEM.
 */
int otlp_folded__add(struct folded *f, const void *req, size_t len);

/* otlp_folded__add() of the profiles of @kind only (otlp_folded__add()
 * takes the CPU ones): off-CPU stacks weigh the nanoseconds waited. */
int otlp_folded__add_kind(struct folded *f, const void *req, size_t len,
			  enum otlp_profile_kind kind);

#endif
