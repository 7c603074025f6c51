/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef EXPORT_FOLDED_H
#define EXPORT_FOLDED_H

#include <stdio.h>

struct replay;

/* Writes @r's Python stacks for @metric (gil-held, gil-wait, lock-wait;
 * NULL: gil-held) as folded stacks.  0 or -errno. */
int export_folded(FILE *f, struct replay *r, const char *metric);

#endif
