// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gil_profile.h"	/* enum gil_layout_policy */
#include "options.h"

const char *argp_program_version = "gilscope " GILSCOPE_VERSION;
const char *argp_program_bug_address = "https://github.com/gilscope/gilscope/issues";

static const char doc[] =
"gilscope: who holds the lock, who waits, for how long.\n"
"\n"
"Traces a running process (or a command it starts) with eBPF: futex(2)\n"
"slow paths, pthread mutex and condvar calls, and the GIL of CPython\n"
"3.8-3.15 (stripped or not) or gildemo; prints per-lock, per-thread and\n"
"GIL statistics and a GIL timeline when tracing stops (Ctrl-C, -d expiry,\n"
"or the target's exit).\n"
"\v"
"EXAMPLES:\n"
"  sudo gilscope -p 1234              # trace until Ctrl-C\n"
"  sudo gilscope -p 1234 -d 10        # trace 10 s\n"
"  sudo gilscope -d 5 -- ./prog args  # start prog traced, to its exit\n"
"  sudo gilscope -p 1234 --locks=all --json out.json\n"
"\n"
"Needs root, or CAP_SYS_ADMIN (uprobes need it; CAP_BPF + CAP_PERFMON are\n"
"not enough) + CAP_DAC_READ_SEARCH (tracefs), + CAP_SYS_PTRACE for other\n"
"users' processes.  gilscope only reads the target's memory, never writes it.\n"
"\n"
"Names: from the files' symbols, their separate debug files (by build-id\n"
"or .gnu_debuglink under /usr/lib/debug, in the target's root and the\n"
"host's; GILSCOPE_DEBUG_DIRS=dir:dir to look elsewhere), MiniDebugInfo,\n"
"DWARF (source lines, array and struct members) and /tmp/perf-PID.map.\n"
"debuginfod is never asked, whatever DEBUGINFOD_URLS says.\n"
"\n"
"Exit status: 0 traced to the end; 1 error; 2 bad usage; 3 the target\n"
"(-p) exited while traced (the report covers it up to its exit).";

static const char args_doc[] = "-p PID | -- CMD [ARGS...]\n"
	"record -o FILE.gst (-p PID | -- CMD [ARGS...])\n"
	"refcount --object OBJ[,OBJ] (-p PID | -- CMD [ARGS...])\n"
	"report FILE.gst\n"
	"export FILE.gst --format perfetto|csv|svg|folded [--metric M [--native]] -o OUT";

static const char record_doc[] =
"gilscope record: trace like gilscope -p/--, but write the events to a .gst\n"
"trace file for `gilscope report` to analyse later, elsewhere, without root.\n"
"With --json FILE, the recording's JSON report is written once it ends.\n"
"\v"
"EXAMPLES:\n"
"  sudo gilscope record -p 1234 -o run.gst -d 60\n"
"  sudo gilscope record -o run.gst -- python3 app.py\n"
"  gilscope report run.gst";

static const char export_doc[] =
"gilscope export: a recording as a Perfetto/chrome://tracing timeline\n"
"(JSON: one track per thread, GIL and lock slices, handoff arrows, a\n"
"waiting-threads counter), as CSV (every event, in time order; a futex\n"
"wait's text is the waiter's native stack, the GIL's own waits included),\n"
"or as a self-contained SVG picture of the GIL timeline.  Needs no\n"
"privileges.\n"
"\v"
"EXAMPLES:\n"
"  gilscope export run.gst --format perfetto -o run.json   # ui.perfetto.dev\n"
"  gilscope export run.gst --format csv -o events.csv\n"
"  gilscope export run.gst --format svg -o timeline.svg\n"
"  gilscope export run.gst --format folded --metric gil-held -o held.folded  # flamegraph.pl\n"
"  gilscope export run.gst --format folded --metric lock-wait --native -o locks.folded";

static const char refcount_doc[] =
"gilscope refcount: watch the reference counts of up to 4 objects with\n"
"hardware watchpoints (a debug trap and a BPF program on every write) and\n"
"report who writes them, how often, whether with the GIL held, and the\n"
"lost updates that the sequence of values shows.  The rest of the usual\n"
"report (GIL, locks) comes along.  The same section is added to any\n"
"gilscope run or recording given --object.\n"
"\v"
"OBJECTS: None, True, False (CPython's singletons); an address in hex or\n"
"decimal (what Python's id(obj) prints); or a data symbol,\n"
"[module:]symbol[+offset].  The reference count is the object's first\n"
"word (CPython's default builds, not free-threaded ones).\n"
"\n"
"EXAMPLES:\n"
"  sudo gilscope refcount -p 1234 --object None -d 5\n"
"  sudo gilscope refcount --object 140234567890 -- python3 app.py\n"
"  sudo gilscope refcount --object gildemo_objects -- gildemo --objects 1";

