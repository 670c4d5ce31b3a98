/* SPDX-License-Identifier: Apache-2.0 */
/* The host's configuration: collector-style YAML (receivers, exporters,
 * service) read with libyaml into the receiver plugin's config (through
 * the plugin's config callbacks) and the host's own component structs.
 * Every problem is reported at once, each as
 * "FILE:LINE:COL: KEY.PATH: what was expected". */
#ifndef TGPROF_CMD_CONFIG_CONFIG_H
#define TGPROF_CMD_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/tgprof/config/exporters.h"
#include "cmd/tgprof/config/service.h"
#include "include/tgprof/receiver.h"

#define CONFIG_MAX_COMPONENTS 16 /* receivers, and exporters, each */
#define CONFIG_ID_MAX 127 /* "type/name" */
#define CONFIG_MAX_PROBLEMS 200 /* kept; the rest are counted */
#define CONFIG_EXPAND_MAX 65536 /* bytes of one scalar after ${env:} */

struct config_receiver {
	char id[CONFIG_ID_MAX + 1]; /* "tgprof" or "tgprof/name" */
	const struct tgprof_plugin *plugin; /* borrowed */
	struct tgprof_config *cfg; /* owned: plugin->config_free() */
};

struct config_exporter {
	char id[CONFIG_ID_MAX + 1]; /* "otlphttp/backup" */
	const struct host_component *component; /* static */
	/* Owned: struct otlphttp_config or struct file_config, as
	 * component->type says; freed by config__free(). */
	void *cfg;
};

struct config {
	struct config_receiver receivers[CONFIG_MAX_COMPONENTS];
	size_t nreceivers;
	struct config_exporter exporters[CONFIG_MAX_COMPONENTS];
	size_t nexporters;
	struct service_config *service; /* owned */
};

struct config_problem {
	uint32_t line; /* 0: no position */
	uint32_t col;
	char *text; /* "FILE:LINE:COL: KEY.PATH: problem", owned */
};

/* What a load found wrong, in file order (problems with no position
 * last). */
struct config_problems {
	struct config_problem items[CONFIG_MAX_PROBLEMS];
	size_t n;
	size_t dropped; /* beyond CONFIG_MAX_PROBLEMS */
};

/*
 * Reads the YAML file at @path (at most YTREE_MAX_BYTES). The receivers
 * section is read through the plugins of @plugins (by their name: the
 * component type), the exporters and the service through the host's
 * tables. Returns 0 and the config (caller frees with config__free()),
 * or -EINVAL with every problem in @problems (which the caller releases
 * with config_problems__release() either way). A file that cannot be read
 * gives its -errno (-ENOENT, -EFBIG above YTREE_MAX_BYTES, ...) and one
 * problem saying so; -ENOMEM.
 */
int config__load_file(const char *path,
		      const struct tgprof_plugin *const *plugins,
		      size_t nplugins, struct config **ret,
		      struct config_problems *problems);

/* Reads the whole file at @path: 0 with *@ret (NUL-terminated, caller
 * frees) and *@ret_len, or -errno: -EFBIG above YTREE_MAX_BYTES, -EISDIR,
 * what open() and read() give, -ENOMEM. */
int config__read_file(const char *path, char **ret, size_t *ret_len);

/* The same from @len bytes of @buf; @name stands for the file in
 * messages. */
int config__load_buffer(const char *name, const char *buf, size_t len,
			const struct tgprof_plugin *const *plugins,
			size_t nplugins, struct config **ret,
			struct config_problems *problems);

/* Accepts NULL. */
void config__free(struct config *cfg);

/* The component with id @id, or NULL. Borrowed from @cfg. */
const struct config_receiver *config__receiver(const struct config *cfg,
					       const char *id);
const struct config_exporter *config__exporter(const struct config *cfg,
					       const char *id);

/* Frees the texts and empties @p. Accepts NULL. */
void config_problems__release(struct config_problems *p);

/* Writes one problem per line, and a count of those dropped. */
void config_problems__print(const struct config_problems *p, FILE *f);

/*
 * Reads only service.plugin from the file at @path (expanded), so that
 * the host can load the plugin before reading the receivers. Writes it
 * ("" when unset) to @buf. 0, or -errno with the reason in @err (a file
 * that does not parse, a plugin key that is not a string).
 */
int config__plugin_path(const char *path, char *buf, size_t len, char *err,
			size_t errlen);

/*
 * Expands ${env:NAME} (and ${env:NAME:-default}) in @in; "$${" stands for
 * a literal "${". Returns the expansion (caller frees), or NULL with
 * errno (EINVAL: the reason is in @err, like "environment variable TOKEN
 * is not set"; ENOMEM).
 */
char *config__expand_env(const char *in, char *err, size_t errlen);

/* Writes the whole default configuration as YAML: every key of every
 * component at its default, required keys at their examples, and a
 * pipeline through all of them. `tgprof validate` accepts it. */
int config__print_defaults(FILE *f, const struct tgprof_plugin *const *plugins,
			   size_t nplugins);

/* Writes every key of every component: name, type, default, bounds,
 * description; as text, or Markdown (docs/CONFIG.md). */
int config__print_keys(FILE *f, const struct tgprof_plugin *const *plugins,
		       size_t nplugins, bool markdown);

#endif
