// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The GIL analysis on hand-made event streams with known answers. */
#include "testlib.h"
#include "analysis.h"
#include "events.h"
#include "names.h"

#define MS 1000000ULL
#define US 1000ULL
#define GIL_MUTEX 0x5080
#define GIL_COND 0x5020

static struct analysis an;
static struct names *nm;
static uint64_t sn;
static uint32_t last_holder;

static void setup(void)
{
	struct lockstats_config lc = { .cond_probes = true };
	struct gil_config gc = { .mutex = GIL_MUTEX, .cond = GIL_COND,
				 .interval_us = 5000, .start_ts = 0 };

	sn = 100;
	last_holder = 0;
	CHECK(names__new(0, NULL, &nm) == 0);
	CHECK(analysis__new(&an, &lc, nm) == 0);
	CHECK(analysis__add_gil(&an, &gc) == 0);
}

static void teardown(void)
{
	analysis__free(&an);
	names__free(nm);
}

/* CPython: switch_number rises when the GIL goes to another thread */
static void gil(uint32_t tid, uint64_t ts, bool acquired, bool skip_sn)
{
	struct gs_gil_event e = {0};

	e.hdr.type = acquired ? GS_EV_GIL_ACQUIRED : GS_EV_GIL_RELEASED;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.mutex = GIL_MUTEX;
	if (acquired) {
		sn += (tid != last_holder) + (skip_sn ? 1 : 0);
		last_holder = tid;
	}
	e.holder = 0x1000 * last_holder;
	e.switch_number = sn;
	e.locked = acquired;
	analysis__push(&an, &e, sizeof(e));
}

static void cond(uint32_t tid, uint64_t ts, bool enter, int ret)
{
	struct gs_cond_event e = {0};

	e.hdr.type = enter ? GS_EV_COND_WAIT : GS_EV_COND_WAIT_RET;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.cond = enter ? GIL_COND : 0;
	e.mutex = enter ? GIL_MUTEX : 0;
	e.ret = ret;
	analysis__push(&an, &e, sizeof(e));
}

static struct gil_thread *thr(uint32_t tid)
{
	for (size_t i = 0; i < an.gil->nr_threads; i++)
		if (an.gil->threads[i]->tid == tid)
			return an.gil->threads[i];
	return NULL;
}

/* Two CPU-bound threads ping-ponging every 5 ms, as CPython does: the
 * waiter times out after the interval, the holder drops (forced). */
TEST(gilstats_ping_pong_forced_switches)
{
	struct gil_thread *a, *b;

	setup();
	gil(1, 0, true, false);			/* A holds from 0 */
	cond(2, 1 * MS, true, 0);		/* B wants it at 1 ms */
	cond(2, 6 * MS, false, 110);		/* timeout: drop request */
	cond(2, 6 * MS + 10 * US, true, 0);
	gil(1, 6 * MS + 50 * US, false, false);	/* A drops: forced */
	cond(2, 6 * MS + 80 * US, false, 0);
	gil(2, 6 * MS + 100 * US, true, false);	/* B holds */
	cond(1, 6 * MS + 120 * US, true, 0);	/* A waits */
	cond(1, 11 * MS + 120 * US, false, 110);
	gil(2, 11 * MS + 200 * US, false, false);
	gil(1, 11 * MS + 300 * US, true, false);
	gil(1, 20 * MS, false, false);		/* voluntary: nobody asked */
	analysis__finish(&an, 20 * MS);

	a = thr(1);
	b = thr(2);
	CHECK(a && b);
	CHECK_U64(a->acquisitions, 2);
	CHECK_U64(b->acquisitions, 1);
	CHECK_U64(a->forced_drops, 1);
	CHECK_U64(a->voluntary_drops, 1);
	CHECK_U64(b->forced_drops, 1);
	CHECK_U64(a->held_ns, 6 * MS + 50 * US + (20 * MS - 11 * MS - 300 * US));
	CHECK_U64(b->held_ns, 5 * MS + 100 * US);
	CHECK_U64(b->waited_ns, 5 * MS + 100 * US);
	CHECK_U64(a->waited_ns, 5 * MS + 180 * US);
	CHECK_U64(b->wait.max, 5 * MS + 100 * US);
	/* handoffs: 1->2 (50 us), 2->1 (100 us) */
	CHECK_U64(an.gil->nr_handoffs, 2);
	CHECK_U64(an.gil->handoff_latency.nr, 2);
	CHECK_U64(an.gil->handoff_latency.max, 100 * US);
	CHECK_U64(gilstats__missed(an.gil), 0);
	CHECK_U64(an.gil->last_sn - an.gil->first_sn, 2);
	CHECK_U64(an.gil->switches, 2);
	/* at most one holder at any instant: the spans never overlap */
	for (size_t i = 0; i < a->nr_spans; i++)
		for (size_t k = 0; k < b->nr_spans; k++)
			if (a->spans[i].state == GS_GIL_HOLDING && b->spans[k].state == GS_GIL_HOLDING)
				CHECK(a->spans[i].end <= b->spans[k].start ||
				      b->spans[k].end <= a->spans[i].start);
	teardown();
}

