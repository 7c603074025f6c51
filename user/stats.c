// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "gilscope.h"
#include "grow.h"
#include "stats.h"

uint64_t hist_slot_low(unsigned int i)
{
	unsigned int e, sub;

	if (i < GS_HIST_SUB)
		return i;
	e = (i - GS_HIST_SUB) / GS_HIST_SUB + GS_HIST_SUB_BITS;
	sub = (i - GS_HIST_SUB) % GS_HIST_SUB;
	return (uint64_t)(GS_HIST_SUB + sub) << (e - GS_HIST_SUB_BITS);
}

uint64_t hist_slot_width(unsigned int i)
{
	if (i < GS_HIST_SUB)
		return 1;
	return 1ULL << ((i - GS_HIST_SUB) / GS_HIST_SUB);
}

int samples__from_hist(struct samples *s, const struct gs_hist *h)
{
	uint64_t *slots = malloc(sizeof(h->slots));

	if (!slots)
		return -ENOMEM;
	samples__free(s);
	memcpy(slots, h->slots, sizeof(h->slots));
	s->hist = slots;
	s->nr = h->count;
	s->total = h->total;
	s->max = h->max;
	return 0;
}

static int hist_add(struct samples *s, uint64_t v)
{
	s->hist[gs_hist_slot(v)]++;
	s->nr++;
	s->total += v;
	if (v > s->max)
		s->max = v;
	return 0;
}

/* Nearest rank over the slots: the midpoint of the slot holding it, never
 * above the exact max. */
static uint64_t hist_pct(const struct samples *s, double pct)
{
	uint64_t rank = (uint64_t)ceil(pct / 100.0 * (double)s->nr), seen = 0;

	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < GS_HIST_SLOTS; i++) {
		uint64_t v;

		seen += s->hist[i];
		if (seen < rank)
			continue;
		v = hist_slot_low(i) + hist_slot_width(i) / 2;
		return v > s->max ? s->max : v;
	}
	return s->max;
}

int samples__add(struct samples *s, uint64_t v)
{
	if (s->hist)
		return hist_add(s, v);
	if (GROW_ARRAY(s->v, s->cap, s->nr + 1, 16))
		return -ENOMEM;
	s->v[s->nr++] = v;
	s->total += v;
	if (v > s->max)
		s->max = v;
	s->sorted = false;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t samples__pct(struct samples *s, double pct)
{
	size_t rank;

	if (!s->nr)
		return 0;
	if (s->hist)
		return hist_pct(s, pct);
	if (!s->sorted) {
		qsort(s->v, s->nr, sizeof(*s->v), cmp_u64);
		s->sorted = true;
	}
	/* nearest rank: the smallest value with at least pct% at or below */
	rank = (size_t)ceil(pct / 100.0 * (double)s->nr);
	if (rank < 1)
		rank = 1;
	if (rank > s->nr)
		rank = s->nr;
	return s->v[rank - 1];
}

void samples__free(struct samples *s)
{
	free(s->v);
	free(s->hist);
	memset(s, 0, sizeof(*s));
}

const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
	return buf;
}

void samples__print_log2(struct samples *s, FILE *f, const char *unit_name)
{
	uint64_t slots[65] = {0}, max_count = 0;
	int top = -1;

	/* a histogram's slots each lie within one power of two */
	for (size_t i = 0; i < (s->hist ? GS_HIST_SLOTS : s->nr); i++) {
		uint64_t v = s->hist ? hist_slot_low(i) : s->v[i];
		int b = v ? 64 - __builtin_clzll(v) : 0;

		if (s->hist && !s->hist[i])
			continue;
		slots[b] += s->hist ? s->hist[i] : 1;
		if (b > top)
			top = b;
	}
	if (top < 0)
		return;
	for (int i = 0; i <= top; i++)
		if (slots[i] > max_count)
			max_count = slots[i];
	fprintf(f, "%24s : count    distribution\n", unit_name);
	for (int i = 0; i <= top; i++) {
		unsigned long long lo = i ? 1ULL << (i - 1) : 0;
		/* the top slot (values of 2^63 and up) ends at the type's max */
		unsigned long long hi = i == 64 ? ~0ULL : i ? (1ULL << i) - 1 : 0;
		int stars = max_count ? (int)(slots[i] * 40 / max_count) : 0;
		char bar[41];

		memset(bar, '*', stars);
		bar[stars] = 0;
		fprintf(f, "%10llu -> %-10llu : %-8llu |%-40s|\n", lo, hi,
			(unsigned long long)slots[i], bar);
	}
}
