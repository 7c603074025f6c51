// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstats.h"
#include "names.h"
#include "u64map.h"

#define MAX_HELD 16

struct held {
	uint64_t addr, since;
};

/* A thread's analysis state: what it is doing right now. */
struct tstate {
	struct thread_stats st;
	/* an open wait episode: futex waits on one address */
	bool ep_open;
	uint64_t ep_addr, ep_start, ep_end;
	uint32_t ep_val, ep_owner, ep_nr_frames;
	uint64_t ep_frames[GS_MAX_FRAMES];
	/* a pthread_mutex_lock call whose outcome is not known yet */
	bool pend;
	uint64_t pend_addr, pend_ts;
	/* inside pthread_cond_*wait */
	bool in_cond, cond_blocked;
	uint64_t cond, cond_mutex, cond_start;
	uint32_t cond_nr_frames;
	uint64_t cond_frames[GS_MAX_FRAMES];
	/* mutexes held (--locks=all) */
	struct held held[MAX_HELD];
	int nr_held;
};

struct lockstats {
	struct lockstats_config cfg;
	struct names *names;
	struct u64map locks;	/* addr -> struct lock_stats */
	struct u64map threads;	/* tid -> struct tstate */
	struct lock_stats **lock_arr;
	struct thread_stats **thread_arr;
	size_t locks_sorted, threads_sorted;
	struct lock_span *spans;
	size_t nr_spans, cap_spans;
};

static void keep_span(struct lockstats *ls, uint32_t tid, uint64_t addr,
		      uint64_t start, uint64_t end, bool hold)
{
	struct lock_span *sp;

	if (!ls->cfg.keep_spans || end < start)
		return;
	if (ls->nr_spans == ls->cap_spans) {
		size_t cap = ls->cap_spans ? ls->cap_spans * 2 : 256;

		sp = realloc(ls->spans, cap * sizeof(*sp));
		if (!sp)
			return;
		ls->spans = sp;
		ls->cap_spans = cap;
	}
	sp = &ls->spans[ls->nr_spans++];
	sp->start = start;
	sp->end = end;
	sp->addr = addr;
	sp->tid = tid;
	sp->hold = hold;
}

size_t lockstats__spans(struct lockstats *ls, const struct lock_span **out)
{
	*out = ls->spans;
	return ls->nr_spans;
}

const char *lock_kind_name(int kind)
{
	switch (kind) {
	case LOCK_MUTEX: return "mutex";
	case LOCK_CONDVAR: return "condvar";
	default: return "futex";
	}
}

int lockstats__new(const struct lockstats_config *cfg, struct names *names,
		   struct lockstats **out)
{
	struct lockstats *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return -ENOMEM;
	ls->cfg = *cfg;
	ls->names = names;
	*out = ls;
	return 0;
}

void lockstats__free(struct lockstats *ls)
{
	uint64_t k;
	void *v;

	if (!ls)
		return;
	for (size_t i = 0; u64map__next(&ls->locks, &i, &k, &v);) {
		struct lock_stats *l = v;

		samples__free(&l->wait);
		samples__free(&l->hold);
		free(l->callers);
		free(l);
	}
	for (size_t i = 0; u64map__next(&ls->threads, &i, &k, &v);)
		free(v);
	u64map__free(&ls->locks);
	u64map__free(&ls->threads);
	free(ls->lock_arr);
	free(ls->thread_arr);
	free(ls->spans);
	free(ls);
}

static struct lock_stats *lock_get(struct lockstats *ls, uint64_t addr)
{
	struct lock_stats *l = u64map__get(&ls->locks, addr);

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->addr = addr;
	if (u64map__set(&ls->locks, addr, l)) {
		free(l);
		return NULL;
	}
	return l;
}

static struct tstate *thread_get(struct lockstats *ls, uint32_t tid)
{
	struct tstate *t = u64map__get(&ls->threads, tid);

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->st.tid = tid;
	if (u64map__set(&ls->threads, tid, t)) {
		free(t);
		return NULL;
	}
	return t;
}

void lockstats__add_thread(struct lockstats *ls, uint32_t tid)
{
	thread_get(ls, tid);
}

struct lock_stats *lockstats__lock(struct lockstats *ls, uint64_t addr)
{
	return lock_get(ls, addr);
}

struct thread_stats *lockstats__thread(struct lockstats *ls, uint32_t tid)
{
	struct tstate *t = thread_get(ls, tid);

	return t ? &t->st : NULL;
}

