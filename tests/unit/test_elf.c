// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * elf_syms against real files: the running glibc (whose symbols the
 * dynamic loader resolves for us, an independent answer to compare with)
 * and this test binary's own .symtab; then damaged copies of glibc, which
 * must be refused or read without a crash (run under ASan to be sure).
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"
#include "elf_syms.h"

/* IPA clones (name.constprop.0) would give the symbol another name. */
#if __has_attribute(noclone)
#define NOCLONE __attribute__((noclone))
#else
#define NOCLONE
#endif

/* A global in .data and a local function, both only in .symtab. */
int test_elf_marker[4] = { 1, 2, 3, 4 };

static __attribute__((noinline, used)) NOCLONE int elf_test_local_fn(int x)
{
	return x * 3 + test_elf_marker[x & 3];
}

/*
 * Hand-written symbols: a sized function with a size-0 label inside it,
 * and a bare size-0 function, as assembly sources often leave them.
 * Never called.
 */
asm(".text\n"
    ".p2align 4\n"
    ".globl gs_asm_outer\n"
    ".type gs_asm_outer, @function\n"
    "gs_asm_outer:\n"
    "nop\n nop\n"
    ".globl gs_asm_inner\n"
    ".type gs_asm_inner, @function\n"
    "gs_asm_inner:\n"
    "nop\n nop\n ret\n"
    ".size gs_asm_outer, . - gs_asm_outer\n"
    ".p2align 4\n"
    ".globl gs_asm_bare\n"
    ".type gs_asm_bare, @function\n"
    "gs_asm_bare:\n"
    "nop\n nop\n ret\n"
    ".p2align 4\n");

struct libc_info {
	void *handle;
	const char *path;	/* as the loader opened it */
	uintptr_t bias;		/* runtime address - link-time address */
};

static void get_libc(struct libc_info *li)
{
	struct link_map *lm;

	li->handle = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	if (!li->handle || dlinfo(li->handle, RTLD_DI_LINKMAP, &lm) ||
	    !lm->l_name || lm->l_name[0] != '/')
		SKIP("no dynamically linked glibc in this process");
	li->path = lm->l_name;
	li->bias = lm->l_addr;
}

static struct elf_file *open_libc(struct libc_info *li)
{
	struct elf_file *ef = NULL;

	get_libc(li);
	CHECK_I64(elf_file__open(li->path, &ef), 0);
	CHECK(ef != NULL);
	return ef;
}

static void read_whole(const char *path, unsigned char **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK(fstat(fd, &st) == 0);
	*len = st.st_size;
	*buf = malloc(*len);
	CHECK(*buf != NULL);
	n = read(fd, *buf, *len);
	CHECK(n == (ssize_t)*len);
	close(fd);
}

/* Link-time address of @name@@@ver (or the default version when @ver is
 * NULL) as the dynamic loader resolves it. */
static uint64_t loader_addr(struct libc_info *li, const char *name, const char *ver)
{
	void *p = ver ? dlvsym(li->handle, name, ver) : dlsym(li->handle, name);

	CHECK(p != NULL);
	return (uintptr_t)p - li->bias;
}

struct find_ctx {
	const char *name;
	const char *version;
	uint64_t addr;
	bool hidden;
	int found;
};

static int find_version_cb(const struct elf_sym *s, void *arg)
{
	struct find_ctx *c = arg;

	if (strcmp(s->name, c->name) || !s->version || strcmp(s->version, c->version))
		return 0;
	c->addr = s->addr;
	c->hidden = s->hidden_version;
	c->found++;
	return 0;
}

/*
 * pthread_cond_wait and pthread_cond_timedwait exist twice in x86-64
 * glibc: the GLIBC_2.2.5 compat version (hidden) and the GLIBC_2.3.2
 * default.  A probe on the compat one never fires for new programs.
 */
