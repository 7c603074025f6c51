/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* An open-addressing hash map from u64 keys (tids, addresses) to pointers. */
#ifndef U64MAP_H
#define U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	void **vals;		/* NULL marks an empty slot */
	size_t cap, nr;
};

/* The value for @key, or NULL. */
void *u64map__get(const struct u64map *m, uint64_t key);
/* Inserts or replaces; @val must not be NULL.  0 or -ENOMEM. */
int u64map__set(struct u64map *m, uint64_t key, void *val);
/* Removes @key and returns its value (NULL when absent). */
void *u64map__del(struct u64map *m, uint64_t key);
/* Frees the table, not the values. */
void u64map__free(struct u64map *m);

/* Iterates: for (size_t i = 0; u64map__next(m, &i, &k, &v); ) ... */
int u64map__next(const struct u64map *m, size_t *iter, uint64_t *key, void **val);

#endif
