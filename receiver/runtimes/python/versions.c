// SPDX-License-Identifier: Apache-2.0
/* CPython's layouts per version (versions.h): a table per version without
 * debug offsets (3.11, 3.12); from 3.13 the interpreter's own
 * _Py_DebugOffsets, read through a table of where each u64 sits in it, over
 * a base table for what it does not carry.
 *
 * Every number below was measured with offsetof()/sizeof() on x86-64 and
 * aarch64 LP64 against the interpreter's own internal headers: compile
 * with `#define Py_BUILD_CORE 1` and include internal/pycore_frame.h,
 * pycore_runtime.h and pycore_interp.h (which pull in cpython/pystate.h,
 * cpython/code.h and cpython/unicodeobject.h). The headers: Debian's
 * /usr/include/python3.11 (3.11.2), CPython v3.12.1 and v3.13.0. Those
 * structs do not change within a minor version. */
#include "receiver/runtimes/python/versions.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define PY_MINOR(v) (((v) >> 16) & 0xff)
#define PY_MAJOR(v) (((v) >> 24) & 0xff)
#define PY_MM(v) ((v) >> 16) /* major.minor: 0x030b */

/* An offset the debug offsets give beyond this is not believed: the
 * largest 3.13 has is PyInterpreterState.threads.head at 7344 (the
 * interpreter state embeds big arrays); 32 KiB keeps every value far
 * below PY_NO_FIELD. */
#define PY_DEBUG_OFFSET_LIMIT 32768u

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

/* 3.12 (v3.12.1 headers):
 * - _PyRuntimeState: _initialized, preinitializing, preinitialized,
 *   core_initialized, initialized (ints, 0..19), _finalizing (pointer at
 *   24), struct pyinterpreters { mutex 32; head 40 }.
 * - PyInterpreterState: next 0, id 8, ..., monitoring_version 48, struct
 *   pythreads { next_unique_id 64, head 72 }.
 * - PyThreadState: prev 0, next 8, interp 16, _status 24, py_recursion_*
 *   28..35, c_recursion_remaining 36, recursion_headroom 40, tracing 44,
 *   what_event 48, cframe 56 ... thread_id 136, native_thread_id 144.
 * - _PyCFrame: current_frame 0, previous 8 (3.12 dropped use_tracing).
 * - _PyInterpreterFrame: f_code 0, previous 8, f_funcobj 16, f_globals 24,
 *   f_builtins 32, f_locals 40, frame_obj 48, prev_instr 56, stacktop 64,
 *   return_offset 68 (uint16_t), owner 70 (char), localsplus 72. No
 *   is_entry: an activation of _PyEval_EvalFrameDefault pushes a shim frame
 *   owned by the C stack (FRAME_OWNED_BY_CSTACK = 3).
 * - PyCodeObject (PyVarObject head 0..23): co_consts 24, co_names 32,
 *   co_exceptiontable 40, co_flags 48, co_argcount 52, co_posonlyargcount
 *   56, co_kwonlyargcount 60, co_stacksize 64, co_firstlineno 68,
 *   co_nlocalsplus 72, co_framesize 76, co_nlocals 80, co_ncellvars 84,
 *   co_nfreevars 88, co_version 92, co_localsplusnames 96,
 *   co_localspluskinds 104, co_filename 112, co_name 120, co_qualname 128,
 *   co_linetable 136, co_weakreflist 144, _co_cached 152,
 *   _co_instrumentation_version 160, _co_monitoring 168,
 *   _co_firsttraceable 176, co_extra 184, co_code_adaptive 192.
 * - PyASCIIObject: ob_refcnt 0, ob_type 8, length 16, hash 24, state 32
 *   (interned:2, kind:3, compact:1, ascii:1, statically_allocated:1; no
 *   wstr and no ready bit any more), sizeof 40 = where compact ASCII data
 *   starts; PyCompactUnicodeObject adds utf8_length 40 and utf8 48: its
 *   data starts at 56. */
