// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * x86-64 instruction length decoding, and the choice of a uprobe site the
 * kernel can emulate rather than single-step.
 *
 * The decoder covers the general-purpose integer instructions compilers
 * put at function starts, plus the SSE forms that share their plain ModRM
 * layout.  Anything else (VEX/EVEX, x87, 3DNow!, system instructions,
 * far branches) is -EINVAL: the probe search then stops, which is always
 * safe, whereas a wrong length would put a probe in the middle of an
 * instruction.
 *
 * What "emulated" means follows arch/x86/kernel/uprobes.c (6.x,
 * branch_setup_xol_ops() and push_setup_xol_ops()):
 *  - a NOP whose bytes are exactly x86_nops[len] (the kernel's own
 *    1..8-byte NOPs; the 9..11-byte ones carry a 2e prefix, which
 *    is_prefix_bad() refuses before emulation is considered);
 *  - opcode 0x90 with any prefixes ("prefix* + nop"): 66 90, f3 90
 *    (pause) and so on;
 *  - jmp rel8/rel32 (eb, e9), call rel32 (e8), jcc rel8/rel32 (70-7f,
 *    0f 80-8f), but not with a 66 prefix (-ENOTSUPP, the probe fails);
 *  - push r64: 50-57 alone, or after exactly the REX byte 0x41.
 * Any instruction carrying a 26/2e/36/3e segment or f0 lock prefix cannot
 * be probed at all (is_prefix_bad()).  Other multi-byte NOPs (0f 1f with
 * another ModRM/disp, 66 0f 1f 84 ...) and endbr64 are single-stepped.
 */
#include <errno.h>
#include <string.h>
#include "insn.h"

#define X86_MAX_INSN	15
#define REG_RAX		0
#define REG_RCX		1
#define REG_RDX		2
#define REG_RBX		3
#define REG_RSP		4
#define REG_RBP		5
#define REG_RSI		6
#define REG_RDI		7
#define REG_R11		11
#define BIT(r)		(1u << (r))

#define REX_B		0x01
#define REX_X		0x02
#define REX_R		0x04
#define REX_W		0x08

/* Everything the decoder learns; struct insn is the public subset. */
struct dec {
	const uint8_t *code;
	size_t avail;
	size_t pos;

	uint8_t rex;		/* 0, or the REX byte right before the opcode */
	bool p66, p67, pf2, pf3;
	bool bad_prefix;	/* 26/2e/36/3e/f0: uprobes refuses the insn */

	bool has_modrm;
	uint8_t mod, reg, rm;	/* reg and rm (mod == 3) include REX.R/REX.B */

	uint8_t cls;
	int32_t rel;
	uint16_t wmask;		/* every general-purpose register written */
	int dst;		/* explicit destination register, -1 if none */
	uint8_t push;		/* 8 when this is a plain 8-byte push */
};

/*
 * The kernel's x86_nops[] for 64-bit (arch/x86/include/asm/nops.h,
 * BYTES_NOP1..8); only an exact byte match counts as one of them.
 */
static const uint8_t kernel_nops[9][8] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static int take(struct dec *d, size_t n)
{
	if (d->pos + n > d->avail || d->pos + n > X86_MAX_INSN)
		return -EINVAL;
	d->pos += n;
	return 0;
}

static int take_byte(struct dec *d, uint8_t *b)
{
	if (d->pos >= d->avail || d->pos >= X86_MAX_INSN)
		return -EINVAL;
	*b = d->code[d->pos++];
	return 0;
}

static int32_t read_s32(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	return (int32_t)v;
}

