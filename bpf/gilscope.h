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
#define GS_PATH_LEN	256	/* an exec'd file name kept */
#define GS_PY_FRAMES	32	/* Python frames kept per stack, at most */
#define GS_PY_SELF_FRAMES 4	/* ... of which the innermost keep their first local */

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
	/* a futex wait still in progress when tracing stopped: written by
	 * user space at the stop, not by BPF (struct gs_open_wait_event) */
	GS_EV_FUTEX_WAIT_OPEN	= 12,
	/* the target exec'd a new program (sched_process_exec): the old
	 * image's memory, GIL and other threads are gone (struct
	 * gs_exec_event) */
	GS_EV_EXEC		= 13,
	/* the GIL of the program the target became was found: written by
	 * user space once the new image reached its interpreter's "ready"
	 * point, not by BPF (struct gs_gil_found_event) */
	GS_EV_GIL_FOUND		= 14,
	/* a thread's Python stack, read in BPF from the interpreter's frame
	 * chain (struct gs_py_stack_event; py_walk.h) */
	GS_EV_PY_STACK		= 15,
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

/* A futex(2) command (flags masked off) that sleeps until woken: what the
 * BPF side times, and what user space looks for in a hung thread. */
static inline int gs_futex_is_wait(__u32 cmd)
{
	return cmd == GS_FUTEX_WAIT || cmd == GS_FUTEX_WAIT_BITSET ||
	       cmd == GS_FUTEX_LOCK_PI || cmd == GS_FUTEX_LOCK_PI2 ||
	       cmd == GS_FUTEX_WAIT_REQUEUE_PI;
}

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

/*
 * GS_EV_FUTEX_WAIT_OPEN: a wait that had not returned when tracing
 * stopped (a hung thread's).  w.f.hdr.ts is when it began, or the
 * trace's start when it began before (start_known 0: it is at least
 * w.f.end_ts - hdr.ts long); w.f.end_ts is the stop; w.f.owner_tid the
 * mutex owner word as read last.  Its frames: the stack at entry, or
 * (begun before the trace) the interrupted pc, repaired from stack words.
 */
struct gs_open_wait_event {
	struct gs_futex_wait_event w;
	__u32 start_known;
	__u32 pad;
};

/* A futex call in flight (BPF map futex_calls, key: tid), taken at the
 * syscall's entry; user space reads what is left of it at the stop. */
struct gs_futex_call {
	__u64 ts;
	__u64 uaddr;
	__u32 op;
	__u32 val;
	__u32 owner_tid;
	__u32 nr_frames;
	__u32 nr_stack;
	__u32 pad;
	__u64 sp;
	__u64 frames[GS_MAX_FRAMES];
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
	/* the GIL struct: futex waits inside it are the GIL's, not a lock's */
	__u64 gil_lo, gil_hi;
	/* kept by BPF: the thread whose take of the GIL was seen last, 0
	 * after a release; GS_HOLDER_UNKNOWN until the first of either */
	__u32 holder_tid;
	/* ... and whose Python stack was read last as a holder's, when:
	 * one read serves every waiter for GS_HOLDER_STACK_EVERY_NS */
	__u32 holder_stack_tid;
	__u64 holder_stack_ts;
};

#define GS_HOLDER_UNKNOWN	0xffffffffu
/* A holder's stack is read again for a waiter after this long (or when
 * the holder changed): 200 threads waking every millisecond would read
 * it 200 times a millisecond otherwise. */
#define GS_HOLDER_STACK_EVERY_NS	1000000ULL

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

/*
 * GS_EV_EXEC: hdr.tid is the thread that exec'd, as it is now (the
 * thread group's leader: a non-leader that execs takes the tgid);
 * old_tid its id before.  comm is the new program's name, filename the
 * path given to execve (relative to the target's root).
 */
struct gs_exec_event {
	struct gs_event_hdr hdr;
	__u32 old_tid;
	__u32 pad;
	char comm[GS_COMM_LEN];
	char filename[GS_PATH_LEN];
};

/* GS_EV_GIL_FOUND: the new image's GIL, as the analysis needs it (the
 * report's description of it is in the trace file's final META). */
struct gs_gil_found_event {
	struct gs_event_hdr hdr;
	__u64 mutex, cond;
	__u64 interval_us;	/* the switch interval read then */
};

/*
 * Python stacks.  Where a CPython keeps its frames (key: tgid), filled by
 * user space from the interpreter's version (user/pyread.c); BPF walks
 * the chain with bpf/py_walk.h and user space names the frames.
 */
