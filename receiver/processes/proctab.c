// SPDX-License-Identifier: Apache-2.0
/* The process table between the sampler drain (samples, exec and exit
 * records) and the symbolizer (the mapping behind every user address):
 * one entry per thread group, keyed by TGID + leader start time, its
 * mappings read through a live thread. See proctab.h for the rules. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/sampler.h"
#include "lib/clock.h"
#include "lib/htab.h"
#include "lib/list.h"
#include "lib/opts.h"
#include "receiver/processes/procfs.h"
#include "receiver/processes/proctab.h"

#define PROCTAB_DEFAULT_MAX_PROCESSES 16384
#define PROCTAB_DEFAULT_REREAD_NS (250 * NSEC_PER_MSEC)
/* Bytes of argv[0] a process is named by, as its service.name at most. */
#define PROCTAB_ARGV0_MAX 255
/* Threads tried from ROOT/TGID/task when neither the sampled thread nor
 * the one liveness found could give the maps: bounds the cost of a group
 * that is falling apart. */
#define PROCTAB_MAX_EXTRA_THREADS 4
/* Frame-pointer unwinding through code without frame pointers yields
 * junk; no user code lives below the first page or above 56 bits. */
#define USER_ADDR_MIN 4096ULL
#define USER_ADDR_LIMIT (1ULL << 56)

struct proc_entry {
	struct proc p; /* what callers see */
	struct htab_node node;
	struct link lru; /* in proctab.lru, most recently used first */
	struct link exited; /* in proctab.exited while PROC_EXITED */
	int read_err; /* of the last maps read; 0 after a success */
	/* A sample's address space that a re-read did not find: further
	 * samples from it re-read only at the rate limit. */
	uint64_t unmatched_aspace;
	uint64_t miss_read_ns; /* last re-read for an unknown address */
	/* The image the entry describes (its comm, facts and verdict): its
	 * address space (0: none seen yet) and since when, the time of the
	 * sample or the exec that made it the entry's. */
	uint64_t image_aspace;
	uint64_t image_ns;
	bool group_exit_seen; /* the kernel reported the group's exit */
	bool facts_read; /* exe_path and container_id tried */
	int facts_err; /* of the last proctab__read_facts() */
	uint64_t facts_try_ns; /* when proctab__read_facts() last read */
};

struct proctab {
	struct htab h;
	struct link lru;
	struct link exited;
	char *root;
	uint32_t max_processes;
	uint64_t reread_interval_ns;
	uint64_t exit_grace_ns;
	uint64_t idle_ns; /* 0: mappings never dropped for idleness */
	const struct proctab_observer *obs; /* borrowed, or NULL */
	const struct tg_logger *log; /* borrowed */
	struct proctab_stats stats;
	bool warned_full;
	bool warned_access;
	bool warned_unstable;
};

static struct proc_entry *entry_of(struct proc *p)
{
	return container_of(p, struct proc_entry, p);
}

static void comm_copy(char *dst, size_t size, const char *comm)
{
	size_t n = comm ? strnlen(comm, size - 1) : 0;

	if (n)
		memcpy(dst, comm, n);
	dst[n] = '\0';
}

struct proctab *proctab__new(const struct proctab_opts *opts,
			     const struct tg_logger *log)
{
	const char *root = "/proc";
	struct proctab_opts o;
	struct proctab *pt;
	int err;

	err = opts__copy(&o, sizeof(o), opts);
	if (err) {
		errno = -err;
		return NULL;
	}
	if (o.proc_root)
		root = o.proc_root;

	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	pt->root = strdup(root);
	if (!pt->root) {
		free(pt);
		errno = ENOMEM;
		return NULL;
	}
	link__init(&pt->lru);
	link__init(&pt->exited);
	pt->max_processes = o.max_processes ? o.max_processes :
					      PROCTAB_DEFAULT_MAX_PROCESSES;
	pt->reread_interval_ns = o.reread_interval_ns ?
					 o.reread_interval_ns :
					 PROCTAB_DEFAULT_REREAD_NS;
	pt->exit_grace_ns = o.exit_grace_ns;
	pt->idle_ns = o.idle_ns;
	pt->obs = o.observer;
	pt->log = log;
	return pt;
}

