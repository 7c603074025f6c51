// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "export.h"
#include "export_folded.h"
#include "grow.h"
#include "json.h"
#include "names.h"
#include "options.h"
#include "outfile.h"
#include "replay.h"
#include "report.h"

/* Chrome trace timestamps: microseconds, 3 decimals, from trace start. */
static void us(FILE *f, const char *key, uint64_t ns, uint64_t base)
{
	uint64_t rel = ns > base ? ns - base : 0;

	fprintf(f, ",\"%s\":%llu.%03llu", key, (unsigned long long)(rel / 1000),
		(unsigned long long)(rel % 1000));
}

static void slice(FILE *f, bool *first, const char *name, const char *cat, uint32_t pid,
		  uint32_t tid, uint64_t start, uint64_t end, uint64_t base)
{
	fprintf(f, "%s\n{\"ph\":\"X\",\"name\":", *first ? "" : ",");
	*first = false;
	json_write_string(f, name);
	fprintf(f, ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u", cat, pid, tid);
	us(f, "ts", start, base);
	us(f, "dur", end > start ? end - start : 0, 0);
	fprintf(f, "}");
}

static void meta_name(FILE *f, bool *first, const char *what, uint32_t pid, uint32_t tid,
		      const char *name)
{
	fprintf(f, "%s\n{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
		*first ? "" : ",", what, pid, tid);
	*first = false;
	json_write_string(f, name);
	fprintf(f, "}}");
}

struct step {
	uint64_t ts;
	int delta;
};

static int cmp_step(const void *a, const void *b)
{
	const struct step *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->delta - y->delta;	/* leave before enter at a tie */
}

/* Locks get their own "process" so their slices never interleave badly
 * with the GIL's on one track (a lock can be held across a GIL drop). */
#define LOCK_PID_OFFSET 1000000000u

/* 0, or -ENOMEM: the document is then unfinished and must not be kept. */
static int perfetto(FILE *f, struct replay *r)
{
	struct report_meta *m = r->meta;
	struct gilstats *g = r->an.gil;
	const struct lock_span *ls;
	size_t nls = lockstats__spans(r->an.locks, &ls);
	struct thread_stats **th;
	size_t nth = lockstats__threads(r->an.locks, &th);
	uint64_t base = m->start_ts;
	uint32_t pid = m->pid, lpid = pid + LOCK_PID_OFFSET;
	bool first = true;
	char name[300];

	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	snprintf(name, sizeof(name), "%s (pid %u)%s", m->comm, pid, g ? ": GIL" : "");
	meta_name(f, &first, "process_name", pid, 0, name);
	snprintf(name, sizeof(name), "%s (pid %u): locks", m->comm, pid);
	meta_name(f, &first, "process_name", lpid, 0, name);
	for (size_t i = 0; i < nth; i++) {
		meta_name(f, &first, "thread_name", pid, th[i]->tid, names__thread(r->names, th[i]->tid));
		meta_name(f, &first, "thread_name", lpid, th[i]->tid, names__thread(r->names, th[i]->tid));
	}
	if (g) {
		struct step *steps = NULL;
		size_t nsteps = 0, cap = 0;
		int waiting = 0;

		for (size_t i = 0; i < g->nr_threads; i++) {
			struct gil_thread *t = g->threads[i];

			for (size_t k = 0; k < t->nr_spans; k++) {
				struct gil_span *sp = &t->spans[k];

				slice(f, &first, sp->state == GS_GIL_HOLDING ? "holding GIL" :
				      "waiting for GIL", "gil", pid, t->tid, sp->start, sp->end, base);
				if (sp->state != GS_GIL_WAITING)
					continue;
				if (GROW_ARRAY(steps, cap, nsteps + 2, 1024)) {
					free(steps);
					return -ENOMEM;
				}
				steps[nsteps++] = (struct step){ sp->start, 1 };
				steps[nsteps++] = (struct step){ sp->end, -1 };
			}
		}
		/* flow arrows: releasing thread -> next holder, through two
		 * zero-length slices so no slice carries two flows */
		for (size_t i = 0; i < g->nr_flows; i++) {
			struct gil_flow *fl = &g->flows[i];

			fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"release GIL\",\"cat\":\"gil\",\"pid\":%u,"
				"\"tid\":%u", pid, fl->from);
			us(f, "ts", fl->released, base);
			fprintf(f, ",\"dur\":0,\"bind_id\":\"0x%zx\",\"flow_out\":true}", i + 1);
			fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"take GIL\",\"cat\":\"gil\",\"pid\":%u,"
				"\"tid\":%u", pid, fl->to);
			us(f, "ts", fl->taken, base);
			fprintf(f, ",\"dur\":0,\"bind_id\":\"0x%zx\",\"flow_in\":true}", i + 1);
		}
		if (steps)
			qsort(steps, nsteps, sizeof(*steps), cmp_step);
		for (size_t i = 0; i < nsteps; i++) {
			waiting += steps[i].delta;
			fprintf(f, ",\n{\"ph\":\"C\",\"name\":\"threads waiting for the GIL\",\"pid\":%u", pid);
			us(f, "ts", steps[i].ts, base);
			fprintf(f, ",\"args\":{\"waiting\":%d}}", waiting);
		}
		free(steps);
	}
	for (size_t i = 0; i < nls; i++) {
		const char *ln = names__data(r->names, ls[i].addr);

		if (ln)
			snprintf(name, sizeof(name), "%s %s", ls[i].hold ? "hold" : "wait", ln);
		else
			snprintf(name, sizeof(name), "%s 0x%llx", ls[i].hold ? "hold" : "wait",
				 (unsigned long long)ls[i].addr);
		slice(f, &first, name, "lock", lpid, ls[i].tid, ls[i].start, ls[i].end, base);
	}
	fprintf(f, "\n]}\n");
	return 0;
}

