// SPDX-License-Identifier: Apache-2.0
/* The thread-group rules of DESIGN.md section 3, on the real kernel: a
 * leader that calls pthread_exit(), a dlopen after it left, an exec from a
 * non-leader thread, a reused PID and process/thread churn. Needs root. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "receiver/processes/procfs.h"
#include "tests/bpf/harness.h"

#define TEST_FREQ 499

struct run {
	struct receiver *r;
	struct fixture *f;
	uint64_t group_exits; /* wait for at least this many */
};

/* Done when the fixture has exited and the receiver has seen the group
 * exits that go with it. */
static bool fixture_gone(void *ctx)
{
	struct run *run = ctx;
	struct receiver_stats st;

	if (!run->f->exited)
		return false;
	receiver__stats(run->r, &st);
	return st.procs.group_exits >= run->group_exits;
}

static unsigned long long must_value(const struct fixture *f, const char *key)
{
	unsigned long long v = 0;

	cr_assert(fixture_value(f, key, &v), "fixture did not report %s:\n%s",
		  key, f->out);
	return v;
}

/* Runs @argv under a receiver filtered to its TGID until it exited and
 * its group exit was handled. */
static struct receiver *profile_fixture(char *const argv[], struct fixture *f,
					const struct receiver_sink *sink,
					struct receiver_config *cfg)
{
	struct receiver *r;
	struct run run;

	fixture_spawn(f, argv, 0);
	cfg->filter_tgid = f->pid;
	r = harness_receiver(cfg, sink);
	fixture_go(f);
	run = (struct run){ .r = r, .f = f, .group_exits = 1 };
	cr_assert(harness_run_until(r, f, fixture_gone, &run, 30000),
		  "fixture did not finish or its exit was not seen:\n%s",
		  f->out);
	cr_assert(WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0,
		  "fixture failed (status %d):\n%s", f->status, f->out);
	return r;
}

Test(threadgroup, pthread_exit_leader_keeps_symbols, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("pthread_exit_leader", path,
					      sizeof(path)),
			 "200", "3000", NULL };
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_stats st;
	struct fixture f;
	struct receiver *r;
	size_t i, after = 0, named = 0;
	unsigned long long tid, left;

	harness_require_root();
	harness_config(&cfg, TEST_FREQ, 0);
	/* Sweeps run while the leader is a zombie: they must keep it. */
	cfg.sweep_interval_ns = 100 * NSEC_PER_MSEC;
	r = profile_fixture(argv, &f, &sink, &cfg);

	tid = must_value(&f, "worker_tid");
	left = must_value(&f, "leader_exit_ns");
	for (i = 0; i < cap.n; i++) {
		if (cap.v[i].tid != tid || cap.v[i].ts_ns <= left)
			continue;
		after++;
		named += cap_has(&cap.v[i], "worker_spin_hot");
	}
	receiver__stats(r, &st);
	cr_log_info("worker samples after the leader left: %zu, named %zu; "
		    "maps reads %llu, re-reads %llu, sweeps %llu",
		    after, named, (unsigned long long)st.procs.maps_reads,
		    (unsigned long long)st.procs.maps_rereads,
		    (unsigned long long)st.procs.sweeps);

	cr_assert_geq(after, 100, "too few samples after the leader left: %zu",
		      after);
	cr_assert_geq(named * 100, after * 95,
		      "only %zu of %zu worker samples name worker_spin_hot",
		      named, after);
	cr_assert_eq(st.procs.new_processes, 1);
	cr_assert_eq(st.procs.leader_exits, 1);
	cr_assert_eq(st.procs.group_exits, 1);
	cr_assert_eq(st.procs.sweep_removals, 0,
		     "a sweep dropped the process while its worker ran");
	cr_assert_geq(st.procs.sweeps, 5);
	/* No enable/disable loop: a handful of reads, not one per sample. */
	cr_assert_leq(st.procs.maps_reads + st.procs.maps_rereads, 10);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}

static bool leader_reported_exit(void *ctx)
{
	unsigned long long v;

	fixture_pump(ctx);
	return fixture_value(ctx, "leader_exit_ns", &v);
}

/* Waits, without draining the receiver, until the fixture's leader is a
 * zombie: its /proc entry stays, with state Z. */
static void wait_leader_zombie(struct fixture *f)
{
	uint64_t deadline = boot_ns() + 10 * NSEC_PER_SEC;
	struct proc_stat st;

	while (!leader_reported_exit(f))
		cr_assert(boot_ns() < deadline, "the leader never left");
	for (;;) {
		cr_assert_eq(procfs__read_stat("/proc", f->pid, f->pid, &st),
			     0);
		if (st.state == 'Z')
			return;
		cr_assert(boot_ns() < deadline, "the leader is not a zombie");
		sched_yield();
	}
}

