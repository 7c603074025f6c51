// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The target-memory reader: its life, raw reads, type checks, bytes and
 * str objects, and the main interpreter.  Frames are named in
 * pyread_frame.c, layouts come from pyread_layout.c.
 *
 * Objects are read from a live process that keeps running: every object
 * is checked to be of the type expected (by its type's tp_name, each type
 * address checked once) and every length is bounded before it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc.h"
#include "pyread_int.h"

#define PY_STR_MAX_LEN	(1u << 20)	/* characters; a name is never this long */
#define PY_MAX_INTERPS	4096		/* bound on the interpreter list walk */

/* PyASCIIObject.state, default build (free-threaded: + str_state_shift) */
#define STATE_KIND_SHIFT	2
#define STATE_KIND_MASK		7
#define STATE_COMPACT		(1u << 5)
#define STATE_ASCII		(1u << 6)

int pyread__new(pid_t pid, int major, int minor, uint64_t runtime,
		struct pyread **out, char *why, size_t why_len)
{
	struct pyread *r;
	int err;

	*out = NULL;
	if (why_len)
		why[0] = 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pid = pid;
	r->runtime = runtime;
	err = pyread_layout_fill(r, major, minor, why, why_len);
	if (err)
		goto cleanup;
	r->codes = calloc(PY_CODE_CACHE, sizeof(*r->codes));
	r->lines = calloc(PY_LINE_CACHE, sizeof(*r->lines));
	if (!r->codes || !r->lines) {
		err = -ENOMEM;
		goto cleanup;
	}
	*out = r;
	return 0;
cleanup:
	pyread__free(r);
	return err;
}

void pyread__free(struct pyread *r)
{
	if (!r)
		return;
	if (r->codes)
		for (size_t i = 0; i < PY_CODE_CACHE; i++)
			free(r->codes[i].lt);
	free(r->codes);
	free(r->lines);
	free(r);
}

const struct py_layout *pyread__layout(const struct pyread *r)
{
	return &r->l;
}

int pyread__read(struct pyread *r, uint64_t addr, void *buf, size_t len)
{
	/* NULL and the first page are never an object: no syscall for them */
	if (addr < 4096)
		return -EFAULT;
	return proc_read_mem(r->pid, addr, buf, len);
}

static int read_ptr(struct pyread *r, uint64_t addr, uint64_t *v)
{
	return pyread__read(r, addr, v, sizeof(*v));
}

int pyread_type_is(struct pyread *r, uint64_t type, const char *name, uint64_t *slot)
{
	char got[16];
	uint64_t tp_name;
	size_t n = strlen(name) + 1;

	if (*slot && type == *slot)
		return 0;
	if (n > sizeof(got) || read_ptr(r, type + r->l.tp_name, &tp_name) ||
	    pyread__read(r, tp_name, got, n))
		return -EFAULT;
	if (memcmp(got, name, n))
		return -EINVAL;
	/* one type object by that name: the first one seen stays */
	if (!*slot)
		*slot = type;
	return type == *slot ? 0 : -EINVAL;
}

int pyread_obj_is(struct pyread *r, uint64_t obj, const char *name, uint64_t *slot)
{
	uint64_t type;

	if (read_ptr(r, obj + r->l.ob_type, &type))
		return -EFAULT;
	return pyread_type_is(r, type, name, slot);
}

int pyread_bytes(struct pyread *r, uint64_t obj, uint32_t max, uint8_t **out, uint32_t *len)
{
	int64_t size;
	uint8_t *buf;
	int err;

	*out = NULL;
	*len = 0;
	err = pyread_obj_is(r, obj, "bytes", &r->bytes_type);
	if (err)
		return err;
	if (pyread__read(r, obj + r->l.ob_size, &size, sizeof(size)))
		return -EFAULT;
	if (size < 0 || size > max)
		return -EINVAL;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	if (size && pyread__read(r, obj + r->l.bytes_sval, buf, size)) {
		free(buf);
		return -EFAULT;
	}
	*out = buf;
	*len = size;
	return 0;
}

