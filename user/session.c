// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The phases of a tracing session (see session.h).  Events flow ring
 * buffer -> analysis (the same path a trace file takes), so the live
 * report is a replay done as it arrives.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "exec_follow.h"
#include "gil_profile.h"
#include "names.h"
#include "options.h"
#include "outfile.h"
#include "privs.h"
#include "proc.h"
#include "pyread.h"
#include "report.h"
#include "session.h"
#include "stackfix.h"
#include "summary.h"
#include "symbolize.h"
#include "tracefile.h"
#include "gilscope.h"	/* the skeleton's map value types */
#include "gilscope.skel.h"
#include "monotime.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = sig;
}

int session__prepare(struct session *s, const struct env *env)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->env = env;
	target__init(&s->target);
	/* outputs and the PID are checked before the BPF object loads: a
	 * typo costs no attach */
	if (env->json_path && (err = outfile__check(env->json_path, env->force)))
		return err;
	if (env->output && (err = outfile__check_regular(env->output, env->force)))
		return err;
	if (env->output && env->json_path && outfile__same(env->output, env->json_path)) {
		fprintf(stderr, "gilscope: -o and --json name the same file (%s): give two\n",
			env->output);
		return -EINVAL;
	}
	s->meta = calloc(1, sizeof(*s->meta));
	if (!s->meta) {
		fprintf(stderr, "gilscope: out of memory\n");
		return -ENOMEM;
	}
	s->meta->top = env->top;
	s->meta->native = env->native;
	s->meta->mutex_probes = env->mutex_probes;
	s->meta->summary = env->summary;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	err = env->cmd ? 0 : target__check(env->pid);
	return err ?: privs__check(env->cmd ? 0 : env->pid);
}

/* How often the GIL holder's Python stack is sampled on CPU: enough
 * samples for a 1 s hold to be attributed within a few percent, at a
 * cost of a walk of its frames (microseconds) each. */
#define PY_SAMPLE_HZ	499
/* Native names are made after each poll's records, for at most this
 * long a time (names.h): records, and the Python frames only a live
 * target can name, come first */
#define NAMES_DRAIN_NS		20000000ULL
/* --summary names each new Python stack as its GS_PY_NEW record comes;
 * this often it looks for any whose record was lost */
#define PY_NAME_EVERY_NS	1000000000ULL

/*
 * A CPython's Python stacks: its frame layout into BPF, the holder
 * sampler, PyMutex parks (3.13+).  Without them the report says why;
 * the GIL is traced all the same.
 */
static void attach_python(struct session *s)
{
	struct report_meta *meta = s->meta;
	const struct gil_location *g = &meta->gil;
	pid_t pid = s->target.pid;
	struct gs_py_config c;
	char why[160] = "";
	bool gc;
	int err;

	pyread__free(s->py);
	s->py = NULL;
	if (!g->runtime)
		return;		/* gildemo: no Python code to name */
	if (!s->env->py_depth) {
		snprintf(meta->py_stacks, sizeof(meta->py_stacks), "not read (--python-depth=0)");
		return;
	}
	err = pyread__new(pid, g->py_major, g->py_minor, g->runtime, &s->py, why, sizeof(why));
	if (!err) {
		c = pyread__layout(s->py)->walk;
		c.depth = s->env->py_depth;
		err = tracer__set_python(&s->tr, pid, &c);
		snprintf(why, sizeof(why), "%s", strerror(-err));
	}
	err = err ?: tracer__attach_py_sampling(&s->tr, PY_SAMPLE_HZ);
	if (err) {
		snprintf(meta->py_stacks, sizeof(meta->py_stacks), "not read: %s", why);
		fprintf(stderr, "gilscope: no Python stacks: %s\n", why);
		pyread__free(s->py);
		s->py = NULL;
		return;
	}
	meta->py_sample_hz = PY_SAMPLE_HZ;
	/* 3.13+: PyMutex waits (threading.Lock from 3.14) named by the
	 * mutex, not the semaphore on the waiter's stack */
	err = tracer__attach_py_park(&s->tr, pid, g->module);
	/* libbpf explains a build without USDT notes on its own: quietly */
	gc = !tracer__attach_py_gc(&s->tr, pid, g->module);
	snprintf(meta->py_stacks, sizeof(meta->py_stacks), "%u frames deep where threads "
		 "wait or are asked to drop the GIL; the holder sampled on CPU at %u Hz%s%s%s",
		 c.depth, PY_SAMPLE_HZ, err ? "" : "; PyMutex waits named by the mutex",
		 gc ? "; garbage collections marked (USDT)" :
		      "; garbage collections not seen (no USDT probes in this build)",
		 s->env->summary ? "; summed in BPF by stack" : "");
	if (s->names)
		names__set_pyread(s->names, s->py);
}

