// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GIL profiles against live interpreters: every CPython on this machine
 * (/usr/bin/python3, pyenv's builds), gildemo, and fake runtimes built in
 * this process for the cases no installed Python shows (3.14, a
 * free-threaded 3.13t, a damaged GIL).  No root needed: a process may read
 * the memory of its own children (same uid).
 *
 * Every child is spawned with PR_SET_PDEATHSIG, so a failing CHECK (which
 * exits the test process) takes its children with it; on the normal path
 * they are killed and reaped before the results are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testlib.h"
#include "elf_syms.h"
#include "gil_profile.h"
#include "proc.h"

#define MAX_PYTHONS	32
#define READY_MS	15000

/* ------------------------------------------------------------------ */
/* Children                                                             */
/* ------------------------------------------------------------------ */

struct kid {
	pid_t pid;
	int fd;			/* its stdout and stderr */
	char line[256];		/* the line it announced itself with */
};

/* Forks and execs @argv (@argv == NULL: the child stays this program and
 * just waits) with stdout and stderr into a pipe. */
static int kid_spawn(struct kid *k, char *const argv[])
{
	pid_t parent = getpid();
	int pfd[2];

	memset(k, 0, sizeof(*k));
	k->fd = -1;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	k->pid = fork();
	if (k->pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (k->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (argv) {
			execv(argv[0], argv);
			_exit(127);
		}
		for (;;)
			pause();
	}
	close(pfd[1]);
	k->fd = pfd[0];
	return 0;
}

/* Waits for a line containing @word from the child; 0 or -ETIMEDOUT. */
static int kid_wait(struct kid *k, const char *word)
{
	char buf[4096];
	size_t len = 0;
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = k->fd, .events = POLLIN };
		long ms;
		ssize_t n;
		char *nl;

		buf[len] = 0;
		while ((nl = strchr(buf, '\n'))) {
			*nl = 0;
			if (strstr(buf, word)) {
				snprintf(k->line, sizeof(k->line), "%.255s", buf);
				return 0;
			}
			memmove(buf, nl + 1, len - (nl + 1 - buf) + 1);
			len = strlen(buf);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= READY_MS || poll(&p, 1, READY_MS - ms) <= 0)
			break;
		n = read(k->fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(buf) - 1)
			len = 0;	/* a runaway line: drop it */
	}
	snprintf(k->line, sizeof(k->line), "%.*s", (int)len, buf);
	return -ETIMEDOUT;
}

