// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/processes/proctab.c, the process table between the sampler drain
 * and the symbolizer: the thread-group rules of DESIGN.md section 3 played
 * against a fake /proc tree built in a temporary directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "bpf/sampler.h"
#include "fakeproc.h"
#include "lib/clock.h"
#include "receiver/processes/procfs.h"
#include "receiver/processes/proctab.h"

static const char *root;
static unsigned int log_lines[TG_LOG_DEBUG + 1];

static void count_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	cr_assert_not_null(msg);
	log_lines[level]++;
}

static const struct tg_logger logger = {
	.fn = count_log,
	.max_level = TG_LOG_DEBUG,
};

static void fake_root_create(void)
{
	root = fakeproc_create("tgprof-proctab");
	memset(log_lines, 0, sizeof(log_lines));
}

static void fake_root_remove(void)
{
	fakeproc_remove();
}

TestSuite(proctab, .init = fake_root_create, .fini = fake_root_remove);

/* An executable image: the stat fields its address space is named by and
 * the maps the kernel shows for it. */
struct image {
	uint64_t start_code, end_code, start_stack;
	const char *maps;
};

#define APP_TEXT 0x55550000ULL
#define LIBC_TEXT 0x7f0000100000ULL
#define DLOPEN_TEXT 0x7f0000800000ULL
#define NEW_TEXT 0x56660000ULL

static const struct image app = {
	.start_code = APP_TEXT,
	.end_code = APP_TEXT + 0x10000,
	.start_stack = 0x7ffc10000000ULL,
	.maps = "55540000-55550000 r--p 00000000 08:01 100 /usr/bin/app\n"
		"55550000-55560000 r-xp 00010000 08:01 100 /usr/bin/app\n"
		"55570000-55590000 rw-p 00000000 00:00 0 [heap]\n"
		"7f0000100000-7f0000200000 r-xp 00028000 08:01 200 /usr/lib/libc.so.6\n"
		"7ffc0ff00000-7ffc10001000 rw-p 00000000 00:00 0 [stack]\n",
};

/* The same process after exec: another binary, another stack. */
static const struct image newimg = {
	.start_code = NEW_TEXT,
	.end_code = NEW_TEXT + 0x10000,
	.start_stack = 0x7ffd20000000ULL,
	.maps = "56660000-56670000 r-xp 00000000 08:01 300 /usr/bin/new app\n"
		"7f0000100000-7f0000200000 r-xp 00028000 08:01 200 /usr/lib/libc.so.6\n",
};

static uint64_t aspace_of(const struct image *img)
{
	return tgprof_aspace_id(img->start_code, img->end_code,
				img->start_stack);
}

static uint64_t ticks_ns(uint64_t ticks)
{
	return ticks * (NSEC_PER_SEC / (uint64_t)sysconf(_SC_CLK_TCK));
}

/*
 * Writes the stat and the maps of task @tid of @tgid, or of ROOT/TGID
 * itself when @tid is 0. A zombie or dead task (or one without @img) has
 * no mm: its code and stack fields are 0 and its maps are empty, the way
 * the kernel shows them.
 */
static void fake_task(uint32_t tgid, uint32_t tid, char state,
		      uint64_t start_ticks, const struct image *img)
{
	bool mm = img && !procfs__state_is_dead(state);
	struct fakeproc_stat st = {
		.comm = "my (weird) proc",
		.state = state,
		.start_ticks = start_ticks,
		.start_code = mm ? img->start_code : 0,
		.end_code = mm ? img->end_code : 0,
		.start_stack = mm ? img->start_stack : 0,
	};
	char dir[64];

	fakeproc_write_stat(tgid, tid, &st);
	fakeproc_task_dir(dir, sizeof(dir), tgid, tid);
	fakeproc_write(mm ? img->maps : "", "w", "%s/maps", dir);
}

/* A thread group whose leader is in @leader_state, with @nworkers
 * running threads tgid + 1, tgid + 2, ... */
static void fake_process(uint32_t tgid, uint64_t start_ticks, char leader_state,
			 unsigned int nworkers, const struct image *img)
{
	unsigned int i;

	fake_task(tgid, 0, leader_state, start_ticks, img);
	fake_task(tgid, tgid, leader_state, start_ticks, img);
	for (i = 1; i <= nworkers; i++)
		fake_task(tgid, tgid + i, 'R', start_ticks + i, img);
}

static void fake_remove_process(uint32_t tgid)
{
	fakeproc_rmtree("%u", tgid);
}

static struct proctab *table(uint32_t max_processes, uint64_t reread_ns,
			     uint64_t grace_ns)
{
	struct proctab_opts opts = {
		.sz = sizeof(opts),
		.proc_root = root,
		.max_processes = max_processes,
		.reread_interval_ns = reread_ns,
		.exit_grace_ns = grace_ns,
	};
	struct proctab *pt = proctab__new(&opts, &logger);

	cr_assert_not_null(pt, "proctab__new: %s", strerror(errno));
	return pt;
}

static struct proctab_stats stats(const struct proctab *pt)
{
	struct proctab_stats s;

	proctab__stats(pt, &s);
	return s;
}

#define START_TICKS 4200
#define HUGE_INTERVAL (3600 * NSEC_PER_SEC)

/* A sample's time stamp: after every maps read so far. */
static uint64_t sample_now(void)
{
	return boot_ns() + NSEC_PER_SEC;
}

static struct proc *sampled(struct proctab *pt, uint32_t tgid)
{
	struct proc *p = proctab__get(pt, tgid, ticks_ns(START_TICKS), "app",
				      false, sample_now());

	cr_assert_not_null(p);
	return p;
}

