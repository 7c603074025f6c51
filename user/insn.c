// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The choice of a uprobe site the kernel can emulate rather than
 * single-step.  Zydis decodes the instructions (lengths, operands, the
 * registers each one writes); this file keeps the kernel's own rule of
 * which ones a uprobe emulates, and the search along a function's start.
 *
 * The rule, from arch/x86/kernel/uprobes.c (6.18: uprobe_init_insn(),
 * branch_setup_xol_ops(), push_setup_xol_ops()):
 *  - an instruction with a 26/2e/36/3e segment or f0 lock prefix cannot
 *    be probed at all (is_prefix_bad());
 *  - a NOP whose bytes are exactly x86_nops[len] (1..11 bytes; the 9..11
 *    byte ones carry a 2e prefix, so only 1..8 survive is_prefix_bad());
 *  - opcode 0x90 with any prefixes ("prefix* + nop"): 66 90, f3 90 (pause);
 *  - jmp rel8/rel32 (eb, e9), call rel32 (e8), jcc rel8/rel32 (70-7f,
 *    0f 80-8f), but not with a 66 prefix (-ENOTSUPP: the probe fails);
 *  - push r64: 50-57 alone, or after exactly the REX byte 0x41.
 * Other multi-byte NOPs (0f 1f with another ModRM/disp, 66 0f 1f 84 ...)
 * and endbr64 are single-stepped.
 *
 * insn_decode() refuses (-EINVAL, and the probe search stops there, which
 * is always safe) what zydis cannot decode (invalid, truncated, over 15
 * bytes); what does not fall through to the next instruction in user mode
 * (int3 may also be another tracer's breakpoint, not the program's byte);
 * relative branches the kernel does not emulate (loop, jrcxz, xbegin) or
 * refuses (66, segment, lock); and, by choice, VEX/EVEX/XOP/3DNow! and x87
 * code, which the starts of the functions gilscope probes do not have.
 */
#include <errno.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "insn.h"

#define REG_RAX		0
#define REG_RSP		4
#define BIT(r)		(1u << (r))

/* What the search needs of one instruction; struct insn is its public part. */
struct dec {
	uint8_t len;
	uint8_t cls;
	int32_t rel;
	uint16_t wmask;		/* every general-purpose register written */
	int dst;		/* the register it writes first, -1 if none */
	uint8_t push;		/* 8 when it pushes 8 bytes */
};

/*
 * The kernel's x86_nops[] for 64-bit (arch/x86/include/asm/nops.h,
 * BYTES_NOP1..11); only an exact byte match counts as one of them.
 */
