// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The lock analysis on hand-made event streams with known answers. */
#include "testlib.h"
#include "analysis.h"
#include "events.h"
#include "names.h"

#define MS 1000000ULL
#define LOCK_A 0x1000
#define COND_C 0x2000

static struct analysis an;
static struct names *nm;

static void setup(bool mutex_probes)
{
	struct lockstats_config cfg = { .mutex_probes = mutex_probes, .cond_probes = true };

	CHECK(names__new(0, NULL, &nm) == 0);
	CHECK(analysis__new(&an, &cfg, nm) == 0);
}

static void futex(uint32_t type, uint32_t tid, uint64_t t0, uint64_t t1,
		  uint64_t addr, uint32_t val, uint32_t owner, uint64_t frame)
{
	struct gs_futex_wait_event w = {0};
	struct gs_futex_event *e = &w.f;

	e->hdr.type = type;
	e->hdr.tid = tid;
	e->hdr.ts = t0;
	e->end_ts = t1;
	e->uaddr = addr;
	e->op = type == GS_EV_FUTEX_WAIT ? GS_FUTEX_WAIT | 128 : GS_FUTEX_WAKE | 128;
	e->val = val;
	e->owner_tid = owner;
	w.frames[0] = frame;
	w.nr_frames = frame ? 1 : 0;
	analysis__push(&an, &w, type == GS_EV_FUTEX_WAIT ? sizeof(w) : sizeof(*e));
}

static void lockev(uint32_t type, uint32_t tid, uint64_t ts, uint64_t addr)
{
	struct gs_lock_event e = {0};

	e.hdr.type = type;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.addr = addr;
	analysis__push(&an, &e, sizeof(e));
}

static void condev(uint32_t type, uint32_t tid, uint64_t ts, uint64_t cond,
		   uint64_t mutex, int ret)
{
	struct gs_cond_event e = {0};

	e.hdr.type = type;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.cond = cond;
	e.mutex = mutex;
	e.ret = ret;
	analysis__push(&an, &e, sizeof(e));
}

static struct lock_stats *find_lock(uint64_t addr)
{
	struct lock_stats **locks;
	size_t n = lockstats__locks(an.locks, &locks);

	for (size_t i = 0; i < n; i++)
		if (locks[i]->addr == addr)
			return locks[i];
	return NULL;
}

static struct thread_stats *find_thread(uint32_t tid)
{
	struct thread_stats **t;
	size_t n = lockstats__threads(an.locks, &t);

	for (size_t i = 0; i < n; i++)
		if (t[i]->tid == tid)
			return t[i];
	return NULL;
}

static void teardown(void)
{
	analysis__free(&an);
	names__free(nm);
}

/* Contended mode: thread 2 waits twice (one episode of two futex calls,
 * then a second episode after its release), owner is thread 1. */
TEST(lockstats_futex_episodes_merge_retries)
{
	struct lock_stats *l;

	setup(false);
	lockstats__add_thread(an.locks, 1);
	futex(GS_EV_FUTEX_WAIT, 2, 10 * MS, 12 * MS, LOCK_A, 2, 1, 0xabc);
	futex(GS_EV_FUTEX_WAIT, 2, 12 * MS + 100, 15 * MS, LOCK_A, 2, 1, 0xabc);
	futex(GS_EV_FUTEX_WAKE, 1, 14 * MS, 14 * MS + 500, LOCK_A, 1, 0, 0);
	futex(GS_EV_FUTEX_WAKE, 2, 16 * MS, 16 * MS + 500, LOCK_A, 1, 0, 0);
	futex(GS_EV_FUTEX_WAIT, 2, 20 * MS, 21 * MS, LOCK_A, 2, 1, 0xdef);
	analysis__finish(&an, 30 * MS);
	l = find_lock(LOCK_A);
	CHECK(l);
	CHECK_I64(l->kind, LOCK_MUTEX);	/* val 2, owner is a known thread */
	CHECK_U64(l->contended, 2);
	CHECK_U64(l->wait.total, 5 * MS + 1 * MS);
	CHECK_U64(l->wait.max, 5 * MS);
	CHECK(!l->acquisitions_known);
	CHECK(!l->hold_known);
	CHECK_U64(l->wakes, 2);
	CHECK_U64(l->nr_callers, 2);
	CHECK_U64(l->callers[0].frames[0], 0xabc);	/* most wait first */
	CHECK_U64(find_thread(2)->lock_wait_ns, 6 * MS);
	CHECK_U64(find_thread(1)->lock_wait_ns, 0);
	teardown();
}

/* A futex waited on with another value, owner not a thread: plain futex. */
TEST(lockstats_plain_futex_kind)
{
	setup(false);
	futex(GS_EV_FUTEX_WAIT, 7, 1 * MS, 3 * MS, LOCK_A, 0, 123456, 0);
	analysis__finish(&an, 10 * MS);
	CHECK_I64(find_lock(LOCK_A)->kind, LOCK_FUTEX);
	teardown();
}

/* All mode: lock/unlock uprobes give acquisitions and holds; a contended
 * acquisition's wait starts at the lock call and ends at the futex exit. */