/*
 * Looks for an interpreter's GIL in the target.  Not finding one is fine
 * unless --gil=require; a Python whose build is not recognised is said in
 * one line and traced as a plain program, never with a guessed layout.
 */
static int attach_gil(struct session *s)
{
	struct report_meta *meta = s->meta;
	pid_t pid = s->target.pid;
	char why[256] = "", comm[64];
	int err;

	err = gil_find(pid, &(struct gil_find_opts){ .layout = s->env->python_layout },
		       &meta->gil, why, sizeof(why));
	if (!err) {
		err = proc_read_mem(pid, meta->gil.interval, &meta->gil_interval_us,
				    sizeof(meta->gil_interval_us));
		err = err ?: tracer__set_gil(&s->tr, pid, &meta->gil);
		if (err) {
			fprintf(stderr, "gilscope: cannot set up GIL tracing for %d: %s\n",
				pid, strerror(-err));
			return err;
		}
		meta->has_gil = true;
		attach_python(s);
		return 0;
	}
	if (err == -ENOTSUP) {
		snprintf(meta->gil_note, sizeof(meta->gil_note), "%s", why);
		if (s->env->gil == GIL_REQUIRE) {
			fprintf(stderr, "gilscope: %s\n", why);
			return err;
		}
		fprintf(stderr, "gilscope: %s: tracing its locks only\n", why);
		return 0;
	}
	if (s->env->gil == GIL_REQUIRE) {
		fprintf(stderr, "gilscope: process %d has no GIL gilscope knows (not CPython "
			"3.8-3.15 nor gildemo): drop --gil=require to trace its locks\n", pid);
		return -ENOENT;
	}
	/* the report says why it has no GIL section, whatever the program */
	if (!why[0] && proc_comm(pid, comm, sizeof(comm)))
		snprintf(comm, sizeof(comm), "the program");
	if (why[0])
		snprintf(meta->gil_note, sizeof(meta->gil_note), "%s", why);
	else
		snprintf(meta->gil_note, sizeof(meta->gil_note), "none: %s is not an interpreter "
			 "gilscope knows (CPython 3.8-3.15, gildemo): its locks only", comm);
	return 0;
}

/* The GIL, unless --gil=off: then the report says it was not looked for. */
int session__find_gil(struct session *s)
{
	if (s->env->gil != GIL_OFF)
		return attach_gil(s);
	snprintf(s->meta->gil_note, sizeof(s->meta->gil_note), "not looked for (--gil=off)");
	return 0;
}

/* --object: the watchpoints, and what the report says of them. */
static int attach_watch(struct session *s)
{
	struct report_meta *meta = s->meta;
	struct watchset *w = &s->watch;
	pid_t pid = s->target.pid;
	int err;

	err = watch__resolve(w, pid, s->env->objects, s->env->nr_objects);
	err = err ?: watch__attach(w, pid, s->tr.skel->progs.refcount_write);
	if (err)
		return err;
	for (int i = 0; i < w->nr; i++) {
		meta->obj_addr[i] = w->obj[i].addr;
		snprintf(meta->obj_name[i], sizeof(meta->obj_name[i]), "%s", w->obj[i].name);
	}
	meta->nr_objects = w->nr;
	/* a held child cannot write them until it is let go: read where the
	 * counts start, exactly */
	for (int i = 0; s->target.spawned && !s->target.ready_missed && i < w->nr; i++)
		meta->obj_start_known[i] = !proc_read_mem(pid, w->obj[i].addr,
							  &meta->obj_start[i],
							  sizeof(meta->obj_start[i]));
	meta->watched_threads = w->nr_threads;
	report_add_probe(meta, "watchpoint", "refcount writes",
			 "hardware breakpoint per object and thread (~16 us a write here)");
	return 0;
}

/*
 * -- CMD, held at its entry with its probes live: on to its interpreter's
 * ready point, where its GIL exists.  Should that not be reached (it
 * exits first, or an application embedding Python never calls
 * Py_RunMain), nothing of the run is lost: the trace starts at the entry
 * (*@start_ts).  The symbolizer is made now, with the entry's libraries
 * mapped, so that names resolve even after an early exit.
 */
static int run_to_interpreter(struct session *s, uint64_t *start_ts)
{
	uint64_t entry_ts = now_ns();
	int err;

	if (!symbolizer__new(s->target.pid, &s->sym))
		symbolizer__preload(s->sym);
	target__describe(&s->target, s->meta);
	err = target__run_to_interpreter(&s->target, &s->tr);
	if (s->target.ready_missed)
		*start_ts = entry_ts;
	return err == -ECHILD ? 0 : err;
}

