/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * x86-64 instruction decoding (zydis) to place uprobes well.
 *
 * A uprobe on an instruction the kernel must single-step out of line costs
 * ~12 us a hit on this machine kind; on one it emulates (jmp, jcc, call,
 * push reg, nop) ~0.6 us.  glibc's pthread_mutex_lock starts with a mov,
 * so gilscope looks a few instructions in for an emulated one that every
 * call still passes through, with the arguments still in their registers.
 */
#ifndef INSN_H
#define INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum insn_class {
	INSN_OTHER = 0,		/* decoded, single-stepped by uprobes */
	INSN_JCC,		/* conditional jump (rel8/rel32) */
	INSN_JMP,		/* jmp rel8/rel32 */
	INSN_CALL,		/* call rel32 */
	INSN_PUSH,		/* push r64 (0x50-0x57, REX.B 0x41 0x50-0x57) */
	INSN_NOP,		/* a nop the kernel emulates: exactly its own nop forms */
	INSN_RET,		/* ret: ends the straight-line path */
	INSN_INDIRECT,		/* jmp/call through a register or memory */
};

struct insn {
	uint8_t len;		/* bytes */
	uint8_t cls;		/* enum insn_class */
	bool writes_reg;	/* ModRM reg-or-rm destination is a register */
	uint8_t dst_reg;	/* 0-15 (rax..r15) when writes_reg */
	int32_t rel;		/* branch displacement for JCC/JMP/CALL */
};

/* Decodes one instruction.  Returns 0, -EINVAL for bytes that are not
 * one, and for what the probe search must not walk past (traps, privileged
 * and I/O instructions, branches uprobes does not emulate; VEX/EVEX and x87
 * too, by choice): the caller then gives up rather than guess. */
int insn_decode(const uint8_t *code, size_t len, struct insn *out);

/* True when the kernel's x86 uprobe code emulates @in instead of
 * single-stepping it (jmp, jcc, call rel32, push reg, nop). */
bool insn_is_emulated(const struct insn *in);

/* Argument registers, as bits of a mask (System V AMD64 order). */
#define INSN_ARG_RDI	(1u << 7)
#define INSN_ARG_RSI	(1u << 6)
#define INSN_ARG_RDX	(1u << 2)
#define INSN_ARG_RCX	(1u << 1)

struct probe_site {
	uint32_t offset;	/* from the function's start */
	uint32_t sp_adjust;	/* bytes pushed before it: ret addr at sp+this */
	bool emulated;		/* false: fell back to offset 0 */
};

/*
 * Finds where to put a uprobe in the function whose first bytes are
 * @code: the first emulated instruction on the straight-line path from
 * the entry (no branch taken before it), such that no instruction before
 * it writes a register in @keep_regs and the stack moved only by pushes.
 * Looks at most @len bytes.  Falls back to offset 0 (emulated = whether
 * the first instruction is emulated) when no such site exists or the
 * bytes cannot be decoded.  Always returns 0 with @out filled.
 */
int insn_find_probe_site(const uint8_t *code, size_t len, unsigned keep_regs,
			 struct probe_site *out);

#endif
