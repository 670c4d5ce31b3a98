// SPDX-License-Identifier: Apache-2.0
/* The profile builder's cost: samples per second encoded on one core (add
 * and flush into an ExportProfilesServiceRequest) and the bytes per sample
 * a request takes on the wire, gzip'd as the OTLP exporter sends it.
 *
 * The samples are synthetic but shaped like a host's: 200 processes of 40
 * programs (each process its own address layout, a quarter of them in
 * containers), deep user stacks (16 to 48 frames) with shared roots and
 * some inlined frames, kernel stacks under a third of the call paths, and
 * a CPU share that follows a power law (a few busy processes, a long tail
 * of nearly idle ones).
 *
 * Usage: encode_bench [SECONDS_PER_SCENARIO [FILE]]; FILE gets the last
 * request of the first scenario (protoc-c --decode reads it).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/gzip.h"
#include "lib/rand.h"
#include "receiver/profile/profile.h"

#define NPROGRAMS 40
#define NPROCS 200
#define NPATHS 40 /* distinct call paths per process */
#define NKPATHS 24 /* distinct kernel call paths */
#define MAX_THREADS 8
#define FUNCS_PER_PROGRAM 400
#define NLIBS 3

static uint32_t rng_below(struct rand64 *r, uint32_t n)
{
	return (uint32_t)rand64__below(r, n);
}

/* Zipf-like choice among @n by cumulative weights @cdf. */
static uint32_t pick(struct rand64 *r, const double *cdf, uint32_t n)
{
	double u = (rand64__next(r) >> 11) * (1.0 / 9007199254740992.0);
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void zipf_cdf(double *cdf, uint32_t n, double s)
{
	double sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++)
		sum += 1.0 / pow(i + 1, s);
	for (i = 0; i < n; i++)
		cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / pow(i + 1, s) / sum;
	cdf[n - 1] = 1.0;
}

struct path {
	struct sym_frame *frames;
	uint32_t nframes, nkernel;
};

struct program {
	char path[64];
	char *funcs[FUNCS_PER_PROGRAM];
	uint8_t build_id[20];
	struct path paths[NPATHS];
};

struct bproc {
	struct proc proc;
	const struct program *prog;
	struct mapping maps[1 + NLIBS];
	uint32_t tids[MAX_THREADS];
	char comms[MAX_THREADS][16];
	uint32_t nthreads;
};

struct world {
	struct program progs[NPROGRAMS];
	struct bproc procs[NPROCS];
	char *lib_funcs[NLIBS][200];
	uint8_t lib_build_ids[NLIBS][20];
	struct sym_frame kpaths[NKPATHS][16];
	uint32_t kpath_len[NKPATHS];
};

static const char *const lib_paths[NLIBS] = {
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
	"/usr/lib/x86_64-linux-gnu/libssl.so.3",
};

static char *name(struct rand64 *r, const char *prefix, uint32_t i)
{
	static const char *const words[] = {
		"request", "handle", "process", "buffer", "parse",  "encode",
		"decode",  "worker", "queue",	"flush",  "update", "lookup",
		"insert",  "hash",   "compare", "render", "commit", "poll",
	};
	char buf[128];

	snprintf(buf, sizeof(buf), "%s::%s_%s_%u", prefix,
		 words[rng_below(r, 18)], words[rng_below(r, 18)], i);
	return strdup(buf);
}

static void program_paths(struct world *w, struct program *prog,
			  struct rand64 *r);