TEST(elf_libc_cond_default_version)
{
	static const char *names[] = { "pthread_cond_timedwait", "pthread_cond_wait" };
	struct libc_info li;
	struct elf_file *ef;

#ifndef __x86_64__
	SKIP("the GLIBC_2.2.5 compat versions exist on x86-64 only");
#endif
	ef = open_libc(&li);
	for (int i = 0; i < 2; i++) {
		uint64_t want = loader_addr(&li, names[i], "GLIBC_2.3.2");
		uint64_t compat = loader_addr(&li, names[i], "GLIBC_2.2.5");
		struct find_ctx c = { .name = names[i], .version = "GLIBC_2.2.5" };
		struct elf_sym s;

		CHECK(want != compat);
		CHECK_I64(elf_file__find_sym(ef, names[i], ELF_SYM_FUNC, &s), 0);
		CHECK_STR(s.name, names[i]);
		CHECK_U64(s.addr, want);
		CHECK_STR(s.version, "GLIBC_2.3.2");
		CHECK(!s.hidden_version);
		CHECK(s.size > 0);
		CHECK_I64(s.kind, ELF_SYM_FUNC);

		/* the compat one is there too, and marked hidden */
		CHECK_I64(elf_file__for_each_sym(ef, find_version_cb, &c), 0);
		CHECK_I64(c.found, 1);
		CHECK_U64(c.addr, compat);
		CHECK(c.hidden);

		/* and an address inside it names it, flagged as the compat one */
		CHECK_I64(elf_file__addr_to_sym(ef, compat + 1, ELF_SYM_FUNC, &s), 0);
		CHECK_STR(s.name, names[i]);
		CHECK_U64(s.addr, compat);
		CHECK(s.hidden_version);
	}
	elf_file__close(ef);
}

TEST(elf_libc_find_sym)
{
	struct libc_info li;
	struct elf_file *ef = open_libc(&li);
	struct elf_sym s;

	CHECK_I64(elf_file__find_sym(ef, "pthread_mutex_lock", ELF_SYM_FUNC, &s), 0);
	CHECK_U64(s.addr, loader_addr(&li, "pthread_mutex_lock", NULL));
	CHECK(s.version != NULL);
	CHECK_I64(elf_file__find_sym(ef, "pthread_mutex_unlock", ELF_SYM_FUNC, &s), 0);
	CHECK_U64(s.addr, loader_addr(&li, "pthread_mutex_unlock", NULL));
	/* objects: libc's own stdout, not a copy in the executable */
	CHECK_I64(elf_file__find_sym(ef, "stdout", ELF_SYM_OBJECT, &s), 0);
	CHECK_U64(s.addr, loader_addr(&li, "stdout", NULL));
	CHECK_I64(s.kind, ELF_SYM_OBJECT);
	CHECK_U64(s.size, sizeof(void *));
	/* kinds do not mix; unknown names fail */
	CHECK_I64(elf_file__find_sym(ef, "pthread_mutex_lock", ELF_SYM_OBJECT, &s), -ENOENT);
	CHECK_I64(elf_file__find_sym(ef, "stdout", ELF_SYM_FUNC, &s), -ENOENT);
	CHECK_I64(elf_file__find_sym(ef, "no_such_symbol_in_libc", ELF_SYM_FUNC, &s), -ENOENT);
	CHECK_I64(elf_file__find_sym(ef, "", ELF_SYM_FUNC, &s), -ENOENT);
	CHECK(elf_file__is_dyn(ef));
	elf_file__close(ef);
}

/* __pthread_mutex_lock@GLIBC_2.2.5 (hidden) aliases pthread_mutex_lock@@:
 * the name users know wins; so do puts over _IO_puts, environ over
 * __environ. */
