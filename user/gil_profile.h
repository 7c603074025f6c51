/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * GIL profiles: how to find an interpreter's big lock in a running
 * process.  A profile yields a struct gil_location; from there on every
 * interpreter is traced the same way (see bpf/gilscope.bpf.c): the GIL is
 * a pthread mutex + condvar pair guarding a "locked" flag, as CPython
 * 3.2+ builds it (FORCE_SWITCHING's switch_cond beside them), so a signal
 * of switch_cond with locked == 1 is an acquisition, a signal of the
 * condvar with locked == 0 a release, and a wait on the condvar
 * (or futex wait on its mutex) is a thread waiting for it.
 *
 * Adding another interpreter's big lock means adding a profile, not a
 * code path.
 */
#ifndef GIL_PROFILE_H
#define GIL_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_maps;

struct gil_location {
	uint64_t gil;		/* runtime address of the GIL struct */
	/* absolute runtime addresses of the fields (gil + offset) */
	uint64_t interval;	/* unsigned long, microseconds */
	uint64_t last_holder;	/* PyThreadState * */
	uint64_t locked;	/* int */
	uint64_t switch_number;	/* unsigned long */
	uint64_t cond;		/* pthread_cond_t: waiters wait here */
	uint64_t mutex;		/* pthread_mutex_t: guards the fields */
	uint64_t switch_cond;	/* pthread_cond_t: signalled by every take */
	char python[32];	/* "3.11.2", or "gildemo" */
	char method[32];	/* "symbols", "runtime-offsets", "debug-offsets", "profile" */
	char module[256];	/* the file holding the runtime (exe or libpython) */
	char detail[160];	/* how it was found, for the report */
};

/*
 * Looks for a GIL in process @pid, trying every profile (gildemo, then
 * CPython 3.8 - 3.13).  Reads the target's memory (process_vm_readv,
 * never writes) to validate what it finds: interval in 1..10^7 us, locked
 * 0 or 1, and so on.
 *
 * Returns 0 with @out filled; -ENOENT when the process has no interpreter
 * any profile knows (not an error: a plain lock trace follows); -ENOTSUP
 * when it is a Python whose build is not recognised, with @why saying so
 * in one line (the caller prints it and never guesses a layout).
 */
int gil_find(pid_t pid, struct gil_location *out, char *why, size_t why_len);

#endif
