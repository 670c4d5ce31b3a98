/* SPDX-License-Identifier: Apache-2.0 */
/* The process table: what tgprof knows about every thread group it has
 * sampled, keyed by TGID + leader start time, following the thread-group
 * rules of DESIGN.md section 3:
 *
 *  1. identity = TGID + leader start time: a reused PID is a new process;
 *  2. mappings are read through a live thread, preferring the sampled TID;
 *  3. liveness = some task in ROOT/TGID/task is neither zombie nor dead;
 *  4. exit cleanup is deferred (proctab__reap) until the samples taken
 *     before the exit have been symbolized;
 *  5. an address outside the known mappings triggers a rate-limited
 *     re-read through a live thread (dlopen, JIT after the leader left);
 *  6. exec replaces the mappings, keeping the process;
 *  7. every transition is counted in struct proctab_stats.
 *
 * An observer (proctab_opts.observer) hears when a process's mappings are
 * read and when they go (exec, exit reaped, sweep, eviction, idle): the
 * unwind tables follow them (receiver/unwind/loader.h).
 *
 * A process not sampled for proctab_opts.idle_ns keeps its entry (identity,
 * name, filter facts) but its mappings are dropped (proctab__drop_idle()),
 * read again at its next sample: a host's sleeping daemons cost a few
 * hundred bytes each, not their maps and what follows them.
 *
 * Not thread-safe: one receiver thread owns it.
 */
#ifndef TGPROF_RECEIVER_PROCTAB_H
#define TGPROF_RECEIVER_PROCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"
#include "receiver/processes/maps.h"
#include "receiver/processes/procfs.h"

enum proc_state {
	PROC_ALIVE = 0,
	PROC_EXITED, /* group exit seen; freed by proctab__reap() */
};

/* What the receiver's filters decided about a process image. */
enum proc_verdict {
	PROC_VERDICT_UNKNOWN = 0,
	PROC_VERDICT_ALLOWED,
	PROC_VERDICT_EXCLUDED,
};

struct proc {
	uint32_t tgid;
	uint64_t start_ns; /* leader start, CLOCK_BOOTTIME ns */
	char comm[16]; /* process (leader) name; updated on exec */
	enum proc_state state;
	uint64_t exit_ns; /* when the group exit was seen */
	bool kernel_thread; /* no user address space, never reads maps */

	struct maps *maps; /* executable mappings; NULL until read */
	uint64_t aspace_id; /* address space the maps were read from */
	uint64_t maps_read_ns; /* last (re)read attempt */
	uint32_t maps_reads; /* reads of this process's maps, all causes */
	uint64_t last_sample_ns;
	uint64_t samples;

	/* What a profile names the process by (its OTLP resource). Read once
	 * through the live thread its maps came through, again after an
	 * exec. */
	const char *exe_path; /* as the process sees it; NULL unknown; owned
				 by the table */
	/* The base name of argv[0], read only when exe_path has no file
	 * name of its own (procfs__exe_is_anonymous()): the name such a
	 * program goes by, its comm being the memfd's. NULL: not read or
	 * none. Owned by the table. */
	const char *argv0;
	char container_id[PROCFS_CONTAINER_ID_LEN + 1]; /* "": none/unknown */
	/* The cgroup v2 path (the "0::" line of /proc/TGID/cgroup, as
	 * tgprof's cgroup namespace shows it); NULL: none or unknown. Owned
	 * by the table. */
	const char *cgroup_path;
	/* The cgroup file of this image was read: container_id and
	 * cgroup_path say what the process has, not what is unknown. */
	bool cgroup_known;
	/* Changes whenever exe_path, container_id, cgroup_path or comm may
	 * have: a consumer that copied them compares it to know when to copy
	 * again. */
	uint32_t facts_gen;

	/* The receiver's filter verdict on this image (receiver.c): valid
	 * while verdict_gen == facts_gen, so an exec asks again. */
	enum proc_verdict verdict;
	uint32_t verdict_gen;
	bool kernel_excluded; /* in the sampler's exclusion map */
	/* The unwind loader's record of this process's ranges; owned by the
	 * observer (receiver/unwind/loader.c), NULL without one. */
	void *unwind;
	/* What receiver/runtimes/python/python.c found of this image; owned
	 * by it, NULL without one. */
	void *python;
	/* private: table linkage, owned by proctab.c */
	void *priv;
};

