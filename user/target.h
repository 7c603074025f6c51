/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process a session traces: one given by -p, checked, or one started
 * by `-- CMD` and held until the probes are in place (spawn.h).  Here it
 * is found, described for the report, watched for its exit and, when it
 * outlives the trace, ended.
 */
#ifndef TARGET_H
#define TARGET_H

#include <stdbool.h>
#include <sys/types.h>
#include "holdguard.h"
#include "spawn.h"

struct report_meta;
struct tracer;

struct target {
	pid_t pid;
	int pidfd;		/* -1 when not open (see target__gone) */
	struct spawn sp;	/* the child of -- CMD; its fds are -1 when closed */
	bool spawned;		/* sp holds a child */
	bool exited;		/* its exit ended the session */
	bool ready_missed;	/* -- CMD: its interpreter's ready point not reached */
	struct holdguard guard;	/* -p: lets it go if gilscope dies holding it */
};

/* An empty target: every fd -1, nothing to end. */
void target__init(struct target *t);
/* -p PID: that it exists and is a user-space process, checked before
 * anything is loaded.  0 or -errno (message printed). */
int target__check(pid_t pid);
/* -p PID: registers it with @tr.  0 or -errno (message printed). */
int target__attach_pid(struct target *t, pid_t pid, struct tracer *tr);
/* -- CMD: starts @cmd held, registers it with @tr and runs it to its entry
 * point (through a loader, to where libc is mapped).  It stays stopped
 * until target__continue.  0 or -errno (message printed). */
int target__spawn(struct target *t, char **cmd, struct tracer *tr);
/* ... then on to its interpreter's "ready" function if it has one (the
 * GIL exists from there).  When that is not reached (it exits first:
 * -ECHILD; or not in time: 0, running), t->ready_missed is set. */
int target__run_to_interpreter(struct target *t, struct tracer *tr);
/* A spawned command that exited (and was reaped) during the attach. */
bool target__exited_early(const struct target *t);
/*
 * The target exec'd and BPF sent it SIGSTOP (bpf/gilscope.bpf.c): waits
 * for the stop, then runs the new image to its entry (its libraries
 * mapped) and (@to_interpreter) to its interpreter's ready point, as for
 * -- CMD.  Held (stopped) on return 0: the caller attaches what the new
 * image needs and calls target__release().  -ECHILD: it exited; any
 * other error: it may be held, and the caller must release it.
 */
int target__follow_exec(struct target *t, struct tracer *tr, bool to_interpreter);
/* Lets a target held at an exec run (SIGCONT). */
void target__release(struct target *t);
/* Fills the report's description of the process (comm, exe, build-id,
 * clock offset). */
void target__describe(const struct target *t, struct report_meta *m);
/* Lets a spawned child run. */
void target__continue(struct target *t);
/* True once the target has exited; sets t->exited and, into @m, why. */
bool target__gone(struct target *t, struct report_meta *m, bool watching);
/* True when the process given by -p no longer exists. */
bool target__vanished(const struct target *t);
/* Ends a child that outlived the trace, closes what is open. */
/* A command still running when tracing stopped is ended (SIGTERM, then
 * SIGKILL), and the report says so, with its exit status. */
void target__end_command(struct target *t, struct report_meta *m);
void target__close(struct target *t);

#endif
