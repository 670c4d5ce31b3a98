/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The CPython walk of bpf/sampler.bpf.c: for a thread of a process user
 * space found running CPython (python_procs, bpf/sampler.h), finds the
 * thread's PyThreadState among its interpreter's threads (thread_id is
 * pthread_self(), which is the thread's FS base on x86-64 with glibc and
 * musl: no PID namespace involved), then records its Python frames,
 * innermost first: the code object, the instruction, and where each
 * _PyEval_EvalFrameDefault activation ends. Names, files and lines are
 * read in user space (receiver/runtimes/python/). A process that is not
 * Python costs one hash lookup. Included by bpf/sampler.bpf.c only. */
#ifndef TGPROF_BPF_PYTHON_H
#define TGPROF_BPF_PYTHON_H

/* Set by user space before load: walk Python frames at all. */
const volatile bool python_frames = false;

/* Elements allocated as user space inserts them: a host without Python
 * pays for the buckets alone. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TGPROF_MAX_PYTHON_PROCS);
	__type(key, __u32);
	__type(value, struct tgprof_python_proc);
} python_procs SEC(".maps");

/* Interpreter and thread-state steps one search takes at most: 64
 * threads, a few interpreters. */
#define PY_MAX_THREAD_STEPS 72
/* How long a CPU takes a process it found missing from python_procs for
 * not Python without looking again: a hash lookup costs a sample as much
 * as its header here. A process user space adds meanwhile gets Python
 * frames up to this much later. */
#define PY_NOT_PYTHON_NS (50 * 1000 * 1000ULL)

/* Bytes of one frame read at once: every field the walk needs. */
#define PY_FRAME_READ TGPROF_PY_FRAME_READ

/* The state of the Python walk, in the per-CPU sample buffer (as struct
 * walk, for the same reason). */
struct py_walk {
	struct tgprof_python_proc pp; /* the process's offsets */
	__u64 interp; /* the next interpreter to search */
	__u64 tstate; /* the next thread state to look at */
	__u64 want; /* the thread's pthread_self() */
	__u64 frame; /* the next frame to record */
	__u32 first; /* where in sample_buf.frames the frames go */
	__u32 n; /* frames recorded */
	__u8 found;
	__u8 err;
	__u8 pad[6];
	/* The last process this CPU found not Python (tgid, start), and
	 * until when that answer holds: its samples skip the lookup. */
	__u32 not_tgid;
	__u32 not_pad;
	__u64 not_start_ns;
	__u64 not_until_ns;
	/* One frame as read, with room for an 8-byte field at any offset
	 * below PY_FRAME_READ. */
	__u8 buf[PY_FRAME_READ + 8];
};

static __always_inline __u64 py_read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

static __always_inline __u64 py_field64(struct py_walk *pw, __u16 off)
{
	__u64 v;

	__builtin_memcpy(&v, &pw->buf[off & (PY_FRAME_READ - 1)], 8);
	return v;
}

/* Provided by bpf/sampler.bpf.c: this CPU's Python walk state, and the
 * sample's frame slots (*ret_frames, TGPROF_SAMPLE_SLOTS of them). */
static __always_inline struct py_walk *py_state(__u64 **ret_frames);
static __always_inline void count_n(__u32 idx, __u64 n);
static __always_inline void count(__u32 idx);

/* One step of the thread-state search: an interpreter's first thread, or
 * one thread state compared and left for the next. */
static long py_thread_step(__u32 i, void *ctx)
{
	struct py_walk *pw;
	__u64 *frames, tid;

	pw = py_state(&frames);
	if (!pw)
		return 1;
	if (!pw->tstate) {
		if (!pw->interp)
			return 1;
		pw->tstate =
			py_read_ptr(pw->interp + pw->pp.interp_threads_head);
		pw->interp = py_read_ptr(pw->interp + pw->pp.interp_next);
		return 0;
	}
	if (bpf_probe_read_user(
		    &tid, sizeof(tid),
		    (void *)(pw->tstate + pw->pp.tstate_thread_id))) {
		pw->err = 1;
		return 1;
	}
	if (tid == pw->want) {
		pw->found = 1;
		return 1;
	}
	pw->tstate = py_read_ptr(pw->tstate + pw->pp.tstate_next);
	return 0;
}

/*
 * One frame: read it, record it (code object, instruction) unless it is
 * a shim the C stack owns or has no code, mark where an activation ends,
 * go to the previous one. Frame @i of the loop is not frame pw->n: the
 * slot is bounded again here.
 */
