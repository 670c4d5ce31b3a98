/* SPDX-License-Identifier: Apache-2.0 */
/* Where a binary's symbols and DWARF live when not in the binary itself: a
 * separate debug file found by build-id (DEBUGDIR/.build-id/xx/rest.debug)
 * or by .gnu_debuglink (checked with its CRC-32), looked up inside the
 * process's root (its container) first, then on the host; and the
 * MiniDebugInfo a binary carries in .gnu_debugdata (xz). */
#ifndef TGPROF_RECEIVER_DEBUGINFO_H
#define TGPROF_RECEIVER_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEBUGINFO_MAX_DIRS 8
#define DEBUGINFO_DEFAULT_DIR "/usr/lib/debug"
/* A debug file larger than this is not checksummed nor read. */
#define DEBUGINFO_MAX_FILE_BYTES (4ull << 30)
/* Decompressed MiniDebugInfo is a small symbol table: bound it. */
#define DEBUGINFO_MAX_XZ_OUTPUT (64u << 20)

enum debuginfo_how {
	DEBUGINFO_BUILD_ID = 1,
	DEBUGINFO_DEBUGLINK = 2,
};

struct debuginfo_query {
	/* Where to look as the process sees its files: proc_root/TGID/task/
	 * TID/root. tgid 0: on the host only. */
	const char *proc_root;
	uint32_t tgid;
	uint32_t tid;
	/* Also look on the host (tgprof's own root) after the process's. */
	bool host;
	/* The binary: its path as the process sees it (NULL when unknown,
	 * e.g. deleted), device and inode (never its own debug file). */
	const char *path;
	uint64_t dev;
	uint64_t ino;
	const uint8_t *build_id;
	size_t build_id_len;
	const char *debuglink; /* NULL: none */
	uint32_t debuglink_crc;
	/* Debug roots, "/usr/lib/debug" when ndirs is 0. Borrowed. */
	const char *const *dirs;
	size_t ndirs;
};

struct debuginfo_found {
	enum debuginfo_how how;
	bool in_root; /* found inside the process's root, not on the host */
	char path[4096]; /* as opened, for messages */
};

/*
 * Finds and opens the separate debug file for @q: build-id first, then the
 * debuglink in the binary's directory, its .debug/ subdirectory and
 * DEBUGDIR/<binary's directory>/. A build-id candidate must carry the same
 * build-id; a debuglink candidate must match the CRC-32. A debug file's
 * own debuglink is never followed (no chains, no cycles).
 * Returns an O_RDONLY|O_CLOEXEC fd (caller closes) and fills *ret, or
 * -ENOENT when there is none, -ENOMEM.
 */
int debuginfo__find(const struct debuginfo_query *q,
		    struct debuginfo_found *ret);

/* CRC-32 (the .gnu_debuglink one: zlib's) of the whole file at @fd, at
 * most DEBUGINFO_MAX_FILE_BYTES. 0 and *ret, or -errno (-EFBIG). */
int debuginfo__file_crc(int fd, uint32_t *ret);

/*
 * Decompresses @len bytes of xz (.gnu_debugdata) into a new buffer (caller
 * frees with free()) of at most @max_out bytes. 0, *ret_buf and *ret_len,
 * or -EFBIG over @max_out, -EINVAL corrupt, -ENOMEM.
 */
int debuginfo__xz_decode(const void *in, size_t len, size_t max_out,
			 void **ret_buf, size_t *ret_len);

#endif
