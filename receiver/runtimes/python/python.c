// SPDX-License-Identifier: Apache-2.0
/* CPython processes in, the sampler's python_procs map and named Python
 * frames out (python.h). */
#include "receiver/runtimes/python/python.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "receiver/runtimes/python/versions.h"

/* Mappings of one image looked at for an interpreter. */
#define PY_MAX_CANDIDATES 4
#define PY_RETRIES 8
#define PY_RETRY_NS 250000000ull
/* Dynamic symbols read of one file, at most. */
#define PY_MAX_DYNSYMS (1u << 20)

/* What is known of one process image (proc->python). */
struct python_proc {
	struct python_proc *prev, *next; /* every one, for python__free() */
	uint64_t aspace_id; /* the image it was found in */
	uint32_t maps_reads; /* p->maps_reads when last looked at */
	bool is_python; /* an interpreter of a known layout */
	bool unsupported; /* an interpreter of an unknown version */
	/* A file or memory read failed (the thread read through left, as
	 * a leader calling pthread_exit() does): tried again on a sample,
	 * at most PY_RETRIES times, PY_RETRY_NS apart. */
	bool transient;
	uint8_t retries;
	uint64_t retry_ns;
	bool in_kernel; /* in python_procs */
	uint64_t runtime; /* address of _PyRuntime */
	struct python_layout layout;
};

/* What one interpreter file says, read once per file (dev, inode, size,
 * mtime): a process's maps are read again after an exec, an unknown
 * address or an idle drop, and a libpython with its debug information is
 * tens of MB that libelf maps and walks. */
#define PY_FILE_CACHE 32
#define PY_MAX_LOADS 8

struct py_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint64_t used; /* python.file_tick at the last use; 0: empty */
	int err; /* 0, or -ENOENT (not an interpreter), -ENOEXEC */
	uint64_t runtime; /* ELF virtual addresses */
	uint64_t version;
	uint32_t nloads;
	struct {
		uint64_t off, filesz, vaddr;
	} loads[PY_MAX_LOADS];
};

struct python {
	struct python_opts o;
	const struct tg_logger *log;
	struct pycode_cache *code;
	struct python_stats st;
	struct python_proc *procs; /* list */
	/* The thread memory is read through: the sampled one, alive (the
	 * leader may have left, and a zombie's memory cannot be read). */
	uint32_t read_tid;
	bool warned_full;
	bool warned_unsupported;
	struct py_file files[PY_FILE_CACHE];
	uint64_t file_tick;
};

/* ---- interleaving --------------------------------------------------- */

size_t python__interleave(const bool *is_eval, size_t nnative,
			  const bool *act_end, size_t npy, struct py_merge *out,
			  size_t max, size_t *ret_outer)
{
	size_t i, j = 0, n = 0, outer = 0;

	for (i = 0; i < nnative && n < max; i++) {
		if (!is_eval[i] || j >= npy) {
			out[n++] = (struct py_merge){ .index = i };
			continue;
		}
		/* The activation: its frames up to the one that ends it. */
		while (j < npy && n < max) {
			out[n++] =
				(struct py_merge){ .python = true, .index = j };
			if (act_end[j++])
				break;
		}
	}
	for (; j < npy && n < max; j++, outer++)
		out[n++] = (struct py_merge){ .python = true, .index = j };
	if (ret_outer)
		*ret_outer = outer;
	return n;
}

bool python__is_eval(const struct sym_frame *f)
{
	return f->kind == FRAME_NATIVE && !f->inlined && f->name &&
	       !strcmp(f->name, PYTHON_EVAL_FUNCTION);
}

/* ---- process memory --------------------------------------------------- */

static int vm_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = (pid_t)(uintptr_t)ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
				.iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* The code cache's reader: through the thread being handled. */
static int py_vm_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct python *py = ctx;

	return vm_read((void *)(uintptr_t)py->read_tid, addr, buf, len);
}

