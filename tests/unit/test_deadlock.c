// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Deadlock cycles among open waits, and open waits in the lock analysis. */
#include "testlib.h"
#include "analysis.h"
#include "deadlock.h"
#include "events.h"
#include "names.h"

static struct lock_open_wait ow(uint32_t tid, uint64_t addr, uint32_t owner_tid)
{
	struct lock_open_wait w = { .tid = tid, .addr = addr, .owner_tid = owner_tid };

	return w;
}

TEST(deadlock_two_and_three_thread_cycles_once_each)
{
	struct lock_open_wait w[] = {
		ow(10, 0xa, 11), ow(11, 0xb, 10),		/* 10 <-> 11 */
		ow(20, 0xc, 22), ow(21, 0xd, 20), ow(22, 0xe, 21),	/* 20 -> 22 -> 21 -> 20 */
		ow(30, 0xf, 20),				/* waits into a cycle: not in it */
		ow(40, 0x10, 41), ow(41, 0x11, 0),		/* a chain to a thread not waiting */
		ow(50, 0x12, 0),				/* owner unknown (a condvar, a futex) */
	};
	struct deadlock d[4];
	size_t n = deadlock__find(w, sizeof(w) / sizeof(w[0]), d, 4);

	CHECK_U64(n, 2);
	CHECK_U64(d[0].nr, 2);
	CHECK_U64(w[d[0].waits[0]].tid, 10);
	CHECK_U64(w[d[0].waits[1]].tid, 11);
	CHECK_U64(d[1].nr, 3);
	CHECK_U64(w[d[1].waits[0]].tid, 20);
	CHECK_U64(w[d[1].waits[1]].tid, 22);
	CHECK_U64(w[d[1].waits[2]].tid, 21);
	CHECK(!d[0].cut && !d[1].cut);
	/* more cycles than room: all counted */
	CHECK_U64(deadlock__find(w, sizeof(w) / sizeof(w[0]), d, 1), 2);
}

TEST(deadlock_none_without_a_cycle)
{
	struct lock_open_wait w[] = { ow(1, 0xa, 2), ow(2, 0xb, 3), ow(3, 0xc, 0) };
	struct deadlock d[2];

	CHECK_U64(deadlock__find(w, 3, d, 2), 0);
	CHECK_U64(deadlock__find(w, 0, d, 2), 0);
}

static void push_wait(struct analysis *an, uint32_t type, uint32_t tid, uint64_t t0,
		      uint64_t t1, uint64_t addr, uint32_t val, uint32_t owner, bool known)
{
	struct gs_open_wait_event e = {0};

	e.w.f.hdr.type = type;
	e.w.f.hdr.tid = tid;
	e.w.f.hdr.ts = t0;
	e.w.f.end_ts = t1;
	e.w.f.uaddr = addr;
	e.w.f.val = val;
	e.w.f.owner_tid = owner;
	e.w.frames[0] = 0x401000;
	e.w.nr_frames = 1;
	e.start_known = known;
	analysis__push(an, &e, type == GS_EV_FUTEX_WAIT ? sizeof(e.w) : sizeof(e));
}

/* A wait still open at the end continues the thread's episode: it began
 * with it, and no contended acquisition is counted for it. */
TEST(open_wait_continues_the_episode_and_counts_no_acquisition)
{
	struct lockstats_config cfg = { .cond_probes = true };
	const struct lock_open_wait *w;
	struct lock_stats **locks;
	struct names *nm;
	struct analysis an;

	CHECK(names__new(0, NULL, &nm) == 0);
	CHECK(analysis__new(&an, &cfg, nm) == 0);
	analysis__add_thread(&an, 1);
	analysis__add_thread(&an, 2);
	/* thread 2 waits on 0x1000 (owned by 1), is woken, waits again */
	push_wait(&an, GS_EV_FUTEX_WAIT, 2, 1000, 5000, 0x1000, 2, 1, true);
	push_wait(&an, GS_EV_FUTEX_WAIT_OPEN, 2, 5100, 90000, 0x1000, 2, 1, true);
	/* thread 1 in a wait since before the trace, on a word nobody owns */
	push_wait(&an, GS_EV_FUTEX_WAIT_OPEN, 1, 0, 90000, 0x2000, 0, 0, false);
	analysis__finish(&an, 90000);
	CHECK_U64(lockstats__open_waits(an.locks, &w), 2);
	CHECK_U64(w[0].tid, 1);
	CHECK(!w[0].start_known);
	CHECK_U64(w[0].kind, LOCK_FUTEX);
	CHECK_U64(w[0].owner_tid, 0);
	CHECK_U64(w[1].tid, 2);
	CHECK(w[1].start_known);
	CHECK_U64(w[1].start, 1000);	/* the episode's start */
	CHECK_U64(w[1].end, 90000);
	CHECK_U64(w[1].kind, LOCK_MUTEX);
	CHECK_U64(w[1].owner_tid, 1);
	/* the episode never got its lock: not a contended acquisition */
	CHECK_U64(lockstats__locks(an.locks, &locks), 0);
	analysis__free(&an);
	names__free(nm);
}
