// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "pystats.h"

static struct py_thread *thread_get(struct pystats *p, uint32_t tid)
{
	struct py_thread *t = u64map__get(&p->threads, tid);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	t->wait_stack = t->seg_stack = t->lock_stack = PY_STACK_NONE;
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
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;

		x = realloc(c->v, cap * sizeof(*x));
		if (!x)
			return;
		c->v = x;
		c->cap = cap;
	}
	c->v[c->nr++] = (struct py_cost){ .stack = stack, .tid = tid, .ns = ns, .count = count };
}

/* A wait's stretch since the last holder stack ends at @ts. */
static void close_stretch(struct py_thread *t, uint64_t ts)
{
	if (t->seg_since && ts > t->seg_since)
		add(&t->waited_for, t->seg_stack, t->seg_holder, ts - t->seg_since, 1);
	t->seg_since = 0;
}

static void begin_wait(struct py_thread *t, uint64_t ts)
{
	if (t->waiting)
		return;
	t->waiting = 1;
	t->wait_stack = PY_STACK_NONE;
	t->wait_since = ts;
	t->seg_since = 0;
}

static void end_wait(struct py_thread *t, uint64_t ts, bool count_it)
{
	if (!t->waiting)
		return;
	if (count_it) {
		add(&t->waited, t->wait_stack, 0, ts > t->wait_since ? ts - t->wait_since : 0, 1);
		close_stretch(t, ts);
	}
	t->waiting = 0;
	t->seg_since = 0;
}

/* @t's wait goes on behind @holder running @stack, from @ts. */
static void stretch(struct py_thread *t, int stack, uint32_t holder, uint64_t ts)
{
	close_stretch(t, ts);
	t->seg_stack = stack;
	t->seg_holder = holder;
	t->seg_since = ts;
}

static void py_stack(struct pystats *p, const struct gs_py_stack_event *e)
{
	struct py_thread *t = thread_get(p, e->hdr.tid);
	uint64_t k;
	void *v;
	int id;

	if (!t)
		return;
	p->records++;
	p->no_tstate += !!(e->flags & GS_PY_NO_TSTATE);
	p->read_errors += !!(e->flags & GS_PY_READ_ERR);
	p->truncated += !!(e->flags & GS_PY_TRUNCATED);
	id = pystacks__intern(p->stacks, e);
	switch (e->kind) {
	case GS_PY_SAMPLE:
		p->samples++;
		t->samples++;
		add(&t->held, id, 0, 0, 1);
		break;
	case GS_PY_GIL_WAIT:
		/* the first of a wait's timed waits says where it waits */
		if (!t->waiting || (t->wait_stack == PY_STACK_NONE && t->wait_since == e->hdr.ts)) {
			begin_wait(t, e->hdr.ts);
			t->wait_stack = id;
			/* behind the holder's stack read last, while it holds */
			if (!t->seg_since && p->holder && p->holder_stack_tid == p->holder)
				stretch(t, p->holder_stack, p->holder, e->hdr.ts);
		}
		break;
	case GS_PY_GIL_HOLDER:
		/* what the holder runs now, for every thread waiting behind it */
		p->holder_stack = id;
		p->holder_stack_tid = e->of_tid;
		begin_wait(t, e->hdr.ts);
		for (size_t i = 0; u64map__next(&p->threads, &i, &k, &v);) {
			struct py_thread *w = v;

			if (w->waiting && (w == t || !w->seg_since || w->seg_holder == e->of_tid))
				stretch(w, id, e->of_tid, e->hdr.ts);
		}
		break;
	case GS_PY_LOCK_WAIT:
		/* joined with the futex record of the same call (its ts) */
		t->lock_stack = id;
		t->lock_ts = e->hdr.ts;
		break;
	default:
		break;
	}
}

static void futex_wait(struct pystats *p, const struct gs_futex_wait_event *w)
{
	struct py_thread *t = u64map__get(&p->threads, w->f.hdr.tid);

	if (!t || !t->lock_ts || t->lock_ts != w->f.hdr.ts)
		return;
	add(&t->lock_waited, t->lock_stack, 0,
	    w->f.end_ts > w->f.hdr.ts ? w->f.end_ts - w->f.hdr.ts : 0, 1);
	t->lock_ts = 0;
}

void pystats__event(struct pystats *p, const struct gs_event_hdr *e, size_t size)
{
	struct py_thread *t;

	if (size != gs_event_size(e->type))
		return;
	switch (e->type) {
	case GS_EV_PY_STACK:
		py_stack(p, (const void *)e);
		break;
	case GS_EV_FUTEX_WAIT:
		futex_wait(p, (const void *)e);
		break;
	case GS_EV_GIL_ACQUIRED:
		p->holder = e->tid;
		if ((t = u64map__get(&p->threads, e->tid)))
			end_wait(t, e->ts, true);
		break;
	case GS_EV_GIL_RELEASED:
		if (p->holder == e->tid)
			p->holder = 0;
		break;
	case GS_EV_THREAD_EXIT:
	case GS_EV_EXEC:
		/* a wait that never ended in a take: not a GIL wait's length */
		if ((t = u64map__get(&p->threads, e->tid)))
			end_wait(t, e->ts, false);
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
	p->holder_stack = PY_STACK_NONE;
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