/* ---- CSV: every record, in time order ---- */

struct csv {
	FILE *f;
	struct replay *r;	/* its names fill in as the file is read */
};

static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static const char *ev_name(uint32_t t)
{
	static const char *n[] = { "?", "futex_wait", "futex_wake", "mutex_lock",
		"mutex_unlock", "cond_wait", "cond_wait_ret", "thread_exit",
		"thread_rename", "gil_acquired", "gil_released", "refcount_write" };

	return t < sizeof(n) / sizeof(n[0]) ? n[t] : "?";
}

/* "frame <- frame <- ...", cut at @len */
static const char *stack_text(struct names *n, const struct gs_futex_wait_event *w, char *buf,
			      size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (uint32_t i = 0; i < w->nr_frames && i < GS_MAX_FRAMES && off < len; i++) {
		int k = snprintf(buf + off, len - off, "%s%s", i ? " <- " : "",
				 names__code(n, w->frames[i]));

		if (k < 0)
			break;
		off += k;
	}
	return buf;
}

static void csv_row(const struct gs_event_hdr *e, size_t size, void *ctx)
{
	struct csv *c = ctx;
	const char *tn = names__thread(c->r->names, e->tid), *an = NULL;
	uint64_t addr = 0, end = 0;
	long long a1 = 0, a2 = 0;
	char txt[32] = "", stack[2048];
	const char *text = txt;

	switch (e->type) {
	case GS_EV_FUTEX_WAIT:
	case GS_EV_FUTEX_WAKE: {
		const struct gs_futex_event *f = (const void *)e;

		addr = f->uaddr;
		end = f->end_ts;
		a1 = f->ret;
		a2 = f->owner_tid;
		/* a wait's text: the waiter's native stack, innermost first -
		 * the GIL's own waits (take_gil) included, which no report
		 * table lists */
		if (e->type == GS_EV_FUTEX_WAIT && size >= sizeof(struct gs_futex_wait_event))
			text = stack_text(c->r->names, (const void *)e, stack, sizeof(stack));
		break;
	}
	case GS_EV_MUTEX_LOCK:
	case GS_EV_MUTEX_UNLOCK:
		addr = ((const struct gs_lock_event *)e)->addr;
		break;
	case GS_EV_COND_WAIT:
		addr = ((const struct gs_cond_event *)e)->cond;
		a1 = ((const struct gs_cond_event *)e)->mutex;
		break;
	case GS_EV_COND_WAIT_RET:
		a1 = ((const struct gs_cond_event *)e)->ret;
		break;
	case GS_EV_THREAD_EXIT:
	case GS_EV_THREAD_RENAME:
		snprintf(txt, sizeof(txt), "%.*s", GS_COMM_LEN,
			 ((const struct gs_thread_event *)e)->comm);
		break;
	case GS_EV_GIL_ACQUIRED:
	case GS_EV_GIL_RELEASED:
		addr = ((const struct gs_gil_event *)e)->mutex;
		a1 = ((const struct gs_gil_event *)e)->switch_number;
		a2 = ((const struct gs_gil_event *)e)->holder;
		break;
	case GS_EV_REFCOUNT_WRITE: {
		const struct gs_refcount_event *w = (const void *)e;

		/* the count written, the GIL state (enum gs_gil_state), and
		 * the instruction after the writing one */
		addr = w->addr;
		a1 = (long long)w->value;
		a2 = w->gil;
		text = names__code(c->r->names, w->ip);
		break;
	}
	}
	if (addr)
		an = names__data(c->r->names, addr);
	fprintf(c->f, "%llu,%s,%u,", (unsigned long long)e->ts, ev_name(e->type), e->tid);
	csv_str(c->f, tn);
	fprintf(c->f, ",0x%llx,", (unsigned long long)addr);
	csv_str(c->f, an ? an : "");
	fprintf(c->f, ",%llu,%lld,%lld,", (unsigned long long)end, a1, a2);
	csv_str(c->f, text);
	fputc('\n', c->f);
}

/* ---- SVG: the GIL timeline as a picture ---- */

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		default:
			/* thread names are bytes, not necessarily UTF-8 */
			fputc((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ? '?' : *s, f);
		}
	}
}

