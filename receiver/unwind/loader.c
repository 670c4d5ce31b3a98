// SPDX-License-Identifier: Apache-2.0
/* A process's executable mappings in (when the process table reads them),
 * its files' tables compiled once (table.c), laid out (layout.c) and put
 * into the sampler's maps, its ranges written beside them; and samples the
 * kernel could not finish walked here (walk.c). See loader.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/unwind_maps.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/list.h"
#include "lib/opts.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/debuginfo.h"
#include "receiver/symbols/elfsym.h"
#include "receiver/symbols/fileid.h"
#include "receiver/unwind/layout.h"
#include "receiver/unwind/loader.h"
#include "receiver/unwind/table.h"

#define LOADER_DEFAULT_MAX_PROCESSES 16384
#define LOADER_MAX_SEGS 16 /* PT_LOAD segments kept per file */
#define LOADER_MAX_PHDRS 512
/* Keep a compiled table in user space this long after it was last needed:
 * the samples taken before it was loaded are in the ring buffer now and
 * come within a drain or two. */
#define LOADER_USER_KEEP_NS (10 * NSEC_PER_SEC)
/* And never more of them than this, whatever the kernel's bound: they are
 * resident memory of tgprof's own, where the kernel's copy is not. */
#define LOADER_USER_MAX_BYTES (4u << 20)
/* Compiles and layouts come in bursts (a new process maps dozens of
 * files) of large blocks freed soon after, which malloc keeps as free
 * heap, where a later small allocation pins its page: after this many
 * bytes were freed, a tick gives the free pages back. */
#define LOADER_TRIM_BYTES (1u << 20)
#define LOADER_VDSO_MAX (1u << 20)
/* A file evicted or refused for want of room is tried again no sooner:
 * a bound too small for what runs must not cost a compile per new
 * process. */
#define LOADER_RETRY_NS (10 * NSEC_PER_SEC)
#define USER_ADDR_LIMIT (1ULL << 56)

enum ufile_state {
	UFILE_NEW = 0, /* nothing in the kernel yet */
	UFILE_LOADED, /* rows and page index in the kernel */
	UFILE_NO_TABLE, /* an entry saying "frame pointers": evicted or
			   over the bound, loaded again when possible */
	UFILE_NO_CFI, /* nothing to load: ranges get file id 0 */
};

struct seg {
	uint64_t off;
	uint64_t vaddr;
	uint64_t filesz;
	bool exec;
};

/* An inode that names a file: what /proc/PID/maps gives. */
struct ualias {
	struct htab_node node;
	uint64_t dev;
	uint64_t ino;
	struct ufile *f;
	struct ualias *next; /* the file's other aliases */
};

/* One file, whatever path or inode maps it. */
struct ufile {
	struct htab_node node; /* in by_key */
	struct link lru; /* in loaded while UFILE_LOADED */
	struct ualias *aliases;
	enum ufile_state state;
	uint32_t id; /* in the kernel maps; never reused */
	bool vdso;
	bool has_entry; /* unwind_files holds id */
	struct file_id fid; /* with vdso, the key */
	struct seg segs[LOADER_MAX_SEGS];
	uint32_t nsegs;
	uint64_t base, extent;
	uint32_t nrows, nchunks, ngroups;
	uint64_t kbytes; /* chunks and groups in the kernel */
	uint32_t refs; /* ranges of processes mapping it */
	uint64_t pin; /* == loader.pin: used by the process being set */
	struct unwind_table *table; /* the user-space copy, or NULL */
	size_t table_bytes;
	uint64_t keep_until_ns; /* then the user-space copy goes */
	uint64_t retry_ns; /* UFILE_NO_TABLE: not loaded again before */
	uint64_t need; /* bytes its table took in the kernel when it was
			  refused for want of room; 0 unknown */
};

struct urange {
	uint64_t start, end;
	uint64_t bias;
	struct ufile *f; /* NULL: no table, frame pointers */
	const struct mapping *m; /* borrowed from proc.maps */
};

/* A process's ranges: struct proc.unwind. */
struct uproc {
	struct link all; /* in loader.procs */
	/* In loader.owners while its ranges are the kernel's for tgid (a
	 * reused PID's new process takes the key over). */
	struct htab_node owner;
	uint32_t tgid;
	struct urange *r;
	uint32_t n;
	uint8_t where; /* 0: not in the kernel, 1: small map, 2: large */
	bool touched;
	size_t touch_idx;
};

struct unwind_loader {
	struct sampler_unwind_maps maps;
	const struct tg_logger *log; /* borrowed */
	char *proc_root;
	char *debug_dirs_buf;
	const char *debug_dirs[DEBUGINFO_MAX_DIRS];
	size_t ndebug_dirs;
	uint64_t max_bytes;
	uint32_t max_processes;
	struct htab by_key; /* struct ufile */
	struct htab by_inode; /* struct ualias */
	struct link loaded; /* UFILE_LOADED files, most recently used first */
	struct link procs; /* every struct uproc */
	struct htab owners; /* struct uproc whose ranges the kernel has */
	uint32_t next_id;
	uint32_t entries; /* unwind_files elements */
	uint32_t procs_small; /* unwind_procs_small elements */
	uint32_t procs_large;
	uint64_t pin;
	struct uproc **touched; /* sampled since the last tick */
	size_t ntouched, touched_cap;
	struct unwind_loader_stats st;
	/* Heap freed (tables dropped, layouts and compile buffers released)
	 * since the free heap was last given back: see loader__trim(). */
	uint64_t freed_bytes;
	bool warned_budget;
	bool warned_maps;
};