static const uint8_t kernel_nops[12][11] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	[9] = { 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	[10] = { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	[11] = { 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static bool has_prefix(const ZydisDecodedInstruction *zi, uint8_t p)
{
	for (unsigned int i = 0; i < zi->raw.prefix_count; i++)
		if (zi->raw.prefixes[i].value == p)
			return true;
	return false;
}

/* is_prefix_bad(): uprobes refuses the instruction */
static bool prefix_bad(const ZydisDecodedInstruction *zi)
{
	return has_prefix(zi, 0x26) || has_prefix(zi, 0x2e) || has_prefix(zi, 0x36) ||
	       has_prefix(zi, 0x3e) || has_prefix(zi, 0xf0);
}

/* After these the next instruction does not run: a trap, or a fault at CPL 3. */
static bool stops_in_user_mode(const ZydisDecodedInstruction *zi)
{
	if (zi->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)	/* hlt, mov %cr0, ... */
		return true;
	switch (zi->meta.category) {
	case ZYDIS_CATEGORY_INTERRUPT:		/* int3, int n, int1 */
	case ZYDIS_CATEGORY_IO:			/* in/out: no I/O permission */
	case ZYDIS_CATEGORY_IOSTRINGOP:
		return true;
	default:
		break;
	}
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
	case ZYDIS_MNEMONIC_CLI:		/* #GP at IOPL 0 */
	case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_SYSENTER:		/* returns where the vDSO says */
		return true;
	default:
		return false;
	}
}

/*
 * The kernel's choice of xol ops, in its order: x86_nops[], then
 * branch_setup_xol_ops()'s opcodes, then push_setup_xol_ops()'s.  Sets
 * d->cls to what the kernel emulates (INSN_OTHER otherwise); -EINVAL for
 * a branch the kernel refuses to probe.
 */
static int kernel_emulation(const uint8_t *code, const ZydisDecodedInstruction *zi,
			    struct dec *d)
{
	bool one_byte = zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
	uint8_t op = zi->opcode;

	d->cls = INSN_OTHER;
	if (zi->length < sizeof(kernel_nops) / sizeof(kernel_nops[0]) &&
	    !memcmp(code, kernel_nops[zi->length], zi->length)) {
		d->cls = INSN_NOP;
	} else if (one_byte && op == 0x90) {
		/*
		 * With REX.B this is xchg %r8,%rax.  The kernel would still
		 * "emulate" it as a NOP (it looks at the opcode byte only),
		 * which would drop the exchange, so it is never offered.
		 */
		if (zi->mnemonic != ZYDIS_MNEMONIC_XCHG)
			d->cls = INSN_NOP;
	} else if (one_byte && (op == 0xeb || op == 0xe9)) {
		d->cls = INSN_JMP;
	} else if (one_byte && op == 0xe8) {
		d->cls = INSN_CALL;
	} else if ((one_byte && op >= 0x70 && op <= 0x7f) ||
		   (zi->opcode_map == ZYDIS_OPCODE_MAP_0F && op >= 0x80 && op <= 0x8f)) {
		d->cls = INSN_JCC;
	} else if (one_byte && op >= 0x50 && op <= 0x57 &&
		   (zi->length == 1 || (zi->length == 2 && code[0] == 0x41))) {
		d->cls = INSN_PUSH;
	}

	switch (d->cls) {
	case INSN_JMP:
	case INSN_CALL:
	case INSN_JCC:
		/*
		 * 66 (-ENOTSUPP in branch_setup_xol_ops(); its length also
		 * differs between Intel and AMD) and segment/lock prefixes
		 * (is_prefix_bad()): no branch class to give it, and the
		 * search must not walk past a branch.
		 */
		if (has_prefix(zi, 0x66) || prefix_bad(zi))
			return -EINVAL;
		d->rel = (int32_t)zi->raw.imm[0].value.s;
		break;
	case INSN_NOP:
	case INSN_PUSH:
		if (prefix_bad(zi))
			d->cls = INSN_OTHER;
		break;
	}
	return 0;
}

/* rax..r15 as 0..15 for any part of them (al, ah, ax, eax, rax), else -1 */
static int gpr_number(ZydisRegister reg)
{
	ZydisRegister r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);

	if (r < ZYDIS_REGISTER_RAX || r > ZYDIS_REGISTER_R15)
		return -1;
	return r - ZYDIS_REGISTER_RAX;
}

/*
 * The general-purpose registers an instruction writes, hidden operands
 * (cpuid's, a string op's rdi and rcx) included.  Its destination is the
 * first written register zydis names in the instruction's text, else the
 * lowest-numbered one written.
 */
static void reg_writes(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *ops,
		       struct dec *d)
{
	int first = -1;

	for (unsigned int i = 0; i < zi->operand_count; i++) {
		const ZydisDecodedOperand *o = &ops[i];
		int r;

		if (o->type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    !(o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		r = gpr_number(o->reg.value);
		if (r < 0)
			continue;
		d->wmask |= BIT(r);
		if (first < 0 && o->visibility != ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			first = r;
	}
	/* an 8-byte push moves rsp by a known amount; with 66 it pushes 2 */
	if (zi->meta.category == ZYDIS_CATEGORY_PUSH && zi->operand_width == 64) {
		d->push = 8;
		d->wmask &= ~BIT(REG_RSP);
	}
	/* the kernel returns a syscall's result in rax */
	if (zi->mnemonic == ZYDIS_MNEMONIC_SYSCALL)
		d->wmask |= BIT(REG_RAX);
	/* xchg writes both; 41 90 (xchg %eax,%r8d, which the kernel would
	 * take for a nop) is named by rax, as test_insn.c has it */
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && zi->opcode == 0x90 && d->wmask)
		first = REG_RAX;
	if (first >= 0)
		d->dst = first;
	else if (d->wmask)
		d->dst = __builtin_ctz(d->wmask);
}

static int decode(const uint8_t *code, size_t len, struct dec *d)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZydisDecodedInstruction zi;
	ZydisDecoder zd;
	int err;

	memset(d, 0, sizeof(*d));
	d->dst = -1;
	if (!code)
		return -EINVAL;
	if (!ZYAN_SUCCESS(ZydisDecoderInit(&zd, ZYDIS_MACHINE_MODE_LONG_64,
					   ZYDIS_STACK_WIDTH_64)) ||
	    !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&zd, code, len, &zi, ops)))
		return -EINVAL;
	if (zi.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY ||
	    zi.meta.isa_ext == ZYDIS_ISA_EXT_X87 || stops_in_user_mode(&zi))
		return -EINVAL;
	d->len = zi.length;

	err = kernel_emulation(code, &zi, d);
	if (err || d->cls != INSN_OTHER)
		return err;

	switch (zi.meta.category) {
	case ZYDIS_CATEGORY_RET:
		d->cls = INSN_RET;
		return 0;
	case ZYDIS_CATEGORY_COND_BR:
	case ZYDIS_CATEGORY_UNCOND_BR:
	case ZYDIS_CATEGORY_CALL:
		/* loop, jrcxz, xbegin: relative, and not emulated */
		if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[0].imm.is_relative)
			return -EINVAL;
		d->cls = INSN_INDIRECT;		/* through a register or memory */
		return 0;
	default:
		break;
	}
	reg_writes(&zi, ops, d);
	return 0;
}

