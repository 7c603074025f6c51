/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The BPF side's lifetime: open, configure, load, attach, detach.  Every
 * link is owned here and destroyed by tracer__close() on every path; the
 * links are file descriptors, so even a SIGKILLed gilscope leaves no probe
 * behind (the kernel closes them).
 */
#ifndef TRACER_H
#define TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

#define TRACER_MAX_LINKS 320	/* probes, tracepoints, a sampler per CPU */
#define TRACER_MAX_STOPS 4

struct gilscope_bpf;
struct report_meta;

struct tracer {
	struct gilscope_bpf *skel;
	struct bpf_link *links[TRACER_MAX_LINKS];
	int nr_links;
	/* one-shot stops in place (an entry, an interpreter's ready points) */
	struct bpf_link *stops[TRACER_MAX_STOPS];
	int nr_stops;
	/* the libc probed last (an exec may bring another): its file, and
	 * whether its pthread_cond_signal probe (the GIL's) is in place */
	unsigned libc_major, libc_minor;
	uint64_t libc_ino;
	bool libc_probed, cond_signal_probed;
	struct report_meta *meta;	/* probes attached are listed here */
	bool mutex_probes;		/* pthread_mutex_lock/unlock probes attached */
	bool py_sampling;		/* the Python samplers (one per CPU) are on */
	uint64_t py_park_ino;		/* the file whose _PySemaphore_Wait is probed */
	uint64_t py_gc_ino;		/* the file whose gc USDT probes are attached */
	/* tracer__stop()'s threads, one a link, joined by tracer__detach() */
	bool detaching;
	pthread_t detacher[TRACER_MAX_LINKS];
	bool detacher_started[TRACER_MAX_LINKS];
};

struct tracer_opts {
	bool stacks;
	bool mutex_events;	/* --locks=all */
	bool summary;		/* --summary */
	int ringbuf_mb;
	bool verbose;
};

/* Opens and loads the BPF object.  0 or -errno (message printed). */
int tracer__open(struct tracer *t, const struct tracer_opts *o, struct report_meta *meta);
int tracer__add_target(struct tracer *t, pid_t pid);
/* futex and thread tracepoints. */
int tracer__attach_tracepoints(struct tracer *t);
/* Tells BPF where @pid's GIL is (before tracer__attach_libc). */
struct gil_location;
int tracer__set_gil(struct tracer *t, pid_t pid, const struct gil_location *gil);
/* Where process @pid's CPython keeps its frames: BPF reads its Python
 * stacks from then on.  0 or -errno. */
struct gs_py_config;
int tracer__set_python(struct tracer *t, pid_t pid, const struct gs_py_config *c);
/* Samples the GIL holder's Python stack on CPU at @hz (a software
 * cpu-clock event per CPU: no hardware PMU needed).  Once per tracer. */
int tracer__attach_py_sampling(struct tracer *t, unsigned int hz);
/* CPython 3.13+: probes on _PySemaphore_Wait in @module (the file
 * holding _PyRuntime, as /proc/PID/maps names it), where every parking
 * lot wait sleeps: PyMutex waits are named by the mutex.  -ENOENT when
 * the file has no such function (before 3.13). */
int tracer__attach_py_park(struct tracer *t, pid_t pid, const char *module);
/* The garbage collector's USDT probes (python:gc__start, gc__done) in
 * @module, where the build has them (Debian's, not pyenv's): stacks
 * caught during a collection are marked.  -errno when it has none. */
int tracer__attach_py_gc(struct tracer *t, pid_t pid, const char *module);
/* pthread condvar waits (always), pthread_mutex_lock/unlock
 * (@mutex_probes) and pthread_cond_signal (@gil: the GIL's takes and
 * drops signal its condvars) in the libc that @pid maps.  A target without a dynamic libc gets a note, not an error: the
 * futex tracepoints still see its contention.  Called again after an
 * exec: probes already in place on the same libc file are kept (the
 * kernel places them in every mapping of it), and only what is missing
 * is attached. */
int tracer__attach_libc(struct tracer *t, pid_t pid, bool mutex_probes, bool gil);
/* A thread other than the leader exec'd: it took the leader's pid, the
 * leader's task is gone, and with it the uprobes bound to it (a uprobe's
 * perf event belongs to the task it was opened on).  The next
 * tracer__attach_libc() attaches them all again. */
void tracer__forget_libc(struct tracer *t);
/* The one-shot stop at a new program's entry point (see spawn.c). */
int tracer__attach_entry_stop(struct tracer *t, pid_t pid, const char *exe_path);
/* ... or at file offset @off of @path (an interpreter's "ready" point),
 * besides the stops already in place (the first one reached wins). */
int tracer__attach_stop(struct tracer *t, pid_t pid, const char *path, uint64_t off);
/* Removes every one-shot stop. */
void tracer__detach_entry_stop(struct tracer *t);
/* Stops tracing at once: the programs do nothing from now on, and the
 * probes are being removed (in the background: tracer__detach() waits). */
void tracer__stop(struct tracer *t);
/* Detaches everything (waits for tracer__stop()'s removal), keeping the
 * maps for a last read. */
void tracer__detach(struct tracer *t);
void tracer__close(struct tracer *t);

/* Bumped by BPF each time a target maps code (symbolizer__watch_maps()). */
const volatile uint64_t *tracer__maps_gen(struct tracer *t);
/* BPF's futex calls in flight (struct gs_futex_call by tid). */
int tracer__futex_calls_fd(struct tracer *t);
/* The ring buffer map's fd. */
int tracer__events_fd(struct tracer *t);
/* A per-CPU counter (enum gs_counter) summed over CPUs; @per_cpu, when
 * not NULL, receives up to @nr_cpus values. */
uint64_t tracer__counter(struct tracer *t, int idx, uint64_t *per_cpu, int nr_cpus);

#endif
