// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "gilstats.h"
#include "u64map.h"

#define ETIMEDOUT_ 110	/* the kernel's ETIMEDOUT, as pthread returns it */

/* Per-thread state the report does not need. */
struct gil_tstate {
	struct gil_thread *t;
	uint8_t state;
	uint64_t since;			/* when the current state began */
	bool drop_requested;		/* a waiter timed out during this hold */
	bool in_cond;			/* inside pthread_cond_*wait on the GIL */
	uint64_t cond_since;		/* start of that single timed wait */
	uint64_t idle_len;		/* length of the idle span before this wait */
	bool had_idle;			/* ... and whether there was one */
	bool last_drop_forced;		/* the GIL was taken from it, not let go */
};

struct gil_priv {
	struct u64map threads;		/* tid -> struct gil_tstate */
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
	g->priv = p;
	*out = g;
	return 0;
}

void gilstats__free(struct gilstats *g)
{
	struct gil_priv *p;
	uint64_t k;
	void *v;

	if (!g)
		return;
	p = g->priv;
	for (size_t i = 0; u64map__next(&p->threads, &i, &k, &v);)
		free(v);
	u64map__free(&p->threads);
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

static struct gil_tstate *tget(struct gilstats *g, uint32_t tid, uint64_t ts)
{
	struct gil_priv *p = g->priv;
	struct gil_tstate *s = u64map__get(&p->threads, tid);
	struct gil_thread *t;

	if (s)
		return s;
	if (g->nr_threads == g->cap_threads) {
		size_t cap = g->cap_threads ? g->cap_threads * 2 : 16;
		struct gil_thread **n = realloc(g->threads, cap * sizeof(*n));

		if (!n)
			return NULL;
		g->threads = n;
		g->cap_threads = cap;
	}
	s = calloc(1, sizeof(*s));
	t = calloc(1, sizeof(*t));
	if (!s || !t || u64map__set(&p->threads, tid, s)) {
		free(s);
		free(t);
		return NULL;
	}
	t->tid = tid;
	t->first_ts = ts;
	s->t = t;
	s->state = GIL_IDLE;
	s->since = ts;
	g->threads[g->nr_threads++] = t;
	return s;
}

void gilstats__add_thread(struct gilstats *g, uint32_t tid)
{
	tget(g, tid, g->cfg.start_ts);
}

static void add_span(struct gil_thread *t, uint8_t state, uint64_t start, uint64_t end)
{
	struct gil_span *sp;

	if (end <= start)
		return;
	if (t->nr_spans == t->cap_spans) {
		size_t cap = t->cap_spans ? t->cap_spans * 2 : 64;

		sp = realloc(t->spans, cap * sizeof(*sp));
		if (!sp)
			return;
		t->spans = sp;
		t->cap_spans = cap;
	}
	sp = &t->spans[t->nr_spans++];
	sp->start = start;
	sp->end = end;
	sp->state = state;
}

/* Leaves the current state at @ts, accounting the span it closes. */
static void leave(struct gil_tstate *s, uint64_t ts)
{
	uint64_t len = ts > s->since ? ts - s->since : 0;

	if (s->state == GIL_HOLDING) {
		s->t->held_ns += len;
		add_span(s->t, GIL_HOLDING, s->since, ts);
	} else if (s->state == GIL_WAITING) {
		s->t->waited_ns += len;
		add_span(s->t, GIL_WAITING, s->since, ts);
	} else {
		s->idle_len = len;
		s->had_idle = true;
	}
	s->since = ts;
}

static void start_waiting(struct gil_tstate *s, uint64_t ts)
{
	if (s->state != GIL_IDLE)
		return;
	leave(s, ts);	/* notes how long the thread went without the GIL */
	s->state = GIL_WAITING;
}

struct gil_handoff *gilstats__handoff(struct gilstats *g, uint32_t from, uint32_t to)
{
	struct gil_handoff *h;

	for (size_t i = 0; i < g->nr_handoffs; i++)
		if (g->handoffs[i].from == from && g->handoffs[i].to == to)
			return &g->handoffs[i];
	if (g->nr_handoffs == g->cap_handoffs) {
		size_t cap = g->cap_handoffs ? g->cap_handoffs * 2 : 16;

		h = realloc(g->handoffs, cap * sizeof(*h));
		if (!h)
			return NULL;
		g->handoffs = h;
		g->cap_handoffs = cap;
	}
	h = &g->handoffs[g->nr_handoffs++];
	memset(h, 0, sizeof(*h));
	h->from = from;
	h->to = to;
	return h;
}

struct gil_thread *gilstats__find(struct gilstats *g, uint32_t tid)
{
	struct gil_tstate *s = u64map__get(&((struct gil_priv *)g->priv)->threads, tid);

	return s ? s->t : NULL;
}

struct gil_thread *gilstats__thread(struct gilstats *g, uint32_t tid, uint64_t first_ts,
				    uint8_t state, uint64_t since)
{
	struct gil_tstate *s = tget(g, tid, first_ts);

	if (!s)
		return NULL;
	s->t->first_ts = first_ts;
	s->state = state;
	s->since = since;
	return s->t;
}

static void on_acquired(struct gilstats *g, struct gil_tstate *s,
			const struct gs_gil_event *e)
{
	uint64_t ts = e->hdr.ts, wait = 0, interval = g->cfg.interval_us * 1000;
	struct gil_thread *t = s->t;

	if (s->state == GIL_WAITING)
		wait = ts > s->since ? ts - s->since : 0;
	/* The convoy's signature: the thread let the GIL go for a blocking
	 * call (a voluntary release; after a forced drop it never blocked)
	 * and, back from it, waited half a switch interval or more for a
	 * CPU-bound holder to be forced out - a wait that is no small part
	 * of the call itself (a quarter of it or more: a 1 s sleep followed
	 * by a 5 ms wait is no convoy). */
	if (s->state == GIL_IDLE)
		leave(s, ts);
	if (s->had_idle && !s->last_drop_forced) {
		t->short_releases++;
		if (wait * 2 >= interval && wait * 4 >= s->idle_len) {
			t->convoy_waits++;
			t->convoy_lost_ns += wait;
		}
	}
	s->had_idle = false;
	leave(s, ts);
	s->state = GIL_HOLDING;
	s->drop_requested = false;
	t->acquisitions++;
	samples__add(&t->wait, wait);
	g->acquisitions++;

	if (e->switch_number != ~0ULL) {
		if (!g->sn_seen) {
			g->first_sn = e->switch_number;
			g->sn_seen = true;
		} else {
			uint64_t expect = e->holder != g->last_holder;
			uint64_t delta = e->switch_number - g->last_sn;

			g->switches += expect;
			if (expect && !g->first_switch_ts)
				g->first_switch_ts = e->hdr.ts;
			if (delta > expect)
				g->sn_gaps += delta - expect;
		}
		g->last_sn = e->switch_number;
		g->last_holder = e->holder;
	}

	if (g->release_pending) {
		uint64_t lat = ts > g->last_release_ts ? ts - g->last_release_ts : 0;
		struct gil_handoff *h = gilstats__handoff(g, g->last_release_tid, t->tid);

		if (h) {
			h->count++;
			samples__add(&h->latency, lat);
		}
		samples__add(&g->handoff_latency, lat);
		g->release_pending = false;
		if (g->cfg.keep_flows) {
			if (g->nr_flows == g->cap_flows) {
				size_t cap = g->cap_flows ? g->cap_flows * 2 : 256;
				struct gil_flow *n = realloc(g->flows, cap * sizeof(*n));

				if (n) {
					g->flows = n;
					g->cap_flows = cap;
				}
			}
			if (g->nr_flows < g->cap_flows)
				g->flows[g->nr_flows++] = (struct gil_flow){
					g->last_release_ts, ts, g->last_release_tid, t->tid };
		}
	}
	g->holder = t->tid;
}

static void on_released(struct gilstats *g, struct gil_tstate *s,
			const struct gs_gil_event *e)
{
	struct gil_thread *t = s->t;
	uint64_t ts = e->hdr.ts;

	if (s->state == GIL_HOLDING) {
		samples__add(&t->hold, ts > s->since ? ts - s->since : 0);
		if (s->drop_requested)
			t->forced_drops++;
		else
			t->voluntary_drops++;
		s->last_drop_forced = s->drop_requested;
	} else if (s->state == GIL_IDLE && !g->acquisitions) {
		/* held since before the trace began: count the part we saw,
		 * but not as a hold sample (its length is not known) */
		s->state = GIL_HOLDING;
		s->since = g->cfg.start_ts;
		if (s->drop_requested)
			t->forced_drops++;
		else
			t->voluntary_drops++;
	}
	leave(s, ts);
	s->state = GIL_IDLE;
	s->had_idle = false;
	if (g->holder == t->tid)
		g->holder = 0;
	g->last_release_tid = t->tid;
	g->last_release_ts = ts;
	g->release_pending = true;
}

void gilstats__event(struct gilstats *g, const struct gs_event_hdr *e, size_t size)
{
	struct gil_priv *p = g->priv;
	struct gil_tstate *s;

	(void)size;
	switch (e->type) {
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED:
		if (((const struct gs_gil_event *)e)->mutex != g->cfg.mutex)
			return;
		break;
	case GS_EV_COND_WAIT:
		if (((const struct gs_cond_event *)e)->cond != g->cfg.cond)
			return;
		break;
	case GS_EV_FUTEX_WAIT:
		if (((const struct gs_futex_event *)e)->uaddr != g->cfg.mutex)
			return;
		break;
	case GS_EV_COND_WAIT_RET:
		s = u64map__get(&p->threads, e->tid);
		if (!s || !s->in_cond)
			return;
		break;
	case GS_EV_THREAD_EXIT:
		s = u64map__get(&p->threads, e->tid);
		if (s) {
			leave(s, e->ts);
			s->state = GIL_IDLE;
			s->t->exited = true;
			s->t->last_ts = e->ts;
		}
		return;
	default:
		return;
	}
	s = tget(g, e->tid, e->ts);
	if (!s)
		return;
	s->t->last_ts = e->ts;

	switch (e->type) {
	case GS_EV_GIL_ACQUIRED:
		s->in_cond = false;
		on_acquired(g, s, (const struct gs_gil_event *)e);
		break;
	case GS_EV_GIL_RELEASED:
		on_released(g, s, (const struct gs_gil_event *)e);
		break;
	case GS_EV_COND_WAIT:
		start_waiting(s, e->ts);
		s->in_cond = true;
		s->cond_since = e->ts;
		break;
	case GS_EV_FUTEX_WAIT:
		/* blocked on the GIL's mutex on the way in: already waiting
		 * (a holder blocking on it to drop stays a holder) */
		start_waiting(s, e->ts);
		break;
	case GS_EV_COND_WAIT_RET: {
		struct gil_tstate *h;

		s->in_cond = false;
		/* CPython's take_gil: a timed wait that expires while the same
		 * holder still has the GIL sets the drop request: the
		 * holder's next release is a forced switch */
		if (((const struct gs_cond_event *)e)->ret != ETIMEDOUT_ || !g->holder)
			break;
		h = u64map__get(&p->threads, g->holder);
		if (h && h->state == GIL_HOLDING && h->since <= s->cond_since)
			h->drop_requested = true;
		break;
	}
	}
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
		struct gil_tstate *s = v;

		if (!s->t->exited) {
			leave(s, end_ts);
			s->t->last_ts = end_ts;
		}
	}
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
