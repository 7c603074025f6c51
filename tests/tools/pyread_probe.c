// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pyread_probe: the Python stack of one thread of a live CPython, walked
 * from outside with the BPF side's own walk (bpf/py_walk.h, reading with
 * process_vm_readv) and named by user/pyread.c: the ground-truth check of
 * tests/integration/test_pyread.py.
 *
 *   pyread_probe PID		the GIL's last holder
 *   pyread_probe PID IDENT	the thread whose threading.get_ident() is IDENT
 *   pyread_probe -b N PID ...	also times N walks + namings (cold and cached)
 *   pyread_probe -v PID ...	also each frame's code, instr and error
 *   pyread_probe -s PID ...	each frame's first local too (the walk
 *				keeps it for the innermost GS_PY_SELF_FRAMES)
 *
 * Prints "python 3.X", then one line a frame, innermost first:
 * "qualname (path:line)" or "[unknown]"; with -s followed by
 * " self=0x..." where the walk kept the frame's first local (0x0: NULL
 * or unreadable).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "gil_profile.h"
#include "proc.h"
#include "pyread.h"

static pid_t target;
#define GS_PY_READ(dst, len, addr) proc_read_mem(target, (addr), (dst), (len))
#include "py_walk.h"

#define MAX_THREADS	4096

/* The PyThreadState whose thread_id (pthread_self) is @ident, or 0 */
static uint64_t find_tstate(struct pyread *r, uint64_t ident)
{
	const struct py_layout *l = pyread__layout(r);
	uint64_t interp = pyread__interp(r), ts = 0, id;

	if (!interp || pyread__read(r, interp + l->is_threads_head, &ts, sizeof(ts)))
		return 0;
	for (int n = 0; ts && n < MAX_THREADS; n++) {
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
				if (!(f[k].instr & GS_PY_ENTRY_FRAME))
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

int main(int argc, char **argv)
{
	struct gs_py_frame f[GS_PY_FRAMES];
	__u64 self[GS_PY_SELF_FRAMES];
	struct gil_location g;
	struct gs_py_config c;
	struct pyread *r = NULL;
	uint64_t tstate;
	char why[256], name[512];
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
	if (optind >= argc) {
		fprintf(stderr, "usage: pyread_probe [-b N] [-s] [-v] PID [IDENT]\n");
		return 2;
	}
	target = atoi(argv[optind]);
	err = gil_find(target, NULL, &g, why, sizeof(why));
	if (err || !g.runtime) {
		fprintf(stderr, "pyread_probe: no CPython GIL in %d: %s\n", target, why);
		return 1;
	}
	err = pyread__new(target, g.py_major, g.py_minor, g.runtime, &r, why, sizeof(why));
	if (err) {
		fprintf(stderr, "pyread_probe: %s\n", why);
		return 1;
	}
	if (optind + 1 < argc) {
		tstate = find_tstate(r, strtoull(argv[optind + 1], NULL, 0));
	} else if (proc_read_mem(target, g.last_holder, &tstate, sizeof(tstate))) {
		tstate = 0;
	}
	if (!tstate) {
		fprintf(stderr, "pyread_probe: no such thread state in %d\n", target);
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
		/* the interpreter's entry frames carry no Python code: the walk
		 * marks them, its users drop them (as pystacks.c does) */
		if (f[i].instr & GS_PY_ENTRY_FRAME)
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
		fprintf(stderr, "pyread_probe: walk flags 0x%x\n", flags);
	if (nbench > 0)
		bench(r, &g, tstate, nbench);
	pyread__free(r);
	return 0;
}
