/* SPDX-License-Identifier: Apache-2.0 */
/* The Go fixtures (tests/fixtures/go_spin/) are built when Go is installed,
 * as it is in CI: a test that needs one skips without it, and fails when
 * CI=true. */
#ifndef TGPROF_TESTS_UNIT_GO_FIXTURE_H
#define TGPROF_TESTS_UNIT_GO_FIXTURE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void require_go_fixture(const char *path)
{
	const char *ci = getenv("CI");

	if (access(path, R_OK) == 0)
		return;
	cr_assert(!ci || strcmp(ci, "true"),
		  "%s was not built: Go is not installed", path);
	cr_skip_test("Go is not installed: no %s", path);
}

#endif
