// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "gilstats.h"
#include "names.h"
#include "stats.h"
#include "timeline.h"

#define LABEL_W 24
#define MIN_COLS 20
#define MAX_COLS 400

int timeline_width(FILE *f)
{
	const char *c = getenv("COLUMNS");
	struct winsize ws;

	if (c && atoi(c) > 0)
		return atoi(c);
	if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws) && ws.ws_col)
		return ws.ws_col;
	return 100;
}

/* Time the thread spent holding / waiting within [c0, c1). */
static void column_share(const struct gil_thread *t, size_t *cursor, uint64_t c0,
			 uint64_t c1, uint64_t *hold, uint64_t *wait)
{
	*hold = *wait = 0;
	/* spans are in time order: skip those that ended before c0 */
	while (*cursor < t->nr_spans && t->spans[*cursor].end <= c0)
		(*cursor)++;
	for (size_t i = *cursor; i < t->nr_spans && t->spans[i].start < c1; i++) {
		uint64_t s = t->spans[i].start > c0 ? t->spans[i].start : c0;
		uint64_t e = t->spans[i].end < c1 ? t->spans[i].end : c1;

		if (e <= s)
			continue;
		if (t->spans[i].state == GS_GIL_HOLDING)
			*hold += e - s;
		else
			*wait += e - s;
	}
}

static void axis(FILE *f, int cols, uint64_t start, uint64_t end)
{
	char line[MAX_COLS + 1], lbl[32];
	size_t n;
	int tick = cols >= 100 ? 20 : 10;

	memset(line, '-', cols);
	for (int c = 0; c < cols; c += tick)
		line[c] = '+';
	line[cols] = 0;
	fprintf(f, "  %-*s%s\n", LABEL_W - 2, "", line);
	memset(line, ' ', cols);
	line[cols] = 0;
	for (int c = 0; c < cols; c += tick) {
		uint64_t t = (end - start) * c / cols;

		fmt_ns(t, lbl, sizeof(lbl));
		n = strlen(lbl);
		if (c + (int)n <= cols)
			memcpy(line + c, lbl, n);
	}
	fprintf(f, "  %-*s%s\n", LABEL_W - 2, "time", line);
}

void timeline_print(FILE *f, struct gilstats *g, struct names *n, int width,
		    uint64_t start, uint64_t end)
{
	int cols = width - LABEL_W - 1;
	char row[MAX_COLS + 1], label[64], b[32];

	if (cols < MIN_COLS)
		cols = MIN_COLS;
	if (cols > MAX_COLS)
		cols = MAX_COLS;
	if (end <= start)
		return;
	fprintf(f, "Timeline (%s per column, what each thread did most):  # holding the GIL  "
		"- waiting for it  . held it briefly  (blank) ran without it (I/O, sleep, C code) "
		"or idle\n",
		fmt_ns((end - start) / cols, b, sizeof(b)));
	for (size_t i = 0; i < g->nr_threads; i++) {
		const struct gil_thread *t = g->threads[i];
		size_t cursor = 0;

		if (!t->acquisitions && !t->waited_ns)
			continue;
		for (int c = 0; c < cols; c++) {
			uint64_t c0 = start + (end - start) * c / cols;
			uint64_t c1 = start + (end - start) * (c + 1) / cols;
			uint64_t hold, wait, idle;

			column_share(t, &cursor, c0, c1, &hold, &wait);
			idle = (c1 - c0) - hold - wait;
			/* what filled most of the column; a thread that held
			 * the GIL only briefly in an idle slice shows a '.', so
			 * an I/O thread's short runs are not lost */
			if (hold && hold >= wait && hold >= idle)
				row[c] = '#';
			else if (wait && wait > hold && wait >= idle)
				row[c] = '-';
			else if (hold)
				row[c] = '.';
			else
				row[c] = ' ';
		}
		row[cols] = 0;
		snprintf(label, sizeof(label), "%u %s", t->tid, names__thread(n, t->tid));
		fprintf(f, "  %-*.*s|%s|\n", LABEL_W - 3, LABEL_W - 3, label, row);
	}
	axis(f, cols, start, end);
}
