// SPDX-License-Identifier: Apache-2.0
/* Between the process table and the profile builder: each sampled address
 * becomes a frame, user ones through their mapping and the ELF file behind
 * it (cached per device and inode), kernel ones through kallsyms. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "lib/ratelimit.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/opts.h"
#include "receiver/symbols/debuginfo.h"
#include "receiver/symbols/demangle.h"
#include "receiver/symbols/dwarf.h"
#include "receiver/symbols/elfsym.h"
#include "receiver/symbols/fileid.h"
#include "receiver/symbols/kallsyms.h"
#include "receiver/symbols/perfmap.h"
#include "receiver/processes/procfs.h"
#include "receiver/symbols/symbolizer.h"

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
/* Demangled names cached per file; more are shown mangled, counted. */
#define SYMBOLIZER_MAX_NAMES_PER_FILE 65536
/* Bytes evicted after which the heap's free top is handed back to the
 * kernel (malloc_trim): symbol tables are large and short-lived, and
 * glibc keeps what they freed otherwise. */
#define SYMBOLIZER_TRIM_BYTES (4u << 20)

/* A symbol's names held by the cache at most: this share of the budget
 * per file. A file whose working set is larger gets its cache emptied at
 * the start of an epoch; meanwhile its names live until the epoch ends. */
#define SYMBOLIZER_NAMES_SHARE 8

/* The names of one symbol of a file's tables, read from the file when a
 * lookup first needed them: the system name and the name shown for it
 * (demangled, or the system name itself). Keyed by (table, index). */
struct symshown {
	struct htab_node node;
	struct symshown *next_spill; /* in symbolizer->spill */
	uint64_t key; /* index << 2 | table */
	const char *shown;
	char sys[]; /* then the demangled text, when there is one */
};

/* A demangled name, keyed by the address of the system name it shows. */
struct symname {
	struct htab_node node;
	const char *sys;
	const char *shown; /* sys when it does not demangle */
	char text[];
};

/*
 * What one ELF file gives: its symbol tables (its own, a separate debug
 * file's, MiniDebugInfo's), its DWARF and the demangled names handed out.
 * Keyed by build-id (else device, inode, size, mtime) and shared by every
 * cache entry (inode) with that key; freed with the last reference.
 */
struct symdata {
	struct htab_node node; /* in symbolizer->datas */
	unsigned int refs;
	struct file_id id; /* the key */
	struct elfsym *es; /* the mapped file: segments, its own symbols */
	struct elfsym *dbg; /* separate debug file: preferred for names */
	struct elfsym *mini; /* .gnu_debugdata: local functions */
	struct dwarf_file *dw; /* from the debug file or the file itself */
	size_t dw_bytes; /* dwarf__memory(dw) as last counted */
	/* What opening the DWARF took from the heap beyond dwarf__memory()'s
	 * count (libdw's own structures): measured, so the budget holds
	 * what the process really keeps. */
	size_t dw_heap_extra;
	/* struct symname by DWARF name address (DWARF keeps its names) */
	struct htab names;
	/* struct symshown by (table, index): the names of dbg, es, mini that
	 * lookups used; at most max_bytes / SYMBOLIZER_NAMES_SHARE bytes. */
	struct htab shown;
	size_t shown_bytes;
	uint64_t shown_epoch; /* last epoch a name of ->shown was handed out */
	bool shown_full; /* empty ->shown once its names are no longer out */
	size_t bytes; /* all of the above, in the cache budget */
};

/* A cache entry per mapped file (device, inode), in LRU order. */
struct symfile {
	struct htab_node node;
	/* LRU order; head is the most recently used. */
	struct symfile *prev;
	struct symfile *next;
	uint64_t dev; /* makedev() of the mapping's major:minor */
	uint64_t ino;
	struct symdata *data; /* NULL: the file failed (negative entry) */
	uint64_t retry_ns; /* negative entry: CLOCK_MONOTONIC of next try */
	/* Negative entry because no thread of this process could reach the
	 * file: any other process retries at once. 0: the file itself failed. */
	uint32_t unreachable_tgid;
	uint64_t epoch; /* last epoch a lookup used this entry */
	bool logged; /* the failure was logged already */
	/* Basename of the path the file was first seen under: frames name
	 * their module with it, so it lives as long as the symbols. */
	char module[];
};

