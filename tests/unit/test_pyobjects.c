// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python objects' rows in the lock table (lockstats.c, "Python objects'
 * rows"): waits of threading's and queue's objects grouped by the `self`
 * BPF read in their frames, whatever futex they slept on; and pykind's
 * reading of the frames that decides it.
 */
#include "testlib.h"
#include "analysis.h"
#include "events.h"
#include "names.h"
#include "pykind.h"
#include "pyread.h"
#include "report_py.h"

#define MS 1000000ULL
#define FUTEX_F	0x7f0000001000ULL	/* a semaphore malloc gives every waiter lock */
#define FUTEX_G	0x7f0000002000ULL
#define COND_A	0x7f1000000100ULL	/* Python objects: the selves */
#define COND_B	0x7f1000000200ULL
#define EVENT_E	0x7f1000000300ULL
#define QUEUE_Q	0x7f1000000400ULL
#define BARRIER	0x7f1000000500ULL
#define GIL_COND	0x9020ULL
#define GIL_MUTEX	(GIL_COND + 48)

/* 3.11+ frames (qualnames) and 3.8 - 3.10's (names only) */
#define TH	"/usr/lib/python3.11/threading.py"
#define QU	"/usr/lib/python3.11/queue.py"
#define TH10	"/usr/lib/python3.10/threading.py"
static const char *const COND_WAIT = "Condition.wait (" TH ":320)";
static const char *const EVENT_WAIT = "Event.wait (" TH ":629)";
static const char *const QUEUE_GET = "Queue.get (" QU ":171)";
static const char *const WORKER = "worker (/srv/app.py:12)";
static const char *const WAITER = "waiter (/srv/app.py:30)";
static const char *const RUN = "Thread.run (" TH ":982)";

static struct analysis an;
static struct names *nm;
static const char *codes[64];	/* fake code objects, by name */
static int nr_codes;

static void setup(void)
{
	struct lockstats_config cfg = { .cond_probes = true };
	struct gil_config gc = { .mutex = GIL_MUTEX, .cond = GIL_COND, .interval_us = 5000,
				 .start_ts = 1 };

	CHECK(names__new(0, NULL, &nm) == 0);
	CHECK(analysis__new(&an, &cfg, nm) == 0);
	CHECK(analysis__add_gil(&an, &gc) == 0);
	nr_codes = 0;
}

static void teardown(void)
{
	analysis__free(&an);
	names__free(nm);
}

/* The code object of the function @name is in (one per distinct name),
 * named as pyread would name it. */
static uint64_t code_of(const char *name)
{
	int i;

	for (i = 0; i < nr_codes && strcmp(codes[i], name); i++)
		;
	if (i == nr_codes) {
		CHECK(nr_codes < 64);
		codes[nr_codes++] = name;
		names__set_pyframe(nm, pyread_frame_key(0x100000 + 0x1000 * i,
							0x100000 + 0x1000 * i + 0x40), name);
	}
	return 0x100000 + 0x1000 * i;
}

/* A frame of the walk: a named one with its first local, or an entry
 * frame (name NULL) */
struct fr {
	const char *name;
	uint64_t self;
};

/* Thread @tid's Python stack as its futex wait on @futex begins at @ts. */
static void pystack(uint32_t tid, uint64_t ts, uint64_t futex, const struct fr *f, int nr)
{
	struct gs_py_stack_event e = {0};

	e.hdr.type = GS_EV_PY_STACK;
	e.hdr.tid = tid;
	e.hdr.ts = ts;
	e.kind = GS_PY_LOCK_WAIT;
	e.of_tid = tid;
	e.addr = futex;
	e.tstate = 0x5000;
	e.nr_frames = nr;
	for (int i = 0; i < nr; i++) {
		if (f[i].name) {
			e.frames[i].code = code_of(f[i].name);
			e.frames[i].instr = e.frames[i].code + 0x40;
		} else {
			e.frames[i].code = 0x7000;
			e.frames[i].instr = GS_PY_ENTRY_FRAME;
		}
		if (i < GS_PY_SELF_FRAMES)
			e.self[i] = f[i].self;
	}
	analysis__push(&an, &e, sizeof(e));
}

