// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gilscope export FILE.gst --format folded --metric M`: Brendan Gregg's
 * folded stacks, for flamegraph.pl, inferno and speedscope: one line per
 * stack, root first, `root;outer;...;inner VALUE`, VALUE in microseconds.
 *   gil-held   root: the thread; the holder's Python stacks, by samples
 *   gil-wait   root: the thread; where its GIL waits began
 *   lock-wait  root: the thread; where its futex waits (locks, condvars,
 *              not the GIL's) began; with --native, the mixed stacks of
 *              those waits (mixstack.h): native frames with the Python
 *              frames in place of the eval loop's
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "events.h"
#include "export_folded.h"
#include "mixstack.h"
#include "names.h"
#include "replay.h"
#include "report_py.h"
#include "u64map.h"

/* A frame as one folded field: ';' separates frames, so none inside. */
static void field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' || *s == '\n' ? ':' : *s, f);
}

static void stack_line(FILE *f, struct analysis *a, struct names *n, const char *root,
		       int stack, uint64_t ns)
{
	const struct py_stack *s = pystacks__get(&a->pystacks, stack);
	uint64_t us = (ns + 500) / 1000;

	if (!us)
		return;
	field(f, root);
	if (!s)
		fputs(";[no Python frames]", f);
	for (int i = s ? (int)s->nr - 1 : -1; i >= 0; i--) {
		fputc(';', f);
		field(f, names__pyframe(n, s->f[i].code, s->f[i].instr));
	}
	if (s && (s->flags & GS_PY_IN_GC))
		fputs(";" PY_GC_FRAME, f);
	fprintf(f, " %llu\n", (unsigned long long)us);
}

enum metric { GIL_HELD, GIL_WAIT, LOCK_WAIT };

static void metric(FILE *f, struct replay *r, enum metric m)
{
	struct analysis *a = &r->an;
	struct gilstats *g = a->gil;

	for (size_t i = 0; g && i < g->nr_threads; i++) {
		const struct gil_thread *t = g->threads[i];
		struct py_thread *p = pystats__thread(&a->py, t->tid);
		const char *py = names__pythread(r->names, t->tid);
		struct py_named *v = NULL;
		char root[96];
		size_t nr;

		if (!p)
			continue;
		snprintf(root, sizeof(root), "%s (%u)", py ? py : names__thread(r->names, t->tid),
			 t->tid);
		nr = report_py_named(a, r->names, t, p, m == GIL_HELD ? &p->held :
				     m == GIL_WAIT ? &p->waited : &p->lock_waited,
				     m == GIL_HELD, &v);
		for (size_t k = 0; k < nr; k++)
			stack_line(f, a, r->names, root, v[k].stack, v[k].ns);
		report_py_named_free(v, nr);
	}
}

/*
 * --native: each thread's futex waits by native and Python stack, joined
 * as the lock-wait metric joins them (the Python stack record of the
 * same call, by its entry time), so the two add up alike.
 */
struct folded_wait {
	uint32_t tid;
	int py_stack;
	uint32_t nr_frames;
	uint64_t frames[GS_MAX_FRAMES];
	uint64_t ns;
};

struct folded_native {
	struct replay *r;
	struct u64map pending;		/* tid -> struct folded_pending */
	struct u64map by_hash;		/* hash -> index + 1, probed on collision */
	struct folded_wait *v;
	size_t nr, cap;
	int err;
};

/* The Python stack caught at a thread's latest futex call. */
struct folded_pending {
	int py_stack;
	uint64_t ts;
};

int folded_native__new(struct replay *r, struct folded_native **out)
{
	struct folded_native *fn = calloc(1, sizeof(*fn));

	if (!fn)
		return -ENOMEM;
	fn->r = r;
	*out = fn;
	return 0;
}

void folded_native__free(struct folded_native *fn)
{
	uint64_t k;
	void *v;

	if (!fn)
		return;
	for (size_t i = 0; u64map__next(&fn->pending, &i, &k, &v);)
		free(v);
	u64map__free(&fn->pending);
	u64map__free(&fn->by_hash);
	free(fn->v);
	free(fn);
}