Test(proctab, reused_tgid_is_a_new_process_and_sweep_drops_the_stale_one)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *old, *cur;
	struct proctab_stats s;

	old = proctab__get(pt, 100, ticks_ns(1000), "old", false, 1);
	fake_process(100, 2000, 'R', 0, &app);
	cur = proctab__get(pt, 100, ticks_ns(2000), "new", false, 2);
	cr_assert_not_null(old);
	cr_assert_not_null(cur);
	cr_assert_neq(old, cur);
	s = stats(pt);
	cr_assert_eq(s.new_processes, 2);
	cr_assert_eq(s.processes, 2);
	cr_assert_eq(proctab__lookup(pt, 100, ticks_ns(1000)), old);
	cr_assert_eq(proctab__lookup(pt, 100, ticks_ns(2000)), cur);
	cr_assert_str_eq(old->comm, "old");

	proctab__sweep(pt, 3);
	s = stats(pt);
	cr_assert_eq(s.sweeps, 1);
	cr_assert_eq(s.sweep_removals, 1);
	cr_assert_eq(s.processes, 1);
	cr_assert_null(proctab__lookup(pt, 100, ticks_ns(1000)));
	cr_assert_not_null(proctab__lookup(pt, 100, ticks_ns(2000)));
	proctab__free(pt);
}

Test(proctab, zombie_leader_maps_are_read_through_the_live_worker)
{
	struct proctab *pt = table(0, 0, 0);
	const struct mapping *m;
	struct proc *p;

	/* pthread_exit() of the leader: ROOT/100/maps is empty. */
	fake_process(100, START_TICKS, 'Z', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 101, aspace_of(&app), sample_now()), 0);
	cr_assert_not_null(p->maps);
	cr_assert_eq(p->aspace_id, aspace_of(&app));
	cr_assert_eq(p->maps->n, 2, "executable mappings only");
	m = proctab__find_mapping(pt, p, 101, LIBC_TEXT + 0x10, sample_now());
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, "/usr/lib/libc.so.6");
	cr_assert_eq(stats(pt).maps_reads, 1);
	cr_assert_eq(stats(pt).maps_read_errors, 0);
	proctab__free(pt);
}

Test(proctab, zombie_leader_sampled_through_a_gone_thread_finds_the_worker)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	fake_process(100, START_TICKS, 'Z', 1, &app);
	p = sampled(pt, 100);
	/* Thread 150 exited after the sample was taken. */
	cr_assert_eq(
		proctab__prepare(pt, p, 150, aspace_of(&app), sample_now()), 0);
	cr_assert_not_null(maps__find(p->maps, APP_TEXT));
	cr_assert_eq(p->state, PROC_ALIVE);
	/* And through the zombie leader itself. */
	proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "app", 0, 1);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_not_null(maps__find(p->maps, APP_TEXT));
	proctab__free(pt);
}

Test(proctab, empty_maps_of_one_live_thread_try_another)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	/* The leader is exiting: still running, its mm already gone. */
	fake_process(100, START_TICKS, 'R', 1, &app);
	fakeproc_write("", "w", "100/maps");
	fakeproc_write("", "w", "100/task/100/maps");
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, sample_now()), 0);
	cr_assert_not_null(maps__find(p->maps, LIBC_TEXT));
	cr_assert_eq(p->state, PROC_ALIVE);
	proctab__free(pt);
}

Test(proctab, pthread_exit_of_the_leader_keeps_the_process)
{
	struct proctab *pt = table(0, 0, 0);
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, sample_now()), 0);

	fake_process(100, START_TICKS, 'Z', 1, &app);
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, false, 10);
	proctab__reap(pt, 20);
	proctab__sweep(pt, 30);

	cr_assert_eq(proctab__lookup(pt, 100, ticks_ns(START_TICKS)), p);
	cr_assert_eq(p->state, PROC_ALIVE);
	cr_assert_not_null(p->maps);
	s = stats(pt);
	cr_assert_eq(s.leader_exits, 1);
	cr_assert_eq(s.group_exits, 0);
	cr_assert_eq(s.new_processes, 1);
	cr_assert_eq(s.sweep_removals, 0);
	cr_assert_eq(s.reaped, 0);

	/* Samples of the worker keep using the same entry. */
	cr_assert_eq(sampled(pt, 100), p);
	cr_assert_eq(
		proctab__prepare(pt, p, 101, aspace_of(&app), sample_now()), 0);
	cr_assert_eq(stats(pt).new_processes, 1);
	proctab__free(pt);
}

Test(proctab, leader_exit_of_a_dead_group_is_an_exit_counted_once)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	fake_process(100, START_TICKS, 'Z', 0, &app);
	p = sampled(pt, 100);
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, false, 10);
	cr_assert_eq(p->state, PROC_EXITED);
	cr_assert_eq(stats(pt).leader_exits, 1);
	cr_assert_eq(stats(pt).group_exits, 0);
	/* The kernel's group exit arrives next: one exit in all. */
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, true, 11);
	cr_assert_eq(stats(pt).group_exits, 1);
	proctab__reap(pt, 12);
	cr_assert_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	proctab__free(pt);
}

