/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a Python-level wait is, from the frames it waits in: a waiter on
 * a lock someone holds (contention), or a consumer parked until there is
 * work (idle: an empty queue.Queue's get(), an executor worker between
 * jobs, a Condition/Event wait, a join).  Judged by the standard
 * library's own functions (file and name: 3.8 - 3.10 frames carry no
 * qualname), innermost first.  And which object it waits on: the one
 * whose method of threading.py or queue.py it waits in (Condition.wait's
 * self; Queue.get's, for a queue's consumer), the first local that BPF
 * reads of the innermost frames.
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

/* frames[@i]'s kind if it is a method of threading.py or queue.py that
 * waits and whose first local (self) is the object waited on
 * (Condition.wait, Event.wait, Semaphore.acquire, Barrier.wait,
 * Thread.join, Queue.get/put/join), else NULL.  (frames[i - 1], the
 * frame it called, tells 3.8 - 3.10's wait()s apart.) */
const char *py_wait_self_kind(const char *const *frames, size_t i);

/* The outermost such frame of frames[0 .. @nr) (Queue.get over the
 * Condition.wait it calls: the queue is the object), and its kind in
 * @kind; -1 (and NULL) if none. */
int py_wait_object(const char *const *frames, size_t nr, const char **kind);

#endif
