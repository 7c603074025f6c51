// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include "gilscope.h"	/* the skeleton's map value types */
#include "gilscope.skel.h"
#include "elf_syms.h"
#include "events.h"
#include "gil_profile.h"
#include "insn.h"
#include "proc.h"
#include "report.h"
#include "tracer.h"

static bool verbose;

/* Failures are reported by gilscope itself, in one line each; libbpf's
 * own messages (debug and warnings) are detail for -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void explain_load_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		fprintf(stderr, "gilscope: not permitted to load BPF programs: run as root "
			"(sudo), or grant CAP_SYS_ADMIN (uprobes need it on this kernel; it "
			"covers CAP_BPF and CAP_PERFMON)\n");
	else if (access("/sys/kernel/btf/vmlinux", R_OK))
		fprintf(stderr, "gilscope: this kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"it needs CONFIG_DEBUG_INFO_BTF=y\n");
	else
		fprintf(stderr, "gilscope: cannot load the BPF programs: %s (rerun with -v for libbpf's log)\n",
			strerror(-err));
}

int tracer__open(struct tracer *t, const struct tracer_opts *o, struct report_meta *meta)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->meta = meta;
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	t->skel = gilscope_bpf__open();
	if (!t->skel) {
		err = -errno;
		explain_load_error(err);
		return err;
	}
	t->skel->rodata->capture_stacks = o->stacks;
	t->skel->rodata->mutex_events = o->mutex_events;
	t->skel->rodata->summary = o->summary;
	/* a summary streams an exec's records and each Python stack once
	 * (GS_PY_NEW, to be named): a small ring buffer will do */
	err = bpf_map__set_max_entries(t->skel->maps.events,
				       o->summary ? 512 << 10 : (unsigned)o->ringbuf_mb << 20);
	/* ... and only a summary needs the stack-id map (preallocated) */
	err = err ?: bpf_map__set_max_entries(t->skel->maps.stacks, o->summary ? 4096 : 1);
	if (err)
		goto fail;
	err = gilscope_bpf__load(t->skel);
	if (err)
		goto fail;
	return 0;
fail:
	explain_load_error(err);
	gilscope_bpf__destroy(t->skel);
	t->skel = NULL;
	return err;
}

int tracer__add_target(struct tracer *t, pid_t pid)
{
	__u32 key = pid;
	__u8 one = 1;

	if (bpf_map__update_elem(t->skel->maps.targets, &key, sizeof(key), &one,
				 sizeof(one), BPF_ANY))
		return -errno;
	return 0;
}

int tracer__set_gil(struct tracer *t, pid_t pid, const struct gil_location *gil)
{
	struct gs_gil_config c = {
		.mutex = gil->mutex,
		.locked = gil->locked,
		.switch_number = gil->switch_number,
		.last_holder = gil->last_holder,
		.cond = gil->cond,
		.switch_cond = gil->switch_cond,
		/* struct _gil_runtime_state: 208 bytes, 216 free-threaded */
		.gil_lo = gil->gil,
		.gil_hi = gil->gil + 216,
		/* who holds it now is not known until its first take or drop */
		.holder_tid = GS_HOLDER_UNKNOWN,
	};
	__u32 key = pid;

	if (bpf_map__update_elem(t->skel->maps.gils, &key, sizeof(key), &c,
				 sizeof(c), BPF_ANY))
		return -errno;
	return 0;
}

int tracer__set_python(struct tracer *t, pid_t pid, const struct gs_py_config *c)
{
	__u32 key = pid;

	if (bpf_map__update_elem(t->skel->maps.pys, &key, sizeof(key), c, sizeof(*c), BPF_ANY))
		return -errno;
	return 0;
}

static int add_link(struct tracer *t, struct bpf_link *l)
{
	if (!l)
		return -errno;
	if (t->nr_links == TRACER_MAX_LINKS) {
		bpf_link__destroy(l);
		return -E2BIG;
	}
	t->links[t->nr_links++] = l;
	return 0;
}

