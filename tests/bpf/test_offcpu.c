// SPDX-License-Identifier: Apache-2.0
/* Off-CPU samples on the real kernel (tp_btf/sched_switch): threads of
 * tests/fixtures/offcpu_waits.c block in known functions for known times,
 * also after their leader left; a churn of short waits is accounted for
 * switch by switch; waits whose switch back in the program did not see are
 * placed from the scheduler's statistics. Needs root. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "receiver/receiver.h"
#include "tests/bpf/harness.h"

/* CPU samples do not matter here: few of them. */
#define TEST_FREQ 19
#define ROUNDS 3 /* as tests/fixtures/offcpu_waits.c */
#define NSEC_MS 1000000ULL

struct waits_run {
	struct receiver *r;
	struct fixture *f;
	struct capture *c;
	size_t scanned; /* captured samples looked at for the warm-up */
	bool released; /* SIGUSR1 sent */
};

/*
 * The fixture waits in warmup_wait() until the receiver has its unwind
 * tables: off-CPU samples carry no stack copy, so waits sampled before
 * them stop at the first frame. Once a warm-up wait arrives with its whole
 * stack (through the fixture's own function that called it), the
 * measured waits begin. Done when the fixture exited.
 */
static bool warmed_then_exited(void *ctx)
{
	struct waits_run *w = ctx;

	for (; !w->released && w->scanned < w->c->n; w->scanned++) {
		const struct cap_sample *s = &w->c->v[w->scanned];

		if (s->tgid != (uint32_t)w->f->pid || !s->off_cpu_ns ||
		    !cap_has(s, "warmup_wait") || !cap_has(s, "run_waits"))
			continue;
		cr_assert_eq(kill(w->f->pid, SIGUSR1), 0);
		w->released = true;
	}
	return w->f->exited;
}

/* Nanoseconds off CPU of the fixture's samples through @func. */
static uint64_t off_cpu_in(const struct capture *c, pid_t pid, const char *func,
			   uint64_t *ret_start_ns)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const struct cap_sample *s = &c->v[i];

		if (s->tgid != (uint32_t)pid || !s->off_cpu_ns ||
		    !cap_has(s, func))
			continue;
		sum += s->off_cpu_ns;
		if (ret_start_ns)
			*ret_start_ns = s->start_ns;
	}
	return sum;
}

/* What a failure needs to be understood: every off-CPU sample of the
 * fixture of a millisecond or more, with its stack. */
static void dump_off_cpu(const struct capture *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].tgid == (uint32_t)pid &&
		    c->v[i].off_cpu_ns >= NSEC_MS)
			fprintf(stderr, "tid %u %.1f ms %s\n", c->v[i].tid,
				c->v[i].off_cpu_ns / 1e6, c->v[i].stack);
}

static unsigned long long must_value(const struct fixture *f, const char *key)
{
	unsigned long long v = 0;

	cr_assert(fixture_value(f, key, &v), "fixture did not report %s:\n%s",
		  key, f->out);
	return v;
}

/*
 * @func's off-CPU total must be within 10 % of what the fixture measured
 * around its blocking call: the time the thread was off CPU, the wait the
 * fixture made (@known_ms per round) plus the wake-ups' run-queue delays.
 * On an idle machine that is the known time within a few per cent; on a
 * loaded one each wake-up may come tens of milliseconds late, so against
 * the known time only the floor is asserted (no wait is shorter than it
 * was made, less the holder's head start for the mutex).
 */
static void assert_total(const struct capture *c, const struct fixture *f,
			 const char *func, const char *key, uint64_t known_ms,
			 uint64_t start_ns)
{
	uint64_t got, measured = must_value(f, key), known, start = 0;

	known = ROUNDS * known_ms * NSEC_MS;
	got = off_cpu_in(c, f->pid, func, &start);
	fprintf(stderr,
		"%s: off-CPU %.1f ms, measured %.1f ms, known %.1f ms\n", func,
		got / 1e6, measured / 1e6, known / 1e6);
	if (got * 10 < measured * 9 || got * 10 > measured * 11)
		dump_off_cpu(c, f->pid);
	cr_assert(got * 10 >= measured * 9 && got * 10 <= measured * 11,
		  "%s: %llu ns off CPU, the fixture measured %llu ns", func,
		  (unsigned long long)got, (unsigned long long)measured);
	cr_assert(got * 10 >= known * 9, "%s: %llu ns off CPU, known %llu ns",
		  func, (unsigned long long)got, (unsigned long long)known);
	/* The process the waits belong to: the one the fixture is. */
	cr_assert_eq(start, start_ns, "%s attributed to another process", func);
}

