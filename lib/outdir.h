/* SPDX-License-Identifier: Apache-2.0 */
/* The directory output files are written into: `tgprof record`'s -o and
 * the file exporter's directory. A file appears there whole or not at all,
 * so a reader (a collector, a dashboard) never takes in half of one. */
#ifndef TGPROF_LIB_OUTDIR_H
#define TGPROF_LIB_OUTDIR_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* mkdir -p @path, each missing level 0755. 0 or -errno. */
int outdir__make(const char *path);

/*
 * Writes the file @name in the directory @dirfd: @fill(@ctx, f) writes the
 * content to a hidden temporary file, ".@name.tmp" (created with @mode,
 * less the umask, never through a link left under that name), which
 * renameat() then puts in place. On failure the temporary file is removed
 * and @name left as it was. 0 and *@ret_size (optional: the bytes written)
 * or the first -errno: @fill's, flushing's, closing's, renaming's;
 * -ENAMETOOLONG when the temporary name is longer than NAME_MAX.
 */
int outdir__write(int dirfd, const char *name, mode_t mode,
		  int (*fill)(void *ctx, FILE *f), void *ctx,
		  uint64_t *ret_size);

#endif