static void kid_kill(struct kid *k)
{
	if (k->pid > 0) {
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		k->pid = 0;
	}
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* ------------------------------------------------------------------ */
/* The Pythons on this machine                                          */
/* ------------------------------------------------------------------ */

/* "python3.9", "python3.12": a versioned CPython 3 binary, not
 * python3.9-config nor python3.13t. */
static bool python_name(const char *path)
{
	const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t i = strlen("python3.");

	if (strncmp(b, "python3.", i) || !b[i])
		return false;
	for (; b[i]; i++)
		if (b[i] < '0' || b[i] > '9')
			return false;
	return true;
}

static void add_python(char list[][PATH_MAX], int *nr, const char *path)
{
	char real[PATH_MAX];

	if (*nr >= MAX_PYTHONS || access(path, X_OK) || !realpath(path, real))
		return;
	for (int i = 0; i < *nr; i++)
		if (!strcmp(list[i], real))
			return;
	snprintf(list[(*nr)++], PATH_MAX, "%s", real);
}

/* /usr/bin/python3 and the pyenv builds, found now. */
static int find_pythons(char list[][PATH_MAX])
{
	const char *roots[] = { "/root/.pyenv", getenv("PYENV_ROOT") };
	int nr = 0;

	add_python(list, &nr, "/usr/bin/python3");
	for (size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++) {
		char pat[PATH_MAX];
		glob_t g;

		if (!roots[r])
			continue;
		snprintf(pat, sizeof(pat), "%s/versions/*/bin/python3.*", roots[r]);
		if (glob(pat, 0, NULL, &g))
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (python_name(g.gl_pathv[i]))
				add_python(list, &nr, g.gl_pathv[i]);
		globfree(&g);
	}
	return nr;
}

/* "ok 3.9.18": the version the child announced, its minor number */
static int announced_minor(const char *line, char *ver, size_t len)
{
	const char *v = strstr(line, "ok ");
	int maj = 0, min = 0;

	if (!v || sscanf(v + 3, "%d.%d", &maj, &min) != 2 || maj != 3)
		return -1;
	snprintf(ver, len, "%.*s", (int)strcspn(v + 3, " \r\n"), v + 3);
	return min;
}

static const char py_idle[] =
	"import sys, time\n"
	"sys.setswitchinterval(0.002)\n"
	"print('ok', sys.version.split()[0], flush=True)\n"
	"time.sleep(30)\n";

/* ------------------------------------------------------------------ */
/* Real interpreters                                                    */
/* ------------------------------------------------------------------ */

struct py_result {
	int err;
	struct gil_location loc;
	char why[256];
	uint64_t interval;
	int interval_err;
	int32_t locked;
};

static void probe(pid_t pid, struct py_result *r)
{
	memset(r, 0, sizeof(*r));
	r->err = gil_find(pid, &r->loc, r->why, sizeof(r->why));
	r->interval_err = -1;
	if (!r->err) {
		r->interval_err = proc_read_mem(pid, r->loc.interval, &r->interval,
					       sizeof(r->interval));
		proc_read_mem(pid, r->loc.locked, &r->locked, sizeof(r->locked));
	}
}

/*
 * Every CPython found: 3.8 - 3.13 give their GIL, whose interval in
 * memory is the 2 ms the script set (so it is the real GIL, not a struct
 * that merely looks like one); others are named as not supported.
 */
TEST(gil_find_every_cpython)
{
	static char list[MAX_PYTHONS][PATH_MAX];
	static struct kid kids[MAX_PYTHONS];
	static struct py_result res[MAX_PYTHONS];
	static char vers[MAX_PYTHONS][32];
	int minors[MAX_PYTHONS];
	int nr = find_pythons(list), ok = 0;

	if (!nr)
		SKIP("no python3 found (/usr/bin/python3, /root/.pyenv/versions/*)");
	/* all at once: their start-ups overlap */
	for (int i = 0; i < nr; i++) {
		char *argv[] = { list[i], "-c", (char *)py_idle, NULL };

		CHECK(kid_spawn(&kids[i], argv) == 0);
	}
	for (int i = 0; i < nr; i++) {
		minors[i] = -1;
		if (kid_wait(&kids[i], "ok ")) {
			res[i].err = -ETIMEDOUT;
			continue;
		}
		minors[i] = announced_minor(kids[i].line, vers[i], sizeof(vers[i]));
		probe(kids[i].pid, &res[i]);
	}
	for (int i = 0; i < nr; i++)
		kid_kill(&kids[i]);

	for (int i = 0; i < nr; i++) {
		struct py_result *r = &res[i];
		char want[32];

		printf("%s: announced \"%s\", gil_find %d, python %s, method %s, "
		       "detail \"%s\", why \"%s\"\n", list[i], kids[i].line, r->err,
		       r->loc.python, r->loc.method, r->loc.detail, r->why);
		CHECK(minors[i] >= 0);
		if (minors[i] < 8 || minors[i] > 13) {
			CHECK_I64(r->err, -ENOTSUP);
			CHECK(strstr(r->why, "not supported (3.8 - 3.13 are)"));
			CHECK(strstr(r->why, vers[i]));
			continue;
		}
		CHECK_I64(r->err, 0);
		/* 3.8 - 3.10 have no Py_Version: the full version comes from
		 * sys.version's buffer in memory, and must match too */
		CHECK_STR(r->loc.python, vers[i]);
		CHECK_STR(r->loc.method, minors[i] == 13 ? "debug-offsets" : "runtime-offsets");
		snprintf(want, sizeof(want), "python3.%d", minors[i]);
		CHECK(strstr(r->loc.module, want));
		CHECK(strstr(r->loc.detail, "_PyRuntime"));
		CHECK_I64(r->interval_err, 0);
		CHECK_U64(r->interval, 2000);
		CHECK(r->locked == 0 || r->locked == 1);
		CHECK_U64(r->loc.interval, r->loc.gil);
		CHECK_U64(r->loc.last_holder, r->loc.gil + 8);
		CHECK_U64(r->loc.locked, r->loc.gil + 16);
		CHECK_U64(r->loc.switch_number, r->loc.gil + 24);
		CHECK_U64(r->loc.cond, r->loc.gil + 32);
		CHECK_U64(r->loc.mutex, r->loc.gil + 80);
		ok++;
	}
	if (!ok)
		SKIP("no CPython 3.8 - 3.13 among the %d Pythons found", nr);
}

/*
 * A GIL under load: CPU-bound threads fight for it, its mutex is taken
 * and released all the time.  Validation must still pass every time, and
 * switch_number must move (a live GIL, the one the threads use).
 */
TEST(gil_find_busy_interpreters)
{
	static const char busy[] =
		"import sys, threading, time\n"
		"sys.setswitchinterval(0.001)\n"
		"def spin():\n"
		"    while True:\n"
		"        pass\n"
		"for _ in range(2):\n"
		"    threading.Thread(target=spin, daemon=True).start()\n"
		"print('ok', sys.version.split()[0], flush=True)\n"
		"time.sleep(30)\n";
	static char list[MAX_PYTHONS][PATH_MAX];
	int nr = find_pythons(list), tested = 0;

	for (int i = 0; i < nr; i++) {
		char *argv[] = { list[i], "-c", (char *)busy, NULL };
		uint64_t sn0 = 0, sn1 = 0;
		int bad = 0, locked_seen = 0, minor, rd = -1;
		char ver[32], why[256] = "";
		struct gil_location loc;
		struct kid k;

		CHECK(kid_spawn(&k, argv) == 0);
		if (kid_wait(&k, "ok ") ||
		    (minor = announced_minor(k.line, ver, sizeof(ver))) < 8 || minor > 13) {
			kid_kill(&k);
			continue;
		}
		for (int n = 0; n < 20; n++) {
			int32_t locked = 0;

			if (gil_find(k.pid, &loc, why, sizeof(why))) {
				bad++;
				continue;
			}
			if (!proc_read_mem(k.pid, loc.locked, &locked, sizeof(locked)) && locked == 1)
				locked_seen++;
		}
		if (!bad) {
			rd = proc_read_mem(k.pid, loc.switch_number, &sn0, sizeof(sn0));
			usleep(100000);
			rd = rd ?: proc_read_mem(k.pid, loc.switch_number, &sn1, sizeof(sn1));
		}
		kid_kill(&k);
		printf("%s %s: %d failed finds (%s), locked seen %d/20, switch_number "
		       "%llu -> %llu\n", list[i], ver, bad, why, locked_seen,
		       (unsigned long long)sn0, (unsigned long long)sn1);
		CHECK_I64(bad, 0);
		CHECK_I64(rd, 0);
		CHECK(locked_seen > 0);
		CHECK(sn1 > sn0);
		tested++;
	}
	if (!tested)
		SKIP("no CPython 3.8 - 3.13 found");
}

/*
 * 3.12+ subinterpreters may have their own GIL (PEP 684).  A new one
 * becomes interpreters.head; the GIL wanted is the main interpreter's,
 * which is the one with our 2 ms interval (a new interpreter's GIL starts
 * at the default 5 ms).
 */
TEST(gil_find_main_interpreter_beside_subinterpreters)
{
	static char list[MAX_PYTHONS][PATH_MAX];
	int nr = find_pythons(list), tested = 0;

	for (int i = 0; i < nr; i++) {
		const char *b = strrchr(list[i], '/') + 1;
		char script[512], why[256] = "";
		char *argv[] = { list[i], "-c", script, NULL };
		struct gil_location loc;
		uint64_t interval = 0;
		int err, rd = -1;
		struct kid k;

		if (strcmp(b, "python3.12") && strcmp(b, "python3.13"))
			continue;
		snprintf(script, sizeof(script),
			 "import sys, time\n"
			 "import %s as interpreters\n"
			 "sys.setswitchinterval(0.002)\n"
			 "ids = [interpreters.create() for _ in range(2)]\n"
			 "print('ok', sys.version.split()[0], ids, flush=True)\n"
			 "time.sleep(30)\n",
			 strcmp(b, "python3.12") ? "_interpreters" : "_xxsubinterpreters");
		CHECK(kid_spawn(&k, argv) == 0);
		if (kid_wait(&k, "ok ")) {
			printf("%s: %s\n", list[i], k.line);
			kid_kill(&k);
			continue;
		}
		err = gil_find(k.pid, &loc, why, sizeof(why));
		if (!err)
			rd = proc_read_mem(k.pid, loc.interval, &interval, sizeof(interval));
		kid_kill(&k);
		printf("%s: %s: err %d %s %s\n", list[i], k.line, err, loc.detail, why);
		CHECK_I64(err, 0);
		CHECK_I64(rd, 0);
		CHECK_U64(interval, 2000);
		tested++;
	}
	if (!tested)
		SKIP("no CPython 3.12 or 3.13 with subinterpreters found");
}

TEST(gil_find_not_a_python)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct gil_location loc;
	char why[256] = "";
	struct kid k;
	int err;

	if (access(argv[0], X_OK))
		SKIP("no %s", argv[0]);
	CHECK(kid_spawn(&k, argv) == 0);
	/* past the exec: the child's maps are sleep's */
	for (int n = 0; n < 200; n++) {
		char exe[PATH_MAX], link[64];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/%d/exe", k.pid);
		len = readlink(link, exe, sizeof(exe) - 1);
		if (len > 0 && (exe[len] = 0, strstr(exe, "sleep")))
			break;
		usleep(10000);
	}
	err = gil_find(k.pid, &loc, why, sizeof(why));
	kid_kill(&k);
	CHECK_I64(err, -ENOENT);
	CHECK_STR(loc.python, "");
	CHECK_U64(loc.gil, 0);
}

