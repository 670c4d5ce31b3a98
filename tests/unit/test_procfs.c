// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/processes/procfs.c, the /proc facts the process table decides
 * with: stat parsing, thread-group liveness (DESIGN.md section 3), maps
 * reads and opening files inside a task's root, on a fake /proc tree built
 * in a temporary directory, plus a few checks against the real /proc. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fakeproc.h"
#include "receiver/processes/maps.h"
#include "receiver/processes/procfs.h"

static const char *root;

static void fake_root_create(void)
{
	root = fakeproc_create("tgprof-procfs");
}

static void fake_root_remove(void)
{
	fakeproc_remove();
}

TestSuite(procfs, .init = fake_root_create, .fini = fake_root_remove);

/* ROOT/TGID/stat (@tid 0) or ROOT/TGID/task/TID/stat. */
static void fake_stat(uint32_t tgid, uint32_t tid, const char *comm, char state,
		      uint64_t start_ticks)
{
	struct fakeproc_stat st = {
		.comm = comm,
		.state = state,
		.start_ticks = start_ticks,
		.start_code = 0x5555a000,
		.end_code = 0x5555b000,
		.start_stack = 0x7ffc1000,
	};

	fakeproc_write_stat(tgid, tid, &st);
}

/* A leader (which also appears in its own task directory). */
static void fake_leader(uint32_t tgid, char state, uint64_t start_ticks)
{
	fake_stat(tgid, 0, "my (weird) proc", state, start_ticks);
	fake_stat(tgid, tgid, "my (weird) proc", state, start_ticks);
}

Test(procfs, stat_comm_with_spaces_and_parens_is_parsed)
{
	struct proc_stat st;

	fake_leader(100, 'S', 123456);
	cr_assert_eq(procfs__read_stat(root, 100, 0, &st), 0);
	cr_assert_str_eq(st.comm, "my (weird) proc");
	cr_assert_eq(st.state, 'S');
	cr_assert_eq(st.start_ticks, 123456);
	cr_assert_eq(st.start_code, 0x5555a000);
	cr_assert_eq(st.end_code, 0x5555b000);
	cr_assert_eq(st.start_stack, 0x7ffc1000);
}

Test(procfs, stat_comm_that_looks_like_fields_is_parsed)
{
	struct fakeproc_stat fst = {
		.comm = "a) R 1 2 (b",
		.state = 'D',
		.start_ticks = 77,
		.start_code = 1,
		.end_code = 2,
		.start_stack = 3,
	};
	struct proc_stat st;

	/* A first-')' parser would take " R 1 2 (" for fields. */
	fakeproc_write_stat(100, 0, &fst);
	cr_assert_eq(procfs__read_stat(root, 100, 0, &st), 0);
	cr_assert_str_eq(st.comm, "a) R 1 2 (b");
	cr_assert_eq(st.state, 'D');
	cr_assert_eq(st.start_ticks, 77);
	cr_assert_eq(st.start_stack, 3);
}

Test(procfs, stat_long_comm_is_truncated)
{
	struct fakeproc_stat fst = {
		.comm = "kworker/u8:2-events_unbound",
		.state = 'I',
		.start_ticks = 5,
	};
	struct proc_stat st;

	/* Kernel threads show more than 15 characters. */
	fakeproc_write_stat(7, 0, &fst);
	cr_assert_eq(procfs__read_stat(root, 7, 0, &st), 0);
	cr_assert_str_eq(st.comm, "kworker/u8:2-ev");
	cr_assert_eq(st.start_ticks, 5);
}

Test(procfs, stat_of_a_thread_is_read_from_its_task_directory)
{
	struct proc_stat st;

	fake_leader(100, 'Z', 1000);
	fake_stat(100, 101, "worker", 'R', 1001);
	cr_assert_eq(procfs__read_stat(root, 100, 101, &st), 0);
	cr_assert_str_eq(st.comm, "worker");
	cr_assert_eq(st.state, 'R');
	cr_assert_eq(st.start_ticks, 1001);
}

