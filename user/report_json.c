// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The JSON report, schema 2 (1 before Python stacks).  Later sections
 * are added, never renamed. */
#include <stdio.h>
#include <string.h>
#include "analysis.h"
#include "json.h"
#include "lockstats.h"
#include "mixstack.h"
#include "names.h"
#include "report.h"
#include "report_py.h"

static void dist(struct json *j, const char *key, struct samples *s, bool known)
{
	if (!known) {
		json_null(j, key);
		return;
	}
	json_obj_begin(j, key);
	json_u64(j, "total", s->total);
	if (s->nr) {
		json_u64(j, "p50", samples__pct(s, 50));
		json_u64(j, "p99", samples__pct(s, 99));
		json_u64(j, "max", s->max);
	} else {	/* no samples: no percentile (holds still open at the end) */
		json_null(j, "p50");
		json_null(j, "p99");
		json_null(j, "max");
	}
	json_obj_end(j);
}

/* The native and the Python stack merged (mixstack.h), when there are
 * both; else null. */
static void mixed_json(struct json *j, struct analysis *a, struct names *n,
		       const struct lock_caller *c)
{
	const struct py_stack *py = pystacks__get(&a->pystacks, c->py_stack);
	struct mix_frame mix[MIX_MAX_FRAMES];
	size_t nr;

	if (!py || !c->nr_frames) {
		json_null(j, "mixed_stack");
		return;
	}
	nr = mixstack(n, c->frames, c->nr_frames, py, mix);
	json_arr_begin(j, "mixed_stack");
	for (size_t i = 0; i < nr; i++)
		json_str(j, NULL, mixstack_name(n, c->frames, py, &mix[i]));
	json_arr_end(j);
}

static void lock_json(struct json *j, const struct report_meta *m, struct analysis *a,
		      struct names *n, struct lock_stats *l)
{
	struct py_wait_kind k;
	char addr[32], name[512];
	const char *pyname = report_py_lock_name(a, n, l, true, name, sizeof(name));

