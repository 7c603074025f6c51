/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The GIL, one thread's events at a time: the state machine both sides
 * run (machine.h says how).  Per thread: time holding the GIL, waiting
 * for it and not wanting it, acquisitions, forced and voluntary drops,
 * the convoy effect; per GIL: handoffs and the switch_number self-check.
 *
 * A thread is WAITING from its first wait on the GIL's condvar (or futex
 * wait on its mutex) to its acquisition, HOLDING from its acquisition to
 * its release, and otherwise not wanting the GIL (I/O, sleep, C code that
 * released it).
 *
 * Hooks the side defines:
 *   void gs_hist_add(env, enum gs_hist_kind, id, ns)	one duration
 *   void gs_gil_span(env, f, state, start, end)	a span of @f's thread ended
 *   void gs_gil_handoff(env, from, to, released, taken)	the GIL changed hands
 *   struct gs_gil_tstate *gs_gil_tstate_of(env, tid)	another thread's state, or NULL
 */
#ifndef GS_GIL_MACHINE_H
#define GS_GIL_MACHINE_H

#include "machine.h"

/* The thread's first GIL event starts its part of the trace (threads
 * alive at the start are entered from the start, by each side). */
static inline void gs_gil_touch(struct gs_gil_thread_figs *f, struct gs_gil_tstate *s,
				__u64 ts)
{
	if (!s->seen) {
		s->seen = 1;
		f->first_ts = ts;
		s->since = ts;
	}
	f->last_ts = ts;
}

/* Leaves the current state at @ts, accounting the span it closes. */
static inline void gs_gil_leave(struct gs_env *env, struct gs_gil_thread_figs *f,
				struct gs_gil_tstate *s, __u64 ts)
{
	__u64 len = ts > s->since ? ts - s->since : 0;

	if (s->state == GS_GIL_HOLDING) {
		f->held_ns += len;
		gs_gil_span(env, f, GS_GIL_HOLDING, s->since, ts);
	} else if (s->state == GS_GIL_WAITING) {
		f->waited_ns += len;
		gs_gil_span(env, f, GS_GIL_WAITING, s->since, ts);
	} else {
		s->idle_len = len;
		s->had_idle = 1;
	}
	s->since = ts;
}

static inline void gs_gil_start_waiting(struct gs_env *env, struct gs_gil_thread_figs *f,
					struct gs_gil_tstate *s, __u64 ts)
{
	if (s->state != GS_GIL_IDLE)
		return;
	gs_gil_leave(env, f, s, ts);	/* notes how long it went without the GIL */
	s->state = GS_GIL_WAITING;
}

GS_FN void gs_gil_acquired(struct gs_env *env, struct gs_gil_thread_figs *f,
			   struct gs_gil_tstate *s, struct gs_gil_figs *g,
			   const struct gs_step *e)
{
	__u64 ts = e->ts, wait = 0;

	s->in_cond = 0;
	if (s->state == GS_GIL_WAITING)
		wait = ts > s->since ? ts - s->since : 0;
	if (s->state == GS_GIL_IDLE)
		gs_gil_leave(env, f, s, ts);
	/* The convoy's signature: the thread let the GIL go for a blocking
	 * call (a voluntary release; after a forced drop it never blocked)
	 * and, back from it, waited half a switch interval or more for a
	 * CPU-bound holder to be forced out - a wait that is no small part
	 * of the call itself (a quarter of it or more: a 1 s sleep followed
	 * by a 5 ms wait is no convoy). */
	if (s->had_idle && !s->last_drop_forced) {
		f->short_releases++;
		if (wait * 2 >= g->interval_ns && wait * 4 >= s->idle_len) {
			f->convoy_waits++;
			f->convoy_lost_ns += wait;
		}
	}
	s->had_idle = 0;
	gs_gil_leave(env, f, s, ts);
	s->state = GS_GIL_HOLDING;
	s->drop_requested = 0;
	f->acquisitions++;
	gs_hist_add(env, GS_H_GIL_WAIT, e->tid, wait);
	g->acquisitions++;

	if (e->sn != ~0ULL) {
		if (!g->sn_seen) {
			g->first_sn = e->sn;
			g->sn_seen = 1;
		} else {
			__u64 expect = e->holder != g->last_holder;
			__u64 delta = e->sn - g->last_sn;

			g->switches += expect;
			if (expect && !g->first_switch_ts)
				g->first_switch_ts = ts;
			if (delta > expect)
				g->sn_gaps += delta - expect;
		}
		g->last_sn = e->sn;
		g->last_holder = e->holder;
	}
	if (g->release_pending) {
		gs_gil_handoff(env, g->last_release_tid, e->tid, g->last_release_ts, ts);
		g->release_pending = 0;
	}
	g->holder = e->tid;
}

