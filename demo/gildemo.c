// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gildemo: a tiny interpreter-like program whose global interpreter lock is
 * built exactly like CPython's (3.2 - 3.13, read from Python/ceval_gil.c of
 * 3.11), so that gilscope's figures can be checked against the truth that
 * gildemo measures itself.
 *
 *   - `gildemo_gil` has the layout of CPython's struct _gil_runtime_state,
 *     so the same GIL profile code reads both;
 *   - gil_take() / gil_drop() follow take_gil() / drop_gil(): a mutex and a
 *     condvar guarding a `locked` flag, a timed wait of one switch interval,
 *     the drop request ("eval breaker") and FORCE_SWITCHING's switch_cond;
 *   - "cpu-N" threads run a CPU-bound bytecode loop and honour the drop
 *     request every 64 instructions, like the eval loop; "io-N" threads
 *     release the GIL around blocking calls, like Py_BEGIN_ALLOW_THREADS;
 *   - every take and drop is timed with CLOCK_MONOTONIC (the clock of
 *     bpf_ktime_get_ns): a take from gil_take's entry, a hold from the
 *     signal of switch_cond with locked = 1 to the signal of cond with
 *     locked = 0 (both under the GIL's mutex: where the GIL changes
 *     hands, and where a tracer of its condvars sees it); the totals go
 *     out as one JSON object.
 *
 * The main thread never holds the GIL: it starts the workers and joins
 * them, so every acquisition in the run is a worker's.
 *
 * Shared refcounted objects (--objects N, --gil on|off, --refcount
 * plain|atomic, --refops pair|split), for refcount-race statistics:
 *
 *   - `gildemo_objects[4]` are PyObject-like: `long refcnt` at offset 0
 *     like ob_refcnt, one object per 64-byte cache line. With --objects N
 *     every instruction of every worker (cpu and io threads alike) calls
 *     the out-of-line gildemo_incref() then gildemo_decref() on each of
 *     the first N objects in turn: a borrowed reference taken and given
 *     back, as LOAD_FAST ... POP_TOP do.
 *   - Py_INCREF / Py_DECREF in a default (GIL) CPython build are a plain
 *     `ob_refcnt++` / `ob_refcnt--`: one load, one store, no lock prefix.
 *     That is only correct because every thread touching an object holds
 *     the GIL, which serialises the read-modify-writes and whose mutex
 *     orders them (happens-before) from one holder to the next. --refcount
 *     plain does the same RMW, as a volatile load and a separate volatile
 *     store (the compiler may neither merge nor drop them); with --gil off
 *     the workers never take the GIL, two of them can load the same value,
 *     and one store overwrites the other: an update is lost. --refcount
 *     atomic makes each RMW one __atomic_fetch_add/sub (seq_cst, as
 *     _Py_atomic_add_ssize on a free-threaded build's shared count, a
 *     `lock xadd` on x86): nothing is lost, with or without the GIL.
 *   - Ground truth: each thread counts its own increfs and decrefs per
 *     object in its own tstate (no sharing, so the counting does not touch
 *     the raced cache lines). After the joins, expected = initial +
 *     increfs - decrefs over all threads, actual = refcnt, and net_lost =
 *     expected - actual.
 *   - net_lost is all that one final value tells: a lost increment raises
 *     it by one and a lost decrement lowers it by one, so with --refops
 *     pair (every object gets both) equal numbers of each cancel out and
 *     the split is unknowable (null in the JSON). Shadow counters updated
 *     next to the RMW would change the very race they measure. --refops
 *     split separates them exactly without touching the race itself: each
 *     object gets only one kind of update, even-indexed objects only
 *     increfs and odd-indexed ones only decrefs (with 2 objects, each
 *     instruction moves a reference from object 1 to object 0). On an
 *     incref-only object every store writes one more than some earlier
 *     value, so the final value is initial + the number of increments on
 *     the chain of stores that survived: lost_increments = increfs -
 *     (actual - initial) = net_lost exactly; likewise lost_decrements =
 *     (actual - initial) + decrefs = -net_lost on a decref-only object,
 *     which starts at 2^48 so that it stays a plausible positive count.
 *
 * --objects 0 (the default) leaves every loop as it was: the instruction
 * loop is the same code, specialised at compile time.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#define MAX_THREADS		64
#define DEFAULT_THREADS		2
#define DEFAULT_INTERVAL_US	5000	/* CPython's DEFAULT_INTERVAL */
#define DEFAULT_IO_SLEEP_US	100
/* Instructions per CPU thread by default: with 2 threads serialised by the
 * GIL a run takes about 2 s on the 2-core reference machine (one
 * instruction is ~3.6 ns there). */
#define DEFAULT_WORK		275000000ULL
/* The eval loop looks at the eval breaker every this many instructions. */
#define BREAKER_EVERY		64
/* --duration: the deadline is read every this many instructions (a clock
 * read per 4096 instructions costs well under 1%). */
#define DEADLINE_EVERY		4096
/* An io-N thread runs this many instructions between blocking calls. */
#define IO_BURST		32
/* --objects: how many shared refcounted objects there are at most. */
#define MAX_OBJECTS		4
/* Initial refcnt: 1, a live object with one owner; a decref-only object
 * (--refops split) starts at 2^48 instead, so that even 10^9 decrefs a
 * second for the longest --duration leave it positive. */
#define OBJ_INITIAL		1L
#define OBJ_INITIAL_DECREF_ONLY	(1L << 48)

/* ------------------------------------------------------------------ */
/* The GIL                                                             */
/* ------------------------------------------------------------------ */

struct tstate;

/*
 * CPython's struct _gil_runtime_state (Include/internal/pycore_gil.h),
 * field for field; identical in 3.8 - 3.13 (default builds).
 */
struct gil {
	/* microseconds (the Python API uses seconds): sys.getswitchinterval() */
	unsigned long interval;
	/* Last holder (PyThreadState * in CPython): tells a dropping thread
	 * whether anybody else took the GIL after it. */
	struct tstate *last_holder;
	/* Whether the GIL is taken; -1 before it is created. */
	int locked;
	/* Number of GIL switches since the beginning: bumped by take_gil()
	 * only when the holder changes. */
	unsigned long switch_number;
	/* `cond` wakes the threads waiting in take; `mutex` protects
	 * locked / last_holder / switch_number. */
	pthread_cond_t cond;
	pthread_mutex_t mutex;
	/* FORCE_SWITCHING: a thread dropping on request waits on switch_cond
	 * until another thread has taken the GIL. */
	pthread_cond_t switch_cond;
	pthread_mutex_t switch_mutex;
};

