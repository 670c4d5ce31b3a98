/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Records bpf/sampler.bpf.c hands to receiver/sampler/sampler.c: samples
 * through one ring buffer, exec and exit events through another, each
 * stamped with the time it happened. Shared by kernel and user space:
 * __u32/__u64 and fixed-size arrays only, no pointers. */
#ifndef TGPROF_BPF_SAMPLER_H
#define TGPROF_BPF_SAMPLER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "unwind.h"

/* Kernel frames per sample: the kernel's default perf_event_max_stack. */
#define TGPROF_MAX_KSTACK 127
/* User frames the kernel's walk records (frame pointers: 127, as
 * bpf_get_stack() gave them). A walk finished in user space may add more,
 * up to the same bound. */
#define TGPROF_MAX_USTACK 256
/* The most user stack one sample carries for user space to finish its
 * walk (the receiver's stack_copy_size is at most this). */
#define TGPROF_MAX_STACK_COPY (16u << 10)
#define TGPROF_COMM_LEN 16
/* Python frames one sample carries (bpf/python.h). */
#define TGPROF_MAX_PYSTACK 128

enum tgprof_record_type {
	TGPROF_REC_SAMPLE = 1,
	TGPROF_REC_EXEC = 2,
	TGPROF_REC_EXIT = 3,
	/* An off-CPU sample: a struct tgprof_sample taken when the thread
	 * blocked, sent when it ran again (hdr.ts_ns), off_cpu_ns later. */
	TGPROF_REC_OFFCPU = 4,
};

/* Common to every record. Times are CLOCK_BOOTTIME nanoseconds. */
struct tgprof_rec_hdr {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u32 cpu;
	__u64 ts_ns;
	/* The thread-group leader's start_boottime: with tgid, the identity
	 * of a process that survives exec and never matches a reused PID. */
	__u64 start_ns;
	char comm[TGPROF_COMM_LEN]; /* the thread's name */
};

enum tgprof_sample_flags {
	TGPROF_SAMPLE_KTHREAD = 1 << 0, /* kernel thread: no user stack */
	TGPROF_SAMPLE_USTACK_ERR = 1 << 1,
	TGPROF_SAMPLE_KSTACK_ERR = 1 << 2,
	/* The user stack was walked with the unwind tables: unwind_stop says
	 * why it ended. Without it, frame pointers alone. */
	TGPROF_SAMPLE_TABLES = 1 << 3,
	/* The walk stopped where user space can go on: regs_* are the
	 * registers of the last frame in the record and stack_len bytes of
	 * stack from regs_sp follow the frames. */
	TGPROF_SAMPLE_STACK_COPY = 1 << 4,
	/* regs_ip is where the thread was (the innermost frame, or one a
	 * signal interrupted), not a return address. */
	TGPROF_SAMPLE_IP_EXACT = 1 << 5,
	/* The thread runs CPython: py_len Python frames follow the native
	 * ones (struct tgprof_py_frame). */
	TGPROF_SAMPLE_PYTHON = 1 << 6,
	/* More Python frames than TGPROF_MAX_PYSTACK: the outer ones are
	 * missing. */
	TGPROF_SAMPLE_PY_TRUNCATED = 1 << 7,
	/* An off-CPU wait whose switch back in was not seen, its end placed
	 * from the scheduler's statistics: no kernel frames. */
	TGPROF_SAMPLE_OFFCPU_LATE = 1 << 8,
};

/* Set in tgprof_py_frame.instr (instructions are 2-byte aligned): the
 * last (outermost) frame one _PyEval_EvalFrameDefault activation runs. */
#define TGPROF_PY_ACT_END 1ULL

/* One Python frame, innermost first: the code object's address and the
 * frame's instruction pointer (prev_instr, or instr_ptr from 3.13), in
 * the process's address space, TGPROF_PY_ACT_END or'ed in. */
struct tgprof_py_frame {
	__u64 code;
	__u64 instr;
};

/*
 * A stack sample. Variable length: after the struct come kstack_len kernel
 * frames, then ustack_len user frames (__u64 each, innermost first), then
 * py_len Python frames (struct tgprof_py_frame, innermost first), then
 * stack_len bytes of user stack, so a record is only as long as its
 * stacks.
 */