void unwind_loader__sizes(const struct unwind_loader_opts *opts,
			  struct sampler_unwind_sizes *ret,
			  uint64_t *ret_fixed_bytes)
{
	uint64_t bytes = opts && opts->max_bytes ?
				 opts->max_bytes :
				 UNWIND_LOADER_DEFAULT_MAX_BYTES;
	uint32_t procs = opts && opts->max_processes ?
				 opts->max_processes :
				 LOADER_DEFAULT_MAX_PROCESSES;
	uint64_t chunks = bytes / UNWIND_CHUNK_ELEM_BYTES, fixed = 0;
	uint32_t *n[] = { &ret->chunks, &ret->groups, &ret->files,
			  &ret->procs_small, &ret->procs_large };
	size_t i;

	if (!chunks)
		chunks = 1;
	if (chunks > UINT32_MAX / 2)
		chunks = UINT32_MAX / 2;
	ret->chunks = (uint32_t)chunks;
	/* Every file has a chunk and a group, and a group covers more
	 * code than a chunk's rows: there are never more groups. */
	ret->groups = (uint32_t)chunks;
	ret->files = UNWIND_LOADER_MAX_FILES;
	ret->procs_small = procs;
	/* Processes with more than UNWIND_PROC_SMALL executable mappings
	 * (interpreters with extensions, large services) are the fewer. */
	ret->procs_large = procs / 4 ? procs / 4 : 1;
	/* A hash map's buckets: 16 bytes each, a power of two of them. */
	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		uint64_t b = 1;

		while (b < *n[i])
			b <<= 1;
		fixed += b * 16;
	}
	if (ret_fixed_bytes)
		*ret_fixed_bytes = fixed;
}

/* ---- files: identity, ELF segments, compile ------------------------------ */

static uint64_t inode_hash(uint64_t dev, uint64_t ino)
{
	return hash_u64(dev * 0x9e3779b97f4a7c15ull ^ ino);
}

static uint64_t ufile__hash(const struct ufile *f)
{
	return file_id__hash(&f->fid) ^ f->vdso;
}

static struct ufile *loader__find_key(struct unwind_loader *ul,
				      const struct ufile *key)
{
	uint64_t hash = ufile__hash(key);
	struct htab_node *pos;
	struct ufile *f;

	htab_for_each(&ul->by_key, pos, hash) {
		f = container_of(pos, struct ufile, node);
		if (f->vdso == key->vdso && file_id__equal(&f->fid, &key->fid))
			return f;
	}
	return NULL;
}

static struct ufile *loader__find_inode(struct unwind_loader *ul, uint64_t dev,
					uint64_t ino)
{
	uint64_t hash = inode_hash(dev, ino);
	struct htab_node *pos;
	struct ualias *a;

	htab_for_each(&ul->by_inode, pos, hash) {
		a = container_of(pos, struct ualias, node);
		if (a->dev == dev && a->ino == ino)
			return a->f;
	}
	return NULL;
}

static int loader__add_alias(struct unwind_loader *ul, struct ufile *f,
			     uint64_t dev, uint64_t ino)
{
	struct ualias *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return -ENOMEM;
	a->dev = dev;
	a->ino = ino;
	a->f = f;
	err = htab__insert(&ul->by_inode, &a->node, inode_hash(dev, ino));
	if (err) {
		free(a);
		return err;
	}
	a->next = f->aliases;
	f->aliases = a;
	return 0;
}

/* The PT_LOAD segments of an x86-64 ELF image whose first @len bytes
 * (headers) are at @img, or read from @fd when @img is NULL. */
static int read_segs(int fd, const void *img, size_t len, struct ufile *f)
{
	Elf64_Phdr ph[64];
	Elf64_Ehdr eh;
	size_t i, j, n;

	if (img) {
		if (len < sizeof(eh))
			return -ENOEXEC;
		memcpy(&eh, img, sizeof(eh));
	} else if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh)) {
		return -ENOEXEC;
	}
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > LOADER_MAX_PHDRS)
		return -ENOEXEC;
	f->nsegs = 0;
	for (i = 0; i < eh.e_phnum; i += n) {
		uint64_t off = eh.e_phoff + i * sizeof(Elf64_Phdr);

		n = eh.e_phnum - i < 64 ? eh.e_phnum - i : 64;
		if (img) {
			if (off > len || len - off < n * sizeof(Elf64_Phdr))
				return -ENOEXEC;
			memcpy(ph, (const char *)img + off,
			       n * sizeof(Elf64_Phdr));
		} else if (pread(fd, ph, n * sizeof(Elf64_Phdr), (off_t)off) !=
			   (ssize_t)(n * sizeof(Elf64_Phdr))) {
			return -ENOEXEC;
		}
		for (j = 0; j < n && f->nsegs < LOADER_MAX_SEGS; j++) {
			if (ph[j].p_type != PT_LOAD)
				continue;
			f->segs[f->nsegs++] = (struct seg){
				.off = ph[j].p_offset,
				.vaddr = ph[j].p_vaddr,
				.filesz = ph[j].p_filesz,
				.exec = ph[j].p_flags & PF_X,
			};
		}
	}
	return f->nsegs ? 0 : -ENOEXEC;
}

/* The load bias of a mapping of @f at @start, file offset @pgoff: the rule
 * of unwind_table__bias(), on the segments kept here so the table itself
 * need not stay in memory. */
static int ufile__bias(const struct ufile *f, uint64_t start, uint64_t pgoff,
		       uint64_t *ret)
{
	const struct seg *s;
	uint32_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < f->nsegs; i++) {
			s = &f->segs[i];
			if (s->exec != !pass)
				continue;
			if (pgoff < (s->off & ~4095ull) ||
			    pgoff >= s->off + s->filesz)
				continue;
			*ret = start - pgoff + s->off - s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

/* Our own [vdso]: every 64-bit process on this kernel maps the same image.
 * Its length comes from its headers (program headers, loaded bytes,
 * section headers). NULL when it cannot be read. */
static const void *own_vdso(size_t *ret_len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Phdr *ph;
	size_t len, end, i;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_phentsize != sizeof(*ph) || eh->e_phoff > LOADER_VDSO_MAX ||
	    eh->e_phnum > LOADER_VDSO_MAX / sizeof(*ph))
		return NULL;
	len = eh->e_phoff + (size_t)eh->e_phnum * sizeof(*ph);
	ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		end = ph[i].p_offset + ph[i].p_filesz;
		if (end > len)
			len = end;
	}
	if (eh->e_shoff && eh->e_shentsize == sizeof(Elf64_Shdr)) {
		end = eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
		if (end > len)
			len = end;
	}
	if (len > LOADER_VDSO_MAX)
		return NULL;
	*ret_len = len;
	return eh;
}

