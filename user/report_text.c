// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The text report: klockstat-style tables for user-space locks. */
#include <stdio.h>
#include <string.h>
#include "analysis.h"
#include "lockstats.h"
#include "mixstack.h"
#include "names.h"
#include "report.h"
#include "report_py.h"

void report_add_probe(struct report_meta *m, const char *kind,
		      const char *where, const char *note)
{
	struct probe_desc *p;

	if (m->nr_probes >= REPORT_MAX_PROBES)
		return;
	p = &m->probes[m->nr_probes++];
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	snprintf(p->where, sizeof(p->where), "%s", where);
	snprintf(p->note, sizeof(p->note), "%s", note ? note : "");
}

void report_add_exec(struct report_meta *m, const char *from, const char *to)
{
	if (m->nr_execs < REPORT_MAX_EXECS) {
		snprintf(m->execs[m->nr_execs].from, sizeof(m->execs[0].from), "%s", from);
		snprintf(m->execs[m->nr_execs].to, sizeof(m->execs[0].to), "%s", to);
	}
	m->nr_execs++;
}

void report_exec_chain(const struct report_meta *m, char *buf, size_t len)
{
	int n = m->nr_execs < REPORT_MAX_EXECS ? m->nr_execs : REPORT_MAX_EXECS;
	size_t off;

	snprintf(buf, len, "%s", n ? m->execs[0].from : "");
	for (int i = 0; i < n; i++) {
		off = strlen(buf);
		snprintf(buf + off, len - off, " -> %s", m->execs[i].to);
	}
	off = strlen(buf);
	if (m->nr_execs > n)
		snprintf(buf + off, len - off, " (and %d more execs)", m->nr_execs - n);
}

bool report_no_libc(const struct report_meta *m)
{
	for (int i = 0; i < m->nr_probes; i++)
		if (!strcmp(m->probes[i].kind, "none") && !strcmp(m->probes[i].where, "libc"))
			return true;
	return false;
}

uint32_t report_site_index(struct names *n, const uint64_t *frames, uint32_t nr)
{
	for (uint32_t i = 0; i < nr; i++) {
		const char *s = names__code(n, frames[i]);

		if (strncmp(s, "libc.so", 7) && strncmp(s, "libpthread", 10))
			return i;
	}
	return 0;
}

/* Total, p50, p99, max: '-' where unknown; a distribution of no samples
 * (nothing waited, or every hold still open at the end) has no p50. */
static void print_dist(FILE *f, struct samples *s, bool known, char (*b)[32])
{
	if (!known) {
		fprintf(f, " %9s %9s %9s %9s", "-", "-", "-", "-");
		return;
	}
	fprintf(f, " %9s", fmt_ns(s->total, b[0], 32));
	if (!s->nr) {
		fprintf(f, " %9s %9s %9s", "-", "-", "-");
		return;
	}
	fprintf(f, " %9s %9s %9s", fmt_ns(samples__pct(s, 50), b[1], 32),
		fmt_ns(samples__pct(s, 99), b[2], 32), fmt_ns(s->max, b[3], 32));
}

/* Frames of a mixed stack in the text report (its marker not counted). */
#define MIX_TEXT_FRAMES	6

/* @c's mixed stack from its native call site @site (the C library's lock
 * internals inside it left out, as in the native call sites). */
static void print_mixed(FILE *f, struct analysis *a, struct names *n,
			const struct lock_caller *c, uint32_t site)
{
	const struct py_stack *py = pystacks__get(&a->pystacks, c->py_stack);
	struct mix_frame mix[MIX_MAX_FRAMES];
	size_t nr = mixstack(n, c->frames, c->nr_frames, py, mix);
	bool first = true;
	int shown = 0;

	for (size_t i = 0; i < nr; i++) {
		if (mix[i].kind == MIX_NATIVE && mix[i].idx < site)
			continue;
		if (shown == MIX_TEXT_FRAMES) {
			fprintf(f, " <- ...");
			break;
		}
		fprintf(f, "%s%s", first ? "" : " <- ", mixstack_name(n, c->frames, py, &mix[i]));
		first = false;
		shown += mix[i].kind != MIX_CUT_SHORT;
	}
}

