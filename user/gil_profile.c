// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GIL profiles: gildemo, and CPython 3.8 - 3.15, stripped or not.
 *
 * Every CPython since 3.7 exports _PyRuntime (a dynamic symbol, so it
 * survives stripping), in the executable or in libpython3.X.so - or in
 * whatever file the process maps, for one started through its loader
 * (ld.so /usr/bin/python3 ...).  From it the GIL is reached:
 *   3.8 - 3.11  at a fixed offset (_PyRuntime.ceval.gil is embedded);
 *   3.12        through _PyRuntime.interpreters.main -> ceval.gil, a
 *               pointer since PEP 684 gave each interpreter its own GIL;
 *   3.13 - 3.15 through the _Py_DebugOffsets table CPython keeps at
 *               _PyRuntime+0 for out-of-process tools.  The table does
 *               not describe its own layout: it is read by the version
 *               it declares, one layout per known minor version.
 * The offsets were measured with gdb on this machine's builds and on
 * Debian sid's 3.13 - 3.15; see docs/cpython-gil-layout.md.
 *
 * Free-threaded builds are named, not misread: a 3.13t+ with the GIL
 * disabled and Sam Gross's nogil 3.9 have no GIL to trace; a 3.13t+
 * whose GIL was enabled again (PYTHON_GIL=1) is traced with the
 * free-threaded GIL layout.
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
#include "py_debug_offsets.h"
#include "symbolize.h"

/*
 * struct _gil_runtime_state: the same in 3.8 - 3.15 (gdb: ptype /o) and
 * in gildemo.  Free-threaded 3.13t+ builds put an int `enabled` first,
 * which moves everything else by GIL_FT_SHIFT: the offsets below are
 * from the field base, gil + 0 or gil + 8.
 */
#define GIL_FT_SHIFT		8	/* int enabled + padding */
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
#define PY_MAX_MINOR		15
#define SUPPORTED		"3.8 - 3.15 are"

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

/* 3.12: the main interpreter and its GIL pointer (3.12.1, gdb) */
#define PY312_INTERPRETERS_HEAD	40	/* _PyRuntime.interpreters.head */
#define PY312_INTERPRETERS_MAIN	48	/* _PyRuntime.interpreters.main */
#define PY312_IS_NEXT		0	/* PyInterpreterState.next */
#define PY312_IS_ID		8	/* PyInterpreterState.id */
#define PY312_CEVAL_GIL		384	/* PyInterpreterState.ceval.gil */

/*
 * _Py_DebugOffsets (3.13+, at _PyRuntime+0): read by the version it
 * declares, with the positions of py_debug_offsets.h's table (owned by
 * pyread_layout.c, which reads frames with it).
 *
 * Pre-releases: an alpha, beta or rc of a known minor is read with that
 * minor's layout, and only traced when every live check below passes.
 * Known to differ: 3.13's early alphas had no free_threaded flag and no
 * size fields (the groups start at +16), as a third-party parser written
 * against a 3.13.0 alpha shows (read, not checked): such a table fails
 * the checks.  Which 3.14 and 3.15 pre-releases differ from the releases
 * is not known: no pre-release could be checked here.
 */
#define DBG_MAX_INTERPS		4096	/* a bound on the interpreter list walk */
#define DBG_MAX_TSTATE		(1u << 20)	/* no PyThreadState is this big */
/* bytes of the table read here: past the highest position of a field
 * gil_profile.c reads (3.15's ts_native_tid, 248) */
#define DBG_READ	256

/*
 * nogil (Sam Gross's free-threaded 3.9.10): no GIL at all, and a
 * _PyRuntime whose 3.9 GIL offset holds something else.  It exports
 * functions no stock CPython 3.8 - 3.15 has (checked with readelf
 * --dyn-syms on every build here), and its sys.version says "[nogil".
 */