static void world_build(struct world *w, struct rand64 *r)
{
	static const char *const kfuncs[] = {
		"entry_SYSCALL_64_after_hwframe",
		"do_syscall_64",
		"__x64_sys_read",
		"ksys_read",
		"vfs_read",
		"new_sync_read",
		"sock_read_iter",
		"tcp_recvmsg",
		"__x64_sys_epoll_wait",
		"do_epoll_wait",
		"ep_poll",
		"schedule_hrtimeout_range",
		"__x64_sys_futex",
		"do_futex",
		"futex_wait",
		"__schedule",
		"__x64_sys_write",
		"vfs_write",
		"ext4_file_write_iter",
		"generic_perform_write",
		"copy_user_enhanced_fast_string",
		"asm_exc_page_fault",
		"exc_page_fault",
		"handle_mm_fault",
		"clear_page_erms",
		"asm_sysvec_apic_timer_interrupt",
	};
	uint32_t i, j, k, d;

	for (i = 0; i < NLIBS; i++) {
		for (j = 0; j < 200; j++)
			w->lib_funcs[i][j] = name(r, "lib", j);
		for (j = 0; j < 20; j++)
			w->lib_build_ids[i][j] = (uint8_t)rand64__next(r);
	}
	for (i = 0; i < NKPATHS; i++) {
		w->kpath_len[i] = 4 + rng_below(r, 12);
		for (j = 0; j < w->kpath_len[i]; j++) {
			/* Innermost first, the syscall entry last. */
			d = w->kpath_len[i] - 1 - j;
			k = d < 2 ? d : 2 + rng_below(r, 24);
			w->kpaths[i][j] = (struct sym_frame){
				.addr = 0xffffffff81000000ULL + k * 0x1000 +
					rng_below(r, 0x400),
				.kind = FRAME_KERNEL,
				.name = kfuncs[k],
				.system_name = kfuncs[k],
				.module = "vmlinux",
			};
		}
	}
	for (i = 0; i < NPROGRAMS; i++) {
		struct program *p = &w->progs[i];

		snprintf(p->path, sizeof(p->path), "/usr/bin/program%u", i);
		for (j = 0; j < FUNCS_PER_PROGRAM; j++)
			p->funcs[j] = name(r, "app", j);
		for (j = 0; j < 20; j++)
			p->build_id[j] = (uint8_t)rand64__next(r);
		program_paths(w, p, r);
	}
	for (i = 0; i < NPROCS; i++) {
		struct bproc *bp = &w->procs[i];
		const struct program *prog = &w->progs[i % NPROGRAMS];
		uint64_t base = 0x550000000000ULL +
				((uint64_t)rng_below(r, 1 << 20) << 12);
		uint64_t lbase = 0x7f0000000000ULL +
				 ((uint64_t)rng_below(r, 1 << 24) << 12);

		bp->prog = prog;
		bp->proc.tgid = 1000 + i * 7;
		bp->proc.start_ns = 1000000ULL * (i + 1);
		bp->proc.exe_path = prog->path;
		bp->proc.facts_gen = 1;
		bp->proc.maps_reads = 1;
		bp->proc.aspace_id = rand64__next(r);
		if (i % 4 == 0)
			for (j = 0; j < 64; j++)
				bp->proc.container_id[j] =
					"0123456789abcdef"[(i / 4 * 7 + j * 3) %
							   16];
		bp->maps[0] = (struct mapping){ .start = base,
						.end = base + 0x400000,
						.offset = 0x1000,
						.inode = 100 + i % NPROGRAMS,
						.dev_major = 8,
						.path = prog->path };
		for (j = 0; j < NLIBS; j++)
			bp->maps[1 + j] = (struct mapping){
				.start = lbase + j * 0x1000000,
				.end = lbase + j * 0x1000000 + 0x200000,
				.offset = 0x28000,
				.inode = 10 + j,
				.dev_major = 8,
				.path = lib_paths[j],
			};
		bp->nthreads = 1 + rng_below(r, MAX_THREADS);
		for (j = 0; j < bp->nthreads; j++) {
			bp->tids[j] = bp->proc.tgid + j;
			char comm[sizeof(bp->comms[j])];

			/* Through a local: gcc cannot tell that prog->path
			 * is no part of bp (-Wrestrict). */
			snprintf(comm, sizeof(comm), "%.10s-%u", prog->path + 9,
				 j % 10);
			memcpy(bp->comms[j], comm, sizeof(comm));
		}
	}
}

/* A program's call paths share a spine from main: a path leaves it at some
 * depth and goes on through its own functions, into a library at the leaf
 * end. Frames hold offsets in their mapping (index in mapping) until a
 * process places them. */
static void program_paths(struct world *w, struct program *prog,
			  struct rand64 *r)
{
	uint32_t spine[48], depth, j, k;

