/* `tgprof validate` and `tgprof config`: the configuration from the
 * command line. Both read the receiver's keys through a plugin
 * descriptor, as `tgprof run` does: the plugin it would load, else (none
 * installed) the receiver's config callbacks built into this binary. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/plugin_load.h"
#include "cmd/tgprof/tgprof.h"
#include "receiver/plugin/config.h"

/*
 * The receiver's config callbacks, linked in: the keys of the plugin
 * built with this binary, for when no plugin is installed (the loaded
 * descriptor's config part is the same functions).
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

/*
 * The descriptor whose keys the receivers are read with: the plugin
 * `tgprof run` would load (--plugin, service.plugin of @config, or the
 * default places), else the built-in one when no plugin is found in the
 * default places. A plugin named explicitly that cannot be loaded is an
 * error (printed; -errno); so is one found by default when @strict, else
 * it is warned about and the built-in keys are used.
 */
static int receiver_descriptor(const char *flag, const char *config,
			       bool strict, struct plugin_handle *h,
			       struct tgprof_plugin *builtin,
			       const struct tgprof_plugin **ret)
{
	char path[PATH_MAX] = "", err[PLUGIN_ERR_MAX];
	bool named = flag && *flag;
	int e;

	/* A file that does not read or parse is the loader's to report. */
	if (!named && config &&
	    !config__plugin_path(config, path, sizeof(path), err, sizeof(err)))
		named = *path;
	e = plugin__load(flag && *flag ? flag : path, h, err, sizeof(err));
	if (!e) {
		*ret = h->desc;
		return 0;
	}
	if (named || (strict && e != -ENOENT)) {
		fprintf(stderr, "tgprof: %s\n", err);
		return e;
	}
	if (e != -ENOENT)
		fprintf(stderr,
			"tgprof: warning: %s; using the built-in keys\n", err);
	builtin_receiver(builtin);
	*ret = builtin;
	return 0;
}

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
	struct tgprof_plugin receiver;
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
	if (receiver_descriptor(plugin, path, true, &handle, &receiver,
				&plugins[0])) {
		free(problems);
		return EXIT_USAGE;
	}
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
	struct plugin_handle handle = { 0 };
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
	if (receiver_descriptor(NULL, NULL, false, &handle, &receiver,
				&plugins[0]))
		return EXIT_USAGE;
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
