/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Separate debug files, found the way gdb and elfutils find them, in the
 * target's root (a container's, a chroot's: /proc/PID/root) first and
 * then the host's:
 *   - by build-id: DIR/.build-id/xx/yyyy.debug, for each debug directory
 *     DIR (default /usr/lib/debug; GILSCOPE_DEBUG_DIRS="dir:dir" else);
 *   - by .gnu_debuglink NAME: beside the file, in its .debug/, and
 *     under each DIR + the file's directory; the candidate's CRC-32 must
 *     be the link's;
 *   - a dwz file (.gnu_debugaltlink NAME + build-id) by its build-id,
 *     then by NAME.
 * A candidate is accepted only when it is a sane ELF file (its section
 * table and every section inside the file) whose build-id, when the
 * file has one, is the one asked for.  Never the network: debuginfod is
 * not asked.
 */
#ifndef DEBUGINFO_H
#define DEBUGINFO_H

#include <stddef.h>
#include <stdint.h>

#define DEBUGINFO_MAX_DIRS	8

struct debuginfo_where {
	const char *roots[2];	/* "/proc/PID/root" or NULL, then "" (the host's) */
	size_t nr_roots;
	char *dirs[DEBUGINFO_MAX_DIRS];	/* absolute directories, owned */
	size_t nr_dirs;
};

/* The target's root, unless it is the host's (same directory), and the
 * debug directories: @dirs ("dir:dir"), else $GILSCOPE_DEBUG_DIRS, else
 * /usr/lib/debug.  @root_buf holds the target's root path (64 bytes).
 * 0 or -ENOMEM. */
int debuginfo_where__init(struct debuginfo_where *w, int pid, const char *dirs,
			  char *root_buf, size_t root_len);
void debuginfo_where__free(struct debuginfo_where *w);

struct debuginfo_want {
	const unsigned char *build_id;	/* the file's, or NULL */
	size_t build_id_len;
	const char *file;	/* its path as the target sees it ("/usr/bin/x") */
	const char *debuglink;	/* .gnu_debuglink's name, or NULL */
	uint32_t crc;		/* .gnu_debuglink's CRC */
};

/* Opens the debug file of @want: a descriptor, with its path in *@path
 * (malloc'ed), or -ENOENT. */
int debuginfo_open(const struct debuginfo_where *w, const struct debuginfo_want *want,
		   char **path);

/* Opens the dwz file named by .gnu_debugaltlink of the file at @from
 * (a debug file, or a main file with its own DWARF): a descriptor, with
 * its path in *@path, or -ENOENT. */
int debuginfo_open_alt(const struct debuginfo_where *w, const char *from, char **path);

/* The GNU debuglink CRC-32 (zlib's) of the file at @fd; 0 or -errno. */
int debuginfo_crc(int fd, uint32_t *crc);

#endif
