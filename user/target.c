// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "elf_syms.h"
#include "proc.h"
#include "report.h"
#include "symbolize.h"
#include "target.h"
#include "tracer.h"

void target__init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = -1;
	t->pidfd = -1;
	spawn__init(&t->sp);
}

/* A pidfd turns "has the target exited?" into a poll(); -1 where
 * pidfd_open(2) is missing, and we fall back to /proc. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* Registering the target is the BPF side's pid filter: both paths say
 * the same thing when it fails. */
static int add_target(struct tracer *tr, pid_t pid)
{
	int err = tracer__add_target(tr, pid);

	if (err)
		fprintf(stderr, "gilscope: cannot set the target: %s\n", strerror(-err));
	return err;
}

int target__check(pid_t pid)
{
	if (!proc_is_alive(pid)) {
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

int target__attach_pid(struct target *t, pid_t pid, struct tracer *tr)
{
	int tgid = proc_tgid_of(pid), err;

	/* a thread's id (what top -H and py-spy show): trace its process */
	if (tgid > 0 && tgid != pid) {
		fprintf(stderr, "gilscope: %d is a thread of process %d: tracing process %d "
			"(all its threads)\n", pid, tgid, tgid);
		pid = tgid;
	}
	t->pid = pid;
	err = add_target(tr, pid);
	if (err)
		return err;
	t->pidfd = open_pidfd(pid);
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
		err = proc_map_path(sp->pid, m, path, sizeof(path));
		err = err ?: tracer__attach_stop(tr, sp->pid, path, addr - m->start + m->offset);
		err = err ?: spawn__run_to_stop(sp);
		if (err == -ECHILD)
			fprintf(stderr, "gilscope: '%s' exited before its interpreter was ready\n",
				sp->path);
		tracer__detach_entry_stop(tr);
	}
	proc_maps__free(&pm);
	return err;
}

int target__spawn(struct target *t, char **cmd, struct tracer *tr, bool to_interpreter)
{
	int err;

	err = spawn__fork(&t->sp, cmd);
	if (err)
		return err;
	t->spawned = true;
	t->pid = t->sp.pid;
	err = add_target(tr, t->pid);
	err = err ?: tracer__attach_entry_stop(tr, t->pid, t->sp.path);
	err = err ?: spawn__run_to_entry(&t->sp);
	if (err)
		return err;
	tracer__detach_entry_stop(tr);
	if (to_interpreter)
		return run_to_interpreter_ready(tr, &t->sp);
	return 0;
}

void target__describe(const struct target *t, struct report_meta *m)
{
	struct timespec mono, real;
	struct elf_file *ef;
	char path[64];

	if (proc_comm(t->pid, m->comm, sizeof(m->comm)))
		snprintf(m->comm, sizeof(m->comm), "?");
	if (proc_exe(t->pid, m->exe, sizeof(m->exe)))
		snprintf(m->exe, sizeof(m->exe), "?");
	m->pid = t->pid;
	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	if (!elf_file__open(path, &ef)) {
		elf_file__build_id(ef, m->build_id, sizeof(m->build_id));
		elf_file__close(ef);
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m->boot_to_wall = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			  (real.tv_nsec - mono.tv_nsec);
}

void target__continue(struct target *t)
{
	if (t->spawned)
		spawn__continue(&t->sp);
}

bool target__vanished(const struct target *t)
{
	return !proc_is_alive(t->pid);
}

static bool has_exited(struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (t->spawned)
		return spawn__exited(&t->sp);
	if (t->pidfd >= 0)
		return poll(&p, 1, 0) > 0;
	return target__vanished(t);
}

bool target__gone(struct target *t, struct report_meta *m, bool watching)
{
	int status;

	if (!has_exited(t))
		return false;
	status = t->sp.status;	/* reaped by has_exited() */
	t->exited = true;
	if (!t->spawned)
		snprintf(m->end_reason, sizeof(m->end_reason), "target exited");
	else if (WIFSIGNALED(status)) {
		snprintf(m->end_reason, sizeof(m->end_reason),
			 "command killed by signal %d", WTERMSIG(status));
		fprintf(stderr, "gilscope: the command was killed by signal %d (%s)%s\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGTRAP && watching ?
			": a watchpoint trap the kernel did not claim as "
			"gilscope's (see the README's refcount section)" : "");
	}
	else if (WEXITSTATUS(status))
		snprintf(m->end_reason, sizeof(m->end_reason),
			 "command exited %d", WEXITSTATUS(status));
	else
		snprintf(m->end_reason, sizeof(m->end_reason), "command exited");
	return true;
}

void target__end_command(struct target *t, struct report_meta *m)
{
	char status[48];
	size_t n;
	int how;

	if (!t->spawned || t->exited)
		return;
	how = spawn__end(&t->sp);
	if (!how)
		return;
	t->exited = true;
	if (WIFSIGNALED(t->sp.status))
		snprintf(status, sizeof(status), "was killed by signal %d",
			 WTERMSIG(t->sp.status));
	else
		snprintf(status, sizeof(status), "exited %d", WEXITSTATUS(t->sp.status));
	fprintf(stderr, "gilscope: the command was still running when tracing stopped: "
		"sent it SIGTERM%s; it %s\n", how == 2 ? ", then SIGKILL 1 s later" : "", status);
	n = strlen(m->end_reason);
	snprintf(m->end_reason + n, sizeof(m->end_reason) - n,
		 "; the command, still running, was sent SIGTERM%s and %s",
		 how == 2 ? " then SIGKILL" : "", status);
}

void target__close(struct target *t)
{
	if (t->spawned)
		spawn__end(&t->sp);
	spawn__close(&t->sp);
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
}
