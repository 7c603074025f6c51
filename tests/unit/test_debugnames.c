// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names from every source, on real files made here: a small shared
 * library built with gcc -g, then stripped with its debug info put where
 * gdb would look for it (a build-id tree under a debug directory of our
 * own, a .gnu_debuglink beside it or under the debug directory), or
 * given Fedora's MiniDebugInfo (nm, objcopy, xz); debug files damaged in
 * every way that must give no name and never a crash; perf map files for
 * code no file holds.  The library is dlopen()ed into the test process,
 * which the symboliser then reads as it reads a target.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"
#include "debuginfo.h"
#include "elf_syms.h"
#include "perfmap.h"
#include "symbolize.h"

static const char lib_src[] =
	"#include <pthread.h>\n"
	"struct stats { long n; pthread_mutex_t mutex; };\n"
	"static pthread_mutex_t table_locks[8];\n"
	"static struct stats stats;\n"
	"static int grid[4][5];\n"
	"__attribute__((noinline)) static int inner_fn(int x)\n"
	"{\n"
	"	int y = x * 3;\n"
	"	__asm__ volatile(\"\" : \"+r\"(y));\n"
	"	return y + 1;\n"
	"}\n"
	"int (*gs_inner(void))(int) { return inner_fn; }\n"
	"void *gs_lock(int i) { return &table_locks[i]; }\n"
	"void *gs_stats_mutex(void) { return &stats.mutex; }\n"
	"void *gs_grid(int i, int j) { return &grid[i][j]; }\n";

struct lab {
	char dir[64];		/* the library and its files */
	char debug[128];	/* our debug directory */
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void lab_init(struct lab *l)
{
	FILE *f;
	char path[PATH_MAX];

	if (sh("command -v gcc objcopy strip nm xz >/dev/null 2>&1"))
		SKIP("needs gcc, binutils (objcopy, strip, nm) and xz");
	snprintf(l->dir, sizeof(l->dir), "/tmp/gs-debugnames-XXXXXX");
	CHECK(mkdtemp(l->dir) != NULL);
	snprintf(l->debug, sizeof(l->debug), "%s/debug", l->dir);
	CHECK(mkdir(l->debug, 0700) == 0);
	snprintf(path, sizeof(path), "%s/gsdbg.c", l->dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	CHECK(fputs(lib_src, f) >= 0);
	CHECK(fclose(f) == 0);
}

static void lab_free(struct lab *l)
{
	sh("rm -rf '%s'", l->dir);
}

/* Builds @name from gsdbg.c with @ldflags ("-Wl,--build-id=none"). */
static void build(struct lab *l, const char *name, const char *ldflags)
{
	CHECK_I64(sh("cd '%s' && gcc -g -O1 -fPIC -shared -fno-omit-frame-pointer %s "
		     "-o %s gsdbg.c", l->dir, ldflags, name), 0);
}

/* lib.so -> lib.debug (the DWARF and .symtab), lib.so stripped of both */
static void split_debug(struct lab *l, const char *name, const char *debug)
{
	CHECK_I64(sh("cd '%s' && objcopy --only-keep-debug %s %s && strip --strip-all %s",
		     l->dir, name, debug, name), 0);
}

/* The library's build-id note as hex (its debug file keeps the same). */
static void build_id(struct lab *l, const char *name, char *hex, size_t len)
{
	char path[PATH_MAX];
	struct elf_file *ef;

	snprintf(path, sizeof(path), "%s/%s", l->dir, name);
	CHECK_I64(elf_file__open(path, &ef), 0);
	CHECK_I64(elf_file__build_id(ef, hex, len), 0);
	elf_file__close(ef);
}

/* Where a debug file of build-id @hex goes under our debug directory. */
static void build_id_path(struct lab *l, const char *hex, char *path, size_t len)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s/.build-id", l->debug);
	mkdir(d, 0700);
	snprintf(d, sizeof(d), "%s/.build-id/%.2s", l->debug, hex);
	mkdir(d, 0700);
	snprintf(path, len, "%s/.build-id/%.2s/%s.debug", l->debug, hex, hex + 2);
}

struct lib {
	void *h;
	uint64_t inner, lock3, stats_mutex, grid23;
};

static void load(struct lab *l, const char *name, struct lib *lib)
{
	int (*(*inner)(void))(int);
	void *(*lock)(int), *(*mutex)(void), *(*grid)(int, int);
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", l->dir, name);
	lib->h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CHECK(lib->h != NULL);
	*(void **)&inner = dlsym(lib->h, "gs_inner");
	*(void **)&lock = dlsym(lib->h, "gs_lock");
	*(void **)&mutex = dlsym(lib->h, "gs_stats_mutex");
	*(void **)&grid = dlsym(lib->h, "gs_grid");
	CHECK(inner && lock && mutex && grid);
	lib->inner = (uintptr_t)inner();
	lib->lock3 = (uintptr_t)lock(3);
	lib->stats_mutex = (uintptr_t)mutex();
	lib->grid23 = (uintptr_t)grid(2, 3);
}

static struct symbolizer *new_sym(const char *debug_dirs)
{
	struct symbolizer *s = NULL;

