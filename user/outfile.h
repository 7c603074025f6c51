/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Output files, written safely: never through a symlink someone planted,
 * mode 0600 (owned by the invoking user under sudo), never over an
 * existing file without --force, and never passed off as whole when
 * half-written: data goes to a temporary file that is renamed into place
 * only on commit.  "-" is standard output; an existing character device
 * (/dev/null) is written in place with --force, never replaced or
 * chowned; FIFOs, sockets and block devices are refused (a FIFO with no
 * reader would block the stop).
 */
#ifndef OUTFILE_H
#define OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct outfile {
	char *path, *tmp;	/* tmp: NULL when written in place */
	FILE *f;
	int fd;
	bool in_place;		/* standard output or a character device */
};

/* Fails early (before any tracing) when @path exists and !@force, is not
 * a file gilscope may write (see above), or its directory is not
 * writable.  0 or -errno, with one line on stderr. */
int outfile__check(const char *path, bool force);
/* The same, for a file that must be a regular one (a recording, whose
 * header is rewritten when it is closed): "-" and devices refused too. */
int outfile__check_regular(const char *path, bool force);
/* Do @a and @b name the same file (existing or to be)? */
bool outfile__same(const char *a, const char *b);
/* Opens the temporary file next to @path.  0 or -errno (message printed). */
int outfile__open(struct outfile *o, const char *path, bool force);
/* Flushes, syncs and renames into place.  0 or -errno (message printed). */
int outfile__commit(struct outfile *o);
/* Removes the temporary file. */
void outfile__abort(struct outfile *o);

#endif
