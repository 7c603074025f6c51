/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Address -> symbol over a table of symbols, whatever file they came
 * from (elf_syms.c's own .symtab/.dynsym reader, or the table libdwfl
 * chose: a separate debug file's, MiniDebugInfo's).  One rule says which
 * of several symbols holding an address names it, so every source
 * names glibc's aliases the same way (pthread_mutex_lock, not
 * __pthread_mutex_lock@GLIBC_2.2.5 or __GI___pthread_mutex_lock).
 */
#ifndef SYMINDEX_H
#define SYMINDEX_H

#include <stddef.h>
#include <stdint.h>
#include "elf_syms.h"

#define SYMINDEX_KINDS	2	/* ELF_SYM_FUNC, ELF_SYM_OBJECT */

struct symindex {
	const struct elf_sym *syms;	/* not owned */
	/* per kind (index kind - 1): symbol indices sorted by address, and
	 * for each position the highest symbol end up to it, which tells a
	 * lookup walking backwards when no earlier symbol can reach */
	uint32_t *by_addr[SYMINDEX_KINDS];
	uint64_t *max_end[SYMINDEX_KINDS];
	size_t nr[SYMINDEX_KINDS];
};

/* Indexes @nr symbols of @syms (kept, not copied: they must outlive the
 * index).  0, -EINVAL (more than 2^32 symbols) or -ENOMEM. */
int symindex__build(struct symindex *idx, const struct elf_sym *syms, size_t nr);
void symindex__free(struct symindex *idx);

/* The symbol of @kind whose [addr, addr + size) holds @addr (symbols with
 * size 0 match only their exact address), chosen among several by
 * elf_sym__names_better(); NULL when none. */
const struct elf_sym *symindex__lookup(const struct symindex *idx, uint64_t addr, int kind);

/* Global names beat weak ones, which beat file-local ones: 0, 1, 2. */
int elf_sym__bind_rank(const struct elf_sym *e);
/* Which of two symbols holding one address names it: a sized one over a
 * size-0 label, the innermost of nested ones, a default version over a
 * compat one (among exported names), glibc's public name over its
 * internal aliases (__GI_*, leading underscores), a global over a weak
 * over a local one, then the first. */
bool elf_sym__names_better(const struct elf_sym *a, const struct elf_sym *b);

#endif