TEST(gil_find_process_gone)
{
	struct gil_location loc;
	char why[256];
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (!pid)
		_exit(0);
	waitpid(pid, NULL, 0);
	CHECK_I64(gil_find(pid, &loc, why, sizeof(why)), -ENOENT);
}

TEST(gil_find_gildemo)
{
	char self[PATH_MAX], prog[PATH_MAX + 16], why[256] = "";
	char *argv[] = { prog, "--interval-us", "3000", "--pause-start-ms", "30000", NULL };
	struct gil_location loc;
	uint64_t interval = 0;
	int err, rd = -1;
	ssize_t n;
	struct kid k;

	/* build/unit_tests -> build/gildemo; else from the source tree */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n] = 0;
	snprintf(prog, sizeof(prog), "%s/gildemo", dirname(self));
	if (access(prog, X_OK))
		snprintf(prog, sizeof(prog), "build/gildemo");
	if (access(prog, X_OK))
		SKIP("gildemo not built");
	CHECK(kid_spawn(&k, argv) == 0);
	/* "gildemo: pid N, starting in 30000 ms": its GIL exists */
	if (kid_wait(&k, "starting in")) {
		kid_kill(&k);
		printf("gildemo did not start: %s\n", k.line);
		CHECK(0);
	}
	err = gil_find(k.pid, &loc, why, sizeof(why));
	if (!err)
		rd = proc_read_mem(k.pid, loc.interval, &interval, sizeof(interval));
	kid_kill(&k);
	printf("err %d why %s\n", err, why);
	CHECK_I64(err, 0);
	CHECK_STR(loc.python, "gildemo");
	CHECK_STR(loc.method, "profile");
	CHECK(strstr(loc.module, "gildemo"));
	CHECK_I64(rd, 0);
	CHECK_U64(interval, 3000);
	CHECK_U64(loc.mutex, loc.gil + 80);
}

