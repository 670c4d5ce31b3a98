// SPDX-License-Identifier: Apache-2.0
/* The receiver's filters on the real kernel: PIDs and existing cgroups
 * stop in the kernel; names, container ids and cgroups created later are
 * decided in user space before anything is symbolized, and a process
 * excluded there goes into the kernel's exclusion map; an exec decides
 * again. No excluded process ever reaches the sink. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"

#define TEST_FREQ 199
#define SPIN_MS "1500"
#define RUN_TIMEOUT_MS 30000

/* The samples the sink got from @tgid, and how many name @func. */
static size_t samples_of(const struct capture *c, pid_t tgid, const char *func,
			 size_t *ret_with_func)
{
	size_t i, n = 0, with = 0;

	for (i = 0; i < c->n; i++) {
		if (c->v[i].tgid != (uint32_t)tgid)
			continue;
		n++;
		if (func && cap_has(&c->v[i], func))
			with++;
	}
	if (ret_with_func)
		*ret_with_func = with;
	return n;
}

struct pair_run {
	struct receiver *r;
	struct fixture *a, *b;
	const struct capture *c;
	const char *b_func;
	size_t b_min; /* samples of b naming b_func to wait for */
};

/* Done when both fixtures exited and b was seen enough. */
static bool pair_done(void *ctx)
{
	struct pair_run *run = ctx;
	size_t with = 0;

	fixture_pump(run->a);
	fixture_pump(run->b);
	if (!run->a->exited || !run->b->exited)
		return false;
	samples_of(run->c, run->b->pid, run->b_func, &with);
	return with >= run->b_min;
}

static void spawn_spinner(struct fixture *f, const char *name)
{
	char path[512];
	char *argv[] = { (char *)fixture_path(name, path, sizeof(path)),
			 SPIN_MS, NULL };

	fixture_spawn(f, argv, 0);
}

/* Runs spin_alpha (@a) and spin_beta (@b), both spawned already, under
 * @r until both exited and beta's samples arrived. */
static void run_pair(struct receiver *r, struct fixture *a, struct fixture *b,
		     const struct capture *c)
{
	struct pair_run run = {
		.r = r,
		.a = a,
		.b = b,
		.c = c,
		.b_func = "beta_spin",
		.b_min = 5,
	};

	fixture_go(a);
	fixture_go(b);
	cr_assert(
		harness_run_until(r, NULL, pair_done, &run, RUN_TIMEOUT_MS),
		"the fixtures did not finish, or beta was not sampled (%zu samples of it)",
		samples_of(c, b->pid, NULL, NULL));
	/* What the kernel still holds. */
	receiver__poll(r, 0);
}

static void assert_never_sampled(const struct capture *c, pid_t tgid,
				 const char *what)
{
	size_t n = samples_of(c, tgid, NULL, NULL);

	cr_assert_eq(n, 0, "%zu samples of %s (%d) reached the sink", n, what,
		     tgid);
}

