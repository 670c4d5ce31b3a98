// SPDX-License-Identifier: Apache-2.0
/* Process events never share a fate with samples, on the real kernel: with
 * the sample ring at its smallest while both cores are busy, samples are
 * lost and counted but every exec and exit of the processes the test
 * spawned still arrives; with the events ring at its smallest too, the
 * exits that were lost are repaired from /proc (the processes leave the
 * table) and counted. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bpf/sampler.h"
#include "lib/clock.h"
#include "receiver/processes/proctab.h"
#include "receiver/sampler/sampler.h"
#include "tests/bpf/harness.h"

#define TEST_FREQ 999
#define SMALLEST_RING 4096
#define NSPAWN 64
#define NSPIN 8
#define NBURST 600
/* Room for the host's churn while the test polls, not for the burst. */
#define SMALL_EVENTS_RING (16u << 10)

struct seen {
	pid_t pid[NSPAWN];
	bool exec[NSPAWN];
	bool exit[NSPAWN];
};

static int spawned_index(const struct seen *w, uint32_t tgid)
{
	int i;

	for (i = 0; i < NSPAWN; i++)
		if (w->pid[i] == (pid_t)tgid)
			return i;
	return -1;
}

static void on_record(void *ctx, const void *rec, size_t len)
{
	const struct tgprof_rec_hdr *h = rec;
	struct seen *w = ctx;
	int i;

	if (len < sizeof(*h))
		return;
	i = spawned_index(w, h->tgid);
	if (i < 0)
		return;
	if (h->type == TGPROF_REC_EXEC)
		w->exec[i] = true;
	if (h->type == TGPROF_REC_EXIT && len >= sizeof(struct tgprof_exit) &&
	    (((const struct tgprof_exit *)rec)->flags & TGPROF_EXIT_GROUP_DEAD))
		w->exit[i] = true;
}

static bool all_seen(const struct seen *w)
{
	int i;

	for (i = 0; i < NSPAWN; i++)
		if (!w->exec[i] || !w->exit[i])
			return false;
	return true;
}

static void quiet(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TG_LOG_WARN)
		fprintf(stderr, "tgprof: %s\n", msg);
}

/* Condition waits below poll the kernel's counters, which never drains a
 * ring: nothing is read until the test says so. */
static bool wait_samples_lost(struct sampler *s, uint64_t deadline)
{
	struct sampler_counters c;

	for (;;) {
		sampler__counters(s, &c);
		if (c.samples_lost)
			return true;
		if (boot_ns() >= deadline)
			return false;
		sched_yield();
	}
}

