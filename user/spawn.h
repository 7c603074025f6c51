/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `gilscope -- CMD ARGS`: start a program so that no lock operation of it
 * escapes the trace.  The child is forked and held; a one-shot uprobe on
 * its entry point stops it once the dynamic loader has mapped its
 * libraries; gilscope attaches as to any running process and continues it.
 */
#ifndef SPAWN_H
#define SPAWN_H

#include <sys/types.h>

struct tracer;

struct spawn {
	pid_t pid;	/* -1 before the fork */
	int go_fd;	/* write end: closing it lets the child exec */
	int err_fd;	/* read end: the child writes errno if exec fails */
	char path[4096];	/* the ELF program that runs */
	char **argv;	/* its argv, when not the user's (a script's interpreter) */
	int status;	/* wait status once reaped */
	int reaped;
};

/* No child, no fds open (-1): what spawn__fork leaves on failure. */
void spawn__init(struct spawn *s);
/* Resolves @argv[0] like execvp and forks a held child.  0 or -errno
 * (message printed). */
int spawn__fork(struct spawn *s, char **argv);
/* Lets the child exec and waits until it stops at its entry point.
 * 0, or -errno when it could not start (message printed, child reaped). */
int spawn__run_to_entry(struct spawn *s);
/* Continues the stopped child until it stops again (a later one-shot
 * stop).  0, or -ECHILD when it exited instead (reaped). */
int spawn__run_to_stop(struct spawn *s);
/* Continues the stopped child. */
void spawn__continue(struct spawn *s);
/* 1 once the child has exited (reaps it), else 0. */
int spawn__exited(struct spawn *s);
/* Ends a child that outlived the trace: SIGTERM, then SIGKILL after 1 s.
 * Returns 0 when it had exited already, 1 when SIGTERM ended it, 2 when
 * SIGKILL had to; its wait status is then in s->status. */
int spawn__end(struct spawn *s);
/* Closes the pipes still open; safe to call twice. */
void spawn__close(struct spawn *s);

#endif