static const char *const nogil_syms[] = {
	"_PyRuntimeState_StopTheWorld", "_PyParkingLot_ParkInt32",
};
#define NOGIL_TAG	"[nogil"
#define SYS_VERSION_MAX	256	/* how far past the version "[nogil" may be */

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
	int layout;		/* enum gil_layout_policy */
	const char *prefix;	/* where _PyRuntime was found; NULL: any module */
	bool nogil_tag;		/* sys.version in memory says "[nogil" */
	bool no_gil;		/* free-threaded, without a GIL: said plainly */
	bool free_threaded;	/* _Py_DebugOffsets.free_threaded */
	bool unknown_version;	/* _Py_DebugOffsets of a version not known */
	unsigned gil_base;	/* 0, or GIL_FT_SHIFT in a free-threaded build */
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

/* The fields' addresses, from the field base gil + @base (0, or
 * GIL_FT_SHIFT past a free-threaded build's `enabled`). */
static void fill(struct gil_location *o, uint64_t gil, unsigned base)
{
	uint64_t f = gil + base;

	o->gil = gil;
	o->interval = f + GIL_INTERVAL;
	o->last_holder = f + GIL_LAST_HOLDER;
	o->locked = f + GIL_LOCKED;
	o->switch_number = f + GIL_SWITCH_NUMBER;
	o->cond = f + GIL_COND;
	o->mutex = f + GIL_MUTEX;
	o->switch_cond = f + GIL_SWITCH_COND;
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
 * @base is where the fields start (see fill()).
 *
 * 0, -EAGAIN when the GIL is not created yet, or -ENOTSUP; @bad says why.
 */
static int check_gil(pid_t pid, uint64_t gil, unsigned base, char *bad, size_t len)
{
	uint64_t interval, holder, sn;
	int32_t locked, mlock, owner, kind;
	uint8_t buf[GIL_FT_SHIFT + GIL_SIZE], *g = buf + base;
	int err;

	if (!gil || gil % 8) {
		snprintf(bad, len, "GIL address 0x%" PRIx64 " is not a pointer", gil);
		return -ENOTSUP;
	}
	if (base > GIL_FT_SHIFT) {
		snprintf(bad, len, "GIL fields at +%u", base);
		return -ENOTSUP;
	}
	err = proc_read_mem(pid, gil, buf, base + GIL_SIZE);
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
	err = check_gil(t->pid, addr, 0, bad, sizeof(bad));
	if (err) {
		snprintf(why, why_len, "gildemo %s: GIL not recognised: %s", exe, bad);
		return -ENOTSUP;	/* -EAGAIN too: the contract has no "not yet" */
	}
	fill(out, addr, 0);
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

/* Runtime address of @name (of @kind) in the runtime's own file (not in
 * another libpython3* the process may map), else wherever the symbolizer
 * finds it: in the module _PyRuntime was found in by prefix, or in any. */
static int runtime_sym(struct py_target *t, const char *name, int kind,
		       uint64_t *addr, uint64_t *size)
{
	struct elf_sym es;

	*size = 0;
	if (t->ef) {
		if (elf_file__find_sym(t->ef, name, kind, &es))
			return -ENOENT;
		*addr = es.addr + t->bias;
		*size = es.size;
		return 0;
	}
	if (!t->prefix)
		return symbolizer__sym_addr_any(t->sym, name, addr);
	return symbolizer__sym_addr(t->sym, t->prefix, name, addr);
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

/* "(main, ...) \n[nogil, GCC 12.2.0]": the rest of a sys.version,
 * up to its NUL, says nogil. */
static bool has_nogil_tag(const uint8_t *p, size_t n)
{
	size_t tl = strlen(NOGIL_TAG);

	if (n > SYS_VERSION_MAX)
		n = SYS_VERSION_MAX;
	for (size_t i = 0; i + tl <= n && p[i]; i++)
		if (!memcmp(p + i, NOGIL_TAG, tl))
			return true;
	return false;
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
				t->nogil_tag = has_nogil_tag(buf + i + vl, n - i - vl);
				err = 0;
				break;
			}
		}
	}
	free(buf);
	return err;
}

/* PY_VERSION_HEX as a version: 0x030b02f0 "3.11.2", 0x030d00c2
 * "3.13.0rc2".  False when it is no CPython 3 version. */