Test(procfs, stat_of_a_missing_task_is_enoent)
{
	struct proc_stat st;

	cr_assert_eq(procfs__read_stat(root, 4242, 0, &st), -ENOENT);
	cr_assert_eq(procfs__read_stat(root, 4242, 4243, &st), -ENOENT);
	/* Emptied under us: the task is gone, not malformed. */
	fakeproc_mkdir("4242");
	fakeproc_write("", "w", "4242/stat");
	cr_assert_eq(procfs__read_stat(root, 4242, 0, &st), -ENOENT);
}

Test(procfs, stat_truncated_or_garbage_is_einval)
{
	static const char *const bad[] = {
		"garbage\n",
		"100 (app S 1 2 3\n",
		"100 (app) S 1 100 100 0 -1 4194560 1207 0 0 0 10 5 0 0 20 0 2 0 12345 9261056 896\n",
		"100 (app) S 1 100 100 0 -1 4194560 1207 0 0 0 10 5 0 0 20 0 2 0 x 9261056 896 1 2 3 4 5\n",
		"100 (app)\n",
		"100 (app)",
	};
	struct proc_stat st;
	size_t i;

	fakeproc_mkdir("100");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fakeproc_write(bad[i], "w", "100/stat");
		cr_assert_eq(procfs__read_stat(root, 100, 0, &st), -EINVAL,
			     "accepted: %s", bad[i]);
	}
}

Test(procfs, dead_states_are_z_x_and_lowercase_x)
{
	cr_assert(procfs__state_is_dead('Z'));
	cr_assert(procfs__state_is_dead('X'));
	cr_assert(procfs__state_is_dead('x'));
	cr_assert_not(procfs__state_is_dead('R'));
	cr_assert_not(procfs__state_is_dead('S'));
	cr_assert_not(procfs__state_is_dead('D'));
	cr_assert_not(procfs__state_is_dead('T'));
	cr_assert_not(procfs__state_is_dead('I'));
}

Test(procfs, ns_to_ticks_floors_like_the_kernel)
{
	uint64_t ns_per_tick = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

	cr_assert_eq(procfs__ns_to_ticks(0), 0);
	cr_assert_eq(procfs__ns_to_ticks(ns_per_tick - 1), 0);
	cr_assert_eq(procfs__ns_to_ticks(ns_per_tick), 1);
	cr_assert_eq(procfs__ns_to_ticks(1000000000ULL),
		     (uint64_t)sysconf(_SC_CLK_TCK));
	cr_assert_eq(procfs__ns_to_ticks(12345 * ns_per_tick + 17), 12345);
}

Test(procfs, running_leader_is_alive_through_itself)
{
	uint32_t live = 0;

	fake_leader(100, 'S', 1000);
	fake_stat(100, 101, "worker", 'R', 1001);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, &live),
		     GROUP_ALIVE);
	cr_assert_eq(live, 100);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, NULL),
		     GROUP_ALIVE);
}

Test(procfs, zombie_leader_with_live_worker_is_alive)
{
	uint32_t live = 0;

	fake_leader(100, 'Z', 1000);
	fake_stat(100, 101, "zombie worker", 'Z', 1001);
	fake_stat(100, 102, "worker", 'S', 1002);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, &live),
		     GROUP_ALIVE);
	cr_assert_eq(live, 102);
}

Test(procfs, task_vanishing_during_the_listing_is_skipped)
{
	uint32_t live = 0;

	fake_leader(100, 'Z', 1000);
	fakeproc_mkdir("100/task/101"); /* listed, stat already gone */
	fake_stat(100, 102, "worker", 'R', 1002);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, &live),
		     GROUP_ALIVE);
	cr_assert_eq(live, 102);
}

Test(procfs, all_zombies_is_dead)
{
	uint32_t live = 7;

	fake_leader(100, 'Z', 1000);
	fake_stat(100, 101, "worker", 'Z', 1001);
	fake_stat(100, 102, "worker", 'X', 1002);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, &live),
		     GROUP_DEAD);
	cr_assert_eq(live, 7, "written on failure");
}

