/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Deadlocks among the waits still in progress at the end: a cycle of
 * threads, each waiting for a mutex that the next one owns (glibc keeps
 * the owner's tid in the mutex, lockstats reads it as owner_tid).
 */
#ifndef DEADLOCK_H
#define DEADLOCK_H

#include <stddef.h>
#include "lockstats.h"

#define DEADLOCK_MAX_THREADS 16	/* longer cycles are cut, and said to be */

struct deadlock {
	/* indexes into the open waits: waits[i]'s owner waits at waits[i+1],
	 * the last one's owner at waits[0] */
	size_t waits[DEADLOCK_MAX_THREADS];
	size_t nr;
	bool cut;		/* the cycle is longer than DEADLOCK_MAX_THREADS */
};

/* The cycles among @w (each once, starting at its lowest tid), up to
 * @max of them in @out; returns how many there are (may exceed @max). */
size_t deadlock__find(const struct lock_open_wait *w, size_t nr, struct deadlock *out,
		      size_t max);

#endif