/* ModRM, then SIB and displacement as mod/rm ask. */
static int parse_modrm(struct dec *d)
{
	uint8_t m, sib;
	int err;

	err = take_byte(d, &m);
	if (err)
		return err;
	d->has_modrm = true;
	d->mod = m >> 6;
	d->reg = ((m >> 3) & 7) | (d->rex & REX_R ? 8 : 0);
	d->rm = (m & 7) | (d->rex & REX_B ? 8 : 0);
	if (d->mod == 3)
		return 0;
	/* The length rules look at the low three bits only: REX.B does
	 * not turn rm=100 (SIB) or base=101 (disp32) into r12/r13. */
	if ((m & 7) == 4) {
		err = take_byte(d, &sib);
		if (err)
			return err;
		if (d->mod == 0 && (sib & 7) == 5)
			return take(d, 4);
	}
	if (d->mod == 0 && (m & 7) == 5)	/* RIP-relative disp32 */
		return take(d, 4);
	if (d->mod == 1)
		return take(d, 1);
	if (d->mod == 2)
		return take(d, 4);
	return 0;
}

/*
 * Register numbers of 8-bit operands: without any REX prefix 4-7 are
 * ah/ch/dh/bh, i.e. parts of rax/rcx/rdx/rbx, not spl/bpl/sil/dil.
 */
static unsigned int gpr(const struct dec *d, unsigned int n, bool byte)
{
	if (byte && !d->rex && n >= 4 && n < 8)
		return n - 4;
	return n;
}

static void write_reg(struct dec *d, unsigned int r)
{
	d->wmask |= BIT(r);
	if (d->dst < 0)
		d->dst = r;
}

/* The ModRM reg operand is the destination. */
static void w_reg(struct dec *d, bool byte)
{
	write_reg(d, gpr(d, d->reg, byte));
}

/* The ModRM r/m operand is the destination: a register only if mod==3. */
static void w_rm(struct dec *d, bool byte)
{
	if (d->mod == 3)
		write_reg(d, gpr(d, d->rm, byte));
}

/* Register encoded in the opcode's low bits (push/pop/mov imm/bswap). */
static unsigned int op_reg(const struct dec *d, uint8_t op)
{
	return (op & 7) | (d->rex & REX_B ? 8 : 0);
}

/* Size of an Iz immediate: 16 bits with 66 unless REX.W overrides it. */
static size_t imm_z(const struct dec *d)
{
	return d->p66 && !(d->rex & REX_W) ? 2 : 4;
}

/* A push of 8 bytes moves rsp predictably; with 66 it pushes 2. */
static void plain_push(struct dec *d)
{
	if (d->p66)
		d->wmask |= BIT(REG_RSP);
	else
		d->push = 8;
}

/* One-byte opcodes that carry a ModRM byte. */
static bool modrm_1byte(uint8_t op)
{
	if (op < 0x40)
		return (op & 7) < 4;
	switch (op) {
	case 0x63: case 0x69: case 0x6b:
	case 0x80 ... 0x8f:
	case 0xc0: case 0xc1: case 0xc6: case 0xc7:
	case 0xd0 ... 0xd3:
	case 0xf6: case 0xf7: case 0xfe: case 0xff:
		return true;
	}
	return false;
}

