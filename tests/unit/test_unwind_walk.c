// SPDX-License-Identifier: Apache-2.0
/* Tests of the user-space unwinder (receiver/unwind/walk.c) on real
 * stacks: the unwind_chain fixture (-O2, no frame pointers) captures its
 * registers and stack in a deep call chain, and the walk, with tables
 * compiled from the fixture and libc, must get back to main in order,
 * across a signal handler too. Crafted stacks cover each way to stop. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "receiver/processes/maps.h"
#include "receiver/symbols/elfsym.h"
#include "receiver/unwind/layout.h"
#include "receiver/unwind/walk.h"

#define FIXTURE(name) TGPROF_FIXTURE_DIR "/" name
#define MAX_FILES 16
#define MAX_FRAMES 64

struct captured {
	struct unwind_regs regs;
	struct unwind_stack stack;
	uint8_t *buf;
	struct maps *maps;
};

/* One file of the captured process: its table and symbols. */
struct file {
	char path[4096];
	struct unwind_table *table;
	struct unwind_layout layout; /* the table in the kernel's layout */
	struct elfsym *syms;
	int err;
};

struct proc {
	struct maps *maps;
	/* Hand the walk rows found in the kernel's layout, as the loader
	 * does for a loaded file, instead of the table. */
	bool by_layout;
	unsigned int layout_rows;
	struct file files[MAX_FILES];
	size_t nfiles;
	unsigned int lookups;
};

