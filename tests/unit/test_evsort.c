// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reorder buffer: events come out in time order, ties in arrival
 * order, whatever mix of in-order and late arrivals went in. */
#include <linux/types.h>
#include "testlib.h"
#include "events.h"
#include "evsort.h"
#include "gilscope.h"

#define N 20000

struct got {
	uint64_t time[N + 8];
	uint32_t id[N + 8];
	size_t nr;
};

static void collect(const struct gs_event_hdr *e, size_t size, void *ctx)
{
	struct got *g = ctx;

	(void)size;
	if (g->nr < N + 8) {
		g->time[g->nr] = e->ts;
		g->id[g->nr] = e->tid;	/* the arrival index */
		g->nr++;
	}
}

static void push(struct evsort *s, uint64_t ts, uint32_t id)
{
	struct gs_thread_event e = { .hdr = { .type = GS_EV_THREAD_EXIT, .tid = id, .ts = ts } };

	CHECK(evsort__push(s, &e, sizeof(e)) == 0);
}

TEST(evsort_time_order_ties_in_arrival_order)
{
	static struct got g;
	static uint64_t times[N];
	struct evsort *s;
	uint64_t x = 2463534242ULL, t = 1000000;

	CHECK(evsort__new(50000000ULL, collect, &g, &s) == 0);
	/* mostly rising, with ties, and one in eight arriving late by up to
	 * 40 us (a futex wait timed at entry, written at exit) */
	for (uint32_t i = 0; i < N; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		t += x % 3;			/* 0: a tie with the one before */
		times[i] = x % 8 ? t : t - (x >> 8) % 40000;
		push(s, times[i], i);
		if (i % 1000 == 999)
			evsort__flush(s, 0);	/* the window holds them all */
	}
	CHECK_U64(g.nr, 0);
	evsort__flush(s, 1);
	CHECK_U64(g.nr, N);
	for (size_t i = 0; i < N; i++)
		CHECK_U64(g.time[i], times[g.id[i]]);
	for (size_t i = 1; i < N; i++) {
		CHECK(g.time[i - 1] <= g.time[i]);
		if (g.time[i - 1] == g.time[i])
			CHECK(g.id[i - 1] < g.id[i]);
	}
	CHECK_U64(evsort__late(s), 0);
	evsort__free(s);
}

TEST(evsort_window_and_late_arrivals)
{
	static struct got g;
	struct evsort *s;

	CHECK(evsort__new(50, collect, &g, &s) == 0);
	push(s, 100, 0);
	push(s, 90, 1);		/* late, but within the window: reordered */
	push(s, 200, 2);
	evsort__flush(s, 0);	/* releases what is 50 older than 200 */
	CHECK_U64(g.nr, 2);
	CHECK_U64(g.time[0], 90);
	CHECK_U64(g.time[1], 100);
	push(s, 95, 3);		/* older than what was released: counted late */
	CHECK_U64(evsort__late(s), 1);
	evsort__flush(s, 1);
	CHECK_U64(g.nr, 4);
	CHECK_U64(g.time[2], 95);
	CHECK_U64(g.time[3], 200);
	/* a record of the wrong size is refused, not queued */
	{
		struct gs_thread_event e = { .hdr = { .type = GS_EV_THREAD_EXIT } };

		CHECK(evsort__push(s, &e, sizeof(e) - 1) != 0);
	}
	/* freeing with events still held frees them (ASan/valgrind) */
	push(s, 300, 4);
	push(s, 250, 5);
	evsort__free(s);
}
