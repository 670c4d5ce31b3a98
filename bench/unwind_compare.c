// SPDX-License-Identifier: Apache-2.0
/* Stack walking side by side: the share of samples whose user stack is
 * complete, for programs built without frame pointers and for a Go
 * program (as built, -s -w, and -s -w with cgo), from tgprof's table
 * walk, tgprof with frame pointers only, perf record --call-graph dwarf,
 * perf record -g and the OpenTelemetry eBPF profiler (bench/peers/
 * otel-profiler, whole host, its OTLP read back from its sink), all five
 * recording the same run of each workload; the BPF
 * sampler's cost per sample for the table walk and for frame pointers (the
 * kernel's BPF statistics, both sampling the same CPUs at once); the user
 * CPU compiling tables costs at start-up on this host; and the kernel memory
 * the tables take for every executable mapping on this host.
 *
 * Usage: sudo unwind_compare [SECONDS [HZ]] (defaults 6, 99), from the
 * build directory (it runs fixtures/ from there). Prints figures; gates
 * nothing. */
#include <dirent.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "receiver/processes/procfs.h"
#include "receiver/processes/proctab.h"
#include "receiver/receiver.h"
#include "receiver/sampler/sampler.h"
#include "receiver/unwind/loader.h"

#define MAX_DEPTHS 65536
#define XZ_DATA "/tmp/tgprof-unwind-bench.txt"
#define PY_SCRIPT "/tmp/tgprof-unwind-bench.py"