static void run_waits(bool leader_exit)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("offcpu_waits", path,
					      sizeof(path)),
			 "waits", leader_exit ? "leader_exit" : NULL, NULL };
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_config cfg;
	struct receiver_stats st;
	struct waits_run w = { .c = &cap };
	struct fixture f;
	struct load load;
	uint64_t start_ns = 0;

	harness_require_root();
	harness_load_start(&load);
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, TEST_FREQ, f.pid);
	cfg.off_cpu = true;
	w.r = harness_receiver(&cfg, &sink);
	w.f = &f;
	fixture_go(&f);
	cr_assert(harness_run_until(w.r, &f, warmed_then_exited, &w, 60000),
		  "fixture did not finish:\n%s", f.out);
	harness_load_stop(&load);
	cr_assert(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0,
		  "fixture failed (status %d):\n%s", f.status, f.out);
	cr_assert_geq(receiver__stop(w.r), 0);
	receiver__stats(w.r, &st);
	fprintf(stderr,
		"waits: seen %llu, no room %llu, short %llu, emitted %llu, lost %llu, replaced %llu, late %llu, misses %llu\n",
		(unsigned long long)st.sampler.offcpu_seen,
		(unsigned long long)st.sampler.offcpu_no_room,
		(unsigned long long)st.sampler.offcpu_short,
		(unsigned long long)st.sampler.offcpu_emitted,
		(unsigned long long)st.sampler.offcpu_lost,
		(unsigned long long)st.sampler.offcpu_replaced,
		(unsigned long long)st.sampler.offcpu_late,
		(unsigned long long)st.sampler.offcpu_bpf_misses);
	cr_assert_gt(st.offcpu_samples, 0);
	/* Nothing here reaches a bound: every wait is sent or short. */
	cr_assert_eq(st.sampler.offcpu_no_room, 0);
	cr_assert_eq(st.sampler.offcpu_lost, 0);

	/* The process's identity, from a wait that all modes have. */
	off_cpu_in(&cap, f.pid, "warmup_wait", &start_ns);
	cr_assert_neq(start_ns, 0, "no warm-up wait with its stack");
	assert_total(&cap, &f, "wait_on_mutex", "mutex_ns", 300, start_ns);
	assert_total(&cap, &f, "wait_on_pipe", "pipe_ns", 200, start_ns);
	assert_total(&cap, &f, "wait_in_nanosleep", "sleep_ns", 100, start_ns);
	/* The one process: the leader's exit made no other. */
	if (leader_exit)
		cr_assert_eq(must_value(&f, "leader_gone"), 1);

	receiver__free(w.r);
	fixture_cleanup(&f);
	capture_free(&cap);
}

Test(offcpu, waits_in_known_functions_weigh_their_time, .timeout = 180)
{
	run_waits(false);
}

Test(offcpu, waits_after_leader_pthread_exit_keep_symbols, .timeout = 180)
{
	run_waits(true);
}

/*
 * Thousands of short waits, half of them sampled, more threads waiting at
 * once than the parked-thread map holds: every blocking switch seen ends
 * in exactly one counter, and every one emitted reaches the receiver.
 */
