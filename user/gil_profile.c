// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GIL profiles: gildemo, and CPython 3.8 - 3.13, stripped or not.
 *
 * Every CPython since 3.7 exports _PyRuntime (a dynamic symbol, so it
 * survives stripping), in the executable or in libpython3.X.so.  From it
 * the GIL is reached:
 *   3.8 - 3.11  at a fixed offset (_PyRuntime.ceval.gil is embedded);
 *   3.12        through _PyRuntime.interpreters.main -> ceval.gil, a
 *               pointer since PEP 684 gave each interpreter its own GIL;
 *   3.13        through the _Py_DebugOffsets table CPython keeps at
 *               _PyRuntime+0 for out-of-process tools.
 * The offsets were measured with gdb on this machine's builds; see
 * docs/cpython-gil-layout.md for the commands and their output.
 *
 * Whatever is found is validated against the target's memory (read only,
 * process_vm_readv) before it is used: a build whose GIL does not look
 * like a live struct _gil_runtime_state is named as not recognised and is
 * never traced with a guessed layout.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "elf_syms.h"
#include "gil_profile.h"
#include "proc.h"
#include "symbolize.h"

/*
 * struct _gil_runtime_state: the same in 3.8 - 3.13 (gdb: ptype /o) and
 * in gildemo.  Free-threaded 3.13t builds put an int `enabled` first,
 * which moves everything by 8: those are refused, see debug_offsets_gil().
 */
#define GIL_INTERVAL		0	/* unsigned long, us */
#define GIL_LAST_HOLDER		8	/* PyThreadState * */
#define GIL_LOCKED		16	/* int; -1 before the GIL is created */
#define GIL_SWITCH_NUMBER	24	/* unsigned long */
#define GIL_COND		32	/* pthread_cond_t */
#define GIL_MUTEX		80	/* pthread_mutex_t */
#define GIL_SWITCH_COND		120	/* pthread_cond_t (FORCE_SWITCHING) */
#define GIL_SIZE		208

/* glibc's x86-64 pthread_mutex_t (struct __pthread_mutex_s) */
#define MUTEX_LOCK		0	/* 0 free, 1 taken, 2 taken with waiters */
#define MUTEX_OWNER		8	/* tid of the holder, 0 when free */
#define MUTEX_KIND		16
#define MUTEX_KIND_TYPE		0x003	/* timed(normal)/recursive/errorcheck/adaptive */
#define MUTEX_KIND_ROBUST	0x010
#define MUTEX_KIND_PI		0x020
#define MUTEX_KIND_PP		0x040
#define MUTEX_KIND_PSHARED	0x080
#define MUTEX_KIND_ELISION	0x300	/* PTHREAD_MUTEX_[NO_]ELISION_NP */
/* (a priority-protect mutex keeps its ceiling from bit 19 up: no GIL is one) */

#define GIL_MAX_INTERVAL	10000000	/* us; CPython's default is 5000 */
#define PID_MAX_LIMIT		4194304		/* the kernel's ceiling on a pid */
/* A user-space pointer: above mmap_min_addr, below the 57-bit (LA57) top */
#define USER_ADDR_MIN		0x10000ULL
#define USER_ADDR_MAX		(1ULL << 56)

#define PY_MIN_MINOR		8
#define PY_MAX_MINOR		13
#define SUPPORTED		"3.8 - 3.13 are"

/* 3.8 - 3.11: the GIL is embedded in _PyRuntime (_PyRuntime.ceval.gil) */
static const struct {
	int minor;
	uint64_t off;
} runtime_gil_off[] = {
	{ 8, 1152 },	/* 3.8.18 */
	{ 9, 352 },	/* 3.9.18 */
	{ 10, 352 },	/* 3.10.13 */
	{ 11, 360 },	/* 3.11.7, Debian's 3.11.2 */
};

/* 3.12: the main interpreter and its GIL pointer (3.12.1) */
#define PY312_INTERPRETERS_MAIN	48	/* _PyRuntime.interpreters.main */
#define PY312_CEVAL_GIL		384	/* PyInterpreterState.ceval.gil */

/*
 * 3.13's _Py_DebugOffsets, the fields read here (gdb: ptype /o
 * _Py_DebugOffsets on 3.13.0).  3.14 inserts interpreter_state.
 * threads_main before gc, moving ceval_gil and the rest by 8: the table is
 * only read once the version says 3.13, and its GIL fields are checked
 * against each other before use.
 */