static int decode_1byte(struct dec *d, uint8_t op)
{
	bool byte = !(op & 1);
	int err;

	if (modrm_1byte(op)) {
		err = parse_modrm(d);
		if (err)
			return err;
	}

	if (op < 0x40) {
		/* add/or/adc/sbb/and/sub/xor/cmp; the rest is invalid in
		 * 64-bit mode (push/pop seg, daa & co) or a prefix */
		bool writes = (op >> 3) != 7;	/* cmp only reads */

		switch (op & 7) {
		case 0: case 1:
			if (writes)
				w_rm(d, byte);
			return 0;
		case 2: case 3:
			if (writes)
				w_reg(d, byte);
			return 0;
		case 4:
			if (writes)
				write_reg(d, REG_RAX);
			return take(d, 1);
		case 5:
			if (writes)
				write_reg(d, REG_RAX);
			return take(d, imm_z(d));
		}
		return -EINVAL;
	}

	switch (op) {
	case 0x50 ... 0x57:
		/* push_setup_xol_ops(): one byte, or exactly 41 + opcode */
		if (d->pos == 1 || (d->pos == 2 && d->rex == 0x41))
			d->cls = INSN_PUSH;
		plain_push(d);
		return 0;
	case 0x58 ... 0x5f:
		write_reg(d, op_reg(d, op));
		d->wmask |= BIT(REG_RSP);
		return 0;
	case 0x63:		/* movsxd */
		w_reg(d, false);
		return 0;
	case 0x68:		/* push imm32 (sign-extended to 64) */
		plain_push(d);
		return take(d, imm_z(d));
	case 0x69:		/* imul r, r/m, imm32 */
		w_reg(d, false);
		return take(d, imm_z(d));
	case 0x6a:		/* push imm8 */
		plain_push(d);
		return take(d, 1);
	case 0x6b:		/* imul r, r/m, imm8 */
		w_reg(d, false);
		return take(d, 1);
	case 0x70 ... 0x7f:	/* jcc rel8 */
		err = take(d, 1);
		if (err)
			return err;
		d->cls = INSN_JCC;
		d->rel = (int8_t)d->code[d->pos - 1];
		return 0;
	case 0x80: case 0x81: case 0x83:
		if ((d->reg & 7) != 7)	/* /7 is cmp */
			w_rm(d, op == 0x80);
		return take(d, op == 0x81 ? imm_z(d) : 1);
	case 0x84: case 0x85:	/* test */
		return 0;
	case 0x86: case 0x87:	/* xchg r/m, r */
		w_rm(d, byte);
		w_reg(d, byte);
		return 0;
	case 0x88: case 0x89:	/* mov r/m, r */
		w_rm(d, byte);
		return 0;
	case 0x8a: case 0x8b:	/* mov r, r/m */
		w_reg(d, byte);
		return 0;
	case 0x8c:		/* mov r/m, sreg */
		w_rm(d, false);
		return 0;
	case 0x8d:		/* lea: register source is undefined */
		if (d->mod == 3)
			return -EINVAL;
		w_reg(d, false);
		return 0;
	case 0x8e:		/* mov sreg, r/m: no GPR written */
		return 0;
	case 0x8f:		/* pop r/m; other /n are the XOP escape */
		if ((d->reg & 7) != 0)
			return -EINVAL;
		w_rm(d, false);
		d->wmask |= BIT(REG_RSP);
		return 0;
	case 0x90:
		/*
		 * With REX.B this is xchg %r8,%rax.  The kernel would still
		 * "emulate" it as a NOP (it only looks at the opcode byte),
		 * which would drop the exchange, so never offer it.
		 */
		if (d->rex & REX_B) {
			write_reg(d, REG_RAX);
			write_reg(d, op_reg(d, op));
			return 0;
		}
		d->cls = INSN_NOP;	/* incl. 66 90 and f3 90 (pause) */
		return 0;
	case 0x91 ... 0x97:	/* xchg rax, r */
		write_reg(d, op_reg(d, op));
		write_reg(d, REG_RAX);
		return 0;
	case 0x98:		/* cbw/cwde/cdqe */
		write_reg(d, REG_RAX);
		return 0;
	case 0x99:		/* cwd/cdq/cqo */
		write_reg(d, REG_RDX);
		return 0;
	case 0x9b:		/* fwait */
	case 0x9e:		/* sahf */
		return 0;
	case 0x9c:		/* pushf */
		plain_push(d);
		return 0;
	case 0x9d:		/* popf */
		d->wmask |= BIT(REG_RSP);
		return 0;
	case 0x9f:		/* lahf writes ah */
		write_reg(d, REG_RAX);
		return 0;
	case 0xa0 ... 0xa3:
		/* mov al/rax <-> moffs: a 64-bit address (32 with 67) */
		if (op <= 0xa1)
			write_reg(d, REG_RAX);
		return take(d, d->p67 ? 4 : 8);
	case 0xa4: case 0xa5:	/* movs */
	case 0xa6: case 0xa7:	/* cmps */
		d->wmask |= BIT(REG_RSI) | BIT(REG_RDI);
		if (d->pf2 || d->pf3)
			d->wmask |= BIT(REG_RCX);
		return 0;
	case 0xa8:		/* test al, imm8 */
		return take(d, 1);
	case 0xa9:		/* test eax, imm32 */
		return take(d, imm_z(d));
	case 0xaa: case 0xab:	/* stos */
	case 0xae: case 0xaf:	/* scas */
		d->wmask |= BIT(REG_RDI);
		if (d->pf2 || d->pf3)
			d->wmask |= BIT(REG_RCX);
		return 0;
	case 0xac: case 0xad:	/* lods */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RSI);
		if (d->pf2 || d->pf3)
			d->wmask |= BIT(REG_RCX);
		return 0;
	case 0xb0 ... 0xb7:	/* mov r8, imm8 */
		write_reg(d, gpr(d, op_reg(d, op), true));
		return take(d, 1);
	case 0xb8 ... 0xbf:	/* mov r, imm32/imm64 (REX.W) / imm16 */
		write_reg(d, op_reg(d, op));
		if (d->rex & REX_W)
			return take(d, 8);
		return take(d, d->p66 ? 2 : 4);
	case 0xc0: case 0xc1:	/* shift group, imm8 */
		w_rm(d, byte);
		return take(d, 1);
	case 0xc2:		/* ret imm16 */
		d->cls = INSN_RET;
		return take(d, 2);
	case 0xc3:
	case 0xcb:		/* lret */
		d->cls = INSN_RET;
		return 0;
	case 0xca:		/* lret imm16 */
		d->cls = INSN_RET;
		return take(d, 2);
	case 0xc6: case 0xc7:
		/* mov r/m, imm: only /0; c6 f8 / c7 f8 are xabort/xbegin,
		 * and xbegin is a branch */
		if ((d->reg & 7) != 0)
			return -EINVAL;
		w_rm(d, byte);
		return take(d, op == 0xc6 ? 1 : imm_z(d));
	case 0xc8:		/* enter imm16, imm8 */
		d->wmask |= BIT(REG_RSP) | BIT(REG_RBP);
		return take(d, 3);
	case 0xc9:		/* leave */
		d->wmask |= BIT(REG_RSP) | BIT(REG_RBP);
		return 0;
	case 0xd0 ... 0xd3:	/* shift group by 1 / by cl */
		w_rm(d, byte);
		return 0;
	case 0xd7:		/* xlat writes al */
		write_reg(d, REG_RAX);
		return 0;
	case 0xe8:
		err = take(d, 4);
		if (err)
			return err;
		d->cls = INSN_CALL;
		d->rel = read_s32(d->code + d->pos - 4);
		return 0;
	case 0xe9:
		err = take(d, 4);
		if (err)
			return err;
		d->cls = INSN_JMP;
		d->rel = read_s32(d->code + d->pos - 4);
		return 0;
	case 0xeb:
		err = take(d, 1);
		if (err)
			return err;
		d->cls = INSN_JMP;
		d->rel = (int8_t)d->code[d->pos - 1];
		return 0;
	case 0xf5:		/* cmc */
	case 0xf8: case 0xf9:	/* clc, stc */
	case 0xfc: case 0xfd:	/* cld, std */
		return 0;
	case 0xf6: case 0xf7:
		switch (d->reg & 7) {
		case 0: case 1:	/* test r/m, imm */
			return take(d, op == 0xf6 ? 1 : imm_z(d));
		case 2: case 3:	/* not, neg */
			w_rm(d, byte);
			return 0;
		default:	/* mul, imul, div, idiv: ax or rdx:rax */
			write_reg(d, REG_RAX);
			if (op == 0xf7)
				write_reg(d, REG_RDX);
			return 0;
		}
	case 0xfe:
		if ((d->reg & 7) > 1)
			return -EINVAL;
		w_rm(d, true);
		return 0;
	case 0xff:
		switch (d->reg & 7) {
		case 0: case 1:	/* inc, dec */
			w_rm(d, false);
			return 0;
		case 3: case 5:	/* far call/jmp: memory operand only */
			if (d->mod == 3)
				return -EINVAL;
			/* fallthrough */
		case 2: case 4:	/* call/jmp through register or memory */
			d->cls = INSN_INDIRECT;
			return 0;
		case 6:		/* push r/m */
			plain_push(d);
			return 0;
		}
		return -EINVAL;
	}
	/*
	 * Left out on purpose: opcodes invalid in 64-bit mode, VEX/EVEX
	 * (c4, c5, 62), x87 (d8-df), in/out/ins/outs, int/int3/into/iret,
	 * hlt, cli/sti, far call/jmp immediates, and loop/jrcxz (e0-e3):
	 * branches the kernel does not emulate and that are rarely seen.
	 */
	return -EINVAL;
}

