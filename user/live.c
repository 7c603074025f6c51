// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Live tracing: attach, collect until Ctrl-C / -d / the target's exit,
 * detach, report.  Events flow ring buffer -> analysis (the same path a
 * trace file takes), so the live report is a replay done as it arrives.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "analysis.h"
#include "elf_syms.h"
#include "events.h"
#include "gil_profile.h"
#include "live.h"
#include "names.h"
#include "options.h"
#include "outfile.h"
#include "proc.h"
#include "report.h"
#include "spawn.h"
#include "stackfix.h"
#include "summary.h"
#include "symbolize.h"
#include "timeline.h"
#include "tracefile.h"
#include "tracer.h"
#include "watch.h"
#include "gilscope.h"	/* the skeleton's map value types */
#include "gilscope.skel.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct collector {
	struct analysis *an;	/* NULL when only recording */
	struct names *names;
	struct symbolizer *sym;
	struct gst_writer *wr;	/* NULL when not recording */
	uint64_t records;
	/* The report covers the traced time only, live or replayed: records
	 * from before it began (probes go live one by one while attaching)
	 * or after it ended (detaching uprobes takes a while) are dropped. */
	uint64_t from, until;
};

/* Every name resolved live goes into the recording, ahead of the events
 * that use it. */
static void on_name(void *ctx, int kind, uint64_t key, const char *name)
{
	gst_writer__name(ctx, kind, key, name);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	struct gs_event_hdr *h = data;
	struct gs_futex_wait_event w;

	/* the ring buffer is mapped read-only: repair a copy */
	if (h->type == GS_EV_FUTEX_WAIT && size == sizeof(w)) {
		memcpy(&w, data, sizeof(w));
		stack_repair(c->sym, &w);
		/* the raw words served the repair; zeros keep recordings small */
		memset(w.stack, 0, sizeof(w.stack));
		w.nr_stack = 0;
		data = &w;
	}
	if (h->ts < c->from || (c->until && gs_event_time(h) > c->until))
		return 0;
	names__note_event(c->names, data, size);
	c->records++;
	if (c->wr)
		gst_writer__add(c->wr, data, size);
	if (c->an)
		analysis__push(c->an, data, size);
	return 0;
}

static int check_target(pid_t pid)
{
	if (proc_exists(pid)) {
		fprintf(stderr, "gilscope: no process with PID %d: check the PID (ps -e)\n", pid);
		return -ESRCH;
	}
	if (proc_is_kernel_thread(pid)) {
		fprintf(stderr, "gilscope: PID %d is a kernel thread: it has no user-space "
			"locks to trace\n", pid);
		return -EINVAL;
	}
	return 0;
}

/* A pidfd turns "has the target exited?" into a poll(); -1 where
 * pidfd_open(2) is missing, and we fall back to /proc. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

static bool target_gone(pid_t pid, int pidfd, struct spawn *sp)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (sp)
		return spawn__exited(sp);
	if (pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return proc_exists(pid) != 0;
}

static void fill_meta(struct report_meta *m, pid_t pid)
{
	struct timespec mono, real;
	struct elf_file *ef;
	char path[64];

	if (proc_comm(pid, m->comm, sizeof(m->comm)))
		snprintf(m->comm, sizeof(m->comm), "?");
	if (proc_exe(pid, m->exe, sizeof(m->exe)))
		snprintf(m->exe, sizeof(m->exe), "?");
	m->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (!elf_file__open(path, &ef)) {
		elf_file__build_id(ef, m->build_id, sizeof(m->build_id));
		elf_file__close(ef);
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m->boot_to_wall = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			  (real.tv_nsec - mono.tv_nsec);
}

static void add_threads(struct analysis *a, struct names *n, pid_t pid)
{
	pid_t *tids = NULL;
	size_t nr = 0;

	if (proc_threads(pid, &tids, &nr))
		return;
	for (size_t i = 0; i < nr; i++) {
		names__thread(n, tids[i]);	/* caches the name now */
		analysis__add_thread(a, tids[i]);
	}
	free(tids);
}

/*
 * Looks for an interpreter's GIL in @pid.  Not finding one is fine unless
 * --gil=require; a Python whose build is not recognised is said in one
 * line and traced as a plain program, never with a guessed layout.
 */
static int find_gil(const struct env *env, struct tracer *tr,
		    struct report_meta *meta, pid_t pid)
{
	char why[256] = "";
	int err;

