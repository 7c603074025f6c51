/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one analysis path.  Raw records, from the ring buffer live or from
 * a trace file later, go in through analysis__push(); they are put in
 * time order and fanned out to every consumer (lock statistics now; the
 * GIL and refcount analyses plug in here too).
 */
#ifndef ANALYSIS_H
#define ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "gilstats.h"
#include "lockstats.h"
#include "pystacks.h"
#include "pystats.h"
#include "refstats.h"

struct evsort;
struct names;

struct analysis {
	struct lockstats *locks;
	struct gilstats *gil;	/* NULL without a GIL */
	struct refstats *ref;	/* NULL without watched objects */
	/* Python stacks: interned once, for the GIL's attribution and the
	 * lock table's callers */
	struct pystacks pystacks;
	struct pystats py;
	struct evsort *sort;
	uint64_t recorded;	/* records accepted */
	/* optional: sees every record in time order (exports) */
	void (*tap)(const struct gs_event_hdr *e, size_t size, void *ctx);
	void *tap_ctx;
	uint64_t malformed;	/* records of a wrong size or type */
	bool keep;		/* intervals and handoffs kept (exports) */
};

int analysis__new(struct analysis *a, const struct lockstats_config *cfg,
		  struct names *names);
/* The analysis a session's metadata calls for, live or replayed: lock
 * statistics for the probes it had, the GIL's when it found one, the
 * refcounts of the objects it watched.  @keep: also the intervals and
 * handoffs (exports).  The one place that decides it, so a live run and
 * the report of its recording analyse alike.  0 or -errno. */
struct report_meta;
int analysis__from_meta(struct analysis *a, const struct report_meta *m,
			struct names *names, bool keep);
/* Tells the Python stacks which CPython the meta's GIL is (how their
 * frames' entry marks read): at the start, and when an exec found one. */
void analysis__set_python(struct analysis *a, const struct report_meta *m);
/* Adds the GIL analysis (before the first event). */
int analysis__add_gil(struct analysis *a, const struct gil_config *cfg);
/* Adds the refcount analysis of the objects @m watches (before the first
 * event); a no-op when it watches none. */
int analysis__add_refcount(struct analysis *a, const struct report_meta *m);
/* Makes sure a thread appears in the per-thread tables. */
void analysis__add_thread(struct analysis *a, uint32_t tid);
/* Takes one raw record (copied). */
void analysis__push(struct analysis *a, const void *data, size_t size);
/* Releases what is old enough to be in order. */
void analysis__flush(struct analysis *a);
/* Releases every record taken so far, in order (--summary: an exec's
 * records are analysed before the maps are read into the tables). */
void analysis__flush_all(struct analysis *a);
/* Releases everything and closes what is still open. */
void analysis__finish(struct analysis *a, uint64_t end_ts);
uint64_t analysis__late(struct analysis *a);
void analysis__free(struct analysis *a);

#endif
