/* Between the process table and the profile builder: each sampled address
 * becomes a frame, user ones through their mapping and the ELF file behind
 * it (cached per device and inode), kernel ones through kallsyms. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/opts.h"
#include "receiver/elfsym.h"
#include "receiver/kallsyms.h"
#include "receiver/procfs.h"
#include "receiver/symbolizer.h"

#define SYMBOLIZER_DEFAULT_MAX_FILES 512
/* A file that failed is not reopened for every frame that lands in it,
 * but it gets another chance: it may have been mid-write, or the thread
 * we went through may have been exiting. */
#define SYMBOLIZER_RETRY_NS (30 * NSEC_PER_SEC)
/* A file no thread of one process could reach: another process (or this
 * one, a little later) may still reach it. */
#define SYMBOLIZER_UNREACHABLE_RETRY_NS (1 * NSEC_PER_SEC)
/* Threads tried besides the sampled one when it cannot open a file. */
#define SYMBOLIZER_MAX_TASKS 4
#define SYMBOLIZER_VDSO_MAX (1u << 20) /* the vdso is a few pages */

struct symfile {
	struct htab_node node;
	/* LRU order; head is the most recently used. */
	struct symfile *prev;
	struct symfile *next;
	uint64_t dev; /* makedev() of the mapping's major:minor */
	uint64_t ino;
	uint64_t size; /* of the file loaded, for diagnostics */
	int64_t mtime_ns;
	struct elfsym *es; /* NULL: the file failed (negative entry) */
	uint64_t retry_ns; /* negative entry: CLOCK_MONOTONIC of next try */
	/* Negative entry because no thread of this process could reach the
	 * file: any other process retries at once. 0: the file itself failed. */
	uint32_t unreachable_tgid;
	uint64_t epoch; /* last epoch a lookup used this entry */
	size_t bytes; /* elfsym__memory(es) */
	bool logged; /* the failure was logged already */
	uint32_t build_id_len;
	uint8_t build_id[ELFSYM_MAX_BUILD_ID];
	/* Basename of the path the file was first seen under: frames name
	 * their module with it, so it lives as long as the symbols. */
	char module[];
};

struct symbolizer {
	struct tg_logger log; /* copied; fn and ctx are the host's */
	char *proc_root;
	struct kallsyms *ks;
	struct elfsym *vdso;
	bool vdso_tried;
	struct htab files;
	struct symfile *head;
	struct symfile *tail;
	size_t max_files;
	uint64_t epoch;
	struct symbolizer_stats st;
};

static uint64_t file_hash(uint64_t dev, uint64_t ino)
{
	return hash_u64(ino ^ hash_u64(dev));
}

