/* SPDX-License-Identifier: Apache-2.0 */
/* Parses /proc/PID/[task/TID/]maps text into a sorted mapping array: the
 * address layout the symbolizer translates user addresses with. Pure: no
 * I/O, so it is tested on crafted text. */
#ifndef TGPROF_RECEIVER_MAPS_H
#define TGPROF_RECEIVER_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MAPS_MAX_LINE 8192 /* longer lines are skipped and counted */
/* The kernel's default vm.max_map_count is 65530. */
#define MAPS_MAX_ENTRIES 65536

enum mapping_prot {
	MAPPING_READ = 1 << 0,
	MAPPING_WRITE = 1 << 1,
	MAPPING_EXEC = 1 << 2,
	MAPPING_SHARED = 1 << 3, /* 's' instead of 'p' */
};

enum mapping_kind {
	MAPPING_FILE = 0, /* backed by a file: path is absolute */
	MAPPING_ANON, /* no path */
	MAPPING_VDSO, /* [vdso] */
	MAPPING_SPECIAL, /* any other [name]: [heap], [stack], [vvar], ... */
};

struct mapping {
	uint64_t start; /* inclusive */
	uint64_t end; /* exclusive */
	uint64_t offset; /* file offset of start */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t prot; /* enum mapping_prot bits */
	enum mapping_kind kind;
	bool deleted; /* the path had a " (deleted)" suffix, now removed */
	const char *path; /* "" for anonymous; owned by the struct maps */
};

/* Whether @st (an fstat of a file opened by @m's path) is the file @m
 * maps: a regular file on @m's device with @m's inode. The path may name
 * another file by now. */
static inline bool mapping__is_file(const struct mapping *m,
				    const struct stat *st)
{
	return S_ISREG(st->st_mode) &&
	       st->st_dev == makedev(m->dev_major, m->dev_minor) &&
	       st->st_ino == m->inode;
}

struct maps {
	size_t n;
	struct mapping *v; /* sorted by start, non-overlapping */
	size_t skipped; /* lines that did not parse or were too long */
	size_t memory; /* bytes allocated for this struct, v and the paths */
	/* private */
	char *strings;
};

enum maps_parse_flags {
	/* Keep only executable mappings (what stack addresses can point
	 * into); the rest costs memory for nothing. */
	MAPS_EXEC_ONLY = 1 << 0,
};

/*
 * Parses @len bytes of maps text (need not be NUL-terminated). A line that
 * does not parse, is longer than MAPS_MAX_LINE or is cut off at the end of
 * @text is skipped and counted in ->skipped; entries beyond
 * MAPS_MAX_ENTRIES are counted the same way.
 * Returns 0 and *ret_maps (caller frees with maps__free()), or -ENOMEM.
 */
int maps__parse(const char *text, size_t len, unsigned int flags,
		struct maps **ret_maps);

/* The mapping containing @addr, or NULL. Borrowed from @m. */
const struct mapping *maps__find(const struct maps *m, uint64_t addr);

/* Accepts NULL. */
void maps__free(struct maps *m);

#endif
