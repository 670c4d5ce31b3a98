// SPDX-License-Identifier: Apache-2.0
/* User side of the sampler: loads bpf/sampler.bpf.c with its unwind-table
 * maps sized, attaches a CPU-clock perf event on every online CPU and the
 * exec/exit tracepoints, and drains its two ring buffers (samples, process
 * events) into the receiver, merged in time order. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/sampler.h"
#include "receiver/sampler/sampler.h"
#include "sampler_bpf.skel.h"

#define SAMPLER_MAX_CPUS 4096
/*
 * Automatic sample ring size. The reader is woken once the ring is a
 * quarter full, and may then be busy for up to SAMPLER_DRAIN_LATENCY_MS
 * before it drains (loading a new binary's symbols and unwind table, a
 * profile flush, a starved thread on a busy host). Stack copies stop once
 * the ring is half full, so the other half must hold every CPU's samples
 * at full rate for that long: the ring is twice that, plus a burst of
 * stack copies, within bounds. Its pages count in the memory of whoever
 * loads it.
 */
#define SAMPLER_DRAIN_LATENCY_MS 500
#define SAMPLER_RING_MIN (256u << 10)
#define SAMPLER_RING_MAX (64u << 20)
/*
 * The events ring: exec and exit records are 72 and 64 bytes with the
 * ring's header, so 128 KiB per CPU holds some 1,900 per CPU: a fork storm
 * of thousands a second through the drain latency, or a host's steady
 * churn (bench/load/host_load.sh: 160 a second) through a reader starved
 * of CPU for ten seconds (bench/exec_burst on that host). The reader is
 * woken once SAMPLER_EVENTS_WAKEUP bytes (64 events) wait: a storm costs
 * a wakeup per 64 events, a lone event waits for the next poll (or the
 * sample ring's wakeup).
 */
#define SAMPLER_EVENTS_PER_CPU (128u << 10)
#define SAMPLER_EVENTS_MIN (256u << 10)
#define SAMPLER_EVENTS_MAX (16u << 20)
#define SAMPLER_EVENTS_WAKEUP (4u << 10)
/* The largest event record (struct tgprof_exec). */
#define SAMPLER_EVENT_MAX 64
/* Events one drain holds back at most (80 bytes each). */
#define SAMPLER_PENDING_MAX 16384

/* An event read ahead of the samples, held until the samples taken
 * before it have been handed out. */
struct pending_event {
	uint64_t ts_ns;
	uint32_t len;
	/* Read through struct tgprof_rec_hdr and the event structs: as
	 * aligned as the ring's records (8). */
	_Alignas(8) unsigned char rec[SAMPLER_EVENT_MAX];
};

struct sampler {
	struct sampler_bpf *skel;
	/* One manager, one epoll: the events ring was added first, so
	 * ring_buffer__consume() reads it before the sample ring. */
	struct ring_buffer *rb;
	/* Events read in this drain, oldest first, not handed out yet. */
	struct pending_event *pending;
	uint32_t npending_max, pending_head, npending;
	/* TGPROF_CNT_EVENTS_LOST as read before the last drain began. */
	uint64_t events_lost_seen;
	uint64_t wakeups; /* polls a ring's wakeup ended */
	uint64_t events; /* records read from the events ring */
	struct bpf_link *exec_link;
	struct bpf_link *exit_link;
	struct bpf_link *switch_link; /* off-CPU; NULL when off */
	/* One per attached CPU; each owns its perf event fd. */
	struct bpf_link **perf_links;
	uint32_t nperf;
	int ncpus_possible;
	uint64_t *cpu_vals; /* one counter per possible CPU, for drains */
	unsigned char online[SAMPLER_MAX_CPUS / 8];
	uint32_t nonline;
	sampler_record_fn fn;
	void *ctx;
	const struct tg_logger *log;
};

/* Parses a CPU list such as "0-3,8,10-11" (sysfs "online"). Sets bits in
 * @mask (SAMPLER_MAX_CPUS bits). Returns 0 or -EINVAL. */
static int parse_cpu_list(const char *s, unsigned char *mask)
{
	while (*s && *s != '\n') {
		char *end;
		unsigned long a, b;

		errno = 0;
		a = strtoul(s, &end, 10);
		if (end == s || errno)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			b = strtoul(s, &end, 10);
			if (end == s || errno || b < a)
				return -EINVAL;
			s = end;
		}
		if (b >= SAMPLER_MAX_CPUS)
			return -EINVAL;
		for (; a <= b; a++)
			mask[a / 8] |= 1u << (a % 8);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return 0;
}

