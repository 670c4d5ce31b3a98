/* SPDX-License-Identifier: Apache-2.0 */
/* CPython processes: finds, from a process's mappings, an interpreter
 * (an executable or libpython3.X.so exporting _PyRuntime and Py_Version,
 * opened inside the process's root), reads its version and, from 3.13,
 * its debug offsets, and puts where its threads and frames are into the
 * sampler's python_procs map (bpf/python.h walks them). A sample's
 * Python frames (code object, instruction) are named through the code
 * cache (code.h) and interleaved with its native frames: each
 * _PyEval_EvalFrameDefault activation becomes the Python frames it runs.
 * In: the process table's news of mappings, samples' Python frames.
 * Out: the python_procs map, struct sym_frame of kind FRAME_CPYTHON. */
#ifndef TGPROF_RECEIVER_PYTHON_H
#define TGPROF_RECEIVER_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/sampler.h"
#include "lib/log.h"
#include "receiver/processes/proctab.h"
#include "receiver/runtimes/python/code.h"
#include "receiver/symbols/symbolizer.h"

/* The native function one activation of the interpreter runs in. */
#define PYTHON_EVAL_FUNCTION "_PyEval_EvalFrameDefault"
/* The mapping Python frames are filed under in a profile. */
#define PYTHON_MAPPING_NAME "[cpython]"

struct python_opts {
	size_t sz; /* sizeof(struct python_opts) */
	const char *proc_root; /* NULL: "/proc" */
	int map_fd; /* the sampler's python_procs map; < 0: none (tests) */
	size_t code_max_bytes; /* 0: PYCODE_DEFAULT_MAX_BYTES */
	/* Reads process memory (NULL: process_vm_readv(2)). */
	py_read_fn read;
	void *read_ctx;
};

struct python_stats {
	uint64_t processes; /* Python processes in the kernel's map now */
	uint64_t detected; /* interpreters found, all time */
	uint64_t unsupported; /* an interpreter of a version not known */
	uint64_t detect_errors; /* file or memory unreadable, no symbols */
	uint64_t files_read; /* interpreter files whose ELF was read */
	uint64_t file_hits; /* ... found read already (dev, inode, mtime) */
	uint64_t map_full; /* the kernel's map was full: not walked */
	uint64_t samples; /* samples with Python frames */
	uint64_t frames; /* Python frames named */
	uint64_t frames_unknown; /* ... of which could not be read */
	/* Activations with no _PyEval_EvalFrameDefault frame to stand in
	 * for (the native walk ended early): put at the outer end. */
	uint64_t frames_outer;
	struct pycode_stats code;
};

/* Returns the Python side (caller frees with python__free()) or NULL +
 * errno. @log: borrowed, must outlive it. */
struct python *python__new(const struct python_opts *opts,
			   const struct tg_logger *log);
/* Accepts NULL. Leaves the kernel's map as it is. */
void python__free(struct python *py);

/* p->maps were just read through thread @tid: finds whether @p runs
 * CPython (once per image) and tells the kernel. */
void python__on_maps(struct python *py, struct proc *p, uint32_t tid);
/* A sample of thread @tid of @p, whose maps match it: when finding the
 * interpreter failed on a read (the thread read through left), tries
 * again through this one, a few times, rate-limited. */
void python__on_sample(struct python *py, struct proc *p, uint32_t tid,
		       uint64_t now_ns);
/* @p's image goes (exec, exit): out of the kernel's map and the cache. */
void python__forget(struct python *py, struct proc *p);

/*
 * Names @n Python frames @pf of a sample of thread @tid of @p (its memory
 * is read through that thread) into out[0..n) (kind
 * FRAME_CPYTHON; strings valid until python__next_epoch()), and
 * act_end[i]: frame i is the outermost of its activation. Returns the
 * frames written (at most @max); 0 when @p is not a known Python process.
 */
size_t python__frames(struct python *py, const struct proc *p, uint32_t tid,
		      const struct tgprof_py_frame *pf, uint32_t n,
		      struct sym_frame *out, bool *act_end, size_t max);

/* Counts @n Python frames put on the outer end of a stack. */
void python__count_outer(struct python *py, size_t n);

/* Ends a sample: strings handed out before may go. */
void python__next_epoch(struct python *py);

void python__stats(const struct python *py, struct python_stats *ret);

/* Whether native frame @f is an interpreter activation. */
bool python__is_eval(const struct sym_frame *f);

/* One frame of a merged stack: native frame or Python frame @index. */
struct py_merge {
	bool python;
	uint32_t index;
};

/*
 * Merges native frames (innermost first; is_eval[i]: an activation of the
 * interpreter) with Python frames (innermost first; act_end[j]: the
 * outermost of its activation): every activation frame is replaced by
 * the Python frames of the next activation, in order; Python frames left
 * when the native frames end go on the outer end; activations beyond the
 * Python frames stay native. Writes at most @max entries to @out and
 * returns how many. *ret_outer: Python frames put on the outer end.
 * Pure.
 */
size_t python__interleave(const bool *is_eval, size_t nnative,
			  const bool *act_end, size_t npy, struct py_merge *out,
			  size_t max, size_t *ret_outer);

#endif
