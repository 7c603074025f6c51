/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The insides of struct pyread, shared by its parts: pyread.c (the object,
 * reads, strings, types), pyread_layout.c (layouts by version),
 * pyread_frame.c (naming code objects) and pyread_lines.c (line tables).
 */
#ifndef PYREAD_INT_H
#define PYREAD_INT_H

#include "pyread.h"

#define PY_NAME_MAX	128	/* bytes kept of a qualname */
#define PY_FILE_MAX	256	/* bytes kept of a path */
#define PY_LINETABLE_MAX (256u << 10)	/* no sane code object has more */

/* One code object as last read: what names it, and what tells whether the
 * object at that address is still the same one. */
struct py_code_ent {
	uint64_t code;		/* 0: empty */
	uint32_t gen;		/* line cache entries of this fill carry it */
	int32_t firstlineno;
	uint64_t filename, name, linetable, bytecode;	/* pointers read */
	int64_t ncode;		/* the code's size: bytes (< 3.11) or units */
	uint8_t *lt;		/* a copy of the line table */
	uint32_t lt_len;
	char qualname[PY_NAME_MAX];
	char file[PY_FILE_MAX];
};

struct py_line_ent {
	uint64_t key;		/* pyread_frame_key(); 0: empty */
	uint32_t gen;		/* its code entry's */
	int32_t line;
};

#define PY_CODE_CACHE	1024	/* direct-mapped, by code address */
#define PY_LINE_CACHE	8192	/* direct-mapped, by frame key */

struct pyread {
	pid_t pid;
	uint64_t runtime;
	struct py_layout l;
	uint64_t interp;		/* cached main interpreter; 0: not yet */
	/* type objects known to be "code", "str", "bytes" */
	uint64_t code_type, str_type, bytes_type;
	uint32_t gen;
	struct py_code_ent *codes;
	struct py_line_ent *lines;
};

/* pyread_layout.c: fills @r->l for @minor; 3.13+ from _Py_DebugOffsets at
 * @r->runtime.  0 or -ENOTSUP with @why. */
int pyread_layout_fill(struct pyread *r, int major, int minor, char *why, size_t why_len);

/* pyread.c: is @type (a PyTypeObject *) named @name?  Cached in @slot. */
int pyread_type_is(struct pyread *r, uint64_t type, const char *name, uint64_t *slot);
/* Checks @obj's type is @name: 0, -EFAULT or -EINVAL */
int pyread_obj_is(struct pyread *r, uint64_t obj, const char *name, uint64_t *slot);
/* A bytes object's contents, malloc'd (at most @max bytes): 0 or -errno */
int pyread_bytes(struct pyread *r, uint64_t obj, uint32_t max, uint8_t **out, uint32_t *len);

#endif