/* Two-byte (0f xx) opcodes without a ModRM byte that we know. */
static bool no_modrm_2byte(uint8_t op)
{
	switch (op) {
	case 0x05: case 0x31: case 0x33: case 0x77:
	case 0x80 ... 0x8f:
	case 0xa2:
	case 0xc8 ... 0xcf:
		return true;
	}
	return false;
}

/* 0f 01 is mostly system instructions; a few exact user-mode forms. */
static int decode_0f01(struct dec *d)
{
	uint8_t m;
	int err = take_byte(d, &m);

	if (err)
		return err;
	switch (m) {
	case 0xd0:		/* xgetbv */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RDX);
		return 0;
	case 0xd5:		/* xend */
	case 0xd6:		/* xtest */
		return 0;
	case 0xf9:		/* rdtscp */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RCX) | BIT(REG_RDX);
		return 0;
	}
	return -EINVAL;
}

static int decode_0f38(struct dec *d)
{
	uint8_t op;
	int err = take_byte(d, &op);

	if (err)
		return err;
	err = parse_modrm(d);
	if (err)
		return err;
	/*
	 * 0f 38 00-ef are SSSE3/SSE4/AES/SHA forms writing xmm/mm registers;
	 * f0-ff hold movbe, crc32, adcx/adox with a GPR destination.  Treat
	 * the whole f0-ff row as writing ModRM.reg (movbe store is a false
	 * positive, which only makes the search stop earlier).
	 */
	if (op >= 0xf0)
		w_reg(d, false);
	return 0;
}