static void die(const char *what)
{
	fprintf(stderr, "unwind_compare: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- counting complete stacks --------------------------------------------- */

struct tally {
	pid_t pid;
	const char *root;
	uint64_t samples, complete;
	uint32_t *depths; /* user frames per sample */
	size_t ndepths;
};

/* A frame named @root: Go's .symtab names an assembly function with its
 * ABI (runtime.goexit.abi0), its function table without. */
static bool is_root(const char *name, const char *root)
{
	size_t n = strlen(root);

	return name && !strncmp(name, root, n) &&
	       (!name[n] || !strcmp(name + n, ".abi0"));
}

static void tally_sample(void *ctx, const struct sym_sample *s)
{
	struct tally *t = ctx;
	uint32_t i;

	if (s->tgid != (uint32_t)t->pid)
		return;
	t->samples++;
	for (i = s->nkernel; i < s->nframes; i++)
		if (is_root(s->frames[i].name, t->root)) {
			t->complete++;
			break;
		}
	if (t->ndepths < MAX_DEPTHS)
		t->depths[t->ndepths++] = s->nframes - s->nkernel;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t median(uint32_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

/* perf script's samples of @pid: a header line ("PID"), then one
 * "\t ip sym" line per frame, then a blank line. */
static void tally_perf(const char *data, struct tally *t)
{
	char cmd[512], line[4096], sym[1024];
	bool in = false, found = false;
	uint32_t depth = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "perf script -i %s -F pid,ip,sym 2>/dev/null", data);
	f = popen(cmd, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (line[strspn(line, " \t")] == '\n') {
			if (in) {
				t->samples++;
				t->complete += found;
				if (t->ndepths < MAX_DEPTHS)
					t->depths[t->ndepths++] = depth;
			}
			in = found = false;
			depth = 0;
			continue;
		}
		if (line[0] != '\t') { /* the header: "PID" */
			in = atoi(line) == t->pid;
			continue;
		}
		if (!in || sscanf(line, " %*s %1023s", sym) != 1)
			continue;
		depth++;
		*strchrnul(sym, '+') = '\0';
		if (is_root(sym, t->root))
			found = true;
	}
	pclose(f);
}

/* ---- the OpenTelemetry eBPF profiler ------------------------------------- */

/* It sends native frames as ELF addresses and file basenames: the files
 * the workload mapped (read from its maps while it runs) give the paths,
 * libdwfl the names (separate debug files found by build-id, as for
 * libc's __libc_start_call_main). */
#define OTEL_RUN "/tmp/tgprof-bench-otel"
#define OTEL_SAMPLES OTEL_RUN "/samples.txt"
#define MAX_FILES 64

struct otel_file {
	char path[PATH_MAX];
	const char *base;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
};

struct otel_files {
	struct otel_file f[MAX_FILES];
	size_t n;
};

static void otel_files__read_maps(struct otel_files *fs, pid_t pid)
{
	char path[64], line[PATH_MAX + 128], *file;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && fs->n < MAX_FILES) {
		file = strchr(line, '/');
		if (!file || !strstr(line, " r-xp "))
			continue;
		file[strcspn(file, "\n")] = '\0';
		for (i = 0; i < fs->n && strcmp(fs->f[i].path, file); i++)
			;
		if (i < fs->n)
			continue;
		snprintf(fs->f[fs->n].path, PATH_MAX, "%s", file);
		fs->f[fs->n].base = strrchr(fs->f[fs->n].path, '/') + 1;
		fs->n++;
	}
	fclose(f);
}

static void otel_files__free(struct otel_files *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->f[i].dwfl)
			dwfl_end(fs->f[i].dwfl);
	fs->n = 0;
}

/* The function of ELF address @addr in the mapped file named @base. */
static const char *otel_files__name(struct otel_files *fs, const char *base,
				    uint64_t addr)
{
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	struct otel_file *f = NULL;
	size_t i;

	for (i = 0; i < fs->n && !f; i++)
		if (!strcmp(fs->f[i].base, base))
			f = &fs->f[i];
	if (!f)
		return NULL;
	if (!f->dwfl) {
		f->dwfl = dwfl_begin(&cb);
		if (!f->dwfl)
			return NULL;
		f->mod = dwfl_report_offline(f->dwfl, f->base, f->path, -1);
		dwfl_report_end(f->dwfl, NULL, NULL);
		if (f->mod)
			dwfl_module_getelf(f->mod, &f->bias);
	}
	return f->mod ? dwfl_module_addrname(f->mod, addr + f->bias) : NULL;
}

/* The sink's samples of @pid from byte @from of its file: "S pid tid
 * count nframes comm", then one "F type address file start limit offset
 * function" line per frame, leaf first (bench/peers/otel-profiler). */
static void tally_otel(long from, struct otel_files *fs, struct tally *t)
{
	char line[PATH_MAX + 256], type[32], file[PATH_MAX], fn[1024];
	unsigned long long addr, count = 0;
	uint32_t depth = 0, nframe = 0;
	bool in = false, found = false;
	const char *name;
	FILE *f;
	int pid;

	f = fopen(OTEL_SAMPLES, "re");
	if (!f || fseek(f, from, SEEK_SET)) {
		if (f)
			fclose(f);
		return;
	}
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);

		if ((eof || line[0] == 'S') && in) {
			t->samples += count;
			t->complete += found ? count : 0;
			for (; count && t->ndepths < MAX_DEPTHS; count--)
				t->depths[t->ndepths++] = depth;
		}
		if (eof)
			break;
		if (line[0] == 'S') {
			in = sscanf(line, "S\t%d\t%*s\t%llu", &pid, &count) ==
				     2 &&
			     pid == t->pid;
			found = false;
			depth = nframe = 0;
			continue;
		}
		if (!in ||
		    sscanf(line,
			   "F\t%31[^\t]\t%llx\t%4095[^\t]\t%*s\t%*s\t%*s\t%1023[^\n]",
			   type, &addr, file, fn) != 4)
			continue;
		if (!strcmp(type, "kernel"))
			continue;
		depth++;
		/* Frames after the innermost are return addresses. */
		name = strcmp(type, "native") ?
			       fn :
			       otel_files__name(fs, file, addr - !!nframe++);
		if (is_root(name, t->root))
			found = true;
	}
	fclose(f);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (long)st.st_size;
}

/* Starts the profiler whole-host (the harness builds it on first use). */
static bool otel_start(uint32_t hz)
{
	char cmd[1024];

	snprintf(
		cmd, sizeof(cmd),
		"'%s' stop %s 2>/dev/null; '%s' start '%s' %s --hz %u --interval 1s",
		OTEL_PEER_SCRIPT, OTEL_RUN, OTEL_PEER_SCRIPT, OTEL_PEER_DIR,
		OTEL_RUN, hz);
	return !system(cmd);
}

