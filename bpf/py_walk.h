/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A CPython thread's frame chain, walked from its PyThreadState: written
 * once, compiled into the BPF programs (where a thread blocks, is asked to
 * drop the GIL, or is sampled) and into user space (tests, thread names).
 *
 * It keeps what a name needs and nothing else: the code object and the
 * instruction pointer of each frame, innermost first.  Naming them
 * (qualname, file, line) is user space's job (user/pyread.c), from the
 * target's memory, validated there: a frame read while its thread runs
 * may be torn, and user space must then say "[unknown]", never a wrong
 * name.
 *
 * The side defines, before including this:
 *   GS_PY_READ(dst, len, addr)	reads @len bytes of the target at @addr;
 *				0 on success
 */
#ifndef GS_PY_WALK_H
#define GS_PY_WALK_H

#include "gilscope.h"

static inline __u64 gs_py_word(const __u8 *buf, __u32 off, __u32 size)
{
	__u64 v = 0;

	off &= GS_PY_FRAME_READ - 1;
	if (off > GS_PY_FRAME_READ - 8)
		return 0;
	if (size == 4)
		__builtin_memcpy(&v, buf + off, 4);
	else
		__builtin_memcpy(&v, buf + off, 8);
	return v;
}

/* Walks @tstate's frames into @out (room for GS_PY_FRAMES); returns how
 * many were kept, and sets GS_PY_* flags in @flags. */
static inline __u32 gs_py_walk(const struct gs_py_config *c, __u64 tstate,
					struct gs_py_frame *out, __u32 *flags)
{
	__u8 buf[GS_PY_FRAME_READ];
	__u64 frame = 0;
	__u32 n = 0, i;

	if (!tstate || GS_PY_READ(&frame, sizeof(frame), tstate + c->ts_frame)) {
		*flags |= GS_PY_READ_ERR;
		return 0;
	}
	if (c->ts_cframe_frame >= 0 && frame &&
	    GS_PY_READ(&frame, sizeof(frame), frame + (__u32)c->ts_cframe_frame)) {
		*flags |= GS_PY_READ_ERR;
		return 0;
	}
	for (i = 0; i < 2 * GS_PY_FRAMES; i++) {
		__u64 code;

		if (!frame)
			return n;
		if (n >= c->depth || n >= GS_PY_FRAMES) {
			*flags |= GS_PY_TRUNCATED;
			return n;
		}
		if (GS_PY_READ(buf, sizeof(buf), frame)) {
			*flags |= GS_PY_READ_ERR;
			return n;
		}
		code = gs_py_word(buf, c->fr_code, 8);
		if (c->code_tagged)
			code &= ~3ULL;
		/* the interpreter's own entry frames carry no Python code */
		if (!(c->has_owner && (gs_py_word(buf, c->fr_owner, 8) & 0xff) == c->owner_cstack)) {
			out[n & (GS_PY_FRAMES - 1)].code = code;
			out[n & (GS_PY_FRAMES - 1)].instr = gs_py_word(buf, c->fr_instr, c->instr_size);
			n++;
		}
		frame = gs_py_word(buf, c->fr_previous, 8);
	}
	*flags |= GS_PY_TRUNCATED;
	return n;
}

#endif /* GS_PY_WALK_H */
