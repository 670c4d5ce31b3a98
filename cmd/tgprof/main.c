/* tgprof: the host. Dispatches subcommands; everything it runs goes through
 * the receiver (sampling, symbolizing) and the exporters (files). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cmd/tgprof/tgprof.h"

/* libbpf's print hook has no context argument: the one host-wide logger it
 * reports to. Set once, by the host, before any BPF object is opened. */
static struct host_log *libbpf_log;

static void host_log_write(void *ctx, enum tg_log_level level, const char *msg)
{
	struct host_log *hl = ctx;

	pthread_mutex_lock(&hl->lock);
	if (hl->progress_shown) {
		fputs("\r\033[K", stderr);
		hl->progress_shown = false;
	}
	fprintf(stderr, "tgprof: %s: %s\n", tg_log_level_name(level), msg);
	pthread_mutex_unlock(&hl->lock);
}

void host_log__init(struct host_log *hl, enum tg_log_level max_level)
{
	memset(hl, 0, sizeof(*hl));
	pthread_mutex_init(&hl->lock, NULL);
	hl->logger.fn = host_log_write;
	hl->logger.ctx = hl;
	hl->logger.max_level = max_level;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum tg_log_level lvl = level == LIBBPF_WARN ? TG_LOG_WARN :
						       TG_LOG_DEBUG;
	char msg[512];
	size_t n;

	if (!libbpf_log || lvl > libbpf_log->logger.max_level)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	tg_log(&libbpf_log->logger, lvl, "libbpf: %s", msg);
	return 0;
}

void host_log__route_libbpf(struct host_log *hl)
{
	libbpf_log = hl;
	libbpf_set_print(libbpf_print);
}

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
