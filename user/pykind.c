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
};

/* Outer frames decide over inner ones: a Queue.get waits in
 * Condition.wait, and is a queue's consumer.  So the table is searched
 * for the outermost match. */
static const struct stdlib_wait waits[] = {
	{ "threading.py", "Condition.wait", "wait", "threading.Condition", true },
	{ "threading.py", "Condition.wait_for", "wait_for", "threading.Condition", true },
	{ "threading.py", "Event.wait", "wait", "threading.Event", true },
	{ "threading.py", "Semaphore.acquire", "acquire", "threading.Semaphore", false },
	{ "threading.py", "Barrier.wait", "wait", "threading.Barrier", true },
	{ "threading.py", "Thread.join", "join", "threading.Thread.join", true },
	{ "threading.py", "Thread._wait_for_tstate_lock", "_wait_for_tstate_lock",
	  "threading.Thread.join", true },
	{ "queue.py", "Queue.get", "get", "queue.Queue", true },
	{ "queue.py", "Queue.put", "put", "queue.Queue", false },
	{ "queue.py", "Queue.join", "join", "queue.Queue", true },
	/* the executor's worker blocks in SimpleQueue.get (C) between jobs */
	{ "thread.py", "_worker", "_worker", "queue.SimpleQueue", true },
	{ "__init__.py", "Handler.acquire", "acquire", "logging", false },
	{ "__init__.py", "_acquireLock", "_acquireLock", "logging", false },
};

/* "qualname (path:line)" -> is it @w? */
static bool is(const char *frame, const struct stdlib_wait *w)
{
	const char *open = strstr(frame, " (");
	const char *file, *colon;
	size_t n, fl;

	if (!open)
		return false;
	n = open - frame;
	if (!((strlen(w->qualname) == n && !strncmp(frame, w->qualname, n)) ||
	      (strlen(w->name) == n && !strncmp(frame, w->name, n))))
		return false;
	colon = strrchr(open, ':');
	if (!colon)
		return false;
	file = open + 2;
	for (const char *p = file; p < colon; p++)
		if (*p == '/')
			file = p + 1;
	fl = strlen(w->file);
	if ((size_t)(colon - file) != fl || strncmp(file, w->file, fl))
		return false;
	/* the executor's thread.py is concurrent/futures', the logging
	 * __init__.py logging's */
	if (!strcmp(w->file, "thread.py"))
		return strstr(open, "concurrent/futures/") != NULL;
	if (!strcmp(w->file, "__init__.py"))
		return strstr(open, "logging/") != NULL;
	return true;
}

void py_wait_kind(const char *const *frames, size_t nr, struct py_wait_kind *out)
{
	out->kind = NULL;
	out->idle = false;
	for (size_t i = 0; i < nr; i++)
		for (size_t k = 0; k < sizeof(waits) / sizeof(waits[0]); k++)
			if (is(frames[i], &waits[k])) {
				out->kind = waits[k].kind;
				out->idle = waits[k].idle;
				break;
			}
}
