// SPDX-License-Identifier: Apache-2.0
/* Guards exporter/frametype.c: every profile.frame.type string gets a
 * folded mark, known types their flamegraph.pl-style letter, and a mark
 * reads back as the type it was made from. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "exporter/frametype.h"

static const char *suffix(const char *type)
{
	static char buf[FRAMETYPE_SUFFIX_MAX];

	return frametype__suffix(type, buf);
}

Test(frametype, known_types_get_their_letter_native_none)
{
	cr_assert_str_eq(suffix(NULL), "");
	cr_assert_str_eq(suffix(""), "");
	cr_assert_str_eq(suffix("native"), "");
	cr_assert_str_eq(suffix("kernel"), "_[k]");
	cr_assert_str_eq(suffix("jit"), "_[j]");
	cr_assert_str_eq(suffix("cpython"), "_[p]");
}

Test(frametype, any_other_type_is_carried_by_name_bounded_and_printable)
{
	char long_type[100];

	cr_assert_str_eq(suffix("php"), "_[php]");
	cr_assert_str_eq(suffix("v8js"), "_[v8js]");
	cr_assert_str_eq(suffix("a;b]\n"), "_[a_b__]");
	/* One letter would read as a known mark. */
	cr_assert_str_eq(suffix("k"), "_[other]");
	memset(long_type, 'x', sizeof(long_type) - 1);
	long_type[sizeof(long_type) - 1] = '\0';
	cr_assert_eq(strlen(suffix(long_type)), FRAMETYPE_MAX_NAME + 3);
}

Test(frametype, a_mark_reads_back_as_its_type)
{
	static const char *const types[] = { "kernel", "jit", "cpython", "php",
					     "dotnet" };
	struct frametype_mark m;
	char frame[64];
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(frame, sizeof(frame), "fn (a.x)%s", suffix(types[i]));
		frametype__parse(frame, strlen(frame), &m);
		cr_assert_eq(m.name_len, strlen(types[i]), "%s", frame);
		cr_assert(!memcmp(m.name, types[i], m.name_len), "%s", frame);
		cr_assert_eq(m.base_len, strlen("fn (a.x)"));
	}
	frametype__parse("hash_[i]", 8, &m);
	cr_assert_eq(m.kind, FRAMETYPE_K_INLINED);
	cr_assert_str_eq(m.name, "inlined");
	cr_assert_eq(m.base_len, 4);
}

Test(frametype, frames_without_a_mark_are_native)
{
	static const char *const frames[] = {
		"main", "[libc.so.6]", "operator[]",	   "[lib_[abc].so]",
		"f_[]", "x[k]",	       "-[NSObject init]",
	};
	struct frametype_mark m;
	size_t i;

	for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		frametype__parse(frames[i], strlen(frames[i]), &m);
		cr_assert_eq(m.kind, FRAMETYPE_K_NATIVE, "%s", frames[i]);
		cr_assert_eq(m.base_len, strlen(frames[i]));
	}
}