static void futex(uint32_t type, uint32_t tid, uint64_t t0, uint64_t t1, uint64_t addr,
		  uint32_t val)
{
	struct gs_futex_wait_event w = {0};

	w.f.hdr.type = type;
	w.f.hdr.tid = tid;
	w.f.hdr.ts = t0;
	w.f.end_ts = t1;
	w.f.uaddr = addr;
	w.f.op = type == GS_EV_FUTEX_WAIT ? GS_FUTEX_WAIT_BITSET | 128 : GS_FUTEX_WAKE | 128;
	w.f.val = val;
	w.frames[0] = 0x401000;
	w.nr_frames = 1;
	analysis__push(&an, &w, type == GS_EV_FUTEX_WAIT ? sizeof(w) : sizeof(w.f));
}

/* A Python-level wait: its stack, then its futex wait [t0, t1] (val 0: a
 * semaphore's). */
static void pywait(uint32_t tid, uint64_t t0, uint64_t t1, uint64_t addr, const struct fr *f,
		   int nr)
{
	pystack(tid, t0, addr, f, nr);
	futex(GS_EV_FUTEX_WAIT, tid, t0, t1, addr, 0);
}

/* The thread takes the GIL back (take_gil's signal of switch_cond). */
static void gil_take(uint32_t tid, uint64_t ts)
{
	struct gs_gil_event g = {0};

	g.hdr.type = GS_EV_GIL_ACQUIRED;
	g.hdr.tid = tid;
	g.hdr.ts = ts;
	g.mutex = GIL_MUTEX;
	g.switch_number = ts;
	g.holder = 0x5000 + tid;
	g.locked = 1;
	analysis__push(&an, &g, sizeof(g));
}

static struct lock_stats *find_lock(uint64_t key)
{
	struct lock_stats **locks;
	size_t n = lockstats__locks(an.locks, &locks);

	for (size_t i = 0; i < n; i++)
		if (locks[i]->addr == key)
			return locks[i];
	return NULL;
}

static uint64_t callers_count(const struct lock_stats *l)
{
	uint64_t n = 0;

	for (size_t i = 0; i < l->nr_callers; i++)
		n += l->callers[i].count;
	return n;
}

/* Before 3.13 a Condition's waiter lock is a semaphore freed after each
 * wait, and malloc gives the next one (of this Condition or another) the
 * same address: one thread waits on A, A, B, A, B, all on futex F, the
 * GIL taken back between them.  Two rows, of A and of B, with their own
 * waits exactly; none of F. */
TEST(pyobj_conditions_on_one_reused_futex)
{
	const struct fr a[] = { { COND_WAIT, COND_A }, { WORKER, 0 }, { RUN, 0x55 } };
	const struct fr b[] = { { COND_WAIT, COND_B }, { WAITER, 0 }, { RUN, 0x55 } };
	const struct { const struct fr *f; uint64_t len; } seq[] = {
		{ a, 3 * MS }, { a, 5 * MS }, { b, 7 * MS }, { a, 11 * MS }, { b, 13 * MS },
	};
	struct lock_stats *la, *lb;
	uint64_t t = 10 * MS;

	setup();
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		pywait(7, t, t + seq[i].len, FUTEX_F, seq[i].f, 3);
		gil_take(7, t + seq[i].len + 1000);
		t += seq[i].len + 2 * MS;
	}
	analysis__finish(&an, t);
	la = find_lock(LOCK_PYOBJ | COND_A);
	lb = find_lock(LOCK_PYOBJ | COND_B);
	CHECK(la && lb);
	CHECK(!find_lock(FUTEX_F));
	CHECK_U64(la->py_object, COND_A);
	CHECK_STR(la->py_kind, "threading.Condition");
	CHECK_U64(la->contended, 3);
	CHECK_U64(la->wait.nr, 3);
	CHECK_U64(la->wait.total, 19 * MS);
	CHECK_U64(la->wait.max, 11 * MS);
	CHECK_U64(callers_count(la), 3);
	CHECK_U64(lb->contended, 2);
	CHECK_U64(lb->wait.total, 20 * MS);
	CHECK_U64(callers_count(lb), 2);
	teardown();
}

