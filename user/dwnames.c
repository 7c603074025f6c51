// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include "debuginfo.h"
#include "dwnames.h"
#include "grow.h"
#include "proc.h"
#include "symindex.h"

#define MAX_TYPE_DEPTH	16	/* members and elements followed into a variable */
#define MAX_DIMS	8

struct var_ent {
	uint64_t addr;		/* runtime */
	Dwarf_Off die;
};

struct dwnames_mod {
	struct dwnames *d;
	Dwfl_Module *mod;
	struct proc_map map;	/* a copy, for proc_map_path(); map.path owned */
	char *file;		/* the path as the target sees it, without " (deleted)" */
	uint64_t bias, low, high;
	int err;		/* the module cannot be used: no file, or libdwfl's bias is not ours */
	/* the debug file found by dwnames__preload(), until libdwfl asks */
	bool debug_searched;
	int debug_fd;
	char *debug_path;
	/* the symbols libdwfl reads, indexed by runtime address */
	int syms_err;		/* 1: not read yet */
	struct elf_sym *syms;
	size_t nr_syms;
	char **owned;		/* names made from "name@VER", "name.lto_priv.0" */
	size_t nr_owned, cap_owned;
	struct symindex index;
	/* variables with a fixed address, by address (data names) */
	int vars_err;		/* 1: not read yet */
	struct var_ent *vars;
	size_t nr_vars, cap_vars;
};

struct dwnames {
	pid_t pid;
	Dwfl *dwfl;
	struct debuginfo_where where;
	char root[64];
	struct dwnames_mod **mods;
	size_t nr_mods, cap_mods;
};

static bool has_section(Elf *elf, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (gelf_getshdr(scn, &sh) && (n = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    !strcmp(n, name))
			return true;
	}
	return false;
}

/*
 * libdwfl's find_elf: the load's file, opened as the symboliser opens it
 * (which has checked it with elf_syms.c's bounds checks before it asks
 * for a module).  The Elf is handed over mapped (ELF_C_READ_MMAP) and
 * its descriptor closed, so that a session holding a hundred libraries
 * does not hold a hundred descriptors.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct dwnames_mod *dm = *userdata;
	char path[PATH_MAX + 64];
	struct stat st;
	Elf *elf;
	int fd;

	(void)mod;
	(void)modname;
	(void)base;
	*elfp = NULL;
	if (!dm || proc_map_path(dm->d->pid, &dm->map, path, sizeof(path)))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_cntl(elf, ELF_C_FDDONE)) {
		elf_end(elf);
		elf = NULL;
	}
	close(fd);
	if (!elf)
		return -1;
	*file_name = strdup(path);
	*elfp = elf;
	return -1;
}

/* Looks for the main file's debug file: once. */
static void search_debug(struct dwnames_mod *dm, Elf *main_elf)
{
	struct debuginfo_want want = { .file = dm->file };
	const unsigned char *id = NULL;
	GElf_Addr vaddr;
	GElf_Word crc = 0;
	int n;

	if (dm->debug_searched)
		return;
	dm->debug_searched = true;
	n = dwfl_module_build_id(dm->mod, &id, &vaddr);
	if (n > 0) {
		want.build_id = id;
		want.build_id_len = n;
	}
	want.debuglink = dwelf_elf_gnu_debuglink(main_elf, &crc);
	want.crc = crc;
	dm->debug_fd = debuginfo_open(&dm->d->where, &want, &dm->debug_path);
}

/*
 * libdwfl's find_debuginfo: for the module's own debug file (what
 * dwnames__preload() found, or a search now), or - asked again with a
 * dwz file's name from .gnu_debugaltlink, never a plain debuglink name -
 * for the dwz file of @file_name.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct dwnames_mod *dm = *userdata;
	Dwarf_Addr bias;
	int fd;

	(void)modname;
	(void)base;
	if (!dm)
		return -1;
	if (debuglink_file && !debuglink_crc && strchr(debuglink_file, '/')) {
		fd = file_name ? debuginfo_open_alt(&dm->d->where, file_name,
						    debuginfo_file_name) : -1;
		return fd < 0 ? -1 : fd;
	}
	if (!dm->debug_searched) {
		Elf *elf = dwfl_module_getelf(mod, &bias);

		if (!elf)
			return -1;
		search_debug(dm, elf);
	}
	fd = dm->debug_fd;
	if (fd < 0)
		return -1;
	/* libdwfl owns them now */
	dm->debug_fd = -1;
	*debuginfo_file_name = dm->debug_path;
	dm->debug_path = NULL;
	return fd;
}

