// SPDX-License-Identifier: Apache-2.0
/* python__interleave(): each interpreter activation among the native
 * frames becomes the Python frames it runs, in order; Python frames left
 * over go on the outer end; activations beyond them stay native. Frames
 * are written as "N3" (native 3) and "P1" (Python 1), innermost first. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "receiver/runtimes/python/python.h"

static void merged(const bool *is_eval, size_t nn, const bool *act_end,
		   size_t np, size_t max, char *buf, size_t len,
		   size_t *ret_outer)
{
	struct py_merge out[64];
	size_t i, n, off = 0;

	n = python__interleave(is_eval, nn, act_end, np, out, max, ret_outer);
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		off += snprintf(buf + off, len - off, "%s%c%u", i ? " " : "",
				out[i].python ? 'P' : 'N', out[i].index);
}

Test(python_interleave, each_activation_becomes_its_python_frames)
{
	/* libc; eval; call; eval; main */
	bool is_eval[] = { false, true, false, true, false };
	/* b a | main <module> */
	bool act_end[] = { false, true, false, true };
	char buf[256];
	size_t outer;

	merged(is_eval, 5, act_end, 4, 64, buf, sizeof(buf), &outer);
	cr_assert_str_eq(buf, "N0 P0 P1 N2 P2 P3 N4");
	cr_assert_eq(outer, 0);
}

Test(python_interleave, frames_left_when_native_walk_ended_go_outermost)
{
	bool is_eval[] = { false, true };
	bool act_end[] = { true, false, true };
	char buf[256];
	size_t outer;

	merged(is_eval, 2, act_end, 3, 64, buf, sizeof(buf), &outer);
	cr_assert_str_eq(buf, "N0 P0 P1 P2");
	cr_assert_eq(outer, 2);
}

Test(python_interleave, more_activations_than_python_frames_stay_native)
{
	bool is_eval[] = { true, true, false };
	bool act_end[] = { true };
	char buf[256];
	size_t outer;

	merged(is_eval, 3, act_end, 1, 64, buf, sizeof(buf), &outer);
	cr_assert_str_eq(buf, "P0 N1 N2");
	cr_assert_eq(outer, 0);
}

Test(python_interleave, no_python_frames_leave_native_frames_as_they_are)
{
	bool is_eval[] = { false, true, false };
	char buf[256];

	merged(is_eval, 3, NULL, 0, 64, buf, sizeof(buf), NULL);
	cr_assert_str_eq(buf, "N0 N1 N2");
}

Test(python_interleave, output_is_bounded)
{
	bool is_eval[] = { false, true, false };
	bool act_end[] = { false, false, true };
	char buf[256];

	merged(is_eval, 3, act_end, 3, 3, buf, sizeof(buf), NULL);
	cr_assert_str_eq(buf, "N0 P0 P1");
}

Test(python_interleave, eval_frame_is_recognized_by_name_only_when_native)
{
	struct sym_frame f = { .kind = FRAME_NATIVE,
			       .name = "_PyEval_EvalFrameDefault" };

	cr_assert(python__is_eval(&f));
	f.inlined = true;
	cr_assert_not(python__is_eval(&f));
	f.inlined = false;
	f.kind = FRAME_CPYTHON;
	cr_assert_not(python__is_eval(&f));
	f.kind = FRAME_NATIVE;
	f.name = "PyEval_EvalCode";
	cr_assert_not(python__is_eval(&f));
}
