// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "testlib.h"
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