	for (j = 0; j < 48; j++)
		spine[j] = rng_below(r, FUNCS_PER_PROGRAM);
	for (k = 0; k < NPATHS; k++) {
		struct path *pa = &prog->paths[k];
		uint32_t kp = rng_below(r, NKPATHS), nk = 0, n = 0;
		uint32_t split, lib = rng_below(r, NLIBS + 1);

		depth = 16 + rng_below(r, 33);
		split = depth / 3 + rng_below(r, depth - depth / 3);
		if (rng_below(r, 3) == 0)
			nk = w->kpath_len[kp];
		pa->frames = calloc(nk + depth * 2, sizeof(*pa->frames));
		for (j = 0; j < nk; j++)
			pa->frames[n++] = w->kpaths[kp][j];
		/* Innermost first: j counts from the leaf. */
		for (j = 0; j < depth; j++) {
			uint32_t level = depth - 1 - j, fn, mi;
			struct sym_frame f = { .kind = FRAME_NATIVE };
			const uint8_t *bid;
			const char *nm;

			if (j < 3 && lib < NLIBS) {
				mi = 1 + lib;
				fn = rng_below(r, 200);
				nm = w->lib_funcs[lib][fn];
				bid = w->lib_build_ids[lib];
			} else {
				mi = 0;
				fn = level < split ?
					     spine[level] :
					     rng_below(r, FUNCS_PER_PROGRAM);
				nm = prog->funcs[fn];
				bid = prog->build_id;
			}
			f.addr = (uint64_t)fn * 0x400 +
				 (level < split ? level * 8 :
						  rng_below(r, 0x3f8));
			f.mapping = (const struct mapping *)(uintptr_t)mi;
			f.name = nm;
			f.system_name = nm;
			f.build_id = bid;
			f.build_id_len = 20;
			f.line = 10 + fn;
			/* One frame in eight has a function inlined into it:
			 * two frames, one address. */
			if (j > 0 && rng_below(r, 8) == 0) {
				struct sym_frame in = f;

				in.inlined = true;
				in.name = prog->funcs[(fn + 1) %
						      FUNCS_PER_PROGRAM];
				in.system_name = in.name;
				in.line = 5 + fn;
				pa->frames[n++] = in;
			}
			pa->frames[n++] = f;
		}
		pa->nframes = n;
		pa->nkernel = nk;
	}
}

/*
 * What the symbolizer hands the builder for call path @k of @bp: the
 * program's frames placed at the process's addresses, in one buffer that
 * stays hot, as the receiver's does.
 */
static uint32_t symbolize(const struct bproc *bp, uint32_t k,
			  struct sym_frame *out, uint32_t *ret_nkernel)
{
	const struct path *tp = &bp->prog->paths[k];
	uint32_t j;

	for (j = 0; j < tp->nframes; j++) {
		out[j] = tp->frames[j];
		if (out[j].kind == FRAME_NATIVE) {
			const struct mapping *m =
				&bp->maps[(uintptr_t)tp->frames[j].mapping];

			out[j].addr += m->start;
			out[j].mapping = m;
			out[j].module = m->path;
		}
	}
	*ret_nkernel = tp->nkernel;
	return tp->nframes;
}