TEST(elf_libc_addr_to_sym_aliases)
{
	static const char *funcs[] = { "pthread_mutex_lock", "puts", "getpid" };
	struct libc_info li;
	struct elf_file *ef = open_libc(&li);
	struct elf_sym s;
	uint64_t a;

	for (int i = 0; i < 3; i++) {
		a = loader_addr(&li, funcs[i], NULL);
		CHECK_I64(elf_file__addr_to_sym(ef, a, ELF_SYM_FUNC, &s), 0);
		CHECK_STR(s.name, funcs[i]);
		CHECK_I64(elf_file__addr_to_sym(ef, a + 5, ELF_SYM_FUNC, &s), 0);
		CHECK_STR(s.name, funcs[i]);
		CHECK_U64(s.addr, a);
		CHECK(!s.hidden_version);
	}
	a = loader_addr(&li, "environ", NULL);
	CHECK_I64(elf_file__addr_to_sym(ef, a, ELF_SYM_OBJECT, &s), 0);
	CHECK_STR(s.name, "environ");
	/* addresses below every symbol, and kinds kept apart */
	CHECK_I64(elf_file__addr_to_sym(ef, 0x10, ELF_SYM_FUNC, &s), -ENOENT);
	CHECK_I64(elf_file__addr_to_sym(ef, a, ELF_SYM_FUNC, &s), -ENOENT);
	elf_file__close(ef);
}

struct round_trip {
	struct elf_file *ef;
	int kind;
	int checked;
};

static int round_trip_cb(const struct elf_sym *s, void *arg)
{
	struct round_trip *rt = arg;
	uint64_t last = s->addr + s->size - 1;
	struct elf_sym o;

	if (s->kind != rt->kind || !s->size)
		return 0;
	/* the start and the last byte both resolve to a symbol that holds them */
	CHECK_I64(elf_file__addr_to_sym(rt->ef, s->addr, rt->kind, &o), 0);
	CHECK(o.size && o.addr <= s->addr && s->addr - o.addr < o.size);
	CHECK_I64(elf_file__addr_to_sym(rt->ef, last, rt->kind, &o), 0);
	CHECK(o.size && o.addr <= last && last - o.addr < o.size);
	/* a same-named default lookup gives back an address with that name */
	CHECK_I64(elf_file__find_sym(rt->ef, s->name, rt->kind, &o), 0);
	CHECK_STR(o.name, s->name);
	rt->checked++;
	return 0;
}

TEST(elf_libc_addr_to_sym_round_trip)
{
	struct libc_info li;
	struct round_trip rt = { .ef = open_libc(&li), .kind = ELF_SYM_FUNC };

	CHECK_I64(elf_file__for_each_sym(rt.ef, round_trip_cb, &rt), 0);
	CHECK(rt.checked > 1000);
	rt.kind = ELF_SYM_OBJECT;
	rt.checked = 0;
	CHECK_I64(elf_file__for_each_sym(rt.ef, round_trip_cb, &rt), 0);
	CHECK(rt.checked > 20);
	elf_file__close(rt.ef);
}

static int stop_cb(const struct elf_sym *s, void *arg)
{
	(void)s;
	return ++*(int *)arg == 3 ? 42 : 0;
}

TEST(elf_for_each_stops_early)
{
	struct libc_info li;
	struct elf_file *ef = open_libc(&li);
	int n = 0;

	CHECK_I64(elf_file__for_each_sym(ef, stop_cb, &n), 42);
	CHECK_I64(n, 3);
	elf_file__close(ef);
}

