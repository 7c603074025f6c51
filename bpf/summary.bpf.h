/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --summary: the analysis of user/lockstats.c and user/gilstats.c, run
 * here, in the probes, on each thread's own events as they happen.  The
 * figures stay in maps (gilscope.h's struct gs_sum_*); nothing goes to
 * the ring buffer, so the hottest targets pay the probes and a few map
 * updates, and no collector competes with them for the CPU.
 *
 * The state machines are the user-space ones, step for step, so that a
 * summary and a streamed trace of the same run print the same tables
 * (percentiles aside: histograms here, every sample there).  Where they
 * differ, lockstats.c / gilstats.c are the reference.
 *
 * Included by gilscope.bpf.c only: it uses that file's maps and helpers.
 */
#ifndef SUMMARY_BPF_H
#define SUMMARY_BPF_H

#define GS_ETIMEDOUT	110	/* the kernel's, as pthread_cond_timedwait returns it */

enum { SUM_IDLE = 0, SUM_WAITING = 1, SUM_HOLDING = 2 };

/* User space sets the traced window (CLOCK_MONOTONIC ns): events outside
 * it are not counted, as the streamed analysis drops them. */
__u64 sum_from_ts = ~0ULL;
__u64 sum_until_ts = ~0ULL;

/* Zeroed values to create map entries from (too big for the stack). */
struct gs_hist sum_zero_hist;
struct gs_sum_lock sum_zero_lock;
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
	__type(value, struct gs_sum_lock);
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
	__type(value, struct gs_sum_gil);
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

static __always_inline struct gs_sum_lock *sum_lock(__u64 addr)
{
	return sum_get(&sum_locks, &addr, &sum_zero_lock);
}

/* A thread's entry, its first and last event noted. */
static __always_inline struct gs_sum_thread *sum_thread(__u32 tid, __u64 ts)
{
	struct gs_sum_thread *t = sum_get(&sum_threads, &tid, &sum_zero_thread);

	if (!t)
		return NULL;
	if (!t->first_ts)
		t->first_ts = ts;
	t->last_ts = ts;
	count(GS_CNT_SUM_EVENTS);
	return t;
}

/* The call site of a wait that starts now: its stack id, and the stack
 * words stackfix.c needs, kept from the first wait seen there. */
static __always_inline __s32 sum_wait_site(void *ctx, __u64 addr)
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

static __always_inline void sum_caller_add(__u64 addr, __s32 stackid, __u64 wait)
{
	struct gs_sum_caller_key key = { .addr = addr, .stackid = stackid };
	struct gs_sum_caller *c = sum_get(&sum_callers, &key, &sum_zero_caller);

	if (!c)
		return;
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->wait_ns, wait);
}

/* ---- locks: lockstats.c ---- */

static __always_inline void sum_acquired(struct gs_sum_thread *t, __u64 addr, __u64 ts)
{
	struct gs_sum_lock *l = sum_lock(addr);
	__u32 n = t->nr_held;

	if (l)
		__sync_fetch_and_add(&l->acquisitions, 1);
	if (n < GS_SUM_MAX_HELD) {
		t->held_addr[n] = addr;
		t->held_since[n] = ts;
		t->nr_held = n + 1;
	}
}

static __noinline void sum_released(struct gs_sum_thread *t, __u64 addr, __u64 ts)
{
	struct gs_sum_lock *l;
	__u32 last;

	if (!t)
		return;
	for (int i = GS_SUM_MAX_HELD - 1; i >= 0; i--) {
		__u64 hold;

		if (i >= t->nr_held || t->held_addr[i] != addr)
			continue;
		hold = ts > t->held_since[i] ? ts - t->held_since[i] : 0;
		sum_hist_add(GS_H_LOCK_HOLD, addr, hold);
		t->lock_hold_ns += hold;
		last = t->nr_held - 1;
		if (last < GS_SUM_MAX_HELD) {
			t->held_addr[i] = t->held_addr[last];
			t->held_since[i] = t->held_since[last];
			t->nr_held = last;
		}
		return;
	}
	l = sum_lock(addr);
	if (l)
		__sync_fetch_and_add(&l->unmatched_unlocks, 1);
}

static __always_inline void sum_note_owner(struct gs_sum_lock *l, __u32 owner)
{
	if (!owner)
		return;
	for (int i = 0; i < GS_SUM_OWNERS; i++) {
		if (l->owners[i] == owner)
			return;
		if (!l->owners[i]) {
			l->owners[i] = owner;
			return;
		}
	}
}

