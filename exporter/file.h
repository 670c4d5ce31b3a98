/* SPDX-License-Identifier: Apache-2.0 */
/* File exporter: writes each report interval's ExportProfilesServiceRequest
 * into a directory, in the formats asked for, from its own thread through
 * a bounded queue, so the receiver never waits on the disk:
 *
 *   tgprof-YYYYMMDDTHHMMSS.mmmZ.pb.gz     pprof (exporter/pprof.h)
 *   tgprof-YYYYMMDDTHHMMSS.mmmZ.otlp.pb   the request as received
 *   tgprof-YYYYMMDDTHHMMSS.mmmZ.folded    folded stacks (otlp_folded.h)
 *   tgprof-YYYYMMDDTHHMMSS.mmmZ.svg       flame graph (flamegraph.h)
 *
 * The stamp is the UTC time the request was submitted, to the millisecond,
 * and strictly increasing within one exporter, so names sort in interval
 * order. Each file is written to a hidden temporary name and renamed into
 * place: a reader sees whole files only. At most max_files files of each
 * format are kept; the oldest (by name) are removed. Files already in the
 * directory when the first request is written count towards max_files
 * (the exporter a reload replaces may still be writing there until then).
 *
 * A request that cannot be written (disk full, no permission, a request
 * that does not decode) is dropped for good, with one error line, and
 * counted: the same request would fail again.
 *
 * Threads: submit, stats and shutdown may be called from any thread. The
 * logger is called from the writer thread and must outlive the exporter. */
#ifndef TGPROF_EXPORTER_FILE_H
#define TGPROF_EXPORTER_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

#define FILE_EXPORTER_PREFIX "tgprof-"
#define FILE_EXPORTER_MAX_QUEUE 1000
#define FILE_EXPORTER_MAX_FILES 100000

/* pprof, folded and svg write an interval's off-CPU samples too, when it
 * has some, into .offcpu.pb.gz, .offcpu.folded and .offcpu.svg, rotated
 * apart; otlp holds both. */
enum file_format {
	FILE_FORMAT_PPROF = 1u << 0, /* .pb.gz */
	FILE_FORMAT_OTLP = 1u << 1, /* .otlp.pb */
	FILE_FORMAT_FOLDED = 1u << 2, /* .folded */
	FILE_FORMAT_SVG = 1u << 3, /* .svg */
};
#define FILE_FORMAT_ALL 0xfu

/* The bit of a format named as in the config ("pprof", "otlp", "folded",
 * "svg"), or 0. */
uint32_t file_format__parse(const char *name);

/* The file name suffix of one format bit (".pb.gz"), or NULL. */
const char *file_format__suffix(uint32_t format);

struct file_exporter_opts {
	size_t sz; /* sizeof(struct file_exporter_opts) */
	const char *directory; /* created (mkdir -p); copied */
	uint32_t formats; /* FILE_FORMAT_* bits; 0: all */
	uint32_t max_files; /* per format, 1..FILE_EXPORTER_MAX_FILES; 0: 100 */
	/* Requests waiting (one more may be being written); 0: 8. When full,
	 * the oldest waiting is dropped. */
	uint32_t queue_size;
	const char *title; /* of each flame graph; NULL: "tgprof" */
};

struct file_exporter_stats {
	uint64_t enqueued; /* requests handed in */
	uint64_t written; /* requests with every format written */
	uint64_t files_written;
	uint64_t bytes_written;
	uint64_t files_removed; /* rotated out */
	uint64_t dropped_queue_full; /* oldest dropped for a new one */
	uint64_t dropped_error; /* a format could not be written: see top */
	uint64_t dropped_shutdown; /* still queued when shutdown timed out */
	uint32_t queued; /* waiting now, including one being written */
};

/*
 * Creates the directory (an error there is returned: -EACCES, -ENOTDIR,
 * ...), proves a file can be written in it and starts the writer thread,
 * which before its first write lists the files a previous run left,
 * removes their stale temporary files and trims them to max_files. Returns the exporter (caller
 * frees with file_exporter__free()) or NULL + errno (EINVAL: bad options;
 * the reason is logged).
 */
struct file_exporter *file_exporter__new(const struct file_exporter_opts *opts,
					 const struct tg_logger *log);

/* Queues @len bytes of one request (copied), stamped now. Never blocks on
 * the disk. 0, -ENOMEM, or -ESHUTDOWN after shutdown. */
int file_exporter__submit(struct file_exporter *e, const void *req, size_t len);

void file_exporter__stats(struct file_exporter *e,
			  struct file_exporter_stats *ret);

/* Writes what is queued for up to @timeout_ns, then stops the thread and
 * counts what is left as dropped_shutdown. A request being written when
 * the time runs out is finished first (a write is not cut). Idempotent.
 * 0, or -ETIMEDOUT when requests were dropped. */
int file_exporter__shutdown(struct file_exporter *e, uint64_t timeout_ns);

/* file_exporter__shutdown(), then frees. Accepts NULL. */
void file_exporter__free(struct file_exporter *e, uint64_t timeout_ns);

#endif
