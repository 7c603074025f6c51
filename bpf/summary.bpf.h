/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --summary: the lock and GIL analyses run here, in the probes, on each
 * thread's own events as they happen.  The state machines are the ones
 * the collector runs (lock_machine.h, gil_machine.h: one copy, compiled
 * for both sides); this file is their BPF side: the maps the figures and
 * state live in, and the hooks that store into them.  Nothing goes to
 * the ring buffer, so the hottest targets pay the probes and a few map
 * updates, and no collector competes with them for the CPU.
 *
 * Durations go into log-linear histograms (gilscope.h), not samples:
 * counts, totals and maxima are exact, percentiles within 3.1%.
 *
 * Included by gilscope.bpf.c only: it uses that file's maps and helpers.
 */
#ifndef SUMMARY_BPF_H
#define SUMMARY_BPF_H

#include "machine.h"
#include "py_walk.h"

/* User space sets the traced window (CLOCK_MONOTONIC ns): events outside
 * it are not counted, as the streamed analysis drops them. */
__u64 sum_from_ts = ~0ULL;
__u64 sum_until_ts = ~0ULL;

/* Zeroed values to create map entries from (too big for the stack). */
struct gs_hist sum_zero_hist;
struct gs_lock_figs sum_zero_lock;
struct gs_sum_caller sum_zero_caller;
struct gs_sum_thread sum_zero_thread;
struct gs_sum_py sum_zero_py;
struct gs_py_gil sum_zero_pygil;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, GS_MAX_FRAMES * sizeof(__u64));
} stacks SEC(".maps");

/* 5 KB an entry, allocated as used: two a lock or thread, one a handoff pair */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gs_hist_key);
	__type(value, struct gs_hist);
} sum_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gs_lock_figs);
} sum_locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gs_sum_caller_key);
	__type(value, struct gs_sum_caller);
} sum_callers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct gs_sum_thread);
} sum_threads SEC(".maps");

/* One per traced interpreter (key: tgid), created by user space with the
 * switch interval: no entry, no GIL analysis. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct gs_gil_figs);
} sum_gils SEC(".maps");

/* Python stacks, by a hash of their frames (an id user space names at
 * its ticks, while the target's code objects can be read): 560 bytes an
 * entry, allocated as used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gs_py_stack_event);
} sum_pystacks SEC(".maps");

/* The Python costs (py_machine.h): thread, kind, stack, holder. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct gs_sum_py_key);
	__type(value, struct gs_sum_py);
} sum_py SEC(".maps");

/* A stack being read (too big for the BPF stack), one per thread and
 * context: a per-CPU entry would not do, as a uprobe's program can be
 * preempted by another thread's, and the sampler (a timer interrupt)
 * can cut into the thread's own; key: tid, | 1 << 32 for the sampler.
 * Created at a thread's first stack, deleted at its exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct gs_py_stack_event);
} sum_py_scratch SEC(".maps");

struct gs_py_stack_event sum_zero_pystack;

/* The PyMutexes parked on (key: address), for user space to name their
 * Python type at its ticks, as the stream's GS_PY_PARK records do. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} sum_pymutexes SEC(".maps");

/* Each interpreter's GIL as the Python analysis sees it (key: tgid). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct gs_py_gil);
} sum_pygils SEC(".maps");

static __always_inline bool sum_in_window(__u64 ts)
{
	return ts >= sum_from_ts && ts <= sum_until_ts;
}

/* The entry for @key, created from @zero if missing; NULL (and counted)
 * when the map is full. */
static __always_inline void *sum_get(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);	/* may race: fine */
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		count(GS_CNT_SUM_FULL);
	return v;
}

static __noinline void sum_hist_add(__u32 kind, __u64 id, __u64 v)
{
	struct gs_hist_key key = { .id = id, .kind = kind };
	struct gs_hist *h = sum_get(&sum_hists, &key, &sum_zero_hist);
	__u32 slot = gs_hist_slot(v);

	if (!h)
		return;
	if (slot >= GS_HIST_SLOTS)
		slot = GS_HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->total, v);
	/* another CPU may raise it between our read and our write */
	for (int i = 0; i < 4; i++) {
		__u64 m = h->max;

		if (v <= m || __sync_val_compare_and_swap(&h->max, m, v) == m)
			break;
	}
}

/* The call site of a wait that starts now: its stack id, and the stack
 * words stackfix.c needs, kept from the first wait seen there. */
