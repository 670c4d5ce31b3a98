// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Kernel side of tgprof: a CPU-clock perf event per CPU takes stack samples
 * (user stacks walked with the unwind tables of bpf/unwind_maps.h, or with
 * frame pointers); sched_process_exec/exit tracepoints report exec and
 * thread-group exits. Samples go through the ring buffer `records`,
 * process events through their own small ring `events`, so a burst of
 * samples never costs an exec or an exit; receiver/sampler/sampler.c reads
 * both and hands them on in time order. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sampler.h"
#include "unwind_maps.h"

#define PF_KTHREAD 0x00200000
#define EEXIST 17 /* errno-base.h: what BPF_NOEXIST finds */

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
/* The same for the events ring: a fork storm wakes the reader once per
 * this many bytes of events, not once per event; a lone event waits for
 * the reader's periodic poll (its timeout, 100 ms in the plugin). */
const volatile __u64 events_wakeup_bytes = 0;
/* Walk user stacks with the unwind tables (else frame pointers only). */
const volatile bool unwind_tables = false;
/* Stack bytes a sample carries when its walk stops at code whose table is
 * not loaded yet (0: none). At most TGPROF_MAX_STACK_COPY. */
const volatile __u32 stack_copy_bytes = 0;
/* Off-CPU (handle_switch, loaded only when user space enables it): the
 * shortest wait sent, and the percentage of blocking switches sampled. */
const volatile __u64 offcpu_min_ns = 1000000;
const volatile __u32 offcpu_percent = 100;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized before load */
} records SEC(".maps");

/* Exec and exit events only (72 and 64 bytes with the ring's header):
 * sized by user space before load, small. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10); /* resized before load */
} events SEC(".maps");

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

/* An off-CPU sample while its thread waits: the record as it will be
 * sent, its stacks walked when the thread blocked, then when it blocked
 * in the scheduler's terms (its run queue's clock, and how many times the
 * thread had arrived on a CPU: sched_info.pcount), which places the
 * wait's end if its switch back in is not seen. */
struct offcpu_parked {
	struct tgprof_sample s;
	__u64 frames[TGPROF_OFFCPU_SLOTS];
	__u64 rq_clock;
	__u64 arrivals;
};

/* Waiting threads' samples: tid -> struct offcpu_parked. Sized by user
 * space before load (off_cpu_threads); elements allocated as threads
 * block, freed when they run again. A thread always runs again before it
 * exits (do_exit() runs in the thread): its entry goes at that switch in,
 * or, if the program did not see it, at the thread's next switch out or
 * its last one, so no entry outlives its thread; threads that block for
 * good hold theirs, which the bound caps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_parked);
} offcpu_parked SEC(".maps");

/* The unwind tables (bpf/unwind_maps.h). Sized by user space before load;
 * no element exists until user space inserts it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct unwind_chunk_key);
	__type(value, struct unwind_chunk);
} unwind_chunks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, struct unwind_chunk_key);
	__type(value, struct unwind_group);
} unwind_groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_file);
} unwind_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_proc_small);
} unwind_procs_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_proc_large);
} unwind_procs_large SEC(".maps");

/* ---- the table walk ----------------------------------------------------- */

#define WALK_GOING 0xff /* walk.stop while the walk goes on */
#define PROC_NONE 0
#define PROC_SMALL 1
#define PROC_LARGE 2
#define PROC_FP_ONLY 3
/* Bytes of stack one frame-pointer read brings in (a power of two). */
#define FP_WIN 512

/*
 * The state of one walk, in the per-CPU sample buffer rather than on the
 * stack: the verifier knows nothing of a map value's contents, so it checks
 * a bpf_loop step once for any state instead of once for every shape the
 * state takes from one step to the next (which cost it 500,000 steps and
 * a second and a half at every start).
 */
struct walk {
	__u64 ip; /* the frame being unwound (recorded) */
	__u64 sp;
	__u64 bp;
	__u32 tgid;
	__u32 klen; /* kernel frames before the user ones */
	__u32 n; /* user frames recorded */
	__u32 stop; /* enum unwind_stop, or WALK_GOING */
	__u32 frames_table;
	__u32 frames_fp;
	__u8 exact; /* ip is not a return address */
	__u8 proc; /* PROC_*: which map holds the process's ranges */
	__u8 copy; /* the stop is one user space can walk on from */
	/* The range and the row the last frames used: a frame in the same
	 * code (recursion, a loop of calls) needs no lookup at all. An
	 * empty span (len 0) matches nothing. */
	__u64 rc_start, rc_len, rc_base;
	__u32 rc_file;
	__u32 row_file;
	__u64 row_lo, row_len; /* table pcs the cached row holds */
	struct unwind_row row;
	__u32 fc_file; /* the last file entry read, and its extent */
	__u64 fc_extent;
	/* User stack read at once from a frame pointer on, up to its page's
	 * end: the frames above it are then read from here, with one
	 * bpf_probe_read_user() for several. Not cleared between samples:
	 * win_len 0 says it holds nothing. */
	__u64 win_lo;
	__u32 win_len;
	__u32 win_pad;
	__u8 win[FP_WIN];
};

/* Frame slots of a sample: native frames, Python frames (two slots
 * each), the stack copy and a page more (which the verifier needs to
 * bound a page-wise read). */
