// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which Python lock a PyMutex belongs to (3.13+): threading.Lock and
 * RLock objects are PyObject_HEAD followed by their PyMutex (RLock's
 * _PyRecursiveMutex starts with one), so the object is 16 bytes before
 * the mutex, and its type says which it is.  Anything else (the
 * interpreter's own PyMutexes) is not named.
 */
#include <errno.h>
#include <stdio.h>
#include "pyread.h"
#include "pyread_int.h"

#define PY_MUTEX_IN_LOCK	16	/* PyObject_HEAD */

int pyread__lock_kind(struct pyread *r, uint64_t mutex, char *buf, size_t len)
{
	static const struct { const char *type, *kind; } kinds[] = {
		{ "_thread.lock", "threading.Lock" },
		{ "_thread.RLock", "threading.RLock" },
	};

	if (mutex < PY_MUTEX_IN_LOCK)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		uint64_t slot = 0;	/* a lock wait is rare: no type cache */

		if (pyread_obj_is(r, mutex - PY_MUTEX_IN_LOCK, kinds[i].type, &slot) == 0) {
			snprintf(buf, len, "%s", kinds[i].kind);
			return 0;
		}
	}
	return -ENOENT;
}