struct tgprof_sample {
	struct tgprof_rec_hdr hdr;
	/* Identifies the address space the user stack belongs to: see
	 * tgprof_aspace_id(). 0 for kernel threads. */
	__u64 aspace_id;
	char pcomm[TGPROF_COMM_LEN]; /* the group leader's name */
	__u32 flags;
	__u16 kstack_len; /* <= TGPROF_MAX_KSTACK */
	__u16 ustack_len; /* <= TGPROF_MAX_USTACK */
	__u32 unwind_stop; /* enum unwind_stop (bpf/unwind.h), with TABLES */
	__u32 stack_len; /* <= TGPROF_MAX_STACK_COPY, with STACK_COPY */
	__u16 py_len; /* <= TGPROF_MAX_PYSTACK, with PYTHON */
	__u16 pad16;
	__u32 pad32;
	__u64 regs_ip;
	__u64 regs_sp;
	__u64 regs_bp;
	/* TGPROF_REC_OFFCPU: nanoseconds from the switch out to the switch
	 * back in, x 100 / offcpu_percent (the waits not walked). 0 in CPU
	 * samples. */
	__u64 off_cpu_ns;
};

/* Frame slots an off-CPU sample keeps while its thread waits: its user
 * and Python frames (the kernel stack is read when the wait ends, and
 * only for waits that long), no stack copy (the walk stops where a table
 * is missing; the process's tables are loaded as its samples arrive). */
#define TGPROF_OFFCPU_SLOTS (TGPROF_MAX_USTACK + 2 * TGPROF_MAX_PYSTACK)

/* Default and bounds of the off-CPU keys (receiver/plugin/config.c). */
#define TGPROF_OFFCPU_MAX_THREADS (1u << 20)

/* A successful exec: hdr.tid is the thread that now leads the group (after
 * an exec from a non-leader thread it has taken over the TGID). */
struct tgprof_exec {
	struct tgprof_rec_hdr hdr;
	__u32 old_tid;
	__u32 pad;
	__u64 aspace_id; /* of the new image */
};

enum tgprof_exit_flags {
	TGPROF_EXIT_GROUP_DEAD = 1 << 0, /* last thread of the group */
	TGPROF_EXIT_LEADER = 1 << 1, /* the task with tid == tgid */
};

/* Emitted when the leader exits or the whole group is gone (never for
 * other threads). A leader exit without GROUP_DEAD is pthread_exit(). */
struct tgprof_exit {
	struct tgprof_rec_hdr hdr;
	__u32 flags;
	__u32 exit_code;
};

/* Values of the pid_filter and cgroup_filter maps. */
enum tgprof_filter_verdict {
	TGPROF_FILTER_INCLUDE = 1,
	TGPROF_FILTER_EXCLUDE = 2,
};

#define TGPROF_MAX_FILTER_PIDS 4096
#define TGPROF_MAX_FILTER_CGROUPS 1024
#define TGPROF_MAX_CGROUP_DEPTH 16 /* ancestors looked at per sample */
#define TGPROF_MAX_EXCLUDED 65536 /* processes user space excluded */

