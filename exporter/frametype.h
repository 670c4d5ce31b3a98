/* SPDX-License-Identifier: Apache-2.0 */
/* Frame types across the outputs: a Location's profile.frame.type (any
 * string) goes in, the mark a folded frame carries comes out ("_[k]",
 * "_[j]", "_[p]", "_[TYPE]"), and a folded frame's mark gives its type
 * back, so that the flame graph, the top functions and pprof tell the
 * same types apart. */
#ifndef TGPROF_EXPORTER_FRAMETYPE_H
#define TGPROF_EXPORTER_FRAMETYPE_H

#include <stdbool.h>
#include <stddef.h>

/* profile.frame.type values (OpenTelemetry semantic conventions) tgprof
 * gives their own mark and colour; any other value is carried too. */
#define FRAMETYPE_NATIVE "native"
#define FRAMETYPE_KERNEL "kernel"
#define FRAMETYPE_JIT "jit"
#define FRAMETYPE_CPYTHON "cpython"
/* Not a frame type: a native function inlined into its caller
 * (stackcollapse-perf's "_[i]"). */
#define FRAMETYPE_INLINED "inlined"
/* The name of a type whose value has nothing printable left. */
#define FRAMETYPE_OTHER "other"

/* Longest type name carried (bytes); a longer value is cut. */
#define FRAMETYPE_MAX_NAME 32
/* Room for a mark: "_[" name "]" and the NUL. */
#define FRAMETYPE_SUFFIX_MAX (FRAMETYPE_MAX_NAME + 4)

enum frametype_kind {
	FRAMETYPE_K_NATIVE, /* no mark */
	FRAMETYPE_K_INLINED, /* "_[i]" */
	FRAMETYPE_K_KERNEL, /* "_[k]", flamegraph.pl's kernel mark */
	FRAMETYPE_K_JIT, /* "_[j]", flamegraph.pl's JIT mark */
	FRAMETYPE_K_CPYTHON, /* "_[p]" */
	FRAMETYPE_K_OTHER, /* "_[TYPE]": any other value, its name kept */
	FRAMETYPE_NKINDS,
};

/*
 * The name tgprof writes for profile.frame.type @type (NULL or "" reads
 * as native): a known value as it is; any other with every byte but
 * [A-Za-z0-9._+-] replaced by '_' and cut to FRAMETYPE_MAX_NAME bytes,
 * written into @buf (FRAMETYPE_MAX_NAME + 1 bytes). A name of one byte
 * (it would read as one of the marks) or none becomes FRAMETYPE_OTHER.
 * Returns the name (@buf or a literal) and sets *ret_kind (optional).
 */
const char *frametype__name(const char *type, char *buf,
			    enum frametype_kind *ret_kind);

/* The mark a folded frame of type @type ends with: "" for native, else
 * "_[k]", "_[j]", "_[p]" or "_[NAME]" (frametype__name()), written into
 * @buf (FRAMETYPE_SUFFIX_MAX bytes) or a literal. */
const char *frametype__suffix(const char *type, char *buf);

/* What a folded frame says of its type. */
struct frametype_mark {
	enum frametype_kind kind;
	/* The type's name: a literal for the known kinds, else inside the
	 * frame (FRAMETYPE_K_OTHER); not NUL-terminated there. */
	const char *name;
	size_t name_len;
	size_t base_len; /* bytes of the frame before its mark */
};

/* Reads the mark at the end of the @len bytes of folded frame @frame: a
 * last "_[X]" with X of 1 to FRAMETYPE_MAX_NAME bytes of [A-Za-z0-9._+-].
 * A frame without one is native. */
void frametype__parse(const char *frame, size_t len,
		      struct frametype_mark *ret);

/* The name of a known kind ("native", "inlined", "kernel", ...; "other"
 * for FRAMETYPE_K_OTHER). */
const char *frametype__kind_name(enum frametype_kind kind);

#endif
