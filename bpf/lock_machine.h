/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lock contention, one thread's events at a time: the state machine both
 * sides run (machine.h says how).
 *
 * A contended acquisition is a "wait episode": one or more futex waits by
 * a thread on the same address with nothing else of that thread between
 * them (glibc retries FUTEX_WAIT until its atomic exchange wins).  With
 * the mutex uprobes (--locks=all) every acquisition and release is seen,
 * so hold times and uncontended acquisitions are known too.
 *
 * Hooks the side defines:
 *   struct gs_lock_figs *gs_lock_figs_of(env, addr)
 *		the lock's figures, created if missing; NULL when there is no room
 *   void gs_hist_add(env, enum gs_hist_kind, id, ns)	one duration
 *   void gs_lock_span(env, addr, start, end, hold)	one wait (0) or hold (1)
 *   void gs_site_take(env, st, GS_SITE_*, addr)
 *		the current event's user stack is the call site of that wait
 *   void gs_site_clear(env, st, GS_SITE_*)		the wait has no call site yet
 *   void gs_site_add(env, st, GS_SITE_*, addr, ns)	a wait there ended
 *   int gs_mutex_probes(env)	pthread_mutex_lock/unlock are probed
 *   void gs_lock_open_wait(env, addr, start, start_known)
 *		a wait still in progress at the end (user space only)
 */
#ifndef GS_LOCK_MACHINE_H
#define GS_LOCK_MACHINE_H

#include "machine.h"

/* Notes a thread seen holding @l (a waiter's futex word +8): kind evidence. */
static inline void gs_lock_note_owner(struct gs_lock_figs *l, __u32 owner)
{
	if (!owner)
		return;
	for (int i = 0; i < GS_LOCK_OWNERS; i++) {
		if (l->owners[i] == owner)
			return;
		if (!l->owners[i]) {
			l->owners[i] = owner;
			return;
		}
	}
}

GS_FN void gs_lock_acquired(struct gs_env *env, struct gs_lock_tstate *s, __u64 addr,
			    __u64 ts)
{
	struct gs_lock_figs *l = gs_lock_figs_of(env, addr);
	__u32 n = s->nr_held;

	if (l)
		GS_ADD(&l->acquisitions, 1);
	if (n < GS_MAX_HELD) {
		s->held_addr[n] = addr;
		s->held_since[n] = ts;
		s->nr_held = n + 1;
	}
}

GS_FN void gs_lock_released(struct gs_env *env, struct gs_lock_thread_figs *f,
			    struct gs_lock_tstate *s, __u64 addr, __u64 ts)
{
	struct gs_lock_figs *l;
	__u32 last;

	/* a bounded loop, newest first, as the verifier wants it */
	for (int i = GS_MAX_HELD - 1; i >= 0; i--) {
		__u64 hold;

		if (i >= s->nr_held || s->held_addr[i] != addr)
			continue;
		hold = ts > s->held_since[i] ? ts - s->held_since[i] : 0;
		gs_hist_add(env, GS_H_LOCK_HOLD, addr, hold);
		gs_lock_span(env, addr, s->held_since[i], ts, 1);
		f->lock_hold_ns += hold;
		last = s->nr_held - 1;
		if (last < GS_MAX_HELD) {
			s->held_addr[i] = s->held_addr[last];
			s->held_since[i] = s->held_since[last];
			s->nr_held = last;
		}
		return;
	}
	l = gs_lock_figs_of(env, addr);
	if (l)
		GS_ADD(&l->unmatched_unlocks, 1);
}

/* The thread got the lock it was waiting for: account the episode. */
GS_FN void gs_lock_finish_episode(struct gs_env *env, struct gs_lock_thread_figs *f,
				  struct gs_lock_tstate *s)
{
	struct gs_lock_figs *l;
	__u64 start, wait;

	if (!s->ep_open)
		return;
	s->ep_open = 0;
	l = gs_lock_figs_of(env, s->ep_addr);
	if (!l)
		return;
	start = s->ep_start;
	/* with the lock uprobe, the wait starts at the call, not the syscall */
	if (s->pend && s->pend_addr == s->ep_addr && s->pend_ts < start)
		start = s->pend_ts;
	wait = s->ep_end > start ? s->ep_end - start : 0;
	GS_ADD(&l->contended, 1);
	gs_hist_add(env, GS_H_LOCK_WAIT, s->ep_addr, wait);
	gs_lock_span(env, s->ep_addr, start, s->ep_end, 0);
	f->lock_wait_ns += wait;
	if (s->ep_val == 2)
		GS_ADD(&l->val2_waits, 1);
	else
		GS_ADD(&l->other_waits, 1);
	gs_lock_note_owner(l, s->ep_owner);
	gs_site_add(env, s, GS_SITE_EP, s->ep_addr, wait);
	if (s->pend && s->pend_addr == s->ep_addr) {
		s->pend = 0;
		gs_lock_acquired(env, s, s->ep_addr, s->ep_end);
	}
}

/* A pthread_mutex_lock call not followed by a futex wait got the lock at once. */
GS_FN void gs_lock_resolve_pending(struct gs_env *env, struct gs_lock_tstate *s)
{
	if (!s->pend)
		return;
	s->pend = 0;
	gs_lock_acquired(env, s, s->pend_addr, s->pend_ts);
}

/* What a thread is still doing when the trace ends: a wait whose last
 * futex call returned got its lock; a lock call with no wait got it at
 * once.  (Holds still open are not counted: their length is not known.) */
static inline void gs_lock_close(struct gs_env *env, struct gs_lock_thread_figs *f,
				 struct gs_lock_tstate *s)
{
	gs_lock_finish_episode(env, f, s);
	gs_lock_resolve_pending(env, s);
}