static int online_cpus(unsigned char *mask)
{
	char buf[4096];
	ssize_t n;
	int fd, err;

	fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return parse_cpu_list(buf, mask);
}

/*
 * Draining order. Samples and events travel in two rings, so one drain
 * reads the events ring first and holds its records, then reads the
 * samples and hands each held event out just before the first sample
 * taken after it (timestamps are CLOCK_BOOTTIME on both sides), and the
 * rest at the end:
 *
 *  - an exec's record is written by the exec'ing thread before it runs
 *    the new image, so any sample of the new image in the sample ring was
 *    written after it: reading the events first, a drain that reads such
 *    a sample has its exec too, and hands it out first. Samples of the
 *    old image (earlier timestamps) are handed out before the exec, so
 *    they are symbolized with the maps they were taken in rather than
 *    found stale. A sample of the new image written between the two reads
 *    (while the reader is busy with the samples ring, that can be many)
 *    comes before its exec record: its aspace_id is not the image's the
 *    process table knows, and the table takes it as the exec itself
 *    (proctab__follow_image()), so the filters and the process's name see
 *    the new image; the record, read by the next drain, finds it done.
 *  - an exit's record comes after every sample of the group's threads;
 *    samples read after it still find the entry, kept for exit_grace_ns
 *    (proctab__reap() runs after the drain).
 */
static void deliver_pending(struct sampler *s)
{
	struct pending_event *e = &s->pending[s->pending_head];

	s->fn(s->ctx, e->rec, e->len);
	s->pending_head = (s->pending_head + 1) % s->npending_max;
	s->npending--;
}

static int on_event_record(void *ctx, void *data, size_t len)
{
	struct sampler *s = ctx;
	struct pending_event *e;
	uint32_t tail;

	s->events++;
	/* Too long to hold, or not even a header: the receiver counts it
	 * malformed. */
	if (len > SAMPLER_EVENT_MAX || len < sizeof(struct tgprof_rec_hdr)) {
		s->fn(s->ctx, data, len);
		return 0;
	}
	/* More than a ring's worth in one drain (the kernel kept writing):
	 * the oldest goes out now, still before the samples after it. */
	if (s->npending == s->npending_max)
		deliver_pending(s);
	tail = (s->pending_head + s->npending) % s->npending_max;
	e = &s->pending[tail];
	memcpy(e->rec, data, len);
	e->len = (uint32_t)len;
	e->ts_ns = ((const struct tgprof_rec_hdr *)data)->ts_ns;
	s->npending++;
	return 0;
}

static int on_sample_record(void *ctx, void *data, size_t len)
{
	struct sampler *s = ctx;
	uint64_t ts = len >= sizeof(struct tgprof_rec_hdr) ?
			      ((const struct tgprof_rec_hdr *)data)->ts_ns :
			      0;

	while (s->npending && s->pending[s->pending_head].ts_ns <= ts)
		deliver_pending(s);
	s->fn(s->ctx, data, len);
	return 0;
}

/* Counter @key summed over every possible CPU into *ret; @vals has room
 * for one value per possible CPU. 0 or -errno. */
static int counter_sum(const struct sampler *s, uint32_t key, uint64_t *vals,
		       uint64_t *ret)
{
	int cpu;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &key,
				vals))
		return -errno;
	*ret = 0;
	for (cpu = 0; cpu < s->ncpus_possible; cpu++)
		*ret += vals[cpu];
	return 0;
}

/* Read at every drain: into the sampler's own buffer, and the last count
 * seen when the map cannot be read. */
static uint64_t read_events_lost(struct sampler *s)
{
	uint64_t sum;

	if (counter_sum(s, TGPROF_CNT_EVENTS_LOST, s->cpu_vals, &sum))
		return s->events_lost_seen;
	return sum;
}

/* Both rings, merged. The loss counter is read first: an event it counts
 * was lost before this drain began, so every record written before that
 * loss (a process's samples before its lost exit) is read by this drain,
 * and a repair after it finds /proc past them. */
