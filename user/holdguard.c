// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "holdguard.h"
#include "proc.h"

void holdguard__init(struct holdguard *g)
{
	g->pid = -1;
	g->fd = -1;
}

/* The guard: waits for EOF, then lets a stopped target go unless told
 * 'R' (released for good) first. */
static void guard(int fd, pid_t target)
{
	char c, last = 0;

	/* Ctrl-C and a hangup are for gilscope, which may then still need
	 * us; we end at EOF */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	prctl(PR_SET_NAME, "gilscope-guard");
	while (read(fd, &c, 1) == 1)
		last = c;
	if (last != 'R' && proc_state(target) == 'T') {
		kill(target, SIGCONT);
		fprintf(stderr, "gilscope: gilscope ended while process %d was held at an "
			"exec: sent it SIGCONT\n", target);
	}
	_exit(0);
}

int holdguard__start(struct holdguard *g, pid_t target)
{
	int p[2], err;

	if (pipe2(p, O_CLOEXEC)) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot start the hold guard: %s\n", strerror(-err));
		return err;
	}
	g->pid = fork();
	if (g->pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		g->pid = -1;
		fprintf(stderr, "gilscope: cannot start the hold guard: %s\n", strerror(-err));
		return err;
	}
	if (g->pid == 0) {
		/* none of gilscope's fds (BPF links and maps among them) may
		 * outlive gilscope in here, nor keep our own pipe open */
		if (dup2(p[0], 0) < 0)
			_exit(1);
		close_range(3, ~0U, 0);
		guard(0, target);
	}
	close(p[0]);
	g->fd = p[1];
	return 0;
}

void holdguard__stop(struct holdguard *g)
{
	if (g->fd >= 0) {
		/* if this fails, it checks the target's state: stopped or not */
		(void)!write(g->fd, "R", 1);
		close(g->fd);
		g->fd = -1;
	}
	if (g->pid > 0)
		waitpid(g->pid, NULL, 0);
	g->pid = -1;
}
