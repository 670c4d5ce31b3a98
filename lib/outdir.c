// SPDX-License-Identifier: Apache-2.0
/* Output directories: mkdir -p, and files written through a temporary
 * file and renameat(). See outdir.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/outdir.h"

int outdir__make(const char *path)
{
	char buf[PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int outdir__write(int dirfd, const char *name, mode_t mode,
		  int (*fill)(void *ctx, FILE *f), void *ctx,
		  uint64_t *ret_size)
{
	char tmp[NAME_MAX + 1];
	off_t size = 0;
	FILE *f;
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* Never through a link someone left under that name. */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	err = fill(ctx, f);
	if (fflush(f) && !err)
		err = -errno;
	if (!err)
		size = ftello(f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (ret_size)
		*ret_size = size > 0 ? (uint64_t)size : 0;
	return 0;
}
