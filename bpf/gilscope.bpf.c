// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gilscope's BPF side: futex syscall tracepoints (the slow path of every
 * contended lock), uprobes on pthread condvar calls (pthread_cond_signal
 * on an interpreter's GIL condvars: its takes and drops) and, with
 * --locks=all, on pthread mutex calls, and thread lifetime tracepoints.
 *
 * Everything is filtered by the target's tgid here, so other processes pay
 * only the tracepoint's own cost.  Records go to one ring buffer; a full
 * ring buffer is counted per CPU in "counters", never silent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "gilscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile bool capture_stacks = true;
/* --locks=all: every pthread_mutex_lock/unlock is an event */
const volatile bool mutex_events = false;
/* --summary: analyse here, into maps (summary.bpf.h); stream nothing */
const volatile bool summary = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* resized by user space */
} events SEC(".maps");

/* The traced processes (tgids); filled by user space before attach. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* The GIL of each traced interpreter process, by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct gs_gil_config);
} gils SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The futex calls in flight, by tid: the stack is taken at entry, the
 * record written at the exit; what is left at the stop are waits that
 * never returned (user/inflight.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* threads inside futex() at once */
	__type(key, __u32);
	__type(value, struct gs_futex_call);
} futex_calls SEC(".maps");

/* Scratch space: a gs_futex_call is too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gs_futex_call);
} scratch SEC(".maps");

/* Where each traced CPython keeps its frames (tgid -> config). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GS_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct gs_py_config);
} pys SEC(".maps");

/* Each thread's PyThreadState (tid -> address), learnt at its GIL takes:
 * last_holder is then the taker's own. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} py_tstates SEC(".maps");

/* A PyMutex waiter inside _PySemaphore_Wait (tid -> the mutex, when):
 * its futex waits there, on a semaphore on its own stack, are for that
 * mutex - but for the GIL's, as it lets the GIL go on the way. */
struct gs_py_park {
	__u64 addr, ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gs_py_park);
} py_parks SEC(".maps");


/* Threads inside CPython's garbage collector (tid -> 1), between the
 * USDT probes python:gc__start and gc__done of builds that have them
 * (Debian's): a stack caught then is marked GS_PY_IN_GC. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} py_gc SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		(*v)++;
}

/*
 * Set by user space when tracing stops: from then on every program does
 * nothing, at once, while the kernel takes its time (a grace period a
 * probe, long on a busy machine) to remove the probes.
 */
bool stopped = false;

/* Returns the tid when the current task belongs to the target, else 0. */
static __always_inline __u32 target_tid(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (stopped || !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	return (__u32)id;
}

static __always_inline void *reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		count(GS_CNT_LOST);
	return e;
}

/*
 * Waking the collector for every record costs the traced thread an
 * irq_work and a wake-up, several microseconds: far more than the probe.
 * So the collector is woken at most every 5 ms, or when the buffer is a
 * quarter full; it still sees records within milliseconds, while the
 * target's files can still be read to name what they point at.
 */
__u64 last_wakeup_ns = 0;

static __always_inline void submit(void *e)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
	__u64 now = bpf_ktime_get_ns();

	if (avail > size / 4 || now - last_wakeup_ns > 5000000) {
		last_wakeup_ns = now;
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	} else {
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	}
}

#define GS_PY_READ(dst, len, addr) bpf_probe_read_user((dst), (len), (void *)(addr))
#include "py_walk.h"

#include "summary.bpf.h"

/*
 * A Python stack caught by the current thread: @of_tid's (its own or the
 * GIL holder's), walked from @tstate (0: not known, an empty stack that
 * says so).  @ts is the time of the
 * event it belongs to (the futex call's entry, for a lock wait), so that
 * user space joins the two exactly.
 */
static __noinline void emit_py_stack(__u32 kind, __u32 of_tid, __u64 tstate, __u64 addr,
				     __u64 ts)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_py_stack_event *e;
	struct gs_py_config *c;

	c = bpf_map_lookup_elem(&pys, &tgid);
	if (!c || !c->depth)
		return;
	if (summary) {
		sum_py_stack(c, kind, of_tid, tstate, ts);
		return;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return;
	__builtin_memset(e->frames, 0, sizeof(e->frames));
	__builtin_memset(e->self, 0, sizeof(e->self));
	e->hdr.type = GS_EV_PY_STACK;
	e->hdr.tid = tid;
	e->hdr.ts = ts;
	e->kind = kind;
	e->of_tid = of_tid;
	e->addr = addr;
	e->tstate = tstate;
	e->flags = tstate ? 0 : GS_PY_NO_TSTATE;
	if (bpf_map_lookup_elem(&py_gc, &of_tid))
		e->flags |= GS_PY_IN_GC;
	e->nr_frames = tstate ? gs_py_walk(c, tstate, e->frames, e->self, &e->flags) : 0;
	submit(e);
}

