/* SPDX-License-Identifier: Apache-2.0 */
/* DWARF call-frame information (.eh_frame, .debug_frame) read from a
 * section already in memory: CIEs, FDEs, pointer encodings, and the CFA
 * program run into rows of bpf/unwind.h. table.c finds the sections and
 * orders the FDEs; this file only decodes, bounded by the section's
 * length: every read is checked, no loop outlives its input. x86-64. */
#ifndef TGPROF_RECEIVER_UNWIND_CFI_H
#define TGPROF_RECEIVER_UNWIND_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/unwind.h"

/* A CFI section in memory (borrowed). */
struct cfi_section {
	const uint8_t *buf;
	uint64_t len;
	uint64_t vaddr; /* where it is loaded: pc-relative pointers */
	bool eh; /* .eh_frame rules (CIE id 0, relative CIE pointers) */
};

/* Where a register's caller value is, as far as the rows care. */
enum cfi_reg_rule {
	CFI_SAME = 0, /* same value (or never mentioned) */
	CFI_UNDEFINED,
	CFI_OFFSET, /* saved at CFA + offset */
	CFI_OTHER, /* another register, an expression, a value rule */
};

enum cfi_cfa_rule {
	CFI_CFA_REG = 0, /* reg + offset */
	CFI_CFA_PLT, /* the PLT stub expression: RSP + offset, T */
	CFI_CFA_OTHER, /* any other expression */
};

/* The rules at one address, for the registers the walk uses. */
struct cfi_state {
	int64_t cfa_offset;
	uint32_t cfa_reg;
	uint8_t cfa_rule; /* enum cfi_cfa_rule */
	uint8_t rbp_rule; /* enum cfi_reg_rule */
	uint8_t rip_rule;
	uint8_t plt_t; /* CFI_CFA_PLT: the (RIP & 15) threshold */
	int64_t rbp_offset;
	int64_t rip_offset;
};

struct cfi_cie {
	uint64_t off; /* of the CIE in the section */
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint64_t ins_off; /* initial instructions */
	uint64_t ins_end;
	uint8_t fde_enc; /* DW_EH_PE_* of FDE addresses */
	uint8_t addr_size;
	bool aug_z; /* FDEs carry augmentation data */
	bool signal; /* 'S': a signal trampoline's frame */
	/* The rules after the initial instructions (valid once ran). */
	struct cfi_state init;
	bool init_ok;
};

struct cfi_fde {
	uint64_t start; /* pc range [start, end) */
	uint64_t end;
	uint64_t off; /* of the FDE in the section */
	uint64_t cie_off;
	uint64_t ins_off;
	uint64_t ins_end;
};

enum cfi_entry_kind {
	CFI_ENTRY_CIE = 1,
	CFI_ENTRY_FDE = 2,
	CFI_ENTRY_END = 3, /* .eh_frame's zero terminator */
};

/*
 * The entry at @off: its kind, the offset of the next entry, and for an
 * FDE the offset of its CIE. 0, or -EBADMSG when it does not fit.
 */
int cfi__entry(const struct cfi_section *s, uint64_t off,
	       enum cfi_entry_kind *ret_kind, uint64_t *ret_next,
	       uint64_t *ret_cie_off);

/* Parses the CIE at @off (not its instructions). 0 or -EBADMSG. */
int cfi__parse_cie(const struct cfi_section *s, uint64_t off,
		   struct cfi_cie *ret);

/* Parses the FDE at @off whose CIE @cie is (cfi__entry said which). */
int cfi__parse_fde(const struct cfi_section *s, uint64_t off,
		   const struct cfi_cie *cie, struct cfi_fde *ret);

/*
 * Decodes a DW_EH_PE_* pointer at *@pos of @buf (up to @end), relative to
 * @vaddr (the address of buf[0]) for pcrel and @datarel for datarel;
 * advances *@pos. 0, or -EBADMSG (out of bounds, an unknown or indirect
 * encoding).
 */
int cfi__read_ptr(const uint8_t *buf, uint64_t *pos, uint64_t end,
		  uint64_t vaddr, uint64_t datarel, uint8_t enc, uint64_t *ret);

/* The row a state makes: cfa_type, offsets, rbp_type (pc left 0). */
void cfi__state_row(const struct cfi_state *st, bool signal,
		    struct unwind_row *ret);

/* Called for each address range [start, end) the program describes, in
 * order; returning non-zero stops the run with that value. */
typedef int (*cfi_row_fn)(void *ctx, uint64_t start, uint64_t end,
			  const struct unwind_row *row);

/*
 * Runs @cie's initial instructions (once, kept in @cie) and @fde's
 * program, calling @fn for every row. 0, -EBADMSG (a bad instruction,
 * an address going backwards, a state stack too deep), or @fn's value.
 */
int cfi__run(const struct cfi_section *s, struct cfi_cie *cie,
	     const struct cfi_fde *fde, cfi_row_fn fn, void *ctx);

#endif