#define TGPROF_NATIVE_SLOTS (TGPROF_MAX_KSTACK + TGPROF_MAX_USTACK)
#define TGPROF_SAMPLE_SLOTS                             \
	(TGPROF_NATIVE_SLOTS + 2 * TGPROF_MAX_PYSTACK + \
	 (TGPROF_MAX_STACK_COPY + 4096) / 8)

#include "python.h"

/* Where a sample is built before it is copied into the ring buffer at its
 * own length: the header, the frames, and room for the stack copy; and
 * the walks' state. */
struct sample_buf {
	struct walk w;
	struct py_walk pw;
	struct tgprof_sample s;
	__u64 frames[TGPROF_SAMPLE_SLOTS];
};

/* An off-CPU record is parked from the sample buffer, in place. */
_Static_assert(sizeof(struct tgprof_sample) +
			       TGPROF_SAMPLE_SLOTS * sizeof(__u64) >=
		       sizeof(struct offcpu_parked),
	       "the sample buffer holds a parked off-CPU record");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_buf);
} sample_bufs SEC(".maps");

static __always_inline struct py_walk *py_state(__u64 **ret_frames)
{
	__u32 zero = 0;
	struct sample_buf *b = bpf_map_lookup_elem(&sample_bufs, &zero);

	if (!b)
		return NULL;
	*ret_frames = b->frames;
	return &b->pw;
}

static __always_inline void count_n(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n;
}

static __always_inline void count(__u32 idx)
{
	count_n(idx, 1);
}

/* A wakeup is an irq_work, a self-IPI: in a virtual machine a VM exit that
 * cost 8x the rest of the sample (19 us against 2.4 us measured). Batching
 * them is what keeps the per-sample cost low. */
static __always_inline __u64 wakeup_flags(__u64 adding)
{
	if (bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) + adding >=
	    wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* Events are submitted after they are written: what is waiting already
 * includes this one. */
static __always_inline void submit_event(void *rec)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >=
	    events_wakeup_bytes)
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

/* fill_hdr() for the current task, through its BTF pointer: plain loads
 * instead of a bpf_probe_read_kernel() call for every field. */
static __always_inline void fill_sample_hdr(struct tgprof_sample *s,
					    struct task_struct *t, __u32 type)
{
	struct task_struct *leader = t->group_leader;

	s->hdr.type = type;
	s->hdr.tgid = t->tgid;
	s->hdr.tid = t->pid;
	s->hdr.cpu = bpf_get_smp_processor_id();
	s->hdr.ts_ns = bpf_ktime_get_boot_ns();
	s->hdr.start_ns = leader->start_boottime;
	bpf_get_current_comm(&s->hdr.comm, sizeof(s->hdr.comm));
	/* comm is NUL-padded (strscpy_pad): the same bytes as a string
	 * read, in one copy. */
	bpf_probe_read_kernel(&s->pcomm, sizeof(s->pcomm), leader->comm);
}

/* task_aspace_id() of the current task, through its BTF pointer. */
static __always_inline __u64 current_aspace_id(struct task_struct *t)
{
	struct mm_struct *mm = t->mm;

	if (!mm)
		return 0;
	return tgprof_aspace_id(mm->start_code, mm->end_code, mm->start_stack);
}

/*
 * Binary searches without branches on the data: each halving adds the
 * half to the base through a mask when the probed key is at or below the
 * target, so every search takes the same path and the verifier checks it
 * once instead of once per outcome (which multiplies past its limit).
 * Keys and targets are below 2^63 (user addresses, table pcs), so the sign
 * of target - key says which side the target is on.
 */
static __always_inline __u64 le_mask(__u64 key, __u64 target)
{
	return ((target - key) >> 63) - 1; /* all ones when key <= target */
}

/* The range of @r[0..n) holding @addr (sorted by start), or NULL. */
static __always_inline const struct unwind_range *
find_range(const struct unwind_range *r, __u32 n, __u32 cap, __u64 addr)
{
	const struct unwind_range *e;
	__u64 base = 0, len = n < cap ? n : cap, half;
	int i;

	if (!len)
		return NULL;
	/* 8 halvings reduce UNWIND_PROC_LARGE ranges to one. */
	for (i = 0; i < 8; i++) {
		half = len >> 1;
		if (base + half >= cap)
			return NULL;
		base += half & le_mask(r[base + half].start, addr);
		len -= half;
	}
	if (base >= cap)
		return NULL;
	e = &r[base];
	return addr >= e->start && addr - e->start < e->len ? e : NULL;
}

static __always_inline const struct unwind_range *proc_range(struct walk *w,
							     __u64 addr)
{
	if (w->proc == PROC_SMALL) {
		struct unwind_proc_small *p =
			bpf_map_lookup_elem(&unwind_procs_small, &w->tgid);

		return p ? find_range(p->r, p->hdr.n, UNWIND_PROC_SMALL, addr) :
			   NULL;
	}
	if (w->proc == PROC_LARGE) {
		struct unwind_proc_large *p =
			bpf_map_lookup_elem(&unwind_procs_large, &w->tgid);

		return p ? find_range(p->r, p->hdr.n, UNWIND_PROC_LARGE, addr) :
			   NULL;
	}
	return NULL;
}

/*
 * The row of @file_id in force at table pc @pc (below the file's extent):
 * the page index says which chunk holds the page's rows and from which
 * slot; a binary search of that chunk from there finds it. 0, or -1 when
 * an element is missing (evicted meanwhile).
 */