#define DBG_COOKIE		0	/* "xdebugpy" */
#define DBG_VERSION		8	/* PY_VERSION_HEX */
#define DBG_FREE_THREADED	16
#define DBG_RT_SIZE		24	/* sizeof(_PyRuntimeState) */
#define DBG_RT_INTERP_HEAD	40	/* interpreters.head */
#define DBG_IS_SIZE		48	/* sizeof(PyInterpreterState) */
#define DBG_IS_ID		56
#define DBG_IS_NEXT		64
#define DBG_IS_CEVAL_GIL	112	/* ceval.gil: struct _gil_runtime_state * */
#define DBG_IS_GIL		120	/* _gil: the interpreter's own GIL */
#define DBG_IS_GIL_ENABLED	128	/* _gil.enabled, 0 without Py_GIL_DISABLED */
#define DBG_IS_GIL_LOCKED	136	/* _gil.locked */
#define DBG_IS_GIL_HOLDER	144	/* _gil.last_holder */
#define DBG_SIZE		152
#define DBG_MAX_INTERPS		4096	/* a bound on the interpreter list walk */

/* How far the sys.version scan reads into the runtime's writable data */
#define SCAN_CHUNK		65536
#define SCAN_MAX		(16u << 20)


/* What gil_find learns about a CPython target as it goes. */
struct py_target {
	pid_t pid;
	struct symbolizer *sym;
	struct proc_maps pm;
	struct elf_file *ef;	/* the runtime's file; NULL if it cannot be opened */
	uint64_t bias;		/* runtime minus link-time address in it */
	uint64_t rt;		/* runtime address of _PyRuntime */
	uint64_t rt_size;	/* its st_size; 0 when unknown */
	char path[256];		/* the runtime's file as /proc/PID/maps names it */
	char name[128];		/* its basename, " (deleted)" dropped */
	int major, minor;
	char version[32];	/* "3.11.2", "3.13.0rc2", or "3.9" */
	const char *version_from; /* NULL (Py_Version) or a note for detail */
	bool free_threaded;	/* a 3.13t: refused, and said so plainly */
};

static int read_u64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return proc_read_mem(pid, addr, v, sizeof(*v));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int32_t get_i32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void fill(struct gil_location *o, uint64_t gil)
{
	o->gil = gil;
	o->interval = gil + GIL_INTERVAL;
	o->last_holder = gil + GIL_LAST_HOLDER;
	o->locked = gil + GIL_LOCKED;
	o->switch_number = gil + GIL_SWITCH_NUMBER;
	o->cond = gil + GIL_COND;
	o->mutex = gil + GIL_MUTEX;
	o->switch_cond = gil + GIL_SWITCH_COND;
}

/* Both processes in one pid namespace (when it cannot be told: yes). */
static bool same_pid_ns(pid_t pid)
{
	struct stat self, other;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat("/proc/self/ns/pid", &self) || stat(path, &other))
		return true;
	return self.st_ino == other.st_ino && self.st_dev == other.st_dev;
}

/* A mutex owner must be a thread of the process.  A target in another pid
 * namespace (a container) stores tids as it sees them, which ours cannot
 * check: there any valid tid passes. */
static bool owner_ok(pid_t pid, int32_t owner)
{
	if (!owner)
		return true;
	if (owner < 0 || owner > PID_MAX_LIMIT)
		return false;
	if (proc_tgid_of(owner) == pid)
		return true;
	return !same_pid_ns(pid);
}

static bool mutex_kind_ok(int32_t kind)
{
	return !(kind & ~(MUTEX_KIND_TYPE | MUTEX_KIND_ROBUST | MUTEX_KIND_PI |
			  MUTEX_KIND_PP | MUTEX_KIND_PSHARED | MUTEX_KIND_ELISION));
}

/*
 * What the GIL must look like in a live process: a sane switch interval, a
 * 0/1 flag, a holder that is nobody or a user-space pointer, and a glibc
 * mutex whose kind is a known one and whose owner is nobody or one of the
 * process's threads.  The fields are read racily (the GIL is live), so
 * only properties that hold at any instant are checked.
 *
 * 0, -EAGAIN when the GIL is not created yet, or -ENOTSUP; @bad says why.
 */