void lockstats__set_inflight(struct lockstats *ls, uint32_t tid, const struct lock_inflight *f)
{
	struct tstate *t = thread_get(ls, tid);
	uint32_t nr = f->ep_nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : f->ep_nr_frames;

	if (!t)
		return;
	t->ep_open = f->ep_open;
	t->ep_addr = f->ep_addr;
	t->ep_start = f->ep_start;
	t->ep_end = f->ep_end;
	t->ep_val = f->ep_val;
	t->ep_owner = f->ep_owner;
	t->ep_nr_frames = nr;
	if (nr)
		memcpy(t->ep_frames, f->ep_frames, nr * sizeof(t->ep_frames[0]));
	t->pend = f->pend;
	t->pend_addr = f->pend_addr;
	t->pend_ts = f->pend_ts;
}

void lockstats__add_caller(struct lock_stats *l, const uint64_t *frames, uint32_t nr,
			   uint64_t count, uint64_t wait)
{
	struct lock_caller *c;

	if (nr > GS_MAX_FRAMES)
		nr = GS_MAX_FRAMES;
	for (size_t i = 0; i < l->nr_callers; i++) {
		c = &l->callers[i];
		if (c->nr_frames == nr &&
		    !memcmp(c->frames, frames, nr * sizeof(*frames))) {
			c->count += count;
			c->wait_ns += wait;
			return;
		}
	}
	if (l->nr_callers == l->cap_callers) {
		size_t cap = l->cap_callers ? l->cap_callers * 2 : 4;

		c = realloc(l->callers, cap * sizeof(*c));
		if (!c)
			return;
		l->callers = c;
		l->cap_callers = cap;
	}
	c = &l->callers[l->nr_callers++];
	memset(c, 0, sizeof(*c));
	memcpy(c->frames, frames, nr * sizeof(*frames));
	c->nr_frames = nr;
	c->count = count;
	c->wait_ns = wait;
}

void lockstats__note_owner(struct lock_stats *l, uint32_t owner)
{
	if (!owner)
		return;
	for (int i = 0; i < l->nr_owners; i++)
		if (l->owners[i] == owner)
			return;
	if (l->nr_owners < LOCK_MAX_OWNERS)
		l->owners[l->nr_owners++] = owner;
}

static void acquired(struct tstate *t, struct lock_stats *l, uint64_t ts)
{
	l->acquisitions++;
	if (t->nr_held < MAX_HELD) {
		t->held[t->nr_held].addr = l->addr;
		t->held[t->nr_held].since = ts;
		t->nr_held++;
	}
}

static void released(struct lockstats *ls, struct tstate *t, struct lock_stats *l,
		     uint64_t ts)
{
	for (int i = t->nr_held - 1; i >= 0; i--) {
		if (t->held[i].addr != l->addr)
			continue;
		uint64_t hold = ts > t->held[i].since ? ts - t->held[i].since : 0;

		keep_span(ls, t->st.tid, l->addr, t->held[i].since, ts, true);
		samples__add(&l->hold, hold);
		t->st.lock_hold_ns += hold;
		t->held[i] = t->held[--t->nr_held];
		return;
	}
	l->unmatched_unlocks++;
}

/* The thread got the lock it was waiting for: account the episode. */
static void finish_episode(struct lockstats *ls, struct tstate *t)
{
	struct lock_stats *l;
	uint64_t start, wait;

	if (!t->ep_open)
		return;
	t->ep_open = false;
	l = lock_get(ls, t->ep_addr);
	if (!l)
		return;
	start = t->ep_start;
	/* with the lock uprobe, the wait starts at the call, not the syscall */
	if (t->pend && t->pend_addr == t->ep_addr && t->pend_ts < start)
		start = t->pend_ts;
	wait = t->ep_end > start ? t->ep_end - start : 0;
	l->contended++;
	samples__add(&l->wait, wait);
	keep_span(ls, t->st.tid, l->addr, start, t->ep_end, false);
	t->st.lock_wait_ns += wait;
	if (t->ep_val == 2)
		l->val2_waits++;
	else
		l->other_waits++;
	lockstats__note_owner(l, t->ep_owner);
	lockstats__add_caller(l, t->ep_frames, t->ep_nr_frames, 1, wait);
	if (t->pend && t->pend_addr == t->ep_addr) {
		t->pend = false;
		acquired(t, l, t->ep_end);
	}
}

/* A pthread_mutex_lock call that was not followed by a futex wait got the
 * lock at once. */
static void resolve_pending(struct lockstats *ls, struct tstate *t)
{
	struct lock_stats *l;

	if (!t->pend)
		return;
	t->pend = false;
	l = lock_get(ls, t->pend_addr);
	if (l)
		acquired(t, l, t->pend_ts);
}