int session__attach(struct session *s)
{
	const struct env *env = s->env;
	struct tracer_opts topts = {
		.stacks = env->stacks, .ringbuf_mb = env->ringbuf_mb, .verbose = env->verbose,
		.mutex_events = env->mutex_probes, .summary = env->summary,
	};
	struct report_meta *meta = s->meta;
	uint64_t start_ts = 0;
	int err;

	err = tracer__open(&s->tr, &topts, meta);
	if (err)
		return err;
	if (env->cmd)
		err = target__spawn(&s->target, env->cmd, &s->tr);
	else
		err = target__attach_pid(&s->target, env->pid, &s->tr);
	if (err)
		return err;
	err = tracer__attach_tracepoints(&s->tr);
	err = err ?: tracer__attach_libc(&s->tr, s->target.pid, env->mutex_probes, false);
	if (err) {
		if (!s->target.spawned && target__vanished(&s->target))
			fprintf(stderr, "gilscope: process %d exited during attach\n",
				s->target.pid);
		return err;
	}
	if (env->cmd && env->gil != GIL_OFF && (err = run_to_interpreter(s, &start_ts)))
		return err;
	if (target__exited_early(&s->target)) {
		snprintf(meta->gil_note, sizeof(meta->gil_note), "none: the program exited "
			 "before its interpreter was ready");
	} else {
		if ((err = session__find_gil(s)))
			return err;
		/* the GIL's own probe (pthread_cond_signal) */
		if (meta->has_gil &&
		    (err = tracer__attach_libc(&s->tr, s->target.pid, env->mutex_probes, true)))
			return err;
		if (env->nr_objects && (err = attach_watch(s)))
			return err;
	}
	/* figures of the mutex probes only where they are attached: never
	 * an invented zero (a static program has no libc to probe) */
	meta->mutex_probes = s->tr.mutex_probes;
	/* waits begun before the probes were in place (a hung process's):
	 * the futex tracepoints are live, so later ones are BPF's to see */
	if (!s->target.spawned)
		inflight__scan(s->target.pid, &s->pre);
	meta->start_ts = start_ts ?: now_ns();
	return 0;
}

/* Every name resolved live goes into the recording, ahead of the events
 * that use it. */
static void on_name(void *ctx, int kind, uint64_t key, const char *name)
{
	gst_writer__name(ctx, kind, key, name);
}

/* Records are checked against the clock every this many. */
#define POLL_CHECK_EVERY 256
/* A poll hands back at least this often, whatever the event rate. */
#define POLL_SLICE_NS (100ULL * 1000 * 1000)
/* The drain at the stop may take this long; the rest is counted as lost. */
#define DRAIN_BUDGET_NS (1000ULL * 1000 * 1000)

/* One record into the recording and the analysis, from the ring buffer
 * or made by gilscope (waits in progress at the stop, an exec'd image's
 * GIL found). */
void session__take_record(struct session *s, void *data, size_t size)
{
	struct gs_event_hdr *h = data;
	struct gs_open_wait_event w;

	/* the ring buffer is mapped read-only: repair a copy */
	if ((h->type == GS_EV_FUTEX_WAIT && size == sizeof(w.w)) ||
	    (h->type == GS_EV_FUTEX_WAIT_OPEN && size == sizeof(w))) {
		memcpy(&w, data, size);
		stack_repair(s->sym, &w.w);
		/* the raw words served the repair; zeros keep recordings small */
		memset(w.w.stack, 0, sizeof(w.w.stack));
		w.w.nr_stack = 0;
		data = &w;
	}
	if (h->ts < s->from || (s->until && gs_event_time(h) > s->until))
		return;
	names__note_event(s->names, data, size);
	s->records++;
	if (s->wr)
		gst_writer__add(s->wr, data, size);
	if (s->analyse)
		analysis__push(&s->an, data, size);
}

/* A stop asked, or this poll's time used up (checked every
 * POLL_CHECK_EVERY records: the clock is cheap, not free). */
static bool poll_over(struct session *s)
{
	if (exiting)
		return true;
	if (++s->since_check < POLL_CHECK_EVERY)
		return false;
	s->since_check = 0;
	return now_ns() >= s->poll_end;
}

/* The ring buffer's callback: a negative return ends ring_buffer__poll(),
 * but libbpf (1.1 as today) has moved past the record already: it is
 * taken first, and the poll ends after it. */
