// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "stackfix.h"
#include "symbolize.h"

#define MAX_ADDED 4

static bool in_libc(struct symbolizer *s, uint64_t addr)
{
	const char *m = symbolizer__module(s, addr);

	return m && !strncmp(m, "libc.so", 7);
}

/*
 * The stack below the live frames holds stale return addresses of calls
 * that already returned.  The application's call into libc is told apart
 * by where it calls: a PLT stub (code no function symbol covers) or libc
 * itself, never another application function.
 */
static bool calls_into_libc(struct symbolizer *s, uint64_t ra, uint64_t target)
{
	char buf[256];

	(void)ra;
	if (!target)		/* an indirect call: -fno-plt's call *GOT */
		return true;
	if (in_libc(s, target))
		return true;
	return symbolizer__code(s, target, buf, sizeof(buf)) != 0;
}

int stack_repair(struct symbolizer *s, struct gs_futex_wait_event *w)
{
	uint64_t found[MAX_ADDED];
	uint32_t nr = w->nr_frames, added = 0, keep;

	if (nr > GS_MAX_FRAMES)
		nr = GS_MAX_FRAMES;
	if (!nr || !w->nr_stack || !in_libc(s, w->frames[0]))
		return 0;
	for (uint32_t i = 0; i < w->nr_stack && i < GS_STACK_WORDS && added < MAX_ADDED; i++) {
		uint64_t v = w->stack[i], target;

		if (!symbolizer__is_return(s, v, &target))
			continue;
		if (in_libc(s, v)) {
			if (added < MAX_ADDED - 1)
				found[added++] = v;
			continue;
		}
		if (!calls_into_libc(s, v, target))
			continue;	/* stale, or a frame the walk has */
		found[added++] = v;	/* the application's call site: done */
		break;
	}
	if (!added || in_libc(s, found[added - 1]))
		return 0;	/* no caller outside libc: trust nothing */
	keep = nr - 1;
	if (1 + added + keep > GS_MAX_FRAMES)
		keep = GS_MAX_FRAMES - 1 - added;
	memmove(&w->frames[1 + added], &w->frames[1], keep * sizeof(w->frames[0]));
	memcpy(&w->frames[1], found, added * sizeof(found[0]));
	w->nr_frames = 1 + added + keep;
	return added;
}
