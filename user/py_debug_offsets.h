/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * _Py_DebugOffsets (CPython 3.13+, at _PyRuntime+0): a header of three
 * u64 that every version shares, then groups of u64 offsets that grow
 * between minor versions - and between pre-releases.  So the header says
 * the version, and the version picks where in the table each offset is.
 *
 * One table of those positions by minor version (in pyread_layout.c),
 * read by gil_profile.c (the GIL, the main interpreter, the thread-state
 * fields kept for naming) and by pyread_layout.c (frames, code objects,
 * strings).
 */
#ifndef PY_DEBUG_OFFSETS_H
#define PY_DEBUG_OFFSETS_H

#include <stdbool.h>
#include <stdint.h>

/* the header */
#define PY_DBG_COOKIE		0	/* "xdebugpy" */
#define PY_DBG_VERSION		8	/* PY_VERSION_HEX */
#define PY_DBG_FREE_THREADED	16

/* Byte positions inside _Py_DebugOffsets of the fields gilscope reads
 * (each a u64 there), for one minor version. */
struct py_dbg_layout {
	int minor;
	/* runtime_state */
	uint16_t rt_size, rt_finalizing, rt_interp_head;
	/* interpreter_state */
	uint16_t is_size, is_id, is_next, is_threads_head, is_modules;
	uint16_t is_ceval_gil;	/* ceval.gil: struct _gil_runtime_state * */
	uint16_t is_gil;	/* _gil: the interpreter's own GIL */
	uint16_t is_gil_enabled; /* from the GIL struct, not the interpreter */
	uint16_t is_gil_locked;	/* from the interpreter */
	uint16_t is_gil_holder;	/* from the interpreter */
	/* thread_state */
	uint16_t ts_size, ts_next, ts_frame, ts_thread_id, ts_native_tid;
	/* interpreter_frame */
	uint16_t fr_size, fr_previous, fr_executable, fr_instr, fr_localsplus, fr_owner;
	/* code_object */
	uint16_t co_size, co_filename, co_name, co_qualname, co_linetable,
		 co_firstlineno, co_code_adaptive;
	uint16_t ob_size_pos, ob_type;	/* pyobject.size (16), pyobject.ob_type */
	uint16_t tp_name;
	uint16_t bytes_sval;
	uint16_t str_state, str_length, str_ascii_size;
	/*
	 * Not in the table, but per version too: the owner value of the
	 * interpreter's own entry frames, skipped by pyread's walk: 3.13
	 * FRAME_OWNED_BY_CSTACK (3); 3.14 renumbered (INTERPRETER = 3,
	 * CSTACK = 4) and its eval loop's entry frames - and 3.15's thread
	 * base frame - are FRAME_OWNED_BY_INTERPRETER with f_executable None:
	 * seen live on sid's 3.14.10 and 3.15.2, each entry frame owner 3.
	 * A CSTACK (4) frame, if one shows, has no code object either and is
	 * named "[unknown]".
	 */
	uint8_t owner_cstack;
	uint8_t code_tagged;	/* f_executable is a _PyStackRef */
};

/* The positions of a table that declares 3.@minor: its own, or with
 * @nearest the highest known minor below it; NULL if none. */
const struct py_dbg_layout *py_dbg_layout(int minor, bool nearest);

#endif /* PY_DEBUG_OFFSETS_H */
