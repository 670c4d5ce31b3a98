/* SPDX-License-Identifier: Apache-2.0 */
/* Where CPython keeps what tgprof reads, per interpreter version: the
 * runtime's list of interpreters and threads, a thread's current frame,
 * a frame's code object and instruction, a code object's names and line
 * table, a str's characters. From 3.13 on the interpreter publishes most
 * of these itself (_Py_DebugOffsets at the start of _PyRuntime); before,
 * they come from one table per version. A new version is a table (or,
 * with debug offsets, nothing), not new code.
 * In: a version (Py_Version) and, from 3.13, the bytes of _PyRuntime's
 * head. Out: struct python_layout, read by the BPF walk (bpf/python.h)
 * and by the code-object reader (code.h). */
#ifndef TGPROF_RECEIVER_PYTHON_VERSIONS_H
#define TGPROF_RECEIVER_PYTHON_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

/* A field this version does not have. */
#define PY_NO_FIELD UINT16_MAX

/* Offsets in bytes, each within its struct. */
struct python_layout {
	uint32_t version; /* PY_VERSION_HEX of the interpreter, e.g. 0x030b02f0 */

	/* _PyRuntimeState */
	uint16_t runtime_interpreters_head; /* PyInterpreterState * */
	/* PyInterpreterState */
	uint16_t interp_next;
	uint16_t interp_threads_head; /* PyThreadState * */
	/* PyThreadState */
	uint16_t tstate_next;
	uint16_t tstate_thread_id; /* unsigned long: pthread_self() */
	uint16_t tstate_native_thread_id; /* the TID, in its PID namespace */
	/* The current frame: tstate->cframe->current_frame (3.11, 3.12), or
	 * tstate->current_frame (3.13 on: tstate_cframe is PY_NO_FIELD and
	 * cframe_current_frame is the offset in PyThreadState). */
	uint16_t tstate_cframe;
	uint16_t cframe_current_frame;

	/* _PyInterpreterFrame */
	uint16_t frame_code; /* PyCodeObject * (3.13: f_executable) */
	uint16_t frame_previous;
	/* _Py_CODEUNIT *: prev_instr (3.11, 3.12, the instruction being
	 * run), instr_ptr (3.13 on, the next one: instr_is_next is 1). */
	uint16_t frame_instr;
	uint8_t instr_is_next;
	uint8_t owner_cstack; /* owner value of a C-stack shim frame (3.12 on) */
	uint16_t frame_owner; /* char */
	/* 3.11: bool, set on the first frame an _PyEval_EvalFrameDefault
	 * activation runs. PY_NO_FIELD from 3.12, where each activation
	 * starts with a shim frame owned by the C stack (owner_cstack). */
	uint16_t frame_is_entry;
	uint16_t frame_size; /* bytes one read of a frame takes */

	/* PyObject / PyVarObject / PyBytesObject */
	uint16_t object_type; /* ob_type */
	uint16_t var_size; /* ob_size */
	uint16_t bytes_data; /* ob_sval */

	/* PyCodeObject */
	uint16_t code_firstlineno; /* int */
	uint16_t code_filename; /* str */
	uint16_t code_name; /* str */
	uint16_t code_qualname; /* str */
	uint16_t code_linetable; /* bytes: the location table (PEP 657) */
	uint16_t code_code_adaptive; /* the first _Py_CODEUNIT */
	uint16_t code_size; /* bytes to read to have all of the above */

	/* PyASCIIObject / PyCompactUnicodeObject */
	uint16_t unicode_length; /* Py_ssize_t: characters */
	uint16_t unicode_state; /* uint32_t bit field */
	uint16_t unicode_ascii_data; /* characters of a compact ASCII str */
	uint16_t unicode_compact_data; /* of a compact non-ASCII str */
	uint8_t state_kind_shift; /* kind: 3 bits (1, 2, 4 bytes a char) */
	uint8_t state_compact_bit;
	uint8_t state_ascii_bit;
};

/* The table of a version without debug offsets (3.11, 3.12), or the base
 * table of one with (3.13: what its debug offsets say on x86-64 and
 * aarch64, for when _PyRuntime cannot be read): @version is
 * PY_VERSION_HEX; only major.minor decide. Returns 0 and fills *ret
 * (ret->version = @version), or -ENOTSUP. */
int python_layout__for_version(uint32_t version, struct python_layout *ret);

/*
 * The layout from @len bytes read at the start of _PyRuntime (at least
 * PYTHON_DEBUG_OFFSETS_MAX bytes when the memory is there) of an
 * interpreter of @version: from 3.13 on, the _Py_DebugOffsets the
 * interpreter publishes there (cookie "xdebugpy", its own version, which
 * must match @version's major.minor); before, python_layout__for_version().
 * Fields the debug offsets do not carry come from the version's table.
 * Returns 0, -ENOTSUP (unknown version, a free-threaded build) or -EINVAL
 * (no cookie, a version that disagrees, an offset of 32 KiB or more, fewer
 * bytes than the version's _Py_DebugOffsets).
 */
#define PYTHON_DEBUG_OFFSETS_MAX 1024
int python_layout__from_runtime(uint32_t version, const void *head, size_t len,
				struct python_layout *ret);

#endif
