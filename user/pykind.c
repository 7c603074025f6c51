// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "pykind.h"

/* A standard-library function: the frame's name (qualname or, before
 * 3.11, name) and the file it is defined in. */
struct stdlib_wait {
	const char *file;	/* basename */
	const char *qualname;	/* 3.11+ */
	const char *name;	/* 3.8 - 3.10 */
	const char *kind;
	bool idle;
	/* its first local (self) is the object waited on: the Condition,
	 * Event, Semaphore, Barrier, Thread or Queue */
	bool by_self;
	/* Before 3.11 a frame has its name only, and threading.py has three
	 * wait()s: Event.wait calls its Condition's wait(), Barrier.wait its
	 * _enter() or _wait().  Such an entry matches a name-only frame only
	 * when the frame inside it (the one it called) has one of these
	 * names in the same file; Condition.wait, after them, takes the rest
	 * (a wait() blocked in its own `with self._cond:` reads as a
	 * Condition's there). */
	const char *inner[2];
};

/* Outer frames decide over inner ones: a Queue.get waits in
 * Condition.wait, and is a queue's consumer.  So the table is searched
 * for the outermost match. */
static const struct stdlib_wait waits[] = {
	{ "threading.py", "Event.wait", "wait", "threading.Event", true, true, { "wait", NULL } },
	{ "threading.py", "Barrier.wait", "wait", "threading.Barrier", true, true,
	  { "_wait", "_enter" } },
	{ "threading.py", "Condition.wait", "wait", "threading.Condition", true, true, { NULL, NULL } },
	{ "threading.py", "Condition.wait_for", "wait_for", "threading.Condition", true, true,
	  { NULL, NULL } },
	{ "threading.py", "Semaphore.acquire", "acquire", "threading.Semaphore", false, true,
	  { NULL, NULL } },
	{ "threading.py", "Thread.join", "join", "threading.Thread.join", true, true, { NULL, NULL } },
	{ "threading.py", "Thread._wait_for_tstate_lock", "_wait_for_tstate_lock",
	  "threading.Thread.join", true, true, { NULL, NULL } },
	{ "queue.py", "Queue.get", "get", "queue.Queue", true, true, { NULL, NULL } },
	{ "queue.py", "Queue.put", "put", "queue.Queue", false, true, { NULL, NULL } },
	{ "queue.py", "Queue.join", "join", "queue.Queue", true, true, { NULL, NULL } },
	/* the executor's worker blocks in SimpleQueue.get (C) between jobs */
	{ "thread.py", "_worker", "_worker", "queue.SimpleQueue", true, false, { NULL, NULL } },
	{ "__init__.py", "Handler.acquire", "acquire", "logging", false, false, { NULL, NULL } },
	{ "__init__.py", "_acquireLock", "_acquireLock", "logging", false, false, { NULL, NULL } },
};

#define NR_WAITS	(sizeof(waits) / sizeof(waits[0]))

/* "qualname (path:line)": the name's length, and the file's basename and
 * its length; false when @frame is not so made. */
static bool split(const char *frame, size_t *name_len, const char **file, size_t *file_len)
{
	const char *open = strstr(frame, " (");
	const char *colon;

	if (!open)
		return false;
	colon = strrchr(open, ':');
	if (!colon)
		return false;
	*name_len = open - frame;
	*file = open + 2;
	for (const char *p = *file; p < colon; p++)
		if (*p == '/')
			*file = p + 1;
	*file_len = colon - *file;
	return true;
}

static bool same(const char *s, size_t n, const char *z)
{
	return strlen(z) == n && !strncmp(s, z, n);
}

/* Is @frame (called into @inner, or NULL: innermost) @w? */
static bool is(const char *frame, const char *inner, const struct stdlib_wait *w)
{
	const char *file, *ifile;
	size_t n, fl, in, ifl;

	if (!split(frame, &n, &file, &fl) || !same(file, fl, w->file))
		return false;
	if (!same(frame, n, w->qualname)) {
		if (!same(frame, n, w->name))
			return false;
		/* a name only (3.8 - 3.10): by the frame it called, where
		 * the name is not enough */
		if (w->inner[0]) {
			if (!inner || !split(inner, &in, &ifile, &ifl) || !same(ifile, ifl, w->file))
				return false;
			if (!same(inner, in, w->inner[0]) && !(w->inner[1] && same(inner, in, w->inner[1])))
				return false;
		}
	}
	/* the executor's thread.py is concurrent/futures', the logging
	 * __init__.py logging's */
	if (!strcmp(w->file, "thread.py"))
		return strstr(frame, "concurrent/futures/") != NULL;
	if (!strcmp(w->file, "__init__.py"))
		return strstr(frame, "logging/") != NULL;
	return true;
}

/* The table's entry for frames[i], or NULL. */
static const struct stdlib_wait *match(const char *const *frames, size_t i)
{
	for (size_t k = 0; k < NR_WAITS; k++)
		if (is(frames[i], i ? frames[i - 1] : NULL, &waits[k]))
			return &waits[k];
	return NULL;
}

void py_wait_kind(const char *const *frames, size_t nr, struct py_wait_kind *out)
{
	out->kind = NULL;
	out->idle = false;
	for (size_t i = 0; i < nr; i++) {
		const struct stdlib_wait *w = match(frames, i);

		if (w) {
			out->kind = w->kind;
			out->idle = w->idle;
		}
	}
}

const char *py_wait_self_kind(const char *const *frames, size_t i)
{
	const struct stdlib_wait *w = match(frames, i);

	return w && w->by_self ? w->kind : NULL;
}

int py_wait_object(const char *const *frames, size_t nr, const char **kind)
{
	int found = -1;

	*kind = NULL;
	for (size_t i = 0; i < nr; i++) {
		const char *k = py_wait_self_kind(frames, i);

		if (k) {
			found = (int)i;
			*kind = k;
		}
	}
	return found;
}
