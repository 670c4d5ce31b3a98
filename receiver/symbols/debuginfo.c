// SPDX-License-Identifier: Apache-2.0
/* Symbolizer input beside the binary: separate debug files (build-id,
 * .gnu_debuglink + CRC) inside the process's root then on the host, and
 * MiniDebugInfo (.gnu_debugdata, xz). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include "receiver/symbols/debuginfo.h"
#include "receiver/symbols/elfsym.h"

#define DEBUGINFO_CRC_CHUNK (1u << 20)
/* liblzma's own memory for one stream (dictionary and state): xz -9
 * needs 65 MiB; a header asking for more is refused. */
#define DEBUGINFO_XZ_MEMLIMIT (128u << 20)

/* A place to look: a directory fd (the process's root, or -1 for the
 * host's "/" through plain open()). */
struct di_root {
	int dfd;
	bool in_root;
};

static int di_open(const struct di_root *r, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd;

	if (r->dfd >= 0)
		fd = (int)syscall(SYS_openat2, r->dfd, path, &how, sizeof(how));
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > DEBUGINFO_MAX_FILE_BYTES) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

static bool di_is_binary(int fd, const struct debuginfo_query *q)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == q->dev &&
	       (uint64_t)st.st_ino == q->ino;
}

int debuginfo__file_crc(int fd, uint32_t *ret)
{
	unsigned char *buf;
	uLong crc = crc32(0L, Z_NULL, 0);
	uint64_t off = 0;
	ssize_t n;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size > DEBUGINFO_MAX_FILE_BYTES)
		return -EFBIG;
	buf = malloc(DEBUGINFO_CRC_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		n = pread(fd, buf, DEBUGINFO_CRC_CHUNK, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return (int)n;
		}
		if (n == 0)
			break;
		crc = crc32(crc, buf, (uInt)n);
		off += (uint64_t)n;
		if (off > DEBUGINFO_MAX_FILE_BYTES) {
			free(buf);
			return -EFBIG;
		}
	}
	free(buf);
	*ret = (uint32_t)crc;
	return 0;
}

static int di_try_build_id(const struct di_root *r, const char *dir,
			   const struct debuginfo_query *q,
			   struct debuginfo_found *ret)
{
	uint8_t id[ELFSYM_MAX_BUILD_ID];
	char path[PATH_MAX];
	size_t i, off;
	int fd, n;

	off = (size_t)snprintf(path, sizeof(path), "%s/.build-id/%02x/", dir,
			       q->build_id[0]);
	for (i = 1; i < q->build_id_len && off + 3 < sizeof(path); i++)
		off += (size_t)snprintf(path + off, sizeof(path) - off, "%02x",
					q->build_id[i]);
	if (off + sizeof(".debug") > sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path + off, ".debug", sizeof(".debug"));
	fd = di_open(r, path);
	if (fd < 0)
		return fd;
	n = elfsym__peek_build_id(fd, id, sizeof(id));
	if (n != (int)q->build_id_len || memcmp(id, q->build_id, (size_t)n) ||
	    di_is_binary(fd, q)) {
		close(fd);
		return -ENOENT;
	}
	ret->how = DEBUGINFO_BUILD_ID;
	ret->in_root = r->in_root;
	snprintf(ret->path, sizeof(ret->path), "%s", path);
	return fd;
}

static int di_try_link_path(const struct di_root *r, const char *path,
			    const struct debuginfo_query *q,
			    struct debuginfo_found *ret)
{
	uint32_t crc;
	int fd, err;

	fd = di_open(r, path);
	if (fd < 0)
		return fd;
	if (di_is_binary(fd, q)) {
		close(fd);
		return -ENOENT;
	}
	err = debuginfo__file_crc(fd, &crc);
	if (err || crc != q->debuglink_crc) {
		close(fd);
		return err == -ENOMEM ? err : -ENOENT;
	}
	ret->how = DEBUGINFO_DEBUGLINK;
	ret->in_root = r->in_root;
	snprintf(ret->path, sizeof(ret->path), "%s", path);
	return fd;
}

/* DIR/NAME, DIR/.debug/NAME, then DEBUGDIR/DIR/NAME for every debug dir. */
static int di_try_debuglink(const struct di_root *r,
			    const struct debuginfo_query *q,
			    const char *const *dirs, size_t ndirs,
			    struct debuginfo_found *ret)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash;
	size_t i, len;
	int fd;

	if (!q->path || q->path[0] != '/')
		return -ENOENT;
	slash = strrchr(q->path, '/');
	len = (size_t)(slash - q->path);
	if (len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, q->path, len);
	dir[len] = '\0';
	for (i = 0; i < 2 + ndirs; i++) {
		int n;

		if (i == 0)
			n = snprintf(path, sizeof(path), "%s/%s", dir,
				     q->debuglink);
		else if (i == 1)
			n = snprintf(path, sizeof(path), "%s/.debug/%s", dir,
				     q->debuglink);
		else
			n = snprintf(path, sizeof(path), "%s%s/%s", dirs[i - 2],
				     dir, q->debuglink);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		fd = di_try_link_path(r, path, q, ret);
		if (fd >= 0 || fd == -ENOMEM)
			return fd;
	}
	return -ENOENT;
}