TEST(lockstats_all_mode_holds_and_acquisitions)
{
	struct lock_stats *l;

	setup(true);
	lockev(GS_EV_MUTEX_LOCK, 1, 1 * MS, LOCK_A);		/* uncontended */
	lockev(GS_EV_MUTEX_LOCK, 2, 2 * MS, LOCK_A);		/* will wait */
	futex(GS_EV_FUTEX_WAIT, 2, 2 * MS + 10, 11 * MS, LOCK_A, 2, 1, 0x1);
	lockev(GS_EV_MUTEX_UNLOCK, 1, 11 * MS - 100, LOCK_A);	/* hold 10ms-100 */
	lockev(GS_EV_MUTEX_UNLOCK, 2, 12 * MS, LOCK_A);		/* hold 1 ms */
	analysis__finish(&an, 20 * MS);
	l = find_lock(LOCK_A);
	CHECK(l);
	CHECK_I64(l->kind, LOCK_MUTEX);
	CHECK(l->acquisitions_known && l->hold_known);
	CHECK_U64(l->acquisitions, 2);
	CHECK_U64(l->contended, 1);
	CHECK_U64(l->wait.total, 9 * MS);
	CHECK_U64(l->hold.total, 10 * MS - 100 + 1 * MS);
	CHECK_U64(l->hold.max, 10 * MS - 100);
	CHECK_U64(find_thread(1)->lock_hold_ns, 10 * MS - 100);
	CHECK_U64(find_thread(2)->lock_hold_ns, 1 * MS);
	CHECK_U64(l->unmatched_unlocks, 0);
	teardown();
}

/* pthread_cond_wait releases and re-takes its mutex inside glibc; its own
 * futex waits belong to the condvar, not to a "futex" row. */
TEST(lockstats_condvar_wait_and_mutex_handover)
{
	struct lock_stats *c, *m;

	setup(true);
	lockev(GS_EV_MUTEX_LOCK, 3, 1 * MS, LOCK_A);
	condev(GS_EV_COND_WAIT, 3, 2 * MS, COND_C, LOCK_A, 0);	/* hold 1 ms */
	futex(GS_EV_FUTEX_WAIT, 3, 2 * MS + 50, 7 * MS, COND_C + 8, 0, 0, 0x2);
	condev(GS_EV_COND_WAIT_RET, 3, 7 * MS + 50, 0, 0, 0);
	lockev(GS_EV_MUTEX_UNLOCK, 3, 9 * MS + 50, LOCK_A);	/* hold 2 ms */
	analysis__finish(&an, 20 * MS);
	c = find_lock(COND_C);
	m = find_lock(LOCK_A);
	CHECK(c && m);
	CHECK(find_lock(COND_C + 8) == NULL);
	CHECK_I64(c->kind, LOCK_CONDVAR);
	CHECK_U64(c->acquisitions, 1);
	CHECK_U64(c->contended, 1);
	CHECK_U64(c->wait.total, 5 * MS + 50);
	CHECK_U64(find_thread(3)->cond_wait_ns, 5 * MS + 50);
	CHECK_U64(find_thread(3)->lock_wait_ns, 0);
	CHECK_I64(m->kind, LOCK_MUTEX);
	CHECK_U64(m->acquisitions, 2);
	CHECK_U64(m->hold.total, 3 * MS);
	teardown();
}

/* The ring buffer hands records over out of time order; the analysis
 * must see them sorted (by the futex call's end for futex records). */
TEST(lockstats_out_of_order_input_is_sorted)
{
	struct lock_stats *l;

	setup(true);
	futex(GS_EV_FUTEX_WAIT, 2, 2 * MS + 10, 11 * MS, LOCK_A, 2, 1, 0x1);
	lockev(GS_EV_MUTEX_UNLOCK, 2, 12 * MS, LOCK_A);
	lockev(GS_EV_MUTEX_LOCK, 2, 2 * MS, LOCK_A);
	analysis__finish(&an, 20 * MS);
	l = find_lock(LOCK_A);
	CHECK_U64(l->acquisitions, 1);
	CHECK_U64(l->hold.total, 1 * MS);
	CHECK_U64(l->wait.total, 9 * MS);
	teardown();
}

TEST(lockstats_rejects_malformed_records)
{
	struct gs_lock_event e = {0};

	setup(false);
	e.hdr.type = 999;
	analysis__push(&an, &e, sizeof(e));
	e.hdr.type = GS_EV_FUTEX_WAIT;	/* a lock-sized futex wait record */
	analysis__push(&an, &e, sizeof(e));
	analysis__push(&an, &e, 3);
	CHECK_U64(an.malformed, 3);
	CHECK_U64(an.recorded, 0);
	teardown();
}

/* Thread names follow renames and exits. */
TEST(lockstats_thread_names_from_events)
{
	struct gs_thread_event t = {0};

	setup(false);
	t.hdr.type = GS_EV_THREAD_RENAME;
	t.hdr.tid = 5;
	t.hdr.ts = 1;
	strcpy(t.comm, "worker");
	analysis__push(&an, &t, sizeof(t));
	t.hdr.type = GS_EV_THREAD_EXIT;
	t.hdr.ts = 2;
	strcpy(t.comm, "worker-done");
	analysis__push(&an, &t, sizeof(t));
	analysis__finish(&an, 3);
	CHECK_STR(names__thread(nm, 5), "worker-done");
	CHECK(find_thread(5)->exited);
	teardown();
}