_Static_assert(offsetof(struct gil, interval) == 0, "gil.interval");
_Static_assert(offsetof(struct gil, last_holder) == 8, "gil.last_holder");
_Static_assert(offsetof(struct gil, locked) == 16, "gil.locked");
_Static_assert(offsetof(struct gil, switch_number) == 24, "gil.switch_number");
_Static_assert(offsetof(struct gil, cond) == 32, "gil.cond");
_Static_assert(offsetof(struct gil, mutex) == 80, "gil.mutex");
_Static_assert(offsetof(struct gil, switch_cond) == 120, "gil.switch_cond");
_Static_assert(offsetof(struct gil, switch_mutex) == 168, "gil.switch_mutex");
_Static_assert(sizeof(struct gil) == 208, "sizeof(struct gil)");

/* Global, external linkage: in the symbol table for gilscope to find. */
struct gil gildemo_gil = { .locked = -1 };
/* The drop request (CPython 3.11: ceval2->gil_drop_request, folded into
 * eval_breaker). Set by a waiter whose timed wait expired; polled by the
 * holder without any lock, hence relaxed atomics, as in CPython. */
int gildemo_drop_request;

/* ------------------------------------------------------------------ */
/* Shared refcounted objects                                           */
/* ------------------------------------------------------------------ */

/*
 * A PyObject stand-in: refcnt at offset 0 like ob_refcnt (Py_ssize_t, a
 * long on LP64), a name where ob_type would be. Aligned to 64 bytes, so
 * each object's refcount word has a cache line of its own: two objects
 * never falsely share, and the only contention on a line is the race
 * itself.
 */
struct gildemo_object {
	long refcnt;		/* +0 */
	char name[16];		/* +8 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct gildemo_object, refcnt) == 0, "object.refcnt");
_Static_assert(offsetof(struct gildemo_object, name) == 8, "object.name");
_Static_assert(sizeof(struct gildemo_object) == 64, "sizeof(struct gildemo_object)");

/* Global, external linkage: in the symbol table for a tracer. Only the
 * first --objects N are used; main() sets their initial counts. */
struct gildemo_object gildemo_objects[MAX_OBJECTS] = {
	{ .refcnt = OBJ_INITIAL, .name = "obj-0" },
	{ .refcnt = OBJ_INITIAL, .name = "obj-1" },
	{ .refcnt = OBJ_INITIAL, .name = "obj-2" },
	{ .refcnt = OBJ_INITIAL, .name = "obj-3" },
};

/* ------------------------------------------------------------------ */
/* Per-thread state                                                    */
/* ------------------------------------------------------------------ */

enum tkind { KIND_CPU, KIND_IO };

/* One acquisition, from gil_take's entry to gil_drop's entry. */
struct hold_rec {
	uint64_t take_ns;	/* gil_take entered */
	uint64_t acq_ns;	/* switch_cond signalled, locked = 1 */
	uint64_t rel_ns;	/* cond signalled, locked = 0 */
	uint32_t flags;
};
#define REC_WAITED	1u	/* the take waited on gil.cond */
#define REC_FORCED	2u	/* dropped on request (eval breaker) */
#define REC_RETAKE	4u	/* taken right back: switch_number not bumped */
#define REC_SWITCHWAIT	8u	/* the drop waited on switch_cond */

/*
 * The per-thread state that gil.last_holder points to (PyThreadState's
 * role). tid and name come first, at fixed offsets, so that a tracer
 * reading last_holder can name the holder (like native_thread_id).
 */
struct tstate {
	pid_t tid;		/* +0 */
	int idx;		/* +4 */
	char name[16];		/* +8 */
	enum tkind kind;
	pthread_t thread;

	/* Written only by the owning thread; read by main after the join. */
	uint64_t acquisitions, retakes, waits, timeouts, drop_requests;
	uint64_t forced_drops, voluntary_drops, switch_waits;
	uint64_t held_ns, waited_ns;
	uint64_t instructions, io_ops, checksum;
	uint64_t cpu_ns, start_ns, end_ns;
	uint64_t take_ns, acq_ns;	/* the take in progress / hold in progress */
	bool rec_waited, rec_retake;
	struct hold_rec *recs;
	size_t nr_recs, cap_recs;
	bool recs_full;			/* out of memory: stopped recording */

	/* io-N threads, --io echo: the two ends of the socketpair */
	int echo_fd, peer_fd;
	pthread_t echo_thread;

