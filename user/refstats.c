// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "grow.h"
#include "refstats.h"
#include "u64map.h"

void refstats__init(struct refstats *r, const uint64_t *addrs, char names[][128], int nr)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < nr && i < GS_MAX_WATCH; i++) {
		r->obj[i].addr = addrs[i];
		memcpy(r->obj[i].name, names[i], sizeof(r->obj[i].name));
		r->obj[i].name[sizeof(r->obj[i].name) - 1] = '\0';
	}
	r->nr = nr < GS_MAX_WATCH ? nr : GS_MAX_WATCH;
}

void refstats__set_start(struct refstats *r, int i, uint64_t value)
{
	struct ref_object *o = &r->obj[i];

	o->seen = true;
	o->first_value = o->last_value = o->last.value = value;
	o->last.tid = 0;
	o->start_known = true;
}

/* Sums of steps saturate: a damaged recording's values must not overflow. */
static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static struct ref_thread *thread_of(struct ref_object *o, uint32_t tid)
{
	for (size_t i = 0; i < o->nr_threads; i++)
		if (o->threads[i].tid == tid)
			return &o->threads[i];
	if (GROW_ARRAY(o->threads, o->cap_threads, o->nr_threads + 1, 8))
		return NULL;
	o->threads[o->nr_threads] = (struct ref_thread){ .tid = tid };
	return &o->threads[o->nr_threads++];
}

static struct ref_ip *ip_of(struct ref_object *o, uint64_t addr)
{
	struct ref_ip *ip;

	if (!o->ips) {
		o->ips = calloc(1, sizeof(struct u64map));
		if (!o->ips)
			return NULL;
	}
	ip = u64map__get(o->ips, addr);
	if (ip)
		return ip;
	ip = calloc(1, sizeof(*ip));
	if (ip && u64map__set(o->ips, addr, ip)) {
		free(ip);
		ip = NULL;
	}
	return ip;
}

static void to_write(struct ref_write *w, const struct gs_refcount_event *e)
{
	w->ts = e->hdr.ts;
	w->value = e->value;
	w->tid = e->hdr.tid;
	w->nr_frames = e->nr_frames < GS_REF_FRAMES ? e->nr_frames : GS_REF_FRAMES;
	memset(w->frames, 0, sizeof(w->frames));
	memcpy(w->frames, e->frames, w->nr_frames * sizeof(w->frames[0]));
	/* no stack: the writing instruction is all there is */
	if (!w->nr_frames) {
		w->frames[0] = e->ip;
		w->nr_frames = 1;
	}
}

static void note_site(struct ref_object *o, const struct ref_write *w)
{
	for (size_t i = 0; i < o->nr_sites; i++) {
		struct ref_site *s = &o->sites[i];

		if (s->example.nr_frames == w->nr_frames &&
		    !memcmp(s->example.frames, w->frames, w->nr_frames * sizeof(w->frames[0]))) {
			s->count++;
			return;
		}
	}
	if (o->nr_sites == REF_MAX_SITES) {
		o->sites_other++;
		return;
	}
	o->sites[o->nr_sites].count = 1;
	o->sites[o->nr_sites++].example = *w;
}

