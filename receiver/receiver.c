// SPDX-License-Identifier: Apache-2.0
/* The receiver: sampler records in, symbolized samples out. Samples, execs
 * and exits arrive in the order they happened (the sampler merges its two
 * rings by time), so a sample is always symbolized against the mappings of
 * its own address space, and an exit is handled only after every sample
 * taken before it. When the kernel lost exec or exit events, the process
 * table is repaired from /proc after the drain. Mappings read by the
 * process table bring the unwind tables of their files into the kernel;
 * a walk the kernel stopped before them is finished here. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "bpf/sampler.h"
#include "lib/clock.h"
#include "lib/ratelimit.h"
#include "receiver/receiver.h"
#include "receiver/runtimes/python/python.h"

/* Frames of one sample: every address, plus inlined functions, within a
 * bound (the outermost frame of an address is always kept). */
#define RECEIVER_MAX_FRAMES 1024

struct receiver {
	struct receiver_config cfg;
	const struct receiver_sink *sink;
	const struct tg_logger *log;

	struct sampler *sampler;
	struct proctab *procs;
	struct symbolizer *sym;
	struct unwind_loader *unwind; /* NULL: frame pointers only */
	struct python *py; /* NULL: no Python frames */
	struct proctab_observer obs;

	/* The filters; NULL: every process. */
	struct filter *filter;
	bool filter_user; /* some list is decided here */
	bool filter_facts; /* a verdict needs the cgroup file */
	uint32_t kernel_excluded; /* entries this receiver put in the map */
	bool warned_exclusions;
	bool warned_facts;

	uint64_t next_sweep_ns;
	/* The kernel's events_lost count the last repair answered. */
	uint64_t events_lost_repaired;
	uint64_t next_repair_ns; /* none before: they are rate-limited */
	uint64_t events_repairs;
	struct ratelimit repair_warn;
	uint64_t records;
	uint64_t records_malformed;
	uint64_t samples;
	uint64_t samples_stale;
	uint64_t samples_filtered;
	uint64_t samples_facts_unknown;
	uint64_t exclusions;
	uint64_t exclusions_failed;
	uint64_t unexclusions;
	uint64_t unwind_stops[UNWIND_STOP_MAX];
	uint64_t walks_finished;
	uint64_t offcpu_samples;

	/* Scratch for one sample, so the hot path does not allocate. */
	struct sym_frame frames[RECEIVER_MAX_FRAMES];
	const struct mapping *mappings[TGPROF_MAX_USTACK];
	__u64 ustack[TGPROF_MAX_USTACK]; /* a walk finished here */
	/* Python frames of one sample, and the merge with the native ones. */
	struct sym_frame pyframes[TGPROF_MAX_PYSTACK];
	bool py_end[TGPROF_MAX_PYSTACK];
	bool is_eval[RECEIVER_MAX_FRAMES];
	struct py_merge merge[RECEIVER_MAX_FRAMES];
	struct sym_frame merged[RECEIVER_MAX_FRAMES];
};

void receiver_config__defaults(struct receiver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* freq_hz stays 0: its one default is the plugin's key table
	 * (sampling_frequency_hz), and receiver__new() refuses 0. */
	cfg->kernel_stacks = true;
	cfg->sweep_interval_ns = 10 * NSEC_PER_SEC;
	cfg->maps_reread_interval_ns = 250 * NSEC_PER_MSEC;
	cfg->exit_grace_ns = 2 * NSEC_PER_SEC;
	cfg->process_idle_ns = RECEIVER_DEFAULT_IDLE_NS;
	cfg->max_processes = 16384;
	cfg->max_symbol_files = 512;
	cfg->proc_root = "/proc";
	cfg->kallsyms_path = "/proc/kallsyms";
	cfg->max_symbol_bytes = SYMBOLIZER_DEFAULT_MAX_BYTES;
	cfg->perf_maps = true;
	cfg->perf_map_max_bytes = PERFMAP_DEFAULT_MAX_BYTES;
	cfg->unwinder = RECEIVER_UNWIND_TABLES;
	cfg->unwind_table_bytes = UNWIND_LOADER_DEFAULT_MAX_BYTES;
	cfg->stack_copy_bytes = 16u << 10;
	cfg->python_frames = true;
	cfg->python_code_bytes = PYCODE_DEFAULT_MAX_BYTES;
	cfg->off_cpu_min_ns = NSEC_PER_MSEC;
	cfg->off_cpu_percent = 100;
	cfg->off_cpu_threads = 4096;
}