struct pick {
	uint16_t proc, path, thread;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bytes the OTLP exporter sends: its own gzip (0 when out of memory). */
static size_t gzip_size(const void *buf, size_t len)
{
	size_t n = 0;
	void *gz;

	if (gzip__compress(buf, len, &gz, &n))
		return 0;
	free(gz);
	return n;
}

struct scenario {
	const char *name;
	uint32_t hz, cpus, seconds;
	/* Zipf exponents of the CPU share of the processes and of the call
	 * paths within a process; 0: all alike. */
	double proc_skew, path_skew;
};

static void dump(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void run(struct world *w, const struct scenario *sc, double budget_s,
		const char *dump_path)
{
	struct profile_builder_opts o = { .sz = sizeof(o),
					  .host_name = "bench-host-01",
					  .freq_hz = sc->hz };
	uint32_t per_interval = sc->hz * sc->cpus * sc->seconds, i;
	uint64_t samples = 0, raw = 0, gz = 0, procs = 0, stacks = 0;
	double t_add = 0, t_flush = 0, t0, t1;
	struct profile_builder_stats st;
	struct profile_builder *b;
	struct rand64 r = { .state = 0x1234567 };
	uint64_t ts = 1000000000000ULL, intervals = 0;
	static struct sym_frame hot[256];
	double proc_cdf[NPROCS], path_cdf[NPATHS];
	static volatile uint32_t sink;
	struct pick *picks;
	uint32_t nkernel;
	double t_base;
	void *buf;
	size_t len;

	b = profile_builder__new(&o);
	if (!b) {
		perror("profile_builder__new");
		exit(1);
	}
	picks = calloc(per_interval, sizeof(*picks));
	zipf_cdf(proc_cdf, NPROCS, sc->proc_skew);
	zipf_cdf(path_cdf, NPATHS, sc->path_skew);
	while (t_add + t_flush < budget_s || intervals < 3) {
		for (i = 0; i < per_interval; i++) {
			uint32_t pi = pick(&r, proc_cdf, NPROCS);

			picks[i].proc = pi;
			picks[i].thread = rng_below(&r, w->procs[pi].nthreads);
			picks[i].path = pick(&r, path_cdf, NPATHS);
		}
		/* What symbolizing costs the bench, without the builder:
		 * subtracted below. */
		t0 = cpu_now();
		for (i = 0; i < per_interval; i++)
			sink += symbolize(&w->procs[picks[i].proc],
					  picks[i].path, hot, &nkernel);
		t_base = cpu_now() - t0;

		t0 = cpu_now();
		for (i = 0; i < per_interval; i++) {
			struct bproc *bp = &w->procs[picks[i].proc];
			uint32_t th = picks[i].thread;
			struct sym_sample s = {
				.tgid = bp->proc.tgid,
				.tid = bp->tids[th],
				.cpu = i % sc->cpus,
				.ts_ns = ts,
				.start_ns = bp->proc.start_ns,
				.comm = bp->comms[th],
				.pcomm = bp->comms[0],
				.proc = &bp->proc,
				.frames = hot,
			};

			s.nframes =
				symbolize(bp, picks[i].path, hot, &s.nkernel);
			ts += 1000000000ULL / sc->hz / sc->cpus;
			profile_builder__add(b, &s);
		}
		t1 = cpu_now();
		profile_builder__stats(b, &st);
		procs += st.processes;
		stacks += st.stacks;
		if (profile_builder__flush(b, &buf, &len)) {
			perror("flush");
			exit(1);
		}
		t_add += t1 - t0 > t_base ? t1 - t0 - t_base : 0;
		t_flush += cpu_now() - t1;
		raw += len;
		gz += gzip_size(buf, len);
		if (dump_path)
			dump(dump_path, buf, len);
		free(buf);
		samples += per_interval;
		intervals++;
	}
	profile_builder__stats(b, &st);
	printf("%-38s %7u %6.1f %7.1f %10.0f %6.0f %6.0f %7.1f %6.1f\n",
	       sc->name, per_interval, (double)procs / intervals,
	       (double)stacks / intervals, samples / (t_add + t_flush),
	       t_add * 1e9 / samples, t_flush * 1e9 / samples,
	       (double)raw / samples, (double)gz / samples);
	if (st.samples_overflow || st.dropped_samples || st.dropped_events ||
	    st.dropped_processes)
		printf("  (bounds reached: overflow %llu, dropped %llu)\n",
		       (unsigned long long)st.samples_overflow,
		       (unsigned long long)(st.dropped_samples +
					    st.dropped_events +
					    st.dropped_processes));
	profile_builder__free(b);
	free(picks);
}

int main(int argc, char **argv)
{
	static const struct scenario scenarios[] = {
		{ "19 Hz x 2 CPUs x 5 s, skewed", 19, 2, 5, 1.2, 1.0 },
		{ "19 Hz x 2 CPUs x 5 s, flat", 19, 2, 5, 0, 0 },
		{ "19 Hz x 2 CPUs x 5 s, busy services", 19, 2, 5, 2.0, 2.0 },
		{ "99 Hz x 8 CPUs x 5 s, skewed", 99, 8, 5, 1.2, 1.0 },
		{ "99 Hz x 64 CPUs x 5 s, skewed", 99, 64, 5, 1.2, 1.0 },
		{ "999 Hz x 64 CPUs x 5 s, skewed", 999, 64, 5, 1.2, 1.0 },
	};

	double budget = argc > 1 ? atof(argv[1]) : 2.0;
	const char *dump_path = argc > 2 && *argv[2] ? argv[2] : NULL;
	const char *only = getenv("ENCODE_BENCH_ONLY"); /* 1-based */
	struct world *w = calloc(1, sizeof(*w));
	struct rand64 r = { .state = 42 };
	size_t i;

	world_build(w, &r);
	printf("profile builder: %d processes of %d programs, %d call paths each, "
	       "16-48 user frames (+ inlines), kernel stacks under a third\n"
	       "skewed: CPU share of the processes Zipf(1.2), of the call paths "
	       "Zipf(1.0); busy services: both Zipf(2.0); flat: all alike\n"
	       "samples/s: add + flush on one core (CPU time); add, fl: ns per "
	       "sample; B: request bytes per sample, raw and gzip'd (level 6)\n\n",
	       NPROCS, NPROGRAMS, NPATHS);
	printf("%-38s %7s %6s %7s %10s %6s %6s %7s %6s\n", "interval",
	       "samples", "procs", "stacks", "samples/s", "add ns", "fl ns",
	       "B/smpl", "gz B");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!only || (size_t)atoi(only) == i + 1)
			run(w, &scenarios[i], budget, i ? NULL : dump_path);
	return 0;
}
