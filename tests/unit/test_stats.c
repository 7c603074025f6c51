// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "testlib.h"
#include "gilscope.h"
#include "grow.h"
#include "stats.h"
#include "u64map.h"

TEST(stats_percentiles_nearest_rank)
{
	struct samples s = {0};

	CHECK_U64(samples__pct(&s, 50), 0);
	/* 1..100 shuffled: p50 = 50, p99 = 99, p100 = 100 */
	for (int i = 0; i < 100; i++)
		samples__add(&s, (i * 37) % 100 + 1);
	CHECK_U64(s.total, 5050);
	CHECK_U64(s.max, 100);
	CHECK_U64(samples__pct(&s, 50), 50);
	CHECK_U64(samples__pct(&s, 99), 99);
	CHECK_U64(samples__pct(&s, 100), 100);
	CHECK_U64(samples__pct(&s, 0.5), 1);
	/* adding after a sort re-sorts */
	samples__add(&s, 0);
	CHECK_U64(samples__pct(&s, 0.5), 0);
	samples__free(&s);
}

TEST(stats_single_sample)
{
	struct samples s = {0};

	samples__add(&s, 42);
	CHECK_U64(samples__pct(&s, 50), 42);
	CHECK_U64(samples__pct(&s, 99), 42);
	samples__free(&s);
}

/* --summary's log-linear slots: every value lands in the slot whose range
 * holds it, slots are in value order, and each is at most 1/16 of its
 * values wide. */
TEST(hist_slots_hold_their_values)
{
	uint64_t vals[] = { 0, 1, 15, 16, 17, 31, 32, 33, 1000, 4095, 4096, 5000000,
			    123456789, (1ULL << 42) - 1 };
	uint32_t prev = 0;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v = vals[i];
		uint32_t s = gs_hist_slot(v);

		CHECK(s < GS_HIST_SLOTS);
		CHECK(s >= prev);
		prev = s;
		CHECK(hist_slot_low(s) <= v);
		CHECK(v < hist_slot_low(s) + hist_slot_width(s));
		CHECK(hist_slot_width(s) * GS_HIST_SUB <= (v < GS_HIST_SUB ? GS_HIST_SUB : v));
	}
	/* consecutive slots tile the line with no gap */
	for (uint32_t s = 0; s + 1 < GS_HIST_SLOTS; s++)
		CHECK_U64(hist_slot_low(s) + hist_slot_width(s), hist_slot_low(s + 1));
	/* beyond 2^42 ns everything is in the last slot */
	CHECK_U64(gs_hist_slot(1ULL << 50), GS_HIST_SLOTS - 1);
	CHECK_U64(gs_hist_slot(~0ULL), GS_HIST_SLOTS - 1);
}

/* A histogram's percentiles are within 1/32 of the exact ones over the
 * same samples; count, total and max are exact. */
TEST(hist_percentiles_close_to_exact)
{
	struct gs_hist *h = calloc(1, sizeof(*h));
	struct samples exact = {0}, approx = {0};
	double pcts[] = { 1, 10, 50, 90, 99, 100 };
	uint64_t x = 88172645463325252ULL;

	CHECK(h != NULL);
	if (!h)
		return;
	for (int i = 0; i < 20000; i++) {
		uint64_t v;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;	/* xorshift */
		v = (x % 10000000) + (i % 7 ? 0 : 50000000);	/* two modes */
		samples__add(&exact, v);
		h->slots[gs_hist_slot(v)]++;
		h->count++;
		h->total += v;
		if (v > h->max)
			h->max = v;
	}
	CHECK(samples__from_hist(&approx, h) == 0);
	CHECK(samples__approx(&approx) && !samples__approx(&exact));
	CHECK_U64(approx.nr, exact.nr);
	CHECK_U64(approx.total, exact.total);
	CHECK_U64(approx.max, exact.max);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		double e = (double)samples__pct(&exact, pcts[i]);
		double a = (double)samples__pct(&approx, pcts[i]);

		CHECK(a >= e * (1 - 1.0 / 32) - 1 && a <= e * (1 + 1.0 / 32) + 1);
	}
	/* a sample added afterwards goes into the slots */
	samples__add(&approx, 7);
	CHECK_U64(approx.nr, exact.nr + 1);
	CHECK_U64(samples__pct(&approx, 0.001), 7);
	samples__free(&exact);
	samples__free(&approx);
	free(h);
}