/* Junk that frame-pointer unwinding through code without frame pointers
 * produces: never a user code address. */
static bool plausible_user_addr(uint64_t addr)
{
	return addr >= 4096 && addr < (1ULL << 56);
}

/*
 * Finds the mapping of every user frame. A miss may re-read the maps, which
 * frees the mappings found so far, so at most one re-read happens per
 * sample and the lookups are redone after it.
 */
static void resolve_mappings(struct receiver *r, struct proc *p, uint32_t tid,
			     const __u64 *ustack, uint32_t ulen, uint64_t ts_ns)
{
	const struct maps *before = p->maps;
	bool reread = false;
	uint32_t i;

	for (i = 0; i < ulen; i++) {
		r->mappings[i] = maps__find(p->maps, ustack[i]);
		if (r->mappings[i] || reread || !plausible_user_addr(ustack[i]))
			continue;
		r->mappings[i] = proctab__find_mapping(r->procs, p, tid,
						       ustack[i], ts_ns);
		reread = true;
	}
	if (p->maps == before)
		return;
	for (i = 0; i < ulen; i++)
		r->mappings[i] = maps__find(p->maps, ustack[i]);
}

/* Puts an excluded process into the kernel's exclusion map, so its
 * samples stop at the source. When the map refuses, the cached verdict
 * keeps dropping them here. */
static void receiver__exclude(struct receiver *r, struct proc *p)
{
	int err;

	if (p->kernel_excluded || !r->sampler)
		return;
	err = sampler__exclude(r->sampler, p->tgid, p->start_ns);
	if (!err) {
		p->kernel_excluded = true;
		r->kernel_excluded++;
		r->exclusions++;
		return;
	}
	r->exclusions_failed++;
	if (!r->warned_exclusions) {
		tg_warn(r->log,
			"filter: cannot exclude %u (%s) in the kernel: %s; its samples are dropped in user space",
			p->tgid, p->comm, strerror(-err));
		r->warned_exclusions = true;
	}
}

/*
 * An exec or an exit of @tgid: its kernel exclusion (if any) ends, and the
 * next sample decides again. @p is its entry, or NULL when the table no
 * longer has it (evicted): then the map is asked anyway while it may hold
 * entries of this receiver.
 */
static void receiver__unexclude(struct receiver *r, struct proc *p,
				uint32_t tgid)
{
	if (!r->filter_user || !r->kernel_excluded)
		return;
	if (p && !p->kernel_excluded)
		return;
	if (p)
		p->kernel_excluded = false;
	if (sampler__unexclude(r->sampler, tgid))
		return;
	r->kernel_excluded--;
	r->unexclusions++;
}

/* @tgid (@p in the table, or NULL) runs a new image: the filters decide
 * again on its next sample, and what was kept of the old one goes. */
static void receiver__new_image(struct receiver *r, struct proc *p,
				uint32_t tgid)
{
	receiver__unexclude(r, p, tgid);
	symbolizer__forget_process(r->sym, tgid);
}

/*
 * The filters' verdict on the image of @p, decided on its first sample and
 * again after an exec (facts_gen changes), before anything is symbolized.
 * Facts that cannot be read fail closed: while a filter needs the cgroup
 * file and it cannot be read, the process's samples are dropped (and the
 * read is tried again at the table's re-read rate).
 */
static bool receiver__allows(struct receiver *r, struct proc *p, uint32_t tid)
{
	struct filter_facts facts = { 0 };
	bool allowed;
	int err;

	if (!p)
		return false;
	if (p->verdict != PROC_VERDICT_UNKNOWN &&
	    p->verdict_gen == p->facts_gen)
		return p->verdict == PROC_VERDICT_ALLOWED;
	err = r->filter_facts ? proctab__read_facts(r->procs, p, tid) : 0;
	if (err) {
		r->samples_facts_unknown++;
		/* Gone is the common case; anything else says something
		 * about tgprof's access to /proc. */
		if (err != -ENOENT && err != -EAGAIN && !r->warned_facts) {
			tg_warn(r->log,
				"filter: cannot read the cgroup of %u (%s): %s; its samples are dropped while a filter needs it",
				p->tgid, p->comm, strerror(-err));
			r->warned_facts = true;
		}
		return false;
	}
	facts.tgid = p->tgid;
	facts.comm = p->comm;
	facts.container_id = p->container_id;
	facts.cgroup_path = p->cgroup_path;
	allowed = filter__allows(r->filter, &facts);
	p->verdict = allowed ? PROC_VERDICT_ALLOWED : PROC_VERDICT_EXCLUDED;
	p->verdict_gen = p->facts_gen;
	tg_debug(r->log, "filter: %u (%s) %s", p->tgid, p->comm,
		 allowed ? "profiled" : "excluded");
	if (!allowed)
		receiver__exclude(r, p);
	return allowed;
}

