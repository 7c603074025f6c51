/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * perf map files: /tmp/perf-PID.map, one "START SIZE name" line (hex) per
 * piece of code a JIT made (CPython 3.12+ under -X perf, V8, the JVM's
 * agents, LuaJIT), the names of code no ELF file holds.  Looked for in
 * the target's root under the PID it has there (a container's), then in
 * the host's /tmp; only a regular file owned by root or by the target's
 * owner.  Read on the first lookup and again, at most every 250 ms, when
 * a lookup misses and the file has grown: JITs append.
 */
#ifndef PERFMAP_H
#define PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct perfmap;

/* Nothing is read yet.  0 or -ENOMEM. */
int perfmap__new(pid_t pid, struct perfmap **out);
void perfmap__free(struct perfmap *pm);
/* Reads from @path (for tests), not from /tmp. */
int perfmap__new_path(const char *path, struct perfmap **out);

/* The entry holding @addr: its name ("py::fib:/tmp/x.py"), start, and
 * the map file's basename ("perf-1234.map"); NULL when none. */
const char *perfmap__lookup(struct perfmap *pm, uint64_t addr, uint64_t *start,
			    const char **file);

#endif
