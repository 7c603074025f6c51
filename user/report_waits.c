// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The waits still in progress when tracing stopped, and the deadlocks
 * among them: "why is it hung" is a lock tracer's first question.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "deadlock.h"
#include "json.h"
#include "names.h"
#include "report.h"

#define MAX_CYCLES 16
#define STACK_SHOWN 4

/* The lock's name, else its address. */
static const char *lock_name(struct names *n, uint64_t addr, char *buf, size_t len)
{
	const char *s = names__data(n, addr);

	if (s && *s && strcmp(s, "-"))
		return s;
	snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

/* A pool of idle workers can be hundreds of rows: the longest are shown. */
#define WAIT_ROWS 20

static uint64_t waited(const struct lock_open_wait *o)
{
	return o->end > o->start ? o->end - o->start : 0;
}

static int cmp_longest(const void *a, const void *b)
{
	const struct lock_open_wait *x = *(const struct lock_open_wait *const *)a;
	const struct lock_open_wait *y = *(const struct lock_open_wait *const *)b;

	if (waited(x) != waited(y))
		return waited(x) < waited(y) ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static const struct lock_open_wait **longest_first(const struct lock_open_wait *w, size_t nr)
{
	const struct lock_open_wait **rows = malloc(nr * sizeof(*rows));

	if (!rows)
		return NULL;
	for (size_t i = 0; i < nr; i++)
		rows[i] = &w[i];
	qsort(rows, nr, sizeof(*rows), cmp_longest);
	return rows;
}

static void print_thread(FILE *f, struct names *n, uint32_t tid)
{
	fprintf(f, "%u %s", tid, names__thread(n, tid));
}

void report_waits_text(FILE *f, const struct report_meta *m, struct analysis *a,
		       struct names *n)
{
	const struct lock_open_wait *w;
	size_t nr = lockstats__open_waits(a->locks, &w), nc;
	struct deadlock dl[MAX_CYCLES];
	const struct lock_open_wait **rows;
	bool before = false;
	char b[2][80];

	(void)m;
	if (!nr)
		return;
	fprintf(f, "\nWaits in progress when tracing stopped%s:\n",
		nr > WAIT_ROWS ? " (the longest first)" : "");
	fprintf(f, "  %-8s %-16s %10s  %-32s %-8s %s\n", "TID", "COMM", "WAITED", "LOCK",
		"KIND", "OWNER");
	rows = nr > WAIT_ROWS ? longest_first(w, nr) : NULL;
	for (size_t i = 0; i < (rows ? WAIT_ROWS : nr); i++) {
		const struct lock_open_wait *o = rows ? rows[i] : &w[i];
		uint64_t len = waited(o);
		uint32_t site = report_site_index(n, o->frames, o->nr_frames);

		fmt_ns(len, b[0], 32);	/* "1.20s": short */
		snprintf(b[1], sizeof(b[1]), "%s%.32s", o->start_known ? "" : ">= ", b[0]);
		before |= !o->start_known;
		fprintf(f, "  %-8u %-16s %10s  %-32s %-8s ", o->tid, names__thread(n, o->tid),
			b[1], lock_name(n, o->addr, b[0], sizeof(b[0])), lock_kind_name(o->kind));
		if (o->owner_tid)
			print_thread(f, n, o->owner_tid);
		else
			fprintf(f, "-");
		fprintf(f, "\n");
		/* from the call site, as the lock table's call sites are shown */
		for (uint32_t k = site; k < o->nr_frames && k < site + STACK_SHOWN; k++)
			fprintf(f, "%s%s", k > site ? " <- " : "           at ",
				names__code(n, o->frames[k]));
		if (o->nr_frames)
			fprintf(f, "\n");
	}
	if (rows) {
		fprintf(f, "  ... and %zu more threads waiting: the JSON report lists every one\n",
			nr - WAIT_ROWS);
		free(rows);
	}
	if (before)
		fprintf(f, "  (>=: the wait began before tracing did, so its start is not known)\n");
	nc = deadlock__find(w, nr, dl, MAX_CYCLES);
	for (size_t c = 0; c < nc && c < MAX_CYCLES; c++) {
		fprintf(f, "Deadlock: ");
		for (size_t i = 0; i < dl[c].nr; i++) {
			const struct lock_open_wait *o = &w[dl[c].waits[i]];

			fprintf(f, "%s", i ? "; " : "");
			print_thread(f, n, o->tid);
			fprintf(f, " waits for %s held by ", lock_name(n, o->addr, b[0], sizeof(b[0])));
			print_thread(f, n, o->owner_tid);
		}
		fprintf(f, "%s\n", dl[c].cut ? "; ... (longer cycle, cut)" : "");
	}
	if (nc > MAX_CYCLES)
		fprintf(f, "  ... and %zu more deadlocks\n", nc - MAX_CYCLES);
}

void report_waits_json(struct json *j, const struct report_meta *m, struct analysis *a,
		       struct names *n)
{
	const struct lock_open_wait *w;
	size_t nr = lockstats__open_waits(a->locks, &w), nc;
	struct deadlock dl[MAX_CYCLES];
	char addr[32];

	(void)m;
	json_arr_begin(j, "open_waits");
	for (size_t i = 0; i < nr; i++) {
		const struct lock_open_wait *o = &w[i];

		json_obj_begin(j, NULL);
		json_u64(j, "tid", o->tid);
		json_str(j, "comm", names__thread(n, o->tid));
		snprintf(addr, sizeof(addr), "0x%" PRIx64, o->addr);
		json_str(j, "addr", addr);
		json_str(j, "name", names__data(n, o->addr));
		json_str(j, "kind", lock_kind_name(o->kind));
		json_u64(j, "waited_ns", o->end > o->start ? o->end - o->start : 0);
		/* false: waited_ns is a lower bound (it began before the trace) */
		json_bool(j, "start_known", o->start_known);
		if (o->owner_tid)
			json_u64(j, "owner_tid", o->owner_tid);
		else
			json_null(j, "owner_tid");
		json_arr_begin(j, "stack");
		for (uint32_t k = 0; k < o->nr_frames; k++)
			json_str(j, NULL, names__code(n, o->frames[k]));
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	nc = deadlock__find(w, nr, dl, MAX_CYCLES);
	json_arr_begin(j, "deadlocks");
	for (size_t c = 0; c < nc && c < MAX_CYCLES; c++) {
		json_obj_begin(j, NULL);
		json_bool(j, "cut", dl[c].cut);
		json_arr_begin(j, "cycle");
		for (size_t i = 0; i < dl[c].nr; i++) {
			const struct lock_open_wait *o = &w[dl[c].waits[i]];

			json_obj_begin(j, NULL);
			json_u64(j, "tid", o->tid);
			snprintf(addr, sizeof(addr), "0x%" PRIx64, o->addr);
			json_str(j, "waits_for", addr);
			json_u64(j, "held_by", o->owner_tid);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
}