/*
 * Opens the file behind @m as process @tgid sees it: by path inside thread
 * @tid's root, else through map_files (deleted or replaced files, a root
 * we cannot reach). There overlayfs reports the underlying device in maps
 * and its own in stat, so only another inode on the same device is a
 * mismatch. The fd or -errno.
 */
static int loader__open(struct unwind_loader *ul, uint32_t tgid, uint32_t tid,
			const struct mapping *m, struct stat *ret_st)
{
	char path[PATH_MAX];
	int fd, i;

	if (!m->deleted && m->path && m->path[0] == '/') {
		fd = procfs__open_in_root(ul->proc_root, tgid, tid ? tid : tgid,
					  m->path);
		if (fd >= 0) {
			if (!fstat(fd, ret_st) && mapping__is_file(m, ret_st))
				return fd;
			close(fd);
		}
	}
	for (i = 0; i < 2; i++) {
		int n = i ? snprintf(path, sizeof(path),
				     "%s/%" PRIu32 "/map_files/%" PRIx64
				     "-%" PRIx64,
				     ul->proc_root, tgid, m->start, m->end) :
			    snprintf(path, sizeof(path),
				     "%s/%" PRIu32 "/task/%" PRIu32
				     "/map_files/%" PRIx64 "-%" PRIx64,
				     ul->proc_root, tgid, tid ? tid : tgid,
				     m->start, m->end);

		if (n >= (int)sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		if (!fstat(fd, ret_st) && S_ISREG(ret_st->st_mode) &&
		    !(ret_st->st_dev == makedev(m->dev_major, m->dev_minor) &&
		      ret_st->st_ino != m->inode))
			return fd;
		close(fd);
		return -ESTALE;
	}
	return -errno;
}

static void ufile__drop_table(struct unwind_loader *ul, struct ufile *f)
{
	if (!f->table)
		return;
	ul->st.user_bytes -= f->table_bytes;
	ul->freed_bytes += f->table_bytes;
	unwind_table__free(f->table);
	f->table = NULL;
	f->table_bytes = 0;
}

static void ufile__set_table(struct unwind_loader *ul, struct ufile *f,
			     struct unwind_table *t)
{
	size_t n;

	ufile__drop_table(ul, f);
	f->table = t;
	f->table_bytes = unwind_table__memory(t);
	ul->st.user_bytes += f->table_bytes;
	f->base = unwind_table__base(t);
	f->extent = unwind_table__extent(t);
	unwind_table__rows(t, &n);
	f->nrows = (uint32_t)n;
	f->keep_until_ns = boot_ns() + LOADER_USER_KEEP_NS;
}

/* .debug_frame of the separate debug file, found by build-id, for a file
 * without .eh_frame. -ENODATA when there is none. */
/* The user-space copies hold more than they may: half the kernel's bound,
 * at most LOADER_USER_MAX_BYTES. */
static bool loader__user_over(const struct unwind_loader *ul)
{
	uint64_t max = ul->max_bytes / 2;

	if (max > LOADER_USER_MAX_BYTES)
		max = LOADER_USER_MAX_BYTES;
	return ul->st.user_bytes > max;
}

static int loader__compile_debug(struct unwind_loader *ul, struct ufile *f,
				 int fd, uint32_t tgid, uint32_t tid,
				 const struct mapping *m,
				 struct unwind_table **ret)
{
	struct debuginfo_query q = { 0 };
	struct debuginfo_found found;
	int dfd, err;

	if (!f->fid.build_id_len)
		return -ENODATA;
	q.proc_root = ul->proc_root;
	q.tgid = tgid;
	q.tid = tid;
	q.host = true;
	q.path = m && !m->deleted ? m->path : NULL;
	q.dev = f->fid.dev;
	q.ino = f->fid.ino;
	q.build_id = f->fid.build_id;
	q.build_id_len = f->fid.build_id_len;
	q.dirs = ul->debug_dirs;
	q.ndirs = ul->ndebug_dirs;
	dfd = debuginfo__find(&q, &found);
	if (dfd < 0)
		return -ENODATA;
	err = unwind_table__compile_fd(fd, dfd, NULL, ret);
	close(dfd);
	if (!err)
		ul->st.debug_frame_files++;
	return err;
}

/*
 * Compiles @f's table (from @fd, or from our own [vdso]), its CPU time
 * counted. 0, -ENODATA without CFI, or another -errno.
 */
static int loader__compile(struct unwind_loader *ul, struct ufile *f, int fd,
			   uint32_t tgid, uint32_t tid, const struct mapping *m)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct unwind_table *t = NULL;
	const void *img;
	size_t len = 0;
	int err;

	if (f->vdso) {
		img = own_vdso(&len);
		err = img ? unwind_table__compile_mem(img, len, NULL, &t) :
			    -ENOENT;
	} else {
		err = unwind_table__compile_fd(fd, -1, NULL, &t);
		if (err == -ENODATA)
			err = loader__compile_debug(ul, f, fd, tgid, tid, m,
						    &t);
	}
	ul->st.compiles++;
	ul->st.compile_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	if (err)
		return err;
	ufile__set_table(ul, f, t);
	return 0;
}

/* ---- the kernel side of a file ------------------------------------------ */

static void loader__map_error(struct unwind_loader *ul, const char *what,
			      int err)
{
	ul->st.map_errors++;
	if (ul->warned_maps)
		return;
	ul->warned_maps = true;
	tg_warn(ul->log,
		"unwind: updating %s failed: %s; those frames are walked with frame pointers (further failures counted)",
		what, strerror(-err));
}

static int loader__put_entry(struct unwind_loader *ul, struct ufile *f,
			     enum unwind_file_state state)
{
	struct unwind_file v = {
		.state = state,
		.nrows = state == UNWIND_FILE_LOADED ? f->nrows : 0,
		.extent = state == UNWIND_FILE_LOADED ? f->extent : 0,
	};
	int err;

	if (!f->has_entry && ul->entries >= UNWIND_LOADER_MAX_FILES)
		return -ENOSPC;
	err = bpf_map_update_elem(ul->maps.files, &f->id, &v, BPF_ANY);
	if (err) {
		loader__map_error(ul, "unwind_files", err);
		return err;
	}
	if (!f->has_entry)
		ul->entries++;
	f->has_entry = true;
	return 0;
}