/* glibc's retry (the futex returned, the token was taken, it waits
 * again: same stack, nothing of the thread between) stays one wait of
 * the object; a wait after the thread took the GIL back is another one,
 * on the same address; so is one of another object with no GIL take
 * between (a recording that lost it). */
TEST(pyobj_retry_is_one_wait_a_new_wait_is_not)
{
	const struct fr a[] = { { COND_WAIT, COND_A }, { WORKER, 0 } };
	const struct fr b[] = { { COND_WAIT, COND_B }, { WORKER, 0 } };
	struct lock_stats *la, *lb;

	setup();
	pywait(7, 10 * MS, 12 * MS, FUTEX_F, a, 2);
	pywait(7, 12 * MS + 500, 15 * MS, FUTEX_F, a, 2);	/* the retry */
	gil_take(7, 15 * MS + 1000);
	pywait(7, 20 * MS, 21 * MS, FUTEX_F, a, 2);		/* A again */
	pywait(7, 21 * MS + 500, 24 * MS, FUTEX_F, b, 2);	/* B, no take seen */
	analysis__finish(&an, 30 * MS);
	la = find_lock(LOCK_PYOBJ | COND_A);
	lb = find_lock(LOCK_PYOBJ | COND_B);
	CHECK(la && lb);
	CHECK_U64(la->contended, 2);
	CHECK_U64(la->wait.total, 5 * MS + 1 * MS);
	CHECK_U64(lb->contended, 1);
	CHECK_U64(lb->wait.total, 3 * MS - 500);
	teardown();
}

/* A queue's consumer waits in its not_empty Condition: the queue is the
 * object (the outermost of the frames that wait on their self), named
 * by its kind, the method, and the first frame outside the standard
 * library.  The producer's wakes of the futex go to the queue's row. */
TEST(pyobj_queue_get_is_the_queue)
{
	const struct fr f[] = { { COND_WAIT, 0x7f1000000480ULL }, { QUEUE_GET, QUEUE_Q },
				{ WORKER, 0 }, { RUN, 0x55 } };
	struct lock_stats *l;
	char name[256];

	setup();
	for (int i = 0; i < 4; i++) {
		uint64_t t = (10 + 10 * i) * MS;

		pystack(7, t, i % 2 ? FUTEX_F : FUTEX_G, f, 4);
		futex(GS_EV_FUTEX_WAKE, 8, t + 4 * MS, t + 4 * MS + 100, i % 2 ? FUTEX_F : FUTEX_G, 1);
		futex(GS_EV_FUTEX_WAIT, 7, t, t + 5 * MS, i % 2 ? FUTEX_F : FUTEX_G, 0);
		gil_take(7, t + 6 * MS);
	}
	analysis__finish(&an, 60 * MS);
	l = find_lock(LOCK_PYOBJ | QUEUE_Q);
	CHECK(l);
	CHECK(!find_lock(LOCK_PYOBJ | 0x7f1000000480ULL));
	CHECK(!find_lock(FUTEX_F) && !find_lock(FUTEX_G));
	CHECK_U64(l->contended, 4);
	CHECK_U64(l->wait.total, 20 * MS);
	CHECK_U64(l->wakes, 4);
	CHECK_STR(l->py_kind, "queue.Queue");
	CHECK_STR(report_py_lock_name(&an, nm, l, true, name, sizeof(name)),
		  "queue.Queue 0x7f1000000400 (get, worker at app.py:12)");
	CHECK_STR(report_py_lock_name(&an, nm, l, false, name, sizeof(name)),
		  "queue.Queue (get, worker at app.py:12)");
	teardown();
}

/* 3.8 - 3.10 frames have names only: threading.py's three wait()s told
 * apart by the frame each called (Event.wait calls its Condition's
 * wait(), Barrier.wait _wait()).  A Condition's and an Event's waits on
 * one reused semaphore go to two rows of their own kinds; a Barrier's
 * object frame is the fourth of the walk, the last that keeps a self. */
