// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "grow.h"
#include "perfmap.h"
#include "monotime.h"

#define REREAD_NS	(250ULL * 1000 * 1000)
#define MAX_FILE	(256ULL << 20)	/* a JIT's map beyond this is not read */
#define MAX_NAME	1024

struct perfmap_ent {
	uint64_t start, size;
	uint32_t line;		/* later lines win: JITs reuse memory */
	char *name;
};

struct perfmap {
	pid_t pid;
	char path[PATH_MAX];	/* the file read, "" until found */
	char base[64];		/* its basename */
	char fixed;		/* perfmap__new_path(): never look elsewhere */
	struct perfmap_ent *ents;
	size_t nr, cap;
	uint64_t checked_ns;	/* when the file was last looked at */
	off_t size;		/* how much of it was read */
	dev_t dev;
	ino_t ino;
};

/* strlcpy: @src cut to fit */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

int perfmap__new(pid_t pid, struct perfmap **out)
{
	struct perfmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return -ENOMEM;
	pm->pid = pid;
	*out = pm;
	return 0;
}

int perfmap__new_path(const char *path, struct perfmap **out)
{
	const char *slash = strrchr(path, '/');
	struct perfmap *pm;

	if (strlen(path) >= sizeof(pm->path))
		return -ENAMETOOLONG;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	strcpy(pm->path, path);
	copy_str(pm->base, sizeof(pm->base), slash ? slash + 1 : path);
	pm->fixed = 1;
	*out = pm;
	return 0;
}

static void free_ents(struct perfmap *pm)
{
	for (size_t i = 0; i < pm->nr; i++)
		free(pm->ents[i].name);
	pm->nr = 0;
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	free_ents(pm);
	free(pm->ents);
	free(pm);
}

/* The PID the target has in its own PID namespace: the last of NSpid. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t ns = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			ns = v;
			p = end;
		}
		break;
	}
	fclose(f);
	return ns;
}

/* Opens the map file: regular, and root's or the target's owner's. */
static int open_map(struct perfmap *pm, struct stat *st)
{
	char cand[2][PATH_MAX];
	struct stat owner;
	int n = 0;

	if (pm->fixed) {
		copy_str(cand[n++], PATH_MAX, pm->path);
	} else {
		char proc[32];

		snprintf(cand[n++], PATH_MAX, "/proc/%d/root/tmp/perf-%d.map", pm->pid,
			 ns_pid(pm->pid));
		snprintf(cand[n++], PATH_MAX, "/tmp/perf-%d.map", pm->pid);
		snprintf(proc, sizeof(proc), "/proc/%d", pm->pid);
		if (stat(proc, &owner))
			return -ESRCH;
	}
	for (int i = 0; i < n; i++) {
		int fd = open(cand[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			continue;
		if (fstat(fd, st) || !S_ISREG(st->st_mode) ||
		    (!pm->fixed && st->st_uid != 0 && st->st_uid != owner.st_uid)) {
			close(fd);
			continue;
		}
		if (!pm->fixed) {
			const char *slash = strrchr(cand[i], '/');

			copy_str(pm->path, sizeof(pm->path), cand[i]);
			copy_str(pm->base, sizeof(pm->base), slash + 1);
		}
		return fd;
	}
	return -ENOENT;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct perfmap_ent *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Parses one "START SIZE name" line; false for anything else. */
static bool parse_line(char *line, struct perfmap_ent *e)
{
	char *p = line, *end;
	size_t n;

	e->start = strtoull(p, &end, 16);
	if (end == p || *end != ' ')
		return false;
	p = end + 1;
	e->size = strtoull(p, &end, 16);
	if (end == p || *end != ' ' || !e->size || e->start + e->size < e->start)
		return false;
	p = end + 1;
	n = strcspn(p, "\n");
	if (!n)
		return false;
	if (n > MAX_NAME)
		n = MAX_NAME;
	e->name = strndup(p, n);
	if (!e->name)
		return false;
	/* a name is printed in reports: no control characters */
	for (char *c = e->name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return true;
}

/* Reads the whole file again (it grew, or was replaced). */
static int reread(struct perfmap *pm)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	uint32_t nr = 0;
	FILE *f;
	int fd;

	fd = open_map(pm, &st);
	if (fd < 0)
		return fd;
	if (st.st_dev == pm->dev && st.st_ino == pm->ino && st.st_size == pm->size) {
		close(fd);
		return 0;	/* nothing new */
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	free_ents(pm);
	pm->dev = st.st_dev;
	pm->ino = st.st_ino;
	pm->size = st.st_size;
	while (getline(&line, &cap, f) > 0 && ftell(f) <= (long)MAX_FILE) {
		struct perfmap_ent e;

		if (!parse_line(line, &e))
			continue;
		e.line = nr++;
		if (GROW_ARRAY(pm->ents, pm->cap, pm->nr + 1, 256)) {
			free(e.name);
			break;
		}
		pm->ents[pm->nr++] = e;
	}
	free(line);
	fclose(f);
	if (pm->nr > 1)
		qsort(pm->ents, pm->nr, sizeof(*pm->ents), cmp_ent);
	return 0;
}

static const struct perfmap_ent *find(const struct perfmap *pm, uint64_t addr)
{
	const struct perfmap_ent *best = NULL;
	size_t lo = 0, hi = pm->nr;

	while (lo < hi) {	/* the first entry starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (pm->ents[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* the closest start below: its latest line that holds addr */
	for (size_t i = lo; i-- > 0 && pm->ents[i].start == pm->ents[lo - 1].start;) {
		const struct perfmap_ent *e = &pm->ents[i];

		if (addr - e->start < e->size && (!best || e->line > best->line))
			best = e;
	}
	return best;
}

const char *perfmap__lookup(struct perfmap *pm, uint64_t addr, uint64_t *start,
			    const char **file)
{
	const struct perfmap_ent *e = find(pm, addr);
	uint64_t now;

	if (!e) {
		now = now_ns();
		if (pm->checked_ns && now - pm->checked_ns < REREAD_NS)
			return NULL;
		pm->checked_ns = now;
		if (reread(pm))
			return NULL;
		e = find(pm, addr);
		if (!e)
			return NULL;
	}
	*start = e->start;
	if (file)
		*file = pm->base;
	return e->name;
}