Test(threadgroup, samples_queued_before_leader_exit_are_symbolized,
     .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("pthread_exit_leader", path,
					      sizeof(path)),
			 "200", "1000", NULL };
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_stats st;
	struct fixture f;
	struct receiver *r;
	struct run run;
	size_t i, named = 0;

	harness_require_root();
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, TEST_FREQ, f.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	/* Nothing is drained until the leader is gone: its first samples
	 * (and the process's first maps read and binary open) are handled
	 * when its own /proc entries no longer lead anywhere. */
	wait_leader_zombie(&f);
	run = (struct run){ .r = r, .f = &f, .group_exits = 1 };
	cr_assert(harness_run_until(r, &f, fixture_gone, &run, 30000));

	for (i = 0; i < cap.n; i++)
		named += cap_has(&cap.v[i], "leader_spin") ||
			 cap_has(&cap.v[i], "worker_spin_hot");
	receiver__stats(r, &st);
	cr_log_info("%zu samples, %zu named", cap.n, named);
	cr_assert_geq(cap.n, 100);
	cr_assert_geq(named * 100, cap.n * 95, "only %zu of %zu samples named",
		      named, cap.n);
	cr_assert_eq(st.procs.new_processes, 1);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}

Test(threadgroup, dlopen_after_leader_exit_is_symbolized, .timeout = 120)
{
	char path[512], lib[512];
	char *argv[] = { (char *)fixture_path("dlopen_after_leader_exit", path,
					      sizeof(path)),
			 (char *)fixture_path("libfixture_dl.so", lib,
					      sizeof(lib)),
			 "2000", NULL };
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_stats st;
	struct fixture f;
	struct receiver *r;
	size_t i, after = 0, named = 0;
	unsigned long long tid, begin;

	harness_require_root();
	harness_config(&cfg, TEST_FREQ, 0);
	r = profile_fixture(argv, &f, &sink, &cfg);

	tid = must_value(&f, "worker_tid");
	begin = must_value(&f, "dl_spin_begin_ns");
	for (i = 0; i < cap.n; i++) {
		if (cap.v[i].tid != tid || cap.v[i].ts_ns <= begin)
			continue;
		after++;
		named += cap_has(&cap.v[i], "fixture_dl_spin");
	}
	receiver__stats(r, &st);
	cr_log_info("samples in the dlopen'ed library: %zu, named %zu", after,
		    named);
	cr_assert_geq(after, 50);
	cr_assert_geq(named * 100, after * 95,
		      "only %zu of %zu samples name fixture_dl_spin", named,
		      after);
	/* Known before the dlopen, so the library came from a re-read
	 * through the worker, the only live thread. */
	cr_assert_geq(st.procs.maps_rereads, 1);
	cr_assert_eq(st.procs.new_processes, 1);
	cr_assert_eq(st.procs.leader_exits, 1);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}

Test(threadgroup, exec_from_non_leader_thread, .timeout = 120)
{
	char path[512], target[512];
	char *argv[] = {
		(char *)fixture_path("exec_from_thread", path, sizeof(path)),
		(char *)fixture_path("exec_target", target, sizeof(target)),
		"2000", NULL
	};
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_stats st;
	struct fixture f;
	struct receiver *r;
	size_t i, before = 0, old_named = 0, after = 0, new_named = 0,
		  stale = 0;
	unsigned long long exec_begin, exec_done, exec_pid;
	uint64_t start = 0;

	harness_require_root();
	harness_config(&cfg, TEST_FREQ, 0);
	r = profile_fixture(argv, &f, &sink, &cfg);

	exec_begin = must_value(&f, "exec_begin_ns");
	exec_done = must_value(&f, "exec_done_ns");
	exec_pid = must_value(&f, "exec_pid");
	cr_assert_eq(exec_pid, (unsigned long long)f.pid,
		     "the exec'ing thread must take over the TGID");
	for (i = 0; i < cap.n; i++) {
		const struct cap_sample *s = &cap.v[i];

		if (!start)
			start = s->start_ns;
		cr_assert_eq(s->start_ns, start,
			     "exec changed the process identity");
		if (s->ts_ns < exec_begin) {
			before++;
			old_named += cap_has(s, "old_image_spin");
		} else if (s->ts_ns > exec_done) {
			after++;
			new_named += cap_has(s, "new_image_spin");
			stale += cap_has(s, "old_image_spin");
		}
	}
	receiver__stats(r, &st);
	cr_log_info("before exec %zu (%zu named), after %zu (%zu named)",
		    before, old_named, after, new_named);
	cr_assert_geq(before, 20);
	cr_assert_geq(old_named * 100, before * 95);
	cr_assert_geq(after, 100);
	cr_assert_eq(stale, 0, "%zu samples after exec name the old image",
		     stale);
	cr_assert_geq(new_named * 100, after * 95,
		      "only %zu of %zu samples name new_image_spin", new_named,
		      after);
	cr_assert_eq(st.procs.new_processes, 1,
		     "exec must not look like a new process");
	/* The thread's exec; and the harness's own exec of the fixture
	 * when a sample of its child landed between fork and execv (a
	 * slow or busy machine), which makes the entry exist before it. */
	cr_assert(st.procs.execs == 1 || st.procs.execs == 2,
		  "%llu execs counted", (unsigned long long)st.procs.execs);
	cr_assert_eq(st.procs.group_exits, 1);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}

