// SPDX-License-Identifier: Apache-2.0
/* Folded stacks: how the samples of the receiver's OTLP requests become
 * the "stack count" lines of stacks.folded (through the profile builder
 * and otlp_folded__add(), the way `tgprof record` folds them), and how
 * such files are read back for the flame graph and the top-functions
 * report. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include "exporter/folded.h"
#include "exporter/otlp_folded.h"
#include "lib/clock.h"
#include "receiver/profile/profile.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	request;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping otlp_mapping;

#define REQ(name) \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__##name

#define UFRAME(n)                                 \
	{                                         \
		.kind = FRAME_NATIVE, .name = (n) \
	}
#define KFRAME(n)                                 \
	{                                         \
		.kind = FRAME_KERNEL, .name = (n) \
	}
#define MAX_FRAMES 512

static struct sym_sample sample(const char *pcomm, const struct sym_frame *fr,
				uint32_t nframes, uint32_t nkernel)
{
	struct sym_sample s = {
		.tgid = 42,
		.tid = 43,
		.comm = "worker",
		.pcomm = pcomm,
		.frames = fr,
		.nframes = nframes,
		.nkernel = nkernel,
	};

	return s;
}

/*
 * The profile builder files kernel frames under perf's names,
 * "[kernel.kallsyms]" and "[module]". Gives the locations of @s's unnamed
 * kernel frames the mapping another producer may write (a file named
 * after the module, without brackets), or none when the frame had no
 * module, in the request at *@req.
 */
static void kernel_modules(void **req, size_t *len, const struct sym_sample *s)
{
	request *r = REQ(unpack)(NULL, *len, *req);
	otlp_mapping extra[MAX_FRAMES], **maps, **saved_maps;
	char **strings, **saved_strings;
	size_t ns, nm, i, j, saved_ns, saved_nm;
	void *out;

	cr_assert_not_null(r);
	saved_ns = ns = r->dictionary->n_string_table;
	saved_nm = nm = r->dictionary->n_mapping_table;
	saved_strings = r->dictionary->string_table;
	saved_maps = r->dictionary->mapping_table;
	strings = calloc(ns + s->nkernel, sizeof(*strings));
	maps = calloc(nm + s->nkernel, sizeof(*maps));
	cr_assert(strings && maps);
	memcpy(strings, saved_strings, ns * sizeof(*strings));
	memcpy(maps, saved_maps, nm * sizeof(*maps));
	for (i = 0; i < s->nkernel && i < s->nframes; i++) {
		const struct sym_frame *f = &s->frames[i];
		Opentelemetry__Proto__Profiles__V1development__Location *l =
			NULL;

		if (f->name)
			continue;
		for (j = 1; j < r->dictionary->n_location_table; j++)
			if (r->dictionary->location_table[j]->address ==
			    f->addr)
				l = r->dictionary->location_table[j];
		cr_assert_not_null(l, "no location at %#llx",
				   (unsigned long long)f->addr);
		l->mapping_index = 0;
		if (!f->module)
			continue;
		opentelemetry__proto__profiles__v1development__mapping__init(
			&extra[i]);
		strings[ns] = (char *)f->module;
		extra[i].filename_strindex = (int32_t)ns++;
		maps[nm] = &extra[i];
		l->mapping_index = (int32_t)nm++;
	}
	r->dictionary->string_table = strings;
	r->dictionary->n_string_table = ns;
	r->dictionary->mapping_table = maps;
	r->dictionary->n_mapping_table = nm;
	out = malloc(REQ(get_packed_size)(r) + 1);
	cr_assert_not_null(out);
	*len = REQ(pack)(r, out);
	r->dictionary->string_table = saved_strings;
	r->dictionary->n_string_table = saved_ns;
	r->dictionary->mapping_table = saved_maps;
	r->dictionary->n_mapping_table = saved_nm;
	REQ(free_unpacked)(r, NULL);
	free(strings);
	free(maps);
	free(*req);
	*req = out;
}

