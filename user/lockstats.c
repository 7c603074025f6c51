// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "grow.h"
#include "lockstats.h"
#include "names.h"
#include "pykind.h"
#include "pystacks.h"
#include "u64map.h"

/*
 * Python objects' rows.  A threading.Condition's wait() sleeps on a lock
 * it allocates for that one wait (a new futex each time), a Queue's
 * get() in its Condition's, an Event's wait() in its own Condition's;
 * and before 3.13 a lock's futex is a semaphore that malloc hands to
 * another lock once the first is freed, so that one futex's row would
 * mix the waits of several Python objects.  Futex addresses do not name
 * these objects: their methods' `self` does.
 *
 * So a futex wait whose Python stack (caught at that very call) has,
 * among the innermost GS_PY_SELF_FRAMES frames, a method of threading.py
 * or queue.py that waits (pykind.h: the outermost such, Queue.get over
 * the Condition.wait it calls) whose first local BPF read, is counted in
 * the row keyed LOCK_PYOBJ | that self, whatever futex it slept on.  A
 * wait expecting glibc's "locked, with waiters" 2 is a pthread mutex's
 * (malloc's arena lock, taken by the allocation in wait()): never a
 * Python lock's, it stays on its futex.
 *
 * Each wait episode goes to exactly one row, so every row's waits and
 * wait time are exact sums of the futex waits it folds; only the
 * figures go there: the intervals kept for exports and the waits still
 * open at the end keep their futex.  Wakes of a futex go to the object
 * whose wait was caught on it last.  A futex wait of another object, or
 * after the thread took the GIL back (a Python wait is over once it
 * has), starts another episode even on the same address: glibc's
 * retries do neither.
 */

/* A thread: its row, its state machine's state, and the call sites of
 * the waits it has open (GS_SITE_EP, GS_SITE_COND). */
struct tstate {
	struct thread_stats st;
	struct gs_lock_tstate m;
	uint32_t nr_frames[2];
	uint64_t frames[2][GS_MAX_FRAMES];
	/* the Python stack of its latest futex wait (pystacks id) and that
	 * call's entry time (its record's hdr.ts, which joins them); each
	 * open site's own */
	int py_stack;
	uint64_t py_ts;
	int site_py[2];
	/* the Python object (row key) of that latest stack, 0: none; and of
	 * the open wait episode, until it is counted */
	uint64_t py_obj, ep_obj;
};

/* Per interned stack: the kinds of its innermost frames that are waits
 * of threading.py / queue.py on their `self` (pykind.h), NULL if not. */
struct py_obj_frames {
	bool known;
	const char *kind[GS_PY_SELF_FRAMES];
};

struct lockstats {
	struct lockstats_config cfg;
	struct names *names;
	struct pystacks *py;
	struct u64map locks;	/* addr -> struct lock_stats */
	struct u64map threads;	/* tid -> struct tstate */
	struct lock_stats **lock_arr;
	struct thread_stats **thread_arr;
	size_t locks_sorted, threads_sorted;
	struct lock_span *spans;
	size_t nr_spans, cap_spans;
	struct lock_open_wait *open;
	size_t nr_open, cap_open;
	struct u64map futex_obj;	/* futex -> its latest wait's object key */
	struct py_obj_frames *objf;	/* by pystacks id */
	size_t nr_objf;
};

