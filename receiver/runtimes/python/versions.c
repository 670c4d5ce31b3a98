// SPDX-License-Identifier: Apache-2.0
/* CPython's layouts per version (versions.h). */
#include "receiver/runtimes/python/versions.h"

#include <errno.h>
#include <string.h>

#define PY_MINOR(v) (((v) >> 16) & 0xff)
#define PY_MAJOR(v) (((v) >> 24) & 0xff)

/* 3.11: Include/internal/pycore_{runtime,interp,frame}.h,
 * Include/cpython/{pystate,code,unicodeobject}.h of v3.11. */
static const struct python_layout layout_3_11 = {
	.runtime_interpreters_head = 40,
	.interp_next = 0,
	.interp_threads_head = 16,
	.tstate_next = 8,
	.tstate_thread_id = 152,
	.tstate_native_thread_id = 160,
	.tstate_cframe = 56,
	.cframe_current_frame = 8,
	.frame_code = 32,
	.frame_previous = 48,
	.frame_instr = 56,
	.instr_is_next = 0,
	.owner_cstack = 3,
	.frame_owner = 69,
	.frame_is_entry = 68,
	.frame_size = 72,
	.object_type = 8,
	.var_size = 16,
	.bytes_data = 32,
	.code_firstlineno = 72,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_linetable = 136,
	.code_code_adaptive = 184,
	.code_size = 184,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 48,
	.unicode_compact_data = 72,
	.state_kind_shift = 2,
	.state_compact_bit = 5,
	.state_ascii_bit = 6,
};

int python_layout__for_version(uint32_t version, struct python_layout *ret)
{
	const struct python_layout *l = NULL;

	if (PY_MAJOR(version) == 3 && PY_MINOR(version) == 11)
		l = &layout_3_11;
	if (!l)
		return -ENOTSUP;
	*ret = *l;
	ret->version = version;
	return 0;
}

int python_layout__from_runtime(uint32_t version, const void *head, size_t len,
				struct python_layout *ret)
{
	(void)head;
	(void)len;
	return python_layout__for_version(version, ret);
}