static void on_futex_wait(struct lockstats *ls, struct tstate *t,
			  const struct gs_futex_wait_event *w)
{
	const struct gs_futex_event *e = &w->f;
	uint32_t nr = w->nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : w->nr_frames;

	if (t->in_cond && e->uaddr != t->cond_mutex) {
		/* the condvar's own futex: the cond wait blocked */
		if (!t->cond_blocked) {
			t->cond_nr_frames = nr;
			memcpy(t->cond_frames, w->frames, nr * sizeof(w->frames[0]));
		}
		t->cond_blocked = true;
		return;
	}
	if (t->ep_open && t->ep_addr == e->uaddr) {
		t->ep_end = e->end_ts;
		return;
	}
	finish_episode(ls, t);
	if (t->pend && t->pend_addr != e->uaddr)
		resolve_pending(ls, t);
	t->ep_open = true;
	t->ep_addr = e->uaddr;
	t->ep_start = e->hdr.ts;
	t->ep_end = e->end_ts;
	t->ep_val = e->val;
	t->ep_owner = e->owner_tid;
	t->ep_nr_frames = nr;
	memcpy(t->ep_frames, w->frames, nr * sizeof(w->frames[0]));
}

static void on_cond_wait(struct lockstats *ls, struct tstate *t,
			 const struct gs_cond_event *e)
{
	struct lock_stats *c = lock_get(ls, e->cond), *m = lock_get(ls, e->mutex);

	if (!c || !m)
		return;
	c->seen_cond = true;
	m->seen_mutex = true;
	/* pthread_cond_wait releases the mutex inside glibc, past our
	 * pthread_mutex_unlock probe: account the release here */
	if (ls->cfg.mutex_probes)
		released(ls, t, m, e->hdr.ts);
	t->in_cond = true;
	t->cond_blocked = false;
	t->cond = e->cond;
	t->cond_mutex = e->mutex;
	t->cond_start = e->hdr.ts;
	t->cond_nr_frames = 0;
}

static void on_cond_ret(struct lockstats *ls, struct tstate *t,
			const struct gs_cond_event *e)
{
	struct lock_stats *c, *m;
	uint64_t wait;

	if (!t->in_cond)
		return;	/* the wait began before the trace */
	t->in_cond = false;
	c = lock_get(ls, t->cond);
	m = lock_get(ls, t->cond_mutex);
	if (!c || !m)
		return;
	wait = e->hdr.ts > t->cond_start ? e->hdr.ts - t->cond_start : 0;
	c->acquisitions++;
	if (t->cond_blocked)
		c->contended++;
	samples__add(&c->wait, wait);
	keep_span(ls, t->st.tid, c->addr, t->cond_start, e->hdr.ts, false);
	t->st.cond_wait_ns += wait;
	lockstats__add_caller(c, t->cond_frames, t->cond_nr_frames, 1, wait);
	/* and it re-acquired the mutex before returning */
	if (ls->cfg.mutex_probes)
		acquired(t, m, e->hdr.ts);
}

void lockstats__event(struct lockstats *ls, const struct gs_event_hdr *e, size_t size)
{
	struct tstate *t;
	struct lock_stats *l;

	(void)size;	/* evsort checked it against the type */
	t = thread_get(ls, e->tid);
	if (!t)
		return;
	if (!t->st.first_ts)
		t->st.first_ts = e->ts;
	t->st.last_ts = e->ts;

	if (e->type == GS_EV_FUTEX_WAIT) {
		on_futex_wait(ls, t, (const struct gs_futex_wait_event *)e);
		return;
	}
	/* anything else the thread does ends its wait episode */
	finish_episode(ls, t);
	resolve_pending(ls, t);

	switch (e->type) {
	case GS_EV_FUTEX_WAKE: {
		const struct gs_futex_event *f = (const void *)e;

		l = lock_get(ls, f->uaddr);
		if (l)
			l->wakes++;
		break;
	}
	case GS_EV_MUTEX_LOCK: {
		const struct gs_lock_event *k = (const void *)e;

		l = lock_get(ls, k->addr);
		if (l)
			l->seen_mutex = true;
		t->pend = true;
		t->pend_addr = k->addr;
		t->pend_ts = e->ts;
		break;
	}
	case GS_EV_MUTEX_UNLOCK: {
		const struct gs_lock_event *k = (const void *)e;

		l = lock_get(ls, k->addr);
		if (l) {
			l->seen_mutex = true;
			released(ls, t, l, e->ts);
		}
		break;
	}
	case GS_EV_COND_WAIT:
		on_cond_wait(ls, t, (const struct gs_cond_event *)e);
		break;
	case GS_EV_COND_WAIT_RET:
		on_cond_ret(ls, t, (const struct gs_cond_event *)e);
		break;
	case GS_EV_THREAD_EXIT:
		t->st.exited = true;
		names__set_thread(ls->names, e->tid,
				  ((const struct gs_thread_event *)e)->comm);
		break;
	case GS_EV_THREAD_RENAME:
		names__set_thread(ls->names, e->tid,
				  ((const struct gs_thread_event *)e)->comm);
		break;
	default:
		break;
	}
}

