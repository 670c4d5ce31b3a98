// SPDX-License-Identifier: Apache-2.0
/* `tgprof record`'s profiles read by the real readers: profile.otlp.pb
 * decoded with the OTLP protos (resource, thread, mapping and build-id of
 * the pthread_exit leader fixture's worker), and profile.pb.gz through
 * `go tool pprof -top`. Runs build/tgprof; needs root, and Go for pprof. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "tests/bpf/harness.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles
	resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Location location;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit kvu;
typedef Opentelemetry__Proto__Common__V1__AnyValue anyvalue;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name
#define ANY_STRING \
	OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

static void *slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	void *buf;
	FILE *f;

	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fileno(f), &st), 0);
	buf = malloc(st.st_size + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*ret_len = st.st_size;
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static const anyvalue *resource_value(const resource_profiles *rp,
				      const char *key)
{
	size_t i;

	for (i = 0; i < rp->resource->n_attributes; i++)
		if (rp->resource->attributes[i]->key &&
		    !strcmp(rp->resource->attributes[i]->key, key))
			return rp->resource->attributes[i]->value;
	return NULL;
}

static const char *str(const request *r, int32_t idx)
{
	cr_assert(idx >= 0 && (size_t)idx < r->dictionary->n_string_table);
	return r->dictionary->string_table[idx];
}

static const kvu *attr(const request *r, int32_t idx)
{
	cr_assert(idx > 0 && (size_t)idx < r->dictionary->n_attribute_table);
	return r->dictionary->attribute_table[idx];
}

/* The location of a stack that names @fn, or NULL. */
static const location *find_function(const request *r, const char *fn)
{
	const Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary
		*d = r->dictionary;
	size_t i, j;

	for (i = 1; i < d->n_location_table; i++)
		for (j = 0; j < d->location_table[i]->n_lines; j++) {
			int32_t f =
				d->location_table[i]->lines[j]->function_index;

			cr_assert(f > 0 && (size_t)f < d->n_function_table);
			if (!strcmp(str(r, d->function_table[f]->name_strindex),
				    fn))
				return d->location_table[i];
		}
	return NULL;
}

/* Checks the OTLP request of the recording of @f (service name @service). */
static void check_otlp(const char *dir, const struct fixture *f,
		       const char *service)
{
	const resource_profiles *rp = NULL;
	const anyvalue *v;
	const location *l;
	unsigned long long worker = 0;
	char path[600];
	struct utsname u;
	bool worker_seen = false;
	const kvu *a;
	request *r;
	size_t i, j, k, len;
	void *buf;

	snprintf(path, sizeof(path), "%s/profile.otlp.pb", dir);
	buf = slurp(path, &len);
	r = REQ(unpack)(NULL, len, buf);
	cr_assert_not_null(r, "profile.otlp.pb does not decode");
	cr_assert_not_null(r->dictionary);
	for (i = 0; i < r->n_resource_profiles; i++) {
		v = resource_value(r->resource_profiles[i], "process.pid");
		cr_assert_not_null(v);
		if (v->value_case == ANY_INT && v->int_value == f->pid)
			rp = r->resource_profiles[i];
	}
	cr_assert_not_null(rp, "no resource with process.pid %d", f->pid);
	v = resource_value(rp, "service.name");
	cr_assert_str_eq(v->string_value, service);
	v = resource_value(rp, "process.executable.name");
	cr_assert_str_eq(v->string_value, "pthread_exit_leader");
	v = resource_value(rp, "process.executable.path");
	cr_assert_not_null(v);
	cr_assert(ends_with(v->string_value, "/fixtures/pthread_exit_leader"),
		  "%s", v->string_value);
	cr_assert_eq(uname(&u), 0);
	cr_assert_str_eq(resource_value(rp, "host.name")->string_value,
			 u.nodename);

	/* The worker's samples carry its thread id. */
	cr_assert(fixture_value(f, "worker_tid", &worker));
	for (i = 0; i < rp->scope_profiles[0]->profiles[0]->n_samples; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Sample *s =
			rp->scope_profiles[0]->profiles[0]->samples[i];

		cr_assert_gt(s->n_timestamps_unix_nano, 0);
		for (k = 0; k < s->n_attribute_indices; k++) {
			a = attr(r, s->attribute_indices[k]);
			if (!strcmp(str(r, a->key_strindex), "thread.id") &&
			    a->value->int_value == (int64_t)worker)
				worker_seen = true;
		}
	}
	cr_assert(worker_seen, "no sample of thread %llu", worker);

	/* The worker's function, in the fixture's mapping, with its
	 * build-id. */
	l = find_function(r, "worker_spin_hot");
	cr_assert_not_null(l, "worker_spin_hot is not in the dictionary");
	cr_assert_gt(l->mapping_index, 0);
	{
		const Opentelemetry__Proto__Profiles__V1development__Mapping *m =
			r->dictionary->mapping_table[l->mapping_index];
		bool build_id = false;

		cr_assert(ends_with(str(r, m->filename_strindex),
				    "/pthread_exit_leader"));
		for (j = 0; j < m->n_attribute_indices; j++) {
			a = attr(r, m->attribute_indices[j]);
			if (strcmp(str(r, a->key_strindex),
				   "process.executable.build_id.gnu"))
				continue;
			cr_assert_eq(a->value->value_case, ANY_STRING);
			cr_assert_geq(strlen(a->value->string_value), 16);
			build_id = true;
		}
		cr_assert(build_id, "the fixture's mapping has no build-id");
	}
	REQ(free_unpacked)(r, NULL);
	free(buf);
}