static const char report_doc[] =
"gilscope report: analyse a .gst recording; prints the report the live run\n"
"printed.  Needs no privileges.\n"
"\v"
"EXAMPLES:\n"
"  gilscope report run.gst\n"
"  gilscope report run.gst --json out.json";

enum {
	OPT_JSON = 1000,
	OPT_LOCKS,
	OPT_NO_STACKS,
	OPT_TOP,
	OPT_RINGBUF,
	OPT_FORCE,
	OPT_GIL,
	OPT_FORMAT,
	OPT_OBJECT,
	OPT_SUMMARY,
	OPT_PYTHON_LAYOUT,
	OPT_PYTHON_DEPTH,
	OPT_METRIC,
	OPT_NATIVE,
};

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Trace this process (all its threads)", 0 },
	{ "duration", 'd', "SEC", 0, "Stop after SEC seconds (default: Ctrl-C or target exit)", 0 },
	{ "json", OPT_JSON, "FILE", 0, "Also write the report as JSON to FILE", 0 },
	{ "output", 'o', "FILE", 0, "Record the events to FILE (.gst) as well; "
	  "export: the file to write", 0 },
	{ "format", OPT_FORMAT, "FMT", 0, "export: perfetto (Chrome JSON), csv, svg or folded "
	  "(flame graph stacks of Python code, with --metric)", 0 },
	{ "metric", OPT_METRIC, "M", 0, "export --format folded: gil-held (default), gil-wait "
	  "or lock-wait", 0 },
	{ "locks", OPT_LOCKS, "MODE", 0,
	  "contended (default): futex slow paths only, near-zero cost; all: also "
	  "uprobes on pthread_mutex_lock/unlock for every acquisition and hold "
	  "time (~0.6 us a call)", 0 },
	{ "gil", OPT_GIL, "MODE", 0,
	  "auto (default): trace the GIL of a CPython 3.8-3.15 or gildemo target; "
	  "off: locks only; require: fail unless the target has a GIL gilscope knows", 0 },
	{ "python-layout", OPT_PYTHON_LAYOUT, "MODE", 0,
	  "exact (default): a CPython newer than 3.15 is traced as a plain program; "
	  "nearest: try the newest known layout on it, used only if it checks out "
	  "against the live process (the report says so)", 0 },
	{ "python-depth", OPT_PYTHON_DEPTH, "N", 0,
	  "Python frames read per stack, innermost first (1-32, default 32; 0: none)", 0 },
	{ "object", OPT_OBJECT, "OBJ[,OBJ]", 0, "Watch these objects' reference counts "
	  "(up to 4): None, True, False, an address (id()), or [module:]symbol[+off]; "
	  "see gilscope refcount --help", 0 },
	{ "summary", OPT_SUMMARY, NULL, 0, "Analyse in BPF, into maps, and stream no "
	  "events: the same tables at the lowest cost, for the hottest targets "
	  "(percentiles within 3.1%; no timeline, no recording)", 0 },
	{ "no-stacks", OPT_NO_STACKS, NULL, 0, "Do not capture waiters' user stacks", 0 },
	{ "top", OPT_TOP, "N", 0, "Call sites shown per lock (default 5)", 0 },
	{ "native", OPT_NATIVE, NULL, 0, "Text report: a lock's Python call sites as mixed "
	  "stacks (native frames, the Python ones in place of the eval loop's; alone by "
	  "default); export --format folded --metric lock-wait: the same", 0 },
	{ "ringbuf-mb", OPT_RINGBUF, "MB", 0, "Ring buffer size, a power of 2 (default 16)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "Overwrite existing output files", 0 },
	{ "verbose", 'v', NULL, 0, "Print libbpf's debug output", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 },
	{},
};

