// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "analysis.h"
#include "json.h"
#include "names.h"
#include "report.h"
#include "report_py.h"

void report_py_stack_json(struct json *j, const char *key, struct analysis *a,
			  struct names *n, int stack)
{
	const struct py_stack *s = pystacks__get(&a->pystacks, stack);

	if (!s) {
		json_null(j, key);
		return;
	}
	json_arr_begin(j, key);
	for (uint32_t i = 0; i < s->nr; i++)
		json_str(j, NULL, names__pyframe(n, s->f[i].code, s->f[i].instr));
	json_arr_end(j);
}

const char *report_py_stack_line(struct analysis *a, struct names *n, int stack, int max,
				 char *buf, size_t len)
{
	const struct py_stack *s = pystacks__get(&a->pystacks, stack);
	size_t off = 0;

	buf[0] = 0;
	if (!s) {
		snprintf(buf, len, "[no Python frames]");
		return buf;
	}
	for (uint32_t i = 0; i < s->nr && (int)i < max && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				names__pyframe(n, s->f[i].code, s->f[i].instr));
	if (s->nr > (uint32_t)max && off < len)
		snprintf(buf + off, len - off, " <- ...");
	return buf;
}

/* held_in's ns: the thread's held time, shared by its samples.  An
 * estimate (sampling), said so in the text report and the docs. */
static uint64_t held_share(const struct gil_thread *t, const struct py_thread *p,
			   const struct py_cost *c)
{
	return p->samples ? (uint64_t)((double)t->held_ns * c->count / p->samples) : 0;
}

void report_py_thread_json(struct json *j, struct analysis *a, struct names *n,
			   const struct gil_thread *t)
{
	struct py_thread *p = pystats__thread(&a->py, t->tid);

	json_str(j, "name", names__pythread(n, t->tid));
	json_arr_begin(j, "held_in");
	if (p) {
		pystats__sort(&p->held);	/* by samples: ns are 0 until shared */
		for (size_t i = 0; i < p->held.nr && i < PY_TOP; i++) {
			json_obj_begin(j, NULL);
			report_py_stack_json(j, "python_stack", a, n, p->held.v[i].stack);
			json_u64(j, "ns", held_share(t, p, &p->held.v[i]));
			json_u64(j, "count", p->held.v[i].count);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
	json_arr_begin(j, "waited_in");
	if (p) {
		pystats__sort(&p->waited);
		for (size_t i = 0; i < p->waited.nr && i < PY_TOP; i++) {
			json_obj_begin(j, NULL);
			report_py_stack_json(j, "python_stack", a, n, p->waited.v[i].stack);
			json_u64(j, "ns", p->waited.v[i].ns);
			json_u64(j, "count", p->waited.v[i].count);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
	json_arr_begin(j, "waited_for");
	if (p) {
		pystats__sort(&p->waited_for);
		for (size_t i = 0; i < p->waited_for.nr && i < PY_TOP; i++) {
			json_obj_begin(j, NULL);
			json_u64(j, "holder_tid", p->waited_for.v[i].tid);
			report_py_stack_json(j, "holder_stack", a, n, p->waited_for.v[i].stack);
			json_u64(j, "ns", p->waited_for.v[i].ns);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
}

void report_py_lock_kind(struct analysis *a, struct names *n, const struct lock_stats *l,
			 struct py_wait_kind *out)
{
	const struct lock_caller *best = NULL;
	const char *frames[GS_PY_FRAMES];
	const struct py_stack *s;
	bool all_idle = true, any = false;

	out->kind = NULL;
	out->idle = false;
	/* idle when every Python-level waiter is a parked consumer; the
	 * kind is the one of the waiters that waited longest */
	for (size_t i = 0; i < l->nr_callers; i++) {
		const struct lock_caller *c = &l->callers[i];
		struct py_wait_kind k;

		s = pystacks__get(&a->pystacks, c->py_stack);
		if (!s)
			continue;
		for (uint32_t f = 0; f < s->nr; f++)
			frames[f] = names__pyframe(n, s->f[f].code, s->f[f].instr);
		py_wait_kind(frames, s->nr, &k);
		any = true;
		all_idle &= k.idle;
		if (!best || c->wait_ns > best->wait_ns) {
			best = c;
			out->kind = k.kind;
		}
	}
	out->idle = any && all_idle;
}

static void text_thread(FILE *f, struct analysis *a, struct names *n,
			const struct gil_thread *t, struct py_thread *p)
{
	const char *name = names__pythread(n, t->tid);
	char line[1024], b[2][32];

	fprintf(f, "  %u %s\n", t->tid, name ? name : names__thread(n, t->tid));
	pystats__sort(&p->held);
	for (size_t i = 0; i < p->held.nr && i < 3; i++) {
		uint64_t ns = held_share(t, p, &p->held.v[i]);

		fprintf(f, "    held %9s %5.1f%%  %s\n", fmt_ns(ns, b[0], 32),
			p->samples ? 100.0 * p->held.v[i].count / p->samples : 0.0,
			report_py_stack_line(a, n, p->held.v[i].stack, 4, line, sizeof(line)));
	}
	pystats__sort(&p->waited);
	for (size_t i = 0; i < p->waited.nr && i < 3; i++)
		fprintf(f, "    waited %7s in %s (%llu waits)\n",
			fmt_ns(p->waited.v[i].ns, b[0], 32),
			report_py_stack_line(a, n, p->waited.v[i].stack, 4, line, sizeof(line)),
			(unsigned long long)p->waited.v[i].count);
	pystats__sort(&p->waited_for);
	for (size_t i = 0; i < p->waited_for.nr && i < 3; i++) {
		const struct py_cost *c = &p->waited_for.v[i];
		const char *hn = names__pythread(n, c->tid);

		fprintf(f, "    waited %7s while %u %s ran %s\n", fmt_ns(c->ns, b[1], 32), c->tid,
			hn ? hn : names__thread(n, c->tid),
			report_py_stack_line(a, n, c->stack, 4, line, sizeof(line)));
	}
}

void report_py_text(FILE *f, const struct report_meta *m, struct analysis *a,
		    struct names *n)
{
	struct gilstats *g = a->gil;
	bool header = false;

	if (!g || !m->py_stacks[0])
		return;
	if (!a->py.records) {
		fprintf(f, "Python code: %s%s\n\n", m->py_stacks,
			m->py_sample_hz ? " (no stack was caught)" : "");
		return;
	}
	for (size_t i = 0; i < g->nr_threads; i++) {
		const struct gil_thread *t = g->threads[i];
		struct py_thread *p = pystats__thread(&a->py, t->tid);

		if (!p || (!p->held.nr && !p->waited.nr && !p->waited_for.nr))
			continue;
		if (!header) {
			fprintf(f, "Python code (held: share of the thread's GIL time by samples "
				"of its stack on CPU at %u Hz; waited: where each GIL wait began, "
				"and what the holder ran meanwhile):\n", m->py_sample_hz);
			header = true;
		}
		text_thread(f, a, n, t, p);
	}
	if (a->py.no_tstate || a->py.read_errors || a->py.truncated)
		fprintf(f, "  (%llu stacks of threads not yet seen with the GIL, %llu cut short "
			"by a read error, %llu deeper than --python-depth)\n",
			(unsigned long long)a->py.no_tstate, (unsigned long long)a->py.read_errors,
			(unsigned long long)a->py.truncated);
	if (header)
		fprintf(f, "\n");
}
