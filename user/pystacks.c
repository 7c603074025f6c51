// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "pyread.h"
#include "pystacks.h"

static uint64_t hash_frames(const struct py_stack *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a over the frame keys */

	for (uint32_t i = 0; i < s->nr; i++) {
		h ^= pyread_frame_key(s->f[i].code, s->f[i].instr);
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
		    pyread_frame_key(b->f[i].code, b->f[i].instr))
			return false;
	return true;
}

int pystacks__intern(struct pystacks *p, const struct gs_py_stack_event *e)
{
	struct py_stack s = { .flags = e->flags };
	uint32_t nr = e->nr_frames < GS_PY_FRAMES ? e->nr_frames : GS_PY_FRAMES;
	uint64_t h;

	/* the interpreter's C-stack entry frames (3.12+) carry no code */
	for (uint32_t i = 0; i < nr; i++)
		if (e->frames[i].code && !(e->frames[i].instr & GS_PY_ENTRY_FRAME))
			s.f[s.nr++] = e->frames[i];
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
