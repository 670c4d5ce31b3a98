/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compiled call-frame information: what receiver/unwind/ makes of a file's
 * .eh_frame or .debug_frame, and what the sampler's unwinder (and the
 * user-space one) walks a stack with. Shared by kernel and user space:
 * __u32/__u64 and fixed-size arrays only, no pointers. x86-64 only. */
#ifndef TGPROF_BPF_UNWIND_H
#define TGPROF_BPF_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* How the canonical frame address (the caller's RSP) is found. */
enum unwind_cfa {
	/* No CFI covers the address: fall back to the frame pointer. */
	UNWIND_CFA_NONE = 0,
	UNWIND_CFA_RSP = 1, /* CFA = RSP + cfa_offset */
	UNWIND_CFA_RBP = 2, /* CFA = RBP + cfa_offset */
	/*
	 * A PLT stub's expression (DW_OP_breg7 N; DW_OP_breg16 0; lit15; and;
	 * litT; ge; lit3; shl; plus): CFA = RSP + cfa_offset, plus 8 when
	 * (RIP & 15) >= T. T is kept in rbp_offset (the stub keeps RBP).
	 */
	UNWIND_CFA_PLT = 3,
	/* A signal trampoline (__restore_rt): the interrupted RIP, RSP and
	 * RBP are in the ucontext at RSP (UNWIND_SIGCONTEXT_*). */
	UNWIND_CFA_SIGNAL = 4,
	/* The outermost frame (the return address is undefined: _start,
	 * a thread's start): the stack is complete. */
	UNWIND_CFA_END = 5,
	/* CFI this format cannot express (another register, an expression):
	 * the walk stops here, counted. */
	UNWIND_CFA_UNSUPPORTED = 6,
};

/* Where the caller's RBP is. */
enum unwind_rbp {
	UNWIND_RBP_SAME = 0, /* unchanged (not saved, or same value) */
	UNWIND_RBP_AT_CFA = 1, /* saved at CFA + rbp_offset */
};

/*
 * One row: the rules from @pc up to the next row's pc. Rows of a table
 * are sorted by pc, and consecutive rows never carry the same rules. The
 * return address is always at CFA - 8 (x86-64), but for SIGNAL rows.
 */
struct unwind_row {
	__u32 pc; /* the first address, relative to the table's base */
	__s32 cfa_offset;
	__s16 rbp_offset; /* UNWIND_RBP_AT_CFA: from the CFA; PLT: T */
	__u8 cfa_type; /* enum unwind_cfa */
	__u8 rbp_type; /* enum unwind_rbp */
};

/* Offsets from the trampoline's RSP, where the handler's return popped the
 * rt_sigframe's pretcode: struct ucontext, that is uc_flags (8), uc_link
 * (8), uc_stack (24), then uc_mcontext, a struct sigcontext (glibc's own
 * CFI for __restore_rt reads the saved RSP at RSP + 160). */
#define UNWIND_SIGFRAME_MCONTEXT 40
#define UNWIND_SIGCONTEXT_RBP (UNWIND_SIGFRAME_MCONTEXT + 10 * 8)
#define UNWIND_SIGCONTEXT_RSP (UNWIND_SIGFRAME_MCONTEXT + 15 * 8)
#define UNWIND_SIGCONTEXT_RIP (UNWIND_SIGFRAME_MCONTEXT + 16 * 8)

/* Why a walk ended. UNWIND_STOP_END is a complete stack; every other
 * reason is counted per reason. */
enum unwind_stop {
	UNWIND_STOP_END = 0, /* the outermost frame (its return address
			     * undefined or 0): complete */
	UNWIND_STOP_NO_MAPPING, /* the PC is in no known executable mapping */
	UNWIND_STOP_NO_TABLE, /* the file's table is not loaded (yet) */
	UNWIND_STOP_UNSUPPORTED, /* an UNWIND_CFA_UNSUPPORTED row */
	UNWIND_STOP_READ_FAULT, /* reading the stack failed */
	UNWIND_STOP_DEPTH, /* the frame limit was reached */
	UNWIND_STOP_BAD_FRAME, /* a zero sampled PC, or a stack that does
				 * not grow */
	UNWIND_STOP_FP_END, /* the frame-pointer fallback found no frame */
	UNWIND_STOP_MAX,
};

#endif
