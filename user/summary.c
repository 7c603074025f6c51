// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "analysis.h"
#include "grow.h"
#include "names.h"
#include "proc.h"
#include "report.h"
#include "stackfix.h"
#include "summary.h"
#include "summary_tables.h"
#include "tracer.h"
#include "u64map.h"
#include "gilscope.h"	/* the skeleton's map value types */
#include "gilscope.skel.h"

int summary__begin(struct tracer *tr, pid_t pid, const struct report_meta *m)
{
	struct gilscope_bpf *s = tr->skel;
	struct gs_sum_thread *t;
	pid_t *tids = NULL;
	size_t nr = 0;
	__u32 key = pid;
	int err = 0;

	if (m->has_gil) {
		struct gs_gil_figs g = {
			.interval_ns = m->gil_interval_us * 1000, .start_ts = m->start_ts,
		};

		err = bpf_map__update_elem(s->maps.sum_gils, &key, sizeof(key), &g, sizeof(g),
					   BPF_ANY);
		if (err) {
			fprintf(stderr, "gilscope: cannot set up the GIL summary: %s\n",
				strerror(-err));
			return err;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		fprintf(stderr, "gilscope: out of memory setting up the summary\n");
		return -ENOMEM;
	}
	t->gil.first_ts = t->gs.since = m->start_ts;
	t->gs.seen = 1;
	t->ls.ep_site = t->ls.cond_site = -1;
	t->ls.ep_py = t->ls.cond_py = GS_PY_NO_STACK;
	if (!proc_threads(pid, &tids, &nr)) {
		for (size_t i = 0; i < nr && !err; i++) {
			key = tids[i];
			err = bpf_map__update_elem(s->maps.sum_threads, &key, sizeof(key), t,
						   sizeof(*t), BPF_NOEXIST);
		}
		if (err)
			fprintf(stderr, "gilscope: cannot set up the thread summary: %s\n",
				strerror(-err));
	}
	free(tids);
	free(t);
	/* from now on BPF counts: events since start_ts */
	s->data->sum_from_ts = m->start_ts;
	return err;
}

/* The GIL's histograms (wait, hold, handoffs) of every thread. */
static void drop_gil_hists(struct gilscope_bpf *s)
{
	struct gs_hist_key k, cur, *keys = NULL;
	size_t nr = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map__get_next_key(s->maps.sum_hists, prev, &k, sizeof(k))) {
		cur = k;
		prev = &cur;
		if (k.kind < GS_H_GIL_WAIT || k.kind > GS_H_HANDOFF_ALL)
			continue;
		if (GROW_ARRAY(keys, cap, nr + 1, 64))
			break;
		keys[nr++] = k;
	}
	for (size_t i = 0; i < nr; i++)
		bpf_map__delete_elem(s->maps.sum_hists, &keys[i], sizeof(keys[i]), 0);
	free(keys);
}

int summary__new_gil(struct tracer *tr, pid_t pid, const struct report_meta *m, uint64_t ts)
{
	struct gilscope_bpf *s = tr->skel;
	struct gs_gil_figs g = { .interval_ns = m->gil_interval_us * 1000, .start_ts = ts };
	struct gs_sum_thread t;
	__u32 key = pid, tid, cur;
	void *prev = NULL;
	int err;

	/* while the target is held, nothing else writes these entries */
	drop_gil_hists(s);
	while (!bpf_map__get_next_key(s->maps.sum_threads, prev, &tid, sizeof(tid))) {
		cur = tid;
		prev = &cur;
		if (bpf_map__lookup_elem(s->maps.sum_threads, &tid, sizeof(tid), &t, sizeof(t), 0))
			continue;
		/* the old image's threads never touched this GIL: no row */
		memset(&t.gil, 0, sizeof(t.gil));
		memset(&t.gs, 0, sizeof(t.gs));
		if (!t.lock.exited) {
			t.gil.first_ts = t.gs.since = ts;
			t.gs.seen = 1;
		}
		bpf_map__update_elem(s->maps.sum_threads, &tid, sizeof(tid), &t, sizeof(t),
				     BPF_EXIST);
	}
	err = bpf_map__update_elem(s->maps.sum_gils, &key, sizeof(key), &g, sizeof(g), BPF_ANY);
	if (err)
		fprintf(stderr, "gilscope: cannot set up the GIL summary: %s\n", strerror(-err));
	return err;
}