static int di_search(const struct di_root *r, const struct debuginfo_query *q,
		     const char *const *dirs, size_t ndirs,
		     struct debuginfo_found *ret)
{
	size_t i;
	int fd;

	if (q->build_id_len) {
		for (i = 0; i < ndirs; i++) {
			fd = di_try_build_id(r, dirs[i], q, ret);
			if (fd >= 0)
				return fd;
		}
	}
	if (q->debuglink)
		return di_try_debuglink(r, q, dirs, ndirs, ret);
	return -ENOENT;
}

/* Whether @dfd is the same directory as our own "/": then the host pass
 * would only repeat the same opens. */
static bool di_same_as_host(int dfd)
{
	struct stat a, b;

	return fstat(dfd, &a) == 0 && stat("/", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int debuginfo__find(const struct debuginfo_query *q,
		    struct debuginfo_found *ret)
{
	static const char *const default_dirs[] = { DEBUGINFO_DEFAULT_DIR };
	const char *const *dirs = q->ndirs ? q->dirs : default_dirs;
	size_t ndirs = q->ndirs ? q->ndirs : 1;
	struct di_root r = { .dfd = -1 };
	bool host = q->host;
	char rpath[PATH_MAX];
	int fd = -ENOENT;

	if (ndirs > DEBUGINFO_MAX_DIRS)
		ndirs = DEBUGINFO_MAX_DIRS;
	if (!q->build_id_len && !q->debuglink)
		return -ENOENT;
	if (q->tgid && q->proc_root &&
	    snprintf(rpath, sizeof(rpath),
		     "%s/%" PRIu32 "/task/%" PRIu32 "/root", q->proc_root,
		     q->tgid, q->tid ? q->tid : q->tgid) < (int)sizeof(rpath)) {
		r.dfd = open(rpath, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (r.dfd >= 0) {
			r.in_root = true;
			if (di_same_as_host(r.dfd))
				host = false;
			fd = di_search(&r, q, dirs, ndirs, ret);
			close(r.dfd);
			if (fd >= 0 || fd == -ENOMEM)
				return fd;
		}
	}
	if (host) {
		r.dfd = -1;
		r.in_root = false;
		fd = di_search(&r, q, dirs, ndirs, ret);
	}
	return fd >= 0 || fd == -ENOMEM ? fd : -ENOENT;
}

int debuginfo__xz_decode(const void *in, size_t len, size_t max_out,
			 void **ret_buf, size_t *ret_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = len * 4 < (64u << 10) ? (64u << 10) : len * 4;
	unsigned char *buf = NULL, *nb;
	lzma_ret lr;
	int err;

	if (cap > max_out)
		cap = max_out;
	if (!cap)
		return -EFBIG;
	if (lzma_stream_decoder(&strm, DEBUGINFO_XZ_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto err_end;
	}
	strm.next_in = in;
	strm.avail_in = len;
	strm.next_out = buf;
	strm.avail_out = cap;
	for (;;) {
		lr = lzma_code(&strm, LZMA_FINISH);
		if (lr == LZMA_STREAM_END)
			break;
		if (lr == LZMA_MEM_ERROR) {
			err = -ENOMEM;
			goto err_free;
		}
		if (lr == LZMA_MEMLIMIT_ERROR) {
			err = -EFBIG;
			goto err_free;
		}
		if (lr != LZMA_OK && lr != LZMA_BUF_ERROR) {
			err = -EINVAL;
			goto err_free;
		}
		if (strm.avail_out) {
			/* Input ended before the stream did. */
			err = -EINVAL;
			goto err_free;
		}
		if (cap == max_out) {
			err = -EFBIG;
			goto err_free;
		}
		cap = cap * 2 > max_out ? max_out : cap * 2;
		nb = realloc(buf, cap);
		if (!nb) {
			err = -ENOMEM;
			goto err_free;
		}
		strm.next_out = nb + strm.total_out;
		strm.avail_out = cap - strm.total_out;
		buf = nb;
	}
	*ret_len = strm.total_out;
	*ret_buf = buf;
	lzma_end(&strm);
	return 0;

err_free:
	free(buf);
err_end:
	lzma_end(&strm);
	return err;
}
