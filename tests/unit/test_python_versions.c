// SPDX-License-Identifier: Apache-2.0
/* Guards receiver/runtimes/python/versions.c: the 3.11 and 3.12 tables,
 * unknown versions refused, and 3.13's _Py_DebugOffsets parsed from the
 * bytes a real 3.13.0 interpreter ships (its _PyRuntime's initial value,
 * taken from libpython3.13.so's .PyRuntime section) and from crafted
 * blobs that lie (cookie, version, offsets out of range, cut short). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "receiver/runtimes/python/versions.h"

#define V3_11_2 0x030b02f0u
#define V3_12_1 0x030c01f0u
#define V3_13_0 0x030d00f0u

Test(python_versions, tables_of_3_11_and_3_12_are_returned)
{
	struct python_layout l;

	cr_assert_eq(python_layout__for_version(V3_11_2, &l), 0);
	cr_assert_eq(l.version, V3_11_2);
	cr_assert_eq(l.frame_code, 32);
	cr_assert_eq(l.frame_is_entry, 68);
	cr_assert_eq(l.code_code_adaptive, 184);
	cr_assert_eq(l.unicode_ascii_data, 48);

	cr_assert_eq(python_layout__for_version(V3_12_1, &l), 0);
	cr_assert_eq(l.version, V3_12_1);
	cr_assert_eq(l.frame_code, 0);
	cr_assert_eq(l.frame_previous, 8);
	cr_assert_eq(l.frame_instr, 56);
	cr_assert_eq(l.frame_owner, 70);
	cr_assert_eq(l.frame_is_entry, PY_NO_FIELD);
	cr_assert_eq(l.owner_cstack, 3);
	cr_assert_eq(l.instr_is_next, 0);
	cr_assert_eq(l.interp_threads_head, 72);
	cr_assert_eq(l.tstate_native_thread_id, 144);
	cr_assert_eq(l.code_firstlineno, 68);
	cr_assert_eq(l.code_code_adaptive, 192);
	cr_assert_eq(l.unicode_ascii_data, 40);
	cr_assert_eq(l.unicode_compact_data, 56);
}

Test(python_versions, without_debug_offsets_from_runtime_falls_back_to_table)
{
	struct python_layout a, b;

	cr_assert_eq(python_layout__from_runtime(V3_12_1, NULL, 0, &a), 0);
	cr_assert_eq(python_layout__for_version(V3_12_1, &b), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(python_layout__from_runtime(V3_11_2, NULL, 0, &a), 0);
	cr_assert_eq(a.frame_code, 32);
}

Test(python_versions, unknown_versions_are_not_supported)
{
	struct python_layout l;

	cr_assert_eq(python_layout__for_version(0x030a0cf0u, &l), -ENOTSUP);
	cr_assert_eq(python_layout__for_version(0x020712f0u, &l), -ENOTSUP);
	cr_assert_eq(python_layout__from_runtime(0x030e00f0u, NULL, 0, &l),
		     -ENOTSUP);
	cr_assert_eq(python_layout__from_runtime(0x040b0000u, NULL, 0, &l),
		     -ENOTSUP);
}

static size_t real_blob(uint8_t *buf, size_t max)
{
	FILE *f = fopen(TGPROF_SOURCE_DIR
			"/tests/unit/data/python3.13.0_debug_offsets.bin",
			"rb");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, max, f);
	fclose(f);
	cr_assert_eq(n, 584);
	return n;
}

static void put_u64(uint8_t *blob, size_t off, uint64_t v)
{
	memcpy(blob + off, &v, sizeof(v));
}

/* What offsetof() gives on the v3.13.0 headers. */
static void assert_3_13_layout(const struct python_layout *l)
{
	cr_assert_eq(l->version, V3_13_0);
	cr_assert_eq(l->runtime_interpreters_head, 632);
	cr_assert_eq(l->interp_next, 7264);
	cr_assert_eq(l->interp_threads_head, 7344);
	cr_assert_eq(l->tstate_next, 8);
	cr_assert_eq(l->tstate_thread_id, 152);
	cr_assert_eq(l->tstate_native_thread_id, 160);
	cr_assert_eq(l->tstate_cframe, PY_NO_FIELD);
	cr_assert_eq(l->cframe_current_frame, 72);
	cr_assert_eq(l->frame_code, 0);
	cr_assert_eq(l->frame_previous, 8);
	cr_assert_eq(l->frame_instr, 56);
	cr_assert_eq(l->instr_is_next, 1);
	cr_assert_eq(l->frame_owner, 70);
	cr_assert_eq(l->frame_is_entry, PY_NO_FIELD);
	cr_assert_eq(l->owner_cstack, 3);
	cr_assert_eq(l->object_type, 8);
	cr_assert_eq(l->var_size, 16);
	cr_assert_eq(l->bytes_data, 32);
	cr_assert_eq(l->code_firstlineno, 68);
	cr_assert_eq(l->code_filename, 112);
	cr_assert_eq(l->code_name, 120);
	cr_assert_eq(l->code_qualname, 128);
	cr_assert_eq(l->code_linetable, 136);
	cr_assert_eq(l->code_code_adaptive, 200);
	cr_assert_eq(l->code_size, 200);
	cr_assert_eq(l->unicode_length, 16);
	cr_assert_eq(l->unicode_state, 32);
	cr_assert_eq(l->unicode_ascii_data, 40);
	cr_assert_eq(l->unicode_compact_data, 56);
}