Test(proctab, group_exit_is_deferred_until_reap)
{
	struct proctab *pt = table(0, 0, 1000);
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 101, 0, sample_now()), 0);
	fake_remove_process(100);

	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, true, 5000);
	cr_assert_eq(proctab__lookup(pt, 100, ticks_ns(START_TICKS)), p);
	cr_assert_eq(p->state, PROC_EXITED);
	cr_assert_eq(p->exit_ns, 5000);
	cr_assert_not_null(p->maps, "samples before the exit need them");
	cr_assert_not_null(proctab__find_mapping(pt, p, 101, APP_TEXT, 4999));

	/* A second report of the same exit is not a second exit. */
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, true, 5001);
	cr_assert_eq(stats(pt).group_exits, 1);

	/* A sweep leaves exited entries to the reaper. */
	proctab__sweep(pt, 5500);
	cr_assert_eq(stats(pt).sweep_removals, 0);
	proctab__reap(pt, 5999);
	cr_assert_not_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	proctab__reap(pt, 6001);
	cr_assert_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	s = stats(pt);
	cr_assert_eq(s.group_exits, 1);
	cr_assert_eq(s.reaped, 1);
	cr_assert_eq(s.processes, 0);
	proctab__free(pt);
}

Test(proctab, group_exit_with_no_grace_is_freed_by_the_next_reap)
{
	struct proctab *pt = table(0, 0, 0);

	sampled(pt, 100);
	sampled(pt, 200);
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), false, true, 50);
	proctab__reap(pt, 50);
	cr_assert_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	cr_assert_not_null(proctab__lookup(pt, 200, ticks_ns(START_TICKS)));
	cr_assert_eq(stats(pt).reaped, 1);
	proctab__free(pt);
}

Test(proctab, exec_drops_the_maps_and_the_next_prepare_rereads_them)
{
	struct proctab *pt = table(0, 0, 0);
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_not_null(maps__find(p->maps, APP_TEXT));

	fake_process(100, START_TICKS, 'R', 0, &newimg);
	cr_assert(proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "new app",
				   aspace_of(&newimg), 10));
	cr_assert_null(p->maps);
	cr_assert_str_eq(p->comm, "new app");
	cr_assert_eq(p->state, PROC_ALIVE);

	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_eq(p->aspace_id, aspace_of(&newimg));
	cr_assert_str_eq(maps__find(p->maps, NEW_TEXT)->path,
			 "/usr/bin/new app");
	cr_assert_null(maps__find(p->maps, APP_TEXT));
	s = stats(pt);
	cr_assert_eq(s.execs, 1);
	cr_assert_eq(s.maps_reads, 1);
	cr_assert_eq(s.maps_rereads, 1);
	cr_assert_eq(s.new_processes, 1);
	cr_assert_eq(p->maps_reads, 2);
	proctab__free(pt);
}

/* The events ring is read once per drain: a sample of the new image
 * written after that read comes before its exec record. The sample moves
 * the entry to the new image (its name, facts and filter verdict), and the
 * record finds it done. */
Test(proctab, sample_of_a_later_image_is_its_exec_before_the_record)
{
	struct proctab *pt = table(0, 0, 0);
	uint64_t t = sample_now(), app_as = aspace_of(&app),
		 new_as = aspace_of(&newimg);
	struct proctab_stats s;
	struct proc *p;
	uint32_t gen;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_not(proctab__follow_image(pt, p, app_as, "app", t));
	cr_assert_eq(proctab__prepare(pt, p, 100, app_as, t), 0);
	gen = p->facts_gen;

	fake_process(100, START_TICKS, 'R', 0, &newimg);
	/* No address space to compare (execve() still loading): nothing. */
	cr_assert_eq(tgprof_aspace_id(0, 0, newimg.start_stack), 0);
	cr_assert_not(proctab__follow_image(pt, p, 0, "app", t + 5));
	cr_assert(proctab__follow_image(pt, p, new_as, "new app", t + 10));
	cr_assert_str_eq(p->comm, "new app");
	cr_assert_null(p->maps);
	cr_assert_neq(p->facts_gen, gen);

	/* Its later samples and its record change nothing more; nor does a
	 * sample of the old image taken before the exec, read late. */
	cr_assert_not(proctab__follow_image(pt, p, new_as, "new app", t + 20));
	cr_assert_not(proctab__on_exec(pt, 100, ticks_ns(START_TICKS),
				       "new app", new_as, t + 8));
	cr_assert_not(proctab__follow_image(pt, p, app_as, "app", t + 6));
	cr_assert_str_eq(p->comm, "new app");
	cr_assert_eq(proctab__prepare(pt, p, 100, new_as, t + 30), 0);
	cr_assert_not_null(maps__find(p->maps, NEW_TEXT));
	s = stats(pt);
	cr_assert_eq(s.execs, 1);
	cr_assert_eq(s.execs_from_samples, 1);
	cr_assert_eq(s.maps_rereads, 1);
	proctab__free(pt);
}

/* The usual order: the record first. A sample of the old image read after
 * it is older than the new image and does not undo it. */
Test(proctab, old_image_sample_after_the_exec_record_keeps_the_new_image)
{
	struct proctab *pt = table(0, 0, 0);
	uint64_t t = sample_now();
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_not(proctab__follow_image(pt, p, aspace_of(&app), "app", t));
	fake_process(100, START_TICKS, 'R', 0, &newimg);
	cr_assert(proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "new app",
				   aspace_of(&newimg), t + 10));
	cr_assert_not(
		proctab__follow_image(pt, p, aspace_of(&app), "app", t + 5));
	cr_assert_not(proctab__follow_image(pt, p, aspace_of(&newimg),
					    "new app", t + 20));
	cr_assert_str_eq(p->comm, "new app");
	s = stats(pt);
	cr_assert_eq(s.execs, 1);
	cr_assert_eq(s.execs_from_samples, 0);
	proctab__free(pt);
}

Test(proctab, events_for_unknown_processes_are_ignored)
{
	struct proctab *pt = table(0, 0, 0);
	struct proctab_stats s;

	cr_assert_not(proctab__on_exec(pt, 100, 1, "x", 0, 1));
	proctab__on_exit(pt, 100, 1, true, false, 1);
	proctab__on_exit(pt, 100, 1, true, true, 1);
	s = stats(pt);
	cr_assert_eq(s.execs, 0);
	cr_assert_eq(s.leader_exits, 0);
	cr_assert_eq(s.group_exits, 0);
	cr_assert_eq(s.processes, 0);
	proctab__free(pt);
}