static int drain(struct sampler *s)
{
	int n;

	s->events_lost_seen = read_events_lost(s);
	n = ring_buffer__consume(s->rb);
	while (s->npending)
		deliver_pending(s);
	return n;
}

/* What a sample took before records became variable-length: the header
 * and two full stacks of 127 frames. Deep samples stay that size, and the
 * ring keeps the room it always had. */
#define SAMPLER_SAMPLE_BYTES (sizeof(struct tgprof_sample) + 2 * 127 * 8)

/* Samples carrying their stack come in bursts (the first samples of new
 * processes, while the receiver loads their tables): room for this many
 * on top. */
#define SAMPLER_COPY_BURST 16

/* Off-CPU samples the automatic ring makes room for, per CPU and second,
 * beside the CPU samples: waits of 1 ms or more that end, 250 a second
 * per CPU (a 2-CPU host: 1 MiB of ring; beyond the rate a burst has the
 * drain latency's room, then the ring's losses are counted). */
#define SAMPLER_OFFCPU_RATE 250

static size_t auto_ring_bytes(uint32_t freq_hz, uint32_t ncpus,
			      uint32_t copy_bytes, bool off_cpu)
{
	uint64_t rate = freq_hz + (off_cpu ? SAMPLER_OFFCPU_RATE : 0);
	uint64_t want = 2 * rate * ncpus * SAMPLER_SAMPLE_BYTES *
			SAMPLER_DRAIN_LATENCY_MS / 1000;

	if (copy_bytes)
		want += SAMPLER_COPY_BURST *
			(SAMPLER_SAMPLE_BYTES + (uint64_t)copy_bytes);
	size_t bytes = SAMPLER_RING_MIN;

	while (bytes < want && bytes < SAMPLER_RING_MAX)
		bytes <<= 1;
	return bytes;
}

static size_t auto_events_bytes(uint32_t ncpus)
{
	uint64_t want = (uint64_t)ncpus * SAMPLER_EVENTS_PER_CPU;
	size_t bytes = SAMPLER_EVENTS_MIN;

	while (bytes < want && bytes < SAMPLER_EVENTS_MAX)
		bytes <<= 1;
	return bytes;
}

static int attach_perf_events(struct sampler *s, uint32_t freq_hz)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.freq = 1,
		.sample_freq = freq_hz,
	};
	int cpu, fd, err;

	s->perf_links = calloc(SAMPLER_MAX_CPUS, sizeof(*s->perf_links));
	if (!s->perf_links)
		return -ENOMEM;

	for (cpu = 0; cpu < SAMPLER_MAX_CPUS; cpu++) {
		if (!(s->online[cpu / 8] & (1u << (cpu % 8))))
			continue;
		fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
			     PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			/* A CPU that went offline since we read the list. */
			if (err == -ENODEV)
				continue;
			tg_err(s->log,
			       "perf_event_open(cpu-clock, cpu %d) failed: %s%s",
			       cpu, strerror(-err),
			       err == -EACCES || err == -EPERM ?
				       " (needs CAP_PERFMON or root)" :
				       "");
			return err;
		}
		s->perf_links[s->nperf] = bpf_program__attach_perf_event(
			s->skel->progs.sample, fd);
		if (!s->perf_links[s->nperf]) {
			err = -errno;
			close(fd);
			tg_err(s->log, "attaching the sampler to cpu %d: %s",
			       cpu, strerror(-err));
			return err;
		}
		s->nperf++;
	}
	if (!s->nperf) {
		tg_err(s->log, "no online CPU to sample");
		return -ENODEV;
	}
	return 0;
}

