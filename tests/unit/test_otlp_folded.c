// SPDX-License-Identifier: Apache-2.0
/* Guards exporter/otlp_folded.c: the folded stacks decoded from the
 * receiver's OTLP request (process name, user frames root first, inlined
 * "_[i]", kernel "_[k]", unnamed frames by their file), and a request that
 * lies about its tables adds nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "exporter/folded.h"
#include "exporter/otlp_folded.h"
#include "lib/clock.h"
#include "otlp_typed.h"
#include "receiver/profile/profile.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name

static const struct mapping app_text = {
	.start = 0x555500010000ULL,
	.end = 0x555500020000ULL,
	.offset = 0x10000,
	.inode = 100,
	.dev_major = 8,
	.kind = MAPPING_FILE,
	.path = "/usr/lib/libapp.so.1",
};

static struct sym_frame user(uint64_t off, const char *name)
{
	return (struct sym_frame){
		.addr = app_text.start + off,
		.kind = FRAME_NATIVE,
		.name = name,
		.system_name = name,
		.mapping = &app_text,
		.module = "libapp.so.1",
		.file_offset = app_text.offset + off,
	};
}

static struct sym_frame kern(uint64_t addr, const char *name)
{
	return (struct sym_frame){ .addr = addr,
				   .kind = FRAME_KERNEL,
				   .name = name,
				   .system_name = name,
				   .module = "vmlinux" };
}

/* The samples of a test, in one profile builder. */
struct both {
	struct profile_builder *b;
};

static void add(struct both *x, struct proc *p, const struct sym_frame *f,
		uint32_t n, uint32_t nkernel, int times)
{
	struct sym_sample s = {
		.tgid = p->tgid,
		.tid = p->tgid + 1,
		.cpu = 1,
		.start_ns = p->start_ns,
		.comm = "thread",
		.pcomm = p->comm,
		.proc = p,
		.frames = f,
		.nframes = n,
		.nkernel = nkernel,
	};

	while (times--) {
		s.ts_ns = boot_ns();
		cr_assert_eq(profile_builder__add(x->b, &s), 0);
	}
}

static char *text_of(const struct folded *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	cr_assert_not_null(out);
	cr_assert_eq(folded__write(f, out), 0);
	fclose(out);
	return buf;
}

/* The request of the samples added to @x. */
static void flush(struct both *x, void **req, size_t *len)
{
	cr_assert_eq(profile_builder__flush(x->b, req, len), 0);
	cr_assert_not_null(*req);
}

static struct both make(void)
{
	struct profile_builder_opts o = { .sz = sizeof(o), .host_name = "h" };
	struct both x = { profile_builder__new(&o) };

	cr_assert(x.b);
	return x;
}

static void drop(struct both *x)
{
	profile_builder__free(x->b);
}

TestSuite(otlp_folded);

Test(otlp_folded, reads_as_the_live_fold)
{
	struct proc app = { .tgid = 42, .start_ns = 1, .comm = "app" };
	struct proc sh = { .tgid = 50, .start_ns = 2, .comm = "sh" };
	struct sym_frame f[6], unnamed, lost = { .addr = 0x1234 };
	struct both x = make();
	struct folded *decoded = folded__new(0);
	char *got;
	size_t len;
	void *req;

	app.exe_path = "/usr/bin/app";
	sh.exe_path = "/bin/sh";
	f[0] = kern(0xffffffff81001000ULL, "do_syscall_64");
	f[1] = kern(0xffffffff81002000ULL, "entry_SYSCALL_64");
	f[2] = user(0x200, "hash_step"); /* inlined into worker */
	f[2].inlined = true;
	f[3] = user(0x200, "worker");
	f[4] = user(0x300, "main");
	unnamed = user(0x400, NULL);
	unnamed.system_name = NULL;
	add(&x, &app, f + 2, 3, 0, 3); /* main;worker;hash_step_[i] */
	add(&x, &app, f, 5, 2, 2); /* ...;entry..._[k];do_syscall_64_[k] */
	add(&x, &app, f + 4, 1, 0, 1);
	add(&x, &sh, &unnamed, 1, 0, 4); /* [libapp.so.1] */
	add(&x, &sh, &lost, 1, 0, 1); /* [unknown] */
	flush(&x, &req, &len);

	cr_assert_eq(otlp_folded__add(decoded, req, len), 0);
	got = text_of(decoded);
	cr_assert_str_eq(
		got,
		"app;main 1\n"
		"app;main;worker;hash_step_[i] 3\n"
		"app;main;worker;hash_step_[i];entry_SYSCALL_64_[k];do_syscall_64_[k] 2\n"
		"sh;[libapp.so.1] 4\n"
		"sh;[unknown] 1\n");
	cr_assert_eq(folded__total(decoded), 11);

	free(got);
	free(req);
	folded__free(decoded);
	drop(&x);
}

Test(otlp_folded, names_are_kept_on_one_line)
{
	struct proc p = { .tgid = 7, .start_ns = 1, .comm = "a;b" };
	struct sym_frame f = user(0x10, "operator;\n()");
	struct folded *decoded = folded__new(0);
	struct both x = make();
	char *got;
	size_t len;
	void *req;

	add(&x, &p, &f, 1, 0, 1);
	flush(&x, &req, &len);
	cr_assert_eq(otlp_folded__add(decoded, req, len), 0);
	got = text_of(decoded);
	cr_assert_str_eq(got, "a:b;operator:?() 1\n");
	free(got);
	free(req);
	folded__free(decoded);
	drop(&x);
}