Test(procfs, missing_group_is_dead)
{
	cr_assert_eq(procfs__group_liveness(root, 4242, 1000, NULL),
		     GROUP_DEAD);
	/* A zombie leader whose task directory is gone too. */
	fake_stat(100, 0, "app", 'Z', 1000);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, NULL), GROUP_DEAD);
}

Test(procfs, another_start_time_is_reused)
{
	fake_leader(100, 'R', 2000);
	cr_assert_eq(procfs__group_liveness(root, 100, 1000, NULL),
		     GROUP_REUSED);
}

Test(procfs, maps_are_read_whole_through_the_thread)
{
	size_t want = 0, len = 0, i;
	char line[128], *text, *buf = NULL;

	/* Larger than any single read() chunk. */
	text = malloc(300000);
	cr_assert_not_null(text);
	for (i = 0; want + sizeof(line) < 300000; i++)
		want += (size_t)sprintf(
			text + want,
			"%zx-%zx r-xp 00000000 08:01 %zu /usr/lib/lib%zu.so\n",
			(i + 1) * 0x10000, (i + 1) * 0x10000 + 0x1000, i, i);
	fake_leader(100, 'Z', 1000);
	fake_stat(100, 101, "worker", 'R', 1001);
	fakeproc_write("", "w", "100/maps");
	fakeproc_write(text, "w", "100/task/101/maps");

	cr_assert_eq(procfs__read_maps(root, 100, 101, &buf, &len), 0);
	cr_assert_eq(len, want);
	cr_assert_eq(memcmp(buf, text, len), 0);
	free(buf);

	/* The zombie leader's maps: empty, and that is not an error. */
	buf = NULL;
	cr_assert_eq(procfs__read_maps(root, 100, 0, &buf, &len), 0);
	cr_assert_eq(len, 0);
	free(buf);
	free(text);
}

Test(procfs, maps_of_a_missing_task_is_enoent)
{
	char *buf = NULL;
	size_t len = 0;

	cr_assert_eq(procfs__read_maps(root, 4242, 4243, &buf, &len), -ENOENT);
	cr_assert_eq(procfs__read_maps(root, 4242, 0, &buf, &len), -ENOENT);
	cr_assert_null(buf);
}

Test(procfs, maps_larger_than_the_limit_are_refused)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int fd;

	fakeproc_mkdir("100");
	fakeproc_path(path, sizeof(path), "100/maps");
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	/* Sparse: reads back as zeros without using the disk. */
	cr_assert_eq(ftruncate(fd, (off_t)PROCFS_MAX_MAPS_BYTES + 1), 0);
	close(fd);
	cr_assert_eq(procfs__read_maps(root, 100, 0, &buf, &len), -EFBIG);
	cr_assert_null(buf);

	fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)PROCFS_MAX_MAPS_BYTES), 0);
	close(fd);
	cr_assert_eq(procfs__read_maps(root, 100, 0, &buf, &len), 0);
	cr_assert_eq(len, PROCFS_MAX_MAPS_BYTES);
	free(buf);
}

static int count_tids(void *ctx, uint32_t tid)
{
	size_t *n = ctx;

	cr_assert(tid == 100 || tid == 101 || tid == 102, "tid %u", tid);
	if (*n > 99)
		return 42;
	(*n)++;
	return 0;
}

Test(procfs, task_listing_visits_every_thread_and_stops_on_request)
{
	size_t n = 0;

	fake_leader(100, 'Z', 1000);
	fake_stat(100, 101, "w", 'R', 1001);
	fake_stat(100, 102, "w", 'R', 1002);
	fakeproc_mkdir("100/task/not-a-tid");

	cr_assert_eq(procfs__for_each_task(root, 100, count_tids, &n), 0);
	cr_assert_eq(n, 3);
	n = 100; /* count_tids stops at once above 99 */
	cr_assert_eq(procfs__for_each_task(root, 100, count_tids, &n), 42);
	cr_assert_eq(procfs__for_each_task(root, 4242, count_tids, &n),
		     -ENOENT);
}

