/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `gilscope -- ./script.py` and `gilscope -- python3` through a pyenv
 * shim: what program really runs.  gilscope stops a new program at its
 * ELF entry point to attach before it runs, so a script (#!) is started
 * as its interpreter with the script as argument, as the kernel would
 * start it, and a pyenv shim (a shell script that execs the selected
 * Python) as the Python `pyenv which` names.
 */
#ifndef SHEBANG_H
#define SHEBANG_H

#include <stddef.h>

/* @path (resolved, executable) and @argv: if @path is a script or a pyenv
 * shim, the ELF program to run into @out and a new argv into *@out_argv
 * (malloc'ed, free with shebang__free); else 0 with *@out_argv NULL.
 * 0 or -errno (-ENOEXEC: an interpreter gilscope cannot find). */
int shebang__resolve(const char *path, char **argv, char *out, size_t len,
		     char ***out_argv);
void shebang__free(char **argv);
/* @name as execvp finds it: along PATH (default /usr/local/bin:/usr/bin:
 * /bin), or as is when it has a '/'; made absolute into @out (at least
 * PATH_MAX bytes).  0, or -errno (-ENOENT: not on PATH). */
int shebang__which(const char *name, char *out, size_t len);

#endif
