// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The lock and GIL state machines, one copy for both sides: the same
 * events through the user-space side (lockstats, gilstats: every sample
 * kept) and through the BPF-like side (machine_shim.c: fixed tables,
 * histograms, read back the way summary.c reads the maps) must give the
 * same counts, totals and maxima, and percentiles within the histogram's
 * bound (1/32 of the value).  The clang-for-BPF build of the same code is
 * covered by the root integration tests (--summary against ground truth).
 */
#include "testlib.h"
#include "analysis.h"
#include "events.h"
#include "machine_shim.h"
#include "names.h"

#define US 1000ULL
#define MS 1000000ULL
#define LOCK_A 0x1000
#define LOCK_B 0x1040
#define COND_C 0x2000
#define GIL_MUTEX 0x5080
#define GIL_COND 0x5020

/* A stream of records, fed to both sides at the end. */
static union record {
	struct gs_event_hdr hdr;
	struct gs_futex_wait_event w;
	struct gs_lock_event l;
	struct gs_cond_event c;
	struct gs_gil_event g;
	struct gs_thread_event t;
} recs[4096];
static int nr_recs;

static union record *rec(uint32_t type, uint32_t tid, uint64_t ts)
{
	union record *r;

	CHECK(nr_recs < (int)(sizeof(recs) / sizeof(recs[0])));
	r = &recs[nr_recs++];
	memset(r, 0, sizeof(*r));
	r->hdr.type = type;
	r->hdr.tid = tid;
	r->hdr.ts = ts;
	return r;
}

static void futex(uint32_t type, uint32_t tid, uint64_t t0, uint64_t t1, uint64_t addr,
		  uint32_t val, uint32_t owner, uint64_t frame)
{
	union record *r = rec(type, tid, t0);

	r->w.f.end_ts = t1;
	r->w.f.uaddr = addr;
	r->w.f.op = type == GS_EV_FUTEX_WAIT ? GS_FUTEX_WAIT | 128 : GS_FUTEX_WAKE | 128;
	r->w.f.val = val;
	r->w.f.owner_tid = owner;
	if (frame) {
		r->w.frames[0] = frame;
		r->w.frames[1] = frame + 0x100;
		r->w.nr_frames = 2;
	}
}

static void lockev(uint32_t type, uint32_t tid, uint64_t ts, uint64_t addr)
{
	rec(type, tid, ts)->l.addr = addr;
}

static void condev(uint32_t type, uint32_t tid, uint64_t ts, uint64_t cond, uint64_t mutex,
		   int ret)
{
	union record *r = rec(type, tid, ts);

	r->c.cond = cond;
	r->c.mutex = mutex;
	r->c.ret = ret;
}

static void gilev(uint32_t tid, uint64_t ts, bool acquired, uint64_t sn, uint64_t holder)
{
	union record *r = rec(acquired ? GS_EV_GIL_ACQUIRED : GS_EV_GIL_RELEASED, tid, ts);

	r->g.mutex = GIL_MUTEX;
	r->g.switch_number = sn;
	r->g.holder = holder;
	r->g.locked = acquired;
}

static void threadev(uint32_t type, uint32_t tid, uint64_t ts, const char *comm)
{
	strncpy(rec(type, tid, ts)->t.comm, comm, GS_COMM_LEN - 1);
}

/* Both sides' analyses of the stream. */
struct sides {
	struct analysis u, b;
	struct names *nu, *nb;
	uint64_t dropped;
};

static void run_sides(struct sides *s, bool mutex_probes, bool gil, uint64_t end_ts)
{
	static const uint32_t alive[] = { 1, 2 };
	struct lockstats_config lc = { .mutex_probes = mutex_probes, .cond_probes = true };
	struct gil_config gc = { .mutex = GIL_MUTEX, .cond = GIL_COND, .interval_us = 5000,
				 .start_ts = 1 };
	struct shim_config sc = {
		.mutex_probes = mutex_probes, .gil_mutex = gil ? GIL_MUTEX : 0,
		.gil_cond = gil ? GIL_COND : 0, .interval_ns = 5000 * US, .start_ts = 1,
		.tids = alive, .nr_tids = 2,
	};

	CHECK(names__new(0, NULL, &s->nu) == 0);
	CHECK(names__new(0, NULL, &s->nb) == 0);
	CHECK(analysis__new(&s->u, &lc, s->nu) == 0);
	CHECK(analysis__new(&s->b, &lc, s->nb) == 0);
	if (gil) {
		CHECK(analysis__add_gil(&s->u, &gc) == 0);
		CHECK(analysis__add_gil(&s->b, &gc) == 0);
	}
	for (int i = 0; i < 2; i++)
		analysis__add_thread(&s->u, alive[i]);

	for (int i = 0; i < nr_recs; i++)
		analysis__push(&s->u, &recs[i], gs_event_size(recs[i].hdr.type));
	analysis__finish(&s->u, end_ts);

	shim_begin(&sc);
	for (int i = 0; i < nr_recs; i++)
		shim_event(&recs[i].hdr);
	CHECK(shim_read(&s->b, s->nb, &s->dropped) == 0);
	analysis__finish(&s->b, end_ts);
}

