// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * user/insn.c: instruction lengths, classes and register writes on
 * hand-written encodings, the kernel's emulation rules, the probe-site
 * search, and lengths cross-checked against objdump on real libc code.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include "testlib.h"
#include "insn.h"

#define LIBC_PATH	"/lib/x86_64-linux-gnu/libc.so.6"

#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSP 4
#define RBP 5
#define RSI 6
#define RDI 7
#define R8  8
#define R9  9
#define R12 12
#define R14 14
#define NONE (-1)

#define E 1	/* the kernel emulates it */
#define S 0	/* the kernel single-steps it */

struct vec {
	const char *what;
	uint8_t len;		/* expected length, also sizeof bytes */
	uint8_t cls;
	int8_t dst;		/* NONE: writes_reg must be false */
	uint8_t emulated;
	uint8_t nbytes;
	uint8_t b[16];
};

#define V(what, len, cls, dst, emu, ...)				\
	{ what, len, cls, dst, emu,					\
	  sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

/* Lengths are the byte counts (checked against the stated length, and
 * against objdump in insn_vectors_agree_with_objdump). */
static const struct vec vecs[] = {
	/* ModRM, SIB, displacements, RIP-relative */
	V("mov 0x10(%rdi),%eax = 3", 3, INSN_OTHER, RAX, S, 0x8b, 0x47, 0x10),
	V("mov %eax,%edx = 2", 2, INSN_OTHER, RDX, S, 0x89, 0xc2),
	V("mov 0x0(%rip),%rax = 7", 7, INSN_OTHER, RAX, S,
	  0x48, 0x8b, 0x05, 0x11, 0x22, 0x33, 0x44),
	V("mov 0x0(%rip),%r9d = 7", 7, INSN_OTHER, R9, S,
	  0x44, 0x8b, 0x0d, 0x98, 0x96, 0x14, 0x00),
	V("mov %fs:0x28,%rax = 9", 9, INSN_OTHER, RAX, S,
	  0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00),
	V("mov %rax,0x88(%rsp) = 8", 8, INSN_OTHER, NONE, S,
	  0x48, 0x89, 0x84, 0x24, 0x88, 0x00, 0x00, 0x00),
	V("mov 0x0(,%r12,4),%eax (SIB, no base) = 8", 8, INSN_OTHER, RAX, S,
	  0x42, 0x8b, 0x04, 0xa5, 0x00, 0x00, 0x00, 0x00),
	V("mov 0x0(%r13),%eax (r13 base needs disp8) = 4", 4, INSN_OTHER, RAX,
	  S, 0x41, 0x8b, 0x45, 0x00),
	V("mov (%r12),%eax (r12 base needs SIB) = 4", 4, INSN_OTHER, RAX, S,
	  0x41, 0x8b, 0x04, 0x24),
	V("mov 0x100(%rsp),%eax = 7", 7, INSN_OTHER, RAX, S,
	  0x8b, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00),
	V("mov %rdx,%r14 = 3", 3, INSN_OTHER, R14, S, 0x49, 0x89, 0xd6),
	V("mov %r8,%rdi (REX.R source) = 3", 3, INSN_OTHER, RDI, S,
	  0x4c, 0x89, 0xc7),
	V("mov %rdi,%r8 (REX.B dest) = 3", 3, INSN_OTHER, R8, S,
	  0x49, 0x89, 0xf8),
	V("lea 0x8(%rsp),%r12 = 5", 5, INSN_OTHER, R12, S,
	  0x4c, 0x8d, 0x64, 0x24, 0x08),
	V("lea 0x0(%rip),%rdi = 7", 7, INSN_OTHER, RDI, S,
	  0x48, 0x8d, 0x3d, 0x00, 0x10, 0x00, 0x00),
	V("movslq %edi,%rdx = 3", 3, INSN_OTHER, RDX, S, 0x48, 0x63, 0xd7),
	V("mov %ds,%eax = 2", 2, INSN_OTHER, RAX, S, 0x8c, 0xd8),
	V("mov %eax,%ds = 2", 2, INSN_OTHER, NONE, S, 0x8e, 0xd8),
	/* byte registers: without REX 4-7 are ah/ch/dh/bh */
	V("mov %al,%dh = 2", 2, INSN_OTHER, RDX, S, 0x88, 0xc6),
	V("mov %al,%sil = 3", 3, INSN_OTHER, RSI, S, 0x40, 0x88, 0xc6),
	V("mov $1,%ah = 2", 2, INSN_OTHER, RAX, S, 0xb4, 0x01),
	V("mov $1,%sil = 3", 3, INSN_OTHER, RSI, S, 0x40, 0xb6, 0x01),
	V("setne %ah = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0x95, 0xc4),
	/* immediates */
	V("movl $imm32,0x8(%rsp) = 8", 8, INSN_OTHER, NONE, S,
	  0xc7, 0x44, 0x24, 0x08, 0x01, 0x02, 0x03, 0x04),
	V("movw $imm16,0x8(%rsp) = 7", 7, INSN_OTHER, NONE, S,
	  0x66, 0xc7, 0x44, 0x24, 0x08, 0x34, 0x12),
	V("mov $-1,%rax (c7 /0) = 7", 7, INSN_OTHER, RAX, S,
	  0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff),
	V("movb $1,(%rdi) = 3", 3, INSN_OTHER, NONE, S, 0xc6, 0x07, 0x01),
	V("movabs $imm64,%rax = 10", 10, INSN_OTHER, RAX, S,
	  0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8),
	V("mov $1,%eax = 5", 5, INSN_OTHER, RAX, S, 0xb8, 1, 0, 0, 0),
	V("mov $0x1234,%ax = 4", 4, INSN_OTHER, RAX, S, 0x66, 0xb8, 0x34, 0x12),
	V("mov $1,%esi = 5", 5, INSN_OTHER, RSI, S, 0xbe, 1, 0, 0, 0),
	V("mov $1,%r12d = 6", 6, INSN_OTHER, R12, S, 0x41, 0xbc, 1, 0, 0, 0),
	V("movabs 0x0807060504030201,%rax = 10", 10, INSN_OTHER, RAX, S,
	  0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8),
	V("addr32 mov 0x4030201,%eax = 6", 6, INSN_OTHER, RAX, S,
	  0x67, 0xa1, 1, 2, 3, 4),
	/* arithmetic */
	V("and $0x17f,%edx = 6", 6, INSN_OTHER, RDX, S,
	  0x81, 0xe2, 0x7f, 0x01, 0x00, 0x00),
	V("and $0x7c,%eax = 3", 3, INSN_OTHER, RAX, S, 0x83, 0xe0, 0x7c),
	V("sub $0x10,%rsp = 4", 4, INSN_OTHER, RSP, S, 0x48, 0x83, 0xec, 0x10),
	V("sub $0x98,%rsp = 7", 7, INSN_OTHER, RSP, S,
	  0x48, 0x81, 0xec, 0x98, 0x00, 0x00, 0x00),
	V("cmpq $imm32,0x8(%rdx) = 8", 8, INSN_OTHER, NONE, S,
	  0x48, 0x81, 0x7a, 0x08, 0xff, 0xc9, 0x9a, 0x3b),
	V("cmpb $0,0x0(%rip) = 7", 7, INSN_OTHER, NONE, S,
	  0x80, 0x3d, 0x29, 0xf2, 0x14, 0x00, 0x00),
	V("xor %eax,%eax = 2", 2, INSN_OTHER, RAX, S, 0x31, 0xc0),
	V("xor %r9d,%r9d = 3", 3, INSN_OTHER, R9, S, 0x45, 0x31, 0xc9),
	V("add $0x100,%eax = 5", 5, INSN_OTHER, RAX, S, 0x05, 0, 1, 0, 0),
	V("cmp $0xff,%eax = 5", 5, INSN_OTHER, NONE, S, 0x3d, 0xff, 0, 0, 0),
	V("cmp $0x1234,%ax = 4", 4, INSN_OTHER, NONE, S,
	  0x66, 0x3d, 0x34, 0x12),
	V("and $0xf,%al = 2", 2, INSN_OTHER, RAX, S, 0x24, 0x0f),
	V("test %edx,%edx = 2", 2, INSN_OTHER, NONE, S, 0x85, 0xd2),
	V("test %r9d,%r9d = 3", 3, INSN_OTHER, NONE, S, 0x45, 0x85, 0xc9),
	V("test $1,%al = 2", 2, INSN_OTHER, NONE, S, 0xa8, 0x01),
	V("test $imm32,%eax = 5", 5, INSN_OTHER, NONE, S, 0xa9, 0, 0, 1, 0),
	V("testb $1,0x10(%rdi) = 4", 4, INSN_OTHER, NONE, S,
	  0xf6, 0x47, 0x10, 0x01),
	V("test $0x10000,%edi = 6", 6, INSN_OTHER, NONE, S,
	  0xf7, 0xc7, 0x00, 0x00, 0x01, 0x00),
	V("test $0x100,%di = 5", 5, INSN_OTHER, NONE, S,
	  0x66, 0xf7, 0xc7, 0x00, 0x01),
	V("neg %eax = 2", 2, INSN_OTHER, RAX, S, 0xf7, 0xd8),
	V("div %rcx (rdx:rax) = 3", 3, INSN_OTHER, RAX, S, 0x48, 0xf7, 0xf1),
	V("cqto = 2", 2, INSN_OTHER, RDX, S, 0x48, 0x99),
	V("cltd = 1", 1, INSN_OTHER, RDX, S, 0x99),
	V("cltq = 2", 2, INSN_OTHER, RAX, S, 0x48, 0x98),
	V("shr %eax = 2", 2, INSN_OTHER, RAX, S, 0xd1, 0xe8),
	V("shl $4,%eax = 3", 3, INSN_OTHER, RAX, S, 0xc1, 0xe0, 0x04),
	V("shl %cl,%rdx = 3", 3, INSN_OTHER, RDX, S, 0x48, 0xd3, 0xe2),
	V("imul $12,%eax,%eax = 3", 3, INSN_OTHER, RAX, S, 0x6b, 0xc0, 0x0c),
	V("imul $1000,%eax,%eax = 6", 6, INSN_OTHER, RAX, S,
	  0x69, 0xc0, 0xe8, 0x03, 0x00, 0x00),
	V("imul %edx,%eax = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0xaf, 0xc2),
	V("inc %eax = 2", 2, INSN_OTHER, RAX, S, 0xff, 0xc0),
	V("inc %bl = 2", 2, INSN_OTHER, RBX, S, 0xfe, 0xc3),
	V("incl 0x4(%rdi) = 3", 3, INSN_OTHER, NONE, S, 0xff, 0x47, 0x04),
	V("xchg %rdi,%rsi = 3", 3, INSN_OTHER, RSI, S, 0x48, 0x87, 0xfe),
	V("xchg %rax,%rdi = 2", 2, INSN_OTHER, RDI, S, 0x48, 0x97),
	V("xchg %eax,(%rdi) = 2", 2, INSN_OTHER, RAX, S, 0x87, 0x07),
	V("lock cmpxchg %edx,(%rdi) = 4 (writes eax)", 4, INSN_OTHER, RAX, S,
	  0xf0, 0x0f, 0xb1, 0x17),
	V("cmpxchg %edx,%ecx = 3", 3, INSN_OTHER, RCX, S, 0x0f, 0xb1, 0xd1),
	V("lock xadd %eax,(%rdi) = 4", 4, INSN_OTHER, RAX, S,
	  0xf0, 0x0f, 0xc1, 0x07),
	/* two-byte opcodes */
	V("movzbl 0x10(%rdi),%eax = 4", 4, INSN_OTHER, RAX, S,
	  0x0f, 0xb6, 0x47, 0x10),
	V("movswq %di,%rax = 4", 4, INSN_OTHER, RAX, S, 0x48, 0x0f, 0xbf, 0xc7),
	V("cmove %edx,%eax = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0x44, 0xc2),
	V("sete %al = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0x94, 0xc0),
	V("bt %ecx,%eax = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0xa3, 0xc8),
	V("bts %ecx,%eax = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0xab, 0xc8),
	V("btr %eax,(%rdi) = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0xb3, 0x07),
	V("btc %ecx,%eax = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0xbb, 0xc8),
	V("bt $5,%eax = 4", 4, INSN_OTHER, NONE, S, 0x0f, 0xba, 0xe0, 0x05),
	V("bts $5,%eax = 4", 4, INSN_OTHER, RAX, S, 0x0f, 0xba, 0xe8, 0x05),
	V("cpuid = 2 (rax,rbx,rcx,rdx)", 2, INSN_OTHER, RAX, S, 0x0f, 0xa2),
	V("syscall = 2 (rax,rcx,r11)", 2, INSN_OTHER, RAX, S, 0x0f, 0x05),
	V("rdtsc = 2", 2, INSN_OTHER, RAX, S, 0x0f, 0x31),
	V("bswap %eax = 2", 2, INSN_OTHER, RAX, S, 0x0f, 0xc8),
	V("bswap %r12 = 3", 3, INSN_OTHER, R12, S, 0x49, 0x0f, 0xcc),
	V("popcnt %edi,%eax = 4", 4, INSN_OTHER, RAX, S,
	  0xf3, 0x0f, 0xb8, 0xc7),
	V("tzcnt %rdi,%rax = 5", 5, INSN_OTHER, RAX, S,
	  0xf3, 0x48, 0x0f, 0xbc, 0xc7),
	V("endbr64 = 4 (single-stepped)", 4, INSN_OTHER, NONE, S,
	  0xf3, 0x0f, 0x1e, 0xfa),
	V("rdfsbase %rax = 5", 5, INSN_OTHER, RAX, S,
	  0xf3, 0x48, 0x0f, 0xae, 0xc0),
	V("xgetbv = 3", 3, INSN_OTHER, RAX, S, 0x0f, 0x01, 0xd0),
	V("xtest = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0x01, 0xd6),
	V("mfence = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0xae, 0xf0),
	V("prefetcht0 (%rdi) = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0x18, 0x0f),
	/* SSE in plain ModRM form */
	V("movups (%rdi),%xmm0 = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0x10, 0x07),
	V("movdqa (%rdi),%xmm0 = 4", 4, INSN_OTHER, NONE, S,
	  0x66, 0x0f, 0x6f, 0x07),
	V("movsd 0x8(%rsp),%xmm0 = 6", 6, INSN_OTHER, NONE, S,
	  0xf2, 0x0f, 0x10, 0x44, 0x24, 0x08),
	V("movd %xmm0,%eax = 4", 4, INSN_OTHER, RAX, S, 0x66, 0x0f, 0x7e, 0xc0),
	V("movq %xmm0,%rax = 5", 5, INSN_OTHER, RAX, S,
	  0x66, 0x48, 0x0f, 0x7e, 0xc0),
	V("movq (%rdi),%xmm0 = 4", 4, INSN_OTHER, NONE, S,
	  0xf3, 0x0f, 0x7e, 0x07),
	V("pshufd $0x1b,%xmm0,%xmm0 = 5", 5, INSN_OTHER, NONE, S,
	  0x66, 0x0f, 0x70, 0xc0, 0x1b),
	V("pmovmskb %xmm0,%eax = 4", 4, INSN_OTHER, RAX, S,
	  0x66, 0x0f, 0xd7, 0xc0),
	V("cvttsd2si %xmm0,%eax = 4", 4, INSN_OTHER, RAX, S,
	  0xf2, 0x0f, 0x2c, 0xc0),
	V("pshufb %xmm1,%xmm0 = 5", 5, INSN_OTHER, NONE, S,
	  0x66, 0x0f, 0x38, 0x00, 0xc1),
	V("pextrd $1,%xmm0,%eax = 6", 6, INSN_OTHER, RAX, S,
	  0x66, 0x0f, 0x3a, 0x16, 0xc0, 0x01),
	V("crc32q %rcx,%rax = 6", 6, INSN_OTHER, RAX, S,
	  0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc1),
	/* from glibc 2.36/2.43, where the hand decoder and zydis differed */
	V("pcmpistri $2,%xmm1,%xmm3 = 6 (ecx)", 6, INSN_OTHER, RCX, S,
	  0x66, 0x0f, 0x3a, 0x63, 0xd9, 0x02),
	V("pcmpistrm $2,%xmm1,%xmm3 = 6 (xmm0, no GPR)", 6, INSN_OTHER, NONE, S,
	  0x66, 0x0f, 0x3a, 0x62, 0xd9, 0x02),
	V("rdpkru = 3 (eax, edx)", 3, INSN_OTHER, RAX, S, 0x0f, 0x01, 0xee),
	/* stack */
	V("push %rbx = 1", 1, INSN_PUSH, NONE, E, 0x53),
	V("push %r12 = 2", 2, INSN_PUSH, NONE, E, 0x41, 0x54),
	V("push %r15 = 2", 2, INSN_PUSH, NONE, E, 0x41, 0x57),
	V("rex.W push %rax = 2 (only REX 41 is emulated)", 2, INSN_OTHER, RSP,
	  S, 0x48, 0x50),
	V("push %ax = 2", 2, INSN_OTHER, RSP, S, 0x66, 0x50),
	V("push $0 = 2", 2, INSN_OTHER, RSP, S, 0x6a, 0x00),
	V("push $imm32 = 5", 5, INSN_OTHER, RSP, S, 0x68, 1, 2, 3, 4),
	V("push 0x8(%rsp) = 4", 4, INSN_OTHER, RSP, S, 0xff, 0x74, 0x24, 0x08),
	V("pushf = 1", 1, INSN_OTHER, RSP, S, 0x9c),
	V("cs push %rbx = 2 (2e prefix refused)", 2, INSN_OTHER, RSP, S,
	  0x2e, 0x53),
	V("fs push %rbx = 2 (only REX 41 is emulated)", 2, INSN_OTHER, RSP, S,
	  0x64, 0x53),
	V("pop %rbx = 1", 1, INSN_OTHER, RBX, S, 0x5b),
	V("pop %r12 = 2", 2, INSN_OTHER, R12, S, 0x41, 0x5c),
	V("pop (%rdi) = 2", 2, INSN_OTHER, RSP, S, 0x8f, 0x07),
	V("leave = 1", 1, INSN_OTHER, RSP, S, 0xc9),
	V("enter $0x10,$0 = 4", 4, INSN_OTHER, RSP, S, 0xc8, 0x10, 0x00, 0x00),
	/* string ops */
	V("rep stos %rax,(%rdi) = 3", 3, INSN_OTHER, RCX, S, 0xf3, 0x48, 0xab),
	V("rep movsb = 2", 2, INSN_OTHER, RCX, S, 0xf3, 0xa4),
	V("movsl = 1", 1, INSN_OTHER, RSI, S, 0xa5),
	V("lods = 1", 1, INSN_OTHER, RAX, S, 0xac),
	/* returns and indirect branches */
	V("ret = 1", 1, INSN_RET, NONE, S, 0xc3),
	V("repz ret = 2", 2, INSN_RET, NONE, S, 0xf3, 0xc3),
	V("ret $8 = 3", 3, INSN_RET, NONE, S, 0xc2, 0x08, 0x00),
	V("jmp *%rax = 2", 2, INSN_INDIRECT, NONE, S, 0xff, 0xe0),
	V("notrack jmp *%rax = 3", 3, INSN_INDIRECT, NONE, S, 0x3e, 0xff, 0xe0),
	V("call *%rax = 2", 2, INSN_INDIRECT, NONE, S, 0xff, 0xd0),
	V("call *0x0(%rip) = 6", 6, INSN_INDIRECT, NONE, S,
	  0xff, 0x15, 0, 0, 0, 0),
	V("jmp *0x0(,%rax,8) = 7", 7, INSN_INDIRECT, NONE, S,
	  0xff, 0x24, 0xc5, 0, 0, 0, 0),
	/* emulated branches */
	V("jmp rel8 = 2", 2, INSN_JMP, NONE, E, 0xeb, 0xfe),
	V("jmp rel32 = 5", 5, INSN_JMP, NONE, E, 0xe9, 0xf6, 0xfe, 0xff, 0xff),
	V("call rel32 = 5", 5, INSN_CALL, NONE, E, 0xe8, 0, 0, 0, 0),
	V("jne rel8 = 2", 2, INSN_JCC, NONE, E, 0x75, 0x63),
	V("jne rel32 = 6", 6, INSN_JCC, NONE, E,
	  0x0f, 0x85, 0xac, 0x00, 0x00, 0x00),
	V("jg rel32 = 6", 6, INSN_JCC, NONE, E, 0x0f, 0x8f, 0, 1, 0, 0),
	V("bnd jmp rel32 = 6", 6, INSN_JMP, NONE, E, 0xf2, 0xe9, 0, 0, 0, 0),
	V("bnd call rel32 = 6", 6, INSN_CALL, NONE, E, 0xf2, 0xe8, 0, 0, 0, 0),
	/* NOPs: emulated only as the kernel's exact x86_nops[] or 0x90 */
	V("nop = 1", 1, INSN_NOP, NONE, E, 0x90),
	V("xchg %ax,%ax = 2", 2, INSN_NOP, NONE, E, 0x66, 0x90),
	V("pause = 2", 2, INSN_NOP, NONE, E, 0xf3, 0x90),
	V("data16 xchg %ax,%ax = 3", 3, INSN_NOP, NONE, E, 0x66, 0x66, 0x90),
	V("rex.W nop = 2", 2, INSN_NOP, NONE, E, 0x48, 0x90),
	V("cs nop = 2 (2e prefix refused)", 2, INSN_OTHER, NONE, S, 0x2e, 0x90),
	V("xchg %eax,%r8d = 2 (not a nop)", 2, INSN_OTHER, RAX, S, 0x41, 0x90),
	V("nopl (%rax) = 3", 3, INSN_NOP, NONE, E, 0x0f, 0x1f, 0x00),
	V("nopl 0x0(%rax) = 4", 4, INSN_NOP, NONE, E, 0x0f, 0x1f, 0x40, 0x00),
	V("nopl 0x0(%rax,%rax,1) = 5", 5, INSN_NOP, NONE, E,
	  0x0f, 0x1f, 0x44, 0x00, 0x00),
	V("nopw 0x0(%rax,%rax,1) = 6", 6, INSN_NOP, NONE, E,
	  0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00),
	V("nopl 0x0(%rax) disp32 = 7", 7, INSN_NOP, NONE, E,
	  0x0f, 0x1f, 0x80, 0, 0, 0, 0),
	V("nopl 0x0(%rax,%rax,1) disp32 = 8", 8, INSN_NOP, NONE, E,
	  0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0),
	V("nopw 0x0(%rax,%rax,1) disp32 = 9 (not in x86_nops)", 9,
	  INSN_OTHER, NONE, S, 0x66, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0),
	V("cs nopl = 9 (2e prefix refused)", 9, INSN_OTHER, NONE, S,
	  0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0),
	V("cs nopw = 10", 10, INSN_OTHER, NONE, S,
	  0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0),
	V("nopl 0x8(%rax,%rax,1) = 5 (not in x86_nops)", 5, INSN_OTHER, NONE,
	  S, 0x0f, 0x1f, 0x44, 0x00, 0x08),
	V("nop %eax = 3", 3, INSN_OTHER, NONE, S, 0x0f, 0x1f, 0xc0),
};

/* Bytes the decoder must refuse. */
static const struct vec bad_vecs[] = {
	V("vzeroupper (VEX2)", 3, 0, NONE, S, 0xc5, 0xf8, 0x77),
	V("vpcmpeqb (VEX3)", 5, 0, NONE, S, 0xc4, 0xe2, 0x79, 0x00, 0xc1),
	V("EVEX", 6, 0, NONE, S, 0x62, 0xf1, 0x7d, 0x48, 0x6f, 0x07),
	V("fldz (x87)", 2, 0, NONE, S, 0xd9, 0xee),
	V("fstp (x87)", 2, 0, NONE, S, 0xdd, 0xd8),
	V("int3", 1, 0, NONE, S, 0xcc),
	V("int $0x80", 2, 0, NONE, S, 0xcd, 0x80),
	V("hlt", 1, 0, NONE, S, 0xf4),
	V("push %es (invalid in 64-bit)", 1, 0, NONE, S, 0x06),
	V("ud2", 2, 0, NONE, S, 0x0f, 0x0b),
	V("xbegin (a branch)", 6, 0, NONE, S, 0xc7, 0xf8, 0, 0, 0, 0),
	V("jrcxz", 2, 0, NONE, S, 0xe3, 0x00),
	V("lea with register source", 2, 0, NONE, S, 0x8d, 0xc0),
	V("fe /2", 2, 0, NONE, S, 0xfe, 0xd0),
	V("ff /7", 2, 0, NONE, S, 0xff, 0xf8),
	V("in (%dx),%al", 1, 0, NONE, S, 0xec),
	V("mov %cr0,%rax", 3, 0, NONE, S, 0x0f, 0x20, 0xc0),
	V("jmpw rel16 (66: not emulated, length vendor-dependent)", 4, 0, NONE,
	  S, 0x66, 0xe9, 0x00, 0x00),
	V("jne,pn (2e prefix refused)", 3, 0, NONE, S, 0x2e, 0x75, 0x00),
	V("ds je rel32", 7, 0, NONE, S, 0x3e, 0x0f, 0x84, 0, 0, 0, 0),
	V("prefixes only", 2, 0, NONE, S, 0x66, 0x66),
	V("15 prefixes + nop = 16 > 15", 16, 0, NONE, S,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
	  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90),
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes @v with int3 bytes after it, so the length comes from the
 * encoding and not from the buffer size. */
static int decode_vec(const struct vec *v, struct insn *in)
{
	uint8_t buf[32];

	memset(buf, 0xcc, sizeof(buf));
	memcpy(buf, v->b, v->nbytes);
	return insn_decode(buf, sizeof(buf), in);
}

TEST(insn_decode_lengths_classes_writes)
{
	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		struct insn in;
		int err;

		if (v->nbytes != v->len) {
			printf("table: %s has %u bytes, says %u\n", v->what,
			       v->nbytes, v->len);
			exit(TEST_FAIL_EXIT);
		}
		err = decode_vec(v, &in);
		if (err || in.len != v->len || in.cls != v->cls ||
		    in.writes_reg != (v->dst != NONE) ||
		    (v->dst != NONE && in.dst_reg != v->dst) ||
		    insn_is_emulated(&in) != v->emulated) {
			printf("%s: err %d len %u cls %u writes %d dst %u "
			       "emulated %d; expected len %u cls %u dst %d "
			       "emulated %u\n", v->what, err, in.len, in.cls,
			       in.writes_reg, in.dst_reg,
			       insn_is_emulated(&in), v->len, v->cls, v->dst,
			       v->emulated);
			exit(TEST_FAIL_EXIT);
		}
	}
}

TEST(insn_decode_truncated_is_einval)
{
	/* every instruction cut short by one byte must be refused, not
	 * read past the end */
	for (size_t i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		uint8_t *buf = malloc(v->len - 1 ? v->len - 1 : 1);
		struct insn in;

		CHECK(buf);
		memcpy(buf, v->b, v->len - 1);
		if (insn_decode(buf, v->len - 1, &in) != -EINVAL) {
			printf("%s: truncated to %u bytes decoded as len %u\n",
			       v->what, v->len - 1, in.len);
			exit(TEST_FAIL_EXIT);
		}
		free(buf);
	}
	CHECK_I64(insn_decode((const uint8_t *)"", 0, &(struct insn){0}),
		  -EINVAL);
	CHECK_I64(insn_decode(NULL, 16, &(struct insn){0}), -EINVAL);
}

TEST(insn_decode_unknown_is_einval)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_vecs); i++) {
		const struct vec *v = &bad_vecs[i];
		struct insn in;
		int err = decode_vec(v, &in);

		if (err != -EINVAL) {
			printf("%s: err %d len %u, expected -EINVAL\n", v->what,
			       err, in.len);
			exit(TEST_FAIL_EXIT);
		}
	}
}

/* Kept out of vecs[]: objdump prints long runs of redundant prefixes as
 * an instruction of their own, the CPU does not. */
TEST(insn_decode_prefix_rules)
{
	/* REX counts only right before the opcode: here 66 cancels it, so
	 * this is mov $0x1234,%ax = 5, not movabs */
	static const uint8_t rex_then_66[] = {
		0x48, 0x66, 0xb8, 0x34, 0x12, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
		0xcc, 0xcc,
	};
	uint8_t buf[16];
	struct insn in;

	CHECK_I64(insn_decode(rex_then_66, sizeof(rex_then_66), &in), 0);
	CHECK_U64(in.len, 5);
	CHECK_U64(in.dst_reg, RAX);

	memset(buf, 0x66, sizeof(buf));
	buf[14] = 0x90;		/* 14 prefixes + nop = 15, the maximum */
	CHECK_I64(insn_decode(buf, sizeof(buf), &in), 0);
	CHECK_U64(in.len, 15);
	CHECK_U64(in.cls, INSN_NOP);
	CHECK(insn_is_emulated(&in));
	buf[14] = 0x66;
	buf[15] = 0x90;		/* 15 prefixes + nop = 16: invalid */
	CHECK_I64(insn_decode(buf, sizeof(buf), &in), -EINVAL);
}

TEST(insn_decode_branch_displacements)
{
	static const uint8_t jmp32[] = { 0xe9, 0xf6, 0xfe, 0xff, 0xff };
	static const uint8_t jcc8[] = { 0x7e, 0x80 };
	static const uint8_t jcc32[] = { 0x0f, 0x84, 0x78, 0x56, 0x34, 0x12 };
	static const uint8_t call[] = { 0xe8, 0x10, 0x00, 0x00, 0x00 };
	struct insn in;

	CHECK_I64(insn_decode(jmp32, sizeof(jmp32), &in), 0);
	CHECK_I64(in.rel, -266);
	CHECK_I64(insn_decode(jcc8, sizeof(jcc8), &in), 0);
	CHECK_U64(in.cls, INSN_JCC);
	CHECK_I64(in.rel, -128);
	CHECK_I64(insn_decode(jcc32, sizeof(jcc32), &in), 0);
	CHECK_I64(in.rel, 0x12345678);
	CHECK_I64(insn_decode(call, sizeof(call), &in), 0);
	CHECK_I64(in.rel, 16);
}

/* ---- probe-site search on synthetic code ---- */

struct site_case {
	const char *what;
	unsigned int keep;
	uint32_t offset, sp_adjust;
	bool emulated;
	uint8_t n;
	uint8_t b[48];
};

#define SC(what, keep, off, sp, emu, ...)				\
	{ what, keep, off, sp, emu,					\
	  sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

#define KEEP_DI		INSN_ARG_RDI
#define KEEP_DI_SI	(INSN_ARG_RDI | INSN_ARG_RSI)

static const struct site_case site_cases[] = {
	SC("glibc 2.36 pthread_mutex_lock: 4 movs/ands, jne at 0xe",
	   KEEP_DI, 0xe, 0, true,
	   0x8b, 0x47, 0x10, 0x89, 0xc2, 0x81, 0xe2, 0x7f, 0x01, 0x00, 0x00,
	   0x83, 0xe0, 0x7c, 0x0f, 0x85, 0xac, 0x00, 0x00, 0x00, 0x53),
	SC("same, first insn overwrites kept rax", INSN_ARG_RDI | 1, 0, 0,
	   false,
	   0x8b, 0x47, 0x10, 0x89, 0xc2, 0x0f, 0x85, 0xac, 0x00, 0x00, 0x00),
	SC("mov $1,%esi; jmp: esi may change", KEEP_DI, 5, 0, true,
	   0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9, 0xf6, 0xfe, 0xff, 0xff),
	SC("mov $1,%esi; jmp: rsi kept", KEEP_DI_SI, 0, 0, false,
	   0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9, 0xf6, 0xfe, 0xff, 0xff),
	SC("push %r15 first", KEEP_DI_SI | INSN_ARG_RDX, 0, 0, true,
	   0x41, 0x57, 0x41, 0x56),
	SC("endbr64; push %rbp", KEEP_DI, 4, 0, true,
	   0xf3, 0x0f, 0x1e, 0xfa, 0x55),
	SC("endbr64; sub $0x18,%rsp; call: rsp moved", KEEP_DI, 0, 0, false,
	   0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x18,
	   0xe8, 0, 0, 0, 0),
	SC("push $0 (single-stepped) then jmp: sp_adjust 8", KEEP_DI, 2, 8,
	   true, 0x6a, 0x00, 0xe9, 0, 0, 0, 0),
	SC("rex.W push %rax, push 0x8(%rsp), then nop: 16", KEEP_DI, 6, 16,
	   true, 0x48, 0x50, 0xff, 0x74, 0x24, 0x08, 0x90),
	SC("push %ax moves rsp by 2: stop", KEEP_DI, 0, 0, false,
	   0x66, 0x50, 0x90),
	SC("mov %rdi,%rbx; push %rbx", KEEP_DI, 3, 0, true,
	   0x48, 0x89, 0xfb, 0x53),
	SC("mov %rsi,%rdi overwrites rdi", KEEP_DI, 0, 0, false,
	   0x48, 0x89, 0xf7, 0xeb, 0x00),
	SC("mov %r8,%rdi (REX.R source) overwrites rdi", KEEP_DI, 0, 0, false,
	   0x4c, 0x89, 0xc7, 0xeb, 0x00),
	SC("mov %rdi,%r8 (REX.B dest) keeps rdi", KEEP_DI, 3, 0, true,
	   0x49, 0x89, 0xf8, 0xeb, 0x00),
	SC("xor %r9d,%r9d with r9 kept", 1u << 9, 0, 0, false,
	   0x45, 0x31, 0xc9, 0xeb, 0x00),
	SC("xor %r9d,%r9d with rdi kept", KEEP_DI, 3, 0, true,
	   0x45, 0x31, 0xc9, 0xeb, 0x00),
	SC("mov %al,%dh writes rdx, not rsi", INSN_ARG_RSI, 2, 0, true,
	   0x88, 0xc6, 0x75, 0x00),
	SC("mov %al,%dh with rdx kept", INSN_ARG_RDX, 0, 0, false,
	   0x88, 0xc6, 0x75, 0x00),
	SC("mov %al,%sil with rsi kept", INSN_ARG_RSI, 0, 0, false,
	   0x40, 0x88, 0xc6, 0x75, 0x00),
	SC("cpuid clobbers rcx", INSN_ARG_RCX, 0, 0, false,
	   0x0f, 0xa2, 0xeb, 0x00),
	SC("cpuid with rdi kept", KEEP_DI, 2, 0, true, 0x0f, 0xa2, 0xeb, 0x00),
	SC("lock cmpxchg writes rax only", KEEP_DI_SI | INSN_ARG_RDX, 4, 0,
	   true, 0xf0, 0x0f, 0xb1, 0x17, 0x75, 0x00),
	SC("cqo writes rdx", INSN_ARG_RDX, 0, 0, false,
	   0x48, 0x99, 0x75, 0x00),
	SC("rep stos writes rcx and rdi", INSN_ARG_RCX, 0, 0, false,
	   0xf3, 0x48, 0xab, 0x75, 0x00),
	SC("mov to memory writes no register", KEEP_DI_SI, 4, 0, true,
	   0x89, 0x7c, 0x24, 0xf8, 0x90),
	SC("test; cmp; jne", KEEP_DI_SI, 5, 0, true,
	   0x85, 0xff, 0x83, 0xfe, 0x01, 0x75, 0x10),
	SC("call is a site", KEEP_DI, 3, 0, true,
	   0x48, 0x89, 0xfb, 0xe8, 0, 0, 0, 0),
	SC("ret ends the path", KEEP_DI, 0, 0, false, 0x31, 0xc0, 0xc3, 0x90),
	SC("first insn ret", KEEP_DI, 0, 0, false, 0xc3),
	SC("indirect jmp ends the path", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0xff, 0xe0, 0x90),
	SC("unknown bytes end the search", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0xc5, 0xf8, 0x77, 0x90),
	SC("unknown first insn", KEEP_DI, 0, 0, false, 0xd9, 0xee, 0x90),
	SC("66-prefixed jmp is refused, not a site", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0x66, 0xe9, 0, 0, 0, 0),
	SC("cs nopw is not emulated; its jmp is", KEEP_DI, 10, 0, true,
	   0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0, 0, 0, 0, 0xeb, 0x00),
	SC("xchg %eax,%r8d is not a nop", (1u << 8), 0, 0, false,
	   0x41, 0x90, 0x90),
	SC("no site within len", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0x31, 0xc9),
	SC("site beyond a truncated insn", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0x48, 0x8b, 0x05, 0x00),
	/* real function starts (Debian sid's glibc 2.43, python3.13) */
	SC("glibc 2.43 pthread_mutex_lock: mov, then nop at 3", KEEP_DI, 3, 0,
	   true, 0x8b, 0x57, 0x10, 0x90, 0x89, 0xd0, 0x83, 0xe0, 0x7c,
	   0x75, 0x65),
	SC("glibc 2.43 pthread_cond_signal: nop first", KEEP_DI, 0, 0, true,
	   0x90, 0x44, 0x8b, 0x4f, 0x1c),
	SC("python3.13 _PySemaphore_Wait: endbr64; push %r12", KEEP_DI_SI, 4,
	   0, true, 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54, 0x49, 0x89, 0xfc),
	SC("pcmpistrm writes no GPR: rcx kept", INSN_ARG_RCX, 6, 0, true,
	   0x66, 0x0f, 0x3a, 0x62, 0xd9, 0x02, 0x75, 0x00),
	SC("pcmpistri writes rcx", INSN_ARG_RCX, 0, 0, false,
	   0x66, 0x0f, 0x3a, 0x63, 0xd9, 0x02, 0x75, 0x00),
	SC("xabort ends the path", KEEP_DI, 0, 0, false,
	   0x31, 0xc0, 0xc6, 0xf8, 0xff, 0x90),
};

TEST(insn_probe_site_synthetic)
{
	for (size_t i = 0; i < ARRAY_SIZE(site_cases); i++) {
		const struct site_case *c = &site_cases[i];
		struct probe_site ps;
		uint8_t *buf;

		/* exact-size heap copy: ASan catches any read past len */
		buf = malloc(c->n);
		CHECK(buf);
		memcpy(buf, c->b, c->n);
		memset(&ps, 0xa5, sizeof(ps));
		CHECK_I64(insn_find_probe_site(buf, c->n, c->keep, &ps), 0);
		free(buf);
		if (ps.offset != c->offset || ps.sp_adjust != c->sp_adjust ||
		    ps.emulated != c->emulated) {
			printf("%s: offset %u sp_adjust %u emulated %d; "
			       "expected %u %u %d\n", c->what, ps.offset,
			       ps.sp_adjust, ps.emulated, c->offset,
			       c->sp_adjust, c->emulated);
			exit(TEST_FAIL_EXIT);
		}
	}
}

TEST(insn_probe_site_empty_and_null)
{
	struct probe_site ps;

	memset(&ps, 0xa5, sizeof(ps));
	CHECK_I64(insn_find_probe_site(NULL, 0, INSN_ARG_RDI, &ps), 0);
	CHECK_U64(ps.offset, 0);
	CHECK_U64(ps.sp_adjust, 0);
	CHECK(!ps.emulated);
}

/* ---- real code: glibc's libc.so.6 ---- */

/*
 * File offset of the default-version definition of dynamic symbol @name,
 * looked up with libelf so the test needs nothing else from the project.
 */
static int elf_func(const char *path, const char *name, uint64_t *vaddr,
		    uint64_t *off)
{
	Elf_Data *syms = NULL, *vers = NULL;
	size_t strndx = 0, nsyms = 0, nph;
	Elf_Scn *scn = NULL;
	bool found = false;
	int fd, err = -ENOENT;
	GElf_Shdr sh;
	GElf_Sym sym;
	Elf *e;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		close(fd);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize) {
			syms = elf_getdata(scn, NULL);
			strndx = sh.sh_link;
			nsyms = sh.sh_size / sh.sh_entsize;
		} else if (sh.sh_type == SHT_GNU_versym) {
			vers = elf_getdata(scn, NULL);
		}
	}
	for (size_t i = 0; syms && i < nsyms && !found; i++) {
		const char *n;
		GElf_Versym vs;
		int type;

		if (!gelf_getsym(syms, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		n = elf_strptr(e, strndx, sym.st_name);
		if (!n || strcmp(n, name))
			continue;
		/* skip hidden compat versions (name@GLIBC_2.2.5) */
		if (vers && gelf_getversym(vers, i, &vs) && (vs & 0x8000))
			continue;
		found = true;
	}
	if (found && !elf_getphdrnum(e, &nph)) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (sym.st_value >= ph.p_vaddr &&
			    sym.st_value < ph.p_vaddr + ph.p_filesz) {
				*vaddr = sym.st_value;
				*off = sym.st_value - ph.p_vaddr + ph.p_offset;
				err = 0;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	return err;
}

static int read_at(const char *path, uint64_t off, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	memset(buf, 0, len);
	n = pread(fd, buf, len, off);
	close(fd);
	return n > 0 ? 0 : -EIO;
}

/* First @len bytes of libc's @name; SKIPs if libc or the symbol is absent. */
static void libc_bytes(const char *name, uint8_t *buf, size_t len,
		       uint64_t *vaddr)
{
	uint64_t off;
	int err;

	if (access(LIBC_PATH, R_OK))
		SKIP("%s not readable", LIBC_PATH);
	err = elf_func(LIBC_PATH, name, vaddr, &off);
	if (err)
		SKIP("%s not found in %s (%d)", name, LIBC_PATH, err);
	CHECK_I64(read_at(LIBC_PATH, off, buf, len), 0);
}

static void expect_prefix(const char *name, const uint8_t *got,
			  const uint8_t *want, size_t n)
{
	if (memcmp(got, want, n))
		SKIP("%s: this libc's code differs from the Debian glibc 2.36 "
		     "build the expectations were written for", name);
}

TEST(insn_libc_pthread_mutex_lock)
{
	/* mov 0x10(%rdi),%eax; mov %eax,%edx; and $0x17f,%edx;
	 * and $0x7c,%eax; jne rel32 */
	static const uint8_t want[] = {
		0x8b, 0x47, 0x10, 0x89, 0xc2, 0x81, 0xe2, 0x7f, 0x01, 0x00,
		0x00, 0x83, 0xe0, 0x7c, 0x0f, 0x85,
	};
	struct probe_site ps;
	uint8_t code[64];
	uint64_t va;

	libc_bytes("pthread_mutex_lock", code, sizeof(code), &va);
	expect_prefix("pthread_mutex_lock", code, want, sizeof(want));
	CHECK_I64(insn_find_probe_site(code, sizeof(code), INSN_ARG_RDI, &ps),
		  0);
	CHECK_U64(ps.offset, 0xe);
	CHECK_U64(ps.sp_adjust, 0);
	CHECK(ps.emulated);
	/* the first instruction writes eax: keeping rax means offset 0 */
	CHECK_I64(insn_find_probe_site(code, sizeof(code), INSN_ARG_RDI | 1,
				       &ps), 0);
	CHECK_U64(ps.offset, 0);
	CHECK(!ps.emulated);
}

TEST(insn_libc_pthread_mutex_unlock)
{
	/* mov $1,%esi; jmp __pthread_mutex_unlock_usercnt */
	static const uint8_t want[] = { 0xbe, 0x01, 0x00, 0x00, 0x00, 0xe9 };
	struct probe_site ps;
	uint8_t code[64];
	uint64_t va;

	libc_bytes("pthread_mutex_unlock", code, sizeof(code), &va);
	expect_prefix("pthread_mutex_unlock", code, want, sizeof(want));
	CHECK_I64(insn_find_probe_site(code, sizeof(code), INSN_ARG_RDI, &ps),
		  0);
	CHECK_U64(ps.offset, 5);
	CHECK_U64(ps.sp_adjust, 0);
	CHECK(ps.emulated);
	CHECK_I64(insn_find_probe_site(code, sizeof(code),
				       INSN_ARG_RDI | INSN_ARG_RSI, &ps), 0);
	CHECK_U64(ps.offset, 0);
	CHECK_U64(ps.sp_adjust, 0);
	CHECK(!ps.emulated);
}

TEST(insn_libc_pthread_cond_timedwait)
{
	static const uint8_t want[] = { 0x41, 0x57 };	/* push %r15 */
	struct probe_site ps;
	uint8_t code[64];
	uint64_t va;

	libc_bytes("pthread_cond_timedwait", code, sizeof(code), &va);
	expect_prefix("pthread_cond_timedwait", code, want, sizeof(want));
	CHECK_I64(insn_find_probe_site(code, sizeof(code),
				       INSN_ARG_RDI | INSN_ARG_RSI |
				       INSN_ARG_RDX, &ps), 0);
	CHECK_U64(ps.offset, 0);
	CHECK_U64(ps.sp_adjust, 0);
	CHECK(ps.emulated);
}

/* ---- lengths against objdump ---- */

#define XCHECK_SPAN	300
#define MAX_BOUNDS	512

/* Instruction starts objdump reports in [start, stop); returns how many,
 * or -1 when objdump cannot be run.  Starts of "(bad)" and ".byte" lines
 * are flagged so they are not compared. */
static int objdump_bounds(const char *args, uint64_t *starts, bool *junk,
			  int max)
{
	char cmd[512], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "LC_ALL=C objdump -d --no-show-raw-insn %s 2>/dev/null", args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char mnem[256] = "";
		unsigned long a;

		/* instruction lines are "   addr:\tmnemonic ..." */
		if (line[0] != ' ' ||
		    sscanf(line, " %lx:\t%255[^\n]", &a, mnem) < 1)
			continue;
		if (n < max) {
			starts[n] = a;
			junk[n] = !strncmp(mnem, "(bad)", 5) ||
				  !strncmp(mnem, ".byte", 5) || !mnem[0];
			n++;
		}
	}
	if (pclose(p) != 0 && n == 0)
		return -1;
	return n;
}

/* The test's own vectors, concatenated, must split where objdump does. */
TEST(insn_vectors_agree_with_objdump)
{
	char path[] = "/tmp/test_insn_XXXXXX", args[128];
	uint64_t starts[MAX_BOUNDS], want = 0;
	bool junk[MAX_BOUNDS];
	int fd, n;
	size_t i;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	for (i = 0; i < ARRAY_SIZE(vecs); i++)
		CHECK(write(fd, vecs[i].b, vecs[i].nbytes) == vecs[i].nbytes);
	close(fd);
	snprintf(args, sizeof(args), "-b binary -m i386:x86-64 -D %s", path);
	n = objdump_bounds(args, starts, junk, MAX_BOUNDS);
	unlink(path);
	if (n <= 0)
		SKIP("objdump not available");
	for (i = 0; i < ARRAY_SIZE(vecs); i++) {
		if (i >= (size_t)n || starts[i] != want || junk[i]) {
			unsigned long long got = 0;

			if (i < (size_t)n)
				got = starts[i];
			printf("objdump splits \"%s\" differently: insn at "
			       "0x%llx, expected 0x%llx\n", vecs[i].what, got,
			       (unsigned long long)want);
			exit(TEST_FAIL_EXIT);
		}
		want += vecs[i].nbytes;
	}
	CHECK_U64(n, ARRAY_SIZE(vecs));
}

/*
 * Decodes every instruction objdump finds in the first XCHECK_SPAN bytes
 * of each function (running into the padding and the next function is
 * fine: that is real code too).  Returns the counts through the pointers.
 */
static void xcheck_func(const char *name, int *total, int *right,
			int *rejected, int *wrong)
{
	uint8_t code[XCHECK_SPAN + 16];
	uint64_t starts[MAX_BOUNDS], va, off;
	bool junk[MAX_BOUNDS];
	struct probe_site ps;
	char args[256];
	bool site_ok;
	int n;

	if (elf_func(LIBC_PATH, name, &va, &off)) {
		printf("note: %s not in libc\n", name);
		return;
	}
	CHECK_I64(read_at(LIBC_PATH, off, code, sizeof(code)), 0);
	snprintf(args, sizeof(args),
		 "--start-address=0x%llx --stop-address=0x%llx %s",
		 (unsigned long long)va,
		 (unsigned long long)va + XCHECK_SPAN + 16, LIBC_PATH);
	n = objdump_bounds(args, starts, junk, MAX_BOUNDS);
	if (n <= 0)
		SKIP("objdump not available");

	/* the probe site must fall on an instruction boundary */
	CHECK_I64(insn_find_probe_site(code, XCHECK_SPAN, INSN_ARG_RDI |
				       INSN_ARG_RSI, &ps), 0);
	site_ok = ps.offset == 0;

	for (int i = 0; i + 1 < n; i++) {
		uint64_t a = starts[i], exp = starts[i + 1] - a;
		struct insn in;

		if (a - va == ps.offset)
			site_ok = true;
		if (a - va >= XCHECK_SPAN || junk[i] || junk[i + 1])
			continue;
		(*total)++;
		if (insn_decode(code + (a - va), sizeof(code) - (a - va),
				&in)) {
			(*rejected)++;
			continue;
		}
		if (in.len == exp) {
			(*right)++;
			continue;
		}
		(*wrong)++;
		printf("%s+0x%llx: decoded len %u, objdump %llu:", name,
		       (unsigned long long)(a - va), in.len,
		       (unsigned long long)exp);
		for (uint64_t k = 0; k < exp && a - va + k < sizeof(code); k++)
			printf(" %02x", code[a - va + k]);
		printf("\n");
	}
	if (!site_ok) {
		printf("%s: probe site 0x%x is not an instruction start\n",
		       name, ps.offset);
		(*wrong)++;
	}
}

TEST(insn_lengths_match_objdump_on_libc)
{
	static const char *const funcs[] = {
		"pthread_mutex_lock", "pthread_mutex_unlock",
		"pthread_mutex_trylock", "pthread_mutex_timedlock",
		"pthread_cond_wait", "pthread_cond_timedwait",
		"pthread_cond_signal", "pthread_cond_broadcast",
		"pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
		"pthread_rwlock_unlock", "pthread_spin_lock",
		"pthread_once", "pthread_create", "pthread_join",
		"sem_wait", "sem_post", "malloc", "free", "calloc",
		"realloc", "qsort", "strtol", "fopen", "fclose", "printf",
		"getenv", "syscall", "nanosleep", "clock_gettime",
	};
	int total = 0, right = 0, rejected = 0, wrong = 0;

	if (access(LIBC_PATH, R_OK))
		SKIP("%s not readable", LIBC_PATH);
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++)
		xcheck_func(funcs[i], &total, &right, &rejected, &wrong);
	if (getenv("INSN_VERBOSE"))
		fprintf(stderr, "insn xcheck: %d insns, %d right, %d rejected, "
			"%d wrong\n", total, right, rejected, wrong);
	CHECK(total > 1000);
	/* a wrong length would put a probe inside an instruction */
	CHECK_I64(wrong, 0);
	if (right * 100 < total * 95) {
		printf("only %d of %d instructions decoded (%d rejected)\n",
		       right, total, rejected);
		exit(TEST_FAIL_EXIT);
	}
}
