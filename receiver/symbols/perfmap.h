/* SPDX-License-Identifier: Apache-2.0 */
/* Names for JIT-compiled code: the symbolizer asks for an address in a
 * process's anonymous executable memory; the perf map the runtime wrote
 * (/tmp/perf-PID.map inside the process's root, PID as its own PID
 * namespace numbers it) answers with a function name. The parser is pure
 * (tested on crafted text); the cache reads, bounds and re-reads. */
#ifndef TGPROF_RECEIVER_PERFMAP_H
#define TGPROF_RECEIVER_PERFMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

/* Defaults of the bounds (struct perfmap_limits, perfmap_cache_opts). */
#define PERFMAP_DEFAULT_MAX_BYTES (16u << 20)
#define PERFMAP_MAX_LINES (1u << 20) /* a map's symbols; more are skipped */
#define PERFMAP_MAX_NAME 1024 /* bytes of a name; longer ones are cut */

struct perfmap_limits {
	size_t max_lines; /* 0: PERFMAP_MAX_LINES */
	size_t max_name; /* 0: PERFMAP_MAX_NAME; at least 16 */
};

/* What one parse met. */
struct perfmap_parse_stats {
	uint64_t lines; /* symbols kept */
	uint64_t skipped; /* lines that did not parse: junk, 0 size, ... */
	uint64_t overlaps; /* symbols cut or dropped: a later line won */
	uint64_t names_cut; /* names longer than max_name */
	bool partial_line; /* the text ended inside a line (dropped) */
};

struct perfmap_sym {
	uint64_t start;
	uint64_t end; /* exclusive */
	const char *name; /* points into the map's own names */
};

/* A parsed perf map: symbols sorted by start, never overlapping. */
struct perfmap {
	size_t n;
	struct perfmap_sym *v;
	size_t bytes; /* memory held, for the cache's budget */
	/* private */
	char *names;
};

/*
 * Parses @len bytes of perf map text ("START SIZE name" per line, START and
 * SIZE hex with or without 0x; the name is the rest of the line). When two
 * symbols overlap, the one on the later line wins (a runtime that moved or
 * recompiled code appends the new name). Lines that are not of that form,
 * hold control bytes or invalid UTF-8 are skipped and counted; a text
 * that does not end with a newline loses its last line.
 * Returns 0 and *ret_map (caller frees with perfmap__free()), or -ENOMEM.
 * @lim and @ret_stats may be NULL.
 */
int perfmap__parse(const char *text, size_t len,
		   const struct perfmap_limits *lim, struct perfmap **ret_map,
		   struct perfmap_parse_stats *ret_stats);
/* Accepts NULL. */
void perfmap__free(struct perfmap *pm);
/* The symbol covering @addr, or NULL. Borrowed from @pm. */
const struct perfmap_sym *perfmap__find(const struct perfmap *pm,
					uint64_t addr);

/*
 * From the text of a /proc/PID/task/TID/status file (@len bytes): the PID
 * of the process in its own (innermost) PID namespace, the last field of
 * "NStgid:" (kernels before 4.1 have no such line: the "Tgid:" line), and
 * the effective UID (second field of "Uid:"). Returns 0 or -ENODATA.
 */
int perfmap__parse_status(const char *text, size_t len, uint32_t *ret_nspid,
			  uint32_t *ret_euid);

struct perfmap_cache_opts {
	size_t sz; /* sizeof(struct perfmap_cache_opts) */
	const char *proc_root; /* NULL: "/proc"; copied */
	/* Bytes read of one map; the rest is left unread and counted.
	 * 0: PERFMAP_DEFAULT_MAX_BYTES. Maps held at once are bounded by
	 * four times this (least recently used go first). */
	size_t max_bytes;
	size_t max_procs; /* processes whose maps are held; 0: 256 */
	/* Shortest time between two reads of one process's map when an
	 * address misses; doubled while the file is missing or unchanged,
	 * up to 4 times. 0: 200 ms. */
	uint64_t reread_ns;
};

struct perfmap_stats {
	uint64_t maps_read; /* reads that parsed a map (first and again) */
	uint64_t bytes_read;
	uint64_t lines; /* symbols kept, over all reads */
	uint64_t lines_skipped; /* lines that did not parse, over all reads */
	uint64_t overlaps; /* symbols a later line replaced */
	uint64_t truncated; /* maps larger than max_bytes: read in part */
	uint64_t rereads; /* reads after a miss (file changed or not) */
	uint64_t hits; /* addresses named */
	uint64_t misses; /* addresses in JIT memory the map did not name */
	/* Maps refused: not a regular file, a symlink, owned by another
	 * user than the process's or root. */
	uint64_t refused;
	uint64_t absent; /* reads that found no map */
	/* Maps last written before their process started: left in /tmp by
	 * the process that had the PID before. */
	uint64_t stale;
	uint64_t evictions; /* maps dropped for the process or byte bound */
	uint64_t cached; /* processes with a map held now */
	uint64_t cached_bytes;
};

/* Returns a cache (caller frees with perfmap_cache__free()) or NULL +
 * errno. @log: borrowed, must outlive the cache; NULL: silent. */
struct perfmap_cache *perfmap_cache__new(const struct perfmap_cache_opts *opts,
					 const struct tg_logger *log);
/* Accepts NULL. */
void perfmap_cache__free(struct perfmap_cache *c);

/*
 * The name of JIT code at @addr in process @tgid (read through thread
 * @tid's root), or NULL; *ret_offset: @addr - the symbol's start. The
 * map is read on the first lookup and again, rate-limited, when @addr
 * misses. Borrowed: valid until the next perfmap_cache__next_epoch().
 */
const char *perfmap_cache__lookup(struct perfmap_cache *c, uint32_t tgid,
				  uint32_t tid, uint64_t addr,
				  uint64_t *ret_offset);
/* Ends a sample: maps replaced or evicted before it are freed now. */
void perfmap_cache__next_epoch(struct perfmap_cache *c);
/* The process is gone or exec'd: its map is dropped (freed at the next
 * epoch); a new process with that PID reads its own. */
void perfmap_cache__forget(struct perfmap_cache *c, uint32_t tgid);
void perfmap_cache__stats(const struct perfmap_cache *c,
			  struct perfmap_stats *ret);

#endif