static bool hex_version(uint64_t v, char *buf, size_t len)
{
	static const char *levels[16] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc", [0xf] = "" };
	unsigned minor = (v >> 16) & 0xff, micro = (v >> 8) & 0xff, level = (v >> 4) & 0xf;

	if ((v >> 24) != 3 || !levels[level])
		return false;
	if (level == 0xf)
		snprintf(buf, len, "3.%u.%u", minor, micro);
	else
		snprintf(buf, len, "3.%u.%u%s%u", minor, micro, levels[level], (unsigned)v & 0xf);
	return true;
}

/*
 * The exact version.  3.11+ export Py_Version (PY_VERSION_HEX, e.g.
 * 0x030b02f0 = 3.11.2).  Before, the file name gives X.Y and the
 * sys.version buffer in memory the full version; the two must agree.
 */
static int python_version(struct py_target *t, char *why, size_t why_len)
{
	uint64_t addr, size, v = 0;
	int maj = 0, min = -1;
	bool named;

	if (!runtime_sym(t, "Py_Version", ELF_SYM_OBJECT, &addr, &size) &&
	    !proc_read_mem(t->pid, addr, &v, size == 4 ? 4 : 8) &&
	    hex_version(v, t->version, sizeof(t->version))) {
		t->major = 3;
		t->minor = (v >> 16) & 0xff;
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

/*
 * 3.12+ subinterpreters may each run on a GIL of their own (PEP 684),
 * which is not traced: count the interpreters other than @main in the
 * list from @head (bounded) and say so in the note.
 */
static void note_other_interps(struct py_target *t, uint64_t head, uint64_t next_off,
			       uint64_t main, struct gil_location *out)
{
	uint64_t interp = head;
	int others = 0, n;

	for (n = 0; interp && n < DBG_MAX_INTERPS; n++) {
		if (interp != main)
			others++;
		if (read_u64(t->pid, interp + next_off, &interp))
			break;
	}
	if (!others)
		return;
	snprintf(out->note, sizeof(out->note), "%d%s other interpreter%s (3.12+ "
		 "subinterpreters with their own GIL?): only the main interpreter's GIL "
		 "is traced", others, interp ? "+" : "", others > 1 ? "s exist" : " exists");
}

/* 3.12: _PyRuntime.interpreters.main -> ceval.gil */
static int py312_gil(struct py_target *t, struct gil_location *out, uint64_t *gil,
		     char *bad, size_t blen)
{
	uint64_t interp, head;

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
	if (!read_u64(t->pid, t->rt + PY312_INTERPRETERS_HEAD, &head))
		note_other_interps(t, head, PY312_IS_NEXT, interp, out);
	snprintf(out->detail, sizeof(out->detail), "interpreters.main(_PyRuntime+%d)->"
		 "ceval.gil(+%d) = _PyRuntime+%" PRIu64 " in %.48s", PY312_INTERPRETERS_MAIN,
		 PY312_CEVAL_GIL, *gil - t->rt, t->name);
	return 0;
}

/* [off, off + len) inside a struct of @size bytes, without overflow */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
	return size >= len && off <= size - len;
}

/* The field @pos of the table: a u64 at that byte position */
static uint64_t dbg_get(const uint8_t *d, uint16_t pos)
{
	return get_u64(d + pos);
}

/*
 * Which table layout to read: the one of the version the table declares,
 * which must be the runtime's (Py_Version) too.  Anything else is a
 * version not known (t->unknown_version), unless --python-layout=nearest
 * asked for the nearest older layout; @pre then says what was assumed.
 */
static const struct py_dbg_layout *dbg_pick_layout(struct py_target *t, uint64_t v,
						   char *pre, size_t plen, char *bad,
						   size_t blen)
{
	bool nearest = t->layout == GIL_LAYOUT_NEAREST;
	const struct py_dbg_layout *l;
	char tv[32];
	int minor = (v >> 16) & 0xff;

	if (!hex_version(v, tv, sizeof(tv))) {
		snprintf(bad, blen, "its _Py_DebugOffsets declare version 0x%08" PRIx64
			 ", not a CPython 3 version", v);
		return NULL;
	}
	l = py_dbg_layout(minor, nearest);
	pre[0] = 0;
	if (!nearest && (minor != t->minor || !l)) {
		t->unknown_version = true;
		snprintf(bad, blen, "its _Py_DebugOffsets declare %s%s%s (" SUPPORTED "; "
			 "--python-layout=nearest tries the nearest layout, checked live)", tv,
			 minor != t->minor ? ", Py_Version " : "",
			 minor != t->minor ? t->version : "");
		return NULL;
	}
	if (!l) {
		snprintf(bad, blen, "its _Py_DebugOffsets declare %s: no layout at or below it", tv);
		return NULL;
	}
	if (l->minor != minor || minor != t->minor)
		snprintf(pre, plen, "nearest layout 3.%d for %.16s%s%.16s: ", l->minor, tv,
			 minor != t->minor ? ", Py_Version " : "",
			 minor != t->minor ? t->version : "");
	else if (((v >> 4) & 0xf) != 0xf)
		snprintf(pre, plen, "3.%d layout for pre-release %.16s: ", l->minor, tv);
	return l;
}

/*
 * Where the GIL's fields start, from where the table puts locked and
 * holder: +16/+8 from the GIL (default builds) or +24/+16 (free-threaded
 * builds, after their int enabled).  Anything else is not a GIL layout
 * gilscope knows.  0 with t->gil_base set, or -ENOTSUP.
 */
static int dbg_gil_base(struct py_target *t, uint64_t gil_off, uint64_t locked_off,
			uint64_t holder_off, uint64_t enabled_off, char *bad, size_t blen)
{
	uint64_t shift = t->free_threaded ? GIL_FT_SHIFT : 0;

	if (locked_off != gil_off + shift + GIL_LOCKED ||
	    holder_off != gil_off + shift + GIL_LAST_HOLDER ||
	    (t->free_threaded && enabled_off + sizeof(int32_t) > GIL_FT_SHIFT)) {
		snprintf(bad, blen, "_Py_DebugOffsets put the GIL's locked at %+" PRId64
			 " and last_holder at %+" PRId64 " from it, not +%" PRIu64 " and +%" PRIu64
			 " (%s build)", (int64_t)(locked_off - gil_off),
			 (int64_t)(holder_off - gil_off), shift + GIL_LOCKED,
			 shift + GIL_LAST_HOLDER, t->free_threaded ? "free-threaded" : "default");
		return -ENOTSUP;
	}
	t->gil_base = shift;
	return 0;
}

/* The offsets in PyThreadState the table gives, kept for naming frames
 * and threads; left 0 (unknown) when they do not fit its size. */
static void dbg_tstate(const uint8_t *d, const struct py_dbg_layout *l, struct gil_location *out)
{
	uint64_t size = dbg_get(d, l->ts_size), frame = dbg_get(d, l->ts_frame);
	uint64_t tid = dbg_get(d, l->ts_native_tid);

	if (size > DBG_MAX_TSTATE || !fits(frame, 8, size) || !fits(tid, 8, size))
		return;
	out->tstate_frame_off = frame;
	out->tstate_native_tid_off = tid;
}

/*
 * The main interpreter: interpreters.head is the newest interpreter (a
 * subinterpreter, if any: with its own GIL since PEP 684); the main one
 * is the one with id 0, last in the list.  The others are counted for
 * the note.  0, -EAGAIN (no interpreter yet) or -ENOTSUP.
 */
static int dbg_main_interp(struct py_target *t, uint64_t head, uint64_t id_off,
			   uint64_t next_off, uint64_t *main, struct gil_location *out,
			   char *bad, size_t blen)
{
	uint64_t first, interp, id;
	int n;

	*main = 0;
	if (read_u64(t->pid, t->rt + head, &first) || !first) {
		snprintf(bad, blen, "no interpreter yet (interpreters.head is NULL)");
		return -EAGAIN;
	}
	for (n = 0, interp = first; interp && n < DBG_MAX_INTERPS && !*main; n++) {
		if (read_u64(t->pid, interp + id_off, &id))
			break;
		if (!id)
			*main = interp;
		else if (read_u64(t->pid, interp + next_off, &interp))
			break;
	}
	if (!*main) {
		snprintf(bad, blen, "no main interpreter (id 0) in interpreters.head's list");
		return -ENOTSUP;
	}
	note_other_interps(t, first, next_off, *main, out);
	return 0;
}

/* A free-threaded build: its GIL's `enabled` (an int at @enabled_off in
 * the GIL struct) says whether there is a GIL to trace.  0 when there
 * is, -ENOTSUP (t->no_gil when disabled) when not. */
static int dbg_ft_enabled(struct py_target *t, uint64_t gil, uint64_t enabled_off,
			  struct gil_location *out, char *bad, size_t blen)
{
	int32_t enabled;
	size_t n;

	if (proc_read_mem(t->pid, gil + enabled_off, &enabled, sizeof(enabled))) {
		snprintf(bad, blen, "cannot read the free-threaded GIL's enabled flag");
		return -ENOTSUP;
	}
	if (!enabled) {
		t->no_gil = true;
		snprintf(bad, blen, "GIL disabled");
		return -ENOTSUP;
	}
	if (enabled < 0) {
		snprintf(bad, blen, "free-threaded GIL's enabled=%d", enabled);
		return -ENOTSUP;
	}
	/* PYTHON_GIL=1, -X gil=1, or an extension not marked free-threading
	 * safe was imported: a GIL like any other, `enabled` in front */
	n = strlen(out->note);
	snprintf(out->note + n, sizeof(out->note) - n, "%sfree-threaded build, GIL "
		 "enabled (enabled=%d)", n ? "; " : "", enabled);
	return 0;
}

/*
 * 3.13+: _Py_DebugOffsets at _PyRuntime+0, read with the layout of the
 * version it declares, checked against itself and the runtime: the
 * runtime's size, every offset inside its struct, the GIL layout it
 * implies, and the main interpreter's ceval.gil being its own _gil.
 */
static int debug_offsets_gil(struct py_target *t, struct gil_location *out, uint64_t *gil,
			     char *bad, size_t blen)
{
	uint64_t rt_size, head, is_size, id_off, next_off, gil_ptr_off, gil_off;
	uint64_t locked_off, holder_off, enabled_off, interp;
	const struct py_dbg_layout *l;
	uint8_t d[DBG_READ];
	char pre[96];
	int err;

	if (proc_read_mem(t->pid, t->rt, d, sizeof(d)) ||
	    memcmp(d + PY_DBG_COOKIE, "xdebugpy", 8)) {
		snprintf(bad, blen, "no _Py_DebugOffsets (cookie \"xdebugpy\") at _PyRuntime");
		return -ENOTSUP;
	}
	l = dbg_pick_layout(t, get_u64(d + PY_DBG_VERSION), pre, sizeof(pre), bad, blen);
	if (!l)
		return -ENOTSUP;
	t->free_threaded = get_u64(d + PY_DBG_FREE_THREADED) != 0;
	if (t->free_threaded && strlen(t->version) + 1 < sizeof(t->version))
		strcat(t->version, "t");	/* as python3.13t calls itself */

	rt_size = dbg_get(d, l->rt_size);
	head = dbg_get(d, l->rt_interp_head);
	is_size = dbg_get(d, l->is_size);
	id_off = dbg_get(d, l->is_id);
	next_off = dbg_get(d, l->is_next);
	gil_ptr_off = dbg_get(d, l->is_ceval_gil);
	gil_off = dbg_get(d, l->is_gil);
	enabled_off = dbg_get(d, l->is_gil_enabled);
	locked_off = dbg_get(d, l->is_gil_locked);
	holder_off = dbg_get(d, l->is_gil_holder);
	if ((t->rt_size && rt_size != t->rt_size) || !fits(head, 8, rt_size) ||
	    is_size > (64u << 20) || !fits(id_off, 8, is_size) || !fits(next_off, 8, is_size) ||
	    !fits(gil_ptr_off, 8, is_size) || !fits(gil_off, GIL_FT_SHIFT + GIL_SIZE, is_size) ||
	    !fits(locked_off, 4, is_size) || !fits(holder_off, 8, is_size)) {
		snprintf(bad, blen, "_Py_DebugOffsets do not fit: runtime size %" PRIu64
			 " (symbol: %" PRIu64 "), interpreters_head %" PRIu64 ", interpreter "
			 "size %" PRIu64 ", _gil %" PRIu64 ", locked %" PRIu64, rt_size,
			 t->rt_size, head, is_size, gil_off, locked_off);
		return -ENOTSUP;
	}
	if (!t->rt_size)
		t->rt_size = rt_size;
	err = dbg_gil_base(t, gil_off, locked_off, holder_off, enabled_off, bad, blen);
	err = err ?: dbg_main_interp(t, head, id_off, next_off, &interp, out, bad, blen);
	if (err)
		return err;
	if (read_u64(t->pid, interp + gil_ptr_off, gil) || !*gil) {
		snprintf(bad, blen, "main interpreter's GIL not created yet");
		return -EAGAIN;
	}
	/* the main interpreter always runs on its own GIL, inside _PyRuntime */
	if (*gil != interp + gil_off || !in_runtime(t, *gil, t->gil_base + GIL_SIZE)) {
		snprintf(bad, blen, "main interpreter's ceval.gil=0x%" PRIx64 " is not its "
			 "own _gil at 0x%" PRIx64, *gil, interp + gil_off);
		return -ENOTSUP;
	}
	if (t->free_threaded) {
		err = dbg_ft_enabled(t, *gil, enabled_off, out, bad, blen);
		if (err)
			return err;
	}
	dbg_tstate(d, l, out);
	snprintf(out->detail, sizeof(out->detail), "%s_Py_DebugOffsets: interpreters_head(+%"
		 PRIu64 "), id 0, ->ceval_gil(+%" PRIu64 ") = _PyRuntime+%" PRIu64 " in %.32s",
		 pre, head, gil_ptr_off, *gil - t->rt, t->name);
	return 0;
}

static int cpython_gil(struct py_target *t, struct gil_location *out, char *bad, size_t blen)
{
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
		snprintf(out->detail, sizeof(out->detail), "_PyRuntime+%" PRIu64 " in %s",
			 off, t->name);
		err = 0;
	} else if (t->minor == 12) {
		err = py312_gil(t, out, &gil, bad, blen);
	} else {
		snprintf(out->method, sizeof(out->method), "debug-offsets");
		err = debug_offsets_gil(t, out, &gil, bad, blen);
	}
	err = err ?: check_gil(t->pid, gil, t->gil_base, bad, blen);
	if (err)
		return err;
	if (t->version_from) {
		size_t n = strlen(out->detail);

		snprintf(out->detail + n, sizeof(out->detail) - n, "; %s", t->version_from);
	}
	fill(out, gil, t->gil_base);
	return 0;
}

