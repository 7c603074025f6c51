/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names from every source the machine has, through elfutils' libdwfl:
 * the symbol table libdwfl picks for a file (a separate debug file's
 * .symtab, found by debuginfo.c; else the file's own .symtab; else its
 * .dynsym with MiniDebugInfo's .gnu_debugdata), source lines and
 * variables' types from DWARF.  One Dwfl session per process and one
 * Dwfl_Module per load of a file, kept for the session's life: what is
 * read from a file is read once.
 *
 * libdwfl opens nothing by path itself: its find_elf callback opens a
 * load's file with proc_map_path() (the target's root, a deleted file's
 * /proc/PID/map_files entry), its find_debuginfo callback asks
 * debuginfo.c.  Neither ever asks debuginfod, whatever DEBUGINFOD_URLS
 * says.
 */
#ifndef DWNAMES_H
#define DWNAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "elf_syms.h"

struct dwnames;
struct dwnames_mod;
struct proc_map;

/* @debug_dirs: as debuginfo_where__init() takes them (NULL: the default).
 * 0 or -errno. */
int dwnames__new(pid_t pid, const char *debug_dirs, struct dwnames **out);
void dwnames__free(struct dwnames *d);

/*
 * The module of one load: the file mapped by @m (its mapping with the
 * lowest file offset), loaded with @bias (runtime minus link-time
 * address), with PT_LOAD segments @segs.  The same load asked again is
 * the same module.  NULL when libdwfl cannot take it.  Valid until
 * dwnames__free().
 */
struct dwnames_mod *dwnames__module(struct dwnames *d, const struct proc_map *m,
				    uint64_t bias, const struct elf_segment *segs, size_t nr);

/* Opens the module's file and looks for its debug file now, while the
 * target (and its root) exists: names still resolve after it exits. */
void dwnames__preload(struct dwnames_mod *dm);

/* The symbol of @kind (ELF_SYM_FUNC, ELF_SYM_OBJECT) holding runtime
 * address @addr, its address runtime too.  0, or -ENOENT (also when the
 * module has no symbols at all, or libdwfl could not read it). */
int dwnames__sym(struct dwnames_mod *dm, uint64_t addr, int kind, struct elf_sym *sym);

/* "lowlevellock.c:49": the source line of @addr, where DWARF has it.
 * 0 or -ENOENT. */
int dwnames__line(struct dwnames_mod *dm, uint64_t addr, char *buf, size_t len);

/*
 * A data address inside the OBJECT symbol @sym: named as C writes it
 * when DWARF has the variable's type ("lru_locks[12]", "stats.mutex",
 * "table[2].lock", "cond+8" inside a glibc type), else "sym+off" (or
 * "sym" at its start).  Always fills @buf.
 */
void dwnames__data(struct dwnames_mod *dm, uint64_t addr, const struct elf_sym *sym,
		   char *buf, size_t len);

#endif
