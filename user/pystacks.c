// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "pyread.h"
#include "pystacks.h"

static uint64_t hash_frames(const struct py_stack *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a over the frame keys */

	for (uint32_t i = 0; i < s->nr; i++) {
		/* a key's lowest bit is the code object's: 0 (aligned) */
		h ^= pyread_frame_key(s->f[i].code, s->f[i].instr) |
		     !!(s->f[i].instr & PY_FRAME_EVAL_END);
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static bool same(const struct py_stack *a, const struct py_stack *b)
{
	if (a->nr != b->nr || a->flags != b->flags)
		return false;
	for (uint32_t i = 0; i < a->nr; i++)
		if (pyread_frame_key(a->f[i].code, a->f[i].instr) !=
		    pyread_frame_key(b->f[i].code, b->f[i].instr) ||
		    (a->f[i].instr ^ b->f[i].instr) & PY_FRAME_EVAL_END)
			return false;
	return true;
}

void pystacks__set_python(struct pystacks *p, int major, int minor)
{
	p->py_minor = major == 3 && minor > 0 ? minor : 0;
}

int pystacks__intern(struct pystacks *p, const struct gs_py_stack_event *e)
{
	struct py_stack s = { .flags = e->flags };
	uint32_t nr = e->nr_frames < GS_PY_FRAMES ? e->nr_frames : GS_PY_FRAMES;
	/* before 3.11 each frame had an eval-loop call of its own; on 3.11
	 * the walk marks the first frame a call ran (is_entry), from 3.12
	 * the C-stack entry frame each call pushed below its frames */
	bool each = p->py_minor && p->py_minor <= 10;
	bool entry_has_code = p->py_minor == 11;
	uint64_t h;

	for (uint32_t i = 0; i < nr; i++) {
		struct gs_py_frame f = e->frames[i];
		bool entry = f.instr & GS_PY_ENTRY_FRAME;

		/* the marks are ours to set: nothing else above the
		 * instruction (a recording's frames may carry anything) */
		f.instr = GS_PY_INSTR(f.instr);
		if (entry && !entry_has_code) {
			/* the interpreter's C-stack entry frames (3.12+)
			 * carry no code: the frame inside one ends a call */
			if (s.nr)
				s.f[s.nr - 1].instr |= PY_FRAME_EVAL_END;
			continue;
		}
		if (!f.code)
			continue;
		if (each || entry)
			f.instr |= PY_FRAME_EVAL_END;
		s.f[s.nr++] = f;
	}
	s.flags &= GS_PY_IN_GC;
	if (!s.nr && !s.flags)
		return PY_STACK_NONE;
	/* a garbage collection is a stack of its own, frames or not */
	h = hash_frames(&s) ^ s.flags;
	for (;; h = h + 1 ? h + 1 : 1) {
		uintptr_t v = (uintptr_t)u64map__get(&p->by_hash, h);

		if (!v)
			break;
		if (same(&p->stacks[v - 1], &s))
			return (int)(v - 1);
	}
	if (GROW_ARRAY(p->stacks, p->cap, p->nr + 1, 64))
		return PY_STACK_NONE;
	if (u64map__set(&p->by_hash, h, (void *)(uintptr_t)(p->nr + 1)))
		return PY_STACK_NONE;
	p->stacks[p->nr] = s;
	return (int)p->nr++;
}

const struct py_stack *pystacks__get(const struct pystacks *p, int id)
{
	return id >= 0 && (size_t)id < p->nr ? &p->stacks[id] : NULL;
}

void pystacks__free(struct pystacks *p)
{
	free(p->stacks);
	u64map__free(&p->by_hash);
	memset(p, 0, sizeof(*p));
}
