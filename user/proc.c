// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc readers.  The target may exit at any moment: a file that has
 * vanished means -ESRCH, and callers decide whether that matters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include "grow.h"
#include "proc.h"

#define PF_KTHREAD	0x00200000	/* include/linux/sched.h */

/* A vanished /proc/PID directory means the process is gone. */
static int proc_errno(int err)
{
	return err == ENOENT ? -ESRCH : -err;
}

/*
 * "start-end perms offset dev inode<spaces>path": the path is the rest of
 * the line, spaces and a " (deleted)" suffix included, and empty for an
 * anonymous mapping.  Returns the path inside @line, or NULL when the line
 * does not parse.
 */
static char *parse_map_line(char *line, struct proc_map *m)
{
	size_t len;
	char *p;
	int n = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 "%n",
		   &m->start, &m->end, m->perms, &m->offset, &m->dev_major, &m->dev_minor,
		   &m->inode, &n) != 7 || !n)
		return NULL;
	if (m->end < m->start)
		return NULL;
	p = line + n;
	p += strspn(p, " \t");
	len = strlen(p);
	if (len && p[len - 1] == '\n')
		p[--len] = 0;
	return p;
}

static int cmp_map(const void *a, const void *b)
{
	const struct proc_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int proc_maps__read(pid_t pid, struct proc_maps *out)
{
	struct proc_map *maps = NULL;
	size_t nr = 0, cap = 0, linecap = 0;
	char path[64], *line = NULL;
	int err = 0;
	FILE *f;

	out->maps = NULL;
	out->nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return proc_errno(errno);
	errno = 0;
	while (getline(&line, &linecap, f) > 0) {
		struct proc_map m = {0};
		char *p = parse_map_line(line, &m);

		if (!p)	/* a format we do not know: skip, do not fail */
			continue;
		if (GROW_ARRAY(maps, cap, nr + 1, 64)) {
			err = -ENOMEM;
			goto cleanup;
		}
		m.path = strdup(p);
		if (!m.path) {
			err = -ENOMEM;
			goto cleanup;
		}
		maps[nr++] = m;
	}
	if (ferror(f))
		err = proc_errno(errno ?: EIO);
cleanup:
	free(line);
	fclose(f);
	if (err) {
		for (size_t i = 0; i < nr; i++)
			free(maps[i].path);
		free(maps);
		return err;
	}
	/* the kernel prints them in order; proc_maps__find() relies on it
	 * (an exited process has none, and qsort(NULL, 0) is undefined) */
	if (nr)
		qsort(maps, nr, sizeof(*maps), cmp_map);
	out->maps = maps;
	out->nr = nr;
	return 0;
}

void proc_maps__free(struct proc_maps *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->nr; i++)
		free(pm->maps[i].path);
	free(pm->maps);
	pm->maps = NULL;
	pm->nr = 0;
}

const struct proc_map *proc_maps__find(const struct proc_maps *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->nr;

	while (lo < hi) {	/* the first mapping starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (pm->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < pm->maps[lo - 1].end)
		return &pm->maps[lo - 1];
	return NULL;
}

const struct proc_map *proc_maps__find_lib(const struct proc_maps *pm,
					   const char *prefix)
{
	size_t len = strlen(prefix);

	for (size_t i = 0; i < pm->nr; i++) {
		const char *path = pm->maps[i].path, *base;

		if (path[0] != '/')	/* anonymous, [heap], [vdso], ... */
			continue;
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, prefix, len))
			return &pm->maps[i];
	}
	return NULL;
}

int proc_root_path(pid_t pid, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/root%s%s", pid,
			 path[0] == '/' ? "" : "/", path);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* @path is the file of mapping @m: the same inode on the same device. */
static bool same_file(const char *path, const struct proc_map *m)
{
	struct stat st;

	return !stat(path, &st) && st.st_ino == m->inode &&
	       major(st.st_dev) == m->dev_major && minor(st.st_dev) == m->dev_minor;
}

/*
 * /proc/PID/maps prints a path as the reader's root sees it when the
 * target's root is below it (a chroot), as the target sees it when its
 * root is elsewhere (a container's mount namespace), with " (deleted)"
 * once the file is replaced.  Both readings of the printed path are
 * tried, each accepted only if it is the mapped inode: a path stays
 * valid after the target exits (ELF readers open files again by path,
 * see elf_syms.c).  Else /proc/PID/map_files/START-END, the mapping's own
 * file in every case while the process lives (CAP_SYS_ADMIN, which
 * uprobes need anyway): a deleted file, or one under another name.
 */