Test(proctab, unknown_address_reread_is_rate_limited)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, 0);
	struct proctab_stats s;
	struct proc *p;
	int i;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, sample_now()), 0);
	for (i = 0; i < 5; i++)
		cr_assert_null(proctab__find_mapping(pt, p, 100, DLOPEN_TEXT,
						     sample_now()));
	s = stats(pt);
	cr_assert_eq(s.maps_rereads, 1);
	cr_assert_eq(s.maps_reread_ratelimited, 4);

	/* Known addresses never reach the limiter. */
	cr_assert_not_null(
		proctab__find_mapping(pt, p, 100, APP_TEXT, sample_now()));
	cr_assert_eq(stats(pt).maps_reread_ratelimited, 4);
	proctab__free(pt);
}

Test(proctab, mapping_added_after_the_leader_left_is_found)
{
	/* The shortest interval: every miss may re-read. */
	struct proctab *pt = table(0, 1, 0);
	const struct mapping *m;
	struct proc *p;

	fake_process(100, START_TICKS, 'Z', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 101, 0, sample_now()), 0);
	cr_assert_null(proctab__find_mapping(pt, p, 101, DLOPEN_TEXT + 4,
					     sample_now()));

	/* The worker dlopen()s. */
	fakeproc_write(
		"7f0000800000-7f0000810000 r-xp 00001000 08:01 400 /opt/plugin dir/libplugin.so\n",
		"a", "100/task/101/maps");
	m = proctab__find_mapping(pt, p, 101, DLOPEN_TEXT + 4, sample_now());
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, "/opt/plugin dir/libplugin.so");
	cr_assert_eq(stats(pt).maps_rereads, 2);
	cr_assert_eq(stats(pt).maps_reread_ratelimited, 0);
	proctab__free(pt);
}

Test(proctab, junk_addresses_never_trigger_rereads)
{
	static const uint64_t junk[] = {
		0, 1, 8, 4095, 1ULL << 56, (1ULL << 56) + 4096, UINT64_MAX,
	};
	struct proctab *pt = table(0, 1, 0);
	struct proctab_stats s;
	struct proc *p;
	size_t i;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, sample_now()), 0);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		cr_assert_null(proctab__find_mapping(pt, p, 100, junk[i],
						     sample_now()));
	s = stats(pt);
	cr_assert_eq(s.maps_reads, 1);
	cr_assert_eq(s.maps_rereads, 0);
	cr_assert_eq(s.maps_reread_ratelimited, 0);
	proctab__free(pt);
}

Test(proctab, sample_from_an_older_address_space_is_stale)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, 0);
	uint64_t before_read;
	struct proctab_stats s;
	struct proc *p;

	/* The exec happened, its event is still in the ring; the maps are
	 * read from the new image; a sample from the old one arrives. */
	fake_process(100, START_TICKS, 'R', 0, &newimg);
	before_read = boot_ns();
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&app), before_read),
		     -ESTALE);
	s = stats(pt);
	cr_assert_eq(s.stale_aspace, 1);
	cr_assert_eq(s.maps_rereads, 0, "maps newer than the sample");
	cr_assert_eq(p->aspace_id, aspace_of(&newimg));
	proctab__free(pt);
}

Test(proctab, aspace_mismatch_after_the_read_rereads_once_then_is_stale)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, 0);
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	/* An address space /proc does not show. */
	cr_assert_eq(proctab__prepare(pt, p, 100, 0x1234, sample_now()),
		     -ESTALE);
	s = stats(pt);
	cr_assert_eq(s.maps_rereads, 1);
	cr_assert_eq(s.stale_aspace, 1);
	/* The same unknown address space again: no read storm. */
	cr_assert_eq(proctab__prepare(pt, p, 100, 0x1234, sample_now()),
		     -ESTALE);
	s = stats(pt);
	cr_assert_eq(s.maps_rereads, 1);
	cr_assert_eq(s.stale_aspace, 2);
	cr_assert_eq(s.maps_reread_ratelimited, 1);
	/* Matching samples are unaffected. */
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	proctab__free(pt);
}

Test(proctab, lost_exec_is_caught_by_the_aspace_reread)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, 0);
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	/* exec without an event (the ring was full). */
	fake_process(100, START_TICKS, 'R', 0, &newimg);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_not_null(maps__find(p->maps, NEW_TEXT));
	s = stats(pt);
	cr_assert_eq(s.maps_rereads, 1);
	cr_assert_eq(s.stale_aspace, 0);
	proctab__free(pt);
}

Test(proctab, kernel_threads_never_read_maps)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	p = proctab__get(pt, 2, ticks_ns(1), "kthreadd", true, 1);
	cr_assert_not_null(p);
	cr_assert(p->kernel_thread);
	cr_assert_eq(proctab__prepare(pt, p, 2, 0, sample_now()), -ENOENT);
	cr_assert_null(proctab__find_mapping(pt, p, 2, 0x400000, 1));
	cr_assert_eq(stats(pt).maps_reads, 0);
	cr_assert_eq(stats(pt).maps_read_errors, 0);
	proctab__free(pt);
}

Test(proctab, failed_read_of_a_gone_process_defers_its_removal)
{
	struct proctab *pt = table(0, 0, 0);
	struct proctab_stats s;
	struct proc *p;

	p = sampled(pt, 100); /* no /proc entry: exited before the read */
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, 777), -ENOENT);
	cr_assert_eq(p->state, PROC_EXITED);
	cr_assert_eq(p->exit_ns, 777);
	s = stats(pt);
	cr_assert_eq(s.maps_reads, 1);
	cr_assert_eq(s.maps_read_errors, 1);
	cr_assert_eq(s.group_exits, 0);
	proctab__reap(pt, 778);
	cr_assert_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	proctab__free(pt);
}