static void lru__unlink(struct symbolizer *sy, struct symfile *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		sy->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		sy->tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru__push_head(struct symbolizer *sy, struct symfile *f)
{
	f->prev = NULL;
	f->next = sy->head;
	if (sy->head)
		sy->head->prev = f;
	sy->head = f;
	if (!sy->tail)
		sy->tail = f;
}

static void symfile__free(struct symfile *f)
{
	if (!f)
		return;
	elfsym__free(f->es);
	free(f);
}

static void symbolizer__evict(struct symbolizer *sy, struct symfile *f)
{
	htab__remove(&sy->files, &f->node);
	lru__unlink(sy, f);
	sy->st.cache_bytes -= f->bytes;
	symfile__free(f);
}

/*
 * Evicts least recently used entries until at most @limit remain. Entries
 * used in this epoch sit at the head of the list, so the walk from the tail
 * stops at the first of them: their names may be in the sample at hand.
 */
static void symbolizer__trim(struct symbolizer *sy, size_t limit)
{
	struct symfile *f;

	while (sy->files.count > limit && (f = sy->tail) &&
	       f->epoch != sy->epoch) {
		symbolizer__evict(sy, f);
		sy->st.cache_evictions++;
	}
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts,
				   const struct tg_logger *log)
{
	struct symbolizer_opts o;
	struct symbolizer *sy;
	const char *root;
	int err;

	err = opts__copy(&o, sizeof(o), opts);
	if (err)
		goto err_out;
	sy = calloc(1, sizeof(*sy));
	if (!sy) {
		err = -ENOMEM;
		goto err_out;
	}
	if (log)
		sy->log = *log;
	root = o.proc_root ? o.proc_root : "/proc";
	sy->proc_root = strdup(root);
	if (!sy->proc_root) {
		err = -ENOMEM;
		goto err_free;
	}
	sy->max_files = o.max_files ? o.max_files :
				      SYMBOLIZER_DEFAULT_MAX_FILES;
	sy->epoch = 1;
	if (o.kernel) {
		sy->ks = kallsyms__load(o.kallsyms_path);
		if (!sy->ks) {
			err = -errno;
			if (err == -ENOMEM)
				goto err_free;
			tg_warn(&sy->log,
				"kernel symbols unavailable (%s: %s)%s",
				o.kallsyms_path ? o.kallsyms_path :
						  "/proc/kallsyms",
				strerror(-err),
				err == -EPERM ? "; kernel frames need "
						"CAP_SYSLOG or "
						"kernel.kptr_restrict=0" :
						"");
		}
		sy->st.kernel_symbols = kallsyms__count(sy->ks);
	}
	return sy;

err_free:
	symbolizer__free(sy);
err_out:
	errno = -err;
	return NULL;
}

void symbolizer__free(struct symbolizer *sy)
{
	struct symfile *f, *next;

	if (!sy)
		return;
	for (f = sy->head; f; f = next) {
		next = f->next;
		symfile__free(f);
	}
	htab__free(&sy->files);
	elfsym__free(sy->vdso);
	kallsyms__free(sy->ks);
	free(sy->proc_root);
	free(sy);
}

size_t symbolizer__kernel(struct symbolizer *sy, uint64_t addr,
			  struct sym_frame *out, size_t max)
{
	const char *module = NULL;

	if (!max)
		return 0;
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->kind = FRAME_KERNEL;
	sy->st.lookups++;
	out->name = kallsyms__lookup(sy->ks, addr, &out->sym_offset, &module);
	out->system_name = out->name;
	out->module = module ? module : "vmlinux";
	if (out->name) {
		sy->st.resolved++;
	} else {
		out->sym_offset = 0;
		sy->st.unresolved++;
	}
	return 1;
}

/*
 * The vdso image of this process. Every process on one kernel maps the
 * same image (the layout of [vvar] around it may differ), so our own copy
 * names theirs. Its length comes from its own headers: the image holds the
 * program headers, the loaded bytes and the section headers.
 */
static struct elfsym *symbolizer__vdso(struct symbolizer *sy)
{
	const ElfW(Ehdr) * eh;
	const ElfW(Phdr) * ph;
	size_t len, end, i;

	if (sy->vdso_tried)
		return sy->vdso;
	sy->vdso_tried = true;
	eh = (const ElfW(Ehdr) *)getauxval(AT_SYSINFO_EHDR);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_phentsize != sizeof(*ph) ||
	    eh->e_phoff > SYMBOLIZER_VDSO_MAX ||
	    eh->e_phnum > SYMBOLIZER_VDSO_MAX / sizeof(*ph))
		goto fail;
	len = eh->e_phoff + (size_t)eh->e_phnum * sizeof(*ph);
	ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		end = ph[i].p_offset + ph[i].p_filesz;
		if (end > len)
			len = end;
	}
	if (eh->e_shoff && eh->e_shentsize == sizeof(ElfW(Shdr))) {
		end = eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr));
		if (end > len)
			len = end;
	}
	if (len > SYMBOLIZER_VDSO_MAX)
		goto fail;
	sy->vdso = elfsym__load_mem(eh, len);
	if (!sy->vdso)
		goto fail;
	return sy->vdso;

fail:
	tg_debug(&sy->log, "[vdso] symbols unavailable");
	return NULL;
}

static bool stat_matches(const struct stat *st, const struct mapping *m)
{
	return S_ISREG(st->st_mode) &&
	       st->st_dev == makedev(m->dev_major, m->dev_minor) &&
	       st->st_ino == m->inode;
}

/* Opens @m's path inside thread @tid's root and checks it is the mapped
 * file: the path may name another file by now. */
