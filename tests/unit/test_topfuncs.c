// SPDX-License-Identifier: Apache-2.0
/* The top-functions report `tgprof record` prints: self and total samples
 * per function, computed from the folded stacks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporter/topfuncs.h"

static struct folded *folded_of(const char *const *stacks,
				const uint64_t *counts, size_t n)
{
	struct folded *f = folded__new(0);
	size_t i;

	cr_assert_not_null(f);
	for (i = 0; i < n; i++)
		cr_assert_eq(folded__add(f, stacks[i], counts[i]), 0);
	return f;
}

static const struct topfunc *find(const struct topfuncs *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

static void assert_counts(const struct topfuncs *t, const char *name,
			  uint64_t self, uint64_t total)
{
	const struct topfunc *fn = find(t, name);

	cr_assert_not_null(fn, "%s missing", name);
	cr_assert_eq(fn->self, self, "%s self %lu", name,
		     (unsigned long)fn->self);
	cr_assert_eq(fn->total, total, "%s total %lu", name,
		     (unsigned long)fn->total);
}

/* What topfuncs__print() writes; caller frees. */
static char *print_text(struct topfuncs *t, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	cr_assert_eq(topfuncs__print(t, n, m), 0);
	fclose(m);
	return buf;
}

Test(topfuncs, self_is_the_leaf_and_total_every_frame_of_the_stack)
{
	const char *stacks[] = { "app;main;parse;lex", "app;main;parse",
				 "app;main;eval" };
	const uint64_t counts[] = { 6, 3, 1 };
	struct folded *f = folded_of(stacks, counts, 3);
	struct topfuncs *t = topfuncs__compute(f);

	cr_assert_not_null(t);
	cr_assert_eq(t->samples, 10);
	cr_assert_eq(t->n, 4);
	assert_counts(t, "main", 0, 10);
	assert_counts(t, "parse", 3, 9);
	assert_counts(t, "lex", 6, 6);
	assert_counts(t, "eval", 1, 1);
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, process_name_is_not_a_function)
{
	const char *stacks[] = { "main;main", "app;[no stack]", "idle" };
	const uint64_t counts[] = { 2, 3, 5 };
	struct folded *f = folded_of(stacks, counts, 3);
	struct topfuncs *t = topfuncs__compute(f);

	cr_assert_not_null(t);
	/* A stack that is only a process name still counts in the total. */
	cr_assert_eq(t->samples, 10);
	cr_assert_eq(t->n, 2);
	assert_counts(t, "main", 2, 2);
	assert_counts(t, "[no stack]", 3, 3);
	cr_assert_null(find(t, "app"));
	cr_assert_null(find(t, "idle"));
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, recursion_is_counted_once_in_total)
{
	const char *stacks[] = { "app;main;fib;fib;fib;fib", "app;main;fib;add",
				 "app;walk;walk;visit;walk" };
	const uint64_t counts[] = { 5, 2, 4 };
	struct folded *f = folded_of(stacks, counts, 3);
	struct topfuncs *t = topfuncs__compute(f);

	cr_assert_not_null(t);
	assert_counts(t, "fib", 5, 7);
	assert_counts(t, "main", 0, 7);
	assert_counts(t, "add", 2, 2);
	assert_counts(t, "walk", 4, 4);
	assert_counts(t, "visit", 0, 4);
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, ties_are_ordered_by_name)
{
	const char *stacks[] = { "p;zeta", "p;alpha", "p;mu", "p;beta;big" };
	const uint64_t counts[] = { 3, 3, 3, 9 };
	struct folded *f = folded_of(stacks, counts, 4);
	struct topfuncs *t = topfuncs__compute(f);

	cr_assert_not_null(t);
	topfuncs__sort(t, 1);
	cr_assert_str_eq(t->v[0].name, "big");
	cr_assert_str_eq(t->v[1].name, "alpha");
	cr_assert_str_eq(t->v[2].name, "mu");
	cr_assert_str_eq(t->v[3].name, "zeta");
	cr_assert_str_eq(t->v[4].name, "beta");

	topfuncs__sort(t, 0);
	cr_assert_str_eq(t->v[0].name, "beta");
	cr_assert_str_eq(t->v[1].name, "big");
	cr_assert_str_eq(t->v[2].name, "alpha");
	cr_assert_str_eq(t->v[3].name, "mu");
	cr_assert_str_eq(t->v[4].name, "zeta");
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, printed_tables_rank_by_self_then_by_total)
{
	const char *stacks[] = { "app;main;parse;lex", "app;main;parse",
				 "app;main;eval", "app;main;fill_buffer_[k]" };
	const uint64_t counts[] = { 600, 300, 100, 12345 };
	struct folded *f = folded_of(stacks, counts, 4);
	struct topfuncs *t = topfuncs__compute(f);
	char *text;

	cr_assert_not_null(t);
	text = print_text(t, 3);
	cr_assert_str_eq(text,
			 "Top 3 functions by self samples (of 13345):\n"
			 "  self%   self   total%  total  type    function\n"
			 " 92.51%  12345   92.51%  12345  kernel  fill_buffer\n"
			 "  4.50%    600    4.50%    600  native  lex\n"
			 "  2.25%    300    6.74%    900  native  parse\n"
			 "\n"
			 "Top 3 functions by total samples (of 13345):\n"
			 "  self%   self   total%  total  type    function\n"
			 "  0.00%      0  100.00%  13345  native  main\n"
			 " 92.51%  12345   92.51%  12345  kernel  fill_buffer\n"
			 "  2.25%    300    6.74%    900  native  parse\n");
	free(text);
	topfuncs__free(t);
	folded__free(f);
}

