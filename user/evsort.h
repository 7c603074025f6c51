/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The reorder buffer between a source of events (the ring buffer, a trace
 * file) and the analysis.  Ring buffer order is reservation order across
 * CPUs, not time order; events are held for @window_ns and released in
 * gs_event_time() order (arrival order breaks ties, which keeps each
 * thread's own events in program order).
 */
#ifndef EVSORT_H
#define EVSORT_H

#include <stddef.h>
#include <stdint.h>

struct gs_event_hdr;
typedef void (*evsort_fn)(const struct gs_event_hdr *e, size_t size, void *ctx);

struct evsort;

int evsort__new(uint64_t window_ns, evsort_fn fn, void *ctx, struct evsort **out);
/* Copies the event in; -EINVAL for a record of the wrong size or type. */
int evsort__push(struct evsort *s, const void *data, size_t size);
/* Releases what is older than the newest event minus the window
 * (everything with @all). */
void evsort__flush(struct evsort *s, int all);
/* Events that arrived after newer ones had been released already. */
uint64_t evsort__late(const struct evsort *s);
void evsort__free(struct evsort *s);

#endif
