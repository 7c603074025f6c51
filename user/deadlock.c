// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include "deadlock.h"
#include "u64map.h"

/* The open wait of @tid for a mutex with a known owner: index + 1, or 0. */
static size_t waiting(const struct u64map *by_tid, uint32_t tid)
{
	return (uintptr_t)u64map__get(by_tid, tid);
}

size_t deadlock__find(const struct lock_open_wait *w, size_t nr, struct deadlock *out,
		      size_t max)
{
	struct u64map by_tid = { 0 };
	size_t found = 0;

	for (size_t i = 0; i < nr; i++)
		if (w[i].owner_tid && u64map__set(&by_tid, w[i].tid, (void *)(uintptr_t)(i + 1)))
			goto out;	/* no memory: no verdict beats a wrong one */
	for (size_t i = 0; i < nr; i++) {
		size_t at = i;
		bool lowest = true, cycle = false;

		if (!w[i].owner_tid)
			continue;
		/* follow owners; a cycle through i comes back within nr steps */
		for (size_t steps = 0; steps < nr; steps++) {
			size_t next = waiting(&by_tid, w[at].owner_tid);

			if (!next)
				break;	/* the owner is not waiting: no cycle */
			at = next - 1;
			if (at == i) {
				cycle = true;
				break;
			}
			if (w[at].tid < w[i].tid)
				lowest = false;
		}
		if (!cycle || !lowest)
			continue;	/* no cycle through i, or counted from its lowest tid */
		if (found < max) {
			struct deadlock *d = &out[found];

			d->nr = 0;
			d->cut = false;
			at = i;
			do {
				if (d->nr == DEADLOCK_MAX_THREADS) {
					d->cut = true;
					break;
				}
				d->waits[d->nr++] = at;
				at = waiting(&by_tid, w[at].owner_tid) - 1;
			} while (at != i);
		}
		found++;
	}
out:
	u64map__free(&by_tid);
	return found;
}