/* Told when a process's mappings change. Called from the table's own
 * calls, so it must not call back into the table. */
struct proctab_observer {
	/* p->maps were just read (or read again) through thread @tid. */
	void (*maps_read)(void *ctx, struct proc *p, uint32_t tid);
	/* p->maps are about to go: an exec, or @p leaves the table (reaped,
	 * swept, evicted). Not called by proctab__free(). */
	void (*maps_gone)(void *ctx, struct proc *p);
	void *ctx;
};

struct proctab_opts {
	size_t sz; /* sizeof(struct proctab_opts) */
	const char *proc_root; /* NULL: "/proc" */
	uint32_t max_processes; /* 0: 16384; beyond it the LRU is evicted */
	/* Minimum time between two re-reads of one process's maps caused by
	 * an unknown address. 0: 250 ms. */
	uint64_t reread_interval_ns;
	/* How long an exited process is kept before proctab__reap() frees
	 * it. 0: free on the first reap after the exit. */
	uint64_t exit_grace_ns;
	/* NULL: none. Borrowed; must outlive the table. */
	const struct proctab_observer *observer;
	/* proctab__drop_idle() drops the mappings of processes not sampled
	 * for this long. 0: never. */
	uint64_t idle_ns;
};

struct proctab_stats {
	uint64_t processes; /* in the table now (alive + exited-not-reaped) */
	uint64_t new_processes;
	uint64_t execs;
	uint64_t execs_from_samples; /* of execs: seen in a sample first */
	uint64_t leader_exits; /* leader left, group still alive */
	uint64_t group_exits; /* reported by the kernel */
	uint64_t maps_reads; /* first reads */
	uint64_t maps_rereads; /* reads caused by exec, unknown address or a
				  changed address space */
	uint64_t maps_read_errors;
	uint64_t maps_reread_ratelimited;
	uint64_t stale_aspace; /* samples from an address space whose maps
				  are gone (taken before an exec) */
	uint64_t sweeps;
	uint64_t sweep_removals; /* dead processes found by a sweep */
	uint64_t reaped; /* exited processes freed after the grace period */
	uint64_t evictions; /* removed because the table was full */
	uint64_t facts_reads; /* executable and cgroup reads */
	uint64_t facts_errors; /* executable unreadable (container id
				  missing is not an error) */
	uint64_t cgroup_errors; /* cgroup file unreadable */
	uint64_t facts_ratelimited; /* proctab__read_facts() retries held
				       back */
	/* Mappings dropped because the process was not sampled for idle_ns
	 * (read again at its next sample). */
	uint64_t idle_drops;
	/* Memory of the table now: entries, their mappings and strings. */
	uint64_t bytes;
	uint64_t repairs; /* proctab__repair() runs */
	uint64_t repair_exits; /* dead processes a repair marked exited */
	uint64_t repair_execs; /* exec'd processes a repair found */
};

/* Returns a new table (caller frees with proctab__free()) or NULL + errno. */
struct proctab *proctab__new(const struct proctab_opts *opts,
			     const struct tg_logger *log);
/* Accepts NULL. */
void proctab__free(struct proctab *pt);

/* The entry for (tgid, start_ns), or NULL. Borrowed; valid until the next
 * call that may remove entries (sweep, reap, get). */
struct proc *proctab__lookup(struct proctab *pt, uint32_t tgid,
			     uint64_t start_ns);

/*
 * The entry for a sample of (tgid, start_ns), created (and counted as a
 * new process) when missing. @comm is the leader's name. Marks it used at
 * @now_ns for LRU eviction and counts the sample (p->samples,
 * p->last_sample_ns). Returns NULL + errno on allocation failure.
 */
struct proc *proctab__get(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
			  const char *comm, bool kernel_thread,
			  uint64_t now_ns);

/*
 * Prepares @p's mappings for a sample of thread @tid taken in address space
 * @aspace_id: reads them on first use, re-reads them when they were read
 * from another address space (exec not yet reported, or lost).
 * Returns 0 when p->maps match the sample, -ESTALE when the sample predates
 * the address space the maps were read from (counted in stale_aspace), or
 * -errno when no live thread could be read.
 */