static void capture(const char *mode, struct captured *c)
{
	char out[] = "/tmp/tgprof-unwind-XXXXXX";
	uint64_t hdr[6];
	int fd, status;
	pid_t pid;

	fd = mkstemp(out);
	cr_assert(fd >= 0);
	close(fd);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		execl(FIXTURE("unwind_chain"), "unwind_chain", out, mode,
		      (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "unwind_chain %s exits with 0 (status %d)", mode, status);
	fd = open(out, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(read(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	c->regs = (struct unwind_regs){ .rip = hdr[0],
					.rsp = hdr[1],
					.rbp = hdr[2] };
	c->buf = malloc(hdr[4] + hdr[5]);
	cr_assert(c->buf);
	cr_assert_eq(read(fd, c->buf, hdr[4] + hdr[5]),
		     (ssize_t)(hdr[4] + hdr[5]));
	c->stack = (struct unwind_stack){ .data = c->buf,
					  .len = hdr[4],
					  .addr = hdr[3] };
	cr_assert_eq(maps__parse((const char *)c->buf + hdr[4], hdr[5],
				 MAPS_EXEC_ONLY, &c->maps),
		     0);
	close(fd);
	unlink(out);
}

static struct file *proc__file(struct proc *p, const char *path)
{
	struct file *f;
	size_t i;
	int fd;

	for (i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	cr_assert_lt(p->nfiles, MAX_FILES);
	f = &p->files[p->nfiles++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s", path);
	f->err = unwind_table__compile_fd(fd, -1, NULL, &f->table);
	if (!f->err) {
		const struct unwind_row *rows;
		size_t n;

		rows = unwind_table__rows(f->table, &n);
		cr_assert_eq(unwind_layout__build(
				     rows, n, unwind_table__extent(f->table),
				     &f->layout),
			     0);
	}
	f->syms = elfsym__load_fd(fd);
	close(fd);
	return f;
}

static struct proc *layout_proc;

/* A row of @ctx's file from its layout, copied as from the kernel. */
static bool layout_row(void *ctx, uint64_t vaddr, struct unwind_row *ret)
{
	const struct file *f = ctx;
	uint64_t base = unwind_table__base(f->table);
	const struct unwind_row *row;

	if (vaddr < base)
		return false;
	row = unwind_layout__lookup(&f->layout, vaddr - base);
	if (!row)
		return false;
	*ret = *row;
	layout_proc->layout_rows++;
	return true;
}

/* The receiver's side of the walk: pc -> mapping -> table and bias. */
static int find(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	struct proc *p = ctx;
	const struct mapping *m = maps__find(p->maps, pc);
	struct file *f;

	p->lookups++;
	if (!m)
		return -ENOENT;
	if (m->kind != MAPPING_FILE)
		return 0; /* [vdso], JIT: frame pointers */
	f = proc__file(p, m->path);
	if (f->err)
		return 0;
	if (p->by_layout) {
		layout_proc = p;
		ret->row = layout_row;
		ret->row_ctx = f;
	} else {
		ret->table = f->table;
	}
	cr_assert_eq(unwind_table__bias(f->table, m->start, m->offset,
					&ret->bias),
		     0);
	return 0;
}

/* The function name of frame @i, through the symbolizer's ELF reader. */
static const char *frame_name(struct proc *p, uint64_t pc, uint8_t flags)
{
	const struct mapping *m = maps__find(p->maps, pc);
	uint64_t vaddr, off;
	struct file *f;
	const char *name;

	if (!m || m->kind != MAPPING_FILE)
		return "?";
	if (!(flags & UNWIND_FRAME_EXACT))
		pc--;
	f = proc__file(p, m->path);
	if (!f->syms || elfsym__offset_to_vaddr(
				f->syms, m->offset + (pc - m->start), &vaddr))
		return "?";
	name = elfsym__lookup(f->syms, vaddr, &off);
	return name ? name : "?";
}

static void proc__free(struct proc *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++) {
		unwind_table__free(p->files[i].table);
		unwind_layout__release(&p->files[i].layout);
		elfsym__free(p->files[i].syms);
	}
}

static bool walk_by_layout;

/* Walks a capture; names[] gets each frame's function. */
static void walk_capture(const char *mode, const char **names,
			 struct unwind_walk_result *res, char *trace,
			 size_t trace_len)
{
	static struct captured c;
	static struct proc p;
	uint64_t pcs[MAX_FRAMES];
	uint8_t flags[MAX_FRAMES];
	size_t i, len = 0;

	/* The previous capture's, if any: names point into it until now. */
	proc__free(&p);
	maps__free(c.maps);
	free(c.buf);
	capture(mode, &c);
	memset(&p, 0, sizeof(p));
	p.maps = c.maps;
	p.by_layout = walk_by_layout;
	unwind__walk(&c.regs, &c.stack, find, &p, pcs, flags, MAX_FRAMES, res);
	trace[0] = '\0';
	for (i = 0; i < res->n; i++) {
		names[i] = frame_name(&p, pcs[i], flags[i]);
		len += (size_t)snprintf(trace + len, trace_len - len, "%s%s",
					i ? " < " : "", names[i]);
		if (len >= trace_len)
			break;
	}
	/* The names stay valid: the tables and symbols are kept. */
}

/* The index of @name in @names at or after @from, or -1. */
static int find_name(const char **names, size_t n, size_t from,
		     const char *name)
{
	size_t i;

	for (i = from; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

Test(unwind_walk, omit_frame_pointer_chain_reaches_main_in_order)
{
	static const char *const want[] = { "capture", "chain_5", "chain_4",
					    "chain_3", "chain_2", "chain_1",
					    "main" };
	const char *names[MAX_FRAMES];
	struct unwind_walk_result res;
	char trace[4096];
	size_t i;

	walk_capture("plain", names, &res, trace, sizeof(trace));
	cr_log_info("%s (%s)", trace, unwind_stop__name(res.stop));
	cr_assert_geq(res.n, 7, "frames: %s", trace);
	for (i = 0; i < 7; i++)
		cr_assert_str_eq(names[i], want[i], "frame %zu in %s", i,
				 trace);
	/* Through libc's start-up to _start, whose CFI ends the stack. */
	cr_assert_eq(res.stop, UNWIND_STOP_END, "stop %s: %s",
		     unwind_stop__name(res.stop), trace);
	cr_assert_eq(res.fp_frames, 0, "no frame-pointer guesses: %s", trace);
	cr_assert_eq(res.signal_frames, 0);
}

Test(unwind_walk, signal_handler_in_the_middle_reaches_main)
{
	const char *names[MAX_FRAMES];
	struct unwind_walk_result res;
	char trace[4096];
	int handler, chain3, chain2, chain1, m;

	walk_capture("signal", names, &res, trace, sizeof(trace));
	cr_log_info("%s (%s)", trace, unwind_stop__name(res.stop));
	cr_assert_eq(res.signal_frames, 1, "one signal frame: %s", trace);
	handler = find_name(names, res.n, 0, "on_signal");
	chain3 = find_name(names, res.n, 0, "chain_3");
	chain2 = find_name(names, res.n, 0, "chain_2");
	chain1 = find_name(names, res.n, 0, "chain_1");
	m = find_name(names, res.n, 0, "main");
	cr_assert_str_eq(names[0], "capture", "%s", trace);
	cr_assert(handler == 1 && handler < chain3 && chain3 < chain2 &&
			  chain2 < chain1 && chain1 < m,
		  "handler, then the interrupted chain, then main: %s", trace);
	cr_assert_eq(res.stop, UNWIND_STOP_END, "stop %s: %s",
		     unwind_stop__name(res.stop), trace);
}

/* ---- crafted stacks: each way a walk stops ------------------------ */

static int find_none(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	(void)ctx;
	(void)pc;
	(void)ret;
	return 0; /* everything mapped, no tables: frame pointers */
}

static int find_nothing(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	(void)ctx;
	(void)pc;
	(void)ret;
	return -ENOENT;
}

static int find_not_loaded(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	(void)ctx;
	(void)pc;
	(void)ret;
	return -EAGAIN;
}

Test(unwind_walk, frame_pointer_chain_without_tables_ends_at_zero_rbp)
{
	/* Two frames: [rbp] = next rbp, [rbp + 8] = return address. */
	uint64_t stack[8] = { 0 };
	const uint64_t base = 0x7ffd0000;
	struct unwind_stack s = { stack, sizeof(stack), base };
	struct unwind_regs r = { .rip = 0x401000, .rsp = base, .rbp = base };
	struct unwind_walk_result res;
	uint64_t pcs[8];

	stack[0] = base + 32; /* saved rbp of frame 1 */
	stack[1] = 0x401100; /* return address into frame 1 */
	stack[4] = 0; /* outermost: rbp 0 */
	stack[5] = 0x401200;
	unwind__walk(&r, &s, find_none, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.n, 3);
	cr_assert_eq(pcs[1], 0x401100);
	cr_assert_eq(pcs[2], 0x401200);
	cr_assert_eq(res.stop, UNWIND_STOP_FP_END);
	cr_assert_eq(res.fp_frames, 2);
}

/* Every pc has the row of a frame with no saved registers: CFA = RSP + 8,
 * the return address at CFA - 8 (Go's CFI for each of its functions). */
static bool row_rsp8(void *ctx, uint64_t vaddr, struct unwind_row *ret)
{
	(void)ctx;
	(void)vaddr;
	*ret = (struct unwind_row){ .cfa_type = UNWIND_CFA_RSP,
				    .cfa_offset = 8 };
	return true;
}

static int find_rsp8(void *ctx, uint64_t pc, struct unwind_where *ret)
{
	(void)ctx;
	(void)pc;
	ret->row = row_rsp8;
	return 0;
}

Test(unwind_walk, zero_return_address_is_the_end_of_a_complete_stack)
{
	/* A goroutine's stack: its first function returns into
	 * runtime.goexit, whose own return address slot at the stack's top
	 * holds 0. */
	uint64_t stack[4] = { 0 };
	const uint64_t base = 0x7ffd0000;
	struct unwind_stack s = { stack, sizeof(stack), base };
	struct unwind_regs r = { .rip = 0x401000, .rsp = base };
	struct unwind_walk_result res;
	uint64_t pcs[8];

	stack[0] = 0x401100; /* into the goroutine's function */
	stack[1] = 0x402001; /* into goexit */
	stack[2] = 0; /* goexit's: the outermost frame */
	unwind__walk(&r, &s, find_rsp8, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.n, 3);
	cr_assert_eq(pcs[2], 0x402001);
	cr_assert_eq(res.stop, UNWIND_STOP_END);

	/* A sample whose own PC is 0 (a call through NULL) is not an end. */
	r.rip = 0;
	unwind__walk(&r, &s, find_rsp8, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.n, 0);
	cr_assert_eq(res.stop, UNWIND_STOP_BAD_FRAME);
}

Test(unwind_walk, read_outside_the_copy_is_a_read_fault)
{
	uint64_t stack[2] = { 0 };
	struct unwind_stack s = { stack, sizeof(stack), 0x7ffd0000 };
	struct unwind_regs r = { .rip = 0x401000,
				 .rsp = 0x7ffd0000,
				 .rbp = 0x7ffe0000 };
	struct unwind_walk_result res;
	uint64_t pcs[8];

	unwind__walk(&r, &s, find_none, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.n, 1);
	cr_assert_eq(res.stop, UNWIND_STOP_READ_FAULT);
}

Test(unwind_walk, unknown_pc_and_missing_table_stop_with_their_reason)
{
	uint64_t stack[2] = { 0 };
	struct unwind_stack s = { stack, sizeof(stack), 0x7ffd0000 };
	struct unwind_regs r = { .rip = 0x401000, .rsp = 0x7ffd0000 };
	struct unwind_walk_result res;
	uint64_t pcs[8];

	unwind__walk(&r, &s, find_nothing, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.stop, UNWIND_STOP_NO_MAPPING);
	cr_assert_eq(res.n, 1);
	unwind__walk(&r, &s, find_not_loaded, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.stop, UNWIND_STOP_NO_TABLE);
	cr_assert_eq(res.last.rip, 0x401000, "where to continue from");
}

Test(unwind_walk, a_stack_that_does_not_grow_is_a_bad_frame)
{
	/* rbp pointing below rsp: a loop, not a caller. */
	uint64_t stack[8] = { 0 };
	const uint64_t base = 0x7ffd0000;
	struct unwind_stack s = { stack, sizeof(stack), base };
	struct unwind_regs r = { .rip = 0x401000,
				 .rsp = base + 48,
				 .rbp = base };
	struct unwind_walk_result res;
	uint64_t pcs[8];

	unwind__walk(&r, &s, find_none, NULL, pcs, NULL, 8, &res);
	cr_assert_eq(res.stop, UNWIND_STOP_BAD_FRAME);
}

Test(unwind_walk, depth_limit_is_reported)
{
	/* A frame-pointer cycle would go on forever but for the checks;
	 * a long honest chain stops at the limit. */
	uint64_t stack[64] = { 0 };
	const uint64_t base = 0x7ffd0000;
	struct unwind_stack s = { stack, sizeof(stack), base };
	struct unwind_regs r = { .rip = 0x401000, .rsp = base, .rbp = base };
	struct unwind_walk_result res;
	uint64_t pcs[4];
	size_t i;

	for (i = 0; i + 2 < 64; i += 2) {
		stack[i] = base + (i + 2) * 8;
		stack[i + 1] = 0x401000 + i;
	}
	unwind__walk(&r, &s, find_none, NULL, pcs, NULL, 4, &res);
	cr_assert_eq(res.n, 4);
	cr_assert_eq(res.stop, UNWIND_STOP_DEPTH);
}

/* A loaded file's rows come from the kernel's copy of its table, read a
 * row at a time: the walk reaches main as it does with the table. */
Test(unwind_walk, rows_read_from_the_kernel_layout_walk_as_the_table_does)
{
	const char *names[MAX_FRAMES], *want[MAX_FRAMES];
	char trace[4096], want_trace[4096];
	struct unwind_walk_result res, want_res;
	size_t i;

	walk_by_layout = false;
	walk_capture("plain", want, &want_res, want_trace, sizeof(want_trace));
	cr_assert_geq(want_res.n, 7, "frames: %s", want_trace);
	for (i = 0; i < want_res.n; i++)
		want[i] = strdup(want[i]);
	walk_by_layout = true;
	walk_capture("plain", names, &res, trace, sizeof(trace));
	walk_by_layout = false;
	cr_assert_gt(layout_proc->layout_rows, 0, "rows came from the layout");
	cr_assert_eq(res.n, want_res.n, "%s\nagainst %s", trace, want_trace);
	cr_assert_eq(res.stop, want_res.stop);
	for (i = 0; i < res.n; i++) {
		cr_assert_str_eq(names[i], want[i], "frame %zu: %s", i, trace);
		free((void *)want[i]);
	}
	cr_assert_eq(res.fp_frames, 0, "no frame-pointer guesses: %s", trace);
}