static void entry__drop_facts(struct proc_entry *e)
{
	free((char *)e->p.exe_path);
	e->p.exe_path = NULL;
	free((char *)e->p.argv0);
	e->p.argv0 = NULL;
	e->p.container_id[0] = '\0';
	free((char *)e->p.cgroup_path);
	e->p.cgroup_path = NULL;
	e->p.cgroup_known = false;
	e->facts_read = false;
	e->facts_err = 0;
	e->facts_try_ns = 0;
	e->p.facts_gen++;
}

static void entry__free(struct proc_entry *e)
{
	maps__free(e->p.maps);
	free((char *)e->p.exe_path);
	free((char *)e->p.argv0);
	free((char *)e->p.cgroup_path);
	free(e);
}

static void proctab__maps_gone(struct proctab *pt, struct proc_entry *e)
{
	if (pt->obs && pt->obs->maps_gone)
		pt->obs->maps_gone(pt->obs->ctx, &e->p);
}

static void proctab__remove(struct proctab *pt, struct proc_entry *e)
{
	proctab__maps_gone(pt, e);
	htab__remove(&pt->h, &e->node);
	link__del(&e->lru);
	link__del(&e->exited);
	entry__free(e);
}

void proctab__free(struct proctab *pt)
{
	struct link *l, *next;

	if (!pt)
		return;
	for (l = pt->lru.next; l != &pt->lru; l = next) {
		next = l->next;
		entry__free(container_of(l, struct proc_entry, lru));
	}
	htab__free(&pt->h);
	free(pt->root);
	free(pt);
}

static struct proc_entry *proctab__find(struct proctab *pt, uint32_t tgid,
					uint64_t start_ns)
{
	uint64_t hash = hash_u64(tgid);
	struct htab_node *pos;
	struct proc_entry *e;

	htab_for_each(&pt->h, pos, hash) {
		e = container_of(pos, struct proc_entry, node);
		if (e->p.tgid == tgid && e->p.start_ns == start_ns)
			return e;
	}
	return NULL;
}

struct proc *proctab__lookup(struct proctab *pt, uint32_t tgid,
			     uint64_t start_ns)
{
	struct proc_entry *e = proctab__find(pt, tgid, start_ns);

	return e ? &e->p : NULL;
}

static void proctab__evict_lru(struct proctab *pt)
{
	struct proc_entry *e;

	if (pt->lru.prev == &pt->lru)
		return;
	e = container_of(pt->lru.prev, struct proc_entry, lru);
	if (!pt->warned_full) {
		tg_warn(pt->log,
			"proctab: %u processes tracked, evicting the least recently sampled; raise max_processes",
			pt->max_processes);
		pt->warned_full = true;
	}
	tg_debug(pt->log, "proctab: evicted %u (%s)", e->p.tgid, e->p.comm);
	pt->stats.evictions++;
	proctab__remove(pt, e);
}

struct proc *proctab__get(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
			  const char *comm, bool kernel_thread, uint64_t now_ns)
{
	struct proc_entry *e = proctab__find(pt, tgid, start_ns);
	int err;

	if (e) {
		link__del(&e->lru);
		link__add_head(&pt->lru, &e->lru);
		goto used;
	}

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->p.tgid = tgid;
	e->p.start_ns = start_ns;
	e->p.kernel_thread = kernel_thread;
	comm_copy(e->p.comm, sizeof(e->p.comm), comm);
	link__init(&e->exited);
	if (pt->h.count >= pt->max_processes)
		proctab__evict_lru(pt);
	err = htab__insert(&pt->h, &e->node, hash_u64(tgid));
	if (err) {
		free(e);
		errno = -err;
		return NULL;
	}
	link__add_head(&pt->lru, &e->lru);
	pt->stats.new_processes++;
	tg_debug(pt->log, "proctab: new process %u (%s) started at %llu ns",
		 tgid, e->p.comm, (unsigned long long)start_ns);
used:
	e->p.last_sample_ns = now_ns;
	e->p.samples++;
	return &e->p;
}