static const struct python_layout layout_3_12 = {
	.runtime_interpreters_head = 40,
	.interp_next = 0,
	.interp_threads_head = 72,
	.tstate_next = 8,
	.tstate_thread_id = 136,
	.tstate_native_thread_id = 144,
	.tstate_cframe = 56,
	.cframe_current_frame = 0,
	.frame_code = 0,
	.frame_previous = 8,
	.frame_instr = 56,
	.instr_is_next = 0,
	.owner_cstack = 3,
	.frame_owner = 70,
	.frame_is_entry = PY_NO_FIELD,
	.frame_size = 72,
	.object_type = 8,
	.var_size = 16,
	.bytes_data = 32,
	.code_firstlineno = 68,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_linetable = 136,
	.code_code_adaptive = 192,
	.code_size = 192,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.state_kind_shift = 2,
	.state_compact_bit = 5,
	.state_ascii_bit = 6,
};

/* 3.13 (v3.13.0 headers), the base under its debug offsets, which
 * override every field they carry (see debug_3_13). Kept whole so the
 * table alone is a complete layout: PyThreadState.current_frame 72 (no
 * cframe any more), _PyInterpreterFrame.f_executable 0, previous 8,
 * instr_ptr 56 (the next instruction to run), owner 70, localsplus 72;
 * PyCodeObject as 3.12 up to co_code_adaptive, now at 200 (one more
 * pointer, co_executors, before it); _PyRuntimeState starts with the 584 bytes of
 * _Py_DebugOffsets: interpreters.head 632; PyInterpreterState embeds
 * large state before next (7264) and threads.head (7344); str as 3.12. */
static const struct python_layout layout_3_13 = {
	.runtime_interpreters_head = 632,
	.interp_next = 7264,
	.interp_threads_head = 7344,
	.tstate_next = 8,
	.tstate_thread_id = 152,
	.tstate_native_thread_id = 160,
	.tstate_cframe = PY_NO_FIELD,
	.cframe_current_frame = 72,
	.frame_code = 0,
	.frame_previous = 8,
	.frame_instr = 56,
	.instr_is_next = 1,
	.owner_cstack = 3,
	.frame_owner = 70,
	.frame_is_entry = PY_NO_FIELD,
	.frame_size = 72,
	.object_type = 8,
	.var_size = 16,
	.bytes_data = 32,
	.code_firstlineno = 68,
	.code_filename = 112,
	.code_name = 120,
	.code_qualname = 128,
	.code_linetable = 136,
	.code_code_adaptive = 200,
	.code_size = 200,
	.unicode_length = 16,
	.unicode_state = 32,
	.unicode_ascii_data = 40,
	.unicode_compact_data = 56,
	.state_kind_shift = 2,
	.state_compact_bit = 5,
	.state_ascii_bit = 6,
};

/* One field of struct python_layout ← the u64 at @blob in _Py_DebugOffsets. */
struct debug_field {
	uint16_t layout; /* offsetof(struct python_layout, field) */
	uint16_t blob;
};

#define DF(field, off)                                       \
	{                                                    \
		offsetof(struct python_layout, field), (off) \
	}

/* _Py_DebugOffsets of v3.13 (Include/internal/pycore_runtime.h): cookie
 * 0, version 8, free_threaded 16; runtime_state {size 24, finalizing 32,
 * interpreters_head 40}; interpreter_state {size 48, id 56, next 64,
 * threads_head 72, gc 80, imports_modules 88, sysdict 96, builtins 104,
 * ceval_gil 112, gil_runtime_state 120, _enabled 128, _locked 136,
 * _holder 144}; thread_state {size 152, prev 160, next 168, interp 176,
 * current_frame 184, thread_id 192, native_thread_id 200,
 * datastack_chunk 208, status 216}; interpreter_frame {size 224,
 * previous 232, executable 240, instr_ptr 248, localsplus 256, owner
 * 264}; code_object {size 272, filename 280, name 288, qualname 296,
 * linetable 304, firstlineno 312, argcount 320, localsplusnames 328,
 * localspluskinds 336, co_code_adaptive 344}; pyobject {size 352, ob_type
 * 360}; type_object 368..399; tuple_object 400..423; list_object
 * 424..447; dict_object 448..471; float_object 472..487; long_object
 * 488..511; bytes_object {size 512, ob_size 520, ob_sval 528};
 * unicode_object {size 536, state 544, length 552, asciiobject_size 560};
 * gc 568..583; sizeof 584. (Checked against offsetof on the v3.13.0
 * headers.) */