TEST(pyobj_3_10_waits_told_apart)
{
	const struct fr c[] = { { "wait (" TH10 ":312)", COND_A }, { WAITER, 0 } };
	const struct fr e[] = { { "wait (" TH10 ":312)", 0x7f1000000380ULL },
				{ "wait (" TH10 ":607)", EVENT_E }, { WAITER, 0 } };
	const struct fr b[] = { { "wait (" TH10 ":312)", 0x7f1000000580ULL },
				{ "wait_for (" TH10 ":343)", 0x7f1000000580ULL },
				{ "_wait (" TH10 ":689)", 0x7f1000000590ULL },
				{ "wait (" TH10 ":659)", BARRIER }, { WAITER, 0 } };
	struct lock_stats *l;
	char name[256];

	setup();
	pywait(7, 10 * MS, 12 * MS, FUTEX_F, c, 2);
	gil_take(7, 12 * MS + 100);
	pywait(7, 13 * MS, 16 * MS, FUTEX_F, e, 3);
	gil_take(7, 16 * MS + 100);
	pywait(7, 17 * MS, 21 * MS, FUTEX_F, c, 2);
	gil_take(7, 21 * MS + 100);
	pywait(7, 22 * MS, 27 * MS, FUTEX_F, b, 5);
	analysis__finish(&an, 30 * MS);
	l = find_lock(LOCK_PYOBJ | COND_A);
	CHECK(l);
	CHECK_STR(l->py_kind, "threading.Condition");
	CHECK_U64(l->contended, 2);
	CHECK_U64(l->wait.total, 6 * MS);
	l = find_lock(LOCK_PYOBJ | EVENT_E);
	CHECK(l);
	CHECK_STR(l->py_kind, "threading.Event");
	CHECK_U64(l->contended, 1);
	CHECK_U64(l->wait.total, 3 * MS);
	CHECK_STR(report_py_lock_name(&an, nm, l, false, name, sizeof(name)),
		  "threading.Event (wait, waiter at app.py:30)");
	l = find_lock(LOCK_PYOBJ | BARRIER);
	CHECK(l);
	CHECK_STR(l->py_kind, "threading.Barrier");
	CHECK_U64(l->wait.total, 5 * MS);
	CHECK(!find_lock(FUTEX_F));
	teardown();
}

/* Where the walk's frames begin with an interpreter entry frame (3.12+),
 * self[] still follows the walk's own numbering; an object frame past
 * the frames that keep a self gives way to the outermost within them. */
TEST(pyobj_entry_frames_and_the_frames_kept)
{
	const struct fr f[] = { { NULL, 0x99 }, { COND_WAIT, COND_A }, { WORKER, 0 } };
	const struct fr deep[] = { { COND_WAIT, COND_B }, { "Condition.wait_for (" TH ":355)", COND_B },
				   { "Barrier._wait (" TH ":713)", 0x7f1000000590ULL },
				   { NULL, 0 }, { "Barrier.wait (" TH ":679)", BARRIER },
				   { WAITER, 0 } };
	struct lock_stats *l;

	setup();
	pywait(7, 10 * MS, 12 * MS, FUTEX_F, f, 3);
	gil_take(7, 12 * MS + 100);
	pywait(7, 13 * MS, 17 * MS, FUTEX_F, deep, 6);
	analysis__finish(&an, 30 * MS);
	l = find_lock(LOCK_PYOBJ | COND_A);
	CHECK(l && l->contended == 1 && l->wait.total == 2 * MS);
	CHECK(!find_lock(LOCK_PYOBJ | BARRIER));
	l = find_lock(LOCK_PYOBJ | COND_B);
	CHECK(l && l->contended == 1 && l->wait.total == 4 * MS);
	CHECK_STR(l->py_kind, "threading.Condition");
	teardown();
}