struct gs_py_config {
	/* PyThreadState: the frame (3.8 - 3.10), the _PyCFrame (3.11,
	 * 3.12) or current_frame (3.13+) */
	__u32 ts_frame;
	/* -1: ts_frame holds the frame; else current_frame's offset in the
	 * _PyCFrame it points to */
	__s32 ts_cframe_frame;
	/* PyFrameObject (3.8 - 3.10) / _PyInterpreterFrame (3.11+); every
	 * offset below GS_PY_FRAME_READ */
	__u32 fr_previous, fr_code, fr_instr, fr_owner;
	/* Masks instead of branches, so the verifier walks one path:
	 * code_mask clears 3.14's _PyStackRef tag bits (else ~0);
	 * instr_mask keeps an int f_lasti's 32 bits (3.8 - 3.10) or the
	 * whole pointer; owner_mask 0xff where frames have an owner byte
	 * (3.12+): a frame whose owner is owner_cstack is one of the
	 * interpreter's C-stack entry frames (no Python code), marked
	 * GS_PY_ENTRY_FRAME for user space to drop. */
	__u64 code_mask, instr_mask;
	__u8 owner_mask, owner_cstack;
	__u8 pad[2];
	__u32 depth;		/* frames to keep, at most GS_PY_FRAMES */
	/* localsplus[0] (a method's self) of the innermost GS_PY_SELF_FRAMES
	 * frames: its offset in the frame, and self_read 0 when that lies
	 * in the GS_PY_FRAME_READ bytes read (3.11+) or 8 when it takes a
	 * read of its own (3.8 - 3.10: PyFrameObject.f_localsplus, past
	 * the block stack); code_mask clears its _PyStackRef tags too */
	__u32 fr_self, self_read;
};

/* Bytes of a frame read at once: every field the walk needs is in them. */
#define GS_PY_FRAME_READ	128
/* ... read into a buffer this big, so that any offset & 127 reads 8 bytes */
#define GS_PY_FRAME_BUF		136

enum gs_py_stack_kind {
	GS_PY_GIL_WAIT = 1,	/* its own, entering a wait for the GIL */
	GS_PY_GIL_HOLDER = 2,	/* the GIL holder's, as a waiter enters its wait
				 * or times out (asks the holder to drop) */
	GS_PY_LOCK_WAIT = 3,	/* its own, entering a futex wait (not the GIL's) */
	GS_PY_SAMPLE = 4,	/* its own, sampled on CPU while holding the GIL */
	GS_PY_PARK = 5,		/* its own, in _PyParkingLot_Park(addr): a PyMutex
				 * (3.13+) about to sleep */
	GS_PY_NEW = 6,		/* --summary: a stack first kept (addr: its id;
				 * GS_PY_TO_NAME) */
};

/* The frame is a code object and where in it the thread is: f_lasti
 * (3.8 - 3.10) or the instruction pointer (3.11+, 56 bits), and bit 63
 * set on an entry frame (GS_PY_ENTRY_FRAME). */
struct gs_py_frame {
	__u64 code;
	__u64 instr;
};

#define GS_PY_ENTRY_FRAME		(1ULL << 63)
#define GS_PY_INSTR(instr)		((instr) & ((1ULL << 56) - 1))

#define GS_PY_TRUNCATED	1	/* deeper than the frames kept */
#define GS_PY_READ_ERR	2	/* a frame could not be read: the chain ends there */
#define GS_PY_NO_TSTATE	4	/* the thread's PyThreadState is not known yet */
#define GS_PY_IN_GC	8	/* its thread was inside the garbage collector
				 * (USDT python:gc__start .. gc__done) */
#define GS_PY_TO_NAME	16	/* --summary: not a stack read now, but one BPF
				 * keeps (GS_PY_NEW) or a PyMutex first parked on
				 * (GS_PY_PARK), streamed to be named */

/* GS_EV_PY_STACK: hdr.tid caught it; of_tid is whose stack it is. */
struct gs_py_stack_event {
	struct gs_event_hdr hdr;
	__u32 kind;		/* enum gs_py_stack_kind */
	__u32 of_tid;		/* hdr.tid, or the GIL holder's (GS_PY_GIL_HOLDER) */
	__u64 addr;		/* the futex, the PyMutex or the GIL's condvar */
	__u64 tstate;		/* the PyThreadState walked */
	__u32 nr_frames;	/* valid in frames[], innermost first */
	__u32 flags;		/* GS_PY_TRUNCATED | GS_PY_READ_ERR | GS_PY_NO_TSTATE | GS_PY_IN_GC */
	struct gs_py_frame frames[GS_PY_FRAMES];
	/* (trace format 1.4) the first local of frames[i] (the walk's i:
	 * entry frames counted), a method's self; 0: not read.  1.3
	 * records end before it, and read as all 0 */
	__u64 self[GS_PY_SELF_FRAMES];
};

/* ---- the Python-stack analysis (py_machine.h), both sides ---- */

