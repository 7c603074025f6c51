/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "analysis.h"
#include "tracefile.h"

struct env;
struct names;
struct report_meta;

/* A recording read back into the analysis. */
struct replay {
	struct report_meta *meta;
	struct names *names;
	struct analysis an;
	bool started, keep;	/* keep: intervals and handoffs, for exports */
	int err;
	uint64_t last_ts;
	void (*tap)(const struct gs_event_hdr *e, size_t size, void *ctx);
	void *tap_ctx;
	struct gst_read_stats st;
};

/* Reads @path through the analysis (finished).  0, or 1 after printing
 * why there is nothing to analyse.  Free with replay__free either way. */
int replay__load(struct replay *r, const char *path, int top);
void replay__free(struct replay *r);

/* `gilscope report FILE.gst`: the live run's report, from its recording. */
int cmd_report(struct env *env);

#endif
