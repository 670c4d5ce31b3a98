/* SPDX-License-Identifier: Apache-2.0 */
/* The identity of an ELF file, whatever path or inode maps it: its GNU
 * build-id, else its device, inode, size and modification time. The
 * symbol cache (symbolizer.c) and the unwind tables (unwind/loader.c)
 * share what they build for one file by this key.
 * In: an open file descriptor. Out: struct file_id, its hash, equality. */
#ifndef TGPROF_RECEIVER_FILEID_H
#define TGPROF_RECEIVER_FILEID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "receiver/symbols/elfsym.h"

struct file_id {
	uint64_t dev;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	uint32_t build_id_len; /* 0: none, the other fields decide */
	uint8_t build_id[ELFSYM_MAX_BUILD_ID];
};

/* Fills *ret from @st (the fstat() of @fd) and the build-id note @fd's
 * ELF headers point at (none when it has none or is not ELF). */
void file_id__read(int fd, const struct stat *st, struct file_id *ret);
uint64_t file_id__hash(const struct file_id *id);
bool file_id__equal(const struct file_id *a, const struct file_id *b);

#endif