/* Every frame type the folded stacks mark has its name in the type
 * column, the function without its mark; one function as two types (a
 * copy inlined, one not) is two rows. */
Test(topfuncs, type_column_names_every_frame_type)
{
	const char *stacks[] = {
		"app;main;run (app.py)_[p];LazyCompile:*fib_[j]",
		"app;main;hash_[i];do_syscall_64_[k]",
		"app;main;hash;eval (x.php)_[php]",
	};
	const uint64_t counts[] = { 50, 30, 20 };
	struct folded *f = folded_of(stacks, counts, 3);
	struct topfuncs *t = topfuncs__compute(f);
	char *text;
	size_t i;

	cr_assert_not_null(t);
	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->v[i].name, "do_syscall_64_[k]")) {
			cr_assert_str_eq(t->v[i].type, "kernel");
			cr_assert_str_eq(t->v[i].function, "do_syscall_64");
		}
	}
	text = print_text(t, 10);
	cr_assert_str_eq(
		text,
		"Top 7 functions by self samples (of 100):\n"
		"  self%  self   total%  total  type     function\n"
		" 50.00%    50   50.00%     50  jit      LazyCompile:*fib\n"
		" 30.00%    30   30.00%     30  kernel   do_syscall_64\n"
		" 20.00%    20   20.00%     20  php      eval (x.php)\n"
		"  0.00%     0   20.00%     20  native   hash\n"
		"  0.00%     0   30.00%     30  inlined  hash\n"
		"  0.00%     0  100.00%    100  native   main\n"
		"  0.00%     0   50.00%     50  cpython  run (app.py)\n"
		"\n"
		"Top 7 functions by total samples (of 100):\n"
		"  self%  self   total%  total  type     function\n"
		"  0.00%     0  100.00%    100  native   main\n"
		" 50.00%    50   50.00%     50  jit      LazyCompile:*fib\n"
		"  0.00%     0   50.00%     50  cpython  run (app.py)\n"
		" 30.00%    30   30.00%     30  kernel   do_syscall_64\n"
		"  0.00%     0   30.00%     30  inlined  hash\n"
		" 20.00%    20   20.00%     20  php      eval (x.php)\n"
		"  0.00%     0   20.00%     20  native   hash\n");
	free(text);
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, fewer_functions_than_asked_prints_them_all)
{
	const char *stacks[] = { "app;main" };
	const uint64_t counts[] = { 1 };
	struct folded *f = folded_of(stacks, counts, 1);
	struct topfuncs *t = topfuncs__compute(f);
	char *text;

	text = print_text(t, 20);
	cr_assert_not_null(strstr(text, "Top 1 functions by self samples"));
	cr_assert_not_null(strstr(text, "Top 1 functions by total samples"));
	cr_assert_not_null(
		strstr(text, "100.00%     1  100.00%      1  native  main\n"));
	free(text);
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, empty_profile_prints_empty_tables)
{
	struct folded *f = folded__new(0);
	struct topfuncs *t = topfuncs__compute(f);
	char *text;

	cr_assert_not_null(t);
	cr_assert_eq(t->n, 0);
	cr_assert_eq(t->samples, 0);
	text = print_text(t, 10);
	cr_assert_str_eq(text, "Top 0 functions by self samples (of 0):\n"
			       "  self%  self   total%  total  type  function\n"
			       "  (no functions)\n"
			       "\n"
			       "Top 0 functions by total samples (of 0):\n"
			       "  self%  self   total%  total  type  function\n"
			       "  (no functions)\n");
	free(text);
	topfuncs__free(t);
	folded__free(f);
}

Test(topfuncs, null_arguments_are_refused_or_ignored)
{
	cr_assert_null(topfuncs__compute(NULL));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(topfuncs__print(NULL, 5, stdout), -EINVAL);
	topfuncs__sort(NULL, 1);
	topfuncs__free(NULL);
}
