/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The GIL, from the event stream: per-thread held / waiting / not-wanting
 * time, acquisitions, forced and voluntary drops, handoffs between
 * threads, the convoy effect, and a self-check against switch_number.
 *
 * A thread is WAITING from its first wait on the GIL's condvar (or futex
 * wait on its mutex) to its acquisition, HOLDING from its acquisition to
 * its release, and otherwise not wanting the GIL (I/O, sleep, C code that
 * released it).
 */
#ifndef GILSTATS_H
#define GILSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"
#include "stats.h"

enum gil_state {
	GIL_IDLE = 0,		/* not wanting it */
	GIL_WAITING = 1,
	GIL_HOLDING = 2,
};

struct gil_span {
	uint64_t start, end;
	uint8_t state;		/* enum gil_state; IDLE spans are not stored */
};

struct gil_thread {
	uint32_t tid;
	uint64_t held_ns, waited_ns;	/* partial spans at the edges included */
	uint64_t acquisitions, forced_drops, voluntary_drops;
	struct samples wait;		/* per acquisition (0 when it did not wait) */
	struct samples hold;		/* per complete hold */
	uint64_t first_ts, last_ts;	/* the thread's part of the trace */
	bool exited;
	/* convoy: blocking calls followed by a long GIL wait */
	uint64_t short_releases;	/* returns from blocking calls */
	uint64_t convoy_waits, convoy_lost_ns;
	struct gil_span *spans;
	size_t nr_spans, cap_spans;
};

struct gil_handoff {
	uint32_t from, to;
	uint64_t count;
	struct samples latency;
};

struct gil_config {
	uint64_t mutex, cond;		/* the GIL's pthread objects */
	uint64_t interval_us;		/* switch interval read at attach */
	uint64_t start_ts;		/* trace start */
	bool keep_flows;		/* keep every handoff (exports) */
};

/* One handoff: released by @from at @released, taken by @to at @taken. */
struct gil_flow {
	uint64_t released, taken;
	uint32_t from, to;
};

struct gilstats {
	struct gil_config cfg;
	uint64_t end_ts;
	struct gil_thread **threads;	/* sorted by tid after finish */
	size_t nr_threads, cap_threads;
	struct gil_handoff *handoffs;
	size_t nr_handoffs, cap_handoffs;
	struct samples handoff_latency;	/* every release -> next acquisition */
	struct gil_flow *flows;		/* with keep_flows */
	size_t nr_flows, cap_flows;
	uint64_t acquisitions;
	/* Self-check.  CPython bumps switch_number only when the GIL goes to
	 * another thread state than last_holder; so between two traced
	 * acquisitions it must rise by exactly 1 if the holder changed, else
	 * 0.  Any more means acquisitions we did not see. */
	uint64_t first_sn, last_sn;	/* switch_number at first/last acquisition */
	uint64_t last_holder;		/* PyThreadState of the last acquisition */
	uint64_t switches;		/* holder changes traced */
	uint64_t first_switch_ts;	/* when the GIL first went to another thread */
	uint64_t sn_gaps;		/* switches the stream skipped */
	bool sn_seen;
	/* in-flight state */
	uint32_t holder;		/* 0: nobody (as far as we saw) */
	uint32_t last_release_tid;
	uint64_t last_release_ts;
	bool release_pending;
	void *priv;
};

int gilstats__new(const struct gil_config *cfg, struct gilstats **out);
void gilstats__free(struct gilstats *g);
void gilstats__add_thread(struct gilstats *g, uint32_t tid);
void gilstats__event(struct gilstats *g, const struct gs_event_hdr *e, size_t size);
void gilstats__finish(struct gilstats *g, uint64_t end_ts);

/* For --summary (summary.c), whose figures come from BPF's maps: a
 * thread's entry, with the state it was in at the end (enum gil_state,
 * since @since) for gilstats__finish() to close as it closes streamed
 * ones; and a from -> to pair's entry.  NULL: no memory. */
struct gil_thread *gilstats__thread(struct gilstats *g, uint32_t tid, uint64_t first_ts,
				    uint8_t state, uint64_t since);
struct gil_handoff *gilstats__handoff(struct gilstats *g, uint32_t from, uint32_t to);
/* A thread's entry if it has one, else NULL. */
struct gil_thread *gilstats__find(struct gilstats *g, uint32_t tid);

/* Acquisitions the self-check proves were not traced (a lower bound). */
uint64_t gilstats__missed(const struct gilstats *g);
/* Convoy victims: a thread is one when, back from its blocking calls, it
 * waited for the GIL half a switch interval or more (10 times or more)
 * and those waits are most of its time waiting for the GIL. */
bool gilstats__is_convoy(const struct gilstats *g, const struct gil_thread *t);

#endif
