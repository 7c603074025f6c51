// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GIL profiles against live interpreters: every CPython on this machine
 * (/usr/bin/python3, also through its loader, pyenv's builds, Debian sid's
 * 3.13 - 3.15 in their own root, nogil), gildemo, and fake runtimes built
 * in this process for the cases no installed Python shows (free-threaded
 * 3.13t/3.14t, versions not known, damaged tables and GILs).  No root
 * needed but for the sid root (chroot): a process may read the memory of
 * its own children (same uid).
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
#define SID_ROOT	"/var/cache/gilscope/sid-root"
#define NOGIL_PYTHON	"/var/cache/gilscope/nogil/bin/python3.9"
#define LOADER		"/lib64/ld-linux-x86-64.so.2"

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
	r->err = gil_find(pid, NULL, &r->loc, r->why, sizeof(r->why));
	r->interval_err = -1;
	if (!r->err) {
		r->interval_err = proc_read_mem(pid, r->loc.interval, &r->interval,
					       sizeof(r->interval));
		proc_read_mem(pid, r->loc.locked, &r->locked, sizeof(r->locked));
	}
}

/*
 * Every CPython found: 3.8 - 3.15 give their GIL, whose interval in
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
		if (minors[i] < 8 || minors[i] > 15) {
			CHECK_I64(r->err, -ENOTSUP);
			CHECK(strstr(r->why, "not supported (3.8 - 3.15 are)"));
			CHECK(strstr(r->why, vers[i]));
			continue;
		}
		CHECK_I64(r->err, 0);
		/* 3.8 - 3.10 have no Py_Version: the full version comes from
		 * sys.version's buffer in memory, and must match too */
		CHECK_STR(r->loc.python, vers[i]);
		CHECK_STR(r->loc.method, minors[i] >= 13 ? "debug-offsets" : "runtime-offsets");
		/* only the debug offsets say where PyThreadState's fields are */
		CHECK((r->loc.tstate_native_tid_off != 0) == (minors[i] >= 13));
		CHECK_STR(r->loc.note, "");
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
		SKIP("no CPython 3.8 - 3.15 among the %d Pythons found", nr);
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
		    (minor = announced_minor(k.line, ver, sizeof(ver))) < 8 || minor > 15) {
			kid_kill(&k);
			continue;
		}
		for (int n = 0; n < 20; n++) {
			int32_t locked = 0;

			if (gil_find(k.pid, NULL, &loc, why, sizeof(why))) {
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
		SKIP("no CPython 3.8 - 3.15 found");
}

/*
 * 3.12+ subinterpreters may have their own GIL (PEP 684).  A new one
 * becomes interpreters.head; the GIL wanted is the main interpreter's,
 * which is the one with our 2 ms interval (a new interpreter's GIL starts
 * at the default 5 ms).  The note says the other two are not traced.
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
		err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
		if (!err)
			rd = proc_read_mem(k.pid, loc.interval, &interval, sizeof(interval));
		kid_kill(&k);
		printf("%s: %s: err %d %s %s note \"%s\"\n", list[i], k.line, err, loc.detail,
		       why, loc.note);
		CHECK_I64(err, 0);
		CHECK_I64(rd, 0);
		CHECK_U64(interval, 2000);
		CHECK(strstr(loc.note, "2 other interpreters exist"));
		CHECK(strstr(loc.note, "only the main interpreter's GIL is traced"));
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
	err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
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
	CHECK_I64(gil_find(pid, NULL, &loc, why, sizeof(why)), -ENOENT);
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
	err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
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

/*
 * An interpreter started through its loader: the executable is ld.so,
 * the interpreter one of its mapped files.  _PyRuntime is found in the
 * file that defines it, whatever the executable is.
 */
TEST(gil_find_through_the_loader)
{
	char *argv[] = { LOADER, "--library-path", "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu",
			 "/usr/bin/python3", "-c", (char *)py_idle, NULL };
	struct gil_location loc;
	char why[256] = "", exe[PATH_MAX] = "", link[64], ver[32];
	uint64_t interval = 0;
	int err, rd = -1, minor;
	ssize_t n;
	struct kid k;

	if (access(LOADER, X_OK) || access("/usr/bin/python3", X_OK))
		SKIP("no %s or /usr/bin/python3", LOADER);
	CHECK(kid_spawn(&k, argv) == 0);
	if (kid_wait(&k, "ok ")) {
		printf("%s did not start: %s\n", argv[3], k.line);
		kid_kill(&k);
		CHECK(0);
	}
	snprintf(link, sizeof(link), "/proc/%d/exe", k.pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	minor = announced_minor(k.line, ver, sizeof(ver));
	err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
	if (!err)
		rd = proc_read_mem(k.pid, loc.interval, &interval, sizeof(interval));
	kid_kill(&k);
	printf("exe %s, %s: err %d python %s detail \"%s\" module %s why \"%s\"\n", exe,
	       k.line, err, loc.python, loc.detail, loc.module, why);
	/* the case under test: the kernel ran the loader, not python */
	CHECK(strstr(exe, "ld-linux"));
	if (minor < 8 || minor > 15)
		SKIP("/usr/bin/python3 is %s, not one gilscope traces", ver);
	CHECK_I64(err, 0);
	CHECK_STR(loc.python, ver);
	CHECK(strstr(loc.module, "python3."));
	CHECK_I64(rd, 0);
	CHECK_U64(interval, 2000);
}

/*
 * nogil (Sam Gross's free-threaded 3.9.10) has no GIL: said so, with
 * no_gil set, not "interpreter not initialised" from a 3.9 offset that
 * holds something else.
 */
TEST(gil_find_nogil)
{
	char *argv[] = { NOGIL_PYTHON, "-c", (char *)py_idle, NULL };
	struct gil_location loc;
	char why[256] = "";
	struct kid k;
	int err;

	if (access(NOGIL_PYTHON, X_OK))
		SKIP("no nogil build at %s", NOGIL_PYTHON);
	CHECK(kid_spawn(&k, argv) == 0);
	if (kid_wait(&k, "ok ")) {
		printf("nogil did not start: %s\n", k.line);
		kid_kill(&k);
		CHECK(0);
	}
	err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
	kid_kill(&k);
	printf("%s: err %d why \"%s\"\n", k.line, err, why);
	CHECK_I64(err, -ENOTSUP);
	CHECK(loc.no_gil);
	CHECK_U64(loc.gil, 0);
	CHECK(strstr(why, "python 3.9.10 (nogil) at "));
	CHECK(strstr(why, "free-threaded build: it has no GIL"));
	CHECK(!strchr(why, '\n'));
}

/*
 * Debian sid's stripped 3.13, 3.14 and 3.15, which need sid's glibc: run
 * in their own root with chroot.  Two CPU-bound threads and one
 * subinterpreter: the GIL is found through the debug offsets of each
 * version's layout, its interval is the script's 2 ms, switch_number
 * moves, the note names the subinterpreter, and the thread-state offsets
 * the table gives hold what they claim (the last holder's native thread
 * id is a thread of the process).
 */
static const char py_sid[] =
	"import sys, threading, time, _interpreters\n"
	"sys.setswitchinterval(0.002)\n"
	"sub = _interpreters.create()\n"
	"def spin():\n"
	"    while True:\n"
	"        pass\n"
	"for _ in range(2):\n"
	"    threading.Thread(target=spin, daemon=True).start()\n"
	"print('ok', sys.version.split()[0], flush=True)\n"
	"time.sleep(30)\n";

static void sid_python(int minor, uint32_t frame_off, uint32_t tid_off)
{
	char py[64], root_py[PATH_MAX], why[256] = "", ver[32], task[64];
	char *argv[] = { "/usr/sbin/chroot", SID_ROOT, py, "-c", (char *)py_sid, NULL };
	uint64_t interval = 0, sn0 = 0, sn1 = 0, holder = 0, tid = 0;
	struct gil_location loc;
	int err, rd = -1;
	bool is_thread;
	struct kid k;

	snprintf(py, sizeof(py), "/usr/bin/python3.%d", minor);
	snprintf(root_py, sizeof(root_py), "%s%s", SID_ROOT, py);
	if (access(root_py, X_OK))
		SKIP("no %s", root_py);
	CHECK(kid_spawn(&k, argv) == 0);
	if (kid_wait(&k, "ok ")) {
		printf("%s did not start: %s\n", root_py, k.line);
		kid_kill(&k);
		CHECK(0);
	}
	CHECK(announced_minor(k.line, ver, sizeof(ver)) == minor);
	err = gil_find(k.pid, NULL, &loc, why, sizeof(why));
	if (!err) {
		rd = proc_read_mem(k.pid, loc.interval, &interval, sizeof(interval));
		rd = rd ?: proc_read_mem(k.pid, loc.switch_number, &sn0, sizeof(sn0));
		usleep(100000);
		rd = rd ?: proc_read_mem(k.pid, loc.switch_number, &sn1, sizeof(sn1));
		rd = rd ?: proc_read_mem(k.pid, loc.last_holder, &holder, sizeof(holder));
		if (!rd && holder)
			rd = proc_read_mem(k.pid, holder + loc.tstate_native_tid_off, &tid,
					   sizeof(tid));
	}
	snprintf(task, sizeof(task), "/proc/%d/task/%llu", k.pid, (unsigned long long)tid);
	is_thread = tid && !access(task, F_OK);
	kid_kill(&k);
	printf("%s: err %d python %s method %s detail \"%s\" note \"%s\" why \"%s\" "
	       "switch_number %llu -> %llu, last holder's tid %llu (%s)\n", root_py, err,
	       loc.python, loc.method, loc.detail, loc.note, why, (unsigned long long)sn0,
	       (unsigned long long)sn1, (unsigned long long)tid,
	       is_thread ? "a thread" : "not a thread");
	CHECK_I64(err, 0);
	CHECK_I64(rd, 0);
	CHECK(is_thread);
	CHECK_STR(loc.python, ver);
	CHECK_STR(loc.method, "debug-offsets");
	CHECK(strstr(loc.module, py + strlen("/usr/bin/")));
	CHECK_U64(interval, 2000);
	CHECK(sn1 > sn0);
	CHECK(tid > 0);
	CHECK_U64(loc.tstate_frame_off, frame_off);
	CHECK_U64(loc.tstate_native_tid_off, tid_off);
	CHECK(strstr(loc.note, "1 other interpreter exists"));
}

TEST(gil_find_sid_python313)
{
	if (access(SID_ROOT, F_OK))
		SKIP("no Debian sid root at %s", SID_ROOT);
	if (geteuid())
		SKIP("chroot into %s needs root", SID_ROOT);
	sid_python(13, 72, 160);
}

TEST(gil_find_sid_python314)
{
	if (access(SID_ROOT, F_OK))
		SKIP("no Debian sid root at %s", SID_ROOT);
	if (geteuid())
		SKIP("chroot into %s needs root", SID_ROOT);
	sid_python(14, 72, 160);
}

TEST(gil_find_sid_python315)
{
	if (access(SID_ROOT, F_OK))
		SKIP("no Debian sid root at %s", SID_ROOT);
	if (geteuid())
		SKIP("chroot into %s needs root", SID_ROOT);
	sid_python(15, 72, 184);
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
	err = gil_find(k.pid, NULL, loc, why, len);
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
	static const struct { unsigned long hex; const char *name, *what; } v[] = {
		{ 0x031000f0, "python 3.16.0 at ", "is not known to gilscope (3.8 - 3.15 are; "
		  "--python-layout=nearest tries the 3.15 layout, checked live)" },
		{ 0x030700f0, "python 3.7.0 at ", "is not supported (3.8 - 3.15 are)" },
		{ 0x040000a1, NULL, NULL },	/* no Python 4 yet: not a Py_Version */
	};
	struct gil_location loc;
	char why[256];

	fake_gil(360, 5000);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		Py_Version = v[i].hex;
		CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
		CHECK_U64(loc.gil, 0);
		CHECK(!strchr(why, '\n'));
		if (v[i].name) {
			CHECK(strstr(why, v[i].name));
			CHECK(strstr(why, v[i].what));
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
 * 3.13+: _Py_DebugOffsets at _PyRuntime+0, laid out as the version it
 * declares, with offsets of the test's own choosing (gil_find must read
 * them, not assume a real build's).  The list: interpreters.head ->
 * subinterpreter (id 1, own GIL at 5 ms) -> main (id 0, own GIL at 2 ms).
 */
#define F_HEAD		1024	/* runtime: interpreters.head */
#define F_MAIN		2048	/* the main interpreter, in _PyRuntime */
#define F_SUB		5120	/* a subinterpreter */
#define F_IS_SIZE	2048	/* sizeof(PyInterpreterState) */
#define F_ID		8
#define F_NEXT		16
#define F_CEVAL_GIL	24
#define F_GIL		256	/* interpreter's own _gil */
#define F_TS_FRAME	72
#define F_TS_TID	160

/* Where each version's table keeps what gil_find reads (written out here
 * from the dumps of Debian sid's builds, apart from gil_profile.c's) */
static const struct fake_layout {
	int minor;
	unsigned ceval_gil, gil, enabled, locked, holder, ts_size, ts_frame, ts_tid;
} fake_layouts[] = {
	{ 13, 112, 120, 128, 136, 144, 152, 184, 200 },
	{ 14, 120, 128, 136, 144, 152, 176, 208, 224 },
	{ 15, 120, 128, 136, 144, 152, 176, 208, 248 },
};

static const struct fake_layout *fake_layout(int minor)
{
	for (size_t i = 0; i < sizeof(fake_layouts) / sizeof(fake_layouts[0]); i++)
		if (fake_layouts[i].minor == minor)
			return &fake_layouts[i];
	CHECK(0);
	return NULL;
}

/* The GIL's field base in a build: past `enabled` when free-threaded */
static unsigned ft_shift(bool ft)
{
	return ft ? 8 : 0;
}

/*
 * A runtime whose Py_Version and table say @hex, with the table laid out
 * as 3.@layout_minor's; @ft: a free-threaded build whose GILs' `enabled`
 * is @enabled.
 */
static void fake_dbg(unsigned long hex, int layout_minor, bool ft, int32_t enabled)
{
	const struct fake_layout *l = fake_layout(layout_minor);
	unsigned sh = ft_shift(ft);

	memset(_PyRuntime, 0, sizeof(_PyRuntime));
	Py_Version = hex;
	memcpy(_PyRuntime, "xdebugpy", 8);
	put_u64(8, hex);
	put_u64(16, ft);
	put_u64(24, fake_rt_size());
	put_u64(32, 0);			/* finalizing */
	put_u64(40, F_HEAD);
	put_u64(48, F_IS_SIZE);
	put_u64(56, F_ID);
	put_u64(64, F_NEXT);
	put_u64(l->ceval_gil, F_CEVAL_GIL);
	put_u64(l->gil, F_GIL);
	put_u64(l->enabled, 0);		/* offsetof(_gil_runtime_state, enabled) */
	put_u64(l->locked, F_GIL + sh + 16);
	put_u64(l->holder, F_GIL + sh + 8);
	put_u64(l->ts_size, 800);
	put_u64(l->ts_frame, F_TS_FRAME);
	put_u64(l->ts_tid, F_TS_TID + layout_minor);

	put_u64(F_HEAD, rt_addr(F_SUB));
	put_u64(F_SUB + F_ID, 1);
	put_u64(F_SUB + F_NEXT, rt_addr(F_MAIN));
	put_u64(F_SUB + F_CEVAL_GIL, rt_addr(F_SUB + F_GIL));
	fake_gil(F_SUB + F_GIL + sh, 5000);
	put_u64(F_MAIN + F_ID, 0);
	put_u64(F_MAIN + F_NEXT, 0);
	put_u64(F_MAIN + F_CEVAL_GIL, rt_addr(F_MAIN + F_GIL));
	fake_gil(F_MAIN + F_GIL + sh, 2000);
	if (ft) {
		put_i32(F_SUB + F_GIL, enabled);
		put_i32(F_MAIN + F_GIL, enabled);
	}
}

/* gil_find on the fake with --python-layout=nearest */
static int fake_find_nearest(struct gil_location *loc, char *why, size_t len)
{
	struct gil_find_opts o = { .layout = GIL_LAYOUT_NEAREST };
	struct kid k;
	int err;

	why[0] = 0;
	CHECK(kid_spawn(&k, NULL) == 0);
	err = gil_find(k.pid, &o, loc, why, len);
	kid_kill(&k);
	printf("fake, nearest: err %d python \"%s\" detail \"%s\" why \"%s\"\n", err,
	       loc->python, loc->detail, why);
	return err;
}

/* A main GIL found at F_MAIN + F_GIL, its fields from @base */
static void check_main_gil(const struct gil_location *loc, unsigned base)
{
	uint64_t g = rt_addr(F_MAIN + F_GIL);

	CHECK_STR(loc->method, "debug-offsets");
	CHECK_U64(loc->gil, g);
	CHECK_U64(loc->interval, g + base);
	CHECK_U64(loc->last_holder, g + base + 8);
	CHECK_U64(loc->locked, g + base + 16);
	CHECK_U64(loc->switch_number, g + base + 24);
	CHECK_U64(loc->cond, g + base + 32);
	CHECK_U64(loc->mutex, g + base + 80);
	CHECK_U64(loc->switch_cond, g + base + 120);
	CHECK(!loc->no_gil);
}

TEST(gil_find_fake_313_debug_offsets)
{
	struct gil_location loc;
	char why[256];

	fake_dbg(0x030d00f0, 13, false, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.13.0");
	/* the main interpreter's, not interpreters.head's */
	check_main_gil(&loc, 0);
	CHECK(strstr(loc.detail, "_PyRuntime+2304"));
	CHECK_U64(loc.tstate_frame_off, F_TS_FRAME);
	CHECK_U64(loc.tstate_native_tid_off, F_TS_TID + 13);
	CHECK(strstr(loc.note, "1 other interpreter exists"));

	/* a table from another version than the runtime's */
	put_u64(8, 0x030e00f0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.13.0 at "));
	CHECK(strstr(why, "is not known to gilscope: its _Py_DebugOffsets declare 3.14.0, "
		      "Py_Version 3.13.0"));
	put_u64(8, 0x030d00f0);
	/* a GIL layout the table disagrees with */
	put_u64(136, F_GIL + 24);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "locked at +24"));
	put_u64(136, F_GIL + 16);
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
	/* the main interpreter alone: no note */
	put_u64(F_HEAD, rt_addr(F_MAIN));
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.note, "");
}

/* 3.14 and 3.15: their own layouts, read by the version declared */
TEST(gil_find_fake_314_315_debug_offsets)
{
	static const struct { unsigned long hex; int minor; const char *ver; } v[] = {
		{ 0x030e0af0, 14, "3.14.10" },
		{ 0x030f02f0, 15, "3.15.2" },
	};
	struct gil_location loc;
	char why[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		fake_dbg(v[i].hex, v[i].minor, false, 0);
		CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
		CHECK_STR(loc.python, v[i].ver);
		check_main_gil(&loc, 0);
		CHECK_U64(loc.tstate_frame_off, F_TS_FRAME);
		CHECK_U64(loc.tstate_native_tid_off, F_TS_TID + v[i].minor);
		CHECK(strstr(loc.note, "1 other interpreter exists"));
		CHECK(!strstr(loc.detail, "nearest"));
	}
	/* a 3.14 table read as 3.13's would find no GIL: the layout matters */
	fake_dbg(0x030d00f0, 14, false, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "GIL layout not recognised"));
	/* a pre-release of a known minor: that minor's layout, checked live */
	fake_dbg(0x030e00b2, 14, false, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.14.0b2");
	CHECK(strstr(loc.detail, "3.14 layout for pre-release 3.14.0b2: "));
}

/* 3.16 is not known: refused in one line, or with nearest tried on the
 * 3.15 layout, which the live checks accept or not */
TEST(gil_find_fake_unknown_version_nearest)
{
	struct gil_location loc;
	char why[256];

	fake_dbg(0x031000f0, 15, false, 0);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.16.0 at "));
	CHECK(strstr(why, "is not known to gilscope (3.8 - 3.15 are; "
		      "--python-layout=nearest tries the 3.15 layout, checked live)"));
	CHECK(!strchr(why, '\n'));
	CHECK_U64(loc.gil, 0);

	CHECK_I64(fake_find_nearest(&loc, why, sizeof(why)), 0);
	CHECK_STR(loc.python, "3.16.0");
	check_main_gil(&loc, 0);
	CHECK(!strncmp(loc.detail, "nearest layout 3.15 for 3.16.0: ", 32));

	/* a 3.16 that moved things: the 3.15 layout does not check out */
	fake_dbg(0x031000f0, 15, false, 0);
	put_u64(120 + 8, F_GIL + 512);		/* gil_runtime_state elsewhere */
	CHECK_I64(fake_find_nearest(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.16.0 at "));
	CHECK(strstr(why, "GIL layout not recognised"));
	CHECK_U64(loc.gil, 0);

	/* a known version is read by its own layout with nearest too */
	fake_dbg(0x030e0af0, 14, false, 0);
	CHECK_I64(fake_find_nearest(&loc, why, sizeof(why)), 0);
	CHECK(!strstr(loc.detail, "nearest"));
	/* a table that says another version than Py_Version: nearest reads
	 * it by what it declares (here 3.13's layout on a 3.14 table: no
	 * GIL there), and says so when that checks out */
	put_u64(8, 0x030d00f0);
	CHECK_I64(fake_find_nearest(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "GIL layout not recognised"));
	fake_dbg(0x030f02f0, 15, false, 0);
	Py_Version = 0x030e0af0;
	CHECK_I64(fake_find_nearest(&loc, why, sizeof(why)), 0);
	CHECK(strstr(loc.detail, "nearest layout 3.15 for 3.15.2, Py_Version 3.14.10: "));
}

/*
 * Free-threaded 3.13t / 3.14t: `enabled` is read in the GIL struct (the
 * table's offset for it is from the GIL, not the interpreter).  0: no GIL,
 * said so, no_gil set.  Non-zero (PYTHON_GIL=1): traced, fields from +8.
 */
TEST(gil_find_fake_free_threaded)
{
	static const struct { unsigned long hex; int minor; const char *ver; } v[] = {
		{ 0x030d00f0, 13, "3.13.0t" },
		{ 0x030e0af0, 14, "3.14.10t" },
	};
	struct gil_location loc;
	char why[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		/* the default: PYTHON_GIL=0 */
		fake_dbg(v[i].hex, v[i].minor, true, 0);
		CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
		CHECK(loc.no_gil);
		CHECK_U64(loc.gil, 0);
		CHECK_STR(loc.python, "");
		CHECK(strstr(why, v[i].ver));
		CHECK(strstr(why, "is a free-threaded build with the GIL disabled: no GIL "
			      "to trace"));
		CHECK(!strchr(why, '\n'));

		/* PYTHON_GIL=1 (INT_MAX), or an extension that needs it (1) */
		for (int32_t en = 1; en; en = en == 1 ? INT32_MAX : 0) {
			fake_dbg(v[i].hex, v[i].minor, true, en);
			CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
			CHECK_STR(loc.python, v[i].ver);
			check_main_gil(&loc, ft_shift(true));
			CHECK(strstr(loc.note, "1 other interpreter exists"));
			CHECK(strstr(loc.note, "; free-threaded build, GIL enabled (enabled="));
		}

		/* an enabled flag that is no count */
		fake_dbg(v[i].hex, v[i].minor, true, -3);
		CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
		CHECK(!loc.no_gil);
		CHECK(strstr(why, "GIL layout not recognised"));
		CHECK(strstr(why, "enabled=-3"));

		/* free-threaded by the flag, but the default GIL layout: refused */
		fake_dbg(v[i].hex, v[i].minor, true, 1);
		put_u64(fake_layout(v[i].minor)->locked, F_GIL + 16);
		put_u64(fake_layout(v[i].minor)->holder, F_GIL + 8);
		CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
		CHECK(strstr(why, "free-threaded build"));
		CHECK(strstr(why, "not +24 and +16"));
	}
}

/* Damaged or foreign tables: -ENOTSUP, one line, and the locks still get
 * traced (the caller goes on without a GIL). */
TEST(gil_find_fake_bad_debug_offsets)
{
	const struct fake_layout *l = fake_layout(14);
	struct gil_location loc;
	char why[256];

	/* a wrong cookie */
	fake_dbg(0x030e0af0, 14, false, 0);
	memcpy(_PyRuntime, "ydebugpy", 8);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "no _Py_DebugOffsets (cookie \"xdebugpy\")"));
	CHECK(!strchr(why, '\n'));
	/* a version that is none */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(8, 0x41414141);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "declare version 0x41414141"));
	/* the GIL past the end of the interpreter struct */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(l->gil, F_IS_SIZE - 100);
	put_u64(l->locked, F_IS_SIZE - 100 + 16);
	put_u64(l->holder, F_IS_SIZE - 100 + 8);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "_Py_DebugOffsets do not fit"));
	CHECK(!strchr(why, '\n'));
	/* locked outside it */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(l->locked, 1ull << 40);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "_Py_DebugOffsets do not fit"));
	/* an interpreter size no build has */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(48, 1ull << 62);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "_Py_DebugOffsets do not fit"));
	/* a runtime size that is not _PyRuntime's */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(24, 1234);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "runtime size 1234"));
	/* the main interpreter on a GIL not its own */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_u64(F_MAIN + F_CEVAL_GIL, rt_addr(F_SUB + F_GIL));
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "is not its own _gil"));
	/* a locked that is neither 0 nor 1 */
	fake_dbg(0x030e0af0, 14, false, 0);
	put_i32(F_MAIN + F_GIL + 16, 2);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "python 3.14.10 at "));
	CHECK(strstr(why, "GIL layout not recognised"));
	CHECK(strstr(why, "locked=2"));
	CHECK(!strchr(why, '\n'));
	CHECK_U64(loc.gil, 0);
	CHECK(!loc.no_gil);
}

