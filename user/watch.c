// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "grow.h"
#include "proc.h"
#include "symbolize.h"
#include "watch.h"

/* CPython's singletons, by the names a user knows them by. */
static const struct {
	const char *alias, *sym;
} singletons[] = {
	{ "None", "_Py_NoneStruct" },
	{ "True", "_Py_TrueStruct" },
	{ "False", "_Py_FalseStruct" },
};

/* Where an interpreter's symbols live: the executable, or libpython. */
static const char *const python_modules[] = { "", "libpython3" };

static int sym_lookup(struct symbolizer *s, const char *spec, uint64_t *addr)
{
	char module[64] = "", name[128];
	const char *colon = strchr(spec, ':');

	if (colon) {
		if ((size_t)(colon - spec) >= sizeof(module))
			return -ENOENT;
		memcpy(module, spec, colon - spec);
		module[colon - spec] = '\0';
		spec = colon + 1;
	}
	snprintf(name, sizeof(name), "%s", spec);
	if (colon)
		return symbolizer__sym_addr(s, module, name, addr);
	for (size_t i = 0; i < sizeof(python_modules) / sizeof(python_modules[0]); i++)
		if (!symbolizer__sym_addr(s, python_modules[i], name, addr))
			return 0;
	return -ENOENT;
}

/* "0x7f12...", "140112..." (id()), or NULL when @spec is not a number. */
static bool parse_number(const char *spec, uint64_t *out)
{
	char *end;

	if (!*spec || *spec == '-' || *spec == '+')
		return false;
	errno = 0;
	*out = strtoull(spec, &end, 0);
	return !errno && !*end;
}

static int resolve_one(struct symbolizer *s, const char *spec, struct watched *o)
{
	char sym[128];
	uint64_t off = 0;
	const char *plus;

	memset(o, 0, sizeof(*o));
	if (parse_number(spec, &o->addr)) {
		snprintf(o->name, sizeof(o->name), "0x%" PRIx64, o->addr);
		goto check;
	}
	for (size_t i = 0; i < sizeof(singletons) / sizeof(singletons[0]); i++) {
		if (strcmp(spec, singletons[i].alias))
			continue;
		if (sym_lookup(s, singletons[i].sym, &o->addr)) {
			fprintf(stderr, "gilscope: --object %s: no %s in the target: is it a "
				"CPython process?\n", spec, singletons[i].sym);
			return -ENOENT;
		}
		snprintf(o->name, sizeof(o->name), "%s", spec);
		goto check;
	}
	/* [module:]symbol[+offset] */
	snprintf(sym, sizeof(sym), "%s", spec);
	plus = strrchr(spec, '+');
	if (plus) {
		sym[plus - spec] = '\0';
		if (!parse_number(plus + 1, &off)) {
			fprintf(stderr, "gilscope: --object %s: bad offset after '+'\n", spec);
			return -EINVAL;
		}
	}
	if (!sym[0] || sym_lookup(s, sym, &o->addr)) {
		fprintf(stderr, "gilscope: --object %s: not None/True/False, not an address "
			"and no such symbol in the target\n", spec);
		return -ENOENT;
	}
	o->addr += off;
	snprintf(o->name, sizeof(o->name), "%s", spec);
check:
	/* the debug registers watch an aligned 8-byte word */
	if (!o->addr || o->addr % 8) {
		fprintf(stderr, "gilscope: --object %s: address 0x%" PRIx64 " is not an object "
			"(a reference count is an aligned 8-byte word)\n", spec, o->addr);
		return -EINVAL;
	}
	return 0;
}