static int fill_filter(struct sampler *s, struct bpf_map *map, const void *keys,
		       size_t key_size, uint32_t n, uint8_t verdict)
{
	uint32_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = bpf_map__update_elem(map,
					   (const char *)keys + i * key_size,
					   key_size, &verdict, sizeof(verdict),
					   BPF_ANY);
		if (err) {
			tg_err(s->log, "filling the %s filter: %s",
			       bpf_map__name(map), strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Excludes go in last: a key in both lists is excluded. */
static int load_filters(struct sampler *s, const struct sampler_opts *o)
{
	struct bpf_map *pids = s->skel->maps.pid_filter;
	struct bpf_map *cgroups = s->skel->maps.cgroup_filter;
	int err;

	if (o->n_include_tgids + o->n_exclude_tgids > TGPROF_MAX_FILTER_PIDS ||
	    o->n_include_cgroups + o->n_exclude_cgroups >
		    TGPROF_MAX_FILTER_CGROUPS) {
		tg_err(s->log, "too many pids or cgroups in the filters");
		return -E2BIG;
	}
	err = fill_filter(s, pids, o->include_tgids, sizeof(uint32_t),
			  o->n_include_tgids, TGPROF_FILTER_INCLUDE);
	if (!err)
		err = fill_filter(s, pids, o->exclude_tgids, sizeof(uint32_t),
				  o->n_exclude_tgids, TGPROF_FILTER_EXCLUDE);
	if (!err)
		err = fill_filter(s, cgroups, o->include_cgroups,
				  sizeof(uint64_t), o->n_include_cgroups,
				  TGPROF_FILTER_INCLUDE);
	if (!err)
		err = fill_filter(s, cgroups, o->exclude_cgroups,
				  sizeof(uint64_t), o->n_exclude_cgroups,
				  TGPROF_FILTER_EXCLUDE);
	return err;
}

static int set_max(struct sampler *s, struct bpf_map *map, uint32_t n)
{
	int err = bpf_map__set_max_entries(map, n ? n : 1);

	if (err)
		tg_err(s->log, "sizing the %s map: %s", bpf_map__name(map),
		       strerror(-err));
	return err;
}

/* The table maps only exist as bucket arrays until the loader fills them;
 * without tables they keep one element each. */
static int size_unwind_maps(struct sampler *s, const struct sampler_opts *o)
{
	const struct sampler_unwind_sizes *z = &o->unwind_sizes;
	struct sampler_bpf *k = s->skel;
	bool on = o->unwind_tables;
	int err;

	k->rodata->unwind_tables = on;
	k->rodata->stack_copy_bytes = o->stack_copy_bytes <
						      TGPROF_MAX_STACK_COPY ?
					      o->stack_copy_bytes :
					      TGPROF_MAX_STACK_COPY;
	err = set_max(s, k->maps.unwind_chunks, on ? z->chunks : 1);
	if (!err)
		err = set_max(s, k->maps.unwind_groups, on ? z->groups : 1);
	if (!err)
		err = set_max(s, k->maps.unwind_files, on ? z->files : 1);
	if (!err)
		err = set_max(s, k->maps.unwind_procs_small,
			      on ? z->procs_small : 1);
	if (!err)
		err = set_max(s, k->maps.unwind_procs_large,
			      on ? z->procs_large : 1);
	return err;
}

/* The switch program is loaded only when off-CPU samples are wanted: off,
 * it costs nothing, not even a verification. */
static int setup_offcpu(struct sampler *s, const struct sampler_opts *o)
{
	struct sampler_bpf *k = s->skel;
	uint32_t pct = o->off_cpu_percent;

	bpf_program__set_autoload(k->progs.handle_switch, o->off_cpu);
	k->rodata->offcpu_min_ns = o->off_cpu_min_ns;
	k->rodata->offcpu_percent = pct && pct <= 100 ? pct : 100;
	return set_max(s, k->maps.offcpu_parked,
		       o->off_cpu ? o->off_cpu_threads : 1);
}

static int attach_tracepoint(struct sampler *s, struct bpf_program *prog,
			     struct bpf_link **ret_link, const char *what)
{
	struct bpf_link *link = bpf_program__attach(prog);
	int err;

	if (!link) {
		err = -errno;
		tg_err(s->log, "attaching tp_btf/%s: %s", what, strerror(-err));
		return err;
	}
	*ret_link = link;
	return 0;
}

struct sampler *sampler__new(const struct sampler_opts *opts,
			     sampler_record_fn fn, void *ctx,
			     const struct tg_logger *log)
{
	struct sampler *s;
	size_t ring, events;
	int err, i;

	if (!opts || opts->sz < sizeof(*opts) || !fn || !opts->freq_hz) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->fn = fn;
	s->ctx = ctx;
	s->log = log;

	s->ncpus_possible = libbpf_num_possible_cpus();
	if (s->ncpus_possible <= 0) {
		err = s->ncpus_possible ? s->ncpus_possible : -EINVAL;
		tg_err(log, "cannot count the possible CPUs: %s",
		       strerror(-err));
		goto err_free;
	}

	err = online_cpus(s->online);
	if (err) {
		tg_err(log, "cannot read the online CPUs: %s", strerror(-err));
		goto err_free;
	}
	for (i = 0; i < SAMPLER_MAX_CPUS; i++)
		s->nonline += !!(s->online[i / 8] & (1u << (i % 8)));

	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		tg_err(log, "opening the BPF object: %s", strerror(-err));
		goto err_free;
	}
	s->skel->rodata->kernel_stacks = opts->kernel_stacks;
	s->skel->rodata->filter_pids = opts->n_include_tgids ||
				       opts->n_exclude_tgids;
	s->skel->rodata->filter_pids_include = opts->n_include_tgids;
	s->skel->rodata->filter_cgroups = opts->n_include_cgroups ||
					  opts->n_exclude_cgroups;
	s->skel->rodata->filter_cgroups_include = opts->n_include_cgroups;
	s->skel->rodata->filter_dynamic = opts->dynamic_exclusion;
	s->skel->rodata->include_idle = opts->include_idle;
	s->skel->rodata->python_frames = opts->python_frames;
	err = size_unwind_maps(s, opts);
	if (!err)
		err = setup_offcpu(s, opts);
	if (err)
		goto err_free;
	ring = opts->ringbuf_bytes ?
		       opts->ringbuf_bytes :
		       auto_ring_bytes(
			       opts->freq_hz, s->nonline,
			       opts->unwind_tables ? opts->stack_copy_bytes : 0,
			       opts->off_cpu);
	err = bpf_map__set_max_entries(s->skel->maps.records, ring);
	if (err) {
		tg_err(log, "ring buffer size %zu: %s", ring, strerror(-err));
		goto err_free;
	}
	/* A quarter full wakes the reader; otherwise its poll timeout does. */
	s->skel->rodata->wakeup_bytes =
		bpf_map__max_entries(s->skel->maps.records) / 4;
	events = opts->events_ringbuf_bytes ? opts->events_ringbuf_bytes :
					      auto_events_bytes(s->nonline);
	err = bpf_map__set_max_entries(s->skel->maps.events, events);
	if (err) {
		tg_err(log, "events ring buffer size %zu: %s", events,
		       strerror(-err));
		goto err_free;
	}
	events = bpf_map__max_entries(s->skel->maps.events);
	s->skel->rodata->events_wakeup_bytes =
		events / 4 < SAMPLER_EVENTS_WAKEUP ? events / 4 :
						     SAMPLER_EVENTS_WAKEUP;
	/* Every record a full events ring can hold, in the smallest size
	 * (struct tgprof_exit and the ring's 8-byte header). */
	s->npending_max = events / (sizeof(struct tgprof_exit) + 8) + 1;
	/* Beyond it (rings of several MiB) the oldest go out early. */
	if (s->npending_max > SAMPLER_PENDING_MAX)
		s->npending_max = SAMPLER_PENDING_MAX;
	s->pending = calloc(s->npending_max, sizeof(*s->pending));
	s->cpu_vals = calloc(s->ncpus_possible, sizeof(*s->cpu_vals));
	if (!s->pending || !s->cpu_vals) {
		err = -ENOMEM;
		goto err_free;
	}

	err = sampler_bpf__load(s->skel);
	if (err) {
		tg_err(log, "loading the BPF programs: %s%s", strerror(-err),
		       err == -EPERM ? " (needs CAP_BPF and CAP_PERFMON, "
				       "or root)" :
				       "");
		goto err_free;
	}

	err = load_filters(s, opts);
	if (err)
		goto err_free;

	err = attach_tracepoint(s, s->skel->progs.handle_exec, &s->exec_link,
				"sched_process_exec");
	if (err)
		goto err_free;
	err = attach_tracepoint(s, s->skel->progs.handle_exit, &s->exit_link,
				"sched_process_exit");
	if (err)
		goto err_free;
	if (opts->off_cpu) {
		err = attach_tracepoint(s, s->skel->progs.handle_switch,
					&s->switch_link, "sched_switch");
		if (err)
			goto err_free;
	}

	/* The events ring first: ring_buffer__consume() reads the rings in
	 * the order they were added (see drain()). */
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events),
				 on_event_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		tg_err(log, "creating the ring buffer reader: %s",
		       strerror(-err));
		goto err_free;
	}
	err = ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.records),
			       on_sample_record, s);
	if (err) {
		tg_err(log, "adding the sample ring to the reader: %s",
		       strerror(-err));
		goto err_free;
	}

	/* Last: once the perf events run, records start flowing. */
	err = attach_perf_events(s, opts->freq_hz);
	if (err)
		goto err_free;
	return s;