/* The calling thread's PyThreadState, as its last GIL take left it. */
static __always_inline __u64 py_tstate_of(__u32 tid)
{
	__u64 *ts = bpf_map_lookup_elem(&py_tstates, &tid);

	return ts ? *ts : 0;
}

static __always_inline void fill_hdr(struct gs_event_hdr *h, __u32 type,
				     __u32 tid, __u64 ts)
{
	h->type = type;
	h->tid = tid;
	h->ts = ts;
}

static __always_inline bool is_wake_cmd(__u32 cmd)
{
	return cmd == GS_FUTEX_WAKE || cmd == GS_FUTEX_WAKE_BITSET ||
	       cmd == GS_FUTEX_WAKE_OP || cmd == GS_FUTEX_UNLOCK_PI ||
	       cmd == GS_FUTEX_REQUEUE || cmd == GS_FUTEX_CMP_REQUEUE ||
	       cmd == GS_FUTEX_CMP_REQUEUE_PI;
}

/* Is @uaddr inside the current process's GIL struct? */
static __always_inline bool is_gil_futex(__u64 uaddr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gs_gil_config *g = bpf_map_lookup_elem(&gils, &tgid);

	return g && uaddr >= g->gil_lo && uaddr < g->gil_hi;
}

/* A thread of a traced CPython starts a futex wait: its Python stack,
 * unless the futex is the GIL's own (those waits are the GIL's). */
static __always_inline void py_lock_wait(__u32 tid, __u64 uaddr, __u64 ts)
{
	if (is_gil_futex(uaddr))
		return;
	emit_py_stack(GS_PY_LOCK_WAIT, tid, py_tstate_of(tid), uaddr, ts);
}

SEC("tracepoint/syscalls/sys_enter_futex")
int futex_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = target_tid(), zero = 0, cmd;
	struct gs_futex_call *c;
	long n;

	if (!tid)
		return 0;
	cmd = (__u32)ctx->args[1] & GS_FUTEX_CMD_MASK;
	if (!gs_futex_is_wait(cmd) && !is_wake_cmd(cmd))
		return 0;
	c = bpf_map_lookup_elem(&scratch, &zero);
	if (!c)
		return 0;
	c->ts = bpf_ktime_get_ns();
	c->uaddr = ctx->args[0];
	c->op = (__u32)ctx->args[1];
	c->val = (__u32)ctx->args[2];
	c->owner_tid = 0;
	c->nr_frames = 0;
	c->nr_stack = 0;
	c->sp = 0;
	if (gs_futex_is_wait(cmd)) {
		struct gs_py_park *park = bpf_map_lookup_elem(&py_parks, &tid);

		/* a PyMutex wait: the lock is the mutex, not the semaphore
		 * (whose +8 is no owner) */
		if (park && !is_gil_futex(c->uaddr))
			c->uaddr = park->addr;
		/* glibc's pthread_mutex_t: __lock at 0, __owner at 8 */
		if (c->uaddr == ctx->args[0])
			bpf_probe_read_user(&c->owner_tid, sizeof(c->owner_tid),
					    (void *)(c->uaddr + 8));
		/* a summary takes its stack id at the exit */
		if (capture_stacks && !summary) {
			n = bpf_get_stack(ctx, c->frames, sizeof(c->frames),
					  BPF_F_USER_STACK);
			if (n > 0)
				c->nr_frames = n / sizeof(__u64);
			else
				count(GS_CNT_STACK_ERR);
			c->sp = PT_REGS_SP((struct pt_regs *)bpf_task_pt_regs(
				(struct task_struct *)bpf_get_current_task_btf()));
			if (!bpf_probe_read_user(c->stack, sizeof(c->stack), (void *)c->sp))
				c->nr_stack = GS_STACK_WORDS;
		}
		if (capture_stacks)
			py_lock_wait(tid, c->uaddr, c->ts);
	}
	bpf_map_update_elem(&futex_calls, &tid, c, BPF_ANY);
	return 0;
}

