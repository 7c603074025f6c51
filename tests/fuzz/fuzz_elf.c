// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer target: the ELF symbol reader on arbitrary bytes. */
#include <stdint.h>
#include "elf_syms.h"

static int count(const struct elf_sym *s, void *ctx)
{
	(void)s;
	(*(int *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct elf_segment *segs;
	struct elf_file *ef;
	struct elf_sym sym;
	uint64_t off;
	char hex[64];
	uint8_t buf[64];
	int n = 0;

	if (elf_file__open_mem(data, size, &ef))
		return 0;
	elf_file__for_each_sym(ef, count, &n);
	elf_file__find_sym(ef, "pthread_mutex_lock", ELF_SYM_FUNC, &sym);
	elf_file__addr_to_sym(ef, 0x1000, ELF_SYM_FUNC, &sym);
	elf_file__addr_to_sym(ef, 0x4000, ELF_SYM_OBJECT, &sym);
	elf_file__build_id(ef, hex, sizeof(hex));
	for (size_t i = 0; i < elf_file__segments(ef, &segs); i++) {
		elf_file__read(ef, segs[i].vaddr, buf, sizeof(buf));
		elf_file__vaddr_to_offset(ef, segs[i].vaddr, &off);
	}
	elf_file__close(ef);
	return 0;
}