Test(threadgroup, pid_reuse_never_inherits_symbols, .timeout = 120)
{
	char alpha_path[512], beta_path[512];
	char *alpha[] = { (char *)fixture_path("spin_alpha", alpha_path,
					       sizeof(alpha_path)),
			  "500", NULL };
	char *beta[] = { (char *)fixture_path("spin_beta", beta_path,
					      sizeof(beta_path)),
			 "1000", NULL };
	struct receiver_sink sink;
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_stats st;
	struct fixture fa, fb;
	struct receiver *r;
	struct run run;
	size_t i, na = 0, nb = 0, beta_named = 0, beta_alpha = 0;
	uint64_t alpha_start = 0;

	harness_require_root();
	sink = capture_sink(&cap);
	fixture_spawn(&fa, alpha, 0);
	harness_config(&cfg, TEST_FREQ, fa.pid);
	r = harness_receiver(&cfg, &sink);
	fixture_go(&fa);
	run = (struct run){ .r = r, .f = &fa, .group_exits = 1 };
	cr_assert(harness_run_until(r, &fa, fixture_gone, &run, 30000));

	/* The same PID, now a different binary with the same layout. */
	fixture_spawn(&fb, beta, fa.pid);
	cr_assert_eq(fb.pid, fa.pid);
	fixture_go(&fb);
	run = (struct run){ .r = r, .f = &fb, .group_exits = 2 };
	cr_assert(harness_run_until(r, &fb, fixture_gone, &run, 30000));

	for (i = 0; i < cap.n; i++) {
		const struct cap_sample *s = &cap.v[i];

		if (!alpha_start)
			alpha_start = s->start_ns;
		if (s->start_ns == alpha_start) {
			na++;
			continue;
		}
		nb++;
		beta_named += cap_has(s, "beta_spin");
		beta_alpha += cap_has(s, "alpha_spin");
	}
	receiver__stats(r, &st);
	cr_log_info("alpha samples %zu, beta samples %zu (%zu named)", na, nb,
		    beta_named);
	cr_assert_geq(na, 50);
	cr_assert_geq(nb, 100);
	cr_assert_eq(
		beta_alpha, 0,
		"%zu samples of the new process carry the old one's symbols",
		beta_alpha);
	cr_assert_geq(beta_named * 100, nb * 95);
	cr_assert_eq(st.procs.new_processes, 2);
	cr_assert_eq(st.procs.group_exits, 2);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&fa);
	fixture_cleanup(&fb);
}

/* What is left of the churn: the whole host is sampled (the children are
 * other processes), and other processes of a busy host come and go all the
 * time, so only the churn's own entries (forked, never exec'd: comm
 * "churn") are expected gone; the rest only counted. */
/* Processes on the host now: the numeric entries of /proc. */
static size_t host_processes(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	cr_assert(d, "opendir /proc");
	while ((e = readdir(d)))
		n += isdigit((unsigned char)e->d_name[0]) != 0;
	closedir(d);
	return n;
}

struct live_check {
	size_t entries;
	size_t entries_alive; /* not in their exit grace */
	size_t churn_left;
	size_t churn_not_alive;
};

static bool is_churn(const struct proc *p)
{
	return !strcmp(p->comm, "churn");
}

static void check_entry(void *ctx, const struct proc *p)
{
	struct live_check *lc = ctx;

	lc->entries++;
	lc->entries_alive += p->state == PROC_ALIVE;
	if (!is_churn(p))
		return;
	lc->churn_left++;
	if (procfs__group_liveness("/proc", p->tgid,
				   procfs__ns_to_ticks(p->start_ns),
				   NULL) != GROUP_ALIVE)
		lc->churn_not_alive++;
}