int proctab__prepare(struct proctab *pt, struct proc *p, uint32_t tid,
		     uint64_t aspace_id, uint64_t now_ns);

/*
 * The mapping containing @addr. On a miss, re-reads the maps through @tid
 * (or another live thread) at most once per reread_interval_ns and looks
 * again. Returns a mapping borrowed from p->maps (valid until the next
 * proctab call on @p) or NULL.
 */
const struct mapping *proctab__find_mapping(struct proctab *pt, struct proc *p,
					    uint32_t tid, uint64_t addr,
					    uint64_t now_ns);

/*
 * Makes sure the executable path, the container id and the cgroup path of
 * @p's current image were read, through thread @tid first (the sampled
 * one), else through a live thread. Filters need them before a sample is
 * symbolized, so before any maps read. A failed read is tried again at
 * most once per reread_interval_ns. Returns 0 when p->cgroup_known, or
 * -errno (the facts stay unknown).
 */
int proctab__read_facts(struct proctab *pt, struct proc *p, uint32_t tid);

/*
 * The kernel reported an exec in the group, into the address space
 * @aspace_id (tgprof_aspace_id(); 0: unknown): drops the mappings (read
 * again at the next sample) and the facts, and takes the new name.
 * Returns true when it did; false for an unknown process, or one whose
 * samples already moved it to that image (proctab__follow_image()).
 */
bool proctab__on_exec(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
		      const char *comm, uint64_t aspace_id, uint64_t now_ns);

/*
 * A sample of @p taken at @ts_ns in the address space @aspace_id, its
 * leader named @comm. When that is an image later than the one the entry
 * describes, the process exec'd and the record saying so is still to come
 * (the events ring is read once per drain, so a sample written after that
 * read can precede its exec) or was lost: the entry is moved to the new
 * image now, as by proctab__on_exec(), so that the filters and the
 * process's name never take a sample of the new image for the old one.
 * Returns true then (counted in execs and execs_from_samples); the record,
 * when it comes, finds it done. A sample older than the image the entry
 * describes, or without an address space, changes nothing.
 */
bool proctab__follow_image(struct proctab *pt, struct proc *p,
			   uint64_t aspace_id, const char *comm,
			   uint64_t ts_ns);

/* The kernel reported the leader's exit (@group_dead false:
 * pthread_exit(), liveness is checked) or the whole group's. Group exits
 * are deferred: the entry turns PROC_EXITED and proctab__reap() frees it. */
void proctab__on_exit(struct proctab *pt, uint32_t tgid, uint64_t start_ns,
		      bool leader, bool group_dead, uint64_t now_ns);

/* Frees PROC_EXITED entries older than exit_grace_ns. Call after a drain:
 * every sample taken before the exits has been handled by then. */
void proctab__reap(struct proctab *pt, uint64_t now_ns);

/* Checks every alive entry's liveness through /proc and removes the dead
 * and the reused (counted in sweep_removals). */
void proctab__sweep(struct proctab *pt, uint64_t now_ns);

/* Drops the mappings of alive processes whose last sample is older than
 * idle_ns before @now_ns (the clock of proctab__get()), telling the
 * observer (maps_gone); each counts in idle_drops. The entry stays, and
 * proctab__prepare() reads the mappings again at its next sample. */
void proctab__drop_idle(struct proctab *pt, uint64_t now_ns);

/* Fills @ret; bytes is counted over the entries (O(processes)). */
/*
 * The kernel lost exec or exit events: checks every alive entry against
 * /proc now. The dead and the reused are marked exited (freed by
 * proctab__reap() after the grace); one whose address space is not the
 * one its maps were read from exec'd: it is handled as by
 * proctab__on_exec() with the name /proc shows, then @on_exec (optional)
 * is called with it. Counted in repairs, repair_exits, repair_execs.
 */
void proctab__repair(struct proctab *pt, uint64_t now_ns,
		     void (*on_exec)(void *ctx, struct proc *p), void *ctx);

void proctab__stats(const struct proctab *pt, struct proctab_stats *ret);

/* Calls @fn for every entry (tests, stats); @fn must not modify @pt. */
void proctab__for_each(const struct proctab *pt,
		       void (*fn)(void *ctx, const struct proc *p), void *ctx);

#endif
