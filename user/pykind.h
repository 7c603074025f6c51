/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a Python-level wait is, from the frames it waits in: a waiter on
 * a lock someone holds (contention), or a consumer parked until there is
 * work (idle: an empty queue.Queue's get(), an executor worker between
 * jobs, a Condition/Event wait, a join).  Judged by the standard
 * library's own functions (file and name: 3.8 - 3.10 frames carry no
 * qualname), innermost first.
 */
#ifndef PYKIND_H
#define PYKIND_H

#include <stdbool.h>
#include <stddef.h>

struct py_wait_kind {
	const char *kind;	/* "threading.Condition", "queue.Queue", ... or NULL */
	bool idle;
};

/* @frames: "qualname (path:line)" strings, innermost first. */
void py_wait_kind(const char *const *frames, size_t nr, struct py_wait_kind *out);

#endif