Test(proctab, reused_tgid_never_lends_its_maps_to_the_old_process)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	/* TGID 100 now belongs to a process started later. */
	fake_process(100, START_TICKS + 50, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 100, 0, 5), -ENOENT);
	cr_assert_null(p->maps);
	cr_assert_eq(p->state, PROC_EXITED);
	cr_assert_eq(stats(pt).maps_read_errors, 1);
	cr_assert_eq(stats(pt).group_exits, 0);
	proctab__free(pt);
}

Test(proctab, unreadable_maps_of_a_live_process_are_retried_at_the_limit)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, 0);
	struct proctab_stats s;
	struct proc *p;

	/* Alive, yet every maps file is empty (the group is exiting). */
	fake_process(100, START_TICKS, 'R', 1, &app);
	fakeproc_write("", "w", "100/maps");
	fakeproc_write("", "w", "100/task/100/maps");
	fakeproc_write("", "w", "100/task/101/maps");
	p = sampled(pt, 100);
	cr_assert_eq(proctab__prepare(pt, p, 101, 0, sample_now()), -ENODATA);
	cr_assert_eq(proctab__prepare(pt, p, 101, 0, sample_now()), -ENODATA);
	s = stats(pt);
	cr_assert_eq(s.maps_reads, 1);
	cr_assert_eq(s.maps_read_errors, 1);
	cr_assert_eq(s.maps_reread_ratelimited, 1);
	cr_assert_eq(p->state, PROC_ALIVE, "empty maps are not an exit");
	proctab__free(pt);
}

Test(proctab, full_table_evicts_the_least_recently_used)
{
	struct proctab *pt = table(2, 0, 0);
	struct proctab_stats s;

	cr_assert_not_null(proctab__get(pt, 1, 10, "a", false, 1));
	cr_assert_not_null(proctab__get(pt, 2, 20, "b", false, 2));
	cr_assert_not_null(proctab__get(pt, 1, 10, "a", false, 3));
	cr_assert_not_null(proctab__get(pt, 3, 30, "c", false, 4));
	s = stats(pt);
	cr_assert_eq(s.evictions, 1);
	cr_assert_eq(s.processes, 2);
	cr_assert_eq(s.new_processes, 3);
	cr_assert_not_null(proctab__lookup(pt, 1, 10));
	cr_assert_null(proctab__lookup(pt, 2, 20));
	cr_assert_not_null(proctab__lookup(pt, 3, 30));
	cr_assert_eq(log_lines[TG_LOG_WARN], 1, "warned once");
	cr_assert_not_null(proctab__get(pt, 4, 40, "d", false, 5));
	cr_assert_eq(stats(pt).evictions, 2);
	cr_assert_null(proctab__lookup(pt, 1, 10));
	cr_assert_eq(log_lines[TG_LOG_WARN], 1, "warned once");
	proctab__free(pt);
}

Test(proctab, get_counts_samples_and_keeps_the_first_name)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	p = proctab__get(pt, 7, 70, "a very long process name", false, 100);
	cr_assert_str_eq(p->comm, "a very long pro");
	cr_assert_eq(proctab__get(pt, 7, 70, "other", false, 200), p);
	cr_assert_str_eq(p->comm, "a very long pro");
	cr_assert_eq(p->samples, 2);
	cr_assert_eq(p->last_sample_ns, 200);
	cr_assert_eq(p->start_ns, 70);
	cr_assert_eq(p->tgid, 7);
	cr_assert_eq(stats(pt).new_processes, 1);
	proctab__free(pt);
}

Test(proctab, sweep_removes_dead_groups_and_keeps_live_ones)
{
	struct proctab *pt = table(0, 0, 0);
	struct proctab_stats s;

	fake_process(100, START_TICKS, 'R', 0, &app); /* alive */
	fake_process(200, START_TICKS, 'Z', 2, &app); /* zombie leader */
	fake_process(300, START_TICKS, 'Z', 0, &app); /* all zombies */
	sampled(pt, 100);
	sampled(pt, 200);
	sampled(pt, 300);
	sampled(pt, 400); /* gone from /proc */
	cr_assert_not_null(proctab__get(pt, 0, 0, "swapper/0", true, 1));

	proctab__sweep(pt, 1);
	s = stats(pt);
	cr_assert_eq(s.sweeps, 1);
	cr_assert_eq(s.sweep_removals, 2);
	cr_assert_eq(s.processes, 3);
	cr_assert_not_null(proctab__lookup(pt, 100, ticks_ns(START_TICKS)));
	cr_assert_not_null(proctab__lookup(pt, 200, ticks_ns(START_TICKS)));
	cr_assert_null(proctab__lookup(pt, 300, ticks_ns(START_TICKS)));
	cr_assert_null(proctab__lookup(pt, 400, ticks_ns(START_TICKS)));
	cr_assert_not_null(proctab__lookup(pt, 0, 0), "the idle task stays");
	proctab__free(pt);
}

static void heard_exec(void *ctx, struct proc *p)
{
	*(uint32_t *)ctx = p->tgid;
}