static __always_inline int find_row(__u32 file_id, __u64 pc,
				    struct unwind_row *ret, __u64 *ret_end)
{
	struct unwind_chunk_key k = { .file_id = file_id };
	__u64 page = pc >> UNWIND_PAGE_SHIFT, base, len, half;
	struct unwind_chunk *c;
	__u32 entry;
	struct unwind_group *g;
	__u64 slot; /* 64-bit: the bounded register is the one used */
	int i;

	k.index = page / UNWIND_GROUP_PAGES;
	slot = page % UNWIND_GROUP_PAGES;
	/* The verifier does not bound a remainder: check it where the
	 * compiler cannot drop the check. */
	barrier_var(slot);
	g = bpf_map_lookup_elem(&unwind_groups, &k);
	if (!g || slot >= UNWIND_GROUP_PAGES)
		return -1;
	entry = g->page[slot];
	k.index = entry >> UNWIND_SLOT_BITS;
	c = bpf_map_lookup_elem(&unwind_chunks, &k);
	if (!c)
		return -1;
	/* The last row at or below pc, from the page's first row (which is
	 * at or below it) to the chunk's end: 9 halvings cover a chunk. */
	base = entry & ((1u << UNWIND_SLOT_BITS) - 1);
	if (base >= UNWIND_CHUNK_ROWS)
		return -1;
	len = UNWIND_CHUNK_ROWS - base;
	for (i = 0; i < 9; i++) {
		half = len >> 1;
		if (base + half >= UNWIND_CHUNK_ROWS)
			return -1;
		base += half & le_mask(c->rows[base + half].pc, pc);
		len -= half;
	}
	if (base >= UNWIND_CHUNK_ROWS)
		return -1;
	*ret = c->rows[base];
	/* The row holds up to the next one; after a chunk's last row, to
	 * the end of the page at least. */
	*ret_end = (page + 1) << UNWIND_PAGE_SHIFT;
	base++;
	barrier_var(base);
	if (base < UNWIND_CHUNK_ROWS && c->rows[base].pc != UNWIND_ROW_UNUSED)
		*ret_end = c->rows[base].pc;
	return 0;
}

static __always_inline long walk_stop(struct walk *w, __u32 why)
{
	w->stop = why;
	return 1;
}

/* Unwinds one frame with the frame pointer: the caller's RBP and the
 * return address are at RBP and RBP + 8. */
static __always_inline long fp_step(struct walk *w)
{
	__u64 frame[2], off = w->bp - w->win_lo, len;

	if (!w->bp)
		return walk_stop(w, UNWIND_STOP_FP_END);
	if (w->bp + 16 <= w->sp)
		return walk_stop(w, UNWIND_STOP_BAD_FRAME);
	if (off >= w->win_len || w->win_len - off < sizeof(frame)) {
		/* Up to the end of the frame's page, which is mapped or
		 * not as a whole; a frame across the end, on its own. */
		len = 4096 - (w->bp & 4095);
		if (len > FP_WIN)
			len = FP_WIN;
		if (len < sizeof(frame))
			len = sizeof(frame);
		barrier_var(len);
		if (len > FP_WIN)
			return walk_stop(w, UNWIND_STOP_READ_FAULT);
		w->win_len = 0;
		if (bpf_probe_read_user(w->win, len, (void *)w->bp))
			return walk_stop(w, UNWIND_STOP_READ_FAULT);
		w->win_lo = w->bp;
		w->win_len = len;
		off = 0;
	}
	barrier_var(off);
	if (off > FP_WIN - sizeof(frame))
		return walk_stop(w, UNWIND_STOP_READ_FAULT);
	__builtin_memcpy(frame, &w->win[off], sizeof(frame));
	/* A zero return address is the outermost frame (row_step). */
	if (!frame[1])
		return walk_stop(w, UNWIND_STOP_END);
	w->sp = w->bp + 16;
	w->bp = frame[0];
	w->ip = frame[1];
	w->exact = 0;
	w->frames_fp++;
	return 0;
}

/* __restore_rt: the interrupted registers are in the ucontext at RSP. */
static __always_inline long signal_step(struct walk *w)
{
	/* RBP at +0, RSP at +40, RIP at +48 (struct sigcontext). */
	__u64 regs[7];

	if (bpf_probe_read_user(regs, sizeof(regs),
				(void *)(w->sp + UNWIND_SIGCONTEXT_RBP)))
		return walk_stop(w, UNWIND_STOP_READ_FAULT);
	if (!regs[6])
		return walk_stop(w, UNWIND_STOP_BAD_FRAME);
	w->bp = regs[0];
	w->sp = regs[5];
	w->ip = regs[6];
	w->exact = 1;
	w->frames_table++;
	return 0;
}

