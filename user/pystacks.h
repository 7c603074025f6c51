/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python stacks, interned: every GS_EV_PY_STACK record's frames become a
 * small id, the same id for the same frames (code object and
 * instruction, as pyread_frame_key() keys their names), so the analyses
 * count by id and the report names each stack once.
 */
#ifndef PYSTACKS_H
#define PYSTACKS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"
#include "u64map.h"

struct py_stack {
	uint32_t nr;			/* frames, innermost first */
	uint32_t flags;			/* GS_PY_IN_GC: caught inside the garbage
					 * collector (part of its identity) */
	struct gs_py_frame f[GS_PY_FRAMES];
};

/*
 * Set on an interned frame that is the outermost of the frames one C call
 * of the interpreter's eval loop ran (user/mixstack.h): before 3.11 every
 * frame (one call a frame); on 3.11 the walk's entry frames (is_entry,
 * frames with code); from 3.12 the frame just inside each of the
 * interpreter's C-stack entry frames (dropped: they have no code of
 * their own).  Above the instruction's 56 bits, which alone name a frame
 * (GS_PY_INSTR, pyread_frame_key), and part of a stack's identity.
 */
#define PY_FRAME_EVAL_END	(1ULL << 62)

struct pystacks {
	struct py_stack *stacks;
	size_t nr, cap;
	struct u64map by_hash;		/* hash -> id + 1, probed on collision */
	int py_minor;			/* CPython 3.<py_minor>; 0: not known */
};

/* No stack (the thread's PyThreadState was not known, or it ran no
 * Python code): counted, with no frames. */
#define PY_STACK_NONE	(-1)

/* How the walk's entry marks read depends on the version whose stacks
 * come (a 3.11 entry frame is a frame of Python code, a 3.12+ one is
 * not): set before the first.  Not known (0, or not a CPython 3), they
 * read as 3.12+'s. */
void pystacks__set_python(struct pystacks *p, int major, int minor);
/* The id of @e's frames: >= 0, or PY_STACK_NONE when it has none or
 * memory ran out. */
int pystacks__intern(struct pystacks *p, const struct gs_py_stack_event *e);
const struct py_stack *pystacks__get(const struct pystacks *p, int id);
void pystacks__free(struct pystacks *p);

#endif
