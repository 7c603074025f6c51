/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Output files, written safely: never through a symlink someone planted,
 * mode 0600 (owned by the invoking user under sudo), never over an
 * existing file without --force, and never passed off as whole when
 * half-written: data goes to a temporary file that is renamed into place
 * only on commit.
 */
#ifndef OUTFILE_H
#define OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct outfile {
	char *path, *tmp;
	FILE *f;
	int fd;
};

/* Fails early (before any tracing) when @path exists and !@force, or its
 * directory is not writable.  0 or -errno, with one line on stderr. */
int outfile__check(const char *path, bool force);
/* Opens the temporary file next to @path.  0 or -errno (message printed). */
int outfile__open(struct outfile *o, const char *path, bool force);
/* Flushes, syncs and renames into place.  0 or -errno (message printed). */
int outfile__commit(struct outfile *o);
/* Removes the temporary file. */
void outfile__abort(struct outfile *o);

#endif