/* A skipped switch_number is reported as a missed acquisition; a thread
 * retaking the GIL it just dropped bumps nothing and is no miss. */
TEST(gilstats_switch_number_gap_is_missed)
{
	setup();
	gil(1, 1 * MS, true, false);
	gil(1, 2 * MS, false, false);
	gil(1, 3 * MS, true, false);	/* a retake: switch_number unchanged */
	gil(1, 4 * MS, false, false);
	gil(2, 5 * MS, true, false);
	gil(2, 6 * MS, false, false);
	analysis__finish(&an, 7 * MS);
	CHECK_U64(gilstats__missed(an.gil), 0);
	CHECK_U64(an.gil->switches, 1);
	teardown();

	setup();
	gil(1, 1 * MS, true, false);
	gil(1, 2 * MS, false, false);
	gil(1, 3 * MS, true, true);	/* someone else held it in between */
	gil(1, 4 * MS, false, false);
	analysis__finish(&an, 5 * MS);
	CHECK_U64(an.gil->acquisitions, 2);
	CHECK_U64(gilstats__missed(an.gil), 1);
	teardown();
}

/* The convoy: an I/O thread's short blocking calls each followed by a
 * switch-interval wait behind a CPU-bound holder. */
TEST(gilstats_convoy_is_named)
{
	uint64_t t = 0;

	setup();
	gil(1, t, true, false);
	for (int i = 0; i < 10; i++) {
		/* io thread 2: holds 20 us, releases for a 60 us blocking call */
		gil(1, t + 1 * US, false, false);
		gil(2, t + 2 * US, true, false);
		gil(2, t + 22 * US, false, false);
		gil(1, t + 23 * US, true, false);	/* CPU thread retakes */
		cond(2, t + 82 * US, true, 0);		/* io wants it back */
		cond(2, t + 5 * MS + 82 * US, false, 110);
		t += 5 * MS + 100 * US;
	}
	gil(1, t, false, false);
	gil(2, t + 1 * US, true, false);
	gil(2, t + 5 * US, false, false);
	analysis__finish(&an, t + 10 * US);
	CHECK(gilstats__is_convoy(an.gil, thr(2)));
	CHECK(!gilstats__is_convoy(an.gil, thr(1)));
	CHECK(thr(2)->convoy_waits >= 9);
	teardown();

	/* CPU-bound threads switched out by forced drops are no convoy */
	setup();
	t = 0;
	gil(1, t, true, false);
	for (int i = 0; i < 20; i++) {
		uint32_t h = 1 + i % 2, w = 2 - i % 2;

		cond(w, t + 100 * US, true, 0);
		cond(w, t + 5 * MS, false, 110);	/* asks h to drop */
		gil(h, t + 5 * MS + 10 * US, false, false);
		gil(w, t + 5 * MS + 30 * US, true, false);
		t += 5 * MS + 30 * US;
	}
	analysis__finish(&an, t + 1 * MS);
	CHECK(thr(1)->forced_drops >= 9);
	CHECK(!gilstats__is_convoy(an.gil, thr(1)));
	CHECK(!gilstats__is_convoy(an.gil, thr(2)));
	teardown();
}

