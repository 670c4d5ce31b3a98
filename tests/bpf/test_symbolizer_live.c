// SPDX-License-Identifier: Apache-2.0
/* The symbolizer on live samples from the real kernel: a process in its own
 * mount namespace whose binary exists only there, a binary deleted while it
 * runs, a syscall-heavy process (kernel frames) and kernel module symbols.
 * Each test asserts the function, file and line of the hot frame. Needs
 * root. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lib/clock.h"
#include "tests/bpf/harness.h"

#define TEST_FREQ 499
/* Where the namespaced copy lives: nowhere on the host. */
#define MNTNS_DIR "/tmp/tgprof-symbolizer-mntns-only"

/* What a test needs of one sample: its first user frames and the names of
 * its kernel frames. */
struct live_frame {
	char name[128];
	char file[256];
	char module[64];
	uint32_t line;
	bool inlined;
};

struct live_sample {
	uint32_t tid;
	unsigned int nuser;
	struct live_frame user[4];
	char kernel[1024]; /* ";name@module;..." */
};

struct live_capture {
	struct live_sample *v;
	size_t n;
	size_t cap;
};

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "?");
}

static void live_on_sample(void *ctx, const struct sym_sample *s)
{
	struct live_capture *c = ctx;
	struct live_sample *ls;
	size_t off = 0;
	uint32_t i;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		cr_assert_not_null(c->v);
	}
	ls = &c->v[c->n++];
	memset(ls, 0, sizeof(*ls));
	ls->tid = s->tid;
	for (i = 0; i < s->nkernel; i++) {
		const struct sym_frame *f = &s->frames[i];
		int n = snprintf(ls->kernel + off, sizeof(ls->kernel) - off,
				 ";%s@%s", f->name ? f->name : "?",
				 f->module ? f->module : "?");

		cr_assert_eq(f->kind, FRAME_KERNEL);
		if (n < 0 || (size_t)n >= sizeof(ls->kernel) - off)
			break;
		off += (size_t)n;
	}
	for (i = s->nkernel; i < s->nframes && ls->nuser < 4; i++) {
		const struct sym_frame *f = &s->frames[i];
		struct live_frame *lf = &ls->user[ls->nuser++];

		copy_str(lf->name, sizeof(lf->name), f->name);
		copy_str(lf->file, sizeof(lf->file), f->file);
		copy_str(lf->module, sizeof(lf->module), f->module);
		lf->line = f->line;
		lf->inlined = f->inlined;
	}
}

/* Line of tests/fixtures/symbols_live.c holding @needle; the source is
 * found beside this file (CMake compiles it by absolute path). */
