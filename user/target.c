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
#include "holdguard.h"
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
	holdguard__init(&t->guard);
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
	/* a -p target may be held at an exec: see holdguard.h */
	return holdguard__start(&t->guard, pid);
}

/* How long an image may take to reach its next one-shot stop: the
 * loader's work, an interpreter's start (imports, on a loaded machine). */
#define STOP_WAIT_MS 10000
/* ... and to take the SIGSTOP that BPF sent it at an exec (it is on its
 * way back to user space). */
#define EXEC_HOLD_MS 2000

/*
 * Waits until the target is stopped (a SIGSTOP from BPF: a one-shot stop
 * reached, or an exec), polling its state in short sleeps: gilscope is
 * not the parent of a -p target, so waitpid() cannot tell.  0 once
 * stopped, -ECHILD once it exited (a child is reaped), -ETIMEDOUT.
 */
static int wait_held(struct target *t, int ms)
{
	struct timespec ts = { 0, 500 * 1000 };

	for (long i = 0; i < ms * 2L; i++) {
		char st = proc_state(t->pid);

		if (st == 'T')
			return 0;
		if (!st || st == 'Z' || st == 'X') {
			if (t->spawned)
				spawn__exited(&t->sp);
			return -ECHILD;
		}
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

/* Lets the held target run on to its next one-shot stop.  (kill()
 * wakes a stopped thread before it returns: the state read next is not
 * the old stop's.) */
static int run_to_stop(struct target *t)
{
	if (kill(t->pid, SIGCONT))
		return -errno;
	return wait_held(t, STOP_WAIT_MS);
}

static bool libc_mapped(pid_t pid)
{
	struct proc_maps pm = {0};
	bool found;

	if (proc_maps__read(pid, &pm))
		return false;
	found = proc_maps__find_lib(&pm, "libc.so") || proc_maps__find_lib(&pm, "libc-");
	proc_maps__free(&pm);
	return found;
}

/*
 * `ld.so [--library-path DIR] PROGRAM`: the executable is the loader, and
 * at its entry nothing else is mapped yet.  The loader calls its debugger
 * hook _dl_debug_state (r_brk) before it maps the libraries and again
 * once they are all there: run on to it until libc is mapped, as it is at
 * a program's entry.  A program that is not the loader has no such hook.
 */
static int run_loader_to_libs(struct target *t, struct tracer *tr)
{
	struct elf_file *ef;
	struct elf_sym sym;
	char exe[64];
	uint64_t off;
	int err;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", t->pid);
	if (elf_file__open(exe, &ef))
		return 0;
	/* the loader exports it (GLIBC_PRIVATE); a static program has a
	 * local copy that nothing calls */
	err = elf_file__find_sym(ef, "_dl_debug_state", ELF_SYM_FUNC, &sym);
	err = err ?: sym.version ? 0 : -ENOENT;
	err = err ?: elf_file__vaddr_to_offset(ef, sym.addr, &off);
	elf_file__close(ef);
	if (err || libc_mapped(t->pid))
		return 0;
	err = tracer__attach_stop(tr, t->pid, exe, off);
	for (int i = 0; !err && i < 4 && !libc_mapped(t->pid); i++)
		err = run_to_stop(t);
	tracer__detach_entry_stop(tr);
	if (err == -ETIMEDOUT) {
		kill(t->pid, SIGCONT);	/* it may have stopped since */
		fprintf(stderr, "gilscope: process %d: its loader did not map libc in %d s: "
			"tracing it from where it is\n", t->pid, STOP_WAIT_MS / 1000);
		err = 0;
	}
	if (err == -ECHILD)
		fprintf(stderr, "gilscope: process %d exited before its loader mapped libc\n",
			t->pid);
	return err;
}

/*
 * An interpreter's GIL does not exist at a program's entry point: the
 * runtime creates it.  When the new program has a GIL profile's "ready"
 * function (CPython's Py_RunMain, called once the interpreter is
 * initialised and before any Python code runs; gildemo_ready), run the
 * child on to it, then attach as to a running process.  Every such
 * point found gets a stop, the first reached wins: nogil's 3.9 (an LTO
 * build) inlined Py_RunMain into Py_BytesMain, and the exported copy is
 * never called, but pymain_run_python is.  If none is reached in time,
 * the program is traced from where it is, as a running process is.
 */
static int run_to_interpreter_ready(struct target *t, struct tracer *tr)
{
	static const char *const ready[] = {
		"Py_RunMain", "pymain_run_python", "pymain_run_python.constprop.0",
		"gildemo_ready",
	};
	struct symbolizer *s = NULL;
	struct proc_maps pm = {0};
	const struct proc_map *m;
	char path[4200];
	uint64_t addr;
	int err = 0;

	if (symbolizer__new(t->pid, &s))
		return 0;
	if (proc_maps__read(t->pid, &pm)) {
		symbolizer__free(s);
		return 0;
	}
	for (size_t i = 0; i < sizeof(ready) / sizeof(ready[0]) && !err; i++) {
		/* in any module: a Python started through its loader (the
		 * executable is ld.so), a runtime in a library of any name */
		if (symbolizer__sym_addr_any(s, ready[i], &addr))
			continue;
		m = proc_maps__find(&pm, addr);
		if (!m || m->path[0] != '/')
			continue;
		err = proc_map_path(t->pid, m, path, sizeof(path));
		err = err ?: tracer__attach_stop(tr, t->pid, path, addr - m->start + m->offset);
	}
	symbolizer__free(s);
	proc_maps__free(&pm);
	if (!err && tr->nr_stops)	/* else no interpreter we know: from the entry */
		err = run_to_stop(t);
	tracer__detach_entry_stop(tr);
	if (err == -ECHILD) {
		t->ready_missed = true;
		fprintf(stderr, "gilscope: '%s' exited before its interpreter was ready: "
			"traced from its entry\n", t->spawned ? t->sp.path : "the program");
	}
	if (err == -ETIMEDOUT) {
		/* it may have stopped since: it runs on, traced as it is */
		kill(t->pid, SIGCONT);
		t->ready_missed = true;
		fprintf(stderr, "gilscope: process %d did not reach its interpreter's ready "
			"point in %d s: traced from its entry, its GIL looked for now\n", t->pid,
			STOP_WAIT_MS / 1000);
		err = 0;
	}
	return err;
}

int target__run_to_interpreter(struct target *t, struct tracer *tr)
{
	return run_to_interpreter_ready(t, tr);
}

/* The image held at its start (a spawned program at its entry, an exec'd
 * one run to its entry): on to its libraries and (@to_interpreter) to
 * its interpreter's ready point.  Held on return unless it exited. */
static int run_to_ready(struct target *t, struct tracer *tr, bool to_interpreter)
{
	int err = run_loader_to_libs(t, tr);

	if (!err && to_interpreter)
		err = run_to_interpreter_ready(t, tr);
	return err;
}

int target__spawn(struct target *t, char **cmd, struct tracer *tr)
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
	tracer__detach_entry_stop(tr);
	return err ?: run_loader_to_libs(t, tr);
}

int target__follow_exec(struct target *t, struct tracer *tr, bool to_interpreter)
{
	char exe[64];
	int err;

	err = wait_held(t, EXEC_HOLD_MS);
	if (err)
		return err;
	/* the kernel mapped the program and its loader, nothing else yet */
	snprintf(exe, sizeof(exe), "/proc/%d/exe", t->pid);
	err = tracer__attach_entry_stop(tr, t->pid, exe);
	err = err ?: run_to_stop(t);
	tracer__detach_entry_stop(tr);
	return err ?: run_to_ready(t, tr, to_interpreter);
}

void target__release(struct target *t)
{
	kill(t->pid, SIGCONT);
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

bool target__exited_early(const struct target *t)
{
	return t->spawned && t->sp.reaped;
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
	holdguard__stop(&t->guard);
}
