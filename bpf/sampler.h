/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records bpf/sampler.bpf.c hands to receiver/sampler/sampler.c through one ring
 * buffer, in the order they happened. Shared by kernel and user space:
 * __u32/__u64 and fixed-size arrays only, no pointers. */
#ifndef TGPROF_BPF_SAMPLER_H
#define TGPROF_BPF_SAMPLER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TGPROF_MAX_STACK_DEPTH \
	127 /* the kernel's default perf_event_max_stack */
#define TGPROF_COMM_LEN 16

enum tgprof_record_type {
	TGPROF_REC_SAMPLE = 1,
	TGPROF_REC_EXEC = 2,
	TGPROF_REC_EXIT = 3,
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
};

struct tgprof_sample {
	struct tgprof_rec_hdr hdr;
	/* Identifies the address space the user stack belongs to: see
	 * tgprof_aspace_id(). 0 for kernel threads. */
	__u64 aspace_id;
	char pcomm[TGPROF_COMM_LEN]; /* the group leader's name */
	__u32 flags;
	__u32 kstack_len; /* frames in kstack, innermost first */
	__u32 ustack_len; /* frames in ustack, innermost first */
	__u32 pad;
	__u64 kstack[TGPROF_MAX_STACK_DEPTH];
	__u64 ustack[TGPROF_MAX_STACK_DEPTH];
};

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
	TGPROF_CNT_SAMPLES_LOST, /* ring buffer full: sample dropped */
	TGPROF_CNT_EVENTS_LOST, /* ring buffer full: exec/exit dropped */
	TGPROF_CNT_KSTACK_ERR,
	TGPROF_CNT_USTACK_ERR,
	TGPROF_CNT_MAX,
};

/* Address-space identity: the mm's code range and stack start, which exec
 * and ASLR change. User space computes it from /proc/PID/task/TID/stat
 * fields startcode, endcode and startstack, the same three values, to tell
 * whether maps it read belong to the address space a sample came from. */
static inline __u64 tgprof_aspace_id(__u64 start_code, __u64 end_code,
				     __u64 start_stack)
{
	return start_code ^ (end_code << 21 | end_code >> 43) ^
	       (start_stack << 42 | start_stack >> 22);
}

#endif
