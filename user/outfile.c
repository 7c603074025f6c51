// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

static int check(const char *path, bool force, bool regular_only)
{
	struct stat st;
	char *dup, *dir;
	int err = 0;

	if (!strcmp(path, "-")) {
		if (!regular_only)
			return 0;
		fprintf(stderr, "gilscope: a recording cannot go to standard output: give a "
			"file name\n");
		return -EINVAL;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			fprintf(stderr, "gilscope: %s is a symbolic link: refusing to write through it\n", path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "gilscope: %s is a directory: give a file name\n", path);
			return -EISDIR;
		}
		if (!S_ISREG(st.st_mode) && (regular_only || !S_ISCHR(st.st_mode))) {
			fprintf(stderr, "gilscope: %s is not a regular file (%s): give a file name%s\n",
				path, S_ISFIFO(st.st_mode) ? "a FIFO" :
				S_ISSOCK(st.st_mode) ? "a socket" : "a device",
				regular_only ? "" : ", or - for standard output");
			return -EINVAL;
		}
		if (!force) {
			fprintf(stderr, "gilscope: %s exists: remove it or pass --force\n", path);
			return -EEXIST;
		}
		if (S_ISCHR(st.st_mode))
			return 0;	/* written in place: its directory is not ours */
	}
	dup = strdup(path);
	if (!dup)
		return -ENOMEM;
	dir = dirname(dup);
	if (access(dir, W_OK | X_OK)) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot write to directory %s: %s\n", dir, strerror(errno));
	}
	free(dup);
	return err;
}

int outfile__check(const char *path, bool force)
{
	return check(path, force, false);
}

int outfile__check_regular(const char *path, bool force)
{
	return check(path, force, true);
}

/* @path's directory made absolute, and its last name: what it will be. */
static char *resolved(const char *path)
{
	char *d = strdup(path), *b = strdup(path), *r = NULL, *out = NULL;

	if (d && b && (r = realpath(dirname(d), NULL)) &&
	    asprintf(&out, "%s/%s", r, basename(b)) < 0)
		out = NULL;
	free(d);
	free(b);
	free(r);
	return out;
}

bool outfile__same(const char *a, const char *b)
{
	struct stat sa, sb;
	char *ra, *rb;
	bool same;

	if (!strcmp(a, "-") || !strcmp(b, "-"))
		return false;
	if (!stat(a, &sa) && !stat(b, &sb))
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	ra = resolved(a);
	rb = resolved(b);
	same = ra && rb && !strcmp(ra, rb);
	free(ra);
	free(rb);
	return same;
}

/* Standard output, or an existing character device: no temporary file,
 * no rename over it, no chown of it. */
static int open_in_place(struct outfile *o, const char *path)
{
	o->in_place = true;
	o->fd = !strcmp(path, "-") ? dup(STDOUT_FILENO) :
		open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (o->fd < 0) {
		int err = -errno;

		fprintf(stderr, "gilscope: cannot open %s: %s\n", path, strerror(errno));
		return err;
	}
	o->path = strdup(path);
	o->f = fdopen(o->fd, "w");
	if (!o->path || !o->f)
		return -ENOMEM;
	return 0;
}

int outfile__open(struct outfile *o, const char *path, bool force)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	int err;

	struct stat st;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	err = outfile__check(path, force);
	if (err)
		return err;
	if (!strcmp(path, "-") || (!lstat(path, &st) && S_ISCHR(st.st_mode))) {
		err = open_in_place(o, path);
		if (err)
			outfile__abort(o);
		return err;
	}
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%s.tmp.%d", path, getpid()) < 0) {
		o->tmp = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	/* O_EXCL|O_NOFOLLOW: a planted file or symlink at tmp makes us fail */
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot create %s: %s\n", o->tmp, strerror(errno));
		goto cleanup;
	}
	/* under sudo, the file belongs to the user who asked for it */
	if (geteuid() == 0 && uid && gid && fchown(o->fd, atoi(uid), atoi(gid)))
		fprintf(stderr, "gilscope: warning: cannot chown %s: %s\n", o->tmp, strerror(errno));
	o->f = fdopen(o->fd, "w");
	if (!o->f) {
		err = -errno;
		goto cleanup;
	}
	return 0;
cleanup:
	outfile__abort(o);
	return err;
}

int outfile__commit(struct outfile *o)
{
	int err = 0;

	if (fflush(o->f) || (!o->in_place && fsync(fileno(o->f))) || ferror(o->f)) {
		err = -errno ? -errno : -EIO;
		fprintf(stderr, "gilscope: writing %s failed: %s\n", o->path, strerror(-err));
		outfile__abort(o);
		return err;
	}
	fclose(o->f);
	o->f = NULL;
	o->fd = -1;
	if (o->in_place) {
		free(o->path);
		o->path = NULL;
		return 0;
	}
	if (rename(o->tmp, o->path)) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot rename %s to %s: %s\n", o->tmp, o->path, strerror(errno));
		unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return err;
}

void outfile__abort(struct outfile *o)
{
	if (o->f)
		fclose(o->f);
	else if (o->fd >= 0)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}
