/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every name a report prints: code addresses, lock addresses, thread
 * names.  Live, they come from the symbolizer and /proc and are cached;
 * from a trace file, the cache is all there is.  Either way the analysis
 * asks here, so a live run and a replay print the same names.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;
struct names;
struct pyread;

/* @pid 0 and @sym NULL: offline (names only from names__set_*). */
int names__new(pid_t pid, struct symbolizer *sym, struct names **out);
void names__free(struct names *n);
/* The target exec'd: names from now on come from @sym (the new image's
 * maps).  What was resolved before stays: the old image's records named
 * their addresses when they arrived. */
void names__set_symbolizer(struct names *n, struct symbolizer *sym);

/* "module:sym+0x1f", "module+0x1234" or "[unknown]". */
const char *names__code(struct names *n, uint64_t addr);
/* "module:sym" or "module:sym+8", or NULL when no data symbol holds it. */
const char *names__data(struct names *n, uint64_t addr);
/* The thread's current name, or "?" when never known. */
const char *names__thread(struct names *n, uint32_t tid);

/* Live, a CPython's frames and thread names come from @py (NULL: none,
 * or the target exec'd into something else).  Not owned. */
void names__set_pyread(struct names *n, struct pyread *py);
/* A Python frame of a GS_EV_PY_STACK record: "qualname (path:line)", or
 * "[unknown]". */
const char *names__pyframe(struct names *n, uint64_t code, uint64_t instr);
/* The thread's Python name ("MainThread", "worker-1"), or NULL. */
const char *names__pythread(struct names *n, uint32_t tid);
/* "threading.Lock" or "threading.RLock" for a PyMutex parked on, or NULL. */
const char *names__pylock(struct names *n, uint64_t mutex);
/* @mutex is a PyMutex a thread parked on: its Python type is read now,
 * once (names__pylock() gives it), while the object is alive. */
void names__note_pylock(struct names *n, uint64_t mutex);
/* Reads the Python thread names again (live): at the stop, so that the
 * report has the names threads have then. */
void names__refresh_pythreads(struct names *n);

/* Names what @e carries while the target still exists: its Python
 * frames now (they are read from its memory), its native addresses
 * soon, by names__drain() (from its files, through /proc/PID/root),
 * not at report time. */
struct gs_event_hdr;
void names__note_event(struct names *n, const struct gs_event_hdr *e, size_t size);
/* Names the native addresses records brought: for at most @budget_ns
 * (0: all of them).  The session calls it between polls, and with 0
 * before a recording closes or the symbolizer changes. */
void names__drain(struct names *n, uint64_t budget_ns);

/* Called for every name resolved live (kind: enum gst_name_kind), so a
 * recording can store it.  NULL @fn: none. */
typedef void (*names_listener)(void *ctx, int kind, uint64_t key, const char *name);
void names__set_listener(struct names *n, names_listener fn, void *ctx);

void names__set_code(struct names *n, uint64_t addr, const char *name);
void names__set_data(struct names *n, uint64_t addr, const char *name);	/* NULL: none */
void names__set_thread(struct names *n, uint32_t tid, const char *comm);
void names__set_pyframe(struct names *n, uint64_t key, const char *name);
void names__set_pythread(struct names *n, uint32_t tid, const char *name);
void names__set_pylock(struct names *n, uint64_t mutex, const char *kind);	/* NULL: none */

#endif
