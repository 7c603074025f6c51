/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --summary: the BPF side analyses as it goes (bpf/summary.bpf.h) and
 * streams nothing; at the end its maps are read, once, into the same
 * lockstats / gilstats tables the event stream fills, and the same report
 * prints them.  Durations come as histograms (see stats.h).
 */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stdint.h>
#include <sys/types.h>

struct analysis;
struct names;
struct report_meta;
struct symbolizer;
struct tracer;
struct u64map;

/* Opens the traced window at m->start_ts: the GIL's entry (with its
 * switch interval) when m->has_gil, and the threads alive now, which have
 * not wanted the GIL since the start, as the streamed analysis assumes. */
int summary__begin(struct tracer *tr, pid_t pid, const struct report_meta *m);
/* The target exec'd and its new image's GIL was found at @ts (m->gil):
 * the GIL figures start again from there, as the streamed analysis's do
 * at GS_EV_GIL_FOUND (the old image's GIL histograms and every thread's
 * GIL state are dropped), with the new switch interval.  0 or -errno. */
int summary__new_gil(struct tracer *tr, pid_t pid, const struct report_meta *m, uint64_t ts);
/* Closes it at m->end_ts: what happens after, while detaching, is not
 * counted. */
void summary__end(struct tracer *tr, const struct report_meta *m);
/* Names the Python stacks BPF kept since the last call (@seen: their
 * ids), while the target's code objects can still be read: called
 * every few hundred ms while tracing, and at the stop.  Also refreshes
 * the Python thread names, which no record brings in a summary. */
void summary__name_py(struct tracer *tr, struct names *names, struct u64map *seen);
/* Reads the maps into @a (after detaching, before analysis__finish) and
 * the counts of what was aggregated and what did not fit into @m. */
int summary__read(struct tracer *tr, pid_t pid, struct report_meta *m,
		  struct analysis *a, struct symbolizer *sym, struct names *names);

#endif