/* ------------------------------------------------------------------ */
/* Fake runtimes                                                        */
/* ------------------------------------------------------------------ */

/*
 * A CPython stand-in: this test binary has objects named _PyRuntime and
 * Py_Version (file-local, so they clash with nothing; .symtab has them,
 * which is where gil_find looks in an unstripped file).  A test fills
 * them, forks, and points gil_find at the child, whose copy of them is
 * the fake interpreter.
 */
#define FAKE_RT_SIZE	8192

static unsigned char _PyRuntime[FAKE_RT_SIZE] __attribute__((aligned(64), used));
static unsigned long Py_Version __attribute__((used));
/* Py_GetVersion()'s buffer, where 3.8 - 3.10 keep sys.version */
static char fake_sys_version[256] __attribute__((used));

static void put_u64(unsigned off, uint64_t v)
{
	memcpy(_PyRuntime + off, &v, sizeof(v));
}

static void put_i32(unsigned off, int32_t v)
{
	memcpy(_PyRuntime + off, &v, sizeof(v));
}

static uint64_t rt_addr(unsigned off)
{
	return (uint64_t)(uintptr_t)_PyRuntime + off;
}

/* A created, idle GIL at _PyRuntime+@off. */
static void fake_gil(unsigned off, uint64_t interval)
{
	pthread_mutex_t *m = (pthread_mutex_t *)(_PyRuntime + off + 80);
	pthread_cond_t *c = (pthread_cond_t *)(_PyRuntime + off + 32);

	memset(_PyRuntime + off, 0, 208);
	put_u64(off, interval);
	put_i32(off + 16, 0);
	put_u64(off + 24, 1);
	CHECK(pthread_mutex_init(m, NULL) == 0);
	CHECK(pthread_cond_init(c, NULL) == 0);
}