static int check_gil(pid_t pid, uint64_t gil, char *bad, size_t len)
{
	uint64_t interval, holder, sn;
	int32_t locked, mlock, owner, kind;
	uint8_t g[GIL_SIZE];
	int err;

	if (!gil || gil % 8) {
		snprintf(bad, len, "GIL address 0x%" PRIx64 " is not a pointer", gil);
		return -ENOTSUP;
	}
	err = proc_read_mem(pid, gil, g, sizeof(g));
	if (err) {
		snprintf(bad, len, "cannot read the GIL at 0x%" PRIx64 ": %s", gil,
			 strerror(-err));
		return -ENOTSUP;
	}
	interval = get_u64(g + GIL_INTERVAL);
	holder = get_u64(g + GIL_LAST_HOLDER);
	locked = get_i32(g + GIL_LOCKED);
	sn = get_u64(g + GIL_SWITCH_NUMBER);
	mlock = get_i32(g + GIL_MUTEX + MUTEX_LOCK);
	owner = get_i32(g + GIL_MUTEX + MUTEX_OWNER);
	kind = get_i32(g + GIL_MUTEX + MUTEX_KIND);

	/* CPython (and gildemo) set locked to -1 until the GIL is created */
	if (locked == -1 || (!interval && !locked && !mlock && !kind)) {
		snprintf(bad, len, "GIL at 0x%" PRIx64 " not created yet", gil);
		return -EAGAIN;
	}
	if (interval < 1 || interval > GIL_MAX_INTERVAL || (locked != 0 && locked != 1) ||
	    (holder && (holder < USER_ADDR_MIN || holder >= USER_ADDR_MAX || holder % 8)) ||
	    sn > (1ULL << 48) || !mutex_kind_ok(kind) ||
	    /* robust and PI mutexes keep the owner's tid in the lock word */
	    (!(kind & (MUTEX_KIND_ROBUST | MUTEX_KIND_PI)) && (mlock < 0 || mlock > 2)) ||
	    !owner_ok(pid, owner)) {
		snprintf(bad, len, "interval=%" PRIu64 " locked=%d last_holder=0x%" PRIx64
			 " switch_number=%" PRIu64 " mutex lock=%d owner=%d kind=%d",
			 interval, locked, holder, sn, mlock, owner, kind);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * gildemo: its GIL is a global object with CPython's layout.  An object,
 * in writable memory: the symbolizer also finds functions by name, and
 * gilscope itself has code whose name starts the same way.
 */
static int find_gildemo(struct py_target *t, struct gil_location *out,
			char *why, size_t why_len)
{
	char bad[160], exe[256] = "";
	const struct proc_map *m;
	const char *base;
	uint64_t addr;
	int err;

	if (symbolizer__sym_addr(t->sym, "", "gildemo_gil", &addr))
		return -ENOENT;
	if (!t->pm.maps && proc_maps__read(t->pid, &t->pm))
		return -ENOENT;
	m = proc_maps__find(&t->pm, addr);
	if (!m || m->perms[1] != 'w')
		return -ENOENT;
	if (proc_exe(t->pid, exe, sizeof(exe)))
		snprintf(exe, sizeof(exe), "?");
	base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	err = check_gil(t->pid, addr, bad, sizeof(bad));
	if (err) {
		snprintf(why, why_len, "gildemo %s: GIL not recognised: %s", exe, bad);
		return -ENOTSUP;	/* -EAGAIN too: the contract has no "not yet" */
	}
	fill(out, addr);
	snprintf(out->python, sizeof(out->python), "gildemo");
	snprintf(out->method, sizeof(out->method), "profile");
	snprintf(out->module, sizeof(out->module), "%s", exe);
	snprintf(out->detail, sizeof(out->detail), "symbol gildemo_gil in %.120s", base);
	return 0;
}

/* Opens the file behind mapping @m as the target maps it. */
static int open_mapped_elf(pid_t pid, const struct proc_map *m, struct elf_file **ef)
{
	char path[PATH_MAX + 64];
	int err = proc_map_path(pid, m, path, sizeof(path));

	return err ?: elf_file__open(path, ef);
}

/*
 * Names the file holding @addr (symbol @sym of @kind) and opens it, for
 * the symbol's size and the file's segments.  .bss lies in anonymous
 * mappings right after the file's last one: walk back over adjoining
 * mappings to the file.  Not being able to open the file is no error:
 * the checks that need it are skipped.
 */
static int locate_module(struct py_target *t, uint64_t addr, const char *sym, int kind)
{
	const struct proc_map *m;
	struct elf_sym es;
	size_t i, n, d = strlen(PROC_DELETED);
	const char *base;

	if (!t->pm.maps && proc_maps__read(t->pid, &t->pm))
		return -ENOENT;
	m = proc_maps__find(&t->pm, addr);
	if (!m)
		return -ENOENT;
	for (i = m - t->pm.maps; t->pm.maps[i].path[0] != '/'; i--) {
		if (!i || t->pm.maps[i - 1].end != t->pm.maps[i].start)
			return -ENOENT;
	}
	m = &t->pm.maps[i];
	snprintf(t->path, sizeof(t->path), "%s", m->path);
	base = strrchr(m->path, '/') + 1;
	snprintf(t->name, sizeof(t->name), "%s", base);
	n = strlen(t->name);
	if (n > d && !strcmp(t->name + n - d, PROC_DELETED))
		t->name[n - d] = 0;

	if (open_mapped_elf(t->pid, m, &t->ef)) {
		t->ef = NULL;
		return 0;
	}
	if (elf_file__find_sym(t->ef, sym, kind, &es)) {
		/* not there as that kind: the file tells nothing reliable */
		elf_file__close(t->ef);
		t->ef = NULL;
		return 0;
	}
	t->bias = addr - es.addr;
	t->rt_size = kind == ELF_SYM_OBJECT ? es.size : 0;
	return 0;
}

/* Runtime address of @name in the runtime's own file (not in another
 * libpython3* the process may map), else wherever the symbolizer finds it. */
static int runtime_sym(struct py_target *t, const char *prefix, const char *name,
		       uint64_t *addr, uint64_t *size)
{
	struct elf_sym es;

	*size = 0;
	if (t->ef) {
		if (elf_file__find_sym(t->ef, name, ELF_SYM_OBJECT, &es))
			return -ENOENT;
		*addr = es.addr + t->bias;
		*size = es.size;
		return 0;
	}
	return symbolizer__sym_addr(t->sym, prefix, name, addr);
}

/* "python3.9", "libpython3.7m.so.1.0", "libpython2.7.so": the X.Y in a
 * runtime's file name. */
static bool version_from_name(const char *name, int *major, int *minor)
{
	for (const char *p = strstr(name, "python"); p; p = strstr(p + 1, "python")) {
		char *end;
		long maj, min;

		p += strlen("python");
		if (*p < '0' || *p > '9')
			continue;
		maj = strtol(p, &end, 10);
		if (*end != '.' || end[1] < '0' || end[1] > '9')
			continue;
		min = strtol(end + 1, &end, 10);
		if (maj < 2 || maj > 9 || min > 99)
			continue;
		*major = maj;
		*minor = min;
		return true;
	}
	return false;
}

static size_t digits(const uint8_t *p, size_t n, size_t max)
{
	size_t i = 0;

	while (i < n && i < max && p[i] >= '0' && p[i] <= '9')
		i++;
	return i;
}

/*
 * "3.9.18 (main, ...": a version at @p, up to the " (" that follows it in
 * sys.version.  A release tag ("rc1", "a4", "+") may follow the micro
 * number.  Returns the version's length, or 0.
 */
static size_t match_version(const uint8_t *p, size_t n, int *major, int *minor)
{
	size_t i = 0, d;

	d = digits(p, n, 1);
	if (!d || i + d >= n || p[i + d] != '.')
		return 0;
	*major = p[0] - '0';
	i += d + 1;
	d = digits(p + i, n - i, 2);
	if (!d || i + d >= n || p[i + d] != '.')
		return 0;
	*minor = 0;
	for (size_t k = 0; k < d; k++)
		*minor = *minor * 10 + (p[i + k] - '0');
	i += d + 1;
	d = digits(p + i, n - i, 3);
	if (!d)
		return 0;
	i += d;
	for (d = 0; i < n && d < 8 && ((p[i] >= 'a' && p[i] <= 'z') ||
				      (p[i] >= '0' && p[i] <= '9') || p[i] == '+'); d++)
		i++;
	if (i + 2 > n || p[i] != ' ' || p[i + 1] != '(')
		return 0;
	return i;
}

/*
 * The exact version of a CPython without Py_Version (before 3.11): at
 * start-up, sys.version is set from Py_GetVersion(), which formats
 * "3.9.18 (main, May  9 2026, 07:33:49) \n[GCC 12.2.0]" into a static
 * buffer in the runtime's .bss.  The version string literal itself cannot
 * be told apart in .rodata: the linker merges it into the tail of longer
 * strings that end the same way ("/tmp/python-build.../Python-3.9.18").
 * So scan the writable segments of the runtime's file in memory for a
 * version followed by " (", at a token boundary.  0 or -ENOENT.
 */
static int version_from_memory(struct py_target *t, int want_minor, char *ver, size_t len,
			       int *major, int *minor)
{
	const struct elf_segment *segs;
	size_t nr, scanned = 0;
	uint8_t *buf;
	int err = -ENOENT;

	if (!t->ef)
		return -ENOENT;
	buf = malloc(SCAN_CHUNK + 64);
	if (!buf)
		return -ENOMEM;
	nr = elf_file__segments(t->ef, &segs);
	for (size_t s = 0; s < nr && err && scanned < SCAN_MAX; s++) {
		uint64_t lo = segs[s].vaddr + t->bias, hi = lo + segs[s].memsz;

		if (!(segs[s].flags & PF_W))
			continue;
		/* a damaged file's memsz must not make this a long walk */
		if (segs[s].memsz > SCAN_MAX - scanned)
			hi = lo + (SCAN_MAX - scanned);
		scanned += hi - lo;
		for (uint64_t a = lo; a < hi && err; a += SCAN_CHUNK) {
			/* one byte before, for the boundary; 63 after, for a
			 * version straddling the chunk's end */
			uint64_t from = a > lo ? a - 1 : a;
			size_t n = hi - from < SCAN_CHUNK + 64 ? hi - from : SCAN_CHUNK + 64;
			size_t first = a - from;

			if (proc_read_mem(t->pid, from, buf, n))
				continue;
			for (size_t i = first; i < first + SCAN_CHUNK && i < n; i++) {
				int maj, min;
				size_t vl;

				if (buf[i] < '2' || buf[i] > '3' ||
				    (i && ((buf[i - 1] >= '0' && buf[i - 1] <= '9') ||
					   buf[i - 1] == '.')))
					continue;
				vl = match_version(buf + i, n - i, &maj, &min);
				if (!vl || (want_minor >= 0 && min != want_minor))
					continue;
				snprintf(ver, len, "%.*s", (int)vl, (const char *)buf + i);
				*major = maj;
				*minor = min;
				err = 0;
				break;
			}
		}
	}
	free(buf);
	return err;
}

/*
 * The exact version.  3.11+ export Py_Version (PY_VERSION_HEX, e.g.
 * 0x030b02f0 = 3.11.2).  Before, the file name gives X.Y and the
 * sys.version buffer in memory the full version; the two must agree.
 */
static int python_version(struct py_target *t, const char *prefix, char *why, size_t why_len)
{
	static const char *levels[16] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc", [0xf] = "" };
	uint64_t addr, size, v = 0;
	int maj = 0, min = -1;
	bool named;

	if (!runtime_sym(t, prefix, "Py_Version", &addr, &size) &&
	    !proc_read_mem(t->pid, addr, &v, size == 4 ? 4 : 8) &&
	    (v >> 24) == 3 && levels[(v >> 4) & 0xf]) {
		t->major = 3;
		t->minor = (v >> 16) & 0xff;
		if (((v >> 4) & 0xf) == 0xf)
			snprintf(t->version, sizeof(t->version), "3.%u.%u",
				 (unsigned)(v >> 16) & 0xff, (unsigned)(v >> 8) & 0xff);
		else
			snprintf(t->version, sizeof(t->version), "3.%u.%u%s%u",
				 (unsigned)(v >> 16) & 0xff, (unsigned)(v >> 8) & 0xff,
				 levels[(v >> 4) & 0xf], (unsigned)v & 0xf);
		return 0;
	}

	named = version_from_name(t->name, &maj, &min);
	/* when the name says X.Y, only an X.Y.Z in memory confirms it */
	if (!version_from_memory(t, named ? min : -1, t->version, sizeof(t->version),
				 &t->major, &t->minor)) {
		t->version_from = "version from sys.version in memory";
		return 0;
	}
	if (named) {
		/* no sys.version buffer found (formatted elsewhere, or the
		 * file cannot be opened): X.Y from the name is all there is */
		t->major = maj;
		t->minor = min;
		snprintf(t->version, sizeof(t->version), "%d.%d", maj, min);
		t->version_from = "version X.Y from the file name only";
		return 0;
	}
	snprintf(why, why_len, "process %d has a CPython runtime in %s but its version "
		 "cannot be told: not tracing its GIL", t->pid, t->path);
	return -ENOTSUP;
}

/* The interpreter pointed at by @addr must lie inside _PyRuntime (3.12+
 * allocate the main one there), when _PyRuntime's size is known. */
static bool in_runtime(const struct py_target *t, uint64_t addr, uint64_t len)
{
	return !t->rt_size ||
	       (addr >= t->rt && addr - t->rt <= t->rt_size && len <= t->rt_size - (addr - t->rt));
}

/* 3.12: _PyRuntime.interpreters.main -> ceval.gil */
static int py312_gil(struct py_target *t, uint64_t *gil, char *detail, size_t dlen,
		     char *bad, size_t blen)
{
	uint64_t interp;

	if (read_u64(t->pid, t->rt + PY312_INTERPRETERS_MAIN, &interp) || !interp) {
		snprintf(bad, blen, "no main interpreter yet (interpreters.main is NULL)");
		return -EAGAIN;
	}
	if (!in_runtime(t, interp, PY312_CEVAL_GIL + 8)) {
		snprintf(bad, blen, "interpreters.main=0x%" PRIx64 " is not inside _PyRuntime",
			 interp);
		return -ENOTSUP;
	}
	if (read_u64(t->pid, interp + PY312_CEVAL_GIL, gil) || !*gil) {
		snprintf(bad, blen, "main interpreter's GIL not created yet");
		return -EAGAIN;
	}
	if (!in_runtime(t, *gil, GIL_SIZE)) {
		snprintf(bad, blen, "main interpreter's ceval.gil=0x%" PRIx64
			 " is not its own GIL inside _PyRuntime", *gil);
		return -ENOTSUP;
	}
	snprintf(detail, dlen, "interpreters.main(_PyRuntime+%d)->ceval.gil(+%d) = "
		 "_PyRuntime+%" PRIu64 " in %.48s", PY312_INTERPRETERS_MAIN, PY312_CEVAL_GIL,
		 *gil - t->rt, t->name);
	return 0;
}

/* [off, off + len) inside a struct of @size bytes, without overflow */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return size >= len && off <= size - len;
}

/*
 * 3.13: _Py_DebugOffsets at _PyRuntime+0.  interpreters.head is the
 * newest interpreter (a subinterpreter, if any: with its own GIL since
 * PEP 684); the main one is the interpreter with id 0, last in the list.
 */
static int debug_offsets_gil(struct py_target *t, uint64_t *gil, char *detail, size_t dlen,
			     char *bad, size_t blen)
{
	uint64_t rt_size, head, is_size, id_off, next_off, gil_ptr_off, gil_off;
	uint64_t interp, id = 1, v;
	uint8_t d[DBG_SIZE];
	int n;

	if (proc_read_mem(t->pid, t->rt, d, sizeof(d)) ||
	    memcmp(d + DBG_COOKIE, "xdebugpy", 8)) {
		snprintf(bad, blen, "no _Py_DebugOffsets (cookie \"xdebugpy\") at _PyRuntime");
		return -ENOTSUP;
	}
	v = get_u64(d + DBG_VERSION);
	if ((v >> 24) != 3 || (int)((v >> 16) & 0xff) != t->minor) {
		snprintf(bad, blen, "_Py_DebugOffsets version 0x%08" PRIx64 " is not 3.%d",
			 v, t->minor);
		return -ENOTSUP;
	}
	rt_size = get_u64(d + DBG_RT_SIZE);
	head = get_u64(d + DBG_RT_INTERP_HEAD);
	is_size = get_u64(d + DBG_IS_SIZE);
	id_off = get_u64(d + DBG_IS_ID);
	next_off = get_u64(d + DBG_IS_NEXT);
	gil_ptr_off = get_u64(d + DBG_IS_CEVAL_GIL);
	gil_off = get_u64(d + DBG_IS_GIL);
	if ((t->rt_size && rt_size != t->rt_size) || !fits(head, 8, rt_size) ||
	    is_size > (64u << 20) || !fits(id_off, 8, is_size) || !fits(next_off, 8, is_size) ||
	    !fits(gil_ptr_off, 8, is_size) || !fits(gil_off, GIL_SIZE, is_size)) {
		snprintf(bad, blen, "_Py_DebugOffsets do not fit: runtime size %" PRIu64
			 " (symbol: %" PRIu64 "), interpreters_head %" PRIu64
			 ", interpreter size %" PRIu64, rt_size, t->rt_size, head, is_size);
		return -ENOTSUP;
	}
	if (!t->rt_size)
		t->rt_size = rt_size;

	if (read_u64(t->pid, t->rt + head, &interp))
		interp = 0;
	for (n = 0; interp && n < DBG_MAX_INTERPS; n++) {
		if (read_u64(t->pid, interp + id_off, &id) || !id)
			break;
		if (read_u64(t->pid, interp + next_off, &interp))
			interp = 0;
	}
	if (!n && !interp) {
		snprintf(bad, blen, "no interpreter yet (interpreters.head is NULL)");
		return -EAGAIN;
	}
	if (!interp || id) {
		snprintf(bad, blen, "no main interpreter (id 0) in interpreters.head's list");
		return -ENOTSUP;
	}

	if (get_u64(d + DBG_FREE_THREADED)) {
		int32_t enabled = 0;

		t->free_threaded = true;
		if (proc_read_mem(t->pid, interp + get_u64(d + DBG_IS_GIL_ENABLED),
				 &enabled, sizeof(enabled)))
			snprintf(bad, blen, "not supported");
		else if (!enabled)
			snprintf(bad, blen, "GIL disabled: there is no GIL to trace");
		else
			/* PYTHON_GIL=1, or an extension not marked free-threading
			 * safe was imported: a GIL with `enabled` in front */
			snprintf(bad, blen, "GIL enabled, but its free-threaded layout "
				 "is not supported");
		return -ENOTSUP;
	}
	/* the table describes the GIL layout assumed here */
	if (get_u64(d + DBG_IS_GIL_LOCKED) != gil_off + GIL_LOCKED ||
	    get_u64(d + DBG_IS_GIL_HOLDER) != gil_off + GIL_LAST_HOLDER) {
		snprintf(bad, blen, "_Py_DebugOffsets put the GIL's locked at +%" PRIu64
			 " and last_holder at +%" PRIu64 " from it, not +%d and +%d",
			 get_u64(d + DBG_IS_GIL_LOCKED) - gil_off,
			 get_u64(d + DBG_IS_GIL_HOLDER) - gil_off, GIL_LOCKED, GIL_LAST_HOLDER);
		return -ENOTSUP;
	}
	if (read_u64(t->pid, interp + gil_ptr_off, gil) || !*gil) {
		snprintf(bad, blen, "main interpreter's GIL not created yet");
		return -EAGAIN;
	}
	/* the main interpreter always runs on its own GIL, inside _PyRuntime */
	if (*gil != interp + gil_off || !in_runtime(t, *gil, GIL_SIZE)) {
		snprintf(bad, blen, "main interpreter's ceval.gil=0x%" PRIx64 " is not its "
			 "own _gil at 0x%" PRIx64, *gil, interp + gil_off);
		return -ENOTSUP;
	}
	snprintf(detail, dlen, "_Py_DebugOffsets: interpreters_head(+%" PRIu64 "), id 0, "
		 "->ceval_gil(+%" PRIu64 ") = _PyRuntime+%" PRIu64 " in %.40s",
		 head, gil_ptr_off, *gil - t->rt, t->name);
	return 0;
}

static int cpython_gil(struct py_target *t, struct gil_location *out, char *bad, size_t blen)
{
	char *detail = out->detail;
	size_t dlen = sizeof(out->detail);
	uint64_t gil = 0;
	int err;

	snprintf(out->method, sizeof(out->method), "runtime-offsets");
	if (t->minor <= 11) {
		uint64_t off = 0;

		for (size_t i = 0; i < sizeof(runtime_gil_off) / sizeof(runtime_gil_off[0]); i++)
			if (runtime_gil_off[i].minor == t->minor)
				off = runtime_gil_off[i].off;
		if (!in_runtime(t, t->rt + off, GIL_SIZE)) {
			snprintf(bad, blen, "_PyRuntime is %" PRIu64 " bytes, too small for "
				 "a GIL at +%" PRIu64, t->rt_size, off);
			return -ENOTSUP;
		}
		gil = t->rt + off;
		snprintf(detail, dlen, "_PyRuntime+%" PRIu64 " in %s", off, t->name);
		err = 0;
	} else if (t->minor == 12) {
		err = py312_gil(t, &gil, detail, dlen, bad, blen);
	} else {
		snprintf(out->method, sizeof(out->method), "debug-offsets");
		err = debug_offsets_gil(t, &gil, detail, dlen, bad, blen);
	}
	err = err ?: check_gil(t->pid, gil, bad, blen);
	if (err)
		return err;
	if (t->version_from) {
		size_t n = strlen(detail);

		snprintf(detail + n, dlen - n, "; %s", t->version_from);
	}
	fill(out, gil);
	return 0;
}

/* A process that maps a Python runtime without _PyRuntime (2.x, 3.6 and
 * older): a Python still, one that is named as not supported. */
static int old_python(struct py_target *t, char *why, size_t why_len)
{
	static const char *prefixes[] = { "", "libpython" };
	char bad[160];
	uint64_t addr;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (symbolizer__sym_addr(t->sym, prefixes[i], "Py_Initialize", &addr) ||
		    locate_module(t, addr, "Py_Initialize", ELF_SYM_FUNC))
			continue;
		if (python_version(t, prefixes[i], bad, sizeof(bad)))
			snprintf(t->version, sizeof(t->version), "?");
		snprintf(why, why_len, "python %s at %s is not supported (" SUPPORTED ")",
			 t->version, t->path);
		return -ENOTSUP;
	}
	return -ENOENT;
}

