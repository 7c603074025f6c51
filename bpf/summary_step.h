/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --summary's step: both analyses on one event of a thread whose state
 * and figures are one map entry (struct gs_sum_thread).  summary.bpf.h
 * runs it in the probes; tests/unit/test_machines.c runs it over its
 * BPF-like tables.  The side defines the hooks of both machines.
 */
#ifndef GS_SUMMARY_STEP_H
#define GS_SUMMARY_STEP_H

#include "lock_machine.h"
#include "gil_machine.h"

/* @g: the process's GIL, NULL when none is traced; @gil_mutex and
 * @gil_cond: its pthread objects. */
static inline void gs_sum_step(struct gs_env *env, struct gs_sum_thread *t,
			       struct gs_gil_figs *g, __u64 gil_mutex, __u64 gil_cond,
			       const struct gs_step *e)
{
	if (!(g && gs_is_gil_part(e, gil_cond)))
		gs_lock_step(env, &t->lock, &t->ls, e);
	if (g && gs_gil_concerns(e, gil_mutex, gil_cond))
		gs_gil_step(env, &t->gil, &t->gs, g, e);
}

#endif /* GS_SUMMARY_STEP_H */
