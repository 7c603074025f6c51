/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What tracing needs of the kernel's privileges, checked before anything
 * loads, so that a missing one is named exactly rather than met as an
 * EPERM halfway through attaching.  Measured on this project's kernel
 * (6.18): CAP_BPF + CAP_PERFMON load the programs, but uprobes want
 * CAP_SYS_ADMIN (which covers the other two); the tracepoints' ids are
 * read from tracefs, which is root's, so CAP_DAC_READ_SEARCH too (it also
 * reads another user's files through /proc/PID/root); another user's
 * process wants CAP_SYS_PTRACE (its memory and maps).
 */
#ifndef PRIVS_H
#define PRIVS_H

#include <stdint.h>
#include <sys/types.h>

/* The capabilities tracing @pid needs that we lack, as a one-line list
 * into @buf ("" when none); @target_uid: the target's owner, or -1 for a
 * command we start. */
void privs__missing(uint64_t effective, uid_t our_uid, long target_uid, char *buf,
		    size_t len);
/* Our effective capability set (/proc/self/status CapEff). */
uint64_t privs__effective(void);
/* 0, or -EPERM after one line saying exactly what is missing. */
int privs__check(pid_t target_pid);

#endif
