/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User-space helpers over the shared event model (bpf/gilscope.h). */
#ifndef EVENTS_H
#define EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <string.h>
#include "gilscope.h"
#include "machine.h"

/* The record size a type must have; 0 for an unknown type. */
static inline size_t gs_event_size(uint32_t type)
{
	switch (type) {
	case GS_EV_FUTEX_WAIT:
		return sizeof(struct gs_futex_wait_event);
	case GS_EV_FUTEX_WAKE:
		return sizeof(struct gs_futex_event);
	case GS_EV_MUTEX_LOCK:
	case GS_EV_MUTEX_UNLOCK:
		return sizeof(struct gs_lock_event);
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED:
		return sizeof(struct gs_gil_event);
	case GS_EV_COND_WAIT:
	case GS_EV_COND_WAIT_RET:
		return sizeof(struct gs_cond_event);
	case GS_EV_THREAD_EXIT:
	case GS_EV_THREAD_RENAME:
		return sizeof(struct gs_thread_event);
	case GS_EV_REFCOUNT_WRITE:
		return sizeof(struct gs_refcount_event);
	case GS_EV_FUTEX_WAIT_OPEN:
		return sizeof(struct gs_open_wait_event);
	case GS_EV_EXEC:
		return sizeof(struct gs_exec_event);
	case GS_EV_GIL_FOUND:
		return sizeof(struct gs_gil_found_event);
	case GS_EV_PY_STACK:
		return sizeof(struct gs_py_stack_event);
	default:
		return 0;
	}
}

/*
 * When an event happened, for ordering: a futex record is emitted at the
 * syscall's exit, so it is ordered by its end (a wait that started
 * seconds ago must not hold back everything since).
 */
static inline uint64_t gs_event_time(const struct gs_event_hdr *h)
{
	if (h->type == GS_EV_FUTEX_WAIT || h->type == GS_EV_FUTEX_WAKE ||
	    h->type == GS_EV_FUTEX_WAIT_OPEN)
		return ((const struct gs_futex_event *)h)->end_ts;
	return h->ts;
}

/* A record as the state machines step on it (machine.h). */
static inline void gs_step_of(const struct gs_event_hdr *h, struct gs_step *e)
{
	memset(e, 0, sizeof(*e));
	e->type = h->type;
	e->tid = h->tid;
	e->ts = h->ts;
	switch (h->type) {
	case GS_EV_FUTEX_WAIT_OPEN:
		e->start_known = ((const struct gs_open_wait_event *)h)->start_known;
		/* the rest is a futex wait's */
		__attribute__((fallthrough));
	case GS_EV_FUTEX_WAIT:
	case GS_EV_FUTEX_WAKE: {
		const struct gs_futex_event *f = (const void *)h;

		e->end_ts = f->end_ts;
		e->addr = f->uaddr;
		e->val = f->val;
		e->owner = f->owner_tid;
		e->ret = f->ret;
		break;
	}
	case GS_EV_MUTEX_LOCK:
	case GS_EV_MUTEX_UNLOCK:
		e->addr = ((const struct gs_lock_event *)h)->addr;
		break;
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED: {
		const struct gs_gil_event *g = (const void *)h;

		e->addr = g->mutex;
		e->sn = g->switch_number;
		e->holder = g->holder;
		break;
	}
	case GS_EV_COND_WAIT:
	case GS_EV_COND_WAIT_RET: {
		const struct gs_cond_event *c = (const void *)h;

		e->addr = c->cond;
		e->mutex = c->mutex;
		e->ret = c->ret;
		break;
	}
	default:
		break;
	}
}

#endif
