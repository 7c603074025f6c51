/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Growing an array with realloc: its room doubles (from a first room when
 * it has none) until it holds what is needed.
 *
 *	if (GROW_ARRAY(ls->spans, ls->cap_spans, ls->nr_spans + 1, 256))
 *		return -ENOMEM;
 *	ls->spans[ls->nr_spans++] = ...;
 *
 * GROW_ARRAY takes the element size from the array's own type and
 * assigns the grown pointer back with that type (no void ** cast of the
 * caller's pointer); @cap must be a size_t.
 */
#ifndef GROW_H
#define GROW_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for @need elements of @size bytes in *@p, whose room is
 * *@cap elements.  0, or -ENOMEM with *@p and *@cap left as they were. */
static inline int grow_array(void **p, size_t *cap, size_t need, size_t size,
			     size_t first)
{
	size_t n;
	void *q;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : (first ? first : 1);
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* grow_array() on the array @arr (an lvalue) and its room @cap (a size_t
 * lvalue), @first elements when it has none; 0 or -ENOMEM. */
#define GROW_ARRAY(arr, cap, need, first) ({				\
	void *grow_p_ = (arr);						\
	int grow_err_ = grow_array(&grow_p_, &(cap), (need),		\
				   sizeof(*(arr)), (first));		\
									\
	if (!grow_err_)							\
		(arr) = grow_p_;					\
	grow_err_;							\
})

#endif /* GROW_H */
