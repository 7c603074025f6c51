// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Mixed stacks (user/mixstack.c): native frames with the Python frames in
 * place of the eval loop's, on hand-made stacks of each CPython shape,
 * and the entry marks pystacks turns into ends of eval-loop calls. */
#include <unistd.h>
#include "elf_syms.h"
#include "mixstack.h"
#include "names.h"
#include "pyread.h"
#include "pystacks.h"
#include "testlib.h"

/* Native roles, one letter a frame: n native, E eval loop, W a wrapper, U unknown. */
static uint32_t roles(const char *s, uint8_t *out)
{
	uint32_t n = 0;

	for (; *s; s++)
		out[n++] = *s == 'E' ? MIX_ROLE_EVAL : *s == 'W' ? MIX_ROLE_EVAL_WRAPPER :
			   *s == 'U' ? MIX_ROLE_UNKNOWN : MIX_ROLE_NATIVE;
	return n;
}

/* A merge as "n0 p0 p1 | p2": native frames by index, Python frames by
 * index, '|' the cut-short marker, 'g' the collector's frame. */
static const char *shape(const struct mix_frame *m, size_t nr, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < nr && off < len; i++) {
		const char *sep = i ? " " : "";

		switch (m[i].kind) {
		case MIX_NATIVE:
			off += snprintf(buf + off, len - off, "%sn%u", sep, m[i].idx);
			break;
		case MIX_PYTHON:
			off += snprintf(buf + off, len - off, "%sp%u", sep, m[i].idx);
			break;
		case MIX_GC:
			off += snprintf(buf + off, len - off, "%sg", sep);
			break;
		default:
			off += snprintf(buf + off, len - off, "%s|", sep);
		}
	}
	return buf;
}

/* A GS_EV_PY_STACK record, one frame a letter of @marks: '.' a frame of
 * code, 'e' one the walk marked as an entry frame (GS_PY_ENTRY_FRAME),
 * 's' a C-stack entry frame (marked too; 3.12+). */
static void py_event(struct gs_py_stack_event *e, const char *marks)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = GS_EV_PY_STACK;
	e->kind = GS_PY_LOCK_WAIT;
	for (uint32_t i = 0; marks[i]; i++) {
		uint64_t code = 0x10000 * (uint64_t)(i + 1);

		e->frames[i].code = code;
		e->frames[i].instr = code + 0x40;
		if (marks[i] == 'e' || marks[i] == 's')
			e->frames[i].instr |= GS_PY_ENTRY_FRAME;
		e->nr_frames++;
	}
}

/* Interns @marks (see py_event) as CPython 3.@minor's walk gave them. */
static const struct py_stack *intern(struct pystacks *p, int minor, const char *marks,
				     uint32_t flags)
{
	struct gs_py_stack_event e;

	memset(p, 0, sizeof(*p));
	pystacks__set_python(p, 3, minor);
	py_event(&e, marks);
	e.flags = flags;
	return pystacks__get(p, pystacks__intern(p, &e));
}

static const char *merge(const char *native, const struct py_stack *py, char *buf, size_t len)
{
	struct mix_frame m[MIX_MAX_FRAMES];
	uint8_t role[GS_MAX_FRAMES];
	uint32_t nr = roles(native, role);

	return shape(m, mixstack_merge(role, nr, py, m), buf, len);
}

/* Which frames end an eval-loop call, as "1 0 1": per kept frame. */
static const char *ends(const struct py_stack *s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (uint32_t i = 0; i < s->nr && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%d", i ? " " : "",
				!!(s->f[i].instr & PY_FRAME_EVAL_END));
	return buf;
}

