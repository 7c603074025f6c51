// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Address -> "module:symbol+off" for one target process.
 *
 * The file mappings of /proc/PID/maps are grouped into loads: one load is
 * one mapped instance of an ELF file (a library opened twice with
 * dlmopen() gives two).  A load's bias - runtime address minus link-time
 * address - comes from its mapping with the lowest file offset and the
 * PT_LOAD that covers that offset.  With it, an address resolves to a
 * load when it lies inside the load's own mappings, or - for .bss, which
 * the loader places in an anonymous mapping right after the file's - when
 * it lies in anonymous mappings adjoining the load and address - bias
 * falls in one of the file's PT_LOAD [p_vaddr, p_vaddr + p_memsz).
 *
 * ELF files are opened through /proc/PID/root, so a target in another
 * mount namespace (a container) resolves against its own files, and are
 * cached by path for the symboliser's life.  elf_syms.c reads them for
 * the loads' biases, code bytes and symbol addresses; names come from
 * libdwfl (dwnames.c: debug files, MiniDebugInfo, source lines,
 * variables' types), from elf_syms.c's own tables where libdwfl cannot
 * read a file, and from perf map files for code no file holds (JITs).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dwnames.h"
#include "elf_syms.h"
#include "perfmap.h"
#include "proc.h"
#include "symbolize.h"

#define NO_LOAD		SIZE_MAX

struct sym_module {
	char *path;		/* as /proc/PID/maps prints it: the cache key */
	char *name;		/* basename, without " (deleted)" */
	struct elf_file *ef;	/* NULL until opened, or when it cannot be */
	int err;		/* why it cannot be: tried once, not per lookup */
	size_t last_load;	/* while grouping mappings into loads */
};

struct sym_load {
	size_t mod;		/* index in symbolizer.mods */
	size_t first;		/* index in pm.maps of the lowest file offset */
	uint64_t start;		/* of its first mapping */
	uint64_t max_offset;	/* highest file offset seen, for grouping */
	uint64_t bias;
	int bias_err;		/* 1 until computed, then 0 or -errno */
	struct dwnames_mod *dm;	/* libdwfl's module for it */
	int dm_err;		/* 1 until asked for, then 0 or -errno */
};

struct symbolizer {
	pid_t pid;
	uint64_t page_size;
	struct proc_maps pm;
	size_t *map_load;	/* per pm.maps entry: its load or NO_LOAD */
	struct sym_load *loads;	/* in address order of their first mapping */
	size_t nr_loads;
	struct sym_module *mods;
	size_t nr_mods;
	char exe[PATH_MAX];	/* readlink /proc/PID/exe, "" if unknown */
	uint64_t exe_ino;
	const volatile uint64_t *maps_gen;	/* symbolizer__watch_maps() */
	uint64_t read_gen;	/* *maps_gen when maps were last read */
	struct dwnames *dw;	/* libdwfl's session, made on first use */
	int dw_err;		/* 1 until made, then 0 or -errno */
	char *debug_dirs;	/* symbolizer__set_debug_dirs(), else NULL */
	struct perfmap *perfmap;	/* made on the first anonymous code address */
};

static bool is_file_map(const struct proc_map *m)
{
	/* "", "[heap]", "[vdso]", "[anon:...]" are not files */
	return m->path[0] == '/';
}

static bool is_deleted(const char *path)
{
	size_t n = strlen(path), d = strlen(PROC_DELETED);

	return n > d && !strcmp(path + n - d, PROC_DELETED);
}

static int add_module(struct symbolizer *s, const char *path, size_t *out)
{
	struct sym_module *mods, *m;
	const char *base;

	for (size_t i = 0; i < s->nr_mods; i++) {
		if (!strcmp(s->mods[i].path, path)) {
			*out = i;
			return 0;
		}
	}
	mods = realloc(s->mods, (s->nr_mods + 1) * sizeof(*mods));
	if (!mods)
		return -ENOMEM;
	s->mods = mods;
	m = &s->mods[s->nr_mods];
	memset(m, 0, sizeof(*m));
	m->err = 1;	/* not tried yet */
	m->last_load = NO_LOAD;
	m->path = strdup(path);
	base = strrchr(path, '/') + 1;
	m->name = strdup(base);
	if (!m->path || !m->name) {
		free(m->path);
		free(m->name);
		return -ENOMEM;
	}
	if (is_deleted(m->name))
		m->name[strlen(m->name) - strlen(PROC_DELETED)] = 0;
	*out = s->nr_mods++;
	return 0;
}

/*
 * Groups the file mappings into loads.  The loader maps a file's segments
 * in increasing file offset order, so a mapping of the same path whose
 * offset does not go beyond the previous one's starts another instance.
 */
static int build_loads(struct symbolizer *s)
{
	struct sym_load *loads = NULL;
	size_t *map_load = NULL;
	size_t nr = 0;
	int err = 0;

	if (s->pm.nr) {
		map_load = calloc(s->pm.nr, sizeof(*map_load));
		loads = calloc(s->pm.nr, sizeof(*loads));
		if (!map_load || !loads) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	for (size_t i = 0; i < s->nr_mods; i++)
		s->mods[i].last_load = NO_LOAD;
	for (size_t i = 0; i < s->pm.nr; i++) {
		const struct proc_map *m = &s->pm.maps[i];
		struct sym_module *mod;
		size_t mi, li;

		map_load[i] = NO_LOAD;
		if (!is_file_map(m))
			continue;
		err = add_module(s, m->path, &mi);
		if (err)
			goto cleanup;
		mod = &s->mods[mi];
		li = mod->last_load;
		/* RELRO splits the data PT_LOAD: one file page can be mapped twice in a row */
		if (li == NO_LOAD || m->offset < loads[li].max_offset) {
			li = nr++;
			loads[li].mod = mi;
			loads[li].first = i;
			loads[li].start = m->start;
			loads[li].bias_err = 1;
			loads[li].dm_err = 1;
			mod->last_load = li;
		}
		loads[li].max_offset = m->offset;
		map_load[i] = li;
	}
cleanup:
	if (err) {
		free(map_load);
		free(loads);
		return err;
	}
	free(s->map_load);
	free(s->loads);
	s->map_load = map_load;
	s->loads = loads;
	s->nr_loads = nr;
	return 0;
}

/* Re-reads /proc/PID/maps, for libraries loaded since the last read.  A
 * process that has exited keeps its last snapshot. */
static int refresh(struct symbolizer *s)
{
	struct proc_maps pm, old = s->pm;
	int err;

	err = proc_maps__read(s->pid, &pm);
	if (err)
		return err;
	/* a process that exited but is not yet reaped has no mappings: what
	 * it had is still the best we know (a report made after its exit,
	 * such as --summary's, names its addresses from them) */
	if (!pm.nr) {
		proc_maps__free(&pm);
		return -ESRCH;
	}
	s->pm = pm;
	err = build_loads(s);
	if (err) {
		s->pm = old;
		proc_maps__free(&pm);
		return err;
	}
	proc_maps__free(&old);
	return 0;
}

/* The mapping holding @addr, reading maps again on a miss unless this
 * call already has (*reread). */
static const struct proc_map *find_map(struct symbolizer *s, uint64_t addr, bool *reread)
{
	const struct proc_map *m = proc_maps__find(&s->pm, addr);
	uint64_t gen;

	if (m || *reread)
		return m;
	*reread = true;
	if (s->maps_gen) {
		/* nothing mapped since the last read: it is not mapped */
		gen = *s->maps_gen;
		if (gen == s->read_gen)
			return NULL;
		s->read_gen = gen;
	}
	if (refresh(s))
		return NULL;
	return proc_maps__find(&s->pm, addr);
}

void symbolizer__watch_maps(struct symbolizer *s, const volatile uint64_t *gen)
{
	s->maps_gen = gen;
	/* the maps were read at symbolizer__new(), perhaps before the count
	 * began: the first miss reads them again */
	s->read_gen = ~0ULL;
}

static int open_module(struct symbolizer *s, struct sym_module *mod,
		       const struct proc_map *m)
{
	char path[PATH_MAX + 64];
	int err;

	if (mod->err <= 0)
		return mod->err;
	/* a container's, a chroot's, or a file deleted since it was mapped */
	err = proc_map_path(s->pid, m, path, sizeof(path));
	err = err ?: elf_file__open(path, &mod->ef);
	mod->err = err;
	return err;
}

/* Opens the load's file and works out its bias; 0 or -errno. */
static int load_ready(struct symbolizer *s, struct sym_load *l, struct elf_file **ef)
{
	struct sym_module *mod = &s->mods[l->mod];
	const struct proc_map *first = &s->pm.maps[l->first];
	const struct elf_segment *segs;
	uint64_t pg = s->page_size;
	size_t nr;
	int err;

	err = open_module(s, mod, first);
	if (err)
		return err;
	*ef = mod->ef;
	if (l->bias_err <= 0)
		return l->bias_err;
	l->bias_err = -ENOENT;
	if (!elf_file__is_dyn(mod->ef)) {	/* ET_EXEC: linked where it runs */
		l->bias = 0;
		l->bias_err = 0;
		return 0;
	}
	/*
	 * The loader maps each PT_LOAD from its offset rounded down to a
	 * page, at its vaddr rounded down the same way: the first PT_LOAD
	 * whose pages cover the mapping's offset says which vaddr it is.
	 */
	nr = elf_file__segments(mod->ef, &segs);
	for (size_t i = 0; i < nr; i++) {
		uint64_t off = segs[i].offset & ~(pg - 1);
		uint64_t vaddr = segs[i].vaddr & ~(pg - 1);

		if (first->offset < off ||
		    first->offset >= segs[i].offset + segs[i].filesz)
			continue;
		l->bias = first->start - (vaddr + (first->offset - off));
		l->bias_err = 0;
		break;
	}
	return l->bias_err;
}

/* @vaddr lies in a PT_LOAD's memory image (file part or .bss). */
static bool in_segments(struct elf_file *ef, uint64_t vaddr)
{
	const struct elf_segment *segs;
	size_t nr = elf_file__segments(ef, &segs);

	for (size_t i = 0; i < nr; i++)
		if (vaddr >= segs[i].vaddr && vaddr - segs[i].vaddr < segs[i].memsz)
			return true;
	return false;
}

/*
 * The load @addr (inside mapping @m) belongs to, with the file and the
 * link-time address.  An address in a file mapping belongs to that
 * mapping's load.  One in an anonymous mapping may be a load's .bss: the
 * loader maps it right after the file's last page, and it may have been
 * split since or merged into [heap], so walk back over adjoining
 * non-file mappings to the file mapping they extend, and let that
 * file's PT_LOAD ranges decide.  Looking no further keeps a lock on a
 * stack or heap from opening every library in the process.
 */
static struct sym_load *find_load(struct symbolizer *s, const struct proc_map *m,
				  uint64_t addr, struct elf_file **ef, uint64_t *vaddr)
{
	size_t i = m - s->pm.maps, li = s->map_load[i];
	struct sym_load *l;

	while (li == NO_LOAD) {
		if (!i || s->pm.maps[i - 1].end != s->pm.maps[i].start)
			return NULL;
		li = s->map_load[--i];
	}
	l = &s->loads[li];
	if (load_ready(s, l, ef))
		return NULL;
	*vaddr = addr - l->bias;
	if (i != (size_t)(m - s->pm.maps) && !in_segments(*ef, *vaddr))
		return NULL;
	return l;
}

int symbolizer__new(pid_t pid, struct symbolizer **out)
{
	struct symbolizer *s;
	char link[64];
	struct stat st;
	long pg;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pid = pid;
	s->dw_err = 1;
	pg = sysconf(_SC_PAGESIZE);
	s->page_size = pg > 0 ? pg : 4096;
	err = proc_maps__read(pid, &s->pm);
	err = err ?: build_loads(s);
	if (err)
		goto cleanup;
	/* the main executable, for symbolizer__sym_addr(s, "", ...) */
	if (proc_exe(pid, s->exe, sizeof(s->exe)))
		s->exe[0] = 0;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	if (!stat(link, &st))
		s->exe_ino = st.st_ino;
cleanup:
	if (err) {
		symbolizer__free(s);
		return err;
	}
	*out = s;
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_mods; i++) {
		elf_file__close(s->mods[i].ef);
		free(s->mods[i].path);
		free(s->mods[i].name);
	}
	free(s->mods);
	free(s->loads);
	free(s->map_load);
	proc_maps__free(&s->pm);
	dwnames__free(s->dw);
	perfmap__free(s->perfmap);
	free(s->debug_dirs);
	free(s);
}

int symbolizer__set_debug_dirs(struct symbolizer *s, const char *dirs)
{
	char *copy = dirs ? strdup(dirs) : NULL;

	if (dirs && !copy)
		return -ENOMEM;
	if (s->dw) {
		free(copy);
		return -EBUSY;
	}
	free(s->debug_dirs);
	s->debug_dirs = copy;
	return 0;
}

/* The load's module in libdwfl's session, or NULL (then names come from
 * elf_syms.c's tables). */
static struct dwnames_mod *load_dw(struct symbolizer *s, struct sym_load *l)
{
	const struct elf_segment *segs;
	struct elf_file *ef;
	size_t nr;

	if (l->dm_err <= 0)
		return l->dm;
	l->dm_err = -ENOENT;
	if (load_ready(s, l, &ef))
		return NULL;
	if (s->dw_err > 0)
		s->dw_err = dwnames__new(s->pid, s->debug_dirs, &s->dw);
	if (s->dw_err)
		return NULL;
	nr = elf_file__segments(ef, &segs);
	l->dm = dwnames__module(s->dw, &s->pm.maps[l->first], l->bias, segs, nr);
	l->dm_err = l->dm ? 0 : -ENOENT;
	return l->dm;
}

/* Where a JIT puts its code: executable anonymous memory, unnamed or
 * named by prctl (never [vdso], [vsyscall], the kernel's [uprobes]). */
static bool is_jit_map(const struct proc_map *m)
{
	return m && m->perms[2] == 'x' && (!m->path[0] || !strncmp(m->path, "[anon:", 6));
}

/* Code no file holds: a JIT's, named by its perf map, else "[unknown]". */
static int jit_name(struct symbolizer *s, const struct proc_map *m, uint64_t addr,
		    char *buf, size_t len)
{
	const char *name, *file;
	uint64_t start;

	if (is_jit_map(m) && (s->perfmap || !perfmap__new(s->pid, &s->perfmap)) &&
	    (name = perfmap__lookup(s->perfmap, addr, &start, &file))) {
		if (addr == start)
			snprintf(buf, len, "%s:%s", file, name);
		else
			snprintf(buf, len, "%s:%s+0x%" PRIx64, file, name, addr - start);
		return 0;
	}
	snprintf(buf, len, "[unknown]");
	return -ENOENT;
}

static int code_name(struct symbolizer *s, uint64_t addr, bool with_line, char *buf,
		     size_t len)
{
	struct dwnames_mod *dm = NULL;
	const struct proc_map *m;
	struct elf_file *ef;
	struct sym_load *l;
	struct elf_sym sym;
	bool reread = false, found = false;
	uint64_t vaddr, off = 0;
	char line[256];
	size_t li;

	m = find_map(s, addr, &reread);
	li = m ? s->map_load[m - s->pm.maps] : NO_LOAD;
	if (li == NO_LOAD)	/* unmapped, or anonymous code (a JIT's) */
		return jit_name(s, m, addr, buf, len);
	l = find_load(s, m, addr, &ef, &vaddr);
	if (l) {
		dm = load_dw(s, l);
		if (dm && !dwnames__sym(dm, addr, ELF_SYM_FUNC, &sym)) {
			off = addr - sym.addr;
			found = true;
		} else if (!elf_file__addr_to_sym(ef, vaddr, ELF_SYM_FUNC, &sym)) {
			off = vaddr - sym.addr;
			found = true;
		}
	}
	if (!found) {
		/* a file offset stays meaningful without symbols (addr2line -e) */
		snprintf(buf, len, "%s+0x%" PRIx64, s->mods[s->loads[li].mod].name,
			 m->offset + (addr - m->start));
		return -ENOENT;
	}
	if (!off)
		snprintf(buf, len, "%s:%s", s->mods[l->mod].name, sym.name);
	else
		snprintf(buf, len, "%s:%s+0x%" PRIx64, s->mods[l->mod].name, sym.name, off);
	/* a return address's line is its call's: the byte before it */
	if (with_line && dm && !dwnames__line(dm, off ? addr - 1 : addr, line, sizeof(line))) {
		size_t n = strlen(buf);

		if (n < len)
			snprintf(buf + n, len - n, " (%s)", line);
	}
	return 0;
}

int symbolizer__code(struct symbolizer *s, uint64_t addr, char *buf, size_t len)
{
	return code_name(s, addr, false, buf, len);
}

int symbolizer__code_line(struct symbolizer *s, uint64_t addr, char *buf, size_t len)
{
	return code_name(s, addr, true, buf, len);
}

int symbolizer__data(struct symbolizer *s, uint64_t addr, char *buf, size_t len)
{
	const struct proc_map *m;
	struct dwnames_mod *dm;
	struct elf_file *ef;
	struct sym_load *l;
	struct elf_sym sym;
	bool reread = false;
	uint64_t vaddr;
	char name[256];

	if (len)
		buf[0] = 0;
	m = find_map(s, addr, &reread);
	if (!m)
		return -ENOENT;
	l = find_load(s, m, addr, &ef, &vaddr);
	if (!l)
		return -ENOENT;
	dm = load_dw(s, l);
	if (dm && !dwnames__sym(dm, addr, ELF_SYM_OBJECT, &sym)) {
		/* "lru_locks[12]" where DWARF has the type */
		dwnames__data(dm, addr, &sym, name, sizeof(name));
		snprintf(buf, len, "%s:%s", s->mods[l->mod].name, name);
		return 0;
	}
	if (elf_file__addr_to_sym(ef, vaddr, ELF_SYM_OBJECT, &sym))
		return -ENOENT;
	if (vaddr == sym.addr)
		snprintf(buf, len, "%s:%s", s->mods[l->mod].name, sym.name);
	else
		snprintf(buf, len, "%s:%s+%" PRIu64, s->mods[l->mod].name, sym.name,
			 vaddr - sym.addr);
	return 0;
}

/* A load of the main executable: /proc/PID/exe's path, or its inode
 * should the two paths read differently. */
static bool is_exe_load(struct symbolizer *s, size_t li)
{
	const struct sym_load *l = &s->loads[li];

	if (s->exe[0] && !strcmp(s->mods[l->mod].path, s->exe))
		return true;
	return s->exe_ino && s->pm.maps[l->first].inode == s->exe_ino;
}

/* @name (FUNC or OBJECT) in load @li: its runtime address, or -ENOENT */
static int sym_in_load(struct symbolizer *s, size_t li, const char *name, uint64_t *addr)
{
	struct sym_load *l = &s->loads[li];
	struct elf_file *ef;
	struct elf_sym sym;

	if (load_ready(s, l, &ef))
		return -ENOENT;
	if (elf_file__find_sym(ef, name, ELF_SYM_FUNC, &sym) &&
	    elf_file__find_sym(ef, name, ELF_SYM_OBJECT, &sym))
		return -ENOENT;
	*addr = sym.addr + l->bias;
	return 0;
}

static int sym_addr_once(struct symbolizer *s, const char *prefix, const char *name,
			 uint64_t *addr)
{
	size_t len = strlen(prefix);
	bool any_exe = false;

	if (!len) {
		for (size_t i = 0; i < s->nr_loads && !any_exe; i++)
			any_exe = is_exe_load(s, i);
	}
	/*
	 * The first matching module that has the symbol.  Without a known
	 * executable, the first load: the kernel maps the executable before
	 * the loader maps anything, at the lowest address.
	 */
	for (size_t i = 0; i < s->nr_loads; i++) {
		if (len ? strncmp(s->mods[s->loads[i].mod].name, prefix, len) :
			  any_exe ? !is_exe_load(s, i) : i != 0)
			continue;
		if (!sym_in_load(s, i, name, addr))
			return 0;
	}
	return -ENOENT;
}

int symbolizer__sym_addr(struct symbolizer *s, const char *module_prefix,
			 const char *sym, uint64_t *addr)
{
	int err = sym_addr_once(s, module_prefix, sym, addr);

	/* perhaps a library loaded since the last read */
	if (err == -ENOENT && !refresh(s))
		err = sym_addr_once(s, module_prefix, sym, addr);
	return err;
}

/* The executable's loads first, then the others in address order: the
 * executable's own definition wins, as it does for the dynamic linker. */
static int sym_any_once(struct symbolizer *s, const char *name, uint64_t *addr)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->nr_loads; i++) {
			if (is_exe_load(s, i) != !pass)
				continue;
			if (!sym_in_load(s, i, name, addr))
				return 0;
		}
	}
	return -ENOENT;
}