static int py_read(struct python *py, uint32_t tid, uint64_t addr, void *buf,
		   size_t len)
{
	if (py->o.read)
		return py->o.read(py->o.read_ctx, addr, buf, len);
	py->read_tid = tid;
	return py_vm_read(py, addr, buf, len);
}

/* ---- the interpreter's symbols ------------------------------------------ */

/* Whether @path may hold an interpreter: python3.X or libpython3.X.so. */
static bool py_candidate(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "python", 6) || !strncmp(base, "libpython", 9);
}

/* Finds _PyRuntime and Py_Version among @fd's dynamic symbols, and the
 * PT_LOAD segments. 0, -ENOENT (not an interpreter) or -ENOEXEC. */
static int py_read_file(int fd, struct py_file *ret)
{
	Elf_Scn *scn = NULL;
	size_t i, nphdr, n;
	GElf_Shdr sh;
	GElf_Phdr ph;
	GElf_Sym sym;
	Elf_Data *data;
	const char *name;
	int err = -ENOENT;
	Elf *e;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -ENOEXEC;
	if (elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &nphdr)) {
		err = -ENOEXEC;
		goto out;
	}
	for (i = 0; i < nphdr && ret->nloads < PY_MAX_LOADS; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		ret->loads[ret->nloads].off = ph.p_offset;
		ret->loads[ret->nloads].filesz = ph.p_filesz;
		ret->loads[ret->nloads].vaddr = ph.p_vaddr;
		ret->nloads++;
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			break;
		n = sh.sh_size / sh.sh_entsize;
		if (n > PY_MAX_DYNSYMS)
			n = PY_MAX_DYNSYMS;
		for (i = 0; i < n; i++) {
			if (!gelf_getsym(data, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || (name[0] != '_' && name[0] != 'P'))
				continue;
			if (!strcmp(name, "_PyRuntime"))
				ret->runtime = sym.st_value;
			else if (!strcmp(name, "Py_Version"))
				ret->version = sym.st_value;
		}
		break;
	}
	if (ret->runtime && ret->version && ret->nloads)
		err = 0;
out:
	elf_end(e);
	return err;
}

/* The load bias of mapping @m of file @f; -ENOENT when no segment holds
 * its offset. */
static int py_file_bias(const struct py_file *f, const struct mapping *m,
			uint64_t *ret)
{
	uint32_t i;

	for (i = 0; i < f->nloads; i++) {
		if (m->offset < f->loads[i].off ||
		    m->offset - f->loads[i].off >= f->loads[i].filesz)
			continue;
		*ret = m->start -
		       (f->loads[i].vaddr + (m->offset - f->loads[i].off));
		return 0;
	}
	return -ENOENT;
}

/* The cache's entry for the file open at @fd, read now if it is not
 * there (the least recently used entry makes room). */
static int py_file_get(struct python *py, int fd, const struct py_file **ret)
{
	struct py_file *f, *victim = &py->files[0];
	struct stat st;
	size_t i;

	if (fstat(fd, &st))
		return -errno;
	py->file_tick++;
	for (i = 0; i < PY_FILE_CACHE; i++) {
		f = &py->files[i];
		if (f->used && f->dev == st.st_dev && f->ino == st.st_ino &&
		    f->size == st.st_size &&
		    f->mtime.tv_sec == st.st_mtim.tv_sec &&
		    f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			f->used = py->file_tick;
			py->st.file_hits++;
			*ret = f;
			return 0;
		}
		if (f->used < victim->used)
			victim = f;
	}
	memset(victim, 0, sizeof(*victim));
	victim->dev = st.st_dev;
	victim->ino = st.st_ino;
	victim->size = st.st_size;
	victim->mtime = st.st_mtim;
	victim->used = py->file_tick;
	victim->err = py_read_file(fd, victim);
	py->st.files_read++;
	*ret = victim;
	return 0;
}

/* Opens the file of @m as process @tgid sees it (inside its root), and
 * makes sure it is the file mapped. */
