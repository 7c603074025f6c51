// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The symboliser and /proc readers against this very process: its own
 * locks and functions (the test binary is a PIE with a .symtab), the
 * glibc it runs on, libraries loaded after the symboliser started, and
 * mappings of files with awkward names.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <signal.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"
#include "proc.h"
#include "symbolize.h"

/* IPA clones (name.constprop.0) would give the symbol another name. */
#if __has_attribute(noclone)
#define NOCLONE __attribute__((noclone))
#else
#define NOCLONE
#endif

/* Zero-initialised: in .bss, as a program's global lock table would be. */
pthread_mutex_t test_table_lock = PTHREAD_MUTEX_INITIALIZER;
/* Large enough that most of it lies in the anonymous mapping past the
 * file-backed pages. */
char test_big_bss[1 << 20];

static __attribute__((noinline, used)) NOCLONE int sym_test_fn(int x)
{
	return x * 7 + test_big_bss[x & 1023];
}

/* The module name the symboliser should print for this binary: the
 * basename of /proc/self/exe (build/unit_tests in the project). */
static const char *self_name(void)
{
	static char buf[PATH_MAX];
	const char *slash;
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	CHECK(n > 0);
	buf[n] = 0;
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

static struct symbolizer *new_self(void)
{
	struct symbolizer *s = NULL;

	CHECK_I64(symbolizer__new(getpid(), &s), 0);
	CHECK(s != NULL);
	return s;
}

static const char *fmt(const char *a, const char *b)
{
	static char buf[PATH_MAX + 256];

	snprintf(buf, sizeof(buf), "%s:%s", a, b);
	return buf;
}

TEST(symbolize_data_bss_lock)
{
	struct symbolizer *s = new_self();
	char buf[256], want[PATH_MAX + 64];

	CHECK_I64(symbolizer__data(s, (uintptr_t)&test_table_lock, buf, sizeof(buf)), 0);
	CHECK_STR(buf, fmt(self_name(), "test_table_lock"));
	CHECK_I64(symbolizer__data(s, (uintptr_t)&test_table_lock + 8, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s:test_table_lock+8", self_name());
	CHECK_STR(buf, want);
	symbolizer__free(s);
}

/* .bss beyond the file-backed pages sits in an anonymous mapping: it
 * belongs to the executable through the PT_LOAD's p_memsz.  The test
 * binary has DWARF: the byte is named as C names it. */
TEST(symbolize_data_anonymous_bss)
{
	uint64_t addr = (uintptr_t)&test_big_bss[700000];
	struct symbolizer *s = new_self();
	char buf[256], want[PATH_MAX + 64];
	const struct proc_map *m;
	struct proc_maps pm;

	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	m = proc_maps__find(&pm, addr);
	CHECK(m != NULL);
	/* anonymous (or [heap], should brk have grown right after it): else
	 * this test would not test that */
	CHECK(m->path[0] != '/');
	proc_maps__free(&pm);

	CHECK_I64(symbolizer__data(s, addr, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s:test_big_bss[700000]", self_name());
	CHECK_STR(buf, want);
	symbolizer__free(s);
}

TEST(symbolize_code_static_fn)
{
	uint64_t fn = (uintptr_t)&sym_test_fn;
	struct symbolizer *s = new_self();
	char buf[256], want[PATH_MAX + 64];

	CHECK_I64(symbolizer__code(s, fn + 3, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s:sym_test_fn+0x3", self_name());
	CHECK_STR(buf, want);
	CHECK_I64(symbolizer__code(s, fn, buf, sizeof(buf)), 0);
	CHECK_STR(buf, fmt(self_name(), "sym_test_fn"));
	/* a code lookup never names data, nor a data lookup code */
	CHECK_I64(symbolizer__data(s, fn + 3, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
	symbolizer__free(s);
	CHECK(sym_test_fn(1) == 7);
}

TEST(symbolize_unknown_addresses)
{
	struct symbolizer *s = new_self();
	char *heap = malloc(64), buf[256];

	CHECK_I64(symbolizer__code(s, 0x10, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "[unknown]");
	CHECK_I64(symbolizer__data(s, 0x10, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
	/* a heap lock has no name; heap "code" is no module's */
	CHECK_I64(symbolizer__data(s, (uintptr_t)heap, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
	CHECK_I64(symbolizer__code(s, (uintptr_t)heap, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "[unknown]");
	/* a short buffer truncates, it does not overflow */
	CHECK_I64(symbolizer__code(s, 0x10, buf, 4), -ENOENT);
	CHECK_STR(buf, "[un");
	free(heap);
	symbolizer__free(s);
}

/* glibc as mapped: a runtime address from the loader, names back. */
TEST(symbolize_libc)
{
	struct symbolizer *s = new_self();
	char buf[256], want[PATH_MAX + 64];
	char *libc_name;
	const char *slash;
	const struct proc_map *m;
	struct link_map *lm;
	struct proc_maps pm;
	uint64_t a, want_a;
	void *h;

	h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm))
		SKIP("no dynamically linked glibc in this process");
	want_a = (uintptr_t)dlsym(h, "pthread_mutex_lock");
	CHECK(want_a != 0);
	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	m = proc_maps__find(&pm, want_a);
	CHECK(m != NULL);
	slash = strrchr(m->path, '/');
	CHECK(slash != NULL);
	libc_name = strdup(slash + 1);
	CHECK(proc_maps__find_lib(&pm, "libc.so") != NULL);

	CHECK_I64(symbolizer__sym_addr(s, "libc.so", "pthread_mutex_lock", &a), 0);
	CHECK_U64(a, want_a);
	CHECK_I64(symbolizer__code(s, a + 0xe, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s:pthread_mutex_lock+0xe", libc_name);
	CHECK_STR(buf, want);

	/* the ELF header: mapped, but no function holds it */
	a = lm->l_addr + 0x10;
	m = proc_maps__find(&pm, a);
	CHECK(m != NULL && m->offset == 0);
	CHECK_I64(symbolizer__code(s, a, buf, sizeof(buf)), -ENOENT);
	snprintf(want, sizeof(want), "%s+0x10", libc_name);
	CHECK_STR(buf, want);

	/* libc's own .bss, past its file-backed pages */
	a = (uintptr_t)dlsym(h, "environ");
	CHECK(a != 0);
	CHECK_I64(symbolizer__data(s, a, buf, sizeof(buf)), 0);
	CHECK_STR(buf, fmt(libc_name, "environ"));
	CHECK_I64(symbolizer__sym_addr(s, "libc.so", "environ", &want_a), 0);
	CHECK_U64(want_a, a);
	free(libc_name);
	proc_maps__free(&pm);
	symbolizer__free(s);
}

TEST(symbolize_sym_addr_main_exe)
{
	struct symbolizer *s = new_self();
	uint64_t a;

	CHECK_I64(symbolizer__sym_addr(s, "", "test_table_lock", &a), 0);
	CHECK_U64(a, (uintptr_t)&test_table_lock);
	CHECK_I64(symbolizer__sym_addr(s, "", "sym_test_fn", &a), 0);
	CHECK_U64(a, (uintptr_t)&sym_test_fn);
	CHECK_I64(symbolizer__sym_addr(s, self_name(), "test_big_bss", &a), 0);
	CHECK_U64(a, (uintptr_t)test_big_bss);
	CHECK_I64(symbolizer__sym_addr(s, "", "no_such_symbol_anywhere", &a), -ENOENT);
	CHECK_I64(symbolizer__sym_addr(s, "libnot-loaded", "pthread_mutex_lock", &a), -ENOENT);
	symbolizer__free(s);
}

/* In any module: the executable's symbols, and a library's by name alone */
TEST(symbolize_sym_addr_any)
{
	struct symbolizer *s = new_self();
	uint64_t a, want;

	CHECK_I64(symbolizer__sym_addr_any(s, "test_table_lock", &a), 0);
	CHECK_U64(a, (uintptr_t)&test_table_lock);
	CHECK_I64(symbolizer__sym_addr(s, "libc.so", "gnu_get_libc_version", &want), 0);
	CHECK_I64(symbolizer__sym_addr_any(s, "gnu_get_libc_version", &a), 0);
	CHECK_U64(a, want);
	CHECK_I64(symbolizer__sym_addr_any(s, "no_such_symbol_anywhere", &a), -ENOENT);
	symbolizer__free(s);
}

/* A library loaded after the symboliser read the maps: found on a miss. */
TEST(symbolize_library_loaded_later)
{
	static const char *libs[][2] = {
		{ "libresolv.so.2", "__b64_ntop" },
		{ "libanl.so.1", "getaddrinfo_a" },
		{ "libBrokenLocale.so.1", "__ctype_get_mb_cur_max" },
	};
	struct symbolizer *s = new_self();
	char buf[256], want[64], name[128];
	const char *lib = NULL, *colon, *plus;
	uint64_t a = 0, b;
	void *h = NULL;

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]) && !h; i++) {
		if (dlopen(libs[i][0], RTLD_NOW | RTLD_NOLOAD))
			continue;	/* already loaded: proves nothing */
		h = dlopen(libs[i][0], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			continue;
		a = (uintptr_t)dlsym(h, libs[i][1]);
		lib = libs[i][0];
		if (!a) {
			dlclose(h);
			h = NULL;
		}
	}
	if (!h)
		SKIP("no unloaded glibc add-on library to dlopen");
	/* the symbol's own name, or an alias the symboliser prefers */
	CHECK_I64(symbolizer__code(s, a + 1, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s:", lib);
	CHECK(!strncmp(buf, want, strlen(want)));
	colon = strchr(buf, ':');
	plus = strstr(buf, "+0x1");
	CHECK(plus && !strcmp(plus, "+0x1") && plus - colon - 1 < (long)sizeof(name));
	snprintf(name, sizeof(name), "%.*s", (int)(plus - colon - 1), colon + 1);
	CHECK_I64(symbolizer__sym_addr(s, lib, name, &b), 0);
	CHECK_U64(b, a);
	symbolizer__free(s);
}

struct tmpfile {
	char dir[64];
	char path[PATH_MAX];
	void *map;
};

/* A file with spaces in its directory and name, mapped at file offset
 * 4096; @unlink_it leaves it "(deleted)". */
static void map_awkward_file(struct tmpfile *tf, bool unlink_it)
{
	static char page[8192];
	int fd;

	snprintf(tf->dir, sizeof(tf->dir), "/tmp/gilscope unit XXXXXX");
	CHECK(mkdtemp(tf->dir) != NULL);
	snprintf(tf->path, sizeof(tf->path), "%s/lib with spaces.so", tf->dir);
	fd = open(tf->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, page, sizeof(page)) == sizeof(page));
	tf->map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
	CHECK(tf->map != MAP_FAILED);
	close(fd);
	if (unlink_it) {
		CHECK(unlink(tf->path) == 0);
		CHECK(rmdir(tf->dir) == 0);
	}
}

static void unmap_awkward_file(struct tmpfile *tf, bool unlinked)
{
	munmap(tf->map, 4096);
	if (!unlinked) {
		unlink(tf->path);
		rmdir(tf->dir);
	}
}

TEST(proc_maps_awkward_paths)
{
	char deleted[PATH_MAX + 16];
	const struct proc_map *m;
	struct proc_maps pm;
	struct tmpfile tf;

	map_awkward_file(&tf, false);
	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	m = proc_maps__find(&pm, (uintptr_t)tf.map + 100);
	CHECK(m != NULL);
	CHECK_STR(m->path, tf.path);
	CHECK_U64(m->offset, 4096);
	CHECK_U64(m->start, (uintptr_t)tf.map);
	CHECK_U64(m->end, (uintptr_t)tf.map + 4096);
	CHECK_STR(m->perms, "r--p");
	CHECK(m->inode != 0);
	CHECK(proc_maps__find_lib(&pm, "lib with sp") == m);
	CHECK(proc_maps__find_lib(&pm, "lib with spaces.so.9") == NULL);
	proc_maps__free(&pm);

	CHECK(unlink(tf.path) == 0);
	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	m = proc_maps__find(&pm, (uintptr_t)tf.map);
	CHECK(m != NULL);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", tf.path);
	CHECK_STR(m->path, deleted);
	CHECK(proc_maps__find_lib(&pm, "lib with sp") == m);
	proc_maps__free(&pm);
	rmdir(tf.dir);
	unmap_awkward_file(&tf, true);
}

/* Mapped, not an ELF file, deleted: module name without " (deleted)",
 * file offset from the mapping. */
TEST(symbolize_deleted_non_elf_file)
{
	struct symbolizer *s;
	struct tmpfile tf;
	char buf[256];

	map_awkward_file(&tf, true);
	s = new_self();
	CHECK_I64(symbolizer__code(s, (uintptr_t)tf.map + 0x10, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "lib with spaces.so+0x1010");
	CHECK_I64(symbolizer__data(s, (uintptr_t)tf.map + 0x10, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
	symbolizer__free(s);
	unmap_awkward_file(&tf, true);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);

	CHECK(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		CHECK(write(out, buf, n) == n);
	CHECK(n == 0);
	close(in);
	close(out);
}

/*
 * A library replaced or removed while loaded (a package upgrade under a
 * running service): maps says "(deleted)", the path is gone, and only
 * /proc/PID/map_files reaches the file - which needs CAP_SYS_ADMIN (or
 * CAP_CHECKPOINT_RESTORE), so without it the file offset is all we get.
 */
TEST(symbolize_deleted_library)
{
	char dir[] = "/tmp/gilscope-unit-XXXXXX", path[PATH_MAX], mf[128], buf[256];
	const struct proc_map *m;
	struct symbolizer *s;
	struct proc_maps pm;
	uint64_t a;
	void *h, *lib;
	int fd;

	lib = dlopen("libresolv.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!lib || !dlsym(lib, "__b64_ntop") ||
	    dlinfo(lib, RTLD_DI_ORIGIN, path))
		SKIP("no libresolv.so.2 to copy");
	strcat(path, "/libresolv.so.2");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(mf, sizeof(mf), "%s/libgs-gone.so", dir);
	copy_file(path, mf);
	h = dlopen(mf, RTLD_NOW | RTLD_LOCAL);
	CHECK(h != NULL);
	a = (uintptr_t)dlsym(h, "__b64_ntop");
	CHECK(a != 0 && a != (uintptr_t)dlsym(lib, "__b64_ntop"));
	CHECK(unlink(mf) == 0);
	CHECK(rmdir(dir) == 0);

	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	m = proc_maps__find(&pm, a);
	CHECK(m != NULL);
	snprintf(path, sizeof(path), "%s (deleted)", mf);
	CHECK_STR(m->path, path);
	snprintf(mf, sizeof(mf), "/proc/self/map_files/%" PRIx64 "-%" PRIx64, m->start, m->end);
	fd = open(mf, O_RDONLY);

	s = new_self();
	if (fd >= 0) {
		close(fd);
		CHECK_I64(symbolizer__code(s, a + 2, buf, sizeof(buf)), 0);
		CHECK_STR(buf, "libgs-gone.so:__b64_ntop+0x2");
	} else {
		CHECK_I64(symbolizer__code(s, a + 2, buf, sizeof(buf)), -ENOENT);
		snprintf(path, sizeof(path), "libgs-gone.so+0x%" PRIx64,
			 m->offset + (a + 2 - m->start));
		CHECK_STR(buf, path);
	}
	symbolizer__free(s);
	proc_maps__free(&pm);
}

TEST(proc_maps_find_edges)
{
	struct proc_maps pm;
	const struct proc_map *m;

	CHECK_I64(proc_maps__read(getpid(), &pm), 0);
	CHECK(pm.nr > 5);
	for (size_t i = 0; i < pm.nr; i++) {
		CHECK(pm.maps[i].start < pm.maps[i].end);
		CHECK(i == 0 || pm.maps[i - 1].end <= pm.maps[i].start);
		CHECK(proc_maps__find(&pm, pm.maps[i].start) == &pm.maps[i]);
		CHECK(proc_maps__find(&pm, pm.maps[i].end - 1) == &pm.maps[i]);
		m = proc_maps__find(&pm, pm.maps[i].end);
		CHECK(!m || m == &pm.maps[i + 1]);
	}
	CHECK(proc_maps__find(&pm, 0) == NULL);
	CHECK(proc_maps__find_lib(&pm, "") != NULL);	/* any file */
	proc_maps__free(&pm);
	proc_maps__free(&pm);	/* idempotent */
	CHECK_I64(proc_maps__read(INT_MAX, &pm), -ESRCH);
	CHECK(pm.nr == 0 && pm.maps == NULL);
}

static pthread_barrier_t barrier;

static void *worker(void *arg)
{
	*(pid_t *)arg = gettid();
	pthread_setname_np(pthread_self(), "gs-worker");
	pthread_barrier_wait(&barrier);	/* named and counted */
	pthread_barrier_wait(&barrier);	/* checked: may go */
	return NULL;
}

TEST(proc_threads_and_names)
{
	char buf[64], want[64], exe[PATH_MAX];
	pid_t tid = 0, *tids;
	bool seen = false;
	pthread_t t;
	size_t nr;

	CHECK(pthread_barrier_init(&barrier, NULL, 2) == 0);
	CHECK(pthread_create(&t, NULL, worker, &tid) == 0);
	pthread_barrier_wait(&barrier);

	CHECK_I64(proc_threads(getpid(), &tids, &nr), 0);
	CHECK(nr >= 2);
	for (size_t i = 0; i < nr; i++)
		seen |= tids[i] == tid;
	CHECK(seen);
	free(tids);
	CHECK_I64(proc_tgid_of(tid), getpid());
	CHECK_I64(proc_tgid_of(getpid()), getpid());
	CHECK_I64(proc_thread_comm(getpid(), tid, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "gs-worker");
	pthread_barrier_wait(&barrier);
	pthread_join(t, NULL);

	CHECK_I64(proc_comm(getpid(), buf, sizeof(buf)), 0);
	CHECK(prctl(PR_GET_NAME, want) == 0);
	CHECK_STR(buf, want);
	CHECK(proc_thread_comm(getpid(), INT_MAX, buf, sizeof(buf)) < 0);
	CHECK_STR(buf, "?");
	CHECK_I64(proc_exe(getpid(), exe, sizeof(exe)), 0);
	CHECK(exe[0] == '/' && !strcmp(strrchr(exe, '/') + 1, self_name()));
	CHECK_I64(proc_exe(getpid(), exe, 4), -ENAMETOOLONG);
	CHECK_I64(proc_tgid_of(INT_MAX), -ESRCH);
	CHECK_I64(proc_threads(INT_MAX, &tids, &nr), -ESRCH);
}

TEST(proc_is_alive_and_kernel_threads)
{
	char comm[32] = "";
	FILE *f;

	CHECK(proc_is_alive(getpid()));
	CHECK(!proc_is_alive(0));
	CHECK(!proc_is_alive(-1));
	CHECK(!proc_is_alive(INT_MAX));
	CHECK(!proc_is_kernel_thread(getpid()));
	CHECK(!proc_is_kernel_thread(INT_MAX));
	/* kthreadd is PID 2 unless we are in a PID namespace */
	f = fopen("/proc/2/comm", "r");
	if (f && fgets(comm, sizeof(comm), f) && !strcmp(comm, "kthreadd\n"))
		CHECK(proc_is_kernel_thread(2));
	if (f)
		fclose(f);
}

TEST(proc_root_path_builds)
{
	char buf[64];

	CHECK_I64(proc_root_path(123, "/usr/lib/libc.so.6", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/proc/123/root/usr/lib/libc.so.6");
	CHECK_I64(proc_root_path(7, "x.so", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/proc/7/root/x.so");
	CHECK_I64(proc_root_path(123, "/usr/lib/x86_64-linux-gnu/a-very-long-library-name.so",
				 buf, sizeof(buf)), -ENAMETOOLONG);
}

/*
 * RELRO splits a small PIE's data PT_LOAD so that one file page is mapped
 * twice in a row (r--p then rw-p at the same offset): both mappings are
 * one load of the file.  build/tests/lockholder is such a program; its
 * global table_lock must resolve by name (it did not, once).
 */
TEST(symbolize_relro_split_data_page)
{
	char exe[4096], prog[4200], buf[256], want[64];
	struct symbolizer *s;
	uint64_t addr;
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n] = 0;
	snprintf(prog, sizeof(prog), "%s/tests/lockholder", dirname(exe));
	if (access(prog, X_OK))
		SKIP("%s not built", prog);
	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		execl(prog, prog, "-s", "3000", "-r", "1", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	usleep(300000);
	CHECK(symbolizer__new(pid, &s) == 0);
	CHECK(symbolizer__sym_addr(s, "", "table_lock", &addr) == 0);
	CHECK_I64(symbolizer__data(s, addr, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "lockholder:table_lock");
	CHECK_I64(symbolizer__data(s, addr + 8, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "lockholder:table_lock+8");
	CHECK_STR(buf, want);
	symbolizer__free(s);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pfd[0]);
}