static void otel_stop(void)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "'%s' stop %s", OTEL_PEER_SCRIPT, OTEL_RUN);
	if (system(cmd))
		fprintf(stderr,
			"unwind_compare: stopping the profiler failed\n");
}

/* It reports once a second: two reports after the workload exited carry
 * all of its samples. Without reports (an idle host) it gives up at 6 s. */
static void otel_wait_reports(void)
{
	uint64_t end = boot_ns() + 6 * NSEC_PER_SEC;
	long size = file_size(OTEL_SAMPLES), now;
	int grew = 0;

	while (grew < 2 && boot_ns() < end) {
		usleep(50000);
		now = file_size(OTEL_SAMPLES);
		grew += now != size;
		size = now;
	}
}

/* ---- processes -------------------------------------------------------------- */

struct child {
	pid_t pid;
	int go; /* closing it lets the child exec */
};

static void child_start(struct child *c, char *const argv[], bool quiet)
{
	int p[2], null;
	char x;

	if (pipe2(p, O_CLOEXEC))
		die("pipe");
	c->pid = fork();
	if (c->pid < 0)
		die("fork");
	if (!c->pid) {
		close(p[1]);
		while (read(p[0], &x, 1) < 0 && errno == EINTR)
			;
		if (quiet) {
			null = open("/dev/null", O_WRONLY);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	c->go = p[1];
}

static void child_go(struct child *c)
{
	close(c->go);
	c->go = -1;
}

static bool child_done(struct child *c, int *status)
{
	return waitpid(c->pid, status, WNOHANG) == c->pid;
}

static void wait_for_file(const char *path, int timeout_ms)
{
	uint64_t end = boot_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	struct stat st;

	while (boot_ns() < end) {
		if (!stat(path, &st) && st.st_size > 0)
			break;
		usleep(20000);
	}
	/* perf writes its header before its events are enabled. */
	usleep(300000);
}

/* ---- the workloads ---------------------------------------------------------- */

struct workload {
	const char *name;
	char *argv[8];
	const char *root; /* the frame a complete stack reaches */
};

/* xz -9e -T1 compresses about 0.9 MB/s here: @secs seconds of input. */
static void write_inputs(int secs)
{
	static const char script[] =
		"import sys, time\n"
		"def f(n):\n"
		"    if n == 0:\n"
		"        t = time.monotonic()\n"
		"        while time.monotonic() - t < 0.002: pass\n"
		"        return 0\n"
		"    return f(n - 1) + 1\n"
		"end = time.monotonic() + float(sys.argv[1])\n"
		"while time.monotonic() < end:\n"
		"    f(40)\n";
	uint64_t x = 88172645463325252ULL;
	FILE *f;
	int i, j;

	f = fopen(XZ_DATA, "we");
	if (!f)
		die(XZ_DATA);
	for (i = 0; i < secs * 11000; i++) {
		for (j = 0; j < 80; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			fputc("abcdefghijklmnopqrstuvwxyz    .,"[x % 32], f);
		}
		fputc('\n', f);
	}
	fclose(f);
	f = fopen(PY_SCRIPT, "we");
	if (!f)
		die(PY_SCRIPT);
	fputs(script, f);
	fclose(f);
}

/* The sampling program's mean run time per sample it walked (not skipped
 * as idle or as another process), in microseconds. The skipped runs'
 * short time stays in the sum: an upper bound. */
static double per_sample_us(const struct sampler_counters *c)
{
	uint64_t skipped = c->samples_idle + c->samples_filtered;

	return c->bpf_runs > skipped ?
		       c->bpf_run_ns / 1e3 / (c->bpf_runs - skipped) :
		       0;
}

struct side {
	struct tally t;
	struct receiver *r;
	struct receiver_sink sink;
	struct receiver_stats st;
};

static void side_start(struct side *s, enum receiver_unwinder u, uint32_t hz,
		       pid_t only, const struct tg_logger *log)
{
	struct receiver_config cfg;

	receiver_config__defaults(&cfg);
	cfg.freq_hz = hz;
	cfg.filter_tgid = (uint32_t)only;
	cfg.unwinder = u;
	s->sink.on_sample = tally_sample;
	s->sink.ctx = &s->t;
	s->r = receiver__new(&cfg, &s->sink, log);
	if (!s->r || receiver__start(s->r))
		die("starting a receiver");
}

/* One run of @w recorded four ways at once, five with @otel running. */
static void run_workload(const struct workload *w, int secs, uint32_t hz,
			 const struct tg_logger *log, bool otel,
			 uint64_t bpf[2][2])
{
	char fsecs[16], fhz[16], dwarf[] = "/tmp/tgprof-bench-dwarf.data",
				 fp[] = "/tmp/tgprof-bench-fp.data";
	char spid[16];
	char *perf_dwarf[] = { "perf",	"record", "-q",	 "--call-graph",
			       "dwarf", "-F",	  fhz,	 "-p",
			       spid,	"-o",	  dwarf, "--",
			       "sleep", fsecs,	  NULL };
	char *perf_fp[] = { "perf", "record", "-q", "-g", "-F",	   fhz,	  "-p",
			    spid,   "-o",     fp,   "--", "sleep", fsecs, NULL };
	struct side a = { 0 }, b = { 0 };
	struct tally pd = { 0 }, pf = { 0 }, po = { 0 };
	struct otel_files files = { 0 };
	struct child work, p1, p2;
	uint64_t maps_at = 0;
	long otel_from;
	int status, i;

	snprintf(fsecs, sizeof(fsecs), "%d", secs + 2);
	snprintf(fhz, sizeof(fhz), "%u", hz);
	a.t.depths = calloc(MAX_DEPTHS, sizeof(uint32_t));
	b.t.depths = calloc(MAX_DEPTHS, sizeof(uint32_t));
	pd.depths = calloc(MAX_DEPTHS, sizeof(uint32_t));
	pf.depths = calloc(MAX_DEPTHS, sizeof(uint32_t));
	po.depths = calloc(MAX_DEPTHS, sizeof(uint32_t));
	if (!a.t.depths || !b.t.depths || !pd.depths || !pf.depths ||
	    !po.depths)
		die("calloc");

	/* The workload waits while everything attaches: its first samples
	 * come before tgprof has its tables. */
	child_start(&work, w->argv, true);
	a.t.pid = b.t.pid = pd.pid = pf.pid = po.pid = work.pid;
	a.t.root = b.t.root = pd.root = pf.root = po.root = w->root;
	snprintf(spid, sizeof(spid), "%d", work.pid);
	side_start(&a, RECEIVER_UNWIND_TABLES, hz, work.pid, log);
	side_start(&b, RECEIVER_UNWIND_FRAME_POINTER, hz, work.pid, log);
	unlink(dwarf);
	unlink(fp);
	child_start(&p1, perf_dwarf, true);
	child_start(&p2, perf_fp, true);
	child_go(&p1);
	child_go(&p2);
	wait_for_file(dwarf, 5000);
	wait_for_file(fp, 5000);
	otel_from = file_size(OTEL_SAMPLES);
	child_go(&work);
	maps_at = boot_ns() + NSEC_PER_SEC / 2;
	while (!child_done(&work, &status)) {
		receiver__poll(a.r, 10);
		receiver__poll(b.r, 10);
		/* Once the workload has loaded its libraries. */
		if (maps_at && boot_ns() > maps_at) {
			otel_files__read_maps(&files, work.pid);
			maps_at = 0;
		}
	}
	receiver__stop(a.r);
	receiver__stop(b.r);
	receiver__stats(a.r, &a.st);
	receiver__stats(b.r, &b.st);
	kill(p1.pid, SIGINT);
	kill(p2.pid, SIGINT);
	waitpid(p1.pid, &i, 0);
	waitpid(p2.pid, &i, 0);
	tally_perf(dwarf, &pd);
	tally_perf(fp, &pf);
	if (otel) {
		otel_wait_reports();
		tally_otel(otel_from, &files, &po);
	}

	printf("%-14s %7" PRIu64 " %7.1f%% %4u %7.1f%% %4u | %7" PRIu64
	       " %7.1f%% %4u %7.1f%% %4u | %7" PRIu64
	       " %7.1f%% %4u | %6.1f %6.1f\n",
	       w->name, a.t.samples,
	       a.t.samples ? 100.0 * a.t.complete / a.t.samples : 0,
	       median(a.t.depths, a.t.ndepths),
	       b.t.samples ? 100.0 * b.t.complete / b.t.samples : 0,
	       median(b.t.depths, b.t.ndepths), pd.samples,
	       pd.samples ? 100.0 * pd.complete / pd.samples : 0,
	       median(pd.depths, pd.ndepths),
	       pf.samples ? 100.0 * pf.complete / pf.samples : 0,
	       median(pf.depths, pf.ndepths), po.samples,
	       po.samples ? 100.0 * po.complete / po.samples : 0,
	       median(po.depths, po.ndepths), per_sample_us(&a.st.sampler),
	       per_sample_us(&b.st.sampler));
	bpf[0][0] += a.st.sampler.bpf_run_ns;
	bpf[0][1] += a.st.sampler.bpf_runs - a.st.sampler.samples_idle -
		     a.st.sampler.samples_filtered;
	bpf[1][0] += b.st.sampler.bpf_run_ns;
	bpf[1][1] += b.st.sampler.bpf_runs - b.st.sampler.samples_idle -
		     b.st.sampler.samples_filtered;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "  (%s exited with status %d)\n", w->name,
			status);
	receiver__free(a.r);
	receiver__free(b.r);
	free(a.t.depths);
	free(b.t.depths);
	free(pd.depths);
	free(pf.depths);
	free(po.depths);
	otel_files__free(&files);
	unlink(dwarf);
	unlink(fp);
}

/* ---- start-up and memory ------------------------------------------------------ */

static uint64_t kmem_usage(void)
{
	char line[512], path[1024];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *p = NULL;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, ":memory:")))
			break;
	fclose(f);
	if (!p)
		return 0;
	p += strlen(":memory:");
	p[strcspn(p, "\n")] = '\0';
	snprintf(path, sizeof(path),
		 "/sys/fs/cgroup/memory%s/memory.kmem.usage_in_bytes", p);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* "memlock:" of a BPF map fd, as bpftool map show reports it. */