static __always_inline long row_step(struct walk *w,
				     const struct unwind_row *row)
{
	__u64 cfa, ra, bp = w->bp, pair[2];

	switch (row->cfa_type) {
	case UNWIND_CFA_RSP:
		cfa = w->sp + row->cfa_offset;
		break;
	case UNWIND_CFA_RBP:
		cfa = w->bp + row->cfa_offset;
		break;
	case UNWIND_CFA_PLT:
		cfa = w->sp + row->cfa_offset;
		if ((w->ip & 15) >= (__u64)row->rbp_offset)
			cfa += 8;
		break;
	case UNWIND_CFA_SIGNAL:
		return signal_step(w);
	case UNWIND_CFA_END:
		return walk_stop(w, UNWIND_STOP_END);
	case UNWIND_CFA_NONE:
		return fp_step(w);
	default:
		return walk_stop(w, UNWIND_STOP_UNSUPPORTED);
	}
	/* The caller's frame is above this one. */
	if (cfa <= w->sp)
		return walk_stop(w, UNWIND_STOP_BAD_FRAME);
	/* A PLT row's rbp_offset is its threshold, not a save slot. Most
	 * frames saved RBP right below the return address: one read. */
	if (row->rbp_type == UNWIND_RBP_AT_CFA &&
	    row->cfa_type != UNWIND_CFA_PLT && row->rbp_offset == -16) {
		if (bpf_probe_read_user(pair, sizeof(pair), (void *)(cfa - 16)))
			return walk_stop(w, UNWIND_STOP_READ_FAULT);
		bp = pair[0];
		ra = pair[1];
	} else {
		if (bpf_probe_read_user(&ra, sizeof(ra), (void *)(cfa - 8)))
			return walk_stop(w, UNWIND_STOP_READ_FAULT);
		if (row->rbp_type == UNWIND_RBP_AT_CFA &&
		    row->cfa_type != UNWIND_CFA_PLT &&
		    bpf_probe_read_user(&bp, sizeof(bp),
					(void *)(cfa + row->rbp_offset)))
			return walk_stop(w, UNWIND_STOP_READ_FAULT);
	}
	/* A zero return address is the outermost frame, as libgcc's
	 * unwinder takes it: Go's goroutines end so at runtime.goexit, whose
	 * CFI says the return address is on the stack, where it is 0. */
	if (!ra)
		return walk_stop(w, UNWIND_STOP_END);
	w->ip = ra;
	w->sp = cfa;
	w->bp = bp;
	w->exact = 0;
	w->frames_table++;
	return 0;
}

/*
 * One frame: record it, find how its caller is found, go there. Frame @i
 * goes to slot klen + i: the index comes from bpf_loop, which the verifier
 * sees as any value, so it checks this step once rather than once per
 * frame count (which a counter in the walk state would make it do).
 */
static long walk_step(__u32 i, void *ctx)
{
	const struct unwind_range *r;
	struct unwind_file *f;
	struct sample_buf *b;
	struct unwind_row row;
	__u32 zero = 0, idx, file_id;
	struct walk *w;
	__u64 pc, end;

	b = bpf_map_lookup_elem(&sample_bufs, &zero);
	if (!b)
		return 1;
	w = &b->w;
	if (i >= TGPROF_MAX_USTACK)
		return walk_stop(w, UNWIND_STOP_DEPTH);
	idx = w->klen + i;
	if (idx >= TGPROF_MAX_KSTACK + TGPROF_MAX_USTACK)
		return walk_stop(w, UNWIND_STOP_DEPTH);
	b->frames[idx] = w->ip;
	w->n = i + 1;

	/* No ranges for this process yet (first samples, an exec not yet
	 * seen): user space walks on from here once it has the tables. */
	if (w->proc == PROC_NONE) {
		w->copy = 1;
		return walk_stop(w, UNWIND_STOP_NO_MAPPING);
	}
	if (w->proc == PROC_FP_ONLY)
		return fp_step(w);
	/* A return address may be one past a call that ends its function. */
	pc = w->exact ? w->ip : w->ip - 1;
	if (pc - w->rc_start >= w->rc_len) {
		/* Outside every executable mapping: a mapping created since
		 * user space read them (dlopen, JIT), or a bad return
		 * address. */
		r = proc_range(w, pc);
		if (!r) {
			w->copy = 1;
			return walk_stop(w, UNWIND_STOP_NO_MAPPING);
		}
		w->rc_start = r->start;
		w->rc_len = r->len;
		w->rc_base = r->base;
		w->rc_file = r->file_id;
	}
	/* Executable, but no table: anonymous (JIT) code, or a file
	 * without CFI. */
	file_id = w->rc_file;
	if (!file_id)
		return fp_step(w);
	pc -= w->rc_base;
	if (file_id == w->row_file && pc - w->row_lo < w->row_len)
		return row_step(w, &w->row);
	if (file_id != w->fc_file) {
		f = bpf_map_lookup_elem(&unwind_files, &file_id);
		if (!f) {
			w->copy = 1;
			return walk_stop(w, UNWIND_STOP_NO_TABLE);
		}
		w->fc_file = file_id;
		w->fc_extent = f->extent; /* 0 unless the table is loaded */
	}
	if (pc >= w->fc_extent || find_row(file_id, pc, &row, &end))
		return fp_step(w);
	w->row = row;
	w->row_file = file_id;
	w->row_lo = row.pc;
	w->row_len = end - row.pc;
	return row_step(w, &row);
}

/*
 * Copies up to stack_copy_bytes of user stack from @sp behind the frames,
 * a page at a time so a stack that ends sooner gives what it has. Returns
 * the bytes copied.
 */
static __always_inline __u32 copy_stack(struct sample_buf *b, __u32 nframes,
					__u64 sp)
{
	/* 64-bit, so the compiler bounds-checks the register it passes. */
	__u64 want = stack_copy_bytes, done = 0, chunk;
	__u8 *dst;
	int i;

	if (want > TGPROF_MAX_STACK_COPY)
		want = TGPROF_MAX_STACK_COPY;
	if (nframes > TGPROF_NATIVE_SLOTS + 2 * TGPROF_MAX_PYSTACK)
		return 0;
	dst = (__u8 *)&b->frames[nframes];
	for (i = 0; i < TGPROF_MAX_STACK_COPY / 4096 + 1; i++) {
		if (done >= want || done >= TGPROF_MAX_STACK_COPY)
			break;
		chunk = 4096 - ((sp + done) & 4095);
		if (chunk > want - done)
			chunk = want - done;
		/* The verifier cannot relate chunk to done: bound it again
		 * where the compiler cannot drop the check. */
		barrier_var(chunk);
		if (chunk > 4096)
			break;
		if (bpf_probe_read_user(dst + done, chunk, (void *)(sp + done)))
			break;
		done += chunk;
	}
	return done;
}