/* nogil 3.9 without its symbols (which this binary has not): its
 * sys.version says "[nogil" */
TEST(gil_find_fake_nogil)
{
	struct gil_location loc;
	char why[256];

	Py_Version = 0;
	snprintf(fake_sys_version, sizeof(fake_sys_version),
		 "3.9.10 (main, Dec  1 2026, 12:26:27) \n[nogil, GCC 12.2.0]");
	/* what nogil keeps at 3.9's GIL offset does not matter */
	memset(_PyRuntime + 352, 0, 208);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), -ENOTSUP);
	CHECK(loc.no_gil);
	CHECK_U64(loc.gil, 0);
	CHECK(strstr(why, "python 3.9.10 (nogil) at "));
	CHECK(strstr(why, "is a free-threaded build: it has no GIL"));
	CHECK(!strchr(why, '\n'));
	/* the same 3.9 without the tag has a GIL, and no_gil stays false */
	snprintf(fake_sys_version, sizeof(fake_sys_version),
		 "3.9.10 (main, Dec  1 2026, 12:26:27) \n[GCC 12.2.0]");
	fake_gil(352, 5000);
	CHECK_I64(fake_find(&loc, why, sizeof(why)), 0);
	CHECK(!loc.no_gil);
	CHECK_STR(loc.python, "3.9.10");
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