/* The log2 view of a histogram and of the same exact samples agree. */
TEST(hist_log2_view_matches_exact)
{
	struct gs_hist *h = calloc(1, sizeof(*h));
	struct samples exact = {0}, approx = {0};
	char *a = NULL, *e = NULL;
	size_t alen = 0, elen = 0;
	FILE *fa, *fe;

	CHECK(h != NULL);
	if (!h)
		return;
	for (uint64_t v = 0; v < 3000000; v = v * 3 + 1) {
		samples__add(&exact, v);
		h->slots[gs_hist_slot(v)]++;
		h->count++;
	}
	CHECK(samples__from_hist(&approx, h) == 0);
	fa = open_memstream(&a, &alen);
	fe = open_memstream(&e, &elen);
	samples__print_log2(&approx, fa, "ns");
	samples__print_log2(&exact, fe, "ns");
	fclose(fa);
	fclose(fe);
	CHECK(alen > 0);
	CHECK_STR(a, e);
	free(a);
	free(e);
	samples__free(&exact);
	samples__free(&approx);
	free(h);
}

TEST(stats_fmt_ns_units)
{
	char b[32];

	CHECK_STR(fmt_ns(999, b, sizeof(b)), "999ns");
	CHECK_STR(fmt_ns(1500, b, sizeof(b)), "1.5us");
	CHECK_STR(fmt_ns(5010000, b, sizeof(b)), "5.01ms");
	CHECK_STR(fmt_ns(1200000000ULL, b, sizeof(b)), "1.20s");
}

TEST(u64map_set_get_delete_many)
{
	struct u64map m = {0};
	static int vals[5000];

	for (int i = 0; i < 5000; i++)
		CHECK(u64map__set(&m, (uint64_t)i * 4096, &vals[i]) == 0);
	CHECK_U64(m.nr, 5000);
	for (int i = 0; i < 5000; i++)
		CHECK(u64map__get(&m, (uint64_t)i * 4096) == &vals[i]);
	for (int i = 0; i < 5000; i += 2)
		CHECK(u64map__del(&m, (uint64_t)i * 4096) == &vals[i]);
	CHECK_U64(m.nr, 2500);
	for (int i = 0; i < 5000; i++)
		CHECK(u64map__get(&m, (uint64_t)i * 4096) == (i % 2 ? &vals[i] : NULL));
	CHECK(u64map__get(&m, 12345) == NULL);
	u64map__free(&m);
}

/* A duration of 2^63 ns and up (a mutated recording's timestamps) lands
 * in the top slot, 64: its upper bound is the type's max, no shift by 64
 * (UBSan, found by fuzz_tracefile_chunks). */
TEST(stats_log2_top_slot)
{
	struct samples s = {0};
	static char buf[16384];
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	CHECK(f);
	samples__add(&s, 1ULL << 63);
	samples__print_log2(&s, f, "ns");
	fclose(f);
	CHECK(strstr(buf, "9223372036854775808 -> 18446744073709551615") != NULL);
	samples__free(&s);
}

/* grow.h: the room doubles from the first room until it holds what is
 * needed; a size that cannot be allocated leaves the array as it was. */
TEST(grow_array_doubles_and_keeps_on_failure)
{
	uint32_t *a = NULL, *was;
	size_t cap = 0;

	CHECK(GROW_ARRAY(a, cap, 0, 4) == 0);
	CHECK(a == NULL);
	CHECK_U64(cap, 0);
	CHECK(GROW_ARRAY(a, cap, 1, 4) == 0);
	CHECK_U64(cap, 4);
	for (uint32_t i = 0; i < 4; i++)
		a[i] = i;
	CHECK(GROW_ARRAY(a, cap, 4, 4) == 0);	/* room enough: no change */
	CHECK_U64(cap, 4);
	CHECK(GROW_ARRAY(a, cap, 5, 4) == 0);
	CHECK_U64(cap, 8);
	CHECK(GROW_ARRAY(a, cap, 33, 4) == 0);
	CHECK_U64(cap, 64);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_U64(a[i], i);
	was = a;
	CHECK(GROW_ARRAY(a, cap, SIZE_MAX / 2, 4) == -ENOMEM);
	CHECK(GROW_ARRAY(a, cap, SIZE_MAX, 4) == -ENOMEM);
	CHECK(a == was);
	CHECK_U64(cap, 64);
	CHECK_U64(a[3], 3);
	free(a);
}