/*
 * Finishes a walk the kernel stopped where it had no table (a process's
 * first samples, a file being loaded) from the stack the sample carried,
 * now that the process's tables are known. The kernel's last frame is
 * where this walk starts. On success the user frames are in r->ustack,
 * *ulen frames, and *stop says why the walk ended.
 */
static bool finish_walk(struct receiver *r, struct proc *p,
			const struct tgprof_sample *s, const __u64 *ustack,
			const void *stack_data, uint32_t *ulen, uint32_t *stop)
{
	struct unwind_regs regs = {
		.rip = s->regs_ip,
		.rsp = s->regs_sp,
		.rbp = s->regs_bp,
		.return_address = !(s->flags & TGPROF_SAMPLE_IP_EXACT),
	};
	struct unwind_stack stack = {
		.len = s->stack_len,
		.addr = s->regs_sp,
	};
	struct unwind_walk_result res;
	uint32_t keep = *ulen - 1;

	if (!*ulen || ustack[keep] != s->regs_ip)
		return false;
	stack.data = stack_data;
	memcpy(r->ustack, ustack, keep * sizeof(ustack[0]));
	if (unwind_loader__walk(r->unwind, p, s->hdr.tid, &regs, &stack,
				(uint64_t *)r->ustack + keep,
				TGPROF_MAX_USTACK - keep, &res) ||
	    !res.n)
		return false;
	r->walks_finished++;
	*stop = res.stop;
	*ulen = keep + (uint32_t)res.n;
	return true;
}

/*
 * Replaces the user frames r->frames[first..*n) by their merge with the
 * sample's Python frames: each interpreter activation becomes the Python
 * frames it runs.
 */
static void merge_python(struct receiver *r, const struct proc *p, uint32_t tid,
			 const struct tgprof_py_frame *pf, uint32_t npf,
			 uint32_t first, uint32_t *n)
{
	uint32_t i, nuser = *n - first, npy;
	size_t k, m, outer = 0;

	npy = python__frames(r->py, p, tid, pf, npf, r->pyframes, r->py_end,
			     TGPROF_MAX_PYSTACK);
	if (!npy)
		return;
	for (i = 0; i < nuser; i++)
		r->is_eval[i] = python__is_eval(&r->frames[first + i]);
	m = python__interleave(r->is_eval, nuser, r->py_end, npy, r->merge,
			       RECEIVER_MAX_FRAMES - first, &outer);
	for (k = 0; k < m; k++)
		r->merged[k] = r->merge[k].python ?
				       r->pyframes[r->merge[k].index] :
				       r->frames[first + r->merge[k].index];
	memcpy(&r->frames[first], r->merged, m * sizeof(r->merged[0]));
	*n = first + (uint32_t)m;
	python__count_outer(r->py, outer);
}

