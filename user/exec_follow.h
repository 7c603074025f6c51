/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Following the traced process through exec.  BPF's sched_process_exec
 * program (bpf/gilscope.bpf.c) forgets the old image's GIL and holds the
 * new image with SIGSTOP before its first instruction; when the
 * GS_EV_EXEC record is read, exec_follow() prepares the new image as
 * `-- CMD` prepares a spawned program and lets it go.
 */
#ifndef EXEC_FOLLOW_H
#define EXEC_FOLLOW_H

struct session;
struct gs_exec_event;

/* Handles @e (already taken into the recording and the analysis).  Never
 * leaves the target stopped; failures are said on stderr and the target
 * stays traced. */
void exec_follow(struct session *s, const struct gs_exec_event *e);

#endif
