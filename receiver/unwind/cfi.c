// SPDX-License-Identifier: Apache-2.0
/* CFI decoding: a .eh_frame or .debug_frame section's bytes in, CIEs, FDEs
 * and the rows of their CFA programs out (to table.c). Every read goes
 * through a cursor bounded by the entry it belongs to. */
#include <errno.h>
#include <string.h>

#include "receiver/unwind/cfi.h"

/* x86-64 DWARF register numbers. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RIP 16

/* DW_EH_PE_* pointer encodings. */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPL 0x70
#define PE_INDIRECT 0x80
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

/* DW_CFA_* opcodes. */
#define CFA_ADVANCE_LOC 0x40
#define CFA_OFFSET 0x80
#define CFA_RESTORE 0xc0
#define CFA_NOP 0x00
#define CFA_SET_LOC 0x01
#define CFA_ADVANCE_LOC1 0x02
#define CFA_ADVANCE_LOC2 0x03
#define CFA_ADVANCE_LOC4 0x04
#define CFA_OFFSET_EXTENDED 0x05
#define CFA_RESTORE_EXTENDED 0x06
#define CFA_UNDEFINED 0x07
#define CFA_SAME_VALUE 0x08
#define CFA_REGISTER 0x09
#define CFA_REMEMBER_STATE 0x0a
#define CFA_RESTORE_STATE 0x0b
#define CFA_DEF_CFA 0x0c
#define CFA_DEF_CFA_REGISTER 0x0d
#define CFA_DEF_CFA_OFFSET 0x0e
#define CFA_DEF_CFA_EXPRESSION 0x0f
#define CFA_EXPRESSION 0x10
#define CFA_OFFSET_EXTENDED_SF 0x11
#define CFA_DEF_CFA_SF 0x12
#define CFA_DEF_CFA_OFFSET_SF 0x13
#define CFA_VAL_OFFSET 0x14
#define CFA_VAL_OFFSET_SF 0x15
#define CFA_VAL_EXPRESSION 0x16
#define CFA_GNU_WINDOW_SAVE 0x2d
#define CFA_GNU_ARGS_SIZE 0x2e
#define CFA_GNU_NEGATIVE_OFFSET_EXTENDED 0x2f

/* remember_state nesting; compilers use one or two levels. */
#define CFI_MAX_STATES 32

/* A bounded reader over buf[pos, end). Reads past end set ->bad and
 * return 0; callers check ->bad once per step. */
struct cur {
	const uint8_t *buf;
	uint64_t pos;
	uint64_t end;
	bool bad;
};

static uint64_t cur__uint(struct cur *c, unsigned int len)
{
	uint64_t v = 0;
	unsigned int i;

	if (c->bad || c->pos > c->end || len > c->end - c->pos) {
		c->bad = true;
		return 0;
	}
	for (i = 0; i < len; i++)
		v |= (uint64_t)c->buf[c->pos + i] << (8 * i);
	c->pos += len;
	return v;
}

static uint64_t cur__uleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (c->bad || c->pos >= c->end) {
			c->bad = true;
			return 0;
		}
		b = c->buf[c->pos++];
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return v;
}

