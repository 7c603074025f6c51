// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where CPython 3.8 - 3.15 keep what pyread reads.
 *
 * 3.8 - 3.12 have no table of their own offsets: the numbers below were
 * obtained by compiling offsetof() programs against pyenv's installed
 * headers (3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1, with Py_BUILD_CORE
 * and include/python3.X/internal); see docs/cpython-gil-layout.md.  The
 * offsets of these structs do not move within a minor version.  The
 * first local (fr_self): PyFrameObject.f_localsplus (3.8 - 3.10: 360,
 * 360, 352, after the 20 try blocks) and _PyInterpreterFrame.localsplus
 * (3.11, 3.12: 72); from 3.13 the table's interpreter_frame.localsplus
 * (72 on 3.13, 80 on 3.14 and 3.15, read live on pyenv's 3.13.0 and
 * sid's 3.13.18, 3.14.10, 3.15.2).
 *
 * 3.13+ publish them in _Py_DebugOffsets at _PyRuntime+0, read here by
 * the version the table declares (the table does not describe its own
 * layout: the positions of its fields are per minor version, in
 * py_dbg_layouts[] below, which gil_profile.c reads too).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "proc.h"
#include "py_debug_offsets.h"
#include "pyread_int.h"

/* PyASCIIObject.state: kind in bits 2-4, compact 5, ascii 6 (behind a
 * 2-bit interned; a byte in free-threaded builds) */

static const struct py_layout static_layouts[] = {
	{
		.major = 3, .minor = 8,
		.walk = { .ts_frame = 24, .ts_cframe_frame = -1, .fr_previous = 24,
			  .fr_code = 32, .fr_instr = 104, .instr_mask = 0xffffffffULL, .code_mask = ~0ULL,
			  .fr_self = 360 },
		.ts_next = 8, .ts_thread_id = 176,
		.is_threads_head = 8, .is_modules = 56,
		.rt_interp_head = 32, .rt_interp_main = 40,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.co_filename = 104, .co_name = 112, .co_firstlineno = 40,
		.co_linetable = 120, .co_code = 48,
		.str_ascii_data = 48, .str_compact_data = 72,
	},
	{
		.major = 3, .minor = 9,
		.walk = { .ts_frame = 24, .ts_cframe_frame = -1, .fr_previous = 24,
			  .fr_code = 32, .fr_instr = 104, .instr_mask = 0xffffffffULL, .code_mask = ~0ULL,
			  .fr_self = 360 },
		.ts_next = 8, .ts_thread_id = 176,
		.is_threads_head = 8, .is_modules = 856,
		.rt_interp_head = 32, .rt_interp_main = 40,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.co_filename = 104, .co_name = 112, .co_firstlineno = 40,
		.co_linetable = 120, .co_code = 48,
		.str_ascii_data = 48, .str_compact_data = 72,
	},
	{
		.major = 3, .minor = 10,
		.walk = { .ts_frame = 24, .ts_cframe_frame = -1, .fr_previous = 24,
			  .fr_code = 32, .fr_instr = 96, .instr_mask = 0xffffffffULL, .code_mask = ~0ULL,
			  .fr_self = 352 },
		.ts_next = 8, .ts_thread_id = 176,
		.is_threads_head = 8, .is_modules = 856,
		.rt_interp_head = 32, .rt_interp_main = 40,
		.instr_kind = PY_INSTR_LASTI_UNITS,
		.co_filename = 104, .co_name = 112, .co_firstlineno = 40,
		.co_linetable = 120, .co_code = 48,
		.str_ascii_data = 48, .str_compact_data = 72,
	},
	{
		/* 3.11 has no C-stack frames in the chain: is_entry (the
		 * bool at 68) marks the first frame an eval-loop call ran
		 * instead, read as an owner byte equal to 1; such frames
		 * are kept (pystacks__set_python) and end the frames of
		 * one C call in mixed stacks */
		.major = 3, .minor = 11,
		.walk = { .ts_frame = 56, .ts_cframe_frame = 8, .fr_previous = 48,
			  .fr_code = 32, .fr_instr = 56, .fr_owner = 68, .instr_mask = ~0ULL,
			  .code_mask = ~0ULL, .owner_mask = 0xff, .owner_cstack = 1 /* is_entry */,
			  .fr_self = 72 },
		.ts_next = 8, .ts_native_tid = 160, .ts_thread_id = 152,
		.is_threads_head = 16, .is_modules = 888,
		.rt_interp_head = 40, .rt_interp_main = 48,
		.instr_kind = PY_INSTR_PREV_PTR,
		.co_filename = 112, .co_name = 120, .co_qualname = 128,
		.co_firstlineno = 72, .co_linetable = 136, .co_code_adaptive = 184,
		.str_ascii_data = 48, .str_compact_data = 72,
	},
	{
		.major = 3, .minor = 12,
		.walk = { .ts_frame = 56, .ts_cframe_frame = 0, .fr_previous = 8,
			  .fr_code = 0, .fr_instr = 56, .fr_owner = 70, .instr_mask = ~0ULL, .code_mask = ~0ULL,
			  .owner_mask = 0xff, .owner_cstack = 3 /* FRAME_OWNED_BY_CSTACK */,
			  .fr_self = 72 },
		.ts_next = 8, .ts_native_tid = 144, .ts_thread_id = 136,
		.is_threads_head = 72, .is_modules = 944,
		.rt_interp_head = 40, .rt_interp_main = 48,
		.instr_kind = PY_INSTR_PREV_PTR,
		.co_filename = 112, .co_name = 120, .co_qualname = 128,
		.co_firstlineno = 68, .co_linetable = 136, .co_code_adaptive = 192,
		/* 3.12 dropped wstr from PyASCIIObject */
		.str_ascii_data = 40, .str_compact_data = 56,
	},
};

/*
 * Byte positions inside _Py_DebugOffsets (py_debug_offsets.h), the one
 * table of them: gil_profile.c reads the runtime, interpreter and GIL
 * fields through py_dbg_layout() too.
 *
 * 3.13: offsetof() on pyenv 3.13.0's struct _Py_DebugOffsets
 * (Include/internal/pycore_runtime.h).  3.14: CPython 3.14's
 * pycore_debug_offsets.h (threads_main, code_object_generation and
 * tlbc_generation in interpreter_state; stackpointer and tlbc_index in
 * interpreter_frame; co_tlbc; set_object before dict_object).  3.15:
 * thread_state gained base_frame, last_profiled_frame and more before
 * thread_id, and err_stackitem follows it.  All three checked against
 * the tables of Debian sid's 3.13.18, 3.14.10 and 3.15.2, and pyenv's
 * 3.13.0, dumped live (ctypes at _PyRuntime), where each group's size
 * field and the known offsets (ob_type 8, tp_name 24, ASCII header 40)
 * fall where these positions say.
 *
 * The runtime, interpreter and GIL fields: dumped from Debian sid's
 * stripped 3.13.18, 3.14.10 and 3.15.2 (their .PyRuntime sections, and
 * _PyRuntime in live processes; 3.13 also with gdb on pyenv's 3.13.0)
 * and checked live: in each, locked and holder are the GIL's + 16 and
 * + 8, and the main interpreter's ceval.gil points to its own _gil.
 * 3.14 inserted interpreter_state.threads_main (@80), moving ceval_gil
 * and the rest by 8, and code_object_generation / tlbc_generation before
 * thread_state; 3.15 inserted thread_state fields before native_thread_id.
 */
static const struct py_dbg_layout py_dbg_layouts[] = {
	{ .minor = 13, .rt_size = 24, .rt_finalizing = 32, .rt_interp_head = 40,
	  .is_size = 48, .is_id = 56, .is_next = 64, .is_threads_head = 72, .is_modules = 88,
	  .is_ceval_gil = 112, .is_gil = 120, .is_gil_enabled = 128,
	  .is_gil_locked = 136, .is_gil_holder = 144,
	  .ts_size = 152, .ts_next = 168, .ts_frame = 184, .ts_thread_id = 192,
	  .ts_native_tid = 200,
	  .fr_size = 224, .fr_previous = 232, .fr_executable = 240, .fr_instr = 248,
	  .fr_localsplus = 256, .fr_owner = 264,
	  .co_size = 272, .co_filename = 280, .co_name = 288, .co_qualname = 296,
	  .co_linetable = 304, .co_firstlineno = 312, .co_code_adaptive = 344,
	  .ob_size_pos = 352, .ob_type = 360, .tp_name = 376, .bytes_sval = 528,
	  .str_state = 544, .str_length = 552, .str_ascii_size = 560,
	  .owner_cstack = 3 /* FRAME_OWNED_BY_CSTACK */ },
	{ .minor = 14, .rt_size = 24, .rt_finalizing = 32, .rt_interp_head = 40,
	  .is_size = 48, .is_id = 56, .is_next = 64, .is_threads_head = 72, .is_modules = 96,
	  .is_ceval_gil = 120, .is_gil = 128, .is_gil_enabled = 136,
	  .is_gil_locked = 144, .is_gil_holder = 152,
	  .ts_size = 176, .ts_next = 192, .ts_frame = 208, .ts_thread_id = 216,
	  .ts_native_tid = 224,
	  .fr_size = 248, .fr_previous = 256, .fr_executable = 264, .fr_instr = 272,
	  .fr_localsplus = 280, .fr_owner = 288,
	  .co_size = 312, .co_filename = 320, .co_name = 328, .co_qualname = 336,
	  .co_linetable = 344, .co_firstlineno = 352, .co_code_adaptive = 384,
	  .ob_size_pos = 400, .ob_type = 408, .tp_name = 424, .bytes_sval = 608,
	  .str_state = 624, .str_length = 632, .str_ascii_size = 640,
	  .owner_cstack = 3, .code_tagged = 1 },
	{ .minor = 15, .rt_size = 24, .rt_finalizing = 32, .rt_interp_head = 40,
	  .is_size = 48, .is_id = 56, .is_next = 64, .is_threads_head = 72, .is_modules = 96,
	  .is_ceval_gil = 120, .is_gil = 128, .is_gil_enabled = 136,
	  .is_gil_locked = 144, .is_gil_holder = 152,
	  .ts_size = 176, .ts_next = 192, .ts_frame = 208, .ts_thread_id = 240,
	  .ts_native_tid = 248,
	  .fr_size = 312, .fr_previous = 320, .fr_executable = 328, .fr_instr = 336,
	  .fr_localsplus = 344, .fr_owner = 352,
	  .co_size = 376, .co_filename = 384, .co_name = 392, .co_qualname = 400,
	  .co_linetable = 408, .co_firstlineno = 416, .co_code_adaptive = 448,
	  .ob_size_pos = 464, .ob_type = 472, .tp_name = 488, .bytes_sval = 704,
	  .str_state = 720, .str_length = 728, .str_ascii_size = 736,
	  .owner_cstack = 3, .code_tagged = 1 },
};

const struct py_dbg_layout *py_dbg_layout(int minor, bool nearest)
{
	const struct py_dbg_layout *best = NULL;

	for (size_t i = 0; i < sizeof(py_dbg_layouts) / sizeof(py_dbg_layouts[0]); i++) {
		const struct py_dbg_layout *l = &py_dbg_layouts[i];

		if (l->minor == minor)
			return l;
		if (nearest && l->minor < minor && (!best || l->minor > best->minor))
			best = l;
	}
	return best;
}

#define DBG_READ	1024	/* bytes of the table read: past every position */
#define DBG_MAX_STRUCT	(64u << 20)

static uint64_t dget(const uint8_t *d, uint16_t pos)
{
	uint64_t v;

	memcpy(&v, d + pos, sizeof(v));
	return v;
}

/* Does the field at @off, @len bytes, lie inside a struct of @size? */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return size <= DBG_MAX_STRUCT && off < size && len <= size - off;
}

