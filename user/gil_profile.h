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
	/* absolute runtime addresses of the fields (gil + offset; the
	 * offsets differ between default and free-threaded builds) */
	uint64_t interval;	/* unsigned long, microseconds */
	uint64_t last_holder;	/* PyThreadState * */
	uint64_t locked;	/* int */
	uint64_t switch_number;	/* unsigned long */
	uint64_t cond;		/* pthread_cond_t: waiters wait here */
	uint64_t mutex;		/* pthread_mutex_t: guards the fields */
	uint64_t switch_cond;	/* pthread_cond_t: signalled by every take */
	/* offsets inside PyThreadState, from _Py_DebugOffsets (3.13+); 0 =
	 * unknown.  Not used yet: for naming Python frames and threads. */
	uint32_t tstate_native_tid_off;	/* native_thread_id (unsigned long) */
	uint32_t tstate_frame_off;	/* current_frame (_PyInterpreterFrame *) */
	/* CPython: where _PyRuntime is and which version runs, for reading
	 * its frames and threads (user/pyread.c); 0 for gildemo */
	uint64_t runtime;
	int py_major, py_minor;
	/* set with -ENOTSUP when the target is a free-threaded build that
	 * runs without a GIL (3.13t+ with the GIL disabled, nogil 3.9): the
	 * caller can say "no GIL" rather than "not recognised" */
	bool no_gil;
	char python[32];	/* "3.11.2", "3.13.0t" (free-threaded), or "gildemo" */
	char method[32];	/* "symbols", "runtime-offsets", "debug-offsets", "profile" */
	char module[256];	/* the file holding the runtime (exe or libpython) */
	char detail[160];	/* how it was found, for the report */
	char note[200];		/* "" or what the report must add: other interpreters
				 * left out, a free-threaded build's GIL */
};

/* How a CPython whose version gilscope does not know is treated
 * (--python-layout). */
enum gil_layout_policy {
	GIL_LAYOUT_EXACT = 0,	/* refuse it, naming its version */
	GIL_LAYOUT_NEAREST,	/* try the nearest older known layout, checked live */
};

struct gil_find_opts {
	int layout;		/* enum gil_layout_policy */
};

/*
 * Looks for a GIL in process @pid, trying every profile (gildemo, then
 * CPython 3.8 - 3.15).  Reads the target's memory (process_vm_readv,
 * never writes) to validate what it finds: interval in 1..10^7 us, locked
 * 0 or 1, and so on.  @opts may be NULL (the defaults: exact layouts).
 *
 * Returns 0 with @out filled (@out->note may say what is left out);
 * -ENOENT when the process has no interpreter any profile knows (not an
 * error: a plain lock trace follows); -ENOTSUP when it is a Python whose
 * GIL is not traced, with @why saying so in one line (the caller prints
 * it and never guesses a layout): a version not known (see
 * GIL_LAYOUT_NEAREST), a build not recognised, or - with @out->no_gil
 * set and every other field of @out zero - a free-threaded build without
 * a GIL.
 */
int gil_find(pid_t pid, const struct gil_find_opts *opts, struct gil_location *out,
	     char *why, size_t why_len);

#endif
