/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python code in the reports: stacks, the GIL's held_in / waited_in /
 * waited_for per thread, and what a lock's Python waiters are. */
#ifndef REPORT_PY_H
#define REPORT_PY_H

#include <stdint.h>
#include <stdio.h>
#include "pykind.h"

struct analysis;
struct gil_thread;
struct json;
struct lock_stats;
struct names;
struct report_meta;

/* The innermost "frame" of a stack caught inside the garbage collector. */
#define PY_GC_FRAME	"[garbage collection]"

/* Entries of held_in / waited_in / waited_for kept in the JSON. */
#define PY_TOP		10

/* @key: an array of "qualname (path:line)", innermost first, or null. */
void report_py_stack_json(struct json *j, const char *key, struct analysis *a,
			  struct names *n, int stack);
/* A gil.threads[] entry's Python fields: name, held_in, waited_in, waited_for. */
void report_py_thread_json(struct json *j, struct analysis *a, struct names *n,
			   const struct gil_thread *t);
/* A lock's python_kind and idle, from its callers' Python stacks. */
void report_py_lock_kind(struct analysis *a, struct names *n, const struct lock_stats *l,
			 struct py_wait_kind *out);
/* A Python object's row's name (NULL for a futex's row): its kind, the
 * object's address (@with_addr) and where it is waited on, from its
 * longest-waiting caller: "queue.Queue 0x7f.. (get, worker at app.py:12)". */
const char *report_py_lock_name(struct analysis *a, struct names *n, const struct lock_stats *l,
				bool with_addr, char *buf, size_t len);
/* gil.python_stacks: how they were read, how many, what was lost (null:
 * not a CPython). */
void report_py_summary_json(struct json *j, const struct report_meta *m, struct analysis *a);
/* The text report's "Python code" section (nothing without stacks). */
void report_py_text(FILE *f, const struct report_meta *m, struct analysis *a,
		    struct names *n);
/*
 * The entries of a held_in / waited_in / waited_for list (@c, of @p, the
 * Python side of GIL thread @t) as reports and exports show them: stacks
 * that print the same (two instructions on one line) are one entry;
 * held_in's ns are @t's held time shared by samples (@held).  Sorted by
 * ns, then count.  Free with report_py_named_free().
 */
struct py_costs;
struct py_thread;
struct py_named {
	char *key;		/* the frames' names, joined, and the holder */
	int stack;		/* one of the stacks merged */
	uint32_t tid;
	uint64_t ns, count;
};
size_t report_py_named(struct analysis *a, struct names *n, const struct gil_thread *t,
		       const struct py_thread *p, const struct py_costs *c, bool held,
		       struct py_named **out);
void report_py_named_free(struct py_named *v, size_t nr);

/* "burn (app.py:14) <- cpu (app.py:22)", at most @max frames. */
const char *report_py_stack_line(struct analysis *a, struct names *n, int stack, int max,
				 char *buf, size_t len);

#endif
