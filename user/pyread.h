/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a CPython's own objects out of a live process: the layouts of
 * 3.8 - 3.15 (3.13+ from the interpreter's _Py_DebugOffsets), the frame
 * walk's configuration for BPF (struct gs_py_config), code objects named
 * as "qualname (path:line)", and the Python names of threads.
 *
 * Everything is read with process_vm_readv (proc_read_mem), never
 * written, and validated: an object whose type is not the one expected
 * (a freed or reused code object, a torn read of a running thread's
 * frame) gives "[unknown]", never a wrong name.
 */
#ifndef PYREAD_H
#define PYREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "gilscope.h"

/* One CPython version's layouts; 0 = absent in that version. */
struct py_layout {
	int major, minor;
	struct gs_py_config walk;	/* the frame walk (bpf/py_walk.h), depth 0 */
	/* PyThreadState */
	uint32_t ts_next, ts_native_tid, ts_thread_id;
	/* PyInterpreterState: the thread list, sys.modules */
	uint32_t is_threads_head, is_modules;
	/* _PyRuntimeState: the interpreter list's head */
	uint32_t rt_interp_head;
	/* how a frame's instr becomes an offset into the code */
	int instr_kind;			/* enum py_instr_kind */
	/* PyCodeObject */
	uint32_t co_filename, co_name, co_qualname, co_firstlineno;
	uint32_t co_linetable;		/* co_lnotab before 3.10 */
	uint32_t co_code_adaptive;	/* 3.11+: the first instruction */
	uint32_t co_code;		/* before 3.11: the bytes object */
	/* Added for the reader itself (pyread.c): */
	uint32_t rt_interp_main;	/* 3.8 - 3.12: interpreters.main; 0 after */
	uint32_t is_id, is_next;	/* the interpreter list (3.13+ walk) */
	uint32_t ob_type, ob_size;	/* PyObject / PyVarObject */
	uint32_t tp_name;		/* PyTypeObject */
	uint32_t bytes_sval;		/* PyBytesObject's data */
	/* str: PyASCIIObject's length and state, where a compact ASCII
	 * string's data starts, and a compact non-ASCII one's */
	uint32_t str_length, str_state, str_ascii_data, str_compact_data;
	uint8_t str_state_shift;	/* 8 in free-threaded builds (interned is a byte) */
	uint8_t free_threaded;
};

enum py_instr_kind {
	PY_INSTR_LASTI_BYTES = 1,	/* 3.8, 3.9: f_lasti, a byte offset */
	PY_INSTR_LASTI_UNITS,		/* 3.10: f_lasti, in 2-byte code units */
	PY_INSTR_PREV_PTR,		/* 3.11, 3.12: prev_instr, the last one run */
	PY_INSTR_NEXT_PTR,		/* 3.13+: instr_ptr */
};

struct pyread;

/*
 * Opens a reader of process @pid's CPython @major.@minor whose
 * _PyRuntime is at @runtime (3.13+ read its _Py_DebugOffsets there).
 * -ENOTSUP with @why when the version is not known.
 */
int pyread__new(pid_t pid, int major, int minor, uint64_t runtime,
		struct pyread **out, char *why, size_t why_len);
void pyread__free(struct pyread *r);
const struct py_layout *pyread__layout(const struct pyread *r);

/* Reads @len bytes of the target at @addr: 0 or -errno. */
int pyread__read(struct pyread *r, uint64_t addr, void *buf, size_t len);

/* The main interpreter's PyInterpreterState, 0 when unreadable. */
uint64_t pyread__interp(struct pyread *r);

/*
 * One frame of a stack event, as "qualname (path:line)" (3.8 - 3.10:
 * the code's co_name, no qualname there).  Cached by code object and
 * instruction.  Returns 0, or -errno with "[unknown]" in @buf when the
 * code object cannot be read or is not one.
 */
int pyread__frame(struct pyread *r, uint64_t code, uint64_t instr, char *buf, size_t len);

/* The Python lock whose PyMutex is at @mutex (3.13+ parking-lot waits):
 * "threading.Lock" or "threading.RLock" in @buf, or -ENOENT (another
 * PyMutex, or unreadable). */
int pyread__lock_kind(struct pyread *r, uint64_t mutex, char *buf, size_t len);

/* A str object's text as UTF-8 (truncated to @len - 1 bytes, at a
 * character boundary).  0 or -errno. */
int pyread__str(struct pyread *r, uint64_t str, char *buf, size_t len);

/*
 * The Python names of the process's threads, from the threading module's
 * own records (threading._active: each Thread's _name and _native_id):
 * "MainThread", "ThreadPoolExecutor-0_3".  Fills up to @max pairs,
 * returns how many, or -errno (threading not imported, unreadable).
 */
struct py_thread_name {
	uint32_t tid;
	char name[64];
};
int pyread__thread_names(struct pyread *r, struct py_thread_name *out, size_t max);

/* The key a frame's name is stored under in NAMES chunks (kind PYFRAME):
 * the code object's address with the instruction's distance from it in
 * the top 17 bits (user addresses are below 2^47).  An instr that is a
 * pointer (3.11+) lies inside the code object, above its address; one
 * that is an f_lasti (3.8 - 3.10) is a small number below it: so the key
 * needs no layout, and a report of a recording computes it alike.  The
 * frame's owner byte (GS_PY_INSTR_OWNER) is not part of it. */
static inline uint64_t pyread_frame_key(uint64_t code, uint64_t instr)
{
	uint64_t i = GS_PY_INSTR(instr);
	uint64_t d = i >= code ? i - code : i;

	if (d >= (1u << 17))
		d = (1u << 17) - 1;
	return (code & ((1ull << 47) - 1)) | d << 47;
}

#endif
