// SPDX-License-Identifier: Apache-2.0
/* tgprof: the host. Dispatches subcommands (record.c, run.c, config_cmd.c);
 * each loads the receiver plugin through its ABI and wires it to the
 * exporters. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

/*
 * A profiler's allocations come in bursts (a new binary's unwind table
 * compiled, a file's symbols read, a request built) and are freed soon
 * after. glibc's defaults keep that memory: one arena per thread that
 * allocated (the receiver's, the exporters'), and an mmap threshold that
 * rises to the largest block freed, after which big buffers come from an
 * arena's heap and stay resident. Two arenas and a fixed threshold give
 * it back: peak RSS of a 15 s whole-host recording beside a compile loop
 * (a new binary every few ms) 97-100 -> 87-89 MB.
 * Environment settings (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) win.
 */
static void tune_malloc(void)
{
	if (!getenv("MALLOC_ARENA_MAX"))
		mallopt(M_ARENA_MAX, 2);
	if (!getenv("MALLOC_MMAP_THRESHOLD_"))
		mallopt(M_MMAP_THRESHOLD, 256 << 10);
}

/*
 * The symbol cache keeps a descriptor per cached symbol table (up to
 * symbol_cache_files files, a debug file beside some) to read names from
 * the file rather than hold them in memory. A soft limit of 1024 (the
 * systemd and shell default) would run out under it; the hard limit is
 * what the host grants. Past the limit the cache copies names instead.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv)
{
	tune_malloc();
	raise_nofile();
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