static void handle_sample(struct receiver *r, const struct tgprof_sample *s,
			  const __u64 *kstack, const __u64 *ustack,
			  const struct tgprof_py_frame *pyframes,
			  const void *stack_data)
{
	bool kthread = s->flags & TGPROF_SAMPLE_KTHREAD;
	struct sym_sample out = { 0 };
	char comm[TGPROF_COMM_LEN + 1], pcomm[TGPROF_COMM_LEN + 1];
	uint32_t i, n = 0, nkernel, klen, ulen, stop = s->unwind_stop;
	struct proc *p;
	int err = -ENOENT;

	/* The kernel NUL-terminates, but never trust a length from a ring. */
	memcpy(comm, s->hdr.comm, TGPROF_COMM_LEN);
	comm[TGPROF_COMM_LEN] = '\0';
	memcpy(pcomm, s->pcomm, TGPROF_COMM_LEN);
	pcomm[TGPROF_COMM_LEN] = '\0';
	klen = s->kstack_len;
	ulen = s->ustack_len;

	p = proctab__get(r->procs, s->hdr.tgid, s->hdr.start_ns, pcomm, kthread,
			 s->hdr.ts_ns);
	/* A sample of an image the exec record of which is still to come. */
	if (p && proctab__follow_image(r->procs, p, s->aspace_id, pcomm,
				       s->hdr.ts_ns))
		receiver__new_image(r, p, p->tgid);
	/* Before any symbolization: an excluded process's frames never
	 * reach the symbolizer or the sink. */
	if (r->filter_user && !receiver__allows(r, p, s->hdr.tid)) {
		r->samples_filtered++;
		return;
	}

	for (i = 0; i < klen; i++)
		n += symbolizer__kernel(r->sym, kstack[i], &r->frames[n],
					RECEIVER_MAX_FRAMES - n);
	nkernel = n;

	if (p && !kthread && ulen) {
		err = proctab__prepare(r->procs, p, s->hdr.tid, s->aspace_id,
				       s->hdr.ts_ns);
		if (err == -ESTALE)
			r->samples_stale++;
	}
	if (r->unwind && p && !kthread) {
		if (!err) {
			unwind_loader__touch(r->unwind, p);
			if ((s->flags & TGPROF_SAMPLE_STACK_COPY) &&
			    finish_walk(r, p, s, ustack, stack_data, &ulen,
					&stop))
				ustack = r->ustack;
		} else if (err != -ESTALE &&
			   (s->flags & TGPROF_SAMPLE_STACK_COPY)) {
			/* Its maps cannot be read: frame pointers, so the
			 * kernel stops sending its stacks. */
			unwind_loader__set_unreadable(r->unwind, p,
						      s->aspace_id);
		}
	}
	if (s->flags & TGPROF_SAMPLE_TABLES)
		r->unwind_stops[stop < UNWIND_STOP_MAX ?
					stop :
					UNWIND_STOP_BAD_FRAME]++;
	if (!err)
		resolve_mappings(r, p, s->hdr.tid, ustack, ulen, s->hdr.ts_ns);
	else
		memset(r->mappings, 0, sizeof(r->mappings[0]) * ulen);
	for (i = 0; i < ulen; i++) {
		/* Room for the rest of the addresses, one frame each. */
		size_t room = RECEIVER_MAX_FRAMES - n - (ulen - 1 - i);

		n += symbolizer__user(r->sym, s->hdr.tgid, s->hdr.tid,
				      r->mappings[i], ustack[i], i > 0,
				      &r->frames[n], room);
	}
	if (r->py && p && !err)
		python__on_sample(r->py, p, s->hdr.tid, s->hdr.ts_ns);
	if (r->py && p && !err && s->py_len &&
	    (s->flags & TGPROF_SAMPLE_PYTHON))
		merge_python(r, p, s->hdr.tid, pyframes, s->py_len, nkernel,
			     &n);

	out.tgid = s->hdr.tgid;
	out.tid = s->hdr.tid;
	out.cpu = s->hdr.cpu;
	out.ts_ns = s->hdr.ts_ns;
	out.start_ns = s->hdr.start_ns;
	out.comm = comm;
	out.pcomm = p ? p->comm : pcomm;
	out.proc = p;
	out.frames = r->frames;
	out.nframes = n;
	out.nkernel = nkernel;
	out.off_cpu_ns = s->off_cpu_ns;
	r->samples++;
	if (s->hdr.type == TGPROF_REC_OFFCPU)
		r->offcpu_samples++;
	if (r->sink && r->sink->on_sample)
		r->sink->on_sample(r->sink->ctx, &out);
	symbolizer__next_epoch(r->sym);
	python__next_epoch(r->py);
}