static void loader__del_entry(struct unwind_loader *ul, struct ufile *f)
{
	if (!f->has_entry)
		return;
	bpf_map_delete_elem(ul->maps.files, &f->id);
	f->has_entry = false;
	ul->entries--;
}

/* Deletes @f's chunks and groups (the first @nchunks and @ngroups). */
static void loader__del_rows(struct unwind_loader *ul, uint32_t id,
			     uint32_t nchunks, uint32_t ngroups)
{
	struct unwind_chunk_key k = { .file_id = id };

	for (k.index = 0; k.index < ngroups; k.index++)
		bpf_map_delete_elem(ul->maps.groups, &k);
	for (k.index = 0; k.index < nchunks; k.index++)
		bpf_map_delete_elem(ul->maps.chunks, &k);
}

static void ufile__free(struct unwind_loader *ul, struct ufile *f);

/* Takes @f's rows out of the kernel. A process still mapping it walks it
 * with frame pointers (its entry says so) until it is loaded again. */
static void loader__evict(struct unwind_loader *ul, struct ufile *f)
{
	if (f->refs) {
		loader__put_entry(ul, f, UNWIND_FILE_NO_TABLE);
		ul->st.files_evicted_in_use++;
	} else {
		loader__del_entry(ul, f);
	}
	/* The entry changed first: a walk running now finds no rows and
	 * falls back to frame pointers, never a half-deleted table. */
	loader__del_rows(ul, f->id, f->nchunks, f->ngroups);
	ul->st.kernel_bytes -= f->kbytes;
	ul->st.rows -= f->nrows;
	ul->st.files--;
	f->kbytes = 0;
	f->nchunks = 0;
	f->ngroups = 0;
	f->state = UFILE_NO_TABLE;
	f->retry_ns = boot_ns() + LOADER_RETRY_NS;
	link__del(&f->lru);
	ul->st.files_evicted++;
	if (!f->refs)
		ufile__free(ul, f);
}

/* Whether loader__make_room() could find @need bytes now. */
static bool loader__room_possible(const struct unwind_loader *ul, uint64_t need)
{
	uint64_t pinned = 0;
	const struct link *l;
	const struct ufile *f;

	for (l = ul->loaded.next; l != &ul->loaded; l = l->next) {
		f = container_of(l, struct ufile, lru);
		if (f->pin == ul->pin)
			pinned += f->kbytes;
	}
	return pinned + need <= ul->max_bytes;
}

/* Evicts least recently used files, unused ones first and never one the
 * process being set maps, until @need more bytes fit. */
static int loader__make_room(struct unwind_loader *ul, uint64_t need)
{
	struct link *l;
	struct ufile *f, *victim;

	while (ul->st.kernel_bytes + need > ul->max_bytes) {
		victim = NULL;
		for (l = ul->loaded.prev; l != &ul->loaded; l = l->prev) {
			f = container_of(l, struct ufile, lru);
			if (!f->refs && f->pin != ul->pin) {
				victim = f;
				break;
			}
		}
		for (l = ul->loaded.prev; !victim && l != &ul->loaded;
		     l = l->prev) {
			f = container_of(l, struct ufile, lru);
			if (f->pin != ul->pin)
				victim = f;
		}
		if (!victim)
			return -ENOSPC;
		loader__evict(ul, victim);
	}
	return 0;
}

struct chunk_put {
	struct unwind_loader *ul;
	uint32_t file_id;
	uint32_t put; /* chunks in the kernel */
};

static int chunk__put(void *ctx, uint32_t index,
		      const struct unwind_chunk *chunk)
{
	struct chunk_put *cp = ctx;
	struct unwind_chunk_key k = { .file_id = cp->file_id, .index = index };
	int err;

	err = bpf_map_update_elem(cp->ul->maps.chunks, &k, chunk, BPF_ANY);
	if (err)
		return err;
	cp->put = index + 1;
	return 0;
}

/* Lays @f's rows out straight into the kernel (@l counted), then the page
 * index; on failure nothing of it stays there. */
static int loader__insert_layout(struct unwind_loader *ul, struct ufile *f,
				 const struct unwind_row *rows, size_t n,
				 struct unwind_layout *l)
{
	struct unwind_chunk_key k = { .file_id = f->id };
	struct chunk_put cp = { .ul = ul, .file_id = f->id };
	uint32_t i;
	int err;

	err = unwind_layout__stream(rows, n, l, chunk__put, &cp);
	if (err) {
		loader__map_error(ul, "unwind_chunks", err);
		loader__del_rows(ul, f->id, cp.put, 0);
		return err;
	}
	for (i = 0; i < l->ngroups && !err; i++) {
		k.index = i;
		err = bpf_map_update_elem(ul->maps.groups, &k, &l->groups[i],
					  BPF_ANY);
	}
	if (err) {
		loader__map_error(ul, "unwind_groups", err);
		loader__del_rows(ul, f->id, l->nchunks, i);
	}
	return err;
}

static void loader__warn_budget(struct unwind_loader *ul, uint64_t need)
{
	ul->st.files_over_budget++;
	if (ul->warned_budget)
		return;
	ul->warned_budget = true;
	tg_warn(ul->log,
		"unwind: a table of %" PRIu64
		" KiB does not fit in unwind_table_memory (%" PRIu64
		" KiB); its frames are walked with frame pointers (further cases counted)",
		need >> 10, ul->max_bytes >> 10);
}

/*
 * Puts @f's table (compiled, in f->table) into the kernel: rows and page
 * index first, then the entry that makes the walk use them. When it does
 * not fit or an insert fails, the entry says NO_TABLE (frame pointers).
 */