TEST(elf_libc_segments_and_read)
{
	struct libc_info li;
	struct elf_file *ef = open_libc(&li);
	const struct elf_segment *segs;
	unsigned char *file, buf[64];
	uint64_t off, v, a;
	size_t nr, len;
	bool bss = false;

	read_whole(li.path, &file, &len);
	nr = elf_file__segments(ef, &segs);
	CHECK(nr >= 2);
	for (size_t i = 0; i < nr; i++) {
		const struct elf_segment *s = &segs[i];
		uint64_t ks[] = { 0, s->filesz / 2, s->filesz - 1 };

		CHECK(s->filesz <= s->memsz && s->offset + s->filesz <= len);
		for (int k = 0; k < 3; k++) {
			CHECK_I64(elf_file__vaddr_to_offset(ef, s->vaddr + ks[k], &off), 0);
			CHECK_U64(off, s->offset + ks[k]);
			CHECK_I64(elf_file__offset_to_vaddr(ef, off, &v), 0);
			CHECK_U64(v, s->vaddr + ks[k]);
		}
		if (s->memsz > s->filesz) {	/* .bss has no file offset */
			CHECK_I64(elf_file__vaddr_to_offset(ef, s->vaddr + s->filesz, &off),
				  -ENOENT);
			CHECK_I64(elf_file__read(ef, s->vaddr + s->filesz, buf, 8), -ENOENT);
			bss = true;
		}
		/* a read that crosses the end of the file image is cut short */
		CHECK_I64(elf_file__read(ef, s->vaddr + s->filesz - 4, buf, 16), 4);
		CHECK(!memcmp(buf, file + s->offset + s->filesz - 4, 4));
	}
	CHECK(bss);
	CHECK_I64(elf_file__offset_to_vaddr(ef, len + 10, &v), -ENOENT);

	/* code bytes: the file, and libc's text as this process runs it */
	a = loader_addr(&li, "pthread_mutex_lock", NULL);
	CHECK_I64(elf_file__read(ef, a, buf, sizeof(buf)), sizeof(buf));
	CHECK_I64(elf_file__vaddr_to_offset(ef, a, &off), 0);
	CHECK(!memcmp(buf, file + off, sizeof(buf)));
	CHECK(!memcmp(buf, (void *)(uintptr_t)(a + li.bias), sizeof(buf)));
	CHECK_I64(elf_file__read(ef, a, buf, 0), 0);
	/* the entry point lies in executable text */
	CHECK_I64(elf_file__vaddr_to_offset(ef, elf_file__entry(ef), &off), 0);
	free(file);
	elf_file__close(ef);
}

struct note_ctx {
	uintptr_t bias;
	char hex[2 * 64 + 1];
};

/* The build-id the loaded image carries, read from memory. */
static int note_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct note_ctx *c = arg;

	(void)size;
	if (info->dlpi_addr != c->bias)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p = (const void *)(info->dlpi_addr + ph->p_vaddr);
		size_t align = ph->p_align == 8 ? 8 : 4, off = 0;

		if (ph->p_type != PT_NOTE)
			continue;
		while (off + sizeof(ElfW(Nhdr)) <= ph->p_memsz) {
			const ElfW(Nhdr) *nh = (const void *)(p + off);
			size_t name = off + sizeof(*nh);
			size_t desc = name + ((nh->n_namesz + align - 1) & ~(align - 1));

			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    !memcmp(p + name, "GNU", 4)) {
				for (size_t j = 0; j < nh->n_descsz; j++)
					sprintf(c->hex + 2 * j, "%02x", p[desc + j]);
				return 1;
			}
			off = desc + ((nh->n_descsz + align - 1) & ~(align - 1));
		}
	}
	return 0;
}

TEST(elf_libc_build_id)
{
	struct libc_info li;
	struct elf_file *ef = open_libc(&li), *ef2, *ef3;
	char hex[129], hex2[129], hex3[129];
	struct note_ctx c = { 0 };
	unsigned char *file;
	size_t len;

	CHECK_I64(elf_file__build_id(ef, hex, sizeof(hex)), 0);
	CHECK_U64(strlen(hex), 40);	/* sha1, as GNU ld and Debian make it */
	CHECK_U64(strspn(hex, "0123456789abcdef"), 40);
	CHECK_I64(elf_file__build_id(ef, hex2, 40), -ENOSPC);

	/* the same as the running copy's note, found another way */
	c.bias = li.bias;
	CHECK(dl_iterate_phdr(note_cb, &c) == 1);
	CHECK_STR(hex, c.hex);

	/* stable across opens, by path and from memory */
	CHECK_I64(elf_file__open(li.path, &ef2), 0);
	CHECK_I64(elf_file__build_id(ef2, hex2, sizeof(hex2)), 0);
	CHECK_STR(hex2, hex);
	read_whole(li.path, &file, &len);
	CHECK_I64(elf_file__open_mem(file, len, &ef3), 0);
	free(file);	/* open_mem copied it */
	CHECK_I64(elf_file__build_id(ef3, hex3, sizeof(hex3)), 0);
	CHECK_STR(hex3, hex);
	CHECK(elf_file__find_sym(ef3, "pthread_mutex_lock", ELF_SYM_FUNC,
				 &(struct elf_sym){0}) == 0);
	elf_file__close(ef);
	elf_file__close(ef2);
	elf_file__close(ef3);
}

