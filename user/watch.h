/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Watched objects (--object): their reference-count words, found from
 * what the user typed, and the hardware watchpoints on them - one
 * perf_event breakpoint per object per thread of the target, inherited
 * by the threads it creates, each running the BPF program
 * refcount_write on every write.
 */
#ifndef WATCH_H
#define WATCH_H

#include <stdint.h>
#include <sys/types.h>
#include "gilscope.h"

struct bpf_program;
struct bpf_link;

struct watched {
	uint64_t addr;		/* the reference count word */
	char name[128];		/* "None (_Py_NoneStruct)", "0x7f..", "gildemo_objects+64" */
};

struct watchset {
	struct watched obj[GS_MAX_WATCH];
	int nr;
	struct bpf_link **links;
	size_t nr_links, cap_links;
	int nr_threads;		/* threads given watchpoints at attach */
};

/*
 * Resolves each of @specs (up to GS_MAX_WATCH) in @pid: None, True,
 * False (CPython's _Py_NoneStruct, _Py_TrueStruct, _Py_FalseStruct), an
 * address in hex or decimal (what Python's id() prints), or a data
 * symbol, "[module:]symbol[+offset]".  The reference count is the
 * object's first word (ob_refcnt in CPython's default builds, and
 * gildemo's objects).  0, or -errno with one line on stderr.
 */
int watch__resolve(struct watchset *w, pid_t pid, char *const *specs, int nr);

/* Puts the watchpoints on every thread of @pid and attaches @prog.  0, or
 * -errno with one line on stderr (debug registers all in use, ...). */
int watch__attach(struct watchset *w, pid_t pid, struct bpf_program *prog);
/* Removes every watchpoint; safe to call twice. */
void watch__detach(struct watchset *w);

#endif
