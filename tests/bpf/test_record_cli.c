// SPDX-License-Identifier: Apache-2.0
/* `tgprof record` as a user runs it: the files it writes, what it prints,
 * when -p stops (the whole thread group gone, not its leader), and the
 * one-line errors (exit code 2) for bad input and missing privileges.
 * Runs build/tgprof; needs root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static char *slurp(const char *path)
{
	struct stat st;
	char *buf;
	FILE *f;

	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fileno(f), &st), 0);
	buf = calloc(1, st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	return buf;
}

static void make_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/tgprof-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(buf));
}

Test(record_cli, pid_record_writes_folded_svg_and_top_functions, .timeout = 120)
{
	char fx[512], dir[64], pid[16], path[600];
	char *fargv[] = { (char *)fixture_path("pthread_exit_leader", fx,
					       sizeof(fx)),
			  "200", "3000", NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	char *folded, *svg, *line;
	struct fixture f;
	bool found = false;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	fixture_spawn(&f, fargv, 0);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	/* The fixture runs about 3.2 s; record stops when it exits. */
	fixture_go(&f);
	{
		char *argv[] = { TGPROF_BINARY, "record", "-p", pid, "-d", "30",
				 "-F",		"199",	  "-o", dir, NULL };

		run_cmd(argv, res);
	}
	fixture_pump(&f);
	cr_assert_eq(exit_code(res), 0, "tgprof record failed:\n%s", res->err);
	cr_assert(strstr(res->out, "by self samples"), "stdout:\n%s", res->out);
	cr_assert(strstr(res->out, "by total samples"), "stdout:\n%s",
		  res->out);
	cr_assert(strstr(res->out, "worker_spin_hot"), "stdout:\n%s", res->out);
	cr_assert(strstr(res->err, "stacks.folded"), "stderr:\n%s", res->err);

	snprintf(path, sizeof(path), "%s/stacks.folded", dir);
	folded = slurp(path);
	/* "process;root;...;worker_spin_hot COUNT": the process's name
	 * first, its executable's (process.executable.name of the OTLP
	 * resource, not cut at the kernel's 15 bytes of comm). The hot loop
	 * is fx_burn_until(), inlined: with DWARF it shows as its own frame,
	 * marked "_[i]". */
	for (line = strtok(folded, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, ";worker_spin_hot ") &&
		    !strstr(line, ";worker_spin_hot;fx_burn_until_[i] "))
			continue;
		cr_assert(!strncmp(line, "pthread_exit_leader;", 20),
			  "unexpected folded line: %s", line);
		found = true;
	}
	cr_assert(found, "no folded stack ends in worker_spin_hot");

	snprintf(path, sizeof(path), "%s/flamegraph.svg", dir);
	svg = slurp(path);
	cr_assert(!strncmp(svg, "<?xml", 5) || !strncmp(svg, "<svg", 4));
	cr_assert(strstr(svg, "worker_spin_hot"));
	cr_assert(strstr(svg, "</svg>"));

	free(folded);
	free(svg);
	free(res);
	fixture_cleanup(&f);
}

/* The off-CPU files beside the CPU ones: where the fixture's threads
 * waited, by function, weighed in nanoseconds; the CPU files without
 * them. */