/* A stack id that is no stack: no frames, or none could be kept. */
#define GS_PY_NO_STACK	(~0ULL)

/* What a Python stack's cost is (user/pystats.h says each in full). */
enum gs_py_cost_kind {
	GS_PYC_HELD = 0,	/* sampled holding the GIL (count = samples) */
	GS_PYC_WAITED = 1,	/* its own stack, waiting for the GIL */
	GS_PYC_WAITED_FOR = 2,	/* the holder's stack, while it waited */
	GS_PYC_LOCK = 3,	/* its own stack, in a futex wait not the GIL's */
	GS_PYC_MAX,
};

/* One thread's wait for the GIL in progress, and its latest lock wait. */
struct gs_py_tstate {
	__u8 waiting;
	__u8 pad[3];
	__u32 seg_holder;	/* the holder of the stretch begun at seg_since */
	__u64 wait_stack, wait_since;
	__u64 seg_stack, seg_since;
	__u64 lock_stack, lock_ts;	/* the futex wait begun at lock_ts */
};

/* One GIL's holder, as its takes say, and the holder stack read last. */
struct gs_py_gil {
	__u32 holder;
	__u32 holder_stack_tid;
	__u64 holder_since;	/* when holder last changed (a take, a drop) */
	__u64 holder_stack, holder_stack_ts;
};

/* --summary: the Python costs (key: thread, kind, stack, holder) */
struct gs_sum_py_key {
	__u64 stack;		/* a hash of its frames (sum_pystacks' key) */
	__u32 tid;
	__u32 holder;		/* GS_PYC_WAITED_FOR: whose stack it is */
	__u32 which;		/* enum gs_py_cost_kind */
	__u32 pad;
};

