// SPDX-License-Identifier: Apache-2.0
/* `tgprof validate` and `tgprof config`: the configuration from the
 * command line. Both read the receiver's keys through the plugin `tgprof
 * run` would load (--plugin, service.plugin, else the default places):
 * the keys are the plugin's, there is no other copy of them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/plugin_load.h"
#include "cmd/tgprof/tgprof.h"

static void validate_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof validate --config FILE [--plugin PATH]\n"
		"\n"
		"Reads FILE as tgprof run would and prints every problem, one per\n"
		"line (FILE:LINE:COL: KEY.PATH: what was expected). Exit code 0 when\n"
		"the configuration is valid, 2 when it is not.\n");
}

int config_args__parse(int argc, char **argv, void (*usage)(FILE *out),
		       const char **config, const char **plugin)
{
	enum { OPT_PLUGIN = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "plugin", required_argument, NULL, OPT_PLUGIN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case OPT_PLUGIN:
			*plugin = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "tgprof: %s needs a value\n",
				argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		default:
			fprintf(stderr, "tgprof: unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!*config || optind < argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int cmd_validate(int argc, char **argv)
{
	struct config_problems *problems;
	const struct tgprof_plugin *plugins[1];
	struct plugin_handle handle = { 0 };
	const char *path = NULL, *plugin = NULL;
	struct config *cfg = NULL;
	int err;

	err = config_args__parse(argc, argv, validate_usage, &path, &plugin);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;

	/* Two hundred problems of text: too big for the stack. */
	problems = calloc(1, sizeof(*problems));
	if (!problems) {
		fprintf(stderr, "tgprof: out of memory\n");
		return EXIT_RUNTIME;
	}
	err = plugin__open(plugin, path, &handle);
	if (err) {
		free(problems);
		return err;
	}
	plugins[0] = handle.desc;
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
	plugin__unload(&handle);
	if (err == -ENOMEM)
		return EXIT_RUNTIME;
	return err ? EXIT_USAGE : 0;
}

static void config_usage(FILE *out)
{
	fprintf(out,
		"usage: tgprof config --defaults [--plugin PATH]\n"
		"       tgprof config --keys [--markdown] [--plugin PATH]\n"
		"\n"
		"  --defaults     print the whole default configuration as YAML\n"
		"                 (tgprof validate accepts it as it is)\n"
		"  --keys         list every key of every component: name, type,\n"
		"                 default, bounds, description\n"
		"  --markdown     the list as Markdown tables (docs/CONFIG.md)\n"
		"  --plugin PATH  the receiver plugin whose keys to list\n"
		"                 (default: next to tgprof, then the libdir)\n");
}

int cmd_config(int argc, char **argv)
{
	enum { OPT_DEFAULTS = 256, OPT_KEYS, OPT_MARKDOWN, OPT_PLUGIN };
	static const struct option longopts[] = {
		{ "defaults", no_argument, NULL, OPT_DEFAULTS },
		{ "keys", no_argument, NULL, OPT_KEYS },
		{ "markdown", no_argument, NULL, OPT_MARKDOWN },
		{ "plugin", required_argument, NULL, OPT_PLUGIN },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const struct tgprof_plugin *plugins[1];
	bool defaults = false, keys = false, markdown = false;
	struct plugin_handle handle = { 0 };
	const char *plugin = NULL;
	int c, err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
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
		case OPT_PLUGIN:
			plugin = optarg;
			break;
		case 'h':
			config_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "tgprof: %s needs a value\n",
				argv[optind - 1]);
			config_usage(stderr);
			return EXIT_USAGE;
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
	err = plugin__open(plugin, NULL, &handle);
	if (err)
		return err;
	plugins[0] = handle.desc;
	if (defaults)
		err = config__print_defaults(stdout, plugins, 1);
	else
		err = config__print_keys(stdout, plugins, 1, markdown);
	plugin__unload(&handle);
	if (fflush(stdout) || err) {
		fprintf(stderr, "tgprof: cannot write: %s\n", strerror(EIO));
		return EXIT_RUNTIME;
	}
	return 0;
}
