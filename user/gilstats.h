/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The GIL, from the event stream.  The analysis itself is
 * bpf/gil_machine.h's state machine, which --summary runs in BPF too;
 * this is its user-space side: the per-thread rows with every sample,
 * the spans of the timeline, the handoff pairs and flows.
 */
#ifndef GILSTATS_H
#define GILSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"
#include "stats.h"

struct gs_step;

struct gil_span {
	uint64_t start, end;
	uint8_t state;		/* enum gs_gil_thread_state; IDLE spans are not stored */
};

struct gil_thread {
	uint32_t tid;
	/* what the state machine counts (gil_machine.h), as a BPF map entry
	 * holds it: t->held_ns, or all of it as t->fig */
	union {
		struct gs_gil_thread_figs fig;
		struct { GS_GIL_THREAD_FIGS_MEMBERS };
	};
	struct gs_gil_tstate st;	/* and the state it is in */
	struct samples wait;		/* per acquisition (0 when it did not wait) */
	struct samples hold;		/* per complete hold */
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
	/* what the state machine counts per GIL, with the switch_number
	 * self-check (gilscope.h): g->sn_gaps, or all of it as g->fig */
	union {
		struct gs_gil_figs fig;
		struct { GS_GIL_FIGS_MEMBERS };
	};
	void *priv;
};

int gilstats__new(const struct gil_config *cfg, struct gilstats **out);
void gilstats__free(struct gilstats *g);
void gilstats__add_thread(struct gilstats *g, uint32_t tid);
/* @step is @e as the state machine steps on it (events.h's gs_step_of()) */
void gilstats__event(struct gilstats *g, const struct gs_event_hdr *e,
		     const struct gs_step *step);
void gilstats__finish(struct gilstats *g, uint64_t end_ts);

/* For --summary (summary_tables.c), whose figures come from BPF's maps:
 * a thread's entry with its figures and the state it was in at the end,
 * for gilstats__finish() to close as it closes streamed ones; and a
 * from -> to pair's entry.  NULL: no memory. */
struct gil_thread *gilstats__set_thread(struct gilstats *g, uint32_t tid,
					const struct gs_gil_thread_figs *f,
					const struct gs_gil_tstate *s);
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
