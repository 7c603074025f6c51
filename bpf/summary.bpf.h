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

/* User space sets the traced window (CLOCK_MONOTONIC ns): events outside
 * it are not counted, as the streamed analysis drops them. */
__u64 sum_from_ts = ~0ULL;
__u64 sum_until_ts = ~0ULL;

/* Zeroed values to create map entries from (too big for the stack). */
struct gs_hist sum_zero_hist;
struct gs_lock_figs sum_zero_lock;
struct gs_sum_caller sum_zero_caller;
struct gs_sum_thread sum_zero_thread;

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
static __noinline __s32 sum_wait_site(void *ctx, __u64 addr)
{
	struct gs_sum_caller_key key = { .addr = addr, .stackid = -1 };
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
	void *ctx;	/* the probe's: stack ids of call sites */
};

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
	__s32 id = sum_wait_site(env->ctx, addr);

	if (which == GS_SITE_EP)
		s->ep_site = id;
	else
		s->cond_site = id;
}

static __always_inline void gs_site_clear(struct gs_env *env, struct gs_lock_tstate *s,
					  int which)
{
	if (which == GS_SITE_EP)
		s->ep_site = -1;
	else
		s->cond_site = -1;
}

static __always_inline void gs_site_add(struct gs_env *env, struct gs_lock_tstate *s,
					int which, __u64 addr, __u64 wait)
{
	struct gs_sum_caller_key key = {
		.addr = addr, .stackid = which == GS_SITE_EP ? s->ep_site : s->cond_site,
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

/* One event of the current thread: both analyses step on it. */
static __noinline void sum_event(void *ctx, const struct gs_step *e)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, tid = e->tid;
	struct gs_env env = { .ctx = ctx };
	struct gs_gil_config *gc = NULL;
	struct gs_sum_thread *t;
	struct gs_gil_figs *g = NULL;

	if (!sum_in_window(e->ts))
		return;
	t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	if (!t)
		return;
	count(GS_CNT_SUM_EVENTS);
	/* the GIL's entry is made by user space, with the switch interval:
	 * none, no GIL analysis (and a mutex call never looks) */
	if (gs_gil_may_concern(e->type)) {
		gc = bpf_map_lookup_elem(&gils, &tgid);
		g = gc ? bpf_map_lookup_elem(&sum_gils, &tgid) : NULL;
	}
	gs_sum_step(&env, t, g, gc ? gc->mutex : 0, gc ? gc->cond : 0, e);
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
	t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	if (!t)
		return;
	bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	t->named = 1;
}

#endif /* SUMMARY_BPF_H */