/* _PyRuntime's size as the ELF symbol says it (sanitizers may pad it) */
static uint64_t fake_rt_size(void)
{
	struct elf_file *ef;
	struct elf_sym sym;

	CHECK(elf_file__open("/proc/self/exe", &ef) == 0);
	CHECK(elf_file__find_sym(ef, "_PyRuntime", ELF_SYM_OBJECT, &sym) == 0);
	elf_file__close(ef);
	CHECK(sym.size >= FAKE_RT_SIZE);
	return sym.size;
}

/* Runs gil_find on a forked copy of this process. */
static int fake_find(struct gil_location *loc, char *why, size_t len)
{
	struct kid k;
	int err;

	why[0] = 0;
	CHECK(kid_spawn(&k, NULL) == 0);
	err = gil_find(k.pid, loc, why, len);
	kid_kill(&k);
	printf("fake: err %d python \"%s\" method \"%s\" detail \"%s\" why \"%s\"\n",
	       err, loc->python, loc->method, loc->detail, why);
	return err;
}

TEST(gil_find_fake_311)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0x030b07f0;
	fake_gil(360, 5000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.11.7");
	CHECK_STR(loc.method, "runtime-offsets");
	CHECK_U64(loc.gil, rt_addr(360));
	CHECK(strstr(loc.detail, "_PyRuntime+360 in "));
}

TEST(gil_find_fake_release_candidate)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0x030b00c2;	/* 3.11.0rc2 */
	fake_gil(360, 5000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.11.0rc2");
}

/* No Py_Version: sys.version in memory says which 3.X */
TEST(gil_find_fake_39_by_sys_version)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0;
	snprintf(fake_sys_version, sizeof(fake_sys_version),
		 "3.9.18 (main, Jan  1 2024, 00:00:00) \n[GCC 12.2.0]");
	fake_gil(352, 5000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.9.18");
	CHECK_U64(loc.gil, rt_addr(352));
	CHECK(strstr(loc.detail, "sys.version"));
}

/* Neither Py_Version, nor a version in the file name, nor in memory */
TEST(gil_find_fake_version_unknown)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0;
	fake_gil(360, 5000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "version cannot be told"));
}