struct symbolizer {
	struct tg_logger log; /* copied; fn and ctx are the host's */
	char *proc_root;
	struct kallsyms *ks;
	struct perfmap_cache *jit; /* NULL: perf_maps off */
	struct elfsym *vdso;
	bool vdso_tried;
	struct htab files; /* struct symfile by (dev, inode) */
	struct htab datas; /* struct symdata by build-id or file identity */
	struct symfile *head;
	struct symfile *tail;
	size_t max_files;
	size_t max_bytes;
	char *debug_dirs_buf;
	const char *debug_dirs[DEBUGINFO_MAX_DIRS];
	size_t ndebug_dirs;
	uint64_t epoch;
	/* Names handed out this epoch that a full cache could not keep:
	 * freed by symbolizer__next_epoch(). */
	struct symshown *spill;
	size_t spill_bytes; /* at most max_bytes / SYMBOLIZER_NAMES_SHARE */
	char namebuf[ELFSYM_MAX_NAME]; /* a name read from a file */
	size_t evicted_since_trim; /* bytes; see SYMBOLIZER_TRIM_BYTES */
	struct ratelimit warn;
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

/* What an entry itself holds: the struct, its module name, its bucket. */
static size_t symfile__memory(const struct symfile *f)
{
	return sizeof(*f) + strlen(f->module) + 1 + sizeof(void *);
}

static void symdata__free(struct symdata *d)
{
	struct htab_node *pos, *tmp;
	size_t bkt;

	if (!d)
		return;
	htab_for_each_safe(&d->names, pos, tmp, bkt)
		free(container_of(pos, struct symname, node));
	htab__free(&d->names);
	htab_for_each_safe(&d->shown, pos, tmp, bkt)
		free(container_of(pos, struct symshown, node));
	htab__free(&d->shown);
	dwarf__free(d->dw);
	elfsym__free(d->mini);
	elfsym__free(d->dbg);
	elfsym__free(d->es);
	free(d);
}

static void symbolizer__put_data(struct symbolizer *sy, struct symdata *d)
{
	if (!d || --d->refs)
		return;
	htab__remove(&sy->datas, &d->node);
	sy->st.cache_bytes -= d->bytes;
	symdata__free(d);
}

static void symbolizer__evict(struct symbolizer *sy, struct symfile *f)
{
	uint64_t before = sy->st.cache_bytes;

	htab__remove(&sy->files, &f->node);
	lru__unlink(sy, f);
	symbolizer__put_data(sy, f->data);
	sy->st.cache_bytes -= symfile__memory(f);
	sy->evicted_since_trim += before - sy->st.cache_bytes;
	free(f);
}

/*
 * Evicts least recently used entries until at most @limit remain and the
 * cache holds at most max_bytes. Entries used in this epoch sit at the
 * head of the list, so the walk from the tail stops at the first of them:
 * their names may be in the sample at hand.
 */
static void symbolizer__trim(struct symbolizer *sy, size_t limit)
{
	struct symfile *f;

	while ((sy->files.count > limit ||
		sy->st.cache_bytes > sy->max_bytes) &&
	       (f = sy->tail) && f->epoch != sy->epoch) {
		symbolizer__evict(sy, f);
		sy->st.cache_evictions++;
	}
	if (sy->evicted_since_trim >= SYMBOLIZER_TRIM_BYTES) {
		sy->evicted_since_trim = 0;
		sy->st.heap_trims++;
		malloc_trim(0);
	}
}

static void symbolizer__free_spill(struct symbolizer *sy)
{
	struct symshown *n;

	while ((n = sy->spill)) {
		sy->spill = n->next_spill;
		free(n);
	}
	sy->spill_bytes = 0;
}

/* Splits the colon-separated @dirs into sy->debug_dirs. */
static int symbolizer__set_debug_dirs(struct symbolizer *sy, const char *dirs)
{
	char *save = NULL, *tok;

	if (!dirs)
		return 0;
	sy->debug_dirs_buf = strdup(dirs);
	if (!sy->debug_dirs_buf)
		return -ENOMEM;
	for (tok = strtok_r(sy->debug_dirs_buf, ":", &save);
	     tok && sy->ndebug_dirs < DEBUGINFO_MAX_DIRS;
	     tok = strtok_r(NULL, ":", &save))
		if (tok[0])
			sy->debug_dirs[sy->ndebug_dirs++] = tok;
	return 0;
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
	err = symbolizer__set_debug_dirs(sy, o.debug_dirs);
	if (err)
		goto err_free;
	sy->max_files = o.max_files ? o.max_files :
				      SYMBOLIZER_DEFAULT_MAX_FILES;
	sy->max_bytes = o.max_bytes ? o.max_bytes :
				      SYMBOLIZER_DEFAULT_MAX_BYTES;
	sy->st.cache_max_bytes = sy->max_bytes;
	sy->epoch = 1;
	if (o.perf_maps) {
		struct perfmap_cache_opts po = {
			.sz = sizeof(po),
			.proc_root = sy->proc_root,
			.max_bytes = o.perf_map_max_bytes,
		};

		sy->jit = perfmap_cache__new(&po, &sy->log);
		if (!sy->jit) {
			err = -errno;
			goto err_free;
		}
	}
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
		symbolizer__put_data(sy, f->data);
		free(f);
	}
	htab__free(&sy->files);
	htab__free(&sy->datas);
	symbolizer__free_spill(sy);
	elfsym__free(sy->vdso);
	perfmap_cache__free(sy->jit);
	kallsyms__free(sy->ks);
	free(sy->debug_dirs_buf);
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

/* Opens @m's path inside thread @tid's root and checks it is the mapped
 * file: the path may name another file by now. */
static int open_through_task(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			     const struct mapping *m, struct stat *ret_st)
{
	int fd = procfs__open_in_root(sy->proc_root, tgid, tid, m->path);

	if (fd < 0)
		return fd;
	if (fstat(fd, ret_st) == 0 && mapping__is_file(m, ret_st))
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
	uint32_t tid; /* the thread it came through */
};

static int try_task(void *ctx, uint32_t tid)
{
	struct task_try *t = ctx;

	if (tid == t->skip_tid)
		return 0;
	t->fd = open_through_task(t->sy, t->tgid, tid, t->m, t->st);
	t->tid = tid;
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
 * device is a mismatch. *ret_tid: the thread whose root held the file,
 * 0 when it came through map_files.
 */
static int symbolizer__open(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			    const struct mapping *m, struct stat *ret_st,
			    uint32_t *ret_tid)
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

		*ret_tid = tid ? tid : tgid;
		err = open_through_task(sy, tgid, *ret_tid, m, ret_st);
		if (err >= 0)
			return err;
		if (err != -ESTALE && procfs__for_each_task(sy->proc_root, tgid,
							    try_task, &t) > 0)
			err = t.fd;
		*ret_tid = t.tid;
		if (err >= 0)
			return err;
	}
	*ret_tid = 0;
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
	sy->st.map_files_opens++;
	return fd;
}

