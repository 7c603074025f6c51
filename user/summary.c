// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "analysis.h"
#include "names.h"
#include "proc.h"
#include "report.h"
#include "stackfix.h"
#include "summary.h"
#include "tracer.h"
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
		struct gs_sum_gil g = { .interval_ns = m->gil_interval_us * 1000 };

		err = bpf_map__update_elem(s->maps.sum_gils, &key, sizeof(key), &g, sizeof(g),
					   BPF_ANY);
		if (err) {
			fprintf(stderr, "gilscope: cannot set up the GIL summary: %s\n",
				strerror(-err));
			return err;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->gil_first_ts = t->gil_since = m->start_ts;
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

void summary__end(struct tracer *tr, const struct report_meta *m)
{
	tr->skel->data->sum_until_ts = m->end_ts;
}

struct reader {
	struct tracer *tr;
	struct analysis *a;
	struct symbolizer *sym;
	struct names *names;
	struct gs_futex_wait_event *w;	/* scratch: a call site's frames */
	struct gs_sum_caller *site;	/* scratch: a call site's entry */
};

static void read_gil_thread(struct reader *r, uint32_t tid, const struct gs_sum_thread *v)
{
	struct gil_thread *t;

	if (!r->a->gil || !v->gil_first_ts)
		return;
	t = gilstats__thread(r->a->gil, tid, v->gil_first_ts, v->gil_state, v->gil_since);
	if (!t)
		return;
	t->held_ns = v->gil_held_ns;
	t->waited_ns = v->gil_waited_ns;
	t->acquisitions = v->gil_acquisitions;
	t->forced_drops = v->forced_drops;
	t->voluntary_drops = v->voluntary_drops;
	t->short_releases = v->short_releases;
	t->convoy_waits = v->convoy_waits;
	t->convoy_lost_ns = v->convoy_lost_ns;
	t->last_ts = v->gil_last_ts;
	t->exited = v->exited;
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

/* What the thread was doing at the end, for lockstats__finish() to close. */
static void read_inflight(struct reader *r, uint32_t tid, const struct gs_sum_thread *v)
{
	struct gs_sum_caller_key key = { .addr = v->ep_addr, .stackid = v->ep_stackid };
	struct lock_inflight f = {
		.ep_open = v->ep_open, .ep_addr = v->ep_addr, .ep_start = v->ep_start,
		.ep_end = v->ep_end, .ep_val = v->ep_val, .ep_owner = v->ep_owner,
		.pend = v->pend, .pend_addr = v->pend_addr, .pend_ts = v->pend_ts,
	};

	if (!v->ep_open && !v->pend)
		return;
	if (v->ep_open) {
		site_frames(r, &key, bpf_map__lookup_elem(r->tr->skel->maps.sum_callers, &key,
							  sizeof(key), r->site, sizeof(*r->site),
							  0) ? NULL : r->site);
		f.ep_frames = (const uint64_t *)r->w->frames;
		f.ep_nr_frames = r->w->nr_frames;
	}
	lockstats__set_inflight(r->a->locks, tid, &f);
}

static int read_threads(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_threads);
	struct gs_sum_thread v;
	__u32 key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct thread_stats *st;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		st = lockstats__thread(r->a->locks, key);
		if (!st)
			return -ENOMEM;
		st->lock_wait_ns = v.lock_wait_ns;
		st->lock_hold_ns = v.lock_hold_ns;
		st->cond_wait_ns = v.cond_wait_ns;
		st->first_ts = v.first_ts;
		st->last_ts = v.last_ts;
		st->exited = v.exited;
		if (v.named) {
			v.comm[GS_COMM_LEN - 1] = 0;
			names__set_thread(r->names, key, v.comm);
		}
		read_inflight(r, key, &v);
		read_gil_thread(r, key, &v);
	}
	return 0;
}

static int read_locks(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_locks);
	struct gs_sum_lock v;
	__u64 key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct lock_stats *l;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v))
			continue;
		l = lockstats__lock(r->a->locks, key);
		if (!l)
			return -ENOMEM;
		l->acquisitions += v.acquisitions;
		l->contended += v.contended;
		l->wakes += v.wakes;
		l->unmatched_unlocks += v.unmatched_unlocks;
		l->val2_waits += v.val2_waits;
		l->other_waits += v.other_waits;
		l->seen_mutex |= v.seen_mutex;
		l->seen_cond |= v.seen_cond;
		for (int i = 0; i < GS_SUM_OWNERS; i++)
			lockstats__note_owner(l, v.owners[i]);
	}
	return 0;
}

/* Histograms go in before lockstats__finish() adds open waits to them. */
static int read_hists(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_hists);
	struct gilstats *g = r->a->gil;
	struct gs_hist_key key, *prev = NULL;
	struct gs_hist *h = malloc(sizeof(*h));
	int err = 0;

	if (!h)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(fd, prev, &key)) {
		struct samples *s = NULL;
		struct lock_stats *l;
		struct gil_thread *t;
		struct gil_handoff *ho;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, h))
			continue;
		switch (key.kind) {
		case GS_H_LOCK_WAIT:
		case GS_H_LOCK_HOLD:
			l = lockstats__lock(r->a->locks, key.id);
			if (l)
				s = key.kind == GS_H_LOCK_WAIT ? &l->wait : &l->hold;
			break;
		case GS_H_GIL_WAIT:
		case GS_H_GIL_HOLD:
			t = g ? gilstats__find(g, (uint32_t)key.id) : NULL;
			if (t)
				s = key.kind == GS_H_GIL_WAIT ? &t->wait : &t->hold;
			break;
		case GS_H_HANDOFF:
			ho = g ? gilstats__handoff(g, key.id >> 32, (uint32_t)key.id) : NULL;
			if (ho) {
				ho->count = h->count;
				s = &ho->latency;
			}
			break;
		case GS_H_HANDOFF_ALL:
			s = g ? &g->handoff_latency : NULL;
			break;
		}
		if (s)
			err = samples__from_hist(s, h);
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

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct lock_stats *l;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, r->site) || !r->site->count)
			continue;
		site_frames(r, &key, r->site);
		l = lockstats__lock(r->a->locks, key.addr);
		if (!l)
			return -ENOMEM;
		lockstats__add_caller(l, (const uint64_t *)r->w->frames, r->w->nr_frames,
				      r->site->count, r->site->wait_ns);
	}
	return 0;
}

static void read_gil(struct reader *r, pid_t pid)
{
	struct gilstats *g = r->a->gil;
	struct gs_sum_gil v;
	__u32 key = pid;

	if (!g || bpf_map__lookup_elem(r->tr->skel->maps.sum_gils, &key, sizeof(key),
				       &v, sizeof(v), 0))
		return;
	g->acquisitions = v.acquisitions;
	g->first_sn = v.first_sn;
	g->last_sn = v.last_sn;
	g->last_holder = v.last_holder;
	g->switches = v.switches;
	g->first_switch_ts = v.first_switch_ts;
	g->sn_gaps = v.sn_gaps;
	g->sn_seen = v.sn_seen;
	g->holder = v.holder;
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
		err = err ?: read_callers(&r);
	}
	if (!err)
		read_gil(&r, pid);
	free(r.w);
	free(r.site);
	if (err)
		fprintf(stderr, "gilscope: reading the summary maps failed: %s\n", strerror(-err));
	return err;
}