TEST(mixstack_roles_by_name)
{
	CHECK_I64(mixstack_role("python3.11:_PyEval_EvalFrameDefault+0x1ab"), MIX_ROLE_EVAL);
	CHECK_I64(mixstack_role("python3.11:_PyEval_EvalFrameDefault"), MIX_ROLE_EVAL);
	CHECK_I64(mixstack_role("libpython3.12.so.1.0:_PyEval_EvalFrameDefault.cold+0x2f"),
		  MIX_ROLE_EVAL);
	CHECK_I64(mixstack_role("python3.11:PyEval_EvalFrameEx+0x5"), MIX_ROLE_EVAL_WRAPPER);
	CHECK_I64(mixstack_role("libpython3.8.so.1.0:_PyEval_EvalFrame+0x5"),
		  MIX_ROLE_EVAL_WRAPPER);
	CHECK_I64(mixstack_role("python3.11:PyEval_EvalFrame+0x9"), MIX_ROLE_EVAL_WRAPPER);
	/* near names are other functions */
	CHECK_I64(mixstack_role("python3.11:PyEval_EvalCode+0x10"), MIX_ROLE_NATIVE);
	CHECK_I64(mixstack_role("python3.11:_PyEval_EvalFrameDefaultX+0x1"), MIX_ROLE_NATIVE);
	CHECK_I64(mixstack_role("python3.11:_PyEval_Vector+0x88"), MIX_ROLE_NATIVE);
	/* the module is no part of the name: only the symbol */
	CHECK_I64(mixstack_role("_PyEval_EvalFrameDefault+0x10"), MIX_ROLE_NATIVE);
	CHECK_I64(mixstack_role("libc.so.6+0x85f16"), MIX_ROLE_NATIVE);
	CHECK_I64(mixstack_role("libc.so.6:pthread_mutex_lock+0x90"), MIX_ROLE_NATIVE);
	CHECK_I64(mixstack_role("[unknown]"), MIX_ROLE_UNKNOWN);
}

/* Debian's stripped python3 exports the eval loop: its .dynsym names it,
 * and an address inside it is named so (as the symbolizer prints it). */
TEST(mixstack_eval_loop_in_stripped_python)
{
	const char *path = "/usr/bin/python3";
	struct elf_file *ef;
	struct elf_sym sym, at;
	char name[256];

	if (access(path, R_OK))
		SKIP("no %s", path);
	CHECK(elf_file__open(path, &ef) == 0);
	if (elf_file__find_sym(ef, "_PyEval_EvalFrameDefault", ELF_SYM_FUNC, &sym)) {
		elf_file__close(ef);
		SKIP("%s has no _PyEval_EvalFrameDefault (not a CPython 3.6+)", path);
	}
	CHECK(sym.size > 0x100);
	CHECK(elf_file__addr_to_sym(ef, sym.addr + 0x100, ELF_SYM_FUNC, &at) == 0);
	snprintf(name, sizeof(name), "python3:%s+0x100", at.name);
	CHECK_I64(mixstack_role(name), MIX_ROLE_EVAL);
	elf_file__close(ef);
}

/* 3.8 - 3.10: one eval-loop call a Python frame. */
TEST(mixstack_one_frame_an_eval_call)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, "...", 0);
	char buf[256];

	CHECK_STR(ends(s, buf, sizeof(buf)), "1 1 1");
	/* futex, PyThread_acquire_lock_timed, lock_PyThread_acquire_lock,
	 * eval, _PyFunction_Vectorcall, eval, PyEval_EvalCode, eval,
	 * pymain_run_python */
	CHECK_STR(merge("nnnEnEnEn", s, buf, sizeof(buf)), "n0 n1 n2 p0 n4 p1 n6 p2 n8");
	pystacks__free(&p);
}

/* 3.11: an eval-loop call runs the frames up to the one it entered with
 * (is_entry, kept: it is a frame of Python code). */
TEST(mixstack_311_entry_frames)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 11, ".e..e", 0);
	char buf[256];

	CHECK_U64(s->nr, 5);
	CHECK_STR(ends(s, buf, sizeof(buf)), "0 1 0 0 1");
	CHECK_STR(merge("nnEnnEn", s, buf, sizeof(buf)), "n0 n1 p0 p1 n3 n4 p2 p3 p4 n6");
	pystacks__free(&p);
}

/* 3.12+: the C-stack entry frame each call pushed (no code of its own)
 * is dropped, and the frame inside it ends the call; the native stack
 * ending before the Python frames do: the rest after the marker. */
TEST(mixstack_312_shim_frames)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 12, "..s.s..s", 0);
	char buf[256];

	CHECK_U64(s->nr, 5);
	CHECK_STR(ends(s, buf, sizeof(buf)), "0 1 1 0 1");
	CHECK_STR(merge("nEnEn", s, buf, sizeof(buf)), "n0 p0 p1 n2 p2 n4 | p3 p4");
	/* a version not known reads the marks as 3.12+'s */
	s = intern(&p, 0, "..s.s..s", 0);
	CHECK_STR(ends(s, buf, sizeof(buf)), "0 1 1 0 1");
	pystacks__free(&p);
}

/* The usual case here (no frame pointers): the native stack ends in the
 * interpreter's lock code, before any eval loop. */