static __always_inline void fill_futex(struct gs_futex_event *f, __u32 type,
				       __u32 tid, const struct gs_futex_call *c,
				       long ret)
{
	fill_hdr(&f->hdr, type, tid, c->ts);
	f->end_ts = bpf_ktime_get_ns();
	f->uaddr = c->uaddr;
	f->op = c->op;
	f->val = c->val;
	f->ret = (__s32)ret;
	f->owner_tid = c->owner_tid;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int futex_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = target_tid();
	struct gs_futex_call *c;

	if (!tid)
		return 0;
	c = bpf_map_lookup_elem(&futex_calls, &tid);
	if (!c)
		return 0;
	if (summary) {
		sum_futex(ctx, tid, c, gs_futex_is_wait(c->op & GS_FUTEX_CMD_MASK),
			  bpf_ktime_get_ns());
		bpf_map_delete_elem(&futex_calls, &tid);
		return 0;
	}
	/* two reservations: the verifier wants a constant size each */
	if (gs_futex_is_wait(c->op & GS_FUTEX_CMD_MASK)) {
		struct gs_futex_wait_event *w = reserve(sizeof(*w));

		if (w) {
			fill_futex(&w->f, GS_EV_FUTEX_WAIT, tid, c, ctx->ret);
			w->nr_frames = c->nr_frames;
			w->nr_stack = c->nr_stack;
			w->sp = c->sp;
			__builtin_memcpy(w->frames, c->frames, sizeof(w->frames));
			__builtin_memcpy(w->stack, c->stack, sizeof(w->stack));
			submit(w);
		}
	} else {
		struct gs_futex_event *f = reserve(sizeof(*f));

		if (f) {
			fill_futex(f, GS_EV_FUTEX_WAKE, tid, c, ctx->ret);
			submit(f);
		}
	}
	bpf_map_delete_elem(&futex_calls, &tid);
	return 0;
}

/*
 * The return address sits at sp + cookie: user space places each uprobe on
 * an instruction the kernel emulates, which may come after a few pushes,
 * and passes how far the stack moved as the attach cookie.
 */
static __always_inline __u64 caller_of(struct pt_regs *ctx)
{
	__u64 ra = 0;

	bpf_probe_read_user(&ra, sizeof(ra),
			    (void *)(PT_REGS_SP(ctx) + bpf_get_attach_cookie(ctx)));
	return ra;
}

static __always_inline int emit_lock(struct pt_regs *ctx, __u32 tid,
				     __u32 type, __u64 addr)
{
	struct gs_lock_event *e;

	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, type, tid, bpf_ktime_get_ns());
	e->addr = addr;
	e->caller = caller_of(ctx);
	submit(e);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mutex_lock, void *mutex)
{
	__u32 tid = target_tid();

	if (!tid)
		return 0;
	if (summary) {
		sum_mutex(ctx, tid, (__u64)mutex, true);
		return 0;
	}
	return emit_lock(ctx, tid, GS_EV_MUTEX_LOCK, (__u64)mutex);
}

/*
 * The GIL's own transitions.  Under the GIL's mutex, CPython's take_gil()
 * sets locked = 1, bumps switch_number and signals switch_cond (FORCE_
 * SWITCHING, always on POSIX); drop_gil() sets locked = 0 and signals
 * cond.  So one probe on pthread_cond_signal, filtered on those two
 * condvars, sees every acquisition and release - inlined copies of
 * take_gil / drop_gil included - with the fields just written, and only
 * those: a probe on pthread_mutex_unlock would also be hit by every other
 * unlock in the process (the switch mutex's on each take, at least).
 */
/* @locked and @caller as cond_signal read them: one GIL transition. */
static __always_inline void emit_gil(__u32 tid, struct gs_gil_config *g,
				     __u32 locked, __u64 caller)
{
	struct gs_gil_event *e;

	e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, locked ? GS_EV_GIL_ACQUIRED : GS_EV_GIL_RELEASED,
		 tid, bpf_ktime_get_ns());
	e->mutex = g->mutex;
	e->switch_number = ~0ULL;
	bpf_probe_read_user(&e->switch_number, sizeof(e->switch_number),
			    (void *)g->switch_number);
	e->holder = 0;
	bpf_probe_read_user(&e->holder, sizeof(e->holder), (void *)g->last_holder);
	e->caller = caller;
	e->locked = locked;
	e->pad = 0;
	submit(e);
}

