// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "shebang.h"
#include "spawn.h"

static int resolve_exe(const char *name, char *out, size_t len)
{
	struct stat st;
	int err = shebang__which(name, out, len);

	if (err)
		return err;
	if (stat(out, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	if (access(out, X_OK))
		return -EACCES;
	return 0;
}

void spawn__init(struct spawn *s)
{
	memset(s, 0, sizeof(*s));
	/* 0 is stdin: an fd not open is -1, so cleanup never closes it */
	s->pid = -1;
	s->go_fd = -1;
	s->err_fd = -1;
}

void spawn__close(struct spawn *s)
{
	if (s->go_fd >= 0)
		close(s->go_fd);
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->go_fd = s->err_fd = -1;
	shebang__free(s->argv);
	s->argv = NULL;
}

int spawn__fork(struct spawn *s, char **argv)
{
	int go[2], errp[2], err;
	char path[4096];

	spawn__init(s);
	err = resolve_exe(argv[0], path, sizeof(path));
	if (err) {
		fprintf(stderr, "gilscope: cannot run '%s': %s\n", argv[0], strerror(-err));
		return err;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	/* a script, or a pyenv shim: its interpreter is what runs */
	err = shebang__resolve(path, argv, s->path, sizeof(s->path), &s->argv);
	if (err) {
		fprintf(stderr, "gilscope: cannot run '%s': its interpreter (#!) cannot be "
			"found: %s\n", argv[0], strerror(-err));
		return err;
	}
	if (s->argv)
		argv = s->argv;
	if (pipe2(go, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	if (pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		goto fail;
	}
	s->pid = fork();
	if (s->pid < 0) {
		err = -errno;
		s->pid = -1;
		close(go[0]); close(go[1]); close(errp[0]); close(errp[1]);
		goto fail;
	}
	if (s->pid == 0) {
		char c;
		int e;

		close(go[1]);
		close(errp[0]);
		/* If gilscope dies while the program is stopped at its entry
		 * (SIGSTOP from the BPF side, until the probes are in place), the
		 * kernel continues it: the program runs on, untraced.  Not
		 * SIGKILL: the user's command must outlive its tracer.  (The
		 * program sees one SIGCONT when gilscope exits.) */
		prctl(PR_SET_PDEATHSIG, SIGCONT);
		/* held here until the parent's probes are in place; EOF (the
		 * parent died) lets it run */
		if (read(go[0], &c, 1) < 0)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		execv(s->path, argv);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	s->go_fd = go[1];
	s->err_fd = errp[0];
	return 0;
fail:
	/* out of fds or processes: nothing was started */
	fprintf(stderr, "gilscope: cannot start '%s': %s\n", s->path, strerror(-err));
	return err;
}

int spawn__run_to_entry(struct spawn *s)
{
	int status, e = 0;

	close(s->go_fd);	/* EOF: the child execs */
	s->go_fd = -1;
	if (waitpid(s->pid, &status, WUNTRACED) < 0)
		return -errno;
	if (WIFSTOPPED(status)) {
		close(s->err_fd);
		s->err_fd = -1;
		return 0;
	}
	s->reaped = 1;
	s->status = status;
	if (read(s->err_fd, &e, sizeof(e)) == sizeof(e))
		fprintf(stderr, "gilscope: cannot run '%s': %s\n", s->path, strerror(e));
	else
		fprintf(stderr, "gilscope: '%s' exited before its entry point was reached\n",
			s->path);
	close(s->err_fd);
	s->err_fd = -1;
	return e ? -e : -ECHILD;
}

int spawn__run_to_stop(struct spawn *s)
{
	int status;

	kill(s->pid, SIGCONT);
	if (waitpid(s->pid, &status, WUNTRACED) < 0)
		return -errno;
	if (WIFSTOPPED(status))
		return 0;
	s->reaped = 1;
	s->status = status;
	return -ECHILD;
}

void spawn__continue(struct spawn *s)
{
	if (!s->reaped)		/* its pid may be another process's by now */
		kill(s->pid, SIGCONT);
}

int spawn__exited(struct spawn *s)
{
	int status;

	if (s->reaped)
		return 1;
	if (waitpid(s->pid, &status, WNOHANG) == s->pid &&
	    (WIFEXITED(status) || WIFSIGNALED(status))) {
		s->reaped = 1;
		s->status = status;
	}
	return s->reaped;
}

int spawn__end(struct spawn *s)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (s->pid <= 0 || spawn__exited(s))
		return 0;
	kill(s->pid, SIGCONT);
	kill(s->pid, SIGTERM);
	for (int i = 0; i < 100 && !spawn__exited(s); i++)
		nanosleep(&ts, NULL);
	if (spawn__exited(s))
		return 1;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &s->status, 0);
	s->reaped = 1;
	return 2;
}
