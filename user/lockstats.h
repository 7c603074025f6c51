/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Lock contention from the event stream: per lock and per thread.
 *
 * A contended acquisition is a "wait episode": one or more futex waits by
 * a thread on the same address with nothing else of that thread between
 * them (glibc retries FUTEX_WAIT until its atomic exchange wins).  With
 * the mutex uprobes (--locks=all) every acquisition and release is seen,
 * so hold times and uncontended acquisitions are known too; without them
 * those figures are unknown, and reported as such, never as zero.
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

#define LOCK_MAX_OWNERS 8

struct lock_caller {
	uint64_t frames[GS_MAX_FRAMES];
	uint32_t nr_frames;
	uint64_t count, wait_ns;
};

struct lock_stats {
	uint64_t addr;
	int kind;			/* set by lockstats__finish */
	bool acquisitions_known;	/* else acquisitions is meaningless */
	bool hold_known;
	uint64_t acquisitions;
	uint64_t contended;		/* acquisitions that slept in the kernel */
	uint64_t wakes;			/* futex wake calls on it */
	uint64_t unmatched_unlocks;	/* releases of acquisitions not seen */
	struct samples wait;		/* per contended acquisition (condvar: per wait) */
	struct samples hold;		/* per acquisition, --locks=all only */
	struct lock_caller *callers;
	size_t nr_callers, cap_callers;
	/* evidence for the kind */
	bool seen_mutex, seen_cond;
	uint64_t val2_waits, other_waits;
	uint32_t owners[LOCK_MAX_OWNERS];
	int nr_owners;
};

struct thread_stats {
	uint32_t tid;
	uint64_t lock_wait_ns;		/* mutexes and plain futexes */
	uint64_t lock_hold_ns;		/* mutexes; --locks=all only */
	uint64_t cond_wait_ns;		/* inside pthread_cond_*wait */
	uint64_t first_ts, last_ts;	/* first and last event seen */
	bool exited;
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

struct names;
struct lockstats;

int lockstats__new(const struct lockstats_config *cfg, struct names *names,
		   struct lockstats **out);
void lockstats__free(struct lockstats *ls);
/* Makes sure a thread appears in the per-thread table. */
void lockstats__add_thread(struct lockstats *ls, uint32_t tid);
/* Feeds one event, in time order (see evsort.h). */
void lockstats__event(struct lockstats *ls, const struct gs_event_hdr *e, size_t size);
/* Closes what is still open at @end_ts and decides each lock's kind. */
void lockstats__finish(struct lockstats *ls, uint64_t end_ts);

/* Sorted arrays, valid until lockstats__free: locks by total wait (then
 * acquisitions), threads by tid. */
size_t lockstats__locks(struct lockstats *ls, struct lock_stats ***out);
size_t lockstats__threads(struct lockstats *ls, struct thread_stats ***out);
/* The intervals kept with keep_spans, in the order they ended. */
size_t lockstats__spans(struct lockstats *ls, const struct lock_span **out);
/* Callers of @l sorted by wait time, most first. */
void lockstats__sort_callers(struct lock_stats *l);

const char *lock_kind_name(int kind);

/* For --summary (summary.c), whose figures come from BPF's maps, not from
 * events: the entries themselves, created when missing (NULL: no memory),
 * and a call site with its counts.  lockstats__finish() then classifies
 * and sorts them as it does the streamed ones. */
struct lock_stats *lockstats__lock(struct lockstats *ls, uint64_t addr);
struct thread_stats *lockstats__thread(struct lockstats *ls, uint32_t tid);
void lockstats__add_caller(struct lock_stats *l, const uint64_t *frames, uint32_t nr,
			   uint64_t count, uint64_t wait);
/* Notes a thread seen holding @l (a waiter's futex word +8): kind evidence. */
void lockstats__note_owner(struct lock_stats *l, uint32_t owner);

/* What a thread was doing when tracing stopped: a wait episode still open
 * (futex waits on one address, the last one returned) and a
 * pthread_mutex_lock call not yet resolved.  lockstats__finish() closes
 * them as it closes a streamed thread's. */
struct lock_inflight {
	bool ep_open;
	uint64_t ep_addr, ep_start, ep_end;
	uint32_t ep_val, ep_owner;
	const uint64_t *ep_frames;	/* the wait's call site */
	uint32_t ep_nr_frames;
	bool pend;
	uint64_t pend_addr, pend_ts;
};
void lockstats__set_inflight(struct lockstats *ls, uint32_t tid, const struct lock_inflight *f);

#endif