void refstats__event(struct refstats *r, const struct gs_event_hdr *h, size_t size)
{
	const struct gs_refcount_event *e = (const void *)h;
	struct ref_object *o = NULL;
	struct ref_thread *t;
	struct ref_write w;

	if (h->type != GS_EV_REFCOUNT_WRITE || size != sizeof(*e))
		return;
	for (int i = 0; i < r->nr; i++)
		if (r->obj[i].addr == e->addr)
			o = &r->obj[i];
	if (!o) {
		r->strays++;
		return;
	}
	to_write(&w, e);
	o->writes++;
	t = thread_of(o, h->tid);
	if (t)
		t->writes++;
	if (e->gil == GS_GIL_NOT_HELD) {
		o->without_gil++;
		if (t)
			t->without_gil++;
		note_site(o, &w);
	} else if (e->gil != GS_GIL_HELD) {
		o->gil_unknown++;
	}
	if (!o->seen) {
		o->seen = true;
		o->first_value = e->value;
	} else {
		int64_t step = (int64_t)(e->value - o->last.value);
		struct ref_ip *ip = ip_of(o, e->ip);

		if (ip) {
			ip->writes++;
			ip->step_sum = sat_add(ip->step_sum, step);
			if (h->tid == o->last.tid) {
				ip->own_writes++;
				ip->own_step_sum = sat_add(ip->own_step_sum, step);
			}
		}
		if (h->tid != o->last.tid && o->last.tid)
			o->cross_thread_switches++;
		if (!step && h->tid != o->last.tid && o->last.tid) {
			o->zero_steps++;
			if (o->nr_races < REF_MAX_EXAMPLES) {
				o->races[o->nr_races][0] = o->last;
				o->races[o->nr_races++][1] = w;
			}
		}
	}
	o->last = w;
	o->last_value = e->value;
}

/* See refstats.h: each instruction's direction from its steps, then
 * net_lost = sum of directions - (last - first). */
static void lost_updates(struct ref_object *o)
{
	__int128 moved = 0, net;	/* no sum of steps can overflow it */
	bool up = false, down = false;
	uint64_t key;
	void *v;

	o->net_known = o->seen;
	for (size_t i = 0; o->ips && u64map__next(o->ips, &i, &key, &v);) {
		const struct ref_ip *ip = v;
		bool own = ip->own_writes >= 16;
		int64_t sum = own ? ip->own_step_sum : ip->step_sum;
		int64_t half = (int64_t)((own ? ip->own_writes : ip->writes) / 2);

		if (!ip->writes)
			continue;
		/* an instruction that adds or takes several references at a
		 * time (CPython's _Py_RefcntAdd, for [None] * n): the steps
		 * seen are its moves.  Judged on all its steps: racing writes
		 * blur single steps both ways, but a one-at-a-time writer's
		 * steps never add up to more than its writes. */
		if ((__int128)ip->step_sum * 2 > (__int128)ip->writes * 3 ||
		    (__int128)ip->step_sum * 2 < -(__int128)ip->writes * 3) {
			moved += ip->step_sum;
			up |= ip->step_sum > 0;
			down |= ip->step_sum < 0;
			continue;
		}
		if (sum > half && sum > 0) {
			moved += ip->writes;
			up = true;
		} else if (sum < -half && sum < 0) {
			moved -= ip->writes;
			down = true;
		} else {
			o->net_known = false;
		}
	}
	o->direction = up && !down ? 1 : down && !up ? -1 : 0;
	if (!o->net_known)
		return;
	net = moved - (int64_t)(o->last_value - o->first_value);
	/* no count moves by 2^63: values like that are damage, not a finding */
	if (net > INT64_MAX || net < -(__int128)INT64_MAX) {
		o->net_known = false;
		return;
	}
	o->net_lost = (int64_t)net;
	o->lost_updates = o->net_lost < 0 ? -(uint64_t)o->net_lost : (uint64_t)o->net_lost;
}

void refstats__finish(struct refstats *r)
{
	for (int i = 0; i < r->nr; i++)
		lost_updates(&r->obj[i]);
}

void refstats__free(struct refstats *r)
{
	for (int i = 0; i < r->nr; i++) {
		uint64_t key;
		void *v;

		for (size_t k = 0; r->obj[i].ips && u64map__next(r->obj[i].ips, &k, &key, &v);)
			free(v);
		if (r->obj[i].ips)
			u64map__free(r->obj[i].ips);
		free(r->obj[i].ips);
		r->obj[i].ips = NULL;
		free(r->obj[i].threads);
		r->obj[i].threads = NULL;
		r->obj[i].nr_threads = r->obj[i].cap_threads = 0;
	}
}
