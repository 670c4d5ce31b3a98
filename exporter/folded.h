/* Folded stacks ("comm;root;...;leaf COUNT"), the format flamegraph.pl,
 * speedscope and Pyroscope read: an aggregation of symbolized samples that
 * the flame graph and the top-functions report are computed from. */
#ifndef TGPROF_EXPORTER_FOLDED_H
#define TGPROF_EXPORTER_FOLDED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "receiver/receiver.h"

#define FOLDED_KERNEL_SUFFIX "_[k]"
/* A function inlined into the frame below it (stackcollapse-perf's mark). */
#define FOLDED_INLINE_SUFFIX "_[i]"
/* Where stacks beyond the limit are counted, so totals stay right. */
#define FOLDED_OVERFLOW_STACK "[other stacks: limit reached]"

struct folded;

/* @max_stacks: distinct stacks kept (0: 1,000,000). Returns NULL + errno;
 * caller frees with folded__free(). */
struct folded *folded__new(size_t max_stacks);
/* Accepts NULL. */
void folded__free(struct folded *f);

/* Adds @count to the stack @stack ("a;b;c", root first). 0 or -errno. */
int folded__add(struct folded *f, const char *stack, uint64_t count);

/*
 * Adds one sample: process name, then user frames root first (inlined
 * ones suffixed "_[i]"), then kernel frames suffixed "_[k]". An unnamed frame shows its module as "[module]",
 * or "[unknown]" without one. ';' in names becomes ':'.
 */
int folded__add_sample(struct folded *f, const struct sym_sample *s);

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