TEST(gil_find_fake_unsupported_versions)
{
	static const struct { unsigned long hex; const char *name; } v[] = {
		{ 0x030e00f0, "python 3.14.0 at " },
		{ 0x030700f0, "python 3.7.0 at " },
		{ 0x040000a1, NULL },	/* no Python 4 yet: not a Py_Version */
	};
	struct gil_location loc;
	char why[256];

	fake_gil(360, 5000);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		Py_Version = v[i].hex;
		CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
		CHECK_U64(loc.gil, 0);
		if (v[i].name) {
			CHECK(strstr(why, v[i].name));
			CHECK(strstr(why, "is not supported (3.8 - 3.13 are)"));
		} else {
			CHECK(strstr(why, "version cannot be told"));
		}
	}
}

TEST(gil_find_fake_damaged_gil)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0x030b07f0;
	/* interval out of range */
	fake_gil(360, 0x4141414141414141ull);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.11.7 at "));
	CHECK(strstr(why, "GIL layout not recognised"));
	CHECK(strstr(why, "interval=4702111234474983745"));
	CHECK_STR(loc.method, "");
	/* locked neither 0 nor 1 */
	fake_gil(360, 5000);
	put_i32(360 + 16, 7);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "locked=7"));
	/* a mutex held by a thread of another process (init's) */
	fake_gil(360, 5000);
	put_i32(360 + 80 + 8, 1);
	put_i32(360 + 80, 1);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "owner=1"));
	/* a mutex kind glibc has not */
	fake_gil(360, 5000);
	put_i32(360 + 80 + 16, 0x1000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "kind=4096"));
	/* a last holder that is no pointer */
	fake_gil(360, 5000);
	put_u64(360 + 8, 0x12345);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "last_holder=0x12345"));
	/* not created yet */
	fake_gil(360, 5000);
	put_i32(360 + 16, -1);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "interpreter not initialised"));
	CHECK(strstr(why, "not created yet"));
	/* before _PyRuntime is even initialised: all zero */
	memset(_PyRuntime + 360, 0, 208);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "not created yet"));
}

/* 3.12: interpreters.main (+48) -> ceval.gil (+384) */
TEST(gil_find_fake_312)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0x030c01f0;
	put_u64(48, rt_addr(1024));
	put_u64(1024 + 384, rt_addr(4096));
	fake_gil(4096, 2000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.12.1");
	CHECK_STR(loc.method, "runtime-offsets");
	CHECK_U64(loc.gil, rt_addr(4096));
	CHECK(strstr(loc.detail, "_PyRuntime+4096"));
	/* an interpreter outside _PyRuntime is not the main one */
	put_u64(48, 0x7f0000001000ull);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "not inside _PyRuntime"));
	/* before Py_Initialize */
	put_u64(48, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "interpreter not initialised"));
	CHECK(strstr(why, "interpreters.main is NULL"));
}

/*
 * 3.13: _Py_DebugOffsets at _PyRuntime+0, with offsets of the test's own
 * choosing (gil_find must read them, not assume 3.13.0's).  The list:
 * interpreters.head -> subinterpreter (id 1, own GIL at 5 ms) -> main
 * (id 0, own GIL at 2 ms).
 */
#define F_HEAD		1024	/* runtime: interpreters.head */
#define F_MAIN		2048	/* the main interpreter, in _PyRuntime */
#define F_SUB		5120	/* a subinterpreter */
#define F_ID		8
#define F_NEXT		16
#define F_CEVAL_GIL	24
#define F_GIL		256	/* interpreter's own _gil */

