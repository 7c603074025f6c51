// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gilscope export FILE.gst --format folded --metric M`: Brendan Gregg's
 * folded stacks, for flamegraph.pl, inferno and speedscope: one line per
 * stack, root first, `root;outer;...;inner VALUE`, VALUE in microseconds.
 *   gil-held   root: the thread; the holder's Python stacks, by samples
 *   gil-wait   root: the thread; where its GIL waits began
 *   lock-wait  root: the thread; where its futex waits (locks, condvars,
 *              not the GIL's) began
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "analysis.h"
#include "export_folded.h"
#include "names.h"
#include "replay.h"
#include "report_py.h"

/* A frame as one folded field: ';' separates frames, so none inside. */
static void field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' || *s == '\n' ? ':' : *s, f);
}

static void stack_line(FILE *f, struct analysis *a, struct names *n, const char *root,
		       int stack, uint64_t ns)
{
	const struct py_stack *s = pystacks__get(&a->pystacks, stack);
	uint64_t us = (ns + 500) / 1000;

	if (!us)
		return;
	field(f, root);
	if (!s)
		fputs(";[no Python frames]", f);
	for (int i = s ? (int)s->nr - 1 : -1; i >= 0; i--) {
		fputc(';', f);
		field(f, names__pyframe(n, s->f[i].code, s->f[i].instr));
	}
	if (s && (s->flags & GS_PY_IN_GC))
		fputs(";" PY_GC_FRAME, f);
	fprintf(f, " %llu\n", (unsigned long long)us);
}

enum metric { GIL_HELD, GIL_WAIT, LOCK_WAIT };

static void metric(FILE *f, struct replay *r, enum metric m)
{
	struct analysis *a = &r->an;
	struct gilstats *g = a->gil;

	for (size_t i = 0; g && i < g->nr_threads; i++) {
		const struct gil_thread *t = g->threads[i];
		struct py_thread *p = pystats__thread(&a->py, t->tid);
		const char *py = names__pythread(r->names, t->tid);
		struct py_named *v = NULL;
		char root[96];
		size_t nr;

		if (!p)
			continue;
		snprintf(root, sizeof(root), "%s (%u)", py ? py : names__thread(r->names, t->tid),
			 t->tid);
		nr = report_py_named(a, r->names, t, p, m == GIL_HELD ? &p->held :
				     m == GIL_WAIT ? &p->waited : &p->lock_waited,
				     m == GIL_HELD, &v);
		for (size_t k = 0; k < nr; k++)
			stack_line(f, a, r->names, root, v[k].stack, v[k].ns);
		report_py_named_free(v, nr);
	}
}

int export_folded(FILE *f, struct replay *r, const char *name)
{
	if (!name || !strcmp(name, "gil-held"))
		metric(f, r, GIL_HELD);
	else if (!strcmp(name, "gil-wait"))
		metric(f, r, GIL_WAIT);
	else
		metric(f, r, LOCK_WAIT);
	return ferror(f) ? -EIO : 0;
}