static int attach_tp(struct tracer *t, struct bpf_program *p, const char *cat,
		     const char *name, const char *note)
{
	char where[128];
	int err;

	err = add_link(t, bpf_program__attach_tracepoint(p, cat, name));
	if (err) {
		int missing = access("/sys/kernel/tracing/events", F_OK) ? errno : 0;

		if (missing == EACCES)
			fprintf(stderr, "gilscope: tracefs (/sys/kernel/tracing) is not readable "
				"here: run as root, or make it readable (the tracepoints' ids "
				"are read from it)\n");
		else if (missing && access("/sys/kernel/debug/tracing/events", F_OK))
			fprintf(stderr, "gilscope: tracefs is not mounted: run "
				"'mount -t tracefs tracefs /sys/kernel/tracing' and retry\n");
		else
			fprintf(stderr, "gilscope: cannot attach to tracepoint %s:%s: %s\n",
				cat, name, strerror(-err));
		return err;
	}
	snprintf(where, sizeof(where), "%s:%s", cat, name);
	report_add_probe(t->meta, "tracepoint", where, note);
	return 0;
}

int tracer__attach_tracepoints(struct tracer *t)
{
	struct gilscope_bpf *s = t->skel;
	int err;

	if (access("/sys/kernel/tracing/events", F_OK) &&
	    access("/sys/kernel/debug/tracing/events", F_OK))
		/* what `mount -t tracefs tracefs /sys/kernel/tracing` does;
		 * failing is fine, attach_tp() then says how */
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	err = attach_tp(t, s->progs.futex_enter, "syscalls", "sys_enter_futex", NULL);
	err = err ?: attach_tp(t, s->progs.futex_exit, "syscalls", "sys_exit_futex", NULL);
	err = err ?: attach_tp(t, s->progs.thread_exit, "sched", "sched_process_exit", NULL);
	err = err ?: attach_tp(t, s->progs.thread_rename, "task", "task_rename", NULL);
	err = err ?: attach_tp(t, s->progs.process_exec, "sched", "sched_process_exec",
			       "exec: the new program is held and attached to");
	/* code mapped later (dlopen, JITs): when to read the maps again */
	err = err ?: attach_tp(t, s->progs.mmap_enter, "syscalls", "sys_enter_mmap",
			       "code mappings, for naming");
	err = err ?: attach_tp(t, s->progs.mmap_exit, "syscalls", "sys_exit_mmap",
			       "code mappings, for naming");
	err = err ?: attach_tp(t, s->progs.mprotect_enter, "syscalls", "sys_enter_mprotect",
			       "code mappings, for naming");
	err = err ?: attach_tp(t, s->progs.mprotect_exit, "syscalls", "sys_exit_mprotect",
			       "code mappings, for naming");
	return err;
}

/*
 * Attaches @prog to function @func of @ef (file @path as the kernel should
 * open it, @module its short name), at the cheapest safe instruction unless
 * @at_entry (uretprobes must sit on the entry: they swap the return
 * address at the stack pointer).
 */
static int attach_func(struct tracer *t, struct bpf_program *prog, pid_t pid,
		       struct elf_file *ef, const char *path, const char *module,
		       const char *func, unsigned keep_regs, bool retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	struct probe_site site = {0};
	struct elf_sym sym;
	uint8_t code[64];
	uint64_t off;
	char where[160], note[96];
	long n;
	int err;

	err = elf_file__find_sym(ef, func, ELF_SYM_FUNC, &sym);
	if (err)
		return err;
	n = elf_file__read(ef, sym.addr, code, sizeof(code));
	if (n <= 0)
		return -ENOENT;
	if (retprobe) {
		struct insn in;

		site.emulated = insn_decode(code, n, &in) == 0 && insn_is_emulated(&in);
	} else {
		insn_find_probe_site(code, n, keep_regs, &site);
	}
	err = elf_file__vaddr_to_offset(ef, sym.addr + site.offset, &off);
	if (err)
		return err;
	uo.retprobe = retprobe;
	uo.bpf_cookie = site.sp_adjust;
	err = add_link(t, bpf_program__attach_uprobe_opts(prog, pid, path, off, &uo));
	if (err) {
		fprintf(stderr, "gilscope: cannot attach a uprobe to %s:%s: %s\n",
			module, func, strerror(-err));
		return err;
	}
	if (site.offset)
		snprintf(where, sizeof(where), "%s:%s+0x%x", module, func, site.offset);
	else
		snprintf(where, sizeof(where), "%s:%s", module, func);
	snprintf(note, sizeof(note), "%s",
		 site.emulated ? "emulated instruction (~0.6 us a hit)"
			       : "single-stepped instruction (~12 us a hit)");
	report_add_probe(t->meta, retprobe ? "uretprobe" : "uprobe", where, note);
	return 0;
}

