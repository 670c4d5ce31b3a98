/* Folded stacks: how symbolized samples from the receiver become the
 * "stack count" lines of stacks.folded, and how such files are read back
 * for the flame graph and the top-functions report. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/folded.h"

#define UFRAME(n)                                 \
	{                                         \
		.kind = FRAME_NATIVE, .name = (n) \
	}
#define KFRAME(n)                                 \
	{                                         \
		.kind = FRAME_KERNEL, .name = (n) \
	}

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
	cr_assert_eq(folded__add_sample(f, &s), 0);
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

	cr_assert_eq(folded__add_sample(f, &s), 0);
	assert_text(f, "app;_start;main;mid_[i];leaf_[i] 1\n");
	folded__free(f);
}

Test(folded, kernel_only_sample_has_process_then_kernel_frames)
{
	const struct sym_frame fr[] = { KFRAME("default_idle"),
					KFRAME("do_idle") };
	struct folded *f = folded__new(0);
	struct sym_sample s = sample("swapper", fr, 2, 2);

	cr_assert_eq(folded__add_sample(f, &s), 0);
	/* nkernel past nframes is clamped, not read out of bounds. */
	s.nkernel = 7;
	cr_assert_eq(folded__add_sample(f, &s), 0);
	assert_text(f, "swapper;do_idle_[k];default_idle_[k] 2\n");
	folded__free(f);
}

Test(folded, process_name_falls_back_to_thread_name_then_unknown)
{
	const struct sym_frame fr[] = { UFRAME("main") };
	struct folded *f = folded__new(0);
	struct sym_sample s = sample(NULL, fr, 1, 0);

	cr_assert_eq(folded__add_sample(f, &s), 0);
	s.pcomm = "";
	cr_assert_eq(folded__add_sample(f, &s), 0);
	s.comm = NULL;
	cr_assert_eq(folded__add_sample(f, &s), 0);
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

	cr_assert_eq(folded__add_sample(f, &s), 0);
	assert_text(f, "app;[unknown];[libc.so.6];[vdso];[unknown]_[k];"
		       "[nvme]_[k] 1\n");
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

	cr_assert_eq(folded__add_sample(f, &s), 0);
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

	cr_assert_eq(folded__add_sample(f, &s), 0);
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
		cr_assert_eq(folded__add_sample(f, &s), 0);
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
	cr_assert_eq(folded__add_sample(f, &s), 0);

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
	cr_assert_eq(folded__add_sample(f, NULL), -EINVAL);
	/* A zero count changes nothing. */
	cr_assert_eq(folded__add(f, "p;a", 0), 0);
	cr_assert_eq(folded__stacks(f), 0);
	cr_assert_eq(folded__total(f), 0);
	folded__free(f);
	folded__free(NULL);
}