void summary__end(struct tracer *tr, const struct report_meta *m)
{
	tr->skel->data->sum_until_ts = m->end_ts;
}

void summary__name_py(struct tracer *tr, struct names *names, struct u64map *seen)
{
	int fd = bpf_map__fd(tr->skel->maps.sum_pystacks);
	struct gs_py_stack_event *e = malloc(sizeof(*e));
	__u64 key, *prev = NULL;

	if (!e)
		return;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (u64map__get(seen, key) || bpf_map_lookup_elem(fd, &key, e))
			continue;
		for (uint32_t i = 0; i < e->nr_frames && i < GS_PY_FRAMES; i++)
			names__pyframe(names, e->frames[i].code, e->frames[i].instr);
		names__thread(names, e->of_tid);
		if (u64map__set(seen, key, (void *)1))
			break;
	}
	free(e);
	fd = bpf_map__fd(tr->skel->maps.sum_pymutexes);
	prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		names__note_pylock(names, key);
	}
	names__refresh_pythreads(names);
}

struct reader {
	struct tracer *tr;
	struct analysis *a;
	struct symbolizer *sym;
	struct names *names;
	struct gs_futex_wait_event *w;	/* scratch: a call site's frames */
	struct gs_sum_caller *site;	/* scratch: a call site's entry */
	struct u64map py_ids;		/* BPF's Python stack id -> pystacks id + 1 */
};

/* The pystacks id of BPF's Python stack @key (PY_STACK_NONE: none). */
static int py_id(struct reader *r, __u64 key)
{
	return key == GS_PY_NO_STACK ? PY_STACK_NONE
				     : (int)(uintptr_t)u64map__get(&r->py_ids, key) - 1;
}

/* BPF's Python stacks, interned as the stream's are. */
static int read_pystacks(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_pystacks);
	struct gs_py_stack_event *e = malloc(sizeof(*e));
	__u64 key, *prev = NULL;
	int err = 0, id;

	if (!e)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, e))
			continue;
		id = pystacks__intern(&r->a->pystacks, e);
		if (id != PY_STACK_NONE)
			err = u64map__set(&r->py_ids, key, (void *)(uintptr_t)(id + 1));
	}
	free(e);
	return err;
}

/* The Python costs, into the stream's tables. */
static int read_py(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_py);
	struct gs_sum_py_key key, *prev = NULL;
	struct gs_sum_py v;
	struct pystats *p = &r->a->py;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &v))
			pystats__add(p, key.tid, key.which, py_id(r, key.stack), key.holder,
				     v.ns, v.count);
	}
	p->records = tracer__counter(r->tr, GS_CNT_PY_STACKS, NULL, 0);
	p->no_tstate = tracer__counter(r->tr, GS_CNT_PY_NO_TSTATE, NULL, 0);
	p->read_errors = tracer__counter(r->tr, GS_CNT_PY_READ_ERR, NULL, 0);
	p->truncated = tracer__counter(r->tr, GS_CNT_PY_TRUNCATED, NULL, 0);
	return 0;
}

/* The frames of call site @key into r->w: the stack id's, repaired with
 * the stack words kept in @site (NULL: none) as a streamed wait's are
 * (stackfix.h), and named while the target's files can still be read. */