static void keep_span(struct lockstats *ls, uint32_t tid, uint64_t addr,
		      uint64_t start, uint64_t end, bool hold)
{
	struct lock_span *sp;

	if (!ls->cfg.keep_spans || end < start)
		return;
	if (GROW_ARRAY(ls->spans, ls->cap_spans, ls->nr_spans + 1, 256))
		return;
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
	u64map__free(&ls->futex_obj);
	free(ls->objf);
	free(ls->lock_arr);
	free(ls->thread_arr);
	free(ls->spans);
	free(ls->open);
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
	t->py_stack = t->site_py[0] = t->site_py[1] = PY_STACK_NONE;
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

void lockstats__set_state(struct lockstats *ls, uint32_t tid, const struct gs_lock_tstate *s,
			  const uint64_t *ep_frames, uint32_t ep_nr_frames)
{
	struct tstate *t = thread_get(ls, tid);
	uint32_t nr = ep_nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : ep_nr_frames;

	if (!t)
		return;
	t->m = *s;
	t->nr_frames[GS_SITE_EP] = nr;
	if (nr)
		memcpy(t->frames[GS_SITE_EP], ep_frames, nr * sizeof(ep_frames[0]));
}

void lockstats__set_pystacks(struct lockstats *ls, struct pystacks *p)
{
	ls->py = p;
}

/* The kinds of stack @id's innermost frames (cached: the names of a
 * stack's frames do not change), or NULL. */
static const struct py_obj_frames *obj_frames(struct lockstats *ls, int id)
{
	const struct py_stack *s = pystacks__get(ls->py, id);
	const char *frames[GS_PY_FRAMES];
	struct py_obj_frames *o;

	if (!s)
		return NULL;
	if ((size_t)id >= ls->nr_objf) {
		size_t n = ls->nr_objf ? ls->nr_objf : 64;

		while (n <= (size_t)id)
			n *= 2;
		o = realloc(ls->objf, n * sizeof(*o));
		if (!o)
			return NULL;
		memset(o + ls->nr_objf, 0, (n - ls->nr_objf) * sizeof(*o));
		ls->objf = o;
		ls->nr_objf = n;
	}
	o = &ls->objf[id];
	if (o->known)
		return o;
	for (uint32_t i = 0; i < s->nr && i < GS_PY_SELF_FRAMES; i++) {
		frames[i] = names__pyframe(ls->names, s->f[i].code, s->f[i].instr);
		o->kind[i] = py_wait_self_kind(frames, i);
	}
	o->known = true;
	return o;
}

/*
 * The Python object a lock wait's stack @e (interned as @id) waits on:
 * its row's key, 0 for none.  The stack's frames are the walk's less the
 * entry frames (pystacks.c), e->self[] the walk's: kept frame k is the
 * walk's frame raw[k].  The row is made now, named by its kind.
 */
static uint64_t object_of(struct lockstats *ls, const struct gs_py_stack_event *e, int id)
{
	const struct py_obj_frames *o = obj_frames(ls, id);
	uint32_t raw[GS_PY_SELF_FRAMES], nr = 0;
	struct lock_stats *l;
	uint64_t key = 0;
	int k;

	if (!o)
		return 0;
	for (uint32_t i = 0; i < e->nr_frames && i < GS_PY_SELF_FRAMES; i++)
		if (e->frames[i].code && !(e->frames[i].instr & GS_PY_ENTRY_FRAME))
			raw[nr++] = i;
	/* the outermost of them whose self was read */
	for (k = (int)nr - 1; k >= 0 && !(o->kind[k] && e->self[raw[k]]); k--)
		;
	if (k < 0)
		return 0;
	key = LOCK_PYOBJ | e->self[raw[k]];
	l = lock_get(ls, key);
	if (l && !l->py_object) {
		l->py_object = e->self[raw[k]];
		l->py_kind = o->kind[k];
	}
	return key;
}

void lockstats__add_caller(struct lock_stats *l, const uint64_t *frames, uint32_t nr,
			   int py_stack, uint64_t count, uint64_t wait)
{
	struct lock_caller *c;

	if (nr > GS_MAX_FRAMES)
		nr = GS_MAX_FRAMES;
	for (size_t i = 0; i < l->nr_callers; i++) {
		c = &l->callers[i];
		if (c->nr_frames == nr && c->py_stack == py_stack &&
		    (!nr || !memcmp(c->frames, frames, nr * sizeof(*frames)))) {
			c->count += count;
			c->wait_ns += wait;
			return;
		}
	}
	if (GROW_ARRAY(l->callers, l->cap_callers, l->nr_callers + 1, 4))
		return;
	c = &l->callers[l->nr_callers++];
	memset(c, 0, sizeof(*c));
	if (nr)		/* no frames: @frames may be NULL */
		memcpy(c->frames, frames, nr * sizeof(*frames));
	c->nr_frames = nr;
	c->py_stack = py_stack;
	c->count = count;
	c->wait_ns = wait;
}

/* ---- the state machine's hooks (lock_machine.h), on this side ---- */

struct gs_env {
	struct lockstats *ls;
	struct tstate *t;
	const struct gs_event_hdr *rec;		/* the event stepped on */
};

#define GS_FN static
#define GS_ADD(p, v) (*(p) += (v))

/* The row a figure of @addr goes to: the open episode's object's (see
 * "Python objects' rows"), a woken futex's latest object's, else its own. */
static uint64_t row_key(struct gs_env *env, uint64_t addr)
{
	const struct gs_event_hdr *e = env->rec;
	void *obj;

	if (env->t->ep_obj && addr == env->t->m.ep_addr)
		return env->t->ep_obj;
	if (e && e->type == GS_EV_FUTEX_WAKE && ((const struct gs_futex_event *)e)->uaddr == addr &&
	    (obj = u64map__get(&env->ls->futex_obj, addr)))
		return (uint64_t)(uintptr_t)obj;
	return addr;
}

static struct gs_lock_figs *gs_lock_figs_of(struct gs_env *env, __u64 addr)
{
	struct lock_stats *l = lock_get(env->ls, row_key(env, addr));

	return l ? &l->fig : NULL;
}

static void gs_hist_add(struct gs_env *env, enum gs_hist_kind kind, __u64 id, __u64 v)
{
	struct lock_stats *l = lock_get(env->ls, row_key(env, id));

	if (l)
		samples__add(kind == GS_H_LOCK_HOLD ? &l->hold : &l->wait, v);
}

static void gs_lock_span(struct gs_env *env, __u64 addr, __u64 start, __u64 end, int hold)
{
	keep_span(env->ls, env->t->st.tid, addr, start, end, hold);
}

static void gs_site_take(struct gs_env *env, struct gs_lock_tstate *s, int which, __u64 addr)
{
	const struct gs_futex_wait_event *w = (const void *)env->rec;
	uint32_t nr = w->nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : w->nr_frames;
	bool own = env->t->py_ts == w->f.hdr.ts;

	(void)s;
	/* the Python stack caught at this very futex call's entry (a cond
	 * wait's site is its first futex wait's) */
	env->t->site_py[which] = own ? env->t->py_stack : PY_STACK_NONE;
	if (which == GS_SITE_EP) {
		/* a pthread mutex's wait (2) is no Python object's */
		env->t->ep_obj = own && w->f.val != 2 ? env->t->py_obj : 0;
		if (own && env->t->py_obj && w->f.val == 2)
			u64map__del(&env->ls->futex_obj, addr);
	}
	env->t->nr_frames[which] = nr;
	memcpy(env->t->frames[which], w->frames, nr * sizeof(w->frames[0]));
}

static void gs_site_clear(struct gs_env *env, struct gs_lock_tstate *s, int which)
{
	(void)s;
	env->t->nr_frames[which] = 0;
	env->t->site_py[which] = PY_STACK_NONE;
}

static void gs_site_add(struct gs_env *env, struct gs_lock_tstate *s, int which, __u64 addr,
			__u64 wait)
{
	struct lock_stats *l = lock_get(env->ls, row_key(env, addr));

	(void)s;
	if (l)
		lockstats__add_caller(l, env->t->frames[which], env->t->nr_frames[which],
				      env->t->site_py[which], 1, wait);
	env->t->site_py[which] = PY_STACK_NONE;
	/* the episode is counted: nothing more of it goes to its object */
	if (which == GS_SITE_EP)
		env->t->ep_obj = 0;
}

static void gs_lock_open_wait(struct gs_env *env, __u64 addr, __u64 start, int start_known)
{
	const struct gs_futex_wait_event *w = (const void *)env->rec;
	struct lockstats *ls = env->ls;
	struct gs_lock_tstate *s = &env->t->m;
	struct lock_open_wait *o;

	if (GROW_ARRAY(ls->open, ls->cap_open, ls->nr_open + 1, 16))
		return;
	o = &ls->open[ls->nr_open++];
	memset(o, 0, sizeof(*o));
	o->tid = env->t->st.tid;
	o->addr = addr;
	/* the futex word of a cond wait seen to begin: name the condvar */
	if (s->in_cond && addr != s->cond_mutex) {
		o->addr = s->cond;
		o->kind = LOCK_CONDVAR;
		if (s->cond_start < start)
			start = s->cond_start;
		start_known = 1;
	}
	o->start = start;
	o->end = w->f.end_ts;
	o->start_known = start_known;
	o->val = w->f.val;
	o->owner = w->f.owner_tid;
	o->nr_frames = w->nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : w->nr_frames;
	memcpy(o->frames, w->frames, o->nr_frames * sizeof(o->frames[0]));
}

size_t lockstats__open_waits(struct lockstats *ls, const struct lock_open_wait **out)
{
	*out = ls->open;
	return ls->nr_open;
}

static int gs_mutex_probes(struct gs_env *env)
{
	return env->ls->cfg.mutex_probes;
}

#include "lock_machine.h"

/* An event's comm: the kernel's is NUL-terminated, a recording's
 * (read back from a file anyone may have written) need not be. */
static void set_comm(struct lockstats *ls, __u32 tid, const char comm[GS_COMM_LEN])
{
	char name[GS_COMM_LEN + 1];

	memcpy(name, comm, GS_COMM_LEN);
	name[GS_COMM_LEN] = 0;
	names__set_thread(ls->names, tid, name);
}

/* A futex wait of another Python object than the thread's open episode
 * on the same address is another wait, not glibc's retry (whose stack
 * is the same): the episode ends first. */
static void py_wait_begins(struct gs_env *env, const struct gs_futex_wait_event *w)
{
	struct tstate *t = env->t;
	uint64_t obj = t->py_ts == w->f.hdr.ts && w->f.val != 2 ? t->py_obj : 0;

	if (t->m.ep_open && t->m.ep_addr == w->f.uaddr && obj != t->ep_obj)
		gs_lock_finish_episode(env, &t->st.fig, &t->m);
}

void lockstats__gil_taken(struct lockstats *ls, uint32_t tid)
{
	struct gs_env env = { .ls = ls };

	env.t = u64map__get(&ls->threads, tid);
	if (env.t && env.t->m.ep_open && env.t->ep_obj)
		gs_lock_finish_episode(&env, &env.t->st.fig, &env.t->m);
}

void lockstats__event(struct lockstats *ls, const struct gs_event_hdr *e,
		      const struct gs_step *step)
{
	struct gs_env env = { .ls = ls, .rec = e };

	env.t = thread_get(ls, e->tid);
	if (!env.t)
		return;
	if (e->type == GS_EV_PY_STACK) {
		const struct gs_py_stack_event *p = (const void *)e;

		if (ls->py && p->kind == GS_PY_LOCK_WAIT) {
			env.t->py_stack = pystacks__intern(ls->py, p);
			env.t->py_ts = p->hdr.ts;
			env.t->py_obj = object_of(ls, p, env.t->py_stack);
			/* its futex's wakes, which end before its wait does */
			if (env.t->py_obj)
				u64map__set(&ls->futex_obj, p->addr,
					    (void *)(uintptr_t)env.t->py_obj);
		}
		return;
	}
	if (e->type == GS_EV_FUTEX_WAIT)
		py_wait_begins(&env, (const struct gs_futex_wait_event *)e);
	gs_lock_step(&env, &env.t->st.fig, &env.t->m, step);
	if (e->type == GS_EV_THREAD_EXIT || e->type == GS_EV_THREAD_RENAME)
		set_comm(ls, e->tid, ((const struct gs_thread_event *)e)->comm);
	if (e->type == GS_EV_EXEC) {
		/* the thread that exec'd lives on under the new name; a
		 * non-leader's exec takes the leader's id, whose exit the
		 * exec itself reported */
		set_comm(ls, e->tid, ((const struct gs_exec_event *)e)->comm);
		env.t->st.fig.exited = 0;
	}
}

static bool owners_are_threads(struct lockstats *ls, const struct lock_stats *l)
{
	if (!l->owners[0])
		return false;
	for (int i = 0; i < GS_LOCK_OWNERS && l->owners[i]; i++)
		if (!u64map__get(&ls->threads, l->owners[i]))
			return false;
	return true;
}

static int cmp_open(const void *a, const void *b)
{
	const struct lock_open_wait *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* An open wait's lock kind, and its owner when that is a thread of the
 * target (what a deadlock is made of). */
static void finish_open_waits(struct lockstats *ls)
{
	for (size_t i = 0; i < ls->nr_open; i++) {
		struct lock_open_wait *o = &ls->open[i];
		const struct lock_stats *l = u64map__get(&ls->locks, o->addr);
		bool owner_known = o->owner && o->owner != o->tid &&
				   u64map__get(&ls->threads, o->owner);

		if (o->kind != LOCK_CONDVAR) {
			if (l && l->contended + l->acquisitions)
				o->kind = l->kind;
			else if (l && l->seen_mutex)
				o->kind = LOCK_MUTEX;
			else
				o->kind = o->val == 2 && owner_known ? LOCK_MUTEX : LOCK_FUTEX;
		}
		if (o->kind == LOCK_MUTEX && owner_known)
			o->owner_tid = o->owner;
	}
	if (ls->nr_open > 1)
		qsort(ls->open, ls->nr_open, sizeof(*ls->open), cmp_open);
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
		struct gs_env env = { .ls = ls, .t = v };

		gs_lock_close(&env, &env.t->st.fig, &env.t->m);
	}
	(void)end_ts;	/* holds still open at the end are not counted:
			 * their length is not known */
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
	finish_open_waits(ls);

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
