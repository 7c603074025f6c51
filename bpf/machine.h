/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the two analyses' state machines (lock_machine.h, gil_machine.h)
 * share: the event they step on, and the conventions of a side.
 *
 * A state machine is written once, as static functions over the plain
 * structs of gilscope.h, and compiled twice: by clang into the BPF
 * programs (summary.bpf.h: --summary, state and figures in maps) and by
 * gcc into the collector (user/lockstats.c, user/gilstats.c: streamed
 * runs and recordings).  tests/unit/test_machines.c compiles it a third
 * time, with shims that store as the BPF side does, and checks that both
 * sides print the same figures for the same events.
 *
 * A side defines, before including a machine:
 *   struct gs_env	its per-event context (what the hooks need)
 *   GS_FN		the larger functions' qualifiers (BPF: a subprogram
 *			of its own each, to keep the verifier's work small)
 *   GS_ADD(p, v)	*p += v, atomic where other CPUs update the same entry
 * and the hooks each machine lists at its top.
 */
#ifndef GS_MACHINE_H
#define GS_MACHINE_H

#include "gilscope.h"

/* The kernel's ETIMEDOUT, as pthread_cond_timedwait returns it. */
#define GS_ETIMEDOUT	110

/*
 * One event, as both sides see it: the BPF side builds it from a probe's
 * arguments, user space from a record (gs_step_from_record()).
 */
struct gs_step {
	__u32 type;		/* enum gs_event_type */
	__u32 tid;
	__u64 ts;
	__u64 end_ts;		/* FUTEX_WAIT: the syscall's exit */
	__u64 addr;		/* the futex, mutex or condvar */
	__u64 mutex;		/* COND_WAIT: the condvar's mutex */
	__u64 sn, holder;	/* GIL_*: switch_number (~0: unread), last_holder */
	__u32 val, owner;	/* FUTEX_WAIT: expected value, word at +8 */
	__s32 ret;		/* COND_WAIT_RET: the call's return */
	__u32 start_known;	/* FUTEX_WAIT_OPEN: 0 if it began before the trace */
};

/* Call sites a thread can have open: its wait episode's and its cond wait's. */
enum { GS_SITE_EP = 0, GS_SITE_COND = 1 };

/* Can an event of @type concern a GIL at all?  (Mutex calls and futex
 * wakes never do: the BPF side skips its GIL lookups for them.) */
static inline int gs_gil_may_concern(__u32 type)
{
	return type == GS_EV_GIL_ACQUIRED || type == GS_EV_GIL_RELEASED ||
	       type == GS_EV_COND_WAIT || type == GS_EV_COND_WAIT_RET ||
	       type == GS_EV_FUTEX_WAIT || type == GS_EV_THREAD_EXIT;
}

/* Does @e concern the GIL whose mutex and condvar are @mutex and @cond?
 * (A cond wait's return and a thread's exit concern it when the thread
 * is known to it: the machine checks.) */
static inline int gs_gil_concerns(const struct gs_step *e, __u64 mutex, __u64 cond)
{
	switch (e->type) {
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED:
		return e->addr == mutex;
	case GS_EV_COND_WAIT:
		return e->addr == cond;
	case GS_EV_FUTEX_WAIT:
		/* blocked on the GIL's mutex on the way in: waiting for it */
		return e->addr == mutex;
	case GS_EV_COND_WAIT_RET:
	case GS_EV_THREAD_EXIT:
		return 1;
	default:
		return 0;
	}
}

/*
 * Is @e about one of the GIL's own pthread objects (its condvars and
 * mutexes: struct _gil_runtime_state around @gil_cond, whichever build)?
 * Those waits are the GIL section's: the lock table leaves them out, so
 * that no wait is counted twice (the GIL's condvar is no lock of the
 * program's).  A cond wait's return carries no address: the lock machine
 * drops it when it saw no wait begin.
 */
static inline int gs_is_gil_part(const struct gs_step *e, __u64 gil_cond)
{
	if (!gil_cond || e->type == GS_EV_THREAD_EXIT || e->type == GS_EV_THREAD_RENAME ||
	    e->type == GS_EV_COND_WAIT_RET)
		return 0;
	/* cond sits at +32 (+40 free-threaded) of a 208 (216) byte struct */
	return e->addr >= gil_cond - 40 && e->addr < gil_cond + 184;
}

#endif /* GS_MACHINE_H */
