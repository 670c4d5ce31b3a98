/* `tgprof validate` and `tgprof config`: the configuration from the
 * command line. Both read the receiver's keys through a plugin
 * descriptor, as `tgprof run` does. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tgprof/config.h"
#include "cmd/tgprof/tgprof.h"
#include "receiver/plugin_config.h"

/*
 * The receiver's config callbacks, linked in. Until `tgprof run` loads
 * libtgprof_receiver.so with dlopen(), the config commands read the keys
 * of the receiver built into this binary; then this becomes the loaded
 * descriptor (its config part is the same functions).
 */
static void builtin_receiver(struct tgprof_plugin *d)
{
	memset(d, 0, sizeof(*d));
	d->sz = sizeof(*d);
	d->abi_major = TGPROF_ABI_MAJOR;
	d->abi_minor = TGPROF_ABI_MINOR;
	d->name = "tgprof";
	d->version = TGPROF_VERSION;
	d->stability = TGPROF_STABILITY_DEVELOPMENT;
	d->config_keys = plugin_config_keys;
	d->config_nkeys = plugin_config_nkeys;
	d->config_new = plugin_config__new;
	d->config_set = plugin_config__set;
	d->config_validate = plugin_config__validate;
	d->config_free = plugin_config__free;
}

static void validate_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof validate --config FILE\n"
		"\n"
		"Reads FILE as tgprof run would and prints every problem, one per\n"
		"line (FILE:LINE:COL: KEY.PATH: what was expected). Exit code 0 when\n"
		"the configuration is valid, 2 when it is not.\n");
}

int cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct config_problems *problems;
	const struct tgprof_plugin *plugins[1];
	struct tgprof_plugin receiver;
	const char *path = NULL;
	struct config *cfg = NULL;
	int c, err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			validate_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "tgprof: %s needs a value\n",
				argv[optind - 1]);
			validate_usage(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tgprof: unknown option '%s'\n",
				argv[optind - 1]);
			validate_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!path || optind < argc) {
		validate_usage(stderr);
		return EXIT_USAGE;
	}

	/* Two hundred problems of text: too big for the stack. */
	problems = calloc(1, sizeof(*problems));
	if (!problems) {
		fprintf(stderr, "tgprof: out of memory\n");
		return EXIT_RUNTIME;
	}
	builtin_receiver(&receiver);
	plugins[0] = &receiver;
	err = config__load_file(path, plugins, 1, &cfg, problems);
	if (!err) {
		printf("config OK\n");
		config__free(cfg);
	} else {
		config_problems__print(problems, stderr);
		if (err == -ENOMEM)
			fprintf(stderr, "tgprof: out of memory\n");
		else if (problems->n > 1)
			fprintf(stderr, "%s: %zu problems\n", path,
				problems->n + problems->dropped);
	}
	config_problems__release(problems);
	free(problems);
	if (err == -ENOMEM)
		return EXIT_RUNTIME;
	return err ? EXIT_USAGE : 0;
}

static void config_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof config --defaults\n"
		"       tgprof config --keys [--markdown]\n"
		"\n"
		"  --defaults   print the whole default configuration as YAML\n"
		"               (tgprof validate accepts it as it is)\n"
		"  --keys       list every key of every component: name, type,\n"
		"               default, bounds, description\n"
		"  --markdown   the list as Markdown tables (docs/CONFIG.md)\n");
}

int cmd_config(int argc, char **argv)
{
	enum { OPT_DEFAULTS = 256, OPT_KEYS, OPT_MARKDOWN };
	static const struct option longopts[] = {
		{ "defaults", no_argument, NULL, OPT_DEFAULTS },
		{ "keys", no_argument, NULL, OPT_KEYS },
		{ "markdown", no_argument, NULL, OPT_MARKDOWN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct tgprof_plugin *plugins[1];
	bool defaults = false, keys = false, markdown = false;
	struct tgprof_plugin receiver;
	int c, err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DEFAULTS:
			defaults = true;
			break;
		case OPT_KEYS:
			keys = true;
			break;
		case OPT_MARKDOWN:
			markdown = true;
			break;
		case 'h':
			config_usage(stdout);
			return 0;
		default:
			fprintf(stderr, "tgprof: unknown option '%s'\n",
				argv[optind - 1]);
			config_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (defaults == keys || (markdown && !keys) || optind < argc) {
		config_usage(stderr);
		return EXIT_USAGE;
	}
	builtin_receiver(&receiver);
	plugins[0] = &receiver;
	if (defaults)
		err = config__print_defaults(stdout, plugins, 1);
	else
		err = config__print_keys(stdout, plugins, 1, markdown);
	if (fflush(stdout) || err) {
		fprintf(stderr, "tgprof: cannot write: %s\n", strerror(EIO));
		return EXIT_RUNTIME;
	}
	return 0;
}