Test(record_cli, off_cpu_record_writes_its_own_folded_svg_and_pprof,
     .timeout = 120)
{
	char fx[512], dir[64], pid[16], path[600];
	char *fargv[] = { (char *)fixture_path("offcpu_waits", fx, sizeof(fx)),
			  "waits", "self", NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	char *folded, *svg, *cpu, *pprof, *line;
	unsigned long long ns = 0;
	struct fixture f;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	fixture_spawn(&f, fargv, 0);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	fixture_go(&f);
	{
		char *argv[] = { TGPROF_BINARY, "record", "--off-cpu", "-p",
				 pid,		"-d",	  "30",	       "-o",
				 dir,		NULL };

		run_cmd(argv, res);
	}
	fixture_pump(&f);
	cr_assert_eq(exit_code(res), 0, "tgprof record failed:\n%s", res->err);
	cr_assert(strstr(res->out, "Off-CPU time:"), "stdout:\n%s", res->out);
	cr_assert(strstr(res->out, "nanoseconds off CPU"), "stdout:\n%s",
		  res->out);
	cr_assert(strstr(res->err, "offcpu.folded"), "stderr:\n%s", res->err);

	snprintf(path, sizeof(path), "%s/offcpu.folded", dir);
	folded = slurp(path);
	/* Three rounds of 200 ms in wait_on_pipe(): nearly 600 ms. */
	for (line = strtok(folded, "\n"); line; line = strtok(NULL, "\n")) {
		const char *sp = strrchr(line, ' ');

		if (strstr(line, ";wait_on_pipe;") && sp)
			ns += strtoull(sp + 1, NULL, 10);
	}
	cr_assert_geq(ns, 540000000ULL, "wait_on_pipe: %llu ns", ns);
	snprintf(path, sizeof(path), "%s/offcpu.svg", dir);
	svg = slurp(path);
	cr_assert(strstr(svg, "wait_on_pipe") && strstr(svg, "</svg>"));
	cr_assert(strstr(svg, "off-CPU"), "the title says off-CPU");
	snprintf(path, sizeof(path), "%s/offcpu.pb.gz", dir);
	pprof = slurp(path);
	cr_assert(pprof[0] == 0x1f && (unsigned char)pprof[1] == 0x8b,
		  "offcpu.pb.gz is not gzip");
	snprintf(path, sizeof(path), "%s/stacks.folded", dir);
	cpu = slurp(path);
	cr_assert_null(strstr(cpu, "wait_on_pipe"),
		       "a wait in the CPU stacks:\n%s", cpu);

	free(folded);
	free(svg);
	free(pprof);
	free(cpu);
	free(res);
	fixture_cleanup(&f);
}

static void expect_usage_error(char *const argv[], const char *what)
{
	struct cmd_result *res = malloc(sizeof(*res));

	run_cmd(argv, res);
	cr_expect_eq(exit_code(res), 2, "%s: exit %d, stderr:\n%s", what,
		     exit_code(res), res->err);
	cr_expect_eq(count_lines(res->err), 1, "%s: not one line:\n%s", what,
		     res->err);
	cr_expect(!strncmp(res->err, "tgprof: ", 8), "%s: %s", what, res->err);
	cr_expect_eq(res->out[0], '\0', "%s printed on stdout: %s", what,
		     res->out);
	free(res);
}

Test(record_cli, bad_input_gets_one_line_and_exit_code_2, .timeout = 60)
{
	char dir[64];
	char *no_pid[] = { TGPROF_BINARY, "record", "-p", "4194305",
			   "-o",	  dir,	    NULL };
	char *bad_pid[] = { TGPROF_BINARY, "record", "-p", "12ab", NULL };
	char *freq0[] = { TGPROF_BINARY, "record", "-F", "0", "-o", dir, NULL };
	char *freq_high[] = { TGPROF_BINARY, "record", "-F", "10001",
			      "-o",	     dir,      NULL };
	char *bad_dur[] = {
		TGPROF_BINARY, "record", "-d", "0", "-o", dir, NULL
	};
	char *not_dir[] = { TGPROF_BINARY,	 "record", "-d", "1", "-o",
			    "/etc/hostname/out", NULL };
	char *ro_dir[] = { TGPROF_BINARY, "record",	      "-d", "1",
			   "-o",	  "/proc/tgprof-out", NULL };
	char *unknown[] = { TGPROF_BINARY, "record", "--bogus", NULL };

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	expect_usage_error(no_pid, "-p of a PID that does not exist");
	expect_usage_error(bad_pid, "-p 12ab");
	expect_usage_error(freq0, "-F 0");
	expect_usage_error(freq_high, "-F 10001");
	expect_usage_error(bad_dur, "-d 0");
	expect_usage_error(not_dir, "-o under a file");
	expect_usage_error(ro_dir, "-o in /proc");
	expect_usage_error(unknown, "an unknown option");
	rmdir(dir);
}

Test(record_cli, missing_capabilities_are_named, .timeout = 60)
{
	char dir[64];
	char *no_caps[] = {
		"setpriv",     "--bounding-set=-bpf,-perfmon,-sys_admin",
		TGPROF_BINARY, "record",
		"-d",	       "1",
		"-o",	       dir,
		NULL
	};
	char *nobody[] = { "setpriv",
			   "--reuid=65534",
			   "--regid=65534",
			   "--clear-groups",
			   "--inh-caps=-all",
			   TGPROF_BINARY,
			   "record",
			   "-d",
			   "1",
			   "-o",
			   dir,
			   NULL };
	struct cmd_result *res = malloc(sizeof(*res));

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	cr_assert_eq(chmod(dir, 01777), 0);

	run_cmd(no_caps, res);
	cr_assert_eq(exit_code(res), 1, "stderr:\n%s", res->err);
	cr_assert(strstr(res->err,
			 "missing privilege: CAP_BPF and CAP_PERFMON"),
		  "stderr:\n%s", res->err);

	run_cmd(nobody, res);
	cr_assert_eq(exit_code(res), 1, "stderr:\n%s", res->err);
	cr_assert(strstr(res->err,
			 "missing privilege: CAP_BPF and CAP_PERFMON"),
		  "stderr:\n%s", res->err);
	free(res);
	rmdir(dir);
}

Test(record_cli, terminal_shows_a_live_progress_line, .timeout = 60)
{
	char dir[64], cmd[1024];
	char *argv[] = { "script", "-qec", cmd, "/dev/null", NULL };
	struct cmd_result *res = malloc(sizeof(*res));

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "%s record -d 1.5 --top 0 -o %s",
		 TGPROF_BINARY, dir);
	run_cmd(argv, res);
	cr_assert_eq(exit_code(res), 0, "output:\n%s%s", res->out, res->err);
	cr_assert(strstr(res->out, "recording"), "no progress line:\n%s",
		  res->out);
	cr_assert(strstr(res->out, "samples"));
	cr_assert(strstr(res->out, "processes"));
	cr_assert(strstr(res->out, "lost"));
	free(res);
}