static int on_record(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;
	const struct gs_event_hdr *h = data;

	/* an exec holds the target until its record is read: never left
	 * unread, never discarded */
	if (h->type == GS_EV_EXEC && size == sizeof(struct gs_exec_event)) {
		struct gs_exec_event e;

		memcpy(&e, data, size);
		e.filename[sizeof(e.filename) - 1] = 0;
		session__take_record(s, &e, size);
		exec_follow(s, &e);
		return 0;
	}
	if (s->discard) {
		s->meta->lost_at_stop++;
		return 0;
	}
	session__take_record(s, data, size);
	return poll_over(s) ? -ECANCELED : 0;
}

/* Every thread alive at the start is in the tables, even one that never
 * takes a lock: the streamed analysis and a replay both assume it. */
static void add_threads(struct session *s)
{
	pid_t *tids = NULL;
	size_t nr = 0;

	if (proc_threads(s->target.pid, &tids, &nr))
		return;
	for (size_t i = 0; i < nr; i++) {
		names__thread(s->names, tids[i]);	/* caches the name now */
		analysis__add_thread(&s->an, tids[i]);
	}
	free(tids);
}

int session__start(struct session *s)
{
	const struct env *env = s->env;
	struct report_meta *meta = s->meta;
	pid_t pid = s->target.pid;
	int err;

	if (env->summary && (err = summary__begin(&s->tr, pid, meta)))
		return err;
	if (meta->has_gil)
		meta->sn_mem = !proc_read_mem(pid, meta->gil.switch_number, &meta->sn_start,
					      sizeof(meta->sn_start));
	/* made at the entry already for a command (run_to_interpreter) */
	err = s->sym ? 0 : symbolizer__new(pid, &s->sym);
	if (err) {
		/* not memory: the maps of a process that is gone cannot be read */
		fprintf(stderr, "gilscope: cannot read the memory map of process %d: %s: "
			"did it exit?\n", pid, strerror(-err));
		return err;
	}
	err = names__new(pid, s->sym, &s->names);
	if (!err)
		names__set_pyread(s->names, s->py);
	err = err ?: analysis__from_meta(&s->an, meta, s->names, false);
	if (err) {
		fprintf(stderr, "gilscope: out of memory\n");
		return err;
	}
	symbolizer__preload(s->sym);
	symbolizer__watch_maps(s->sym, tracer__maps_gen(&s->tr));
	if (!target__exited_early(&s->target))	/* else as it was at its entry */
		target__describe(&s->target, meta);
	if (env->output) {
		err = gst_writer__open(env->output, env->force, meta, &s->wr);
		if (err)
			return err;
		names__set_listener(s->names, on_name, s->wr);
	}
	/* a recording is analysed when it is reported, not while it is made */
	s->analyse = env->mode != MODE_RECORD;
	s->from = meta->start_ts;
	s->rb = ring_buffer__new(tracer__events_fd(&s->tr), on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot open the ring buffer: %s\n", strerror(-err));
		return err;
	}
	add_threads(s);
	return 0;
}

void session__run(struct session *s)
{
	const struct env *env = s->env;
	struct report_meta *meta = s->meta;
	uint64_t deadline = 0, last_flush = now_ns();
	int err;

	if (env->duration > 0)
		deadline = meta->start_ts + (uint64_t)(env->duration * 1e9);
	target__continue(&s->target);
	fprintf(stderr, "gilscope: tracing pid %d (%s)%s%s... %s\n", s->target.pid, meta->comm,
		meta->mutex_probes ? " with mutex uprobes" : "",
		env->summary ? ", summary in BPF" : "",
		deadline ? "" : "Ctrl-C to stop");

	while (!exiting) {
		s->poll_end = now_ns() + POLL_SLICE_NS;
		if (deadline && s->poll_end > deadline)
			s->poll_end = deadline;
		err = ring_buffer__poll(s->rb, 100);
		if (err < 0 && err != -EINTR && err != -ECANCELED) {
			fprintf(stderr, "gilscope: reading the ring buffer failed: %s\n",
				strerror(-err));
			break;
		}
		analysis__flush(&s->an);
		/* native names after the records (a library loaded late is
		 * named while the target, and its root, still exist) */
		names__drain(s->names, NAMES_DRAIN_NS);
		/* a summary's Python stacks are named while the code can be read */
		if (env->summary && s->py && now_ns() - s->py_named_at > PY_NAME_EVERY_NS) {
			summary__name_py(&s->tr, s->names, &s->py_named);
			s->py_named_at = now_ns();
		}
		if (s->wr && now_ns() - last_flush > 1000000000ULL) {
			gst_writer__flush(s->wr);	/* a second of events is safe on disk */
			last_flush = now_ns();
		}
		if (deadline && now_ns() >= deadline) {
			snprintf(meta->end_reason, sizeof(meta->end_reason), "duration");
			break;
		}
		if (target__gone(&s->target, meta, s->watch.nr > 0))
			break;
	}
	if (exiting)
		snprintf(meta->end_reason, sizeof(meta->end_reason), "signal");
}