static int64_t cur__sleb(struct cur *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	uint8_t b;

	do {
		if (c->bad || c->pos >= c->end) {
			c->bad = true;
			return 0;
		}
		b = c->buf[c->pos++];
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

int cfi__read_ptr(const uint8_t *buf, uint64_t *pos, uint64_t end,
		  uint64_t vaddr, uint64_t datarel, uint8_t enc, uint64_t *ret)
{
	struct cur c = { .buf = buf, .pos = *pos, .end = end };
	uint64_t at = vaddr + *pos, v;

	if (enc == PE_OMIT || (enc & PE_INDIRECT))
		return -EBADMSG;
	switch (enc & PE_FORMAT) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		v = cur__uint(&c, 8);
		break;
	case PE_ULEB128:
		v = cur__uleb(&c);
		break;
	case PE_SLEB128:
		v = (uint64_t)cur__sleb(&c);
		break;
	case PE_UDATA2:
		v = cur__uint(&c, 2);
		break;
	case PE_SDATA2:
		v = (uint64_t)(int64_t)(int16_t)cur__uint(&c, 2);
		break;
	case PE_UDATA4:
		v = cur__uint(&c, 4);
		break;
	case PE_SDATA4:
		v = (uint64_t)(int64_t)(int32_t)cur__uint(&c, 4);
		break;
	default:
		return -EBADMSG;
	}
	if (c.bad)
		return -EBADMSG;
	switch (enc & PE_APPL) {
	case 0:
		break;
	case PE_PCREL:
		v += at;
		break;
	case PE_DATAREL:
		v += datarel;
		break;
	default:
		/* textrel, funcrel, aligned: never in x86-64 CFI. */
		return -EBADMSG;
	}
	*pos = c.pos;
	*ret = v;
	return 0;
}

/* The length field of an entry: where its contents begin and end. */
static int entry_bounds(const struct cfi_section *s, uint64_t off,
			uint64_t *ret_body, uint64_t *ret_end, bool *ret_64)
{
	struct cur c = { .buf = s->buf, .pos = off, .end = s->len };
	uint64_t len;

	len = cur__uint(&c, 4);
	*ret_64 = false;
	if (len == 0xffffffffu) {
		len = cur__uint(&c, 8);
		*ret_64 = true;
	}
	if (c.bad || len > c.end - c.pos)
		return -EBADMSG;
	*ret_body = c.pos;
	*ret_end = c.pos + len;
	return 0;
}

int cfi__entry(const struct cfi_section *s, uint64_t off,
	       enum cfi_entry_kind *ret_kind, uint64_t *ret_next,
	       uint64_t *ret_cie_off)
{
	uint64_t body, end, id, idpos;
	bool is64;
	struct cur c;
	int err;

	err = entry_bounds(s, off, &body, &end, &is64);
	if (err)
		return err;
	if (body == end) {
		/* A zero length ends .eh_frame (crtend's terminator). */
		*ret_kind = CFI_ENTRY_END;
		*ret_next = end;
		return 0;
	}
	c = (struct cur){ .buf = s->buf, .pos = body, .end = end };
	idpos = c.pos;
	id = cur__uint(&c, s->eh || !is64 ? 4 : 8);
	if (c.bad)
		return -EBADMSG;
	*ret_next = end;
	if (s->eh) {
		if (id == 0) {
			*ret_kind = CFI_ENTRY_CIE;
			return 0;
		}
		/* The CIE pointer counts back from its own field. */
		if (id > idpos)
			return -EBADMSG;
		*ret_cie_off = idpos - id;
	} else {
		if (id == (is64 ? ~0ull : 0xffffffffull)) {
			*ret_kind = CFI_ENTRY_CIE;
			return 0;
		}
		if (id >= s->len)
			return -EBADMSG;
		*ret_cie_off = id;
	}
	*ret_kind = CFI_ENTRY_FDE;
	return 0;
}

int cfi__parse_cie(const struct cfi_section *s, uint64_t off,
		   struct cfi_cie *ret)
{
	uint64_t body, end, auglen, augend, pers;
	const char *aug;
	size_t auglen_str, i;
	unsigned int version;
	uint8_t enc;
	struct cur c;
	bool is64;
	int err;

	err = entry_bounds(s, off, &body, &end, &is64);
	if (err)
		return err;
	memset(ret, 0, sizeof(*ret));
	ret->off = off;
	ret->fde_enc = PE_ABSPTR;
	ret->addr_size = 8;
	c = (struct cur){ .buf = s->buf, .pos = body, .end = end };
	(void)cur__uint(&c, s->eh || !is64 ? 4 : 8); /* the CIE id */
	version = (unsigned int)cur__uint(&c, 1);
	if (c.bad || (version != 1 && version != 3 && version != 4))
		return -EBADMSG;
	aug = (const char *)s->buf + c.pos;
	auglen_str = strnlen(aug, c.end - c.pos);
	if (auglen_str == c.end - c.pos)
		return -EBADMSG;
	c.pos += auglen_str + 1;
	if (version == 4) {
		ret->addr_size = (uint8_t)cur__uint(&c, 1);
		(void)cur__uint(&c, 1); /* segment selector size */
		if (ret->addr_size != 8)
			return -EBADMSG;
	}
	ret->code_align = cur__uleb(&c);
	ret->data_align = cur__sleb(&c);
	ret->ra_reg = version == 1 ? cur__uint(&c, 1) : cur__uleb(&c);
	if (c.bad)
		return -EBADMSG;
	if (auglen_str && aug[0] == 'z') {
		ret->aug_z = true;
		auglen = cur__uleb(&c);
		if (c.bad || auglen > c.end - c.pos)
			return -EBADMSG;
		augend = c.pos + auglen;
		for (i = 1; i < auglen_str; i++) {
			switch (aug[i]) {
			case 'L': /* LSDA encoding: FDEs skip their data */
				(void)cur__uint(&c, 1);
				break;
			case 'P': /* personality: encoding, pointer */
				enc = (uint8_t)cur__uint(&c, 1) & ~PE_INDIRECT;
				if (c.bad)
					return -EBADMSG;
				err = cfi__read_ptr(s->buf, &c.pos, augend,
						    s->vaddr, 0, enc, &pers);
				if (err)
					return err;
				break;
			case 'R':
				ret->fde_enc = (uint8_t)cur__uint(&c, 1);
				break;
			case 'S':
				ret->signal = true;
				break;
			default:
				/* 'B', 'G' and the like carry no data
				 * here; the length says where it ends. */
				break;
			}
			if (c.bad || c.pos > augend)
				return -EBADMSG;
		}
		c.pos = augend;
	} else if (auglen_str) {
		/* "eh" and other pre-'z' augmentations: layout unknown. */
		return -EBADMSG;
	}
	if (!s->eh && !ret->aug_z)
		ret->fde_enc = PE_ABSPTR;
	ret->ins_off = c.pos;
	ret->ins_end = end;
	return 0;
}

int cfi__parse_fde(const struct cfi_section *s, uint64_t off,
		   const struct cfi_cie *cie, struct cfi_fde *ret)
{
	uint64_t body, end, start, range, auglen;
	struct cur c;
	bool is64;
	int err;

	err = entry_bounds(s, off, &body, &end, &is64);
	if (err)
		return err;
	c = (struct cur){ .buf = s->buf, .pos = body, .end = end };
	(void)cur__uint(&c, s->eh || !is64 ? 4 : 8); /* the CIE pointer */
	if (c.bad)
		return -EBADMSG;
	err = cfi__read_ptr(s->buf, &c.pos, end, s->vaddr, 0, cie->fde_enc,
			    &start);
	if (err)
		return err;
	/* The range has the format of the encoding, never its base. */
	err = cfi__read_ptr(s->buf, &c.pos, end, s->vaddr, 0,
			    cie->fde_enc & PE_FORMAT, &range);
	if (err)
		return err;
	if (cie->aug_z) {
		auglen = cur__uleb(&c);
		if (c.bad || auglen > c.end - c.pos)
			return -EBADMSG;
		c.pos += auglen;
	}
	ret->start = start;
	ret->end = start + range < start ? UINT64_MAX : start + range;
	ret->off = off;
	ret->cie_off = cie->off;
	ret->ins_off = c.pos;
	ret->ins_end = end;
	return 0;
}

/* The PLT stub's CFA: DW_OP_breg7 N; DW_OP_breg16 0; DW_OP_lit15;
 * DW_OP_and; DW_OP_litT; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus. */
static bool expr_is_plt(const uint8_t *p, uint64_t len, int64_t *ret_n,
			uint8_t *ret_t)
{
	struct cur c = { .buf = p, .pos = 0, .end = len };
	int64_t n;
	uint8_t t;

	if (cur__uint(&c, 1) != 0x77)
		return false;
	n = cur__sleb(&c);
	if (cur__uint(&c, 1) != 0x80 || cur__sleb(&c) != 0 ||
	    cur__uint(&c, 1) != 0x3f || cur__uint(&c, 1) != 0x1a)
		return false;
	t = (uint8_t)cur__uint(&c, 1);
	if (t < 0x30 || t > 0x4f)
		return false;
	if (cur__uint(&c, 1) != 0x2a || cur__uint(&c, 1) != 0x33 ||
	    cur__uint(&c, 1) != 0x24 || cur__uint(&c, 1) != 0x22)
		return false;
	if (c.bad || c.pos != len)
		return false;
	*ret_n = n;
	*ret_t = t - 0x30;
	return true;
}

void cfi__state_row(const struct cfi_state *st, bool signal,
		    struct unwind_row *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (signal) {
		ret->cfa_type = UNWIND_CFA_SIGNAL;
		return;
	}
	if (st->rip_rule == CFI_UNDEFINED) {
		ret->cfa_type = UNWIND_CFA_END;
		return;
	}
	if (st->rip_rule != CFI_OFFSET || st->rip_offset != -8)
		goto unsupported;
	if (st->cfa_offset < INT32_MIN || st->cfa_offset > INT32_MAX)
		goto unsupported;
	if (st->cfa_rule == CFI_CFA_PLT) {
		ret->cfa_type = UNWIND_CFA_PLT;
		ret->cfa_offset = (int32_t)st->cfa_offset;
		ret->rbp_offset = st->plt_t;
		return;
	}
	if (st->cfa_rule != CFI_CFA_REG)
		goto unsupported;
	if (st->cfa_reg == REG_RSP)
		ret->cfa_type = UNWIND_CFA_RSP;
	else if (st->cfa_reg == REG_RBP)
		ret->cfa_type = UNWIND_CFA_RBP;
	else
		goto unsupported;
	ret->cfa_offset = (int32_t)st->cfa_offset;
	switch (st->rbp_rule) {
	case CFI_SAME:
	case CFI_UNDEFINED:
		ret->rbp_type = UNWIND_RBP_SAME;
		break;
	case CFI_OFFSET:
		if (st->rbp_offset < INT16_MIN || st->rbp_offset > INT16_MAX)
			goto unsupported;
		ret->rbp_type = UNWIND_RBP_AT_CFA;
		ret->rbp_offset = (int16_t)st->rbp_offset;
		break;
	default:
		goto unsupported;
	}
	return;

unsupported:
	memset(ret, 0, sizeof(*ret));
	ret->cfa_type = UNWIND_CFA_UNSUPPORTED;
}

/* Factored offsets wrap rather than overflow: hostile CFI may ask for
 * any product, and the row conversion refuses what does not fit. */
static int64_t factor(uint64_t v, int64_t align)
{
	return (int64_t)(v * (uint64_t)align);
}

/* A register rule: only RBP and RIP are kept. */
static void set_reg(struct cfi_state *st, uint64_t reg, uint8_t rule,
		    int64_t off)
{
	if (reg == REG_RBP) {
		st->rbp_rule = rule;
		st->rbp_offset = off;
	} else if (reg == REG_RIP) {
		st->rip_rule = rule;
		st->rip_offset = off;
	}
}

static void restore_reg(struct cfi_state *st, const struct cfi_state *init,
			uint64_t reg)
{
	if (reg == REG_RBP) {
		st->rbp_rule = init->rbp_rule;
		st->rbp_offset = init->rbp_offset;
	} else if (reg == REG_RIP) {
		st->rip_rule = init->rip_rule;
		st->rip_offset = init->rip_offset;
	}
}

struct cfi_vm {
	const struct cfi_section *s;
	const struct cfi_cie *cie;
	const struct cfi_state *init; /* NULL while running the CIE's */
	struct cfi_state st;
	struct cfi_state stack[CFI_MAX_STATES];
	unsigned int depth;
	uint64_t loc;
	uint64_t end;
	cfi_row_fn fn;
	void *ctx;
};

/* Hands out the row [loc, to) and moves loc; a location going backwards
 * or past the FDE is corrupt CFI. */
static int vm__advance(struct cfi_vm *vm, uint64_t to)
{
	struct unwind_row row;
	int err;

	if (to < vm->loc)
		return -EBADMSG;
	if (to > vm->end)
		to = vm->end;
	if (to > vm->loc && vm->fn) {
		cfi__state_row(&vm->st, vm->cie->signal, &row);
		err = vm->fn(vm->ctx, vm->loc, to, &row);
		if (err)
			return err;
	}
	vm->loc = to;
	return 0;
}

static int vm__run(struct cfi_vm *vm, uint64_t pos, uint64_t end)
{
	struct cur c = { .buf = vm->s->buf, .pos = pos, .end = end };
	const int64_t daf = vm->cie->data_align;
	const uint64_t caf = vm->cie->code_align;
	uint64_t reg, len, to;
	uint8_t op;
	int err;

	while (c.pos < c.end) {
		op = (uint8_t)cur__uint(&c, 1);
		switch (op & 0xc0) {
		case CFA_ADVANCE_LOC:
			err = vm__advance(vm, vm->loc + (op & 0x3f) * caf);
			if (err)
				return err;
			continue;
		case CFA_OFFSET:
			set_reg(&vm->st, op & 0x3f, CFI_OFFSET,
				factor(cur__uleb(&c), daf));
			goto next;
		case CFA_RESTORE:
			if (!vm->init)
				return -EBADMSG;
			restore_reg(&vm->st, vm->init, op & 0x3f);
			continue;
		}
		switch (op) {
		case CFA_NOP:
			break;
		case CFA_SET_LOC:
			err = cfi__read_ptr(vm->s->buf, &c.pos, c.end,
					    vm->s->vaddr, 0, vm->cie->fde_enc,
					    &to);
			if (err)
				return err;
			err = vm__advance(vm, to);
			if (err)
				return err;
			break;
		case CFA_ADVANCE_LOC1:
		case CFA_ADVANCE_LOC2:
		case CFA_ADVANCE_LOC4:
			len = op == CFA_ADVANCE_LOC1 ? 1 :
			      op == CFA_ADVANCE_LOC2 ? 2 :
						       4;
			to = vm->loc + cur__uint(&c, (unsigned int)len) * caf;
			if (c.bad)
				return -EBADMSG;
			err = vm__advance(vm, to);
			if (err)
				return err;
			break;
		case CFA_OFFSET_EXTENDED:
			reg = cur__uleb(&c);
			set_reg(&vm->st, reg, CFI_OFFSET,
				factor(cur__uleb(&c), daf));
			break;
		case CFA_OFFSET_EXTENDED_SF:
			reg = cur__uleb(&c);
			set_reg(&vm->st, reg, CFI_OFFSET,
				factor((uint64_t)cur__sleb(&c), daf));
			break;
		case CFA_GNU_NEGATIVE_OFFSET_EXTENDED:
			reg = cur__uleb(&c);
			set_reg(&vm->st, reg, CFI_OFFSET,
				factor(-cur__uleb(&c), daf));
			break;
		case CFA_RESTORE_EXTENDED:
			reg = cur__uleb(&c);
			if (!vm->init)
				return -EBADMSG;
			restore_reg(&vm->st, vm->init, reg);
			break;
		case CFA_UNDEFINED:
			set_reg(&vm->st, cur__uleb(&c), CFI_UNDEFINED, 0);
			break;
		case CFA_SAME_VALUE:
			set_reg(&vm->st, cur__uleb(&c), CFI_SAME, 0);
			break;
		case CFA_REGISTER:
			reg = cur__uleb(&c);
			(void)cur__uleb(&c);
			set_reg(&vm->st, reg, CFI_OTHER, 0);
			break;
		case CFA_VAL_OFFSET:
			reg = cur__uleb(&c);
			(void)cur__uleb(&c);
			set_reg(&vm->st, reg, CFI_OTHER, 0);
			break;
		case CFA_VAL_OFFSET_SF:
			reg = cur__uleb(&c);
			(void)cur__sleb(&c);
			set_reg(&vm->st, reg, CFI_OTHER, 0);
			break;
		case CFA_REMEMBER_STATE:
			if (vm->depth == CFI_MAX_STATES)
				return -EBADMSG;
			vm->stack[vm->depth++] = vm->st;
			break;
		case CFA_RESTORE_STATE:
			if (!vm->depth)
				return -EBADMSG;
			/* The CFA stays out of the restored rules in some
			 * readers; DWARF 5 and libdw restore it too. */
			vm->st = vm->stack[--vm->depth];
			break;
		case CFA_DEF_CFA:
			vm->st.cfa_reg = (uint32_t)cur__uleb(&c);
			vm->st.cfa_offset = (int64_t)cur__uleb(&c);
			vm->st.cfa_rule = CFI_CFA_REG;
			break;
		case CFA_DEF_CFA_SF:
			vm->st.cfa_reg = (uint32_t)cur__uleb(&c);
			vm->st.cfa_offset =
				factor((uint64_t)cur__sleb(&c), daf);
			vm->st.cfa_rule = CFI_CFA_REG;
			break;
		case CFA_DEF_CFA_REGISTER:
			vm->st.cfa_reg = (uint32_t)cur__uleb(&c);
			if (vm->st.cfa_rule != CFI_CFA_REG)
				vm->st.cfa_rule = CFI_CFA_OTHER;
			break;
		case CFA_DEF_CFA_OFFSET:
			vm->st.cfa_offset = (int64_t)cur__uleb(&c);
			if (vm->st.cfa_rule != CFI_CFA_REG)
				vm->st.cfa_rule = CFI_CFA_OTHER;
			break;
		case CFA_DEF_CFA_OFFSET_SF:
			vm->st.cfa_offset =
				factor((uint64_t)cur__sleb(&c), daf);
			if (vm->st.cfa_rule != CFI_CFA_REG)
				vm->st.cfa_rule = CFI_CFA_OTHER;
			break;
		case CFA_DEF_CFA_EXPRESSION:
			len = cur__uleb(&c);
			if (c.bad || len > c.end - c.pos)
				return -EBADMSG;
			if (expr_is_plt(c.buf + c.pos, len, &vm->st.cfa_offset,
					&vm->st.plt_t)) {
				vm->st.cfa_rule = CFI_CFA_PLT;
				vm->st.cfa_reg = REG_RSP;
			} else {
				vm->st.cfa_rule = CFI_CFA_OTHER;
			}
			c.pos += len;
			break;
		case CFA_EXPRESSION:
		case CFA_VAL_EXPRESSION:
			reg = cur__uleb(&c);
			len = cur__uleb(&c);
			if (c.bad || len > c.end - c.pos)
				return -EBADMSG;
			c.pos += len;
			set_reg(&vm->st, reg, CFI_OTHER, 0);
			break;
		case CFA_GNU_ARGS_SIZE:
			(void)cur__uleb(&c);
			break;
		default:
			/* DW_CFA_GNU_window_save (SPARC) and unknown ops:
			 * their operands are unknown, so is the rest. */
			return -EBADMSG;
		}
next:
		if (c.bad)
			return -EBADMSG;
	}
	return 0;
}

int cfi__run(const struct cfi_section *s, struct cfi_cie *cie,
	     const struct cfi_fde *fde, cfi_row_fn fn, void *ctx)
{
	struct cfi_vm vm = { .s = s, .cie = cie };
	int err;

	if (!cie->init_ok) {
		/* RSP + 8, the return address at CFA - 8 and RBP untouched
		 * are what the CIE sets; start from nothing known. */
		memset(&vm.st, 0, sizeof(vm.st));
		vm.st.cfa_rule = CFI_CFA_OTHER;
		vm.loc = 0;
		vm.end = UINT64_MAX;
		err = vm__run(&vm, cie->ins_off, cie->ins_end);
		if (err)
			return err;
		/* Advancing inside a CIE is meaningless: refuse it. */
		if (vm.loc != 0)
			return -EBADMSG;
		cie->init = vm.st;
		cie->init_ok = true;
	}
	vm.init = &cie->init;
	vm.st = cie->init;
	vm.depth = 0;
	vm.loc = fde->start;
	vm.end = fde->end;
	vm.fn = fn;
	vm.ctx = ctx;
	err = vm__run(&vm, fde->ins_off, fde->ins_end);
	if (err)
		return err;
	return vm__advance(&vm, fde->end);
}
