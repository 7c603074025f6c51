/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython's three line-number tables, decoded from a copy in our memory:
 * what line an instruction offset is on.  Each returns the line, or -1
 * when the table gives none for that offset (an instruction without a
 * location) or is malformed; an offset before the first instruction is on
 * @firstlineno, as CPython's PyCode_Addr2Line says.
 */
#ifndef PYREAD_LINES_H
#define PYREAD_LINES_H

#include <stddef.h>
#include <stdint.h>

/* 3.8, 3.9: co_lnotab, (byte delta, signed line delta) pairs; @addr in bytes */
int py_line_lnotab(const uint8_t *t, size_t n, int firstlineno, int64_t addr);
/* 3.10: co_linetable, (byte length, signed line delta, -128: none) pairs;
 * @addr in bytes */
int py_line_310(const uint8_t *t, size_t n, int firstlineno, int64_t addr);
/* 3.11+: the PEP 657 location table; @addr in 2-byte code units */
int py_line_311(const uint8_t *t, size_t n, int firstlineno, int64_t addr);

#endif