	/* --objects: this thread's own calls, per object (ground truth) */
	uint64_t increfs[MAX_OBJECTS], decrefs[MAX_OBJECTS];
} __attribute__((aligned(64)));	/* no false sharing between threads */

_Static_assert(offsetof(struct tstate, tid) == 0, "tstate.tid");
_Static_assert(offsetof(struct tstate, name) == 8, "tstate.name");

/* ------------------------------------------------------------------ */
/* Options and run-wide state                                          */
/* ------------------------------------------------------------------ */

enum io_mode { IO_SLEEP, IO_ECHO };
enum refcount_mode { REFCOUNT_PLAIN, REFCOUNT_ATOMIC };
enum refops { REFOPS_PAIR, REFOPS_SPLIT };

static struct {
	int threads, io_threads;
	uint64_t work;			/* 0: no limit (--duration alone) */
	double duration;		/* seconds; 0: none */
	unsigned long interval_us;
	unsigned long io_sleep_us;
	enum io_mode io;
	const char *json, *events;
	unsigned long pause_ms;
	uint64_t seed;
	int objects;			/* 0: no shared objects (default) */
	bool gil;			/* --gil on (default) / off */
	enum refcount_mode refcount;
	enum refops refops;
} opt = {
	.gil = true,
	.refcount = REFCOUNT_PLAIN,
	.refops = REFOPS_PAIR,
	.threads = DEFAULT_THREADS,
	.interval_us = DEFAULT_INTERVAL_US,
	.io_sleep_us = DEFAULT_IO_SLEEP_US,
	.io = IO_SLEEP,
	.json = "-",
	.seed = 1,
};

static struct tstate *tstates;		/* cpu threads, then io threads */
static pthread_barrier_t start_barrier;
static uint64_t deadline_ns;		/* --duration; 0: none */
static int cpu_running;			/* io threads stop when it hits 0 */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("gildemo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* CPython's MUTEX_LOCK & co.: any failure is fatal (Py_FatalError). */
static inline void xlock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	if (err)
		die("pthread_mutex_lock: %s", strerror(err));
}

static inline void xunlock(pthread_mutex_t *m)
{
	int err = pthread_mutex_unlock(m);

	if (err)
		die("pthread_mutex_unlock: %s", strerror(err));
}

static inline void xsignal(pthread_cond_t *c)
{
	int err = pthread_cond_signal(c);

	if (err)
		die("pthread_cond_signal: %s", strerror(err));
}

/* The clock of bpf_ktime_get_ns(); a vDSO call, ~20 ns. */
static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* take / drop                                                         */
/* ------------------------------------------------------------------ */

/*
 * create_gil(): CPython's _PyThread_cond_init() gives its condvars the
 * CLOCK_MONOTONIC attribute where pthread_condattr_setclock() exists (it
 * does on Linux), so the timed wait in take_gil() is immune to wall-clock
 * steps. We do the same: pthread_cond_timedwait() with an absolute
 * CLOCK_MONOTONIC deadline.
 */
static void gil_init(unsigned long interval_us)
{
	struct gil *gil = &gildemo_gil;
	pthread_condattr_t ca;
	int err;

	if ((err = pthread_condattr_init(&ca)) ||
	    (err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) ||
	    (err = pthread_mutex_init(&gil->mutex, NULL)) ||
	    (err = pthread_mutex_init(&gil->switch_mutex, NULL)) ||
	    (err = pthread_cond_init(&gil->cond, &ca)) ||
	    (err = pthread_cond_init(&gil->switch_cond, &ca)))
		die("creating the GIL: %s", strerror(err));
	pthread_condattr_destroy(&ca);
	gil->interval = interval_us;
	__atomic_store_n(&gil->last_holder, NULL, __ATOMIC_RELAXED);
	/* locked goes from -1 (not created) to 0, with release semantics */
	__atomic_store_n(&gil->locked, 0, __ATOMIC_RELEASE);
}

static void rec_push(struct tstate *ts, const struct hold_rec *r)
{
	if (ts->nr_recs == ts->cap_recs) {
		size_t cap = ts->cap_recs ? ts->cap_recs * 2 : 1024;
		struct hold_rec *n;

		if (ts->recs_full)
			return;
		n = realloc(ts->recs, cap * sizeof(*n));
		if (!n) {
			ts->recs_full = true;
			return;
		}
		ts->recs = n;
		ts->cap_recs = cap;
	}
	ts->recs[ts->nr_recs++] = *r;
}

/*
 * take_gil(tstate), CPython 3.11.
 *
 * noinline/noclone/used: one out-of-line copy under its own name, with
 * its real signature, for uprobes (CPython builds also show clones such
 * as take_gil.constprop.0; we want none).
 */
__attribute__((noinline, noclone, used))
void gil_take(struct tstate *ts)
{
	/* Ground truth: first thing in, as an entry uprobe would see it. */
	uint64_t t0 = now_ns();
	struct gil *gil = &gildemo_gil;
	bool waited = false;
	int saved_errno = errno;	/* take_gil() preserves errno too */

	xlock(&gil->mutex);

	while (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED)) {
		/* The switch count when this wait began: if it has not moved
		 * when the wait times out, nobody got the GIL for a whole
		 * interval, and the holder is asked to drop it. */
		unsigned long saved_switchnum = gil->switch_number;
		unsigned long interval = gil->interval >= 1 ? gil->interval : 1;
		uint64_t abs_ns = now_ns() + (uint64_t)interval * 1000;
		struct timespec abs = {
			.tv_sec = (time_t)(abs_ns / 1000000000ULL),
			.tv_nsec = (long)(abs_ns % 1000000000ULL),
		};
		int err;

		waited = true;
		/* COND_TIMED_WAIT(gil->cond, gil->mutex, interval, timed_out) */
		err = pthread_cond_timedwait(&gil->cond, &gil->mutex, &abs);
		if (err == ETIMEDOUT) {
			ts->timeouts++;
			if (__atomic_load_n(&gil->locked, __ATOMIC_RELAXED) &&
			    gil->switch_number == saved_switchnum) {
				/* SET_GIL_DROP_REQUEST(interp) */
				__atomic_store_n(&gildemo_drop_request, 1,
						 __ATOMIC_RELAXED);
				ts->drop_requests++;
			}
		} else if (err) {
			die("pthread_cond_timedwait: %s", strerror(err));
		}
	}

	/* _ready: FORCE_SWITCHING: switch_mutex must be held while
	 * last_holder changes, see gil_drop(). */
	xlock(&gil->switch_mutex);
	/* We now hold the GIL */
	__atomic_store_n(&gil->locked, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&gil->last_holder, __ATOMIC_RELAXED) != ts) {
		__atomic_store_n(&gil->last_holder, ts, __ATOMIC_RELAXED);
		/* Like CPython, only a change of holder counts as a switch:
		 * a thread taking the GIL right back after a voluntary drop,
		 * with nobody in between, does not bump it. */
		++gil->switch_number;
		ts->rec_retake = false;
	} else {
		ts->retakes++;
		ts->rec_retake = true;
	}
	/* Ground truth: the hold begins as the take is announced on
	 * switch_cond, locked = 1 and the switch counted, under the GIL's
	 * mutex (where a tracer of the GIL's condvars sees it). */
	ts->acq_ns = now_ns();
	xsignal(&gil->switch_cond);
	xunlock(&gil->switch_mutex);

	/* A pending drop request was aimed at the previous holder (3.11 keeps
	 * one flag per interpreter): it is satisfied now. RESET_GIL_DROP_REQUEST */
	if (__atomic_load_n(&gildemo_drop_request, __ATOMIC_RELAXED))
		__atomic_store_n(&gildemo_drop_request, 0, __ATOMIC_RELAXED);

	xunlock(&gil->mutex);
	errno = saved_errno;

	ts->acquisitions++;
	ts->waits += waited;
	ts->take_ns = t0;
	ts->rec_waited = waited;
	ts->waited_ns += ts->acq_ns - t0;
}

/*
 * drop_gil(ceval, ceval2, tstate), CPython 3.11. @forced says why we drop
 * (1: the eval breaker asked, 0: voluntary, around blocking I/O); like
 * CPython, the algorithm itself does not look at it: whether to wait for
 * the switch depends on the drop request being pending, so a voluntary
 * drop while a request is pending also waits (as PyEval_SaveThread does).
 * The argument is for the books and for a tracer that reads arg 2.
 */