Test(python_versions, real_3_13_debug_offsets_are_parsed)
{
	uint8_t blob[PYTHON_DEBUG_OFFSETS_MAX] = { 0 };
	struct python_layout l;

	real_blob(blob, sizeof(blob));
	cr_assert_eq(python_layout__from_runtime(V3_13_0, blob, sizeof(blob),
						 &l),
		     0);
	assert_3_13_layout(&l);
	/* The base table alone says the same. */
	cr_assert_eq(python_layout__for_version(V3_13_0, &l), 0);
	assert_3_13_layout(&l);
}

Test(python_versions, debug_offsets_override_the_base_table)
{
	uint8_t blob[PYTHON_DEBUG_OFFSETS_MAX] = { 0 };
	struct python_layout l;

	real_blob(blob, sizeof(blob));
	put_u64(blob, 296, 144); /* code_object.qualname */
	put_u64(blob, 344, 240); /* code_object.co_code_adaptive */
	put_u64(blob, 560, 48); /* unicode_object.asciiobject_size */
	put_u64(blob, 8, 0x030d05f0u); /* a later 3.13.x */
	cr_assert_eq(python_layout__from_runtime(V3_13_0, blob, sizeof(blob),
						 &l),
		     0);
	cr_assert_eq(l.code_qualname, 144);
	cr_assert_eq(l.code_code_adaptive, 240);
	cr_assert_eq(l.code_size, 240);
	cr_assert_eq(l.unicode_ascii_data, 48);
	cr_assert_eq(l.unicode_compact_data, 64);
}

Test(python_versions, lying_debug_offsets_are_invalid)
{
	uint8_t blob[PYTHON_DEBUG_OFFSETS_MAX] = { 0 }, bad[sizeof(blob)];
	struct python_layout l;

	real_blob(blob, sizeof(blob));

	memcpy(bad, blob, sizeof(bad));
	memcpy(bad, "xdebugpx", 8);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -EINVAL, "wrong cookie");

	memcpy(bad, blob, sizeof(bad));
	put_u64(bad, 8, 0x030c01f0u);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -EINVAL, "the blob says 3.12");

	memcpy(bad, blob, sizeof(bad));
	put_u64(bad, 8, 0xffffffff030d00f0ull);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -EINVAL, "a version past 32 bits");

	memcpy(bad, blob, sizeof(bad));
	put_u64(bad, 296, 1u << 20);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -EINVAL, "qualname offset out of range");

	memcpy(bad, blob, sizeof(bad));
	put_u64(bad, 72, UINT64_MAX);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -EINVAL, "threads_head offset out of range");

	cr_assert_eq(python_layout__from_runtime(V3_13_0, blob, 583, &l),
		     -EINVAL, "cut short");
	cr_assert_eq(python_layout__from_runtime(V3_13_0, NULL, 0, &l), -EINVAL,
		     "no memory read");

	memcpy(bad, blob, sizeof(bad));
	put_u64(bad, 16, 1);
	cr_assert_eq(python_layout__from_runtime(V3_13_0, bad, sizeof(bad), &l),
		     -ENOTSUP, "a free-threaded build");
}