	/* a Python object's row: addr is the object's too */
	snprintf(addr, sizeof(addr), "0x%llx",
		 (unsigned long long)(l->py_object ? l->py_object : l->addr));
	json_obj_begin(j, NULL);
	json_str(j, "addr", addr);
	json_str(j, "name", pyname ? pyname : names__data(n, l->addr));
	json_str(j, "python_object", l->py_object ? addr : NULL);
	json_str(j, "kind", lock_kind_name(l->kind));
	if (l->acquisitions_known)
		json_u64(j, "acquisitions", l->acquisitions);
	else
		json_null(j, "acquisitions");
	json_u64(j, "contended", l->contended);
	dist(j, "wait_ns", &l->wait, true);
	dist(j, "hold_ns", &l->hold, l->hold_known);
	json_u64(j, "wakes", l->wakes);
	report_py_lock_kind(a, n, l, &k);
	json_str(j, "python_kind", k.kind);
	json_bool(j, "idle", k.idle);
	json_arr_begin(j, "top_callers");
	for (size_t i = 0; i < l->nr_callers && (int)i < m->top; i++) {
		const struct lock_caller *c = &l->callers[i];

		json_obj_begin(j, NULL);
		json_arr_begin(j, "stack");
		for (uint32_t k = 0; k < c->nr_frames; k++)
			json_str(j, NULL, names__code(n, c->frames[k]));
		json_arr_end(j);
		report_py_stack_json(j, "python_stack", a, n, c->py_stack);
		mixed_json(j, a, n, c);
		json_u64(j, "count", c->count);
		json_u64(j, "wait_ns", c->wait_ns);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void report_json(FILE *f, const struct report_meta *m, struct analysis *a,
		 struct names *n)
{
	struct lockstats *ls = a->locks;
	struct lock_stats **locks;
	struct thread_stats **threads;
	size_t nr_locks = lockstats__locks(ls, &locks);
	size_t nr_threads = lockstats__threads(ls, &threads);
	struct json j;

	json_init(&j, f);
	json_obj_begin(&j, NULL);
	json_u64(&j, "schema", 2);
	json_str(&j, "tool", "gilscope");
	json_str(&j, "version", GILSCOPE_VERSION);

	json_obj_begin(&j, "target");
	json_i64(&j, "pid", m->pid);
	json_str(&j, "comm", m->comm);
	json_str(&j, "exe", m->exe);
	json_u64(&j, "duration_ns", m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0);
	json_u64(&j, "start_ns", m->start_ts);
	json_u64(&j, "end_ns", m->end_ts);
	json_str(&j, "ended_by", m->end_reason);
	/* what the command became: the rest of the report is of the last */
	json_arr_begin(&j, "execs");
	for (int i = 0; i < m->nr_execs && i < REPORT_MAX_EXECS; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "from", m->execs[i].from);
		json_str(&j, "to", m->execs[i].to);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	json_u64(&j, "nr_execs", m->nr_execs);
	json_obj_end(&j);

	/* null live and for a whole recording; else what a damaged or cut
	 * short one kept and lost: never a partial result passed off as whole */
	if (m->recovery[0]) {
		char line[sizeof(m->recovery)];
		const char *p = m->recovery;

		json_obj_begin(&j, "recording");
		json_bool(&j, "complete", false);
		json_arr_begin(&j, "problems");
		while (*p) {
			size_t len = strcspn(p, "\n");

			snprintf(line, sizeof(line), "%.*s", (int)len, p);
			json_str(&j, NULL, line + strspn(line, " "));
			p += len + (p[len] == '\n');
		}
		json_arr_end(&j);
		json_obj_end(&j);
	} else {
		json_null(&j, "recording");
	}

	json_obj_begin(&j, "events");
	json_u64(&j, "recorded", m->recorded);
	json_u64(&j, "lost", m->lost);
	json_u64(&j, "lost_at_stop", m->lost_at_stop);
	json_arr_begin(&j, "lost_per_cpu");
	for (int i = 0; i < m->nr_cpus; i++)
		json_u64(&j, NULL, m->lost_per_cpu[i]);
	json_arr_end(&j);
	json_u64(&j, "stack_errors", m->stack_errors);
	json_u64(&j, "out_of_order", m->late);
	json_obj_end(&j);

	/* null unless --summary: then durations' percentiles are estimates */
	if (m->summary) {
		json_obj_begin(&j, "summary");
		json_u64(&j, "events_counted", m->aggregated);
		json_u64(&j, "map_updates_dropped", m->map_full);
		json_double(&j, "percentile_max_error", 1.0 / (2 * GS_HIST_SUB));
		json_obj_end(&j);
	} else {
		json_null(&j, "summary");
	}

	json_arr_begin(&j, "probes");
	for (int i = 0; i < m->nr_probes; i++) {
		json_obj_begin(&j, NULL);
		json_str(&j, "where", m->probes[i].where);
		json_str(&j, "kind", m->probes[i].kind);
		json_str(&j, "note", m->probes[i].note);
		json_obj_end(&j);
	}
	json_arr_end(&j);

	json_arr_begin(&j, "threads");
	for (size_t i = 0; i < nr_threads; i++) {
		const struct thread_stats *t = threads[i];

		json_obj_begin(&j, NULL);
		json_u64(&j, "tid", t->tid);
		json_str(&j, "comm", names__thread(n, t->tid));
		json_u64(&j, "lock_wait_ns", t->lock_wait_ns);
		if (m->mutex_probes)
			json_u64(&j, "lock_hold_ns", t->lock_hold_ns);
		else
			json_null(&j, "lock_hold_ns");
		/* no libc, no condvar probes: unknown, not zero */
		if (report_no_libc(m))
			json_null(&j, "cond_wait_ns");
		else
			json_u64(&j, "cond_wait_ns", t->cond_wait_ns);
		json_bool(&j, "exited", t->exited);
		json_obj_end(&j);
	}
	json_arr_end(&j);

	if (m->has_gil)
		report_gil_json(&j, m, a, n);
	else
		json_null(&j, "gil");
	/* no GIL section: why, in the text report's one line (null with a
	 * GIL, or from a recording made before the reason was kept) */
	if (!m->has_gil && m->gil_note[0])
		json_str(&j, "gil_note", m->gil_note);
	else
		json_null(&j, "gil_note");
	report_refcount_json(&j, m, a, n);

	json_arr_begin(&j, "locks");
	for (size_t i = 0; i < nr_locks; i++)
		lock_json(&j, m, a, n, locks[i]);
	json_arr_end(&j);
	report_waits_json(&j, m, a, n);
	json_obj_end(&j);
}
