// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer target: the .gst reader and everything it feeds (meta tags,
 * names, records through the analysis) on arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include "analysis.h"
#include "names.h"
#include "report.h"
#include "tracefile.h"

struct ctx {
	struct report_meta m;
	struct names *n;
	struct analysis an;
};

static void on_meta(void *c, uint32_t tag, const void *val, uint32_t len)
{
	gst_meta_apply(&((struct ctx *)c)->m, tag, val, len);
}

static void on_name(void *c, int kind, uint64_t key, const char *name)
{
	struct ctx *x = c;

	if (kind == 1)
		names__set_code(x->n, key, name);
	else if (kind == 3)
		names__set_thread(x->n, key, name);
}

static void on_rec(void *c, const void *rec, size_t size)
{
	analysis__push(&((struct ctx *)c)->an, rec, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct lockstats_config lc = { .mutex_probes = true, .cond_probes = true };
	struct gil_config gc = { .mutex = 0x80, .cond = 0x20, .interval_us = 5000 };
	struct ctx c = {0};
	struct gst_read_cb cb = { on_meta, on_name, on_rec, &c };
	struct gst_read_stats st;
	char path[64];
	FILE *devnull;

	if (fd < 0)
		fd = memfd_create("fuzz.gst", 0);
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	names__new(0, NULL, &c.n);
	analysis__new(&c.an, &lc, c.n);
	analysis__add_gil(&c.an, &gc);
	gst_read(path, &cb, &st);
	analysis__finish(&c.an, c.m.end_ts);
	devnull = fopen("/dev/null", "w");
	report_text(devnull, &c.m, &c.an, c.n);
	report_json(devnull, &c.m, &c.an, c.n);
	fclose(devnull);
	analysis__free(&c.an);
	names__free(c.n);
	return 0;
}