Test(proctab, repair_after_lost_events_finds_the_dead_and_the_execd)
{
	struct proctab *pt = table(0, HUGE_INTERVAL, HUGE_INTERVAL);
	uint32_t execd = 0;
	struct proctab_stats s;
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app); /* stays as it was */
	fake_process(200, START_TICKS, 'R', 0, &app); /* exec'd, unreported */
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	p = sampled(pt, 200);
	cr_assert_eq(
		proctab__prepare(pt, p, 200, aspace_of(&app), sample_now()), 0);
	sampled(pt, 300); /* exited, unreported: gone from /proc */
	fake_process(200, START_TICKS, 'R', 0, &newimg);

	proctab__repair(pt, 5, heard_exec, &execd);
	s = stats(pt);
	cr_assert_eq(s.repairs, 1);
	cr_assert_eq(s.repair_exits, 1);
	cr_assert_eq(s.repair_execs, 1);
	cr_assert_eq(s.execs, 1);
	cr_assert_eq(s.sweep_removals, 0);
	cr_assert_eq(execd, 200);
	p = proctab__lookup(pt, 200, ticks_ns(START_TICKS));
	cr_assert_not_null(p);
	cr_assert_null(p->maps, "an exec found by a repair drops the maps");
	cr_assert_str_eq(p->comm, "my (weird) proc");
	p = proctab__lookup(pt, 100, ticks_ns(START_TICKS));
	cr_assert_not_null(p->maps, "an unchanged process keeps its maps");
	/* The dead one is let go through the grace, as after an exit. */
	p = proctab__lookup(pt, 300, ticks_ns(START_TICKS));
	cr_assert_not_null(p);
	cr_assert_eq(p->state, PROC_EXITED);
	proctab__reap(pt, 5 + HUGE_INTERVAL);
	cr_assert_null(proctab__lookup(pt, 300, ticks_ns(START_TICKS)));
	proctab__free(pt);
}

static void count_entries(void *ctx, const struct proc *p)
{
	uint64_t *sum = ctx;

	*sum += p->tgid;
}

Test(proctab, for_each_visits_every_entry)
{
	struct proctab *pt = table(0, 0, 0);
	uint64_t sum = 0;

	sampled(pt, 1);
	sampled(pt, 20);
	sampled(pt, 300);
	proctab__for_each(pt, count_entries, &sum);
	cr_assert_eq(sum, 321);
	proctab__free(pt);
}

Test(proctab, options_are_checked_and_defaulted)
{
	struct proctab_opts bad = { .sz = 1 };
	struct {
		struct proctab_opts opts;
		uint64_t future;
	} longer = { .opts = { .sz = sizeof(longer) }, .future = 1 };
	struct proctab *pt;

	errno = 0;
	cr_assert_null(proctab__new(&bad, NULL));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(proctab__new(&longer.opts, NULL));
	cr_assert_eq(errno, EINVAL, "unknown non-zero option");
	longer.future = 0;
	pt = proctab__new(&longer.opts, NULL);
	cr_assert_not_null(pt);
	proctab__free(pt);
	pt = proctab__new(NULL, NULL);
	cr_assert_not_null(pt);
	cr_assert_not_null(proctab__get(pt, 1, 1, NULL, false, 1));
	proctab__free(pt);
}

Test(proctab, free_accepts_null_and_a_full_table)
{
	struct proctab *pt = table(0, 0, 0);

	proctab__free(NULL);
	fake_process(100, START_TICKS, 'R', 0, &app);
	cr_assert_eq(proctab__prepare(pt, sampled(pt, 100), 100, 0,
				      sample_now()),
		     0);
	sampled(pt, 200);
	proctab__on_exit(pt, 200, ticks_ns(START_TICKS), true, true, 1);
	proctab__free(pt); /* ASan reports what it leaks */
}

/* ---- facts for the profile's resource ---- */

#define CONTAINER \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

Test(proctab, facts_are_read_through_the_thread_that_gave_the_maps)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;
	uint32_t gen;

	/* pthread_exit() of the leader: only the worker shows them. */
	fake_process(100, START_TICKS, 'Z', 1, &app);
	fakeproc_symlink("/usr/bin/app", "100/task/101/exe");
	fakeproc_write("0::/kubepods/besteffort/pod42/" CONTAINER "\n", "w",
		       "100/task/101/cgroup");
	p = sampled(pt, 100);
	gen = p->facts_gen;
	cr_assert_null(p->exe_path);
	cr_assert_str_eq(p->container_id, "");
	cr_assert_eq(
		proctab__prepare(pt, p, 101, aspace_of(&app), sample_now()), 0);
	cr_assert_not_null(p->exe_path);
	cr_assert_str_eq(p->exe_path, "/usr/bin/app");
	cr_assert_str_eq(p->container_id, CONTAINER);
	cr_assert_neq(p->facts_gen, gen);
	cr_assert_eq(stats(pt).facts_reads, 1);
	cr_assert_eq(stats(pt).facts_errors, 0);

	/* Read once: a re-read of the maps leaves them be. */
	gen = p->facts_gen;
	proctab__find_mapping(pt, p, 101, DLOPEN_TEXT, sample_now());
	cr_assert_eq(p->facts_gen, gen);
	cr_assert_eq(stats(pt).facts_reads, 1);
	proctab__free(pt);
}

Test(proctab, exec_reads_the_facts_of_the_new_image)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;
	uint32_t gen;

	fake_process(100, START_TICKS, 'R', 0, &app);
	fakeproc_symlink("/usr/bin/app", "100/task/100/exe");
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_str_eq(p->exe_path, "/usr/bin/app");
	/* Not in a container. */
	cr_assert_str_eq(p->container_id, "");

	fake_process(100, START_TICKS, 'R', 0, &newimg);
	fakeproc_rmtree("100/task/100/exe");
	fakeproc_symlink("/usr/bin/new app", "100/task/100/exe");
	gen = p->facts_gen;
	proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "new app",
			 aspace_of(&newimg), 1);
	cr_assert_null(p->exe_path);
	cr_assert_neq(p->facts_gen, gen);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_str_eq(p->exe_path, "/usr/bin/new app");
	cr_assert_eq(stats(pt).facts_reads, 2);
	proctab__free(pt);
}