static long parse_long(const char *arg, long lo, long hi, const char *what,
		       struct argp_state *state)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < lo || v > hi)
		argp_error(state, "invalid %s '%s': expected an integer in %ld..%ld",
			   what, arg, lo, hi);
	return v;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct env *env = state->input;
	char *end;

	switch (key) {
	case 'p':
		env->pid = parse_long(arg, 1, INT_MAX, "PID", state);
		if (env->pid == 1)
			argp_error(state, "refusing to trace PID 1 (init): pick the process you mean");
		break;
	case 'd':
		errno = 0;
		env->duration = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(env->duration) ||
		    env->duration <= 0 || env->duration > 86400 * 365)
			argp_error(state, "invalid duration '%s': expected seconds > 0", arg);
		break;
	case OPT_FORMAT:
		if (strcmp(arg, "perfetto") && strcmp(arg, "csv") && strcmp(arg, "svg") &&
		    strcmp(arg, "folded"))
			argp_error(state, "invalid --format '%s': expected perfetto, csv, svg or "
				   "folded", arg);
		env->format = arg;
		break;
	case 'o':
		if (!*arg)
			argp_error(state, "-o needs a file name");
		env->output = arg;
		break;
	case OPT_JSON:
		if (!*arg)
			argp_error(state, "--json needs a file name");
		env->json_path = arg;
		break;
	case OPT_LOCKS:
		if (!env->live_only)
			env->live_only = "--locks";
		if (!strcmp(arg, "all"))
			env->mutex_probes = true;
		else if (!strcmp(arg, "contended"))
			env->mutex_probes = false;
		else
			argp_error(state, "invalid --locks '%s': expected 'contended' or 'all'", arg);
		break;
	case OPT_GIL:
		if (!env->live_only)
			env->live_only = "--gil";
		if (!strcmp(arg, "auto"))
			env->gil = GIL_AUTO;
		else if (!strcmp(arg, "off"))
			env->gil = GIL_OFF;
		else if (!strcmp(arg, "require"))
			env->gil = GIL_REQUIRE;
		else
			argp_error(state, "invalid --gil '%s': expected auto, off or require", arg);
		break;
	case OPT_PYTHON_LAYOUT:
		if (!env->live_only)
			env->live_only = "--python-layout";
		if (!strcmp(arg, "exact"))
			env->python_layout = GIL_LAYOUT_EXACT;
		else if (!strcmp(arg, "nearest"))
			env->python_layout = GIL_LAYOUT_NEAREST;
		else
			argp_error(state, "invalid --python-layout '%s': expected exact or "
				   "nearest", arg);
		break;
	case OPT_METRIC:
		if (strcmp(arg, "gil-held") && strcmp(arg, "gil-wait") && strcmp(arg, "lock-wait"))
			argp_error(state, "invalid --metric '%s': expected gil-held, gil-wait or "
				   "lock-wait", arg);
		env->metric = arg;
		break;
	case OPT_PYTHON_DEPTH:
		if (!env->live_only)
			env->live_only = "--python-depth";
		env->py_depth = parse_long(arg, 0, GS_PY_FRAMES, "--python-depth", state);
		break;
	case OPT_OBJECT: {
		char *spec;

		while ((spec = strsep(&arg, ",")) != NULL) {
			if (!*spec)
				argp_error(state, "--object: empty object name");
			if (env->nr_objects == GS_MAX_WATCH)
				argp_error(state, "--object: at most %d objects (the CPU has %d "
					   "debug registers)", GS_MAX_WATCH, GS_MAX_WATCH);
			env->objects[env->nr_objects++] = spec;
		}
		break;
	}
	case OPT_NO_STACKS:
		if (!env->live_only)
			env->live_only = "--no-stacks";
		env->stacks = false;
		break;
	case OPT_NATIVE:
		env->native = true;
		break;
	case OPT_TOP:
		env->top_given = true;
		env->top = parse_long(arg, 0, 1000, "--top", state);
		break;
	case OPT_RINGBUF:
		if (!env->live_only)
			env->live_only = "--ringbuf-mb";
		env->ringbuf_mb = parse_long(arg, 1, 1024, "--ringbuf-mb", state);
		if (env->ringbuf_mb & (env->ringbuf_mb - 1))
			argp_error(state, "invalid --ringbuf-mb %d: must be a power of 2",
				   env->ringbuf_mb);
		break;
	case OPT_FORCE:
		env->force = true;
		break;
	case OPT_SUMMARY:
		env->summary = true;
		break;
	case 'v':
		env->verbose = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		if (env->mode == MODE_REPORT || env->mode == MODE_EXPORT) {
			if (env->input)
				argp_error(state, "one trace file at a time: '%s' is extra", arg);
			env->input = arg;
			break;
		}
		return ARGP_ERR_UNKNOWN;
	case ARGP_KEY_ARGS:
		env->cmd = state->argv + state->next;
		env->cmd_argc = state->argc - state->next;
		break;
	case ARGP_KEY_END:
		if (env->mode == MODE_EXPORT) {
			if (!env->input)
				argp_error(state, "export needs a trace file: gilscope export FILE.gst "
					   "--format perfetto -o OUT");
			if (!env->format || !env->output)
				argp_error(state, "export needs --format perfetto|csv|svg|folded and -o OUT");
			if (env->metric && strcmp(env->format, "folded"))
				argp_error(state, "--metric belongs to --format folded (flame graph stacks)");
			/* only lock waits have native stacks */
			if (env->native && (strcmp(env->format, "folded") || !env->metric ||
					    strcmp(env->metric, "lock-wait")))
				argp_error(state, "--native in export belongs to --format folded "
					   "--metric lock-wait (only lock waits have native stacks)");
			if (env->pid || env->cmd || env->duration > 0 || env->nr_objects)
				argp_error(state, "export reads a recording: -p, -d, --object and a command "
					   "belong to 'gilscope record'");
			if (env->live_only)
				argp_error(state, "%s belongs to a live run: a recording already says "
					   "how it was made", env->live_only);
			if (env->json_path || env->top_given)
				argp_error(state, "%s belongs to 'gilscope report': export writes -o "
					   "only", env->json_path ? "--json" : "--top");
			break;
		}
		if (env->format || env->metric)
			argp_error(state, "%s belongs to 'gilscope export'",
				   env->format ? "--format" : "--metric");
		if (env->summary && env->nr_objects)
			argp_error(state, "--summary cannot watch objects: a refcount's lost "
				   "updates need every write; drop --summary or --object");
		if (env->summary && (env->mode != MODE_TRACE || env->output))
			argp_error(state, "--summary streams no events, so there is nothing to "
				   "record, replay or export: drop --summary, or -o");
		if (env->nr_objects && env->mode == MODE_REPORT)
			argp_error(state, "--object belongs to a live run: the recording says "
				   "what was watched");
		if (env->mode == MODE_REFCOUNT && !env->nr_objects)
			argp_error(state, "refcount needs --object: e.g. --object None, or an "
				   "address from id(obj)");
		if (env->mode == MODE_REPORT) {
			if (!env->input)
				argp_error(state, "report needs a trace file: gilscope report FILE.gst");
			if (env->pid || env->cmd || env->duration > 0 || env->output)
				argp_error(state, "report reads a recording: -p, -d, -o and a command "
					   "belong to 'gilscope record'");
			if (env->live_only)
				argp_error(state, "%s belongs to a live run: a recording already says "
					   "how it was made", env->live_only);
			break;
		}
		if (env->mode == MODE_RECORD && !env->output)
			argp_error(state, "record needs -o FILE.gst");
		if (env->pid && env->cmd)
			argp_error(state, "-p and a command are exclusive: trace one or the other");
		if (!env->pid && !env->cmd)
			argp_error(state, "nothing to trace: give -p PID or -- CMD");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

