/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process given by -p may be held stopped by gilscope: BPF sends it
 * SIGSTOP when it execs, and gilscope lets it go once it has attached to
 * the new program (exec_follow).  If gilscope dies in between (SIGKILL, a
 * crash), the kernel does nothing for the target: its BPF links close
 * with gilscope's fds, but a stop already taken is not undone, and
 * PR_SET_PDEATHSIG only covers gilscope's own children.  So a small
 * process of its own, forked at attach, holds the read end of a pipe; at
 * EOF (gilscope exited, however) it sends SIGCONT to a target still
 * stopped, unless gilscope said first that nothing holds it any more.
 */
#ifndef HOLDGUARD_H
#define HOLDGUARD_H

#include <sys/types.h>

struct holdguard {
	pid_t pid;	/* the guard, -1 when none */
	int fd;		/* our end of its pipe, -1 when closed */
};

void holdguard__init(struct holdguard *g);
/* Forks the guard of @target.  0 or -errno (message printed). */
int holdguard__start(struct holdguard *g, pid_t target);
/* Nothing can hold the target any more (BPF stopped): the guard leaves
 * it alone and exits; reaps it. */
void holdguard__stop(struct holdguard *g);

#endif
