/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which Python code holds the GIL, waits for it, and makes others wait:
 * the analysis of the Python stacks caught where threads block and of
 * the GIL's takes, one copy for both sides.  user/pystats.c runs it on
 * the streamed records (stack ids from user/pystacks.c); summary.bpf.h
 * runs it in the probes (stack ids: hashes of the frames).  What each
 * figure means is said in user/pystats.h.
 *
 * The side defines, before including this file:
 *   struct gs_env;
 *   void gs_py_add(struct gs_env *, __u32 tid, int which, __u64 stack,
 *                  __u32 holder, __u64 ns, __u64 count);
 *
 * "Who made me wait" without touching other threads' state (BPF cannot
 * walk the waiters): a holder stack read by any waiter is the GIL's
 * (struct gs_py_gil); each waiter moves on to the newest one at its own
 * next event (a timed wait ending, its take of the GIL).  A waiter wakes
 * every switch interval, so a stretch of its wait goes to a holder stack
 * read at most one interval before the stretch's end; a stretch ends
 * when its holder lets the GIL go (the handoff's latency is behind no
 * one's code).
 */
#ifndef GS_PY_MACHINE_H
#define GS_PY_MACHINE_H

#include "gilscope.h"

/* A zeroed state is as good (BPF's map entries start so): a stack field
 * is read only when the flag or time beside it says it was set. */
static inline void gs_py_tstate_init(struct gs_py_tstate *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->wait_stack = t->seg_stack = t->lock_stack = GS_PY_NO_STACK;
}

static inline void gs_py_gil_init(struct gs_py_gil *g)
{
	__builtin_memset(g, 0, sizeof(*g));
	g->holder_stack = GS_PY_NO_STACK;
}

/* The stretch of @t's wait begun at seg_since ends at @ts. */
static inline void gs_py_close_stretch(struct gs_env *env, struct gs_py_tstate *t,
				       __u32 tid, __u64 ts)
{
	if (t->seg_since && ts > t->seg_since)
		gs_py_add(env, tid, GS_PYC_WAITED_FOR, t->seg_stack, t->seg_holder,
			  ts - t->seg_since, 1);
	t->seg_since = 0;
}

static inline __u64 gs_py_max(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

static inline __u64 gs_py_min(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

/* @t's wait (at @ts, its own event) follows what happened to the GIL
 * since its last event: a newer stack of its stretch's holder, that
 * holder letting the GIL go, a new holder whose stack is known. */
static inline void gs_py_catch_up(struct gs_env *env, struct gs_py_tstate *t,
				  const struct gs_py_gil *g, __u32 tid, __u64 ts)
{
	__u64 at;

	if (!t->waiting)
		return;
	/* the stretch's holder ran other code from the newer stack's read */
	if (t->seg_since && g->holder_stack_tid == t->seg_holder &&
	    g->holder_stack_ts > t->seg_since && g->holder_stack != t->seg_stack) {
		at = gs_py_min(g->holder_stack_ts, ts);
		gs_py_close_stretch(env, t, tid, at);
		t->seg_stack = g->holder_stack;
		t->seg_since = at;
	}
	/* the stretch's holder let the GIL go: the stretch ended then */
	if (t->seg_since && t->seg_holder != g->holder)
		gs_py_close_stretch(env, t, tid,
				    gs_py_min(gs_py_max(g->holder_since, t->seg_since), ts));
	/* behind the holder now, whose stack is known: from when it was
	 * read, this wait began or the holder took the GIL, the latest */
	if (!t->seg_since && g->holder && g->holder != tid &&
	    g->holder_stack_tid == g->holder && g->holder_stack_ts) {
		t->seg_stack = g->holder_stack;
		t->seg_holder = g->holder;
		t->seg_since = gs_py_min(gs_py_max(gs_py_max(g->holder_stack_ts, t->wait_since),
						   g->holder_since), ts);
	}
}

static inline void gs_py_begin_wait(struct gs_py_tstate *t, __u64 ts)
{
	if (t->waiting)
		return;
	t->waiting = 1;
	t->wait_stack = GS_PY_NO_STACK;
	t->wait_since = ts;
	t->seg_since = 0;
}

static inline void gs_py_end_wait(struct gs_env *env, struct gs_py_tstate *t, __u32 tid,
				  __u64 ts, int count_it)
{
	if (!t->waiting)
		return;
	if (count_it) {
		gs_py_add(env, tid, GS_PYC_WAITED, t->wait_stack, 0,
			  ts > t->wait_since ? ts - t->wait_since : 0, 1);
		gs_py_close_stretch(env, t, tid, ts);
	}
	t->waiting = 0;
	t->seg_since = 0;
}

/*
 * A Python stack (@kind: enum gs_py_stack_kind) caught by thread @tid at
 * @ts: its own, or the GIL holder @of_tid's; @stack: its id, or
 * GS_PY_NO_STACK when it has no frames.
 */
static inline void gs_py_stack(struct gs_env *env, struct gs_py_tstate *t,
			       struct gs_py_gil *g, __u32 tid, __u32 kind, __u32 of_tid,
			       __u64 stack, __u64 ts)
{
	switch (kind) {
	case GS_PY_SAMPLE:
		gs_py_add(env, tid, GS_PYC_HELD, stack, 0, 0, 1);
		break;
	case GS_PY_GIL_WAIT:
		/* the first of a wait's timed waits says where it waits */
		if (!t->waiting) {
			gs_py_begin_wait(t, ts);
			t->wait_stack = stack;
		}
		if (g)
			gs_py_catch_up(env, t, g, tid, ts);
		break;
	case GS_PY_GIL_HOLDER:
		/* what the holder runs now, for every thread waiting behind it */
		gs_py_begin_wait(t, ts);
		if (g) {
			g->holder_stack = stack;
			g->holder_stack_tid = of_tid;
			g->holder_stack_ts = ts;
			gs_py_catch_up(env, t, g, tid, ts);
		}
		break;
	case GS_PY_LOCK_WAIT:
		/* joined with the futex wait of the same call (its ts) */
		t->lock_stack = stack;
		t->lock_ts = ts;
		break;
	default:
		break;
	}
}

/* Thread @tid took the GIL at @ts: its wait, if any, ends. */
static inline void gs_py_gil_taken(struct gs_env *env, struct gs_py_tstate *t,
				   struct gs_py_gil *g, __u32 tid, __u64 ts)
{
	if (t) {
		gs_py_catch_up(env, t, g, tid, ts);
		gs_py_end_wait(env, t, tid, ts, 1);
	}
	g->holder = tid;
	g->holder_since = ts;
}

static inline void gs_py_gil_dropped(struct gs_py_gil *g, __u32 tid, __u64 ts)
{
	if (g->holder == tid) {
		g->holder = 0;
		g->holder_since = ts;
	}
}

/* A futex wait of @tid from @ts to @end_ts (not the GIL's): by the stack
 * caught at its entry. */
static inline void gs_py_futex_wait(struct gs_env *env, struct gs_py_tstate *t, __u32 tid,
				    __u64 ts, __u64 end_ts)
{
	if (!t->lock_ts || t->lock_ts != ts)
		return;
	gs_py_add(env, tid, GS_PYC_LOCK, t->lock_stack, 0, end_ts > ts ? end_ts - ts : 0, 1);
	t->lock_ts = 0;
}

/* @tid exited or exec'd: a wait that never ended in a take is not a GIL
 * wait's length. */
static inline void gs_py_thread_gone(struct gs_env *env, struct gs_py_tstate *t, __u32 tid,
				     __u64 ts)
{
	gs_py_end_wait(env, t, tid, ts, 0);
}

#endif /* GS_PY_MACHINE_H */
