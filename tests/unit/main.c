// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Runs every registered unit test in its own child process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "testlib.h"

#define MAX_TESTS 512

static struct { const char *name; testlib_fn fn; } tests[MAX_TESTS];
static int nr_tests;

void testlib_register(const char *name, testlib_fn fn)
{
	if (nr_tests < MAX_TESTS) {
		tests[nr_tests].name = name;
		tests[nr_tests].fn = fn;
		nr_tests++;
	}
}

/* Child output goes through a pipe so a failing case's message lands on
 * the case's own result line. */
static int run_one(int i)
{
	char buf[4096] = "";
	int pfd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pfd[0]);
		/* stderr too: a case's diagnostics show with its failure only */
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		tests[i].fn();
		fflush(stdout);
		_exit(0);
	}
	close(pfd[1]);
	while (len < sizeof(buf) - 1 &&
	       (n = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	while (len && buf[len - 1] == '\n')
		buf[--len] = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("PASS %s\n", tests[i].name);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP_EXIT) {
		const char *r = strstr(buf, "SKIP: ");
		printf("SKIP %s: %s\n", tests[i].name, r ? r + 6 : "no reason given");
		return 0;
	}
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (WIFSIGNALED(status))
		printf("FAIL %s: killed by signal %d %s\n", tests[i].name,
		       WTERMSIG(status), buf);
	else
		printf("FAIL %s: %s\n", tests[i].name, buf[0] ? buf : "failed");
	return 1;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 0; i < nr_tests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		failed |= run_one(i);
	}
	return failed;
}
