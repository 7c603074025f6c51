// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "outfile.h"

int outfile__check(const char *path, bool force)
{
	struct stat st;
	char *dup, *dir;
	int err = 0;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode)) {
			fprintf(stderr, "gilscope: %s is a symbolic link: refusing to write through it\n", path);
			return -ELOOP;
		}
		if (S_ISDIR(st.st_mode)) {
			fprintf(stderr, "gilscope: %s is a directory: give a file name\n", path);
			return -EISDIR;
		}
		if (!force) {
			fprintf(stderr, "gilscope: %s exists: remove it or pass --force\n", path);
			return -EEXIST;
		}
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

int outfile__open(struct outfile *o, const char *path, bool force)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	int err;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	err = outfile__check(path, force);
	if (err)
		return err;
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

	if (fflush(o->f) || fsync(fileno(o->f)) || ferror(o->f)) {
		err = -errno ? -errno : -EIO;
		fprintf(stderr, "gilscope: writing %s failed: %s\n", o->path, strerror(-err));
		outfile__abort(o);
		return err;
	}
	fclose(o->f);
	o->f = NULL;
	o->fd = -1;
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
