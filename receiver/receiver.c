/* The receiver: sampler records in, symbolized samples out. Samples, execs
 * and exits arrive in the order they happened, so a sample is always
 * symbolized against the mappings of its own address space, and an exit is
 * handled only after every sample taken before it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/sampler.h"
#include "lib/clock.h"
#include "receiver/receiver.h"

/* Frames of one sample: every address, plus inlined functions, within a
 * bound (the outermost frame of an address is always kept). */
#define RECEIVER_MAX_FRAMES 1024

struct receiver {
	struct receiver_config cfg;
	const struct receiver_sink *sink;
	const struct tg_logger *log;

	struct sampler *sampler;
	struct proctab *procs;
	struct symbolizer *sym;

	uint64_t next_sweep_ns;
	uint64_t records;
	uint64_t records_malformed;
	uint64_t samples;
	uint64_t samples_stale;

	/* Scratch for one sample, so the hot path does not allocate. */
	struct sym_frame frames[RECEIVER_MAX_FRAMES];
	const struct mapping *mappings[TGPROF_MAX_STACK_DEPTH];
};

void receiver_config__defaults(struct receiver_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->freq_hz = 19;
	cfg->kernel_stacks = true;
	cfg->sweep_interval_ns = 10 * NSEC_PER_SEC;
	cfg->maps_reread_interval_ns = 250 * NSEC_PER_MSEC;
	cfg->exit_grace_ns = 2 * NSEC_PER_SEC;
	cfg->max_processes = 16384;
	cfg->max_symbol_files = 512;
	cfg->proc_root = "/proc";
	cfg->kallsyms_path = "/proc/kallsyms";
	cfg->max_symbol_bytes = 256u << 20;
}

/* Junk that frame-pointer unwinding through code without frame pointers
 * produces: never a user code address. */
static bool plausible_user_addr(uint64_t addr)
{
	return addr >= 4096 && addr < (1ULL << 56);
}

/*
 * Finds the mapping of every user frame. A miss may re-read the maps, which
 * frees the mappings found so far, so at most one re-read happens per
 * sample and the lookups are redone after it.
 */
static void resolve_mappings(struct receiver *r, struct proc *p, uint32_t tid,
			     const __u64 *ustack, uint32_t ulen, uint64_t ts_ns)
{
	const struct maps *before = p->maps;
	bool reread = false;
	uint32_t i;

	for (i = 0; i < ulen; i++) {
		r->mappings[i] = maps__find(p->maps, ustack[i]);
		if (r->mappings[i] || reread || !plausible_user_addr(ustack[i]))
			continue;
		r->mappings[i] = proctab__find_mapping(r->procs, p, tid,
						       ustack[i], ts_ns);
		reread = true;
	}
	if (p->maps == before)
		return;
	for (i = 0; i < ulen; i++)
		r->mappings[i] = maps__find(p->maps, ustack[i]);
}

static void handle_sample(struct receiver *r, const struct tgprof_sample *s)
{
	bool kthread = s->flags & TGPROF_SAMPLE_KTHREAD;
	struct sym_sample out = { 0 };
	char comm[TGPROF_COMM_LEN + 1], pcomm[TGPROF_COMM_LEN + 1];
	uint32_t i, n = 0, nkernel, klen, ulen;
	struct proc *p;
	int err = -ENOENT;

	/* The kernel NUL-terminates, but never trust a length from a ring. */
	memcpy(comm, s->hdr.comm, TGPROF_COMM_LEN);
	comm[TGPROF_COMM_LEN] = '\0';
	memcpy(pcomm, s->pcomm, TGPROF_COMM_LEN);
	pcomm[TGPROF_COMM_LEN] = '\0';
	klen = s->kstack_len < TGPROF_MAX_STACK_DEPTH ? s->kstack_len :
							TGPROF_MAX_STACK_DEPTH;
	ulen = s->ustack_len < TGPROF_MAX_STACK_DEPTH ? s->ustack_len :
							TGPROF_MAX_STACK_DEPTH;

	p = proctab__get(r->procs, s->hdr.tgid, s->hdr.start_ns, pcomm, kthread,
			 s->hdr.ts_ns);

	for (i = 0; i < klen; i++)
		n += symbolizer__kernel(r->sym, s->kstack[i], &r->frames[n],
					RECEIVER_MAX_FRAMES - n);
	nkernel = n;

	if (p && !kthread && ulen) {
		err = proctab__prepare(r->procs, p, s->hdr.tid, s->aspace_id,
				       s->hdr.ts_ns);
		if (err == -ESTALE)
			r->samples_stale++;
	}
	if (!err)
		resolve_mappings(r, p, s->hdr.tid, s->ustack, ulen,
				 s->hdr.ts_ns);
	else
		memset(r->mappings, 0, sizeof(r->mappings[0]) * ulen);
	for (i = 0; i < ulen; i++) {
		/* Room for the rest of the addresses, one frame each. */
		size_t room = RECEIVER_MAX_FRAMES - n - (ulen - 1 - i);

		n += symbolizer__user(r->sym, s->hdr.tgid, s->hdr.tid,
				      r->mappings[i], s->ustack[i], i > 0,
				      &r->frames[n], room);
	}

	out.tgid = s->hdr.tgid;
	out.tid = s->hdr.tid;
	out.cpu = s->hdr.cpu;
	out.ts_ns = s->hdr.ts_ns;
	out.start_ns = s->hdr.start_ns;
	out.comm = comm;
	out.pcomm = p ? p->comm : pcomm;
	out.proc = p;
	out.frames = r->frames;
	out.nframes = n;
	out.nkernel = nkernel;
	r->samples++;
	if (r->sink && r->sink->on_sample)
		r->sink->on_sample(r->sink->ctx, &out);
	symbolizer__next_epoch(r->sym);
}

