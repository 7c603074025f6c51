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
 * at the unlock of its mutex, while they cannot change under us.
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

/* Indexes of the per-CPU counters in the BPF "counters" map. */
enum gs_counter {
	GS_CNT_LOST = 0,	/* ring buffer full: record dropped */
	GS_CNT_STACK_ERR = 1,	/* user stack could not be read */
	GS_CNT_MAX,
};

#endif /* GILSCOPE_H */