static void on_record(void *ctx, const void *data, size_t len)
{
	const struct tgprof_rec_hdr *hdr = data;
	struct receiver *r = ctx;

	r->records++;
	if (len < sizeof(*hdr))
		goto malformed;

	switch (hdr->type) {
	case TGPROF_REC_OFFCPU:
		/* Off-CPU samples are CPU samples' records, weighted; a CPU
		 * sample carries no weight. */
		if (len < sizeof(struct tgprof_sample) ||
		    !((const struct tgprof_sample *)data)->off_cpu_ns)
			goto malformed;
		/* fallthrough */
	case TGPROF_REC_SAMPLE: {
		const struct tgprof_sample *s = data;
		const __u64 *frames = (const __u64 *)(s + 1), *py;

		/* The kernel bounds every length, but never trust a ring. */
		if (len < sizeof(*s) || s->kstack_len > TGPROF_MAX_KSTACK ||
		    s->ustack_len > TGPROF_MAX_USTACK ||
		    s->py_len > TGPROF_MAX_PYSTACK ||
		    s->stack_len > TGPROF_MAX_STACK_COPY ||
		    len < sizeof(*s) +
				    ((size_t)s->kstack_len + s->ustack_len +
				     2 * (size_t)s->py_len) *
					    sizeof(__u64) +
				    s->stack_len)
			goto malformed;
		py = frames + s->kstack_len + s->ustack_len;
		handle_sample(r, s, frames, frames + s->kstack_len,
			      (const struct tgprof_py_frame *)py,
			      py + 2 * (size_t)s->py_len);
		return;
	}
	case TGPROF_REC_EXEC: {
		const struct tgprof_exec *e = data;
		char comm[TGPROF_COMM_LEN + 1];
		struct proc *p;

		if (len < sizeof(*e))
			goto malformed;
		memcpy(comm, hdr->comm, TGPROF_COMM_LEN);
		comm[TGPROF_COMM_LEN] = '\0';
		p = proctab__lookup(r->procs, hdr->tgid, hdr->start_ns);
		/* Nothing to do when its samples came first. */
		if (!p || proctab__on_exec(r->procs, hdr->tgid, hdr->start_ns,
					   comm, e->aspace_id, hdr->ts_ns))
			receiver__new_image(r, p, hdr->tgid);
		return;
	}
	case TGPROF_REC_EXIT: {
		const struct tgprof_exit *e = data;

		if (len < sizeof(*e))
			goto malformed;
		/* The entry keeps its verdict through the exit grace: samples
		 * that follow the exit record are still dropped here. */
		if (e->flags & TGPROF_EXIT_GROUP_DEAD)
			receiver__unexclude(r,
					    proctab__lookup(r->procs, hdr->tgid,
							    hdr->start_ns),
					    hdr->tgid);
		proctab__on_exit(r->procs, hdr->tgid, hdr->start_ns,
				 e->flags & TGPROF_EXIT_LEADER,
				 e->flags & TGPROF_EXIT_GROUP_DEAD, hdr->ts_ns);
		return;
	}
	}
malformed:
	r->records_malformed++;
}

/* The process table's news of mappings, for the unwind tables. */
static void on_maps_read(void *ctx, struct proc *p, uint32_t tid)
{
	struct receiver *r = ctx;

	if (r->unwind)
		unwind_loader__set_process(r->unwind, p, tid);
	python__on_maps(r->py, p, tid);
}

static void on_maps_gone(void *ctx, struct proc *p)
{
	struct receiver *r = ctx;

	if (r->unwind)
		unwind_loader__drop_process(r->unwind, p);
	python__forget(r->py, p);
	/* Its perf map goes with its mappings (read again when its JIT
	 * code is next sampled); exec and exit drop it on their events. */
	if (r->sym)
		symbolizer__forget_process(r->sym, p->tgid);
}

struct receiver *receiver__new(const struct receiver_config *cfg,
			       const struct receiver_sink *sink,
			       const struct tg_logger *log)
{
	struct proctab_opts popts = { .sz = sizeof(popts) };
	struct receiver *r;
	int err;

	if (!cfg || !cfg->freq_hz) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->cfg = *cfg;
	r->cfg.filter = NULL;
	r->sink = sink;
	r->log = log;

	if (cfg->filter) {
		char msg[256];

		r->filter = filter__new(cfg->filter, msg, sizeof(msg));
		if (!r->filter) {
			err = errno;
			tg_err(log, "filter: %s", msg);
			goto err_free;
		}
		r->filter_user = filter__decides_in_user_space(r->filter);
		r->filter_facts = filter__needs_container(r->filter) ||
				  filter__needs_cgroup(r->filter);
	}

	popts.proc_root = cfg->proc_root;
	popts.max_processes = cfg->max_processes;
	popts.reread_interval_ns = cfg->maps_reread_interval_ns;
	popts.exit_grace_ns = cfg->exit_grace_ns;
	popts.idle_ns = cfg->process_idle_ns;
	r->obs.maps_read = on_maps_read;
	r->obs.maps_gone = on_maps_gone;
	r->obs.ctx = r;
	popts.observer = &r->obs;
	r->procs = proctab__new(&popts, log);
	if (!r->procs) {
		err = errno;
		goto err_free;
	}
	return r;

err_free:
	receiver__free(r);
	errno = err;
	return NULL;
}