static void assert_fd_reads(int fd, const char *want)
{
	char buf[64];
	ssize_t n;

	cr_assert_geq(fd, 0, "open_in_root: %s", strerror(-fd));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_str_eq(buf, want);
}

Test(procfs, open_in_root_never_escapes_the_task_root)
{
	char target[PATH_MAX];

	/* The task's root, and decoys at every level above it. */
	fakeproc_mkdir("100/task/100/root/etc");
	fakeproc_mkdir("100/task/100/root/lib");
	fakeproc_write("inside\n", "w", "100/task/100/root/etc/passwd");
	fakeproc_mkdir("etc");
	fakeproc_write("outside\n", "w", "etc/passwd");
	fakeproc_mkdir("100/etc");
	fakeproc_write("outside\n", "w", "100/etc/passwd");
	fakeproc_mkdir("100/task/etc");
	fakeproc_write("outside\n", "w", "100/task/etc/passwd");
	fakeproc_mkdir("100/task/100/etc");
	fakeproc_write("outside\n", "w", "100/task/100/etc/passwd");

	assert_fd_reads(procfs__open_in_root(root, 100, 100, "/etc/passwd"),
			"inside\n");
	assert_fd_reads(procfs__open_in_root(root, 100, 100,
					     "/../../etc/passwd"),
			"inside\n");
	assert_fd_reads(procfs__open_in_root(root, 100, 100,
					     "../../../../../../etc/passwd"),
			"inside\n");

	/* Symlinks inside the root resolve inside it, absolute or not. */
	fakeproc_symlink("/etc/passwd", "100/task/100/root/lib/abs");
	assert_fd_reads(procfs__open_in_root(root, 100, 100, "/lib/abs"),
			"inside\n");
	fakeproc_symlink("../../../../../etc/passwd",
			 "100/task/100/root/lib/rel");
	assert_fd_reads(procfs__open_in_root(root, 100, 100, "/lib/rel"),
			"inside\n");

	/* The host's path of a decoy means nothing inside the root. */
	fakeproc_path(target, sizeof(target), "etc/passwd");
	fakeproc_symlink(target, "100/task/100/root/lib/host");
	cr_assert_eq(procfs__open_in_root(root, 100, 100, "/lib/host"),
		     -ENOENT);

	cr_assert_eq(procfs__open_in_root(root, 100, 101, "/etc/passwd"),
		     -ENOENT);
}

/* The real /proc, through this test process. */

Test(procfs, real_self_stat_is_parseable)
{
	struct proc_stat st, tst;

	cr_assert_eq(procfs__read_stat("/proc", (uint32_t)getpid(), 0, &st), 0);
	cr_assert_eq(st.state, 'R');
	cr_assert_gt(st.start_ticks, 0);
	cr_assert_neq(st.start_code, 0);
	cr_assert_gt(st.end_code, st.start_code);
	cr_assert_neq(st.start_stack, 0);
	cr_assert_eq(procfs__read_stat("/proc", (uint32_t)getpid(),
				       (uint32_t)gettid(), &tst),
		     0);
	cr_assert_eq(tst.start_code, st.start_code);
	cr_assert_eq(tst.start_stack, st.start_stack);
}

Test(procfs, real_self_is_alive)
{
	struct proc_stat st;
	uint32_t live = 0;

	cr_assert_eq(procfs__read_stat("/proc", (uint32_t)getpid(), 0, &st), 0);
	cr_assert_eq(procfs__group_liveness("/proc", (uint32_t)getpid(),
					    st.start_ticks, &live),
		     GROUP_ALIVE);
	cr_assert_eq(live, (uint32_t)getpid());
	cr_assert_eq(procfs__group_liveness("/proc", (uint32_t)getpid(),
					    st.start_ticks + 1, NULL),
		     GROUP_REUSED);
}