static void proctab__mark_exited(struct proctab *pt, struct proc_entry *e,
				 uint64_t now_ns, const char *why)
{
	if (e->p.state == PROC_EXITED) {
		/* Keep it at least as long as the latest news of it. */
		if (now_ns > e->p.exit_ns)
			e->p.exit_ns = now_ns;
		return;
	}
	e->p.state = PROC_EXITED;
	e->p.exit_ns = now_ns;
	link__add_head(&pt->exited, &e->exited);
	tg_debug(pt->log, "proctab: %u (%s) exited (%s)", e->p.tgid, e->p.comm,
		 why);
}

static enum group_liveness proctab__liveness(struct proctab *pt,
					     const struct proc *p,
					     uint32_t *ret_live_tid)
{
	return procfs__group_liveness(pt->root, p->tgid,
				      procfs__ns_to_ticks(p->start_ns),
				      ret_live_tid);
}

static const char *liveness_name(enum group_liveness l)
{
	switch (l) {
	case GROUP_ALIVE:
		return "alive";
	case GROUP_DEAD:
		return "dead";
	case GROUP_REUSED:
		return "pid reused";
	}
	return "?";
}

static uint64_t stat_aspace(const struct proc_stat *st)
{
	/* Without an mm (zombie, exiting) stat shows 0 0 0, without ptrace
	 * access 1 1 0: neither names an address space. */
	if (st->start_code <= 1 && st->end_code <= 1 && !st->start_stack)
		return 0;
	return tgprof_aspace_id(st->start_code, st->end_code, st->start_stack);
}

/*
 * Reads and parses the maps of one thread (@tid 0: ROOT/TGID/maps),
 * bracketed by two stat reads so the address space they belong to is
 * known. Returns 0, -ENODATA when the thread has no mappings to show
 * (zombie, exiting), -ENOENT when it is gone, -EAGAIN when the address
 * space kept changing, or another -errno.
 */
static int proctab__read_thread(struct proctab *pt, uint32_t tgid, uint32_t tid,
				struct maps **ret_maps, uint64_t *ret_aspace)
{
	struct proc_stat before, after;
	struct maps *maps;
	size_t len;
	char *buf;
	int attempt, err;

	for (attempt = 0; attempt < 2; attempt++) {
		err = procfs__read_stat(pt->root, tgid, tid, &before);
		if (err)
			return err;
		if (procfs__state_is_dead(before.state))
			return -ENODATA;
		err = procfs__read_maps(pt->root, tgid, tid, &buf, &len);
		if (err)
			return err;
		/* Empty is not "exited": a zombie leader's maps are empty
		 * while its threads run. Another thread may show them. */
		if (!len) {
			free(buf);
			return -ENODATA;
		}
		err = procfs__read_stat(pt->root, tgid, tid, &after);
		if (err) {
			free(buf);
			return err;
		}
		if (stat_aspace(&before) != stat_aspace(&after)) {
			/* An exec ran while we read: the text may mix the
			 * old image and the new one. */
			free(buf);
			continue;
		}
		err = maps__parse(buf, len, MAPS_EXEC_ONLY, &maps);
		free(buf);
		if (err)
			return err;
		*ret_maps = maps;
		*ret_aspace = stat_aspace(&after);
		return 0;
	}
	if (!pt->warned_unstable) {
		tg_warn(pt->log,
			"proctab: the address space of %u changed during two maps reads in a row",
			tgid);
		pt->warned_unstable = true;
	}
	return -EAGAIN;
}