GS_FN void gs_lock_futex_wait(struct gs_env *env, struct gs_lock_thread_figs *f,
			      struct gs_lock_tstate *s, const struct gs_step *e)
{
	if (s->in_cond && e->addr != s->cond_mutex) {
		/* the condvar's own futex: the cond wait blocked */
		if (!s->cond_blocked)
			gs_site_take(env, s, GS_SITE_COND, s->cond);
		s->cond_blocked = 1;
		return;
	}
	if (s->ep_open && s->ep_addr == e->addr) {
		s->ep_end = e->end_ts;
		return;
	}
	gs_lock_finish_episode(env, f, s);
	if (s->pend && s->pend_addr != e->addr)
		gs_lock_resolve_pending(env, s);
	s->ep_open = 1;
	s->ep_addr = e->addr;
	s->ep_start = e->ts;
	s->ep_end = e->end_ts;
	s->ep_val = e->val;
	s->ep_owner = e->owner;
	gs_site_take(env, s, GS_SITE_EP, e->addr);
}

GS_FN void gs_lock_cond_wait(struct gs_env *env, struct gs_lock_thread_figs *f,
			     struct gs_lock_tstate *s, const struct gs_step *e)
{
	struct gs_lock_figs *c = gs_lock_figs_of(env, e->addr);
	struct gs_lock_figs *m = gs_lock_figs_of(env, e->mutex);

	if (c)
		c->seen_cond = 1;
	if (m)
		m->seen_mutex = 1;
	/* pthread_cond_wait releases the mutex inside glibc, past our
	 * pthread_mutex_unlock probe: account the release here */
	if (gs_mutex_probes(env))
		gs_lock_released(env, f, s, e->mutex, e->ts);
	s->in_cond = 1;
	s->cond_blocked = 0;
	s->cond = e->addr;
	s->cond_mutex = e->mutex;
	s->cond_start = e->ts;
	gs_site_clear(env, s, GS_SITE_COND);
}

GS_FN void gs_lock_cond_ret(struct gs_env *env, struct gs_lock_thread_figs *f,
			    struct gs_lock_tstate *s, const struct gs_step *e)
{
	struct gs_lock_figs *c;
	__u64 wait;

	if (!s->in_cond)
		return;	/* the wait began before the trace */
	s->in_cond = 0;
	wait = e->ts > s->cond_start ? e->ts - s->cond_start : 0;
	c = gs_lock_figs_of(env, s->cond);
	if (c) {
		GS_ADD(&c->acquisitions, 1);
		if (s->cond_blocked)
			GS_ADD(&c->contended, 1);
	}
	gs_hist_add(env, GS_H_LOCK_WAIT, s->cond, wait);
	gs_lock_span(env, s->cond, s->cond_start, e->ts, 0);
	f->cond_wait_ns += wait;
	gs_site_add(env, s, GS_SITE_COND, s->cond, wait);
	/* and it re-acquired the mutex before returning */
	if (gs_mutex_probes(env))
		gs_lock_acquired(env, s, s->cond_mutex, e->ts);
}

/* A futex wait still in progress when tracing stopped: no lock was had.
 * If it continues the thread's open episode (glibc waits again on the
 * same word), it began when the episode did; the episode is dropped, not
 * counted as a contended acquisition. */
static inline void gs_lock_wait_open(struct gs_env *env, struct gs_lock_tstate *s,
				     const struct gs_step *e)
{
	__u64 start = e->ts;
	int known = e->start_known;

	if (s->ep_open && s->ep_addr == e->addr) {
		start = s->ep_start;
		known = 1;
		s->ep_open = 0;
	}
	if (s->pend && s->pend_addr == e->addr) {
		if (s->pend_ts < start)
			start = s->pend_ts;
		known = 1;
		s->pend = 0;
	}
	gs_lock_open_wait(env, e->addr, start, known);
}

/* One event of the thread whose figures and state are @f and @s. */
GS_FN void gs_lock_step(struct gs_env *env, struct gs_lock_thread_figs *f,
			struct gs_lock_tstate *s, const struct gs_step *e)
{
	struct gs_lock_figs *l;

	if (!f->first_ts)
		f->first_ts = e->ts;
	f->last_ts = e->ts;
	if (e->type == GS_EV_FUTEX_WAIT) {
		gs_lock_futex_wait(env, f, s, e);
		return;
	}
	if (e->type == GS_EV_FUTEX_WAIT_OPEN) {
		gs_lock_wait_open(env, s, e);
		return;
	}
	/* anything else the thread does ends its wait episode */
	gs_lock_close(env, f, s);

	switch (e->type) {
	case GS_EV_FUTEX_WAKE:
		l = gs_lock_figs_of(env, e->addr);
		if (l)
			GS_ADD(&l->wakes, 1);
		break;
	case GS_EV_MUTEX_LOCK:
		l = gs_lock_figs_of(env, e->addr);
		if (l)
			l->seen_mutex = 1;
		s->pend = 1;
		s->pend_addr = e->addr;
		s->pend_ts = e->ts;
		break;
	case GS_EV_MUTEX_UNLOCK:
		l = gs_lock_figs_of(env, e->addr);
		if (l)
			l->seen_mutex = 1;
		gs_lock_released(env, f, s, e->addr, e->ts);
		break;
	case GS_EV_COND_WAIT:
		gs_lock_cond_wait(env, f, s, e);
		break;
	case GS_EV_COND_WAIT_RET:
		gs_lock_cond_ret(env, f, s, e);
		break;
	case GS_EV_THREAD_EXIT:
		f->exited = 1;
		break;
	default:
		break;
	}
}

#endif /* GS_LOCK_MACHINE_H */
