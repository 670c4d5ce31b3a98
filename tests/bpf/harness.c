// SPDX-License-Identifier: Apache-2.0
/* Shared machinery of the BPF tests: see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"

static struct tg_logger test_log;

static void log_to_stderr(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "tgprof-test: %s: %s\n", tg_log_level_name(level), msg);
}

void harness_require(bool have, const char *what)
{
	const char *ci = getenv("CI");

	if (have)
		return;
	if (ci && !strcmp(ci, "true"))
		cr_assert_fail("%s (a failure in CI: CI=true)", what);
	cr_skip_test("%s", what);
}

void harness_require_root(void)
{
	harness_require(geteuid() == 0, "BPF tests need root");
}

static void child_exec(int go_rd, int out_wr, char *const argv[])
{
	char c;

	/* Wait until the test has the sampler running. */
	while (read(go_rd, &c, 1) < 0 && errno == EINTR)
		;
	close(go_rd);
	if (dup2(out_wr, STDOUT_FILENO) < 0)
		_exit(126);
	close(out_wr);
	execv(argv[0], argv);
	_exit(127);
}

void fixture_spawn(struct fixture *f, char *const argv[], pid_t want_pid)
{
	int go[2], out[2];
	pid_t pid;

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	cr_assert_eq(pipe2(go, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	fflush(NULL);
	if (want_pid > 0) {
		struct clone_args args;

		memset(&args, 0, sizeof(args));
		args.exit_signal = SIGCHLD;
		args.set_tid = (uintptr_t)&want_pid;
		args.set_tid_size = 1;
		pid = syscall(SYS_clone3, &args, sizeof(args));
		cr_assert(pid >= 0, "clone3(set_tid=%d): %s", want_pid,
			  strerror(errno));
	} else {
		pid = fork();
		cr_assert(pid >= 0, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(go[1]);
		close(out[0]);
		child_exec(go[0], out[1], argv);
	}
	close(go[0]);
	close(out[1]);
	f->pid = pid;
	f->go_fd = go[1];
	f->out_fd = out[0];
	fcntl(f->out_fd, F_SETFL, O_NONBLOCK);
}

void fixture_go(struct fixture *f)
{
	close(f->go_fd);
	f->go_fd = -1;
}

void fixture_pump(struct fixture *f)
{
	ssize_t n;

	while (f->out_fd >= 0 && f->out_len < sizeof(f->out) - 1) {
		n = read(f->out_fd, f->out + f->out_len,
			 sizeof(f->out) - 1 - f->out_len);
		if (n <= 0)
			break;
		f->out_len += n;
	}
	f->out[f->out_len] = '\0';
	if (!f->exited && f->pid > 0 &&
	    waitpid(f->pid, &f->status, WNOHANG) == f->pid)
		f->exited = true;
}

bool fixture_value(const struct fixture *f, const char *key,
		   unsigned long long *ret)
{
	size_t klen = strlen(key);
	const char *p = f->out;
	bool found = false;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			*ret = strtoull(p + klen + 1, NULL, 10);
			found = true;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return found;
}

void fixture_cleanup(struct fixture *f)
{
	if (f->go_fd >= 0)
		close(f->go_fd);
	if (f->pid > 0 && !f->exited) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &f->status, 0);
		f->exited = true;
	}
	if (f->out_fd >= 0)
		close(f->out_fd);
	f->go_fd = f->out_fd = -1;
}

void harness_load_start(struct load *l)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pid_t parent = getpid();

	l->n = 0;
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > (long)(sizeof(l->pid) / sizeof(l->pid[0])))
		ncpu = sizeof(l->pid) / sizeof(l->pid[0]);
	while (l->n < ncpu) {
		pid_t pid = fork();

		cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			volatile unsigned long spin = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			prctl(PR_SET_NAME, "tgprof-load");
			for (;;)
				spin++;
		}
		l->pid[l->n++] = pid;
	}
}

void harness_load_stop(struct load *l)
{
	int i;

	for (i = 0; i < l->n; i++) {
		kill(l->pid[i], SIGKILL);
		waitpid(l->pid[i], NULL, 0);
	}
	l->n = 0;
}