static int from_debug_offsets(struct pyread *r, int minor, char *why, size_t why_len)
{
	const struct py_dbg_layout *p = py_dbg_layout(minor, false);
	struct py_layout *l = &r->l;
	uint64_t is_size, ts_size, fr_size, co_size, v;
	uint8_t d[DBG_READ];
	int err;

	if (!p) {
		snprintf(why, why_len, "no _Py_DebugOffsets layout for python 3.%d", minor);
		return -ENOTSUP;
	}
	err = proc_read_mem(r->pid, r->runtime, d, sizeof(d));
	if (err || memcmp(d + PY_DBG_COOKIE, "xdebugpy", 8)) {
		snprintf(why, why_len, "no _Py_DebugOffsets (cookie \"xdebugpy\") at _PyRuntime "
			 "0x%" PRIx64 "%s%s", r->runtime, err ? ": " : "", err ? strerror(-err) : "");
		return -ENOTSUP;
	}
	v = dget(d, PY_DBG_VERSION);
	if ((v >> 24) != 3 || (int)((v >> 16) & 0xff) != minor) {
		snprintf(why, why_len, "_Py_DebugOffsets declare version 0x%08" PRIx64
			 ", not 3.%d", v, minor);
		return -ENOTSUP;
	}
	l->free_threaded = dget(d, PY_DBG_FREE_THREADED) != 0;

	is_size = dget(d, p->is_size);
	ts_size = dget(d, p->ts_size);
	fr_size = dget(d, p->fr_size);
	co_size = dget(d, p->co_size);
	l->rt_interp_head = dget(d, p->rt_interp_head);
	l->is_id = dget(d, p->is_id);
	l->is_next = dget(d, p->is_next);
	l->is_threads_head = dget(d, p->is_threads_head);
	l->is_modules = dget(d, p->is_modules);
	l->ts_next = dget(d, p->ts_next);
	l->ts_thread_id = dget(d, p->ts_thread_id);
	l->ts_native_tid = dget(d, p->ts_native_tid);
	l->walk.ts_frame = dget(d, p->ts_frame);
	l->walk.ts_cframe_frame = -1;
	l->walk.fr_previous = dget(d, p->fr_previous);
	l->walk.fr_code = dget(d, p->fr_executable);
	l->walk.fr_instr = dget(d, p->fr_instr);
	l->walk.fr_owner = dget(d, p->fr_owner);
	l->walk.fr_self = dget(d, p->fr_localsplus);
	l->walk.instr_mask = ~0ULL;
	l->instr_kind = PY_INSTR_NEXT_PTR;
	l->walk.owner_mask = 0xff;
	l->walk.owner_cstack = p->owner_cstack;
	l->walk.code_mask = p->code_tagged ? ~3ULL : ~0ULL;
	l->co_filename = dget(d, p->co_filename);
	l->co_name = dget(d, p->co_name);
	l->co_qualname = dget(d, p->co_qualname);
	l->co_linetable = dget(d, p->co_linetable);
	l->co_firstlineno = dget(d, p->co_firstlineno);
	l->co_code_adaptive = dget(d, p->co_code_adaptive);
	l->ob_type = dget(d, p->ob_type);
	l->ob_size = l->ob_type + 8;	/* PyVarObject: ob_size after ob_type */
	l->tp_name = dget(d, p->tp_name);
	l->bytes_sval = dget(d, p->bytes_sval);
	l->str_state = dget(d, p->str_state);
	l->str_length = dget(d, p->str_length);
	l->str_ascii_data = dget(d, p->str_ascii_size);
	/* PyCompactUnicodeObject: utf8_length and utf8 after the ASCII header */
	l->str_compact_data = l->str_ascii_data + 16;
	l->str_state_shift = l->free_threaded ? 6 : 0;

	/* the table checked against itself: a layout that misreads it gives
	 * sizes and offsets that cannot be */
	if (dget(d, p->ob_size_pos) != l->ob_type + 8 || (l->ob_type != 8 && l->ob_type != 24) ||
	    !fits(l->rt_interp_head, 8, dget(d, p->rt_size)) ||
	    !fits(l->is_id, 8, is_size) || !fits(l->is_next, 8, is_size) ||
	    !fits(l->is_threads_head, 8, is_size) || !fits(l->is_modules, 8, is_size) ||
	    !fits(l->ts_next, 8, ts_size) || !fits(l->ts_native_tid, 8, ts_size) ||
	    !fits(l->ts_thread_id, 8, ts_size) || !fits(l->walk.ts_frame, 8, ts_size) ||
	    !fits(l->walk.fr_previous, 8, fr_size) || !fits(l->walk.fr_code, 8, fr_size) ||
	    !fits(l->walk.fr_instr, 8, fr_size) || !fits(l->walk.fr_owner, 1, fr_size) ||
	    !fits(l->walk.fr_self, 8, fr_size) ||
	    !fits(l->co_filename, 8, co_size) || !fits(l->co_qualname, 8, co_size) ||
	    !fits(l->co_linetable, 8, co_size) || !fits(l->co_firstlineno, 4, co_size) ||
	    l->co_code_adaptive != co_size - 8 || l->str_ascii_data < 32 ||
	    l->str_ascii_data > 64 || l->str_state >= l->str_ascii_data ||
	    l->str_length >= l->str_ascii_data || l->tp_name > 64 || l->bytes_sval > 64) {
		snprintf(why, why_len, "_Py_DebugOffsets of 3.%d do not read as 3.%d's layout",
			 minor, minor);
		return -ENOTSUP;
	}
	return 0;
}