static uintptr_t self_bias(void)
{
	struct link_map *lm;
	void *h = dlopen(NULL, RTLD_NOW);

	CHECK(h != NULL);
	CHECK(dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0);
	return lm->l_addr;
}

/* This binary's .symtab: locals and globals dynsym does not have. */
TEST(elf_self_symtab)
{
	uintptr_t bias = self_bias();
	uint64_t fn = (uintptr_t)&elf_test_local_fn - bias;
	struct elf_file *ef;
	struct elf_sym s;

	CHECK_I64(elf_file__open("/proc/self/exe", &ef), 0);
	CHECK_I64(elf_file__find_sym(ef, "elf_test_local_fn", ELF_SYM_FUNC, &s), 0);
	CHECK_U64(s.addr, fn);
	CHECK(!s.from_dynsym);
	CHECK(s.version == NULL);
	CHECK_I64(elf_file__addr_to_sym(ef, fn + 2, ELF_SYM_FUNC, &s), 0);
	CHECK_STR(s.name, "elf_test_local_fn");
	CHECK_I64(elf_file__find_sym(ef, "test_elf_marker", ELF_SYM_OBJECT, &s), 0);
	CHECK_U64(s.addr, (uintptr_t)test_elf_marker - bias);
	CHECK(s.size >= sizeof(test_elf_marker));
	CHECK_I64(elf_file__addr_to_sym(ef, s.addr + 12, ELF_SYM_OBJECT, &s), 0);
	CHECK_STR(s.name, "test_elf_marker");
	/* the file's own values, read back */
	{
		int v[4];

		CHECK_I64(elf_file__read(ef, s.addr, v, sizeof(v)), sizeof(v));
		CHECK(!memcmp(v, (int[]){ 1, 2, 3, 4 }, sizeof(v)));
	}
	CHECK_U64(elf_file__entry(ef) + bias, getauxval(AT_ENTRY));
	CHECK(elf_file__is_dyn(ef) == (bias != 0));
	elf_file__close(ef);
	CHECK(elf_test_local_fn(1) == 5);
}

TEST(elf_self_size0_symbols)
{
	struct elf_file *ef;
	struct elf_sym outer, inner, bare, s;

	CHECK_I64(elf_file__open("/proc/self/exe", &ef), 0);
	CHECK_I64(elf_file__find_sym(ef, "gs_asm_outer", ELF_SYM_FUNC, &outer), 0);
	CHECK_I64(elf_file__find_sym(ef, "gs_asm_inner", ELF_SYM_FUNC, &inner), 0);
	CHECK_I64(elf_file__find_sym(ef, "gs_asm_bare", ELF_SYM_FUNC, &bare), 0);
	CHECK_U64(outer.size, 5);
	CHECK_U64(inner.size, 0);
	CHECK_U64(bare.size, 0);
	CHECK_U64(inner.addr, outer.addr + 2);
	/* a sized symbol that holds the address beats a label starting there */
	CHECK_I64(elf_file__addr_to_sym(ef, inner.addr, ELF_SYM_FUNC, &s), 0);
	CHECK_STR(s.name, "gs_asm_outer");
	CHECK_I64(elf_file__addr_to_sym(ef, outer.addr + 4, ELF_SYM_FUNC, &s), 0);
	CHECK_STR(s.name, "gs_asm_outer");
	/* a size-0 symbol names its own address only */
	CHECK_I64(elf_file__addr_to_sym(ef, bare.addr, ELF_SYM_FUNC, &s), 0);
	CHECK_STR(s.name, "gs_asm_bare");
	CHECK_I64(elf_file__addr_to_sym(ef, bare.addr + 1, ELF_SYM_FUNC, &s), -ENOENT);
	elf_file__close(ef);
}

