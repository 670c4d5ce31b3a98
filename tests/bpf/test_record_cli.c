/* `tgprof record` as a user runs it: the files it writes, what it prints,
 * and the one-line errors (exit code 2) for bad input and missing
 * privileges. Runs build/tgprof; needs root. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "tests/bpf/harness.h"

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
	/* "comm;root;...;worker_spin_hot COUNT": process name first. The
	 * hot loop is fx_burn_until(), inlined: with DWARF it shows as its
	 * own frame, marked "_[i]". */
	for (line = strtok(folded, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, ";worker_spin_hot ") &&
		    !strstr(line, ";worker_spin_hot;fx_burn_until_[i] "))
			continue;
		cr_assert(!strncmp(line, "pthread_exit_le;", 16),
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
