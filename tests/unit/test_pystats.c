// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Python-stack analysis (bpf/py_machine.h, run by user/pystats.c on
 * records, and by --summary in BPF) on hand-made streams whose figures
 * are known: who waited where, for how long, behind which holder stack.
 */
#include "testlib.h"
#include "events.h"
#include "pystats.h"

#define MS 1000000ULL

struct stream {
	struct pystacks stacks;
	struct pystats p;
};

static void gil(struct stream *s, uint32_t tid, int acquired, uint64_t ts)
{
	struct gs_gil_event e = { 0 };

	e.hdr.type = acquired ? GS_EV_GIL_ACQUIRED : GS_EV_GIL_RELEASED;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	pystats__event(&s->p, &e.hdr, sizeof(e));
}

/* A stack of one frame, code object @code: the same @code, the same id. */
static void stack(struct stream *s, uint32_t tid, uint32_t kind, uint32_t of_tid,
		  uint64_t code, uint64_t ts)
{
	struct gs_py_stack_event e = { 0 };

	e.hdr.type = GS_EV_PY_STACK;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.kind = kind;
	e.of_tid = of_tid;
	e.tstate = 0x1000;
	e.nr_frames = code ? 1 : 0;
	e.frames[0].code = code;
	e.frames[0].instr = code + 0x40;
	pystats__event(&s->p, &e.hdr, sizeof(e));
}

static void futex_wait(struct stream *s, uint32_t tid, uint64_t ts, uint64_t end)
{
	struct gs_futex_wait_event w = { 0 };

	w.f.hdr.type = GS_EV_FUTEX_WAIT;
	w.f.hdr.tid = tid;
	w.f.hdr.ts = ts;
	w.f.end_ts = end;
	pystats__event(&s->p, &w.f.hdr, sizeof(w));
}

static uint64_t code_of(struct stream *s, int id)
{
	const struct py_stack *st = pystacks__get(&s->stacks, id);

	return st && st->nr ? st->f[0].code : 0;
}

/* The cost in @c whose stack's code object is @code (and holder @holder). */
static const struct py_cost *cost(struct stream *s, const struct py_costs *c, uint64_t code,
				  uint32_t holder)
{
	for (size_t i = 0; i < c->nr; i++)
		if (code_of(s, c->v[i].stack) == code && c->v[i].tid == holder)
			return &c->v[i];
	return NULL;
}

static void begin(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	pystats__init(&s->p, &s->stacks);
}

static void end(struct stream *s)
{
	pystats__free(&s->p);
	pystacks__free(&s->stacks);
}

enum { HOLDER = 10, WAITER = 20, OTHER = 30 };
#define BURN	0xb000	/* the holder's code, then */
#define BURN2	0xc000	/* ... later */
#define SLEEP	0xa000	/* the waiter's */

/* One wait: where it began, its exact length, and the holder's two
 * stacks split at the time the second was read. */
TEST(pystats_wait_split_by_holder_stacks)
{
	struct stream s;
	struct py_thread *w;
	const struct py_cost *c;

	begin(&s);
	gil(&s, HOLDER, 1, 1 * MS);
	stack(&s, WAITER, GS_PY_GIL_WAIT, WAITER, SLEEP, 2 * MS);
	stack(&s, WAITER, GS_PY_GIL_HOLDER, HOLDER, BURN, 2 * MS);
	/* its timed wait ends at 7 ms: the holder runs other code now */
	stack(&s, WAITER, GS_PY_GIL_WAIT, WAITER, SLEEP, 7 * MS);
	stack(&s, WAITER, GS_PY_GIL_HOLDER, HOLDER, BURN2, 7 * MS);
	gil(&s, HOLDER, 0, 9 * MS);
	gil(&s, WAITER, 1, 9 * MS + 100);
	w = pystats__thread(&s.p, WAITER);
	CHECK(w);
	CHECK_U64(w->waited.nr, 1);
	CHECK_U64(code_of(&s, w->waited.v[0].stack), SLEEP);
	CHECK_U64(w->waited.v[0].ns, 7 * MS + 100);
	CHECK_U64(w->waited.v[0].count, 1);
	c = cost(&s, &w->waited_for, BURN, HOLDER);
	CHECK(c);
	CHECK_U64(c->ns, 5 * MS);
	/* up to the holder's drop: the handoff's 100 ns is no one's code */
	c = cost(&s, &w->waited_for, BURN2, HOLDER);
	CHECK(c);
	CHECK_U64(c->ns, 2 * MS);
	end(&s);
}

/* A holder stack read by one waiter serves another at its next event,
 * from then (not from its own wait's start, which came before). */