TEST(elf_open_errors)
{
	static const unsigned char elf32[EI_NIDENT] = {
		0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2LSB, EV_CURRENT,
	};
	unsigned char short64[32] = {
		0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
	};
	char tmp[] = "/tmp/gilscope-unit-XXXXXX";
	struct elf_file *ef = (void *)1;
	int fd;

	CHECK_I64(elf_file__open("/nonexistent/libfoo.so", &ef), -ENOENT);
	CHECK(ef == NULL);
	CHECK_I64(elf_file__open("/", &ef), -ENOEXEC);
	fd = mkstemp(tmp);
	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\necho hi\n", 18) == 18);
	close(fd);
	CHECK_I64(elf_file__open(tmp, &ef), -ENOEXEC);
	unlink(tmp);

	CHECK(elf_file__open_mem("", 0, &ef) < 0);
	CHECK(elf_file__open_mem(NULL, 0, &ef) < 0);
	CHECK_I64(elf_file__open_mem("hello, world", 12, &ef), -ENOEXEC);
	CHECK_I64(elf_file__open_mem("\x7f" "EL", 3, &ef), -ENOEXEC);
	CHECK_I64(elf_file__open_mem(elf32, sizeof(elf32), &ef), -ENOEXEC);
	CHECK_I64(elf_file__open_mem(short64, sizeof(short64), &ef), -EINVAL);
	CHECK(ef == NULL);
}

/* Everything a caller may do with a file that opened. */
static void exercise(struct elf_file *ef)
{
	const struct elf_segment *segs;
	unsigned char buf[64];
	struct elf_sym s;
	char hex[129];
	uint64_t v;
	size_t nr;
	int n = 0;

	elf_file__find_sym(ef, "pthread_mutex_lock", ELF_SYM_FUNC, &s);
	elf_file__find_sym(ef, "stdout", ELF_SYM_OBJECT, &s);
	elf_file__find_sym(ef, "pthread_cond_timedwait", ELF_SYM_FUNC, &s);
	elf_file__for_each_sym(ef, stop_cb, &n);
	for (uint64_t a = 0; a < 0x200000; a += 0x1357) {
		elf_file__addr_to_sym(ef, a, ELF_SYM_FUNC, &s);
		elf_file__addr_to_sym(ef, a, ELF_SYM_OBJECT, &s);
		if (!elf_file__vaddr_to_offset(ef, a, &v))
			elf_file__offset_to_vaddr(ef, v, &v);
		elf_file__read(ef, a, buf, sizeof(buf));
	}
	nr = elf_file__segments(ef, &segs);
	for (size_t i = 0; i < nr; i++)
		elf_file__read(ef, segs[i].vaddr + segs[i].filesz - 1, buf, sizeof(buf));
	elf_file__build_id(ef, hex, sizeof(hex));
	elf_file__entry(ef);
	elf_file__is_dyn(ef);
}

static int try_open(const unsigned char *buf, size_t len)
{
	struct elf_file *ef = NULL;
	int err = elf_file__open_mem(buf, len, &ef);

	CHECK(err <= 0);
	CHECK((err == 0) == (ef != NULL));
	if (!err)
		exercise(ef);
	elf_file__close(ef);
	return err;
}

TEST(elf_malformed_truncated)
{
	struct libc_info li;
	const Elf64_Ehdr *eh;
	unsigned char *file;
	size_t len, shend;

	get_libc(&li);
	read_whole(li.path, &file, &len);
	eh = (const void *)file;
	shend = eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr);
	CHECK(shend <= len);
	CHECK_I64(try_open(file, len), 0);
	for (size_t cut = 1; cut < len; cut = cut < 256 ? cut + 1 : cut * 3 / 2) {
		/* copy to an exact-size buffer so ASan sees any overread */
		unsigned char *t = malloc(cut);
		int err;

		CHECK(t != NULL);
		memcpy(t, file, cut);
		err = try_open(t, cut);
		if (cut < shend)
			CHECK(err < 0);
		free(t);
	}
	CHECK(try_open(file, len - 1) < 0);
	free(file);
}