static void dec_to_insn(const struct dec *d, struct insn *out)
{
	memset(out, 0, sizeof(*out));
	out->len = d->len;
	out->cls = d->cls;
	out->rel = d->rel;
	if (d->wmask) {
		out->writes_reg = true;
		out->dst_reg = d->dst;
	} else if (d->push) {
		/* an rsp write callers must not miss; the emulated push is
		 * told apart by its class (and has no push count here) */
		out->writes_reg = true;
		out->dst_reg = REG_RSP;
	}
}

int insn_decode(const uint8_t *code, size_t len, struct insn *out)
{
	struct dec d;
	int err;

	if (!out)
		return -EINVAL;
	err = decode(code, len, &d);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	dec_to_insn(&d, out);
	return 0;
}

bool insn_is_emulated(const struct insn *in)
{
	if (!in)
		return false;
	/* the decoder only hands out these classes when the kernel's
	 * rules (prefixes, exact NOP bytes, push forms) are met */
	switch (in->cls) {
	case INSN_JCC:
	case INSN_JMP:
	case INSN_CALL:
	case INSN_PUSH:
	case INSN_NOP:
		return true;
	}
	return false;
}

int insn_find_probe_site(const uint8_t *code, size_t len, unsigned keep_regs,
			 struct probe_site *out)
{
	uint32_t off = 0, sp = 0;
	struct insn first;
	struct dec d;

	if (!out)
		return -EINVAL;
	out->offset = 0;
	out->sp_adjust = 0;
	out->emulated = !insn_decode(code, len, &first) &&
			insn_is_emulated(&first);

	while (off < len) {
		if (decode(code + off, len - off, &d))
			return 0;
		/* The first emulated insn is the site; a branch is fine
		 * too: being the first one, every call still reaches it. */
		if (d.cls == INSN_JCC || d.cls == INSN_JMP ||
		    d.cls == INSN_CALL || d.cls == INSN_PUSH ||
		    d.cls == INSN_NOP) {
			out->offset = off;
			out->sp_adjust = sp;
			out->emulated = true;
			return 0;
		}
		if (d.cls != INSN_OTHER)	/* ret, indirect */
			return 0;
		/* the arguments the handler reads must still be there */
		if (d.wmask & keep_regs & ~BIT(REG_RSP))
			return 0;
		/* the return address must stay at a known sp offset */
		if (d.wmask & BIT(REG_RSP))
			return 0;
		sp += d.push;
		off += d.len;
	}
	return 0;
}