Test(procfs, real_self_maps_cover_this_code)
{
	const struct mapping *m;
	struct maps *maps;
	char *buf = NULL;
	size_t len = 0;

	cr_assert_eq(procfs__read_maps("/proc", (uint32_t)getpid(),
				       (uint32_t)gettid(), &buf, &len),
		     0);
	cr_assert_gt(len, 0);
	cr_assert_eq(maps__parse(buf, len, MAPS_EXEC_ONLY, &maps), 0);
	free(buf);
	cr_assert_eq(maps->skipped, 0);
	m = maps__find(maps, (uint64_t)(uintptr_t)&procfs__read_maps);
	cr_assert_not_null(m);
	cr_assert_eq(m->kind, MAPPING_FILE);
	cr_assert(m->prot & MAPPING_EXEC);
	maps__free(maps);
}

Test(procfs, real_open_in_root_refuses_magic_links)
{
	uint32_t pid = (uint32_t)getpid(), tid = (uint32_t)gettid();
	int fd;

	/* Our own root is the host's: a plain file opens... */
	fd = procfs__open_in_root("/proc", pid, tid, "/proc/self/stat");
	cr_assert_geq(fd, 0, "%s", strerror(-fd));
	close(fd);
	/* ...but magic links could jump into another root. */
	cr_assert_eq(procfs__open_in_root("/proc", pid, tid,
					  "/proc/self/root/proc/self/stat"),
		     -ELOOP);
	cr_assert_eq(procfs__open_in_root("/proc", pid, tid, "/proc/self/cwd"),
		     -ELOOP);
}

/* ---- the facts a profile names a process by ---- */