static char *no_debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &no_debuginfo_path,
};

int dwnames__new(pid_t pid, const char *debug_dirs, struct dwnames **out)
{
	struct dwnames *d = calloc(1, sizeof(*d));
	int err;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->pid = pid;
	err = debuginfo_where__init(&d->where, pid, debug_dirs, d->root, sizeof(d->root));
	if (err) {
		free(d);
		return err;
	}
	d->dwfl = dwfl_begin(&callbacks);
	if (!d->dwfl) {
		debuginfo_where__free(&d->where);
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

static void mod_free(struct dwnames_mod *dm)
{
	symindex__free(&dm->index);
	for (size_t i = 0; i < dm->nr_owned; i++)
		free(dm->owned[i]);
	free(dm->owned);
	free(dm->syms);
	free(dm->vars);
	if (dm->debug_fd >= 0)
		close(dm->debug_fd);
	free(dm->debug_path);
	free(dm->map.path);
	free(dm->file);
	free(dm);
}

void dwnames__free(struct dwnames *d)
{
	if (!d)
		return;
	/* the modules' files and debug files go with the session */
	dwfl_end(d->dwfl);
	for (size_t i = 0; i < d->nr_mods; i++)
		mod_free(d->mods[i]);
	free(d->mods);
	debuginfo_where__free(&d->where);
	free(d);
}

struct dwnames_mod *dwnames__module(struct dwnames *d, const struct proc_map *m,
				    uint64_t bias, const struct elf_segment *segs, size_t nr)
{
	struct dwnames_mod *dm;
	uint64_t low, high = 0;
	char *name;
	size_t n;
	void **ud;

	if (!nr || m->path[0] != '/')
		return NULL;
	/* where libdwfl will place the file: its first PT_LOAD's p_vaddr
	 * rounded down to p_align, so that its bias comes out as ours */
	low = bias + (segs[0].vaddr & -segs[0].align);
	for (size_t i = 0; i < nr; i++)
		if (bias + segs[i].vaddr + segs[i].memsz > high)
			high = bias + segs[i].vaddr + segs[i].memsz;
	if (high <= low)
		return NULL;
	for (size_t i = 0; i < d->nr_mods; i++) {
		dm = d->mods[i];
		if (dm->low == low && dm->high == high && dm->bias == bias &&
		    dm->map.inode == m->inode && !strcmp(dm->map.path, m->path))
			return dm->err ? NULL : dm;
	}
	if (GROW_ARRAY(d->mods, d->cap_mods, d->nr_mods + 1, 16))
		return NULL;
	dm = calloc(1, sizeof(*dm));
	if (!dm)
		return NULL;
	dm->d = d;
	dm->bias = bias;
	dm->low = low;
	dm->high = high;
	dm->debug_fd = -1;
	dm->syms_err = 1;
	dm->vars_err = 1;
	dm->map = *m;
	dm->map.path = strdup(m->path);
	dm->file = strdup(m->path);
	if (!dm->map.path || !dm->file) {
		mod_free(dm);
		return NULL;
	}
	n = strlen(dm->file);
	if (n > strlen(PROC_DELETED) && !strcmp(dm->file + n - strlen(PROC_DELETED), PROC_DELETED))
		dm->file[n - strlen(PROC_DELETED)] = 0;
	/* libdwfl knows a module by name and range: the inode in the name
	 * keeps a file replaced and mapped at the same place apart */
	if (asprintf(&name, "%s#%" PRIu64, dm->map.path, (uint64_t)m->inode) < 0) {
		mod_free(dm);
		return NULL;
	}
	dwfl_report_begin_add(d->dwfl);
	dm->mod = dwfl_report_module(d->dwfl, name, low, high);
	dwfl_report_end(d->dwfl, NULL, NULL);
	free(name);
	if (!dm->mod || !dwfl_module_info(dm->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL) ||
	    *ud) {
		mod_free(dm);
		return NULL;
	}
	*ud = dm;
	d->mods[d->nr_mods++] = dm;
	return dm;
}

/* The module's file, opened by libdwfl through find_elf; -ENOENT when it
 * cannot be, or when libdwfl's idea of the bias is not the maps'. */
static int mod_elf(struct dwnames_mod *dm, Elf **elf)
{
	Dwarf_Addr bias;

	if (dm->err)
		return dm->err;
	*elf = dwfl_module_getelf(dm->mod, &bias);
	if (!*elf) {
		dm->err = -ENOENT;
		return dm->err;
	}
	if (bias != dm->bias) {
		dm->err = -EINVAL;
		return dm->err;
	}
	return 0;
}

void dwnames__preload(struct dwnames_mod *dm)
{
	Elf *elf;

	if (!dm || mod_elf(dm, &elf))
		return;
	/* a file with its own DWARF needs no debug file */
	if (!has_section(elf, ".debug_info"))
		search_debug(dm, elf);
	/* the first line looked up reads the module's DWARF (100 ms for
	 * python3.11's debug file): now, at the attach, not while records
	 * queue behind it */
	if (has_section(elf, ".debug_info") || dm->debug_path) {
		char buf[64];

		dwnames__line(dm, dm->low, buf, sizeof(buf));
	}
}

static int keep_name(struct dwnames_mod *dm, char *copy)
{
	if (GROW_ARRAY(dm->owned, dm->cap_owned, dm->nr_owned + 1, 64)) {
		free(copy);
		return -ENOMEM;
	}
	dm->owned[dm->nr_owned++] = copy;
	return 0;
}

/* "name@VER" (a compat version) and "name@@VER" (the default), as GNU ld
 * writes versioned names into .symtab: the name and its version. */
static int split_version(struct dwnames_mod *dm, struct elf_sym *e, const char *at)
{
	size_t pos = at - e->name;
	char *copy = strdup(e->name);

	if (!copy || keep_name(dm, copy))
		return -ENOMEM;
	copy[pos] = 0;
	e->name = copy;
	e->hidden_version = at[1] != '@';
	e->version = copy + pos + (e->hidden_version ? 1 : 2);
	if (!e->version[0])
		e->version = NULL;
	return 0;
}

/*
 * GCC's LTO renames the static functions it makes private to a
 * partition: take_gil becomes take_gil.lto_priv.0 (and its cold part
 * take_gil.lto_priv.0.cold).  The same function, under the name its
 * source and gdb give it; .cold, .constprop.N, .isra.N and .part.N stay:
 * they are other code than the function's body.
 */
static int drop_lto_suffix(struct dwnames_mod *dm, struct elf_sym *e)
{
	const char *p = strstr(e->name, ".lto_priv."), *q;
	char *copy;

	if (!p)
		return 0;
	q = p + strlen(".lto_priv.");
	if (!isdigit((unsigned char)*q))
		return 0;
	while (isdigit((unsigned char)*q))
		q++;
	if (asprintf(&copy, "%.*s%s", (int)(p - e->name), e->name, q) < 0)
		return -ENOMEM;
	if (keep_name(dm, copy))
		return -ENOMEM;
	e->name = copy;
	return 0;
}

static int read_syms(struct dwnames_mod *dm)
{
	Elf *elf;
	int n, err;

	err = mod_elf(dm, &elf);
	if (err)
		return err;
	n = dwfl_module_getsymtab(dm->mod);
	if (n <= 0)
		return -ENOENT;
	dm->syms = calloc(n, sizeof(*dm->syms));
	if (!dm->syms)
		return -ENOMEM;
	for (int i = 1; i < n; i++) {
		struct elf_sym *e = &dm->syms[dm->nr_syms];
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name, *at;
		GElf_Sym s;
		int kind;

		name = dwfl_module_getsym_info(dm->mod, i, &s, &addr, &shndx, NULL, NULL);
		if (!name || !name[0] || !s.st_value || s.st_shndx == SHN_UNDEF ||
		    s.st_shndx == SHN_ABS || s.st_shndx == SHN_COMMON || shndx == (GElf_Word)-1)
			continue;
		switch (GELF_ST_TYPE(s.st_info)) {
		case STT_FUNC:
		case STT_GNU_IFUNC:
			kind = ELF_SYM_FUNC;
			break;
		case STT_OBJECT:
			kind = ELF_SYM_OBJECT;
			break;
		default:	/* STT_TLS values are offsets, not addresses */
			continue;
		}
		memset(e, 0, sizeof(*e));
		e->name = name;
		e->addr = addr;
		e->size = s.st_size;
		e->kind = kind;
		e->bind = GELF_ST_BIND(s.st_info);
		if ((at = strchr(name + 1, '@'))) {
			err = split_version(dm, e, at);
			if (err)
				return err;
		}
		err = drop_lto_suffix(dm, e);
		if (err)
			return err;
		dm->nr_syms++;
	}
	return symindex__build(&dm->index, dm->syms, dm->nr_syms);
}

int dwnames__sym(struct dwnames_mod *dm, uint64_t addr, int kind, struct elf_sym *sym)
{
	const struct elf_sym *e;

	if (dm->syms_err > 0)
		dm->syms_err = read_syms(dm);
	if (dm->syms_err)
		return -ENOENT;
	e = symindex__lookup(&dm->index, addr, kind);
	if (!e)
		return -ENOENT;
	*sym = *e;
	return 0;
}

/*
 * The outermost inlined call inside the function holding @pc, searched
 * from the CU down the scopes whose ranges hold it (@in_func: below the
 * function's DIE).  dwarf_getscopes() would find it too, but also walks
 * again for the inlined function's abstract DIE, which gilscope does not
 * need, and leaks its array when that is not found (elfutils 0.188).
 */
static bool outer_inline(Dwarf_Die *parent, Dwarf_Addr pc, bool in_func, Dwarf_Die *call,
			 int depth)
{
	Dwarf_Die c;

	if (depth > 64 || dwarf_child(parent, &c))
		return false;
	do {
		int tag = dwarf_tag(&c);

		switch (tag) {
		case DW_TAG_subprogram:
		case DW_TAG_lexical_block:
		case DW_TAG_inlined_subroutine:
			if (dwarf_haspc(&c, pc) <= 0)
				continue;
			if (tag == DW_TAG_inlined_subroutine && in_func) {
				*call = c;
				return true;
			}
			return outer_inline(&c, pc, in_func || tag == DW_TAG_subprogram, call,
					    depth + 1);
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
			/* C++: functions defined inside a namespace or a class */
			if (!in_func && outer_inline(&c, pc, false, call, depth + 1))
				return true;
			continue;
		default:
			continue;
		}
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

/*
 * Inside code inlined into the function, the line of the outermost
 * inlined call: __lll_lock_wait+0x2b is lowlevellock.c:49, where it
 * calls futex_wait, not futex-internal.h:146 inside futex_wait - the
 * line in the source of the function the name gives.
 */
static int call_line(struct dwnames_mod *dm, uint64_t addr, char *buf, size_t len)
{
	Dwarf_Die *cudie, call, cu;
	Dwarf_Attribute at;
	Dwarf_Word file, line;
	Dwarf_Files *files;
	Dwarf_Addr bias;
	const char *src, *base;
	size_t nfiles;

	cudie = dwfl_module_addrdie(dm->mod, addr, &bias);
	if (!cudie || !outer_inline(cudie, addr - bias, false, &call, 0))
		return -ENOENT;
	if (!dwarf_diecu(&call, &cu, NULL, NULL) ||
	    !dwarf_attr(&call, DW_AT_call_file, &at) || dwarf_formudata(&at, &file) ||
	    !dwarf_attr(&call, DW_AT_call_line, &at) || dwarf_formudata(&at, &line) || !line ||
	    dwarf_getsrcfiles(&cu, &files, &nfiles) || file >= nfiles ||
	    !(src = dwarf_filesrc(files, file, NULL, NULL)))
		return -ENOENT;
	base = strrchr(src, '/');
	snprintf(buf, len, "%s:%" PRIu64, base ? base + 1 : src, (uint64_t)line);
	return 0;
}

int dwnames__line(struct dwnames_mod *dm, uint64_t addr, char *buf, size_t len)
{
	const char *src, *base;
	Dwfl_Line *line;
	Elf *elf;
	int lineno = 0;

	if (mod_elf(dm, &elf))
		return -ENOENT;
	if (!call_line(dm, addr, buf, len))
		return 0;
	line = dwfl_module_getsrc(dm->mod, addr);
	if (!line)
		return -ENOENT;
	src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	if (!src || !src[0] || lineno <= 0)
		return -ENOENT;
	base = strrchr(src, '/');
	snprintf(buf, len, "%s:%d", base ? base + 1 : src, lineno);
	return 0;
}

/* ---- data names: a variable's type, followed to the address ---- */

/* DW_OP_addr ADDR, the location of a variable with a fixed address. */
static bool fixed_address(Dwarf_Die *die, uint64_t *addr)
{
	Dwarf_Attribute at;
	Dwarf_Block b;

	if (!dwarf_attr(die, DW_AT_location, &at) || dwarf_formblock(&at, &b) ||
	    b.length != 9 || b.data[0] != DW_OP_addr)
		return false;
	memcpy(addr, b.data + 1, 8);
	return true;
}

static void add_vars(struct dwnames_mod *dm, Dwarf_Die *parent, Dwarf_Addr bias, int depth)
{
	Dwarf_Die die;

	if (dwarf_child(parent, &die))
		return;
	do {
		int tag = dwarf_tag(&die);
		uint64_t addr;

		if (tag == DW_TAG_variable && fixed_address(&die, &addr)) {
			if (GROW_ARRAY(dm->vars, dm->cap_vars, dm->nr_vars + 1, 256))
				return;
			dm->vars[dm->nr_vars].addr = addr + bias;
			dm->vars[dm->nr_vars].die = dwarf_dieoffset(&die);
			dm->nr_vars++;
		} else if ((tag == DW_TAG_namespace || tag == DW_TAG_module) && depth < 8) {
			add_vars(dm, &die, bias, depth + 1);
		}
	} while (dwarf_siblingof(&die, &die) == 0);
}

static int cmp_var(const void *a, const void *b)
{
	const struct var_ent *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Every CU's top-level variables with a fixed address: once a module. */
static int read_vars(struct dwnames_mod *dm, Dwarf **dwp, Dwarf_Addr *biasp)
{
	Dwarf_Off off = 0, next;
	Dwarf *dw;
	size_t hsize;
	Elf *elf;

	if (mod_elf(dm, &elf))
		return -ENOENT;
	dw = dwfl_module_getdwarf(dm->mod, biasp);
	if (!dw)
		return -ENOENT;
	*dwp = dw;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu))
			add_vars(dm, &cu, *biasp, 0);
		off = next;
	}
	if (!dm->nr_vars)
		return -ENOENT;
	qsort(dm->vars, dm->nr_vars, sizeof(*dm->vars), cmp_var);
	return 0;
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute at;

	return dwarf_attr_integrate(die, DW_AT_type, &at) && dwarf_formref_die(&at, type);
}

/* A bound of subrange @sub, signed or not as its index type says. */
static int bound(Dwarf_Die *sub, unsigned name, int64_t *v)
{
	Dwarf_Attribute at, enc_at;
	Dwarf_Die type;
	Dwarf_Word enc, u;
	Dwarf_Sword s;

	if (!dwarf_attr_integrate(sub, name, &at))
		return -ENOENT;
	if (type_of(sub, &type) && dwarf_attr(&type, DW_AT_encoding, &enc_at) &&
	    !dwarf_formudata(&enc_at, &enc) && enc != DW_ATE_signed && enc != DW_ATE_signed_char) {
		if (dwarf_formudata(&at, &u))
			return -EINVAL;
		*v = (int64_t)u;
		return 0;
	}
	if (dwarf_formsdata(&at, &s))
		return -EINVAL;
	*v = s;
	return 0;
}

/* The number of elements of one dimension; 0 when not known (a flexible
 * or variable-length array). */
static uint64_t dim_count(Dwarf_Die *sub)
{
	Dwarf_Attribute at;
	Dwarf_Word count;
	int64_t upper, lower = 0;

	if (dwarf_attr_integrate(sub, DW_AT_count, &at))
		return dwarf_formudata(&at, &count) ? 0 : count;
	if (bound(sub, DW_AT_upper_bound, &upper))
		return 0;
	/* C and C++ index from 0; another lower bound is another notation */
	if (dwarf_hasattr_integrate(sub, DW_AT_lower_bound) &&
	    (bound(sub, DW_AT_lower_bound, &lower) || lower))
		return 0;
	return upper >= 0 ? (uint64_t)upper + 1 : 0;
}

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (size_t)n < len - *pos ? *pos + n : len;
}

/* Into array @arr at *@off: "[i]" (a "[i][j]" for each dimension), the
 * offset left inside the element, and its type.  0 or -1 (stop here). */
static int array_step(Dwarf_Die *arr, uint64_t *off, Dwarf_Die *elem, char *buf,
		      size_t len, size_t *pos)
{
	uint64_t count[MAX_DIMS], stride[MAX_DIMS], idx[MAX_DIMS], left = *off;
	Dwarf_Word esize;
	Dwarf_Die sub;
	int nd = 0;

	if (!type_of(arr, elem) || dwarf_aggregate_size(elem, &esize) || !esize ||
	    dwarf_child(arr, &sub))
		return -1;
	do {
		if (dwarf_tag(&sub) != DW_TAG_subrange_type)
			continue;
		if (nd == MAX_DIMS)
			return -1;
		count[nd++] = dim_count(&sub);
	} while (dwarf_siblingof(&sub, &sub) == 0);
	if (!nd)
		return -1;
	stride[nd - 1] = esize;
	for (int i = nd - 2; i >= 0; i--) {
		if (!count[i + 1] || stride[i + 1] > UINT64_MAX / count[i + 1])
			return -1;
		stride[i] = stride[i + 1] * count[i + 1];
	}
	for (int i = 0; i < nd; i++) {
		idx[i] = left / stride[i];
		if (count[i] && idx[i] >= count[i])
			return -1;	/* past its end: not this array's */
		left -= idx[i] * stride[i];
	}
	for (int i = 0; i < nd; i++)
		append(buf, len, pos, "[%" PRIu64 "]", idx[i]);
	*off = left;
	return 0;
}

/* Names the implementation keeps for itself (__data, _M_mutex): a lock's
 * insides, not what a program names. */
static bool reserved(const char *name)
{
	return name[0] == '_' && (name[1] == '_' || isupper((unsigned char)name[1]));
}

static bool member_offset(Dwarf_Die *m, uint64_t *loc)
{
	Dwarf_Attribute at;
	Dwarf_Word u;
	Dwarf_Block b;

	*loc = 0;
	if (!dwarf_attr(m, DW_AT_data_member_location, &at))
		return true;	/* a union's member, or the first */
	if (!dwarf_formudata(&at, &u)) {
		*loc = u;
		return true;
	}
	/* DWARF 2's DW_OP_plus_uconst N */
	if (!dwarf_formblock(&at, &b) && b.length >= 2 && b.data[0] == DW_OP_plus_uconst) {
		uint64_t v = 0;
		int shift = 0;

		for (size_t i = 1; i < b.length && shift < 64; i++, shift += 7) {
			v |= (uint64_t)(b.data[i] & 0x7f) << shift;
			if (!(b.data[i] & 0x80))
				break;
		}
		*loc = v;
		return true;
	}
	return false;
}

/* Into struct or class @st at *@off: ".member", the offset left inside
 * it, and its type.  0, or -1 (stop here: padding, a bit-field, a
 * reserved name, or the start of a base class). */
static int member_step(Dwarf_Die *st, uint64_t *off, Dwarf_Die *next, char *buf,
		       size_t len, size_t *pos)
{
	Dwarf_Die m;

	if (dwarf_child(st, &m))
		return -1;
	do {
		int tag = dwarf_tag(&m);
		Dwarf_Die mt, peeled;
		Dwarf_Word size;
		const char *name;
		uint64_t loc;

		if ((tag != DW_TAG_member && tag != DW_TAG_inheritance) ||
		    dwarf_hasattr(&m, DW_AT_bit_size) || dwarf_hasattr(&m, DW_AT_data_bit_offset) ||
		    !member_offset(&m, &loc) || *off < loc || !type_of(&m, &mt))
			continue;
		if (dwarf_aggregate_size(&mt, &size)) {
			/* a flexible array member: as far as the object goes */
			if (dwarf_peel_type(&mt, &peeled) || dwarf_tag(&peeled) != DW_TAG_array_type)
				continue;
			size = UINT64_MAX - loc;
		}
		if (*off - loc >= size)
			continue;
		name = dwarf_diename(&m);
		if (tag == DW_TAG_inheritance) {
			if (*off == loc)
				return -1;	/* the object itself */
		} else if (name && reserved(name)) {
			return -1;
		} else if (name) {
			append(buf, len, pos, ".%s", name);
		}	/* an anonymous struct's members are the parent's */
		*off -= loc;
		*next = mt;
		return 0;
	} while (dwarf_siblingof(&m, &m) == 0);
	return -1;
}

static void describe(Dwarf_Die *var, uint64_t off, const char *name, char *buf, size_t len)
{
	Dwarf_Die type, peeled, next;
	size_t pos = 0;
	bool ok = type_of(var, &type);

	append(buf, len, &pos, "%s", name);
	for (int depth = 0; ok && depth < MAX_TYPE_DEPTH; depth++) {
		int tag;

		if (dwarf_peel_type(&type, &peeled))
			break;
		tag = dwarf_tag(&peeled);
		if (tag == DW_TAG_array_type)
			ok = !array_step(&peeled, &off, &next, buf, len, &pos);
		else if (tag == DW_TAG_structure_type || tag == DW_TAG_class_type)
			ok = !member_step(&peeled, &off, &next, buf, len, &pos);
		else
			break;	/* a union (glibc's lock types), a scalar, a pointer */
		type = next;
	}
	if (off)
		append(buf, len, &pos, "+%" PRIu64, off);
}

void dwnames__data(struct dwnames_mod *dm, uint64_t addr, const struct elf_sym *sym,
		   char *buf, size_t len)
{
	uint64_t off = addr - sym->addr;
	size_t lo = 0, hi;
	Dwarf_Addr bias;
	Dwarf_Die var;
	Dwarf *dw = NULL;

	if (dm->vars_err > 0)
		dm->vars_err = read_vars(dm, &dw, &bias);
	if (!dm->vars_err && !dw)
		dw = dwfl_module_getdwarf(dm->mod, &bias);
	hi = dm->vars_err ? 0 : dm->nr_vars;
	while (lo < hi) {	/* the first variable not below the symbol */
		size_t mid = lo + (hi - lo) / 2;

		if (dm->vars[mid].addr < sym->addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (dw && lo < dm->nr_vars && dm->vars[lo].addr == sym->addr &&
	    dwarf_offdie(dw, dm->vars[lo].die, &var)) {
		describe(&var, off, sym->name, buf, len);
		return;
	}
	if (off)
		snprintf(buf, len, "%s+%" PRIu64, sym->name, off);
	else
		snprintf(buf, len, "%s", sym->name);
}
