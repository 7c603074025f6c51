// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "grow.h"
#include "pystats.h"

/* ---- the analysis (py_machine.h), on this side ---- */

struct gs_env {
	struct pystats *p;
};

/* BPF's stack ids are 64-bit, ours small: GS_PY_NO_STACK is
 * PY_STACK_NONE either way. */
static void gs_py_add(struct gs_env *env, __u32 tid, int which, __u64 stack, __u32 holder,
		      __u64 ns, __u64 count)
{
	pystats__add(env->p, tid, which, (int)(int64_t)stack, holder, ns, count);
}

#include "py_machine.h"

static struct py_thread *thread_get(struct pystats *p, uint32_t tid)
{
	struct py_thread *t = u64map__get(&p->threads, tid);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	gs_py_tstate_init(&t->m);
	if (u64map__set(&p->threads, tid, t)) {
		free(t);
		return NULL;
	}
	return t;
}

static void add(struct py_costs *c, int stack, uint32_t tid, uint64_t ns, uint64_t count)
{
	struct py_cost *x;

	for (size_t i = 0; i < c->nr; i++) {
		x = &c->v[i];
		if (x->stack == stack && x->tid == tid) {
			x->ns += ns;
			x->count += count;
			return;
		}
	}
	if (GROW_ARRAY(c->v, c->cap, c->nr + 1, 8))
		return;
	c->v[c->nr++] = (struct py_cost){ .stack = stack, .tid = tid, .ns = ns, .count = count };
}

void pystats__add(struct pystats *p, uint32_t tid, int which, int stack, uint32_t holder,
		  uint64_t ns, uint64_t count)
{
	struct py_thread *t = thread_get(p, tid);

	if (!t)
		return;
	switch (which) {
	case GS_PYC_HELD:
		p->samples += count;
		t->samples += count;
		add(&t->held, stack, 0, ns, count);
		break;
	case GS_PYC_WAITED:
		add(&t->waited, stack, 0, ns, count);
		break;
	case GS_PYC_WAITED_FOR:
		add(&t->waited_for, stack, holder, ns, count);
		break;
	case GS_PYC_LOCK:
		add(&t->lock_waited, stack, 0, ns, count);
		break;
	default:
		break;
	}
}

static void py_stack(struct pystats *p, const struct gs_py_stack_event *e)
{
	struct py_thread *t = thread_get(p, e->hdr.tid);
	struct gs_env env = { p };
	int id;

	/* --summary's records to be named: BPF counts them itself */
	if (!t || (e->flags & GS_PY_TO_NAME))
		return;
	p->records++;
	p->no_tstate += !!(e->flags & GS_PY_NO_TSTATE);
	p->read_errors += !!(e->flags & GS_PY_READ_ERR);
	p->truncated += !!(e->flags & GS_PY_TRUNCATED);
	id = pystacks__intern(p->stacks, e);
	gs_py_stack(&env, &t->m, &p->gil, e->hdr.tid, e->kind, e->of_tid,
		    (__u64)(int64_t)id, e->hdr.ts);
}

void pystats__event(struct pystats *p, const struct gs_event_hdr *e, size_t size)
{
	struct gs_env env = { p };
	struct py_thread *t;

	if (size != gs_event_size(e->type))
		return;
	switch (e->type) {
	case GS_EV_PY_STACK:
		py_stack(p, (const void *)e);
		break;
	case GS_EV_FUTEX_WAIT:
		if ((t = u64map__get(&p->threads, e->tid))) {
			const struct gs_futex_wait_event *w = (const void *)e;

			gs_py_futex_wait(&env, &t->m, e->tid, w->f.hdr.ts, w->f.end_ts);
		}
		break;
	case GS_EV_GIL_ACQUIRED:
		t = u64map__get(&p->threads, e->tid);
		gs_py_gil_taken(&env, t ? &t->m : NULL, &p->gil, e->tid, e->ts);
		break;
	case GS_EV_GIL_RELEASED:
		gs_py_gil_dropped(&p->gil, e->tid, e->ts);
		break;
	case GS_EV_THREAD_EXIT:
	case GS_EV_EXEC:
		if ((t = u64map__get(&p->threads, e->tid)))
			gs_py_thread_gone(&env, &t->m, e->tid, e->ts);
		break;
	default:
		break;
	}
}

struct py_thread *pystats__thread(const struct pystats *p, uint32_t tid)
{
	return u64map__get(&p->threads, tid);
}

static int by_ns(const void *a, const void *b)
{
	const struct py_cost *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

void pystats__sort(struct py_costs *c)
{
	if (c->nr > 1)
		qsort(c->v, c->nr, sizeof(c->v[0]), by_ns);
}

void pystats__init(struct pystats *p, struct pystacks *stacks)
{
	memset(p, 0, sizeof(*p));
	p->stacks = stacks;
	gs_py_gil_init(&p->gil);
}

void pystats__free(struct pystats *p)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map__next(&p->threads, &i, &k, &v);) {
		struct py_thread *t = v;

		free(t->held.v);
		free(t->waited.v);
		free(t->waited_for.v);
		free(t->lock_waited.v);
		free(t);
	}
	u64map__free(&p->threads);
	memset(p, 0, sizeof(*p));
}