static void capture_on_sample(void *ctx, const struct sym_sample *s)
{
	struct capture *c = ctx;
	struct cap_sample *cs;
	size_t len = 2, off = 0;
	uint32_t i;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		cr_assert_not_null(c->v);
	}
	for (i = 0; i < s->nframes; i++)
		len += (s->frames[i].name ? strlen(s->frames[i].name) : 1) + 1;
	cs = &c->v[c->n++];
	cs->tgid = s->tgid;
	cs->tid = s->tid;
	cs->ts_ns = s->ts_ns;
	cs->start_ns = s->start_ns;
	cs->off_cpu_ns = s->off_cpu_ns;
	cs->stack = malloc(len);
	cr_assert_not_null(cs->stack);
	cs->stack[off++] = ';';
	for (i = 0; i < s->nframes; i++) {
		const char *name = s->frames[i].name ? s->frames[i].name : "?";
		size_t l = strlen(name);

		memcpy(cs->stack + off, name, l);
		off += l;
		cs->stack[off++] = ';';
	}
	cs->stack[off] = '\0';
}

struct receiver_sink capture_sink(struct capture *c)
{
	struct receiver_sink sink = { .on_sample = capture_on_sample,
				      .ctx = c };

	return sink;
}

void capture_free(struct capture *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i].stack);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

bool cap_has(const struct cap_sample *s, const char *func)
{
	char needle[256];

	snprintf(needle, sizeof(needle), ";%s;", func);
	return strstr(s->stack, needle) != NULL;
}

static bool fixture_exited(void *ctx)
{
	return ((struct fixture *)ctx)->exited;
}

void harness_run_to_clean_exit(struct receiver *r, struct fixture *f,
			       int timeout_ms, const char *what)
{
	cr_assert(harness_run_until(r, f, fixture_exited, f, timeout_ms),
		  "%s did not finish:\n%s", what, f->out);
	cr_assert(WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0,
		  "%s failed (status %d):\n%s", what, f->status, f->out);
}

bool harness_run_until(struct receiver *r, struct fixture *f,
		       bool (*done)(void *ctx), void *ctx, int timeout_ms)
{
	uint64_t deadline = boot_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	int n;

	for (;;) {
		n = receiver__poll(r, 20);
		cr_assert(n >= 0 || n == -EINTR, "receiver__poll: %s",
			  strerror(-n));
		if (f)
			fixture_pump(f);
		if (done(ctx))
			return true;
		if (boot_ns() >= deadline)
			return false;
	}
}

void harness_config(struct receiver_config *cfg, uint32_t freq_hz,
		    uint32_t tgid)
{
	receiver_config__defaults(cfg);
	cfg->freq_hz = freq_hz;
	cfg->filter_tgid = tgid;
}

struct receiver *harness_receiver(const struct receiver_config *cfg,
				  const struct receiver_sink *sink)
{
	struct receiver *r;
	int err;

	test_log.fn = log_to_stderr;
	test_log.max_level = getenv("TGPROF_TEST_DEBUG") ? TG_LOG_DEBUG :
							   TG_LOG_WARN;
	r = receiver__new(cfg, sink, &test_log);
	cr_assert_not_null(r, "receiver__new: %s", strerror(errno));
	err = receiver__start(r);
	cr_assert_eq(err, 0, "receiver__start: %s", strerror(-err));
	return r;
}

const char *fixture_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", TGPROF_FIXTURE_DIR, name);
	return buf;
}

static void read_into(int fd, char *buf, size_t cap, size_t *len)
{
	ssize_t n = read(fd, buf + *len, cap - 1 - *len);

	if (n > 0)
		*len += n;
	buf[*len] = '\0';
}

/* Runs @argv to completion, capturing stdout and stderr. */
void run_cmd(char *const argv[], struct cmd_result *res)
{
	int out[2], err[2];
	size_t olen = 0, elen = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (!pid) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 },
				       { err[0], POLLIN, 0 } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			read_into(out[0], res->out, sizeof(res->out), &olen);
		if (p[1].revents)
			read_into(err[0], res->err, sizeof(res->err), &elen);
		if ((p[0].revents & POLLHUP) && !(p[0].revents & POLLIN) &&
		    (p[1].revents & POLLHUP) && !(p[1].revents & POLLIN))
			break;
	}
	close(out[0]);
	close(err[0]);
	cr_assert_eq(waitpid(pid, &res->status, 0), pid);
}

int exit_code(const struct cmd_result *res)
{
	return WIFEXITED(res->status) ? WEXITSTATUS(res->status) : -1;
}

char task_state(pid_t pid)
{
	char path[64], buf[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}