/* The search for a thread to read the maps through. */
struct read_ctx {
	struct proctab *pt;
	uint32_t tgid;
	uint32_t tried[3 + PROCTAB_MAX_EXTRA_THREADS];
	size_t ntried;
	int err; /* the most telling failure so far */
	struct maps *maps;
	uint64_t aspace;
	uint32_t tid; /* the thread the maps came through */
};

/* Failures another thread of the same group cannot fix. */
static bool read_err_is_final(int err)
{
	return err != -ENOENT && err != -ESRCH && err != -ENODATA &&
	       err != -EINVAL;
}

/* Returns 1 when the maps were read, 0 to go on, -errno to stop. */
static int read_ctx__try(struct read_ctx *c, uint32_t tid)
{
	size_t i;
	int err;

	for (i = 0; i < c->ntried; i++)
		if (c->tried[i] == tid)
			return 0;
	if (c->ntried == sizeof(c->tried) / sizeof(c->tried[0]))
		return -E2BIG;
	c->tried[c->ntried++] = tid;

	err = proctab__read_thread(c->pt, c->tgid, tid, &c->maps, &c->aspace);
	if (!err) {
		c->tid = tid;
		return 1;
	}
	/* "Gone" says the least: keep whatever else we learnt. */
	if (!c->err || c->err == -ENOENT)
		c->err = err;
	return read_err_is_final(err) ? err : 0;
}

static int read_ctx__try_task(void *ctx, uint32_t tid)
{
	struct read_ctx *c = ctx;

	/* The last slot is kept for ROOT/TGID/maps. */
	if (c->ntried >= sizeof(c->tried) / sizeof(c->tried[0]) - 1)
		return -E2BIG;
	return read_ctx__try(c, tid);
}

/*
 * Reads @p's maps through a live thread (DESIGN.md section 3, rule 2):
 * the sampled @tid, then the one liveness found, then a few others, then
 * ROOT/TGID/maps. Liveness goes first because it also checks the leader's
 * start time: a reused TGID must never lend its maps to the old process.
 * *ret_liveness tells a dead or reused group from a failed read.
 */
static int proctab__read_live(struct proctab *pt, const struct proc *p,
			      uint32_t tid, struct read_ctx *c,
			      enum group_liveness *ret_liveness)
{
	uint32_t live = 0;
	int r = 0;

	*ret_liveness = proctab__liveness(pt, p, &live);
	if (*ret_liveness != GROUP_ALIVE)
		return -ENOENT;
	if (tid) {
		r = read_ctx__try(c, tid);
		if (r)
			goto out;
	}
	r = read_ctx__try(c, live);
	if (r)
		goto out;
	r = procfs__for_each_task(pt->root, p->tgid, read_ctx__try_task, c);
	if (r == 1 || (r < 0 && r != -E2BIG && read_err_is_final(r)))
		goto out;
	/* The listing failed or ran out of tries: the leader is the last
	 * resort. */
	r = read_ctx__try(c, 0);
out:
	if (r == 1)
		return 0;
	if (r < 0 && r != -E2BIG)
		return r;
	return c->err ? c->err : -ENOENT;
}

/* Rate limits run on the real clock: sample timestamps lag behind it. */
static bool interval_passed(const struct proctab *pt, uint64_t since_ns)
{
	uint64_t now = boot_ns();

	return now >= since_ns && now - since_ns >= pt->reread_interval_ns;
}

/*
 * Reads the executable path, the container id and the cgroup path through
 * thread @tid (0: the group's own entry). Returns 0 when the cgroup file
 * was read, else -errno; a missing executable (kernel threads) only
 * counts.
 */