void options_parse(int argc, char **argv, struct env *env, int mode)
{
	struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.args_doc = args_doc,
		.doc = doc,
	};

	if (mode == MODE_RECORD) {
		argp.doc = record_doc;
		argp.args_doc = "-o FILE.gst (-p PID | -- CMD [ARGS...])";
	} else if (mode == MODE_REPORT) {
		argp.doc = report_doc;
		argp.args_doc = "FILE.gst";
	} else if (mode == MODE_REFCOUNT) {
		argp.doc = refcount_doc;
		argp.args_doc = "--object OBJ[,OBJ] (-p PID | -- CMD [ARGS...])";
	} else if (mode == MODE_EXPORT) {
		argp.doc = export_doc;
		argp.args_doc = "FILE.gst --format perfetto|csv|svg -o OUT";
	}
	memset(env, 0, sizeof(*env));
	env->mode = mode;
	env->stacks = true;
	env->top = 5;
	/*
	 * Every frame BPF can keep: a frame costs BPF 0.10-0.15 us on top of
	 * ~3 us a stack (tests/bench/bench.py --only pystack: 6-8 us a stack
	 * at 32 on a 2-CPU VM).  At the 800-1800 stacks a second that fib in 4
	 * threads and a ThreadingHTTPServer read, that is 0.5-1.4% of a CPU in
	 * BPF, the frames past 8 0.2-0.6%: well inside the 1.03x and 1.05x
	 * targets, so a shallower default would save little and cut stacks.
	 */
	env->py_depth = GS_PY_FRAMES;
	env->ringbuf_mb = 16;
	/* argp_error exits with argp_err_exit_status (64): make it 2 */
	argp_err_exit_status = 2;
	argp_parse(&argp, argc, argv, 0, NULL, env);
}
