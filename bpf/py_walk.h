/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A CPython thread's frame chain, walked from its PyThreadState: written
 * once, compiled into the BPF programs (where a thread blocks, is asked to
 * drop the GIL, or is sampled) and into user space (tests, thread names).
 *
 * It keeps what a name needs and little else: the code object and the
 * instruction pointer of each frame, innermost first, and the first
 * local (localsplus[0]: a method's self) of the innermost
 * GS_PY_SELF_FRAMES, which say which object a standard-library wait
 * (Condition.wait, Queue.get) waits on.  Naming them
 * (qualname, file, line) is user space's job (user/pyread.c), from the
 * target's memory, validated there: a frame read while its thread runs
 * may be torn, and user space must then say "[unknown]", never a wrong
 * name.
 *
 * One path through the loop body (masks, not branches; see struct
 * gs_py_config), so that the verifier's work stays linear in the depth.
 *
 * The side defines, before including this:
 *   GS_PY_READ(dst, len, addr)	reads @len bytes of the target at @addr;
 *				0 on success
 */
#ifndef GS_PY_WALK_H
#define GS_PY_WALK_H

#include "gilscope.h"

/* The 8 bytes at @off of a frame read into @buf (GS_PY_FRAME_BUF long). */
static inline __u64 gs_py_word(const __u8 *buf, __u32 off)
{
	__u64 v;

	__builtin_memcpy(&v, buf + (off & (GS_PY_FRAME_READ - 1)), sizeof(v));
	return v;
}

/*
 * A frame's first local, read from @buf (the frame's first
 * GS_PY_FRAME_READ bytes) or, where it lies past them (c->self_read 8),
 * from the target at @frame: without a branch, so that the verifier
 * walks one path.  A size of 0 reads nothing; the mask keeps the word
 * of @buf only when it is the local.  Not dereferenced by anyone: an
 * identity, and 0 when unreadable.
 */
static inline __u64 gs_py_first_local(const struct gs_py_config *c, const __u8 *buf,
				      __u64 frame)
{
	__u64 far = 0;
	__u64 near_mask = (__u64)((c->self_read & 8) >> 3) - 1;	/* 8: 0, 0: ~0 */

	GS_PY_READ(&far, c->self_read & 8, frame + c->fr_self);
	return ((gs_py_word(buf, c->fr_self) & near_mask) | far) & c->code_mask;
}

/* Walks @tstate's frames into @out (room for GS_PY_FRAMES) and the first
 * locals of the innermost into @self (GS_PY_SELF_FRAMES, 0 where a frame
 * was not read); returns how many frames were kept, and sets GS_PY_*
 * flags in @flags. */
static inline __u32 gs_py_walk(const struct gs_py_config *c, __u64 tstate,
			       struct gs_py_frame *out, __u64 *self, __u32 *flags)
{
	__u8 buf[GS_PY_FRAME_BUF] = {};
	__u64 frame = 0;
	__u32 i;

	for (i = 0; i < GS_PY_SELF_FRAMES; i++)
		self[i] = 0;
	if (!tstate || GS_PY_READ(&frame, sizeof(frame), tstate + c->ts_frame)) {
		*flags |= GS_PY_READ_ERR;
		return 0;
	}
	if (c->ts_cframe_frame >= 0 && frame &&
	    GS_PY_READ(&frame, sizeof(frame), frame + (__u32)c->ts_cframe_frame)) {
		*flags |= GS_PY_READ_ERR;
		return 0;
	}
	for (i = 0; i < GS_PY_FRAMES; i++) {
		__u64 entry;

		if (!frame)
			return i;
		if (i >= c->depth) {
			*flags |= GS_PY_TRUNCATED;
			return i;
		}
		if (GS_PY_READ(buf, GS_PY_FRAME_READ, frame)) {
			*flags |= GS_PY_READ_ERR;
			return i;
		}
		/* owner == owner_cstack, without a branch: x - 1 wraps
		 * only for x == 0 */
		entry = ((((gs_py_word(buf, c->fr_owner) & 0xff) ^ c->owner_cstack) - 1) >> 63) &
			(c->owner_mask & 1);
		out[i].code = gs_py_word(buf, c->fr_code) & c->code_mask;
		out[i].instr = GS_PY_INSTR(gs_py_word(buf, c->fr_instr) & c->instr_mask) |
			       entry << 63;
		/* @i is a known constant here for the verifier (and for
		 * clang, unrolling): no path is added */
		if (i < GS_PY_SELF_FRAMES)
			self[i] = gs_py_first_local(c, buf, frame);
		frame = gs_py_word(buf, c->fr_previous);
	}
	if (frame)
		*flags |= GS_PY_TRUNCATED;
	return GS_PY_FRAMES;
}

#endif /* GS_PY_WALK_H */