int proc_map_path(pid_t pid, const struct proc_map *m, char *buf, size_t len)
{
	char path[PATH_MAX + 64], name[PATH_MAX];
	size_t n, d = strlen(PROC_DELETED);
	struct stat st;

	if (m->path[0] != '/')
		return -ENOENT;
	n = strlen(m->path);
	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, m->path, n + 1);
	if (n > d && !strcmp(name + n - d, PROC_DELETED))
		name[n - d] = 0;	/* the same name may hold the file again */
	if (!proc_root_path(pid, name, path, sizeof(path)) && same_file(path, m))
		goto found;
	snprintf(path, sizeof(path), "%s", name);
	if (same_file(path, m))
		goto found;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid,
		 m->start, m->end);
	if (!stat(path, &st))
		goto found;
	if (!proc_is_alive(pid))
		return -ESRCH;
	return -ENOENT;
found:
	if (strlen(path) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, path, strlen(path) + 1);
	return 0;
}

/* Reads a one-line /proc file into @buf without its newline. */
static int read_line_file(const char *path, char *buf, size_t len)
{
	size_t n;
	FILE *f;
	int err = 0;

	if (!len)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return proc_errno(errno);
	if (!fgets(buf, len, f)) {
		err = ferror(f) ? proc_errno(errno ?: EIO) : -ENODATA;
		buf[0] = 0;
		goto cleanup;
	}
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
cleanup:
	fclose(f);
	return err;
}

int proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	err = read_line_file(path, buf, len);
	if (err && len)
		snprintf(buf, len, "?");
	return err;
}

int proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	int err;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	err = read_line_file(path, buf, len);
	if (err && len)
		snprintf(buf, len, "?");
	return err;
}

int proc_exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	if (!len)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, len);
	if (n < 0) {
		buf[0] = 0;
		return proc_errno(errno);
	}
	if ((size_t)n >= len) {	/* readlink does not say it truncated */
		buf[0] = 0;
		return -ENAMETOOLONG;
	}
	buf[n] = 0;
	return 0;
}

int proc_threads(pid_t pid, pid_t **tids, size_t *nr)
{
	size_t n = 0, cap = 0;
	pid_t *list = NULL;
	struct dirent *de;
	char path[64];
	int err = 0;
	DIR *d;

	*tids = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return proc_errno(errno);
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (end == de->d_name || *end || tid <= 0)	/* "." and ".." */
			continue;
		if (GROW_ARRAY(list, cap, n + 1, 16)) {
			err = -ENOMEM;
			goto cleanup;
		}
		list[n++] = tid;
	}
cleanup:
	closedir(d);
	if (err) {
		free(list);
		return err;
	}
	*tids = list;
	*nr = n;
	return 0;
}

bool proc_is_kernel_thread(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned int flags;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* comm may hold spaces and parentheses: the fields resume after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %u", &flags) != 1)
		return false;
	return flags & PF_KTHREAD;
}

bool proc_is_alive(pid_t pid)
{
	/* kill(0 or -n, 0) would probe process groups */
	if (pid <= 0)
		return false;
	return !kill(pid, 0) || errno == EPERM;
}

char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) S ...": comm may hold anything, ')' included */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

int proc_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!len)
		return 0;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	/* a read running into an unmapped page stops short */
	return (size_t)n == len ? 0 : -EFAULT;
}

int proc_tgid_of(pid_t tid)
{
	size_t linecap = 0;
	char path[64], *line = NULL;
	int tgid = -EINVAL;
	FILE *f;

	if (tid <= 0)
		return -ESRCH;
	/* /proc/TID works for any thread, though only leaders are listed */
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return proc_errno(errno);
	while (getline(&line, &linecap, f) > 0) {
		char *end;
		long v;

		if (strncmp(line, "Tgid:", 5))
			continue;
		v = strtol(line + 5, &end, 10);
		if (end != line + 5 && v > 0 && v <= INT32_MAX)
			tgid = v;
		break;
	}
	free(line);
	fclose(f);
	return tgid;
}