static int py_open(const struct python *py, uint32_t tgid, uint32_t tid,
		   const struct mapping *m)
{
	const char *root = py->o.proc_root ? py->o.proc_root : "/proc";
	char path[128];
	struct stat st;
	int fd;

	fd = procfs__open_in_root(root, tgid, tid, m->path);
	if (fd >= 0 && !fstat(fd, &st) && mapping__is_file(m, &st))
		return fd;
	if (fd >= 0)
		close(fd);
	/* Replaced or unreachable by path: the mapped file itself. */
	snprintf(path, sizeof(path),
		 "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, root, tgid,
		 m->start, m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* ---- the kernel's map ------------------------------------------------------ */

static void py_kernel_entry(const struct proc *p, const struct python_proc *pp,
			    struct tgprof_python_proc *k)
{
	const struct python_layout *l = &pp->layout;

	memset(k, 0, sizeof(*k));
	k->start_ns = p->start_ns;
	k->aspace_id = pp->aspace_id;
	k->runtime = pp->runtime;
	k->runtime_interpreters_head = l->runtime_interpreters_head;
	k->interp_next = l->interp_next;
	k->interp_threads_head = l->interp_threads_head;
	k->tstate_next = l->tstate_next;
	k->tstate_thread_id = l->tstate_thread_id;
	k->tstate_cframe = l->tstate_cframe;
	k->cframe_current_frame = l->cframe_current_frame;
	k->frame_code = l->frame_code;
	k->frame_previous = l->frame_previous;
	k->frame_instr = l->frame_instr;
	k->frame_owner = l->frame_owner;
	k->frame_is_entry = l->frame_is_entry;
	k->frame_size = l->frame_size;
	k->owner_cstack = l->owner_cstack;
}

static void py_kernel_insert(struct python *py, const struct proc *p,
			     struct python_proc *pp)
{
	struct tgprof_python_proc k;
	uint32_t tgid = p->tgid;

	if (py->o.map_fd < 0) {
		pp->in_kernel = true;
		py->st.processes++;
		return;
	}
	py_kernel_entry(p, pp, &k);
	if (bpf_map_update_elem(py->o.map_fd, &tgid, &k, BPF_ANY)) {
		py->st.map_full++;
		if (!py->warned_full) {
			tg_warn(py->log,
				"python: cannot walk %u (%s): %s (at most %u Python processes)",
				p->tgid, p->comm, strerror(errno),
				TGPROF_MAX_PYTHON_PROCS);
			py->warned_full = true;
		}
		return;
	}
	if (!pp->in_kernel)
		py->st.processes++;
	pp->in_kernel = true;
}

static void py_kernel_remove(struct python *py, const struct proc *p,
			     struct python_proc *pp)
{
	uint32_t tgid = p->tgid;

	if (!pp->in_kernel)
		return;
	if (py->o.map_fd >= 0)
		bpf_map_delete_elem(py->o.map_fd, &tgid);
	pp->in_kernel = false;
	py->st.processes--;
}

/* ---- detection ------------------------------------------------------------ */

/* Whether the kernel's walk can read @l's frames: every field within the
 * bytes it reads of a frame. */
static bool py_walkable(const struct python_layout *l)
{
	const uint16_t fields[] = { l->frame_code, l->frame_previous,
				    l->frame_instr };
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] + 8u > TGPROF_PY_FRAME_READ ||
		    fields[i] + 8u > l->frame_size)
			return false;
	return l->frame_size <= TGPROF_PY_FRAME_READ &&
	       l->frame_owner < l->frame_size &&
	       (l->frame_is_entry == PY_NO_FIELD ||
		l->frame_is_entry < l->frame_size);
}