/* The thread got the lock it was waiting for: account the episode. */
static __noinline void sum_finish_episode(struct gs_sum_thread *t)
{
	struct gs_sum_lock *l;
	__u64 start, wait;

	if (!t || !t->ep_open)
		return;
	t->ep_open = 0;
	l = sum_lock(t->ep_addr);
	if (!l)
		return;
	start = t->ep_start;
	/* with the lock uprobe, the wait starts at the call, not the syscall */
	if (t->pend && t->pend_addr == t->ep_addr && t->pend_ts < start)
		start = t->pend_ts;
	wait = t->ep_end > start ? t->ep_end - start : 0;
	__sync_fetch_and_add(&l->contended, 1);
	sum_hist_add(GS_H_LOCK_WAIT, t->ep_addr, wait);
	t->lock_wait_ns += wait;
	if (t->ep_val == 2)
		__sync_fetch_and_add(&l->val2_waits, 1);
	else
		__sync_fetch_and_add(&l->other_waits, 1);
	sum_note_owner(l, t->ep_owner);
	sum_caller_add(t->ep_addr, t->ep_stackid, wait);
	if (t->pend && t->pend_addr == t->ep_addr) {
		t->pend = 0;
		sum_acquired(t, t->ep_addr, t->ep_end);
	}
}

/* A pthread_mutex_lock call not followed by a futex wait got the lock at once. */
static __noinline void sum_resolve_pending(struct gs_sum_thread *t)
{
	if (!t || !t->pend)
		return;
	t->pend = 0;
	sum_acquired(t, t->pend_addr, t->pend_ts);
}

/* Anything a thread does but wait on the same futex ends its episode. */
static __always_inline struct gs_sum_thread *sum_other_event(__u32 tid, __u64 ts)
{
	struct gs_sum_thread *t = sum_thread(tid, ts);

	sum_finish_episode(t);
	sum_resolve_pending(t);
	return t;
}

/* ---- the GIL: gilstats.c ---- */

static __always_inline struct gs_sum_gil *sum_gil_of(__u64 id)
{
	__u32 tgid = id >> 32;

	return bpf_map_lookup_elem(&sum_gils, &tgid);
}

/* First GIL event of a thread: it has not wanted the GIL since then
 * (threads alive at attach were entered by user space from the start). */
static __always_inline void sum_gil_touch(struct gs_sum_thread *t, __u64 ts)
{
	if (!t->gil_first_ts) {
		t->gil_first_ts = ts;
		t->gil_since = ts;
	}
	t->gil_last_ts = ts;
}

/* Leaves the current GIL state at @ts, accounting the span it closes. */
static __always_inline void sum_gil_leave(struct gs_sum_thread *t, __u64 ts)
{
	__u64 len = ts > t->gil_since ? ts - t->gil_since : 0;

	if (t->gil_state == SUM_HOLDING) {
		t->gil_held_ns += len;
	} else if (t->gil_state == SUM_WAITING) {
		t->gil_waited_ns += len;
	} else {
		t->idle_len = len;
		t->had_idle = 1;
	}
	t->gil_since = ts;
}

static __always_inline void sum_gil_start_waiting(struct gs_sum_thread *t, __u64 ts)
{
	sum_gil_touch(t, ts);
	if (t->gil_state != SUM_IDLE)
		return;
	sum_gil_leave(t, ts);
	t->gil_state = SUM_WAITING;
}

static __noinline void sum_gil_acquired(struct gs_sum_thread *t, struct gs_sum_gil *g,
					__u32 tid, __u64 ts, const struct gs_gil_config *gc)
{
	__u64 wait = 0, sn = ~0ULL, holder = 0;

	if (!t || !g)
		return;
	bpf_probe_read_user(&sn, sizeof(sn), (void *)gc->switch_number);
	bpf_probe_read_user(&holder, sizeof(holder), (void *)gc->last_holder);
	sum_gil_touch(t, ts);
	t->gil_in_cond = 0;
	if (t->gil_state == SUM_WAITING)
		wait = ts > t->gil_since ? ts - t->gil_since : 0;
	if (t->gil_state == SUM_IDLE)
		sum_gil_leave(t, ts);
	/* the convoy: see gilstats.c's on_acquired */
	if (t->had_idle && !t->last_drop_forced) {
		t->short_releases++;
		if (wait * 2 >= g->interval_ns && wait * 4 >= t->idle_len) {
			t->convoy_waits++;
			t->convoy_lost_ns += wait;
		}
	}
	t->had_idle = 0;
	sum_gil_leave(t, ts);
	t->gil_state = SUM_HOLDING;
	t->drop_requested = 0;
	t->gil_acquisitions++;
	sum_hist_add(GS_H_GIL_WAIT, tid, wait);
	g->acquisitions++;

	if (sn != ~0ULL) {
		if (!g->sn_seen) {
			g->first_sn = sn;
			g->sn_seen = 1;
		} else {
			__u64 expect = holder != g->last_holder;
			__u64 delta = sn - g->last_sn;

			g->switches += expect;
			if (expect && !g->first_switch_ts)
				g->first_switch_ts = ts;
			if (delta > expect)
				g->sn_gaps += delta - expect;
		}
		g->last_sn = sn;
		g->last_holder = holder;
	}
	if (g->release_pending) {
		__u64 lat = ts > g->last_release_ts ? ts - g->last_release_ts : 0;

		sum_hist_add(GS_H_HANDOFF, (__u64)g->last_release_tid << 32 | tid, lat);
		sum_hist_add(GS_H_HANDOFF_ALL, 0, lat);
		g->release_pending = 0;
	}
	g->holder = tid;
}