static void free_sides(struct sides *s)
{
	analysis__free(&s->u);
	analysis__free(&s->b);
	names__free(s->nu);
	names__free(s->nb);
	nr_recs = 0;
}

/* Count, total and max exact; percentiles within the histogram's bound. */
static void same_samples(const char *what, uint64_t id, struct samples *u, struct samples *b)
{
	static const double pcts[] = { 50, 90, 99, 100 };

	if (b->nr != u->nr || b->total != u->total || b->max != u->max) {
		printf("%s %#llx: n/total/max %zu/%llu/%llu, expected %zu/%llu/%llu\n", what,
		       (unsigned long long)id, b->nr, (unsigned long long)b->total,
		       (unsigned long long)b->max, u->nr, (unsigned long long)u->total,
		       (unsigned long long)u->max);
		exit(TEST_FAIL_EXIT);
	}
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		uint64_t x = samples__pct(u, pcts[i]), y = samples__pct(b, pcts[i]);
		uint64_t d = x > y ? x - y : y - x;

		if (d * 32 > x) {
			printf("%s %#llx: p%g %llu, exact %llu: off by more than 1/32\n", what,
			       (unsigned long long)id, pcts[i], (unsigned long long)y,
			       (unsigned long long)x);
			exit(TEST_FAIL_EXIT);
		}
	}
}

static struct lock_stats *lock_in(struct lock_stats **arr, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (arr[i]->addr == addr)
			return arr[i];
	return NULL;
}

static void same_callers(struct lock_stats *u, struct lock_stats *b)
{
	CHECK_U64(b->nr_callers, u->nr_callers);
	for (size_t i = 0; i < u->nr_callers; i++) {
		const struct lock_caller *x = &u->callers[i], *y = NULL;

		for (size_t k = 0; k < b->nr_callers && !y; k++)
			if (b->callers[k].nr_frames == x->nr_frames &&
			    !memcmp(b->callers[k].frames, x->frames, x->nr_frames * 8))
				y = &b->callers[k];
		CHECK(y);
		CHECK_U64(y->count, x->count);
		CHECK_U64(y->wait_ns, x->wait_ns);
	}
}

static void same_locks(struct sides *s)
{
	struct lock_stats **lu, **lb;
	struct thread_stats **tu, **tb;
	size_t n = lockstats__locks(s->u.locks, &lu), nt;

	CHECK_U64(lockstats__locks(s->b.locks, &lb), n);
	for (size_t i = 0; i < n; i++) {
		struct lock_stats *b = lock_in(lb, n, lu[i]->addr);

		CHECK(b);
		CHECK_U64(b->kind, lu[i]->kind);
		CHECK(!memcmp(&b->fig, &lu[i]->fig, sizeof(b->fig)));
		same_samples("lock wait", b->addr, &lu[i]->wait, &b->wait);
		same_samples("lock hold", b->addr, &lu[i]->hold, &b->hold);
		same_callers(lu[i], b);
	}
	nt = lockstats__threads(s->u.locks, &tu);
	CHECK_U64(lockstats__threads(s->b.locks, &tb), nt);
	for (size_t i = 0; i < nt; i++) {
		CHECK_U64(tb[i]->tid, tu[i]->tid);
		CHECK(!memcmp(&tb[i]->fig, &tu[i]->fig, sizeof(tb[i]->fig)));
	}
}

static void same_gil(struct sides *s)
{
	struct gilstats *u = s->u.gil, *b = s->b.gil;

	CHECK(!memcmp(&b->fig, &u->fig, sizeof(b->fig)));
	CHECK_U64(b->nr_threads, u->nr_threads);
	for (size_t i = 0; i < u->nr_threads; i++) {
		struct gil_thread *x = u->threads[i], *y = b->threads[i];

		CHECK_U64(y->tid, x->tid);
		CHECK(!memcmp(&y->fig, &x->fig, sizeof(y->fig)));
		CHECK(!memcmp(&y->st, &x->st, sizeof(y->st)));
		same_samples("gil wait", x->tid, &x->wait, &y->wait);
		same_samples("gil hold", x->tid, &x->hold, &y->hold);
	}
	CHECK_U64(b->nr_handoffs, u->nr_handoffs);
	for (size_t i = 0; i < u->nr_handoffs; i++) {
		struct gil_handoff *x = &u->handoffs[i];
		struct gil_handoff *y = gilstats__handoff(b, x->from, x->to);

		CHECK_U64(y->count, x->count);
		same_samples("handoff", (uint64_t)x->from << 32 | x->to, &x->latency, &y->latency);
	}
	same_samples("handoffs", 0, &u->handoff_latency, &b->handoff_latency);
}