static __noinline __s32 sum_wait_site(void *ctx, __u64 addr, __u64 py)
{
	struct gs_sum_caller_key key = { .addr = addr, .stackid = -1, .py = py };
	struct gs_sum_caller *c;
	__u64 sp;

	if (!capture_stacks)
		return -1;
	key.stackid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (key.stackid < 0) {
		count(GS_CNT_STACK_ERR);
		return -1;
	}
	c = sum_get(&sum_callers, &key, &sum_zero_caller);
	if (c && !c->nr_stack) {
		sp = PT_REGS_SP((struct pt_regs *)bpf_task_pt_regs(
			(struct task_struct *)bpf_get_current_task_btf()));
		if (!bpf_probe_read_user(c->stack, sizeof(c->stack), (void *)sp)) {
			c->sp = sp;
			c->nr_stack = GS_STACK_WORDS;
		}
	}
	return key.stackid;
}

/* ---- the state machines' hooks (machine.h), on this side ---- */

struct gs_env {
	void *ctx;			/* the probe's: stack ids of call sites */
	struct gs_sum_thread *t;	/* the thread stepping, and its event */
	const struct gs_step *e;
};

static __always_inline void gs_py_add(struct gs_env *env, __u32 tid, int which, __u64 stack,
				      __u32 holder, __u64 ns, __u64 count)
{
	struct gs_sum_py_key key = {
		.stack = stack, .tid = tid, .holder = holder, .which = which,
	};
	struct gs_sum_py *v = sum_get(&sum_py, &key, &sum_zero_py);

	if (!v)
		return;
	__sync_fetch_and_add(&v->ns, ns);
	__sync_fetch_and_add(&v->count, count);
}

#include "py_machine.h"

#define GS_FN static __noinline
/* other CPUs' threads update the same lock's entry */
#define GS_ADD(p, v) __sync_fetch_and_add((p), (v))

static __always_inline struct gs_lock_figs *gs_lock_figs_of(struct gs_env *env, __u64 addr)
{
	return sum_get(&sum_locks, &addr, &sum_zero_lock);
}

static __always_inline void gs_hist_add(struct gs_env *env, __u32 kind, __u64 id, __u64 v)
{
	sum_hist_add(kind, id, v);
}

/* the timeline's spans are for exports of recordings, not summaries */
static __always_inline void gs_lock_span(struct gs_env *env, __u64 addr, __u64 start,
					 __u64 end, int hold)
{
}

static __always_inline void gs_gil_span(struct gs_env *env, struct gs_gil_thread_figs *f,
					int state, __u64 start, __u64 end)
{
}

static __always_inline void gs_site_take(struct gs_env *env, struct gs_lock_tstate *s,
					 int which, __u64 addr)
{
	/* the Python stack caught at this very futex call's entry (a cond
	 * wait's site is its first futex wait's) */
	__u64 py = env->t->py.lock_ts == env->e->ts ? env->t->py.lock_stack : GS_PY_NO_STACK;
	__s32 id = sum_wait_site(env->ctx, addr, py);

	if (which == GS_SITE_EP) {
		s->ep_site = id;
		s->ep_py = py;
	} else {
		s->cond_site = id;
		s->cond_py = py;
	}
}

static __always_inline void gs_site_clear(struct gs_env *env, struct gs_lock_tstate *s,
					  int which)
{
	if (which == GS_SITE_EP) {
		s->ep_site = -1;
		s->ep_py = GS_PY_NO_STACK;
	} else {
		s->cond_site = -1;
		s->cond_py = GS_PY_NO_STACK;
	}
}

static __always_inline void gs_site_add(struct gs_env *env, struct gs_lock_tstate *s,
					int which, __u64 addr, __u64 wait)
{
	struct gs_sum_caller_key key = {
		.addr = addr, .stackid = which == GS_SITE_EP ? s->ep_site : s->cond_site,
		.py = which == GS_SITE_EP ? s->ep_py : s->cond_py,
	};
	struct gs_sum_caller *c = sum_get(&sum_callers, &key, &sum_zero_caller);

	if (!c)
		return;
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->wait_ns, wait);
}

/* open waits are found by user space at the stop, never here */
static __always_inline void gs_lock_open_wait(struct gs_env *env, __u64 addr, __u64 start,
					      int start_known)
{
}

static __always_inline int gs_mutex_probes(struct gs_env *env)
{
	return mutex_events;
}

static __always_inline void gs_gil_handoff(struct gs_env *env, __u32 from, __u32 to,
					   __u64 released, __u64 taken)
{
	__u64 lat = taken > released ? taken - released : 0;

	sum_hist_add(GS_H_HANDOFF, (__u64)from << 32 | to, lat);
	sum_hist_add(GS_H_HANDOFF_ALL, 0, lat);
}

static __always_inline struct gs_gil_tstate *gs_gil_tstate_of(struct gs_env *env, __u32 tid)
{
	struct gs_sum_thread *t = bpf_map_lookup_elem(&sum_threads, &tid);

	return t ? &t->gs : NULL;
}

