/* SPDX-License-Identifier: Apache-2.0 */
/* Loading the receiver plugin (libtgprof_receiver.so) with dlopen(): from
 * a path given on the command line or in the config (service.plugin), or
 * found next to the binary, then in the install libdir. A plugin that does
 * not speak this host's ABI major, or whose descriptor is smaller than the
 * one this host was built with, is refused with one line saying so. */
#ifndef TGPROF_CMD_PLUGIN_LOAD_H
#define TGPROF_CMD_PLUGIN_LOAD_H

#include <limits.h>
#include <stddef.h>

#include "include/tgprof/receiver.h"

#define PLUGIN_FILE "libtgprof_receiver.so"
#define PLUGIN_ERR_MAX 1024

struct plugin_handle {
	void *so; /* dlopen() handle; NULL: not loaded */
	const struct tgprof_plugin *desc; /* static in the library */
	char path[PATH_MAX]; /* as loaded */
};

/*
 * Loads the plugin at @path; NULL or "" searches the default places
 * (plugin__default_path()). Returns 0 and fills @ret (release it with
 * plugin__unload(); desc stays valid until then), or a negative errno with
 * one line in @err saying what is wrong and with which file:
 *   -ENOENT   no such file (or, searching, none in any default place)
 *   -ENOEXEC  not a library dlopen() accepts, or no entry symbol
 *   -ENOTSUP  the plugin refused this host's ABI major, or gave another
 *   -EPROTO   its descriptor is smaller than this host's, or incomplete
 */
int plugin__load(const char *path, struct plugin_handle *ret, char *err,
		 size_t errlen);

/*
 * The plugin the command line and the config file choose, in this order:
 * @flag_path (--plugin), then service.plugin of the file at @config_path
 * (when not NULL), then the default places. Errors as plugin__load(), or
 * the config file's own (-ENOENT for a file that is missing, -EINVAL for
 * one that does not parse) with @err saying which.
 */
int plugin__load_for(const char *flag_path, const char *config_path,
		     struct plugin_handle *ret, char *err, size_t errlen);

/*
 * The plugin as plugin__load_for() chooses it, for the commands that
 * print plain lines (record, validate, config): service.plugin is read
 * from @config_path when it parses (a file that does not is left for its
 * loader to report). Returns 0, or an exit code after one line on stderr
 * saying why not: EXIT_USAGE when the plugin the user named (--plugin,
 * service.plugin) does not load, EXIT_RUNTIME when none in the default
 * places does, which is the installation's problem.
 */
int plugin__open(const char *flag_path, const char *config_path,
		 struct plugin_handle *ret);

/* The @i-th default place (0-based) into @buf: the binary's directory
 * (PLUGIN_FILE.<major>, then PLUGIN_FILE), then the libdir of the prefix
 * the binary sits in (BIN/../lib...), then the install libdir (likewise
 * each). -ENOENT past the last one. */
int plugin__default_path(size_t i, char *buf, size_t len);

/* dlclose(). Accepts an unloaded handle. */
void plugin__unload(struct plugin_handle *h);

#endif