static long py_frame_step(__u32 i, void *ctx)
{
	__u64 *frames, code, instr, idx;
	struct py_walk *pw;
	__u32 size;
	__u8 owner, entry = 0;

	pw = py_state(&frames);
	if (!pw)
		return 1;
	if (!pw->frame || pw->n >= TGPROF_MAX_PYSTACK)
		return 1;
	size = pw->pp.frame_size;
	if (size > PY_FRAME_READ)
		size = PY_FRAME_READ;
	barrier_var(size);
	if (size < 8 || size > PY_FRAME_READ ||
	    bpf_probe_read_user(pw->buf, size, (void *)pw->frame)) {
		pw->err = 1;
		return 1;
	}
	code = py_field64(pw, pw->pp.frame_code);
	instr = py_field64(pw, pw->pp.frame_instr);
	owner = pw->buf[pw->pp.frame_owner & (PY_FRAME_READ - 1)];
	if (pw->pp.frame_is_entry != TGPROF_PY_NO_FIELD)
		entry = pw->buf[pw->pp.frame_is_entry & (PY_FRAME_READ - 1)];
	pw->frame = py_field64(pw, pw->pp.frame_previous);

	if (owner == pw->pp.owner_cstack) {
		/* 3.12 on: the shim that starts an activation. The frame
		 * recorded before it is the activation's last. */
		idx = pw->first + 2 * (__u64)pw->n - 1;
		if (pw->n && idx < TGPROF_SAMPLE_SLOTS)
			frames[idx] |= TGPROF_PY_ACT_END;
		return 0;
	}
	if (!code)
		return 0;
	idx = pw->first + 2 * (__u64)pw->n;
	if (idx + 1 >= TGPROF_SAMPLE_SLOTS)
		return 1;
	frames[idx] = code;
	frames[idx + 1] = (instr & ~TGPROF_PY_ACT_END) |
			  (entry ? TGPROF_PY_ACT_END : 0);
	pw->n++;
	return 0;
}

/*
 * The Python frames of the current thread, if its process runs CPython,
 * into frame slots from @first on. Returns the frames recorded (0: none,
 * or not Python); sets TGPROF_SAMPLE_PYTHON and friends in s->flags.
 */
static __always_inline __u32 py_walk_thread(struct tgprof_sample *s,
					    struct task_struct *task,
					    __u32 first)
{
	struct tgprof_python_proc *pp;
	struct py_walk *pw;
	__u64 *frames, cframe;
	__u32 tgid = s->hdr.tgid;

	if (!python_frames)
		return 0;
	pw = py_state(&frames);
	if (!pw)
		return 0;
	if (pw->not_tgid == tgid && pw->not_start_ns == s->hdr.start_ns &&
	    s->hdr.ts_ns < pw->not_until_ns)
		return 0;
	pp = bpf_map_lookup_elem(&python_procs, &tgid);
	if (!pp) {
		pw->not_tgid = tgid;
		pw->not_start_ns = s->hdr.start_ns;
		pw->not_until_ns = s->hdr.ts_ns + PY_NOT_PYTHON_NS;
		return 0;
	}
	if (pp->start_ns != s->hdr.start_ns ||
	    (pp->aspace_id && pp->aspace_id != s->aspace_id))
		return 0;
	pw->pp = *pp;
	pw->first = first;
	pw->n = 0;
	pw->found = 0;
	pw->err = 0;
	pw->want = BPF_CORE_READ(task, thread.fsbase);
	pw->tstate = 0;
	pw->interp = py_read_ptr(pp->runtime + pp->runtime_interpreters_head);
	if (!pw->interp) {
		count(TGPROF_CNT_PY_READ_ERR);
		return 0;
	}
	bpf_loop(PY_MAX_THREAD_STEPS, py_thread_step, NULL, 0);
	if (!pw->found) {
		count(pw->err ? TGPROF_CNT_PY_READ_ERR :
				TGPROF_CNT_PY_NO_THREAD);
		return 0;
	}
	if (pw->pp.tstate_cframe != TGPROF_PY_NO_FIELD) {
		cframe = py_read_ptr(pw->tstate + pw->pp.tstate_cframe);
		pw->frame = cframe ? py_read_ptr(cframe +
						 pw->pp.cframe_current_frame) :
				     0;
	} else {
		pw->frame =
			py_read_ptr(pw->tstate + pw->pp.cframe_current_frame);
	}
	bpf_loop(TGPROF_MAX_PYSTACK + 8, py_frame_step, NULL, 0);
	s->flags |= TGPROF_SAMPLE_PYTHON;
	count(TGPROF_CNT_PY_SAMPLES);
	count_n(TGPROF_CNT_PY_FRAMES, pw->n);
	if (pw->err)
		count(TGPROF_CNT_PY_READ_ERR);
	if (pw->frame && !pw->err) {
		s->flags |= TGPROF_SAMPLE_PY_TRUNCATED;
		count(TGPROF_CNT_PY_TRUNCATED);
	}
	return pw->n < TGPROF_MAX_PYSTACK ? pw->n : TGPROF_MAX_PYSTACK;
}

#endif