__attribute__((noinline, noclone, used))
void gil_drop(struct tstate *ts, int forced)
{
	struct gil *gil = &gildemo_gil;
	bool switch_wait = false;
	struct hold_rec rec;
	uint64_t t0;

	if (!__atomic_load_n(&gil->locked, __ATOMIC_RELAXED))
		die("gil_drop: GIL is not locked");
	/* (3.9 - 3.11 re-store last_holder = tstate here for sub-interpreters
	 * swapped under their feet; we have none, so it is already ts.) */

	xlock(&gil->mutex);
	__atomic_store_n(&gil->locked, 0, __ATOMIC_RELAXED);
	/* Ground truth: the hold ends as the release is announced on cond,
	 * locked = 0 under the mutex (not at entry: the mutex above can be
	 * busy with a waking waiter for a while). */
	t0 = now_ns();
	ts->held_ns += t0 - ts->acq_ns;
	xsignal(&gil->cond);
	xunlock(&gil->mutex);

	/* FORCE_SWITCHING: if a drop was requested, do not run off and
	 * re-take the GIL before the waiter got it (on a multi-core machine
	 * we would usually win, making the "timeslices" much longer than the
	 * interval): wait until last_holder is somebody else. */
	if (__atomic_load_n(&gildemo_drop_request, __ATOMIC_RELAXED)) {
		xlock(&gil->switch_mutex);
		/* Not switched yet => wait */
		if (__atomic_load_n(&gil->last_holder, __ATOMIC_RELAXED) == ts) {
			__atomic_store_n(&gildemo_drop_request, 0, __ATOMIC_RELAXED);
			switch_wait = true;
			/* CPython waits once (COND_WAIT in an `if`); we loop so
			 * that a spurious wakeup cannot let us re-take the GIL
			 * before anyone else. */
			while (__atomic_load_n(&gil->last_holder, __ATOMIC_RELAXED) == ts) {
				int err = pthread_cond_wait(&gil->switch_cond,
							    &gil->switch_mutex);
				if (err)
					die("pthread_cond_wait: %s", strerror(err));
			}
		}
		xunlock(&gil->switch_mutex);
	}

	/* Ground truth bookkeeping, after the GIL is released. */
	if (forced)
		ts->forced_drops++;
	else
		ts->voluntary_drops++;
	ts->switch_waits += switch_wait;
	rec.take_ns = ts->take_ns;
	rec.acq_ns = ts->acq_ns;
	rec.rel_ns = t0;
	rec.flags = (ts->rec_waited ? REC_WAITED : 0) |
		    (forced ? REC_FORCED : 0) |
		    (ts->rec_retake ? REC_RETAKE : 0) |
		    (switch_wait ? REC_SWITCHWAIT : 0);
	rec_push(ts, &rec);
}

/* ------------------------------------------------------------------ */
/* The interpreter                                                     */
/* ------------------------------------------------------------------ */

/* A thread's interpreter registers; kept in CPU registers by the
 * compiler once interp_exec() is inlined into the loops. */
struct vm {
	uint64_t acc;
	uint64_t pc;
};

/*
 * Py_INCREF(o). Out of line under its own name, with its real signature
 * (noinline/noclone/used, like gil_take), so that a uprobe on it sees
 * every call with the object in arg 1. Exactly one read-modify-write of
 * o->refcnt per call:
 *
 *   plain:  a volatile load, then a volatile store of the value plus one
 *           (gcc emits mov / add / mov; the compiler can neither merge
 *           two calls' updates nor drop one). CPython's `ob_refcnt++`
 *           becomes a single `addq $1, (mem)` instead, which is no more
 *           atomic: without the lock prefix it, too, is a load and a
 *           store. Correct only while the caller holds the GIL: another
 *           thread's RMW between our load and our store is overwritten.
 *   atomic: one __atomic_fetch_add (seq_cst, `lock xadd`): never loses
 *           an update, GIL or not.
 */
__attribute__((noinline, noclone, used))
void gildemo_incref(struct gildemo_object *o)
{
	if (opt.refcount == REFCOUNT_ATOMIC) {
		__atomic_fetch_add(&o->refcnt, 1, __ATOMIC_SEQ_CST);
	} else {
		volatile long *p = &o->refcnt;
		long v = *p;

		*p = v + 1;
	}
}

/* Py_DECREF(o), the same RMW the other way. No dealloc at zero: these
 * objects are static, and a count that a race drove to zero or below is
 * the very thing to report, not to act on. */
__attribute__((noinline, noclone, used))
void gildemo_decref(struct gildemo_object *o)
{
	if (opt.refcount == REFCOUNT_ATOMIC) {
		__atomic_fetch_sub(&o->refcnt, 1, __ATOMIC_SEQ_CST);
	} else {
		volatile long *p = &o->refcnt;
		long v = *p;

		*p = v - 1;
	}
}

/* --refops: which updates object @k gets. pair: an incref then a decref;
 * split: even-indexed objects only increfs, odd-indexed ones only decrefs,
 * so that lost increments and lost decrements are counted apart. */
static inline bool obj_gets_incref(int k)
{
	return opt.refops == REFOPS_PAIR || !(k & 1);
}

static inline bool obj_gets_decref(int k)
{
	return opt.refops == REFOPS_PAIR || (k & 1);
}

/*
 * Executes one "bytecode instruction": a splitmix64-style integer hash
 * chained through the accumulator, so instructions can neither overlap nor
 * be optimised away (~3.6 ns each on the reference machine).
 *
 * Everything an instruction does is in this one function, and both kinds
 * of thread run it. With @nobj shared objects (--objects) it then takes
 * and gives back a reference to each in turn, counting its own calls in
 * @ts: the calls and the hash are all there is to an instruction, so the
 * RMWs come close together and, without the GIL, collide often. Callers
 * pass a constant 0 for --objects 0, which compiles the loop away: the
 * instruction is then exactly the hash, as it always was.
 */
static inline __attribute__((always_inline))
void interp_exec(struct tstate *ts, struct vm *vm, int nobj)
{
	uint64_t z;

	vm->pc += 0x9e3779b97f4a7c15ULL;
	z = vm->acc + vm->pc;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	vm->acc = z ^ (z >> 31);

	for (int k = 0; k < nobj; k++) {
		struct gildemo_object *o = &gildemo_objects[k];

		if (obj_gets_incref(k)) {
			gildemo_incref(o);
			ts->increfs[k]++;
		}
		if (obj_gets_decref(k)) {
			gildemo_decref(o);
			ts->decrefs[k]++;
		}
	}
}

static void thread_begin(struct tstate *ts)
{
	int err;

	ts->tid = gettid();
	/* comm as gilscope shows it */
	err = pthread_setname_np(pthread_self(), ts->name);
	if (err)
		die("pthread_setname_np: %s", strerror(err));
	err = pthread_barrier_wait(&start_barrier);
	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(err));
	ts->start_ns = now_ns();
}

static void thread_end(struct tstate *ts, const struct vm *vm)
{
	struct timespec cpu;

	ts->checksum = vm->acc;
	ts->end_ns = now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	ts->cpu_ns = (uint64_t)cpu.tv_sec * 1000000000ULL + (uint64_t)cpu.tv_nsec;
}

/*
 * A CPU-bound Python thread's loop: takes the GIL, runs bytecode, and every
 * 64 instructions looks at the eval breaker; on a drop request it does what
 * 3.11's eval_frame_handle_pending() does: drop_gil(), then take_gil().
 *
 * Inlined with constant @gil (and @nobj 0 for --objects 0), so each mode
 * gets its own copy and the default one is the loop as it always was.
 * With @gil false (--gil off) the thread never calls gil_take / gil_drop:
 * like a free-threaded build, it just runs; nobody waits for a GIL, so
 * nobody sets the drop request either, and only the deadline is checked.
 */
