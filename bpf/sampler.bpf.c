// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel side of tgprof: a CPU-clock perf event per CPU takes stack samples;
 * sched_process_exec/exit tracepoints report exec and thread-group exits.
 * Every record goes through one ring buffer, in order, to receiver/sampler/sampler.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sampler.h"

#define PF_KTHREAD 0x00200000

/* Set by user space before load. */
const volatile bool kernel_stacks = true;
/* Filters: which of the maps below hold anything. */
const volatile bool filter_pids = false;
const volatile bool filter_pids_include = false; /* some pid INCLUDE */
const volatile bool filter_cgroups = false;
const volatile bool filter_cgroups_include = false; /* some cgroup INCLUDE */
const volatile bool filter_dynamic = false; /* excluded may get entries */
const volatile bool include_idle = false;
/* Wake the reader only once this much is waiting; below it the reader
 * finds the records on its periodic poll. 0: wake on every record. */
const volatile __u64 wakeup_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized before load */
} records SEC(".maps");

/* TGID -> enum tgprof_filter_verdict, from the configuration. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TGPROF_MAX_FILTER_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

/* cgroup v2 id -> enum tgprof_filter_verdict; matches the cgroup and
 * everything below it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TGPROF_MAX_FILTER_CGROUPS);
	__type(key, __u64);
	__type(value, __u8);
} cgroup_filter SEC(".maps");

/* Processes user space excluded once it saw them (by name, container or
 * a cgroup created after start): TGID -> leader start time, so a reused
 * PID is not excluded with them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TGPROF_MAX_EXCLUDED);
	__type(key, __u32);
	__type(value, __u64);
} excluded SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TGPROF_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

/* A wakeup is an irq_work, a self-IPI: in a virtual machine a VM exit that
 * cost 8x the rest of the sample (19 us against 2.4 us measured). Batching
 * them is what keeps the per-sample cost low. */
static __always_inline void submit(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(rec, flags);
}

static __always_inline __u64 task_aspace_id(struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	if (!mm)
		return 0;
	return tgprof_aspace_id(BPF_CORE_READ(mm, start_code),
				BPF_CORE_READ(mm, end_code),
				BPF_CORE_READ(mm, start_stack));
}

static __always_inline bool cgroups_excluded(void)
{
	bool included = !filter_cgroups_include;
	__u64 id;
	__u8 *v;
	int i;

	for (i = 0; i < TGPROF_MAX_CGROUP_DEPTH; i++) {
		id = bpf_get_current_ancestor_cgroup_id(i);
		if (!id)
			break;
		v = bpf_map_lookup_elem(&cgroup_filter, &id);
		if (!v)
			continue;
		if (*v == TGPROF_FILTER_EXCLUDE)
			return true;
		included = true;
	}
	return !included;
}

/* Whether the configuration filters @task's process out (pids, cgroups).
 * Called for the current task: samples, and exec/exit, which run in the
 * exec'ing or exiting task. */
static __always_inline bool filtered_static(__u32 tgid)
{
	__u8 *v;

	if (filter_pids) {
		v = bpf_map_lookup_elem(&pid_filter, &tgid);
		if (v ? *v == TGPROF_FILTER_EXCLUDE : filter_pids_include)
			return true;
	}
	return filter_cgroups && cgroups_excluded();
}

/* Whether user space excluded @task's process after it saw it. */
static __always_inline bool excluded_dynamic(struct task_struct *task,
					     __u32 tgid)
{
	__u64 *start;

	if (!filter_dynamic)
		return false;
	start = bpf_map_lookup_elem(&excluded, &tgid);
	return start &&
	       *start == BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline void fill_hdr(struct tgprof_rec_hdr *h, __u32 type,
				     struct task_struct *task)
{
	h->type = type;
	h->tgid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->cpu = bpf_get_smp_processor_id();
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct task_struct *task;
	struct tgprof_sample *s;
	long n;

	count(TGPROF_CNT_SAMPLES);
	if (tid == 0 && !include_idle) {
		count(TGPROF_CNT_SAMPLES_IDLE);
		return 0;
	}
	task = (struct task_struct *)bpf_get_current_task();
	if (filtered_static(tgid) || excluded_dynamic(task, tgid)) {
		count(TGPROF_CNT_SAMPLES_FILTERED);
		return 0;
	}

	s = bpf_ringbuf_reserve(&records, sizeof(*s), 0);
	if (!s) {
		count(TGPROF_CNT_SAMPLES_LOST);
		return 0;
	}
	fill_hdr(&s->hdr, TGPROF_REC_SAMPLE, task);
	BPF_CORE_READ_STR_INTO(&s->pcomm, task, group_leader, comm);
	s->flags = 0;
	s->kstack_len = 0;
	s->ustack_len = 0;
	s->pad = 0;

	if (kernel_stacks) {
		n = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
		if (n >= 0) {
			s->kstack_len = n / sizeof(__u64);
		} else {
			s->flags |= TGPROF_SAMPLE_KSTACK_ERR;
			count(TGPROF_CNT_KSTACK_ERR);
		}
	}

	if (BPF_CORE_READ(task, flags) & PF_KTHREAD) {
		s->flags |= TGPROF_SAMPLE_KTHREAD;
		s->aspace_id = 0;
	} else {
		s->aspace_id = task_aspace_id(task);
		n = bpf_get_stack(ctx, s->ustack, sizeof(s->ustack),
				  BPF_F_USER_STACK);
		if (n >= 0) {
			s->ustack_len = n / sizeof(__u64);
		} else {
			s->flags |= TGPROF_SAMPLE_USTACK_ERR;
			count(TGPROF_CNT_USTACK_ERR);
		}
	}

	submit(s);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct tgprof_exec *e;

	/* A process user space excluded is still reported: its new image
	 * may have a name the filters include. */
	if (filtered_static(BPF_CORE_READ(p, tgid)))
		return 0;
	e = bpf_ringbuf_reserve(&records, sizeof(*e), 0);
	if (!e) {
		count(TGPROF_CNT_EVENTS_LOST);
		return 0;
	}
	fill_hdr(&e->hdr, TGPROF_REC_EXEC, p);
	e->old_tid = old_pid;
	e->pad = 0;
	e->aspace_id = task_aspace_id(p);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid), flags = 0;
	struct tgprof_exit *e;

	/* signal->live was decremented in do_exit() before this tracepoint:
	 * it is 0 only for the last thread of the group. */
	if (BPF_CORE_READ(p, signal, live.counter) == 0)
		flags |= TGPROF_EXIT_GROUP_DEAD;
	if (BPF_CORE_READ(p, pid) == tgid)
		flags |= TGPROF_EXIT_LEADER;
	if (!flags)
		return 0;
	/* A process user space excluded is still reported gone, so its
	 * exclusion can be dropped. */
	if (filtered_static(tgid))
		return 0;

	e = bpf_ringbuf_reserve(&records, sizeof(*e), 0);
	if (!e) {
		count(TGPROF_CNT_EVENTS_LOST);
		return 0;
	}
	fill_hdr(&e->hdr, TGPROF_REC_EXIT, p);
	e->flags = flags;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