SEC("uprobe")
int BPF_KPROBE(cond_signal, void *cond)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_gil_config *g;

	__u64 caller;
	__u32 locked = 2;

	if (stopped)
		return 0;
	g = bpf_map_lookup_elem(&gils, &tgid);
	if (!g || (g->cond != (__u64)cond && g->switch_cond != (__u64)cond))
		return 0;
	caller = caller_of(ctx);
	if (caller >= g->libc_lo && caller < g->libc_hi)
		return 0;
	/* drop_gil signals cond with locked == 0, take_gil switch_cond with
	 * locked == 1; anything else is not a change of hands */
	bpf_probe_read_user(&locked, sizeof(locked), (void *)g->locked);
	if (locked != (g->switch_cond == (__u64)cond))
		return 0;
	if (summary)
		sum_gil_event(ctx, tid, g, locked);
	else
		emit_gil(tid, g, locked, caller);
	if (locked) {
		__u64 ts = 0;

		if (!bpf_probe_read_user(&ts, sizeof(ts), (void *)g->last_holder) && ts)
			bpf_map_update_elem(&py_tstates, &tid, &ts, BPF_ANY);
	}
	/* who holds it now, for the refcount watchpoints' "with the GIL?" */
	g->holder_tid = locked ? tid : 0;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(mutex_unlock, void *mutex)
{
	__u32 tid = target_tid();

	if (!tid || !mutex_events)
		return 0;
	if (summary)
		sum_mutex(ctx, tid, (__u64)mutex, false);
	else
		emit_lock(ctx, tid, GS_EV_MUTEX_UNLOCK, (__u64)mutex);
	return 0;
}

static __always_inline int emit_cond(void *ctx, __u32 type, __u64 cond, __u64 mutex,
				     __s32 ret)
{
	__u32 tid = target_tid();
	struct gs_cond_event *e;

	if (!tid)
		return 0;
	if (summary) {
		sum_cond(ctx, tid, type, cond, mutex, ret);
		return 0;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, type, tid, bpf_ktime_get_ns());
	e->cond = cond;
	e->mutex = mutex;
	e->ret = ret;
	e->pad = 0;
	submit(e);
	return 0;
}

/*
 * A thread starts (or, after a timed-out wait that asked the holder to
 * drop, resumes) waiting for the GIL: where it waits, and what the holder
 * runs meanwhile - the code that makes it wait.
 */
static __always_inline void py_gil_wait(__u64 cond)
{
	__u64 id = bpf_get_current_pid_tgid(), holder = 0, ts;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_gil_config *g;

	g = bpf_map_lookup_elem(&gils, &tgid);
	if (!g || g->cond != cond)
		return;
	ts = bpf_ktime_get_ns();
	emit_py_stack(GS_PY_GIL_WAIT, tid, py_tstate_of(tid), cond, ts);
	if (g->holder_tid && g->holder_tid != GS_HOLDER_UNKNOWN &&
	    (g->holder_stack_tid != g->holder_tid ||
	     ts - g->holder_stack_ts >= GS_HOLDER_STACK_EVERY_NS)) {
		g->holder_stack_tid = g->holder_tid;
		g->holder_stack_ts = ts;
		bpf_probe_read_user(&holder, sizeof(holder), (void *)g->last_holder);
		emit_py_stack(GS_PY_GIL_HOLDER, g->holder_tid, holder, cond, ts);
	}
}

SEC("uprobe")
int BPF_KPROBE(cond_wait, void *cond, void *mutex)
{
	if (!target_tid())
		return 0;
	py_gil_wait((__u64)cond);
	return emit_cond(ctx, GS_EV_COND_WAIT, (__u64)cond, (__u64)mutex, 0);
}

/*
 * CPython 3.13+: a PyMutex waiter about to sleep (threading.Lock from
 * 3.14).  It sleeps on a semaphore on its own stack, so the futex names
 * nothing: the PyMutex's address does.  The parking lot's inline copies
 * (LTO) all sleep through the exported _PySemaphore_Wait(sema, ...),
 * whose semaphore sits in the parking lot's struct wait_entry right
 * after the address parked on (Python/parking_lot.c, 3.13 - 3.15).
 */
#define GS_PARK_ADDR_BEFORE_SEMA	8

