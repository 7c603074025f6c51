/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --summary's map entries into the analysis' tables.  BPF keeps the
 * state machines' figures and state in the structs user space keeps them
 * in (gilscope.h), so an entry goes in as one struct; durations come as
 * histograms (stats.h).  summary.c feeds these from the BPF maps, and
 * the unit test of the state machines from its BPF-like shims.
 *
 * Order: locks, then threads (their GIL rows), then histograms (which
 * name both), then call sites, then the GIL; then analysis__finish()
 * closes what was still open, as it does for a streamed run.
 */
#ifndef SUMMARY_TABLES_H
#define SUMMARY_TABLES_H

#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"

struct analysis;
struct names;

int summary_tables__lock(struct analysis *a, __u64 addr, const struct gs_lock_figs *v);
/* @ep_frames: the call site of the wait still open at the end (if any). */
int summary_tables__thread(struct analysis *a, struct names *names, __u32 tid,
			   const struct gs_sum_thread *v, const uint64_t *ep_frames,
			   uint32_t ep_nr_frames);
int summary_tables__hist(struct analysis *a, const struct gs_hist_key *key,
			 const struct gs_hist *h);
int summary_tables__caller(struct analysis *a, __u64 addr, const uint64_t *frames,
			   uint32_t nr_frames, int py_stack, __u64 count, __u64 wait_ns);
void summary_tables__gil(struct analysis *a, const struct gs_gil_figs *v);

#endif