/*
 * Folds @s the way `tgprof record` does: the receiver's profile builder
 * makes the request, otlp_folded__add() folds it. The builder tells frames
 * apart by address, as the sampler's are: a frame without one gets its
 * own; a user frame known by its module alone gets a mapping of that
 * file (the vdso's for "[vdso]"). With @modules, unnamed kernel frames
 * keep their module (kernel_modules()).
 */
static int fold(struct folded *f, const struct sym_sample *s, bool modules)
{
	struct profile_builder_opts po = { .sz = sizeof(po), .host_name = "h" };
	static struct sym_frame fr[MAX_FRAMES];
	static struct mapping maps[MAX_FRAMES];
	struct profile_builder *b;
	struct sym_sample t = *s;
	void *req = NULL;
	size_t len = 0;
	uint32_t i;
	int err;

	cr_assert_leq(s->nframes, MAX_FRAMES);
	for (i = 0; i < s->nframes; i++) {
		fr[i] = s->frames[i];
		if (fr[i].kind == FRAME_KERNEL) {
			if (!fr[i].addr)
				fr[i].addr = 0xffffffff81000000ULL + 0x100 * i;
			continue;
		}
		if (fr[i].module && !fr[i].mapping) {
			maps[i] = (struct mapping){
				.start = 0x7f0000000000ULL + 0x100000ULL * i,
				.end = 0x7f0000100000ULL + 0x100000ULL * i,
				.inode = i + 1,
				.kind = fr[i].module[0] == '[' ? MAPPING_VDSO :
								 MAPPING_FILE,
				.path = fr[i].module,
			};
			fr[i].mapping = &maps[i];
			if (!fr[i].addr)
				fr[i].addr = maps[i].start + 0x10;
		}
		if (!fr[i].addr)
			fr[i].addr = 0x400000ULL + 0x100 * i;
	}
	t.frames = s->frames ? fr : NULL;
	t.ts_ns = boot_ns();
	b = profile_builder__new(&po);
	cr_assert_not_null(b);
	cr_assert_eq(profile_builder__add(b, &t), 0);
	cr_assert_eq(profile_builder__flush(b, &req, &len), 0);
	cr_assert_not_null(req);
	t.frames = fr;
	if (modules)
		kernel_modules(&req, &len, &t);
	err = otlp_folded__add(f, req, len);
	free(req);
	profile_builder__free(b);
	return err;
}

static int add_sample(struct folded *f, const struct sym_sample *s)
{
	return fold(f, s, false);
}

/* What folded__write() produces; caller frees. */
static char *folded_text(const struct folded *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	cr_assert_eq(folded__write(f, m), 0);
	fclose(m);
	return buf;
}

static void assert_text(const struct folded *f, const char *want)
{
	char *got = folded_text(f);

	cr_assert_str_eq(got, want);
	free(got);
}

static int read_text(struct folded *f, const char *text, size_t len,
		     size_t *ret_skipped)
{
	FILE *in = fmemopen((void *)text, len, "r");
	int err;

	cr_assert_not_null(in);
	err = folded__read(f, in, ret_skipped);
	fclose(in);
	return err;
}

Test(folded, kernel_frames_are_suffixed_and_follow_user_frames)
{
	/* Innermost first: two kernel frames, then three user frames. */
	const struct sym_frame fr[] = {
		KFRAME("do_syscall_64"), KFRAME("entry_SYSCALL_64"),
		UFRAME("write"),	 UFRAME("main"),
		UFRAME("_start"),
	};
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("server", fr, 5, 2);

	cr_assert_not_null(f);
	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "server;_start;main;write;entry_SYSCALL_64_[k];"
		       "do_syscall_64_[k] 1\n");
	folded__free(f);
}

Test(folded, inlined_frames_are_marked)
{
	/* One address of main() whose code came from two inlined calls. */
	const struct sym_frame fr[] = {
		{ .kind = FRAME_NATIVE, .name = "leaf", .inlined = true },
		{ .kind = FRAME_NATIVE, .name = "mid", .inlined = true },
		UFRAME("main"),
		UFRAME("_start"),
	};
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("app", fr, 4, 0);

	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "app;_start;main;mid_[i];leaf_[i] 1\n");
	folded__free(f);
}