SEC("uprobe")
int BPF_KPROBE(py_park, void *sema)
{
	struct gs_py_park park = { 0, bpf_ktime_get_ns() };
	__u32 tid = target_tid();

	if (!tid || bpf_probe_read_user(&park.addr, sizeof(park.addr),
					(void *)sema - GS_PARK_ADDR_BEFORE_SEMA) || !park.addr)
		return 0;
	bpf_map_update_elem(&py_parks, &tid, &park, BPF_ANY);
	if (summary) {
		struct gs_py_stack_event *e;
		__u8 one = 1;

		/* a mutex first parked on: streamed (no frames), for user
		 * space to name its Python type while the object lives */
		if (bpf_map_update_elem(&sum_pymutexes, &park.addr, &one, BPF_NOEXIST) ||
		    !(e = reserve(sizeof(*e))))
			return 0;
		__builtin_memset(e, 0, sizeof(*e));
		e->hdr.type = GS_EV_PY_STACK;
		e->hdr.tid = tid;
		e->hdr.ts = park.ts;
		e->kind = GS_PY_PARK;
		e->of_tid = tid;
		e->addr = park.addr;
		e->flags = GS_PY_TO_NAME;
		submit(e);
	} else {
		emit_py_stack(GS_PY_PARK, tid, py_tstate_of(tid), park.addr, park.ts);
	}
	return 0;
}

SEC("usdt")
int BPF_USDT(gc_start)
{
	__u32 tid = target_tid();
	__u8 one = 1;

	if (tid)
		bpf_map_update_elem(&py_gc, &tid, &one, BPF_ANY);
	return 0;
}

SEC("usdt")
int BPF_USDT(gc_done)
{
	__u32 tid = target_tid();

	if (tid)
		bpf_map_delete_elem(&py_gc, &tid);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(py_park_ret)
{
	__u32 tid = target_tid();

	if (tid)
		bpf_map_delete_elem(&py_parks, &tid);
	return 0;
}

/*
 * Sampling (a software cpu-clock perf event per CPU): the GIL holder's
 * Python stack while it runs, which is what its held time is spent in.
 * Blocking points alone cannot say it: a hold ends wherever the holder
 * happens to be when it is asked to drop.
 */
SEC("perf_event")
int py_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), tstate = 0;
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_gil_config *g;

	if (stopped)
		return 0;
	g = bpf_map_lookup_elem(&gils, &tgid);
	if (!g || g->holder_tid != tid)
		return 0;
	bpf_probe_read_user(&tstate, sizeof(tstate), (void *)g->last_holder);
	emit_py_stack(GS_PY_SAMPLE, tid, tstate, 0, bpf_ktime_get_ns());
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(cond_wait_ret, int ret)
{
	return emit_cond(ctx, GS_EV_COND_WAIT_RET, 0, 0, ret);
}

static __always_inline int emit_thread(void *ctx, __u32 type, __u32 tid, const char *comm)
{
	struct gs_thread_event *e;

	if (summary) {
		sum_thread_event(ctx, tid, comm, type == GS_EV_THREAD_EXIT);
		return 0;
	}
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, type, tid, bpf_ktime_get_ns());
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm);
	submit(e);
	return 0;
}

/*
 * Code mapped by a target (mmap or mprotect with PROT_EXEC: a library
 * loaded, a JIT's code): counted at the call's exit, once the mapping is
 * there.  The collector re-reads /proc/PID/maps on an address it cannot
 * place only when this moved (symbolizer__watch_maps()).
 */
__u64 maps_gen = 0;

#define GS_PROT_EXEC	4

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} code_maps SEC(".maps");

static __always_inline int code_map_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = target_tid();
	__u8 one = 1;

	if (tid && (ctx->args[2] & GS_PROT_EXEC))
		bpf_map_update_elem(&code_maps, &tid, &one, BPF_ANY);
	return 0;
}

