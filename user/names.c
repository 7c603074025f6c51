// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "events.h"
#include "names.h"
#include "proc.h"
#include "pyread.h"
#include "symbolize.h"
#include "u64map.h"
#include "monotime.h"

struct names {
	pid_t pid;
	struct symbolizer *sym;
	struct u64map code, data, threads;	/* values: malloc'ed strings */
	struct u64map pyframes, pythreads, pylocks;
	/* native addresses seen in records, not named yet (names__drain) */
	struct u64map pend_code, pend_data;
	struct pyread *py;
	uint64_t py_refreshed;		/* event time of the last thread-name read */
	names_listener listener;
	void *listener_ctx;
};

/* = gst_name_kind */
enum { KIND_CODE = 1, KIND_DATA = 2, KIND_THREAD = 3, KIND_PYFRAME = 4, KIND_PYTHREAD = 5,
       KIND_PYLOCK = 6 };

/* Python thread names are read again, for a thread not named yet, at
 * most this often (a non-Python thread never gets one). */
#define PYTHREAD_REFRESH_NS	(20ULL * 1000 * 1000)

void names__set_listener(struct names *n, names_listener fn, void *ctx)
{
	n->listener = fn;
	n->listener_ctx = ctx;
}

static void tell(struct names *n, int kind, uint64_t key, const char *s)
{
	if (n->listener)
		n->listener(n->listener_ctx, kind, key, s ? s : "");
}

/* data lookups that found nothing are cached as this empty string */
static char no_name[] = "";

int names__new(pid_t pid, struct symbolizer *sym, struct names **out)
{
	struct names *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->pid = pid;
	n->sym = sym;
	*out = n;
	return 0;
}

void names__set_symbolizer(struct names *n, struct symbolizer *sym)
{
	n->sym = sym;
}

static void free_strings(struct u64map *m)
{
	uint64_t k;
	void *v;

	for (size_t i = 0; u64map__next(m, &i, &k, &v);)
		if (v != no_name)
			free(v);
	u64map__free(m);
}

void names__free(struct names *n)
{
	if (!n)
		return;
	free_strings(&n->code);
	free_strings(&n->data);
	free_strings(&n->threads);
	free_strings(&n->pyframes);
	free_strings(&n->pythreads);
	free_strings(&n->pylocks);
	u64map__free(&n->pend_code);
	u64map__free(&n->pend_data);
	free(n);
}