static void loader__load(struct unwind_loader *ul, struct ufile *f)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), need;
	struct unwind_layout l = { 0 };
	const struct unwind_row *rows;
	size_t n;
	int err;

	rows = unwind_table__rows(f->table, &n);
	err = unwind_layout__count(rows, n, f->extent, &l);
	if (err) {
		ul->st.files_failed++;
		goto no_table;
	}
	need = unwind_layout__kernel_bytes(&l);
	if (need > ul->max_bytes) {
		/* It never fits: never try again. */
		loader__warn_budget(ul, need);
		f->retry_ns = UINT64_MAX;
		goto no_table;
	}
	if (loader__make_room(ul, need)) {
		f->need = need;
		loader__warn_budget(ul, need);
		goto no_table;
	}
	err = loader__insert_layout(ul, f, rows, n, &l);
	if (err)
		goto no_table;
	f->nchunks = l.nchunks;
	f->ngroups = l.ngroups;
	err = loader__put_entry(ul, f, UNWIND_FILE_LOADED);
	if (err) {
		loader__del_rows(ul, f->id, f->nchunks, f->ngroups);
		f->nchunks = 0;
		f->ngroups = 0;
		goto no_table;
	}
	f->kbytes = need;
	f->state = UFILE_LOADED;
	link__add_head(&ul->loaded, &f->lru);
	ul->st.kernel_bytes += need;
	ul->st.rows += f->nrows;
	ul->st.files++;
	ul->st.files_loaded++;
	ul->st.rows_cut += l.rows_cut;
	ul->freed_bytes += need;
	unwind_layout__release(&l);
	ul->st.load_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return;

no_table:
	unwind_layout__release(&l);
	if (f->retry_ns != UINT64_MAX)
		f->retry_ns = boot_ns() + LOADER_RETRY_NS;
	f->state = UFILE_NO_TABLE;
	loader__put_entry(ul, f, UNWIND_FILE_NO_TABLE);
	ul->st.load_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
}

static void ufile__free(struct unwind_loader *ul, struct ufile *f)
{
	struct ualias *a, *next;

	if (!f)
		return;
	if (f->state == UFILE_LOADED) {
		loader__del_rows(ul, f->id, f->nchunks, f->ngroups);
		ul->st.kernel_bytes -= f->kbytes;
		ul->st.rows -= f->nrows;
		ul->st.files--;
		link__del(&f->lru);
	}
	loader__del_entry(ul, f);
	for (a = f->aliases; a; a = next) {
		next = a->next;
		htab__remove(&ul->by_inode, &a->node);
		free(a);
	}
	htab__remove(&ul->by_key, &f->node);
	ufile__drop_table(ul, f);
	free(f);
}

/* A process stopped mapping @f: a file without rows in the kernel goes
 * (its entry too); a loaded one stays for the next process, until
 * evicted. */
static void ufile__put(struct unwind_loader *ul, struct ufile *f)
{
	if (!f || --f->refs)
		return;
	if (f->state != UFILE_LOADED)
		ufile__free(ul, f);
}

static struct ufile *loader__new_file(struct unwind_loader *ul,
				      const struct ufile *key)
{
	struct ufile *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	memcpy(f, key, sizeof(*f));
	f->node = (struct htab_node){ 0 };
	link__init(&f->lru);
	f->aliases = NULL;
	f->id = ul->next_id++;
	if (htab__insert(&ul->by_key, &f->node, ufile__hash(f))) {
		free(f);
		return NULL;
	}
	return f;
}

/*
 * The file behind mapping @m of @tgid (seen through @tid): known by its
 * inode, else opened and known by build-id (another path or inode of the
 * same build), else new: compiled now. NULL when it cannot be opened (its
 * frames are walked with frame pointers).
 */
static struct ufile *loader__file(struct unwind_loader *ul, uint32_t tgid,
				  uint32_t tid, const struct mapping *m)
{
	uint64_t dev = makedev(m->dev_major, m->dev_minor);
	struct ufile key = { 0 }, *f;
	struct stat st;
	int fd, err;

	f = loader__find_inode(ul, dev, m->inode);
	if (f)
		return f;
	fd = loader__open(ul, tgid, tid, m, &st);
	if (fd < 0) {
		ul->st.files_failed++;
		tg_debug(ul->log, "unwind: cannot open %s of %u: %s", m->path,
			 tgid, strerror(-fd));
		return NULL;
	}
	file_id__read(fd, &st, &key.fid);
	f = loader__find_key(ul, &key);
	if (f) {
		ul->st.files_shared++;
		goto alias;
	}
	err = read_segs(fd, NULL, 0, &key);
	if (!err) {
		f = loader__new_file(ul, &key);
		if (!f) {
			close(fd);
			return NULL;
		}
		err = loader__compile(ul, f, fd, tgid, tid, m);
	}
	if (err) {
		if (err == -ENODATA)
			ul->st.files_no_cfi++;
		else
			ul->st.files_failed++;
		tg_debug(ul->log, "unwind: no table for %s: %s", m->path,
			 strerror(-err));
		if (!f) {
			close(fd);
			return NULL;
		}
		f->state = UFILE_NO_CFI;
	}
alias:
	close(fd);
	/* Without the alias the file is opened again next time: slower,
	 * not wrong. */
	loader__add_alias(ul, f, dev, m->inode);
	return f;
}

/* The [vdso]: the same file for every process, compiled from our own. */
static struct ufile *loader__vdso(struct unwind_loader *ul)
{
	struct ufile key = { .vdso = true }, *f;
	const void *img;
	size_t len = 0;
	int err;

	f = loader__find_key(ul, &key);
	if (f)
		return f;
	img = own_vdso(&len);
	if (!img || read_segs(-1, img, len, &key))
		return NULL;
	f = loader__new_file(ul, &key);
	if (!f)
		return NULL;
	err = loader__compile(ul, f, -1, 0, 0, NULL);
	if (err)
		f->state = UFILE_NO_CFI;
	return f;
}