/* Where cgroup v2 is mounted: @want, else /sys/fs/cgroup (unified
 * hierarchy) or /sys/fs/cgroup/unified (hybrid). NULL when none is. */
static const char *cgroup2_root(const char *want)
{
	static const char *const known[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	struct statfs sf;
	size_t i;

	if (want)
		return !statfs(want, &sf) && sf.f_type == CGROUP2_SUPER_MAGIC ?
			       want :
			       NULL;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!statfs(known[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC)
			return known[i];
	return NULL;
}

/* The id the kernel gives cgroup @path below @root (its file handle, the
 * inode number of the directory). 0 or -errno. */
static int cgroup_id(const char *root, const char *path, uint64_t *ret_id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	char full[4096];
	int mount_id;

	if (snprintf(full, sizeof(full), "%s%s", root, path) >=
	    (int)sizeof(full))
		return -ENAMETOOLONG;
	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(AT_FDCWD, full, &h.fh, &mount_id, 0))
		return -errno;
	if (h.fh.handle_bytes != sizeof(uint64_t))
		return -EINVAL;
	memcpy(ret_id, h.fh.f_handle, sizeof(*ret_id));
	return 0;
}

/* The kernel's share of the filters: PID lists and cgroup ids. */
struct kernel_filter {
	uint32_t *include_tgids;
	uint32_t n_include_tgids;
	uint64_t *cgroups[2]; /* [0] include, [1] exclude */
	uint32_t n_cgroups[2];
};

static void kernel_filter__release(struct kernel_filter *kf)
{
	free(kf->include_tgids);
	free(kf->cgroups[0]);
	free(kf->cgroups[1]);
}

/*
 * Resolves the cgroup paths of one list into ids. An exclude list goes to
 * the kernel with the paths that exist now (user space excludes the
 * rest). An include list goes only whole: a missing path would make the
 * kernel drop processes user space includes once that cgroup appears.
 */
static int kernel_filter__cgroups(struct receiver *r, struct kernel_filter *kf,
				  const char *root, bool exclude)
{
	const char *const *paths;
	size_t i, n;
	uint64_t id;
	int err;

	paths = filter__cgroups(r->filter, exclude, &n);
	if (!n)
		return 0;
	if (!root) {
		tg_info(r->log,
			"filter: no cgroup v2 mount: filter.%s_cgroup is decided in user space only",
			exclude ? "exclude" : "include");
		return 0;
	}
	kf->cgroups[exclude] = calloc(n, sizeof(uint64_t));
	if (!kf->cgroups[exclude])
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = cgroup_id(root, paths[i], &id);
		if (err) {
			tg_info(r->log,
				"filter: cgroup %s: %s: decided in user space",
				paths[i], strerror(-err));
			if (!exclude) {
				kf->n_cgroups[exclude] = 0;
				return 0;
			}
			continue;
		}
		kf->cgroups[exclude][kf->n_cgroups[exclude]++] = id;
	}
	return 0;
}

/* The PID lists and cgroup ids for the sampler's maps; @opts borrows
 * from @kf. */
static int kernel_filter__fill(struct receiver *r, struct kernel_filter *kf,
			       struct sampler_opts *opts)
{
	const uint32_t *inc, *exc;
	size_t n_inc, n_exc, i;
	const char *root;
	int err;

	inc = filter__pids(r->filter, false, &n_inc);
	exc = filter__pids(r->filter, true, &n_exc);
	if (r->cfg.filter_tgid) {
		/* One process, within the include list if there is one. */
		for (i = 0; i < n_inc && inc[i] != r->cfg.filter_tgid; i++)
			;
		if (n_inc && i == n_inc) {
			tg_err(r->log,
			       "filter: process %u is not among the included PIDs: nothing to sample",
			       r->cfg.filter_tgid);
			return -EINVAL;
		}
		inc = &r->cfg.filter_tgid;
		n_inc = 1;
	}
	if (n_inc) {
		kf->include_tgids = malloc(n_inc * sizeof(*inc));
		if (!kf->include_tgids)
			return -ENOMEM;
		memcpy(kf->include_tgids, inc, n_inc * sizeof(*inc));
		kf->n_include_tgids = n_inc;
	}
	opts->include_tgids = kf->include_tgids;
	opts->n_include_tgids = kf->n_include_tgids;
	opts->exclude_tgids = exc;
	opts->n_exclude_tgids = n_exc;