	err = gil_find(pid, &meta->gil, why, sizeof(why));
	if (!err) {
		err = gil_read_mem(pid, meta->gil.interval, &meta->gil_interval_us,
				   sizeof(meta->gil_interval_us));
		err = err ?: tracer__set_gil(tr, pid, &meta->gil);
		if (err) {
			fprintf(stderr, "gilscope: cannot set up GIL tracing for %d: %s\n",
				pid, strerror(-err));
			return err;
		}
		meta->has_gil = true;
		return 0;
	}
	if (err == -ENOTSUP) {
		snprintf(meta->gil_note, sizeof(meta->gil_note), "%s", why);
		if (env->gil == GIL_REQUIRE) {
			fprintf(stderr, "gilscope: %s\n", why);
			return err;
		}
		fprintf(stderr, "gilscope: %s: tracing its locks only\n", why);
		return 0;
	}
	if (env->gil == GIL_REQUIRE) {
		fprintf(stderr, "gilscope: process %d has no GIL gilscope knows (not CPython "
			"3.8-3.13 nor gildemo): drop --gil=require to trace its locks\n", pid);
		return -ENOENT;
	}
	return 0;
}

/*
 * An interpreter's GIL does not exist at a program's entry point: the
 * runtime creates it.  When the new program has a GIL profile's "ready"
 * function (CPython's Py_RunMain, called once the interpreter is
 * initialised and before any Python code runs; gildemo_ready),
 * run the child on to it, then attach as to a running process.
 */
static int run_to_interpreter_ready(struct tracer *tr, struct spawn *sp)
{
	static const struct { const char *module, *sym; } ready[] = {
		{ "", "Py_RunMain" }, { "libpython3", "Py_RunMain" }, { "", "gildemo_ready" },
	};
	struct symbolizer *s = NULL;
	struct proc_maps pm = {0};
	const struct proc_map *m;
	char path[4200];
	uint64_t addr = 0;
	int err = 0;

	if (symbolizer__new(sp->pid, &s))
		return 0;
	for (size_t i = 0; i < sizeof(ready) / sizeof(ready[0]) && !addr; i++)
		if (symbolizer__sym_addr(s, ready[i].module, ready[i].sym, &addr))
			addr = 0;
	symbolizer__free(s);
	if (!addr || proc_maps__read(sp->pid, &pm))
		return 0;	/* no interpreter we know: trace from the entry */
	m = proc_maps__find(&pm, addr);
	if (m && m->path[0] == '/') {
		proc_root_path(sp->pid, m->path, path, sizeof(path));
		err = tracer__attach_stop(tr, sp->pid, path, addr - m->start + m->offset);
		err = err ?: spawn__run_to_stop(sp);
		if (err == -ECHILD)
			fprintf(stderr, "gilscope: '%s' exited before its interpreter was ready\n",
				sp->path);
		tracer__detach_entry_stop(tr);
	}
	proc_maps__free(&pm);
	return err;
}

static int add_gil_analysis(struct analysis *an, const struct report_meta *meta)
{
	struct gil_config cfg = {
		.mutex = meta->gil.mutex,
		.cond = meta->gil.cond,
		.interval_us = meta->gil_interval_us,
		.start_ts = meta->start_ts,
	};

	return analysis__add_gil(an, &cfg);
}

