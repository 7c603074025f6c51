// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libFuzzer target: the perf map reader (a JIT's /tmp/perf-PID.map, which
 * any process can write) on arbitrary bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "perfmap.h"

static char path[] = "/tmp/gs-fuzz-perfmap-XXXXXX";

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	const char *file;
	struct perfmap *pm;
	uint64_t start;

	if (fd < 0) {
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		atexit(remove_file);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (perfmap__new_path(path, &pm))
		return 0;
	for (uint64_t a = 0; a < 0x10000; a += 0x1003)
		perfmap__lookup(pm, a, &start, &file);
	perfmap__lookup(pm, UINT64_MAX, &start, &file);
	perfmap__free(pm);
	return 0;
}
