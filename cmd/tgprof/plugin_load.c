// SPDX-License-Identifier: Apache-2.0
/* The receiver plugin through dlopen(RTLD_NOW | RTLD_LOCAL): every symbol
 * resolved at load, none shared with the host. The descriptor is checked
 * the way docs/ABI.md says a host must before any callback is used. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tgprof/config/config.h"
#include "cmd/tgprof/plugin_load.h"
#include "cmd/tgprof/tgprof.h"

/* The install libdir, absolute and relative to the prefix (CMake's). */
#ifndef TGPROF_PLUGIN_LIBDIR
#define TGPROF_PLUGIN_LIBDIR "/usr/local/lib"
#endif
#ifndef TGPROF_PLUGIN_RELLIBDIR
#define TGPROF_PLUGIN_RELLIBDIR "lib"
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

int plugin__default_path(size_t i, char *buf, size_t len)
{
	static const char *const files[] = {
		PLUGIN_FILE "." STR(TGPROF_ABI_MAJOR),
		PLUGIN_FILE,
	};
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int ret;

	if (i >= 6)
		return -ENOENT;
	if (i >= 4) {
		ret = snprintf(buf, len, "%s/%s", TGPROF_PLUGIN_LIBDIR,
			       files[i % 2]);
		return ret < 0 || (size_t)ret >= len ? -ENAMETOOLONG : 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	/* Next to the binary (a build tree), then the libdir of the prefix
	 * the binary is installed in (bin/../lib...). */
	if (i < 2)
		ret = snprintf(buf, len, "%s/%s", exe, files[i % 2]);
	else
		ret = snprintf(buf, len, "%s/../%s/%s", exe,
			       TGPROF_PLUGIN_RELLIBDIR, files[i % 2]);
	return ret < 0 || (size_t)ret >= len ? -ENAMETOOLONG : 0;
}

/* The callbacks a host needs, by name, when one is missing. */
static const char *missing_callback(const struct tgprof_plugin *d)
{
	if (!d->name || !*d->name)
		return "name";
	if (!d->config_keys && d->config_nkeys)
		return "config_keys";
	if (!d->config_new)
		return "config_new";
	if (!d->config_set)
		return "config_set";
	if (!d->config_validate)
		return "config_validate";
	if (!d->config_free)
		return "config_free";
	if (!d->create)
		return "create";
	if (!d->start)
		return "start";
	if (!d->shutdown)
		return "shutdown";
	if (!d->destroy)
		return "destroy";
	if (!d->stats)
		return "stats";
	return NULL;
}

static int check_descriptor(const char *path, const struct tgprof_plugin *d,
			    char *err, size_t errlen)
{
	const char *missing;

	if (d->sz < sizeof(*d)) {
		snprintf(
			err, errlen,
			"plugin %s: its descriptor is %zu bytes, this tgprof needs at least %zu (plugin ABI %d.%d): the plugin is older than this tgprof",
			path, d->sz, sizeof(*d), TGPROF_ABI_MAJOR,
			TGPROF_ABI_MINOR);
		return -EPROTO;
	}
	if (d->abi_major != TGPROF_ABI_MAJOR) {
		snprintf(
			err, errlen,
			"plugin %s: it speaks plugin ABI %u.%u, this tgprof speaks ABI %d",
			path, d->abi_major, d->abi_minor, TGPROF_ABI_MAJOR);
		return -ENOTSUP;
	}
	missing = missing_callback(d);
	if (missing) {
		snprintf(err, errlen, "plugin %s: its descriptor has no %s",
			 path, missing);
		return -EPROTO;
	}
	return 0;
}

static int load_one(const char *path, struct plugin_handle *ret, char *err,
		    size_t errlen)
{
	const struct tgprof_plugin *(*entry)(uint32_t);
	const struct tgprof_plugin *d;
	void *so;
	int e;

	/* A path with no '/' is a library name: dlopen() searches for it. */
	if (strchr(path, '/') && access(path, F_OK)) {
		e = errno;
		snprintf(err, errlen, "plugin %s: %s", path, strerror(e));
		return -e;
	}
	so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		snprintf(err, errlen, "plugin %s: cannot load: %s", path,
			 dlerror());
		return -ENOEXEC;
	}
	*(void **)&entry = dlsym(so, TGPROF_PLUGIN_ENTRY);
	if (!entry) {
		snprintf(
			err, errlen,
			"plugin %s: not a tgprof receiver plugin (no %s symbol)",
			path, TGPROF_PLUGIN_ENTRY);
		dlclose(so);
		return -ENOEXEC;
	}
	errno = 0;
	d = entry(TGPROF_ABI_MAJOR);
	if (!d) {
		e = errno;
		snprintf(
			err, errlen,
			"plugin %s: it does not speak plugin ABI %d, the one this tgprof speaks (%s)",
			path, TGPROF_ABI_MAJOR,
			e ? strerror(e) : "it returned no descriptor");
		dlclose(so);
		return -ENOTSUP;
	}
	e = check_descriptor(path, d, err, errlen);
	if (e) {
		dlclose(so);
		return e;
	}
	ret->so = so;
	ret->desc = d;
	snprintf(ret->path, sizeof(ret->path), "%s", path);
	return 0;
}

int plugin__load(const char *path, struct plugin_handle *ret, char *err,
		 size_t errlen)
{
	char buf[PATH_MAX], tried[PLUGIN_ERR_MAX / 2] = "";
	size_t i, o = 0;
	int e;

	memset(ret, 0, sizeof(*ret));
	if (path && *path)
		return load_one(path, ret, err, errlen);
	for (i = 0; !plugin__default_path(i, buf, sizeof(buf)); i++) {
		if (access(buf, F_OK)) {
			if (o < sizeof(tried))
				o += snprintf(tried + o, sizeof(tried) - o,
					      "%s%s", o ? ", " : "", buf);
			continue;
		}
		/* The first one there is the one: a broken plugin next to
		 * the binary is not silently passed over. */
		return load_one(buf, ret, err, errlen);
	}
	e = -ENOENT;
	snprintf(
		err, errlen,
		"no receiver plugin found (looked for %s); give its path with --plugin or service.plugin",
		tried);
	return e;
}

int plugin__load_for(const char *flag_path, const char *config_path,
		     struct plugin_handle *ret, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int e;

	if (flag_path && *flag_path)
		return plugin__load(flag_path, ret, err, errlen);
	path[0] = '\0';
	if (config_path) {
		e = config__plugin_path(config_path, path, sizeof(path), err,
					errlen);
		if (e)
			return e;
	}
	return plugin__load(path, ret, err, errlen);
}

int plugin__open(const char *flag_path, const char *config_path,
		 struct plugin_handle *ret)
{
	char path[PATH_MAX] = "", err[PLUGIN_ERR_MAX];
	bool named = flag_path && *flag_path;

	if (!named && config_path &&
	    !config__plugin_path(config_path, path, sizeof(path), err,
				 sizeof(err)))
		named = *path;
	if (!plugin__load(flag_path && *flag_path ? flag_path : path, ret, err,
			  sizeof(err)))
		return 0;
	fprintf(stderr, "tgprof: %s\n", err);
	return named ? EXIT_USAGE : EXIT_RUNTIME;
}

void plugin__unload(struct plugin_handle *h)
{
	if (!h || !h->so)
		return;
	dlclose(h->so);
	h->so = NULL;
	h->desc = NULL;
}
