/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recovering the frames a frame-pointer walk loses in the C library.
 *
 * glibc (Debian's, and most) is built without frame pointers.  At a futex
 * wait inside pthread_mutex_lock, %rbp still holds the application
 * function's frame, so the kernel's walk goes from the libc function
 * straight to the application function's *caller*: the function that
 * called pthread_mutex_lock - the call site a reader wants - is missing.
 * Its return address is on the stack between %rsp and that frame; BPF
 * copies the first 512 bytes of the stack, and this scans them for return
 * addresses (right after a call instruction, in executable code) up to
 * the first one outside libc, and splices them in after the first frame.
 */
#ifndef STACKFIX_H
#define STACKFIX_H

#include <linux/types.h>
#include "gilscope.h"

struct symbolizer;

/* Repairs @w's frames in place (a no-op when the innermost frame is not
 * in libc or nothing is found).  Returns the number of frames added. */
int stack_repair(struct symbolizer *s, struct gs_futex_wait_event *w);

#endif
