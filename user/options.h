/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command-line options of the live tracer (`gilscope -p PID`, `gilscope -- CMD`). */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include "gilscope.h"	/* GS_MAX_WATCH */

enum gil_mode {
	GIL_AUTO = 0,		/* trace the GIL when a profile finds one */
	GIL_OFF,
	GIL_REQUIRE,		/* fail when the target has no known GIL */
};

enum cmd_mode {
	MODE_TRACE = 0,		/* gilscope -p PID / -- CMD: report at the end */
	MODE_RECORD,		/* gilscope record ... -o FILE */
	MODE_REPORT,		/* gilscope report FILE */
	MODE_EXPORT,		/* gilscope export FILE --format F -o OUT */
	MODE_REFCOUNT,		/* gilscope refcount -p PID --object ADDR,... */
};

struct env {
	int mode;		/* enum cmd_mode */
	const char *output;	/* -o: a .gst recording */
	const char *input;	/* report's / export's FILE */
	const char *format;	/* export: perfetto, csv, svg, folded */
	const char *metric;	/* export --format folded: gil-held, gil-wait, lock-wait */
	pid_t pid;
	double duration;	/* seconds; 0 = until Ctrl-C / target exit */
	const char *json_path;
	bool mutex_probes;	/* --locks=all */
	bool summary;		/* --summary: analyse in BPF, stream nothing */
	int gil;		/* enum gil_mode */
	int python_layout;	/* enum gil_layout_policy (gil_profile.h) */
	int py_depth;		/* --python-depth: frames per Python stack, 0: none */
	bool native;		/* --native: native call sites beside Python ones */
	bool stacks;
	int top;
	int ringbuf_mb;
	bool force;
	bool verbose;
	char *objects[GS_MAX_WATCH];	/* --object specs */
	int nr_objects;
	char **cmd;		/* after "--" */
	int cmd_argc;
	/* given on the command line: what report/export must refuse */
	const char *live_only;	/* the first option only a live run uses */
	bool top_given;
};

/* Parses argv (after the subcommand, if any); on bad input prints one
 * line and a usage hint and exits 2. */
void options_parse(int argc, char **argv, struct env *env, int mode);

#endif
