/* SPDX-License-Identifier: Apache-2.0 */
/* Python frames by name: a code object's address and an instruction
 * pointer, as the BPF walk recorded them, become its qualified name, file
 * and line. The code object is read once from the process's memory and
 * kept (names, file and its line table decoded into a compact array),
 * keyed by process and address; the cache is bounded in bytes and drops
 * the least recently used. The location-table decoder is pure (tested on
 * crafted tables).
 * In: (process, code object, instruction) from a sample. Out: struct
 * py_frame, borrowed until the next pycode_cache__next_epoch(). */
#ifndef TGPROF_RECEIVER_PYTHON_CODE_H
#define TGPROF_RECEIVER_PYTHON_CODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/log.h"
#include "receiver/runtimes/python/versions.h"

#define PYCODE_DEFAULT_MAX_BYTES (8u << 20)
#define PYCODE_MAX_STRING 1024 /* bytes of a name or file kept; cut */
#define PYCODE_MAX_LINETABLE (64u << 10) /* bytes of a table decoded */

/* One decoded location-table entry: code units [start, next.start) are on
 * line @line (0: no line). */
struct py_line_range {
	uint32_t start; /* in code units (_Py_CODEUNIT, 2 bytes) */
	uint32_t line;
};

/*
 * Decodes a 3.11+ location table (PEP 657: co_linetable) of @len bytes,
 * whose lines start from @firstlineno, into at most @max ranges, merging
 * neighbours on one line. *ret_end: code units the table covers.
 * Returns the ranges written, or -EINVAL for a table that is cut short or
 * does not parse, or -E2BIG when more than @max ranges are needed.
 */
int py_linetable__decode(const uint8_t *table, size_t len, int32_t firstlineno,
			 struct py_line_range *out, size_t max,
			 uint32_t *ret_end);
/* The line of code unit @unit in @n ranges (sorted by start), 0 when
 * @unit is past @end or on no line. */
uint32_t py_linetable__line(const struct py_line_range *r, size_t n,
			    uint32_t end, uint32_t unit);

/* Reads @len bytes at @addr of a process's memory; 0 or -errno. */
typedef int (*py_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct py_frame {
	const char *qualname; /* "Class.method", or "<unknown>" */
	const char *file; /* co_filename, or "<unknown>" */
	uint32_t line; /* 0: unknown */
	uint32_t firstlineno; /* the def line (pprof start_line) */
};

struct pycode_cache_opts {
	size_t sz; /* sizeof(struct pycode_cache_opts) */
	size_t max_bytes; /* 0: PYCODE_DEFAULT_MAX_BYTES */
	/* How process memory is read: NULL reads the process being resolved
	 * (its TGID, a host PID) with process_vm_readv(2). Tests pass their
	 * own, which reads one process's memory image. */
	py_read_fn read;
	void *read_ctx;
};

struct pycode_stats {
	uint64_t lookups;
	uint64_t hits;
	uint64_t misses; /* read and decoded */
	uint64_t read_errors; /* the process's memory could not be read */
	/* Not a code object, a string or table that does not decode: the
	 * frame is named "<unknown>" and counted. */
	uint64_t bad_objects;
	uint64_t evictions; /* dropped for the byte bound */
	uint64_t strings_cut; /* names or files longer than PYCODE_MAX_STRING */
	/* Location tables longer than PYCODE_MAX_LINETABLE: decoded up to
	 * there, later units have no line. */
	uint64_t tables_cut;
	uint64_t entries; /* cached now */
	uint64_t bytes; /* held now */
	uint64_t max_bytes;
};

/* Returns a cache (caller frees with pycode_cache__free()) or NULL +
 * errno. @log: borrowed, must outlive the cache; NULL: silent. */
struct pycode_cache *pycode_cache__new(const struct pycode_cache_opts *opts,
				       const struct tg_logger *log);
/* Accepts NULL. */
void pycode_cache__free(struct pycode_cache *c);

/*
 * Names the frame of code object @code, at instruction pointer @instr (the
 * frame's prev_instr or instr_ptr as sampled: layout->instr_is_next),
 * in process @tgid (tgprof's PID namespace; @start_ns tells a reused PID
 * apart). Returns 0 and fills *ret, or -errno (the
 * process's memory unreadable, not a code object): then *ret names
 * "<unknown>" and the failure is counted. Strings are borrowed until the
 * next pycode_cache__next_epoch().
 */
int pycode_cache__resolve(struct pycode_cache *c,
			  const struct python_layout *layout, uint32_t tgid,
			  uint64_t start_ns, uint64_t code, uint64_t instr,
			  struct py_frame *ret);
/* Ends a sample: entries evicted during it are freed now. */
void pycode_cache__next_epoch(struct pycode_cache *c);
/* The process exited or exec'd: its entries go (freed at the next epoch). */
void pycode_cache__forget(struct pycode_cache *c, uint32_t tgid);
void pycode_cache__stats(const struct pycode_cache *c,
			 struct pycode_stats *ret);

#endif
