/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What /proc tells about a target process: its mappings, threads, names
 * and files.  Paths inside the target are opened through /proc/PID/root,
 * so a process in another mount namespace (a container) works.
 */
#ifndef PROC_H
#define PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What /proc/PID/maps appends to the path of a file deleted since it was
 * mapped (an upgraded library, a rebuilt program). */
#define PROC_DELETED " (deleted)"

struct proc_map {
	uint64_t start, end, offset;
	uint64_t inode;
	unsigned dev_major, dev_minor;	/* the device holding the inode */
	char perms[5];		/* "r-xp" */
	char *path;		/* as /proc/PID/maps prints it; "" if none */
};

struct proc_maps {
	struct proc_map *maps;
	size_t nr;
};

/* Reads /proc/PID/maps.  0 or -errno (-ESRCH when the process is gone). */
int proc_maps__read(pid_t pid, struct proc_maps *out);
void proc_maps__free(struct proc_maps *pm);
/* The mapping that contains @addr, or NULL. */
const struct proc_map *proc_maps__find(const struct proc_maps *pm, uint64_t addr);
/* The first file mapping whose basename starts with @prefix (e.g. "libc.so.",
 * "libpython3"), or NULL. */
const struct proc_map *proc_maps__find_lib(const struct proc_maps *pm,
					   const char *prefix);

/* "/proc/PID/root" + @path into @buf: the file as the target sees it. */
int proc_root_path(pid_t pid, const char *path, char *buf, size_t len);

/*
 * A path that opens the file of mapping @m (a file mapping) as the
 * target maps it: for a container, a chroot, or a file deleted since it
 * was mapped, for reading and for attaching uprobes alike.  0, -ENOENT
 * when no path reaches that inode, -ESRCH when the process is gone.
 */
int proc_map_path(pid_t pid, const struct proc_map *m, char *buf, size_t len);

/* The thread's comm ("?" when it cannot be read). */
int proc_thread_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/* The process's comm. */
int proc_comm(pid_t pid, char *buf, size_t len);
/* readlink /proc/PID/exe. */
int proc_exe(pid_t pid, char *buf, size_t len);
/* Lists /proc/PID/task into a malloc'ed array. */
int proc_threads(pid_t pid, pid_t **tids, size_t *nr);
/* True for a kernel thread (no mm: empty /proc/PID/maps and PF_KTHREAD). */
bool proc_is_kernel_thread(pid_t pid);
/* True while the process exists (a zombie included), even one we may
 * not signal. */
bool proc_is_alive(pid_t pid);
/* The state letter of /proc/PID/stat ('R', 'S', 'T' stopped, 'Z'...), 0
 * when the process is gone. */
char proc_state(pid_t pid);
/* Reads @len bytes at @addr in @pid's memory (process_vm_readv).  0 or
 * -errno: -EFAULT when part of the range is not mapped. */
int proc_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
/* The tgid of thread @tid (from /proc/TID/status), or -errno. */
int proc_tgid_of(pid_t tid);

#endif