/* One warning per bad file, and no more than a burst of them a minute. */
static void symbolizer__warn_file(struct symbolizer *sy, struct symfile *f,
				  const char *path, const char *what, int err)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	if (f->logged)
		return;
	f->logged = true;
	if (!ratelimit__allow(&sy->warn, now)) {
		sy->st.warnings_suppressed++;
		return;
	}
	tg_warn(&sy->log, "%s: %s%s%s; its frames keep address and mapping",
		path, what, err ? ": " : "", err ? strerror(-err) : "");
}

/* The cached symbols of a file with this build-id (or, without one, this
 * very file), or NULL. */
static struct symdata *symbolizer__find_data(struct symbolizer *sy,
					     const struct file_id *key)
{
	struct htab_node *pos;
	struct symdata *d;

	htab_for_each(&sy->datas, pos, file_id__hash(key)) {
		d = container_of(pos, struct symdata, node);
		if (file_id__equal(&d->id, key))
			return d;
	}
	return NULL;
}

/* MiniDebugInfo: an xz-compressed ELF whose .symtab holds the functions
 * .dynsym lacks. NULL when there is none or it is unusable. */
static struct elfsym *load_minidebuginfo(int fd, const struct elfsym_debug *di,
					 int *ret_err)
{
	void *xz, *elf = NULL;
	struct elfsym *mini = NULL;
	size_t len = 0;
	ssize_t n;

	*ret_err = 0;
	xz = malloc(di->debugdata_size);
	if (!xz) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	n = pread(fd, xz, di->debugdata_size, (off_t)di->debugdata_offset);
	if (n != (ssize_t)di->debugdata_size) {
		*ret_err = n < 0 ? -errno : -ENOEXEC;
		goto out;
	}
	*ret_err = debuginfo__xz_decode(xz, di->debugdata_size,
					DEBUGINFO_MAX_XZ_OUTPUT, &elf, &len);
	if (*ret_err)
		goto out;
	mini = elfsym__load_mem(elf, len);
	if (!mini)
		*ret_err = -errno;
out:
	free(elf);
	free(xz);
	return mini;
}