static uint64_t memlock(int fd)
{
	char path[64], line[256];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void on_maps(void *ctx, struct proc *p, uint32_t tid)
{
	unwind_loader__set_process(ctx, p, tid);
}

static void on_gone(void *ctx, struct proc *p)
{
	unwind_loader__drop_process(ctx, p);
}

static void ignore(void *ctx, const void *rec, size_t len)
{
	(void)ctx;
	(void)rec;
	(void)len;
}

/* Every process on the host has its maps read and its tables loaded
 * (under the default bound): what the kernel holds for all of them. */
static void every_mapping(const struct tg_logger *log)
{
	struct unwind_loader_opts uo = { .sz = sizeof(uo) };
	struct sampler_opts so = { .sz = sizeof(so), .freq_hz = 1 };
	struct proctab_opts po = { .sz = sizeof(po) };
	struct proctab_observer obs = { on_maps, on_gone, NULL };
	struct sampler_unwind_maps m;
	struct unwind_loader_stats st;
	struct unwind_loader *ul;
	struct proc_stat pst;
	struct sampler *s;
	struct proctab *pt;
	struct dirent *d;
	uint64_t k0, k1, cpu0, procs = 0;
	DIR *dir;

	so.unwind_tables = true;
	unwind_loader__sizes(&uo, &so.unwind_sizes, NULL);
	s = sampler__new(&so, ignore, NULL, log);
	if (!s)
		die("sampler");
	sampler__unwind_maps(s, &m);
	k0 = kmem_usage();
	ul = unwind_loader__new(&uo, &m, log);
	obs.ctx = ul;
	po.observer = &obs;
	pt = proctab__new(&po, log);
	if (!ul || !pt)
		die("loader");
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	dir = opendir("/proc");
	while ((d = readdir(dir))) {
		uint32_t pid = (uint32_t)atoi(d->d_name);
		struct proc *p;

		if (!pid || procfs__read_stat("/proc", pid, 0, &pst) ||
		    !pst.start_code)
			continue;
		p = proctab__get(pt, pid, pst.start_ticks * 10000000ull,
				 pst.comm, false, boot_ns());
		if (p && !proctab__prepare(pt, p, pid, 0, boot_ns()))
			procs++;
	}
	closedir(dir);
	k1 = kmem_usage();
	unwind_loader__stats(ul, &st);
	printf("\nEvery executable mapping on this host (%" PRIu64
	       " processes), tables loaded once per file:\n",
	       procs);
	printf("  files with tables  %" PRIu64 " (%" PRIu64 " rows, %" PRIu64
	       " shared by build-id, %" PRIu64 " without CFI)\n",
	       st.files, st.rows, st.files_shared, st.files_no_cfi);
	printf("  tables (chunks + page index)   %8.2f MiB  (%.2f bytes per row)\n",
	       st.kernel_bytes / 1048576.0,
	       st.rows ? (double)st.kernel_bytes / st.rows : 0);
	printf("  file entries + process ranges  %8.2f MiB\n",
	       st.kernel_entry_bytes / 1048576.0);
	printf("  bucket arrays (fixed)          %8.2f MiB\n",
	       st.kernel_fixed_bytes / 1048576.0);
	printf("  bpftool memlock of the maps: chunks %.2f MiB, groups %.2f MiB, files %.2f MiB, procs %.2f + %.2f MiB\n",
	       memlock(m.chunks) / 1048576.0, memlock(m.groups) / 1048576.0,
	       memlock(m.files) / 1048576.0, memlock(m.procs_small) / 1048576.0,
	       memlock(m.procs_large) / 1048576.0);
	if (k0 && k1)
		printf("  memory cgroup kmem growth      %8.2f MiB\n",
		       ((double)k1 - (double)k0) / 1048576.0);
	printf("  user CPU: %.1f ms compiling, %.1f ms laying out and inserting, %.1f ms in all (maps reads included)\n",
	       st.compile_cpu_ns / 1e6, st.load_cpu_ns / 1e6,
	       (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e6);
	proctab__free(pt);
	unwind_loader__free(ul);
	sampler__free(s);
}

/* A receiver started while the workloads @w run: the user CPU their
 * tables cost in the first @secs seconds. */
static void startup(struct workload *w, size_t nw, int secs, uint32_t hz,
		    const struct tg_logger *log)
{
	struct child c[16];
	struct side a = { 0 };
	uint64_t cpu0, end;
	size_t i;
	int status;

	a.t.depths = calloc(1, sizeof(uint32_t));
	for (i = 0; i < nw && i < 16; i++) {
		child_start(&c[i], w[i].argv, true);
		child_go(&c[i]);
	}
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	side_start(&a, RECEIVER_UNWIND_TABLES, hz, 0, log);
	end = boot_ns() + (uint64_t)secs * NSEC_PER_SEC;
	while (boot_ns() < end)
		receiver__poll(a.r, 50);
	receiver__stats(a.r, &a.st);
	printf("\nStart-up while the %zu workloads run (%d s at %u Hz, whole host):\n",
	       nw, secs, hz);
	printf("  %" PRIu64 " processes with ranges, %" PRIu64
	       " files loaded, %.2f MiB of tables; %" PRIu64
	       " samples carried their stack, %" PRIu64
	       " walks finished in user space, %" PRIu64
	       " samples lost (ring buffer full)\n",
	       a.st.unwind.processes, a.st.unwind.files_loaded,
	       a.st.unwind.kernel_bytes / 1048576.0, a.st.sampler.stack_copies,
	       a.st.walks_finished, a.st.sampler.samples_lost);
	printf("  user CPU: %.1f ms compiling, %.1f ms laying out and inserting; the receiver's thread %.1f ms in all\n",
	       a.st.unwind.compile_cpu_ns / 1e6, a.st.unwind.load_cpu_ns / 1e6,
	       (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e6);
	receiver__free(a.r);
	free(a.t.depths);
	for (i = 0; i < nw && i < 16; i++) {
		kill(c[i].pid, SIGKILL);
		waitpid(c[i].pid, &status, 0);
	}
}

/* What loading the sampler costs with each unwinder: the verifier's
 * instructions and the CPU time of receiver__start(). */
static void load_cost(const struct tg_logger *log)
{
	static const char *const name[] = { "tables", "frame pointers" };
	struct side a;
	uint64_t cpu0;
	double ms;
	int u;

	printf("\nLoading the sampler (receiver__start, kallsyms included):\n");
	for (u = 0; u < 2; u++) {
		memset(&a, 0, sizeof(a));
		cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		side_start(&a,
			   u ? RECEIVER_UNWIND_FRAME_POINTER :
			       RECEIVER_UNWIND_TABLES,
			   19, getpid(), log);
		ms = (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e6;
		receiver__stats(a.r, &a.st);
		printf("  %-15s %6.1f ms CPU, %u instructions verified\n",
		       name[u], ms, a.st.sampler.bpf_verified_insns);
		receiver__free(a.r);
	}
}

static void quiet_log(void *ctx, enum tg_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TG_LOG_WARN)
		fprintf(stderr, "tgprof: %s\n", msg);
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 6;
	uint32_t hz = argc > 2 ? (uint32_t)atoi(argv[2]) : 99;
	struct tg_logger log = { .fn = quiet_log, .max_level = TG_LOG_WARN };
	char ms[16], s[16];
	struct workload w[] = {
		{ "plt+shlib", { "fixtures/unwind_plt", ms }, "main" },
		{ "c++ throw", { "fixtures/unwind_cxx", ms }, "main" },
		{ "signal", { "fixtures/unwind_signal", ms }, "main" },
		{ "recurse 200",
		  { "fixtures/unwind_recurse", ms, "200" },
		  "main" },
		{ "xz -9e",
		  { "/usr/bin/xz", "-9e", "-T1", "-k", "-f", XZ_DATA },
		  "__libc_start_call_main" },
		{ "python3.11",
		  { "/usr/bin/python3.11", PY_SCRIPT, s },
		  "Py_BytesMain" },
		/* Go: .debug_frame; -s -w (no .symtab, no CFI); the same
		 * with cgo (.eh_frame for its C code only). */
		{ "go", { "fixtures/go_spin", ms }, "runtime.goexit" },
		{ "go -s -w",
		  { "fixtures/go_spin_stripped", ms },
		  "runtime.goexit" },
		{ "cgo -s -w",
		  { "fixtures/go_spin_cgo_stripped", ms },
		  "runtime.goexit" },
	};
	uint64_t bpf[2][2] = { { 0 } };
	bool otel;
	FILE *f;
	size_t i;

	if (secs < 1 || !hz)
		return 2;
	snprintf(ms, sizeof(ms), "%d", secs * 1000);
	snprintf(s, sizeof(s), "%d", secs);
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "we");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	write_inputs(secs);
	otel = otel_start(hz);
	if (!otel)
		fprintf(stderr,
			"unwind_compare: no OpenTelemetry profiler column (%s)\n",
			OTEL_PEER_SCRIPT);

	printf("Complete user stacks (reaching main, runtime.goexit for Go), each workload recorded five ways at once, %d s at %u Hz:\n",
	       secs, hz);
	printf("%-14s %7s %8s %4s %8s %4s | %7s %8s %4s %8s %4s | %7s %8s %4s | %13s\n",
	       "", "tgprof", "eh_frame", "dep", "fp only", "dep", "perf",
	       "dwarf", "dep", "-g", "dep", "otel", "complete", "dep",
	       "BPF us/sample");
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		run_workload(&w[i], secs, hz, &log, otel, bpf);
	if (otel)
		otel_stop();
	printf("(dep: median user frames per sample, the profiler's Python frames in place of the interpreter's; BPF: the sampler's time per sample of the workload, eh_frame and fp only)\n");
	if (bpf[0][1] && bpf[1][1])
		printf("\nBPF sampler, the workloads' samples walked both ways at once: tables %" PRIu64
		       " ns per sample, frame pointers %" PRIu64
		       " ns per sample (%.1fx)\n",
		       bpf[0][0] / bpf[0][1], bpf[1][0] / bpf[1][1],
		       (double)bpf[0][0] / bpf[0][1] /
			       ((double)bpf[1][0] / bpf[1][1]));
	load_cost(&log);
	startup(w, sizeof(w) / sizeof(w[0]), 3, hz, &log);
	every_mapping(&log);
	unlink(XZ_DATA);
	unlink(XZ_DATA ".xz");
	unlink(PY_SCRIPT);
	return 0;
}
