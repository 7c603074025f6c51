/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Mixed stacks, as py-spy --native draws them: a waiter's native frames,
 * innermost first, with each C frame of the interpreter's eval loop
 * replaced by the Python frames it ran, and the C frames around them
 * (a C extension's, the interpreter's own C functions, libc's) kept.
 *
 * Before 3.11 one eval-loop call runs one Python frame; from 3.11 on one
 * call runs several (Python-to-Python calls do not recurse in C), the
 * last of them marked PY_FRAME_EVAL_END by pystacks (3.11's is_entry,
 * 3.12+'s C-stack entry frames).
 *
 * Native stacks here are walked by frame pointers, which distro Pythons
 * and libcs do not keep: they usually end a few frames in, long before
 * the eval loop.  The Python frames not placed by then follow the native
 * ones after a MIX_CUT_SHORT marker ("[native stack cut short]"): a
 * merge never drops a Python frame, nor makes one up.  A native frame in
 * no mapped file ("[unknown]": a frame-pointer walk gone astray, in all
 * likelihood) ends the native part as its end would.
 */
#ifndef MIXSTACK_H
#define MIXSTACK_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "gilscope.h"

struct names;
struct py_stack;

#define MIX_CUT_SHORT_FRAME	"[native stack cut short]"

/* What a native frame is to the merge, by its function's name. */
enum mix_role {
	MIX_ROLE_NATIVE = 0,	/* kept as it is */
	MIX_ROLE_EVAL = 1,	/* _PyEval_EvalFrameDefault: the eval loop */
	MIX_ROLE_EVAL_WRAPPER = 2, /* PyEval_EvalFrameEx, (_)PyEval_EvalFrame: the eval
				 * loop's own wrappers (the loop itself before 3.6);
				 * part of the eval call it calls, if it calls one */
	MIX_ROLE_UNKNOWN = 3,	/* in no mapped file: the native stack ends here */
};

/* A names__code() name ("python3.11:_PyEval_EvalFrameDefault+0x1ab",
 * "libc.so.6+0x85f16", "[unknown]") as a role; a GCC clone's suffix
 * (".cold", ".part.0") and a symbol version ("@@V") are no part of it. */
enum mix_role mixstack_role(const char *name);

enum mix_kind {
	MIX_NATIVE = 1,		/* idx: the native frame */
	MIX_PYTHON = 2,		/* idx: the Python stack's frame */
	MIX_GC = 3,		/* "[garbage collection]": the Python stack was
				 * caught inside the collector (GS_PY_IN_GC) */
	MIX_CUT_SHORT = 4,	/* the native stack ended before the Python
				 * frames did: those after it are the rest */
};

struct mix_frame {
	uint32_t kind;		/* enum mix_kind */
	uint32_t idx;
};

/* Room for every frame a merge can give: all native and Python frames,
 * the collector's and the marker. */
#define MIX_MAX_FRAMES	(GS_MAX_FRAMES + GS_PY_FRAMES + 2)

/*
 * Merges @nr native frames, innermost first, whose roles are @role[],
 * with @py (NULL: none) into @out (room for MIX_MAX_FRAMES); returns how
 * many.  Without Python frames the native frames are kept as they are,
 * an eval loop's too; without native frames it is the marker and every
 * Python frame.
 */
size_t mixstack_merge(const uint8_t *role, uint32_t nr, const struct py_stack *py,
		      struct mix_frame *out);

/* The same, the native frames' roles found by their names in @n. */
size_t mixstack(struct names *n, const uint64_t *frames, uint32_t nr,
		const struct py_stack *py, struct mix_frame *out);

/* The name a report prints for @f, of a merge of @frames and @py. */
const char *mixstack_name(struct names *n, const uint64_t *frames, const struct py_stack *py,
			  const struct mix_frame *f);

#endif
