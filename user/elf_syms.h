/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ELF files as gilscope needs them: symbols from .symtab then .dynsym
 * (with glibc's symbol versions), address <-> file offset through the
 * PT_LOAD segments, code bytes for probe placement, and the build-id.
 * Every read is bounds-checked: a malformed file gives -EINVAL, never a
 * crash (the symboliser reads files of processes we do not control).
 */
#ifndef ELF_SYMS_H
#define ELF_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_file;

enum elf_sym_kind {
	ELF_SYM_FUNC = 1,	/* STT_FUNC, STT_GNU_IFUNC */
	ELF_SYM_OBJECT = 2,	/* STT_OBJECT, STT_TLS excluded */
};

struct elf_sym {
	const char *name;	/* owned by the elf_file; no "@VER" suffix */
	const char *version;	/* "GLIBC_2.3.2", or NULL when unversioned */
	uint64_t addr;		/* st_value (link-time virtual address) */
	uint64_t size;		/* st_size; 0 when unknown */
	int kind;		/* enum elf_sym_kind */
	bool hidden_version;	/* a compat version (name@VER, not name@@VER) */
	bool from_dynsym;
	unsigned char bind;	/* STB_GLOBAL, STB_WEAK, STB_LOCAL */
};

struct elf_segment {
	uint64_t vaddr, memsz;	/* PT_LOAD p_vaddr / p_memsz */
	uint64_t offset, filesz;/* p_offset / p_filesz */
	uint64_t align;		/* p_align */
	uint32_t flags;		/* PF_X | PF_W | PF_R */
};

/* Opens and indexes @path.  Returns 0 or -errno (-ENOENT, -EACCES,
 * -ENOEXEC for a non-ELF or non-64-bit file, -EINVAL for a damaged one). */
int elf_file__open(const char *path, struct elf_file **out);
/* Same, from a memory buffer (copied); for fuzzing and tests. */
int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out);
void elf_file__close(struct elf_file *ef);

/* Looks up a function or object by exact name.  Where several versions of
 * the name exist (glibc's pthread_cond_timedwait@GLIBC_2.2.5 and
 * @@GLIBC_2.3.2), the default version wins.  .symtab entries win over
 * .dynsym ones.  Returns 0, or -ENOENT. */
int elf_file__find_sym(struct elf_file *ef, const char *name, int kind,
		       struct elf_sym *out);

/* Calls @cb for every FUNC/OBJECT symbol with a nonzero address, .symtab
 * first; stops early and returns @cb's value when it is nonzero. */
int elf_file__for_each_sym(struct elf_file *ef,
			   int (*cb)(const struct elf_sym *sym, void *ctx),
			   void *ctx);

/* The symbol of @kind whose [addr, addr + size) holds @vaddr (symbols with
 * size 0 match only their exact address).  Returns 0, or -ENOENT. */
int elf_file__addr_to_sym(struct elf_file *ef, uint64_t vaddr, int kind,
			  struct elf_sym *out);

/* The PT_LOAD segments, in file order. */
size_t elf_file__segments(struct elf_file *ef, const struct elf_segment **segs);

/* Link-time virtual address <-> file offset, through PT_LOAD.  -ENOENT
 * when outside every segment (or, for vaddr_to_offset, in .bss). */
int elf_file__vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off);
int elf_file__offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr);

/* Copies @len bytes of the file image at link-time @vaddr (code or data),
 * short reads at the segment end included: returns the bytes copied, or
 * -ENOENT.  The first read of a segment reads all of it (reopening the
 * file by path); later ones are served from memory, never the file. */
long elf_file__read(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len);

/* The NT_GNU_BUILD_ID note as lower-case hex, or -ENOENT. */
int elf_file__build_id(struct elf_file *ef, char *hex, size_t len);

/* ET_EXEC (fixed addresses) or ET_DYN (PIE / shared object). */
bool elf_file__is_dyn(struct elf_file *ef);
uint64_t elf_file__entry(struct elf_file *ef);

#endif