#include "summary_step.h"

/* ---- the probes' entry points ---- */

/* The Python analysis's share of an event (py_machine.h), for
 * interpreters whose stacks are read (an entry in "pys"). */
static __always_inline void sum_py_event(struct gs_env *env, struct gs_sum_thread *t,
					 __u32 tgid, const struct gs_step *e)
{
	struct gs_py_gil *pg;

	switch (e->type) {
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED:
		if (!bpf_map_lookup_elem(&pys, &tgid))
			return;
		pg = sum_get(&sum_pygils, &tgid, &sum_zero_pygil);
		if (!pg)
			return;
		if (e->type == GS_EV_GIL_ACQUIRED)
			gs_py_gil_taken(env, &t->py, pg, e->tid, e->ts);
		else
			gs_py_gil_dropped(pg, e->tid, e->ts);
		break;
	case GS_EV_FUTEX_WAIT:
		gs_py_futex_wait(env, &t->py, e->tid, e->ts, e->end_ts);
		break;
	case GS_EV_THREAD_EXIT:
		gs_py_thread_gone(env, &t->py, e->tid, e->ts);
		break;
	default:
		break;
	}
}

/* The id of the frames in @s: a hash, never GS_PY_NO_STACK; the stack is
 * kept under it by the first thread that reads it. */
static __always_inline __u64 sum_py_hash(const struct gs_py_stack_event *s)
{
	__u64 h = 1469598103934665603ULL ^ (s->flags & GS_PY_IN_GC) ^ (__u64)s->nr_frames << 8;

	for (int i = 0; i < GS_PY_FRAMES; i++) {
		h = (h ^ s->frames[i].code) * 1099511628211ULL;
		h = (h ^ s->frames[i].instr) * 1099511628211ULL;
	}
	return h == GS_PY_NO_STACK ? h - 1 : h;
}

/* A stack first kept: streamed, so that user space names its frames
 * within milliseconds, as the stream's are, not after the target has
 * gone (its code objects with it).  Few: each stack once. */
static __always_inline void sum_py_new(const struct gs_py_stack_event *s, __u64 stack)
{
	struct gs_py_stack_event *e = reserve(sizeof(*e));

	if (!e)
		return;
	__builtin_memcpy(e, s, sizeof(*e));
	e->kind = GS_PY_NEW;
	e->addr = stack;
	e->flags |= GS_PY_TO_NAME;
	submit(e);
}

/*
 * --summary's emit_py_stack(): the stack walked (into the thread's own
 * scratch entry: a shared one was seen overwritten mid-walk, frames
 * that named nothing), kept by its hash, and given to the Python
 * analysis.  A wait's later timed waits are not walked again: the
 * analysis keeps the first's.
 */
static __noinline void sum_py_stack(const struct gs_py_config *c, __u32 kind, __u32 of_tid,
				    __u64 tstate, __u64 ts)
{
	__u64 id = bpf_get_current_pid_tgid(), stack = GS_PY_NO_STACK, sk;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_env env = { 0 };
	struct gs_py_stack_event *s;
	struct gs_sum_thread *t;
	struct gs_py_gil *pg;

	if (kind == GS_PY_PARK || !sum_in_window(ts))
		return;
	t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	pg = sum_get(&sum_pygils, &tgid, &sum_zero_pygil);
	if (!t || !pg)
		return;
	sk = tid | (__u64)(kind == GS_PY_SAMPLE) << 32;
	s = kind == GS_PY_GIL_WAIT && t->py.waiting ? NULL
		: sum_get(&sum_py_scratch, &sk, &sum_zero_pystack);
	if (s) {
		__builtin_memset(s->frames, 0, sizeof(s->frames));
		s->flags = tstate ? 0 : GS_PY_NO_TSTATE;
		if (bpf_map_lookup_elem(&py_gc, &of_tid))
			s->flags |= GS_PY_IN_GC;
		s->nr_frames = tstate ? gs_py_walk(c, tstate, s->frames, s->self, &s->flags) : 0;
		/* a summary's lock table is by futex: the objects are not
		 * part of a stack it keeps (one object's would stand for all) */
		__builtin_memset(s->self, 0, sizeof(s->self));
		count(GS_CNT_PY_STACKS);
		if (s->flags & GS_PY_NO_TSTATE)
			count(GS_CNT_PY_NO_TSTATE);
		if (s->flags & GS_PY_READ_ERR)
			count(GS_CNT_PY_READ_ERR);
		if (s->flags & GS_PY_TRUNCATED)
			count(GS_CNT_PY_TRUNCATED);
		if (s->nr_frames || (s->flags & GS_PY_IN_GC)) {
			stack = sum_py_hash(s);
			s->hdr.type = GS_EV_PY_STACK;
			s->hdr.tid = tid;
			s->hdr.ts = ts;
			s->kind = kind;
			s->of_tid = of_tid;
			s->addr = 0;
			s->tstate = tstate;
			if (!bpf_map_update_elem(&sum_pystacks, &stack, s, BPF_NOEXIST))
				sum_py_new(s, stack);
			else if (!bpf_map_lookup_elem(&sum_pystacks, &stack)) {
				count(GS_CNT_SUM_FULL);
				stack = GS_PY_NO_STACK;
			}
		}
	}
	env.t = t;
	gs_py_stack(&env, &t->py, pg, tid, kind, of_tid, stack, ts);
}