/* Whether ranges written for (start_ns, aspace_id) are this process's:
 * a reused PID has another start, an exec not yet handled another
 * address space. */
static __always_inline bool proc_matches(const struct unwind_proc_hdr *h,
					 __u64 start_ns, __u64 aspace_id)
{
	return h->start_ns == start_ns &&
	       (!h->aspace_id || h->aspace_id == aspace_id);
}

/* Which map holds @tgid's ranges (PROC_*), if they are this image's. */
static __always_inline __u8 find_proc(__u32 tgid, __u64 start_ns,
				      __u64 aspace_id)
{
	struct unwind_proc_small *s;
	struct unwind_proc_large *l;

	s = bpf_map_lookup_elem(&unwind_procs_small, &tgid);
	if (s) {
		if (!proc_matches(&s->hdr, start_ns, aspace_id))
			return PROC_NONE;
		return s->hdr.flags & UNWIND_PROC_FP_ONLY ? PROC_FP_ONLY :
							    PROC_SMALL;
	}
	l = bpf_map_lookup_elem(&unwind_procs_large, &tgid);
	if (l && proc_matches(&l->hdr, start_ns, aspace_id))
		return PROC_LARGE;
	return PROC_NONE;
}

/* Clears @w for a new walk after @klen kernel frames: all but the window's
 * bytes, which win_len 0 says are stale. */
static __always_inline void walk_init(struct walk *w, __u32 klen)
{
	__builtin_memset(w, 0, __builtin_offsetof(struct walk, win));
	w->stop = WALK_GOING;
	w->exact = 1;
	w->klen = klen;
}

/* The user registers a walk starts from. */
struct uregs {
	__u64 ip, sp, bp;
};

/* The user registers saved at the kernel entry on @t's behalf. */
static __always_inline void task_uregs(struct task_struct *t, struct uregs *u)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(t);

	u->ip = BPF_CORE_READ(r, ip);
	u->sp = BPF_CORE_READ(r, sp);
	u->bp = BPF_CORE_READ(r, bp);
}

/* The user registers of a sample: those interrupted if it hit user
 * space (@in_kernel false), else those saved at the kernel entry on the
 * task's behalf. The context is read at fixed offsets, once: the verifier
 * refuses a context pointer the compiler moved. */
static __always_inline void sample_uregs(struct bpf_perf_event_data *ctx,
					 struct task_struct *t, bool in_kernel,
					 struct uregs *u)
{
	__u64 ip = ctx->regs.ip, sp = ctx->regs.sp, bp = ctx->regs.bp;

	if (in_kernel) {
		task_uregs(t, u);
		return;
	}
	u->ip = ip;
	u->sp = sp;
	u->bp = bp;
}

static __always_inline void walk_regs(struct walk *w, const struct uregs *u)
{
	w->ip = u->ip;
	w->sp = u->sp;
	w->bp = u->bp;
}

/* Walks the user stack with frame pointers alone into b->frames after
 * @klen kernel frames: what bpf_get_stack(BPF_F_USER_STACK) gives, with
 * a read for several frames rather than two for each. Returns the frames
 * recorded. */
static __always_inline __u32 walk_fp(const struct uregs *u,
				     struct sample_buf *b, __u32 klen)
{
	struct walk *w = &b->w;
	__u32 n;

	walk_init(w, klen);
	walk_regs(w, u);
	w->proc = PROC_FP_ONLY;
	/* As many frames as bpf_get_stack() gave (TGPROF_MAX_KSTACK). */
	bpf_loop(TGPROF_MAX_KSTACK, walk_step, NULL, 0);
	n = w->n;
	return n > TGPROF_MAX_KSTACK ? TGPROF_MAX_KSTACK : n;
}

/* Walks the user stack of @task from its user registers @u with the
 * tables into b->frames after @klen kernel frames; with @copy, stack for
 * user space to walk on where the tables end. */
static __always_inline void walk_user(const struct uregs *u,
				      struct task_struct *task,
				      struct sample_buf *b, __u32 klen,
				      bool copy)
{
	struct tgprof_sample *s = &b->s;
	struct walk *w = &b->w;
	__u32 n, py;

	walk_init(w, klen);
	walk_regs(w, u);
	w->tgid = s->hdr.tgid;
	w->proc = find_proc(w->tgid, s->hdr.start_ns, s->aspace_id);

	bpf_loop(TGPROF_MAX_USTACK + 1, walk_step, NULL, 0);
	if (w->stop == WALK_GOING)
		w->stop = UNWIND_STOP_DEPTH;

	n = w->n;
	if (n > TGPROF_MAX_USTACK)
		n = TGPROF_MAX_USTACK;
	s->flags |= TGPROF_SAMPLE_TABLES;
	s->ustack_len = n;
	s->unwind_stop = w->stop;
	count(TGPROF_CNT_STOP_BASE +
	      (w->stop < UNWIND_STOP_MAX ? w->stop : UNWIND_STOP_BAD_FRAME));
	count_n(TGPROF_CNT_FRAMES_TABLE, w->frames_table);
	count_n(TGPROF_CNT_FRAMES_FP, w->frames_fp);
	py = py_walk_thread(s, task, klen + n);
	s->py_len = py;
	if (!copy || !w->copy || !stack_copy_bytes || !n)
		return;
	/* A burst of new processes: their samples carry stack until their
	 * tables are loaded, each nine times a plain sample, while the
	 * reader is busy loading them. Past half full the stack stops here,
	 * counted, rather than whole samples and exec/exit events being
	 * lost once the ring is full. */
	if (bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) + stack_copy_bytes >
	    2 * wakeup_bytes) {
		count(TGPROF_CNT_STACK_COPY_SKIPPED);
		return;
	}
	s->regs_ip = w->ip;
	s->regs_sp = w->sp;
	s->regs_bp = w->bp;
	s->flags |= TGPROF_SAMPLE_STACK_COPY;
	if (w->exact)
		s->flags |= TGPROF_SAMPLE_IP_EXACT;
	s->stack_len = copy_stack(b, klen + n + 2 * py, w->sp);
	count(s->stack_len ? TGPROF_CNT_STACK_COPIES :
			     TGPROF_CNT_STACK_COPY_ERR);
}