/* The lock cases of test_lockstats.c in one stream, plus what is still
 * open at the end: an episode whose wait returned, a pending lock call. */
TEST(machines_lock_stream_same_on_both_sides)
{
	struct sides s;

	lockev(GS_EV_MUTEX_LOCK, 1, 1 * MS, LOCK_A);
	lockev(GS_EV_MUTEX_LOCK, 2, 2 * MS, LOCK_A);
	futex(GS_EV_FUTEX_WAIT, 2, 2 * MS + 10, 5 * MS, LOCK_A, 2, 1, 0x401000);
	futex(GS_EV_FUTEX_WAIT, 2, 5 * MS + 10, 9 * MS, LOCK_A, 2, 1, 0x401000);
	lockev(GS_EV_MUTEX_UNLOCK, 1, 8 * MS, LOCK_A);
	futex(GS_EV_FUTEX_WAKE, 1, 8 * MS + 10, 8 * MS + 500, LOCK_A, 1, 0, 0);
	lockev(GS_EV_MUTEX_UNLOCK, 2, 12 * MS, LOCK_A);
	lockev(GS_EV_MUTEX_UNLOCK, 2, 12 * MS + 5, LOCK_B);	/* unmatched */
	lockev(GS_EV_MUTEX_LOCK, 1, 13 * MS, LOCK_A);
	condev(GS_EV_COND_WAIT, 1, 14 * MS, COND_C, LOCK_A, 0);
	futex(GS_EV_FUTEX_WAIT, 1, 14 * MS + 10, 20 * MS, COND_C, 0, 0, 0x402000);
	condev(GS_EV_COND_WAIT_RET, 1, 20 * MS + 100, 0, 0, 0);
	lockev(GS_EV_MUTEX_UNLOCK, 1, 21 * MS, LOCK_A);
	futex(GS_EV_FUTEX_WAIT, 3, 22 * MS, 23 * MS, LOCK_B, 0, 0, 0x403000);	/* plain futex */
	threadev(GS_EV_THREAD_RENAME, 3, 24 * MS, "worker");
	lockev(GS_EV_MUTEX_LOCK, 2, 25 * MS, LOCK_B);
	futex(GS_EV_FUTEX_WAIT, 2, 25 * MS + 10, 26 * MS, LOCK_B, 2, 3, 0x404000);	/* open */
	lockev(GS_EV_MUTEX_LOCK, 1, 27 * MS, LOCK_A);		/* pending */
	threadev(GS_EV_THREAD_EXIT, 3, 28 * MS, "worker");
	run_sides(&s, true, false, 30 * MS);
	CHECK_U64(s.dropped, 0);
	same_locks(&s);
	/* and the stream did what it says: not two empty sides */
	{
		struct lock_stats **l;
		size_t n = lockstats__locks(s.u.locks, &l);
		struct lock_stats *a = lock_in(l, n, LOCK_A);

		CHECK(a && a->contended == 1 && a->acquisitions == 5 && a->hold.nr == 4);
		CHECK(lock_in(l, n, COND_C) && lock_in(l, n, COND_C)->contended == 1);
		CHECK(lock_in(l, n, LOCK_B) && lock_in(l, n, LOCK_B)->unmatched_unlocks == 1);
	}
	free_sides(&s);
}

/* Forced and voluntary drops, a convoy victim, a hold from before the
 * trace, a switch_number gap, a thread's exit. */