Test(offcpu, churn_of_short_waits_is_counted_and_bounded, .timeout = 180)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("offcpu_waits", path,
					      sizeof(path)),
			 "churn",
			 "8",
			 "1000",
			 "64",
			 NULL };
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_config cfg;
	struct receiver_stats st;
	const struct sampler_counters *k = &st.sampler;
	struct receiver *r;
	struct fixture f;
	uint64_t off = 0, ended;
	size_t i;

	harness_require_root();
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, TEST_FREQ, f.pid);
	cfg.off_cpu = true;
	cfg.off_cpu_percent = 50;
	cfg.off_cpu_threads = 16;
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	harness_run_to_clean_exit(r, &f, 120000, "fixture");
	cr_assert_geq(receiver__stop(r), 0);
	receiver__stats(r, &st);
	for (i = 0; i < cap.n; i++)
		off += cap.v[i].off_cpu_ns != 0;

	fprintf(stderr,
		"churn: seen %llu, sampled out %llu, no room %llu, short %llu, emitted %llu, lost %llu\n",
		(unsigned long long)k->offcpu_seen,
		(unsigned long long)k->offcpu_sampled_out,
		(unsigned long long)k->offcpu_no_room,
		(unsigned long long)k->offcpu_short,
		(unsigned long long)k->offcpu_emitted,
		(unsigned long long)k->offcpu_lost);
	/* Up to 2 x 8 x 1000 ping-pong waits (a read finds its byte there
	 * when its writer ran first) and 64 x 10 sleeps. */
	cr_assert_geq(k->offcpu_seen, 5000);
	cr_assert_gt(k->offcpu_sampled_out, 0);
	cr_assert_gt(k->offcpu_short, 0);
	cr_assert_gt(k->offcpu_no_room, 0, "64 sleepers never filled 16 slots");
	cr_assert_gt(k->offcpu_emitted, 0);
	/* Every thread ran again before it exited: none is still parked. */
	ended = k->offcpu_sampled_out + k->offcpu_no_room + k->offcpu_short +
		k->offcpu_emitted + k->offcpu_lost + k->offcpu_replaced;
	cr_assert_eq(ended, k->offcpu_seen,
		     "%llu switches seen, %llu accounted for",
		     (unsigned long long)k->offcpu_seen,
		     (unsigned long long)ended);
	/* Half sampled: the die's share, give or take a few per cent. */
	cr_assert(k->offcpu_sampled_out * 10 >= k->offcpu_seen * 4 &&
			  k->offcpu_sampled_out * 10 <= k->offcpu_seen * 6,
		  "%llu of %llu sampled out at 50 %%",
		  (unsigned long long)k->offcpu_sampled_out,
		  (unsigned long long)k->offcpu_seen);
	cr_assert_eq(off, k->offcpu_emitted, "%llu emitted, %llu received",
		     (unsigned long long)k->offcpu_emitted,
		     (unsigned long long)off);
	cr_assert_eq(st.offcpu_samples, off);
	cr_assert_eq(st.records_malformed, 0);

	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&cap);
}

/* ---- switches back in that the program does not see ---- */

#define UNSEEN_ATTEMPTS 3

struct unseen_run {
	struct receiver *r;
	struct fixture *f;
	struct capture *c;
	size_t scanned;
	int phase; /* 0: warm-up, 1: to the wait, 2: to the gate */
	int attempt;
};

/*
 * Each attempt: once the fixture sleeps in wait_unseen() with its wait
 * parked, the off-CPU program is detached and the fixture woken; once it
 * reported how long it waited and sleeps again (the gate), the program is
 * attached again and the fixture let through. Its switch back in from
 * wait_unseen() was never seen.
 */
static bool unseen_step(void *ctx)
{
	struct unseen_run *u = ctx;
	struct sampler *s = receiver__sampler(u->r);
	unsigned long long v;
	char key[32];

	if (u->f->exited)
		return true;
	switch (u->phase) {
	case 0:
		for (; u->scanned < u->c->n; u->scanned++) {
			const struct cap_sample *cs = &u->c->v[u->scanned];

			if (cs->tgid != (uint32_t)u->f->pid ||
			    !cs->off_cpu_ns || !cap_has(cs, "warmup_wait") ||
			    !cap_has(cs, "run_unseen"))
				continue;
			cr_assert_eq(kill(u->f->pid, SIGUSR1), 0);
			u->phase = 1;
			break;
		}
		break;
	case 1:
		if (!fixture_value(u->f, "blocking", &v) ||
		    v != (unsigned long long)u->attempt ||
		    task_state(u->f->pid) != 'S' ||
		    sampler__off_cpu_parked(s, (uint32_t)u->f->pid) != 1)
			break;
		cr_assert_eq(sampler__off_cpu_attach(s, false), 0);
		cr_assert_eq(kill(u->f->pid, SIGUSR2), 0);
		u->phase = 2;
		break;
	case 2:
		snprintf(key, sizeof(key), "unseen_ns_%d", u->attempt);
		if (!fixture_value(u->f, key, &v) ||
		    task_state(u->f->pid) != 'S')
			break;
		cr_assert_eq(sampler__off_cpu_attach(s, true), 0);
		cr_assert_eq(kill(u->f->pid, SIGUSR1), 0);
		u->attempt++;
		u->phase = 1;
		break;
	}
	return false;
}

/*
 * A wait whose switch back in was not seen is sent when the thread's next
 * switch is, weighted from the scheduler's statistics, with the user
 * frames walked when it blocked and no kernel frames: counted late. Only
 * if the thread ran more than once unseen (preempted on its way to the
 * gate) is it lost, counted replaced. Nothing is counted twice.
 */
