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

/* A wait episode still open when tracing stopped: its thread's state,
 * closed after the histograms are in, as lockstats__finish() closes
 * streamed ones; its wait goes to its call site with the others. */
struct open_episode {
	struct gs_sum_thread v;
	uint32_t tid;
	uint64_t wait;
	bool in_callers;	/* its call site's entry was there to add it to */
};

struct reader {
	struct tracer *tr;
	struct analysis *a;
	struct symbolizer *sym;
	struct names *names;
	struct open_episode *eps;
	size_t nr_eps;
};

static struct gil_thread *gil_thread_of(struct gilstats *g, uint32_t tid)
{
	for (size_t i = 0; g && i < g->nr_threads; i++)
		if (g->threads[i]->tid == tid)
			return g->threads[i];
	return NULL;
}

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

/* The thread's open episode, as lockstats.c's finish_episode() ends it;
 * its call site is added with the others (read_callers). */
static void close_episode(struct reader *r, struct open_episode *ep)
{
	const struct gs_sum_thread *v = &ep->v;
	struct lock_stats *l = lockstats__lock(r->a->locks, v->ep_addr);
	struct thread_stats *st = lockstats__thread(r->a->locks, ep->tid);
	uint64_t start = v->ep_start, wait;
	bool pend_here = v->pend && v->pend_addr == v->ep_addr;

	if (!l || !st)
		return;
	if (pend_here && v->pend_ts < start)
		start = v->pend_ts;
	wait = v->ep_end > start ? v->ep_end - start : 0;
	l->contended++;
	samples__add(&l->wait, wait);
	st->lock_wait_ns += wait;
	if (v->ep_val == 2)
		l->val2_waits++;
	else
		l->other_waits++;
	for (int i = 0; v->ep_owner && i < l->nr_owners + 1 && i < LOCK_MAX_OWNERS; i++) {
		if (i == l->nr_owners) {
			l->owners[l->nr_owners++] = v->ep_owner;
			break;
		}
		if (l->owners[i] == v->ep_owner)
			break;
	}
	if (pend_here)
		l->acquisitions++;
	ep->wait = wait;
}

static int keep_episode(struct reader *r, uint32_t tid, const struct gs_sum_thread *v)
{
	struct open_episode *ep = realloc(r->eps, (r->nr_eps + 1) * sizeof(*ep));

	if (!ep)
		return -ENOMEM;
	r->eps = ep;
	ep = &r->eps[r->nr_eps++];
	ep->v = *v;
	ep->tid = tid;
	ep->wait = 0;
	ep->in_callers = false;
	return 0;
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
		if (v.ep_open) {
			if (keep_episode(r, key, &v))
				return -ENOMEM;
		} else if (v.pend) {
			/* a lock call with no wait after it: got it at once */
			struct lock_stats *l = lockstats__lock(r->a->locks, v.pend_addr);

			if (l)
				l->acquisitions++;
		}
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
		for (int i = 0; i < GS_SUM_OWNERS && v.owners[i]; i++) {
			bool known = false;

			for (int j = 0; j < l->nr_owners; j++)
				known |= l->owners[j] == v.owners[i];
			if (!known && l->nr_owners < LOCK_MAX_OWNERS)
				l->owners[l->nr_owners++] = v.owners[i];
		}
	}
	return 0;
}

/* Histograms go in before the open episodes add their waits to them. */
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
			t = gil_thread_of(g, (uint32_t)key.id);
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

/* Call sites: the stack id's frames, repaired with the stack words kept
 * (stackfix.h) as a streamed wait's are, plus the open episodes'. */
static int read_callers(struct reader *r)
{
	int fd = bpf_map__fd(r->tr->skel->maps.sum_callers);
	int sfd = bpf_map__fd(r->tr->skel->maps.stacks);
	struct gs_sum_caller_key key, *prev = NULL;
	struct gs_futex_wait_event *w = calloc(1, sizeof(*w));
	struct gs_sum_caller *v = malloc(sizeof(*v));
	int err = 0;

	if (!w || !v) {
		free(w);
		free(v);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(fd, prev, &key)) {
		struct lock_stats *l;

		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, v))
			continue;
		for (size_t i = 0; i < r->nr_eps; i++)
			if (r->eps[i].v.ep_addr == key.addr &&
			    r->eps[i].v.ep_stackid == key.stackid) {
				r->eps[i].in_callers = true;
				v->count++;
				v->wait_ns += r->eps[i].wait;
			}
		if (!v->count)
			continue;
		memset(w, 0, sizeof(*w));
		if (key.stackid >= 0 && !bpf_map_lookup_elem(sfd, &key.stackid, w->frames))
			while (w->nr_frames < GS_MAX_FRAMES && w->frames[w->nr_frames])
				w->nr_frames++;
		w->sp = v->sp;
		w->nr_stack = v->nr_stack;
		memcpy(w->stack, v->stack, sizeof(w->stack));
		stack_repair(r->sym, w);
		for (uint32_t i = 0; i < w->nr_frames; i++)
			names__code(r->names, w->frames[i]);
		l = lockstats__lock(r->a->locks, key.addr);
		if (!l) {
			err = -ENOMEM;
			break;
		}
		lockstats__add_caller(l, (const uint64_t *)w->frames, w->nr_frames, v->count,
				      v->wait_ns);
	}
	/* an open wait whose stack could not be taken has no entry yet */
	for (size_t i = 0; !err && i < r->nr_eps; i++) {
		static const uint64_t no_frames[1];
		struct lock_stats *l;

		if (r->eps[i].in_callers)
			continue;
		l = lockstats__lock(r->a->locks, r->eps[i].v.ep_addr);
		if (l)
			lockstats__add_caller(l, no_frames, 0, 1, r->eps[i].wait);
	}
	free(w);
	free(v);
	return err;
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
	int err;

	m->aggregated = tracer__counter(tr, GS_CNT_SUM_EVENTS, NULL, 0);
	m->map_full = tracer__counter(tr, GS_CNT_SUM_FULL, NULL, 0);
	err = read_locks(&r);
	err = err ?: read_threads(&r);
	err = err ?: read_hists(&r);
	for (size_t i = 0; !err && i < r.nr_eps; i++)
		close_episode(&r, &r.eps[i]);
	err = err ?: read_callers(&r);
	if (!err)
		read_gil(&r, pid);
	free(r.eps);
	if (err)
		fprintf(stderr, "gilscope: reading the summary maps failed: %s\n", strerror(-err));
	return err;
}
