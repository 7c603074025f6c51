/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LIVE_H
#define LIVE_H

struct env;

/* `gilscope -p PID` / `gilscope -- CMD`: returns the exit status. */
int cmd_trace(struct env *env);

#endif
