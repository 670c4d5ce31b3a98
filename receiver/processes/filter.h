/* SPDX-License-Identifier: Apache-2.0 */
/* Which processes a receiver profiles, decided in user space for what the
 * kernel cannot match cheaply: process names (regular expressions),
 * container ids and cgroup paths, seen when a process is first sampled
 * and again after it execs. PID and cgroup-id lists are applied in the
 * kernel (receiver/sampler/sampler.c); the verdict here agrees with them. */
#ifndef TGPROF_RECEIVER_FILTER_H
#define TGPROF_RECEIVER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The filter lists, borrowed for filter__new() only. A process is
 * profiled when it matches every list that is not empty among the
 * includes, and none of the excludes: excludes win. */
struct filter_spec {
	const uint32_t *include_pid;
	size_t n_include_pid;
	const uint32_t *exclude_pid;
	size_t n_exclude_pid;
	/* POSIX extended regular expressions, unanchored, on the name. */
	const char *const *include_comm;
	size_t n_include_comm;
	const char *const *exclude_comm;
	size_t n_exclude_comm;
	/* Prefixes (12..64 hex digits) of 64-digit container ids. */
	const char *const *include_container;
	size_t n_include_container;
	const char *const *exclude_container;
	size_t n_exclude_container;
	/* cgroup v2 paths; a process in the cgroup or below matches. */
	const char *const *include_cgroup;
	size_t n_include_cgroup;
	const char *const *exclude_cgroup;
	size_t n_exclude_cgroup;
};

/* What a verdict looks at. NULL or "" facts match no list entry. */
struct filter_facts {
	uint32_t tgid;
	const char *comm;
	const char *container_id;
	const char *cgroup_path;
};

/* Compiles @spec. Returns the filter (caller frees with filter__free()),
 * or NULL with errno (EINVAL: a pattern did not compile, described in
 * @err). */
struct filter *filter__new(const struct filter_spec *spec, char *err,
			   size_t errlen);
void filter__free(struct filter *f); /* accepts NULL */

/* Whether any list needs user space: names, containers or cgroup paths. */
bool filter__decides_in_user_space(const struct filter *f);
/* Whether a verdict needs the container id / the cgroup path. */
bool filter__needs_container(const struct filter *f);
bool filter__needs_cgroup(const struct filter *f);

/* True when the process described by @facts is profiled. A NULL filter
 * profiles everything. */
bool filter__allows(const struct filter *f, const struct filter_facts *facts);

/* The PID list (@exclude false: include_pid, true: exclude_pid), for the
 * kernel maps. Borrowed: valid while @f lives; *ret_n 0 for none. */
const uint32_t *filter__pids(const struct filter *f, bool exclude,
			     size_t *ret_n);

/* The cgroup path list (@exclude as above), for the kernel maps.
 * Borrowed: valid while @f lives; *ret_n 0 for none. */
const char *const *filter__cgroups(const struct filter *f, bool exclude,
				   size_t *ret_n);

#endif