/* Tells the GIL's BPF config where libc's code is: glibc's own calls of
 * pthread_cond_signal (a condvar waiter passing on a wake-up) are not the
 * GIL changing hands. */
static int set_gil_libc(struct tracer *t, pid_t pid, const struct proc_maps *pm,
			const char *libc_path)
{
	struct gs_gil_config c;
	__u32 key = pid;

	if (bpf_map__lookup_elem(t->skel->maps.gils, &key, sizeof(key), &c, sizeof(c), 0))
		return -errno;
	c.libc_lo = UINT64_MAX;
	c.libc_hi = 0;
	for (size_t i = 0; i < pm->nr; i++) {
		const struct proc_map *m = &pm->maps[i];

		if (m->perms[2] != 'x' || strcmp(m->path, libc_path))
			continue;
		c.libc_lo = m->start < c.libc_lo ? m->start : c.libc_lo;
		c.libc_hi = m->end > c.libc_hi ? m->end : c.libc_hi;
	}
	if (bpf_map__update_elem(t->skel->maps.gils, &key, sizeof(key), &c, sizeof(c),
				 BPF_EXIST))
		return -errno;
	return 0;
}

/*
 * The file of process @pid named @module: a path as /proc/PID/maps gives
 * it, or a library's name ("libc": libc.so.6, or libc-2.X.so of a glibc
 * before 2.34), found in @pm, its maps, read here (the caller frees
 * them).  *@m is the file's first mapping, NULL when there is none
 * (-ENOENT), and @path its path for the kernel (proc_map_path).
 * 0 or -errno.
 */
static int module_file(pid_t pid, const char *module, struct proc_maps *pm,
		       const struct proc_map **m, char *path, size_t len)
{
	char lib[64];
	int err;

	*m = NULL;
	err = proc_maps__read(pid, pm);
	if (err)
		return err;
	if (module[0] == '/') {
		for (size_t i = 0; !*m && i < pm->nr; i++)
			if (!strcmp(pm->maps[i].path, module))
				*m = &pm->maps[i];
	} else {
		snprintf(lib, sizeof(lib), "%s.so", module);
		*m = proc_maps__find_lib(pm, lib);
		snprintf(lib, sizeof(lib), "%s-", module);
		if (!*m)
			*m = proc_maps__find_lib(pm, lib);
	}
	if (!*m)
		return -ENOENT;
	return proc_map_path(pid, *m, path, len);
}

int tracer__attach_libc(struct tracer *t, pid_t pid, bool mutex_probes, bool gil)
{
	static const char *conds[] = {
		"pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
	};
	struct gilscope_bpf *s = t->skel;
	const struct proc_map *libc;
	struct proc_maps pm = {0};
	struct elf_file *ef = NULL;
	char path[4096];
	const char *module;
	int err;

	err = module_file(pid, "libc", &pm, &libc, path, sizeof(path));
	if (!libc && err != -ENOENT) {
		fprintf(stderr, "gilscope: cannot read /proc/%d/maps: %s\n", pid, strerror(-err));
		goto cleanup;
	}
	if (!libc) {
		report_add_probe(t->meta, "none", "libc",
				 "no dynamic glibc mapped: futex(2) tracepoints only");
		if (mutex_probes)
			fprintf(stderr, "gilscope: --locks=all does not apply to pid %d: it maps no "
				"dynamic glibc (a static or non-glibc program), so acquisitions "
				"and hold times are unknown; contended waits are still traced\n",
				pid);
		err = 0;
		goto cleanup;
	}
	module = strrchr(libc->path, '/') ? strrchr(libc->path, '/') + 1 : libc->path;
	if (err) {	/* its file cannot be reached: no @path to name */
		fprintf(stderr, "gilscope: cannot read %s: %s\n", libc->path, strerror(-err));
		goto cleanup;
	}
	err = elf_file__open(path, &ef);
	if (err) {
		fprintf(stderr, "gilscope: cannot read %s: %s\n", path, strerror(-err));
		goto cleanup;
	}
	if (!t->libc_probed || t->libc_ino != libc->inode ||
	    t->libc_major != libc->dev_major || t->libc_minor != libc->dev_minor) {
		/* another libc file (the first, or an exec's in a chroot) */
		t->libc_probed = t->cond_signal_probed = false;
		t->libc_major = libc->dev_major;
		t->libc_minor = libc->dev_minor;
		t->libc_ino = libc->inode;
	} else {
		goto gil;
	}
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		err = attach_func(t, s->progs.cond_wait, pid, ef, path, module, conds[i],
				  INSN_ARG_RDI | INSN_ARG_RSI, false);
		err = err ?: attach_func(t, s->progs.cond_wait_ret, pid, ef, path, module,
					 conds[i], 0, true);
		if (err == -ENOENT)	/* older glibc: no clockwait */
			err = 0;
		if (err)
			goto cleanup;
	}
	if (mutex_probes)
		err = attach_func(t, s->progs.mutex_lock, pid, ef, path, module,
				  "pthread_mutex_lock", INSN_ARG_RDI, false);
	if (!err && mutex_probes)
		err = attach_func(t, s->progs.mutex_unlock, pid, ef, path, module,
				  "pthread_mutex_unlock", INSN_ARG_RDI, false);
	if (err == -ENOENT)
		fprintf(stderr, "gilscope: %s has no pthread_mutex_lock/unlock symbols\n", path);
	t->mutex_probes = !err && mutex_probes;
	t->libc_probed = !err;