/* What is not a Python object's wait stays on its futex: a pthread
 * mutex's (val 2: malloc's arena lock, met inside Condition.wait), one
 * whose self was not read, one in no standard-library wait; and with no
 * Python stack at all nothing changes. */
TEST(pyobj_other_waits_keep_their_futex)
{
	const struct fr cond[] = { { COND_WAIT, COND_A }, { WORKER, 0 } };
	const struct fr noself[] = { { COND_WAIT, 0 }, { WORKER, 0 } };
	const struct fr mine[] = { { WORKER, 0x1234 }, { RUN, 0x55 } };
	struct lock_stats *l;

	setup();
	pystack(7, 10 * MS, FUTEX_F, cond, 2);
	futex(GS_EV_FUTEX_WAIT, 7, 10 * MS, 11 * MS, FUTEX_F, 2);
	gil_take(7, 11 * MS + 100);
	pywait(7, 12 * MS, 14 * MS, FUTEX_G, noself, 2);
	gil_take(7, 14 * MS + 100);
	pywait(7, 15 * MS, 18 * MS, FUTEX_G + 8, mine, 2);
	futex(GS_EV_FUTEX_WAIT, 9, 20 * MS, 24 * MS, FUTEX_G + 16, 0);
	analysis__finish(&an, 30 * MS);
	CHECK(!find_lock(LOCK_PYOBJ | COND_A));
	CHECK(!find_lock(LOCK_PYOBJ | 0x1234));
	l = find_lock(FUTEX_F);
	CHECK(l && l->contended == 1 && l->wait.total == 1 * MS && !l->py_object);
	l = find_lock(FUTEX_G);
	CHECK(l && l->contended == 1 && l->wait.total == 2 * MS);
	l = find_lock(FUTEX_G + 8);
	CHECK(l && l->contended == 1);
	l = find_lock(FUTEX_G + 16);
	CHECK(l && l->contended == 1 && l->wait.total == 4 * MS);
	teardown();
}

/* pykind on its own: the object frames and their kinds. */
TEST(pykind_object_frames)
{
	const char *q[] = { COND_WAIT, QUEUE_GET, WORKER };
	const char *ev[] = { COND_WAIT, EVENT_WAIT, "Thread.start (" TH ":964)", WORKER };
	const char *old_ev[] = { "wait (" TH10 ":312)", "wait (" TH10 ":607)", WORKER };
	const char *old_c[] = { "wait (" TH10 ":312)", WAITER };
	const char *pool[] = { "_worker (/usr/lib/python3.11/concurrent/futures/thread.py:81)",
			       RUN };
	const char *kind;
	struct py_wait_kind k;

	CHECK_I64(py_wait_object(q, 3, &kind), 1);
	CHECK_STR(kind, "queue.Queue");
	CHECK_STR(py_wait_self_kind(q, 0), "threading.Condition");
	CHECK(!py_wait_self_kind(q, 2));
	/* limited to the frames that keep a self */
	CHECK_I64(py_wait_object(q, 1, &kind), 0);
	CHECK_STR(kind, "threading.Condition");
	CHECK_I64(py_wait_object(ev, 4, &kind), 1);
	CHECK_STR(kind, "threading.Event");
	CHECK_I64(py_wait_object(old_ev, 3, &kind), 1);
	CHECK_STR(kind, "threading.Event");
	CHECK_STR(py_wait_self_kind(old_ev, 0), "threading.Condition");
	CHECK_I64(py_wait_object(old_c, 2, &kind), 0);
	CHECK_STR(kind, "threading.Condition");
	/* the executor's worker is idle in a C SimpleQueue: no self of it */
	CHECK_I64(py_wait_object(pool, 2, &kind), -1);
	CHECK(!kind);
	py_wait_kind(pool, 2, &k);
	CHECK_STR(k.kind, "queue.SimpleQueue");
	CHECK(k.idle);
	py_wait_kind(old_ev, 3, &k);
	CHECK_STR(k.kind, "threading.Event");
	py_wait_kind(q, 3, &k);
	CHECK_STR(k.kind, "queue.Queue");
	CHECK(k.idle);
}
