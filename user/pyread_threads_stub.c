// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Until user/pyread_threads.c lands: no Python thread names. */
#include <errno.h>
#include "pyread.h"

int pyread__thread_names(struct pyread *r, struct py_thread_name *out, size_t max)
{
	(void)r;
	(void)out;
	(void)max;
	return -ENOSYS;
}
