/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Waits in progress: futex waits that had not returned when tracing
 * stopped, found where they can be.  A wait that began during the trace
 * is in BPF's futex_calls map (its start and stack taken at entry); one
 * that began before is seen in /proc/PID/task/TID/syscall at attach and
 * again at the stop (its start unknown: at least the trace's length).
 * Each becomes a GS_EV_FUTEX_WAIT_OPEN record, analysed and recorded as
 * any other.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "gilscope.h"

struct inflight_wait {
	pid_t tid;
	uint64_t uaddr;
	uint32_t op, val;
	uint64_t sp, pc;
	uint32_t nr_stack;
	uint64_t stack[GS_STACK_WORDS];
};

struct inflight {
	struct inflight_wait *w;
	size_t nr;
};

/* The threads of @pid sitting in a futex wait now.  0 or -errno; a
 * thread whose syscall cannot be read is skipped. */
int inflight__scan(pid_t pid, struct inflight *in);
void inflight__free(struct inflight *in);

/* One of @pid's threads in a wait now, from /proc: its line of
 * /proc/PID/task/TID/syscall parsed.  0, or -ENOENT (not in a futex wait). */
int inflight__parse_syscall(const char *line, struct inflight_wait *w);

typedef void (*inflight_emit_fn)(void *ctx, void *rec, size_t size);

/* At the stop (@end, CLOCK_MONOTONIC ns): the waits of @pid that never
 * returned, as GS_EV_FUTEX_WAIT_OPEN records to @emit.  @calls_fd: BPF's
 * futex_calls map; @at_attach: inflight__scan() at the start (@start).
 * Returns how many. */
size_t inflight__emit(const struct inflight *at_attach, pid_t pid, int calls_fd,
		      uint64_t start, uint64_t end, inflight_emit_fn emit, void *ctx);

#endif