struct patcher {
	unsigned char *t;		/* the image being damaged */
	const unsigned char *file;	/* the intact one */
	size_t len;
};

/* Opens the image with @field (inside p->t) set to @v's low bytes, then
 * puts the field back. */
static int patched(struct patcher *p, void *field, size_t size, uint64_t v)
{
	size_t off = (unsigned char *)field - p->t;
	int err;

	memcpy(field, &v, size);
	err = try_open(p->t, p->len);
	memcpy(field, p->file + off, size);
	return err;
}

#define PATCH(p, f, v) patched(p, &(f), sizeof(f), v)

/* Fields a damaged file gets wrong; the file must be refused where it
 * cannot be read safely, and never crash us. */
TEST(elf_malformed_fields)
{
	static const uint32_t types[] = { SHT_SYMTAB, SHT_DYNSYM, SHT_STRTAB, SHT_NOTE,
					  SHT_GNU_verdef, SHT_GNU_verneed, SHT_GNU_versym,
					  SHT_NOBITS, SHT_NULL };
	struct patcher p = { 0 };
	struct libc_info li;
	unsigned char *file;
	uint64_t bad[7];
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	Elf64_Phdr *ph;
	size_t len, nb = sizeof(bad) / sizeof(bad[0]);

	get_libc(&li);
	read_whole(li.path, &file, &len);
	p.file = file;
	p.len = len;
	p.t = malloc(len);
	CHECK(p.t != NULL);
	memcpy(p.t, file, len);
	eh = (void *)p.t;
	sh = (void *)(p.t + eh->e_shoff);
	ph = (void *)(p.t + eh->e_phoff);
	bad[0] = 0;
	bad[1] = 1;
	bad[2] = len - 1;
	bad[3] = len + 1;
	bad[4] = 0xffffffffULL;
	bad[5] = UINT64_MAX - 63;
	bad[6] = UINT64_MAX;

	for (size_t b = 0; b < nb; b++) {
		PATCH(&p, eh->e_shoff, bad[b]);
		PATCH(&p, eh->e_phoff, bad[b]);
		CHECK_I64(PATCH(&p, eh->e_entry, bad[b]), 0);
		PATCH(&p, eh->e_shnum, bad[b]);
		PATCH(&p, eh->e_phnum, bad[b]);
		PATCH(&p, eh->e_shstrndx, bad[b]);
		PATCH(&p, eh->e_shentsize, bad[b]);
		PATCH(&p, eh->e_phentsize, bad[b]);
		PATCH(&p, eh->e_type, bad[b]);
	}
	/* the section header table moved to where the file ends */
	CHECK(PATCH(&p, eh->e_shoff, len - 64) < 0);
	CHECK(PATCH(&p, eh->e_shnum, eh->e_shnum + 1) < 0);

	for (int i = 0; i < eh->e_shnum; i++) {
		bool nobits = sh[i].sh_type == SHT_NOBITS || sh[i].sh_type == SHT_NULL;
		bool read = false;

		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			read |= sh[i].sh_type == types[k];
		for (size_t b = 0; b < nb; b++) {
			/* sections we never read are only checked for bounds */
			if (!read && bad[b] <= len)
				continue;
			/* names are not used to find tables: still readable */
			CHECK_I64(PATCH(&p, sh[i].sh_name, bad[b]), 0);
			/* a table past the end of the file */
			if (!nobits && bad[b] > len) {
				CHECK(PATCH(&p, sh[i].sh_offset, bad[b]) < 0);
				CHECK(PATCH(&p, sh[i].sh_size, bad[b]) < 0);
			} else {
				PATCH(&p, sh[i].sh_offset, bad[b]);
				PATCH(&p, sh[i].sh_size, bad[b]);
			}
			PATCH(&p, sh[i].sh_link, bad[b]);
			PATCH(&p, sh[i].sh_info, bad[b]);
			PATCH(&p, sh[i].sh_entsize, bad[b]);
			PATCH(&p, sh[i].sh_type, bad[b]);
		}
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			PATCH(&p, sh[i].sh_type, types[k]);
	}
	for (int i = 0; i < eh->e_phnum; i++) {
		for (size_t b = 0; b < nb; b++) {
			PATCH(&p, ph[i].p_offset, bad[b]);
			PATCH(&p, ph[i].p_filesz, bad[b]);
			PATCH(&p, ph[i].p_memsz, bad[b]);
			PATCH(&p, ph[i].p_vaddr, bad[b]);
			PATCH(&p, ph[i].p_align, bad[b]);
		}
		PATCH(&p, ph[i].p_type, PT_NOTE);
		PATCH(&p, ph[i].p_type, PT_LOAD);
	}
	/* the intact file still opens: every patch was undone */
	CHECK(!memcmp(p.t, file, len));
	free(p.t);
	free(file);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random damage where the parser looks: the headers, the dynamic symbol
 * and version tables, the notes and the section header table. */
TEST(elf_malformed_random)
{
	struct { uint64_t off, len; } zones[8];
	struct libc_info li;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	unsigned char *file, *t;
	int nz = 0, opened = 0;
	size_t len;

	get_libc(&li);
	read_whole(li.path, &file, &len);
	eh = (const void *)file;
	sh = (const void *)(file + eh->e_shoff);
	zones[nz].off = 0;
	zones[nz++].len = eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr);
	zones[nz].off = eh->e_shoff;
	zones[nz++].len = eh->e_shnum * sizeof(Elf64_Shdr);
	for (int i = 0; i < eh->e_shnum && nz < 8; i++) {
		switch (sh[i].sh_type) {
		case SHT_DYNSYM: case SHT_GNU_versym: case SHT_GNU_verdef:
		case SHT_GNU_verneed: case SHT_NOTE:
			zones[nz].off = sh[i].sh_offset;
			zones[nz++].len = sh[i].sh_size;
		}
	}
	t = malloc(len);
	CHECK(t != NULL);
	for (int iter = 0; iter < 400; iter++) {
		int flips = 1 + rng() % 8, err;

		memcpy(t, file, len);
		for (int f = 0; f < flips; f++) {
			int z = rng() % nz;
			uint64_t at = zones[z].off + rng() % zones[z].len;

			t[at] = rng() & 1 ? (unsigned char)rng() : t[at] ^ (1u << rng() % 8);
		}
		err = try_open(t, len);
		opened += !err;
	}
	/* most single-field damage is harmless to the parts we read */
	CHECK(opened > 0);
	free(t);
	free(file);
}