TEST(mixstack_cut_short)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 11, "..e", 0);
	char buf[256];

	CHECK_STR(merge("nnn", s, buf, sizeof(buf)), "n0 n1 n2 | p0 p1 p2");
	/* a frame in no mapped file: the walk went astray, the native
	 * stack ends there */
	CHECK_STR(merge("nnUnEn", s, buf, sizeof(buf)), "n0 n1 | p0 p1 p2");
	pystacks__free(&p);
}

TEST(mixstack_no_python_stack)
{
	char buf[256];

	/* the eval loop stays as it is: nothing to put in its place */
	CHECK_STR(merge("nnEnE", NULL, buf, sizeof(buf)), "n0 n1 n2 n3 n4");
	CHECK_STR(merge("", NULL, buf, sizeof(buf)), "");
}

TEST(mixstack_no_native_stack)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, "..", 0);
	char buf[256];

	CHECK_STR(merge("", s, buf, sizeof(buf)), "| p0 p1");
	pystacks__free(&p);
}

/* Python frames used up first (a stack cut at --python-depth): the eval
 * loops left stay native frames. */
TEST(mixstack_python_frames_run_out)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, ".", 0);
	char buf[256];

	CHECK_STR(merge("EnEn", s, buf, sizeof(buf)), "p0 n1 n2 n3");
	pystacks__free(&p);
}

/* A wrapper that called the eval loop is part of its call; one that
 * called none stands for the eval loop (before 3.6 it was the loop). */
TEST(mixstack_eval_wrappers)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, "..", 0);
	char buf[256];

	CHECK_STR(merge("nEWWnW", s, buf, sizeof(buf)), "n0 p0 n4 p1");
	pystacks__free(&p);
}

/* Caught inside the garbage collector: its frame comes before the first
 * Python frame, wherever that goes. */
TEST(mixstack_garbage_collection)
{
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, ".", GS_PY_IN_GC);
	char buf[256];

	CHECK_STR(merge("nEn", s, buf, sizeof(buf)), "n0 g p0 n2");
	CHECK_STR(merge("n", s, buf, sizeof(buf)), "n0 | g p0");
	pystacks__free(&p);
}

/* Stacks of the same frames whose calls end elsewhere are two stacks. */
TEST(mixstack_ends_are_identity)
{
	struct gs_py_stack_event a, b;
	struct pystacks p = {0};
	int ia, ib;

	pystacks__set_python(&p, 3, 11);
	py_event(&a, ".e.");
	py_event(&b, "..e");
	ia = pystacks__intern(&p, &a);
	ib = pystacks__intern(&p, &b);
	CHECK(ia >= 0 && ib >= 0 && ia != ib);
	CHECK_I64(pystacks__intern(&p, &a), ia);
	/* a recording's bits above the instruction are not ours */
	a.frames[0].instr |= 1ULL << 60;
	CHECK_I64(pystacks__intern(&p, &a), ia);
	pystacks__free(&p);
}

/* Named as the reports name them. */
TEST(mixstack_names)
{
	static const uint64_t frames[] = { 0x7000, 0x7100, 0x8000, 0x7200 };
	struct mix_frame m[MIX_MAX_FRAMES];
	struct pystacks p;
	const struct py_stack *s = intern(&p, 10, "..", 0);
	const char *want[] = { "libc.so.6+0x85f16", "python3.11:PyThread_acquire_lock_timed+0x16f",
			       "waiter (w.py:87)", MIX_CUT_SHORT_FRAME, "body (w.py:152)" };
	struct names *nm;
	size_t nr;

	CHECK(names__new(0, NULL, &nm) == 0);
	names__set_code(nm, 0x7000, "libc.so.6+0x85f16");
	names__set_code(nm, 0x7100, "python3.11:PyThread_acquire_lock_timed+0x16f");
	names__set_code(nm, 0x8000, "python3.11:_PyEval_EvalFrameDefault+0x2e1");
	/* 0x7200 not named: the walk went astray there */
	names__set_pyframe(nm, pyread_frame_key(s->f[0].code, s->f[0].instr), "waiter (w.py:87)");
	names__set_pyframe(nm, pyread_frame_key(s->f[1].code, s->f[1].instr), "body (w.py:152)");
	nr = mixstack(nm, frames, 4, s, m);
	CHECK_U64(nr, 5);
	for (size_t i = 0; i < nr; i++)
		CHECK_STR(mixstack_name(nm, frames, s, &m[i]), want[i]);
	names__free(nm);
	pystacks__free(&p);
}