gil:
	if (!err && gil) {
		err = set_gil_libc(t, pid, &pm, libc->path);
		if (err)
			fprintf(stderr, "gilscope: cannot set up GIL tracing for %d: %s\n", pid,
				strerror(-err));
		if (!err && !t->cond_signal_probed)
			err = attach_func(t, s->progs.cond_signal, pid, ef, path, module,
					  "pthread_cond_signal", INSN_ARG_RDI, false);
		if (err == -ENOENT)
			fprintf(stderr, "gilscope: %s has no pthread_cond_signal symbol\n", path);
		t->cond_signal_probed = !err;
	}
cleanup:
	elf_file__close(ef);
	proc_maps__free(&pm);
	return err;
}

int tracer__attach_py_sampling(struct tracer *t, unsigned int hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		/* a fixed period of the CPU's clock (ns), not a frequency the
		 * kernel tunes as it goes: it overshot by 20% on a loaded
		 * machine, and a held_in estimate wants even ticks */
		.sample_period = 1000000000ULL / hz,
	};
	int nr = libbpf_num_possible_cpus(), on = 0, err = 0;
	char note[96];

	if (t->py_sampling)
		return 0;
	if (nr < 0)
		return nr;
	for (int cpu = 0; cpu < nr; cpu++) {
		int fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno == ENODEV)	/* a possible CPU not online */
				continue;
			err = -errno;
			break;
		}
		err = add_link(t, bpf_program__attach_perf_event(t->skel->progs.py_sample, fd));
		if (err) {
			close(fd);
			break;
		}
		on++;
	}
	if (err) {
		fprintf(stderr, "gilscope: cannot sample Python stacks (cpu-clock perf event): %s\n",
			strerror(-err));
		return err;
	}
	t->py_sampling = true;
	snprintf(note, sizeof(note), "software cpu-clock, %u Hz on %d CPUs: the GIL holder's "
		 "Python stack", hz, on);
	report_add_probe(t->meta, "perf_event", "python sampler", note);
	return 0;
}

int tracer__attach_py_park(struct tracer *t, pid_t pid, const char *module)
{
	struct proc_maps pm = {0};
	const struct proc_map *m;
	struct elf_file *ef = NULL;
	const char *base;
	char path[4096];
	uint64_t ino;
	int err;

	err = module_file(pid, module, &pm, &m, path, sizeof(path));
	ino = m ? m->inode : 0;
	proc_maps__free(&pm);
	if (!err && ino == t->py_park_ino)
		return 0;	/* probed already (an exec into the same Python) */
	err = err ?: elf_file__open(path, &ef);
	if (err)
		return err;
	base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	err = attach_func(t, t->skel->progs.py_park, pid, ef, path, base, "_PySemaphore_Wait",
			  INSN_ARG_RDI, false);
	/* its return ends what its futex waits are for */
	err = err ?: attach_func(t, t->skel->progs.py_park_ret, pid, ef, path, base,
				 "_PySemaphore_Wait", 0, true);
	if (!err)
		t->py_park_ino = ino;
	elf_file__close(ef);
	return err;
}