int pyread_layout_fill(struct pyread *r, int major, int minor, char *why, size_t why_len)
{
	struct py_layout *l = &r->l;
	int err = -ENOTSUP;

	memset(l, 0, sizeof(*l));
	if (major == 3 && minor >= 13) {
		err = from_debug_offsets(r, minor, why, why_len);
	} else if (major == 3) {
		for (size_t i = 0; i < sizeof(static_layouts) / sizeof(static_layouts[0]); i++) {
			if (static_layouts[i].minor == minor) {
				*l = static_layouts[i];
				l->is_next = 0;	/* PyInterpreterState.next is first */
				l->ob_type = 8;
				l->ob_size = 16;
				l->tp_name = 24;
				l->bytes_sval = 32;
				l->str_length = 16;
				l->str_state = 32;
				err = 0;
			}
		}
	}
	if (err == -ENOTSUP && !why[0])
		snprintf(why, why_len, "python %d.%d: no frame layout (3.8 - 3.15 are known)",
			 major, minor);
	if (err)
		return err;
	l->major = major;
	l->minor = minor;
	/* walk.depth stays 0: the caller says how deep (pyread.h) */
	/* every field the walk needs is in the GS_PY_FRAME_READ bytes read;
	 * but the first local (localsplus[0]), which 3.8 - 3.10 keep past
	 * them, at the end of a PyFrameObject: a read of its own there */
	if (l->walk.fr_previous >= GS_PY_FRAME_READ - 8 ||
	    l->walk.fr_code >= GS_PY_FRAME_READ - 8 || l->walk.fr_instr >= GS_PY_FRAME_READ - 8 ||
	    l->walk.fr_owner >= GS_PY_FRAME_READ - 8) {
		snprintf(why, why_len, "python 3.%d: frame fields past the %d bytes BPF reads",
			 minor, GS_PY_FRAME_READ - 8);
		return -ENOTSUP;
	}
	l->walk.self_read = l->walk.fr_self < GS_PY_FRAME_READ - 8 ? 0 : 8;
	return 0;
}