/* Opens the DWARF of @fd into d->dw and measures the heap it took: the
 * libdw structures behind it are not in dwarf__memory(), and the cache's
 * budget counts what stays allocated. Another thread's allocations in
 * the meantime can only make the count larger. */
static void symbolizer__open_dwarf(struct symbolizer *sy, struct symdata *d,
				   int fd)
{
	struct mallinfo2 before = mallinfo2(), after;
	size_t heap, counted;

	d->dw = dwarf__open_fd(fd, sy->max_bytes / 4);
	if (!d->dw) {
		sy->st.dwarf_skipped++;
		return;
	}
	after = mallinfo2();
	/* Blocks past the mmap threshold are not in uordblks. */
	heap = after.uordblks + after.hblkhd > before.uordblks + before.hblkhd ?
		       after.uordblks + after.hblkhd - before.uordblks -
			       before.hblkhd :
		       0;
	counted = dwarf__memory(d->dw);
	d->dw_heap_extra = heap > counted ? heap - counted : 0;
}

/* Separate debug file: its symbols, and its DWARF when the binary has
 * none. Failures only mean fewer names. */
static void symbolizer__load_debug_file(struct symbolizer *sy,
					struct symdata *d,
					const struct debuginfo_query *q,
					bool want_dwarf)
{
	struct debuginfo_found where;
	struct elfsym_debug di;
	int fd;

	fd = debuginfo__find(q, &where);
	if (fd < 0)
		return;
	d->dbg = elfsym__load_fd(fd);
	elfsym__debug(d->dbg, &di);
	if (d->dbg && !elfsym__count(d->dbg)) {
		elfsym__free(d->dbg);
		d->dbg = NULL;
	}
	if (want_dwarf && di.has_dwarf) {
		symbolizer__open_dwarf(sy, d, fd);
	}
	if (d->dbg || d->dw) {
		sy->st.debug_files++;
		tg_debug(&sy->log, "debug file %s%s (%s) for %s",
			 where.in_root ? "in the process's root: " : "",
			 where.path,
			 where.how == DEBUGINFO_BUILD_ID ? "build-id" :
							   "debuglink",
			 q->path ? q->path : "(deleted)");
	}
	close(fd);
}

static size_t symdata__memory(const struct symdata *d)
{
	return sizeof(*d) + elfsym__memory(d->es) + elfsym__memory(d->dbg) +
	       elfsym__memory(d->mini) + dwarf__memory(d->dw) +
	       (d->dw ? d->dw_heap_extra : 0);
}

/*
 * Reads everything one file gives into a new struct symdata: the file's
 * own tables, a separate debug file (when the file lacks .symtab or
 * DWARF), MiniDebugInfo (when it lacks .symtab and no debug file has
 * one), DWARF. Returns NULL + *ret_err when the file is unusable.
 */