static int proctab__load_facts(struct proctab *pt, struct proc_entry *e,
			       uint32_t tid)
{
	struct procfs_cgroup_facts cf;
	char path[PATH_MAX];
	int err;

	e->facts_read = true;
	pt->stats.facts_reads++;
	if (!e->p.exe_path) {
		err = procfs__read_exe(pt->root, e->p.tgid, tid, path,
				       sizeof(path));
		if (!err) {
			e->p.exe_path = strdup(path);
			err = e->p.exe_path ? 0 : -ENOMEM;
		}
		if (err) {
			pt->stats.facts_errors++;
			tg_debug(pt->log, "proctab: executable of %u (%s): %s",
				 e->p.tgid, e->p.comm, strerror(-err));
		}
	}
	/* Only a program without a file name is named by its argv[0]. */
	if (e->p.exe_path && !e->p.argv0 &&
	    procfs__exe_is_anonymous(e->p.exe_path) &&
	    !procfs__read_argv0(pt->root, e->p.tgid, tid, path,
				PROCTAB_ARGV0_MAX + 1))
		e->p.argv0 = strdup(path);
	err = procfs__read_cgroup_facts(pt->root, e->p.tgid, tid, &cf);
	if (!err) {
		memcpy(e->p.container_id, cf.container_id,
		       sizeof(e->p.container_id));
		free((char *)e->p.cgroup_path);
		e->p.cgroup_path = NULL;
		if (cf.path[0]) {
			e->p.cgroup_path = strdup(cf.path);
			if (!e->p.cgroup_path)
				err = -ENOMEM;
		}
	}
	if (err) {
		pt->stats.cgroup_errors++;
		e->p.container_id[0] = '\0';
	}
	e->p.cgroup_known = !err;
	e->p.facts_gen++;
	return err;
}

int proctab__read_facts(struct proctab *pt, struct proc *p, uint32_t tid)
{
	struct proc_entry *e = entry_of(p);
	uint32_t live = 0;
	int err;

	if (p->cgroup_known)
		return 0;
	if (e->facts_try_ns && !interval_passed(pt, e->facts_try_ns)) {
		pt->stats.facts_ratelimited++;
		return e->facts_err ? e->facts_err : -EAGAIN;
	}
	e->facts_try_ns = boot_ns();
	err = proctab__load_facts(pt, e, tid);
	/* The sampled thread is gone: another one of the same process (the
	 * liveness test checks the leader's start time) will do. */
	if (err == -ENOENT && tid &&
	    proctab__liveness(pt, p, &live) == GROUP_ALIVE && live != tid)
		err = proctab__load_facts(pt, e, live);
	e->facts_err = err;
	return err;
}

/*
 * (Re)reads @e's maps. On failure the old maps stay (samples taken before
 * an exit still need them) and a group found dead or reused is marked
 * exited, to be freed by proctab__reap().
 */
static int proctab__refresh(struct proctab *pt, struct proc_entry *e,
			    uint32_t tid, uint64_t now_ns)
{
	struct read_ctx c = { .pt = pt, .tgid = e->p.tgid };
	struct proc *p = &e->p;
	enum group_liveness l;
	int err;

	if (p->maps_reads)
		pt->stats.maps_rereads++;
	else
		pt->stats.maps_reads++;
	p->maps_reads++;
	p->maps_read_ns = boot_ns();

	err = proctab__read_live(pt, p, tid, &c, &l);
	if (err) {
		pt->stats.maps_read_errors++;
		e->read_err = err;
		tg_debug(pt->log,
			 "proctab: maps of %u (%s) unreadable: %s (%s)",
			 p->tgid, p->comm, strerror(-err), liveness_name(l));
		if ((err == -EACCES || err == -EPERM) && !pt->warned_access) {
			tg_warn(pt->log,
				"proctab: no access to the maps of %u (%s): user frames stay unsymbolized; tgprof needs CAP_SYS_PTRACE",
				p->tgid, p->comm);
			pt->warned_access = true;
		}
		if (l != GROUP_ALIVE)
			proctab__mark_exited(pt, e, now_ns, liveness_name(l));
		return err;
	}
	maps__free(p->maps);
	p->maps = c.maps;
	p->aspace_id = c.aspace;
	e->read_err = 0;
	if (!e->facts_read)
		proctab__load_facts(pt, e, c.tid);
	if (pt->obs && pt->obs->maps_read)
		pt->obs->maps_read(pt->obs->ctx, p, c.tid);
	tg_debug(
		pt->log,
		"proctab: maps of %u (%s) read through tid %u: %zu executable mappings",
		p->tgid, p->comm, c.tid, p->maps->n);
	return 0;
}