/* A thread that held the GIL when tracing began: its hold counts from the
 * start, but is not a hold sample (its length is unknown). */
TEST(gilstats_hold_from_before_trace)
{
	setup();
	gil(1, 3 * MS, false, false);
	analysis__finish(&an, 5 * MS);
	CHECK_U64(thr(1)->held_ns, 3 * MS);
	CHECK_U64(thr(1)->hold.nr, 0);
	teardown();
}

/* An exec: the old image's GIL and threads are gone (the thread that held
 * the GIL exec'd, its siblings exited); the GIL analysis starts again,
 * empty, then follows the new image's GIL from GS_EV_GIL_FOUND. */
TEST(gilstats_exec_starts_again_with_the_new_gil)
{
	struct gs_exec_event x = {0};
	struct gs_gil_found_event f = {0};
	struct gs_thread_event ex = {0};
	struct gil_thread *t;

	setup();
	gil(1, 0, true, false);			/* the old image: 1 holds, 2 waits */
	cond(2, 1 * MS, true, 0);
	ex.hdr.type = GS_EV_THREAD_EXIT;	/* the exec kills 2 */
	ex.hdr.tid = 2;
	ex.hdr.ts = 2 * MS;
	analysis__push(&an, &ex, sizeof(ex));
	x.hdr.type = GS_EV_EXEC;		/* 1 execs while holding it */
	x.hdr.tid = 1;
	x.old_tid = 1;
	x.hdr.ts = 3 * MS;
	analysis__push(&an, &x, sizeof(x));
	/* the old GIL's address, written again: not this GIL's any more */
	gil(1, 3 * MS + 10 * US, false, false);
	f.hdr.type = GS_EV_GIL_FOUND;
	f.hdr.tid = 1;
	f.hdr.ts = 10 * MS;
	f.mutex = GIL_MUTEX + 0x1000;
	f.cond = GIL_COND + 0x1000;
	f.interval_us = 1000;
	analysis__push(&an, &f, sizeof(f));
	/* the new image: 1 drops at 11 ms, 3 takes it at 12 ms, to 20 ms */
	{
		struct gs_gil_event e = {0};

		e.hdr.type = GS_EV_GIL_RELEASED;
		e.hdr.tid = 1;
		e.hdr.ts = 11 * MS;
		e.mutex = GIL_MUTEX + 0x1000;
		e.switch_number = 1;
		analysis__push(&an, &e, sizeof(e));
		e.hdr.type = GS_EV_GIL_ACQUIRED;
		e.hdr.tid = 3;
		e.hdr.ts = 12 * MS;
		e.switch_number = 2;
		e.holder = 0x3000;
		e.locked = 1;
		analysis__push(&an, &e, sizeof(e));
	}
	analysis__finish(&an, 20 * MS);

	CHECK(an.gil != NULL);
	CHECK_U64(an.gil->cfg.mutex, GIL_MUTEX + 0x1000);
	CHECK_U64(an.gil->interval_ns, 1000 * US);
	CHECK_U64(an.gil->nr_threads, 2);	/* 1 (from the GIL found) and 3 */
	CHECK(thr(2) == NULL);			/* the old image's waiter is gone */
	t = thr(3);
	CHECK(t && t->acquisitions == 1);
	CHECK_U64(t->held_ns, 8 * MS);
	t = thr(1);
	CHECK(t && t->acquisitions == 0);
	/* its hold of the old GIL is not in this one's figures */
	CHECK(t->held_ns <= 1 * MS);
	teardown();
}
