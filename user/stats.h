/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Durations: every sample is kept, so percentiles are exact (nearest
 * rank), not bucket estimates.  8 bytes a sample; a lock with a million
 * contended acquisitions costs 8 MB, which the report can afford.
 *
 * A --summary run has no samples, only BPF's log-linear histograms
 * (gilscope.h's struct gs_hist): then @hist holds the slot counts, count,
 * total and max stay exact, and a percentile is its slot's midpoint,
 * within 1/(2*GS_HIST_SUB) of the true value.
 */
#ifndef STATS_H
#define STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct samples {
	uint64_t *v;
	size_t nr, cap;
	uint64_t total, max;
	bool sorted;
	uint64_t *hist;		/* GS_HIST_SLOTS counts, or NULL */
};

struct gs_hist;
/* Makes @s the copy of a BPF histogram (any samples it had are dropped). */
int samples__from_hist(struct samples *s, const struct gs_hist *h);
/* True when percentiles are slot estimates, not exact. */
static inline bool samples__approx(const struct samples *s) { return s->hist != NULL; }
/* The smallest value slot @i holds, and how many values it holds. */
uint64_t hist_slot_low(unsigned int i);
uint64_t hist_slot_width(unsigned int i);

int samples__add(struct samples *s, uint64_t v);
/* Nearest-rank percentile, @pct in (0, 100]; 0 for no samples. */
uint64_t samples__pct(struct samples *s, double pct);
void samples__free(struct samples *s);

/* Human units for a duration in ns: "812ns", "12.3us", "5.01ms", "1.20s". */
const char *fmt_ns(uint64_t ns, char *buf, size_t len);

/* A log2 histogram of @s, printed like bcc's print_log2_hist. */
void samples__print_log2(struct samples *s, FILE *f, const char *unit_name);

#endif
