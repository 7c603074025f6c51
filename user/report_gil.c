// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The GIL section of the report: per-thread table, handoffs, timeline,
 * convoy, and the switch_number self-check; text and JSON. */
#include <stdio.h>
#include <stdlib.h>
#include "analysis.h"
#include "json.h"
#include "names.h"
#include "report.h"
#include "report_py.h"
#include "timeline.h"

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static uint64_t no_gil_ns(const struct gil_thread *t)
{
	uint64_t life = t->last_ts > t->first_ts ? t->last_ts - t->first_ts : 0;
	uint64_t busy = t->held_ns + t->waited_ns;

	return life > busy ? life - busy : 0;
}

/*
 * A column wider than half a switch interval blurs a 5 ms ping-pong into
 * two rows of '#': then the timeline shows a window at that resolution,
 * from just before the GIL first changed threads, and says so.
 */
static void timeline_window(FILE *f, const struct report_meta *m, struct gilstats *g,
			    struct names *n)
{
	int width = m->width ? m->width : 100, cols = width - 25;
	uint64_t start = m->start_ts, end = m->end_ts;
	uint64_t col = cols > 0 ? (end - start) / cols : 0, max_col = m->gil_interval_us * 500;
	char b[2][32];

	if (cols > 0 && end > start && max_col && col > max_col && g->first_switch_ts) {
		start = g->first_switch_ts > start + 4 * max_col ? g->first_switch_ts - 4 * max_col
								 : start;
		if (start + (uint64_t)cols * max_col < end)
			end = start + (uint64_t)cols * max_col;
		fprintf(f, "(timeline from %s to %s of the trace, at half a switch interval per "
			"column; a wider terminal shows more)\n",
			fmt_ns(start - m->start_ts, b[0], 32), fmt_ns(end - m->start_ts, b[1], 32));
	}
	timeline_print(f, g, n, width, start, end);
}

/* Beyond this many rows a table shows its busiest and counts the rest. */
#define HANDOFF_ROWS 20
#define CONVOY_ROWS 10

