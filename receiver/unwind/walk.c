// SPDX-License-Identifier: Apache-2.0
/* The user-space unwinder: registers and a stack copy in, return addresses
 * out (walk.h). The receiver runs it on samples the BPF walk could not
 * finish; the rules are the BPF walk's, step for step. */
#include <errno.h>
#include <string.h>

#include "receiver/unwind/walk.h"

/* Reads the 8 bytes at user address @addr from the copy. */
static bool stack__read(const struct unwind_stack *s, uint64_t addr,
			uint64_t *ret)
{
	if (addr < s->addr || addr - s->addr > s->len ||
	    s->len - (addr - s->addr) < 8)
		return false;
	memcpy(ret, (const uint8_t *)s->data + (addr - s->addr), 8);
	return true;
}

/* The row for @pc (looked up at @lookup_pc), or NULL: frame pointers.
 * A row read from elsewhere is copied into @buf. */
static const struct unwind_row *where__row(const struct unwind_where *w,
					   uint64_t lookup_pc,
					   struct unwind_row *buf)
{
	if (w->table)
		return unwind_table__lookup(w->table, lookup_pc - w->bias);
	if (w->row && w->row(w->row_ctx, lookup_pc - w->bias, buf))
		return buf;
	return NULL;
}

void unwind__walk(const struct unwind_regs *regs,
		  const struct unwind_stack *stack, unwind_find_fn find,
		  void *ctx, uint64_t *pcs, uint8_t *flags, size_t max,
		  struct unwind_walk_result *ret)
{
	uint64_t pc = regs->rip, rsp = regs->rsp, rbp = regs->rbp;
	uint64_t cfa, ra, nrbp;
	bool is_ra = regs->return_address;
	const struct unwind_row *row;
	struct unwind_row row_buf;
	struct unwind_where w;
	uint8_t f = 0;
	int err;

	memset(ret, 0, sizeof(*ret));
	ret->stop = UNWIND_STOP_DEPTH;
	while (ret->n < max) {
		/* A zero return address ends the stack (walk.h, 4); a zero
		 * sampled or signal-frame PC is a bad frame. */
		if (!pc) {
			ret->stop = is_ra ? UNWIND_STOP_END :
					    UNWIND_STOP_BAD_FRAME;
			break;
		}
		pcs[ret->n] = pc;
		if (flags)
			flags[ret->n] = (is_ra ? 0 : UNWIND_FRAME_EXACT);
		ret->n++;
		ret->last = (struct unwind_regs){ .rip = pc,
						  .rsp = rsp,
						  .rbp = rbp,
						  .return_address = is_ra };
		if (ret->n == max)
			break;

		memset(&w, 0, sizeof(w));
		err = find(ctx, pc, &w);
		if (err == -ENOENT) {
			ret->stop = UNWIND_STOP_NO_MAPPING;
			break;
		}
		if (err) {
			ret->stop = UNWIND_STOP_NO_TABLE;
			break;
		}
		row = where__row(&w, is_ra ? pc - 1 : pc, &row_buf);
		f = 0;
		switch (row ? row->cfa_type : UNWIND_CFA_NONE) {
		case UNWIND_CFA_RSP:
			cfa = rsp + (int64_t)row->cfa_offset;
			break;
		case UNWIND_CFA_RBP:
			cfa = rbp + (int64_t)row->cfa_offset;
			break;
		case UNWIND_CFA_PLT:
			cfa = rsp + (int64_t)row->cfa_offset +
			      ((pc & 15) >= (uint64_t)row->rbp_offset ? 8 : 0);
			break;
		case UNWIND_CFA_SIGNAL:
			if (!stack__read(stack, rsp + UNWIND_SIGCONTEXT_RIP,
					 &pc) ||
			    !stack__read(stack, rsp + UNWIND_SIGCONTEXT_RBP,
					 &nrbp) ||
			    !stack__read(stack, rsp + UNWIND_SIGCONTEXT_RSP,
					 &rsp)) {
				ret->stop = UNWIND_STOP_READ_FAULT;
				goto out;
			}
			rbp = nrbp;
			is_ra = false;
			ret->signal_frames++;
			if (flags)
				flags[ret->n - 1] |= UNWIND_FRAME_SIGNAL;
			continue;
		case UNWIND_CFA_END:
			ret->stop = UNWIND_STOP_END;
			goto out;
		case UNWIND_CFA_UNSUPPORTED:
			ret->stop = UNWIND_STOP_UNSUPPORTED;
			goto out;
		default:
			/* No CFI here: the frame-pointer chain. */
			if (!rbp) {
				ret->stop = UNWIND_STOP_FP_END;
				goto out;
			}
			cfa = rbp + 16;
			f = UNWIND_FRAME_FP;
			break;
		}
		if (cfa <= rsp) {
			ret->stop = UNWIND_STOP_BAD_FRAME;
			break;
		}
		if (!stack__read(stack, cfa - 8, &ra)) {
			ret->stop = UNWIND_STOP_READ_FAULT;
			break;
		}
		if (f == UNWIND_FRAME_FP) {
			if (!stack__read(stack, cfa - 16, &nrbp)) {
				ret->stop = UNWIND_STOP_READ_FAULT;
				break;
			}
			rbp = nrbp;
			ret->fp_frames++;
		} else if (row->rbp_type == UNWIND_RBP_AT_CFA &&
			   row->cfa_type != UNWIND_CFA_PLT) {
			if (!stack__read(stack, cfa + (int64_t)row->rbp_offset,
					 &nrbp)) {
				ret->stop = UNWIND_STOP_READ_FAULT;
				break;
			}
			rbp = nrbp;
		}
		if (flags)
			flags[ret->n - 1] |= f;
		rsp = cfa;
		pc = ra;
		is_ra = true;
	}
out:
	return;
}

const char *unwind_stop__name(enum unwind_stop stop)
{
	static const char *const names[UNWIND_STOP_MAX] = {
		[UNWIND_STOP_END] = "end",
		[UNWIND_STOP_NO_MAPPING] = "no_mapping",
		[UNWIND_STOP_NO_TABLE] = "no_table",
		[UNWIND_STOP_UNSUPPORTED] = "unsupported",
		[UNWIND_STOP_READ_FAULT] = "read_fault",
		[UNWIND_STOP_DEPTH] = "depth",
		[UNWIND_STOP_BAD_FRAME] = "bad_frame",
		[UNWIND_STOP_FP_END] = "fp_end",
	};

	if ((unsigned int)stop >= UNWIND_STOP_MAX || !names[stop])
		return "unknown";
	return names[stop];
}