/* Code bytes are read from the file once, then from memory: the
 * collector checks stack words per record, and per-record work must not
 * touch the file system (it reopened libc for every 7-byte read). */
TEST(elf_read_serves_code_from_memory_after_the_first)
{
	struct libc_info li;
	struct elf_file *ef;
	unsigned char *file, a[16], b[16];
	char tmp[] = "/tmp/gilscope-elf-XXXXXX";
	uint64_t addr, off;
	size_t len;
	int fd;

	get_libc(&li);
	read_whole(li.path, &file, &len);
	fd = mkstemp(tmp);
	CHECK(fd >= 0);
	CHECK(write(fd, file, len) == (ssize_t)len);
	close(fd);
	CHECK_I64(elf_file__open(tmp, &ef), 0);
	addr = loader_addr(&li, "pthread_mutex_lock", NULL);
	CHECK_I64(elf_file__read(ef, addr, a, sizeof(a)), sizeof(a));
	/* the file is gone: reads of the same segment still answer */
	CHECK(unlink(tmp) == 0);
	CHECK_I64(elf_file__read(ef, addr, b, sizeof(b)), sizeof(b));
	CHECK(!memcmp(a, b, sizeof(a)));
	addr = loader_addr(&li, "pthread_cond_signal", NULL);
	CHECK_I64(elf_file__read(ef, addr, b, sizeof(b)), sizeof(b));
	CHECK_I64(elf_file__vaddr_to_offset(ef, addr, &off), 0);
	CHECK(!memcmp(b, file + off, sizeof(b)));
	elf_file__close(ef);
	free(file);
}