/* Pumps @f until it reported @key, at most @timeout_ms. */
static bool wait_value(struct fixture *f, const char *key,
		       unsigned long long *ret, int timeout_ms)
{
	struct pollfd p = { .fd = f->out_fd, .events = POLLIN };
	uint64_t end = boot_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	for (;;) {
		fixture_pump(f);
		if (fixture_value(f, key, ret))
			return true;
		if (boot_ns() >= end)
			return false;
		poll(&p, f->out_fd >= 0 ? 1 : 0, 50);
	}
}

/* What `tgprof record -p` stops on: a pidfd of the leader becomes readable
 * when the whole thread group is gone, not when the leader alone left with
 * pthread_exit() and shows as a zombie while its worker runs on. */
Test(record_cli, pidfd_of_a_pthread_exit_leader_waits_for_its_last_thread,
     .timeout = 60)
{
	char fx[512];
	char *fargv[] = { (char *)fixture_path("pthread_exit_leader", fx,
					       sizeof(fx)),
			  "100", "1500", NULL };
	unsigned long long leader_exit, worker, done;
	struct pollfd p = { .events = POLLIN };
	char task[64];
	uint64_t end;
	struct fixture f;

	harness_require_root();
	fixture_spawn(&f, fargv, 0);
	p.fd = (int)syscall(SYS_pidfd_open, f.pid, 0);
	cr_assert_geq(p.fd, 0, "pidfd_open: %s", strerror(errno));
	fixture_go(&f);
	cr_assert(wait_value(&f, "worker_tid", &worker, 10000));
	cr_assert(wait_value(&f, "leader_exit_ns", &leader_exit, 10000));

	/* The leader becomes a zombie; the pidfd stays quiet meanwhile. */
	end = boot_ns() + 5 * NSEC_PER_SEC;
	while (task_state(f.pid) != 'Z') {
		cr_assert_lt(boot_ns(), end,
			     "the leader never became a zombie");
		cr_assert_eq(poll(&p, 1, 10), 0,
			     "readable while the leader was still there");
	}
	snprintf(task, sizeof(task), "/proc/%d/task/%llu", f.pid, worker);
	cr_assert_eq(access(task, F_OK), 0, "the worker is gone already");
	fixture_pump(&f);
	cr_assert(!fixture_value(&f, "worker_done_ns", &done),
		  "the worker finished before the leader was seen gone");
	cr_assert_eq(
		poll(&p, 1, 0), 0,
		"readable with the leader a zombie and its worker running");

	/* Readable once the worker, the last thread, has finished. */
	cr_assert_eq(poll(&p, 1, 10000), 1, "not readable after the group");
	cr_assert(wait_value(&f, "worker_done_ns", &done, 10000));
	cr_assert_gt(done, leader_exit);
	close(p.fd);
	fixture_cleanup(&f);
}