static int cmp_handoff_count(const void *a, const void *b)
{
	const struct gil_handoff *x = *(struct gil_handoff *const *)a;
	const struct gil_handoff *y = *(struct gil_handoff *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->from != y->from ? (x->from < y->from ? -1 : 1) :
	       (x->to < y->to ? -1 : x->to > y->to);
}

/* The pairs by count, most first, when there are more than fit; else NULL
 * (every pair, in the order they first happened). */
static struct gil_handoff **busiest_handoffs(struct gilstats *g)
{
	struct gil_handoff **rows;

	if (g->nr_handoffs <= HANDOFF_ROWS)
		return NULL;
	rows = malloc(g->nr_handoffs * sizeof(*rows));
	if (!rows)
		return NULL;
	for (size_t i = 0; i < g->nr_handoffs; i++)
		rows[i] = &g->handoffs[i];
	qsort(rows, g->nr_handoffs, sizeof(*rows), cmp_handoff_count);
	return rows;
}

/* The convoy victims from thread index @from on, in one line. */
static void convoy_rest(FILE *f, struct gilstats *g, size_t from)
{
	uint64_t lost = 0;
	size_t nr = 0;
	char b[32];

	for (size_t i = from; i < g->nr_threads; i++)
		if (gilstats__is_convoy(g, g->threads[i])) {
			nr++;
			lost += g->threads[i]->convoy_lost_ns;
		}
	fprintf(f, "Convoy: ... and %zu more threads like these (%s lost waiting after blocking "
		"calls in all): the JSON report names each\n", nr, fmt_ns(lost, b, sizeof(b)));
}

/* A thread's Python name where it has one (before 3.14 every thread's
 * comm is the executable's), else its comm. */
static const char *thread_name(struct names *n, uint32_t tid)
{
	const char *py = names__pythread(n, tid);

	return py ? py : names__thread(n, tid);
}

void report_gil_text(FILE *f, const struct report_meta *m, struct analysis *a,
		     struct names *n)
{
	struct gilstats *g = a->gil;
	uint64_t dur = m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0;
	uint64_t missed;
	char b[9][32];

	/* the metadata names a GIL the analysis was not set up for */
	if (!g) {
		fprintf(f, "GIL: %s, not analysed (no GIL analysis for this recording)\n\n",
			m->gil.python);
		return;
	}
	missed = gilstats__missed(g);

	fprintf(f, "GIL: %s, found by %s (%s), switch interval %s",
		m->gil.python, m->gil.method, m->gil.detail,
		fmt_ns(m->gil_interval_us * 1000, b[0], 32));
	if (m->gil_interval_end_us && m->gil_interval_end_us != m->gil_interval_us)
		fprintf(f, " at the start, %s at the end (changed during the trace: FORCED "
			"and the convoy are judged by the first)",
			fmt_ns(m->gil_interval_end_us * 1000, b[0], 32));
	fprintf(f, "\n");
	/* what the table leaves out (subinterpreters' own GILs) */
	if (m->gil.note[0])
		fprintf(f, "  note: %s\n", m->gil.note);
	fprintf(f, "  %-8s %-14s %9s %6s %9s %6s %9s %6s %7s %7s %7s %9s %9s %9s %9s %9s %9s\n",
		"TID", "COMM", "HELD", "%", "WAITING", "%", "NO-GIL", "%", "ACQ",
		"FORCED", "VOLUN", "WAIT-P50", "WAIT-P99", "WAIT-MAX", "HOLD-P50",
		"HOLD-P99", "HOLD-MAX");
	for (size_t i = 0; i < g->nr_threads; i++) {
		struct gil_thread *t = g->threads[i];
		uint64_t free_ns = no_gil_ns(t);

		if (!t->acquisitions && !t->waited_ns && !t->held_ns)
			continue;
		fprintf(f, "  %-8u %-14.14s %9s %5.1f%% %9s %5.1f%% %9s %5.1f%% %7llu %7llu %7llu "
			"%9s %9s %9s %9s %9s %9s\n", t->tid, thread_name(n, t->tid),
			fmt_ns(t->held_ns, b[0], 32), pct(t->held_ns, dur),
			fmt_ns(t->waited_ns, b[1], 32), pct(t->waited_ns, dur),
			fmt_ns(free_ns, b[2], 32), pct(free_ns, dur),
			(unsigned long long)t->acquisitions,
			(unsigned long long)t->forced_drops,
			(unsigned long long)t->voluntary_drops,
			fmt_ns(samples__pct(&t->wait, 50), b[3], 32),
			fmt_ns(samples__pct(&t->wait, 99), b[4], 32),
			fmt_ns(t->wait.max, b[5], 32),
			fmt_ns(samples__pct(&t->hold, 50), b[6], 32),
			fmt_ns(samples__pct(&t->hold, 99), b[7], 32),
			fmt_ns(t->hold.max, b[8], 32));
	}
	fprintf(f, "  (%% of the %s traced; FORCED: dropped after a waiter's switch-interval "
		"timeout; VOLUN: released for I/O, sleep or C code)\n\n", fmt_ns(dur, b[0], 32));

	if (g->nr_handoffs) {
		fprintf(f, "Handoffs (release by one thread -> next acquisition):\n");
		fprintf(f, "  %-22s %-22s %8s %9s %9s %9s\n", "FROM", "TO", "COUNT",
			"LAT-P50", "LAT-P99", "LAT-MAX");
		struct gil_handoff **rows = busiest_handoffs(g);
		size_t nr_rows = rows ? HANDOFF_ROWS : g->nr_handoffs;

		for (size_t i = 0; i < nr_rows; i++) {
			struct gil_handoff *h = rows ? rows[i] : &g->handoffs[i];
			char from[64], to[64];

			snprintf(from, sizeof(from), "%u %s", h->from, names__thread(n, h->from));
			snprintf(to, sizeof(to), "%u %s", h->to, names__thread(n, h->to));
			fprintf(f, "  %-22.22s %-22.22s %8llu %9s %9s %9s\n", from, to,
				(unsigned long long)h->count,
				fmt_ns(samples__pct(&h->latency, 50), b[0], 32),
				fmt_ns(samples__pct(&h->latency, 99), b[1], 32),
				fmt_ns(h->latency.max, b[2], 32));
		}
		if (rows) {
			uint64_t rest = 0;

			for (size_t i = HANDOFF_ROWS; i < g->nr_handoffs; i++)
				rest += rows[i]->count;
			fprintf(f, "  ... and %zu more pairs (%llu handoffs): the %d busiest are "
				"shown, the JSON report has every pair\n",
				g->nr_handoffs - HANDOFF_ROWS, (unsigned long long)rest,
				HANDOFF_ROWS);
			free(rows);
		}
		fprintf(f, "\nHandoff latency:\n");
		samples__print_log2(&g->handoff_latency, f, "ns");
		fprintf(f, "\n");
	}

	report_py_text(f, m, a, n);
	if (m->summary)
		fprintf(f, "(no timeline: --summary keeps totals, not each hold and wait)\n");
	else
		timeline_window(f, m, g, n);
	fprintf(f, "\n");

	for (size_t i = 0, shown = 0; i < g->nr_threads; i++) {
		struct gil_thread *t = g->threads[i];

		if (!gilstats__is_convoy(g, t))
			continue;
		if (++shown > CONVOY_ROWS) {
			convoy_rest(f, g, i);
			break;
		}
		fprintf(f, "Convoy: thread %u (%s): %llu of its %llu blocking calls were "
			"followed by a GIL wait of half a switch interval or more: %s lost "
			"waiting after them (%.0f%% of its GIL waits)\n", t->tid,
			names__thread(n, t->tid), (unsigned long long)t->convoy_waits,
			(unsigned long long)t->short_releases,
			fmt_ns(t->convoy_lost_ns, b[0], 32), pct(t->convoy_lost_ns, t->waited_ns));
	}

	if (g->sn_seen)
		fprintf(f, "Self-check: switch_number went %llu -> %llu over the %llu traced "
			"acquisitions: %llu handoffs to another thread expected, %llu traced, "
			"%llu missed%s\n",
			(unsigned long long)g->first_sn, (unsigned long long)g->last_sn,
			(unsigned long long)g->acquisitions,
			(unsigned long long)(g->last_sn - g->first_sn),
			(unsigned long long)g->switches, (unsigned long long)missed,
			missed ? "  <-- events were lost: GIL figures undercount" : "");
	else
		fprintf(f, "Self-check: no GIL acquisition was traced\n");
	if (m->sn_mem)
		fprintf(f, "            (read from memory: %llu at attach, %llu at detach)\n",
			(unsigned long long)m->sn_start, (unsigned long long)m->sn_end);
	fprintf(f, "\n");
}

static void dist3(struct json *j, const char *key, struct samples *s)
{
	json_obj_begin(j, key);
	json_u64(j, "p50", samples__pct(s, 50));
	json_u64(j, "p99", samples__pct(s, 99));
	json_u64(j, "max", s->max);
	json_obj_end(j);
}

void report_gil_json(struct json *j, const struct report_meta *m, struct analysis *a,
		     struct names *n)
{
	struct gilstats *g = a->gil;
	char addr[32];

	if (!g) {
		json_null(j, "gil");
		return;
	}
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)m->gil.gil);
	json_obj_begin(j, "gil");
	json_str(j, "addr", addr);
	json_str(j, "python", m->gil.python);
	json_str(j, "method", m->gil.method);
	json_str(j, "detail", m->gil.detail);
	if (m->gil.note[0])
		json_str(j, "note", m->gil.note);
	else
		json_null(j, "note");
	json_u64(j, "switch_interval_us", m->gil_interval_us);
	if (m->gil_interval_end_us)	/* null: not read at the end (a recording of before) */
		json_u64(j, "switch_interval_end_us", m->gil_interval_end_us);
	else
		json_null(j, "switch_interval_end_us");
	json_arr_begin(j, "threads");
	for (size_t i = 0; i < g->nr_threads; i++) {
		struct gil_thread *t = g->threads[i];

		if (!t->acquisitions && !t->waited_ns && !t->held_ns)
			continue;
		json_obj_begin(j, NULL);
		json_u64(j, "tid", t->tid);
		json_str(j, "comm", names__thread(n, t->tid));
		json_u64(j, "held_ns", t->held_ns);
		json_u64(j, "waited_ns", t->waited_ns);
		json_u64(j, "no_gil_ns", no_gil_ns(t));
		json_u64(j, "acquisitions", t->acquisitions);
		json_u64(j, "forced_drops", t->forced_drops);
		json_u64(j, "voluntary_drops", t->voluntary_drops);
		dist3(j, "wait_ns", &t->wait);
		dist3(j, "hold_ns", &t->hold);
		json_bool(j, "convoy", gilstats__is_convoy(g, t));
		json_u64(j, "convoy_waits", t->convoy_waits);
		json_u64(j, "convoy_lost_ns", t->convoy_lost_ns);
		report_py_thread_json(j, a, n, t);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_arr_begin(j, "handoffs");
	for (size_t i = 0; i < g->nr_handoffs; i++) {
		struct gil_handoff *h = &g->handoffs[i];

		json_obj_begin(j, NULL);
		json_u64(j, "from", h->from);
		json_u64(j, "to", h->to);
		json_u64(j, "count", h->count);
		dist3(j, "latency_ns", &h->latency);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_u64(j, "acquisitions", g->acquisitions);
	if (g->sn_seen) {
		json_u64(j, "switch_number_first", g->first_sn);
		json_u64(j, "switch_number_last", g->last_sn);
		json_u64(j, "switch_number_delta", g->last_sn - g->first_sn);
		json_u64(j, "switches", g->switches);
	} else {
		json_null(j, "switch_number_delta");
	}
	json_u64(j, "missed", gilstats__missed(g));
	report_py_summary_json(j, m, a);
	if (m->sn_mem) {
		json_u64(j, "switch_number_at_attach", m->sn_start);
		json_u64(j, "switch_number_at_detach", m->sn_end);
	}
	json_obj_end(j);
}