static void fake_313(uint64_t free_threaded)
{
	Py_Version = 0x030d00f0;
	memcpy(_PyRuntime, "xdebugpy", 8);
	put_u64(8, 0x030d00f0);
	put_u64(16, free_threaded);
	put_u64(24, fake_rt_size());
	put_u64(32, 0);			/* finalizing */
	put_u64(40, F_HEAD);
	put_u64(48, 2048);		/* sizeof(PyInterpreterState) */
	put_u64(56, F_ID);
	put_u64(64, F_NEXT);
	put_u64(112, F_CEVAL_GIL);
	put_u64(120, F_GIL);
	put_u64(128, free_threaded ? F_GIL : 0);	/* _gil.enabled */
	put_u64(136, F_GIL + (free_threaded ? 24 : 16));
	put_u64(144, F_GIL + (free_threaded ? 16 : 8));

	put_u64(F_HEAD, rt_addr(F_SUB));
	put_u64(F_SUB + F_ID, 1);
	put_u64(F_SUB + F_NEXT, rt_addr(F_MAIN));
	put_u64(F_SUB + F_CEVAL_GIL, rt_addr(F_SUB + F_GIL));
	fake_gil(F_SUB + F_GIL, 5000);
	put_u64(F_MAIN + F_ID, 0);
	put_u64(F_MAIN + F_NEXT, 0);
	put_u64(F_MAIN + F_CEVAL_GIL, rt_addr(F_MAIN + F_GIL));
	fake_gil(F_MAIN + F_GIL, 2000);
}

TEST(gil_find_fake_313_debug_offsets)
{
	struct gil_location loc;
	char why[256];

	fake_313(0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.13.0");
	CHECK_STR(loc.method, "debug-offsets");
	/* the main interpreter's, not interpreters.head's */
	CHECK_U64(loc.gil, rt_addr(F_MAIN + F_GIL));
	CHECK(strstr(loc.detail, "_PyRuntime+2304"));

	/* a table from another version than the runtime's */
	put_u64(8, 0x030e00f0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "_Py_DebugOffsets version 0x030e00f0"));
	put_u64(8, 0x030d00f0);
	/* a GIL layout the table disagrees with */
	put_u64(136, F_GIL + 24);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "locked at +24"));
	put_u64(136, F_GIL + 16);
	/* no cookie */
	memcpy(_PyRuntime, "ydebugpy", 8);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "no _Py_DebugOffsets"));
	memcpy(_PyRuntime, "xdebugpy", 8);
	/* no main interpreter in the list */
	put_u64(F_SUB + F_NEXT, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "no main interpreter"));
	/* no interpreter at all yet */
	put_u64(F_HEAD, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "interpreter not initialised"));
	put_u64(F_HEAD, rt_addr(F_SUB));
	/* a list that loops */
	put_u64(F_SUB + F_NEXT, rt_addr(F_SUB));
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "no main interpreter"));
}

TEST(gil_find_fake_313_free_threaded)
{
	struct gil_location loc;
	char why[256];

	fake_313(1);
	put_i32(F_MAIN + F_GIL, 0);	/* enabled: PYTHON_GIL=0, the default */
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.13.0 at "));
	CHECK(strstr(why, "free-threaded"));
	CHECK(strstr(why, "GIL disabled"));
	CHECK_U64(loc.gil, 0);
	put_i32(F_MAIN + F_GIL, 1);	/* PYTHON_GIL=1 */
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "free-threaded"));
	CHECK(strstr(why, "GIL enabled"));
}

/* ------------------------------------------------------------------ */
/* proc_read_mem                                                         */
/* ------------------------------------------------------------------ */

TEST(proc_read_mem_child)
{
	static uint64_t marker = 0x6a1d5c09e0000001ull;
	uint64_t v = 0;
	char byte;
	struct kid k;
	pid_t gone;
	int e1, e2, e3;

	CHECK(kid_spawn(&k, NULL) == 0);
	marker = 0x6a1d5c09e0000002ull;		/* after the fork: the child has ...1 */
	e1 = proc_read_mem(k.pid, (uint64_t)(uintptr_t)&marker, &v, sizeof(v));
	e2 = proc_read_mem(k.pid, 8, &byte, 1);	/* page zero: never mapped */
	e3 = proc_read_mem(k.pid, 8, &byte, 0);
	kid_kill(&k);
	CHECK_I64(e1, 0);
	CHECK_U64(v, 0x6a1d5c09e0000001ull);
	CHECK_I64(e2, -EFAULT);
	CHECK_I64(e3, 0);
	gone = fork();
	CHECK(gone >= 0);
	if (!gone)
		_exit(0);
	waitpid(gone, NULL, 0);
	CHECK_I64(proc_read_mem(gone, (uint64_t)(uintptr_t)&marker, &v, sizeof(v)), -ESRCH);
}