/* Appends code point @c as UTF-8 if it fits in @len - 1 bytes with @n used */
static bool put_utf8(char *buf, size_t len, size_t *n, uint32_t c)
{
	uint8_t u[4];
	size_t k;

	if (c < 0x80) {
		u[0] = c;
		k = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | c >> 6;
		u[1] = 0x80 | (c & 0x3f);
		k = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | c >> 12;
		u[1] = 0x80 | ((c >> 6) & 0x3f);
		u[2] = 0x80 | (c & 0x3f);
		k = 3;
	} else if (c < 0x110000) {
		u[0] = 0xf0 | c >> 18;
		u[1] = 0x80 | ((c >> 12) & 0x3f);
		u[2] = 0x80 | ((c >> 6) & 0x3f);
		u[3] = 0x80 | (c & 0x3f);
		k = 4;
	} else {
		return false;	/* not a code point: a torn or foreign string */
	}
	if (*n + k >= len)
		return false;
	memcpy(buf + *n, u, k);
	*n += k;
	return true;
}

int pyread__str(struct pyread *r, uint64_t str, char *buf, size_t len)
{
	const struct py_layout *l = &r->l;
	uint32_t state, kind;
	int64_t length;
	uint64_t data;
	size_t nchars, n = 0;
	uint8_t *raw;
	int err;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	err = pyread_obj_is(r, str, "str", &r->str_type);
	if (err)
		return err;
	if (pyread__read(r, str + l->str_length, &length, sizeof(length)) ||
	    pyread__read(r, str + l->str_state, &state, sizeof(state)))
		return -EFAULT;
	state >>= l->str_state_shift;
	kind = (state >> STATE_KIND_SHIFT) & STATE_KIND_MASK;
	/* names are compact strings (data right after the header); legacy
	 * ones, made by the old C API, are not read */
	if (length < 0 || length > PY_STR_MAX_LEN || !(state & STATE_COMPACT) ||
	    (kind != 1 && kind != 2 && kind != 4) || ((state & STATE_ASCII) && kind != 1))
		return -EINVAL;
	data = str + (state & STATE_ASCII ? l->str_ascii_data : l->str_compact_data);
	/* every character takes a byte or more in UTF-8 */
	nchars = (size_t)length < len - 1 ? (size_t)length : len - 1;
	raw = malloc(nchars * kind + 1);
	if (!raw)
		return -ENOMEM;
	if (nchars && pyread__read(r, data, raw, nchars * kind)) {
		free(raw);
		return -EFAULT;
	}
	for (size_t i = 0; i < nchars; i++) {
		uint32_t c;

		if (kind == 1) {
			c = raw[i];
		} else if (kind == 2) {
			uint16_t c16;

			memcpy(&c16, raw + 2 * i, 2);
			c = c16;
		} else {
			memcpy(&c, raw + 4 * i, 4);
		}
		if (!put_utf8(buf, len, &n, c))
			break;
	}
	buf[n] = 0;
	free(raw);
	return 0;
}

uint64_t pyread__interp(struct pyread *r)
{
	const struct py_layout *l = &r->l;
	uint64_t interp, id;

	if (r->interp)
		return r->interp;
	if (l->rt_interp_main) {
		if (read_ptr(r, r->runtime + l->rt_interp_main, &interp))
			return 0;
		return r->interp = interp;
	}
	/* 3.13+: the list runs newest first, the main interpreter (id 0) last */
	if (read_ptr(r, r->runtime + l->rt_interp_head, &interp))
		return 0;
	for (int n = 0; interp && n < PY_MAX_INTERPS; n++) {
		if (read_ptr(r, interp + l->is_id, &id))
			return 0;
		if (!id)
			return r->interp = interp;
		if (read_ptr(r, interp + l->is_next, &interp))
			return 0;
	}
	return 0;
}