static int find_cpython(struct py_target *t, struct gil_location *out, char *why,
			size_t why_len)
{
	static const char *prefixes[] = { "", "libpython3" };
	const char *prefix = NULL;
	char bad[200] = "";
	int err;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !prefix; i++)
		if (!symbolizer__sym_addr(t->sym, prefixes[i], "_PyRuntime", &t->rt))
			prefix = prefixes[i];
	if (!prefix)
		return old_python(t, why, why_len);
	err = locate_module(t, t->rt, "_PyRuntime", ELF_SYM_OBJECT);
	if (err)
		return err;
	err = python_version(t, prefix, why, why_len);
	if (err)
		return err;
	if (t->major != 3 || t->minor < PY_MIN_MINOR || t->minor > PY_MAX_MINOR) {
		snprintf(why, why_len, "python %s at %s is not supported (" SUPPORTED ")",
			 t->version, t->path);
		return -ENOTSUP;
	}
	err = cpython_gil(t, out, bad, sizeof(bad));
	if (err && t->free_threaded) {
		snprintf(why, why_len, "python %s at %s is a free-threaded build, %s",
			 t->version, t->path, bad);
		memset(out, 0, sizeof(*out));
		return -ENOTSUP;
	}
	if (err == -EAGAIN) {
		/* caught during start-up (or an embedder that has not called
		 * Py_Initialize): nothing is wrong, there is just no GIL yet */
		snprintf(why, why_len, "python %s at %s: interpreter not initialised, %s",
			 t->version, t->path, bad);
		memset(out, 0, sizeof(*out));
		return -ENOTSUP;
	}
	if (err) {
		snprintf(why, why_len, "python %s at %s: GIL layout not recognised (%s)",
			 t->version, t->path, bad);
		memset(out, 0, sizeof(*out));
		return -ENOTSUP;
	}
	snprintf(out->python, sizeof(out->python), "%s", t->version);
	snprintf(out->module, sizeof(out->module), "%s", t->path);
	return 0;
}

int gil_find(pid_t pid, struct gil_location *out, char *why, size_t why_len)
{
	struct py_target t = { .pid = pid };
	int err;

	memset(out, 0, sizeof(*out));
	if (why_len)
		why[0] = 0;
	err = symbolizer__new(pid, &t.sym);
	if (err) {
		snprintf(why, why_len, "process %d: %s", pid, strerror(-err));
		return -ENOENT;
	}
	err = find_gildemo(&t, out, why, why_len);
	if (err == -ENOENT)
		err = find_cpython(&t, out, why, why_len);
	if (err == -ENOENT && why_len && !why[0])
		snprintf(why, why_len, "process %d has neither _PyRuntime (CPython) nor "
			 "gildemo_gil", pid);

	elf_file__close(t.ef);
	proc_maps__free(&t.pm);
	symbolizer__free(t.sym);
	/* the contract: a GIL, no known interpreter, or a Python not traced */
	if (err && err != -ENOTSUP)
		err = -ENOENT;
	return err;
}
