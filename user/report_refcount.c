// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The refcount section of the report (--object, gilscope refcount). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "analysis.h"
#include "json.h"
#include "names.h"
#include "report.h"

static double per_sec(uint64_t n, const struct report_meta *m)
{
	uint64_t dur = m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0;

	return dur ? n * 1e9 / dur : 0;
}

static void print_write(FILE *f, struct names *n, const char *indent,
			const struct ref_write *w)
{
	fprintf(f, "%sthread %u (%s) wrote %" PRId64 ":", indent, w->tid,
		names__thread(n, w->tid), (int64_t)w->value);
	for (uint32_t k = 0; k < w->nr_frames && k < 4; k++)
		fprintf(f, "%s%s", k ? " <- " : " ", names__code(n, w->frames[k]));
	fprintf(f, "\n");
}

static void print_object(FILE *f, const struct report_meta *m, struct names *n,
			 const struct ref_object *o, bool gil)
{
	if (strncmp(o->name, "0x", 2))
		fprintf(f, "  %s at 0x%" PRIx64 ":", o->name, o->addr);
	else
		fprintf(f, "  object at 0x%" PRIx64 ":", o->addr);
	fprintf(f, " %" PRIu64 " writes (%.0f/s), %" PRIu64
		" by a different thread than the write before",
		o->writes, per_sec(o->writes, m), o->cross_thread_switches);
	if (o->writes > 1)
		fprintf(f, " (%.0f%%)", 100.0 * o->cross_thread_switches / (o->writes - 1));
	fprintf(f, "\n");
	if (!o->writes) {
		fprintf(f, "    no write was seen (an immortal object, or nobody touched it)\n");
		return;
	}
	fprintf(f, "    values %" PRId64 " .. %" PRId64 "; ", (int64_t)o->first_value,
		(int64_t)o->last_value);
	if (!o->net_known)
		fprintf(f, "lost updates: unknown (a writing instruction moved the count "
			"both ways)\n");
	else if (o->direction)
		fprintf(f, "lost updates: %" PRIu64 " (every write %s: exact)\n",
			o->lost_updates, o->direction > 0 ? "an increment" : "a decrement");
	else
		fprintf(f, "lost updates: at least %" PRIu64 " (%s; lost increments and "
			"decrements cancel)\n", o->lost_updates,
			o->net_lost > 0 ? "more increments lost" :
			o->net_lost < 0 ? "more decrements lost" : "as many of each");
	if (gil)
		fprintf(f, "    writes without the GIL: %" PRIu64 "\n", o->without_gil);
	if (gil && o->gil_unknown)
		fprintf(f, "    writes before the GIL's first take or drop was seen (holder "
			"unknown): %" PRIu64 "\n", o->gil_unknown);
	fprintf(f, "    %-8s %-16s %12s %10s %12s\n", "TID", "COMM", "WRITES", "WRITES/S",
		gil ? "WITHOUT-GIL" : "");
	for (size_t i = 0; i < o->nr_threads; i++) {
		const struct ref_thread *t = &o->threads[i];

		fprintf(f, "    %-8u %-16s %12" PRIu64 " %10.0f", t->tid,
			names__thread(n, t->tid), t->writes, per_sec(t->writes, m));
		if (gil)
			fprintf(f, " %12" PRIu64, t->without_gil);
		fprintf(f, "\n");
	}
	if (o->zero_steps)
		fprintf(f, "    %" PRIu64 " times two threads' writes left the same value "
			"(a race, or two writes within one trap's latency); the first:\n",
			o->zero_steps);
	for (size_t i = 0; i < o->nr_races; i++) {
		print_write(f, n, "      ", &o->races[i][0]);
		print_write(f, n, "      ", &o->races[i][1]);
	}
	if (o->nr_sites)
		fprintf(f, "    writes without the GIL, by stack:\n");
	for (size_t i = 0; i < o->nr_sites; i++) {
		fprintf(f, "      %8" PRIu64 " x", o->sites[i].count);
		print_write(f, n, " ", &o->sites[i].example);
	}
	if (o->sites_other)
		fprintf(f, "      %8" PRIu64 " x from other stacks\n", o->sites_other);
}