static const struct debug_field debug_3_13_fields[] = {
	DF(runtime_interpreters_head, 40),
	DF(interp_next, 64),
	DF(interp_threads_head, 72),
	DF(tstate_next, 168),
	DF(cframe_current_frame, 184),
	DF(tstate_thread_id, 192),
	DF(tstate_native_thread_id, 200),
	DF(frame_previous, 232),
	DF(frame_code, 240),
	DF(frame_instr, 248),
	DF(frame_owner, 264),
	DF(code_filename, 280),
	DF(code_name, 288),
	DF(code_qualname, 296),
	DF(code_linetable, 304),
	DF(code_firstlineno, 312),
	DF(code_code_adaptive, 344),
	DF(object_type, 360),
	DF(var_size, 520),
	DF(bytes_data, 528),
	DF(unicode_state, 544),
	DF(unicode_length, 552),
	DF(unicode_ascii_data, 560),
};

/* A version's debug offsets: where its version and free_threaded are, how
 * many bytes they take, and the fields. */
struct debug_desc {
	uint16_t mm; /* PY_MM() of the versions it describes */
	uint16_t version_off;
	uint16_t free_threaded_off;
	uint16_t size;
	const struct python_layout *base;
	const struct debug_field *fields;
	size_t nfields;
};

static const struct debug_desc debug_descs[] = {
	{
		.mm = 0x030d,
		.version_off = 8,
		.free_threaded_off = 16,
		.size = 584,
		.base = &layout_3_13,
		.fields = debug_3_13_fields,
		.nfields = sizeof(debug_3_13_fields) /
			   sizeof(debug_3_13_fields[0]),
	},
};

#define PY_DEBUG_COOKIE "xdebugpy"

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v)); /* the interpreter's own byte order */
	return v;
}

int python_layout__for_version(uint32_t version, struct python_layout *ret)
{
	const struct python_layout *l = NULL;

	if (PY_MM(version) == 0x030b)
		l = &layout_3_11;
	else if (PY_MM(version) == 0x030c)
		l = &layout_3_12;
	else if (PY_MM(version) == 0x030d)
		l = &layout_3_13;
	if (!l)
		return -ENOTSUP;
	*ret = *l;
	ret->version = version;
	return 0;
}

static const struct debug_desc *debug_desc_of(uint32_t version)
{
	size_t i;

	for (i = 0; i < sizeof(debug_descs) / sizeof(debug_descs[0]); i++)
		if (debug_descs[i].mm == PY_MM(version))
			return &debug_descs[i];
	return NULL;
}

static void grow_code_size(struct python_layout *l, uint16_t off, uint16_t len)
{
	if (off != PY_NO_FIELD && (uint32_t)off + len > l->code_size)
		l->code_size = (uint16_t)(off + len);
}

int python_layout__from_runtime(uint32_t version, const void *head, size_t len,
				struct python_layout *ret)
{
	const struct debug_desc *d = debug_desc_of(version);
	const uint8_t *blob = head;
	struct python_layout l;
	uint64_t v;
	size_t i;

	if (!d)
		return python_layout__for_version(version, ret);
	if (!blob || len < d->size ||
	    memcmp(blob, PY_DEBUG_COOKIE, strlen(PY_DEBUG_COOKIE)))
		return -EINVAL;
	v = get_u64(blob + d->version_off);
	if (v > UINT32_MAX || PY_MM((uint32_t)v) != PY_MM(version))
		return -EINVAL;
	/* A free-threaded build lays out str's state and object headers
	 * differently from what the base table knows. */
	if (get_u64(blob + d->free_threaded_off))
		return -ENOTSUP;
	l = *d->base;
	for (i = 0; i < d->nfields; i++) {
		v = get_u64(blob + d->fields[i].blob);
		if (v >= PY_DEBUG_OFFSET_LIMIT)
			return -EINVAL;
		memcpy((char *)&l + d->fields[i].layout, &(uint16_t){ v },
		       sizeof(uint16_t));
	}
	/* Derived: a compact non-ASCII str's data follows PyASCIIObject,
	 * utf8_length and utf8 (Include/cpython/unicodeobject.h, 3.12 on);
	 * a code object is read up to its first code unit. */
	l.unicode_compact_data = (uint16_t)(l.unicode_ascii_data + 16);
	l.code_size = l.code_code_adaptive;
	grow_code_size(&l, l.code_firstlineno, 4);
	grow_code_size(&l, l.code_filename, 8);
	grow_code_size(&l, l.code_name, 8);
	grow_code_size(&l, l.code_qualname, 8);
	grow_code_size(&l, l.code_linetable, 8);
	l.version = version;
	*ret = l;
	return 0;
}