static void count_exited(void *ctx, const struct proc *p)
{
	*(size_t *)ctx += p->state == PROC_EXITED && is_churn(p);
}

/* Exited entries are kept for exit_grace_ns, then reaped by the poll. */
static bool exited_reaped(void *ctx)
{
	size_t exited = 0;

	proctab__for_each(receiver__proctab(ctx), count_exited, &exited);
	return exited == 0;
}

Test(threadgroup, process_churn_returns_to_baseline, .timeout = 300)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("churn", path, sizeof(path)),
			 "2000", "2000", "2000", NULL };
	struct receiver_sink sink;
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct live_check lc = { 0 };
	struct receiver_stats st;
	struct load load;
	struct fixture f;
	struct receiver *r;
	size_t host;

	harness_require_root();
	/* On a host whose cores are all busy: the reader competes for CPU
	 * with the churn and with the load. */
	harness_load_start(&load);
	sink = capture_sink(&cap);
	/* The whole host: the children are other processes. */
	harness_config(&cfg, 997, 0);
	r = harness_receiver(&cfg, &sink);
	fixture_spawn(&f, argv, 0);
	fixture_go(&f);
	harness_run_to_clean_exit(r, &f, 240000, "churn");
	/* Everything the kernel produced until now, the grace period of the
	 * last exits, then one sweep (the load still running). */
	cr_assert(harness_run_until(r, NULL, exited_reaped, r, 30000),
		  "exited processes were never reaped");
	receiver__sweep(r);

	receiver__stats(r, &st);
	proctab__for_each(receiver__proctab(r), check_entry, &lc);
	cr_log_info("churn: %llu processes seen, %llu group exits, %llu "
		    "sweep removals; %zu entries left",
		    (unsigned long long)st.procs.new_processes,
		    (unsigned long long)st.procs.group_exits,
		    (unsigned long long)st.procs.sweep_removals, lc.entries);
	cr_assert_geq(st.procs.new_processes, 200,
		      "the churn was barely sampled: %llu processes",
		      (unsigned long long)st.procs.new_processes);
	cr_assert_eq(lc.churn_left, 0,
		     "%zu entries of the churn are left (%zu of them dead)",
		     lc.churn_left, lc.churn_not_alive);
	cr_assert_eq(st.procs.processes, lc.entries);
	/* Back to the host's own processes (a busy host has hundreds, and
	 * some of them come and go while this runs): not the churn's. The
	 * others that exited in the last exit_grace wait out their grace. */
	host = host_processes();
	cr_assert_leq(lc.entries_alive, host + 64,
		      "%zu live entries left for %zu processes on the host",
		      lc.entries_alive, host);

	harness_load_stop(&load);
	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}

static bool drained(void *ctx)
{
	return receiver__poll(ctx, 0) == 0;
}

Test(sampler, full_ring_buffer_drops_are_counted, .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("spin_alpha", path, sizeof(path)),
			 "1500", NULL };
	struct receiver_sink sink;
	struct receiver_config cfg;
	struct capture cap = { 0 };
	struct receiver_stats st;
	struct fixture f;
	struct receiver *r;
	struct run run;

	harness_require_root();
	sink = capture_sink(&cap);
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, 4999, f.pid);
	/* Room for a handful of samples only. */
	cfg.ringbuf_bytes = 16384;
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	/* Do not drain until the fixture has burnt its 1.5 s of CPU. */
	cr_assert_eq(waitpid(f.pid, &f.status, 0), f.pid);
	f.exited = true;
	run = (struct run){ .r = r, .f = &f, .group_exits = 0 };
	cr_assert(harness_run_until(r, &f, fixture_gone, &run, 10000));
	cr_assert(harness_run_until(r, NULL, drained, r, 10000));

	receiver__stats(r, &st);
	cr_log_info("samples %llu, delivered %llu, lost %llu",
		    (unsigned long long)st.sampler.samples,
		    (unsigned long long)st.samples,
		    (unsigned long long)st.sampler.samples_lost);
	cr_assert_gt(st.samples, 0);
	cr_assert_gt(st.sampler.samples_lost, 0);
	cr_assert_leq(st.samples + st.sampler.samples_lost +
			      st.sampler.samples_filtered +
			      st.sampler.samples_idle,
		      st.sampler.samples);
	cr_assert_eq(st.samples, cap.n);

	receiver__free(r);
	capture_free(&cap);
	fixture_cleanup(&f);
}