static void site_frames(struct reader *r, const struct gs_sum_caller_key *key,
			const struct gs_sum_caller *site)
{
	struct gs_futex_wait_event *w = r->w;

	memset(w, 0, sizeof(*w));
	if (key->stackid >= 0 &&
	    !bpf_map__lookup_elem(r->tr->skel->maps.stacks, &key->stackid, sizeof(key->stackid),
				  w->frames, sizeof(w->frames), 0))
		while (w->nr_frames < GS_MAX_FRAMES && w->frames[w->nr_frames])
			w->nr_frames++;
	if (site) {
		w->sp = site->sp;
		w->nr_stack = site->nr_stack;
		memcpy(w->stack, site->stack, sizeof(w->stack));
	}
	stack_repair(r->sym, w);
	for (uint32_t i = 0; i < w->nr_frames; i++)
		names__code(r->names, w->frames[i]);
}

static int read_threads(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_threads);
	struct gs_sum_thread v;
	__u32 key, *prev = NULL;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		struct gs_sum_caller_key site = { 0 };

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		/* the call site of a wait still open at the end */
		r->w->nr_frames = 0;
		if (v.ls.ep_open) {
			site.addr = v.ls.ep_addr;
			site.stackid = v.ls.ep_site;
			site_frames(r, &site,
				    bpf_map__lookup_elem(r->tr->skel->maps.sum_callers, &site,
							 sizeof(site), r->site, sizeof(*r->site),
							 0) ? NULL : r->site);
		}
		err = summary_tables__thread(r->a, r->names, key, &v,
					     (const uint64_t *)r->w->frames, r->w->nr_frames);
	}
	return err;
}

static int read_locks(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_locks);
	struct gs_lock_figs v;
	__u64 key, *prev = NULL;
	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &v))
			err = summary_tables__lock(r->a, key, &v);
	}
	return err;
}

/* Histograms go in before lockstats__finish() adds open waits to them. */
static int read_hists(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_hists);
	struct gs_hist_key key, *prev = NULL;
	struct gs_hist *h = malloc(sizeof(*h));
	int err = 0;

	if (!h)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, h))
			err = summary_tables__hist(r->a, &key, h);
	}
	free(h);
	return err;
}

/* Call sites, with their counts (an open wait's is added when
 * lockstats__finish() closes it). */
static int read_callers(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_callers);
	struct gs_sum_caller_key key, *prev = NULL;

	int err = 0;

	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, r->site) || !r->site->count)
			continue;
		site_frames(r, &key, r->site);
		err = summary_tables__caller(r->a, key.addr, (const uint64_t *)r->w->frames,
					     r->w->nr_frames, py_id(r, key.py), r->site->count,
					     r->site->wait_ns);
	}
	return err;
}

static void read_gil(struct reader *r, pid_t pid)
{
	struct gs_gil_figs v;
	__u32 key = pid;

	if (!bpf_map__lookup_elem(r->tr->skel->maps.sum_gils, &key, sizeof(key), &v,
				  sizeof(v), 0))
		summary_tables__gil(r->a, &v);
}

int summary__read(struct tracer *tr, pid_t pid, struct report_meta *m,
		  struct analysis *a, struct symbolizer *sym, struct names *names)
{
	struct reader r = { .tr = tr, .a = a, .sym = sym, .names = names };
	int err = -ENOMEM;

	m->aggregated = tracer__counter(tr, GS_CNT_SUM_EVENTS, NULL, 0);
	m->map_full = tracer__counter(tr, GS_CNT_SUM_FULL, NULL, 0);
	r.w = calloc(1, sizeof(*r.w));
	r.site = calloc(1, sizeof(*r.site));
	if (r.w && r.site) {
		err = read_locks(&r);
		err = err ?: read_threads(&r);
		err = err ?: read_hists(&r);
		err = err ?: read_pystacks(&r);
		err = err ?: read_callers(&r);
		err = err ?: read_py(&r);
	}
	if (!err)
		read_gil(&r, pid);
	free(r.w);
	free(r.site);
	u64map__free(&r.py_ids);
	if (err)
		fprintf(stderr, "gilscope: reading the summary maps failed: %s\n", strerror(-err));
	return err;
}