	root = cgroup2_root(r->cfg.cgroup_root);
	if (r->cfg.cgroup_root && !root)
		tg_warn(r->log, "filter: %s is not a cgroup v2 mount",
			r->cfg.cgroup_root);
	err = kernel_filter__cgroups(r, kf, root, false);
	if (!err)
		err = kernel_filter__cgroups(r, kf, root, true);
	if (err)
		return err;
	opts->include_cgroups = kf->cgroups[0];
	opts->n_include_cgroups = kf->n_cgroups[0];
	opts->exclude_cgroups = kf->cgroups[1];
	opts->n_exclude_cgroups = kf->n_cgroups[1];
	opts->dynamic_exclusion = r->filter_user;
	return 0;
}

/* The unwind loader over the sampler's maps, sized as the sampler sized
 * them. */
static int receiver__start_unwind(struct receiver *r,
				  const struct unwind_loader_opts *uopts)
{
	struct sampler_unwind_maps maps;

	sampler__unwind_maps(r->sampler, &maps);
	r->unwind = unwind_loader__new(uopts, &maps, r->log);
	return r->unwind ? 0 : -errno;
}

/* The Python side over the sampler's python_procs map. */
static int receiver__start_python(struct receiver *r)
{
	struct python_opts popts = { .sz = sizeof(popts) };

	popts.proc_root = r->cfg.proc_root;
	popts.map_fd = sampler__python_map(r->sampler);
	popts.code_max_bytes = r->cfg.python_code_bytes;
	r->py = python__new(&popts, r->log);
	return r->py ? 0 : -errno;
}

int receiver__start(struct receiver *r)
{
	struct unwind_loader_opts uopts = { .sz = sizeof(uopts) };
	struct symbolizer_opts sopts = { .sz = sizeof(sopts) };
	struct sampler_opts opts = { .sz = sizeof(opts) };
	struct kernel_filter kf = { 0 };
	int err;

	if (r->sampler)
		return -EALREADY;

	/* Kernel symbols first: loading kallsyms takes a while and must not
	 * hold up the drain once the sampler runs. */
	sopts.proc_root = r->cfg.proc_root;
	sopts.kallsyms_path = r->cfg.kallsyms_path;
	sopts.kernel = r->cfg.kernel_stacks;
	sopts.max_files = r->cfg.max_symbol_files;
	sopts.max_bytes = r->cfg.max_symbol_bytes;
	sopts.perf_maps = r->cfg.perf_maps;
	sopts.perf_map_max_bytes = r->cfg.perf_map_max_bytes;
	r->sym = symbolizer__new(&sopts, r->log);
	if (!r->sym)
		return -errno;

	opts.freq_hz = r->cfg.freq_hz;
	opts.kernel_stacks = r->cfg.kernel_stacks;
	opts.include_idle = r->cfg.include_idle;
	opts.ringbuf_bytes = r->cfg.ringbuf_bytes;
	opts.events_ringbuf_bytes = r->cfg.events_ringbuf_bytes;
	opts.unwind_tables = r->cfg.unwinder == RECEIVER_UNWIND_TABLES;
	opts.python_frames = r->cfg.python_frames;
	opts.off_cpu = r->cfg.off_cpu;
	opts.off_cpu_min_ns = r->cfg.off_cpu_min_ns;
	opts.off_cpu_percent = r->cfg.off_cpu_percent;
	opts.off_cpu_threads = r->cfg.off_cpu_threads;
	uopts.max_bytes = r->cfg.unwind_table_bytes;
	uopts.max_processes = r->cfg.max_processes;
	uopts.proc_root = r->cfg.proc_root;
	if (opts.unwind_tables) {
		unwind_loader__sizes(&uopts, &opts.unwind_sizes, NULL);
		opts.stack_copy_bytes = r->cfg.stack_copy_bytes;
	}
	err = kernel_filter__fill(r, &kf, &opts);
	if (!err) {
		r->sampler = sampler__new(&opts, on_record, r, r->log);
		if (!r->sampler)
			err = -errno;
	}
	kernel_filter__release(&kf);
	if (!err && opts.unwind_tables)
		err = receiver__start_unwind(r, &uopts);
	if (!err && r->cfg.python_frames)
		err = receiver__start_python(r);
	if (err)
		return err;

	if (r->cfg.sweep_interval_ns)
		r->next_sweep_ns = boot_ns() + r->cfg.sweep_interval_ns;
	return 0;
}