/* Whether mapping @m of @p holds an interpreter; fills @pp. */
static int py_probe(struct python *py, struct proc *p, uint32_t tid,
		    const struct mapping *m, struct python_proc *pp)
{
	uint8_t head[PYTHON_DEBUG_OFFSETS_MAX];
	const struct py_file *f = NULL;
	uint32_t version;
	uint64_t bias;
	int fd, err;

	fd = py_open(py, p->tgid, tid, m);
	if (fd < 0)
		return fd;
	err = py_file_get(py, fd, &f);
	close(fd);
	if (!err)
		err = f->err;
	if (!err)
		err = py_file_bias(f, m, &bias);
	if (err)
		return err;
	err = py_read(py, tid, bias + f->version, &version, sizeof(version));
	if (err)
		return err;
	pp->runtime = bias + f->runtime;
	/* The debug offsets (3.13 on) head _PyRuntime; before, the version
	 * alone decides. */
	memset(head, 0, sizeof(head));
	if (py_read(py, tid, pp->runtime, head, sizeof(head)))
		memset(head, 0, sizeof(head));
	err = python_layout__from_runtime(version, head, sizeof(head),
					  &pp->layout);
	if (!err && !py_walkable(&pp->layout))
		err = -ENOTSUP;
	if (err == -ENOTSUP) {
		py->st.unsupported++;
		if (!py->warned_unsupported) {
			tg_warn(py->log,
				"python: %u (%s) runs CPython %u.%u, whose frames tgprof cannot read: native frames only",
				p->tgid, p->comm, version >> 24 & 0xff,
				version >> 16 & 0xff);
			py->warned_unsupported = true;
		}
		return err;
	}
	if (err)
		return err;
	tg_debug(
		py->log,
		"python: %u (%s) runs CPython %u.%u (%s), _PyRuntime at 0x%" PRIx64,
		p->tgid, p->comm, version >> 24 & 0xff, version >> 16 & 0xff,
		m->path, pp->runtime);
	return 0;
}

/* Looks for an interpreter among @p's mappings, through thread @tid. */
static void py_detect(struct python *py, struct proc *p, uint32_t tid)
{
	struct python_proc *pp = p->python;
	size_t i, tried = 0;
	int err = -ENOENT;

	/* Only images that map something named like an interpreter are
	 * looked at, so most processes cost a string compare per mapping. */
	for (i = 0; i < p->maps->n && tried < PY_MAX_CANDIDATES; i++) {
		const struct mapping *m = &p->maps->v[i];

		if (m->kind != MAPPING_FILE || !py_candidate(m->path))
			continue;
		/* One mapping per file is enough. */
		if (i && p->maps->v[i - 1].inode == m->inode &&
		    p->maps->v[i - 1].kind == MAPPING_FILE)
			continue;
		if (!pp) {
			pp = calloc(1, sizeof(*pp));
			if (!pp)
				return;
			pp->next = py->procs;
			if (py->procs)
				py->procs->prev = pp;
			py->procs = pp;
			p->python = pp;
		}
		tried++;
		err = py_probe(py, p, tid, m, pp);
		if (!err || err == -ENOTSUP)
			break;
	}
	if (!pp)
		return;
	pp->aspace_id = p->aspace_id;
	pp->maps_reads = p->maps_reads;
	pp->unsupported = err == -ENOTSUP;
	pp->transient = err && err != -ENOENT && err != -ENOTSUP;
	if (err) {
		if (pp->transient)
			py->st.detect_errors++;
		return;
	}
	pp->is_python = true;
	py->st.detected++;
	py_kernel_insert(py, p, pp);
}

void python__on_maps(struct python *py, struct proc *p, uint32_t tid)
{
	struct python_proc *pp = p->python;

	if (!py || !p->maps || p->kernel_thread)
		return;
	if (pp && pp->aspace_id == p->aspace_id &&
	    (pp->is_python || pp->unsupported ||
	     pp->maps_reads == p->maps_reads))
		return;
	if (pp && pp->aspace_id != p->aspace_id) {
		py_kernel_remove(py, p, pp);
		pycode_cache__forget(py->code, p->tgid);
		pp->is_python = false;
		pp->unsupported = false;
		pp->retries = 0;
	}
	py_detect(py, p, tid);
}

