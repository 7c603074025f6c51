// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "events.h"
#include "evsort.h"
#include "report.h"

/* Ring buffer records of one thread can be committed a little out of
 * order with other CPUs' records; 50 ms is far more than that. */
#define REORDER_WINDOW_NS (50ULL * 1000 * 1000)

/*
 * The target exec'd: its GIL went with its old image, and the GIL
 * section is of the program it became.  The GIL analysis starts again,
 * empty (concerning no GIL) until the new image's is found, then with
 * it (GS_EV_GIL_FOUND), from then on.  Never NULL once made: a report
 * of a recording cut short may still announce a GIL.
 */
static void new_image_gil(struct analysis *a, const struct gs_event_hdr *e)
{
	struct gil_config gc = { .start_ts = e->ts, .keep_flows = a->keep };
	struct gilstats *g;

	if (e->type == GS_EV_GIL_FOUND) {
		const struct gs_gil_found_event *f = (const void *)e;

		gc.mutex = f->mutex;
		gc.cond = f->cond;
		gc.interval_us = f->interval_us;
	} else if (!a->gil) {
		return;
	}
	if (gilstats__new(&gc, &g))
		return;
	gilstats__free(a->gil);
	a->gil = g;
	/* the new image's one thread at its ready point is in the table
	 * from then, as every thread is at a trace's start */
	if (e->type == GS_EV_GIL_FOUND)
		gilstats__add_thread(g, e->tid);
}

static void dispatch(const struct gs_event_hdr *e, size_t size, void *ctx)
{
	struct analysis *a = ctx;
	struct gs_step step;

	if (e->type == GS_EV_EXEC || e->type == GS_EV_GIL_FOUND)
		new_image_gil(a, e);
	if (a->tap)
		a->tap(e, size, a->tap_ctx);
	/* the record as both state machines step on it, made once */
	gs_step_of(e, &step);
	/* the GIL's own condvars and mutexes are in its section, not the
	 * lock table (machine.h), here as in --summary */
	if (!(a->gil && gs_is_gil_part(&step, a->gil->cfg.cond)))
		lockstats__event(a->locks, e, &step);
	else if (e->type == GS_EV_GIL_ACQUIRED)
		lockstats__gil_taken(a->locks, e->tid);
	if (a->gil)
		gilstats__event(a->gil, e, &step);
	if (a->ref)
		refstats__event(a->ref, e, size);
	pystats__event(&a->py, e, size);
}

int analysis__add_refcount(struct analysis *a, const struct report_meta *m)
{
	if (!m->nr_objects)
		return 0;
	a->ref = calloc(1, sizeof(*a->ref));
	if (!a->ref)
		return -ENOMEM;
	refstats__init(a->ref, m->obj_addr, (char (*)[128])m->obj_name, m->nr_objects);
	for (int i = 0; i < a->ref->nr; i++)
		if (m->obj_start_known[i])
			refstats__set_start(a->ref, i, m->obj_start[i]);
	return 0;
}

int analysis__add_gil(struct analysis *a, const struct gil_config *cfg)
{
	return gilstats__new(cfg, &a->gil);
}

void analysis__add_thread(struct analysis *a, uint32_t tid)
{
	lockstats__add_thread(a->locks, tid);
	if (a->gil)
		gilstats__add_thread(a->gil, tid);
}

int analysis__new(struct analysis *a, const struct lockstats_config *cfg,
		  struct names *names)
{
	int err;

	memset(a, 0, sizeof(*a));
	err = lockstats__new(cfg, names, &a->locks);
	if (err)
		return err;
	pystats__init(&a->py, &a->pystacks);
	lockstats__set_pystacks(a->locks, &a->pystacks);
	err = evsort__new(REORDER_WINDOW_NS, dispatch, a, &a->sort);
	if (err) {
		lockstats__free(a->locks);
		a->locks = NULL;
	}
	return err;
}

int analysis__from_meta(struct analysis *a, const struct report_meta *m,
			struct names *names, bool keep)
{
	struct lockstats_config lc = { .mutex_probes = m->mutex_probes,
				       .cond_probes = true, .keep_spans = keep };
	struct gil_config gc = {
		.mutex = m->gil.mutex,
		.cond = m->gil.cond,
		.interval_us = m->gil_interval_us,
		.start_ts = m->start_ts,	/* set before: the GIL's state opens there */
		.keep_flows = keep,
	};
	int err;

	err = analysis__new(a, &lc, names);
	a->keep = keep;
	if (!err)
		analysis__set_python(a, m);
	if (!err && m->has_gil)
		err = analysis__add_gil(a, &gc);
	if (!err)
		err = analysis__add_refcount(a, m);
	return err;
}

void analysis__set_python(struct analysis *a, const struct report_meta *m)
{
	int major = 0, minor = 0;

	/* "3.11.2", "3.13.0t": a recording keeps the name, not the numbers */
	if (m->has_gil && sscanf(m->gil.python, "%d.%d", &major, &minor) != 2)
		major = minor = 0;
	pystacks__set_python(&a->pystacks, major, minor);
}

void analysis__push(struct analysis *a, const void *data, size_t size)
{
	if (evsort__push(a->sort, data, size))
		a->malformed++;
	else
		a->recorded++;
}

void analysis__flush(struct analysis *a)
{
	evsort__flush(a->sort, 0);
}

void analysis__flush_all(struct analysis *a)
{
	evsort__flush(a->sort, 1);
}

void analysis__finish(struct analysis *a, uint64_t end_ts)
{
	evsort__flush(a->sort, 1);
	lockstats__finish(a->locks, end_ts);
	if (a->gil)
		gilstats__finish(a->gil, end_ts);
	if (a->ref)
		refstats__finish(a->ref);
}

uint64_t analysis__late(struct analysis *a)
{
	return evsort__late(a->sort);
}

void analysis__free(struct analysis *a)
{
	evsort__free(a->sort);
	lockstats__free(a->locks);
	gilstats__free(a->gil);
	if (a->ref)
		refstats__free(a->ref);
	free(a->ref);
	pystats__free(&a->py);
	pystacks__free(&a->pystacks);
	memset(a, 0, sizeof(*a));
}