Test(events, survive_a_full_sample_ring, .timeout = 240)
{
	struct tg_logger log = { .fn = quiet, .max_level = TG_LOG_WARN };
	struct sampler_opts o = { .sz = sizeof(o) };
	struct sampler_counters c;
	struct seen *w = calloc(1, sizeof(*w));
	struct load load = { 0 };
	struct sampler *s;
	uint64_t deadline;
	int i, n, status;

	harness_require_root();
	cr_assert_not_null(w);
	o.freq_hz = TEST_FREQ;
	o.kernel_stacks = true;
	o.ringbuf_bytes = SMALLEST_RING;
	/* Room for the whole host's churn while nothing drains (other jobs
	 * on a shared machine): the test is about samples never taking the
	 * events' room, not about the automatic size. */
	o.events_ringbuf_bytes = 1u << 20;
	s = sampler__new(&o, on_record, w, &log);
	cr_assert_not_null(s, "sampler__new: %s", strerror(errno));

	/* Nothing is drained from here until every child has exited. */
	harness_load_start(&load);
	for (i = 0; i < NSPAWN; i++) {
		w->pid[i] = fork();
		cr_assert(w->pid[i] >= 0, "fork: %s", strerror(errno));
		if (!w->pid[i]) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < NSPAWN; i++) {
		cr_assert_eq(waitpid(w->pid[i], &status, 0), w->pid[i]);
		cr_assert(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	deadline = boot_ns() + 30 * NSEC_PER_SEC;
	cr_assert(wait_samples_lost(s, deadline),
		  "a 4 KiB sample ring never filled under load");
	harness_load_stop(&load);

	deadline = boot_ns() + 30 * NSEC_PER_SEC;
	while (!all_seen(w) && boot_ns() < deadline) {
		n = sampler__poll(s, 20);
		cr_assert(n >= 0 || n == -EINTR, "sampler__poll: %s",
			  strerror(-n));
	}
	sampler__counters(s, &c);
	for (i = 0; i < NSPAWN; i++)
		cr_expect(w->exec[i] && w->exit[i],
			  "child %d: exec %sseen, exit %sseen", w->pid[i],
			  w->exec[i] ? "" : "not ", w->exit[i] ? "" : "not ");
	cr_expect_gt(c.samples_lost, 0);
	cr_expect_eq(c.events_lost, 0, "%llu events lost",
		     (unsigned long long)c.events_lost);
	cr_expect_eq(c.events_ring_bytes, 1u << 20);
	cr_expect_eq(c.ring_bytes, SMALLEST_RING);
	sampler__free(s);
	free(w);
}

struct spinners {
	struct receiver *r;
	pid_t pid[NSPIN];
	int n_in_table; /* of pid[] in the table, alive */
	int n_present; /* of pid[] in the table at all */
};

static void count_spinners(void *ctx, const struct proc *p)
{
	struct spinners *sp = ctx;
	int i;

	for (i = 0; i < NSPIN; i++) {
		if (sp->pid[i] != (pid_t)p->tgid)
			continue;
		sp->n_present++;
		if (p->state == PROC_ALIVE)
			sp->n_in_table++;
	}
}

static void census(struct spinners *sp)
{
	sp->n_in_table = 0;
	sp->n_present = 0;
	proctab__for_each(receiver__proctab(sp->r), count_spinners, sp);
}

static bool spinners_known(void *ctx)
{
	struct spinners *sp = ctx;

	census(sp);
	return sp->n_in_table == NSPIN;
}

static bool spinners_gone(void *ctx)
{
	struct spinners *sp = ctx;

	census(sp);
	return sp->n_present == 0;
}

/* Spins until the pipe's write end closes, then exits. */
static void spin_until_eof(int rd)
{
	char c;

	/* Gone with the test if it fails before closing the pipe. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1 ||
	    fcntl(rd, F_SETFL, O_NONBLOCK))
		_exit(1);
	for (;;)
		if (read(rd, &c, 1) == 0)
			_exit(0);
}

Test(events, lost_exits_are_repaired_from_proc, .timeout = 240)
{
	struct spinners sp = { 0 };
	struct receiver_stats before, st;
	struct receiver_config cfg;
	int pfd[2], i, status;
	pid_t burst[NBURST];

	harness_require_root();
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.ringbuf_bytes = SMALLEST_RING;
	cfg.events_ringbuf_bytes = SMALL_EVENTS_RING;
	cfg.unwinder = RECEIVER_UNWIND_FRAME_POINTER;
	cfg.python_frames = false;
	/* Only a repair may find the exits; reaped on the next poll. */
	cfg.sweep_interval_ns = 0;
	cfg.exit_grace_ns = 1;

	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	for (i = 0; i < NSPIN; i++) {
		sp.pid[i] = fork();
		cr_assert(sp.pid[i] >= 0, "fork: %s", strerror(errno));
		if (!sp.pid[i]) {
			close(pfd[1]);
			spin_until_eof(pfd[0]);
		}
	}
	close(pfd[0]);
	sp.r = harness_receiver(&cfg, NULL);
	cr_assert(harness_run_until(sp.r, NULL, spinners_known, &sp, 30000),
		  "only %d of %d spinners sampled", sp.n_in_table, NSPIN);
	receiver__stats(sp.r, &before);

	/* Not drained from here: a burst of exits fills the 16 KiB events
	 * ring (256 records), then the spinners' own exits are lost. */
	for (i = 0; i < NBURST; i++) {
		burst[i] = fork();
		cr_assert(burst[i] >= 0, "fork: %s", strerror(errno));
		if (!burst[i])
			_exit(0);
	}
	for (i = 0; i < NBURST; i++)
		cr_assert_eq(waitpid(burst[i], &status, 0), burst[i]);
	close(pfd[1]);
	for (i = 0; i < NSPIN; i++) {
		cr_assert_eq(waitpid(sp.pid[i], &status, 0), sp.pid[i]);
		cr_assert(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	receiver__stats(sp.r, &st);
	cr_assert_geq(st.sampler.events_lost - before.sampler.events_lost,
		      NBURST - SMALL_EVENTS_RING / 64, "only %llu events lost",
		      (unsigned long long)(st.sampler.events_lost -
					   before.sampler.events_lost));

	cr_assert(harness_run_until(sp.r, NULL, spinners_gone, &sp, 30000),
		  "%d of %d exited spinners still in the table", sp.n_present,
		  NSPIN);
	receiver__stats(sp.r, &st);
	cr_expect_geq(st.events_repairs - before.events_repairs, 1);
	/* A spinner whose last samples were drained after its exit may have
	 * been found dead by their maps read first. */
	cr_expect_geq(st.procs.repair_exits - before.procs.repair_exits, 1,
		      "repair found %llu exits",
		      (unsigned long long)(st.procs.repair_exits -
					   before.procs.repair_exits));
	cr_expect_eq(st.procs.sweeps, 0);
	receiver__free(sp.r);
}