static __always_inline int code_map_exit(void)
{
	__u32 tid = target_tid();

	if (tid && !bpf_map_delete_elem(&code_maps, &tid))
		__sync_fetch_and_add(&maps_gen, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return code_map_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int mmap_exit(void *ctx)
{
	return code_map_exit();
}

SEC("tracepoint/syscalls/sys_enter_mprotect")
int mprotect_enter(struct trace_event_raw_sys_enter *ctx)
{
	return code_map_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_mprotect")
int mprotect_exit(void *ctx)
{
	return code_map_exit();
}

SEC("tracepoint/sched/sched_process_exit")
int thread_exit(void *ctx)
{
	__u32 tid = target_tid();
	char comm[GS_COMM_LEN];

	if (!tid)
		return 0;
	/* a thread that dies inside futex() (exit_group, a signal) never
	 * reaches the syscall's exit: its in-flight record must not stay */
	bpf_map_delete_elem(&futex_calls, &tid);
	bpf_get_current_comm(comm, sizeof(comm));
	return emit_thread(ctx, GS_EV_THREAD_EXIT, tid, comm);
}

SEC("tracepoint/task/task_rename")
int thread_rename(struct trace_event_raw_task_rename *ctx)
{
	/* a thread is renamed by itself or by a sibling (via /proc): both
	 * run in the target's thread group */
	if (!target_tid())
		return 0;
	return emit_thread(ctx, GS_EV_THREAD_RENAME, (__u32)ctx->pid, ctx->newcomm);
}

/*
 * The target exec'd: its old image is gone, and with it the GIL whose
 * addresses "gils" holds (the next read there would be of the new
 * image's memory): forget it now, in the exec itself.  Then hold the new
 * image before its first instruction (SIGSTOP to the thread group, taken
 * on the way back to user space) so that user space can find what it
 * runs and attach to it, as for `-- CMD` (user/exec_follow.c), and tell
 * user space at once (a forced wake-up: the target waits for it).  Held
 * only when the record could be written: user space lets it go on it.
 */
SEC("tracepoint/sched/sched_process_exec")
int process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct gs_exec_event *e;

	if (!target_tid())
		return 0;
	bpf_map_delete_elem(&gils, &tgid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		/* no record, no one to let it go: not held (counted lost) */
		count(GS_CNT_LOST);
		return 0;
	}
	bpf_send_signal(19 /* SIGSTOP */);
	fill_hdr(&e->hdr, GS_EV_EXEC, (__u32)bpf_get_current_pid_tgid(),
		 bpf_ktime_get_ns());
	e->old_tid = ctx->old_pid;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				  (void *)ctx + (ctx->__data_loc_filename & 0xffff));
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/*
 * `gilscope -- CMD`: a one-shot uprobe on the new program's entry point
 * stops it (SIGSTOP to its thread group) once the dynamic loader has
 * mapped its libraries, so user space can attach to them as it would to a
 * running process, then continue it.
 */
SEC("uprobe")
int stop_at_entry(struct pt_regs *ctx)
{
	if (target_tid())
		bpf_send_signal(19 /* SIGSTOP */);
	return 0;
}

/*
 * A hardware watchpoint (perf_event breakpoint, write) on a watched
 * reference count fired: the trap comes right after the writing
 * instruction, in the writing thread.  The perf events are per thread of
 * the target (inherited by the threads it creates), so no filter here.
 */
SEC("perf_event")
int refcount_write(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct gs_refcount_event *e;
	struct gs_gil_config *g;
	__u64 addr = ctx->addr;
	long n;

	if (stopped)
		return 0;
	e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, GS_EV_REFCOUNT_WRITE, tid, bpf_ktime_get_ns());
	e->addr = addr;
	e->value = 0;
	bpf_probe_read_user(&e->value, sizeof(e->value), (void *)addr);
	e->ip = PT_REGS_IP(&ctx->regs);
	g = bpf_map_lookup_elem(&gils, &tgid);
	if (!g) {
		e->gil = GS_GIL_UNKNOWN;
	} else if (g->holder_tid != GS_HOLDER_UNKNOWN) {
		e->gil = g->holder_tid == tid ? GS_GIL_HELD : GS_GIL_NOT_HELD;
	} else {
		/* no take or drop seen yet: if nobody holds it, neither do we */
		__u32 locked = 1;

		bpf_probe_read_user(&locked, sizeof(locked), (void *)g->locked);
		e->gil = locked ? GS_GIL_UNKNOWN : GS_GIL_NOT_HELD;
	}
	e->nr_frames = 0;
	__builtin_memset(e->frames, 0, sizeof(e->frames));
	if (capture_stacks) {
		n = bpf_get_stack(ctx, e->frames, sizeof(e->frames), BPF_F_USER_STACK);
		if (n > 0)
			e->nr_frames = n / sizeof(__u64);
		else
			count(GS_CNT_STACK_ERR);
	}
	submit(e);
	return 0;
}
