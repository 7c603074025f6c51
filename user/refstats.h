/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reference-count statistics from the watchpoint events: per watched
 * object, who writes its count and how often, how often the writer
 * changes (the cache line moving between cores), writes made without the
 * GIL, and lost updates seen in the sequence of values written.
 *
 * Lost updates.  Every write of a reference count is one increment or one
 * decrement of the value its writer read; a write based on a stale read
 * (two threads read the same value) overwrites the other's update.  The
 * value each event carries is read in the trap handler, a microsecond or
 * so after the write, when another CPU may have written again: single
 * values cannot be trusted, but the sequence telescopes.  Over the writes
 * after the first, the count moved by last - first, while the writes
 * themselves would have moved it by the sum of their directions:
 *
 *     net_lost = sum(direction of each write) - (last - first)
 *
 * A write's direction is its instruction's: each writing instruction
 * (the trap's ip) is credited with the steps of the values seen after
 * its writes (those right after the same thread's previous write when
 * there are enough: another thread's write blurs a step), and their sign
 * is its direction (unclear, and net_lost unknown, when they do not lean
 * one way by half their count; an instruction whose steps average more
 * than one and a half adds or takes several at a time, and is credited
 * with its steps).  For an
 * object only incremented (or only decremented) while traced, |net_lost|
 * is exactly the number of lost updates; in general lost increments and
 * lost decrements cancel, so it is a lower bound.  Exact as long as no
 * write was missed (lost events) and the first and last values were read
 * undisturbed.
 */
#ifndef REFSTATS_H
#define REFSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"

#define REF_MAX_EXAMPLES	4	/* racing write pairs kept per object */
#define REF_MAX_SITES		8	/* stacks of writes without the GIL */

struct ref_write {
	uint64_t ts, value;
	uint32_t tid;
	uint32_t nr_frames;
	uint64_t frames[GS_REF_FRAMES];
};

struct ref_thread {
	uint32_t tid;
	uint64_t writes, without_gil;
};

/* One writing instruction (the trap's ip: the instruction after it). */
struct ref_ip {
	uint64_t writes;	/* after the object's first */
	int64_t step_sum;	/* value steps seen after its writes */
	/* the same, over writes that followed the same thread's own write:
	 * no other thread's write to blur the step (preferred when there
	 * are enough of them) */
	uint64_t own_writes;
	int64_t own_step_sum;
};

struct ref_site {
	uint64_t count;
	struct ref_write example;
};

struct ref_object {
	uint64_t addr;
	char name[128];
	uint64_t writes, cross_thread_switches;
	uint64_t without_gil, gil_unknown;
	uint64_t first_value, last_value;
	bool seen;
	bool start_known;	/* first_value read before any write */
	/* lost updates (after refstats__finish) */
	bool net_known;		/* every writing instruction has a direction */
	int64_t net_lost;	/* lost increments - lost decrements */
	uint64_t lost_updates;	/* |net_lost| */
	int direction;		/* +1 / -1: one direction only; 0: mixed */
	uint64_t zero_steps;	/* writes that left the value seen before */
	void *ips;		/* struct u64map: ip -> struct ref_ip */
	struct ref_write last;
	struct ref_thread *threads;
	size_t nr_threads, cap_threads;
	/* two threads' writes that left the same value (the first few) */
	struct ref_write races[REF_MAX_EXAMPLES][2];
	size_t nr_races;
	/* writes without the GIL, by stack (first REF_MAX_SITES stacks) */
	struct ref_site sites[REF_MAX_SITES];
	size_t nr_sites;
	uint64_t sites_other;	/* writes without the GIL from other stacks */
};

struct refstats {
	struct ref_object obj[GS_MAX_WATCH];
	int nr;
	uint64_t strays;	/* writes to addresses not watched */
};

/* @addrs/@names: the watched objects, in --object order. */
/* Records outside the traced time never get here (the collector drops
 * them), as for the lock and GIL analyses. */
void refstats__init(struct refstats *r, const uint64_t *addrs, char names[][128], int nr);
/* The count of object @i before its first traced write, when known
 * exactly; else the first write's value stands in (its own direction
 * then does not count). */
void refstats__set_start(struct refstats *r, int i, uint64_t value);
void refstats__event(struct refstats *r, const struct gs_event_hdr *e, size_t size);
void refstats__finish(struct refstats *r);
void refstats__free(struct refstats *r);

#endif
