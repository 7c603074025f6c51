// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A traced program that forks, for gilscope's tests.  Two threads take
 * fork_lock in turns, ROUNDS times each; half way through, the main
 * thread forks two children: one execs `sh -c 'exit 7'`, the other takes
 * its own copy of fork_lock ROUNDS times (with the uprobes' breakpoints
 * inherited in its copy of the code) and exits 0.  gilscope follows
 * neither (documented); the children must run unharmed, and the parent's
 * locking after the fork must still be traced.  Prints the parent's
 * acquisitions, the children's pids and exit statuses as JSON.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static int rounds = 200;

static void take_turns(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&fork_lock);
		usleep(50);
		pthread_mutex_unlock(&fork_lock);
	}
}

static void *other(void *arg)
{
	(void)arg;
	take_turns(rounds);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	pid_t c1, c2;
	int s1 = -1, s2 = -1;

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (rounds < 2) {
		fprintf(stderr, "usage: forker [ROUNDS]\n");
		return 2;
	}
	pthread_create(&th, NULL, other, NULL);
	take_turns(rounds / 2);
	fflush(stdout);
	c1 = fork();
	if (c1 == 0) {
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
		_exit(127);
	}
	c2 = fork();
	if (c2 == 0) {
		/* its own copy of the lock - which the other thread may have
		 * held at the fork, and no thread of ours will ever let go */
		pthread_mutex_init(&fork_lock, NULL);
		take_turns(rounds);
		_exit(0);
	}
	take_turns(rounds - rounds / 2);
	pthread_join(th, NULL);
	waitpid(c1, &s1, 0);
	waitpid(c2, &s2, 0);
	printf("{\"parent_pid\":%d,\"acquisitions\":%d,\"children\":[{\"pid\":%d,\"status\":%d},"
	       "{\"pid\":%d,\"status\":%d}]}\n", getpid(), 2 * rounds, c1,
	       WIFEXITED(s1) ? WEXITSTATUS(s1) : -1, c2, WIFEXITED(s2) ? WEXITSTATUS(s2) : -1);
	return 0;
}