void report_refcount_text(FILE *f, const struct report_meta *m, struct analysis *a,
			  struct names *n)
{
	const struct refstats *r = a->ref;

	if (!r)
		return;
	fprintf(f, "Refcount writes (hardware watchpoints on %d object%s, set in %d thread%s "
		"and inherited by those created since; a write's stack starts at the "
		"instruction after it):\n", r->nr, r->nr == 1 ? "" : "s", m->watched_threads,
		m->watched_threads == 1 ? "" : "s");
	for (int i = 0; i < r->nr; i++)
		print_object(f, m, n, &r->obj[i], m->has_gil);
	if (!m->has_gil)
		fprintf(f, "  (no GIL traced: whether writes held it is unknown)\n");
	if (m->lost)
		fprintf(f, "  %" PRIu64 " events were lost: writes are missing, and lost-update "
			"figures are not to be trusted\n", m->lost);
	fprintf(f, "\n");
}

static void write_json(struct json *j, const char *key, struct names *n,
		       const struct ref_write *w)
{
	json_obj_begin(j, key);
	json_u64(j, "tid", w->tid);
	json_u64(j, "ts", w->ts);
	json_i64(j, "value", (int64_t)w->value);
	json_arr_begin(j, "stack");
	for (uint32_t k = 0; k < w->nr_frames; k++)
		json_str(j, NULL, names__code(n, w->frames[k]));
	json_arr_end(j);
	json_obj_end(j);
}

void report_refcount_json(struct json *j, const struct report_meta *m, struct analysis *a,
			  struct names *n)
{
	const struct refstats *r = a->ref;
	char key[16];

	if (!r) {
		json_null(j, "refcount");
		return;
	}
	json_obj_begin(j, "refcount");
	json_arr_begin(j, "objects");
	for (int i = 0; i < r->nr; i++) {
		const struct ref_object *o = &r->obj[i];

		json_obj_begin(j, NULL);
		snprintf(key, sizeof(key), "0x%" PRIx64, o->addr);
		json_str(j, "addr", key);
		json_str(j, "name", o->name);
		json_u64(j, "writes", o->writes);
		json_double(j, "writes_per_s", per_sec(o->writes, m));
		json_obj_begin(j, "writes_by_thread");
		for (size_t k = 0; k < o->nr_threads; k++) {
			snprintf(key, sizeof(key), "%u", o->threads[k].tid);
			json_u64(j, key, o->threads[k].writes);
		}
		json_obj_end(j);
		json_u64(j, "cross_thread_switches", o->cross_thread_switches);
		if (m->has_gil) {
			json_u64(j, "writes_without_gil", o->without_gil);
			json_u64(j, "writes_gil_unknown", o->gil_unknown);
		} else {
			json_null(j, "writes_without_gil");
			json_null(j, "writes_gil_unknown");
		}
		if (o->net_known) {
			json_u64(j, "lost_updates_detected", o->lost_updates);
			json_i64(j, "net_lost", o->net_lost);
			json_bool(j, "lost_updates_exact", o->direction != 0);
		} else {
			json_null(j, "lost_updates_detected");
			json_null(j, "net_lost");
			json_bool(j, "lost_updates_exact", false);
		}
		json_i64(j, "direction", o->direction);
		json_bool(j, "start_value_exact", o->start_known);
		json_u64(j, "same_value_steps", o->zero_steps);
		if (o->writes) {
			json_i64(j, "first_value", (int64_t)o->first_value);
			json_i64(j, "last_value", (int64_t)o->last_value);
		} else {
			json_null(j, "first_value");
			json_null(j, "last_value");
		}
		json_arr_begin(j, "same_value_examples");
		for (size_t k = 0; k < o->nr_races; k++) {
			json_obj_begin(j, NULL);
			write_json(j, "before", n, &o->races[k][0]);
			write_json(j, "after", n, &o->races[k][1]);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_arr_begin(j, "without_gil_stacks");
		for (size_t k = 0; k < o->nr_sites; k++) {
			json_obj_begin(j, NULL);
			json_u64(j, "count", o->sites[k].count);
			write_json(j, "example", n, &o->sites[k].example);
			json_obj_end(j);
		}
		json_arr_end(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