Test(offcpu, unseen_switch_in_is_placed_from_sched_info, .timeout = 180)
{
	char path[512], attempts[16];
	char *argv[] = { (char *)fixture_path("offcpu_waits", path,
					      sizeof(path)),
			 "unseen", attempts, NULL };
	struct capture cap = { 0 };
	struct receiver_sink sink = capture_sink(&cap);
	struct receiver_config cfg;
	struct receiver_stats st;
	const struct sampler_counters *k = &st.sampler;
	struct unseen_run u = { .c = &cap };
	unsigned long long measured[UNSEEN_ATTEMPTS];
	uint64_t ended, late_samples = 0;
	struct fixture f;
	size_t i;
	int j;

	harness_require_root();
	snprintf(attempts, sizeof(attempts), "%d", UNSEEN_ATTEMPTS);
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, TEST_FREQ, f.pid);
	cfg.off_cpu = true;
	u.r = harness_receiver(&cfg, &sink);
	u.f = &f;
	fixture_go(&f);
	cr_assert(harness_run_until(u.r, &f, unseen_step, &u, 60000),
		  "fixture did not finish (attempt %d, phase %d):\n%s",
		  u.attempt, u.phase, f.out);
	cr_assert(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0,
		  "fixture failed (status %d):\n%s", f.status, f.out);
	cr_assert_eq(u.attempt, UNSEEN_ATTEMPTS);
	cr_assert_geq(receiver__stop(u.r), 0);
	receiver__stats(u.r, &st);
	fprintf(stderr,
		"unseen: seen %llu, short %llu, emitted %llu, late %llu, replaced %llu\n",
		(unsigned long long)k->offcpu_seen,
		(unsigned long long)k->offcpu_short,
		(unsigned long long)k->offcpu_emitted,
		(unsigned long long)k->offcpu_late,
		(unsigned long long)k->offcpu_replaced);
	for (j = 0; j < UNSEEN_ATTEMPTS; j++) {
		char key[32];

		snprintf(key, sizeof(key), "unseen_ns_%d", j);
		measured[j] = must_value(&f, key);
	}

	/* Every wait ended once (the kernel may also miss a switch of the
	 * warm-up's: late too, never counted twice). */
	ended = k->offcpu_sampled_out + k->offcpu_no_room + k->offcpu_short +
		k->offcpu_emitted + k->offcpu_lost + k->offcpu_replaced;
	cr_assert_eq(ended, k->offcpu_seen, "%llu waits seen, %llu ended",
		     (unsigned long long)k->offcpu_seen,
		     (unsigned long long)ended);

	/* The late waits: in wait_unseen(), without kernel frames, each as
	 * long as one the fixture measured. */
	for (i = 0; i < cap.n; i++) {
		const struct cap_sample *s = &cap.v[i];
		bool matches = false;

		if (s->tgid != (uint32_t)f.pid || !s->off_cpu_ns ||
		    !cap_has(s, "wait_unseen"))
			continue;
		late_samples++;
		cr_assert(!cap_has(s, "entry_SYSCALL_64_after_hwframe"),
			  "a late wait with kernel frames: %s", s->stack);
		cr_assert(cap_has(s, "run_unseen"), "%s", s->stack);
		for (j = 0; j < UNSEEN_ATTEMPTS; j++)
			matches |= s->off_cpu_ns * 10 >= measured[j] * 9 &&
				   s->off_cpu_ns * 10 <= measured[j] * 11;
		cr_assert(matches,
			  "late wait of %llu ns, measured %llu %llu %llu",
			  (unsigned long long)s->off_cpu_ns, measured[0],
			  measured[1], measured[2]);
	}
	/* Each attempt's wait was sent late or dropped as replaced; at
	 * least one of them reached its gate without being preempted. */
	cr_assert_geq(late_samples, 1,
		      "no attempt reached its gate without being preempted");
	cr_assert_leq(late_samples, UNSEEN_ATTEMPTS);
	cr_assert_geq(k->offcpu_late, late_samples);
	cr_assert_geq(late_samples + k->offcpu_replaced, UNSEEN_ATTEMPTS,
		      "%llu late waits sent, %llu replaced, %d unseen",
		      (unsigned long long)late_samples,
		      (unsigned long long)k->offcpu_replaced, UNSEEN_ATTEMPTS);

	receiver__free(u.r);
	fixture_cleanup(&f);
	capture_free(&cap);
}