Test(folded, kernel_only_sample_has_process_then_kernel_frames)
{
	const struct sym_frame fr[] = { KFRAME("default_idle"),
					KFRAME("do_idle") };
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("swapper", fr, 2, 2);

	cr_assert_eq(add_sample(f, &s), 0);
	/* nkernel past nframes is clamped, not read out of bounds. */
	s.nkernel = 7;
	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "swapper;do_idle_[k];default_idle_[k] 2\n");
	folded__free(f);
}

Test(folded, process_name_falls_back_to_thread_name_then_unknown)
{
	const struct sym_frame fr[] = { UFRAME("main") };
	struct folded *f = folded__new(0);
	struct sym_sample s = sample(NULL, fr, 1, 0);

	cr_assert_eq(add_sample(f, &s), 0);
	s.pcomm = "";
	cr_assert_eq(add_sample(f, &s), 0);
	s.comm = NULL;
	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "[unknown];main 1\nworker;main 2\n");
	folded__free(f);
}

Test(folded, unnamed_frames_show_their_module_or_unknown)
{
	const struct sym_frame fr[] = {
		{ .kind = FRAME_KERNEL, .module = "nvme" },
		{ .kind = FRAME_KERNEL },
		{ .kind = FRAME_NATIVE, .name = "", .module = "[vdso]" },
		{ .kind = FRAME_NATIVE, .module = "libc.so.6" },
		{ .kind = FRAME_NATIVE },
	};
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("app", fr, 5, 2);

	cr_assert_eq(fold(f, &s, true), 0);
	assert_text(f, "app;[unknown];[libc.so.6];[vdso];[unknown]_[k];"
		       "[nvme]_[k] 1\n");
	folded__free(f);
}

/* As perf's folded stacks read them (dso "[kernel.kallsyms]"), with the
 * kernel mark: an unnamed kernel frame is its module, never "[kernel]". */
Test(folded, unnamed_kernel_frames_read_as_the_kernel_or_their_module)
{
	const struct sym_frame fr[] = {
		{ .kind = FRAME_KERNEL, .module = "nvme" },
		{ .kind = FRAME_KERNEL, .module = "vmlinux" },
		{ .kind = FRAME_KERNEL },
		{ .kind = FRAME_KERNEL, .name = "do_idle", .module = "vmlinux" },
	};
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("app", fr, 4, 4);

	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "app;do_idle_[k];[kernel.kallsyms]_[k];"
		       "[kernel.kallsyms]_[k];[nvme]_[k] 1\n");
	folded__free(f);
}

