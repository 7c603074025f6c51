// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "symindex.h"

int elf_sym__bind_rank(const struct elf_sym *e)
{
	switch (e->bind) {
	case STB_GLOBAL:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

/* glibc's hidden_def aliases (__GI___lll_lock_wait for __lll_lock_wait)
 * let libc call itself without the PLT: never the name users know. */
static bool internal_alias(const char *name)
{
	return !strncmp(name, "__GI_", 5);
}

bool elf_sym__names_better(const struct elf_sym *a, const struct elf_sym *b)
{
	size_t ua, ub;

	/* a sized symbol says it covers the address; a size-0 one only starts there */
	if (!a->size != !b->size)
		return a->size;
	/* nested symbols: the innermost */
	if (a->addr != b->addr)
		return a->addr > b->addr;
	/* aliases: __pthread_mutex_lock@GLIBC_2.2.5 is pthread_mutex_lock;
	 * only exported names have versions: a compat one still beats a
	 * local name (pthread_cond_timedwait@GLIBC_2.2.5 is no
	 * __pthread_cond_timedwait_2_0) */
	if (a->hidden_version != b->hidden_version && a->bind != STB_LOCAL &&
	    b->bind != STB_LOCAL)
		return !a->hidden_version;
	if (internal_alias(a->name) != internal_alias(b->name))
		return !internal_alias(a->name);
	/*
	 * The public name before the binding: glibc makes the internal
	 * __getpid or _IO_puts the strong symbol and the getpid or puts
	 * users know a weak alias of it.
	 */
	ua = strspn(a->name, "_");
	ub = strspn(b->name, "_");
	if (ua != ub)
		return ua < ub;
	if (elf_sym__bind_rank(a) != elf_sym__bind_rank(b))
		return elf_sym__bind_rank(a) < elf_sym__bind_rank(b);
	return a < b;
}

static int cmp_addr(const void *a, const void *b, void *arg)
{
	const struct elf_sym *syms = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	uint64_t x = syms[i].addr, y = syms[j].addr;

	if (x != y)
		return x < y ? -1 : 1;
	return i < j ? -1 : i > j;
}

int symindex__build(struct symindex *idx, const struct elf_sym *syms, size_t nr)
{
	memset(idx, 0, sizeof(*idx));
	idx->syms = syms;
	if (nr >= UINT32_MAX)
		return -EINVAL;
	for (int k = 0; k < SYMINDEX_KINDS; k++) {
		uint64_t end, max = 0;
		size_t n = 0;

		for (size_t i = 0; i < nr; i++)
			n += syms[i].kind == k + 1;
		if (!n)
			continue;
		idx->by_addr[k] = calloc(n, sizeof(*idx->by_addr[k]));
		idx->max_end[k] = calloc(n, sizeof(*idx->max_end[k]));
		if (!idx->by_addr[k] || !idx->max_end[k]) {
			symindex__free(idx);
			return -ENOMEM;
		}
		n = 0;
		for (size_t i = 0; i < nr; i++)
			if (syms[i].kind == k + 1)
				idx->by_addr[k][n++] = i;
		qsort_r(idx->by_addr[k], n, sizeof(uint32_t), cmp_addr, (void *)syms);
		for (size_t i = 0; i < n; i++) {
			const struct elf_sym *s = &syms[idx->by_addr[k][i]];

			end = s->addr + s->size;
			if (end < s->addr)	/* saturate: a damaged size */
				end = UINT64_MAX;
			if (end > max)
				max = end;
			idx->max_end[k][i] = max;
		}
		idx->nr[k] = n;
	}
	return 0;
}

void symindex__free(struct symindex *idx)
{
	for (int k = 0; k < SYMINDEX_KINDS; k++) {
		free(idx->by_addr[k]);
		free(idx->max_end[k]);
		idx->by_addr[k] = NULL;
		idx->max_end[k] = NULL;
		idx->nr[k] = 0;
	}
}

const struct elf_sym *symindex__lookup(const struct symindex *idx, uint64_t addr, int kind)
{
	const struct elf_sym *best = NULL;
	const uint32_t *by_addr;
	const uint64_t *max_end;
	size_t lo = 0, hi;
	int k = kind - 1;

	if (k < 0 || k >= SYMINDEX_KINDS)
		return NULL;
	by_addr = idx->by_addr[k];
	max_end = idx->max_end[k];
	hi = idx->nr[k];
	while (lo < hi) {	/* the first symbol starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (idx->syms[by_addr[mid]].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0;) {
		const struct elf_sym *e = &idx->syms[by_addr[i]];

		/* nothing at or before i starts at addr or reaches past it */
		if (e->addr != addr && max_end[i] <= addr)
			break;
		if (e->size ? addr - e->addr >= e->size : e->addr != addr)
			continue;
		if (!best || elf_sym__names_better(e, best))
			best = e;
	}
	return best;
}