static __noinline void sum_gil_released(struct gs_sum_thread *t, struct gs_sum_gil *g,
					__u32 tid, __u64 ts)
{
	if (!t || !g)
		return;
	sum_gil_touch(t, ts);
	if (t->gil_state == SUM_HOLDING) {
		sum_hist_add(GS_H_GIL_HOLD, tid, ts > t->gil_since ? ts - t->gil_since : 0);
		if (t->drop_requested)
			t->forced_drops++;
		else
			t->voluntary_drops++;
		t->last_drop_forced = t->drop_requested;
	} else if (t->gil_state == SUM_IDLE && !g->acquisitions) {
		/* held since before the trace: the part we saw, no sample */
		t->gil_state = SUM_HOLDING;
		t->gil_since = sum_from_ts;
		if (t->drop_requested)
			t->forced_drops++;
		else
			t->voluntary_drops++;
	}
	sum_gil_leave(t, ts);
	t->gil_state = SUM_IDLE;
	t->had_idle = 0;
	if (g->holder == tid)
		g->holder = 0;
	g->last_release_tid = tid;
	g->last_release_ts = ts;
	g->release_pending = 1;
}

/* ---- the probes' entry points ---- */

/* A futex call returned; @c is its entry record. */
static __noinline void sum_futex(void *ctx, __u32 tid, const struct futex_call *c,
				 bool wait, __u64 end_ts)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct gs_sum_thread *t;
	struct gs_gil_config *gc;
	struct gs_sum_lock *l;
	__u32 tgid = id >> 32;

	if (!sum_in_window(c->ts))
		return;
	if (!wait) {
		t = sum_other_event(tid, c->ts);
		l = t ? sum_lock(c->uaddr) : NULL;
		if (l)
			__sync_fetch_and_add(&l->wakes, 1);
		return;
	}
	t = sum_thread(tid, c->ts);
	if (!t)
		return;
	/* blocked on the GIL's mutex on the way in: waiting for the GIL */
	gc = bpf_map_lookup_elem(&gils, &tgid);
	if (gc && gc->mutex == c->uaddr && sum_gil_of(id))
		sum_gil_start_waiting(t, c->ts);
	if (t->in_cond && c->uaddr != t->cond_mutex) {
		/* the condvar's own futex: the cond wait blocked */
		if (!t->cond_blocked)
			t->cond_stackid = sum_wait_site(ctx, t->cond);
		t->cond_blocked = 1;
		return;
	}
	if (t->ep_open && t->ep_addr == c->uaddr) {
		t->ep_end = end_ts;
		return;
	}
	sum_finish_episode(t);
	if (t->pend && t->pend_addr != c->uaddr)
		sum_resolve_pending(t);
	t->ep_open = 1;
	t->ep_addr = c->uaddr;
	t->ep_start = c->ts;
	t->ep_end = end_ts;
	t->ep_val = c->val;
	t->ep_owner = c->owner_tid;
	t->ep_stackid = sum_wait_site(ctx, c->uaddr);
}

static __always_inline void sum_mutex(__u32 tid, __u64 addr, bool lock)
{
	__u64 ts = bpf_ktime_get_ns();
	struct gs_sum_thread *t;
	struct gs_sum_lock *l;

	if (!sum_in_window(ts))
		return;
	t = sum_other_event(tid, ts);
	if (!t)
		return;
	l = sum_lock(addr);
	if (l)
		l->seen_mutex = 1;
	if (lock) {
		t->pend = 1;
		t->pend_addr = addr;
		t->pend_ts = ts;
	} else {
		sum_released(t, addr, ts);
	}
}

