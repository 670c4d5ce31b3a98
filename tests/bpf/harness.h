/* SPDX-License-Identifier: Apache-2.0 */
/* What the BPF tests share: root check (never skip in CI), fixtures started
 * paused and released once the sampler runs, a sink that captures every
 * symbolized sample, and a loop that drives the receiver until a condition
 * holds or a deadline passes. No sleeps: everything waits on conditions. */
#ifndef TGPROF_TESTS_BPF_HARNESS_H
#define TGPROF_TESTS_BPF_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "receiver/receiver.h"

/* Unless @have: skips the test, naming @what is missing, except when
 * CI=true: then it fails, since CI provides everything the tests need. */
void harness_require(bool have, const char *what);

/* Skips the test when not root, except when CI=true: then it fails. */
void harness_require_root(void);

struct fixture {
	pid_t pid;
	int out_fd; /* the fixture's stdout */
	int go_fd; /* closing it lets the fixture exec */
	char out[16384]; /* everything it printed */
	size_t out_len;
	bool exited;
	int status;
};

/* Forks a child that waits for fixture_go() and then execs @argv (argv[0]
 * a path). With @want_pid > 0 the child gets exactly that PID (clone3
 * set_tid). Asserts on failure. */
void fixture_spawn(struct fixture *f, char *const argv[], pid_t want_pid);
void fixture_go(struct fixture *f);
/* Reads what the fixture printed and reaps it once it exited. */
void fixture_pump(struct fixture *f);
/* The last "key=value" line printed for @key. */
bool fixture_value(const struct fixture *f, const char *key,
		   unsigned long long *ret);
/* Kills and reaps the fixture if it still runs; closes fds. */
void fixture_cleanup(struct fixture *f);

/* One captured sample: frames joined innermost first as ";f0;f1;...;" (an
 * unnamed frame is "?"), so tests look for ";name;". */
struct cap_sample {
	uint32_t tgid;
	uint32_t tid;
	uint64_t ts_ns;
	uint64_t start_ns;
	uint64_t off_cpu_ns; /* an off-CPU sample's weight; 0: CPU sample */
	char *stack;
};

struct capture {
	struct cap_sample *v;
	size_t n;
	size_t cap;
};

/* A sink that appends every sample to @c. */
struct receiver_sink capture_sink(struct capture *c);
void capture_free(struct capture *c);
bool cap_has(const struct cap_sample *s, const char *func);

/* Polls @r (and pumps @f when not NULL) until @done(@ctx) is true or
 * @timeout_ms passed. Returns whether @done became true. */
bool harness_run_until(struct receiver *r, struct fixture *f,
		       bool (*done)(void *ctx), void *ctx, int timeout_ms);

/* Polls @r, pumping @f, until @f's process exits (at most @timeout_ms),
 * and asserts that it did, with status 0; @what names it in the
 * failures, which carry its output. */
void harness_run_to_clean_exit(struct receiver *r, struct fixture *f,
			       int timeout_ms, const char *what);

/* A receiver config for tests: the defaults, with @freq_hz and @tgid. */
void harness_config(struct receiver_config *cfg, uint32_t freq_hz,
		    uint32_t tgid);

/* A started receiver; asserts on failure. */
struct receiver *harness_receiver(const struct receiver_config *cfg,
				  const struct receiver_sink *sink);

/* What a command printed and how it ended (run_cmd). */
struct cmd_result {
	int status;
	char out[65536];
	char err[16384];
};

/* Runs @argv (argv[0] looked up in PATH) to completion, capturing stdout
 * and stderr. Asserts on failure to start or reap it. */
void run_cmd(char *const argv[], struct cmd_result *res);
/* The exit code, or -1 when killed by a signal. */
int exit_code(const struct cmd_result *res);

/* Both cores busy, as on the hosts tgprof runs on: one spinning child per
 * online CPU (comm "tgprof-load"), killed with the test process if it dies.
 * Tests whose behaviour must hold under load start it themselves. */
struct load {
	pid_t pid[64];
	int n;
};

void harness_load_start(struct load *l);
/* Kills and reaps the spinners; safe to call twice. */
void harness_load_stop(struct load *l);

/* The state letter of task @pid in /proc/@pid/stat, '?' when unreadable. */
char task_state(pid_t pid);

/* TGPROF_FIXTURE_DIR "/" @name, in a static buffer per call site. */
const char *fixture_path(const char *name, char *buf, size_t len);

#endif