/* One event of the current thread: both analyses step on it. */
static __noinline void sum_event(void *ctx, const struct gs_step *e)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, tid = e->tid;
	struct gs_env env = { .ctx = ctx, .e = e };
	struct gs_gil_config *gc = NULL;
	struct gs_sum_thread *t;
	struct gs_gil_figs *g = NULL;

	if (!sum_in_window(e->ts))
		return;
	t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	if (!t)
		return;
	env.t = t;
	count(GS_CNT_SUM_EVENTS);
	/* the GIL's entry is made by user space, with the switch interval:
	 * none, no GIL analysis (and a mutex call never looks) */
	if (gs_gil_may_concern(e->type)) {
		gc = bpf_map_lookup_elem(&gils, &tgid);
		g = gc ? bpf_map_lookup_elem(&sum_gils, &tgid) : NULL;
	}
	gs_sum_step(&env, t, g, gc ? gc->mutex : 0, gc ? gc->cond : 0, e);
	sum_py_event(&env, t, tgid, e);
}

/* A futex call returned; @c is its entry record. */
static __always_inline void sum_futex(void *ctx, __u32 tid, const struct gs_futex_call *c,
				      bool wait, __u64 end_ts)
{
	struct gs_step e = {
		.type = wait ? GS_EV_FUTEX_WAIT : GS_EV_FUTEX_WAKE, .tid = tid,
		.ts = c->ts, .end_ts = end_ts, .addr = c->uaddr,
		.val = c->val, .owner = c->owner_tid,
	};

	sum_event(ctx, &e);
}

static __always_inline void sum_mutex(void *ctx, __u32 tid, __u64 addr, bool lock)
{
	struct gs_step e = {
		.type = lock ? GS_EV_MUTEX_LOCK : GS_EV_MUTEX_UNLOCK, .tid = tid,
		.ts = bpf_ktime_get_ns(), .addr = addr,
	};

	sum_event(ctx, &e);
}

static __always_inline void sum_cond(void *ctx, __u32 tid, __u32 type, __u64 cond,
				     __u64 mutex, __s32 ret)
{
	struct gs_step e = {
		.type = type, .tid = tid, .ts = bpf_ktime_get_ns(),
		.addr = cond, .mutex = mutex, .ret = ret,
	};

	sum_event(ctx, &e);
}

static __always_inline void sum_gil_event(void *ctx, __u32 tid, struct gs_gil_config *gc,
					  __u32 locked)
{
	struct gs_step e = {
		.type = locked ? GS_EV_GIL_ACQUIRED : GS_EV_GIL_RELEASED, .tid = tid,
		.ts = bpf_ktime_get_ns(), .addr = gc->mutex, .sn = ~0ULL,
	};

	if (locked) {
		bpf_probe_read_user(&e.sn, sizeof(e.sn), (void *)gc->switch_number);
		bpf_probe_read_user(&e.holder, sizeof(e.holder), (void *)gc->last_holder);
	}
	sum_event(ctx, &e);
}

static __always_inline void sum_thread_event(void *ctx, __u32 tid, const char *comm,
					     bool exited)
{
	struct gs_step e = {
		.type = exited ? GS_EV_THREAD_EXIT : GS_EV_THREAD_RENAME, .tid = tid,
		.ts = bpf_ktime_get_ns(),
	};
	struct gs_sum_thread *t;

	if (!sum_in_window(e.ts))
		return;
	/* a sibling renaming it (through /proc) must not touch the state
	 * its own CPU is updating: only the name */
	if (tid == (__u32)bpf_get_current_pid_tgid())
		sum_event(ctx, &e);
	if (exited) {
		__u64 sk = tid;

		bpf_map_delete_elem(&sum_py_scratch, &sk);
		sk |= 1ULL << 32;
		bpf_map_delete_elem(&sum_py_scratch, &sk);
	}
	t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	if (!t)
		return;
	bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	t->named = 1;
}

#endif /* SUMMARY_BPF_H */
