// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include "testlib.h"
#include "spawn.h"

/* A command that cannot run left go_fd and err_fd at 0, and the cleanup
 * closed stdin twice: fds that are not open are -1. */
TEST(spawn_that_cannot_run_leaves_no_fd_to_close)
{
	char *argv[] = { "/nonexistent-prog", NULL };
	struct spawn s;
	FILE *saved = stderr;

	stderr = fopen("/dev/null", "w");	/* its one line is expected */
	CHECK_I64(spawn__fork(&s, argv), -ENOENT);
	fclose(stderr);
	stderr = saved;
	CHECK_I64(s.go_fd, -1);
	CHECK_I64(s.err_fd, -1);
	CHECK_I64(s.pid, -1);
	spawn__close(&s);
	spawn__end(&s);			/* no child: nothing to end */
}

TEST(spawn_init_and_close_twice)
{
	struct spawn s;

	spawn__init(&s);
	CHECK_I64(s.go_fd, -1);
	CHECK_I64(s.err_fd, -1);
	spawn__close(&s);
	spawn__close(&s);
}