/* Where a Python's runtime symbol @name (of @kind) is: the executable,
 * a library named @lib*, or - for one started through its loader, or
 * embedded in a file of another name - any mapped module.  Sets
 * t->prefix (NULL for "any"); 0 or -ENOENT. */
static int find_runtime_sym(struct py_target *t, const char *lib, const char *name,
			    uint64_t *addr)
{
	const char *prefixes[] = { "", lib };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (!symbolizer__sym_addr(t->sym, prefixes[i], name, addr)) {
			t->prefix = prefixes[i];
			return 0;
		}
	}
	t->prefix = NULL;
	return symbolizer__sym_addr_any(t->sym, name, addr);
}

/* A process that maps a Python runtime without _PyRuntime (2.x, 3.6 and
 * older): a Python still, one that is named as not supported. */
static int old_python(struct py_target *t, char *why, size_t why_len)
{
	char bad[160];
	uint64_t addr;

	if (find_runtime_sym(t, "libpython", "Py_Initialize", &addr) ||
	    locate_module(t, addr, "Py_Initialize", ELF_SYM_FUNC))
		return -ENOENT;
	if (python_version(t, bad, sizeof(bad)))
		snprintf(t->version, sizeof(t->version), "?");
	snprintf(why, why_len, "python %s at %s is not supported (" SUPPORTED ")",
		 t->version, t->path);
	return -ENOTSUP;
}

