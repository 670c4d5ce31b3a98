/* SPDX-License-Identifier: Apache-2.0 */
/* The user-space unwinder: sampled registers and a copy of the top of the
 * user stack in, return addresses out, walked with the rows of table.h by
 * the same rules as the BPF sampler's walk. It finishes the samples the
 * kernel could not (a process's first samples, taken before its tables
 * were loaded) from the stack bytes the sample carries.
 *
 * The rules, frame by frame (the BPF walk follows the same):
 *  1. Record pc. Stop with UNWIND_STOP_DEPTH once @max frames are held.
 *  2. Find pc's mapping: none: stop NO_MAPPING; its table not loaded yet:
 *     stop NO_TABLE; no table for it (a file without CFI, JIT code):
 *     frame pointers (5). Look the row up at pc - 1 when pc is a return
 *     address (every frame but the first and one a signal interrupted),
 *     else at pc. Outside the table's extent: frame pointers.
 *  3. By the row's cfa_type:
 *     RSP: cfa = rsp + cfa_offset;  RBP: cfa = rbp + cfa_offset;
 *     PLT: cfa = rsp + cfa_offset + ((pc & 15) >= rbp_offset ? 8 : 0);
 *     SIGNAL: pc, rsp, rbp = the ucontext's RIP, RSP, RBP at rsp +
 *       UNWIND_SIGCONTEXT_*; the new pc is not a return address; go to 1;
 *     END: stop END (a complete stack);  UNSUPPORTED: stop UNSUPPORTED;
 *     NONE: frame pointers (5).
 *  4. ra = [cfa - 8]; rbp = [cfa + rbp_offset] when rbp_type is AT_CFA,
 *     else unchanged; rsp = cfa. cfa <= old rsp (a stack that does not
 *     grow): stop BAD_FRAME. ra == 0: stop END, the outermost frame (as
 *     libgcc takes it; Go's goroutines end so at runtime.goexit). pc =
 *     ra; go to 1.
 *  5. Frame pointers: rbp == 0: stop FP_END. ra = [rbp + 8], rbp =
 *     [rbp], rsp = old rbp + 16; the same checks as in 4.
 * A zero PC from the sample or a signal frame: stop BAD_FRAME.
 * Every read outside the stack copy stops with READ_FAULT. */
#ifndef TGPROF_RECEIVER_UNWIND_WALK_H
#define TGPROF_RECEIVER_UNWIND_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind.h"
#include "receiver/unwind/table.h"

/* Where the walk starts: the sampled registers, or where an earlier walk
 * (the kernel's) stopped. */
struct unwind_regs {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rbp;
	/* rip is a return address (a walk continued past its first frame):
	 * its row is looked up at rip - 1. */
	bool return_address;
};

/* A copy of user stack memory: @len bytes that were at user address
 * @addr (normally the sampled RSP). Borrowed. */
struct unwind_stack {
	const void *data;
	size_t len;
	uint64_t addr;
};

/* What the caller knows of a pc: the table of the file mapped there and
 * its load bias (runtime address = ELF vaddr + bias, table.h). */
struct unwind_where {
	const struct unwind_table *table; /* NULL: see row */
	/* Without a table, where the rows are (the kernel's copy): copies
	 * the row in force at ELF address @vaddr into *@ret; false when
	 * there is none (frame pointers). NULL too: no CFI, frame pointers. */
	bool (*row)(void *row_ctx, uint64_t vaddr, struct unwind_row *ret);
	void *row_ctx;
	uint64_t bias;
};

/*
 * Finds the table for @pc, from the process's mappings. Returns 0 and
 * fills *ret (table NULL: an executable mapping without CFI), -ENOENT
 * when no executable mapping holds @pc (stop NO_MAPPING), -EAGAIN when
 * the file's table is not available (stop NO_TABLE).
 */
typedef int (*unwind_find_fn)(void *ctx, uint64_t pc, struct unwind_where *ret);

/* Frame flags (unwind__walk's @flags). */
enum unwind_frame_flags {
	/* The pc is where the thread was (the first frame, a frame a signal
	 * interrupted), not a return address: symbolize it as it is, not
	 * at pc - 1. */
	UNWIND_FRAME_EXACT = 1 << 0,
	UNWIND_FRAME_FP = 1 << 1, /* unwound from with frame pointers */
	UNWIND_FRAME_SIGNAL = 1 << 2, /* a signal trampoline */
};

struct unwind_walk_result {
	size_t n; /* frames in pcs[] */
	enum unwind_stop stop;
	uint32_t fp_frames; /* frames unwound with frame pointers */
	uint32_t signal_frames; /* signal trampolines crossed */
	/* The registers of the last frame recorded (pcs[n - 1]): after
	 * NO_TABLE or NO_MAPPING, a later walk can start from them once the
	 * table or mapping is known (its first pc repeats pcs[n - 1]). */
	struct unwind_regs last;
};

/*
 * Walks the stack from @regs over @stack, writing at most @max pcs into
 * @pcs, innermost first, and each frame's enum unwind_frame_flags into
 * @flags when not NULL. The frame where the walk stopped is included.
 * Fills *ret; never fails: how it ended is ret->stop.
 */
void unwind__walk(const struct unwind_regs *regs,
		  const struct unwind_stack *stack, unwind_find_fn find,
		  void *ctx, uint64_t *pcs, uint8_t *flags, size_t max,
		  struct unwind_walk_result *ret);

/* A short name for @stop ("end", "no_table", ...), for stats and logs. */
const char *unwind_stop__name(enum unwind_stop stop);

#endif
