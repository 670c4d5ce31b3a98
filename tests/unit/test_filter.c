// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/processes/filter.c: which processes a receiver profiles, by name,
 * container and cgroup, with excludes winning over includes. */
#include <criterion/criterion.h>
#include <errno.h>

#include "receiver/processes/filter.h"

static const char *const CID =
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static struct filter *make(const struct filter_spec *spec)
{
	char err[256] = "";
	struct filter *f = filter__new(spec, err, sizeof(err));

	cr_assert_not_null(f, "filter__new: %s", err);
	return f;
}

static bool allows(const struct filter *f, uint32_t tgid, const char *comm,
		   const char *container, const char *cgroup)
{
	struct filter_facts facts = { .tgid = tgid,
				      .comm = comm,
				      .container_id = container,
				      .cgroup_path = cgroup };

	return filter__allows(f, &facts);
}

Test(filter, empty_filter_profiles_everything)
{
	struct filter_spec spec = { 0 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 1, "bash", NULL, NULL));
	cr_assert(allows(NULL, 1, "bash", NULL, NULL));
	cr_assert_not(filter__decides_in_user_space(f));
	filter__free(f);
}

Test(filter, name_patterns_are_unanchored_extended_regexes)
{
	const char *inc[] = { "^(java|python[0-9.]*)$" };
	struct filter_spec spec = { .include_comm = inc, .n_include_comm = 1 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 1, "java", NULL, NULL));
	cr_assert(allows(f, 1, "python3.11", NULL, NULL));
	cr_assert_not(allows(f, 1, "bash", NULL, NULL));
	cr_assert_not(allows(f, 1, NULL, NULL, NULL));
	cr_assert(filter__decides_in_user_space(f));
	cr_assert_not(filter__needs_container(f));
	filter__free(f);
}

Test(filter, exclude_wins_over_include)
{
	const char *inc[] = { "^py" };
	const char *exc[] = { "^pytest$" };
	uint32_t pids[] = { 42 };
	struct filter_spec spec = { .include_comm = inc,
				    .n_include_comm = 1,
				    .exclude_comm = exc,
				    .n_exclude_comm = 1,
				    .exclude_pid = pids,
				    .n_exclude_pid = 1 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 1, "python", NULL, NULL));
	cr_assert_not(allows(f, 1, "pytest", NULL, NULL));
	cr_assert_not(allows(f, 42, "python", NULL, NULL));
	filter__free(f);
}

Test(filter, every_nonempty_include_list_must_match)
{
	const char *inc_comm[] = { "^app$" };
	const char *inc_cid[] = { "0123456789ab" };
	struct filter_spec spec = { .include_comm = inc_comm,
				    .n_include_comm = 1,
				    .include_container = inc_cid,
				    .n_include_container = 1 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 1, "app", CID, NULL));
	cr_assert_not(allows(f, 1, "app", NULL, NULL));
	cr_assert_not(allows(f, 1, "other", CID, NULL));
	cr_assert(filter__needs_container(f));
	filter__free(f);
}

Test(filter, container_ids_match_by_prefix)
{
	const char *exc[] = { "0123456789abcdef" };
	struct filter_spec spec = { .exclude_container = exc,
				    .n_exclude_container = 1 };
	struct filter *f = make(&spec);

	cr_assert_not(allows(f, 1, "x", CID, NULL));
	cr_assert(allows(f, 1, "x", "fedcba9876543210", NULL));
	cr_assert(allows(f, 1, "x", "", NULL));
	filter__free(f);
}

Test(filter, cgroups_match_themselves_and_what_is_below)
{
	const char *inc[] = { "/kubepods.slice/burstable/" };
	struct filter_spec spec = { .include_cgroup = inc,
				    .n_include_cgroup = 1 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 1, "x", NULL, "/kubepods.slice/burstable"));
	cr_assert(allows(f, 1, "x", NULL, "/kubepods.slice/burstable/pod1/c"));
	cr_assert_not(allows(f, 1, "x", NULL, "/kubepods.slice/burstable2"));
	cr_assert_not(allows(f, 1, "x", NULL, "/system.slice"));
	cr_assert_not(allows(f, 1, "x", NULL, NULL));
	cr_assert(filter__needs_cgroup(f));
	filter__free(f);
}

Test(filter, root_cgroup_matches_every_process_with_a_cgroup)
{
	const char *exc[] = { "/" };
	struct filter_spec spec = { .exclude_cgroup = exc,
				    .n_exclude_cgroup = 1 };
	struct filter *f = make(&spec);

	cr_assert_not(allows(f, 1, "x", NULL, "/user.slice"));
	cr_assert(allows(f, 1, "x", NULL, ""));
	filter__free(f);
}

Test(filter, bad_pattern_is_refused_with_a_reason)
{
	const char *inc[] = { "([unclosed" };
	struct filter_spec spec = { .include_comm = inc, .n_include_comm = 1 };
	char err[256] = "";

	cr_assert_null(filter__new(&spec, err, sizeof(err)));
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(err, "([unclosed"), "%s", err);
}

Test(filter, pid_lists_agree_with_the_kernel_filter)
{
	uint32_t inc[] = { 10, 11 };
	struct filter_spec spec = { .include_pid = inc, .n_include_pid = 2 };
	struct filter *f = make(&spec);

	cr_assert(allows(f, 10, "a", NULL, NULL));
	cr_assert(allows(f, 11, "a", NULL, NULL));
	cr_assert_not(allows(f, 12, "a", NULL, NULL));
	/* PIDs are applied in the kernel: nothing to decide here. */
	cr_assert_not(filter__decides_in_user_space(f));
	filter__free(f);
}

Test(filter, lists_for_the_kernel_are_lent_as_given)
{
	uint32_t inc[] = { 10, 11 }, exc[] = { 12 };
	const char *cg_exc[] = { "/system.slice", "/user.slice" };
	struct filter_spec spec = {
		.include_pid = inc,
		.n_include_pid = 2,
		.exclude_pid = exc,
		.n_exclude_pid = 1,
		.exclude_cgroup = cg_exc,
		.n_exclude_cgroup = 2,
	};
	struct filter *f = make(&spec);
	const char *const *cg;
	const uint32_t *pids;
	size_t n;

	pids = filter__pids(f, false, &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(pids[0], 10);
	cr_assert_eq(pids[1], 11);
	pids = filter__pids(f, true, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(pids[0], 12);
	cg = filter__cgroups(f, true, &n);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(cg[1], "/user.slice");
	cr_assert_neq(cg[1], cg_exc[1], "a copy, not the caller's");
	filter__cgroups(f, false, &n);
	cr_assert_eq(n, 0);
	filter__free(f);

	/* No filter: empty lists. */
	cr_assert_null(filter__pids(NULL, false, &n));
	cr_assert_eq(n, 0);
	cr_assert_null(filter__cgroups(NULL, true, &n));
	cr_assert_eq(n, 0);
}