err_free:
	sampler__free(s);
	errno = -err;
	return NULL;
}

int sampler__poll(struct sampler *s, int timeout_ms)
{
	struct epoll_event ev[2];
	int n;

	/* Only the wait: whichever ring woke us, both are drained, events
	 * first (ring_buffer__poll() would read only the ring that woke
	 * it). Without a wakeup, records below the thresholds wait for us. */
	n = epoll_wait(ring_buffer__epoll_fd(s->rb), ev, 2, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -errno;
	if (n > 0)
		s->wakeups++;
	return drain(s);
}

int sampler__drain(struct sampler *s)
{
	return drain(s);
}

uint64_t sampler__events_lost_seen(const struct sampler *s)
{
	return s->events_lost_seen;
}

/* @prog's kernel statistics; 0 for a program not loaded. */
static void prog_info(struct bpf_program *prog, struct bpf_prog_info *ret)
{
	__u32 len = sizeof(*ret);
	int fd = bpf_program__fd(prog);

	memset(ret, 0, sizeof(*ret));
	if (fd >= 0 && bpf_obj_get_info_by_fd(fd, ret, &len))
		memset(ret, 0, sizeof(*ret));
}

static void sampler__prog_stats(const struct sampler *s,
				struct sampler_counters *ret)
{
	struct bpf_prog_info info;

	prog_info(s->skel->progs.sample, &info);
	ret->bpf_run_ns = info.run_time_ns;
	ret->bpf_runs = info.run_cnt;
	ret->bpf_verified_insns = info.verified_insns;
	prog_info(s->skel->progs.handle_switch, &info);
	ret->offcpu_bpf_run_ns = info.run_time_ns;
	ret->offcpu_bpf_runs = info.run_cnt;
	ret->offcpu_bpf_misses = info.recursion_misses;
}

void sampler__counters(const struct sampler *s, struct sampler_counters *ret)
{
	uint64_t *vals, sums[TGPROF_CNT_MAX] = { 0 };
	uint32_t key;

	memset(ret, 0, sizeof(*ret));
	ret->cpus = s->nperf;
	vals = calloc(s->ncpus_possible, sizeof(*vals));
	if (!vals)
		return;
	/* The parts before their total: the program counts a sample before
	 * it counts where it went, so while other CPUs keep sampling, a
	 * snapshot read this way never shows more parts than samples. */
	for (key = TGPROF_CNT_MAX; key-- > 0;)
		counter_sum(s, key, vals, &sums[key]);
	free(vals);

	ret->samples = sums[TGPROF_CNT_SAMPLES];
	ret->samples_idle = sums[TGPROF_CNT_SAMPLES_IDLE];
	ret->samples_filtered = sums[TGPROF_CNT_SAMPLES_FILTERED];
	ret->samples_lost = sums[TGPROF_CNT_SAMPLES_LOST];
	ret->events_lost = sums[TGPROF_CNT_EVENTS_LOST];
	ret->kstack_errors = sums[TGPROF_CNT_KSTACK_ERR];
	ret->ustack_errors = sums[TGPROF_CNT_USTACK_ERR];
	ret->frames_table = sums[TGPROF_CNT_FRAMES_TABLE];
	ret->frames_fp = sums[TGPROF_CNT_FRAMES_FP];
	ret->stack_copies = sums[TGPROF_CNT_STACK_COPIES];
	ret->stack_copy_errors = sums[TGPROF_CNT_STACK_COPY_ERR];
	ret->stack_copies_skipped = sums[TGPROF_CNT_STACK_COPY_SKIPPED];
	for (key = 0; key < UNWIND_STOP_MAX; key++)
		ret->unwind_stops[key] = sums[TGPROF_CNT_STOP_BASE + key];
	ret->py_samples = sums[TGPROF_CNT_PY_SAMPLES];
	ret->py_frames = sums[TGPROF_CNT_PY_FRAMES];
	ret->py_read_errors = sums[TGPROF_CNT_PY_READ_ERR];
	ret->py_truncated = sums[TGPROF_CNT_PY_TRUNCATED];
	ret->py_no_thread = sums[TGPROF_CNT_PY_NO_THREAD];
	ret->offcpu_seen = sums[TGPROF_CNT_OFFCPU_SEEN];
	ret->offcpu_sampled_out = sums[TGPROF_CNT_OFFCPU_SAMPLED_OUT];
	ret->offcpu_no_room = sums[TGPROF_CNT_OFFCPU_NO_ROOM];
	ret->offcpu_short = sums[TGPROF_CNT_OFFCPU_SHORT];
	ret->offcpu_emitted = sums[TGPROF_CNT_OFFCPU_EMITTED];
	ret->offcpu_lost = sums[TGPROF_CNT_OFFCPU_LOST];
	ret->offcpu_replaced = sums[TGPROF_CNT_OFFCPU_REPLACED];
	ret->offcpu_late = sums[TGPROF_CNT_OFFCPU_LATE];
	ret->wakeups = s->wakeups;
	ret->events = s->events;
	ret->ring_bytes = bpf_map__max_entries(s->skel->maps.records);
	ret->events_ring_bytes = bpf_map__max_entries(s->skel->maps.events);
	sampler__prog_stats(s, ret);
}

int sampler__python_map(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.python_procs);
}

