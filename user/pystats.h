/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which Python code holds the GIL, which waits for it, and whose code
 * makes it wait, from the Python stacks BPF catches (GS_EV_PY_STACK) and
 * the GIL's takes:
 *   held_in     the holder sampled on CPU (a software cpu-clock), per
 *               stack: its share of the thread's held time is the share
 *               of its samples - an estimate, and said to be one;
 *   waited_in   the thread's own stack as each wait for the GIL began
 *               (time.sleep's caller, the eval loop after a forced drop),
 *               with the wait's exact length;
 *   waited_for  the holder's stack while it made the thread wait, read
 *               as waits begin and time out (asked the holder to drop),
 *               at most once a millisecond per holder: each stretch of
 *               a waiter's wait goes to the holder stack read last when
 *               the stretch began (py_machine.h says how closely);
 *   lock_waited the thread's futex waits (locks, condvars, not the GIL's),
 *               by the Python stack caught as each began.
 */
#ifndef PYSTATS_H
#define PYSTATS_H

#include <stddef.h>
#include <stdint.h>
#include "pystacks.h"
#include "u64map.h"
#include "gilscope.h"

struct gs_event_hdr;

struct py_cost {
	int stack;		/* pystacks id, or PY_STACK_NONE */
	uint32_t tid;		/* waited_for: the holder */
	uint64_t ns, count;	/* held_in: count = samples, ns set at the report */
};

struct py_costs {
	struct py_cost *v;
	size_t nr, cap;
};

struct py_thread {
	uint32_t tid;
	struct py_costs held, waited, waited_for;
	struct py_costs lock_waited;	/* futex waits (not the GIL's), by its stack */
	uint64_t samples;		/* on-CPU samples holding the GIL */
	struct gs_py_tstate m;		/* the analysis's state (py_machine.h) */
};

struct pystats {
	struct pystacks *stacks;	/* not owned */
	struct gs_py_gil gil;		/* the GIL's holder, and its stack read last */
	struct u64map threads;		/* tid -> struct py_thread */
	uint64_t records, samples, no_tstate, read_errors, truncated;
};

void pystats__init(struct pystats *p, struct pystacks *stacks);
void pystats__event(struct pystats *p, const struct gs_event_hdr *e, size_t size);
/* Adds a cost to thread @tid's row (@which: enum gs_py_cost_kind;
 * @stack: a pystacks id, PY_STACK_NONE for none): what the analysis
 * does, and what --summary's reader does with BPF's tables. */
void pystats__add(struct pystats *p, uint32_t tid, int which, int stack, uint32_t holder,
		  uint64_t ns, uint64_t count);
/* The thread's row, or NULL when no Python stack of it was seen. */
struct py_thread *pystats__thread(const struct pystats *p, uint32_t tid);
/* Sorts @c by ns, largest first (ties by count, then stack id). */
void pystats__sort(struct py_costs *c);
void pystats__free(struct pystats *p);

#endif
