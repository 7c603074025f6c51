// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "evsort.h"
#include "grow.h"

struct item {
	uint64_t time, seq;
	size_t size;
	struct gs_event_hdr *ev;
};

/*
 * Ring buffer order is nearly time order: a record is timed right after
 * its reservation, so most arrive no older than the one before.  Those go
 * to a FIFO, already sorted, at O(1) a record and in memory order; only
 * the others (a futex wait is timed at its entry but written at its exit,
 * two CPUs can reserve and time in opposite orders) go to a binary heap.
 * Release takes the smaller head of the two: the same order as one heap
 * of everything, at a fraction of the cost (the collector's hottest
 * function at millions of records a second).
 */
struct evsort {
	uint64_t window, newest, released, seq, late;
	evsort_fn fn;
	void *ctx;
	struct item *heap;		/* out-of-order arrivals */
	size_t nr, cap;
	struct item *fifo;		/* in-order arrivals, a ring */
	size_t head, count, fcap;
};

int evsort__new(uint64_t window_ns, evsort_fn fn, void *ctx, struct evsort **out)
{
	struct evsort *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->window = window_ns;
	s->fn = fn;
	s->ctx = ctx;
	*out = s;
	return 0;
}

static int less(const struct item *a, const struct item *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void swap(struct item *a, struct item *b)
{
	struct item t = *a;

	*a = *b;
	*b = t;
}

static struct item *fifo_at(struct evsort *s, size_t i)
{
	return &s->fifo[(s->head + i) % s->fcap];
}

static int fifo_grow(struct evsort *s)
{
	size_t cap = s->fcap ? s->fcap * 2 : 4096;
	struct item *n = malloc(cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->count; i++)
		n[i] = *fifo_at(s, i);
	free(s->fifo);
	s->fifo = n;
	s->fcap = cap;
	s->head = 0;
	return 0;
}

static int heap_push(struct evsort *s, struct item it)
{
	size_t i;

	if (GROW_ARRAY(s->heap, s->cap, s->nr + 1, 1024))
		return -ENOMEM;
	i = s->nr++;
	s->heap[i] = it;
	while (i && less(&s->heap[i], &s->heap[(i - 1) / 2])) {
		swap(&s->heap[i], &s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return 0;
}

int evsort__push(struct evsort *s, const void *data, size_t size)
{
	const struct gs_event_hdr *h = data;
	struct item it;
	int err;

	if (size < sizeof(*h) || gs_event_size(h->type) != size)
		return -EINVAL;
	it.ev = malloc(size);
	if (!it.ev)
		return -ENOMEM;
	memcpy(it.ev, data, size);
	it.size = size;
	it.time = gs_event_time(h);
	it.seq = s->seq++;
	if (it.time < s->released)
		s->late++;
	if (it.time > s->newest)
		s->newest = it.time;
	if (s->count && it.time < fifo_at(s, s->count - 1)->time) {
		err = heap_push(s, it);
	} else {
		err = s->count == s->fcap ? fifo_grow(s) : 0;
		if (!err)
			*fifo_at(s, s->count++) = it;
	}
	if (err)
		free(it.ev);
	return err;
}

static struct item heap_pop(struct evsort *s)
{
	struct item top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nr];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < s->nr && less(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->nr && less(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			break;
		swap(&s->heap[i], &s->heap[m]);
		i = m;
	}
	return top;
}

/* The oldest held item, or NULL; *from_heap says where it is. */
static const struct item *oldest(struct evsort *s, bool *from_heap)
{
	const struct item *f = s->count ? fifo_at(s, 0) : NULL;

	*from_heap = s->nr && (!f || less(&s->heap[0], f));
	return *from_heap ? &s->heap[0] : f;
}

void evsort__flush(struct evsort *s, int all)
{
	const struct item *o;
	bool from_heap;

	while ((o = oldest(s, &from_heap))) {
		struct item it;

		if (!all && o->time + s->window > s->newest)
			break;
		if (from_heap) {
			it = heap_pop(s);
		} else {
			it = *o;
			s->head = (s->head + 1) % s->fcap;
			s->count--;
		}
		if (it.time > s->released)
			s->released = it.time;
		s->fn(it.ev, it.size, s->ctx);
		free(it.ev);
	}
}

uint64_t evsort__late(const struct evsort *s)
{
	return s->late;
}

void evsort__free(struct evsort *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr; i++)
		free(s->heap[i].ev);
	for (size_t i = 0; i < s->count; i++)
		free(fifo_at(s, i)->ev);
	free(s->heap);
	free(s->fifo);
	free(s);
}