static void emit_record(void *ctx, void *rec, size_t size)
{
	session__take_record(ctx, rec, size);
}

int session__stop(struct session *s)
{
	const struct env *env = s->env;
	struct report_meta *meta = s->meta;
	pid_t pid = s->target.pid;
	struct gst_writer *wr = s->wr;
	int err;

	meta->end_ts = now_ns();
	s->until = meta->end_ts;
	if (env->summary)
		summary__end(&s->tr, meta);
	if (env->summary && s->py)
		summary__name_py(&s->tr, s->names, &s->py_named);
	if (meta->sn_mem)
		meta->sn_mem = !proc_read_mem(pid, meta->gil.switch_number, &meta->sn_end,
					      sizeof(meta->sn_end));
	/* sys.setswitchinterval() during the trace: the report says so */
	if (meta->has_gil &&
	    proc_read_mem(pid, meta->gil.interval, &meta->gil_interval_end_us,
			  sizeof(meta->gil_interval_end_us)))
		meta->gil_interval_end_us = 0;

	/* stop the probes first, then drain what is already in the ring
	 * buffer, for a second at most: what is left then is counted */
	watch__detach(&s->watch);
	tracer__stop(&s->tr);	/* the probes go while we drain and report */
	s->stopping = true;	/* an exec drained now is let go, not followed */
	exiting = 0;	/* the signal that stopped us must not stop the drain */
	s->poll_end = now_ns() + DRAIN_BUDGET_NS;
	if (ring_buffer__consume(s->rb) == -ECANCELED) {
		s->discard = true;
		ring_buffer__consume(s->rb);
		fprintf(stderr, "gilscope: %llu records were still in the ring buffer at the "
			"stop and could not be read in time: counted as lost\n",
			(unsigned long long)meta->lost_at_stop);
	}
	s->discard = false;
	/* --summary streams an exec's records only: they are analysed
	 * before the maps are read into the tables, the waits in progress
	 * (emitted now) after, against the threads' states read there */
	if (env->summary)
		analysis__flush_all(&s->an);
	/* the waits that never returned, as records of their own */
	inflight__emit(&s->pre, pid, tracer__futex_calls_fd(&s->tr), meta->start_ts,
		       meta->end_ts, emit_record, s);
	/* every native address named before the recording closes */
	names__drain(s->names, 0);
	meta->lost = tracer__counter(&s->tr, GS_CNT_LOST, meta->lost_per_cpu, REPORT_MAX_CPUS) +
		     meta->lost_at_stop;
	meta->nr_cpus = libbpf_num_possible_cpus();
	if (meta->nr_cpus > REPORT_MAX_CPUS)
		meta->nr_cpus = REPORT_MAX_CPUS;
	if (meta->nr_cpus < 0)
		meta->nr_cpus = 0;
	meta->stack_errors = tracer__counter(&s->tr, GS_CNT_STACK_ERR, NULL, 0);
	if (env->summary &&
	    (err = summary__read(&s->tr, pid, meta, &s->an, s->sym, s->names)))
		return err;
	analysis__finish(&s->an, meta->end_ts);
	/* a command that outlived the trace is ended, and the recording says
	 * how (its exit status is the report's, gilscope's its own) */
	target__end_command(&s->target, meta);
	meta->recorded = s->records;
	meta->late = analysis__late(&s->an);
	if (wr) {
		s->wr = NULL;	/* closed (or aborted) either way */
		err = gst_writer__close(wr, meta);
		if (err)
			return err;
	}
	/* a child that outlived the trace is ended before the report */
	target__close(&s->target);
	return 0;
}

int session__status(const struct session *s)
{
	return s->target.exited && !s->target.spawned ? 3 : 0;
}

void session__free(struct session *s)
{
	gst_writer__abort(s->wr);	/* a recording never closed is no recording */
	target__close(&s->target);
	ring_buffer__free(s->rb);
	watch__detach(&s->watch);
	if (s->tr.skel)
		tracer__close(&s->tr);
	analysis__free(&s->an);
	names__free(s->names);
	pyread__free(s->py);
	symbolizer__free(s->sym);
	inflight__free(&s->pre);
	u64map__free(&s->py_named);
	free(s->meta);
	memset(s, 0, sizeof(*s));
}
