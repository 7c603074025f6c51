// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "u64map.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: lock addresses share their low bits */
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 7) & (cap - 1);
}

void *u64map__get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i])
			return NULL;
		if (m->keys[i] == key)
			return m->vals[i];
	}
}

static int grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct u64map n = { .cap = cap };

	n.keys = calloc(cap, sizeof(*n.keys));
	n.vals = calloc(cap, sizeof(*n.vals));
	if (!n.keys || !n.vals) {
		free(n.keys);
		free(n.vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			u64map__set(&n, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = n;
	return 0;
}

int u64map__set(struct u64map *m, uint64_t key, void *val)
{
	size_t i;
	int err;

	if ((m->nr + 1) * 4 > m->cap * 3) {
		err = grow(m);
		if (err)
			return err;
	}
	for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->nr++;
	return 0;
}

void *u64map__del(struct u64map *m, uint64_t key)
{
	size_t i, j;
	void *val;

	if (!m->cap)
		return NULL;
	for (i = slot_of(key, m->cap); m->vals[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == key)
			break;
	if (!m->vals[i])
		return NULL;
	val = m->vals[i];
	m->vals[i] = NULL;
	m->nr--;
	/* re-seat the rest of the cluster so lookups still find them */
	for (j = (i + 1) & (m->cap - 1); m->vals[j]; j = (j + 1) & (m->cap - 1)) {
		uint64_t k = m->keys[j];
		void *v = m->vals[j];

		m->vals[j] = NULL;
		m->nr--;
		u64map__set(m, k, v);
	}
	return val;
}

void u64map__free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->nr = 0;
}

int u64map__next(const struct u64map *m, size_t *iter, uint64_t *key, void **val)
{
	for (; *iter < m->cap; (*iter)++) {
		if (m->vals[*iter]) {
			*key = m->keys[*iter];
			*val = m->vals[*iter];
			(*iter)++;
			return 1;
		}
	}
	return 0;
}