static void print_lock(FILE *f, const struct report_meta *m, struct analysis *a,
		       struct names *n, struct lock_stats *l)
{
	char b[6][32], acq[24], name[96], py[1024];
	/* a Python object's row: the object's address and its kind here,
	 * where it is waited on on the line below */
	const char *ln = l->py_object ? l->py_kind : names__data(n, l->addr);
	struct py_wait_kind k;

	snprintf(name, sizeof(name), "%s", ln ? ln : "-");
	if (l->acquisitions_known)
		snprintf(acq, sizeof(acq), "%llu", (unsigned long long)l->acquisitions);
	else
		snprintf(acq, sizeof(acq), "-");
	fprintf(f, "  0x%-14llx %-30s %-7s %8s %8llu",
		(unsigned long long)(l->py_object ? l->py_object : l->addr), name,
		lock_kind_name(l->kind), acq, (unsigned long long)l->contended);
	print_dist(f, &l->wait, true, b);
	print_dist(f, &l->hold, l->hold_known, b);
	fprintf(f, "\n");
	report_py_lock_kind(a, n, l, &k);
	if (l->py_object)
		fprintf(f, "      python: %s, one object's waits%s\n",
			report_py_lock_name(a, n, l, false, py, sizeof(py)),
			k.idle ? ", idle: a parked consumer's wait for work, not contention" : "");
	else if (k.kind || k.idle)
		fprintf(f, "      python: %s%s\n", k.kind ? k.kind : "a Python lock",
			k.idle ? ", idle: a parked consumer's wait for work, not contention" : "");
	for (size_t i = 0; i < l->nr_callers && (int)i < m->top; i++) {
		const struct lock_caller *c = &l->callers[i];
		bool python = pystacks__get(&a->pystacks, c->py_stack) != NULL;

		if (!c->count)
			continue;
		uint32_t site = report_site_index(n, c->frames, c->nr_frames);

		fprintf(f, "      %6llu x %9s  ", (unsigned long long)c->count,
			fmt_ns(c->wait_ns, b[5], 32));
		/* Python code; with --native, the mixed stack from the native
		 * call site on; the native call site where there is no
		 * Python stack */
		if (python) {
			if (m->native)
				print_mixed(f, a, n, c, site);
			else
				fprintf(f, "%s", report_py_stack_line(a, n, c->py_stack, 3, py,
								      sizeof(py)));
			fprintf(f, "\n");
			continue;
		}
		if (!c->nr_frames)
			fprintf(f, "[no stack]");
		/* the call site and two frames of context above it */
		for (uint32_t k = site; k < c->nr_frames && k < site + 3; k++)
			fprintf(f, "%s%s", k > site ? " <- " : "",
				names__code(n, c->frames[k]));
		fprintf(f, "\n");
	}
}

void report_text(FILE *f, const struct report_meta *m, struct analysis *a,
		 struct names *n)
{
	struct lockstats *ls = a->locks;
	struct lock_stats **locks;
	struct thread_stats **threads;
	size_t nr_locks = lockstats__locks(ls, &locks);
	size_t nr_threads = lockstats__threads(ls, &threads);
	const struct lock_open_wait *open;
	size_t nr_open = lockstats__open_waits(ls, &open);
	uint64_t dur = m->end_ts > m->start_ts ? m->end_ts - m->start_ts : 0;
	char b[4][32];