Test(filters, excluded_name_is_dropped_before_symbolization_then_in_the_kernel)
{
	const char *exclude_comm[] = { "^spin_alpha$" };
	struct filter_spec spec = { .exclude_comm = exclude_comm,
				    .n_exclude_comm = 1 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	size_t with = 0;

	harness_require_root();
	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	r = harness_receiver(&cfg, &sink);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	/* Between the fork and its exec, alpha is a copy of this test and
	 * not excluded; spin_alpha itself never reaches the sink. */
	samples_of(&c, a.pid, "alpha_spin", &with);
	cr_assert_eq(with, 0, "%zu samples of spin_alpha reached the sink",
		     with);
	cr_assert_leq(samples_of(&c, a.pid, NULL, NULL), 2);
	/* Decided once, on its first sample, then stopped at the source:
	 * the kernel drops alpha's samples too. (How many user space saw
	 * before depends on how far behind the ring its reader is: on a
	 * busy or sanitized build, most of them.) */
	cr_assert_geq(st.exclusions, 1);
	cr_assert_geq(st.samples_filtered, 1);
	cr_assert_geq(st.sampler.samples_filtered, 1,
		      "kernel filtered %llu, user space %llu",
		      (unsigned long long)st.sampler.samples_filtered,
		      (unsigned long long)st.samples_filtered);
	/* Alpha's exit lifted its exclusion. */
	cr_assert_geq(st.unexclusions, 1);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}

Test(filters, excluded_pid_is_filtered_in_the_kernel)
{
	struct filter_spec spec = { 0 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	uint32_t pid;

	harness_require_root();
	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	pid = (uint32_t)a.pid;
	spec.exclude_pid = &pid;
	spec.n_exclude_pid = 1;
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	r = harness_receiver(&cfg, &sink);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	assert_never_sampled(&c, a.pid, "the excluded PID");
	cr_assert_geq(st.sampler.samples_filtered, 10);
	/* Nothing left for user space to decide. */
	cr_assert_eq(st.samples_filtered, 0);
	cr_assert_eq(st.exclusions, 0);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}

struct exec_run {
	struct fixture *f;
	const struct capture *c;
};

static bool exec_done(void *ctx)
{
	struct exec_run *run = ctx;
	size_t with = 0;

	if (!run->f->exited)
		return false;
	samples_of(run->c, run->f->pid, "new_image_spin", &with);
	return with >= 5;
}

Test(filters, exec_decides_again)
{
	/* comm is cut to 15 bytes: "exec_from_threa". */
	const char *exclude_comm[] = { "^exec_from_thr" };
	struct filter_spec spec = { .exclude_comm = exclude_comm,
				    .n_exclude_comm = 1 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct exec_run run;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;
	size_t i, with = 0;
	char p1[512], p2[512];
	char *argv[] = { (char *)fixture_path("exec_from_thread", p1,
					      sizeof(p1)),
			 (char *)fixture_path("exec_target", p2, sizeof(p2)),
			 "1500", NULL };

	harness_require_root();
	fixture_spawn(&f, argv, 0);
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	run = (struct exec_run){ .f = &f, .c = &c };
	cr_assert(harness_run_until(r, &f, exec_done, &run, RUN_TIMEOUT_MS),
		  "the new image was not sampled:\n%s", f.out);
	receiver__stats(r, &st);

	/* The old image was excluded, in the kernel too; the exec lifted
	 * it and the new image, named otherwise, was profiled. */
	for (i = 0; i < c.n; i++)
		cr_assert_not(c.v[i].tgid == (uint32_t)f.pid &&
				      cap_has(&c.v[i], "old_image_spin"),
			      "a sample of the excluded image: %s",
			      c.v[i].stack);
	samples_of(&c, f.pid, "new_image_spin", &with);
	cr_assert_geq(with, 5);
	cr_assert_geq(st.exclusions, 1);
	cr_assert_geq(st.unexclusions, 1);

	receiver__free(r);
	fixture_cleanup(&f);
	capture_free(&c);
}

/* ---- cgroups ---- */

/* The cgroup v2 mount, as the receiver finds it by default. */
static const char *cgroup2_mount(void)
{
	static const char *const known[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	struct statfs sf;
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!statfs(known[i], &sf) && sf.f_type == CGROUP2_SUPER_MAGIC)
			return known[i];
	cr_assert_fail("no cgroup v2 mount");
	return NULL;
}

/* The test's cgroup, removed by the suite's fini even when an assertion
 * ended the test early. */
static char made_cgroup[1024];

/* A test cgroup "/NAME" under the v2 mount; @rel gets "/NAME". */
static void cgroup_make(char *rel, size_t size, const char *name)
{
	snprintf(rel, size, "/%s", name);
	snprintf(made_cgroup, sizeof(made_cgroup), "%s%s", cgroup2_mount(),
		 rel);
	cr_assert(!mkdir(made_cgroup, 0755) || errno == EEXIST, "mkdir %s: %s",
		  made_cgroup, strerror(errno));
}

/* Kills what is left in the test's cgroup (cgroup.kill), reaps it, and
 * removes the cgroup, within a second. */
static void cgroup_cleanup(void)
{
	struct timespec step = { .tv_nsec = 10 * 1000 * 1000 };
	char path[1100];
	int fd, i;

	if (!made_cgroup[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.kill", made_cgroup);
	/* Whether it worked, the removal below tells. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = write(fd, "1", 1);

		(void)n;
		close(fd);
	}
	for (i = 0; i < 100; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (!rmdir(made_cgroup) || errno == ENOENT)
			break;
		nanosleep(&step, NULL);
	}
	made_cgroup[0] = '\0';
}

TestSuite(filters, .fini = cgroup_cleanup);

static void cgroup_move(const char *rel, pid_t pid)
{
	char path[1024], text[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s%s/cgroup.procs", cgroup2_mount(), rel);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	n = snprintf(text, sizeof(text), "%d", pid);
	cr_assert_eq(write(fd, text, n), n, "moving %d into %s: %s", pid, rel,
		     strerror(errno));
	close(fd);
}

Test(filters, excluded_cgroup_is_filtered_in_the_kernel)
{
	const char *exclude_cgroup[1];
	struct filter_spec spec = { 0 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	char name[64], rel[128];

	harness_require_root();
	snprintf(name, sizeof(name), "tgprof-test-%d-excluded", getpid());
	cgroup_make(rel, sizeof(rel), name);
	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	cgroup_move(rel, a.pid);
	exclude_cgroup[0] = rel;
	spec.exclude_cgroup = exclude_cgroup;
	spec.n_exclude_cgroup = 1;
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	cfg.cgroup_root = cgroup2_mount();
	r = harness_receiver(&cfg, &sink);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	assert_never_sampled(&c, a.pid, "the excluded cgroup");
	/* The cgroup existed at start: the kernel matched its id, and user
	 * space never had to exclude anyone. (It still drops, fail closed,
	 * the first samples of processes gone before their cgroup could be
	 * read: short-lived ones on a busy machine.) */
	cr_assert_geq(st.sampler.samples_filtered, 10);
	cr_assert_eq(st.exclusions, 0);
	cr_assert_eq(st.samples_filtered, st.samples_facts_unknown);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}

Test(filters, included_cgroup_created_after_start_is_decided_in_user_space)
{
	const char *include_cgroup[1];
	struct filter_spec spec = { 0 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	char name[64], rel[128];
	size_t i;

	harness_require_root();
	snprintf(name, sizeof(name), "tgprof-test-%d-late", getpid());
	snprintf(rel, sizeof(rel), "/%s", name);
	include_cgroup[0] = rel;
	spec.include_cgroup = include_cgroup;
	spec.n_include_cgroup = 1;
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	r = harness_receiver(&cfg, &sink);

	/* Only now: the kernel cannot know its id. */
	cgroup_make(rel, sizeof(rel), name);
	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	cgroup_move(rel, b.pid);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	for (i = 0; i < c.n; i++)
		cr_assert_eq(c.v[i].tgid, (uint32_t)b.pid,
			     "a sample of %u, outside the included cgroup: %s",
			     c.v[i].tgid, c.v[i].stack);
	cr_assert_geq(st.samples_filtered, 1);
	/* Everything else on the host was excluded, in the kernel too. */
	cr_assert_geq(st.exclusions, 1);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}

Test(filters, excluded_container_never_reaches_the_sink)
{
	const char *exclude_container[1];
	struct filter_spec spec = { 0 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	char id[65], name[128], rel[160], prefix[13];

	harness_require_root();
	/* A runtime's scope, as docker names it: a 64-digit id. */
	snprintf(id, sizeof(id), "%016x%016x%016x%016x", (unsigned)getpid(),
		 0xc0ffeeu, 0xbeefu, 0x7091u);
	snprintf(name, sizeof(name), "docker-%s.scope", id);
	cgroup_make(rel, sizeof(rel), name);
	memcpy(prefix, id, 12);
	prefix[12] = '\0';
	exclude_container[0] = prefix;
	spec.exclude_container = exclude_container;
	spec.n_exclude_container = 1;

	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	cgroup_move(rel, a.pid);
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	r = harness_receiver(&cfg, &sink);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	assert_never_sampled(&c, a.pid, "the excluded container");
	cr_assert_geq(st.exclusions, 1);
	cr_assert_geq(st.sampler.samples_filtered, 1);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}

Test(filters, cgroups_without_their_mount_are_decided_in_user_space)
{
	const char *exclude_cgroup[1];
	struct filter_spec spec = { 0 };
	struct capture c = { 0 };
	struct receiver_sink sink = capture_sink(&c);
	struct receiver_config cfg;
	struct fixture a, b;
	struct receiver_stats st;
	struct receiver *r;
	char name[64], rel[128];

	harness_require_root();
	snprintf(name, sizeof(name), "tgprof-test-%d-nomount", getpid());
	cgroup_make(rel, sizeof(rel), name);
	spawn_spinner(&a, "spin_alpha");
	spawn_spinner(&b, "spin_beta");
	cgroup_move(rel, a.pid);
	exclude_cgroup[0] = rel;
	spec.exclude_cgroup = exclude_cgroup;
	spec.n_exclude_cgroup = 1;
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.filter = &spec;
	/* Not a cgroup v2 mount: no id for the kernel. */
	cfg.cgroup_root = "/tmp";
	r = harness_receiver(&cfg, &sink);
	run_pair(r, &a, &b, &c);
	receiver__stats(r, &st);

	/* User space read alpha's cgroup path, excluded it, and put it in
	 * the kernel's exclusion map. */
	assert_never_sampled(&c, a.pid, "the excluded cgroup");
	cr_assert_geq(st.exclusions, 1);
	cr_assert_geq(st.samples_filtered - st.samples_facts_unknown, 1);

	receiver__free(r);
	fixture_cleanup(&a);
	fixture_cleanup(&b);
	capture_free(&c);
}