static uint32_t source_line(const char *needle)
{
	char path[1024], line[1024];
	uint32_t n = 0;
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s", __FILE__);
	slash = strstr(path, "/bpf/test_symbolizer_live.c");
	cr_assert(slash, "compiled as %s", __FILE__);
	strcpy(slash, "/fixtures/symbols_live.c");
	f = fopen(path, "re");

	cr_assert(f, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	cr_assert_fail("%s has no %s", path, needle);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lf = strlen(suffix);

	return ls >= lf && strcmp(s + ls - lf, suffix) == 0;
}

/* The hot frame: fx_burn_until() inlined into symbols_live_hot(), at the
 * call's line in symbols_live.c. */
static bool is_hot_frame(const struct live_sample *ls, uint32_t call_line)
{
	unsigned int i;

	for (i = 0; i + 1 < ls->nuser; i++) {
		const struct live_frame *in = &ls->user[i],
					*out = &ls->user[i + 1];

		if (in->inlined && !strcmp(in->name, "fx_burn_until") &&
		    ends_with(in->file, "/tests/fixtures/fixture.h") &&
		    !out->inlined && !strcmp(out->name, "symbols_live_hot") &&
		    ends_with(out->file, "/tests/fixtures/symbols_live.c") &&
		    out->line == call_line &&
		    !strcmp(out->module, "symbols_live"))
			return true;
	}
	return false;
}

struct run {
	struct receiver *r;
	struct fixture *f;
};

static bool fixture_exited(void *ctx)
{
	struct run *run = ctx;

	return run->f->exited;
}

static void run_to_exit(struct receiver *r, struct fixture *f)
{
	struct run run = { .r = r, .f = f };

	cr_assert(harness_run_until(r, f, fixture_exited, &run, 30000),
		  "fixture did not finish:\n%s", f->out);
	/* Drain what the last moments produced. */
	receiver__poll(r, 50);
	cr_assert(WIFEXITED(f->status) && WEXITSTATUS(f->status) == 0,
		  "fixture failed (status %d):\n%s", f->status, f->out);
}

static void assert_hot_samples(const struct live_capture *c, const char *what)
{
	uint32_t call = source_line("fx_burn_until(until_ns, &sink)");
	size_t i, hot = 0;

	for (i = 0; i < c->n; i++)
		hot += is_hot_frame(&c->v[i], call);
	if (c->n)
		cr_log_info("%s: %zu of %zu samples in symbols_live_hot at "
			    "symbols_live.c:%u (first: %s %s:%u / %s %s:%u)",
			    what, hot, c->n, call, c->v[0].user[0].name,
			    c->v[0].user[0].file, c->v[0].user[0].line,
			    c->v[0].user[1].name, c->v[0].user[1].file,
			    c->v[0].user[1].line);
	/* 1.5 s at 499 Hz: ~750 samples on an idle machine; a loaded
	 * 2-core one still gives well over 50. */
	cr_assert_geq(hot, 50, "%s: only %zu of %zu samples name the hot frame",
		      what, hot, c->n);
	cr_assert_geq(hot * 100, c->n * 80,
		      "%s: only %zu of %zu samples name the hot frame", what,
		      hot, c->n);
}

Test(symbolizer_live,
     process_in_its_own_mount_namespace_is_named_from_its_files, .timeout = 120)
{
	char path[512], script[2048];
	char *argv[] = { "/usr/bin/unshare", "-m", "--propagation", "private",
			 "/bin/sh",	     "-c", script,	    NULL };
	struct live_capture cap = { 0 };
	struct receiver_sink sink = { live_on_sample, &cap };
	struct receiver_config cfg;
	struct receiver_stats st;
	struct receiver *r;
	struct fixture f;

	harness_require_root();
	cr_assert_neq(access(MNTNS_DIR, F_OK), 0,
		      MNTNS_DIR " must not exist on the host");
	snprintf(script, sizeof(script),
		 /* fd 3 reaches the fixture under the new /tmp. */
		 "exec 3<'%s' && mount -t tmpfs tgprof-test /tmp && "
		 "mkdir -p " MNTNS_DIR " && cat <&3 >" MNTNS_DIR
		 "/symbols_live && exec 3<&- && chmod +x " MNTNS_DIR
		 "/symbols_live && exec " MNTNS_DIR "/symbols_live spin 1500",
		 fixture_path("symbols_live", path, sizeof(path)));
	harness_config(&cfg, TEST_FREQ, 0);
	cfg.kernel_stacks = false;
	fixture_spawn(&f, argv, 0);
	cfg.filter_tgid = f.pid;
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	run_to_exit(r, &f);
	cr_assert_neq(access(MNTNS_DIR "/symbols_live", F_OK), 0,
		      "the binary exists only inside the namespace");

	assert_hot_samples(&cap, "mount namespace");
	receiver__stats(r, &st);
	cr_assert_eq(st.sym.open_errors, 0);
	cr_assert_eq(st.sym.map_files_opens, 0,
		     "opened by path inside the process's root");
	receiver__free(r);
	free(cap.v);
	fixture_cleanup(&f);
}

static bool reported_unlinked(void *ctx)
{
	unsigned long long v;

	fixture_pump(ctx);
	return fixture_value(ctx, "unlinked", &v);
}

Test(symbolizer_live, binary_deleted_while_it_runs_is_still_named,
     .timeout = 120)
{
	char dir[] = "/tmp/tgprof-deleted-XXXXXX", bin[512], path[512];
	char cmd[1200];
	char *argv[] = { bin, "unlink-spin", "2000", NULL };
	struct live_capture cap = { 0 };
	struct receiver_sink sink = { live_on_sample, &cap };
	struct receiver_config cfg;
	struct receiver_stats st;
	uint64_t deadline;
	struct receiver *r;
	struct fixture f;

	harness_require_root();
	cr_assert(mkdtemp(dir));
	snprintf(bin, sizeof(bin), "%s/symbols_live", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'",
		 fixture_path("symbols_live", path, sizeof(path)), bin);
	cr_assert_eq(system(cmd), 0);
	fixture_spawn(&f, argv, 0);
	fixture_go(&f);
	/* Profiling starts once the file is gone: nothing was cached from
	 * it while it existed. */
	deadline = boot_ns() + 10 * NSEC_PER_SEC;
	while (!reported_unlinked(&f))
		cr_assert(boot_ns() < deadline, "fixture did not unlink:\n%s",
			  f.out);
	cr_assert_neq(access(bin, F_OK), 0);
	harness_config(&cfg, TEST_FREQ, f.pid);
	cfg.kernel_stacks = false;
	r = harness_receiver(&cfg, &sink);
	run_to_exit(r, &f);

	assert_hot_samples(&cap, "deleted binary");
	receiver__stats(r, &st);
	cr_assert_geq(st.sym.map_files_opens, 1);
	receiver__free(r);
	free(cap.v);
	fixture_cleanup(&f);
	rmdir(dir);
}

Test(symbolizer_live, syscall_heavy_process_shows_named_kernel_frames,
     .timeout = 120)
{
	char path[512];
	char *argv[] = { (char *)fixture_path("symbols_live", path,
					      sizeof(path)),
			 "syscalls", "1500", NULL };
	struct live_capture cap = { 0 };
	struct receiver_sink sink = { live_on_sample, &cap };
	uint32_t asm_line = source_line("__asm__ volatile(\"syscall\"");
	uint32_t call_line = source_line("sink += (uint64_t)raw_read(");
	struct receiver_config cfg;
	size_t i, j, in_kernel = 0, hot = 0;
	struct receiver *r;
	struct fixture f;

	harness_require_root();
	harness_config(&cfg, TEST_FREQ, 0);
	fixture_spawn(&f, argv, 0);
	cfg.filter_tgid = f.pid;
	r = harness_receiver(&cfg, &sink);
	fixture_go(&f);
	run_to_exit(r, &f);

	for (i = 0; i < cap.n; i++) {
		const struct live_sample *ls = &cap.v[i];

		if (!strstr(ls->kernel, ";vfs_read@vmlinux"))
			continue;
		in_kernel++;
		/* Below the kernel: symbols_live_syscalls() at the line of
		 * the inlined raw_read() call. The user IP is the instruction
		 * after `syscall`, which the line table may still give to
		 * raw_read (then an inlined frame) or to the caller's line. */
		j = ls->nuser && ls->user[0].inlined ? 1 : 0;
		if (j && (strcmp(ls->user[0].name, "raw_read") ||
			  ls->user[0].line != asm_line))
			continue;
		if (ls->nuser > j && !ls->user[j].inlined &&
		    !strcmp(ls->user[j].name, "symbols_live_syscalls") &&
		    ls->user[j].line == call_line &&
		    ends_with(ls->user[j].file,
			      "/tests/fixtures/symbols_live.c"))
			hot++;
	}
	if (cap.n)
		cr_log_info("%zu samples, %zu in vfs_read, %zu with the user "
			    "frames; first kernel stack %s, user %s%s %s:%u / "
			    "%s %s:%u",
			    cap.n, in_kernel, hot, cap.v[0].kernel,
			    cap.v[0].user[0].inlined ? "(inlined) " : "",
			    cap.v[0].user[0].name, cap.v[0].user[0].file,
			    cap.v[0].user[0].line, cap.v[0].user[1].name,
			    cap.v[0].user[1].file, cap.v[0].user[1].line);
	cr_assert_geq(in_kernel, 30, "only %zu of %zu samples in vfs_read",
		      in_kernel, cap.n);
	cr_assert_geq(in_kernel * 100, cap.n * 50);
	cr_assert_geq(hot * 100, in_kernel * 80,
		      "%zu of %zu kernel samples show raw_read inlined in "
		      "symbols_live_syscalls",
		      hot, in_kernel);
	receiver__free(r);
	free(cap.v);
	fixture_cleanup(&f);
}

/* Module symbols: BPF programs show in kallsyms as module "[bpf]" while a
 * receiver runs; any other loaded module works the same way. */
Test(symbolizer_live, module_symbols_name_their_module)
{
	struct live_capture cap = { 0 };
	struct receiver_sink sink = { live_on_sample, &cap };
	struct symbolizer_opts o = { .sz = sizeof(o), .kernel = true };
	char line[1024], name[512], mod[128], type;
	unsigned long long addr, found = 0;
	char want_name[512] = "", want_mod[128] = "";
	struct receiver_config cfg;
	struct symbolizer *sy;
	struct receiver *r;
	struct sym_frame fr;
	FILE *ks;

	harness_require_root();
	harness_config(&cfg, 19, 1);
	r = harness_receiver(&cfg, &sink);
	ks = fopen("/proc/kallsyms", "re");
	cr_assert(ks);
	while (!found && fgets(line, sizeof(line), ks))
		if (sscanf(line, "%llx %c %511s [%127[^]]]", &addr, &type, name,
			   mod) == 4 &&
		    (type == 't' || type == 'T') && addr) {
			found = addr;
			snprintf(want_name, sizeof(want_name), "%s", name);
			snprintf(want_mod, sizeof(want_mod), "%s", mod);
		}
	fclose(ks);
	cr_assert(found, "kallsyms lists module text while BPF runs");
	sy = symbolizer__new(&o, NULL);
	cr_assert(sy);
	cr_assert_eq(symbolizer__kernel(sy, found, &fr, 1), 1);
	cr_assert_eq(fr.kind, FRAME_KERNEL);
	cr_assert_str_eq(fr.name, want_name);
	cr_assert_str_eq(fr.module, want_mod);
	cr_log_info("%s is in module %s", fr.name, fr.module);
	symbolizer__free(sy);
	receiver__free(r);
	free(cap.v);
}