#ifdef TGPROF_BPF_TIME_PIECES
/* Nanoseconds spent in each piece of sample(), and samples timed: read
 * with bpftool (bench/README.md). Timing costs too: compare pieces. */
__u64 piece_ns[8];
/* Piece @i ends now; *@t is when it began (NULL: not timed). */
#define PIECE_AT(t, i)                                                       \
	do {                                                                 \
		__u64 now_ = bpf_ktime_get_ns();                             \
		if (t) {                                                     \
			__sync_fetch_and_add(&piece_ns[(i)&7], now_ - *(t)); \
			*(t) = now_;                                         \
		}                                                            \
	} while (0)
#define PIECE(i) PIECE_AT(&piece_t_, i)
#define PIECE_START() __u64 piece_t_ = bpf_ktime_get_ns()
#define PIECE_CLOCK (&piece_t_)
#else
#define PIECE_AT(t, i) ((void)(t))
#define PIECE(i) ((void)0)
#define PIECE_START() ((void)0)
#define PIECE_CLOCK NULL
#endif

/*
 * The stacks of sample b->s of task @t, the current task: its kernel
 * stack when @in_kernel (the kernel's walk from @ctx), then its user
 * stack from @u (the tables, else frame pointers) and its Python frames.
 * @copy: stack for user space where the tables end. @pt: the pieces'
 * clock (TGPROF_BPF_TIME_PIECES), or NULL.
 */
static __always_inline void sample_stacks(void *ctx, struct sample_buf *b,
					  struct task_struct *t,
					  const struct uregs *u, bool in_kernel,
					  bool copy, __u64 *pt)
{
	struct tgprof_sample *s = &b->s;
	__u32 klen = 0;
	long n;

	s->flags = 0;
	s->kstack_len = 0;
	s->ustack_len = 0;
	s->unwind_stop = 0;
	s->stack_len = 0;
	s->py_len = 0;
	s->pad16 = 0;
	s->pad32 = 0;
	s->regs_ip = 0;
	s->regs_sp = 0;
	s->regs_bp = 0;
	s->off_cpu_ns = 0;

	/* A sample in user space has no kernel stack: the kernel's walk
	 * would return none, at the cost of a call. */
	if (kernel_stacks && in_kernel) {
		n = bpf_get_stack(ctx, b->frames, TGPROF_MAX_KSTACK * 8, 0);
		if (n >= 0) {
			klen = n / 8;
			if (klen > TGPROF_MAX_KSTACK)
				klen = TGPROF_MAX_KSTACK;
			s->kstack_len = klen;
		} else {
			s->flags |= TGPROF_SAMPLE_KSTACK_ERR;
			count(TGPROF_CNT_KSTACK_ERR);
		}
	}
	PIECE_AT(pt, 2);

	if (t->flags & PF_KTHREAD) {
		s->flags |= TGPROF_SAMPLE_KTHREAD;
		s->aspace_id = 0;
	} else if (unwind_tables) {
		s->aspace_id = current_aspace_id(t);
		walk_user(u, t, b, klen, copy);
	} else {
		s->aspace_id = current_aspace_id(t);
		PIECE_AT(pt, 3);
		if (klen > TGPROF_MAX_KSTACK)
			klen = TGPROF_MAX_KSTACK;
		s->ustack_len = walk_fp(u, b, klen);
		PIECE_AT(pt, 4);
		s->py_len = py_walk_thread(s, t, klen + s->ustack_len);
		PIECE_AT(pt, 5);
	}
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, zero = 0;
	struct task_struct *t;
	struct sample_buf *b;
	struct tgprof_sample *s;
	struct uregs u;
	bool in_kernel;
	__u64 size;
	PIECE_START();

	count(TGPROF_CNT_SAMPLES);
	if (tid == 0 && !include_idle) {
		count(TGPROF_CNT_SAMPLES_IDLE);
		return 0;
	}
	t = bpf_get_current_task_btf();
	if (filtered_static(tgid) || excluded_dynamic(t, tgid)) {
		count(TGPROF_CNT_SAMPLES_FILTERED);
		return 0;
	}

	b = bpf_map_lookup_elem(&sample_bufs, &zero);
	if (!b)
		return 0;
	PIECE(0);
	s = &b->s;
	fill_sample_hdr(s, t, TGPROF_REC_SAMPLE);
	PIECE(1);
	in_kernel = (long)ctx->regs.ip < 0;
	sample_uregs(ctx, t, in_kernel, &u);
	sample_stacks(ctx, b, t, &u, in_kernel, true, PIECE_CLOCK);

	size = sizeof(*s) +
	       ((__u64)s->kstack_len + s->ustack_len + 2 * (__u64)s->py_len) *
		       sizeof(__u64) +
	       s->stack_len;
	if (size > sizeof(*b) - __builtin_offsetof(struct sample_buf, s))
		size = sizeof(*b) - __builtin_offsetof(struct sample_buf, s);
	if (bpf_ringbuf_output(&records, s, size, wakeup_flags(size)))
		count(TGPROF_CNT_SAMPLES_LOST);
	PIECE(6);
#ifdef TGPROF_BPF_TIME_PIECES
	__sync_fetch_and_add(&piece_ns[7], 1);
#endif
	return 0;
}