static bool owners_are_threads(struct lockstats *ls, const struct lock_stats *l)
{
	if (!l->nr_owners)
		return false;
	for (int i = 0; i < l->nr_owners; i++)
		if (!u64map__get(&ls->threads, l->owners[i]))
			return false;
	return true;
}

static int cmp_lock(const void *a, const void *b)
{
	const struct lock_stats *x = *(struct lock_stats *const *)a;
	const struct lock_stats *y = *(struct lock_stats *const *)b;

	if (x->wait.total != y->wait.total)
		return x->wait.total < y->wait.total ? 1 : -1;
	if (x->acquisitions != y->acquisitions)
		return x->acquisitions < y->acquisitions ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct thread_stats *x = *(struct thread_stats *const *)a;
	const struct thread_stats *y = *(struct thread_stats *const *)b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void lockstats__finish(struct lockstats *ls, uint64_t end_ts)
{
	uint64_t k;
	void *v;
	size_t n = 0;

	for (size_t i = 0; u64map__next(&ls->threads, &i, &k, &v);) {
		struct tstate *t = v;

		finish_episode(ls, t);
		resolve_pending(ls, t);
		(void)end_ts;	/* holds still open at the end are not counted:
				 * their length is not known */
	}
	free(ls->lock_arr);
	ls->lock_arr = calloc(ls->locks.nr ? ls->locks.nr : 1, sizeof(*ls->lock_arr));
	for (size_t i = 0; ls->lock_arr && u64map__next(&ls->locks, &i, &k, &v);) {
		struct lock_stats *l = v;

		/* What we know beats what we infer: a condvar or mutex
		 * seen through its pthread call; else a futex waited on
		 * with glibc's "locked, with waiters" value 2 whose word at
		 * +8 named threads of the target is a pthread mutex. */
		if (l->seen_cond)
			l->kind = LOCK_CONDVAR;
		else if (l->seen_mutex ||
			 (l->val2_waits && !l->other_waits && owners_are_threads(ls, l)))
			l->kind = LOCK_MUTEX;
		else
			l->kind = LOCK_FUTEX;
		l->acquisitions_known = l->kind == LOCK_CONDVAR ||
			(l->kind == LOCK_MUTEX && ls->cfg.mutex_probes);
		l->hold_known = l->kind == LOCK_MUTEX && ls->cfg.mutex_probes;
		/* a lock only ever released (held since before the trace) or
		 * only woken is not worth a row */
		if (!l->contended && !l->acquisitions)
			continue;
		ls->lock_arr[n++] = l;
		lockstats__sort_callers(l);
	}
	if (ls->lock_arr)
		qsort(ls->lock_arr, n, sizeof(*ls->lock_arr), cmp_lock);
	ls->locks_sorted = n;

	free(ls->thread_arr);
	ls->thread_arr = calloc(ls->threads.nr ? ls->threads.nr : 1, sizeof(*ls->thread_arr));
	n = 0;
	for (size_t i = 0; ls->thread_arr && u64map__next(&ls->threads, &i, &k, &v);)
		ls->thread_arr[n++] = &((struct tstate *)v)->st;
	if (ls->thread_arr)
		qsort(ls->thread_arr, n, sizeof(*ls->thread_arr), cmp_thread);
	ls->threads_sorted = n;
}

static int cmp_caller(const void *a, const void *b)
{
	const struct lock_caller *x = a, *y = b;

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns < y->wait_ns ? 1 : -1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void lockstats__sort_callers(struct lock_stats *l)
{
	if (l->nr_callers > 1)
		qsort(l->callers, l->nr_callers, sizeof(*l->callers), cmp_caller);
}

size_t lockstats__locks(struct lockstats *ls, struct lock_stats ***out)
{
	*out = ls->lock_arr;
	return ls->lock_arr ? ls->locks_sorted : 0;
}

size_t lockstats__threads(struct lockstats *ls, struct thread_stats ***out)
{
	*out = ls->thread_arr;
	return ls->thread_arr ? ls->threads_sorted : 0;
}
