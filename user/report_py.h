/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python code in the reports: stacks, the GIL's held_in / waited_in /
 * waited_for per thread, and what a lock's Python waiters are. */
#ifndef REPORT_PY_H
#define REPORT_PY_H

#include <stdio.h>
#include "pykind.h"

struct analysis;
struct gil_thread;
struct json;
struct lock_stats;
struct names;
struct report_meta;

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
/* The text report's "Python code" section (nothing without stacks). */
void report_py_text(FILE *f, const struct report_meta *m, struct analysis *a,
		    struct names *n);
/* "burn (app.py:14) <- cpu (app.py:22)", at most @max frames. */
const char *report_py_stack_line(struct analysis *a, struct names *n, int stack, int max,
				 char *buf, size_t len);

#endif