Test(otlp_folded, an_empty_request_adds_nothing)
{
	struct folded *f = folded__new(0);

	cr_assert_eq(otlp_folded__add(f, NULL, 0), 0);
	cr_assert_eq(folded__stacks(f), 0);
	cr_assert_eq(otlp_folded__add(f, "\xff\xff\xff", 3), -EBADMSG);
	cr_assert_eq(otlp_folded__add(NULL, "", 0), -EINVAL);
	folded__free(f);
}

/* A request whose stack points past the location table: refused whole. */
Test(otlp_folded, a_bad_index_adds_nothing)
{
	struct proc p = { .tgid = 7, .start_ns = 1, .comm = "app" };
	struct sym_frame f[2] = { user(0x10, "leaf"), user(0x20, "root") };
	struct folded *decoded = folded__new(0);
	struct both x = make();
	size_t len, i;
	uint8_t *out;
	void *req;
	request *r;

	add(&x, &p, f, 2, 0, 2);
	add(&x, &p, f + 1, 1, 0, 1);
	flush(&x, &req, &len);
	r = REQ(unpack)(NULL, len, req);
	cr_assert_not_null(r);
	for (i = 0; i < r->dictionary->n_stack_table; i++)
		if (r->dictionary->stack_table[i]->n_location_indices == 2)
			r->dictionary->stack_table[i]->location_indices[1] =
				(int32_t)r->dictionary->n_location_table;
	out = malloc(REQ(get_packed_size)(r));
	len = REQ(pack)(r, out);
	cr_assert_eq(otlp_folded__add(decoded, out, len), -EINVAL);
	cr_assert_eq(folded__stacks(decoded), 0, "part of it was added");

	REQ(free_unpacked)(r, NULL);
	free(out);
	free(req);
	folded__free(decoded);
	drop(&x);
}

/* Frames of every type, leaf first: a kernel frame, a JIT frame, Python
 * frames (a package's __init__.py, a type given through the string
 * table), an unknown type, an inlined native chain is not needed here. */
static const struct typed_frame typed_frames[] = {
	{ .type = "kernel", .name = "do_syscall_64" },
	{ .type = "jit", .name = "LazyCompile:*fib /app/x.js:3" },
	{ .type = "cpython",
	  .name = "b",
	  .file = "/srv/calltree.py",
	  .line = 12,
	  .mapping = "[cpython]" },
	{ .type = "cpython",
	  .name = "Loader.load",
	  .file = "/usr/lib/python3.11/pkg/__init__.py",
	  .line = 40,
	  .mapping = "[cpython]",
	  .strindex = true },
	{ .type = "php", .name = "render", .file = "/var/www/view.php" },
	{ .type = "na;ti\nve", .name = "odd" },
	{ .type = "native", .name = "main", .mapping = "/usr/bin/app" },
	{ .name = "_start", .mapping = "/usr/bin/app" },
};

Test(otlp_folded, every_frame_type_has_its_mark)
{
	struct typed_sample s = { .comm = "app",
				  .frames = typed_frames,
				  .n = sizeof(typed_frames) /
				       sizeof(typed_frames[0]),
				  .count = 3 };
	struct folded *decoded = folded__new(0);
	size_t len;
	void *req = typed_request(&s, 1, &len);
	char *got;

	cr_assert_eq(otlp_folded__add(decoded, req, len), 0);
	got = text_of(decoded);
	/* Kernel frames last; a frame with an unprintable type keeps what
	 * can be printed of it. */
	cr_assert_str_eq(got, "app;_start;main;odd_[na_ti_ve];"
			      "render (view.php)_[php];"
			      "Loader.load (pkg/__init__.py)_[p];"
			      "b (calltree.py)_[p];"
			      "LazyCompile:*fib /app/x.js:3_[j];"
			      "do_syscall_64_[k] 3\n");
	free(got);
	free(req);
	folded__free(decoded);
}

/* A Python frame whose name already says its file is not told twice; an
 * unnamed frame of a type keeps its mark. */
Test(otlp_folded, typed_frames_without_names_or_with_files_in_them)
{
	const struct typed_frame f[] = {
		{ .type = "cpython", .mapping = "[cpython]" },
		{ .type = "cpython",
		  .name = "<module> (app.py)",
		  .file = "app.py" },
		{ .type = "jit", .mapping = "[anon:v8]" },
	};
	struct typed_sample s = {
		.comm = "py", .frames = f, .n = 3, .count = 1
	};
	struct folded *decoded = folded__new(0);
	size_t len;
	void *req = typed_request(&s, 1, &len);
	char *got;

	cr_assert_eq(otlp_folded__add(decoded, req, len), 0);
	got = text_of(decoded);
	cr_assert_str_eq(got, "py;[anon:v8]_[j];<module> (app.py)_[p];"
			      "[cpython]_[p] 1\n");
	free(got);
	free(req);
	folded__free(decoded);
}