	fprintf(f, "gilscope %s: pid %d (%s) %s\n", GILSCOPE_VERSION, m->pid,
		m->comm, m->exe);
	fprintf(f, "traced %s, ended by %s\n", fmt_ns(dur, b[0], 32),
		m->end_reason[0] ? m->end_reason : "?");
	if (m->nr_execs) {
		char chain[REPORT_MAX_EXECS * 320];

		report_exec_chain(m, chain, sizeof(chain));
		fprintf(f, "exec: %s (pid %d)\n", chain, m->pid);
	}
	if (m->recovery[0])
		fprintf(f, "%s\n", m->recovery);
	fprintf(f, "probes:\n");
	for (int i = 0; i < m->nr_probes; i++)
		fprintf(f, "  %-10s %-48s %s\n", m->probes[i].kind,
			m->probes[i].where, m->probes[i].note);
	if (m->summary)
		fprintf(f, "summary: analysed in BPF, no events streamed; %llu events counted, "
			"%llu map updates dropped%s; percentiles from histograms (within %.1f%%)",
			(unsigned long long)m->aggregated, (unsigned long long)m->map_full,
			m->map_full ? " (a BPF map was full: figures below undercount)" : "",
			100.0 / (2 * GS_HIST_SUB));
	else
		fprintf(f, "events: %llu recorded, %llu lost%s",
			(unsigned long long)m->recorded, (unsigned long long)m->lost,
			m->lost ? " (ring buffer full: figures below undercount; try --ringbuf-mb)"
				: "");
	if (m->lost && m->nr_cpus) {
		fprintf(f, ", lost per CPU:");
		for (int i = 0; i < m->nr_cpus; i++)
			if (m->lost_per_cpu[i])
				fprintf(f, " cpu%d %llu", i, (unsigned long long)m->lost_per_cpu[i]);
	}
	if (m->lost_at_stop)
		fprintf(f, ", %llu of them left unread at the stop (no time to drain them)",
			(unsigned long long)m->lost_at_stop);
	if (m->stack_errors)
		fprintf(f, ", %llu user stacks unreadable",
			(unsigned long long)m->stack_errors);
	if (m->late)
		fprintf(f, ", %llu out of order", (unsigned long long)m->late);
	fprintf(f, "\n\n");

	if (m->has_gil)
		report_gil_text(f, m, a, n);
	else if (m->gil_note[0])
		fprintf(f, "GIL: %s\n\n", m->gil_note);
	report_refcount_text(f, m, a, n);
	fprintf(f, "Locks (wait: over contended acquisitions, those that slept in futex(2)):\n");
	fprintf(f, "  %-16s %-30s %-7s %8s %8s %9s %9s %9s %9s %9s %9s %9s %9s\n",
		"ADDR", "NAME", "KIND", "ACQ", "CONT", "WAIT-TOT", "WAIT-P50",
		"WAIT-P99", "WAIT-MAX", "HOLD-TOT", "HOLD-P50", "HOLD-P99", "HOLD-MAX");
	if (!nr_locks)
		fprintf(f, "  (no lock was contended%s)\n",
			nr_open ? " and got: the waits still in progress are below" : "");
	for (size_t i = 0; i < nr_locks; i++)
		print_lock(f, m, a, n, locks[i]);
	if (report_no_libc(m))
		fprintf(f, "  ACQ and HOLD of mutexes are '-': the target maps no dynamic glibc "
			"whose pthread calls could be probed; contention comes from futex(2) "
			"alone.\n");
	else if (!m->mutex_probes)
		fprintf(f, "  ACQ and HOLD of mutexes are '-': they need --locks=all "
			"(uprobes on pthread_mutex_lock/unlock, ~0.6 us a call); "
			"contention comes from futex(2) alone.\n");
	fprintf(f, "\nThreads:\n");
	fprintf(f, "  %-8s %-16s %12s %12s %12s\n", "TID", "COMM", "LOCK-WAIT",
		"LOCK-HOLD", "COND-WAIT");
	for (size_t i = 0; i < nr_threads; i++) {
		const struct thread_stats *t = threads[i];

		fprintf(f, "  %-8u %-16s %12s %12s %12s%s\n", t->tid,
			names__thread(n, t->tid), fmt_ns(t->lock_wait_ns, b[0], 32),
			m->mutex_probes ? fmt_ns(t->lock_hold_ns, b[1], 32) : "-",
			report_no_libc(m) ? "-" : fmt_ns(t->cond_wait_ns, b[2], 32),
			t->exited ? "  (exited)" : "");
	}
	report_waits_text(f, m, a, n);
}