/* Per-CPU counters, summed by user space. */
enum tgprof_counter {
	TGPROF_CNT_SAMPLES = 0, /* perf events that fired */
	TGPROF_CNT_SAMPLES_IDLE, /* skipped: the CPU was idle */
	TGPROF_CNT_SAMPLES_FILTERED, /* skipped: excluded by a filter */
	TGPROF_CNT_SAMPLES_LOST, /* sample ring full: sample dropped */
	TGPROF_CNT_EVENTS_LOST, /* events ring full: exec/exit dropped */
	TGPROF_CNT_KSTACK_ERR,
	TGPROF_CNT_USTACK_ERR,
	/* The table walk (unwinder eh_frame). */
	TGPROF_CNT_FRAMES_TABLE, /* frames unwound with a table row */
	TGPROF_CNT_FRAMES_FP, /* frames unwound with the frame pointer: no
				 table covers the address */
	TGPROF_CNT_STACK_COPIES, /* samples that carry stack for user space */
	TGPROF_CNT_STACK_COPY_ERR, /* the stack could not be read */
	/* Not copied: the ring buffer was over half full (the walk stops
	 * where the copy would have taken over). */
	TGPROF_CNT_STACK_COPY_SKIPPED,
	/* Why walks ended, one counter per enum unwind_stop value. */
	TGPROF_CNT_STOP_BASE,
	/* The CPython walk (bpf/python.h): samples of a Python thread, the
	 * frames they carry, walks a read of the interpreter's memory
	 * stopped, Python stacks cut at TGPROF_MAX_PYSTACK, and samples of a
	 * Python process whose thread has no thread state (not running
	 * Python, or more threads than the walk looks at). */
	TGPROF_CNT_PY_SAMPLES = TGPROF_CNT_STOP_BASE + UNWIND_STOP_MAX,
	TGPROF_CNT_PY_FRAMES,
	TGPROF_CNT_PY_READ_ERR,
	TGPROF_CNT_PY_TRUNCATED,
	TGPROF_CNT_PY_NO_THREAD,
	/* Off-CPU (tp_btf/sched_switch): every blocking switch out of a
	 * thread the filters keep is SEEN, then either SAMPLED_OUT (the
	 * probability), NO_ROOM (the parked-thread map full), or parked;
	 * a parked one ends, at its switch back in, SHORT (below the
	 * minimum), EMITTED, or LOST (sample ring full), or REPLACED. */
	TGPROF_CNT_OFFCPU_SEEN,
	TGPROF_CNT_OFFCPU_SAMPLED_OUT,
	TGPROF_CNT_OFFCPU_NO_ROOM,
	TGPROF_CNT_OFFCPU_SHORT,
	TGPROF_CNT_OFFCPU_EMITTED,
	TGPROF_CNT_OFFCPU_LOST,
	/* A parked record whose switch back in was not seen, and whose end
	 * could not be placed (the thread ran more than once since, or the
	 * kernel keeps no sched_info): lost. */
	TGPROF_CNT_OFFCPU_REPLACED,
	/* Not an end: parked records whose switch back in was not seen,
	 * placed from the scheduler's statistics, then SHORT, EMITTED or
	 * LOST like the others. */
	TGPROF_CNT_OFFCPU_LATE,
	TGPROF_CNT_MAX,
};

/*
 * python_procs: TGID -> where the process's interpreter keeps its threads
 * and frames (receiver/runtimes/python/python.c writes it from the
 * layout, receiver/runtimes/python/versions.h). start_ns and aspace_id
 * must match the sampled task: a reused PID or an exec not yet handled
 * is not walked.
 */
#define TGPROF_MAX_PYTHON_PROCS 4096
#define TGPROF_PY_NO_FIELD 0xffff
/* Bytes of a frame the walk reads: every frame field it uses (8 bytes
 * each) lies below it. */
#define TGPROF_PY_FRAME_READ 128

struct tgprof_python_proc {
	__u64 start_ns;
	__u64 aspace_id;
	__u64 runtime; /* address of _PyRuntime */
	__u16 runtime_interpreters_head;
	__u16 interp_next;
	__u16 interp_threads_head;
	__u16 tstate_next;
	__u16 tstate_thread_id;
	__u16 tstate_cframe; /* TGPROF_PY_NO_FIELD: 3.13 on */
	__u16 cframe_current_frame;
	__u16 frame_code;
	__u16 frame_previous;
	__u16 frame_instr;
	__u16 frame_owner;
	__u16 frame_is_entry; /* TGPROF_PY_NO_FIELD: 3.12 on */
	__u16 frame_size;
	__u8 owner_cstack;
	__u8 pad[5];
};

/* Address-space identity: the mm's code range and stack start, which exec
 * and ASLR change. User space computes it from /proc/PID/task/TID/stat
 * fields startcode, endcode and startstack, the same three values, to tell
 * whether maps it read belong to the address space a sample came from.
 * 0: none to compare, as while execve() is still loading the new image
 * (its code range not set yet), so a sample taken then is not taken for
 * an image of its own. */
static inline __u64 tgprof_aspace_id(__u64 start_code, __u64 end_code,
				     __u64 start_stack)
{
	if (!start_code)
		return 0;
	return start_code ^ (end_code << 21 | end_code >> 43) ^
	       (start_stack << 42 | start_stack >> 22);
}

#endif