/* Makes sure @f's rows are in the kernel (or its entry says why not). */
static void loader__ensure(struct unwind_loader *ul, struct ufile *f,
			   uint32_t tgid, uint32_t tid, const struct mapping *m)
{
	struct stat st;
	int fd, err;

	f->pin = ul->pin;
	if (f->state == UFILE_LOADED) {
		link__del(&f->lru);
		link__add_head(&ul->loaded, &f->lru);
		return;
	}
	if (f->state == UFILE_NO_CFI ||
	    (f->state == UFILE_NO_TABLE && boot_ns() < f->retry_ns))
		return;
	if (f->need && !loader__room_possible(ul, f->need)) {
		/* Refused before and still cannot fit: a compile and a
		 * layout would only be thrown away (tens of MB of heap for a
		 * large table). */
		ul->st.files_over_budget++;
		f->retry_ns = boot_ns() + LOADER_RETRY_NS;
		return;
	}
	if (!f->table) {
		/* Evicted earlier, its user-space copy gone: compile it
		 * again through this process. */
		fd = f->vdso ? -1 : loader__open(ul, tgid, tid, m, &st);
		err = f->vdso || fd >= 0 ?
			      loader__compile(ul, f, fd, tgid, tid, m) :
			      fd;
		if (fd >= 0)
			close(fd);
		if (err) {
			loader__put_entry(ul, f, UNWIND_FILE_NO_TABLE);
			f->state = UFILE_NO_TABLE;
			f->retry_ns = boot_ns() + LOADER_RETRY_NS;
			return;
		}
	}
	loader__load(ul, f);
	/* Walks finished here read a loaded file's rows in the kernel; one
	 * that did not load keeps its copy for them, within the bound. */
	if (f->state == UFILE_LOADED || loader__user_over(ul))
		ufile__drop_table(ul, f);
}

/* ---- processes ------------------------------------------------------------ */

static int range_cmp(const void *a, const void *b)
{
	const struct urange *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Frame-pointer ranges next to each other become one: a process with
 * more mappings than the kernel holds keeps those with tables. */
static uint32_t merge_ranges(struct urange *r, uint32_t n)
{
	uint32_t i, out = 0;

	for (i = 0; i < n; i++) {
		if (out && !r[i].f && !r[out - 1].f) {
			if (r[i].end > r[out - 1].end)
				r[out - 1].end = r[i].end;
			continue;
		}
		r[out++] = r[i];
	}
	return out;
}

static void fill_range(struct unwind_range *k, const struct urange *u)
{
	uint64_t len = u->end - u->start;

	k->start = u->start;
	k->len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	if (u->f && u->f->state != UFILE_NO_CFI && u->f->has_entry) {
		k->file_id = u->f->id;
		k->base = u->bias + u->f->base;
	} else {
		k->file_id = 0;
		k->base = 0;
	}
}

static struct uproc *loader__owner(struct unwind_loader *ul, uint32_t tgid)
{
	struct htab_node *pos;
	struct uproc *u;

	htab_for_each(&ul->owners, pos, hash_u64(tgid)) {
		u = container_of(pos, struct uproc, owner);
		if (u->tgid == tgid)
			return u;
	}
	return NULL;
}

static uint32_t *loader__proc_count(struct unwind_loader *ul, uint8_t where)
{
	return where == 1 ? &ul->procs_small : &ul->procs_large;
}

static int loader__proc_fd(struct unwind_loader *ul, uint8_t where)
{
	return where == 1 ? ul->maps.procs_small : ul->maps.procs_large;
}

/* Takes @u's ranges out of the kernel: the walk no longer finds them. */
static void loader__del_kernel_proc(struct unwind_loader *ul, struct uproc *u)
{
	if (!u->where)
		return;
	bpf_map_delete_elem(loader__proc_fd(ul, u->where), &u->tgid);
	(*loader__proc_count(ul, u->where))--;
	htab__remove(&ul->owners, &u->owner);
	ul->st.processes--;
	u->where = 0;
}

/*
 * Writes @u's ranges into the small or the large map (and takes them out
 * of the other), so the walk finds them under the process's identity. The
 * key is the TGID: a process that had it before (a reused PID not yet
 * reaped) loses it.
 */
static int loader__write_proc(struct unwind_loader *ul, struct uproc *u,
			      const struct proc *p, uint64_t aspace_id,
			      uint32_t flags)
{
	static const size_t hdr = sizeof(struct unwind_proc_hdr);
	struct unwind_proc_large v;
	struct uproc *prev;
	uint32_t i, n = u->n;
	uint8_t where;
	int err;

	if (n > UNWIND_PROC_LARGE) {
		ul->st.ranges_dropped += n - UNWIND_PROC_LARGE;
		n = UNWIND_PROC_LARGE;
	}
	memset(&v, 0, sizeof(v));
	v.hdr.start_ns = p->start_ns;
	v.hdr.aspace_id = aspace_id;
	v.hdr.n = n;
	v.hdr.flags = flags;
	for (i = 0; i < n; i++)
		fill_range(&v.r[i], &u->r[i]);
	where = n <= UNWIND_PROC_SMALL ? 1 : 2;
	prev = loader__owner(ul, u->tgid);
	if (prev && prev != u)
		loader__del_kernel_proc(ul, prev);
	if (u->where && u->where != where)
		loader__del_kernel_proc(ul, u);
	if (where == 1) {
		struct unwind_proc_small sm;

		memcpy(&sm, &v, hdr + sizeof(sm.r));
		err = bpf_map_update_elem(ul->maps.procs_small, &u->tgid, &sm,
					  BPF_ANY);
	} else {
		err = bpf_map_update_elem(ul->maps.procs_large, &u->tgid, &v,
					  BPF_ANY);
		if (err == -E2BIG) {
			/* The large map is full: frame pointers rather than
			 * a stack copy with every sample. */
			struct unwind_proc_small sm = { .hdr = v.hdr };

			ul->st.procs_fp_only++;
			sm.hdr.n = 0;
			sm.hdr.flags |= UNWIND_PROC_FP_ONLY;
			where = 1;
			err = bpf_map_update_elem(ul->maps.procs_small,
						  &u->tgid, &sm, BPF_ANY);
		}
	}
	if (err) {
		loader__map_error(ul,
				  where == 1 ? "unwind_procs_small" :
					       "unwind_procs_large",
				  err);
		loader__del_kernel_proc(ul, u);
		return err;
	}
	if (u->where)
		return 0;
	err = htab__insert(&ul->owners, &u->owner, hash_u64(u->tgid));
	if (err) {
		bpf_map_delete_elem(loader__proc_fd(ul, where), &u->tgid);
		return err;
	}
	u->where = where;
	(*loader__proc_count(ul, where))++;
	ul->st.processes++;
	return 0;
}

static void uproc__put_ranges(struct unwind_loader *ul, struct urange *r,
			      uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		ufile__put(ul, r[i].f);
	free(r);
}

int unwind_loader__set_process(struct unwind_loader *ul, struct proc *p,
			       uint32_t tid)
{
	struct uproc *u = p->unwind;
	const struct mapping *m;
	struct urange *r, *old;
	uint32_t n = 0, nold;
	struct ufile *f;
	size_t i;

	if (!p->maps)
		return -EINVAL;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->tgid = p->tgid;
		link__add_head(&ul->procs, &u->all);
		p->unwind = u;
	}
	r = calloc(p->maps->n ? p->maps->n : 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	ul->pin++;
	for (i = 0; i < p->maps->n; i++) {
		m = &p->maps->v[i];
		if (!(m->prot & MAPPING_EXEC) || m->start >= USER_ADDR_LIMIT)
			continue;
		f = NULL;
		if (m->kind == MAPPING_FILE)
			f = loader__file(ul, p->tgid, tid, m);
		else if (m->kind == MAPPING_VDSO)
			f = loader__vdso(ul);
		if (f) {
			/* Counted before anything is evicted for the next
			 * file: it must not be freed under us. */
			f->refs++;
			loader__ensure(ul, f, p->tgid, tid, m);
		}
		r[n] = (struct urange){
			.start = m->start, .end = m->end, .f = f, .m = m
		};
		if (f && ufile__bias(f, m->start, m->offset, &r[n].bias)) {
			ufile__put(ul, f);
			r[n].f = NULL;
		}
		n++;
	}
	qsort(r, n, sizeof(*r), range_cmp);
	if (n > UNWIND_PROC_LARGE)
		n = merge_ranges(r, n);
	old = u->r;
	nold = u->n;
	u->r = r;
	u->n = n;
	uproc__put_ranges(ul, old, nold);
	return loader__write_proc(ul, u, p, p->aspace_id, 0);
}

int unwind_loader__set_unreadable(struct unwind_loader *ul, struct proc *p,
				  uint64_t aspace_id)
{
	struct uproc *u = p->unwind;

	if (u && u->where)
		return 0;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->tgid = p->tgid;
		link__add_head(&ul->procs, &u->all);
		p->unwind = u;
	}
	uproc__put_ranges(ul, u->r, u->n);
	u->r = NULL;
	u->n = 0;
	return loader__write_proc(ul, u, p, aspace_id, UNWIND_PROC_FP_ONLY);
}