int cmd_trace(struct env *env)
{
	struct tracer_opts topts = {
		.stacks = env->stacks, .ringbuf_mb = env->ringbuf_mb, .verbose = env->verbose,
		.mutex_events = env->mutex_probes, .summary = env->summary,
	};
	struct lockstats_config lcfg = { .mutex_probes = env->mutex_probes, .cond_probes = true };
	struct report_meta *meta = NULL;
	struct symbolizer *sym = NULL;
	struct names *names = NULL;
	struct ring_buffer *rb = NULL;
	struct analysis an = {0};
	struct collector coll = {0};
	struct gst_writer *wr = NULL;
	uint64_t last_flush;
	struct tracer tr = {0};
	struct watchset watch = {0};
	struct spawn sp = { .pid = -1, .go_fd = -1, .err_fd = -1 };
	struct spawn *child = NULL;
	struct outfile json = { .fd = -1 };
	uint64_t deadline = 0;
	int err, pidfd = -1, ret = 1;
	bool target_exited = false;
	pid_t pid = env->pid;

	if (env->json_path && outfile__check(env->json_path, env->force))
		return 1;
	if (env->output && outfile__check(env->output, env->force))
		return 1;
	meta = calloc(1, sizeof(*meta));
	if (!meta)
		return 1;
	meta->top = env->top;
	meta->mutex_probes = env->mutex_probes;
	meta->summary = env->summary;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	if (!env->cmd && check_target(pid))
		goto cleanup;
	if (tracer__open(&tr, &topts, meta))
		goto cleanup;

	if (env->cmd) {
		if (spawn__fork(&sp, env->cmd))
			goto cleanup;
		child = &sp;
		pid = sp.pid;
		if (tracer__add_target(&tr, pid) ||
		    tracer__attach_entry_stop(&tr, pid, sp.path) ||
		    spawn__run_to_entry(&sp))
			goto cleanup;
		tracer__detach_entry_stop(&tr);
		if (env->gil != GIL_OFF && run_to_interpreter_ready(&tr, &sp))
			goto cleanup;
	} else {
		err = tracer__add_target(&tr, pid);
		if (err) {
			fprintf(stderr, "gilscope: cannot set the target: %s\n", strerror(-err));
			goto cleanup;
		}
		pidfd = open_pidfd(pid);
	}

	if (env->gil != GIL_OFF && find_gil(env, &tr, meta, pid))
		goto cleanup;
	if (env->nr_objects) {
		if (watch__resolve(&watch, pid, env->objects, env->nr_objects) ||
		    watch__attach(&watch, pid, tr.skel->progs.refcount_write))
			goto cleanup;
		for (int i = 0; i < watch.nr; i++) {
			meta->obj_addr[i] = watch.obj[i].addr;
			snprintf(meta->obj_name[i], sizeof(meta->obj_name[i]), "%s",
				 watch.obj[i].name);
		}
		meta->nr_objects = watch.nr;
		/* a held child cannot write them until it is let go: read
		 * where the counts start, exactly */
		for (int i = 0; child && i < watch.nr; i++)
			meta->obj_start_known[i] = !gil_read_mem(pid, watch.obj[i].addr,
								 &meta->obj_start[i],
								 sizeof(meta->obj_start[i]));
		meta->watched_threads = watch.nr_threads;
		report_add_probe(meta, "watchpoint", "refcount writes",
				 "hardware breakpoint per object and thread (~16 us a write here)");
	}
	err = tracer__attach_tracepoints(&tr);
	err = err ?: tracer__attach_libc(&tr, pid, env->mutex_probes, meta->has_gil);
	if (err) {
		if (!child && proc_exists(pid))
			fprintf(stderr, "gilscope: process %d exited during attach\n", pid);
		goto cleanup;
	}
	/* figures of the mutex probes only where they are attached: never
	 * an invented zero (a static program has no libc to probe) */
	meta->mutex_probes = lcfg.mutex_probes = tr.mutex_probes;
	meta->start_ts = now_ns();
	if (env->summary && summary__begin(&tr, pid, meta))
		goto cleanup;
	if (meta->has_gil)
		meta->sn_mem = !gil_read_mem(pid, meta->gil.switch_number, &meta->sn_start,
					     sizeof(meta->sn_start));

	if (symbolizer__new(pid, &sym) || names__new(pid, sym, &names) ||
	    analysis__new(&an, &lcfg, names) ||
	    (meta->has_gil && add_gil_analysis(&an, meta)) ||
	    analysis__add_refcount(&an, meta)) {
		fprintf(stderr, "gilscope: out of memory\n");
		goto cleanup;
	}
	symbolizer__preload(sym);
	symbolizer__watch_maps(sym, tracer__maps_gen(&tr));
	fill_meta(meta, pid);
	if (env->output) {
		if (gst_writer__open(env->output, env->force, meta, &wr))
			goto cleanup;
		names__set_listener(names, on_name, wr);
	}
	coll.an = env->mode == MODE_RECORD ? NULL : &an;
	coll.from = meta->start_ts;
	coll.wr = wr;
	coll.names = names;
	coll.sym = sym;
	rb = ring_buffer__new(tracer__events_fd(&tr), on_record, &coll, NULL);
	if (!rb) {
		fprintf(stderr, "gilscope: cannot open the ring buffer: %s\n", strerror(errno));
		goto cleanup;
	}
	add_threads(&an, names, pid);
	last_flush = now_ns();

	if (env->duration > 0)
		deadline = meta->start_ts + (uint64_t)(env->duration * 1e9);
	if (child)
		spawn__continue(child);
	fprintf(stderr, "gilscope: tracing pid %d (%s)%s%s... %s\n", pid, meta->comm,
		tr.mutex_probes ? " with mutex uprobes" : "",
		env->summary ? ", summary in BPF" : "",
		deadline ? "" : "Ctrl-C to stop");

	while (!exiting) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "gilscope: reading the ring buffer failed: %s\n",
				strerror(-err));
			break;
		}
		analysis__flush(&an);
		if (wr && now_ns() - last_flush > 1000000000ULL) {
			gst_writer__flush(wr);	/* a second of events is safe on disk */
			last_flush = now_ns();
		}
		if (deadline && now_ns() >= deadline) {
			snprintf(meta->end_reason, sizeof(meta->end_reason), "duration");
			break;
		}
		if (target_gone(pid, pidfd, child)) {
			target_exited = true;
			if (!child)
				snprintf(meta->end_reason, sizeof(meta->end_reason),
					 "target exited");
			else if (WIFSIGNALED(child->status)) {
				snprintf(meta->end_reason, sizeof(meta->end_reason),
					 "command killed by signal %d", WTERMSIG(child->status));
				fprintf(stderr, "gilscope: the command was killed by signal %d (%s)%s\n",
					WTERMSIG(child->status), strsignal(WTERMSIG(child->status)),
					WTERMSIG(child->status) == SIGTRAP && watch.nr ?
					": a watchpoint trap the kernel did not claim as "
					"gilscope's (see the README's refcount section)" : "");
			}
			else if (WEXITSTATUS(child->status))
				snprintf(meta->end_reason, sizeof(meta->end_reason),
					 "command exited %d", WEXITSTATUS(child->status));
			else
				snprintf(meta->end_reason, sizeof(meta->end_reason),
					 "command exited");
			break;
		}
	}
	if (exiting)
		snprintf(meta->end_reason, sizeof(meta->end_reason), "signal");
	meta->end_ts = now_ns();
	coll.until = meta->end_ts;
	if (env->summary)
		summary__end(&tr, meta);
	if (meta->sn_mem)
		meta->sn_mem = !gil_read_mem(pid, meta->gil.switch_number, &meta->sn_end,
					     sizeof(meta->sn_end));

	/* detach first, then drain what is already in the ring buffer */
	watch__detach(&watch);
	tracer__detach(&tr);
	ring_buffer__consume(rb);
	meta->lost = tracer__counter(&tr, GS_CNT_LOST, meta->lost_per_cpu, REPORT_MAX_CPUS);
	meta->nr_cpus = libbpf_num_possible_cpus();
	if (meta->nr_cpus > REPORT_MAX_CPUS)
		meta->nr_cpus = REPORT_MAX_CPUS;
	if (meta->nr_cpus < 0)
		meta->nr_cpus = 0;
	meta->stack_errors = tracer__counter(&tr, GS_CNT_STACK_ERR, NULL, 0);
	if (env->summary && summary__read(&tr, pid, meta, &an, sym, names))
		goto cleanup;
	analysis__finish(&an, meta->end_ts);
	meta->recorded = coll.records;
	meta->late = analysis__late(&an);
	if (wr) {
		err = gst_writer__close(wr, meta);
		wr = NULL;
		if (err)
			goto cleanup;
	}
	if (child && !target_exited)
		spawn__end(child);

	if (env->mode == MODE_RECORD) {
		fprintf(stderr, "gilscope: recorded %llu events (%llu lost) to %s: "
			"gilscope report %s\n", (unsigned long long)meta->recorded,
			(unsigned long long)meta->lost, env->output, env->output);
		ret = (target_exited && !child) ? 3 : 0;
		goto cleanup;
	}
	meta->width = timeline_width(stdout);
	report_text(stdout, meta, &an, names);
	fflush(stdout);
	if (env->json_path) {
		if (outfile__open(&json, env->json_path, env->force))
			goto cleanup;
		report_json(json.f, meta, &an, names);
		if (outfile__commit(&json))
			goto cleanup;
	}
	ret = (target_exited && !child) ? 3 : 0;
cleanup:
	gst_writer__abort(wr);
	if (child && !sp.reaped)
		spawn__end(child);
	if (sp.go_fd >= 0)
		close(sp.go_fd);
	if (sp.err_fd >= 0)
		close(sp.err_fd);
	if (pidfd >= 0)
		close(pidfd);
	ring_buffer__free(rb);
	watch__detach(&watch);
	if (tr.skel)
		tracer__close(&tr);
	analysis__free(&an);
	names__free(names);
	symbolizer__free(sym);
	free(meta);
	return ret;
}