static inline __attribute__((always_inline))
void cpu_run(struct tstate *ts, struct vm *vm, const bool gil, int nobj)
{
	uint64_t left = opt.work ? opt.work : UINT64_MAX;
	uint64_t since_deadline = 0;

	if (gil)
		gil_take(ts);
	while (left) {
		uint64_t n = left < BREAKER_EVERY ? left : BREAKER_EVERY;

		for (uint64_t i = 0; i < n; i++)
			interp_exec(ts, vm, nobj);
		ts->instructions += n;
		left -= n;

		/* the eval breaker */
		if (gil && __atomic_load_n(&gildemo_drop_request, __ATOMIC_RELAXED)) {
			gil_drop(ts, 1);
			/* other threads may run now */
			gil_take(ts);
		}

		since_deadline += n;
		if (deadline_ns && since_deadline >= DEADLINE_EVERY) {
			since_deadline = 0;
			if (now_ns() >= deadline_ns)
				break;
		}
	}
	/* The thread ends and gives the GIL away: a voluntary drop, as in
	 * CPython's _PyThreadState_DeleteCurrent() -> _PyEval_ReleaseLock(). */
	if (gil)
		gil_drop(ts, 0);
}

static void *cpu_main(void *arg)
{
	struct tstate *ts = arg;
	struct vm vm = { .acc = opt.seed, .pc = (uint64_t)ts->idx };

	thread_begin(ts);
	if (!opt.gil)
		cpu_run(ts, &vm, false, opt.objects);
	else if (opt.objects)
		cpu_run(ts, &vm, true, opt.objects);
	else
		cpu_run(ts, &vm, true, 0);	/* the default */
	thread_end(ts, &vm);
	__atomic_fetch_sub(&cpu_running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void sleep_us(unsigned long us)
{
	struct timespec t = {
		.tv_sec = (time_t)(us / 1000000),
		.tv_nsec = (long)(us % 1000000) * 1000,
	};

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

/* --io echo: the other end of an io thread's socketpair; reads a byte,
 * waits --io-sleep-us, writes it back. Runs without the GIL, like a
 * server in another process; ends when the io thread shuts its end. */
static void *echo_main(void *arg)
{
	struct tstate *ts = arg;
	char name[16], c;

	snprintf(name, sizeof(name), "echo-%d", ts->idx - opt.threads);
	pthread_setname_np(pthread_self(), name);
	while (read(ts->peer_fd, &c, 1) == 1) {
		if (opt.io_sleep_us)
			sleep_us(opt.io_sleep_us);
		if (write(ts->peer_fd, &c, 1) != 1)
			break;
	}
	return NULL;
}

/*
 * An I/O-bound Python thread: a few instructions under the GIL, then a
 * blocking call with the GIL released (Py_BEGIN_ALLOW_THREADS:
 * PyEval_SaveThread -> drop_gil, ..., PyEval_RestoreThread -> take_gil).
 * With --gil off the same, minus the take and drop. Specialised like
 * cpu_run().
 */
static inline __attribute__((always_inline))
void io_run(struct tstate *ts, struct vm *vm, const bool gil, int nobj)
{
	if (gil)
		gil_take(ts);
	while (__atomic_load_n(&cpu_running, __ATOMIC_ACQUIRE) > 0) {
		/* fewer than BREAKER_EVERY: no eval breaker check needed */
		for (int i = 0; i < IO_BURST; i++)
			interp_exec(ts, vm, nobj);
		ts->instructions += IO_BURST;

		if (gil)
			gil_drop(ts, 0);
		if (opt.io == IO_ECHO) {
			char c = 'x';

			if (write(ts->echo_fd, &c, 1) != 1 ||
			    read(ts->echo_fd, &c, 1) != 1)
				die("echo round trip: %s", strerror(errno));
		} else {
			sleep_us(opt.io_sleep_us);
		}
		ts->io_ops++;
		if (gil)
			gil_take(ts);
	}
	if (gil)
		gil_drop(ts, 0);
}

static void *io_main(void *arg)
{
	struct tstate *ts = arg;
	struct vm vm = { .acc = opt.seed, .pc = (uint64_t)ts->idx };

	thread_begin(ts);
	if (!opt.gil)
		io_run(ts, &vm, false, opt.objects);
	else if (opt.objects)
		io_run(ts, &vm, true, opt.objects);
	else
		io_run(ts, &vm, true, 0);	/* the default */
	thread_end(ts, &vm);
	if (opt.io == IO_ECHO)
		shutdown(ts->echo_fd, SHUT_WR);	/* the echo thread ends */
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Report                                                              */
/* ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n-1]. */
static uint64_t pct(const uint64_t *v, size_t n, unsigned int p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (n * p + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

/* "key":{"n":..,"p50":..,"p90":..,"p99":..,"max":..} over v (sorted here) */
static void json_dist(FILE *f, const char *key, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	fprintf(f, "\"%s\":{\"n\":%zu,\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu}",
		key, n, (unsigned long long)pct(v, n, 50),
		(unsigned long long)pct(v, n, 90), (unsigned long long)pct(v, n, 99),
		(unsigned long long)(n ? v[n - 1] : 0));
}

#define U(x) ((unsigned long long)(x))

/* Initial refcnt of each object, set before the workers start. */
static long obj_initial[MAX_OBJECTS];

/*
 * The keys that describe the new modes (gil_mode, refcount, refops,
 * net_lost_note, and each thread's increfs / decrefs / objects) appear
 * only when one of --objects, --gil, --refcount, --refops is not its
 * default, so that a default run prints today's JSON plus "objects":[].
 */
static bool json_extended(void)
{
	return opt.objects || !opt.gil || opt.refcount != REFCOUNT_PLAIN ||
	       opt.refops != REFOPS_PAIR;
}

/* ,"increfs":N,"decrefs":N,"objects":[{"index":k,"increfs":..,"decrefs":..}] */
static void json_thread_refs(FILE *f, const struct tstate *ts)
{
	uint64_t inc = 0, dec = 0;

	for (int k = 0; k < opt.objects; k++) {
		inc += ts->increfs[k];
		dec += ts->decrefs[k];
	}
	fprintf(f, ",\"increfs\":%llu,\"decrefs\":%llu,\"objects\":[", U(inc), U(dec));
	for (int k = 0; k < opt.objects; k++)
		fprintf(f, "%s{\"index\":%d,\"increfs\":%llu,\"decrefs\":%llu}",
			k ? "," : "", k, U(ts->increfs[k]), U(ts->decrefs[k]));
	fputc(']', f);
}

/*
 * "objects":[...]: per object, the threads' own counts against its final
 * refcnt (read after the joins, so no worker is touching it). See the
 * header comment for why net_lost alone cannot tell lost increments from
 * lost decrements, and how --refops split makes each exact.
 */
static void json_objects(FILE *f)
{
	int nt = opt.threads + opt.io_threads;

	fputs("\"objects\":[", f);
	for (int k = 0; k < opt.objects; k++) {
		const struct gildemo_object *o = &gildemo_objects[k];
		bool inc_only = obj_gets_incref(k) && !obj_gets_decref(k);
		bool dec_only = obj_gets_decref(k) && !obj_gets_incref(k);
		uint64_t inc = 0, dec = 0;
		long long expected, actual, net_lost;

		for (int i = 0; i < nt; i++) {
			inc += tstates[i].increfs[k];
			dec += tstates[i].decrefs[k];
		}
		expected = (long long)obj_initial[k] + (long long)inc - (long long)dec;
		actual = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
		net_lost = expected - actual;
		fprintf(f, "%s{\"index\":%d,\"name\":\"%s\",\"addr\":\"%p\",\"role\":\"%s\","
			"\"initial\":%ld,\"increfs\":%llu,\"decrefs\":%llu,"
			"\"expected\":%lld,\"actual\":%lld,\"net_lost\":%lld,",
			k ? "," : "", k, o->name, (const void *)o,
			inc_only ? "incref" : dec_only ? "decref" : "pair",
			obj_initial[k], U(inc), U(dec), expected, actual, net_lost);
		/* incref-only: every lost update is an increment, and vice versa */
		if (inc_only)
			fprintf(f, "\"lost_increments\":%lld,\"lost_decrements\":0}", net_lost);
		else if (dec_only)
			fprintf(f, "\"lost_increments\":0,\"lost_decrements\":%lld}", -net_lost);
		else
			fputs("\"lost_increments\":null,\"lost_decrements\":null}", f);
	}
	fputc(']', f);
}

static void write_json(FILE *f, uint64_t sn_start, uint64_t sn_end,
		       uint64_t phase_start, uint64_t phase_end)
{
	int nt = opt.threads + opt.io_threads;
	uint64_t acq = 0, retakes = 0, insns = 0, held = 0, checksum = 0;
	size_t maxrecs = 0;
	uint64_t *v;

	for (int i = 0; i < nt; i++) {
		acq += tstates[i].acquisitions;
		retakes += tstates[i].retakes;
		insns += tstates[i].instructions;
		held += tstates[i].held_ns;
		checksum ^= tstates[i].checksum;
		if (tstates[i].nr_recs > maxrecs)
			maxrecs = tstates[i].nr_recs;
	}
	v = malloc((maxrecs ? maxrecs : 1) * sizeof(*v));
	if (!v)
		die("out of memory");

	fprintf(f, "{\"tool\":\"gildemo\",\"pid\":%d,\"cpu_threads\":%d,\"io_threads\":%d,",
		(int)getpid(), opt.threads, opt.io_threads);
	fprintf(f, "\"io\":\"%s\",\"io_sleep_us\":%lu,",
		opt.io == IO_ECHO ? "echo" : "sleep", opt.io_sleep_us);
	fprintf(f, "\"interval_us\":%lu,", opt.interval_us);
	if (opt.work)
		fprintf(f, "\"work\":%llu,", U(opt.work));
	else
		fprintf(f, "\"work\":null,");
	if (opt.duration > 0)
		fprintf(f, "\"duration_s\":%.6f,", opt.duration);
	else
		fprintf(f, "\"duration_s\":null,");
	fprintf(f, "\"seed\":%llu,\"clock\":\"CLOCK_MONOTONIC\",", U(opt.seed));
	fprintf(f, "\"gil\":{\"symbol\":\"gildemo_gil\",\"addr\":\"%p\",\"size\":%zu,"
		"\"drop_request_addr\":\"%p\"},",
		(void *)&gildemo_gil, sizeof(gildemo_gil), (void *)&gildemo_drop_request);
	fprintf(f, "\"switch_number\":{\"start\":%llu,\"end\":%llu,\"delta\":%llu},",
		U(sn_start), U(sn_end), U(sn_end - sn_start));
	fprintf(f, "\"acquisitions\":%llu,\"retakes\":%llu,\"held_ns\":%llu,",
		U(acq), U(retakes), U(held));
	fprintf(f, "\"wall_ns\":%llu,\"phase\":{\"start_ns\":%llu,\"end_ns\":%llu},",
		U(phase_end - phase_start), U(phase_start), U(phase_end));
	fprintf(f, "\"instructions\":%llu,\"checksum\":\"%016llx\",\"threads\":[",
		U(insns), U(checksum));
	for (int i = 0; i < nt; i++) {
		struct tstate *ts = &tstates[i];
		size_t n = ts->nr_recs;

		fprintf(f, "%s{\"tid\":%d,\"name\":\"%s\",\"kind\":\"%s\",",
			i ? "," : "", (int)ts->tid, ts->name,
			ts->kind == KIND_CPU ? "cpu" : "io");
		fprintf(f, "\"acquisitions\":%llu,\"retakes\":%llu,\"held_ns\":%llu,"
			"\"waited_ns\":%llu,\"waits\":%llu,\"timeouts\":%llu,"
			"\"drop_requests\":%llu,",
			U(ts->acquisitions), U(ts->retakes), U(ts->held_ns),
			U(ts->waited_ns), U(ts->waits), U(ts->timeouts),
			U(ts->drop_requests));
		fprintf(f, "\"forced_drops\":%llu,\"voluntary_drops\":%llu,"
			"\"switch_waits\":%llu,",
			U(ts->forced_drops), U(ts->voluntary_drops), U(ts->switch_waits));
		fprintf(f, "\"cpu_ns\":%llu,\"instructions\":%llu,\"io_ops\":%llu,"
			"\"start_ns\":%llu,\"end_ns\":%llu,",
			U(ts->cpu_ns), U(ts->instructions), U(ts->io_ops),
			U(ts->start_ns), U(ts->end_ns));
		for (size_t k = 0; k < n; k++)
			v[k] = ts->recs[k].rel_ns - ts->recs[k].acq_ns;
		json_dist(f, "hold_ns", v, n);
		fputc(',', f);
		for (size_t k = 0; k < n; k++)
			v[k] = ts->recs[k].acq_ns - ts->recs[k].take_ns;
		json_dist(f, "wait_ns", v, n);
		fprintf(f, ",\"records_complete\":%s", ts->recs_full ? "false" : "true");
		if (json_extended())
			json_thread_refs(f, ts);
		fputc('}', f);
	}
	fputc(']', f);
	if (json_extended())
		fprintf(f, ",\"gil_mode\":\"%s\",\"refcount\":\"%s\",\"refops\":\"%s\","
			"\"net_lost_note\":\"%s\"",
			opt.gil ? "on" : "off",
			opt.refcount == REFCOUNT_ATOMIC ? "atomic" : "plain",
			opt.refops == REFOPS_SPLIT ? "split" : "pair",
			"net_lost = expected - actual = lost increments - lost decrements;"
			" lost_increments/lost_decrements are exact on incref-only and"
			" decref-only objects (--refops split), null where an object"
			" gets both");
	fputc(',', f);
	json_objects(f);
	fprintf(f, "}\n");
	free(v);
}

/* --events: one line per acquisition, in the order of acquisition. */
struct ev_ref {
	uint64_t acq_ns;
	const struct tstate *ts;
	const struct hold_rec *r;
};

static int cmp_ev(const void *a, const void *b)
{
	const struct ev_ref *x = a, *y = b;

	return x->acq_ns < y->acq_ns ? -1 : x->acq_ns > y->acq_ns;
}

static void write_events(FILE *f)
{
	int nt = opt.threads + opt.io_threads;
	size_t total = 0, k = 0;
	struct ev_ref *ev;

	for (int i = 0; i < nt; i++)
		total += tstates[i].nr_recs;
	ev = malloc((total ? total : 1) * sizeof(*ev));
	if (!ev)
		die("out of memory");
	for (int i = 0; i < nt; i++)
		for (size_t j = 0; j < tstates[i].nr_recs; j++)
			ev[k++] = (struct ev_ref){ tstates[i].recs[j].acq_ns,
						   &tstates[i], &tstates[i].recs[j] };
	qsort(ev, total, sizeof(*ev), cmp_ev);
	fprintf(f, "tid,name,take_ns,acquired_ns,released_ns,waited,forced,retake,switch_wait\n");
	for (k = 0; k < total; k++) {
		const struct hold_rec *r = ev[k].r;

		fprintf(f, "%d,%s,%llu,%llu,%llu,%d,%d,%d,%d\n",
			(int)ev[k].ts->tid, ev[k].ts->name, U(r->take_ns),
			U(r->acq_ns), U(r->rel_ns), !!(r->flags & REC_WAITED),
			!!(r->flags & REC_FORCED), !!(r->flags & REC_RETAKE),
			!!(r->flags & REC_SWITCHWAIT));
	}
	free(ev);
}

static void write_file(const char *path, const char *what,
		       void (*fn)(FILE *, void *), void *arg)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;

	if (!f)
		die("cannot write %s %s: %s", what, path, strerror(errno));
	fn(f, arg);
	if (fflush(f) || ferror(f))
		die("writing %s %s: %s", what, path, strerror(errno));
	if (f != stdout && fclose(f))
		die("writing %s %s: %s", what, path, strerror(errno));
}

struct json_args {
	uint64_t sn_start, sn_end, phase_start, phase_end;
};

static void json_cb(FILE *f, void *arg)
{
	struct json_args *a = arg;

	write_json(f, a->sn_start, a->sn_end, a->phase_start, a->phase_end);
}

static void events_cb(FILE *f, void *arg)
{
	(void)arg;
	write_events(f);
}

/* ------------------------------------------------------------------ */
/* Command line                                                        */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: gildemo [options]\n"
"A tiny interpreter whose GIL is built like CPython's (struct gildemo_gil,\n"
"gil_take/gil_drop); prints its own measurements of the GIL as JSON.\n"
"\n"
"  --threads N          CPU-bound threads \"cpu-0\".. (1..%d, default %d)\n"
"  --work N             instructions per CPU thread (default %llu, about\n"
"                       2 s in all for 2 threads on a 2-core machine)\n"
"  --duration SEC       stop the CPU threads after SEC seconds (with --work:\n"
"                       whichever comes first; alone: no instruction limit)\n"
"  --interval-us US     switch interval, CPython's sys.setswitchinterval\n"
"                       (1..10000000, default %d)\n"
"  --io-threads M       I/O-bound threads \"io-0\".. that release the GIL\n"
"                       around a blocking call (0..%d, default 0); they stop\n"
"                       when the CPU threads are done\n"
"  --io sleep|echo      the blocking call: nanosleep, or a one-byte round\n"
"                       trip over a socketpair to an \"echo-N\" thread\n"
"                       (default sleep)\n"
"  --io-sleep-us US     nanosleep length / echo server delay (0..10000000,\n"
"                       default %d)\n"
"  --json FILE          where the JSON goes (default \"-\": stdout)\n"
"  --events FILE        also write every acquisition as CSV (\"-\": stdout)\n"
"  --pause-start-ms MS  sleep before starting the threads, so a tracer can\n"
"                       attach by pid (0..3600000, default 0)\n"
"  --seed N             interpreter seed (default 1)\n"
"  --objects N          shared refcounted objects gildemo_objects[0..N-1]\n"
"                       (0..%d, default 0: none); every instruction calls\n"
"                       gildemo_incref() then gildemo_decref() on each\n"
"  --gil on|off         off: the threads never take the GIL and run at\n"
"                       once, like a free-threaded build (default on)\n"
"  --refcount plain|atomic\n"
"                       plain: load, then store (Py_INCREF; loses updates\n"
"                       without the GIL); atomic: __atomic_fetch_add/sub\n"
"                       (default plain)\n"
"  --refops pair|split  pair: each object gets an incref and a decref;\n"
"                       split: even-indexed objects only increfs, odd ones\n"
"                       only decrefs, so lost increments and lost\n"
"                       decrements are counted apart (default pair)\n"
"  --help               this text\n",
		MAX_THREADS, DEFAULT_THREADS, (unsigned long long)DEFAULT_WORK,
		DEFAULT_INTERVAL_US, MAX_THREADS, DEFAULT_IO_SLEEP_US, MAX_OBJECTS);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	va_list ap;

	fputs("gildemo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* An unsigned decimal in [lo, hi], or a bad-argument exit. */
static unsigned long long parse_u(const char *opt_name, const char *s,
				  unsigned long long lo, unsigned long long hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || *end || errno || v < lo || v > hi)
		bad("--%s must be %llu..%llu", opt_name, lo, hi);
	return v;
}

enum {
	OPT_THREADS = 256, OPT_WORK, OPT_DURATION, OPT_INTERVAL, OPT_IO_THREADS,
	OPT_IO, OPT_IO_SLEEP, OPT_JSON, OPT_EVENTS, OPT_PAUSE, OPT_SEED, OPT_HELP,
	OPT_OBJECTS, OPT_GIL, OPT_REFCOUNT, OPT_REFOPS,
};

static void parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "work", required_argument, NULL, OPT_WORK },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "interval-us", required_argument, NULL, OPT_INTERVAL },
		{ "io-threads", required_argument, NULL, OPT_IO_THREADS },
		{ "io", required_argument, NULL, OPT_IO },
		{ "io-sleep-us", required_argument, NULL, OPT_IO_SLEEP },
		{ "json", required_argument, NULL, OPT_JSON },
		{ "events", required_argument, NULL, OPT_EVENTS },
		{ "pause-start-ms", required_argument, NULL, OPT_PAUSE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "objects", required_argument, NULL, OPT_OBJECTS },
		{ "gil", required_argument, NULL, OPT_GIL },
		{ "refcount", required_argument, NULL, OPT_REFCOUNT },
		{ "refops", required_argument, NULL, OPT_REFOPS },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	bool work_set = false;
	int c;

	opterr = 0;	/* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_THREADS:
			opt.threads = (int)parse_u("threads", optarg, 1, MAX_THREADS);
			break;
		case OPT_WORK:
			opt.work = parse_u("work", optarg, 1, 1000000000000000ULL);
			work_set = true;
			break;
		case OPT_DURATION: {
			char *end;

			errno = 0;
			opt.duration = strtod(optarg, &end);
			if (!*optarg || *end || errno || !isfinite(opt.duration) ||
			    opt.duration <= 0 || opt.duration > 86400)
				bad("--duration must be a number of seconds in (0, 86400]");
			break;
		}
		case OPT_INTERVAL:
			opt.interval_us = parse_u("interval-us", optarg, 1, 10000000);
			break;
		case OPT_IO_THREADS:
			opt.io_threads = (int)parse_u("io-threads", optarg, 0, MAX_THREADS);
			break;
		case OPT_IO:
			if (!strcmp(optarg, "sleep"))
				opt.io = IO_SLEEP;
			else if (!strcmp(optarg, "echo"))
				opt.io = IO_ECHO;
			else
				bad("--io must be sleep or echo");
			break;
		case OPT_IO_SLEEP:
			opt.io_sleep_us = parse_u("io-sleep-us", optarg, 0, 10000000);
			break;
		case OPT_JSON:
			if (!*optarg)
				bad("--json needs a file name (or - for stdout)");
			opt.json = optarg;
			break;
		case OPT_EVENTS:
			if (!*optarg)
				bad("--events needs a file name (or - for stdout)");
			opt.events = optarg;
			break;
		case OPT_PAUSE:
			opt.pause_ms = parse_u("pause-start-ms", optarg, 0, 3600000);
			break;
		case OPT_SEED:
			opt.seed = parse_u("seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_OBJECTS:
			opt.objects = (int)parse_u("objects", optarg, 0, MAX_OBJECTS);
			break;
		case OPT_GIL:
			if (!strcmp(optarg, "on"))
				opt.gil = true;
			else if (!strcmp(optarg, "off"))
				opt.gil = false;
			else
				bad("--gil must be on or off");
			break;
		case OPT_REFCOUNT:
			if (!strcmp(optarg, "plain"))
				opt.refcount = REFCOUNT_PLAIN;
			else if (!strcmp(optarg, "atomic"))
				opt.refcount = REFCOUNT_ATOMIC;
			else
				bad("--refcount must be plain or atomic");
			break;
		case OPT_REFOPS:
			if (!strcmp(optarg, "pair"))
				opt.refops = REFOPS_PAIR;
			else if (!strcmp(optarg, "split"))
				opt.refops = REFOPS_SPLIT;
			else
				bad("--refops must be pair or split");
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bad("%s needs an argument", argv[optind - 1]);
		default:
			bad("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s' (see --help)", argv[optind]);
	if (!work_set && opt.duration <= 0)
		opt.work = DEFAULT_WORK;
	if (opt.events && opt.json && !strcmp(opt.events, "-") && !strcmp(opt.json, "-"))
		bad("--json and --events cannot both go to stdout");
}

/* ------------------------------------------------------------------ */

static void start_thread(pthread_t *th, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(th, NULL, fn, arg);

	if (err)
		die("pthread_create: %s", strerror(err));
}

static void join_thread(pthread_t th)
{
	int err = pthread_join(th, NULL);

	if (err)
		die("pthread_join: %s", strerror(err));
}

/*
 * The GIL exists from here on and no worker has started: `gilscope --
 * gildemo` runs the program up to this call (its profile's "ready" point,
 * like CPython's Py_RunMain) before it looks for the GIL.
 */
__attribute__((noinline, noclone, used)) void gildemo_ready(void)
{
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int nt, err;
	struct json_args ja;
	size_t sz;

	parse_args(argc, argv);
	nt = opt.threads + opt.io_threads;

	sz = (size_t)nt * sizeof(*tstates);
	tstates = aligned_alloc(_Alignof(struct tstate), sz);
	if (!tstates)
		die("out of memory");
	memset(tstates, 0, sz);
	for (int i = 0; i < nt; i++) {
		struct tstate *ts = &tstates[i];

		ts->idx = i;
		ts->echo_fd = ts->peer_fd = -1;
		if (i < opt.threads) {
			ts->kind = KIND_CPU;
			snprintf(ts->name, sizeof(ts->name), "cpu-%d", i);
		} else {
			ts->kind = KIND_IO;
			snprintf(ts->name, sizeof(ts->name), "io-%d", i - opt.threads);
		}
	}

	for (int k = 0; k < opt.objects; k++) {
		obj_initial[k] = obj_gets_incref(k) ? OBJ_INITIAL : OBJ_INITIAL_DECREF_ONLY;
		gildemo_objects[k].refcnt = obj_initial[k];
	}

	/* With --gil off the GIL is still created (a tracer finds it, alive
	 * and never taken), only the workers leave it alone. */
	gil_init(opt.interval_us);
	gildemo_ready();
	err = pthread_barrier_init(&start_barrier, NULL, (unsigned int)nt);
	if (err)
		die("pthread_barrier_init: %s", strerror(err));
	if (opt.io == IO_ECHO) {
		for (int i = opt.threads; i < nt; i++) {
			int sv[2];

			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
				die("socketpair: %s", strerror(errno));
			tstates[i].echo_fd = sv[0];
			tstates[i].peer_fd = sv[1];
			start_thread(&tstates[i].echo_thread, echo_main, &tstates[i]);
		}
	}

	if (opt.pause_ms) {
		fprintf(stderr, "gildemo: pid %d, starting in %lu ms\n",
			(int)getpid(), opt.pause_ms);
		sleep_us(opt.pause_ms * 1000);
	}

	/*
	 * No thread runs yet, and the joins below order every worker's
	 * accesses before ours: switch_number can be read without the GIL's
	 * mutex, which keeps the main thread's lock/unlock pairs out of a
	 * tracer's view of the GIL mutex.
	 */
	ja.sn_start = __atomic_load_n(&gildemo_gil.switch_number, __ATOMIC_RELAXED);
	cpu_running = opt.threads;
	ja.phase_start = now_ns();
	if (opt.duration > 0)
		deadline_ns = ja.phase_start + (uint64_t)llround(opt.duration * 1e9);
	for (int i = 0; i < nt; i++)
		start_thread(&tstates[i].thread,
			     tstates[i].kind == KIND_CPU ? cpu_main : io_main,
			     &tstates[i]);
	/* The main thread does not hold the GIL: it only waits. */
	for (int i = 0; i < nt; i++)
		join_thread(tstates[i].thread);
	ja.phase_end = now_ns();
	ja.sn_end = __atomic_load_n(&gildemo_gil.switch_number, __ATOMIC_RELAXED);

	for (int i = opt.threads; i < nt && opt.io == IO_ECHO; i++) {
		join_thread(tstates[i].echo_thread);
		close(tstates[i].echo_fd);
		close(tstates[i].peer_fd);
	}

	write_file(opt.json, "JSON", json_cb, &ja);
	if (opt.events)
		write_file(opt.events, "events", events_cb, NULL);

	for (int i = 0; i < nt; i++)
		free(tstates[i].recs);
	free(tstates);
	pthread_barrier_destroy(&start_barrier);
	return 0;
}
