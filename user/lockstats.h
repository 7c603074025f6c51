/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lock contention from the event stream: per lock and per thread.  The
 * analysis itself is bpf/lock_machine.h's state machine, which --summary
 * runs in BPF too; this is its user-space side: the tables it fills, the
 * call sites, the lock kinds and the sorted rows the reports print.
 * Figures the probes in use cannot measure (hold times and uncontended
 * acquisitions without the mutex uprobes) are unknown, never zero.
 */
#ifndef LOCKSTATS_H
#define LOCKSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"
#include "stats.h"

enum lock_kind {
	LOCK_MUTEX = 1,
	LOCK_CONDVAR = 2,
	LOCK_FUTEX = 3,
};

struct lock_caller {
	uint64_t frames[GS_MAX_FRAMES];
	uint32_t nr_frames;
	int py_stack;		/* the waiter's Python stack (pystacks id), or
				 * PY_STACK_NONE: one caller per native and
				 * Python stack pair */
	uint64_t count, wait_ns;
};

/*
 * A Python object's row: its key is LOCK_PYOBJ | the object's address
 * (a Condition, Queue, Event, Semaphore, Barrier or Thread), where a
 * lock's is its futex, mutex or condvar: user addresses are below 2^57,
 * so no key is both.  See lockstats.c ("Python objects' rows").
 */
#define LOCK_PYOBJ	(1ULL << 63)

struct lock_stats {
	uint64_t addr;			/* the key: the lock's address, or LOCK_PYOBJ | object */
	uint64_t py_object;		/* the Python object of a LOCK_PYOBJ row, else 0 */
	const char *py_kind;		/* ... and its kind ("queue.Queue": pykind.h) */
	int kind;			/* set by lockstats__finish */
	bool acquisitions_known;	/* else acquisitions is meaningless */
	bool hold_known;
	/* what the state machine counts (lock_machine.h), as a BPF map
	 * entry holds it: l->acquisitions, or all of it as l->fig */
	union {
		struct gs_lock_figs fig;
		struct { GS_LOCK_FIGS_MEMBERS };
	};
	struct samples wait;		/* per contended acquisition (condvar: per wait) */
	struct samples hold;		/* per acquisition, --locks=all only */
	struct lock_caller *callers;
	size_t nr_callers, cap_callers;
};

struct thread_stats {
	uint32_t tid;
	union {
		struct gs_lock_thread_figs fig;
		struct { GS_LOCK_THREAD_FIGS_MEMBERS };
	};
};

/* A futex wait still in progress when tracing stopped: a hung thread's. */
struct lock_open_wait {
	uint32_t tid;
	uint64_t addr;		/* the lock: the condvar, for a cond wait seen begin */
	uint64_t start, end;	/* end - start: how long it had waited */
	bool start_known;	/* else it began before the trace: at least that */
	uint32_t val, owner;	/* futex word expected; the word at +8 (a mutex's owner) */
	int kind;		/* enum lock_kind, set by lockstats__finish */
	uint32_t owner_tid;	/* owner, if it names a thread of the target, else 0 */
	uint64_t frames[GS_MAX_FRAMES];
	uint32_t nr_frames;
};

struct lockstats_config {
	bool mutex_probes;	/* pthread_mutex_lock/unlock uprobes attached */
	bool cond_probes;	/* pthread_cond_*wait uprobes attached */
	bool keep_spans;	/* keep every wait and hold interval (exports) */
};

/* One wait or hold of one lock by one thread, for timeline exports. */
struct lock_span {
	uint64_t start, end, addr;
	uint32_t tid;
	uint8_t hold;		/* 0: waiting for it, 1: holding it */
};

struct gs_step;
struct names;
struct lockstats;

int lockstats__new(const struct lockstats_config *cfg, struct names *names,
		   struct lockstats **out);
void lockstats__free(struct lockstats *ls);
/* Makes sure a thread appears in the per-thread table. */
void lockstats__add_thread(struct lockstats *ls, uint32_t tid);
/* Feeds one event, in time order (see evsort.h), its size checked
 * against its type; @step is @e as the state machine steps on it
 * (events.h's gs_step_of()). */
void lockstats__event(struct lockstats *ls, const struct gs_event_hdr *e,
		      const struct gs_step *step);
/* Closes what is still open at @end_ts and decides each lock's kind. */
void lockstats__finish(struct lockstats *ls, uint64_t end_ts);

/* Sorted arrays, valid until lockstats__free: locks by total wait (then
 * acquisitions), threads by tid. */
size_t lockstats__locks(struct lockstats *ls, struct lock_stats ***out);
size_t lockstats__threads(struct lockstats *ls, struct thread_stats ***out);
/* The intervals kept with keep_spans, in the order they ended. */
size_t lockstats__spans(struct lockstats *ls, const struct lock_span **out);
/* The waits still in progress at the end, by tid. */
size_t lockstats__open_waits(struct lockstats *ls, const struct lock_open_wait **out);
/* Callers of @l sorted by wait time, most first. */
void lockstats__sort_callers(struct lock_stats *l);

const char *lock_kind_name(int kind);

/* For --summary (summary_tables.c), whose figures come from BPF's maps,
 * not from events: the entries themselves, created when missing (NULL:
 * no memory), and a call site with its counts.  lockstats__finish() then
 * classifies and sorts them as it does the streamed ones. */
struct lock_stats *lockstats__lock(struct lockstats *ls, uint64_t addr);
struct thread_stats *lockstats__thread(struct lockstats *ls, uint32_t tid);
void lockstats__add_caller(struct lock_stats *l, const uint64_t *frames, uint32_t nr,
			   int py_stack, uint64_t count, uint64_t wait);
/* Python stacks of lock waits (GS_PY_LOCK_WAIT, GS_PY_PARK records) are
 * interned in @p (not owned); without it, callers have none, and no wait
 * goes to a Python object's row. */
struct pystacks;
void lockstats__set_pystacks(struct lockstats *ls, struct pystacks *p);
/* Thread @tid took the GIL (a GS_EV_GIL_ACQUIRED the lock table does not
 * see as an event of its own): a Python object's wait it was in is over,
 * and its next futex wait is another wait, even on the same address. */
void lockstats__gil_taken(struct lockstats *ls, uint32_t tid);
/* What a thread was doing when tracing stopped (its state machine's
 * state, and the call site of its open wait episode):
 * lockstats__finish() closes it as it closes a streamed thread's. */
void lockstats__set_state(struct lockstats *ls, uint32_t tid, const struct gs_lock_tstate *s,
			  const uint64_t *ep_frames, uint32_t ep_nr_frames);

#endif