Test(folded, separators_and_control_characters_are_sanitized)
{
	const struct sym_frame fr[] = {
		UFRAME("odd;name\nwith\tcontrol\x7f"),
		UFRAME("std::map<int; int>::find"),
	};
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("we;ird\r\nproc", fr, 2, 0);
	char *text;

	cr_assert_eq(add_sample(f, &s), 0);
	text = folded_text(f);
	cr_assert_str_eq(text, "we:ird??proc;std::map<int: int>::find;"
			       "odd:name?with?control? 1\n");
	/* One stack, one line. */
	cr_assert_eq(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
	folded__free(f);
}

Test(folded, added_stacks_with_control_characters_stay_on_one_line)
{
	struct folded *f = folded__new(0);

	cr_assert_eq(folded__add(f, "p;a\nb;c", 2), 0);
	cr_assert_eq(folded__add(f, "p;a\rb;c", 1), 0);
	assert_text(f, "p;a?b;c 3\n");
	folded__free(f);
}

Test(folded, sample_without_frames_is_counted_as_no_stack)
{
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("idle", NULL, 0, 0);

	cr_assert_eq(add_sample(f, &s), 0);
	assert_text(f, "idle;[no stack] 1\n");
	folded__free(f);
}

Test(folded, identical_stacks_are_merged)
{
	const struct sym_frame fr[] = { UFRAME("leaf"), UFRAME("main") };
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("app", fr, 2, 0);
	int i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(add_sample(f, &s), 0);
	cr_assert_eq(folded__add(f, "app;main;leaf", 10), 0);
	cr_assert_eq(folded__add(f, "app;main", 4), 0);
	cr_assert_eq(folded__stacks(f), 2);
	cr_assert_eq(folded__total(f), 17);
	assert_text(f, "app;main 4\napp;main;leaf 13\n");
	folded__free(f);
}

Test(folded, output_is_sorted_lexically)
{
	struct folded *f = folded__new(0);

	cr_assert_eq(folded__add(f, "zsh;main", 1), 0);
	cr_assert_eq(folded__add(f, "bash;main;b", 2), 0);
	cr_assert_eq(folded__add(f, "bash;main;a", 3), 0);
	cr_assert_eq(folded__add(f, "Xorg;main", 4), 0);
	cr_assert_eq(folded__add(f, "bash;main", 5), 0);
	assert_text(f, "Xorg;main 4\nbash;main 5\nbash;main;a 3\n"
		       "bash;main;b 2\nzsh;main 1\n");
	folded__free(f);
}

static int collect(void *ctx, const char *stack, uint64_t count)
{
	int *n = ctx;

	(void)stack;
	(void)count;
	return ++*n == 2 ? 77 : 0;
}

Test(folded, for_each_stops_at_a_nonzero_return)
{
	struct folded *f = folded__new(0);
	int n = 0;

	cr_assert_eq(folded__add(f, "a", 1), 0);
	cr_assert_eq(folded__add(f, "b", 1), 0);
	cr_assert_eq(folded__add(f, "c", 1), 0);
	cr_assert_eq(folded__for_each(f, collect, &n), 77);
	cr_assert_eq(n, 2);
	folded__free(f);
}

Test(folded, stacks_beyond_the_limit_go_to_the_overflow_stack)
{
	struct folded *f = folded__new(2);

	cr_assert_eq(folded__add(f, "p;a", 1), 0);
	cr_assert_eq(folded__add(f, "p;b", 2), 0);
	cr_assert_eq(folded__add(f, "p;c", 4), 0);
	cr_assert_eq(folded__add(f, "p;d", 8), 0);
	/* Known stacks still count as themselves. */
	cr_assert_eq(folded__add(f, "p;a", 16), 0);

	cr_assert_eq(folded__stacks(f), 3);
	cr_assert_eq(folded__overflow(f), 12);
	cr_assert_eq(folded__total(f), 31);
	assert_text(f, "[other stacks: limit reached] 12\np;a 17\np;b 2\n");
	folded__free(f);
}

Test(folded, write_then_read_round_trips)
{
	const char *stacks[] = {
		"app;main;operator new(unsigned long)",
		"app;main;std::vector<int, std::allocator<int> >::push_back",
		"app;[libc.so.6];[unknown]",
		"kworker/0:1;worker_thread_[k];process_one_work_[k]",
	};
	struct folded *f = folded__new(4), *g = folded__new(0);
	size_t skipped = 99, i;
	char *a, *b;

	for (i = 0; i < 4; i++)
		cr_assert_eq(folded__add(f, stacks[i], i + 1), 0);
	cr_assert_eq(folded__add(f, "app;over;the;limit", 100), 0);
	a = folded_text(f);

	cr_assert_eq(read_text(g, a, strlen(a), &skipped), 0);
	cr_assert_eq(skipped, 0);
	b = folded_text(g);
	cr_assert_str_eq(a, b);
	cr_assert_eq(folded__total(g), folded__total(f));
	cr_assert_eq(folded__stacks(g), folded__stacks(f));
	cr_assert_eq(folded__overflow(g), 100);
	free(a);
	free(b);
	folded__free(f);
	folded__free(g);
}

Test(folded, read_takes_the_count_after_the_last_space)
{
	static const char text[] =
		"app;operator delete(void*, unsigned long) 7\n"
		"app;a b c 1\r\n"
		"app;x  3   \n"
		"app;tab\t5";
	struct folded *f = folded__new(0);
	size_t skipped = 99;

	cr_assert_eq(read_text(f, text, sizeof(text) - 1, &skipped), 0);
	cr_assert_eq(skipped, 0);
	assert_text(f, "app;a b c 1\n"
		       "app;operator delete(void*, unsigned long) 7\n"
		       "app;tab 5\n"
		       "app;x 3\n");
	folded__free(f);
}

Test(folded, read_skips_and_counts_malformed_lines)
{
	static const char text[] = "app;main 5\n"
				   "no_count_here\n"
				   "app;main x\n"
				   "app;main 12x\n"
				   "app;main -3\n"
				   "app;main 1.5\n"
				   "app;main 99999999999999999999\n"
				   " 4\n"
				   "\n"
				   "   \n"
				   "app;nul\0byte 1\n"
				   "app;leaf 2\n";
	struct folded *f = folded__new(0);
	size_t skipped = 0;

	cr_assert_eq(read_text(f, text, sizeof(text) - 1, &skipped), 0);
	/* Blank lines are not malformed, just empty. */
	cr_assert_eq(skipped, 8);
	assert_text(f, "app;leaf 2\napp;main 5\n");
	folded__free(f);
}

Test(folded, read_skips_lines_longer_than_one_mebibyte)
{
	size_t big = 2 * 1024 * 1024, len;
	struct folded *f = folded__new(0);
	size_t skipped = 0;
	char *text;

	text = malloc(big + 64);
	cr_assert_not_null(text);
	memset(text, 'x', big);
	len = big;
	len += (size_t)sprintf(text + len, " 1\napp;after 3\n");

	cr_assert_eq(read_text(f, text, len, &skipped), 0);
	cr_assert_eq(skipped, 1);
	assert_text(f, "app;after 3\n");
	free(text);
	folded__free(f);
}

Test(folded, oversized_sample_is_cut_at_the_leaf_and_reads_back)
{
	enum { NFRAMES = 400, NAME = 6000 };
	struct sym_frame *fr = calloc(NFRAMES, sizeof(*fr));
	struct folded *f = folded__new(0), *g = folded__new(0);
	char *name = malloc(NAME + 1), *text, *end;
	struct sym_sample s;
	size_t skipped = 1, i;

	cr_assert(fr && name);
	memset(name, 'n', NAME);
	name[NAME] = '\0';
	for (i = 0; i < NFRAMES; i++) {
		fr[i].kind = FRAME_NATIVE;
		fr[i].name = name;
	}
	s = sample("deep", fr, NFRAMES, 0);
	cr_assert_eq(add_sample(f, &s), 0);

	text = folded_text(f);
	cr_assert_lt(strlen(text), 1024 * 1024);
	end = strrchr(text, ';');
	cr_assert_str_eq(end, ";[truncated] 1\n");
	cr_assert_eq(read_text(g, text, strlen(text), &skipped), 0);
	cr_assert_eq(skipped, 0);
	cr_assert_eq(folded__total(g), 1);
	free(text);
	free(name);
	free(fr);
	folded__free(f);
	folded__free(g);
}

Test(folded, add_rejects_what_is_not_a_stack)
{
	struct folded *f = folded__new(0);

	cr_assert_eq(folded__add(f, "", 1), -EINVAL);
	cr_assert_eq(folded__add(f, NULL, 1), -EINVAL);
	/* No request where one is said to be. */
	cr_assert_eq(otlp_folded__add(f, NULL, 1), -EINVAL);
	/* A zero count changes nothing. */
	cr_assert_eq(folded__add(f, "p;a", 0), 0);
	cr_assert_eq(folded__stacks(f), 0);
	cr_assert_eq(folded__total(f), 0);
	folded__free(f);
	folded__free(NULL);
}