/* go needs a build cache even to run a tool. */
static void go_env(void)
{
	if (!getenv("GOCACHE") && !getenv("XDG_CACHE_HOME") && !getenv("HOME"))
		setenv("GOCACHE", "/tmp/tgprof-test-gocache", 1);
}

static void check_go_pprof(const char *dir)
{
	struct cmd_result *res;
	char path[600];
	char *argv[] = { "go", "tool", "pprof", "-top", path, NULL };

	harness_require(!system("command -v go >/dev/null 2>&1"),
			"go is not installed: go tool pprof not run");
	res = malloc(sizeof(*res));
	cr_assert_not_null(res);
	go_env();
	snprintf(path, sizeof(path), "%s/profile.pb.gz", dir);
	run_cmd(argv, res);
	cr_assert_eq(exit_code(res), 0, "go tool pprof failed:\n%s%s", res->out,
		     res->err);
	cr_assert(strstr(res->out, "worker_spin_hot"),
		  "worker_spin_hot is not in go tool pprof -top:\n%s",
		  res->out);
	free(res);
}

/* Everything the fixture printed, once it is gone. */
static void wait_exit(struct fixture *f, int timeout_ms)
{
	struct pollfd p = { .fd = f->out_fd, .events = POLLIN };
	int waited = 0;

	fixture_pump(f);
	while (!f->exited && waited < timeout_ms) {
		poll(&p, f->out_fd >= 0 ? 1 : 0, 100);
		waited += 100;
		fixture_pump(f);
	}
	cr_assert(f->exited, "the fixture still runs");
}

Test(record_profiles, pprof_and_otlp_of_a_pthread_exit_leader, .timeout = 180)
{
	char fx[512], dir[64], pid[16], path[600];
	char *fargv[] = { (char *)fixture_path("pthread_exit_leader", fx,
					       sizeof(fx)),
			  "200", "3000", NULL };
	struct cmd_result *res = malloc(sizeof(*res));
	struct fixture f;
	struct stat st;

	harness_require_root();
	snprintf(dir, sizeof(dir), "/tmp/tgprof-profiles-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	fixture_spawn(&f, fargv, 0);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	/* The fixture runs about 3.2 s; record stops when it exits. */
	fixture_go(&f);
	{
		char *argv[] = { TGPROF_BINARY,
				 "record",
				 "-p",
				 pid,
				 "-d",
				 "30",
				 "-F",
				 "199",
				 "--top",
				 "0",
				 "--service-name",
				 "checkout",
				 "-o",
				 dir,
				 NULL };

		run_cmd(argv, res);
	}
	wait_exit(&f, 30000);
	cr_assert_eq(exit_code(res), 0, "tgprof record failed:\n%s", res->err);
	cr_assert(strstr(res->err, "profile.pb.gz"), "stderr:\n%s", res->err);
	cr_assert(strstr(res->err, "profile.otlp.pb"), "stderr:\n%s", res->err);
	snprintf(path, sizeof(path), "%s/profile.pb.gz", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_gt(st.st_size, 0);

	check_otlp(dir, &f, "checkout");
	check_go_pprof(dir);
	free(res);
	fixture_cleanup(&f);
}
