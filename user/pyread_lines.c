// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython's line tables, written from their format descriptions
 * (Objects/lnotab_notes.txt for 3.8 - 3.10, InternalDocs/locations.md and
 * PEP 657 for 3.11+).  The tables come from another process and may be
 * torn or not tables at all: every read is bounded by @n, and a table
 * that ends early gives -1, never a read past it.
 */
#include <stdbool.h>
#include "pyread_lines.h"

int py_line_lnotab(const uint8_t *t, size_t n, int firstlineno, int64_t addr)
{
	int64_t a = 0;
	int line = firstlineno;

	/* the line changes by the second byte once the address passes the
	 * first: the last change at or before @addr is the line */
	for (size_t i = 0; i + 1 < n; i += 2) {
		a += t[i];
		if (a > addr)
			break;
		line += (int8_t)t[i + 1];
	}
	return line;
}

int py_line_310(const uint8_t *t, size_t n, int firstlineno, int64_t addr)
{
	int64_t start, end = 0;
	int line = firstlineno;

	if (addr < 0)
		return firstlineno;
	/* contiguous ranges: the first that ends past @addr holds it; empty
	 * ones only move the line */
	for (size_t i = 0; i + 1 < n; i += 2) {
		int8_t ld = (int8_t)t[i + 1];

		start = end;
		end += t[i];
		if (ld != -128)
			line += ld;
		if (start <= addr && addr < end)
			return ld == -128 ? -1 : line;
	}
	return -1;
}

/* PEP 657's varints: 6 bits a byte, 0x40 says another follows */
static int varint(const uint8_t *t, size_t n, size_t *i, uint32_t *v)
{
	unsigned shift = 0;
	uint8_t b;

	*v = 0;
	do {
		if (*i >= n || shift > 30)
			return -1;
		b = t[(*i)++];
		*v |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	return 0;
}

static int svarint(const uint8_t *t, size_t n, size_t *i, int32_t *v)
{
	uint32_t u;

	if (varint(t, n, i, &u))
		return -1;
	*v = u & 1 ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
	return 0;
}

enum {
	LOC_SHORT_MAX = 9,	/* 0 - 9: same line, one byte of columns */
	LOC_ONE_LINE0 = 10,	/* 10 - 12: line + 0..2, two bytes of columns */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,	/* a signed line delta */
	LOC_LONG = 14,		/* line delta, end line, column, end column */
	LOC_NONE = 15,		/* no location */
};

int py_line_311(const uint8_t *t, size_t n, int firstlineno, int64_t addr)
{
	int64_t start, end = 0;
	int32_t line = firstlineno, d;
	size_t i = 0;
	uint32_t skip;

	if (addr < 0)
		return firstlineno;
	while (i < n) {
		uint8_t first = t[i++];
		int code = (first >> 3) & 15;
		bool none = false;

		/* an entry starts with bit 7 set; anything else is not a table */
		if (!(first & 0x80))
			return -1;
		start = end;
		end += (first & 7) + 1;
		if (code <= LOC_SHORT_MAX) {
			i += 1;
		} else if (code <= LOC_ONE_LINE2) {
			line += code - LOC_ONE_LINE0;
			i += 2;
		} else if (code == LOC_NO_COLUMNS) {
			if (svarint(t, n, &i, &d))
				return -1;
			line += d;
		} else if (code == LOC_LONG) {
			if (svarint(t, n, &i, &d) || varint(t, n, &i, &skip) ||
			    varint(t, n, &i, &skip) || varint(t, n, &i, &skip))
				return -1;
			line += d;
		} else {
			none = true;
		}
		if (i > n)
			return -1;
		if (start <= addr && addr < end)
			return none ? -1 : line;
	}
	return -1;
}
