// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pythreads_probe: the Python names of a live CPython's threads, read
 * from outside by user/pyread_threads.c, as JSON: the ground-truth check
 * of tests/integration/test_pythreads.py.
 *
 *   pythreads_probe PID
 *
 * Prints {"python": "3.X", "threads": {"TID": "NAME", ...}} and exits 0,
 * or names what failed on stderr and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gil_profile.h"
#include "json.h"
#include "pyread.h"

#define MAX_THREADS	1024

int main(int argc, char **argv)
{
	static struct py_thread_name t[MAX_THREADS];
	struct gil_location g;
	struct pyread *r = NULL;
	struct json j;
	char why[256], buf[32];
	pid_t pid;
	int err, n;

	if (argc != 2 || (pid = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: pythreads_probe PID\n");
		return 2;
	}
	err = gil_find(pid, NULL, &g, why, sizeof(why));
	if (err || !g.runtime) {
		fprintf(stderr, "pythreads_probe: no CPython in %d: %s\n", pid, why);
		return 1;
	}
	err = pyread__new(pid, g.py_major, g.py_minor, g.runtime, &r, why, sizeof(why));
	if (err) {
		fprintf(stderr, "pythreads_probe: %s\n", why);
		return 1;
	}
	n = pyread__thread_names(r, t, MAX_THREADS);
	pyread__free(r);
	if (n < 0) {
		fprintf(stderr, "pythreads_probe: cannot read the thread names of %d: %s\n",
			pid, strerror(-n));
		return 1;
	}
	json_init(&j, stdout);
	json_obj_begin(&j, NULL);
	snprintf(buf, sizeof(buf), "%d.%d", g.py_major, g.py_minor);
	json_str(&j, "python", buf);
	json_obj_begin(&j, "threads");
	for (int i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%u", t[i].tid);
		json_str(&j, buf, t[i].name);
	}
	json_obj_end(&j);
	json_obj_end(&j);
	printf("\n");
	return 0;
}
