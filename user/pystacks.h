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

struct pystacks {
	struct py_stack *stacks;
	size_t nr, cap;
	struct u64map by_hash;		/* hash -> id + 1, probed on collision */
};

/* No stack (the thread's PyThreadState was not known, or it ran no
 * Python code): counted, with no frames. */
#define PY_STACK_NONE	(-1)

/* The id of @e's frames: >= 0, or PY_STACK_NONE when it has none or
 * memory ran out. */
int pystacks__intern(struct pystacks *p, const struct gs_py_stack_event *e);
const struct py_stack *pystacks__get(const struct pystacks *p, int id);
void pystacks__free(struct pystacks *p);

#endif