static int open_through_task(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			     const struct mapping *m, struct stat *ret_st)
{
	int fd = procfs__open_in_root(sy->proc_root, tgid, tid, m->path);

	if (fd < 0)
		return fd;
	if (fstat(fd, ret_st) == 0 && stat_matches(ret_st, m))
		return fd;
	close(fd);
	return -ESTALE;
}

struct task_try {
	struct symbolizer *sy;
	const struct mapping *m;
	struct stat *st;
	uint32_t tgid;
	uint32_t skip_tid;
	unsigned int left;
	int fd; /* the last result */
};

static int try_task(void *ctx, uint32_t tid)
{
	struct task_try *t = ctx;

	if (tid == t->skip_tid)
		return 0;
	t->fd = open_through_task(t->sy, t->tgid, tid, t->m, t->st);
	/* Stop at success, at a file that is not the mapped one, or when
	 * enough threads were tried. */
	return t->fd >= 0 || t->fd == -ESTALE || !--t->left;
}

/*
 * Opens the file behind @m as the process sees it, or -errno. First by
 * path inside the sampled thread's root, then inside a few other threads'
 * (the sampled one may have exited since, and a zombie leader has no root
 * any more); then through map_files, which is the mapped file itself even
 * when deleted or replaced. There overlayfs reports the underlying device
 * in maps and its own in stat, so only a different inode on the same
 * device is a mismatch.
 */
static int symbolizer__open(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			    const struct mapping *m, struct stat *ret_st)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err = -ENOENT;

	if (!m->deleted && m->path && m->path[0] == '/') {
		struct task_try t = { .sy = sy,
				      .m = m,
				      .st = ret_st,
				      .tgid = tgid,
				      .skip_tid = tid,
				      .left = SYMBOLIZER_MAX_TASKS,
				      .fd = -ENOENT };

		err = open_through_task(sy, tgid, tid ? tid : tgid, m, ret_st);
		if (err >= 0)
			return err;
		if (err != -ESTALE && procfs__for_each_task(sy->proc_root, tgid,
							    try_task, &t) > 0)
			err = t.fd;
		if (err >= 0)
			return err;
	}
	if (snprintf(path, sizeof(path),
		     "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
		     sy->proc_root, tgid, m->start,
		     m->end) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err == -ESTALE ? err : -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_dev == makedev(m->dev_major, m->dev_minor) &&
	     st.st_ino != m->inode)) {
		close(fd);
		return -ESTALE;
	}
	*ret_st = st;
	return fd;
}

