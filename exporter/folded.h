/* SPDX-License-Identifier: Apache-2.0 */
/* Folded stacks ("comm;root;...;leaf COUNT"), the format flamegraph.pl,
 * speedscope and Pyroscope read: an aggregation of the samples of OTLP
 * requests (exporter/otlp_folded.c) or of folded files, that the flame
 * graph and the top-functions report are computed from. */
#ifndef TGPROF_EXPORTER_FOLDED_H
#define TGPROF_EXPORTER_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The marks of a frame's type (exporter/frametype.h has them all): a
 * kernel frame, a function inlined into the frame below it
 * (stackcollapse-perf's marks). */
#define FOLDED_KERNEL_SUFFIX "_[k]"
#define FOLDED_INLINE_SUFFIX "_[i]"
/* Where stacks beyond the limit are counted, so totals stay right. */
#define FOLDED_OVERFLOW_STACK "[other stacks: limit reached]"
/* A frame with neither a name nor a module, or a process without a name. */
#define FOLDED_UNKNOWN "[unknown]"
/* The one frame of a sample without any. */
#define FOLDED_NO_STACK "[no stack]"
/* Stands for the leaf frames of a stack that did not fit its line. */
#define FOLDED_TRUNCATED "[truncated]"
/* Bytes of one frame name: one frame may not crowd the others out. */
#define FOLDED_MAX_NAME 4096

struct folded;

/* @max_stacks: distinct stacks kept (0: 1,000,000). Returns NULL + errno;
 * caller frees with folded__free(). */
struct folded *folded__new(size_t max_stacks);
/* Accepts NULL. */
void folded__free(struct folded *f);

/* Adds @count to the stack @stack ("a;b;c", root first). 0 or -errno. */
int folded__add(struct folded *f, const char *stack, uint64_t count);

/*
 * One stack line built frame by frame, root first: how otlp_folded__add()
 * names the frames of an OTLP sample. A frame name is cut to FOLDED_MAX_NAME bytes (not inside a UTF-8
 * sequence); ';' in it becomes ':' and a control byte '?', so the stack
 * stays one line. A frame that would take the line past @max bytes is
 * replaced by FOLDED_TRUNCATED, once, and the frames after it are ignored:
 * the leaf end is what is lost.
 */
struct folded_line {
	char *buf; /* NUL-terminated once a frame is pushed */
	size_t len;
	size_t cap; /* grows up to @max + 1 */
	size_t max; /* longest line, FOLDED_TRUNCATED included */
	bool full; /* FOLDED_TRUNCATED pushed */
};

/* An empty line of at most @max_len bytes (more than FOLDED_TRUNCATED);
 * the caller frees its buffer with folded_line__release(). */
#define FOLDED_LINE_INIT(max_len) ((struct folded_line){ .max = (max_len) })

/* Empties @l for the next stack; keeps its buffer. */
void folded_line__reset(struct folded_line *l);
/* Frees the buffer; @l is empty again. */
void folded_line__release(struct folded_line *l);

/* Appends ";@name@suffix" (no ';' before the first frame). 0 or -ENOMEM. */
int folded_line__push(struct folded_line *l, const char *name,
		      const char *suffix);

/* Appends ";@name (@file)@suffix": a function of an interpreted
 * language, whose name alone is ambiguous ("<module>", "run"). @file is
 * cut to FOLDED_MAX_NAME / 4 bytes, @name to what is left of
 * FOLDED_MAX_NAME. 0 or -ENOMEM. */
int folded_line__push_sourced(struct folded_line *l, const char *name,
			      const char *file, const char *suffix);

/* A frame without a function name: its module @module as "[module]", cut
 * so that the brackets fit FOLDED_MAX_NAME (as it is when already
 * bracketed, like "[vdso]"), or FOLDED_UNKNOWN when NULL or empty.
 * 0 or -ENOMEM. */
int folded_line__push_module(struct folded_line *l, const char *module,
			     const char *suffix);

size_t folded__stacks(const struct folded *f); /* distinct stacks */
uint64_t folded__total(const struct folded *f); /* sum of counts */
uint64_t folded__overflow(const struct folded *f); /* counts over limit */

/* Calls @fn for every stack in lexical order; stops at a nonzero return,
 * which it returns. @stack is borrowed from @f: valid until @f is next
 * changed or freed (the flame graph sorts these pointers its own way). */
int folded__for_each(const struct folded *f,
		     int (*fn)(void *ctx, const char *stack, uint64_t count),
		     void *ctx);

/* Writes one "stack count\n" line per stack in lexical order. 0 or -errno. */
int folded__write(const struct folded *f, FILE *out);

/* Reads folded lines (as written above, or by other tools) and adds them.
 * Malformed lines are skipped; *ret_skipped (optional) counts them. */
int folded__read(struct folded *f, FILE *in, size_t *ret_skipped);

#endif
