// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "gilstats.h"
#include "grow.h"
#include "u64map.h"

struct gil_priv {
	struct u64map threads;		/* tid -> struct gil_thread */
	struct u64map pairs;		/* from << 32 | to -> its handoffs index + 1 */
};

int gilstats__new(const struct gil_config *cfg, struct gilstats **out)
{
	struct gilstats *g = calloc(1, sizeof(*g));
	struct gil_priv *p = calloc(1, sizeof(*p));

	if (!g || !p) {
		free(g);
		free(p);
		return -ENOMEM;
	}
	g->cfg = *cfg;
	g->interval_ns = cfg->interval_us * 1000;
	g->start_ts = cfg->start_ts;
	g->priv = p;
	*out = g;
	return 0;
}

void gilstats__free(struct gilstats *g)
{
	struct gil_priv *p;

	if (!g)
		return;
	p = g->priv;
	u64map__free(&p->threads);
	u64map__free(&p->pairs);
	for (size_t i = 0; i < g->nr_threads; i++) {
		samples__free(&g->threads[i]->wait);
		samples__free(&g->threads[i]->hold);
		free(g->threads[i]->spans);
		free(g->threads[i]);
	}
	free(g->threads);
	for (size_t i = 0; i < g->nr_handoffs; i++)
		samples__free(&g->handoffs[i].latency);
	free(g->handoffs);
	samples__free(&g->handoff_latency);
	free(g->flows);
	free(p);
	free(g);
}

/* The thread's row, made when missing (its part of the trace from @ts). */
static struct gil_thread *tget(struct gilstats *g, uint32_t tid, uint64_t ts)
{
	struct gil_priv *p = g->priv;
	struct gil_thread *t = u64map__get(&p->threads, tid);

	if (t)
		return t;
	if (GROW_ARRAY(g->threads, g->cap_threads, g->nr_threads + 1, 16))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t || u64map__set(&p->threads, tid, t)) {
		free(t);
		return NULL;
	}
	t->tid = tid;
	t->first_ts = t->st.since = ts;
	t->st.seen = 1;
	g->threads[g->nr_threads++] = t;
	return t;
}

void gilstats__add_thread(struct gilstats *g, uint32_t tid)
{
	tget(g, tid, g->cfg.start_ts);
}

struct gil_thread *gilstats__find(struct gilstats *g, uint32_t tid)
{
	return u64map__get(&((struct gil_priv *)g->priv)->threads, tid);
}

struct gil_thread *gilstats__set_thread(struct gilstats *g, uint32_t tid,
					const struct gs_gil_thread_figs *f,
					const struct gs_gil_tstate *s)
{
	struct gil_thread *t = tget(g, tid, f->first_ts);

	if (!t)
		return NULL;
	t->fig = *f;
	t->st = *s;
	return t;
}

/* A pair's entry; found by hash: 200 threads make up to 40,000 pairs,
 * and every acquisition looks one up. */
struct gil_handoff *gilstats__handoff(struct gilstats *g, uint32_t from, uint32_t to)
{
	struct gil_priv *p = g->priv;
	uint64_t key = (uint64_t)from << 32 | to;
	uintptr_t idx = (uintptr_t)u64map__get(&p->pairs, key);
	struct gil_handoff *h;

	if (idx)
		return &g->handoffs[idx - 1];
	if (GROW_ARRAY(g->handoffs, g->cap_handoffs, g->nr_handoffs + 1, 16))
		return NULL;
	if (u64map__set(&p->pairs, key, (void *)(uintptr_t)(g->nr_handoffs + 1)))
		return NULL;
	h = &g->handoffs[g->nr_handoffs++];
	memset(h, 0, sizeof(*h));
	h->from = from;
	h->to = to;
	return h;
}

/* ---- the state machine's hooks (gil_machine.h), on this side ---- */

struct gs_env {
	struct gilstats *g;
	struct gil_thread *t;	/* the thread stepping */
};

#define GS_FN static
#define GS_ADD(p, v) (*(p) += (v))

static void gs_hist_add(struct gs_env *env, enum gs_hist_kind kind, __u64 id, __u64 v)
{
	(void)id;	/* always the thread stepping */
	samples__add(kind == GS_H_GIL_HOLD ? &env->t->hold : &env->t->wait, v);
}

static void gs_gil_span(struct gs_env *env, struct gs_gil_thread_figs *f, int state,
			__u64 start, __u64 end)
{
	struct gil_thread *t = env->t;
	struct gil_span *sp;

	(void)f;
	if (end <= start)
		return;
	if (GROW_ARRAY(t->spans, t->cap_spans, t->nr_spans + 1, 64))
		return;
	sp = &t->spans[t->nr_spans++];
	sp->start = start;
	sp->end = end;
	sp->state = state;
}

static void gs_gil_handoff(struct gs_env *env, __u32 from, __u32 to, __u64 released,
			   __u64 taken)
{
	struct gilstats *g = env->g;
	uint64_t lat = taken > released ? taken - released : 0;
	struct gil_handoff *h = gilstats__handoff(g, from, to);

	if (h) {
		h->count++;
		samples__add(&h->latency, lat);
	}
	samples__add(&g->handoff_latency, lat);
	if (!g->cfg.keep_flows)
		return;
	if (GROW_ARRAY(g->flows, g->cap_flows, g->nr_flows + 1, 256))
		return;
	g->flows[g->nr_flows++] = (struct gil_flow){ released, taken, from, to };
}

static struct gs_gil_tstate *gs_gil_tstate_of(struct gs_env *env, __u32 tid)
{
	struct gil_thread *t = gilstats__find(env->g, tid);

	return t ? &t->st : NULL;
}

#include "gil_machine.h"

void gilstats__event(struct gilstats *g, const struct gs_event_hdr *e,
		     const struct gs_step *step)
{
	struct gs_env env = { .g = g };

	if (!gs_gil_concerns(step, g->cfg.mutex, g->cfg.cond))
		return;
	/* a cond wait's return or an exit concerns only threads it knows */
	if (e->type == GS_EV_COND_WAIT_RET || e->type == GS_EV_THREAD_EXIT)
		env.t = gilstats__find(g, e->tid);
	else
		env.t = tget(g, e->tid, e->ts);
	if (env.t)
		gs_gil_step(&env, &env.t->fig, &env.t->st, &g->fig, step);
}

static int cmp_tid(const void *a, const void *b)
{
	const struct gil_thread *x = *(struct gil_thread *const *)a;
	const struct gil_thread *y = *(struct gil_thread *const *)b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

void gilstats__finish(struct gilstats *g, uint64_t end_ts)
{
	struct gil_priv *p = g->priv;
	uint64_t k;
	void *v;

	g->end_ts = end_ts;
	for (size_t i = 0; u64map__next(&p->threads, &i, &k, &v);) {
		struct gs_env env = { .g = g, .t = v };

		if (!env.t->exited) {
			gs_gil_leave(&env, &env.t->fig, &env.t->st, end_ts);
			env.t->last_ts = end_ts;
		}
	}
	if (g->nr_threads)	/* no GIL thread: threads is NULL */
		qsort(g->threads, g->nr_threads, sizeof(*g->threads), cmp_tid);
}

uint64_t gilstats__missed(const struct gilstats *g)
{
	return g->sn_gaps;
}

bool gilstats__is_convoy(const struct gilstats *g, const struct gil_thread *t)
{
	(void)g;
	/* most of its time waiting for the GIL was lost that way */
	return t->convoy_waits >= 10 && t->convoy_lost_ns * 2 >= t->waited_ns;
}
