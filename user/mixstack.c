// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "mixstack.h"
#include "names.h"
#include "pystacks.h"
#include "report_py.h"	/* PY_GC_FRAME */

/* Whether @sym, @len bytes long, is one of @list. */
static bool one_of(const char *sym, size_t len, const char *const *list, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (strlen(list[i]) == len && !memcmp(sym, list[i], len))
			return true;
	return false;
}

enum mix_role mixstack_role(const char *name)
{
	/* exported (the JIT and debuggers call them), so named in a
	 * stripped build's .dynsym too */
	static const char *const eval[] = { "_PyEval_EvalFrameDefault" };
	static const char *const wrappers[] = {
		"PyEval_EvalFrameEx", "PyEval_EvalFrame", "_PyEval_EvalFrame",
	};
	const char *sym;
	size_t len;

	if (!strcmp(name, "[unknown]"))
		return MIX_ROLE_UNKNOWN;
	sym = strchr(name, ':');
	if (!sym)		/* "module+0x1234": no symbol holds it */
		return MIX_ROLE_NATIVE;
	sym++;
	/* up to the offset, a clone's suffix or a version */
	len = strcspn(sym, "+.@");
	if (one_of(sym, len, eval, sizeof(eval) / sizeof(eval[0])))
		return MIX_ROLE_EVAL;
	if (one_of(sym, len, wrappers, sizeof(wrappers) / sizeof(wrappers[0])))
		return MIX_ROLE_EVAL_WRAPPER;
	return MIX_ROLE_NATIVE;
}

static void put(struct mix_frame *out, size_t *k, uint32_t kind, uint32_t idx)
{
	if (*k < MIX_MAX_FRAMES) {
		out[*k].kind = kind;
		out[*k].idx = idx;
		(*k)++;
	}
}

/* The Python frames one eval-loop call ran, from *@pi: up to the one that
 * ends its call, or to the last (a stack without the marks: a recording
 * of 3.11 made before them).  The collector's mark goes before the first. */
static void python_run(const struct py_stack *py, uint32_t *pi, bool *gc,
		       struct mix_frame *out, size_t *k)
{
	if (*gc) {
		put(out, k, MIX_GC, 0);
		*gc = false;
	}
	while (*pi < py->nr) {
		bool end = py->f[*pi].instr & PY_FRAME_EVAL_END;

		put(out, k, MIX_PYTHON, (*pi)++);
		if (end)
			break;
	}
}

static bool is_eval(uint8_t role)
{
	return role == MIX_ROLE_EVAL || role == MIX_ROLE_EVAL_WRAPPER;
}

size_t mixstack_merge(const uint8_t *role, uint32_t nr, const struct py_stack *py,
		      struct mix_frame *out)
{
	uint32_t np = py ? py->nr : 0, pi = 0;
	bool gc = py && (py->flags & GS_PY_IN_GC);
	size_t k = 0;

	if (nr > GS_MAX_FRAMES)
		nr = GS_MAX_FRAMES;
	if (np > GS_PY_FRAMES)
		np = GS_PY_FRAMES;
	for (uint32_t i = 0; i < nr && role[i] != MIX_ROLE_UNKNOWN; i++) {
		/* a wrapper that called the eval loop is part of that call */
		if (role[i] == MIX_ROLE_EVAL_WRAPPER && i && is_eval(role[i - 1]))
			continue;
		/* an eval loop with nothing left to have run (no Python
		 * stack, or one cut at --python-depth) stays as it is */
		if (is_eval(role[i]) && pi < np)
			python_run(py, &pi, &gc, out, &k);
		else
			put(out, &k, MIX_NATIVE, i);
	}
	if (pi < np)
		put(out, &k, MIX_CUT_SHORT, 0);
	if (gc)
		put(out, &k, MIX_GC, 0);
	while (pi < np)
		put(out, &k, MIX_PYTHON, pi++);
	return k;
}

size_t mixstack(struct names *n, const uint64_t *frames, uint32_t nr,
		const struct py_stack *py, struct mix_frame *out)
{
	uint8_t role[GS_MAX_FRAMES];

	if (nr > GS_MAX_FRAMES)
		nr = GS_MAX_FRAMES;
	for (uint32_t i = 0; i < nr; i++)
		role[i] = mixstack_role(names__code(n, frames[i]));
	return mixstack_merge(role, nr, py, out);
}

const char *mixstack_name(struct names *n, const uint64_t *frames, const struct py_stack *py,
			  const struct mix_frame *f)
{
	switch (f->kind) {
	case MIX_NATIVE:
		return names__code(n, frames[f->idx]);
	case MIX_PYTHON:
		return names__pyframe(n, py->f[f->idx].code, py->f[f->idx].instr);
	case MIX_GC:
		return PY_GC_FRAME;
	default:
		return MIX_CUT_SHORT_FRAME;
	}
}