/* -p of a leader that leaves with pthread_exit() records its worker to the
 * end and stops then, long before -d. */
Test(record_cli, pid_record_stops_when_the_last_thread_exits, .timeout = 120)
{
	char fx[512], dir[64], pid[16];
	char *fargv[] = { (char *)fixture_path("pthread_exit_leader", fx,
					       sizeof(fx)),
			  "100", "2500", NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	unsigned long long done;
	const char *sum;
	uint64_t returned;
	double secs = -1;
	struct fixture f;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	fixture_spawn(&f, fargv, 0);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	fixture_go(&f);
	{
		char *argv[] = {
			TGPROF_BINARY, "record", "-p", pid, "-d", "30",
			"--top",       "0",	 "-o", dir, "-v", NULL
		};

		run_cmd(argv, res);
	}
	returned = boot_ns();
	cr_assert_eq(exit_code(res), 0, "tgprof record failed:\n%s", res->err);
	/* It went on after the leader left: the worker was done before
	 * record returned. */
	cr_assert(wait_value(&f, "worker_done_ns", &done, 10000));
	cr_assert_leq(done, returned,
		      "record returned before the worker ended");
	cr_assert(strstr(res->err, "exited"), "stderr:\n%s", res->err);
	sum = strstr(res->err, " samples in ");
	cr_assert_not_null(sum, "no summary:\n%s", res->err);
	cr_assert_eq(sscanf(sum, " samples in %lf s", &secs), 1);
	cr_assert_lt(secs, 20.0, "it ran to -d 30:\n%s", res->err);
	free(res);
	fixture_cleanup(&f);
}

Test(record_cli, pid_of_an_exited_process_or_of_a_thread_is_a_usage_error,
     .timeout = 60)
{
	char fx[512], dir[64], pid[16], tid[16];
	char *fargv[] = { (char *)fixture_path("pthread_exit_leader", fx,
					       sizeof(fx)),
			  "5000", "5000", NULL };
	char *exited[] = { TGPROF_BINARY, "record", "-p", pid, "-o", dir, NULL };
	char *thread[] = { TGPROF_BINARY, "record", "-p", tid, "-o", dir, NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	unsigned long long worker;
	struct fixture f;
	siginfo_t info;
	pid_t child;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));

	/* Exited, not yet reaped: a zombie with no thread left. */
	child = fork();
	cr_assert_geq(child, 0);
	if (!child)
		_exit(0);
	cr_assert_eq(waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
	snprintf(pid, sizeof(pid), "%d", child);
	expect_usage_error(exited, "-p of an exited process");
	run_cmd(exited, res);
	cr_assert(strstr(res->err, "has exited"), "%s", res->err);
	cr_assert_eq(waitpid(child, NULL, 0), child);

	/* A thread's ID is not a process's. */
	fixture_spawn(&f, fargv, 0);
	fixture_go(&f);
	cr_assert(wait_value(&f, "worker_tid", &worker, 10000));
	snprintf(tid, sizeof(tid), "%llu", worker);
	expect_usage_error(thread, "-p of a thread");
	run_cmd(thread, res);
	cr_assert(strstr(res->err, "is a thread"), "%s", res->err);
	fixture_cleanup(&f);
	free(res);
	rmdir(dir);
}

/* Ctrl-C once sampling runs: record stops at once and still writes every
 * file, exit code 0. The signal is sent when record says it samples (-v),
 * not after a guessed delay. */
Test(record_cli, sigint_stops_early_and_writes_the_files, .timeout = 120)
{
	static const char *const files[] = { "stacks.folded", "flamegraph.svg",
					     "profile.pb.gz",
					     "profile.otlp.pb" };
	char dir[64], path[600], err[16384] = "";
	char *argv[] = { TGPROF_BINARY, "record", "-d", "60", "--top",
			 "0",		"-o",	  dir,	"-v", NULL };
	size_t len = 0, i;
	bool signalled = false;
	uint64_t end;
	int pipefd[2], status;
	struct stat st;
	pid_t pid;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		dup2(pipefd[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	end = boot_ns() + 60 * NSEC_PER_SEC;
	for (;;) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		ssize_t n;

		cr_assert_lt(boot_ns(), end, "no end; stderr:\n%s", err);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		n = read(pipefd[0], err + len, sizeof(err) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		err[len] = '\0';
		if (!signalled && strstr(err, "sampling every CPU")) {
			cr_assert_eq(kill(pid, SIGINT), 0);
			signalled = true;
		}
	}
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(signalled, "record never said it samples:\n%s", err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "status %#x, stderr:\n%s", status, err);
	cr_assert(strstr(err, " samples in "), "no summary:\n%s", err);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		cr_assert_eq(stat(path, &st), 0, "%s was not written", path);
	}
	/* Stopped long before -d 60. */
	{
		const char *sum = strstr(err, " samples in ");
		double secs = 99;

		cr_assert_eq(sscanf(sum, " samples in %lf s", &secs), 1);
		cr_assert_lt(secs, 30.0, "%s", err);
	}
}

/* A program without frame pointers, recorded with the default unwinder
 * (eh_frame): the summary says how many of its stacks the tables walked to
 * their outermost frame, and the counts agree with the samples. */
Test(record_cli, summary_reports_complete_table_walked_stacks, .timeout = 120)
{
	char fx[512], dir[64], pid[16], why[256] = "";
	char *fargv[] = { (char *)fixture_path("unwind_plt", fx, sizeof(fx)),
			  "2500", NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	unsigned long long complete = 0, walked = 0, samples = 0;
	const char *line, *sum;
	double pct = -1;
	struct fixture f;

	harness_require_root();
	make_tmpdir(dir, sizeof(dir));
	fixture_spawn(&f, fargv, 0);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	fixture_go(&f);
	{
		char *argv[] = { TGPROF_BINARY, "record", "-p", pid,	 "-d",
				 "30",		"-F",	  "99", "--top", "0",
				 "-o",		dir,	  NULL };

		run_cmd(argv, res);
	}
	fixture_pump(&f);
	cr_assert_eq(exit_code(res), 0, "tgprof record failed:\n%s", res->err);
	/* "tgprof: N samples in S s at ...", the summary's first line. */
	for (sum = res->err; sum;
	     sum = strchr(sum, '\n'), sum = sum ? sum + 1 : NULL)
		if (sscanf(sum, "tgprof: %llu samples in", &samples) == 1)
			break;
	cr_assert_not_null(sum, "no summary:\n%s", res->err);
	line = strstr(res->err, "tgprof: unwinding: ");
	cr_assert_not_null(line, "no unwinding line:\n%s", res->err);
	cr_assert_eq(
		sscanf(line,
		       "tgprof: unwinding: %llu of %llu table-walked stacks complete (%lf %%); stopped: %255[^\n]",
		       &complete, &walked, &pct, why),
		4, "%s", line);
	/* About 2.5 s at 99 Hz of one busy thread. */
	cr_assert_gt(walked, 50, "%s", res->err);
	cr_assert_leq(walked, samples, "%s", res->err);
	cr_assert_leq(complete, walked);
	cr_assert_geq(complete, walked * 9 / 10, "most stacks stop early:\n%s",
		      res->err);
	cr_assert_float_eq(pct, 100.0 * complete / walked, 0.051, "%s", line);
	cr_assert(complete == walked ? !strcmp(why, "none") :
				       strcmp(why, "none") != 0,
		  "%s", line);
	free(res);
	fixture_cleanup(&f);
}