static int decode_0f3a(struct dec *d)
{
	uint8_t op;
	int err = take_byte(d, &op);

	if (err)
		return err;
	err = parse_modrm(d);
	if (err)
		return err;
	switch (op) {
	case 0x14 ... 0x17:	/* pextrb/w/d/q, extractps: r/m dest */
		w_rm(d, false);
		break;
	case 0x60 ... 0x63:	/* pcmp[ei]str[im]: ecx result */
		d->wmask |= BIT(REG_RCX);
		break;
	}
	return take(d, 1);	/* every 0f 3a form has an imm8 */
}

static int decode_0f(struct dec *d)
{
	uint8_t op;
	int err;

	err = take_byte(d, &op);
	if (err)
		return err;

	switch (op) {
	case 0x01:
		return decode_0f01(d);
	case 0x38:
		return decode_0f38(d);
	case 0x3a:
		return decode_0f3a(d);
	}

	if (!no_modrm_2byte(op)) {
		/* reject what we do not list before reading a ModRM */
		switch (op) {
		case 0x00: case 0x02 ... 0x04: case 0x06 ... 0x0c:
		case 0x0e: case 0x0f:	/* 3DNow! */
		case 0x20 ... 0x27: case 0x30 ... 0x37: case 0x39:
		case 0x3b ... 0x3f:
		case 0x78 ... 0x7b:	/* vmread/vmwrite, SSE4a */
		case 0xa0: case 0xa1: case 0xa6 ... 0xaa:
		case 0xb9: case 0xff:	/* ud1, ud0 */
			return -EINVAL;
		}
		err = parse_modrm(d);
		if (err)
			return err;
	}

	switch (op) {
	case 0x05:		/* syscall: rax result, rcx/r11 clobbered */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RCX) | BIT(REG_R11);
		return 0;
	case 0x0d:		/* prefetch */
	case 0x18 ... 0x1d:	/* prefetch hints, MPX, hint NOPs */
	case 0x1f:		/* nopl (emulated only if an x86_nops entry) */
		return 0;
	case 0x1e:
		/* f3 0f 1e fa/fb is endbr64/32 (a NOP); f3 0f 1e /1 with a
		 * register operand is rdsspd/q, which writes it */
		if (d->pf3 && d->mod == 3 && (d->reg & 7) == 1)
			w_rm(d, false);
		return 0;
	case 0x10 ... 0x17:	/* SSE moves */
	case 0x28 ... 0x2b:	/* movap, cvtsi2s, movnt */
	case 0x2e: case 0x2f:	/* ucomis, comis */
		return 0;
	case 0x2c: case 0x2d:	/* cvt(t)s[sd]2si: GPR destination */
		w_reg(d, false);
		return 0;
	case 0x31:		/* rdtsc */
	case 0x33:		/* rdpmc */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RDX);
		return 0;
	case 0x40 ... 0x4f:	/* cmovcc */
		w_reg(d, false);
		return 0;
	case 0x50:		/* movmskps/pd */
		w_reg(d, false);
		return 0;
	case 0x51 ... 0x6f:
		return 0;
	case 0x70 ... 0x73:	/* pshuf*, shift groups with imm8 */
		return take(d, 1);
	case 0x74 ... 0x76:	/* pcmpeq */
	case 0x77:		/* emms */
	case 0x7c: case 0x7d:	/* hadd/hsub */
	case 0x7f:
		return 0;
	case 0x7e:
		/* movd/movq r/m, mm/xmm (f3 0f 7e is movq xmm, xmm/m64) */
		if (!d->pf3)
			w_rm(d, false);
		return 0;
	case 0x80 ... 0x8f:	/* jcc rel32 */
		err = take(d, 4);
		if (err)
			return err;
		d->cls = INSN_JCC;
		d->rel = read_s32(d->code + d->pos - 4);
		return 0;
	case 0x90 ... 0x9f:	/* setcc r/m8 */
		w_rm(d, true);
		return 0;
	case 0xa2:		/* cpuid */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RBX) | BIT(REG_RCX) |
			    BIT(REG_RDX);
		return 0;
	case 0xa3:		/* bt r/m, r */
		return 0;
	case 0xa4: case 0xac:	/* shld/shrd imm8 */
		w_rm(d, false);
		return take(d, 1);
	case 0xa5: case 0xad:	/* shld/shrd cl */
	case 0xab: case 0xb3: case 0xbb:	/* bts, btr, btc */
		w_rm(d, false);
		return 0;
	case 0xae:
		/* group 15: memory forms save/restore state or flush;
		 * register forms are fences, except f3 0f ae /0-/3
		 * (rd/wr fs/gs base) of which rd* write the operand */
		if (d->mod == 3 && d->pf3)
			w_rm(d, false);
		return 0;
	case 0xaf:		/* imul r, r/m */
		w_reg(d, false);
		return 0;
	case 0xb0: case 0xb1:	/* cmpxchg: rax, and r/m */
		w_rm(d, op == 0xb0);
		write_reg(d, REG_RAX);
		return 0;
	case 0xb2: case 0xb4: case 0xb5:	/* lss/lfs/lgs */
		if (d->mod == 3)
			return -EINVAL;
		w_reg(d, false);
		return 0;
	case 0xb6: case 0xb7:	/* movzx */
	case 0xbe: case 0xbf:	/* movsx */
	case 0xbc: case 0xbd:	/* bsf/tzcnt, bsr/lzcnt */
		w_reg(d, false);
		return 0;
	case 0xb8:		/* popcnt needs f3; bare 0f b8 is jmpe */
		if (!d->pf3)
			return -EINVAL;
		w_reg(d, false);
		return 0;
	case 0xba:		/* bt/bts/btr/btc r/m, imm8 */
		if ((d->reg & 7) < 4)
			return -EINVAL;
		if ((d->reg & 7) > 4)
			w_rm(d, false);
		return take(d, 1);
	case 0xc0: case 0xc1:	/* xadd: both operands */
		w_rm(d, op == 0xc0);
		w_reg(d, op == 0xc0);
		return 0;
	case 0xc2: case 0xc4: case 0xc6:	/* cmpps, pinsrw, shufps */
		return take(d, 1);
	case 0xc3:		/* movnti */
		return 0;
	case 0xc5:		/* pextrw r32, mm/xmm, imm8 */
		w_reg(d, false);
		return take(d, 1);
	case 0xc7:
		/* group 9: cmpxchg8b/16b (rdx:rax), rdrand/rdseed/rdpid
		 * (register operand); all treated as writing both */
		d->wmask |= BIT(REG_RAX) | BIT(REG_RDX);
		w_rm(d, false);
		return 0;
	case 0xc8 ... 0xcf:	/* bswap */
		write_reg(d, op_reg(d, op));
		return 0;
	case 0xd7:		/* pmovmskb r32 */
		w_reg(d, false);
		return 0;
	case 0xd0 ... 0xd6:
	case 0xd8 ... 0xfe:	/* MMX/SSE arithmetic and moves */
		return 0;
	}
	return -EINVAL;
}