/* A memfd executable's name is its argv[0]; a file's is its path, and
 * its command line is never read. An exec drops it with the rest. */
Test(proctab, argv0_is_read_for_an_anonymous_executable_only)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	fakeproc_symlink("/memfd:sealed-91173221a7ea (deleted)",
			 "100/task/100/exe");
	fakeproc_write("tools/binary_backend", "w", "100/task/100/cmdline");
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_str_eq(p->exe_path, "/memfd:sealed-91173221a7ea");
	cr_assert_str_eq(p->argv0, "binary_backend");

	fake_process(100, START_TICKS, 'R', 0, &newimg);
	fakeproc_rmtree("100/task/100/exe");
	fakeproc_symlink("/usr/bin/app", "100/task/100/exe");
	proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "app",
			 aspace_of(&newimg), 1);
	cr_assert_null(p->argv0);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_str_eq(p->exe_path, "/usr/bin/app");
	cr_assert_null(p->argv0);
	proctab__free(pt);
}

Test(proctab, unreadable_executable_is_counted_and_left_unknown)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 0, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_null(p->exe_path);
	cr_assert_eq(stats(pt).facts_reads, 1);
	cr_assert_eq(stats(pt).facts_errors, 1);
	proctab__free(pt);
}

Test(proctab, filter_facts_are_read_before_the_maps_and_again_after_exec)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;
	uint32_t gen;

	fake_process(100, START_TICKS, 'R', 0, &app);
	fakeproc_write("0::/kubepods/besteffort/pod42/" CONTAINER "\n", "w",
		       "100/task/100/cgroup");
	p = sampled(pt, 100);
	cr_assert_not(p->cgroup_known);
	gen = p->facts_gen;
	cr_assert_eq(proctab__read_facts(pt, p, 100), 0);
	cr_assert(p->cgroup_known);
	cr_assert_null(p->maps, "the maps wait for symbolization");
	cr_assert_str_eq(p->container_id, CONTAINER);
	cr_assert_str_eq(p->cgroup_path,
			 "/kubepods/besteffort/pod42/" CONTAINER);
	cr_assert_neq(p->facts_gen, gen);
	/* Known: not read again, not by the maps read either. */
	gen = p->facts_gen;
	cr_assert_eq(proctab__read_facts(pt, p, 100), 0);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	cr_assert_eq(p->facts_gen, gen);
	cr_assert_eq(stats(pt).facts_reads, 1);

	/* An exec forgets them; the next read sees the new cgroup. */
	fakeproc_write("0::/user.slice\n", "w", "100/task/100/cgroup");
	proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "new app", 0, 1);
	cr_assert_not(p->cgroup_known);
	cr_assert_null(p->cgroup_path);
	cr_assert_eq(proctab__read_facts(pt, p, 100), 0);
	cr_assert_str_eq(p->cgroup_path, "/user.slice");
	cr_assert_str_eq(p->container_id, "");
	proctab__free(pt);
}

Test(proctab, filter_facts_of_a_gone_thread_come_through_a_live_one)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	/* The leader left with pthread_exit(); thread 101 runs on. */
	fake_process(100, START_TICKS, 'Z', 1, &app);
	fakeproc_write("0::/system.slice/app.service\n", "w",
		       "100/task/101/cgroup");
	p = sampled(pt, 100);
	/* Sampled as thread 102, gone by now. */
	cr_assert_eq(proctab__read_facts(pt, p, 102), 0);
	cr_assert_str_eq(p->cgroup_path, "/system.slice/app.service");
	proctab__free(pt);
}

Test(proctab, unreadable_filter_facts_are_retried_at_the_reread_rate)
{
	struct proctab *pt = table(0, 3600ULL * NSEC_PER_SEC, 0);
	struct proc *p;

	p = proctab__get(pt, 300, ticks_ns(START_TICKS), "gone", false,
			 sample_now());
	cr_assert_not_null(p);
	cr_assert_eq(proctab__read_facts(pt, p, 300), -ENOENT);
	cr_assert_not(p->cgroup_known);
	cr_assert_eq(stats(pt).cgroup_errors, 1);
	/* Held back: the same answer without another read. */
	cr_assert_eq(proctab__read_facts(pt, p, 300), -ENOENT);
	cr_assert_eq(stats(pt).cgroup_errors, 1);
	cr_assert_eq(stats(pt).facts_ratelimited, 1);
	proctab__free(pt);
}

/* What an observer (the unwind loader) hears. */
struct heard {
	unsigned int reads, gone;
	uint32_t tid;
	bool had_maps; /* p->maps set when maps_read came */
	bool maps_when_gone; /* p->maps still there when maps_gone came */
};

static void heard_read(void *ctx, struct proc *p, uint32_t tid)
{
	struct heard *h = ctx;

	h->reads++;
	h->tid = tid;
	h->had_maps = p->maps != NULL;
}

static void heard_gone(void *ctx, struct proc *p)
{
	struct heard *h = ctx;

	h->gone++;
	h->maps_when_gone = p->maps != NULL;
}

/* The observer hears every read of a process's maps (with the thread they
 * came through, and the new maps in place) and, while the maps are still
 * there, their end: exec, and removal after the exit grace; never the
 * leader's pthread_exit(). */
