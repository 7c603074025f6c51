/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One tracing session, in phases like perf's lock contention
 * (prepare / start / stop / read / finish).  A live run, a recording and
 * --summary are the same session; they differ only in what becomes of
 * each record (analysed now, written to the .gst file, or neither
 * because BPF analyses in maps).  The report of it, like a replay's, is
 * written by report_write() (report.h).
 *
 *   session__prepare  check the outputs and the PID before loading anything
 *   session__attach   load BPF, find or start the target, its GIL, the
 *                     watchpoints and probes; the traced window opens
 *   session__start    the analysis, the recording, the ring buffer; the
 *                     held child is let go
 *   session__run      collect until -d, a signal or the target's exit
 *   session__stop     close the window, detach, drain, read the counters,
 *                     finish the analysis and the recording
 *   session__free     on every path, whatever was reached
 */
#ifndef SESSION_H
#define SESSION_H

struct pyread;

#include <stdbool.h>
#include <stdint.h>
#include "analysis.h"
#include "target.h"
#include "inflight.h"
#include "tracer.h"
#include "watch.h"

struct env;
struct gst_writer;
struct names;
struct report_meta;
struct ring_buffer;
struct symbolizer;

struct session {
	const struct env *env;
	struct report_meta *meta;	/* what the report and recording say */
	struct target target;
	struct tracer tr;
	struct watchset watch;
	struct symbolizer *sym;
	struct names *names;
	struct pyread *py;		/* the CPython's frames and threads, or NULL */
	struct analysis an;		/* fed live unless only recording */
	bool analyse;
	struct gst_writer *wr;		/* NULL unless -o */
	struct ring_buffer *rb;
	uint64_t records;
	/* The report covers the traced time only, live or replayed: records
	 * from before it began (probes go live one by one while attaching)
	 * or after it ended (detaching uprobes takes a while) are dropped. */
	uint64_t from, until;
	/* The collector stops on time whatever the event rate: a poll hands
	 * back by poll_end (the record callback checks), and what cannot be
	 * drained at the stop in time is counted, not read (lost_at_stop). */
	uint64_t poll_end;
	unsigned int since_check;
	bool discard;
	bool stopping;			/* tracing stopped: execs are let go only */
	bool watch_gone;		/* --object's watchpoints removed at an exec */
	struct inflight pre;		/* futex waits in progress at attach */
	struct u64map py_named;		/* --summary: Python stacks named so far */
	uint64_t py_named_at;		/* ... when last */
};

/* Every phase returns 0 or -errno after printing one line. */
int session__prepare(struct session *s, const struct env *env);
int session__attach(struct session *s);
int session__start(struct session *s);
void session__run(struct session *s);
int session__stop(struct session *s);
void session__free(struct session *s);

/* For exec_follow.c, which attaches to a new image as session__attach
 * does: the GIL (or why there is none, into the metadata), and one
 * record into the recording and the analysis. */
int session__find_gil(struct session *s);
void session__take_record(struct session *s, void *data, size_t size);

/* The exit status of a session that got to its report: 3 when the
 * process given by -p exited during the trace (the report is of a part
 * of its life), else 0. */
int session__status(const struct session *s);

#endif