static uint64_t wait_hash(const struct folded_wait *w)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)w->tid << 32 | (uint32_t)w->py_stack);

	h *= 1099511628211ull;
	for (uint32_t i = 0; i < w->nr_frames; i++) {
		h ^= w->frames[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

static bool same_wait(const struct folded_wait *a, const struct folded_wait *b)
{
	return a->tid == b->tid && a->py_stack == b->py_stack && a->nr_frames == b->nr_frames &&
	       !memcmp(a->frames, b->frames, a->nr_frames * sizeof(a->frames[0]));
}

static void add_wait(struct folded_native *fn, const struct folded_wait *w)
{
	uint64_t h = wait_hash(w);

	for (;; h = h + 1 ? h + 1 : 1) {
		uintptr_t i = (uintptr_t)u64map__get(&fn->by_hash, h);

		if (!i)
			break;
		if (same_wait(&fn->v[i - 1], w)) {
			fn->v[i - 1].ns += w->ns;
			return;
		}
	}
	if (fn->nr == fn->cap) {
		size_t cap = fn->cap ? fn->cap * 2 : 64;
		struct folded_wait *v = realloc(fn->v, cap * sizeof(*v));

		if (!v) {
			fn->err = -ENOMEM;
			return;
		}
		fn->v = v;
		fn->cap = cap;
	}
	if (u64map__set(&fn->by_hash, h, (void *)(uintptr_t)(fn->nr + 1))) {
		fn->err = -ENOMEM;
		return;
	}
	fn->v[fn->nr++] = *w;
}

void folded_native__tap(const struct gs_event_hdr *e, size_t size, void *ctx)
{
	struct folded_native *fn = ctx;
	struct folded_pending *p = u64map__get(&fn->pending, e->tid);

	if (size != gs_event_size(e->type))
		return;
	if (e->type == GS_EV_PY_STACK &&
	    ((const struct gs_py_stack_event *)e)->kind == GS_PY_LOCK_WAIT) {
		if (!p) {
			p = calloc(1, sizeof(*p));
			if (!p || u64map__set(&fn->pending, e->tid, p)) {
				free(p);
				fn->err = -ENOMEM;
				return;
			}
		}
		/* interned as the analysis interns it next: the same id */
		p->py_stack = pystacks__intern(&fn->r->an.pystacks, (const void *)e);
		p->ts = e->ts;
	} else if (e->type == GS_EV_FUTEX_WAIT && p && p->ts && p->ts == e->ts) {
		const struct gs_futex_wait_event *fw = (const void *)e;
		struct folded_wait w = { .tid = e->tid, .py_stack = p->py_stack };

		w.nr_frames = fw->nr_frames < GS_MAX_FRAMES ? fw->nr_frames : GS_MAX_FRAMES;
		memcpy(w.frames, fw->frames, w.nr_frames * sizeof(w.frames[0]));
		w.ns = fw->f.end_ts > e->ts ? fw->f.end_ts - e->ts : 0;
		add_wait(fn, &w);
		p->ts = 0;
	}
}

/* A line as written: "thread;outer;...;inner", and the time it stands for. */
struct folded_line {
	char *text;
	uint32_t tid;
	uint64_t ns;
};

static int by_text(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->text, ((const struct folded_line *)b)->text);
}

static int by_tid_ns(const void *a, const void *b)
{
	const struct folded_line *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	return strcmp(x->text, y->text);
}

/* The thread, then the mixed stack root first. */
static void mixed_text(FILE *f, struct replay *r, const struct folded_wait *w)
{
	const struct py_stack *py = pystacks__get(&r->an.pystacks, w->py_stack);
	const char *pn = names__pythread(r->names, w->tid);
	struct mix_frame mix[MIX_MAX_FRAMES];
	size_t nr = mixstack(r->names, w->frames, w->nr_frames, py, mix);
	char root[96];

	snprintf(root, sizeof(root), "%s (%u)", pn ? pn : names__thread(r->names, w->tid), w->tid);
	field(f, root);
	if (!nr)
		fputs(";[no stack]", f);
	for (size_t i = nr; i-- > 0;) {
		fputc(';', f);
		field(f, mixstack_name(r->names, w->frames, py, &mix[i]));
	}
}

/* The waits' mixed stacks, those that print the same as one line (two
 * instructions on one line, two native stacks that part where the native
 * stack is cut short). */
static int mixed(FILE *f, struct replay *r, struct folded_native *fn)
{
	struct folded_line *v;
	size_t nr = 0, k = 0;
	int err = fn->err;

	if (err)
		return err;
	v = calloc(fn->nr ? fn->nr : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < fn->nr; i++) {
		size_t len;
		FILE *m = open_memstream(&v[nr].text, &len);

		if (!m) {
			err = -ENOMEM;
			break;
		}
		mixed_text(m, r, &fn->v[i]);
		if (fclose(m)) {
			free(v[nr].text);
			err = -ENOMEM;
			break;
		}
		v[nr].tid = fn->v[i].tid;
		v[nr++].ns = fn->v[i].ns;
	}
	qsort(v, nr, sizeof(*v), by_text);
	for (size_t i = 0; i < nr; i++) {
		if (k && !strcmp(v[k - 1].text, v[i].text)) {
			v[k - 1].ns += v[i].ns;
			free(v[i].text);
		} else {
			v[k++] = v[i];
		}
	}
	qsort(v, k, sizeof(*v), by_tid_ns);
	for (size_t i = 0; i < k; i++) {
		uint64_t us = (v[i].ns + 500) / 1000;

		if (us && !err)
			fprintf(f, "%s %llu\n", v[i].text, (unsigned long long)us);
		free(v[i].text);
	}
	free(v);
	return err;
}

int export_folded(FILE *f, struct replay *r, const char *name, struct folded_native *fn)
{
	int err;

	if (fn) {
		if ((err = mixed(f, r, fn)))
			return err;
	} else if (!name || !strcmp(name, "gil-held")) {
		metric(f, r, GIL_HELD);
	} else if (!strcmp(name, "gil-wait")) {
		metric(f, r, GIL_WAIT);
	} else {
		metric(f, r, LOCK_WAIT);
	}
	return ferror(f) ? -EIO : 0;
}