Test(proctab, observer_hears_maps_read_exec_and_removal_not_leader_exit)
{
	struct heard h = { 0 };
	struct proctab_observer obs = { .maps_read = heard_read,
					.maps_gone = heard_gone,
					.ctx = &h };
	struct proctab_opts opts = { .sz = sizeof(opts),
				     .proc_root = root,
				     .observer = &obs };
	struct proctab *pt = proctab__new(&opts, &logger);
	struct proc *p;

	cr_assert_not_null(pt);
	fake_process(100, START_TICKS, 'R', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 101, aspace_of(&app), sample_now()), 0);
	cr_assert_eq(h.reads, 1);
	cr_assert_eq(h.tid, 101);
	cr_assert(h.had_maps);

	/* pthread_exit() of the leader: the process and its maps stay. */
	fake_process(100, START_TICKS, 'Z', 1, &app);
	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, false, 5);
	cr_assert_eq(h.gone, 0);

	fake_process(100, START_TICKS, 'R', 1, &newimg);
	proctab__on_exec(pt, 100, ticks_ns(START_TICKS), "new app",
			 aspace_of(&newimg), 10);
	cr_assert_eq(h.gone, 1);
	cr_assert(h.maps_when_gone);
	cr_assert_eq(proctab__prepare(pt, p, 100, aspace_of(&newimg),
				      sample_now()),
		     0);
	cr_assert_eq(h.reads, 2);

	proctab__on_exit(pt, 100, ticks_ns(START_TICKS), true, true, 20);
	cr_assert_eq(h.gone, 1);
	proctab__reap(pt, 20);
	cr_assert_eq(h.gone, 2);
	cr_assert(h.maps_when_gone);
	proctab__free(pt);
	cr_assert_eq(h.gone, 2, "proctab__free() calls no observer");
}

/* A process not sampled for idle_ns loses its mappings (the observer hears
 * it, so the unwind ranges and perf map go too) but keeps its entry; the
 * one sampled recently keeps everything; the idle one's next sample reads
 * its maps again and finds its addresses. The table's bytes follow. */
Test(proctab, idle_process_drops_its_maps_and_reads_them_at_its_next_sample)
{
	struct heard h = { 0 };
	struct proctab_observer obs = { .maps_read = heard_read,
					.maps_gone = heard_gone,
					.ctx = &h };
	struct proctab_opts opts = { .sz = sizeof(opts),
				     .proc_root = root,
				     .observer = &obs,
				     .idle_ns = 60 * NSEC_PER_SEC };
	struct proctab *pt = proctab__new(&opts, &logger);
	uint64_t t0 = sample_now(), with_maps;
	struct proc *idle, *busy;

	cr_assert_not_null(pt);
	fake_process(100, START_TICKS, 'R', 1, &app);
	fake_process(200, START_TICKS, 'R', 1, &app);
	idle = proctab__get(pt, 100, ticks_ns(START_TICKS), "app", false, t0);
	busy = proctab__get(pt, 200, ticks_ns(START_TICKS), "app", false, t0);
	cr_assert_eq(proctab__prepare(pt, idle, 100, aspace_of(&app), t0), 0);
	cr_assert_eq(proctab__prepare(pt, busy, 200, aspace_of(&app), t0), 0);
	with_maps = stats(pt).bytes;
	cr_assert_gt(with_maps, 2 * idle->maps->memory);

	/* Within idle_ns nothing goes. */
	proctab__drop_idle(pt, t0 + 59 * NSEC_PER_SEC);
	cr_assert_not_null(idle->maps);
	cr_assert_eq(stats(pt).idle_drops, 0);

	/* busy is sampled at 30 s; at 61 s only idle is past the timeout. */
	cr_assert_eq(proctab__get(pt, 200, ticks_ns(START_TICKS), "app", false,
				  t0 + 30 * NSEC_PER_SEC),
		     busy);
	proctab__drop_idle(pt, t0 + 61 * NSEC_PER_SEC);
	cr_assert_null(idle->maps);
	cr_assert_not_null(busy->maps);
	cr_assert_eq(h.gone, 1, "the observer drops what follows the maps");
	cr_assert_eq(stats(pt).idle_drops, 1);
	cr_assert_eq(stats(pt).processes, 2, "the entry stays");
	cr_assert_lt(stats(pt).bytes, with_maps);
	/* Dropped once: a second pass has nothing more to drop. */
	proctab__drop_idle(pt, t0 + 62 * NSEC_PER_SEC);
	cr_assert_eq(stats(pt).idle_drops, 1);
	cr_assert_eq(h.gone, 1);

	/* Its next sample reads the maps again and finds libc. */
	cr_assert_eq(proctab__get(pt, 100, ticks_ns(START_TICKS), "app", false,
				  t0 + 70 * NSEC_PER_SEC),
		     idle);
	cr_assert_eq(proctab__prepare(pt, idle, 101, aspace_of(&app),
				      t0 + 70 * NSEC_PER_SEC),
		     0);
	cr_assert_not_null(idle->maps);
	cr_assert_eq(h.reads, 3);
	cr_assert_not_null(proctab__find_mapping(
		pt, idle, 101, LIBC_TEXT + 0x10, t0 + 70 * NSEC_PER_SEC));
	cr_assert_eq(stats(pt).bytes, with_maps);
	proctab__free(pt);
}

Test(proctab, idle_timeout_zero_never_drops)
{
	struct proctab *pt = table(0, 0, 0);
	struct proc *p;

	fake_process(100, START_TICKS, 'R', 1, &app);
	p = sampled(pt, 100);
	cr_assert_eq(
		proctab__prepare(pt, p, 100, aspace_of(&app), sample_now()), 0);
	proctab__drop_idle(pt, sample_now() + HUGE_INTERVAL);
	cr_assert_not_null(p->maps);
	cr_assert_eq(stats(pt).idle_drops, 0);
	proctab__free(pt);
}