struct gs_sum_py {
	__u64 ns, count;
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

/*
 * The analyses' figures and state.  The state machines of
 * lock_machine.h and gil_machine.h keep them, compiled by clang into the
 * BPF programs (--summary: the structs are map values) and by gcc into
 * the collector (user/lockstats.c, user/gilstats.c: the structs are
 * parts of a report row).  One layout, so user/summary.c copies a map
 * entry as one struct.
 *
 * The figures are given as member lists too: user space embeds them in
 * its rows as an anonymous struct beside the named one (a union of the
 * two, as the kernel's struct_group() does), so a row's figures read as
 * row->acquisitions and copy as row->fig.
 */
#define GS_LOCK_OWNERS	8

/* One lock (BPF key: its address). */
#define GS_LOCK_FIGS_MEMBERS						\
	__u64 acquisitions;	/* pthread lock calls / cond waits that returned */ \
	__u64 contended;	/* acquisitions that slept in the kernel */	\
	__u64 wakes;		/* futex wake calls on it */			\
	__u64 unmatched_unlocks; /* releases of acquisitions not seen */	\
	__u64 val2_waits, other_waits;	/* waits expecting glibc's 2 / other */	\
	__u32 owners[GS_LOCK_OWNERS];	/* futex word +8 of its waits, 0-ended */ \
	__u8 seen_mutex, seen_cond;	/* seen through a pthread call */	\
	__u8 fig_pad[6];
struct gs_lock_figs { GS_LOCK_FIGS_MEMBERS };

/* One thread's lock figures. */
#define GS_LOCK_THREAD_FIGS_MEMBERS					\
	__u64 lock_wait_ns;	/* mutexes and plain futexes */		\
	__u64 lock_hold_ns;	/* mutexes; --locks=all only */			\
	__u64 cond_wait_ns;	/* inside pthread_cond_*wait */			\
	__u64 first_ts, last_ts; /* first and last event seen */		\
	__u8 exited;								\
	__u8 fig_pad[7];
struct gs_lock_thread_figs { GS_LOCK_THREAD_FIGS_MEMBERS };

/* One thread's GIL figures. */
#define GS_GIL_THREAD_FIGS_MEMBERS					\
	__u64 held_ns, waited_ns;	/* partial spans at the edges included */ \
	__u64 acquisitions, forced_drops, voluntary_drops;		\
	/* convoy: blocking calls followed by a long GIL wait */		\
	__u64 short_releases;	/* returns from blocking calls */		\
	__u64 convoy_waits, convoy_lost_ns;				\
	__u64 first_ts, last_ts; /* its part of the trace */	\
	__u8 exited;								\
	__u8 fig_pad[7];
struct gs_gil_thread_figs { GS_GIL_THREAD_FIGS_MEMBERS };

/* One GIL (BPF key: the traced process's tgid). */
#define GS_GIL_FIGS_MEMBERS						\
	__u64 interval_ns;	/* the switch interval (set at the start) */	\
	__u64 start_ts;		/* the trace's start (set at the start) */	\
	__u64 acquisitions;							\
	/* Self-check.  CPython bumps switch_number only when the GIL goes	\
	 * to another thread state than last_holder; so between two traced	\
	 * acquisitions it must rise by exactly 1 if the holder changed,	\
	 * else 0.  Any more means acquisitions we did not see. */		\
	__u64 first_sn, last_sn; /* switch_number at first/last acquisition */ \
	__u64 last_holder;	/* PyThreadState of the last acquisition */	\
	__u64 switches;		/* holder changes traced */			\
	__u64 first_switch_ts;	/* when the GIL first went to another thread */ \
	__u64 sn_gaps;		/* switches the stream skipped */		\
	/* in-flight state */							\
	__u64 last_release_ts;							\
	__u32 holder;		/* 0: nobody (as far as we saw) */		\
	__u32 last_release_tid;						\
	__u8 sn_seen, release_pending;					\
	__u8 fig_pad[6];
struct gs_gil_figs { GS_GIL_FIGS_MEMBERS };

#define GS_MAX_HELD	16	/* mutexes one thread holds at once, tracked */

/* What a thread is doing, for the lock analysis (lock_machine.h). */
struct gs_lock_tstate {
	/* an open wait episode: futex waits on one address */
	__u8 ep_open;
	/* a pthread_mutex_lock call whose outcome is not known yet */
	__u8 pend;
	/* inside pthread_cond_*wait; it blocked in the kernel */
	__u8 in_cond, cond_blocked;
	__u8 nr_held;
	__u8 pad[3];
	__u32 ep_val, ep_owner;
	__s32 ep_site, cond_site;	/* BPF: the call sites' stack ids */
	__u64 ep_py, cond_py;		/* BPF: and their Python stacks' */
	__u64 ep_addr, ep_start, ep_end;
	__u64 pend_addr, pend_ts;
	__u64 cond, cond_mutex, cond_start;
	/* mutexes held (--locks=all) */
	__u64 held_addr[GS_MAX_HELD], held_since[GS_MAX_HELD];
};

enum gs_gil_thread_state {
	GS_GIL_IDLE = 0,	/* not wanting it */
	GS_GIL_WAITING = 1,
	GS_GIL_HOLDING = 2,
};

/* What a thread is doing, for the GIL analysis (gil_machine.h). */
struct gs_gil_tstate {
	__u64 since;		/* when the current state began */
	__u64 cond_since;	/* start of the current timed wait */
	__u64 idle_len;		/* length of the idle span before this wait */
	__u8 state;		/* enum gs_gil_thread_state */
	__u8 drop_requested;	/* a waiter timed out during this hold */
	__u8 in_cond;		/* inside pthread_cond_*wait on the GIL */
	__u8 had_idle;		/* there was an idle span before this wait */
	__u8 last_drop_forced;	/* the GIL was taken from it, not let go */
	__u8 seen;		/* its part of the trace has begun */
	__u8 pad[2];
};

/* One wait site of one lock: its user stack (the "stacks" map's id, or
 * -1 for none) and, for the frame the walk loses in libc (stackfix.h),
 * the first stack words of the first wait seen there. */
struct gs_sum_caller_key {
	__u64 addr;
	__s32 stackid;
	__u32 pad;
	__u64 py;		/* the Python stack's id, or GS_PY_NO_STACK */
};

struct gs_sum_caller {
	__u64 count, wait_ns;
	__u64 sp;
	__u32 nr_stack;
	__u32 pad;
	__u64 stack[GS_STACK_WORDS];
};

/* --summary: one thread (key: tid), both analyses' figures and state. */
struct gs_sum_thread {
	struct gs_lock_thread_figs lock;
	struct gs_gil_thread_figs gil;
	struct gs_lock_tstate ls;
	struct gs_gil_tstate gs;
	struct gs_py_tstate py;
	char comm[GS_COMM_LEN];		/* its last name, when it changed or exited */
	__u8 named;
	__u8 pad[7];
};

/* Indexes of the per-CPU counters in the BPF "counters" map. */
enum gs_counter {
	GS_CNT_LOST = 0,	/* ring buffer full: record dropped */
	GS_CNT_STACK_ERR = 1,	/* user stack could not be read */
	GS_CNT_SUM_EVENTS = 2,	/* --summary: events aggregated in BPF */
	GS_CNT_SUM_FULL = 3,	/* --summary: a map was full, an update dropped */
	/* --summary: Python stacks read in BPF, and how they ended */
	GS_CNT_PY_STACKS = 4,
	GS_CNT_PY_NO_TSTATE = 5,
	GS_CNT_PY_READ_ERR = 6,
	GS_CNT_PY_TRUNCATED = 7,
	GS_CNT_MAX,
};

#endif /* GILSCOPE_H */