	CHECK_I64(symbolizer__new(getpid(), &s), 0);
	CHECK_I64(symbolizer__set_debug_dirs(s, debug_dirs), 0);
	return s;
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "NAME:inner_fn+0x4 (gsdbg.c:N)", and the data names C gives */
static void check_debug_names(struct symbolizer *s, const char *name, const struct lib *lib,
			      bool data)
{
	char buf[512], want[256];

	snprintf(want, sizeof(want), "%s:inner_fn+0x4 (gsdbg.c:", name);
	CHECK_I64(symbolizer__code_line(s, lib->inner + 4, buf, sizeof(buf)), 0);
	if (!starts_with(buf, want) || buf[strlen(buf) - 1] != ')')
		CHECK_STR(buf, want);
	snprintf(want, sizeof(want), "%s:inner_fn+0x4", name);
	CHECK_I64(symbolizer__code(s, lib->inner + 4, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	if (!data)
		return;
	snprintf(want, sizeof(want), "%s:table_locks[3]", name);
	CHECK_I64(symbolizer__data(s, lib->lock3, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	snprintf(want, sizeof(want), "%s:stats.mutex", name);
	CHECK_I64(symbolizer__data(s, lib->stats_mutex, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	/* inside a glibc lock type: its insides are not named */
	snprintf(want, sizeof(want), "%s:stats.mutex+8", name);
	CHECK_I64(symbolizer__data(s, lib->stats_mutex + 8, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	snprintf(want, sizeof(want), "%s:grid[2][3]", name);
	CHECK_I64(symbolizer__data(s, lib->grid23, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	snprintf(want, sizeof(want), "%s:grid[2][3]+2", name);
	CHECK_I64(symbolizer__data(s, lib->grid23 + 2, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
}

/* Stripped and without its debug file: the static function has no name,
 * nor its static locks; its file offset is what there is. */
static void check_no_names(struct symbolizer *s, const char *name, const struct lib *lib)
{
	char buf[512], want[256];

	snprintf(want, sizeof(want), "%s+0x", name);
	CHECK_I64(symbolizer__code_line(s, lib->inner + 4, buf, sizeof(buf)), -ENOENT);
	if (!starts_with(buf, want))
		CHECK_STR(buf, want);
	CHECK_I64(symbolizer__data(s, lib->lock3, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "");
}

TEST(debugnames_unstripped_file_has_lines_and_types)
{
	struct symbolizer *s;
	struct lab l;
	struct lib lib;

	lab_init(&l);
	build(&l, "libgs-full.so", "");
	load(&l, "libgs-full.so", &lib);
	s = new_sym(l.debug);
	check_debug_names(s, "libgs-full.so", &lib, true);
	symbolizer__free(s);
	lab_free(&l);
}

TEST(debugnames_by_build_id)
{
	char hex[130], path[PATH_MAX], from[PATH_MAX];
	struct symbolizer *s;
	struct lab l;
	struct lib lib;

	lab_init(&l);
	build(&l, "libgs-bid.so", "-Wl,--build-id=sha1");
	split_debug(&l, "libgs-bid.so", "libgs-bid.debug");
	load(&l, "libgs-bid.so", &lib);
	/* not found yet: the default directories do not have it */
	s = new_sym(l.debug);
	check_no_names(s, "libgs-bid.so", &lib);
	symbolizer__free(s);

	build_id(&l, "libgs-bid.so", hex, sizeof(hex));
	build_id_path(&l, hex, path, sizeof(path));
	snprintf(from, sizeof(from), "%s/libgs-bid.debug", l.dir);
	CHECK(rename(from, path) == 0);
	s = new_sym(l.debug);
	check_debug_names(s, "libgs-bid.so", &lib, true);
	symbolizer__free(s);
	/* "dir:dir" with trailing slashes, the first one empty of it */
	snprintf(path, sizeof(path), "%s/nothing-here:%s/", l.dir, l.debug);
	s = new_sym(path);
	check_debug_names(s, "libgs-bid.so", &lib, true);
	symbolizer__free(s);
	lab_free(&l);
}

TEST(debugnames_by_debuglink_beside_and_under_debug_dir)
{
	char path[PATH_MAX], from[PATH_MAX];
	struct symbolizer *s;
	struct lab l;
	struct lib a, b;

	lab_init(&l);
	/* no build-id: only the link can find them */
	build(&l, "libgs-link.so", "-Wl,--build-id=none");
	split_debug(&l, "libgs-link.so", "libgs-link.debug");
	CHECK_I64(sh("cd '%s' && objcopy --add-gnu-debuglink=libgs-link.debug libgs-link.so",
		     l.dir), 0);
	build(&l, "libgs-link2.so", "-Wl,--build-id=none");
	split_debug(&l, "libgs-link2.so", "libgs-link2.debug");
	CHECK_I64(sh("cd '%s' && objcopy --add-gnu-debuglink=libgs-link2.debug libgs-link2.so",
		     l.dir), 0);
	/* the second under DEBUGDIR + the library's directory */
	CHECK_I64(sh("mkdir -p '%s%s' && mv '%s/libgs-link2.debug' '%s%s/'", l.debug, l.dir,
		     l.dir, l.debug, l.dir), 0);
	load(&l, "libgs-link.so", &a);
	load(&l, "libgs-link2.so", &b);
	s = new_sym(l.debug);
	check_debug_names(s, "libgs-link.so", &a, true);
	check_debug_names(s, "libgs-link2.so", &b, true);
	symbolizer__free(s);

	/* in .debug/ beside it */
	snprintf(path, sizeof(path), "%s/.debug", l.dir);
	CHECK(mkdir(path, 0700) == 0);
	snprintf(from, sizeof(from), "%s/libgs-link.debug", l.dir);
	snprintf(path, sizeof(path), "%s/.debug/libgs-link.debug", l.dir);
	CHECK(rename(from, path) == 0);
	s = new_sym(l.debug);
	check_debug_names(s, "libgs-link.so", &a, true);
	symbolizer__free(s);
	lab_free(&l);
}

/* A debug file changed since the link was made: its CRC says so. */
TEST(debugnames_debuglink_with_wrong_crc_gives_no_name)
{
	struct symbolizer *s;
	struct lab l;
	struct lib lib;

	lab_init(&l);
	build(&l, "libgs-crc.so", "-Wl,--build-id=none");
	split_debug(&l, "libgs-crc.so", "libgs-crc.debug");
	CHECK_I64(sh("cd '%s' && objcopy --add-gnu-debuglink=libgs-crc.debug libgs-crc.so && "
		     "printf x >> libgs-crc.debug", l.dir), 0);
	load(&l, "libgs-crc.so", &lib);
	s = new_sym(l.debug);
	check_no_names(s, "libgs-crc.so", &lib);
	symbolizer__free(s);
	lab_free(&l);
}

/* Fedora's MiniDebugInfo: the function symbols .dynsym lacks, in an
 * xz-compressed ELF file in .gnu_debugdata (find-debuginfo's recipe). */
TEST(debugnames_minidebuginfo)
{
	struct symbolizer *s;
	char buf[512], want[128];
	struct lab l;
	struct lib lib;

	lab_init(&l);
	build(&l, "libgs-mini.so", "");
	CHECK_I64(sh("cd '%s' && "
		     "nm -D libgs-mini.so --format=posix --defined-only | awk '{print $1}' | "
		     "sort > dynsyms && "
		     "nm libgs-mini.so --format=posix --defined-only | "
		     "awk '{ if ($2 == \"T\" || $2 == \"t\") print $1 }' | sort > funcsyms && "
		     "comm -13 dynsyms funcsyms > keep_symbols && "
		     "objcopy --only-keep-debug libgs-mini.so full.debug && "
		     "objcopy -S --remove-section .gdb_index --remove-section .comment "
		     "--keep-symbols=keep_symbols full.debug mini_debuginfo && "
		     "strip --strip-all libgs-mini.so && xz mini_debuginfo && "
		     "objcopy --add-section .gnu_debugdata=mini_debuginfo.xz libgs-mini.so && "
		     "rm full.debug", l.dir), 0);
	load(&l, "libgs-mini.so", &lib);
	s = new_sym(l.debug);
	/* a name, no line: MiniDebugInfo has symbols, no DWARF */
	snprintf(want, sizeof(want), "libgs-mini.so:inner_fn+0x4");
	CHECK_I64(symbolizer__code_line(s, lib.inner + 4, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	/* nor data symbols (Fedora keeps functions only) */
	CHECK_I64(symbolizer__data(s, lib.lock3, buf, sizeof(buf)), -ENOENT);
	symbolizer__free(s);
	lab_free(&l);
}

static void *read_all(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0 && !fstat(fd, &st));
	buf = malloc(st.st_size);
	CHECK(buf && read(fd, buf, st.st_size) == st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

/* The file range of section @name in ELF image @img. */
static void section_range(const char *img, size_t len, const char *name, uint64_t *off,
			  uint64_t *size)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)img, len);
	CHECK(elf && !elf_getshdrstrndx(elf, &shstrndx));
	*size = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		CHECK(gelf_getshdr(scn, &sh));
		if (!strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name)) {
			*off = sh.sh_offset;
			*size = sh.sh_size;
		}
	}
	elf_end(elf);
	CHECK(*size > 0);
}

/* Overwrites the section header of section @name with @patch's fields. */
static void patch_shdr(char *img, size_t len, const char *name, uint64_t offset)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
	const char *strs = img + sh[eh->e_shstrndx].sh_offset;

	CHECK(eh->e_shoff + eh->e_shnum * sizeof(*sh) <= len);
	for (int i = 0; i < eh->e_shnum; i++)
		if (!strcmp(strs + sh[i].sh_name, name))
			sh[i].sh_offset = offset;
}

/*
 * Damaged debug files at the right build-id path: garbage, cut short,
 * a section table past the end, a .symtab past the end - each refused:
 * no name, never a crash; DWARF overwritten with garbage: the .symtab's
 * name, whatever libdw makes of the lines, never a crash.
 */
TEST(debugnames_damaged_debug_files)
{
	char hex[130], path[PATH_MAX], good[PATH_MAX], buf[512], want[128];
	struct symbolizer *s;
	struct lab l;
	struct lib lib;
	uint64_t off, size;
	size_t len;
	char *img, *copy;

	lab_init(&l);
	build(&l, "libgs-bad.so", "-Wl,--build-id=sha1");
	split_debug(&l, "libgs-bad.so", "libgs-bad.debug");
	load(&l, "libgs-bad.so", &lib);
	build_id(&l, "libgs-bad.so", hex, sizeof(hex));
	build_id_path(&l, hex, path, sizeof(path));
	snprintf(good, sizeof(good), "%s/libgs-bad.debug", l.dir);
	img = read_all(good, &len);
	copy = malloc(len);
	CHECK(copy);

	for (int k = 0; k < 6; k++) {
		size_t n = len;

		memcpy(copy, img, len);
		switch (k) {
		case 0:		/* not ELF at all */
			memcpy(copy, "not an ELF file\n", 16);
			n = 16;
			break;
		case 1:		/* cut short */
			n = len / 2;
			break;
		case 2:		/* the section table past the end */
			((Elf64_Ehdr *)copy)->e_shoff = len + 4096;
			break;
		case 3:		/* .symtab past the end */
			patch_shdr(copy, len, ".symtab", len + 64);
			break;
		case 4:		/* an empty file */
			n = 0;
			break;
		case 5:		/* garbage DWARF in a sane file */
			section_range(copy, len, ".debug_info", &off, &size);
			memset(copy + off + 11, 0xff, size - 11);
			section_range(copy, len, ".debug_line", &off, &size);
			memset(copy + off, 0x7f, size);
			break;
		}
		write_all(path, copy, n);
		s = new_sym(l.debug);
		if (k < 5) {
			check_no_names(s, "libgs-bad.so", &lib);
		} else {
			/* the symbol table is sound: the name; the line, if any,
			 * is libdw's guess from garbage */
			snprintf(want, sizeof(want), "libgs-bad.so:inner_fn+0x4");
			CHECK_I64(symbolizer__code_line(s, lib.inner + 4, buf, sizeof(buf)), 0);
			if (!starts_with(buf, want))
				CHECK_STR(buf, want);
			symbolizer__data(s, lib.lock3, buf, sizeof(buf));
			symbolizer__data(s, lib.stats_mutex, buf, sizeof(buf));
		}
		symbolizer__free(s);
	}
	free(copy);
	free(img);
	lab_free(&l);
}

/* A debug file of another build at the build-id path of this one (a
 * stale package): refused, by the build-id it carries. */
TEST(debugnames_build_id_mismatch_refused)
{
	char hex[130], path[PATH_MAX];
	struct symbolizer *s;
	struct lab l;
	struct lib lib;

	lab_init(&l);
	build(&l, "libgs-mine.so", "-Wl,--build-id=sha1");
	split_debug(&l, "libgs-mine.so", "libgs-mine.debug");
	/* another build: another build-id (a different note) */
	CHECK_I64(sh("cd '%s' && gcc -g -O1 -fPIC -shared -DOTHER -Wl,--build-id=md5 "
		     "-o libgs-other.so gsdbg.c && "
		     "objcopy --only-keep-debug libgs-other.so libgs-other.debug", l.dir), 0);
	build_id(&l, "libgs-mine.so", hex, sizeof(hex));
	build_id_path(&l, hex, path, sizeof(path));
	CHECK_I64(sh("mv '%s/libgs-other.debug' '%s'", l.dir, path), 0);
	load(&l, "libgs-mine.so", &lib);
	s = new_sym(l.debug);
	check_no_names(s, "libgs-mine.so", &lib);
	symbolizer__free(s);
	lab_free(&l);
}

/* The GNU debuglink CRC is zlib's CRC-32: "123456789" -> 0xcbf43926. */
TEST(debuginfo_crc_is_crc32)
{
	char path[] = "/tmp/gs-crc-XXXXXX";
	int fd = mkstemp(path);
	uint32_t crc = 0;

	CHECK(fd >= 0 && write(fd, "123456789", 9) == 9);
	CHECK_I64(debuginfo_crc(fd, &crc), 0);
	CHECK_U64(crc, 0xcbf43926);
	close(fd);
	unlink(path);
}

/* glibc with Debian's libc6-dbg: local functions only its debug file
 * names, and the line of an inlined call in the function's own source. */
TEST(debugnames_glibc_from_libc6_dbg)
{
	char hex[130], path[PATH_MAX], buf[512], libc_path[PATH_MAX];
	struct elf_file *lib, *dbg;
	struct symbolizer *s;
	struct elf_sym sym, pub;
	Dl_info info;
	uint64_t bias;
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *lock = h ? dlsym(h, "pthread_mutex_lock") : NULL;

	if (!lock || !dladdr(lock, &info) || !realpath(info.dli_fname, libc_path))
		SKIP("no dynamically linked glibc in this process");
	CHECK_I64(elf_file__open(libc_path, &lib), 0);
	CHECK_I64(elf_file__build_id(lib, hex, sizeof(hex)), 0);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
	if (access(path, R_OK)) {
		elf_file__close(lib);
		SKIP("no debug file for this glibc (%s): apt-get install libc6-dbg", path);
	}
	CHECK_I64(elf_file__open(path, &dbg), 0);
	CHECK_I64(elf_file__find_sym(lib, "pthread_mutex_lock", ELF_SYM_FUNC, &pub), 0);
	bias = (uintptr_t)lock - pub.addr;
	s = new_sym(NULL);
	/* in .symtab of the debug file only */
	if (!elf_file__find_sym(dbg, "__futex_abstimed_wait_common", ELF_SYM_FUNC, &sym)) {
		CHECK(elf_file__find_sym(lib, "__futex_abstimed_wait_common", ELF_SYM_FUNC,
					 &pub) == -ENOENT);
		CHECK_I64(symbolizer__code_line(s, sym.addr + bias + 2, buf, sizeof(buf)), 0);
		CHECK(starts_with(buf, "libc.so.6:__futex_abstimed_wait_common+0x2 ("));
	}
	/* __lll_lock_wait, not __GI___lll_lock_wait, with lowlevellock.c's line */
	if (!elf_file__find_sym(dbg, "__lll_lock_wait", ELF_SYM_FUNC, &sym)) {
		CHECK_I64(symbolizer__code_line(s, sym.addr + bias + 2, buf, sizeof(buf)), 0);
		CHECK(starts_with(buf, "libc.so.6:__lll_lock_wait+0x2 (lowlevellock.c:"));
	}
	/* the default version's public name, not __pthread_mutex_lock */
	CHECK_I64(symbolizer__code(s, (uintptr_t)lock + 0xe, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "libc.so.6:pthread_mutex_lock+0xe");
	symbolizer__free(s);
	elf_file__close(dbg);
	elf_file__close(lib);
}

/* ---- perf map files ---- */

TEST(perfmap_names_anonymous_code)
{
	char path[64], buf[512], want[128];
	struct symbolizer *s;
	uint64_t a;
	void *code;
	FILE *f;

	code = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		SKIP("no executable anonymous memory here: %s", strerror(errno));
	a = (uintptr_t)code;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	f = fopen(path, "w");
	CHECK(f != NULL);
	fprintf(f, "%lx 40 py::fib:/tmp/x.py\n", (unsigned long)a);
	fprintf(f, "%lx 20 py::old:/tmp/x.py\n", (unsigned long)a + 0x100);
	fprintf(f, "not a line\n");
	fprintf(f, "%lx 20 py::new:/tmp/x.py\n", (unsigned long)a + 0x100);
	fclose(f);

	s = new_sym(NULL);
	snprintf(want, sizeof(want), "perf-%d.map:py::fib:/tmp/x.py+0x4", getpid());
	CHECK_I64(symbolizer__code_line(s, a + 4, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	snprintf(want, sizeof(want), "perf-%d.map:py::fib:/tmp/x.py", getpid());
	CHECK_I64(symbolizer__code(s, a, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	/* the same start twice: the later line (JITs reuse memory) */
	snprintf(want, sizeof(want), "perf-%d.map:py::new:/tmp/x.py+0x8", getpid());
	CHECK_I64(symbolizer__code(s, a + 0x108, buf, sizeof(buf)), 0);
	CHECK_STR(buf, want);
	/* between entries: not named */
	CHECK_I64(symbolizer__code(s, a + 0x80, buf, sizeof(buf)), -ENOENT);
	CHECK_STR(buf, "[unknown]");
	symbolizer__free(s);
	unlink(path);
	munmap(code, 8192);
}

/* A map file grows as the JIT makes code: read again on a miss. */
TEST(perfmap_reread_when_grown)
{
	char path[] = "/tmp/gs-perfmap-XXXXXX";
	struct perfmap *pm;
	const char *name, *file;
	uint64_t start;
	int fd = mkstemp(path);
	FILE *f;

	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "1000 10 first\n");
	fflush(f);
	CHECK_I64(perfmap__new_path(path, &pm), 0);
	name = perfmap__lookup(pm, 0x1004, &start, &file);
	CHECK_STR(name, "first");
	CHECK_U64(start, 0x1000);
	CHECK(!strncmp(file, "gs-perfmap-", 11));
	CHECK(perfmap__lookup(pm, 0x2004, &start, &file) == NULL);
	fprintf(f, "2000 10 second\x01\n");
	fclose(f);
	/* misses re-read at most every 250 ms */
	usleep(300000);
	name = perfmap__lookup(pm, 0x2004, &start, &file);
	CHECK_STR(name, "second?");
	CHECK_STR(perfmap__lookup(pm, 0x1000, &start, &file), "first");
	perfmap__free(pm);
	unlink(path);
}
