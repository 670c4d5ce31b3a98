// SPDX-License-Identifier: Apache-2.0
/* A file's identity (fileid.h): build-id, else device, inode, size and
 * modification time. */
#include "receiver/symbols/fileid.h"

#include <string.h>

#include "lib/clock.h"
#include "lib/htab.h"

void file_id__read(int fd, const struct stat *st, struct file_id *ret)
{
	int n;

	ret->dev = (uint64_t)st->st_dev;
	ret->ino = (uint64_t)st->st_ino;
	ret->size = (uint64_t)st->st_size;
	ret->mtime_ns = (int64_t)st->st_mtim.tv_sec * (int64_t)NSEC_PER_SEC +
			st->st_mtim.tv_nsec;
	n = elfsym__peek_build_id(fd, ret->build_id, sizeof(ret->build_id));
	ret->build_id_len = n > 0 ? (uint32_t)n : 0;
}

uint64_t file_id__hash(const struct file_id *id)
{
	uint64_t k[4] = { id->dev, id->ino, id->size, (uint64_t)id->mtime_ns };

	if (id->build_id_len)
		return hash_bytes(id->build_id, id->build_id_len, 0x7467);
	return hash_bytes(k, sizeof(k), 0x6964);
}

bool file_id__equal(const struct file_id *a, const struct file_id *b)
{
	if (a->build_id_len != b->build_id_len)
		return false;
	if (a->build_id_len)
		return !memcmp(a->build_id, b->build_id, a->build_id_len);
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}
