// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The target exec'd.  Every record of its old image is ahead of the
 * GS_EV_EXEC record in the ring buffer (the exec waited for the old
 * threads to die, and they wrote theirs before), so the analysis has
 * them all when the new image is looked at here.
 *
 * What the target can observe: one SIGSTOP/SIGCONT pair per exec, and
 * one more pair per one-shot stop on the way to its interpreter's ready
 * point (its entry, the loader's hook, Py_RunMain); a parent waiting with
 * WUNTRACED (a job-control shell) sees it stop and continue.  If
 * gilscope dies while it holds the target, the target is continued: by
 * the kernel for a spawned command (PR_SET_PDEATHSIG, spawn.c), by the
 * guard process for a -p one (holdguard.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "events.h"
#include "exec_follow.h"
#include "names.h"
#include "options.h"
#include "proc.h"
#include "report.h"
#include "session.h"
#include "summary.h"
#include "symbolize.h"
#include "monotime.h"

/* The old image's GIL, watched objects and description are gone. */
static void forget_old_image(struct session *s, const struct gs_exec_event *e)
{
	struct report_meta *meta = s->meta;
	char comm[sizeof(meta->comm)];

	snprintf(comm, sizeof(comm), "%s", meta->comm);
	report_add_exec(meta, comm, e->filename);
	meta->has_gil = false;
	memset(&meta->gil, 0, sizeof(meta->gil));
	meta->sn_mem = false;
	meta->gil_note[0] = 0;
	meta->py_stacks[0] = 0;
	meta->py_sample_hz = 0;
	/* the old image's frames are gone: names of its stacks stay */
	names__set_pyread(s->names, NULL);
	if (s->watch.nr && !s->watch_gone) {
		watch__detach(&s->watch);
		s->watch_gone = true;
		fprintf(stderr, "gilscope: the watched objects went with the old image at the "
			"exec: their watchpoints are removed\n");
	}
}

/* Attaches to the new image what it needs: its maps for naming, its
 * description, its GIL (announced to the analysis and the recording),
 * probes in its libc if that is another file. */
static void attach_new_image(struct session *s, const struct gs_exec_event *e)
{
	const struct env *env = s->env;
	struct report_meta *meta = s->meta;
	struct gs_gil_found_event f = {0};
	pid_t pid = s->target.pid;
	struct symbolizer *sym;

	if (!symbolizer__new(pid, &sym)) {
		/* the old image's addresses by the old image's maps */
		names__drain(s->names, 0);
		names__set_symbolizer(s->names, sym);
		symbolizer__free(s->sym);
		s->sym = sym;
		symbolizer__preload(sym);
		symbolizer__watch_maps(sym, tracer__maps_gen(&s->tr));
	}
	target__describe(&s->target, meta);
	if (!session__find_gil(s) && meta->has_gil) {
		/* the new image's stacks are of its version */
		analysis__set_python(&s->an, meta);
		f.hdr.type = GS_EV_GIL_FOUND;
		f.hdr.tid = pid;
		f.hdr.ts = now_ns();
		f.mutex = meta->gil.mutex;
		f.cond = meta->gil.cond;
		f.interval_us = meta->gil_interval_us;
		session__take_record(s, &f, sizeof(f));
		if (env->summary)
			summary__new_gil(&s->tr, pid, meta, f.hdr.ts);
		meta->sn_mem = !proc_read_mem(pid, meta->gil.switch_number, &meta->sn_start,
					      sizeof(meta->sn_start));
	}
	/* a non-leader's exec: the uprobes were bound to the old leader */
	if (e->old_tid != e->hdr.tid)
		tracer__forget_libc(&s->tr);
	if (tracer__attach_libc(&s->tr, pid, env->mutex_probes, meta->has_gil))
		fprintf(stderr, "gilscope: the libc of %s is not probed: its pthread calls "
			"are not traced\n", e->filename);
}

void exec_follow(struct session *s, const struct gs_exec_event *e)
{
	pid_t pid = s->target.pid;
	int err;

	forget_old_image(s, e);
	if (s->stopping) {	/* tracing is over: only let it go */
		target__release(&s->target);
		return;
	}
	err = target__follow_exec(&s->target, &s->tr, s->env->gil != GIL_OFF);
	if (err == -ECHILD)
		return;		/* gone: the run loop sees it */
	if (err) {
		/* not held where it should be: attached to as it runs, as -p is */
		target__release(&s->target);
		fprintf(stderr, "gilscope: cannot hold process %d at the start of %s: %s: let "
			"it run (SIGCONT), attaching to it running\n", pid, e->filename,
			strerror(-err));
	}
	attach_new_image(s, e);
	if (!err)
		target__release(&s->target);
	fprintf(stderr, "gilscope: pid %d exec'd %s (now %s): following it%s\n", pid,
		e->filename, s->meta->comm, s->meta->has_gil ? ", its GIL found" : "");
}