static void svg(FILE *f, struct replay *r)
{
	struct report_meta *m = r->meta;
	struct gilstats *g = r->an.gil;
	const int W = 1200, left = 190, right = 20, top = 60, row = 28;
	uint64_t t0 = m->start_ts, t1 = m->end_ts > t0 ? m->end_ts : t0 + 1;
	double scale = (double)(W - left - right) / (double)(t1 - t0);
	size_t rows = 0;
	char b[32];

	for (size_t i = 0; g && i < g->nr_threads; i++)
		if (g->threads[i]->acquisitions || g->threads[i]->waited_ns)
			rows++;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
		"font-family=\"monospace\" font-size=\"12\">\n", W, top + rows * row + 70);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"15\">gilscope: ");
	xml_text(f, m->comm);
	fprintf(f, " pid %d, %s</text>\n", m->pid,
		g ? (m->gil.python[0] ? m->gil.python : "GIL") : "no GIL traced");
	fprintf(f, "<rect x=\"10\" y=\"34\" width=\"14\" height=\"12\" fill=\"#2ca02c\"/>"
		"<text x=\"30\" y=\"45\">holding the GIL</text>"
		"<rect x=\"170\" y=\"34\" width=\"14\" height=\"12\" fill=\"#d62728\"/>"
		"<text x=\"190\" y=\"45\">waiting for it</text>"
		"<text x=\"330\" y=\"45\">(blank: running without it, or idle)</text>\n");
	rows = 0;
	for (size_t i = 0; g && i < g->nr_threads; i++) {
		struct gil_thread *t = g->threads[i];
		int y = top + (int)rows * row;

		if (!t->acquisitions && !t->waited_ns)
			continue;
		rows++;
		fprintf(f, "<text x=\"10\" y=\"%d\">%u ", y + 17, t->tid);
		xml_text(f, names__thread(r->names, t->tid));
		fprintf(f, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			"fill=\"#f4f4f4\"/>\n", left, y + 4, W - left - right, row - 8);
		for (size_t k = 0; k < t->nr_spans; k++) {
			struct gil_span *sp = &t->spans[k];
			double x = left + (sp->start - t0) * scale, w = (sp->end - sp->start) * scale;

			fprintf(f, "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>\n",
				x, y + 4, w < 0.3 ? 0.3 : w, row - 8,
				sp->state == GS_GIL_HOLDING ? "#2ca02c" : "#d62728");
		}
	}
	for (int k = 0; k <= 10; k++) {
		int x = left + (W - left - right) * k / 10, y = top + (int)rows * row + 10;

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"%s\">%s</text>\n", x, top - 4,
			x, y, x, y + 16, k == 0 ? "start" : k == 10 ? "end" : "middle",
			fmt_ns((t1 - t0) * k / 10, b, sizeof(b)));
	}
	fprintf(f, "</svg>\n");
}

static void tap_csv(const struct gs_event_hdr *e, size_t size, void *ctx)
{
	csv_row(e, size, ctx);
}

int cmd_export(struct env *env)
{
	struct replay r = {0};
	struct outfile out = { .fd = -1 };
	struct csv c = {0};
	struct folded_native *fn = NULL;
	int err, ret = 1;

	if (outfile__same(env->input, env->output)) {
		fprintf(stderr, "gilscope: -o %s is the recording itself: give another file\n",
			env->output);
		return 1;
	}
	if (outfile__open(&out, env->output, env->force))
		return 1;
	r.keep = true;
	if (!strcmp(env->format, "csv")) {
		c.f = out.f;
		c.r = &r;
		r.tap = tap_csv;
		r.tap_ctx = &c;
		fprintf(out.f, "time_ns,event,tid,thread,addr,addr_name,end_ns,arg1,arg2,text\n");
	}
	if (env->native) {	/* --format folded --metric lock-wait (options.c) */
		if (folded_native__new(&r, &fn)) {
			fprintf(stderr, "gilscope: out of memory\n");
			goto cleanup;
		}
		r.tap = folded_native__tap;
		r.tap_ctx = fn;
	}
	if (replay__load(&r, env->input, env->top))
		goto cleanup;
	if (!strcmp(env->format, "perfetto") && (err = perfetto(out.f, &r))) {
		fprintf(stderr, "gilscope: cannot write %s: %s\n", env->output, strerror(-err));
		goto cleanup;	/* an unfinished document is not committed */
	}
	if (!strcmp(env->format, "svg"))
		svg(out.f, &r);
	if (!strcmp(env->format, "folded") && (err = export_folded(out.f, &r, env->metric, fn))) {
		fprintf(stderr, "gilscope: cannot write %s: %s\n", env->output, strerror(-err));
		goto cleanup;
	}
	if (outfile__commit(&out))
		goto cleanup;
	ret = gst_read_stats__partial(&r.st) ? 4 : 0;
cleanup:
	if (out.f)
		outfile__abort(&out);
	replay__free(&r);
	folded_native__free(fn);
	return ret;
}