void python__on_sample(struct python *py, struct proc *p, uint32_t tid,
		       uint64_t now_ns)
{
	struct python_proc *pp = p ? p->python : NULL;

	if (!py || !pp || !pp->transient || !p->maps ||
	    pp->aspace_id != p->aspace_id || pp->retries >= PY_RETRIES ||
	    now_ns < pp->retry_ns)
		return;
	pp->retries++;
	pp->retry_ns = now_ns + PY_RETRY_NS;
	py_detect(py, p, tid);
}

void python__forget(struct python *py, struct proc *p)
{
	struct python_proc *pp = p->python;

	if (!py || !pp)
		return;
	py_kernel_remove(py, p, pp);
	pycode_cache__forget(py->code, p->tgid);
	if (pp->prev)
		pp->prev->next = pp->next;
	else
		py->procs = pp->next;
	if (pp->next)
		pp->next->prev = pp->prev;
	free(pp);
	p->python = NULL;
}

/* ---- frames ----------------------------------------------------------------- */

size_t python__frames(struct python *py, const struct proc *p, uint32_t tid,
		      const struct tgprof_py_frame *pf, uint32_t n,
		      struct sym_frame *out, bool *act_end, size_t max)
{
	const struct python_proc *pp;
	struct py_frame f;
	uint32_t i;

	if (!py || !p || !(pp = p->python) || !pp->is_python)
		return 0;
	if (n > max)
		n = (uint32_t)max;
	py->read_tid = tid;
	for (i = 0; i < n; i++) {
		uint64_t instr = pf[i].instr & ~(uint64_t)TGPROF_PY_ACT_END;

		if (pycode_cache__resolve(py->code, &pp->layout, p->tgid,
					  p->start_ns, pf[i].code, instr, &f))
			py->st.frames_unknown++;
		memset(&out[i], 0, sizeof(out[i]));
		/* The instruction tells frames apart: its code object and
		 * line. */
		out[i].addr = instr;
		out[i].kind = FRAME_CPYTHON;
		out[i].name = f.qualname;
		out[i].system_name = f.qualname;
		out[i].file = f.file;
		out[i].line = f.line;
		out[i].start_line = f.firstlineno;
		out[i].module = PYTHON_MAPPING_NAME;
		act_end[i] = pf[i].instr & TGPROF_PY_ACT_END;
	}
	py->st.samples++;
	py->st.frames += n;
	return n;
}

void python__count_outer(struct python *py, size_t n)
{
	if (py)
		py->st.frames_outer += n;
}

void python__next_epoch(struct python *py)
{
	if (py)
		pycode_cache__next_epoch(py->code);
}

void python__stats(const struct python *py, struct python_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!py)
		return;
	*ret = py->st;
	pycode_cache__stats(py->code, &ret->code);
}

struct python *python__new(const struct python_opts *opts,
			   const struct tg_logger *log)
{
	struct pycode_cache_opts copts = { .sz = sizeof(copts) };
	struct python *py;

	if (!opts || opts->sz < sizeof(*opts)) {
		errno = EINVAL;
		return NULL;
	}
	py = calloc(1, sizeof(*py));
	if (!py) {
		errno = ENOMEM;
		return NULL;
	}
	py->o = *opts;
	py->log = log;
	copts.max_bytes = opts->code_max_bytes;
	copts.read = opts->read ? opts->read : py_vm_read;
	copts.read_ctx = opts->read ? opts->read_ctx : py;
	py->code = pycode_cache__new(&copts, log);
	if (!py->code) {
		int err = errno;

		free(py);
		errno = err;
		return NULL;
	}
	return py;
}

void python__free(struct python *py)
{
	struct python_proc *pp, *next;

	if (!py)
		return;
	/* The process table may outlive this: its entries no longer point
	 * here once the receiver frees them both (proctab__free() calls no
	 * observer). */
	for (pp = py->procs; pp; pp = next) {
		next = pp->next;
		free(pp);
	}
	pycode_cache__free(py->code);
	free(py);
}
