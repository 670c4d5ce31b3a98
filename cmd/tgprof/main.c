// SPDX-License-Identifier: Apache-2.0
/* tgprof: the host. Dispatches subcommands (record.c, run.c, config_cmd.c);
 * each loads the receiver plugin through its ABI and wires it to the
 * exporters. */
#include <stdio.h>
#include <string.h>

#include "cmd/tgprof/tgprof.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof <command> [options]\n"
		"\n"
		"commands:\n"
		"  run       the daemon: profile continuously and export by a\n"
		"            collector-style config (--config FILE)\n"
		"  record    sample the host (or one process) and write a flame graph,\n"
		"            folded stacks and the top functions; no collector needed\n"
		"  validate  check a configuration file (--config FILE)\n"
		"  config    print the default configuration (--defaults) or every\n"
		"            key (--keys)\n"
		"  version   print the version\n"
		"  help      this text\n"
		"\n"
		"'tgprof record --help' lists the options of record.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "validate"))
		return cmd_validate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "config"))
		return cmd_config(argc - 1, argv + 1);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("tgprof %s\n", TGPROF_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "tgprof: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
