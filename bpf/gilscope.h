/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event model of gilscope, shared by the BPF programs and the
 * user-space collector, analysis and trace files.
 *
 * Every record starts with struct gs_event_hdr.  Record types and their
 * layouts are persisted in .gst trace files: they are append-only, with
 * explicit values and fixed-width fields.  No libc includes here.
 */
#ifndef GILSCOPE_H
#define GILSCOPE_H

#define GS_COMM_LEN	16
#define GS_MAX_FRAMES	24	/* user stack frames kept per wait event */
#define GS_MAX_TARGETS	64	/* processes traced at once */
#define GS_STACK_WORDS	64	/* raw stack words kept per wait (512 bytes) */
#define GS_MAX_WATCH	4	/* watched objects: x86 has 4 debug registers */
#define GS_REF_FRAMES	8	/* user stack frames kept per refcount write */

enum gs_event_type {
	/* a futex wait syscall (FUTEX_WAIT*, FUTEX_LOCK_PI*) returned */
	GS_EV_FUTEX_WAIT	= 1,
	/* a futex wake syscall (FUTEX_WAKE*, FUTEX_UNLOCK_PI, ...) returned */
	GS_EV_FUTEX_WAKE	= 2,
	/* pthread_mutex_lock / unlock was called (uprobes, --locks=all) */
	GS_EV_MUTEX_LOCK	= 3,
	GS_EV_MUTEX_UNLOCK	= 4,
	/* pthread_cond_{wait,timedwait,clockwait} entered / returned */
	GS_EV_COND_WAIT		= 5,
	GS_EV_COND_WAIT_RET	= 6,
	/* a thread of the target exited (its last name rides along) */
	GS_EV_THREAD_EXIT	= 7,
	/* a thread of the target renamed itself (prctl/pthread_setname_np) */
	GS_EV_THREAD_RENAME	= 8,
	/* the GIL changed hands: take_gil signalled switch_cond with
	 * locked == 1 (acquired), drop_gil signalled cond with locked == 0
	 * (released); both under the GIL's mutex */
	GS_EV_GIL_ACQUIRED	= 9,
	GS_EV_GIL_RELEASED	= 10,
	/* a watched reference count was written (hardware watchpoint) */
	GS_EV_REFCOUNT_WRITE	= 11,
	GS_EV_TYPE_MAX,
};

/* futex(2) commands, after masking FUTEX_PRIVATE_FLAG/FUTEX_CLOCK_REALTIME */
#define GS_FUTEX_CMD_MASK	(~(128 | 256))
#define GS_FUTEX_WAIT		0
#define GS_FUTEX_WAKE		1
#define GS_FUTEX_REQUEUE	3
#define GS_FUTEX_CMP_REQUEUE	4
#define GS_FUTEX_WAKE_OP	5
#define GS_FUTEX_LOCK_PI	6
#define GS_FUTEX_UNLOCK_PI	7
#define GS_FUTEX_TRYLOCK_PI	8
#define GS_FUTEX_WAIT_BITSET	9
#define GS_FUTEX_WAKE_BITSET	10
#define GS_FUTEX_WAIT_REQUEUE_PI 11
#define GS_FUTEX_CMP_REQUEUE_PI	12
#define GS_FUTEX_LOCK_PI2	13

struct gs_event_hdr {
	__u32 type;		/* enum gs_event_type */
	__u32 tid;		/* kernel pid of the thread */
	__u64 ts;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns), ns */
};

/*
 * GS_EV_FUTEX_WAKE, and the head of GS_EV_FUTEX_WAIT.  hdr.ts is the
 * syscall entry, end_ts its exit.  For waits, owner_tid is the 32-bit word
 * at uaddr+8 read at entry: glibc keeps a pthread_mutex_t's owner tid
 * there, so a waiter on a mutex names the holder.  For other futexes it
 * is noise and the analysis only trusts it when it names a thread of the
 * target.
 */
struct gs_futex_event {
	struct gs_event_hdr hdr;
	__u64 end_ts;
	__u64 uaddr;
	__u32 op;		/* futex_op with flags */
	__u32 val;		/* expected value (wait) / count (wake) */
	__s32 ret;		/* syscall return: 0, -errno, or threads woken */
	__u32 owner_tid;
};

/*
 * GS_EV_FUTEX_WAIT: the waiter's user stack by frame pointers, plus the
 * first words of its stack from sp: glibc is built without frame
 * pointers, so the frame-pointer walk skips the direct caller of
 * pthread_mutex_lock; user space recovers it from these words.
 */
struct gs_futex_wait_event {
	struct gs_futex_event f;
	__u32 nr_frames;
	__u32 nr_stack;		/* words valid in stack[] */
	__u64 sp;
	__u64 frames[GS_MAX_FRAMES];	/* innermost first */
	__u64 stack[GS_STACK_WORDS];
};