void sampler__unwind_maps(const struct sampler *s,
			  struct sampler_unwind_maps *ret)
{
	ret->chunks = bpf_map__fd(s->skel->maps.unwind_chunks);
	ret->groups = bpf_map__fd(s->skel->maps.unwind_groups);
	ret->files = bpf_map__fd(s->skel->maps.unwind_files);
	ret->procs_small = bpf_map__fd(s->skel->maps.unwind_procs_small);
	ret->procs_large = bpf_map__fd(s->skel->maps.unwind_procs_large);
}

int sampler__exclude(struct sampler *s, uint32_t tgid, uint64_t start_ns)
{
	int err = bpf_map__update_elem(s->skel->maps.excluded, &tgid,
				       sizeof(tgid), &start_ns,
				       sizeof(start_ns), BPF_ANY);

	return err == -E2BIG ? -ENOSPC : err;
}

int sampler__unexclude(struct sampler *s, uint32_t tgid)
{
	return bpf_map__delete_elem(s->skel->maps.excluded, &tgid, sizeof(tgid),
				    0);
}

/* Producers first, in the order sampler__free() uses. */
static void sampler__detach(struct sampler *s)
{
	uint32_t i;

	for (i = 0; i < s->nperf; i++) {
		bpf_link__destroy(s->perf_links[i]);
		s->perf_links[i] = NULL;
	}
	bpf_link__destroy(s->exec_link);
	s->exec_link = NULL;
	bpf_link__destroy(s->exit_link);
	s->exit_link = NULL;
	bpf_link__destroy(s->switch_link);
	s->switch_link = NULL;
}