/* Repeats of a read that failed or did not match: since the last try. */
static bool proctab__may_reread(const struct proctab *pt, const struct proc *p)
{
	return !p->maps_reads || interval_passed(pt, p->maps_read_ns);
}

/* Unknown addresses (proctab_opts.reread_interval_ns): since the last
 * re-read one of them caused, so the first miss is always looked up. */
static bool proctab__may_reread_miss(const struct proctab *pt,
				     const struct proc_entry *e)
{
	return !e->miss_read_ns || interval_passed(pt, e->miss_read_ns);
}

int proctab__prepare(struct proctab *pt, struct proc *p, uint32_t tid,
		     uint64_t aspace_id, uint64_t now_ns)
{
	struct proc_entry *e = entry_of(p);
	bool fresh = false;
	int err;

	if (p->kernel_thread)
		return -ENOENT;
	if (!p->maps) {
		/* A process whose maps cannot be read would otherwise cost
		 * a round of /proc reads per sample. */
		if (e->read_err && !proctab__may_reread(pt, p)) {
			pt->stats.maps_reread_ratelimited++;
			return e->read_err;
		}
		err = proctab__refresh(pt, e, tid, now_ns);
		if (err)
			return err;
		fresh = true;
	}
	/* 0 on either side: no address space to compare (kernel thread,
	 * stat without an mm or without access). */
	if (!aspace_id || !p->aspace_id || aspace_id == p->aspace_id)
		return 0;

	/* Maps read before the sample may predate an exec whose event was
	 * lost: look again. Maps read after it belong to a later image. */
	if (!fresh && p->maps_read_ns < now_ns) {
		if (aspace_id == e->unmatched_aspace &&
		    !proctab__may_reread(pt, p)) {
			pt->stats.maps_reread_ratelimited++;
		} else if (!proctab__refresh(pt, e, tid, now_ns)) {
			if (aspace_id == p->aspace_id) {
				e->unmatched_aspace = 0;
				return 0;
			}
			e->unmatched_aspace = aspace_id;
		}
	}
	pt->stats.stale_aspace++;
	return -ESTALE;
}

const struct mapping *proctab__find_mapping(struct proctab *pt, struct proc *p,
					    uint32_t tid, uint64_t addr,
					    uint64_t now_ns)
{
	struct proc_entry *e = entry_of(p);
	const struct mapping *m;
	uint64_t aspace;

	if (p->kernel_thread)
		return NULL;
	m = maps__find(p->maps, addr);
	if (m || addr < USER_ADDR_MIN || addr >= USER_ADDR_LIMIT)
		return m;
	if (!proctab__may_reread_miss(pt, e)) {
		pt->stats.maps_reread_ratelimited++;
		return NULL;
	}
	e->miss_read_ns = boot_ns();
	aspace = p->aspace_id;
	if (proctab__refresh(pt, e, tid, now_ns))
		return NULL;
	/* An exec since the sample: the new maps describe another image. */
	if (aspace && p->aspace_id && aspace != p->aspace_id)
		return NULL;
	return maps__find(p->maps, addr);
}

/* The mappings go (the observer hears it); the next sample reads them. */
static void entry__forget_maps(struct proctab *pt, struct proc_entry *e)
{
	proctab__maps_gone(pt, e);
	maps__free(e->p.maps);
	e->p.maps = NULL;
	e->p.aspace_id = 0;
	e->read_err = 0;
	e->unmatched_aspace = 0;
	e->miss_read_ns = 0;
}

