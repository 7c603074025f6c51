// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyprobe: what user/pyread.c reads of a live CPython from outside, the
 * ground-truth checks of tests/integration/test_pyread.py (frames) and
 * test_pythreads.py (threads).  Both modes find the GIL and open a
 * reader on the runtime as gilscope does.
 *
 *   pyprobe frames PID		the GIL's last holder's Python stack
 *   pyprobe frames PID IDENT	the stack of the thread whose
 *				threading.get_ident() is IDENT
 *   pyprobe frames -b N PID ...	also times N walks + namings (cold and cached)
 *   pyprobe frames -v PID ...	also each frame's code, instr and error
 *   pyprobe frames -s PID ...	each frame's first local too (the walk
 *				keeps it for the innermost GS_PY_SELF_FRAMES):
 *				" self=0x..." (0x0: NULL or unreadable)
 *   pyprobe threads PID		the Python names of its threads
 *
 * frames walks with the BPF side's own walk (bpf/py_walk.h, reading with
 * process_vm_readv) and prints "python 3.X", then one line a frame,
 * innermost first: "qualname (path:line)" or "[unknown]".
 *
 * threads reads with user/pyread_threads.c and prints
 * {"python": "3.X", "threads": {"TID": "NAME", ...}}.
 *
 * Exits 0, 1 naming what failed on stderr, or 2 on bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gil_profile.h"
#include "json.h"
#include "proc.h"
#include "pyread.h"

static pid_t target;
#define GS_PY_READ(dst, len, addr) proc_read_mem(target, (addr), (dst), (len))
#include "py_walk.h"

#define MAX_TSTATES	4096	/* a bound on the thread-state list walk */
#define MAX_NAMES	1024	/* thread names read */

#define USAGE	"usage: pyprobe frames [-b N] [-s] [-v] PID [IDENT]\n" \
		"       pyprobe threads PID\n"

/* The set-up both modes share: the GIL of @target found, a reader on its
 * runtime opened.  0, or 1 with what failed on stderr. */
static int open_reader(struct gil_location *g, struct pyread **r)
{
	char why[256];
	int err;

	err = gil_find(target, NULL, g, why, sizeof(why));
	if (err || !g->runtime) {
		fprintf(stderr, "pyprobe: no CPython GIL in %d: %s\n", target, why);
		return 1;
	}
	err = pyread__new(target, g->py_major, g->py_minor, g->runtime, r, why, sizeof(why));
	if (err) {
		fprintf(stderr, "pyprobe: %s\n", why);
		return 1;
	}
	return 0;
}

static int parse_pid(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT32_MAX)
		return -1;
	target = v;
	return 0;
}

/* ---- frames ---- */

/* The PyThreadState whose thread_id (pthread_self) is @ident, or 0 */
static uint64_t find_tstate(struct pyread *r, uint64_t ident)
{
	const struct py_layout *l = pyread__layout(r);
	uint64_t interp = pyread__interp(r), ts = 0, id;

	if (!interp || pyread__read(r, interp + l->is_threads_head, &ts, sizeof(ts)))
		return 0;
	for (int n = 0; ts && n < MAX_TSTATES; n++) {
		if (pyread__read(r, ts + l->ts_thread_id, &id, sizeof(id)))
			return 0;
		if (id == ident)
			return ts;
		if (pyread__read(r, ts + l->ts_next, &ts, sizeof(ts)))
			return 0;
	}
	return 0;
}

