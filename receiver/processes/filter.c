// SPDX-License-Identifier: Apache-2.0
/* User-space process filters: see filter.h. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver/processes/filter.h"

struct pattern_list {
	regex_t *v;
	size_t n;
};

struct string_list {
	char **v;
	size_t n;
};

struct pid_list {
	uint32_t *v;
	size_t n;
};

struct filter {
	struct pid_list include_pid, exclude_pid;
	struct pattern_list include_comm, exclude_comm;
	struct string_list include_container, exclude_container;
	struct string_list include_cgroup, exclude_cgroup;
};

static int pids_copy(struct pid_list *l, const uint32_t *v, size_t n)
{
	if (!n)
		return 0;
	l->v = malloc(n * sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	memcpy(l->v, v, n * sizeof(*v));
	l->n = n;
	return 0;
}

static int strings_copy(struct string_list *l, const char *const *v, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		l->v[i] = strdup(v[i]);
		if (!l->v[i])
			return -ENOMEM;
		l->n++;
	}
	return 0;
}

static int patterns_compile(struct pattern_list *l, const char *const *v,
			    size_t n, char *err, size_t errlen)
{
	char msg[128];
	size_t i;
	int rc;

	if (!n)
		return 0;
	l->v = calloc(n, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rc = regcomp(&l->v[i], v[i], REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regerror(rc, &l->v[i], msg, sizeof(msg));
			snprintf(err, errlen, "pattern '%s': %s", v[i], msg);
			return -EINVAL;
		}
		l->n++;
	}
	return 0;
}

void filter__free(struct filter *f)
{
	struct string_list *lists[4];
	size_t i, j;

	if (!f)
		return;
	for (i = 0; i < f->include_comm.n; i++)
		regfree(&f->include_comm.v[i]);
	for (i = 0; i < f->exclude_comm.n; i++)
		regfree(&f->exclude_comm.v[i]);
	lists[0] = &f->include_container;
	lists[1] = &f->exclude_container;
	lists[2] = &f->include_cgroup;
	lists[3] = &f->exclude_cgroup;
	for (j = 0; j < 4; j++) {
		for (i = 0; i < lists[j]->n; i++)
			free(lists[j]->v[i]);
		free(lists[j]->v);
	}
	free(f->include_comm.v);
	free(f->exclude_comm.v);
	free(f->include_pid.v);
	free(f->exclude_pid.v);
	free(f);
}

struct filter *filter__new(const struct filter_spec *s, char *err,
			   size_t errlen)
{
	struct filter *f = calloc(1, sizeof(*f));
	int rc;

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(err, errlen, "out of memory");
	rc = pids_copy(&f->include_pid, s->include_pid, s->n_include_pid);
	if (!rc)
		rc = pids_copy(&f->exclude_pid, s->exclude_pid,
			       s->n_exclude_pid);
	if (!rc)
		rc = patterns_compile(&f->include_comm, s->include_comm,
				      s->n_include_comm, err, errlen);
	if (!rc)
		rc = patterns_compile(&f->exclude_comm, s->exclude_comm,
				      s->n_exclude_comm, err, errlen);
	if (!rc)
		rc = strings_copy(&f->include_container, s->include_container,
				  s->n_include_container);
	if (!rc)
		rc = strings_copy(&f->exclude_container, s->exclude_container,
				  s->n_exclude_container);
	if (!rc)
		rc = strings_copy(&f->include_cgroup, s->include_cgroup,
				  s->n_include_cgroup);
	if (!rc)
		rc = strings_copy(&f->exclude_cgroup, s->exclude_cgroup,
				  s->n_exclude_cgroup);
	if (rc) {
		filter__free(f);
		errno = -rc;
		return NULL;
	}
	return f;
}

bool filter__needs_container(const struct filter *f)
{
	return f && (f->include_container.n || f->exclude_container.n);
}

bool filter__needs_cgroup(const struct filter *f)
{
	return f && (f->include_cgroup.n || f->exclude_cgroup.n);
}

bool filter__decides_in_user_space(const struct filter *f)
{
	return f && (f->include_comm.n || f->exclude_comm.n ||
		     filter__needs_container(f) || filter__needs_cgroup(f));
}

static bool pid_in(const struct pid_list *l, uint32_t tgid)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i] == tgid)
			return true;
	return false;
}

static bool comm_in(const struct pattern_list *l, const char *comm)
{
	size_t i;

	if (!comm)
		return false;
	for (i = 0; i < l->n; i++)
		if (regexec(&l->v[i], comm, 0, NULL, 0) == 0)
			return true;
	return false;
}

static bool container_in(const struct string_list *l, const char *id)
{
	size_t i;

	if (!id || !*id)
		return false;
	for (i = 0; i < l->n; i++)
		if (!strncmp(id, l->v[i], strlen(l->v[i])))
			return true;
	return false;
}

/* @path is @dir or below it, component-wise ("/a/b" is below "/a", not
 * "/ab"). */
static bool cgroup_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static bool cgroup_in(const struct string_list *l, const char *path)
{
	size_t i;

	if (!path || !*path)
		return false;
	for (i = 0; i < l->n; i++)
		if (cgroup_below(path, l->v[i]))
			return true;
	return false;
}

bool filter__allows(const struct filter *f, const struct filter_facts *p)
{
	if (!f)
		return true;
	if (pid_in(&f->exclude_pid, p->tgid) ||
	    comm_in(&f->exclude_comm, p->comm) ||
	    container_in(&f->exclude_container, p->container_id) ||
	    cgroup_in(&f->exclude_cgroup, p->cgroup_path))
		return false;
	if (f->include_pid.n && !pid_in(&f->include_pid, p->tgid))
		return false;
	if (f->include_comm.n && !comm_in(&f->include_comm, p->comm))
		return false;
	if (f->include_container.n &&
	    !container_in(&f->include_container, p->container_id))
		return false;
	if (f->include_cgroup.n &&
	    !cgroup_in(&f->include_cgroup, p->cgroup_path))
		return false;
	return true;
}

const uint32_t *filter__pids(const struct filter *f, bool exclude,
			     size_t *ret_n)
{
	const struct pid_list *l;

	if (!f) {
		*ret_n = 0;
		return NULL;
	}
	l = exclude ? &f->exclude_pid : &f->include_pid;
	*ret_n = l->n;
	return l->v;
}

const char *const *filter__cgroups(const struct filter *f, bool exclude,
				   size_t *ret_n)
{
	const struct string_list *l;

	if (!f) {
		*ret_n = 0;
		return NULL;
	}
	l = exclude ? &f->exclude_cgroup : &f->include_cgroup;
	*ret_n = l->n;
	return (const char *const *)l->v;
}
