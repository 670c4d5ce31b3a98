/* SPDX-License-Identifier: Apache-2.0 */
/* The "top functions" report `tgprof record` prints: functions ranked by
 * self samples (the innermost frame) and by total samples (anywhere in the
 * stack, counted once per stack even when recursive), each with its frame
 * type (exporter/frametype.h). */
#ifndef TGPROF_EXPORTER_TOPFUNCS_H
#define TGPROF_EXPORTER_TOPFUNCS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "exporter/folded.h"

struct topfunc {
	/* Owned by the struct topfuncs. */
	const char *name; /* the frame as folded: "do_idle_[k]" */
	const char *function; /* without its type's mark: "do_idle" */
	/* "native", "inlined", "kernel", "jit", "cpython", or the name an
	 * unknown type's mark gives */
	const char *type;
	uint64_t self;
	uint64_t total;
};

struct topfuncs {
	struct topfunc *v; /* every function, unordered */
	size_t n;
	uint64_t samples; /* the total the percentages refer to */
	/* private */
	void *priv;
};

/* Computes the per-function counts of @f (the first frame of each stack,
 * the process name, is not a function). Returns NULL + errno; caller frees
 * with topfuncs__free(). */
struct topfuncs *topfuncs__compute(const struct folded *f);

/* Sorts by self (@by_self) or total, descending, ties by name. */
void topfuncs__sort(struct topfuncs *t, int by_self);

/* Prints two tables of the top @n: by self and by total; columns self%,
 * self, total%, total, type, function. */
int topfuncs__print(struct topfuncs *t, size_t n, FILE *out);

/* topfuncs__print() of counts that are not samples: @what names them
 * ("nanoseconds off CPU"). */
int topfuncs__print_as(struct topfuncs *t, size_t n, const char *what,
		       FILE *out);

/* Accepts NULL. */
void topfuncs__free(struct topfuncs *t);

#endif
