/* The tgprof host: command-line front end that drives the receiver and
 * writes what it produces. Declarations shared by the cmd/tgprof files. */
#ifndef TGPROF_CMD_TGPROF_H
#define TGPROF_CMD_TGPROF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/log.h"

/* Exit codes: 0 success, 1 failure at run time (privileges, kernel),
 * 2 bad usage or input. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* The host's logger: "tgprof: LEVEL: message" lines on stderr, from any
 * thread (the exporter logs from its own). */
struct host_log {
	struct tg_logger logger;
	pthread_mutex_t lock; /* one line at a time; guards progress_shown */
	bool progress_shown; /* a progress line must be cleared first */
};

void host_log__init(struct host_log *hl, enum tg_log_level max_level);

/* Routes libbpf's own messages through @hl (libbpf's print hook is
 * process-wide, which only the host may set). */
void host_log__route_libbpf(struct host_log *hl);

/* Checks the privileges sampling needs. Prints one line naming exactly the
 * missing capabilities and returns false when sampling cannot work; warns
 * (and returns true) about those that only degrade the output. */
bool privileges_check(const struct tg_logger *log);

int cmd_record(int argc, char **argv);

/* config_cmd.c: `tgprof validate --config FILE`, `tgprof config`. */
int cmd_validate(int argc, char **argv);
int cmd_config(int argc, char **argv);

/*
 * The command line of `tgprof validate` and `tgprof run`: -c/--config FILE
 * (required) and --plugin PATH, borrowed from @argv into *@config and
 * *@plugin (left as they were when not given). Returns 0; 1 after -h
 * printed @usage to stdout; -EINVAL after saying what is wrong and
 * printing @usage to stderr.
 */
int config_args__parse(int argc, char **argv, void (*usage)(FILE *out),
		       const char **config, const char **plugin);

/* run.c: `tgprof run --config FILE`, the daemon. */
int cmd_run(int argc, char **argv);

#endif