static struct symdata *symbolizer__read_data(struct symbolizer *sy, int fd,
					     const struct file_id *key,
					     struct debuginfo_query *q,
					     int *ret_err)
{
	struct elfsym_debug di;
	struct symdata *d;
	int err = 0;

	d = calloc(1, sizeof(*d));
	if (!d) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	d->id = *key;
	d->es = elfsym__load_fd(fd);
	if (!d->es) {
		*ret_err = -errno;
		free(d);
		return NULL;
	}
	if (!d->id.build_id_len)
		d->id.build_id_len = (uint32_t)elfsym__build_id(
			d->es, d->id.build_id, sizeof(d->id.build_id));
	elfsym__debug(d->es, &di);
	if (!di.has_symtab || !di.has_dwarf) {
		q->build_id = d->id.build_id;
		q->build_id_len = d->id.build_id_len;
		q->debuglink = di.debuglink;
		q->debuglink_crc = di.debuglink_crc;
		symbolizer__load_debug_file(sy, d, q, !di.has_dwarf);
	}
	if (!di.has_symtab && !d->dbg && di.debugdata_size) {
		d->mini = load_minidebuginfo(fd, &di, &err);
		if (d->mini)
			sy->st.minidebuginfo++;
		else
			tg_debug(&sy->log, "%s: unusable .gnu_debugdata: %s",
				 q->path ? q->path : "(deleted)",
				 strerror(-err));
	}
	if (!d->dw && di.has_dwarf)
		symbolizer__open_dwarf(sy, d, fd);
	if (d->dw)
		sy->st.dwarf_files++;
	if (elfsym__names_fallback(d->es) || elfsym__names_fallback(d->dbg)) {
		/* Out of descriptors: the names cost memory, as they did
		 * before they stayed in the file. */
		sy->st.sym_names_copied++;
		tg_debug(&sy->log,
			 "%s: symbol names copied (file not kept open)",
			 q->path ? q->path : "(deleted)");
	}
	d->dw_bytes = dwarf__memory(d->dw);
	d->bytes = symdata__memory(d);
	*ret_err = 0;
	return d;
}

