// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include "analysis.h"
#include "names.h"
#include "summary_tables.h"

int summary_tables__lock(struct analysis *a, __u64 addr, const struct gs_lock_figs *v)
{
	struct lock_stats *l = lockstats__lock(a->locks, addr);

	if (!l)
		return -ENOMEM;
	l->fig = *v;
	return 0;
}

int summary_tables__thread(struct analysis *a, struct names *names, __u32 tid,
			   const struct gs_sum_thread *v, const uint64_t *ep_frames,
			   uint32_t ep_nr_frames)
{
	struct thread_stats *st = lockstats__thread(a->locks, tid);

	if (!st)
		return -ENOMEM;
	st->fig = v->lock;
	if (v->named) {
		char comm[GS_COMM_LEN];

		memcpy(comm, v->comm, sizeof(comm));
		comm[GS_COMM_LEN - 1] = 0;
		names__set_thread(names, tid, comm);
	}
	/* what it was doing at the end, for lockstats__finish() to close */
	if (v->ls.ep_open || v->ls.pend || v->ls.in_cond)
		lockstats__set_state(a->locks, tid, &v->ls, ep_frames, ep_nr_frames);
	/* a thread that never touched the GIL has no row in its table */
	if (a->gil && v->gs.seen &&
	    !gilstats__set_thread(a->gil, tid, &v->gil, &v->gs))
		return -ENOMEM;
	return 0;
}

int summary_tables__hist(struct analysis *a, const struct gs_hist_key *key,
			 const struct gs_hist *h)
{
	struct gilstats *g = a->gil;
	struct samples *s = NULL;
	struct gil_handoff *ho;
	struct lock_stats *l;
	struct gil_thread *t;

	switch (key->kind) {
	case GS_H_LOCK_WAIT:
	case GS_H_LOCK_HOLD:
		l = lockstats__lock(a->locks, key->id);
		if (l)
			s = key->kind == GS_H_LOCK_WAIT ? &l->wait : &l->hold;
		break;
	case GS_H_GIL_WAIT:
	case GS_H_GIL_HOLD:
		t = g ? gilstats__find(g, (uint32_t)key->id) : NULL;
		if (t)
			s = key->kind == GS_H_GIL_WAIT ? &t->wait : &t->hold;
		break;
	case GS_H_HANDOFF:
		ho = g ? gilstats__handoff(g, key->id >> 32, (uint32_t)key->id) : NULL;
		if (ho) {
			ho->count = h->count;
			s = &ho->latency;
		}
		break;
	case GS_H_HANDOFF_ALL:
		s = g ? &g->handoff_latency : NULL;
		break;
	}
	return s ? samples__from_hist(s, h) : 0;
}

int summary_tables__caller(struct analysis *a, __u64 addr, const uint64_t *frames,
			   uint32_t nr_frames, int py_stack, __u64 count, __u64 wait_ns)
{
	struct lock_stats *l = lockstats__lock(a->locks, addr);

	if (!l)
		return -ENOMEM;
	lockstats__add_caller(l, frames, nr_frames, py_stack, count, wait_ns);
	return 0;
}

void summary_tables__gil(struct analysis *a, const struct gs_gil_figs *v)
{
	if (a->gil)
		a->gil->fig = *v;
}