int watch__resolve(struct watchset *w, pid_t pid, char *const *specs, int nr)
{
	struct symbolizer *s = NULL;
	int err = 0;

	if (nr > GS_MAX_WATCH) {
		fprintf(stderr, "gilscope: at most %d objects can be watched (the CPU has %d "
			"debug registers)\n", GS_MAX_WATCH, GS_MAX_WATCH);
		return -E2BIG;
	}
	err = symbolizer__new(pid, &s);
	if (err) {
		fprintf(stderr, "gilscope: cannot read process %d's mappings: %s\n", pid,
			strerror(-err));
		return err;
	}
	w->nr = 0;
	for (int i = 0; i < nr && !err; i++) {
		const struct proc_map *m;

		err = resolve_one(s, specs[i], &w->obj[w->nr]);
		/* a watchpoint on unmapped memory would just count 0 writes */
		m = err ? NULL : symbolizer__mapping(s, w->obj[w->nr].addr);
		if (!err && (!m || m->perms[1] != 'w')) {
			fprintf(stderr, "gilscope: --object %s: process %d has no writable memory "
				"at 0x%" PRIx64 ": give the address of a live object (id(obj))\n",
				specs[i], pid, w->obj[w->nr].addr);
			err = -EINVAL;
		}
		for (int j = 0; !err && j < w->nr; j++)
			if (w->obj[j].addr == w->obj[w->nr].addr) {
				fprintf(stderr, "gilscope: --object %s: watched twice\n", specs[i]);
				err = -EINVAL;
			}
		if (!err)
			w->nr++;
	}
	symbolizer__free(s);
	return err;
}

static int add_link(struct watchset *w, struct bpf_link *l)
{
	if (GROW_ARRAY(w->links, w->cap_links, w->nr_links + 1, 16))
		return -ENOMEM;
	w->links[w->nr_links++] = l;
	return 0;
}

/* One write watchpoint on @addr in thread @tid, inherited by the threads
 * it creates from now on. */
static int watch_thread(struct watchset *w, pid_t tid, uint64_t addr,
			struct bpf_program *prog)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(a),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = addr,
		.bp_len = HW_BREAKPOINT_LEN_8,
		.sample_period = 1,	/* every write */
		.inherit = 1,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	struct bpf_link *l;
	int fd, err;

	fd = syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	l = bpf_program__attach_perf_event(prog, fd);
	if (!l) {
		err = -errno;
		close(fd);
		return err;
	}
	err = add_link(w, l);	/* the link owns the fd now */
	if (err)
		bpf_link__destroy(l);
	return err;
}

static bool seen(const pid_t *tids, size_t nr, pid_t tid)
{
	for (size_t i = 0; i < nr; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

int watch__attach(struct watchset *w, pid_t pid, struct bpf_program *prog)
{
	pid_t *done = NULL, *tids = NULL;
	size_t nr_done = 0, nr = 0;
	bool more = true;
	int err = 0;

	/* A thread created while we go round is covered when its creator
	 * already had the watchpoints (inherit); else the next round gets it. */
	while (more && !err) {
		more = false;
		free(tids);
		tids = NULL;
		err = proc_threads(pid, &tids, &nr);
		if (err)
			break;
		for (size_t i = 0; i < nr && !err; i++) {
			pid_t *n;

			if (seen(done, nr_done, tids[i]))
				continue;
			more = true;
			for (int k = 0; k < w->nr && !err; k++) {
				err = watch_thread(w, tids[i], w->obj[k].addr, prog);
				if (err == -ESRCH)	/* it exited meanwhile */
					err = 0;
			}
			n = realloc(done, (nr_done + 1) * sizeof(*n));
			if (!n) {
				err = -ENOMEM;
				break;
			}
			done = n;
			done[nr_done++] = tids[i];
		}
	}
	free(tids);
	free(done);
	w->nr_threads = nr_done;
	if (err == -ENOSPC)
		fprintf(stderr, "gilscope: no free hardware watchpoint in process %d: each "
			"thread has %d debug registers, shared with debuggers and other "
			"tracers: watch fewer objects\n", pid, GS_MAX_WATCH);
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "gilscope: hardware watchpoints need CAP_PERFMON (or root): "
			"run gilscope with sudo\n");
	else if (err)
		fprintf(stderr, "gilscope: cannot set a hardware watchpoint in process %d: %s\n",
			pid, strerror(-err));
	if (err)
		watch__detach(w);
	return err;
}

void watch__detach(struct watchset *w)
{
	for (size_t i = 0; i < w->nr_links; i++)
		bpf_link__destroy(w->links[i]);
	free(w->links);
	w->links = NULL;
	w->nr_links = w->cap_links = 0;
}
