/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef EXPORT_FOLDED_H
#define EXPORT_FOLDED_H

#include <stddef.h>
#include <stdio.h>

struct gs_event_hdr;
struct replay;

/* --native: the lock waits' native stacks beside their Python ones,
 * gathered while @r is read (folded_native__tap is its replay's tap). */
struct folded_native;
int folded_native__new(struct replay *r, struct folded_native **out);
void folded_native__tap(const struct gs_event_hdr *e, size_t size, void *ctx);
void folded_native__free(struct folded_native *fn);

/* Writes @r's Python stacks for @metric (gil-held, gil-wait, lock-wait;
 * NULL: gil-held) as folded stacks; with @fn (lock-wait only), the lock
 * waits' mixed stacks.  0 or -errno. */
int export_folded(FILE *f, struct replay *r, const char *metric, struct folded_native *fn);

#endif
