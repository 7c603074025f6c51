// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
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
	if (s->flags & GS_PY_IN_GC)
		json_str(j, NULL, PY_GC_FRAME);
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
	if (s->flags & GS_PY_IN_GC)
		off += snprintf(buf, len, "%s%s", PY_GC_FRAME, s->nr ? " <- " : "");
	for (uint32_t i = 0; i < s->nr && (int)i < max && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				names__pyframe(n, s->f[i].code, s->f[i].instr));
	if (s->nr > (uint32_t)max && off < len)
		snprintf(buf + off, len - off, " <- ...");
	return buf;
}

static int named_by_ns(const void *a, const void *b)
{
	const struct py_named *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? 1 : -1;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

static size_t merge_named(struct analysis *a, struct names *n, const struct py_costs *c,
			  struct py_named **out)
{
	struct py_named *v = calloc(c->nr ? c->nr : 1, sizeof(*v));
	size_t nr = 0;
	char buf[8192];

	*out = v;
	if (!v)
		return 0;
	for (size_t i = 0; i < c->nr; i++) {
		const struct py_cost *x = &c->v[i];
		size_t k;

		report_py_stack_line(a, n, x->stack, GS_PY_FRAMES, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "|%u", x->tid);
		for (k = 0; k < nr && strcmp(v[k].key, buf); k++)
			;
		if (k == nr) {
			v[k].key = strdup(buf);
			if (!v[k].key)
				break;
			v[k].stack = x->stack;
			v[k].tid = x->tid;
			nr++;
		}
		v[k].ns += x->ns;
		v[k].count += x->count;
	}
	qsort(v, nr, sizeof(*v), named_by_ns);
	return nr;
}

void report_py_named_free(struct py_named *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(v[i].key);
	free(v);
}

/* held_in's ns: the thread's held time, shared by its samples.  An
 * estimate (sampling), said so in the text report and the docs. */
static uint64_t held_share(const struct gil_thread *t, const struct py_thread *p,
			   uint64_t samples)
{
	return p->samples ? (uint64_t)((double)t->held_ns * samples / p->samples) : 0;
}

/* The named entries of @c; held_in's ns are shares of the held time. */
size_t report_py_named(struct analysis *a, struct names *n, const struct gil_thread *t,
		       const struct py_thread *p, const struct py_costs *c, bool held,
		       struct py_named **out)
{
	size_t nr = merge_named(a, n, c, out);

	for (size_t i = 0; held && i < nr; i++)
		(*out)[i].ns = held_share(t, p, (*out)[i].count);
	if (held)
		qsort(*out, nr, sizeof(**out), named_by_ns);
	return nr;
}

static void costs_json(struct json *j, const char *key, struct analysis *a, struct names *n,
		       const struct gil_thread *t, struct py_thread *p,
		       const struct py_costs *c, bool held, bool holder)
{
	struct py_named *v = NULL;
	size_t nr = p ? report_py_named(a, n, t, p, c, held, &v) : 0;

	json_arr_begin(j, key);
	for (size_t i = 0; i < nr && i < PY_TOP; i++) {
		json_obj_begin(j, NULL);
		if (holder) {
			json_u64(j, "holder_tid", v[i].tid);
			report_py_stack_json(j, "holder_stack", a, n, v[i].stack);
		} else {
			report_py_stack_json(j, "python_stack", a, n, v[i].stack);
		}
		json_u64(j, "ns", v[i].ns);
		if (!holder)
			json_u64(j, "count", v[i].count);
		json_obj_end(j);
	}
	json_arr_end(j);
	report_py_named_free(v, nr);
}

void report_py_thread_json(struct json *j, struct analysis *a, struct names *n,
			   const struct gil_thread *t)
{
	struct py_thread *p = pystats__thread(&a->py, t->tid);

	json_str(j, "name", names__pythread(n, t->tid));
	costs_json(j, "held_in", a, n, t, p, p ? &p->held : NULL, true, false);
	costs_json(j, "waited_in", a, n, t, p, p ? &p->waited : NULL, false, false);
	costs_json(j, "waited_for", a, n, t, p, p ? &p->waited_for : NULL, false, true);
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
	/* a Python object's row is of its kind, whatever called it */
	if (l->py_object)
		out->kind = l->py_kind;
	/* no standard-library wait around it: a PyMutex (3.13+) says which
	 * Python lock it is by its object's type */
	if (!out->kind && !l->py_object)
		out->kind = names__pylock(n, l->addr);
}

/* "qualname (path:line)": the qualname's length, the path, its length. */
static bool frame_parts(const char *f, size_t *name, const char **path, size_t *path_len)
{
	const char *open = strstr(f, " ("), *colon;

	if (!open || !(colon = strrchr(open, ':')))
		return false;
	*name = open - f;
	*path = open + 2;
	*path_len = colon - *path;
	return true;
}

/* Is @f in the standard library whose directory holds @lib (the object's
 * threading.py or queue.py, @lib_dir bytes of its path)?  Packages
 * installed under it (site-packages, dist-packages) are not. */
static bool in_stdlib(const char *f, const char *lib, size_t lib_dir)
{
	const char *path;
	size_t name, len;

	if (!frame_parts(f, &name, &path, &len) || len <= lib_dir || strncmp(path, lib, lib_dir))
		return false;
	for (const char *p = path + lib_dir; p + 10 <= path + len; p++)
		if (!strncmp(p, "-packages/", 10))
			return false;
	return true;
}

const char *report_py_lock_name(struct analysis *a, struct names *n, const struct lock_stats *l,
				bool with_addr, char *buf, size_t len)
{
	const char *frames[GS_PY_FRAMES], *kind, *path, *dot;
	const struct py_stack *s = NULL;
	size_t off, name, plen, dir;
	int k = -1;

	if (!l->py_object)
		return NULL;
	off = snprintf(buf, len, "%s", l->py_kind ? l->py_kind : "a Python object");
	if (with_addr && off < len)
		off += snprintf(buf + off, len - off, " 0x%llx", (unsigned long long)l->py_object);
	/* the place of the caller that waited longest (callers are sorted):
	 * the method that waits, and the first frame outside the standard
	 * library that called it */
	for (size_t i = 0; i < l->nr_callers && !s; i++)
		s = pystacks__get(&a->pystacks, l->callers[i].py_stack);
	if (s) {
		for (uint32_t f = 0; f < s->nr; f++)
			frames[f] = names__pyframe(n, s->f[f].code, s->f[f].instr);
		k = py_wait_object(frames, s->nr < GS_PY_SELF_FRAMES ? s->nr : GS_PY_SELF_FRAMES,
				   &kind);
	}
	if (k < 0 || !frame_parts(frames[k], &name, &path, &plen))
		return buf;
	for (dot = frames[k] + name; dot > frames[k] && dot[-1] != '.'; dot--)
		;
	for (dir = plen; dir && path[dir - 1] != '/'; dir--)
		;
	if (off < len)
		off += snprintf(buf + off, len - off, " (%.*s", (int)(frames[k] + name - dot), dot);
	for (uint32_t f = k + 1; f < s->nr; f++) {
		const char *fp, *base, *end = strrchr(frames[f], ')');
		size_t fn, fl;

		if (in_stdlib(frames[f], path, dir) || !frame_parts(frames[f], &fn, &fp, &fl) || !end)
			continue;
		for (base = fp + fl; base > fp && base[-1] != '/'; base--)
			;
		/* "worker at app.py:12" */
		if (off < len)
			off += snprintf(buf + off, len - off, ", %.*s at %.*s", (int)fn, frames[f],
					(int)(end - base), base);
		break;
	}
	if (off < len)
		snprintf(buf + off, len - off, ")");
	return buf;
}

static void text_thread(FILE *f, struct analysis *a, struct names *n,
			const struct gil_thread *t, struct py_thread *p)
{
	const char *name = names__pythread(n, t->tid);
	struct py_named *v;
	char line[1024], b[32];
	size_t nr;

	fprintf(f, "  %u %s\n", t->tid, name ? name : names__thread(n, t->tid));
	nr = report_py_named(a, n, t, p, &p->held, true, &v);
	for (size_t i = 0; i < nr && i < 3; i++)
		fprintf(f, "    held %9s %5.1f%%  %s\n", fmt_ns(v[i].ns, b, 32),
			p->samples ? 100.0 * v[i].count / p->samples : 0.0,
			report_py_stack_line(a, n, v[i].stack, 4, line, sizeof(line)));
	report_py_named_free(v, nr);
	nr = report_py_named(a, n, t, p, &p->waited, false, &v);
	for (size_t i = 0; i < nr && i < 3; i++)
		fprintf(f, "    waited %7s in %s (%llu waits)\n", fmt_ns(v[i].ns, b, 32),
			report_py_stack_line(a, n, v[i].stack, 4, line, sizeof(line)),
			(unsigned long long)v[i].count);
	report_py_named_free(v, nr);
	nr = report_py_named(a, n, t, p, &p->waited_for, false, &v);
	for (size_t i = 0; i < nr && i < 3; i++) {
		const char *hn = names__pythread(n, v[i].tid);

		fprintf(f, "    waited %7s while %u %s ran %s\n", fmt_ns(v[i].ns, b, 32),
			v[i].tid, hn ? hn : names__thread(n, v[i].tid),
			report_py_stack_line(a, n, v[i].stack, 4, line, sizeof(line)));
	}
	report_py_named_free(v, nr);
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

void report_py_summary_json(struct json *j, const struct report_meta *m, struct analysis *a)
{
	if (!m->py_stacks[0]) {
		json_null(j, "python_stacks");
		return;
	}
	json_obj_begin(j, "python_stacks");
	json_str(j, "how", m->py_stacks);
	json_u64(j, "sample_hz", m->py_sample_hz);
	json_u64(j, "stacks", a->py.records);
	json_u64(j, "samples", a->py.samples);
	/* stacks of threads whose PyThreadState was not known yet (not
	 * seen taking the GIL since the attach), cut by an unreadable frame,
	 * or deeper than --python-depth */
	json_u64(j, "no_tstate", a->py.no_tstate);
	json_u64(j, "read_errors", a->py.read_errors);
	json_u64(j, "truncated", a->py.truncated);
	json_obj_end(j);
}