/* The clock of the run queue @t is on (rq_clock(), which
 * sched_info.last_arrival is read on), as __schedule() updated it: @t is
 * the task switching, on this CPU. Reached through its CFS run queue
 * (CONFIG_FAIR_GROUP_SCHED; `runqueues` is not a symbol every kernel
 * lists); 0 without. */
static __always_inline __u64 task_rq_clock(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return 0;
	return BPF_CORE_READ(t, se.cfs_rq, rq, clock);
}

/* How many times @t arrived on a CPU (0 without CONFIG_SCHED_INFO). In the
 * switch that brings @t in, that arrival is not counted yet. */
static __always_inline __u64 task_arrivals(struct task_struct *t)
{
	if (!bpf_core_field_exists(t->sched_info.pcount))
		return 0;
	return t->sched_info.pcount;
}

/* Each wait walked stands for 100 / offcpu_percent waits: the totals
 * estimate all of them, as a CPU sample stands for its period. */
static __always_inline __u64 offcpu_weight(__u64 wait)
{
	return offcpu_percent < 100 ? wait * 100 / offcpu_percent : wait;
}

/* Frame slots of a parked record's user and Python frames, bounded for
 * the verifier. */
static __always_inline __u64 parked_frames(const struct tgprof_sample *s)
{
	__u64 n = (__u64)s->ustack_len + 2 * (__u64)s->py_len;

	barrier_var(n);
	return n > TGPROF_OFFCPU_SLOTS ? TGPROF_OFFCPU_SLOTS : n;
}

/*
 * @v's switch back in was not seen: some kernels do not run the
 * sched_switch tracepoint for every switch (one measured here skips those
 * out of the tasks of its init), and a program can miss a run. If @t
 * arrived on a CPU exactly once since it blocked (@arrivals now, the
 * arrival that brings it in not counted), that arrival ended the wait:
 * the sample goes out, weighted from the scheduler's own clock, with the
 * frames walked when it blocked and no kernel stack (the thread is no
 * longer in that wait). Else where the wait ended is not known: it is
 * dropped and counted (REPLACED).
 */
static __always_inline void
offcpu_send_late(struct task_struct *t, struct offcpu_parked *v, __u64 arrivals)
{
	__u64 wait = 0, size;

	if (arrivals == v->arrivals + 1 && v->rq_clock &&
	    bpf_core_field_exists(t->sched_info.last_arrival) &&
	    t->sched_info.last_arrival > v->rq_clock)
		wait = t->sched_info.last_arrival - v->rq_clock;
	if (!wait) {
		count(TGPROF_CNT_OFFCPU_REPLACED);
		return;
	}
	count(TGPROF_CNT_OFFCPU_LATE);
	if (wait < offcpu_min_ns) {
		count(TGPROF_CNT_OFFCPU_SHORT);
		return;
	}
	/* Sent from the map value itself: with no kernel frames the frames
	 * walked when it blocked follow the record, as sent. */
	v->s.off_cpu_ns = offcpu_weight(wait);
	v->s.hdr.ts_ns = bpf_ktime_get_boot_ns();
	v->s.kstack_len = 0;
	v->s.flags |= TGPROF_SAMPLE_OFFCPU_LATE;
	size = sizeof(v->s) + parked_frames(&v->s) * sizeof(__u64);
	if (bpf_ringbuf_output(&records, &v->s, size, wakeup_flags(size)))
		count(TGPROF_CNT_OFFCPU_LOST);
	else
		count(TGPROF_CNT_OFFCPU_EMITTED);
}

/*
 * A thread that blocked runs again: its parked sample goes out weighted
 * with the time it waited, if that was long enough, built in this CPU's
 * sample buffer: its kernel stack now (the thread still sleeps in
 * __schedule(), its stack as it was when it blocked; reading it only for
 * the waits that are sent spares the short ones the kernel's unwinder),
 * then the user and Python frames walked when it blocked.
 */