/* GS_EV_MUTEX_LOCK / GS_EV_MUTEX_UNLOCK */
struct gs_lock_event {
	struct gs_event_hdr hdr;
	__u64 addr;		/* the mutex */
	__u64 caller;		/* return address of the pthread call */
};

/*
 * GS_EV_GIL_ACQUIRED / GS_EV_GIL_RELEASED: the GIL's fields, read in BPF
 * at the pthread_cond_signal that take_gil / drop_gil call with the GIL's
 * mutex held, while they cannot change under us.
 */
struct gs_gil_event {
	struct gs_event_hdr hdr;
	__u64 mutex;		/* the GIL's mutex: which GIL */
	__u64 switch_number;	/* after this acquisition */
	__u64 holder;		/* last_holder (the PyThreadState) */
	__u64 caller;		/* return address of pthread_cond_signal */
	__u32 locked;
	__u32 pad;
};

/* Where a traced process keeps its GIL's fields (key: tgid), from a GIL
 * profile (user/gil_profile.c). */
struct gs_gil_config {
	__u64 mutex;
	__u64 locked;
	__u64 switch_number;
	__u64 last_holder;
	__u64 cond;		/* drop_gil signals it with locked == 0 */
	__u64 switch_cond;	/* take_gil signals it with locked == 1 */
	/* libc's code: a signal called from there is glibc's own (a condvar
	 * waiter passing on a wake-up it may have stolen), not the GIL's */
	__u64 libc_lo, libc_hi;
	/* kept by BPF: the thread whose take of the GIL was seen last, 0
	 * after a release; GS_HOLDER_UNKNOWN until the first of either */
	__u32 holder_tid;
	__u32 pad;
};

#define GS_HOLDER_UNKNOWN	0xffffffffu

enum gs_gil_state {
	GS_GIL_UNKNOWN = 0,	/* no GIL tracked, or no take/drop seen yet */
	GS_GIL_HELD = 1,	/* the writing thread held the GIL */
	GS_GIL_NOT_HELD = 2,
};

/*
 * A write to a watched word (an object's reference count).  The debug
 * trap fires right after the writing instruction; @value is read in the
 * trap handler, so another CPU's write can land in between (ordering by
 * time makes the last one right, see refstats.c).
 */
struct gs_refcount_event {
	struct gs_event_hdr hdr;
	__u64 addr;		/* the watched word */
	__u64 value;		/* its value just after the write */
	__u64 ip;		/* the instruction after the writing one */
	__u32 gil;		/* enum gs_gil_state at the write */
	__u32 nr_frames;
	__u64 frames[GS_REF_FRAMES];	/* user stack, innermost first */
};

/* GS_EV_COND_WAIT: cond and mutex are the call's arguments.
 * GS_EV_COND_WAIT_RET: ret is the call's return (0, ETIMEDOUT, ...). */
struct gs_cond_event {
	struct gs_event_hdr hdr;
	__u64 cond;
	__u64 mutex;
	__s32 ret;
	__u32 pad;
};

/* GS_EV_THREAD_EXIT / GS_EV_THREAD_RENAME */
struct gs_thread_event {
	struct gs_event_hdr hdr;
	char comm[GS_COMM_LEN];
};

/*
 * --summary: the analysis runs in BPF and keeps its figures in maps;
 * nothing is streamed.  The maps' keys and values are below; user space
 * reads them once, after detaching, into the same tables the event
 * stream fills (user/summary.c).
 *
 * Durations go into log-linear histograms: values below GS_HIST_SUB
 * exactly, above that GS_HIST_SUB slots per power of two, so a slot's
 * width is at most 1/GS_HIST_SUB of its values and a percentile read as
 * the slot's midpoint is within 1/(2*GS_HIST_SUB) (3.1%) of the true
 * one.  Count, total and max are exact.
 */
#define GS_HIST_SUB_BITS	4
#define GS_HIST_SUB		(1 << GS_HIST_SUB_BITS)
#define GS_HIST_MAX_LOG2	42	/* 2^42 ns: 73 min; longer goes in the last slot */
#define GS_HIST_SLOTS		(GS_HIST_SUB + (GS_HIST_MAX_LOG2 - GS_HIST_SUB_BITS) * GS_HIST_SUB)

struct gs_hist {
	__u64 count, total, max;
	__u64 slots[GS_HIST_SLOTS];
};

enum gs_hist_kind {
	GS_H_LOCK_WAIT = 1,	/* id: lock address */
	GS_H_LOCK_HOLD = 2,	/* id: lock address (--locks=all) */
	GS_H_GIL_WAIT = 3,	/* id: tid; one sample per acquisition */
	GS_H_GIL_HOLD = 4,	/* id: tid */
	GS_H_HANDOFF = 5,	/* id: from tid << 32 | to tid */
	GS_H_HANDOFF_ALL = 6,	/* id: 0 */
};