static void loader__untouch(struct unwind_loader *ul, struct uproc *u)
{
	if (!u->touched)
		return;
	ul->touched[u->touch_idx] = ul->touched[--ul->ntouched];
	ul->touched[u->touch_idx]->touch_idx = u->touch_idx;
	u->touched = false;
}

void unwind_loader__drop_process(struct unwind_loader *ul, struct proc *p)
{
	struct uproc *u = p->unwind;

	if (!u)
		return;
	/* The kernel stops finding the ranges before their files go. */
	loader__del_kernel_proc(ul, u);
	loader__untouch(ul, u);
	uproc__put_ranges(ul, u->r, u->n);
	link__del(&u->all);
	free(u);
	p->unwind = NULL;
}

void unwind_loader__touch(struct unwind_loader *ul, struct proc *p)
{
	struct uproc *u = p->unwind;
	struct uproc **v;
	size_t cap;

	if (!u || u->touched)
		return;
	if (ul->ntouched == ul->touched_cap) {
		cap = ul->touched_cap ? ul->touched_cap * 2 : 64;
		if (cap > ul->max_processes * 2u)
			return;
		v = realloc(ul->touched, cap * sizeof(*v));
		if (!v)
			return;
		ul->touched = v;
		ul->touched_cap = cap;
	}
	u->touched = true;
	u->touch_idx = ul->ntouched;
	ul->touched[ul->ntouched++] = u;
}

/* Gives the free heap back once enough was freed since the last time. */
static void loader__trim(struct unwind_loader *ul)
{
	if (ul->freed_bytes < LOADER_TRIM_BYTES)
		return;
	ul->freed_bytes = 0;
	malloc_trim(0);
	ul->st.heap_trims++;
}

/* User-space copies that no walk finished here needs any more; all of
 * them when walks compiled more than half the bound. */
static void loader__drop_tables(struct unwind_loader *ul, uint64_t now_ns)
{
	struct htab_node *pos, *tmp;
	struct ufile *f;
	size_t bkt;
	bool over;

	over = loader__user_over(ul);
	htab_for_each_safe(&ul->by_key, pos, tmp, bkt) {
		f = container_of(pos, struct ufile, node);
		if (f->table && (over || now_ns >= f->keep_until_ns))
			ufile__drop_table(ul, f);
	}
}

void unwind_loader__tick(struct unwind_loader *ul, uint64_t now_ns)
{
	struct ufile *f;
	struct uproc *u;
	size_t i;
	uint32_t j;

	for (i = 0; i < ul->ntouched; i++) {
		u = ul->touched[i];
		u->touched = false;
		for (j = 0; j < u->n; j++) {
			f = u->r[j].f;
			if (!f || f->state != UFILE_LOADED)
				continue;
			link__del(&f->lru);
			link__add_head(&ul->loaded, &f->lru);
		}
	}
	ul->ntouched = 0;
	if (ul->st.user_bytes)
		loader__drop_tables(ul, now_ns);
	loader__trim(ul);
}

/* ---- walks finished here ---------------------------------------------------- */

struct walk_ctx {
	struct unwind_loader *ul;
	struct uproc *u;
	uint32_t tgid;
	uint32_t tid;
	const struct ufile *found; /* the file of the last walk_find() */
	struct unwind_chunk chunk; /* the last chunk read from the kernel */
	struct unwind_chunk_key chunk_key;
	bool have_chunk;
};

/*
 * The row in force at ELF address @vaddr of a loaded file, read from the
 * kernel's copy of its table: the page's index entry, then its chunk (kept
 * for the next frame, often in the same chunk). The user-space copy of a
 * large table is megabytes; this is one group and one chunk read.
 */
