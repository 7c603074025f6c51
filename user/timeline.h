/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The GIL timeline in the terminal, as in David Beazley's GIL talks: one
 * row per thread, time left to right, a glyph per column for what the
 * thread mostly did in that slice of time.
 */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct gilstats;
struct names;

/* The terminal's width for @f (COLUMNS, then TIOCGWINSZ), else 100. */
int timeline_width(FILE *f);
void timeline_print(FILE *f, struct gilstats *g, struct names *n, int width,
		    uint64_t start, uint64_t end);

#endif