/* Loads the file behind @m into @f; a failure leaves a negative entry. */
static void symbolizer__load(struct symbolizer *sy, struct symfile *f,
			     uint32_t tgid, uint32_t tid,
			     const struct mapping *m)
{
	struct debuginfo_query q = { 0 };
	struct file_id key;
	struct symdata *d;
	uint32_t via_tid = 0;
	struct stat st;
	int fd, err;

	f->unreachable_tgid = 0;
	fd = symbolizer__open(sy, tgid, tid, m, &st, &via_tid);
	if (fd < 0) {
		sy->st.open_errors++;
		err = fd;
		if (err != -ESTALE)
			f->unreachable_tgid = tgid;
		goto fail;
	}
	file_id__read(fd, &st, &key);
	d = symbolizer__find_data(sy, &key);
	if (d) {
		/* Another path or inode of the same build. */
		close(fd);
		d->refs++;
		f->data = d;
		sy->st.cache_shared++;
		return;
	}
	q.proc_root = sy->proc_root;
	q.tgid = tgid;
	q.tid = via_tid ? via_tid : tid;
	q.host = true;
	q.path = m->deleted ? NULL : m->path;
	q.dev = key.dev;
	q.ino = key.ino;
	q.dirs = sy->debug_dirs;
	q.ndirs = sy->ndebug_dirs;
	d = symbolizer__read_data(sy, fd, &key, &q, &err);
	close(fd);
	if (!d) {
		sy->st.elf_errors++;
		if (err != -ENOMEM) {
			sy->st.bad_files++;
			symbolizer__warn_file(sy, f, m->path,
					      "not a readable ELF file", err);
		}
		goto fail;
	}
	if (d->bytes > sy->max_bytes / 4 && d->dw) {
		/* Lines are a luxury: keep the names. One file whose DWARF
		 * took most of the budget would make every other file a
		 * miss (symcache_bench: 94.6% hits at 8 MiB, 99.5% at 4). */
		dwarf__free(d->dw);
		d->dw = NULL;
		d->dw_bytes = 0;
		d->dw_heap_extra = 0;
		sy->st.dwarf_files--;
		sy->st.dwarf_skipped++;
		d->bytes = symdata__memory(d);
	}
	if (d->bytes > sy->max_bytes) {
		sy->st.bad_files++;
		symbolizer__warn_file(sy, f, m->path,
				      "symbols larger than the symbol cache "
				      "budget (symbol_cache_memory)",
				      0);
		symdata__free(d);
		err = -EFBIG;
		goto fail;
	}
	if (htab__insert(&sy->datas, &d->node, file_id__hash(&d->id)) != 0) {
		symdata__free(d);
		err = -ENOMEM;
		goto fail;
	}
	d->refs = 1;
	f->data = d;
	sy->st.cache_bytes += d->bytes;
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
		if (f->data ||
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
	sy->st.cache_bytes += symfile__memory(f);
	f->dev = dev;
	f->ino = m->inode;
	f->epoch = sy->epoch;
	if (htab__insert(&sy->files, &f->node, hash) != 0) {
		sy->st.cache_bytes -= symfile__memory(f);
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

/* The name to show for @sys, a name owned by @d: demangled once, cached
 * with @d's symbols (and counted in its bytes). */
static const char *symbolizer__shown(struct symbolizer *sy, struct symdata *d,
				     const char *sys)
{
	uint64_t hash = hash_u64((uint64_t)(uintptr_t)sys);
	struct htab_node *pos;
	struct symname *n;
	char *text;
	size_t len, bytes;

	if (!d || sys[0] != '_' || (sys[1] != 'Z' && sys[1] != 'R'))
		return sys;
	htab_for_each(&d->names, pos, hash) {
		n = container_of(pos, struct symname, node);
		if (n->sys == sys)
			return n->shown;
	}
	if (d->names.count >= SYMBOLIZER_MAX_NAMES_PER_FILE) {
		sy->st.demangle_uncached++;
		return sys;
	}
	text = demangle__name(sys);
	len = text ? strlen(text) + 1 : 0;
	bytes = sizeof(*n) + len + sizeof(void *);
	n = malloc(sizeof(*n) + len);
	if (!n) {
		free(text);
		return sys;
	}
	n->sys = sys;
	n->shown = sys;
	if (text) {
		memcpy(n->text, text, len);
		n->shown = n->text;
		sy->st.demangled++;
	}
	free(text);
	if (htab__insert(&d->names, &n->node, hash) != 0) {
		free(n);
		return sys;
	}
	d->bytes += bytes;
	sy->st.cache_bytes += bytes;
	return n->shown;
}

static struct elfsym *symdata__table(const struct symdata *d, int t)
{
	return t == 0 ? d->dbg : t == 1 ? d->es : d->mini;
}

/* The function symbol at @vaddr from the best table that has one: its
 * table (0 debug file, 1 the file, 2 MiniDebugInfo) and index. */
static bool symdata__lookup(const struct symdata *d, uint64_t vaddr,
			    uint64_t *ret_off, int *ret_t, int64_t *ret_i)
{
	struct elfsym *es;
	int64_t i;
	int t;

	for (t = 0; t < 3; t++) {
		es = symdata__table(d, t);
		if (!es)
			continue;
		i = elfsym__lookup_index(es, vaddr, ret_off);
		if (i >= 0) {
			*ret_t = t;
			*ret_i = i;
			return true;
		}
	}
	return false;
}

static void symdata__clear_shown(struct symbolizer *sy, struct symdata *d)
{
	struct htab_node *pos, *tmp;
	size_t bkt;

	htab_for_each_safe(&d->shown, pos, tmp, bkt) {
		htab__remove(&d->shown, pos);
		free(container_of(pos, struct symshown, node));
	}
	d->bytes -= d->shown_bytes;
	sy->st.cache_bytes -= d->shown_bytes;
	d->shown_bytes = 0;
	d->shown_full = false;
	sy->st.sym_name_resets++;
}

/*
 * The names of symbol @i of table @t: the name shown (returned) and the
 * system name (*ret_sys), read from the file on first use and kept in
 * d->shown, charged to the budget. NULL when the name cannot be read
 * back (the file changed or was cut short: counted).
 */
static const char *symbolizer__shown_sym(struct symbolizer *sy,
					 struct symdata *d, int t, int64_t i,
					 const char **ret_sys)
{
	uint64_t key = (uint64_t)i << 2 | (uint64_t)t;
	uint64_t hash = hash_u64(key);
	struct htab_node *pos;
	struct symshown *n;
	char *text = NULL;
	size_t len, tlen = 0, bytes;
	ssize_t got;

	/* Full in an earlier epoch: none of its names is out any more, and
	 * the names this epoch uses get their turn. */
	if (d->shown_full && d->shown_epoch != sy->epoch)
		symdata__clear_shown(sy, d);
	d->shown_epoch = sy->epoch;
	htab_for_each(&d->shown, pos, hash) {
		n = container_of(pos, struct symshown, node);
		if (n->key == key) {
			*ret_sys = n->sys;
			return n->shown;
		}
	}
	got = elfsym__name_copy(symdata__table(d, t), (size_t)i, sy->namebuf,
				sizeof(sy->namebuf));
	if (got <= 0) {
		sy->st.sym_name_errors++;
		return NULL;
	}
	sy->st.sym_names_read++;
	len = (size_t)got + 1;
	if (sy->namebuf[0] == '_' &&
	    (sy->namebuf[1] == 'Z' || sy->namebuf[1] == 'R')) {
		text = demangle__name(sy->namebuf);
		tlen = text ? strlen(text) + 1 : 0;
	}
	n = malloc(sizeof(*n) + len + tlen);
	if (!n) {
		free(text);
		return NULL;
	}
	n->key = key;
	n->next_spill = NULL;
	memcpy(n->sys, sy->namebuf, len);
	n->shown = n->sys;
	if (text) {
		memcpy(n->sys + len, text, tlen);
		n->shown = n->sys + len;
		sy->st.demangled++;
	}
	free(text);
	*ret_sys = n->sys;
	bytes = sizeof(*n) + len + tlen + sizeof(void *);
	if (d->shown_bytes + bytes > sy->max_bytes / SYMBOLIZER_NAMES_SHARE ||
	    d->shown.count >= SYMBOLIZER_MAX_NAMES_PER_FILE ||
	    htab__insert(&d->shown, &n->node, hash) != 0) {
		/* Handed out for this epoch only, within a bound of its own:
		 * past it the frame goes unnamed. */
		d->shown_full = true;
		if (sy->spill_bytes + bytes >
		    sy->max_bytes / SYMBOLIZER_NAMES_SHARE) {
			free(n);
			sy->st.sym_names_dropped++;
			return NULL;
		}
		sy->spill_bytes += bytes;
		n->next_spill = sy->spill;
		sy->spill = n;
		sy->st.demangle_uncached++;
		return n->shown;
	}
	d->shown_bytes += bytes;
	d->bytes += bytes;
	sy->st.cache_bytes += bytes;
	return n->shown;
}

/*
 * Expands out[0] (address, mapping, module filled) into the frames DWARF
 * gives for @vaddr: inlined functions first, the containing function last
 * (named @name from the symbol table when there is one). Returns the
 * number of frames, at least 1.
 */
static size_t symbolizer__expand(struct symbolizer *sy, struct symdata *d,
				 uint64_t vaddr, const char *name,
				 struct sym_frame *out, size_t max)
{
	struct dwarf_frame df[SYM_MAX_FRAMES_PER_ADDR];
	size_t n, i;
	const char *sys;

	if (max > SYM_MAX_FRAMES_PER_ADDR)
		max = SYM_MAX_FRAMES_PER_ADDR;
	n = dwarf__lookup(d->dw, vaddr, df, max);
	/* Units are indexed on first use: their bytes join the budget. A
	 * file gone quiet releases libdw (dwarf.h): what it shrank by and the
	 * heap its opening took beyond dwarf__memory() leave the budget. */
	if (dwarf__memory(d->dw) != d->dw_bytes) {
		size_t now = dwarf__memory(d->dw);

		if (now < d->dw_bytes) {
			d->bytes -= d->dw_heap_extra;
			sy->st.cache_bytes -= d->dw_heap_extra;
			d->dw_heap_extra = 0;
		}
		d->bytes += now - d->dw_bytes;
		sy->st.cache_bytes += now - d->dw_bytes;
		d->dw_bytes = now;
	}
	if (!n)
		return 1;
	/* The outermost frame is the function the symbol table names. */
	out[n - 1] = out[0];
	out[n - 1].file = df[n - 1].file;
	out[n - 1].line = df[n - 1].line;
	if (!name && df[n - 1].name) {
		out[n - 1].system_name = df[n - 1].name;
		out[n - 1].name = symbolizer__shown(sy, d, df[n - 1].name);
	}
	for (i = 0; i + 1 < n; i++) {
		out[i] = out[n - 1];
		sys = df[i].name;
		out[i].inlined = true;
		out[i].system_name = sys;
		out[i].name = sys ? symbolizer__shown(sy, d, sys) : NULL;
		out[i].sym_offset = 0;
		out[i].file = df[i].file;
		out[i].line = df[i].line;
	}
	sy->st.inlined_frames += n - 1;
	return n;
}

/* Where runtimes put JIT code: anonymous memory, named anonymous memory
 * (prctl PR_SET_VMA_ANON_NAME) and memfd files (.NET maps its code twice
 * through one). */
static bool maybe_jit(const struct mapping *m)
{
	switch (m->kind) {
	case MAPPING_ANON:
		return true;
	case MAPPING_SPECIAL:
		return m->path && !strncmp(m->path, "[anon:", 6);
	case MAPPING_FILE:
		return m->path && !strncmp(m->path, "/memfd:", 7);
	default:
		return false;
	}
}

/* Names @out from the process's perf map; false when it does not. A
 * return address is looked up at addr - 1, as for files: a call that ends
 * a code object returns to the first byte of the next one. */
static bool symbolizer__jit(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			    uint64_t addr, bool return_address,
			    struct sym_frame *out)
{
	uint64_t at = return_address && addr ? addr - 1 : addr;
	const char *name;
	uint64_t off;

	if (!sy->jit)
		return false;
	name = perfmap_cache__lookup(sy->jit, tgid, tid, at, &off);
	if (!name)
		return false;
	out->kind = FRAME_JIT;
	out->name = name;
	out->system_name = name;
	out->sym_offset = off + (addr - at);
	return true;
}

size_t symbolizer__user(struct symbolizer *sy, uint32_t tgid, uint32_t tid,
			const struct mapping *m, uint64_t addr,
			bool return_address, struct sym_frame *out, size_t max)
{
	struct symdata *d = NULL;
	struct elfsym *es = NULL;
	struct symfile *f;
	uint64_t off, vaddr, sym_off = 0;
	const char *name = NULL, *sys = NULL;
	int64_t sym_i = 0;
	bool have_vaddr;
	int sym_t = 0;

	if (!max)
		return 0;
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->kind = FRAME_NATIVE;
	sy->st.lookups++;
	if (!m) {
		/* Code a runtime mapped after the process's maps were read:
		 * its perf map may know it already. */
		if (symbolizer__jit(sy, tgid, tid, addr, return_address, out)) {
			sy->st.resolved++;
			return 1;
		}
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
			d = f->data;
			if (d)
				es = d->es;
			if (d && d->id.build_id_len) {
				out->build_id = d->id.build_id;
				out->build_id_len = d->id.build_id_len;
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
	if (maybe_jit(m) &&
	    symbolizer__jit(sy, tgid, tid, addr, return_address, out)) {
		sy->st.resolved++;
		return 1;
	}
	/* A return address points after the call, which may be the first
	 * byte of the next function. */
	off = out->file_offset;
	if (return_address && off)
		off--;
	have_vaddr = es && elfsym__offset_to_vaddr(es, off, &vaddr) == 0;
	if (have_vaddr && d) {
		if (symdata__lookup(d, vaddr, &sym_off, &sym_t, &sym_i))
			name = symbolizer__shown_sym(sy, d, sym_t, sym_i, &sys);
	} else if (have_vaddr) {
		/* The [vdso]: an in-memory image, its names in memory. */
		name = sys = elfsym__lookup(es, vaddr, &sym_off);
	}
	if (name) {
		out->system_name = sys;
		out->name = name;
		out->sym_offset = sym_off + (out->file_offset - off);
	}
	if (have_vaddr && d && d->dw) {
		size_t n = symbolizer__expand(sy, d, vaddr, name, out, max);

		if (name || out[n - 1].name)
			sy->st.resolved++;
		else
			sy->st.unresolved++;
		return n;
	}
	if (name)
		sy->st.resolved++;
	else
		sy->st.unresolved++;
	return 1;
}

void symbolizer__forget_process(struct symbolizer *sy, uint32_t tgid)
{
	if (sy)
		perfmap_cache__forget(sy->jit, tgid);
}

void symbolizer__next_epoch(struct symbolizer *sy)
{
	sy->epoch++;
	symbolizer__free_spill(sy);
	if (sy->jit)
		perfmap_cache__next_epoch(sy->jit);
	/* A sample may have pushed the cache past its bound; catch up. */
	symbolizer__trim(sy, sy->max_files);
}

void symbolizer__stats(const struct symbolizer *sy,
		       struct symbolizer_stats *ret)
{
	*ret = sy->st;
	ret->cache_files = sy->files.count;
	ret->kernel_symbol_bytes = kallsyms__memory(sy->ks);
	if (sy->jit)
		perfmap_cache__stats(sy->jit, &ret->perf_map);
}