/* An exec a repair found: as for an exec record. */
static void on_repaired_exec(void *ctx, struct proc *p)
{
	receiver__new_image(ctx, p, p->tgid);
}

/* A repair reads /proc for every process in the table: under a fork
 * storm that loses events at every drain, at most one a second. */
#define RECEIVER_REPAIR_INTERVAL_NS NSEC_PER_SEC

/*
 * Exec or exit records were lost (events ring full) before the drain that
 * just ended: the table says what those records would have changed only
 * once it looks at /proc, so it looks now rather than at the next sweep
 * (or, right after another repair, at the first drain a second later).
 */
static void receiver__repair(struct receiver *r, uint64_t now, bool force)
{
	uint64_t lost = sampler__events_lost_seen(r->sampler);
	struct proctab_stats before, after;

	if (lost <= r->events_lost_repaired)
		return;
	if (!force && now < r->next_repair_ns)
		return;
	r->next_repair_ns = now + RECEIVER_REPAIR_INTERVAL_NS;
	proctab__stats(r->procs, &before);
	proctab__repair(r->procs, now, on_repaired_exec, r);
	proctab__stats(r->procs, &after);
	r->events_repairs++;
	if (ratelimit__allow(&r->repair_warn, clock_ns(CLOCK_MONOTONIC)))
		tg_warn(r->log,
			"events ring full: %" PRIu64
			" exec/exit events lost; process table repaired from /proc (%" PRIu64
			" exited, %" PRIu64 " exec'd)",
			lost - r->events_lost_repaired,
			after.repair_exits - before.repair_exits,
			after.repair_execs - before.repair_execs);
	r->events_lost_repaired = lost;
}

int receiver__poll(struct receiver *r, int timeout_ms)
{
	uint64_t now;
	int n;

	if (!r->sampler)
		return -EINVAL;
	n = sampler__poll(r->sampler, timeout_ms);
	now = boot_ns();
	receiver__repair(r, now, false);
	if (r->unwind)
		unwind_loader__tick(r->unwind, now);
	proctab__reap(r->procs, now);
	proctab__drop_idle(r->procs, now);
	if (r->next_sweep_ns && now >= r->next_sweep_ns) {
		proctab__sweep(r->procs, now);
		r->next_sweep_ns = now + r->cfg.sweep_interval_ns;
	}
	return n;
}

int receiver__stop(struct receiver *r)
{
	int n;

	if (!r->sampler)
		return -EINVAL;
	n = sampler__stop(r->sampler);
	receiver__repair(r, boot_ns(), true);
	return n;
}

void receiver__sweep(struct receiver *r)
{
	uint64_t now = boot_ns();

	proctab__reap(r->procs, now);
	proctab__sweep(r->procs, now);
}

void receiver__stats(const struct receiver *r, struct receiver_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (r->sampler)
		sampler__counters(r->sampler, &ret->sampler);
	proctab__stats(r->procs, &ret->procs);
	if (r->sym)
		symbolizer__stats(r->sym, &ret->sym);
	ret->records = r->records;
	ret->records_malformed = r->records_malformed;
	ret->samples = r->samples;
	ret->samples_stale = r->samples_stale;
	ret->samples_filtered = r->samples_filtered;
	ret->samples_facts_unknown = r->samples_facts_unknown;
	ret->exclusions = r->exclusions;
	ret->exclusions_failed = r->exclusions_failed;
	ret->unexclusions = r->unexclusions;
	if (r->unwind)
		unwind_loader__stats(r->unwind, &ret->unwind);
	memcpy(ret->unwind_stops, r->unwind_stops, sizeof(ret->unwind_stops));
	python__stats(r->py, &ret->python);
	ret->walks_finished = r->walks_finished;
	ret->offcpu_samples = r->offcpu_samples;
	ret->events_repairs = r->events_repairs;
}

const struct proctab *receiver__proctab(const struct receiver *r)
{
	return r->procs;
}

struct sampler *receiver__sampler(struct receiver *r)
{
	return r->sampler;
}

void receiver__free(struct receiver *r)
{
	if (!r)
		return;
	/* The sampler first: no record may arrive into freed tables. The
	 * loader's maps went with it; the process table no longer tells it
	 * anything (proctab__free() calls no observer). */
	sampler__free(r->sampler);
	unwind_loader__free(r->unwind);
	python__free(r->py);
	symbolizer__free(r->sym);
	proctab__free(r->procs);
	filter__free(r->filter);
	free(r);
}