static __always_inline void offcpu_switch_in(struct task_struct *next)
{
	__u32 tid = next->pid, zero = 0;
	struct offcpu_parked *v;
	struct sample_buf *b;
	struct tgprof_sample *s;
	__u64 now, wait, size, n, arrivals, k = 0;
	long got;

	if (!tid)
		return;
	v = bpf_map_lookup_elem(&offcpu_parked, &tid);
	if (!v)
		return;
	arrivals = task_arrivals(next);
	if (arrivals != v->arrivals) {
		/* It ran since, unseen, and was preempted. */
		offcpu_send_late(next, v, arrivals);
		goto out;
	}
	now = bpf_ktime_get_boot_ns();
	wait = now - v->s.hdr.ts_ns;
	b = bpf_map_lookup_elem(&sample_bufs, &zero);
	if (wait < offcpu_min_ns || !b) {
		count(TGPROF_CNT_OFFCPU_SHORT);
		goto out;
	}
	s = &b->s;
	*s = v->s;
	s->off_cpu_ns = offcpu_weight(wait);
	/* Sent now: in time order with the events ring. */
	s->hdr.ts_ns = now;
	if (kernel_stacks) {
		got = bpf_get_task_stack(next, b->frames,
					 TGPROF_MAX_KSTACK * sizeof(__u64), 0);
		if (got >= 0) {
			k = got / sizeof(__u64);
		} else {
			s->flags |= TGPROF_SAMPLE_KSTACK_ERR;
			count(TGPROF_CNT_KSTACK_ERR);
		}
	}
	if (k > TGPROF_MAX_KSTACK)
		k = TGPROF_MAX_KSTACK;
	s->kstack_len = k;
	n = parked_frames(s);
	if (n && bpf_probe_read_kernel(&b->frames[k], n * sizeof(__u64),
				       v->frames)) {
		/* Cannot happen (map memory); sent without them if so. */
		s->ustack_len = 0;
		s->py_len = 0;
		n = 0;
	}
	size = sizeof(*s) + (k + n) * sizeof(__u64);
	barrier_var(size);
	if (size > sizeof(*b) - __builtin_offsetof(struct sample_buf, s))
		size = sizeof(*b) - __builtin_offsetof(struct sample_buf, s);
	if (bpf_ringbuf_output(&records, s, size, wakeup_flags(size)))
		count(TGPROF_CNT_OFFCPU_LOST);
	else
		count(TGPROF_CNT_OFFCPU_EMITTED);
out:
	bpf_map_delete_elem(&offcpu_parked, &tid);
}

/* The current task blocks: its stacks are walked now, while its memory is
 * the one user reads see, and parked until it runs again. */
static __always_inline void offcpu_switch_out(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u32 tgid = t->tgid, tid = t->pid, zero = 0;
	struct offcpu_parked *p, *old;
	struct sample_buf *b;
	struct uregs u;
	long err;

	if (!tid || filtered_static(tgid) || excluded_dynamic(t, tgid))
		return;
	count(TGPROF_CNT_OFFCPU_SEEN);
	if (offcpu_percent < 100 &&
	    bpf_get_prandom_u32() % 100 >= offcpu_percent) {
		count(TGPROF_CNT_OFFCPU_SAMPLED_OUT);
		return;
	}
	b = bpf_map_lookup_elem(&sample_bufs, &zero);
	if (!b)
		return;
	fill_sample_hdr(&b->s, t, TGPROF_REC_OFFCPU);
	task_uregs(t, &u);
	/* The user stack only: the kernel's is read at the switch in, if
	 * the wait is sent. */
	sample_stacks(ctx, b, t, &u, false, false, NULL);
	/* The record and its frames are contiguous in the sample buffer,
	 * the scheduler's facts after them (the buffer has the room). */
	p = (struct offcpu_parked *)&b->s;
	p->rq_clock = task_rq_clock(t);
	p->arrivals = task_arrivals(t);
	err = bpf_map_update_elem(&offcpu_parked, &tid, p, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Its last wait's end was not seen: this run is that end. */
		old = bpf_map_lookup_elem(&offcpu_parked, &tid);
		if (old)
			offcpu_send_late(t, old, p->arrivals);
		err = bpf_map_update_elem(&offcpu_parked, &tid, p, BPF_EXIST);
	}
	if (err)
		count(TGPROF_CNT_OFFCPU_NO_ROOM);
}

/* A thread's last switch: a wait of its still parked means the switch
 * back in was not seen. */
static __always_inline void offcpu_last_switch(struct task_struct *prev)
{
	__u32 tid = prev->pid;
	struct offcpu_parked *v;

	v = bpf_map_lookup_elem(&offcpu_parked, &tid);
	if (!v)
		return;
	offcpu_send_late(prev, v, task_arrivals(prev));
	bpf_map_delete_elem(&offcpu_parked, &tid);
}

/* include/linux/sched.h: the state of a task's last switch out, which it
 * never comes back from. */
#define TASK_DEAD 0x00000080

/* Runs in the task switching out (prev is current). A thread that is not
 * TASK_RUNNING is going to sleep: its wait begins, whether it blocks now
 * or is preempted on its way (set_current_state(), then preempted before
 * schedule(): it may then not run again before its wakeup, as a thread
 * blocked would not). Its last switch (TASK_DEAD) is no wait. */
SEC("tp_btf/sched_switch")
int BPF_PROG(handle_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	offcpu_switch_in(next);
	if (prev_state & TASK_DEAD)
		offcpu_last_switch(prev);
	else if (prev_state)
		offcpu_switch_out(ctx);
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
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TGPROF_CNT_EVENTS_LOST);
		return 0;
	}
	fill_hdr(&e->hdr, TGPROF_REC_EXEC, p);
	e->old_tid = old_pid;
	e->pad = 0;
	e->aspace_id = task_aspace_id(p);
	submit_event(e);
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

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(TGPROF_CNT_EVENTS_LOST);
		return 0;
	}
	fill_hdr(&e->hdr, TGPROF_REC_EXIT, p);
	e->flags = flags;
	e->exit_code = BPF_CORE_READ(p, exit_code);
	submit_event(e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