/* nogil 3.9: the runtime's file exports what only nogil has, or its
 * sys.version says so. */
static bool is_nogil(struct py_target *t)
{
	uint64_t addr, size;

	if (t->nogil_tag)
		return true;
	for (size_t i = 0; i < sizeof(nogil_syms) / sizeof(nogil_syms[0]); i++)
		if (!runtime_sym(t, nogil_syms[i], ELF_SYM_FUNC, &addr, &size))
			return true;
	return false;
}

/* Refuses what is not traced before any layout is tried: nogil, versions
 * out of range.  0 to go on, or -ENOTSUP with @why said. */
static int cpython_refuse(struct py_target *t, struct gil_location *out, char *why,
			  size_t why_len)
{
	if (is_nogil(t)) {
		snprintf(why, why_len, "python %s (nogil) at %s is a free-threaded build: it "
			 "has no GIL", t->version, t->path);
		out->no_gil = true;
		return -ENOTSUP;
	}
	if (t->major != 3 || t->minor < PY_MIN_MINOR) {
		snprintf(why, why_len, "python %s at %s is not supported (" SUPPORTED ")",
			 t->version, t->path);
		return -ENOTSUP;
	}
	if (t->minor > PY_MAX_MINOR && t->layout != GIL_LAYOUT_NEAREST) {
		snprintf(why, why_len, "python %s at %s is not known to gilscope (" SUPPORTED
			 "; --python-layout=nearest tries the 3.%d layout, checked live)",
			 t->version, t->path, PY_MAX_MINOR);
		return -ENOTSUP;
	}
	return 0;
}

