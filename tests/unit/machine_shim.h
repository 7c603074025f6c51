/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The state machines with BPF-like storage (machine_shim.c). */
#ifndef MACHINE_SHIM_H
#define MACHINE_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include "gilscope.h"

struct analysis;
struct names;

struct shim_config {
	bool mutex_probes;
	uint64_t gil_mutex, gil_cond;	/* 0: no GIL */
	uint64_t interval_ns, start_ts;
	const uint32_t *tids;		/* alive at the start */
	int nr_tids;
};

void shim_begin(const struct shim_config *cfg);
/* One record, as the probes see the event it stands for. */
void shim_event(const struct gs_event_hdr *rec);
/* The tables into @a, as summary__read() reads the maps; @dropped:
 * updates a full table refused. */
int shim_read(struct analysis *a, struct names *names, uint64_t *dropped);

#endif