int symbolizer__sym_addr_any(struct symbolizer *s, const char *sym, uint64_t *addr)
{
	int err = sym_any_once(s, sym, addr);

	if (err == -ENOENT && !refresh(s))
		err = sym_any_once(s, sym, addr);
	return err;
}

const struct proc_map *symbolizer__mapping(struct symbolizer *s, uint64_t addr)
{
	bool reread = false;

	return find_map(s, addr, &reread);
}

const char *symbolizer__module(struct symbolizer *s, uint64_t addr)
{
	bool reread = false;
	const struct proc_map *m = find_map(s, addr, &reread);
	size_t li = m ? s->map_load[m - s->pm.maps] : NO_LOAD;

	return li == NO_LOAD ? NULL : s->mods[s->loads[li].mod].name;
}

bool symbolizer__is_return(struct symbolizer *s, uint64_t addr, uint64_t *target)
{
	const struct proc_map *m;
	struct elf_file *ef;
	uint8_t b[7];
	uint64_t vaddr;
	bool reread = true;	/* stack words are guesses: never re-read maps */

	if (target)
		*target = 0;
	m = find_map(s, addr, &reread);
	if (!m || m->perms[2] != 'x' || s->map_load[m - s->pm.maps] == NO_LOAD)
		return false;
	if (!find_load(s, m, addr, &ef, &vaddr) || vaddr < sizeof(b) ||
	    elf_file__read(ef, vaddr - sizeof(b), b, sizeof(b)) != (long)sizeof(b))
		return false;
	if (target)
		*target = 0;
	if (b[2] == 0xe8) {	/* call rel32 */
		int32_t rel;

		memcpy(&rel, b + 3, 4);
		if (target)
			*target = addr + (int64_t)rel;
		return true;
	}
	/* call *disp32(%rip) | call *%reg (REX.B optional) | call *disp8(%reg) */
	return (b[1] == 0xff && b[2] == 0x15) ||
	       (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) ||
	       (b[4] == 0xff && (b[5] & 0xf8) == 0x50);
}

void symbolizer__preload(struct symbolizer *s)
{
	struct elf_file *ef;

	for (size_t i = 0; i < s->nr_loads; i++)
		if (!load_ready(s, &s->loads[i], &ef))
			dwnames__preload(load_dw(s, &s->loads[i]));
}