struct gs_hist_key {
	__u64 id;
	__u32 kind;		/* enum gs_hist_kind */
	__u32 pad;
};

/* Which slot @v goes in; shared so user space reads slots as BPF fills them. */
static inline __u32 gs_hist_slot(__u64 v)
{
	__u32 e = 0;
	__u64 x = v;

	if (v < GS_HIST_SUB)
		return (__u32)v;
	/* floor(log2(v)) without clz: BPF has no such instruction */
	if (x >> 32) { e += 32; x >>= 32; }
	if (x >> 16) { e += 16; x >>= 16; }
	if (x >> 8) { e += 8; x >>= 8; }
	if (x >> 4) { e += 4; x >>= 4; }
	if (x >> 2) { e += 2; x >>= 2; }
	if (x >> 1) { e += 1; }
	if (e >= GS_HIST_MAX_LOG2)
		return GS_HIST_SLOTS - 1;
	return GS_HIST_SUB + (e - GS_HIST_SUB_BITS) * GS_HIST_SUB +
	       (__u32)((v >> (e - GS_HIST_SUB_BITS)) & (GS_HIST_SUB - 1));
}

#define GS_SUM_OWNERS	8

/* One lock (key: its address), as lockstats.h's struct lock_stats. */
struct gs_sum_lock {
	__u64 acquisitions, contended, wakes, unmatched_unlocks;
	__u64 val2_waits, other_waits;
	__u32 owners[GS_SUM_OWNERS];	/* futex word +8 of its waits (kind evidence) */
	__u8 seen_mutex, seen_cond;
	__u8 pad[6];
};

/* One wait site of one lock: its user stack (the "stacks" map's id, or
 * -1 for none) and, for the frame the walk loses in libc (stackfix.h),
 * the first stack words of the first wait seen there. */
struct gs_sum_caller_key {
	__u64 addr;
	__s32 stackid;
	__u32 pad;
};

struct gs_sum_caller {
	__u64 count, wait_ns;
	__u64 sp;
	__u32 nr_stack;
	__u32 pad;
	__u64 stack[GS_STACK_WORDS];
};

#define GS_SUM_MAX_HELD	16

/* One thread (key: tid): its lock figures and GIL figures, and the state
 * the BPF analysis keeps for it (the fields of lockstats.c's struct
 * tstate and gilstats.c's struct gil_tstate). */
struct gs_sum_thread {
	/* figures */
	__u64 lock_wait_ns, lock_hold_ns, cond_wait_ns;
	__u64 first_ts, last_ts;
	__u64 gil_held_ns, gil_waited_ns;
	__u64 gil_acquisitions, forced_drops, voluntary_drops;
	__u64 short_releases, convoy_waits, convoy_lost_ns;
	__u64 gil_first_ts, gil_last_ts;	/* 0: never touched the GIL */
	char comm[GS_COMM_LEN];		/* its last name, when it changed or exited */
	__u8 exited, named;
	/* lock analysis state */
	__u8 ep_open, pend, in_cond, cond_blocked;
	__u8 nr_held;
	__u8 pad0;
	__u32 ep_val, ep_owner;
	__s32 ep_stackid, cond_stackid;
	__u64 ep_addr, ep_start, ep_end;
	__u64 ep_sp;
	__u64 pend_addr, pend_ts;
	__u64 cond, cond_mutex, cond_start;
	__u64 held_addr[GS_SUM_MAX_HELD], held_since[GS_SUM_MAX_HELD];
	/* GIL analysis state */
	__u8 gil_state;			/* 0 idle, 1 waiting, 2 holding */
	__u8 drop_requested, gil_in_cond, had_idle, last_drop_forced;
	__u8 pad1[3];
	__u64 gil_since, gil_cond_since, idle_len;
};

/* A GIL (key: the traced process's tgid): gilstats.h's globals. */
struct gs_sum_gil {
	__u64 interval_ns;		/* the switch interval, set by user space */
	__u64 acquisitions;
	__u64 first_sn, last_sn, last_holder;
	__u64 switches, first_switch_ts, sn_gaps;
	__u64 last_release_ts;
	__u32 holder, last_release_tid;
	__u8 sn_seen, release_pending;
	__u8 pad[6];
};

/* Indexes of the per-CPU counters in the BPF "counters" map. */
enum gs_counter {
	GS_CNT_LOST = 0,	/* ring buffer full: record dropped */
	GS_CNT_STACK_ERR = 1,	/* user stack could not be read */
	GS_CNT_SUM_EVENTS = 2,	/* --summary: events aggregated in BPF */
	GS_CNT_SUM_FULL = 3,	/* --summary: a map was full, an update dropped */
	GS_CNT_MAX,
};

#endif /* GILSCOPE_H */