TEST(machines_gil_stream_same_on_both_sides)
{
	uint64_t t = 2 * MS, sn = 10;
	struct sides s;

	gilev(1, 1 * MS, false, sn, 0x1000);	/* held since before the trace */
	gilev(2, 1 * MS + 50 * US, true, ++sn, 0x2000);
	for (int i = 0; i < 40; i++) {
		/* thread 2 burns; thread 3 blocks 100 us and waits ~5 ms */
		condev(GS_EV_COND_WAIT, 3, t + 100 * US, GIL_COND, GIL_MUTEX, 0);
		condev(GS_EV_COND_WAIT_RET, 3, t + 5100 * US, 0, 0, GS_ETIMEDOUT);
		condev(GS_EV_COND_WAIT, 3, t + 5110 * US, GIL_COND, GIL_MUTEX, 0);
		gilev(2, t + 5200 * US, false, sn, 0x2000);	/* forced */
		condev(GS_EV_COND_WAIT, 2, t + 5210 * US, GIL_COND, GIL_MUTEX, 0);
		condev(GS_EV_COND_WAIT_RET, 3, t + 5250 * US, 0, 0, 0);
		gilev(3, t + 5260 * US, true, ++sn + (i == 7), 0x3000);	/* a gap at 7 */
		if (i == 7)
			sn++;
		gilev(3, t + 5300 * US, false, sn, 0x3000);	/* voluntary: I/O */
		condev(GS_EV_COND_WAIT_RET, 2, t + 5310 * US, 0, 0, 0);
		gilev(2, t + 5320 * US, true, ++sn, 0x2000);
		t += 5400 * US;
	}
	futex(GS_EV_FUTEX_WAIT, 4, t, t + 30 * US, GIL_MUTEX, 2, 2, 0x405000);
	gilev(2, t + 40 * US, false, sn, 0x2000);
	gilev(4, t + 60 * US, true, ++sn, 0x4000);
	threadev(GS_EV_THREAD_EXIT, 4, t + 2 * MS, "t4");
	run_sides(&s, false, true, t + 3 * MS);
	CHECK_U64(s.dropped, 0);
	same_gil(&s);
	same_locks(&s);
	CHECK(s.u.gil->sn_gaps == 1 && s.u.gil->acquisitions == 82);
	CHECK(gilstats__find(s.u.gil, 3)->convoy_waits == 40);
	CHECK(gilstats__find(s.u.gil, 2)->forced_drops == 40);
	free_sides(&s);
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Durations from 1 ns to ~16 ms, spread over the histogram's slots. */
static uint64_t dur(void)
{
	uint64_t e = rnd() % 24;

	return (1ULL << e) + rnd() % (1ULL << e);
}

/* Any stream, sensible or not: the two sides run one machine, so they
 * must agree on whatever it makes of it. */
static void random_stream(int n)
{
	static const uint64_t addrs[] = { LOCK_A, LOCK_B, COND_C, GIL_MUTEX };
	uint64_t now = 10 * MS, sn = 1;

	for (int i = 0; i < n; i++) {
		uint32_t tid = 1 + rnd() % 4;
		uint64_t a = addrs[rnd() % 4], d = dur();

		switch (rnd() % 10) {
		case 0:
		case 1:
			futex(GS_EV_FUTEX_WAIT, tid, now, now + d, a, rnd() % 3, rnd() % 5,
			      (rnd() % 4) * 0x1000);
			now += d;
			break;
		case 2:
			futex(GS_EV_FUTEX_WAKE, tid, now, now + 1 + d % 100, a, 1, 0, 0);
			now += 1 + d % 100;
			break;
		case 3:
			lockev(GS_EV_MUTEX_LOCK, tid, now, rnd() & 1 ? LOCK_A : LOCK_B);
			break;
		case 4:
			lockev(GS_EV_MUTEX_UNLOCK, tid, now, rnd() & 1 ? LOCK_A : LOCK_B);
			break;
		case 5:
			if (rnd() & 1)
				condev(GS_EV_COND_WAIT, tid, now, GIL_COND, GIL_MUTEX, 0);
			else
				condev(GS_EV_COND_WAIT, tid, now, COND_C, LOCK_A, 0);
			break;
		case 6:
			condev(GS_EV_COND_WAIT_RET, tid, now, 0, 0, rnd() & 1 ? GS_ETIMEDOUT : 0);
			break;
		case 7:
		case 8:
			sn += rnd() % 3;
			gilev(tid, now, rnd() & 1, sn, 0x1000 * (1 + rnd() % 4));
			break;
		case 9:
			if (rnd() % 8 == 0)
				threadev(GS_EV_THREAD_EXIT, tid, now, "x");
			else
				threadev(GS_EV_THREAD_RENAME, tid, now, "y");
			break;
		}
		now += dur();
	}
}

TEST(machines_random_streams_same_on_both_sides)
{
	for (int seed = 1; seed <= 300; seed++) {
		struct sides s;

		rng = 0x9e3779b97f4a7c15ULL * seed;
		random_stream(600);
		run_sides(&s, seed & 1, seed % 3 != 0, ~0ULL >> 2);
		CHECK_U64(s.dropped, 0);
		same_locks(&s);
		if (s.u.gil)
			same_gil(&s);
		free_sides(&s);
	}
}