static __noinline void sum_cond_wait(__u32 tid, __u64 cond, __u64 mutex)
{
	__u64 id = bpf_get_current_pid_tgid(), ts = bpf_ktime_get_ns();
	struct gs_sum_lock *c, *m;
	struct gs_gil_config *gc;
	struct gs_sum_thread *t;
	__u32 tgid = id >> 32;

	if (!sum_in_window(ts))
		return;
	t = sum_other_event(tid, ts);
	if (!t)
		return;
	c = sum_lock(cond);
	m = sum_lock(mutex);
	if (c)
		c->seen_cond = 1;
	if (m)
		m->seen_mutex = 1;
	/* pthread_cond_wait releases the mutex past our unlock probe */
	if (mutex_events)
		sum_released(t, mutex, ts);
	t->in_cond = 1;
	t->cond_blocked = 0;
	t->cond = cond;
	t->cond_mutex = mutex;
	t->cond_start = ts;
	t->cond_stackid = -1;
	gc = bpf_map_lookup_elem(&gils, &tgid);
	if (gc && gc->cond == cond && sum_gil_of(id)) {
		sum_gil_start_waiting(t, ts);
		t->gil_in_cond = 1;
		t->gil_cond_since = ts;
	}
}

static __noinline void sum_cond_ret(__u32 tid, __s32 ret)
{
	__u64 id = bpf_get_current_pid_tgid(), ts = bpf_ktime_get_ns(), wait;
	struct gs_sum_thread *t, *h;
	struct gs_sum_lock *c;
	struct gs_sum_gil *g;
	__u32 holder;

	if (!sum_in_window(ts))
		return;
	t = sum_other_event(tid, ts);
	if (!t)
		return;
	if (t->in_cond) {
		t->in_cond = 0;
		wait = ts > t->cond_start ? ts - t->cond_start : 0;
		c = sum_lock(t->cond);
		if (c) {
			__sync_fetch_and_add(&c->acquisitions, 1);
			if (t->cond_blocked)
				__sync_fetch_and_add(&c->contended, 1);
		}
		sum_hist_add(GS_H_LOCK_WAIT, t->cond, wait);
		t->cond_wait_ns += wait;
		sum_caller_add(t->cond, t->cond_stackid, wait);
		/* and it re-acquired the mutex before returning */
		if (mutex_events)
			sum_acquired(t, t->cond_mutex, ts);
	}
	if (!t->gil_in_cond)
		return;
	t->gil_in_cond = 0;
	sum_gil_touch(t, ts);
	/* take_gil's timed wait expired while the same holder kept the GIL:
	 * the holder's next release is a forced switch */
	g = sum_gil_of(id);
	if (ret != GS_ETIMEDOUT || !g || !g->holder)
		return;
	holder = g->holder;
	h = bpf_map_lookup_elem(&sum_threads, &holder);
	if (h && h->gil_state == SUM_HOLDING && h->gil_since <= t->gil_cond_since)
		h->drop_requested = 1;
}

static __always_inline void sum_gil_event(__u32 tid, struct gs_gil_config *gc, __u32 locked)
{
	__u64 id = bpf_get_current_pid_tgid(), ts = bpf_ktime_get_ns();
	struct gs_sum_thread *t;
	struct gs_sum_gil *g;

	if (!sum_in_window(ts))
		return;
	t = sum_other_event(tid, ts);
	g = sum_gil_of(id);
	if (!locked) {
		sum_gil_released(t, g, tid, ts);
		return;
	}
	sum_gil_acquired(t, g, tid, ts, gc);
}

static __always_inline void sum_thread_event(__u32 tid, const char *comm, bool exited)
{
	__u64 ts = bpf_ktime_get_ns();
	struct gs_sum_thread *t;

	if (!sum_in_window(ts))
		return;
	/* a sibling renaming it (through /proc) must not touch the state
	 * its own CPU is updating: only the name */
	if (tid != (__u32)bpf_get_current_pid_tgid())
		t = sum_get(&sum_threads, &tid, &sum_zero_thread);
	else
		t = sum_other_event(tid, ts);
	if (!t)
		return;
	bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), comm);
	t->named = 1;
	if (!exited)
		return;
	t->exited = 1;
	if (t->gil_first_ts) {
		sum_gil_leave(t, ts);
		t->gil_state = SUM_IDLE;
		t->gil_last_ts = ts;
	}
}

#endif /* SUMMARY_BPF_H */