GS_FN void gs_gil_released(struct gs_env *env, struct gs_gil_thread_figs *f,
			   struct gs_gil_tstate *s, struct gs_gil_figs *g,
			   const struct gs_step *e)
{
	__u64 ts = e->ts;

	if (s->state == GS_GIL_HOLDING) {
		gs_hist_add(env, GS_H_GIL_HOLD, e->tid, ts > s->since ? ts - s->since : 0);
		if (s->drop_requested)
			f->forced_drops++;
		else
			f->voluntary_drops++;
		s->last_drop_forced = s->drop_requested;
	} else if (s->state == GS_GIL_IDLE && !g->acquisitions) {
		/* held since before the trace began: count the part we saw,
		 * but not as a hold sample (its length is not known) */
		s->state = GS_GIL_HOLDING;
		s->since = g->start_ts;
		if (s->drop_requested)
			f->forced_drops++;
		else
			f->voluntary_drops++;
	}
	gs_gil_leave(env, f, s, ts);
	s->state = GS_GIL_IDLE;
	s->had_idle = 0;
	if (g->holder == e->tid)
		g->holder = 0;
	g->last_release_tid = e->tid;
	g->last_release_ts = ts;
	g->release_pending = 1;
}

/* take_gil's timed wait returned.  One that expired while the same
 * holder kept the GIL sets CPython's drop request: the holder's next
 * release is a forced switch. */
GS_FN void gs_gil_cond_ret(struct gs_env *env, struct gs_gil_tstate *s,
			   struct gs_gil_figs *g, const struct gs_step *e)
{
	struct gs_gil_tstate *h;

	s->in_cond = 0;
	if (e->ret != GS_ETIMEDOUT || !g->holder)
		return;
	h = gs_gil_tstate_of(env, g->holder);
	if (h && h->state == GS_GIL_HOLDING && h->since <= s->cond_since)
		h->drop_requested = 1;
}

/* One event that concerns this GIL (gs_gil_concerns()) of the thread
 * whose figures and state are @f and @s. */
GS_FN void gs_gil_step(struct gs_env *env, struct gs_gil_thread_figs *f,
		       struct gs_gil_tstate *s, struct gs_gil_figs *g,
		       const struct gs_step *e)
{
	if (e->type == GS_EV_THREAD_EXIT) {
		if (!s->seen)
			return;	/* it never touched the GIL */
		gs_gil_leave(env, f, s, e->ts);
		s->state = GS_GIL_IDLE;
		f->exited = 1;
		f->last_ts = e->ts;
		return;
	}
	if (e->type == GS_EV_COND_WAIT_RET && !s->in_cond)
		return;	/* not a wait for the GIL */
	gs_gil_touch(f, s, e->ts);
	switch (e->type) {
	case GS_EV_GIL_ACQUIRED:
		gs_gil_acquired(env, f, s, g, e);
		break;
	case GS_EV_GIL_RELEASED:
		gs_gil_released(env, f, s, g, e);
		break;
	case GS_EV_COND_WAIT:
		gs_gil_start_waiting(env, f, s, e->ts);
		s->in_cond = 1;
		s->cond_since = e->ts;
		break;
	case GS_EV_FUTEX_WAIT:
		/* a holder blocking on the mutex to drop stays a holder */
		gs_gil_start_waiting(env, f, s, e->ts);
		break;
	case GS_EV_COND_WAIT_RET:
		gs_gil_cond_ret(env, s, g, e);
		break;
	default:
		break;
	}
}

#endif /* GS_GIL_MACHINE_H */