static void on_record(void *ctx, const void *data, size_t len)
{
	const struct tgprof_rec_hdr *hdr = data;
	struct receiver *r = ctx;

	r->records++;
	if (len < sizeof(*hdr))
		goto malformed;

	switch (hdr->type) {
	case TGPROF_REC_SAMPLE:
		if (len < sizeof(struct tgprof_sample))
			goto malformed;
		handle_sample(r, data);
		return;
	case TGPROF_REC_EXEC: {
		const struct tgprof_exec *e = data;
		char comm[TGPROF_COMM_LEN + 1];

		if (len < sizeof(*e))
			goto malformed;
		memcpy(comm, hdr->comm, TGPROF_COMM_LEN);
		comm[TGPROF_COMM_LEN] = '\0';
		proctab__on_exec(r->procs, hdr->tgid, hdr->start_ns, comm,
				 hdr->ts_ns);
		return;
	}
	case TGPROF_REC_EXIT: {
		const struct tgprof_exit *e = data;

		if (len < sizeof(*e))
			goto malformed;
		proctab__on_exit(r->procs, hdr->tgid, hdr->start_ns,
				 e->flags & TGPROF_EXIT_LEADER,
				 e->flags & TGPROF_EXIT_GROUP_DEAD, hdr->ts_ns);
		return;
	}
	}
malformed:
	r->records_malformed++;
}

struct receiver *receiver__new(const struct receiver_config *cfg,
			       const struct receiver_sink *sink,
			       const struct tg_logger *log)
{
	struct proctab_opts popts = { .sz = sizeof(popts) };
	struct receiver *r;
	int err;

	if (!cfg || !cfg->freq_hz) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->cfg = *cfg;
	r->sink = sink;
	r->log = log;

	popts.proc_root = cfg->proc_root;
	popts.max_processes = cfg->max_processes;
	popts.reread_interval_ns = cfg->maps_reread_interval_ns;
	popts.exit_grace_ns = cfg->exit_grace_ns;
	r->procs = proctab__new(&popts, log);
	if (!r->procs) {
		err = errno;
		goto err_free;
	}
	return r;

err_free:
	receiver__free(r);
	errno = err;
	return NULL;
}

int receiver__start(struct receiver *r)
{
	struct symbolizer_opts sopts = { .sz = sizeof(sopts) };
	struct sampler_opts opts = { .sz = sizeof(opts) };

	if (r->sampler)
		return -EALREADY;

	/* Kernel symbols first: loading kallsyms takes a while and must not
	 * hold up the drain once the sampler runs. */
	sopts.proc_root = r->cfg.proc_root;
	sopts.kallsyms_path = r->cfg.kallsyms_path;
	sopts.kernel = r->cfg.kernel_stacks;
	sopts.max_files = r->cfg.max_symbol_files;
	sopts.max_bytes = r->cfg.max_symbol_bytes;
	r->sym = symbolizer__new(&sopts, r->log);
	if (!r->sym)
		return -errno;

	opts.freq_hz = r->cfg.freq_hz;
	if (r->cfg.filter_tgid) {
		opts.include_tgids = &r->cfg.filter_tgid;
		opts.n_include_tgids = 1;
	}
	opts.kernel_stacks = r->cfg.kernel_stacks;
	opts.include_idle = r->cfg.include_idle;
	opts.ringbuf_bytes = r->cfg.ringbuf_bytes;
	r->sampler = sampler__new(&opts, on_record, r, r->log);
	if (!r->sampler)
		return -errno;

	if (r->cfg.sweep_interval_ns)
		r->next_sweep_ns = boot_ns() + r->cfg.sweep_interval_ns;
	return 0;
}

int receiver__poll(struct receiver *r, int timeout_ms)
{
	uint64_t now;
	int n;

	if (!r->sampler)
		return -EINVAL;
	n = sampler__poll(r->sampler, timeout_ms);
	now = boot_ns();
	proctab__reap(r->procs, now);
	if (r->next_sweep_ns && now >= r->next_sweep_ns) {
		proctab__sweep(r->procs, now);
		r->next_sweep_ns = now + r->cfg.sweep_interval_ns;
	}
	return n;
}

void receiver__sweep(struct receiver *r)
{
	uint64_t now = boot_ns();

	proctab__reap(r->procs, now);
	proctab__sweep(r->procs, now);
}

void receiver__stats(const struct receiver *r, struct receiver_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (r->sampler)
		sampler__counters(r->sampler, &ret->sampler);
	proctab__stats(r->procs, &ret->procs);
	if (r->sym)
		symbolizer__stats(r->sym, &ret->sym);
	ret->records = r->records;
	ret->records_malformed = r->records_malformed;
	ret->samples = r->samples;
	ret->samples_stale = r->samples_stale;
}

const struct proctab *receiver__proctab(const struct receiver *r)
{
	return r->procs;
}

void receiver__free(struct receiver *r)
{
	if (!r)
		return;
	/* The sampler first: no record may arrive into freed tables. */
	sampler__free(r->sampler);
	symbolizer__free(r->sym);
	proctab__free(r->procs);
	free(r);
}