int sampler__off_cpu_attach(struct sampler *s, bool on)
{
	if (bpf_program__fd(s->skel->progs.handle_switch) < 0)
		return -EINVAL; /* off_cpu off: not loaded */
	if (!on) {
		bpf_link__destroy(s->switch_link);
		s->switch_link = NULL;
		return 0;
	}
	if (s->switch_link)
		return 0;
	return attach_tracepoint(s, s->skel->progs.handle_switch,
				 &s->switch_link, "sched_switch");
}

int sampler__off_cpu_parked(const struct sampler *s, uint32_t tid)
{
	struct bpf_map *m = s->skel->maps.offcpu_parked;
	void *v;
	int err;

	v = malloc(bpf_map__value_size(m));
	if (!v)
		return -ENOMEM;
	err = bpf_map__lookup_elem(m, &tid, sizeof(tid), v,
				   bpf_map__value_size(m), 0);
	free(v);
	if (!err)
		return 1;
	return err == -ENOENT ? 0 : err;
}

int sampler__stop(struct sampler *s)
{
	sampler__detach(s);
	return drain(s);
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	/* Stop the producers before the consumer goes away. */
	sampler__detach(s);
	ring_buffer__free(s->rb);
	free(s->pending);
	free(s->cpu_vals);
	sampler_bpf__destroy(s->skel);
	free(s->perf_links);
	free(s);
}