/* -v: every frame of the chain as it is, entry frames included */
static void dump_chain(struct pyread *r, uint64_t tstate)
{
	const struct gs_py_config *c = &pyread__layout(r)->walk;
	uint64_t frame = 0, code = 0;
	uint8_t owner = 0;

	if (pyread__read(r, tstate + c->ts_frame, &frame, sizeof(frame)))
		return;
	if (c->ts_cframe_frame >= 0 && frame &&
	    pyread__read(r, frame + c->ts_cframe_frame, &frame, sizeof(frame)))
		return;
	for (int n = 0; frame && n < 2 * GS_PY_FRAMES; n++) {
		pyread__read(r, frame + c->fr_code, &code, sizeof(code));
		if (c->owner_mask)
			pyread__read(r, frame + c->fr_owner, &owner, 1);
		fprintf(stderr, "frame 0x%llx executable 0x%llx owner %u\n",
			(unsigned long long)frame, (unsigned long long)code, owner);
		if (pyread__read(r, frame + c->fr_previous, &frame, sizeof(frame)))
			return;
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Times @n walks, each naming every frame: with a new reader each time
 * (cold: every code object read) and with one kept (warm: cache hits). */
static void bench(struct pyread *r0, const struct gil_location *g, uint64_t tstate, int n)
{
	struct gs_py_config c = pyread__layout(r0)->walk;
	struct gs_py_frame f[GS_PY_FRAMES];
	__u64 self[GS_PY_SELF_FRAMES];
	uint32_t flags, nr = 0, total = 0;
	char name[512];
	double t0;

	c.depth = GS_PY_FRAMES;
	for (int warm = 0; warm < 2; warm++) {
		t0 = now_us();
		total = 0;
		for (int i = 0; i < n; i++) {
			struct pyread *r = r0;

			if (!warm && pyread__new(target, g->py_major, g->py_minor, g->runtime,
						 &r, name, sizeof(name)))
				return;
			flags = 0;
			nr = gs_py_walk(&c, tstate, f, self, &flags);
			for (uint32_t k = 0; k < nr; k++)
				if (!(f[k].instr & GS_PY_ENTRY_FRAME) || g->py_minor == 11)
					pyread__frame(r, f[k].code, GS_PY_INSTR(f[k].instr),
						      name, sizeof(name));
			total += nr;
			if (!warm)
				pyread__free(r);
		}
		fprintf(stderr, "%s: %.2f us a stack of %u frames, %.2f us a frame\n",
			warm ? "cached" : "cold", (now_us() - t0) / n, nr,
			total ? (now_us() - t0) / total : 0);
	}
}

static int frames(int argc, char **argv)
{
	struct gs_py_frame f[GS_PY_FRAMES];
	__u64 self[GS_PY_SELF_FRAMES];
	struct gil_location g;
	struct gs_py_config c;
	struct pyread *r = NULL;
	uint64_t tstate;
	char name[512];
	uint32_t flags = 0, nr;
	int err, opt, nbench = 0, verbose = 0, selves = 0;

	while ((opt = getopt(argc, argv, "b:sv")) != -1) {
		if (opt == 'b')
			nbench = atoi(optarg);
		else if (opt == 's')
			selves = 1;
		else if (opt == 'v')
			verbose = 1;
		else
			return 2;
	}
	if (optind >= argc || parse_pid(argv[optind])) {
		fprintf(stderr, USAGE);
		return 2;
	}
	if (open_reader(&g, &r))
		return 1;
	if (optind + 1 < argc) {
		tstate = find_tstate(r, strtoull(argv[optind + 1], NULL, 0));
	} else if (proc_read_mem(target, g.last_holder, &tstate, sizeof(tstate))) {
		tstate = 0;
	}
	if (!tstate) {
		fprintf(stderr, "pyprobe: no such thread state in %d\n", target);
		pyread__free(r);
		return 1;
	}
	printf("python %d.%d\n", g.py_major, g.py_minor);
	if (verbose)
		dump_chain(r, tstate);
	c = pyread__layout(r)->walk;
	c.depth = GS_PY_FRAMES;
	nr = gs_py_walk(&c, tstate, f, self, &flags);
	for (uint32_t i = 0; i < nr; i++) {
		/* the interpreter's entry frames (3.12+) carry no Python code:
		 * the walk marks them, its users drop them (as pystacks.c
		 * does); 3.11's marks are on frames of code (is_entry) */
		if ((f[i].instr & GS_PY_ENTRY_FRAME) && g.py_minor != 11)
			continue;
		err = pyread__frame(r, f[i].code, GS_PY_INSTR(f[i].instr), name, sizeof(name));
		if (verbose)
			fprintf(stderr, "code 0x%llx instr 0x%llx: %d\n",
				(unsigned long long)f[i].code, (unsigned long long)f[i].instr, err);
		if (selves && i < GS_PY_SELF_FRAMES)
			printf("%s self=0x%llx\n", name, (unsigned long long)self[i]);
		else
			printf("%s\n", name);
	}
	if (flags)
		fprintf(stderr, "pyprobe: walk flags 0x%x\n", flags);
	if (nbench > 0)
		bench(r, &g, tstate, nbench);
	pyread__free(r);
	return 0;
}

/* ---- threads ---- */

static int threads(int argc, char **argv)
{
	static struct py_thread_name t[MAX_NAMES];
	struct gil_location g;
	struct pyread *r = NULL;
	struct json j;
	char buf[32];
	int n;

	if (argc != 2 || parse_pid(argv[1])) {
		fprintf(stderr, USAGE);
		return 2;
	}
	if (open_reader(&g, &r))
		return 1;
	n = pyread__thread_names(r, t, MAX_NAMES);
	pyread__free(r);
	if (n < 0) {
		fprintf(stderr, "pyprobe: cannot read the thread names of %d: %s\n",
			target, strerror(-n));
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

int main(int argc, char **argv)
{
	/* the mode's own arguments, argv[0] the mode, as getopt wants */
	if (argc >= 2 && !strcmp(argv[1], "frames"))
		return frames(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "threads"))
		return threads(argc - 1, argv + 1);
	fprintf(stderr, USAGE);
	return 2;
}