static bool walk_kernel_row(void *ctx, uint64_t vaddr, struct unwind_row *ret)
{
	struct walk_ctx *c = ctx;
	const struct ufile *f = c->found;
	struct unwind_chunk_key k = { .file_id = f->id };
	const struct unwind_row *row;
	struct unwind_group g;
	uint64_t pc, page;
	uint32_t entry;

	if (vaddr < f->base || vaddr - f->base >= f->extent)
		return false;
	pc = vaddr - f->base;
	page = pc >> UNWIND_PAGE_SHIFT;
	k.index = (uint32_t)(page / UNWIND_GROUP_PAGES);
	if (bpf_map_lookup_elem(c->ul->maps.groups, &k, &g))
		return false;
	entry = g.page[page % UNWIND_GROUP_PAGES];
	k.index = entry >> UNWIND_SLOT_BITS;
	if (!c->have_chunk || c->chunk_key.file_id != k.file_id ||
	    c->chunk_key.index != k.index) {
		c->have_chunk = false;
		if (bpf_map_lookup_elem(c->ul->maps.chunks, &k, &c->chunk))
			return false;
		c->chunk_key = k;
		c->have_chunk = true;
		c->ul->st.kernel_chunk_reads++;
	}
	row = unwind_layout__chunk_row(&c->chunk, entry, pc);
	if (!row)
		return false;
	*ret = *row;
	return true;
}

static int walk_find(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	struct walk_ctx *c = ctx;
	struct uproc *u = c->u;
	uint32_t lo = 0, hi = u->n, mid;
	const struct urange *r;
	struct ufile *f;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (u->r[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc >= u->r[lo - 1].end)
		return -ENOENT;
	r = &u->r[lo - 1];
	f = r->f;
	ret->table = NULL;
	ret->bias = r->bias;
	if (!f || f->state == UFILE_NO_CFI)
		return 0;
	if (!f->table && f->state == UFILE_LOADED) {
		/* The rows are in the kernel: read them there. */
		c->found = f;
		ret->row = walk_kernel_row;
		ret->row_ctx = c;
		return 0;
	}
	if (f->table)
		f->keep_until_ns = boot_ns() + LOADER_USER_KEEP_NS;
	ret->table = f->table;
	return 0;
}

int unwind_loader__walk(struct unwind_loader *ul, struct proc *p, uint32_t tid,
			const struct unwind_regs *regs,
			const struct unwind_stack *stack, uint64_t *pcs,
			size_t max, struct unwind_walk_result *ret)
{
	struct walk_ctx c = {
		.ul = ul, .u = p->unwind, .tgid = p->tgid, .tid = tid
	};

	if (!c.u)
		return -ENOENT;
	unwind__walk(regs, stack, walk_find, &c, pcs, NULL, max, ret);
	ul->st.walks++;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int loader__set_debug_dirs(struct unwind_loader *ul, const char *dirs)
{
	char *tok, *save = NULL;

	if (!dirs)
		return 0;
	ul->debug_dirs_buf = strdup(dirs);
	if (!ul->debug_dirs_buf)
		return -ENOMEM;
	for (tok = strtok_r(ul->debug_dirs_buf, ":", &save);
	     tok && ul->ndebug_dirs < DEBUGINFO_MAX_DIRS;
	     tok = strtok_r(NULL, ":", &save))
		if (*tok)
			ul->debug_dirs[ul->ndebug_dirs++] = tok;
	return 0;
}

struct unwind_loader *unwind_loader__new(const struct unwind_loader_opts *opts,
					 const struct sampler_unwind_maps *maps,
					 const struct tg_logger *log)
{
	struct sampler_unwind_sizes sizes;
	struct unwind_loader_opts o;
	struct unwind_loader *ul;
	int err;

	err = opts__copy(&o, sizeof(o), opts);
	if (err || !maps) {
		errno = err ? -err : EINVAL;
		return NULL;
	}
	ul = calloc(1, sizeof(*ul));
	if (!ul) {
		errno = ENOMEM;
		return NULL;
	}
	ul->maps = *maps;
	ul->log = log;
	ul->max_bytes = o.max_bytes ? o.max_bytes :
				      UNWIND_LOADER_DEFAULT_MAX_BYTES;
	ul->max_processes = o.max_processes ? o.max_processes :
					      LOADER_DEFAULT_MAX_PROCESSES;
	ul->next_id = 1;
	link__init(&ul->loaded);
	link__init(&ul->procs);
	ul->proc_root = strdup(o.proc_root ? o.proc_root : "/proc");
	err = ul->proc_root ? loader__set_debug_dirs(ul, o.debug_dirs) :
			      -ENOMEM;
	if (err) {
		unwind_loader__free(ul);
		errno = -err;
		return NULL;
	}
	unwind_loader__sizes(&o, &sizes, &ul->st.kernel_fixed_bytes);
	ul->st.kernel_max_bytes = ul->max_bytes;
	return ul;
}

void unwind_loader__free(struct unwind_loader *ul)
{
	struct htab_node *pos, *tmp;
	struct link *l, *lnext;
	struct ualias *a, *next;
	struct ufile *f;
	struct uproc *u;
	size_t bkt;

	if (!ul)
		return;
	/* The maps go with the sampler: only our own memory is freed. The
	 * process table may outlive us; it never reads proc.unwind. */
	for (l = ul->procs.next; l != &ul->procs; l = lnext) {
		lnext = l->next;
		u = container_of(l, struct uproc, all);
		free(u->r);
		free(u);
	}
	htab_for_each_safe(&ul->by_key, pos, tmp, bkt) {
		f = container_of(pos, struct ufile, node);
		for (a = f->aliases; a; a = next) {
			next = a->next;
			free(a);
		}
		unwind_table__free(f->table);
		free(f);
	}
	htab__free(&ul->by_key);
	htab__free(&ul->by_inode);
	htab__free(&ul->owners);
	free(ul->touched);
	free(ul->debug_dirs_buf);
	free(ul->proc_root);
	free(ul);
}

void unwind_loader__stats(const struct unwind_loader *ul,
			  struct unwind_loader_stats *ret)
{
	*ret = ul->st;
	ret->kernel_entry_bytes =
		(uint64_t)ul->entries * UNWIND_FILE_ELEM_BYTES +
		(uint64_t)ul->procs_small * UNWIND_PROC_SMALL_ELEM_BYTES +
		(uint64_t)ul->procs_large * UNWIND_PROC_LARGE_ELEM_BYTES;
}
