// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A frame (code object, instruction) named "qualname (path:line)".
 *
 * Two direct-mapped caches: code objects by address (names, the line
 * table's copy, and what identifies the object), and lines by frame key.
 * A line-cache hit costs no read.  On a miss the code object's header is
 * read again and compared with the cached one (type, filename, name and
 * line table pointers, first line): a code object freed and its address
 * reused by another is then named afresh, never with the old name.  (A hit
 * on a reused address with the same key cannot be told apart without a
 * read; that is the price of free hits.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pyread_int.h"
#include "pyread_lines.h"

#define CODE_HDR_MAX	256	/* bytes of a code object read: every field used */

struct code_hdr {
	uint64_t filename, name, linetable, bytecode;
	int32_t firstlineno;
	int64_t ncode;		/* 3.11+: ob_size, in code units */
};

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static size_t hash_u64(uint64_t v, size_t size)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return v & (size - 1);
}

static uint32_t hdr_len(const struct py_layout *l)
{
	uint32_t m = l->ob_size + 8;
	uint32_t f[] = { l->co_filename, l->co_name, l->co_qualname, l->co_linetable,
			 l->co_code, l->co_firstlineno };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] + 8 > m)
			m = f[i] + 8;
	return m;
}

/* Reads @code's header, checking it is a code object. */
static int read_hdr(struct pyread *r, uint64_t code, struct code_hdr *h)
{
	const struct py_layout *l = &r->l;
	uint8_t b[CODE_HDR_MAX];
	uint32_t n = hdr_len(l);
	int err;

	if (n > sizeof(b))
		return -EINVAL;
	err = pyread_obj_is(r, code, "code", &r->code_type);
	if (err)
		return err;
	if (pyread__read(r, code, b, n))
		return -EFAULT;
	h->filename = get_u64(b + l->co_filename);
	h->name = get_u64(b + (l->co_qualname ? l->co_qualname : l->co_name));
	h->linetable = get_u64(b + l->co_linetable);
	h->bytecode = l->co_code ? get_u64(b + l->co_code) : 0;
	memcpy(&h->firstlineno, b + l->co_firstlineno, sizeof(h->firstlineno));
	memcpy(&h->ncode, b + l->ob_size, sizeof(h->ncode));
	return 0;
}

static bool same_code(const struct py_code_ent *e, const struct code_hdr *h)
{
	return e->filename == h->filename && e->name == h->name &&
	       e->linetable == h->linetable && e->bytecode == h->bytecode &&
	       e->firstlineno == h->firstlineno;
}

/* (Re)fills @e from code object @code whose header is @h */
static int fill_code(struct pyread *r, struct py_code_ent *e, uint64_t code,
		     const struct code_hdr *h)
{
	int64_t ncode = h->ncode;
	int err;

	free(e->lt);
	memset(e, 0, sizeof(*e));
	if (h->bytecode) {
		/* before 3.11 the instructions are a bytes object of their own */
		err = pyread_obj_is(r, h->bytecode, "bytes", &r->bytes_type);
		if (err || pyread__read(r, h->bytecode + r->l.ob_size, &ncode, sizeof(ncode)))
			return err ?: -EFAULT;
	}
	if (ncode < 0 || ncode > (1 << 30))
		return -EINVAL;
	err = pyread__str(r, h->name, e->qualname, sizeof(e->qualname));
	err = err ?: pyread__str(r, h->filename, e->file, sizeof(e->file));
	err = err ?: pyread_bytes(r, h->linetable, PY_LINETABLE_MAX, &e->lt, &e->lt_len);
	if (err) {
		free(e->lt);
		memset(e, 0, sizeof(*e));
		return err;
	}
	e->code = code;
	e->filename = h->filename;
	e->name = h->name;
	e->linetable = h->linetable;
	e->bytecode = h->bytecode;
	e->firstlineno = h->firstlineno;
	e->ncode = ncode;
	if (!++r->gen)
		++r->gen;	/* 0 marks an empty line entry */
	e->gen = r->gen;
	return 0;
}

/* The line of @instr in @e, or -EINVAL when it is not inside the code */
static int line_of(const struct pyread *r, const struct py_code_ent *e, uint64_t code,
		   uint64_t instr, int *line)
{
	const struct py_layout *l = &r->l;
	int64_t a;

	switch (l->instr_kind) {
	case PY_INSTR_LASTI_BYTES:
		a = (int32_t)instr;
		if (a >= e->ncode)
			return -EINVAL;
		*line = py_line_lnotab(e->lt, e->lt_len, e->firstlineno, a);
		break;
	case PY_INSTR_LASTI_UNITS:
		a = (int64_t)(int32_t)instr * 2;
		if (a >= e->ncode)
			return -EINVAL;
		*line = py_line_310(e->lt, e->lt_len, e->firstlineno, a);
		break;
	case PY_INSTR_PREV_PTR:
	case PY_INSTR_NEXT_PTR:
		/* both point at the instruction running: a frame calling
		 * another is at its CALL (3.12 starts a frame one unit
		 * before its first instruction) */
		a = (int64_t)(instr - (code + l->co_code_adaptive));
		if (a % 2 || a < -2 || a / 2 >= e->ncode)
			return -EINVAL;
		*line = py_line_311(e->lt, e->lt_len, e->firstlineno, a / 2);
		break;
	default:
		return -EINVAL;
	}
	/* an instruction without a location (line -1) is said to be on the
	 * function's first line rather than on none */
	if (*line < 0)
		*line = e->firstlineno;
	return 0;
}

static void name_it(const struct py_code_ent *e, int line, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s:%d)", e->qualname, e->file, line);
}

int pyread__frame(struct pyread *r, uint64_t code, uint64_t instr, char *buf, size_t len)
{
	/* the key leaves out the walk's marks above the pointer */
	uint64_t key = pyread_frame_key(code, instr);
	struct py_code_ent *e = &r->codes[hash_u64(code, PY_CODE_CACHE)];
	struct py_line_ent *le = &r->lines[hash_u64(key, PY_LINE_CACHE)];
	/* a key whose distance was clamped stands for many instructions */
	bool keyed = (key >> 47) != (1u << 17) - 1;
	struct code_hdr h;
	int err, line;

	/* the walk's marks above the pointer (GS_PY_ENTRY_FRAME) are no part
	 * of where the frame is */
	instr = GS_PY_INSTR(instr);
	if (e->code == code && e->gen && le->key == key && le->gen == e->gen && keyed) {
		name_it(e, le->line, buf, len);
		return 0;
	}
	err = read_hdr(r, code, &h);
	if (!err && (e->code != code || !same_code(e, &h)))
		err = fill_code(r, e, code, &h);
	err = err ?: line_of(r, e, code, instr, &line);
	if (err) {
		snprintf(buf, len, "[unknown]");
		return err;
	}
	if (keyed) {
		le->key = key;
		le->gen = e->gen;
		le->line = line;
	}
	name_it(e, line, buf, len);
	return 0;
}