/* One line for a CPython whose GIL was not found (err from cpython_gil) */
static void cpython_why(struct py_target *t, int err, const char *bad, char *why,
			size_t why_len)
{
	if (t->no_gil)
		snprintf(why, why_len, "python %s at %s is a free-threaded build with the GIL "
			 "disabled: no GIL to trace", t->version, t->path);
	else if (t->unknown_version)
		snprintf(why, why_len, "python %s at %s is not known to gilscope: %s",
			 t->version, t->path, bad);
	else if (err == -EAGAIN)
		/* caught during start-up (or an embedder that has not called
		 * Py_Initialize): nothing is wrong, there is just no GIL yet */
		snprintf(why, why_len, "python %s at %s: interpreter not initialised, %s",
			 t->version, t->path, bad);
	else
		snprintf(why, why_len, "python %s at %s: GIL layout not recognised (%s)",
			 t->version, t->path, bad);
}

static int find_cpython(struct py_target *t, struct gil_location *out, char *why,
			size_t why_len)
{
	char bad[200] = "";
	int err;

	if (find_runtime_sym(t, "libpython3", "_PyRuntime", &t->rt))
		return old_python(t, why, why_len);
	err = locate_module(t, t->rt, "_PyRuntime", ELF_SYM_OBJECT);
	err = err ?: python_version(t, why, why_len);
	err = err ?: cpython_refuse(t, out, why, why_len);
	if (err)
		return err;
	err = cpython_gil(t, out, bad, sizeof(bad));
	if (err) {
		cpython_why(t, err, bad, why, why_len);
		memset(out, 0, sizeof(*out));
		out->no_gil = t->no_gil;
		return -ENOTSUP;
	}
	snprintf(out->python, sizeof(out->python), "%s", t->version);
	snprintf(out->module, sizeof(out->module), "%s", t->path);
	out->runtime = t->rt;
	out->py_major = t->major;
	out->py_minor = t->minor;
	return 0;
}

int gil_find(pid_t pid, const struct gil_find_opts *opts, struct gil_location *out,
	     char *why, size_t why_len)
{
	struct py_target t = { .pid = pid };
	int err;

	memset(out, 0, sizeof(*out));
	if (why_len)
		why[0] = 0;
	t.layout = opts ? opts->layout : GIL_LAYOUT_EXACT;
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