/* Loads the file behind @m into @f; a failure leaves a negative entry. */
static void symbolizer__load(struct symbolizer *sy, struct symfile *f,
			     uint32_t tgid, uint32_t tid,
			     const struct mapping *m)
{
	struct stat st;
	int fd, err;

	f->unreachable_tgid = 0;
	fd = symbolizer__open(sy, tgid, tid, m, &st);
	if (fd < 0) {
		sy->st.open_errors++;
		err = fd;
		if (err != -ESTALE)
			f->unreachable_tgid = tgid;
		goto fail;
	}
	f->es = elfsym__load_fd(fd);
	err = -errno;
	close(fd);
	if (!f->es) {
		sy->st.elf_errors++;
		goto fail;
	}
	f->size = (uint64_t)st.st_size;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * (int64_t)NSEC_PER_SEC +
		      st.st_mtim.tv_nsec;
	f->bytes = elfsym__memory(f->es);
	f->build_id_len =
		elfsym__build_id(f->es, f->build_id, sizeof(f->build_id));
	sy->st.cache_bytes += f->bytes;
	return;

fail:
	f->retry_ns = clock_ns(CLOCK_MONOTONIC) +
		      (f->unreachable_tgid ? SYMBOLIZER_UNREACHABLE_RETRY_NS :
					     SYMBOLIZER_RETRY_NS);
	if (!f->logged) {
		f->logged = true;
		tg_debug(&sy->log,
			 "no symbols for %s (pid %" PRIu32 ", %" PRIu32
			 ":%" PRIu32 " inode %" PRIu64 "): %s",
			 m->path, tgid, m->dev_major, m->dev_minor, m->inode,
			 strerror(-err));
	}
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The cache entry of the file behind @m (loaded, or negative), or NULL
 * when memory ran out. */
static struct symfile *symbolizer__file(struct symbolizer *sy, uint32_t tgid,
					uint32_t tid, const struct mapping *m)
{
	const char *base = path_basename(m->path);
	uint64_t dev = makedev(m->dev_major, m->dev_minor);
	uint64_t hash = file_hash(dev, m->inode);
	struct symfile *f = NULL;
	struct htab_node *pos;

	htab_for_each(&sy->files, pos, hash) {
		f = container_of(pos, struct symfile, node);
		if (f->dev == dev && f->ino == m->inode)
			break;
		f = NULL;
	}
	if (f) {
		lru__unlink(sy, f);
		lru__push_head(sy, f);
		f->epoch = sy->epoch;
		if (f->es ||
		    (clock_ns(CLOCK_MONOTONIC) < f->retry_ns &&
		     (!f->unreachable_tgid || f->unreachable_tgid == tgid))) {
			sy->st.cache_hits++;
			return f;
		}
		sy->st.cache_misses++;
		symbolizer__load(sy, f, tgid, tid, m);
		return f;
	}

	sy->st.cache_misses++;
	symbolizer__trim(sy, sy->max_files - 1);
	f = calloc(1, sizeof(*f) + strlen(base) + 1);
	if (!f)
		return NULL;
	strcpy(f->module, base);
	f->dev = dev;
	f->ino = m->inode;
	f->epoch = sy->epoch;
	if (htab__insert(&sy->files, &f->node, hash) != 0) {
		free(f);
		return NULL;
	}
	lru__push_head(sy, f);
	symbolizer__load(sy, f, tgid, tid, m);
	return f;
}

/* Special mappings by their kernel name, as strings of our own. */
static const char *special_name(const char *path)
{
	static const char *const names[] = {
		"[heap]", "[stack]", "[vsyscall]", "[vvar]", "[uprobes]",
	};
	size_t i;

	for (i = 0; path && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(path, names[i]) == 0)
			return names[i];
	return "[anon]";
}

size_t symbolizer__user(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			const struct mapping *m, uint64_t addr,
			bool return_address, struct sym_frame *out, size_t max)
{
	struct elfsym *es = NULL;
	struct symfile *f;
	uint64_t off, vaddr, sym_off;
	const char *name = NULL;

	if (!max)
		return 0;
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->kind = FRAME_NATIVE;
	sy->st.lookups++;
	if (!m) {
		sy->st.unresolved++;
		return 1;
	}
	out->mapping = m;
	out->file_offset = addr - m->start + m->offset;
	switch (m->kind) {
	case MAPPING_VDSO:
		out->module = "[vdso]";
		es = symbolizer__vdso(sy);
		break;
	case MAPPING_FILE:
		if (!m->path || !m->path[0]) {
			out->module = "[anon]";
			break;
		}
		f = symbolizer__file(sy, tgid, tid, m);
		if (f) {
			out->module = f->module;
			es = f->es;
			if (f->build_id_len) {
				out->build_id = f->build_id;
				out->build_id_len = f->build_id_len;
			}
		} else {
			out->module = "[unknown]";
		}
		break;
	case MAPPING_SPECIAL:
		out->module = special_name(m->path);
		break;
	case MAPPING_ANON:
	default:
		out->module = "[anon]";
		break;
	}
	/* A return address points after the call, which may be the first
	 * byte of the next function. */
	off = out->file_offset;
	if (return_address && off)
		off--;
	if (es && elfsym__offset_to_vaddr(es, off, &vaddr) == 0)
		name = elfsym__lookup(es, vaddr, &sym_off);
	if (name) {
		out->name = name;
		out->system_name = name;
		out->sym_offset = sym_off + (out->file_offset - off);
		sy->st.resolved++;
	} else {
		sy->st.unresolved++;
	}
	return 1;
}

void symbolizer__next_epoch(struct symbolizer *sy)
{
	sy->epoch++;
	/* A sample may have pushed the cache past its bound; catch up. */
	symbolizer__trim(sy, sy->max_files);
}

void symbolizer__stats(const struct symbolizer *sy,
		       struct symbolizer_stats *ret)
{
	*ret = sy->st;
	ret->cache_files = sy->files.count;
}
