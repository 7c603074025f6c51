/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names for addresses in a target process: code addresses as
 * "module:symbol+0xoff", data addresses (locks) as "module:symbol+off".
 * Keeps a snapshot of /proc/PID/maps (re-read on a miss, for libraries
 * loaded after attach) and a cache of opened ELF files.
 */
#ifndef SYMBOLIZE_H
#define SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

/* 0 or -errno. */
int symbolizer__new(pid_t pid, struct symbolizer **out);
void symbolizer__free(struct symbolizer *s);
/* Where separate debug files are looked for ("dir:dir"; NULL: the
 * default, see debuginfo.h), before the first name is asked for.
 * 0, -EBUSY after, or -ENOMEM. */
int symbolizer__set_debug_dirs(struct symbolizer *s, const char *dirs);
/* A lookup that misses re-reads /proc/PID/maps, for code mapped since:
 * with @gen (a count the BPF side bumps when the target maps code), only
 * if it moved since the last read, so that a stream of stack words that
 * point nowhere costs no file system work.  Without, every miss does. */
void symbolizer__watch_maps(struct symbolizer *s, const volatile uint64_t *gen);

/* A code address: "libc.so.6:pthread_mutex_lock+0xe" when a FUNC symbol
 * holds it (from the file, its separate debug file or its MiniDebugInfo),
 * "libc.so.6+0x8c37e" when it is in a mapped file but no symbol holds it,
 * "perf-1234.map:py::fib:/x.py+0x1c" in a JIT's code its perf map
 * names, "[unknown]" otherwise.  Module names are basenames.  Returns 0
 * when a symbol was found, -ENOENT otherwise (@buf is still filled). */
int symbolizer__code(struct symbolizer *s, uint64_t addr, char *buf, size_t len);

/* The same, and the source line where DWARF has it (" (file.c:49)"
 * after the name; for a return address, the line of its call). */
int symbolizer__code_line(struct symbolizer *s, uint64_t addr, char *buf, size_t len);

/* A data address: "prog:table_lock" or "libfoo.so:cache_mutex+8" when an
 * OBJECT symbol holds it (including .bss past the file-backed mapping);
 * where DWARF has the variable's type, as C names the element or member
 * ("prog:lru_locks[12]", "prog:stats.mutex").
 * Returns 0, or -ENOENT with @buf set to "". */
int symbolizer__data(struct symbolizer *s, uint64_t addr, char *buf, size_t len);

/* Runtime address of @sym (a FUNC or OBJECT symbol) in the module whose
 * basename starts with @module_prefix ("" for the main executable).
 * Returns 0 or -ENOENT. */
int symbolizer__sym_addr(struct symbolizer *s, const char *module_prefix,
			 const char *sym, uint64_t *addr);

/* Runtime address of @sym (FUNC or OBJECT) in whichever mapped module
 * defines it: the main executable first, then every other module in
 * address order.  For what may live anywhere: an interpreter started
 * through its loader (`ld.so /usr/bin/python3 ...`, where the executable
 * is ld.so), or a runtime in a library of any name.  0 or -ENOENT. */
int symbolizer__sym_addr_any(struct symbolizer *s, const char *sym, uint64_t *addr);

/* Opens every file mapped now, so names still resolve after the target
 * has exited (its files are read through /proc/PID/root, gone by then). */
void symbolizer__preload(struct symbolizer *s);

/* The basename of the file mapped at @addr, or NULL. */
const char *symbolizer__module(struct symbolizer *s, uint64_t addr);
/* The mapping holding @addr (as /proc/PID/maps had it when last read), or NULL. */
struct proc_map;
const struct proc_map *symbolizer__mapping(struct symbolizer *s, uint64_t addr);

/* True when @addr looks like a return address: inside an executable file
 * mapping, right after a call instruction (e8 rel32, ff /2 forms).  For
 * a direct call, @target (if not NULL) receives where it calls, else 0. */
bool symbolizer__is_return(struct symbolizer *s, uint64_t addr, uint64_t *target);

#endif
