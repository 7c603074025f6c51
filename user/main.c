// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* gilscope: an eBPF tracer of lock contention and of CPython's GIL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "live.h"
#include "options.h"
#include "replay.h"

int main(int argc, char **argv)
{
	struct env env;
	int mode = MODE_TRACE;

	if (argc > 1 && !strcmp(argv[1], "record"))
		mode = MODE_RECORD;
	else if (argc > 1 && !strcmp(argv[1], "report"))
		mode = MODE_REPORT;
	else if (argc > 1 && !strcmp(argv[1], "export"))
		mode = MODE_EXPORT;
	else if (argc > 1 && !strcmp(argv[1], "refcount"))
		mode = MODE_REFCOUNT;
	if (mode != MODE_TRACE) {
		/* the subcommand becomes argv[0] of its own parse, named as the
		 * user typed it ("Usage: gilscope report ...") */
		static char name[32];

		snprintf(name, sizeof(name), "gilscope %s", argv[1]);
		argc--;
		argv++;
		argv[0] = name;
	}
	/* argp wraps at 79 columns: "Try `gilscope refcount --help' or ..."
	 * would take two lines (a user's own ARGP_HELP_FMT wins) */
	setenv("ARGP_HELP_FMT", "rmargin=100", 0);
	options_parse(argc, argv, &env, mode);
	switch (mode) {
	case MODE_REPORT:
		return cmd_report(&env);
	case MODE_EXPORT:
		return cmd_export(&env);
	default:
		return cmd_trace(&env);
	}
}