static void put(struct u64map *m, uint64_t key, const char *s)
{
	char *old = u64map__get(m, key), *dup;

	dup = s ? strdup(s) : no_name;
	if (!dup)
		return;
	/* a thread may name itself anything: control characters (an escape
	 * sequence for the terminal the report is read on) become '?' */
	for (char *c = dup; dup != no_name && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (u64map__set(m, key, dup)) {
		if (dup != no_name)
			free(dup);
		return;
	}
	if (old && old != no_name)
		free(old);
}

const char *names__code(struct names *n, uint64_t addr)
{
	char buf[512];
	const char *s = u64map__get(&n->code, addr);

	if (s)
		return s;
	if (!n->sym)
		return "[unknown]";
	symbolizer__code_line(n->sym, addr, buf, sizeof(buf));
	put(&n->code, addr, buf);
	tell(n, KIND_CODE, addr, buf);
	s = u64map__get(&n->code, addr);
	return s ? s : "[unknown]";
}

const char *names__data(struct names *n, uint64_t addr)
{
	char buf[512];
	const char *s = u64map__get(&n->data, addr);

	if (!s && n->sym) {
		if (symbolizer__data(n->sym, addr, buf, sizeof(buf)) == 0 && buf[0]) {
			put(&n->data, addr, buf);
			tell(n, KIND_DATA, addr, buf);
		} else {
			put(&n->data, addr, NULL);
			tell(n, KIND_DATA, addr, NULL);
		}
		s = u64map__get(&n->data, addr);
	}
	return s && s[0] ? s : NULL;
}

const char *names__thread(struct names *n, uint32_t tid)
{
	char buf[64];
	const char *s = u64map__get(&n->threads, tid);

	if (s)
		return s;
	if (n->pid && proc_thread_comm(n->pid, tid, buf, sizeof(buf)) == 0) {
		put(&n->threads, tid, buf);
		tell(n, KIND_THREAD, tid, buf);
		s = u64map__get(&n->threads, tid);
	}
	return s ? s : "?";
}

void names__set_pyread(struct names *n, struct pyread *py)
{
	n->py = py;
}

const char *names__pyframe(struct names *n, uint64_t code, uint64_t instr)
{
	uint64_t key = pyread_frame_key(code, instr);
	const char *s = u64map__get(&n->pyframes, key);
	char buf[512];

	if (s)
		return s;
	if (!n->py)
		return "[unknown]";
	pyread__frame(n->py, code, GS_PY_INSTR(instr), buf, sizeof(buf));
	put(&n->pyframes, key, buf);
	tell(n, KIND_PYFRAME, key, buf);
	s = u64map__get(&n->pyframes, key);
	return s ? s : "[unknown]";
}

const char *names__pythread(struct names *n, uint32_t tid)
{
	const char *s = u64map__get(&n->pythreads, tid);

	return s && s[0] ? s : NULL;
}

const char *names__pylock(struct names *n, uint64_t mutex)
{
	const char *s = u64map__get(&n->pylocks, mutex);

	return s && s[0] ? s : NULL;
}

/* A PyMutex parked on: which Python lock it is, looked up once. */
void names__note_pylock(struct names *n, uint64_t mutex)
{
	char buf[32];

	if (!n->py || u64map__get(&n->pylocks, mutex))
		return;
	if (pyread__lock_kind(n->py, mutex, buf, sizeof(buf)))
		buf[0] = 0;
	put(&n->pylocks, mutex, buf[0] ? buf : NULL);
	tell(n, KIND_PYLOCK, mutex, buf[0] ? buf : NULL);
}

void names__refresh_pythreads(struct names *n)
{
	struct py_thread_name t[256];
	int nr;

	if (!n->py)
		return;
	nr = pyread__thread_names(n->py, t, sizeof(t) / sizeof(t[0]));
	for (int i = 0; i < nr; i++) {
		const char *old = u64map__get(&n->pythreads, t[i].tid);

		if (old && !strcmp(old, t[i].name))
			continue;
		put(&n->pythreads, t[i].tid, t[i].name);
		tell(n, KIND_PYTHREAD, t[i].tid, t[i].name);
	}
}

/* A thread takes the GIL or shows a Python stack: its Python name, if it
 * has none yet (rate-limited by the events' own clock). */
static void note_pythread(struct names *n, uint32_t tid, uint64_t ts)
{
	if (!n->py || u64map__get(&n->pythreads, tid))
		return;
	if (n->py_refreshed && ts - n->py_refreshed < PYTHREAD_REFRESH_NS)
		return;
	n->py_refreshed = ts ? ts : 1;
	names__refresh_pythreads(n);
}

/*
 * A native address a record brings, named later (names__drain()): the
 * first name made from a module's DWARF can take 100 ms (python3.11's
 * debug file), and the record path must not wait on it while Python
 * frames, which can only be named while the target lives, queue behind.
 */
static void later(struct u64map *pend, const struct u64map *named, uint64_t addr)
{
	if (!u64map__get(named, addr) && !u64map__get(pend, addr))
		u64map__set(pend, addr, (void *)1);
}

/* Names up to 64 of @pend's addresses; false when the budget ran out. */
static bool drain_some(struct names *n, struct u64map *pend, bool code, uint64_t until)
{
	uint64_t keys[64], k;
	size_t nr = 0;
	void *v;

	for (size_t i = 0; nr < 64 && u64map__next(pend, &i, &k, &v);)
		keys[nr++] = k;
	for (size_t i = 0; i < nr; i++) {
		if (until && now_ns() >= until)
			return false;
		u64map__del(pend, keys[i]);
		if (code)
			names__code(n, keys[i]);
		else
			names__data(n, keys[i]);
	}
	return true;
}

void names__drain(struct names *n, uint64_t budget_ns)
{
	uint64_t until = budget_ns ? now_ns() + budget_ns : 0;

	if (!n)
		return;
	while (n->pend_data.nr || n->pend_code.nr)
		if (!drain_some(n, &n->pend_data, false, until) ||
		    !drain_some(n, &n->pend_code, true, until))
			return;
}

void names__note_event(struct names *n, const struct gs_event_hdr *e, size_t size)
{
	if (!n->sym || size != gs_event_size(e->type))
		return;
	switch (e->type) {
	case GS_EV_PY_STACK: {
		const struct gs_py_stack_event *p = (const void *)e;

		for (uint32_t i = 0; i < p->nr_frames && i < GS_PY_FRAMES; i++)
			names__pyframe(n, p->frames[i].code, p->frames[i].instr);
		names__thread(n, p->of_tid);
		note_pythread(n, p->of_tid, e->ts);
		if (p->kind == GS_PY_PARK)
			names__note_pylock(n, p->addr);
		break;
	}
	case GS_EV_GIL_ACQUIRED:
		names__thread(n, e->tid);
		note_pythread(n, e->tid, e->ts);
		break;
	case GS_EV_FUTEX_WAIT:
	case GS_EV_FUTEX_WAIT_OPEN: {
		const struct gs_futex_wait_event *w = (const void *)e;

		later(&n->pend_data, &n->data, w->f.uaddr);
		for (uint32_t i = 0; i < w->nr_frames && i < GS_MAX_FRAMES; i++)
			later(&n->pend_code, &n->code, w->frames[i]);
		break;
	}
	case GS_EV_MUTEX_LOCK:
		later(&n->pend_data, &n->data, ((const struct gs_lock_event *)e)->addr);
		break;
	case GS_EV_REFCOUNT_WRITE: {
		const struct gs_refcount_event *r = (const void *)e;

		names__thread(n, e->tid);
		later(&n->pend_code, &n->code, r->ip);
		for (uint32_t i = 0; i < r->nr_frames && i < GS_REF_FRAMES; i++)
			later(&n->pend_code, &n->code, r->frames[i]);
		break;
	}
	case GS_EV_COND_WAIT:
		later(&n->pend_data, &n->data, ((const struct gs_cond_event *)e)->cond);
		later(&n->pend_data, &n->data, ((const struct gs_cond_event *)e)->mutex);
		break;
	default:
		names__thread(n, e->tid);
		break;
	}
}

void names__set_code(struct names *n, uint64_t addr, const char *name)
{
	put(&n->code, addr, name ? name : "[unknown]");
}

void names__set_data(struct names *n, uint64_t addr, const char *name)
{
	put(&n->data, addr, name);
}

void names__set_thread(struct names *n, uint32_t tid, const char *comm)
{
	put(&n->threads, tid, comm);
}

void names__set_pyframe(struct names *n, uint64_t key, const char *name)
{
	put(&n->pyframes, key, name && name[0] ? name : "[unknown]");
}

void names__set_pythread(struct names *n, uint32_t tid, const char *name)
{
	put(&n->pythreads, tid, name);
}

void names__set_pylock(struct names *n, uint64_t mutex, const char *kind)
{
	put(&n->pylocks, mutex, kind);
}