TEST(pystats_holder_stack_serves_every_waiter)
{
	struct stream s;
	struct py_thread *o;
	const struct py_cost *c;
	uint64_t total = 0;

	begin(&s);
	gil(&s, HOLDER, 1, 1 * MS);
	stack(&s, WAITER, GS_PY_GIL_WAIT, WAITER, SLEEP, 2 * MS);
	stack(&s, WAITER, GS_PY_GIL_HOLDER, HOLDER, BURN, 2 * MS);
	/* OTHER begins waiting at 3 ms: the holder stack read at 2 ms is
	 * the holder's now, and serves it from its wait's start */
	stack(&s, OTHER, GS_PY_GIL_WAIT, OTHER, SLEEP, 3 * MS);
	/* WAITER reads a new one at 6 ms; OTHER moves to it at its next
	 * event, its take at 10 ms */
	stack(&s, WAITER, GS_PY_GIL_HOLDER, HOLDER, BURN2, 6 * MS);
	gil(&s, HOLDER, 0, 10 * MS);
	gil(&s, OTHER, 1, 10 * MS);
	o = pystats__thread(&s.p, OTHER);
	CHECK(o);
	c = cost(&s, &o->waited_for, BURN, HOLDER);
	CHECK(c);
	CHECK_U64(c->ns, 3 * MS);
	c = cost(&s, &o->waited_for, BURN2, HOLDER);
	CHECK(c);
	CHECK_U64(c->ns, 4 * MS);
	for (size_t i = 0; i < o->waited_for.nr; i++)
		total += o->waited_for.v[i].ns;
	CHECK_U64(total, 7 * MS);
	CHECK_U64(o->waited.v[0].ns, 7 * MS);
	end(&s);
}

/* A holder stack of another thread than the holder now (it was read
 * before a handoff) serves no one; a wait that ends in an exit counts
 * nothing. */
TEST(pystats_stale_holder_stack_and_exit)
{
	struct stream s;
	struct py_thread *w;
	struct gs_thread_event x = { 0 };

	begin(&s);
	gil(&s, HOLDER, 1, 1 * MS);
	stack(&s, WAITER, GS_PY_GIL_HOLDER, HOLDER, BURN, 2 * MS);
	gil(&s, HOLDER, 0, 3 * MS);
	gil(&s, OTHER, 1, 3 * MS);
	stack(&s, WAITER, GS_PY_GIL_WAIT, WAITER, SLEEP, 4 * MS);
	gil(&s, OTHER, 0, 5 * MS);
	gil(&s, WAITER, 1, 5 * MS);
	w = pystats__thread(&s.p, WAITER);
	CHECK(w);
	/* HOLDER's stack stretch: 2 ms to its drop at 3 ms; then OTHER
	 * held with no stack read: nothing for that stretch */
	CHECK(cost(&s, &w->waited_for, BURN, HOLDER));
	CHECK_U64(cost(&s, &w->waited_for, BURN, HOLDER)->ns, 1 * MS);
	CHECK_U64(w->waited.v[0].ns, 3 * MS);
	CHECK(!cost(&s, &w->waited_for, BURN, OTHER));
	/* a wait ended by the thread's exit is not a GIL wait */
	stack(&s, OTHER, GS_PY_GIL_WAIT, OTHER, SLEEP, 6 * MS);
	x.hdr.type = GS_EV_THREAD_EXIT;
	x.hdr.tid = OTHER;
	x.hdr.ts = 8 * MS;
	pystats__event(&s.p, &x.hdr, sizeof(x));
	CHECK_U64(pystats__thread(&s.p, OTHER)->waited.nr, 0);
	end(&s);
}

/* Samples count per stack; lock waits join their futex wait by ts. */
TEST(pystats_samples_and_lock_waits)
{
	struct stream s;
	struct py_thread *t;

	begin(&s);
	for (int i = 0; i < 3; i++)
		stack(&s, HOLDER, GS_PY_SAMPLE, HOLDER, BURN, (uint64_t)(i + 1) * MS);
	stack(&s, HOLDER, GS_PY_SAMPLE, HOLDER, BURN2, 5 * MS);
	stack(&s, WAITER, GS_PY_LOCK_WAIT, WAITER, SLEEP, 6 * MS);
	futex_wait(&s, WAITER, 6 * MS, 9 * MS);
	/* a futex wait with no stack of its own at its ts: not joined */
	futex_wait(&s, WAITER, 10 * MS, 11 * MS);
	t = pystats__thread(&s.p, HOLDER);
	CHECK_U64(t->samples, 4);
	CHECK_U64(s.p.samples, 4);
	CHECK_U64(cost(&s, &t->held, BURN, 0)->count, 3);
	CHECK_U64(cost(&s, &t->held, BURN2, 0)->count, 1);
	t = pystats__thread(&s.p, WAITER);
	CHECK_U64(t->lock_waited.nr, 1);
	CHECK_U64(t->lock_waited.v[0].ns, 3 * MS);
	CHECK_U64(code_of(&s, t->lock_waited.v[0].stack), SLEEP);
	CHECK_U64(s.p.records, 5);
	end(&s);
}