static void entry__exec(struct proctab *pt, struct proc_entry *e,
			const char *comm, uint64_t aspace_id, uint64_t now_ns)
{
	tg_debug(pt->log, "proctab: %u exec: %s -> %.16s", e->p.tgid, e->p.comm,
		 comm ? comm : "");
	entry__forget_maps(pt, e);
	entry__drop_facts(e);
	comm_copy(e->p.comm, sizeof(e->p.comm), comm);
	e->image_aspace = aspace_id;
	e->image_ns = now_ns;
	pt->stats.execs++;
}

bool proctab__on_exec(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
		      const char *comm, uint64_t aspace_id, uint64_t now_ns)
{
	struct proc_entry *e = proctab__find(pt, tgid, start_ns);

	if (!e)
		return false;
	/* Its samples got here first. */
	if (aspace_id && aspace_id == e->image_aspace)
		return false;
	entry__exec(pt, e, comm, aspace_id, now_ns);
	return true;
}

bool proctab__follow_image(struct proctab *pt, struct proc *p,
			   uint64_t aspace_id, const char *comm, uint64_t ts_ns)
{
	struct proc_entry *e = entry_of(p);

	if (!aspace_id || p->kernel_thread || p->state != PROC_ALIVE)
		return false;
	if (!e->image_aspace) {
		e->image_aspace = aspace_id;
		e->image_ns = ts_ns;
		return false;
	}
	if (aspace_id == e->image_aspace || ts_ns <= e->image_ns)
		return false;
	pt->stats.execs_from_samples++;
	entry__exec(pt, e, comm, aspace_id, ts_ns);
	return true;
}

void proctab__on_exit(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
		      bool leader, bool group_dead, uint64_t now_ns)
{
	struct proc_entry *e = proctab__find(pt, tgid, start_ns);
	enum group_liveness l;
	uint32_t live = 0;

	if (!e)
		return;
	if (group_dead) {
		/* Counted once per process, even when a failed read or a
		 * leader exit found the group dead first. */
		if (e->group_exit_seen)
			return;
		e->group_exit_seen = true;
		pt->stats.group_exits++;
		proctab__mark_exited(pt, e, now_ns, "group exit");
		return;
	}
	if (!leader)
		return;
	/* pthread_exit() of the leader: the group lives on in its other
	 * threads (DESIGN.md section 3). */
	pt->stats.leader_exits++;
	l = proctab__liveness(pt, &e->p, &live);
	if (l != GROUP_ALIVE) {
		proctab__mark_exited(pt, e, now_ns, liveness_name(l));
		return;
	}
	tg_debug(pt->log, "proctab: leader of %u (%s) left, alive through %u",
		 tgid, e->p.comm, live);
}

void proctab__reap(struct proctab *pt, uint64_t now_ns)
{
	struct link *l, *next;
	struct proc_entry *e;
	uint64_t age;

	for (l = pt->exited.next; l != &pt->exited; l = next) {
		next = l->next;
		e = container_of(l, struct proc_entry, exited);
		age = now_ns > e->p.exit_ns ? now_ns - e->p.exit_ns : 0;
		if (age < pt->exit_grace_ns)
			continue;
		tg_debug(pt->log, "proctab: reaped %u (%s)", e->p.tgid,
			 e->p.comm);
		pt->stats.reaped++;
		proctab__remove(pt, e);
	}
}

void proctab__sweep(struct proctab *pt, uint64_t now_ns)
{
	struct link *l, *next;
	struct proc_entry *e;
	enum group_liveness lv;

	(void)now_ns;
	pt->stats.sweeps++;
	for (l = pt->lru.next; l != &pt->lru; l = next) {
		next = l->next;
		e = container_of(l, struct proc_entry, lru);
		/* TGID 0 is the idle task: never in /proc, never gone. */
		if (e->p.state != PROC_ALIVE || !e->p.tgid)
			continue;
		lv = proctab__liveness(pt, &e->p, NULL);
		if (lv == GROUP_ALIVE)
			continue;
		tg_debug(pt->log, "proctab: sweep removed %u (%s): %s",
			 e->p.tgid, e->p.comm, liveness_name(lv));
		pt->stats.sweep_removals++;
		proctab__remove(pt, e);
	}
}