int tracer__attach_py_gc(struct tracer *t, pid_t pid, const char *module)
{
	static const char *probes[] = { "gc__start", "gc__done" };
	struct bpf_program *progs[] = { t->skel->progs.gc_start, t->skel->progs.gc_done };
	struct proc_maps pm = {0};
	const struct proc_map *m;
	char path[4096], where[96];
	const char *base;
	uint64_t ino;
	int err;

	err = module_file(pid, module, &pm, &m, path, sizeof(path));
	ino = m ? m->inode : 0;
	proc_maps__free(&pm);
	if (!err && ino == t->py_gc_ino)
		return 0;
	for (int i = 0; !err && i < 2; i++)
		/* libbpf sets the probe's semaphore for this process only */
		err = add_link(t, bpf_program__attach_usdt(progs[i], pid, path, "python",
							   probes[i], NULL));
	if (err)
		return err;
	t->py_gc_ino = ino;
	base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
	snprintf(where, sizeof(where), "%s:python:gc__start/done", base);
	report_add_probe(t->meta, "usdt", where, "the garbage collector's runs");
	return 0;
}

void tracer__forget_libc(struct tracer *t)
{
	t->libc_probed = t->cond_signal_probed = false;
}

int tracer__attach_entry_stop(struct tracer *t, pid_t pid, const char *exe_path)
{
	struct elf_file *ef = NULL;
	uint64_t off;
	int err;

	err = elf_file__open(exe_path, &ef);
	if (err) {
		fprintf(stderr, "gilscope: cannot run '%s': not an ELF program gilscope can read (%s)\n",
			exe_path, strerror(-err));
		return err;
	}
	err = elf_file__vaddr_to_offset(ef, elf_file__entry(ef), &off);
	elf_file__close(ef);
	if (err) {
		fprintf(stderr, "gilscope: cannot find the entry point of %s\n", exe_path);
		return err;
	}
	return tracer__attach_stop(t, pid, exe_path, off);
}

int tracer__attach_stop(struct tracer *t, pid_t pid, const char *path, uint64_t off)
{
	struct bpf_link *l;
	int err;

	if (t->nr_stops == TRACER_MAX_STOPS)
		return -E2BIG;
	l = bpf_program__attach_uprobe(t->skel->progs.stop_at_entry, false, pid, path, off);
	if (!l) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot attach to %s+0x%llx: %s\n", path,
			(unsigned long long)off, strerror(-err));
		return err;
	}
	t->stops[t->nr_stops++] = l;
	return 0;
}

void tracer__detach_entry_stop(struct tracer *t)
{
	for (int i = 0; i < t->nr_stops; i++)
		bpf_link__destroy(t->stops[i]);
	t->nr_stops = 0;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Each link's destruction waits for a grace period in the kernel, which
 * a busy 2-CPU machine stretches to hundreds of ms: one after the other,
 * 15 links took 3-4 s under a 200-thread target.  So the programs are
 * told to do nothing first (at once), and the links are destroyed in
 * threads of their own while the collector drains and reports.
 */
void tracer__stop(struct tracer *t)
{
	if (t->skel && t->skel->bss)
		t->skel->bss->stopped = true;
	tracer__detach_entry_stop(t);
	if (t->detaching)
		return;
	t->detaching = true;
	for (int i = 0; i < t->nr_links; i++) {
		t->detacher_started[i] = !pthread_create(&t->detacher[i], NULL, destroy_link,
							  t->links[i]);
		if (!t->detacher_started[i])
			bpf_link__destroy(t->links[i]);
	}
}

void tracer__detach(struct tracer *t)
{
	tracer__stop(t);
	for (int i = 0; i < t->nr_links; i++)
		if (t->detacher_started[i])
			pthread_join(t->detacher[i], NULL);
	t->nr_links = 0;
	t->detaching = false;
}

void tracer__close(struct tracer *t)
{
	tracer__detach(t);
	gilscope_bpf__destroy(t->skel);
	t->skel = NULL;
}

const volatile uint64_t *tracer__maps_gen(struct tracer *t)
{
	return (const volatile uint64_t *)&t->skel->bss->maps_gen;
}

int tracer__futex_calls_fd(struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.futex_calls);
}

int tracer__events_fd(struct tracer *t)
{
	return bpf_map__fd(t->skel->maps.events);
}

uint64_t tracer__counter(struct tracer *t, int idx, uint64_t *per_cpu, int nr_cpus)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals, sum = 0;
	__u32 key = idx;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map__lookup_elem(t->skel->maps.counters, &key, sizeof(key), vals,
				  ncpu * sizeof(*vals), 0)) {
		for (int i = 0; i < ncpu; i++) {
			sum += vals[i];
			if (per_cpu && i < nr_cpus)
				per_cpu[i] = vals[i];
		}
	}
	free(vals);
	return sum;
}