Test(procfs, exe_is_read_through_the_thread)
{
	char buf[PATH_MAX];

	fake_leader(100, 'Z', 1);
	fake_stat(100, 101, "worker", 'R', 2);
	/* A zombie leader shows no executable; its worker does. */
	fakeproc_symlink("/usr/bin/app", "100/task/101/exe");
	cr_assert_eq(procfs__read_exe(root, 100, 101, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/usr/bin/app");
	cr_assert_eq(procfs__read_exe(root, 100, 0, buf, sizeof(buf)), -ENOENT);
	cr_assert_eq(procfs__read_exe(root, 100, 555, buf, sizeof(buf)),
		     -ENOENT);
}

Test(procfs, exe_of_a_deleted_binary_loses_the_suffix)
{
	char buf[PATH_MAX];

	fake_leader(100, 'R', 1);
	fakeproc_symlink("/opt/app/bin/server (deleted)", "100/exe");
	cr_assert_eq(procfs__read_exe(root, 100, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "/opt/app/bin/server");
}

Test(procfs, exe_longer_than_the_buffer_is_refused)
{
	char buf[8];

	fake_leader(100, 'R', 1);
	fakeproc_symlink("/usr/bin/application", "100/exe");
	cr_assert_eq(procfs__read_exe(root, 100, 0, buf, sizeof(buf)),
		     -ENAMETOOLONG);
	fakeproc_rmtree("100/exe");
	fakeproc_symlink("/usr/bin", "100/exe");
	cr_assert_eq(procfs__read_exe(root, 100, 0, buf, sizeof(buf)),
		     -ENAMETOOLONG);
}

Test(procfs, memfd_tmpfile_and_pathless_executables_are_anonymous)
{
	cr_assert(procfs__exe_is_anonymous("/memfd:sealed-91173221a7ea"));
	cr_assert(
		procfs__exe_is_anonymous("/memfd:runc_cloned:/proc/self/exe"));
	cr_assert(procfs__exe_is_anonymous("/tmp/#1234"));
	cr_assert(procfs__exe_is_anonymous("anon_inode:[x]"));
	cr_assert(!procfs__exe_is_anonymous("/usr/sbin/nginx"));
	cr_assert(!procfs__exe_is_anonymous("/opt/memfd:x/bin/app"));
	cr_assert(!procfs__exe_is_anonymous("/srv/a#b"));
}

Test(procfs, argv0_is_the_base_name_of_the_first_argument)
{
	char buf[16];
	static const char cmdline[] =
		"line_io_tools/binary_backend\0--uid\0000";
	char path[PATH_MAX];
	FILE *f;

	fake_leader(100, 'R', 1);
	fakeproc_path(path, sizeof(path), "100/cmdline");
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(cmdline, 1, sizeof(cmdline), f), sizeof(cmdline));
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(procfs__read_argv0(root, 100, 0, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "binary_backend");
	fakeproc_write("/usr/lib/app/worker-with-a-long-name", "w",
		       "100/task/100/cmdline");
	cr_assert_eq(procfs__read_argv0(root, 100, 100, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "worker-with-a-l");
	/* Kernel threads and zombies have an empty command line. */
	fakeproc_write("", "w", "100/cmdline");
	cr_assert_eq(procfs__read_argv0(root, 100, 0, buf, sizeof(buf)),
		     -ENOENT);
	fakeproc_write("/", "w", "100/cmdline");
	cr_assert_eq(procfs__read_argv0(root, 100, 0, buf, sizeof(buf)),
		     -ENOENT);
	cr_assert_eq(procfs__read_argv0(root, 555, 0, buf, sizeof(buf)),
		     -ENOENT);
}

#define ID64 "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899"

struct cgroup_case {
	const char *text;
	const char *id; /* NULL: no container */
};

Test(procfs, container_id_comes_from_every_runtime_cgroup_layout)
{
	static const struct cgroup_case cases[] = {
		/* docker, cgroup v1 (first line with an id wins) */
		{ "12:pids:/docker/" ID64 "\n11:cpu,cpuacct:/docker/" ID64
		  "\n0::/system.slice/containerd.service\n",
		  ID64 },
		/* docker with the systemd driver, cgroup v2 */
		{ "0::/system.slice/docker-" ID64 ".scope\n", ID64 },
		/* kubernetes + containerd, systemd driver */
		{ "0::/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod1c2d3e4f_5a6b.slice/"
		  "cri-containerd-" ID64 ".scope\n",
		  ID64 },
		/* kubernetes, cgroupfs driver */
		{ "0::/kubepods/besteffort/pod1c2d3e4f-5a6b-7c8d/" ID64 "\n",
		  ID64 },
		/* CRI-O */
		{ "0::/kubepods.slice/kubepods-pod1.slice/crio-" ID64
		  ".scope\n",
		  ID64 },
		/* podman, nested below its scope */
		{ "0::/machine.slice/libpod-" ID64 ".scope/container\n", ID64 },
		/* nerdctl */
		{ "0::/system.slice/nerdctl-" ID64 ".scope\n", ID64 },
		/* no trailing newline */
		{ "0::/docker/" ID64, ID64 },
		/* monitors are not containers */
		{ "0::/machine.slice/libpod-conmon-" ID64 ".scope\n", NULL },
		{ "0::/kubepods.slice/crio-conmon-" ID64 ".scope\n", NULL },
		/* host processes */
		{ "0::/user.slice/user-0.slice/session-3.scope\n", NULL },
		{ "0::/init.scope\n", NULL },
		{ "", NULL },
		/* not 64 lowercase hex digits */
		{ "0::/docker/4A5B6C7D8E9F00112233445566778899AABBCCDDEEFF00112233445566778899\n",
		  NULL },
		{ "0::/docker/" ID64 "0\n", NULL },
		{ "0::/docker/abc\n", NULL },
		/* a path with no hierarchy fields is no cgroup line */
		{ "/docker/" ID64 "\n", NULL },
	};
	char id[PROCFS_CONTAINER_ID_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = procfs__parse_container_id(cases[i].text,
						     strlen(cases[i].text), id);

		if (cases[i].id) {
			cr_expect_eq(err, 0, "case %zu: %s", i, cases[i].text);
			if (!err)
				cr_expect_str_eq(id, cases[i].id, "case %zu",
						 i);
		} else {
			cr_expect_eq(err, -ENODATA, "case %zu: %s", i,
				     cases[i].text);
		}
	}
}

Test(procfs, container_id_is_read_through_the_thread)
{
	char id[PROCFS_CONTAINER_ID_LEN + 1];

	fake_leader(100, 'Z', 1);
	fake_stat(100, 101, "worker", 'R', 2);
	fakeproc_write("0::/system.slice/docker-" ID64 ".scope\n", "w",
		       "100/task/101/cgroup");
	fakeproc_write("0::/user.slice\n", "w", "100/cgroup");
	cr_assert_eq(procfs__read_container_id(root, 100, 101, id), 0);
	cr_assert_str_eq(id, ID64);
	cr_assert_eq(procfs__read_container_id(root, 100, 0, id), -ENODATA);
	cr_assert_eq(procfs__read_container_id(root, 100, 555, id), -ENOENT);
}

Test(procfs, real_self_exe_is_this_test)
{
	char buf[PATH_MAX];

	cr_assert_eq(procfs__read_exe("/proc", (uint32_t)getpid(),
				      (uint32_t)getpid(), buf, sizeof(buf)),
		     0);
	cr_assert(strstr(buf, "unit_test_procfs"), "%s", buf);
}

Test(procfs, cgroup_path_is_the_unified_hierarchy_line)
{
	static const struct cgroup_case cases[] = {
		/* cgroup v2 only */
		{ "0::/system.slice/cron.service\n",
		  "/system.slice/cron.service" },
		/* hybrid: the v1 lines come first */
		{ "12:pids:/user.slice\n4:memory:/process_api/1f\n0::/tgprof\n",
		  "/tgprof" },
		{ "0::/\n", "/" },
		/* a path with spaces and colons is taken as it is */
		{ "0::/a b/c:d\n", "/a b/c:d" },
		/* cgroup v1 only: no path */
		{ "12:pids:/user.slice\n1:name=systemd:/init.scope\n", NULL },
		/* cut short: the line is incomplete, so no path */
		{ "12:pids:/\n0::/system.sli", NULL },
		{ "", NULL },
		/* "10::" is a v1 hierarchy without controllers */
		{ "10::/x\n", NULL },
	};
	char path[PROCFS_CGROUP_PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = procfs__parse_cgroup_path(cases[i].text,
						    strlen(cases[i].text), path,
						    sizeof(path));

		if (cases[i].id) {
			cr_expect_eq(err, 0, "case %zu: %s", i, cases[i].text);
			if (!err)
				cr_expect_str_eq(path, cases[i].id, "case %zu",
						 i);
		} else {
			cr_expect_eq(err, -ENODATA, "case %zu: %s", i,
				     cases[i].text);
		}
	}
	cr_assert_eq(procfs__parse_cgroup_path("0::/abcdef\n", 11, path, 4),
		     -ENAMETOOLONG);
}

Test(procfs, cgroup_facts_come_from_one_read_through_the_thread)
{
	struct procfs_cgroup_facts cf;

	fake_leader(100, 'Z', 1);
	fake_stat(100, 101, "worker", 'R', 2);
	fakeproc_write("3:cpu:/docker/" ID64 "\n0::/system.slice/docker-" ID64
		       ".scope\n",
		       "w", "100/task/101/cgroup");
	fakeproc_write("0::/user.slice\n", "w", "100/cgroup");
	cr_assert_eq(procfs__read_cgroup_facts(root, 100, 101, &cf), 0);
	cr_assert_str_eq(cf.container_id, ID64);
	cr_assert_str_eq(cf.path, "/system.slice/docker-" ID64 ".scope");
	/* Not in a container: the file was read, the id is "". */
	cr_assert_eq(procfs__read_cgroup_facts(root, 100, 0, &cf), 0);
	cr_assert_str_eq(cf.container_id, "");
	cr_assert_str_eq(cf.path, "/user.slice");
	cr_assert_eq(procfs__read_cgroup_facts(root, 100, 555, &cf), -ENOENT);
}

Test(procfs, real_self_cgroup_has_a_path)
{
	struct procfs_cgroup_facts cf;

	cr_assert_eq(procfs__read_cgroup_facts("/proc", (uint32_t)getpid(), 0,
					       &cf),
		     0);
	/* Linux with cgroup v2 mounted (unified or hybrid). */
	cr_assert_eq(cf.path[0], '/', "no cgroup v2 path: '%s'", cf.path);
}