void proctab__drop_idle(struct proctab *pt, uint64_t now_ns)
{
	struct link *l, *prev;
	struct proc_entry *e;

	if (!pt->idle_ns)
		return;
	/* Least recently sampled first: the walk stops at the first entry
	 * sampled within idle_ns, the rest were sampled later still. */
	for (l = pt->lru.prev; l != &pt->lru; l = prev) {
		prev = l->prev;
		e = container_of(l, struct proc_entry, lru);
		if (now_ns < e->p.last_sample_ns ||
		    now_ns - e->p.last_sample_ns < pt->idle_ns)
			break;
		if (e->p.state != PROC_ALIVE || !e->p.maps)
			continue;
		tg_debug(pt->log, "proctab: %u (%s) idle, mappings dropped",
			 e->p.tgid, e->p.comm);
		entry__forget_maps(pt, e);
		pt->stats.idle_drops++;
	}
}

static size_t str_memory(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

/*
 * Lost events: the dead are marked exited rather than removed, so samples
 * taken before their exit and still in the ring are named through the
 * grace like after a reported exit. An address space other than the one
 * the maps were read from is an exec: everything proctab__on_exec() drops
 * goes, and the name /proc shows is taken.
 */
void proctab__repair(struct proctab *pt, uint64_t now_ns,
		     void (*on_exec)(void *ctx, struct proc *p), void *ctx)
{
	struct link *l, *next;
	struct proc_entry *e;
	struct proc_stat st;
	enum group_liveness lv;
	uint64_t aspace;

	pt->stats.repairs++;
	for (l = pt->lru.next; l != &pt->lru; l = next) {
		next = l->next;
		e = container_of(l, struct proc_entry, lru);
		if (e->p.state != PROC_ALIVE || !e->p.tgid)
			continue;
		lv = proctab__liveness(pt, &e->p, NULL);
		if (lv != GROUP_ALIVE) {
			pt->stats.repair_exits++;
			proctab__mark_exited(pt, e, now_ns, liveness_name(lv));
			continue;
		}
		if (e->p.kernel_thread || !e->p.aspace_id ||
		    procfs__read_stat(pt->root, e->p.tgid, 0, &st))
			continue;
		aspace = stat_aspace(&st);
		if (!aspace || aspace == e->p.aspace_id)
			continue;
		if (!proctab__on_exec(pt, e->p.tgid, e->p.start_ns, st.comm,
				      aspace, now_ns))
			continue;
		pt->stats.repair_execs++;
		if (on_exec)
			on_exec(ctx, &e->p);
	}
}

void proctab__stats(const struct proctab *pt, struct proctab_stats *ret)
{
	const struct link *l;
	const struct proc_entry *e;
	uint64_t bytes = sizeof(*pt) + pt->h.nbuckets * sizeof(void *);

	for (l = pt->lru.next; l != &pt->lru; l = l->next) {
		e = container_of(l, const struct proc_entry, lru);
		bytes += sizeof(*e) + str_memory(e->p.exe_path) +
			 str_memory(e->p.argv0) + str_memory(e->p.cgroup_path);
		if (e->p.maps)
			bytes += e->p.maps->memory;
	}
	*ret = pt->stats;
	ret->processes = pt->h.count;
	ret->bytes = bytes;
}

void proctab__for_each(const struct proctab *pt,
		       void (*fn)(void *ctx, const struct proc *p), void *ctx)
{
	const struct link *l, *next;

	for (l = pt->lru.next; l != &pt->lru; l = next) {
		next = l->next;
		fn(ctx, &container_of(l, struct proc_entry, lru)->p);
	}
}
