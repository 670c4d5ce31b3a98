/* SPDX-License-Identifier: Apache-2.0 */
/* The tgprof host: command-line front end that drives the receiver plugin
 * and writes what it produces. The subcommands main.c dispatches to, and
 * what they share. */
#ifndef TGPROF_CMD_TGPROF_H
#define TGPROF_CMD_TGPROF_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/log.h"

/* Exit codes: 0 success, 1 failure at run time (privileges, kernel),
 * 2 bad usage or input. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Checks the privileges sampling needs. Prints one line naming exactly the
 * missing capabilities (and how to grant them) and returns false when
 * sampling cannot work. Those that only degrade the output are left to the
 * plugin's start(), which warns about them. */
bool privileges_check(const struct tg_logger *log);

/* record.c: `tgprof record`, one-shot profiling to files. */
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