static int decode(const uint8_t *code, size_t len, struct dec *d)
{
	uint8_t b;
	int err;

	memset(d, 0, sizeof(*d));
	d->code = code;
	d->avail = len;
	d->dst = -1;
	if (!code)
		return -EINVAL;

	for (;;) {
		err = take_byte(d, &b);
		if (err)
			return err;
		if (b >= 0x40 && b <= 0x4f) {
			d->rex = b;
			continue;
		}
		/* a REX byte counts only right before the opcode */
		switch (b) {
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0xf0:
			d->bad_prefix = true;
			d->rex = 0;
			continue;
		case 0x64: case 0x65:
			d->rex = 0;
			continue;
		case 0x66:
			d->p66 = true;
			d->rex = 0;
			continue;
		case 0x67:
			d->p67 = true;
			d->rex = 0;
			continue;
		case 0xf2:
			d->pf2 = true;
			d->rex = 0;
			continue;
		case 0xf3:
			d->pf3 = true;
			d->rex = 0;
			continue;
		}
		break;
	}

	err = b == 0x0f ? decode_0f(d) : decode_1byte(d, b);
	if (err)
		return err;

	switch (d->cls) {
	case INSN_JCC:
	case INSN_JMP:
	case INSN_CALL:
		/*
		 * The kernel refuses these (66: -ENOTSUPP in
		 * branch_setup_xol_ops(), whose length also differs between
		 * Intel and AMD; segment/lock: is_prefix_bad()), so there is
		 * no branch class to give them and the search must stop.
		 */
		if (d->p66 || d->bad_prefix)
			return -EINVAL;
		break;
	case INSN_NOP:
	case INSN_PUSH:
		if (d->bad_prefix)
			d->cls = INSN_OTHER;
		break;
	}
	/* branch_setup_xol_ops() first compares against x86_nops[len] */
	if (d->cls == INSN_OTHER && !d->bad_prefix &&
	    d->pos < sizeof(kernel_nops) / sizeof(kernel_nops[0]) &&
	    !memcmp(code, kernel_nops[d->pos], d->pos))
		d->cls = INSN_NOP;
	return 0;
}

static void dec_to_insn(const struct dec *d, struct insn *out)
{
	memset(out, 0, sizeof(*out));
	out->len = d->pos;
	out->cls = d->cls;
	out->rel = d->rel;
	if (d->wmask) {
		out->writes_reg = true;
		out->dst_reg = d->dst >= 0 ? d->dst : __builtin_ctz(d->wmask);
	} else if (d->push && d->cls != INSN_PUSH) {
		/* an rsp write callers must not miss; the emulated push is
		 * told apart by its class */
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
		off += d.pos;
	}
	return 0;
}
