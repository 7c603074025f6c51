// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "evsort.h"

struct item {
	uint64_t time, seq;
	size_t size;
	struct gs_event_hdr *ev;
};

struct evsort {
	uint64_t window, newest, released, seq, late;
	evsort_fn fn;
	void *ctx;
	struct item *heap;
	size_t nr, cap;
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

int evsort__push(struct evsort *s, const void *data, size_t size)
{
	const struct gs_event_hdr *h = data;
	struct item it;
	size_t i;

	if (size < sizeof(*h) || gs_event_size(h->type) != size)
		return -EINVAL;
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		struct item *n = realloc(s->heap, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->heap = n;
		s->cap = cap;
	}
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
	i = s->nr++;
	s->heap[i] = it;
	while (i && less(&s->heap[i], &s->heap[(i - 1) / 2])) {
		swap(&s->heap[i], &s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct item pop(struct evsort *s)
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

void evsort__flush(struct evsort *s, int all)
{
	while (s->nr) {
		struct item it;

		if (!all && s->heap[0].time + s->window > s->newest)
			break;
		it = pop(s);
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
	free(s->heap);
	free(s);
}
