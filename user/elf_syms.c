// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF symbols, segments and notes through libelf.
 *
 * The symboliser opens files of processes we do not control, and the
 * fuzzer hands us arbitrary bytes, so nothing read from the file is
 * trusted: every table is checked against the file size before libelf is
 * asked for it, chains in the version sections must move forward, and no
 * allocation is larger than a small multiple of the file size.
 *
 * A file opened by path is indexed through a descriptor (libelf's
 * ELF_C_READ reads sections with pread, on demand) which is closed once
 * the index is built, so a symboliser caching hundreds of libraries does
 * not hold hundreds of descriptors; elf_file__read() reopens the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elf_syms.h"
#include "symindex.h"

#define VERSYM_HIDDEN	0x8000
#define VERSYM_INDEX	0x7fff
#define NR_VERSIONS	(VERSYM_INDEX + 1)
#define MAX_BUILD_ID	64		/* bytes: GNU ld writes 20 (sha1) or 16 */
#define MAX_NOTES	(64 * 1024)	/* a build-id note sits near the start */

struct elf_file {
	Elf *elf;			/* kept: symbol names live in its data */
	char *image;			/* elf_file__open_mem()'s copy, else NULL */
	char *path;			/* elf_file__open()'s, for elf_file__read() */
	int fd;				/* only while indexing */
	dev_t dev;
	ino_t ino;
	uint64_t size;			/* of the image: bounds every offset */
	bool is_dyn;
	uint64_t entry;
	struct elf_segment *segs;
	size_t nr_segs;
	/* elf_file__read()'s copies of whole segments, read on first use:
	 * the collector reads code bytes for every stack word it checks, and
	 * per-record work must not open files (NULL: not read yet) */
	char **seg_bytes;
	int *seg_err;			/* a read that failed is not tried again */
	struct elf_sym *syms;		/* .symtab entries, then .dynsym ones */
	size_t nr_syms;
	size_t nr_symtab;		/* how many of them came from .symtab */
	/* by address, built on the first elf_file__addr_to_sym() */
	struct symindex index;
	int index_err;			/* 1: not built yet */
	char **owned;			/* copies of "name@VER" names, split */
	size_t nr_owned;
	char build_id[2 * MAX_BUILD_ID + 1];
};

/* [off, off + len) lies inside the image. */
static bool in_image(const struct elf_file *ef, uint64_t off, uint64_t len)
{
	return off <= ef->size && len <= ef->size - off;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)	/* shrank under us */
			return -EINVAL;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* Reads @len bytes at file offset @off; -EINVAL outside the image. */
/*
 * A target's files are opened through /proc/PID/root, which is gone once
 * the target has exited; the same file is then usually at the same path
 * in our own tree (the dev/inode check below says whether it is).
 */
static int open_again(const char *path)
{
	const char *p = path;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd >= 0 || strncmp(p, "/proc/", 6))
		return fd;
	p += 6;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "/root/", 6))
		return -1;
	return open(p + 5, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
}

static int image_read(struct elf_file *ef, uint64_t off, void *buf, size_t len)
{
	struct stat st;
	int fd, err;

	if (!in_image(ef, off, len))
		return -EINVAL;
	if (ef->image) {
		memcpy(buf, ef->image + off, len);
		return 0;
	}
	if (ef->fd >= 0)
		return pread_full(ef->fd, buf, len, off);

	fd = open_again(ef->path);
	if (fd < 0)
		return -errno;
	/* the index describes the file we opened first, not a replacement */
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (st.st_dev != ef->dev || st.st_ino != ef->ino ||
	    (uint64_t)st.st_size != ef->size) {
		err = -ESTALE;
		goto cleanup;
	}
	err = pread_full(fd, buf, len, off);
cleanup:
	close(fd);
	return err;
}

static int sym_kind(unsigned char type)
{
	switch (type) {
	case STT_FUNC:
	case STT_GNU_IFUNC:
		return ELF_SYM_FUNC;
	case STT_OBJECT:
		return ELF_SYM_OBJECT;
	default:	/* STT_TLS values are offsets, not addresses */
		return 0;
	}
}

static bool valid_kind(int kind)
{
	return kind == ELF_SYM_FUNC || kind == ELF_SYM_OBJECT;
}

static int check_ident(struct elf_file *ef)
{
	unsigned char ident[EI_NIDENT];
	int err;

	if (ef->size < EI_NIDENT)
		return -ENOEXEC;
	err = image_read(ef, 0, ident, sizeof(ident));
	if (err)
		return err;
	if (memcmp(ident, ELFMAG, SELFMAG) || ident[EI_CLASS] != ELFCLASS64)
		return -ENOEXEC;
	/* our own note parsing and the tracer's code reads assume host order */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
#else
	if (ident[EI_DATA] != ELFDATA2MSB)
		return -ENOEXEC;
#endif
	if (ef->size < sizeof(Elf64_Ehdr))
		return -EINVAL;
	return 0;
}

/*
 * The header's table sizes, checked against the file.  libelf quietly
 * shortens a table that runs past the end of the file; we refuse the file
 * instead, and then insist that libelf sees the same tables we checked.
 */
static int table_sizes(struct elf_file *ef, const GElf_Ehdr *eh, size_t *phnum,
		       size_t *shnum)
{
	Elf64_Shdr sh0;
	size_t n;
	int err;

	*phnum = eh->e_phnum;
	*shnum = eh->e_shnum;
	/* extended numbering: the real counts sit in section header 0 */
	if (*phnum == PN_XNUM || (!*shnum && eh->e_shoff)) {
		if (eh->e_shentsize != sizeof(sh0))
			return -EINVAL;
		err = image_read(ef, eh->e_shoff, &sh0, sizeof(sh0));
		if (err)
			return err;
		if (*phnum == PN_XNUM)
			*phnum = sh0.sh_info;
		if (!*shnum)
			*shnum = sh0.sh_size;
	}
	if (*phnum && (eh->e_phentsize != sizeof(Elf64_Phdr) ||
		       !in_image(ef, eh->e_phoff, (uint64_t)*phnum * sizeof(Elf64_Phdr))))
		return -EINVAL;
	if (*shnum && (eh->e_shentsize != sizeof(Elf64_Shdr) ||
		       *shnum > ef->size / sizeof(Elf64_Shdr) ||
		       !in_image(ef, eh->e_shoff, *shnum * sizeof(Elf64_Shdr))))
		return -EINVAL;
	if (elf_getphdrnum(ef->elf, &n) || n != *phnum)
		return -EINVAL;
	if (elf_getshdrnum(ef->elf, &n) || n != *shnum)
		return -EINVAL;
	return 0;
}

static int load_segments(struct elf_file *ef, size_t phnum)
{
	size_t nr = 0;

	if (!phnum)
		return 0;
	ef->segs = calloc(phnum, sizeof(*ef->segs));
	if (!ef->segs)
		return -ENOMEM;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(ef->elf, i, &ph))
			return -EINVAL;
		if (ph.p_type != PT_LOAD)
			continue;
		/* a loader would refuse these; so do we, before trusting them */
		if (ph.p_filesz > ph.p_memsz || !in_image(ef, ph.p_offset, ph.p_filesz) ||
		    ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return -EINVAL;
		ef->segs[nr].vaddr = ph.p_vaddr;
		ef->segs[nr].memsz = ph.p_memsz;
		ef->segs[nr].offset = ph.p_offset;
		ef->segs[nr].filesz = ph.p_filesz;
		ef->segs[nr].flags = ph.p_flags;
		ef->segs[nr].align = ph.p_align;
		nr++;
	}
	ef->nr_segs = nr;
	return 0;
}

/* The table of symbol versions by index, from .gnu.version_d (versions
 * this file defines) and .gnu.version_r (versions it needs).  Names point
 * into libelf's copy of the string table. */
static int read_verdef(struct elf_file *ef, Elf_Scn *scn, const char **names)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	size_t off = 0;

	if (!data || !gelf_getshdr(scn, &sh))
		return -EINVAL;
	while (data->d_size) {
		GElf_Verdef vd;
		GElf_Verdaux va;
		const char *name;

		if (!gelf_getverdef(data, off, &vd))
			return -EINVAL;
		/* the first aux entry names the version; later ones its parents */
		if (vd.vd_aux) {
			if (!gelf_getverdaux(data, off + vd.vd_aux, &va))
				return -EINVAL;
			name = elf_strptr(ef->elf, sh.sh_link, va.vda_name);
			if (!name)
				return -EINVAL;
			if (vd.vd_ndx < NR_VERSIONS)
				names[vd.vd_ndx] = name;
		}
		if (!vd.vd_next)
			break;
		/* a forward-only walk cannot loop */
		if (vd.vd_next >= data->d_size - off)
			return -EINVAL;
		off += vd.vd_next;
	}
	return 0;
}

static int read_verneed(struct elf_file *ef, Elf_Scn *scn, const char **names)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, budget;
	GElf_Shdr sh;

	if (!data || !gelf_getshdr(scn, &sh))
		return -EINVAL;
	/*
	 * Each entry's aux chain may point anywhere, even at another entry's:
	 * a valid section cannot hold more aux records than fit in it, so
	 * neither may a walk visit more.
	 */
	budget = data->d_size / sizeof(Elf64_Vernaux);
	while (data->d_size) {
		GElf_Verneed vn;
		size_t aux;

		if (!gelf_getverneed(data, off, &vn))
			return -EINVAL;
		aux = off + vn.vn_aux;
		for (unsigned j = 0; j < vn.vn_cnt; j++) {
			GElf_Vernaux va;
			const char *name;
			unsigned ndx;

			if (!budget--)
				return -EINVAL;
			if (!gelf_getvernaux(data, aux, &va))
				return -EINVAL;
			name = elf_strptr(ef->elf, sh.sh_link, va.vna_name);
			if (!name)
				return -EINVAL;
			ndx = va.vna_other & VERSYM_INDEX;
			if (ndx > 1)
				names[ndx] = name;
			if (!va.vna_next)
				break;
			if (va.vna_next >= data->d_size - aux)
				return -EINVAL;
			aux += va.vna_next;
		}
		if (!vn.vn_next)
			break;
		if (vn.vn_next >= data->d_size - off)
			return -EINVAL;
		off += vn.vn_next;
	}
	return 0;
}

/* Keeps "name@VER" / "name@@VER" from a .symtab (GNU ld appends versions
 * there) as name + version, in a copy the elf_file owns. */
static int split_version(struct elf_file *ef, struct elf_sym *e, const char *at)
{
	size_t pos = at - e->name;
	char **owned, *copy;

	owned = realloc(ef->owned, (ef->nr_owned + 1) * sizeof(*owned));
	if (!owned)
		return -ENOMEM;
	ef->owned = owned;
	copy = strdup(e->name);
	if (!copy)
		return -ENOMEM;
	ef->owned[ef->nr_owned++] = copy;
	copy[pos] = 0;
	e->name = copy;
	if (at[1] == '@') {
		e->version = copy + pos + 2;
	} else {
		e->version = copy + pos + 1;
		e->hidden_version = true;
	}
	if (!e->version[0])
		e->version = NULL;
	return 0;
}

/* Appends the FUNC and OBJECT definitions of symbol table @scn. */
static int add_symbols(struct elf_file *ef, Elf_Scn *scn, Elf_Data *data,
		       Elf_Data *versym, const char **vernames)
{
	size_t nr = data->d_size / sizeof(Elf64_Sym);
	GElf_Shdr sh;
	bool dyn;
	int err;

	if (!gelf_getshdr(scn, &sh))
		return -EINVAL;
	dyn = sh.sh_type == SHT_DYNSYM;
	for (size_t i = 1; i < nr; i++) {
		struct elf_sym *e = &ef->syms[ef->nr_syms];
		const char *name, *at;
		GElf_Versym ver = 0;
		GElf_Sym s;
		int kind;

		if (!gelf_getsym(data, i, &s))
			return -EINVAL;
		kind = sym_kind(GELF_ST_TYPE(s.st_info));
		if (!kind || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		name = elf_strptr(ef->elf, sh.sh_link, s.st_name);
		if (!name)
			return -EINVAL;
		if (!name[0])
			continue;
		memset(e, 0, sizeof(*e));
		e->name = name;
		e->addr = s.st_value;
		e->size = s.st_size;
		e->kind = kind;
		e->from_dynsym = dyn;
		e->bind = GELF_ST_BIND(s.st_info);
		if (versym) {
			unsigned ndx;

			if (!gelf_getversym(versym, i, &ver))
				return -EINVAL;
			ndx = ver & VERSYM_INDEX;
			/* 0 is local, 1 the unversioned global "base" */
			if (ndx > 1) {
				e->version = vernames ? vernames[ndx] : NULL;
				e->hidden_version = ver & VERSYM_HIDDEN;
			}
		} else if (!dyn && (at = strchr(name + 1, '@'))) {
			err = split_version(ef, e, at);
			if (err)
				return err;
		}
		ef->nr_syms++;
	}
	return 0;
}

static int cmp_name_addr(const void *a, const void *b, void *arg)
{
	const struct elf_sym *syms = arg;
	const struct elf_sym *x = &syms[*(const uint32_t *)a];
	const struct elf_sym *y = &syms[*(const uint32_t *)b];
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->kind - y->kind;
}

/*
 * A .symtab written without versions would let the compat alias of
 * pthread_cond_timedwait pass for the default one; the .dynsym entry for
 * the same name and address knows which it is.
 */
static int inherit_versions(struct elf_file *ef)
{
	size_t nr_dyn = ef->nr_syms - ef->nr_symtab;
	uint32_t *idx;

	if (!ef->nr_symtab || !nr_dyn)
		return 0;
	idx = calloc(nr_dyn, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < nr_dyn; i++)
		idx[i] = ef->nr_symtab + i;
	qsort_r(idx, nr_dyn, sizeof(*idx), cmp_name_addr, ef->syms);
	for (size_t i = 0; i < ef->nr_symtab; i++) {
		struct elf_sym *e = &ef->syms[i];
		size_t lo = 0, hi = nr_dyn;
		const struct elf_sym *d;
		uint32_t key = i;

		if (e->version)
			continue;
		while (lo < hi) {	/* the first dynsym entry not below e */
			size_t mid = lo + (hi - lo) / 2;

			if (cmp_name_addr(&idx[mid], &key, ef->syms) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == nr_dyn)
			continue;
		d = &ef->syms[idx[lo]];
		if (!cmp_name_addr(&idx[lo], &key, ef->syms)) {
			e->version = d->version;
			e->hidden_version = d->hidden_version;
		}
	}
	free(idx);
	return 0;
}

static int load_symbols(struct elf_file *ef, size_t shnum)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL, *versym_scn = NULL;
	Elf_Scn *verdef = NULL, *verneed = NULL;
	Elf_Data *symtab_data = NULL, *dynsym_data = NULL, *versym = NULL;
	const char **vernames = NULL;
	size_t nr = 0;
	int err = 0;

	if (!shnum)	/* sstripped: no sections, no symbols */
		return 0;

	/* sections are told apart by type, so damaged names cannot mislead */
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -EINVAL;
		if (sh.sh_type != SHT_NOBITS && !in_image(ef, sh.sh_offset, sh.sh_size))
			return -EINVAL;
		switch (sh.sh_type) {
		case SHT_SYMTAB:
			symtab = symtab ?: scn;
			break;
		case SHT_DYNSYM:
			dynsym = dynsym ?: scn;
			break;
		case SHT_GNU_versym:
			versym_scn = versym_scn ?: scn;
			break;
		case SHT_GNU_verdef:
			verdef = verdef ?: scn;
			break;
		case SHT_GNU_verneed:
			verneed = verneed ?: scn;
			break;
		}
	}

	for (int i = 0; i < 2; i++) {
		Elf_Scn *s = i ? dynsym : symtab;
		Elf_Data **d = i ? &dynsym_data : &symtab_data;
		GElf_Shdr sh;

		if (!s)
			continue;
		if (!gelf_getshdr(s, &sh) || sh.sh_entsize != sizeof(Elf64_Sym))
			return -EINVAL;
		*d = elf_getdata(s, NULL);
		if (!*d || (*d)->d_size % sizeof(Elf64_Sym))
			return -EINVAL;
		nr += (*d)->d_size / sizeof(Elf64_Sym);
	}
	/* bounded by the file size: each entry took 24 bytes of it */
	if (nr >= UINT32_MAX)
		return -EINVAL;
	if (nr) {
		ef->syms = calloc(nr, sizeof(*ef->syms));
		if (!ef->syms)
			return -ENOMEM;
	}

	if (dynsym && versym_scn) {
		GElf_Shdr sh;

		if (!gelf_getshdr(versym_scn, &sh))
			return -EINVAL;
		/* versions belong to the .dynsym they are linked to */
		if (sh.sh_link == elf_ndxscn(dynsym)) {
			versym = elf_getdata(versym_scn, NULL);
			if (!versym || versym->d_size / sizeof(GElf_Versym) <
				       dynsym_data->d_size / sizeof(Elf64_Sym))
				return -EINVAL;
		}
	}
	if (versym && (verdef || verneed)) {
		vernames = calloc(NR_VERSIONS, sizeof(*vernames));
		if (!vernames)
			return -ENOMEM;
		err = verdef ? read_verdef(ef, verdef, vernames) : 0;
		err = err ?: (verneed ? read_verneed(ef, verneed, vernames) : 0);
		if (err)
			goto cleanup;
	}

	if (symtab) {
		err = add_symbols(ef, symtab, symtab_data, NULL, NULL);
		if (err)
			goto cleanup;
	}
	ef->nr_symtab = ef->nr_syms;
	if (dynsym) {
		err = add_symbols(ef, dynsym, dynsym_data, versym, vernames);
		if (err)
			goto cleanup;
	}
	err = inherit_versions(ef);
cleanup:
	free(vernames);
	return err;
}

/* Looks for NT_GNU_BUILD_ID among the notes in @data. */
static bool find_build_id_note(struct elf_file *ef, Elf_Data *data)
{
	size_t off = 0, name_off, desc_off, next;
	GElf_Nhdr nh;

	while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;

		off = next;
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != sizeof(ELF_NOTE_GNU) ||
		    memcmp((const char *)data->d_buf + name_off, ELF_NOTE_GNU,
			   sizeof(ELF_NOTE_GNU)))
			continue;
		if (!nh.n_descsz || nh.n_descsz > MAX_BUILD_ID)
			continue;
		for (size_t i = 0; i < nh.n_descsz; i++) {
			ef->build_id[2 * i] = "0123456789abcdef"[d[i] >> 4];
			ef->build_id[2 * i + 1] = "0123456789abcdef"[d[i] & 0xf];
		}
		ef->build_id[2 * nh.n_descsz] = 0;
		return true;
	}
	return false;
}

/* From PT_NOTE (present in stripped files), else from SHT_NOTE sections.
 * A missing or damaged note leaves the build-id empty, not an error. */
static void load_build_id(struct elf_file *ef, size_t phnum)
{
	Elf_Scn *scn = NULL;

	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(ef->elf, i, &ph) || ph.p_type != PT_NOTE ||
		    !ph.p_filesz || ph.p_filesz > MAX_NOTES ||
		    !in_image(ef, ph.p_offset, ph.p_filesz))
			continue;
		d = elf_getdata_rawchunk(ef->elf, ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (d && find_build_id_note(ef, d))
			return;
	}
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
		    sh.sh_size > MAX_NOTES || !in_image(ef, sh.sh_offset, sh.sh_size))
			continue;
		d = elf_getdata(scn, NULL);
		if (d && find_build_id_note(ef, d))
			return;
	}
}

static int index_file(struct elf_file *ef)
{
	size_t phnum, shnum;
	GElf_Ehdr eh;
	int err;

	if (elf_kind(ef->elf) != ELF_K_ELF || !gelf_getehdr(ef->elf, &eh))
		return -EINVAL;
	if (eh.e_type == ET_DYN)
		ef->is_dyn = true;
	else if (eh.e_type != ET_EXEC)	/* objects and cores are never mapped */
		return -ENOEXEC;
	ef->entry = eh.e_entry;
	err = table_sizes(ef, &eh, &phnum, &shnum);
	err = err ?: load_segments(ef, phnum);
	err = err ?: load_symbols(ef, shnum);
	if (err)
		return err;
	load_build_id(ef, phnum);
	return 0;
}

int elf_file__open(const char *path, struct elf_file **out)
{
	struct elf_file *ef = NULL;
	struct stat st;
	int fd, err;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at a library path must not hang us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef) {
		err = -ENOMEM;
		goto cleanup;
	}
	ef->fd = fd;
	ef->index_err = 1;
	ef->size = st.st_size;
	ef->dev = st.st_dev;
	ef->ino = st.st_ino;
	ef->path = strdup(path);
	if (!ef->path) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = check_ident(ef);
	if (err)
		goto cleanup;
	elf_version(EV_CURRENT);
	ef->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!ef->elf) {
		err = -EINVAL;
		goto cleanup;
	}
	err = index_file(ef);
cleanup:
	/* everything needed is read; elf_file__read() reopens by path */
	if (ef) {
		if (ef->elf)
			elf_cntl(ef->elf, ELF_C_FDDONE);
		ef->fd = -1;
	}
	close(fd);
	if (err) {
		elf_file__close(ef);
		return err;
	}
	*out = ef;
	return 0;
}

int elf_file__open_mem(const void *buf, size_t len, struct elf_file **out)
{
	struct elf_file *ef;
	int err;

	*out = NULL;
	if (!len)
		return -ENOEXEC;
	if (!buf)
		return -EINVAL;
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return -ENOMEM;
	ef->fd = -1;
	ef->index_err = 1;
	ef->size = len;
	ef->image = malloc(len);
	if (!ef->image) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(ef->image, buf, len);
	err = check_ident(ef);
	if (err)
		goto cleanup;
	elf_version(EV_CURRENT);
	ef->elf = elf_memory(ef->image, len);
	if (!ef->elf) {
		err = -EINVAL;
		goto cleanup;
	}
	err = index_file(ef);
cleanup:
	if (err) {
		elf_file__close(ef);
		return err;
	}
	*out = ef;
	return 0;
}

void elf_file__close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	for (size_t i = 0; i < ef->nr_owned; i++)
		free(ef->owned[i]);
	free(ef->owned);
	symindex__free(&ef->index);
	for (size_t i = 0; ef->seg_bytes && i < ef->nr_segs; i++)
		free(ef->seg_bytes[i]);
	free(ef->seg_bytes);
	free(ef->seg_err);
	free(ef->syms);
	free(ef->segs);
	free(ef->image);
	free(ef->path);
	free(ef);
}

/* Which of two same-named symbols elf_file__find_sym() returns. */
static bool find_prefers(const struct elf_sym *a, const struct elf_sym *b)
{
	if (a->hidden_version != b->hidden_version)
		return !a->hidden_version;
	if (elf_sym__bind_rank(a) != elf_sym__bind_rank(b))
		return elf_sym__bind_rank(a) < elf_sym__bind_rank(b);
	return a < b;	/* .symtab first */
}

int elf_file__find_sym(struct elf_file *ef, const char *name, int kind,
		       struct elf_sym *out)
{
	const struct elf_sym *best = NULL;

	if (!valid_kind(kind))
		return -EINVAL;
	for (size_t i = 0; i < ef->nr_syms; i++) {
		const struct elf_sym *e = &ef->syms[i];

		if (e->kind != kind || strcmp(e->name, name))
			continue;
		if (!best || find_prefers(e, best))
			best = e;
	}
	if (!best)
		return -ENOENT;
	*out = *best;
	return 0;
}

int elf_file__for_each_sym(struct elf_file *ef,
			   int (*cb)(const struct elf_sym *sym, void *ctx),
			   void *ctx)
{
	for (size_t i = 0; i < ef->nr_syms; i++) {
		int ret = cb(&ef->syms[i], ctx);

		if (ret)
			return ret;
	}
	return 0;
}

int elf_file__addr_to_sym(struct elf_file *ef, uint64_t vaddr, int kind,
			  struct elf_sym *out)
{
	const struct elf_sym *best;

	if (!valid_kind(kind))
		return -EINVAL;
	if (ef->index_err > 0)
		ef->index_err = symindex__build(&ef->index, ef->syms, ef->nr_syms);
	if (ef->index_err)
		return ef->index_err;
	best = symindex__lookup(&ef->index, vaddr, kind);
	if (!best)
		return -ENOENT;
	*out = *best;
	return 0;
}

size_t elf_file__segments(struct elf_file *ef, const struct elf_segment **segs)
{
	*segs = ef->segs;
	return ef->nr_segs;
}

int elf_file__vaddr_to_offset(struct elf_file *ef, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < ef->nr_segs; i++) {
		const struct elf_segment *s = &ef->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*off = s->offset + (vaddr - s->vaddr);
			return 0;
		}
	}
	return -ENOENT;
}

int elf_file__offset_to_vaddr(struct elf_file *ef, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < ef->nr_segs; i++) {
		const struct elf_segment *s = &ef->segs[i];

		if (off >= s->offset && off - s->offset < s->filesz) {
			*vaddr = s->vaddr + (off - s->offset);
			return 0;
		}
	}
	return -ENOENT;
}

/* Segment @i's file bytes, read once; NULL (and *err) if they cannot be. */
static const char *segment_bytes(struct elf_file *ef, size_t i, int *err)
{
	const struct elf_segment *s = &ef->segs[i];

	if (ef->image)		/* already in memory */
		return ef->image + s->offset;
	if (!ef->seg_bytes) {
		ef->seg_bytes = calloc(ef->nr_segs, sizeof(*ef->seg_bytes));
		ef->seg_err = calloc(ef->nr_segs, sizeof(*ef->seg_err));
		if (!ef->seg_bytes || !ef->seg_err) {
			free(ef->seg_bytes);
			free(ef->seg_err);
			ef->seg_bytes = NULL;
			ef->seg_err = NULL;
			*err = -ENOMEM;
			return NULL;
		}
	}
	if (ef->seg_bytes[i] || ef->seg_err[i]) {
		*err = ef->seg_err[i];
		return ef->seg_bytes[i];
	}
	ef->seg_bytes[i] = malloc(s->filesz ? s->filesz : 1);
	if (!ef->seg_bytes[i]) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = image_read(ef, s->offset, ef->seg_bytes[i], s->filesz);
	if (*err) {
		free(ef->seg_bytes[i]);
		ef->seg_bytes[i] = NULL;
		ef->seg_err[i] = *err;
	}
	return ef->seg_bytes[i];
}

long elf_file__read(struct elf_file *ef, uint64_t vaddr, void *buf, size_t len)
{
	for (size_t i = 0; i < ef->nr_segs; i++) {
		const struct elf_segment *s = &ef->segs[i];
		uint64_t delta = vaddr - s->vaddr;
		const char *bytes;
		size_t n;
		int err;

		if (vaddr < s->vaddr || delta >= s->filesz)
			continue;
		n = len < s->filesz - delta ? len : s->filesz - delta;
		bytes = segment_bytes(ef, i, &err);
		if (!bytes)
			return err;
		memcpy(buf, bytes + delta, n);
		return (long)n;
	}
	return -ENOENT;
}

int elf_file__build_id(struct elf_file *ef, char *hex, size_t len)
{
	size_t n = strlen(ef->build_id);

	if (!n)
		return -ENOENT;
	if (len <= n)
		return -ENOSPC;
	memcpy(hex, ef->build_id, n + 1);
	return 0;
}

bool elf_file__is_dyn(struct elf_file *ef)
{
	return ef->is_dyn;
}

uint64_t elf_file__entry(struct elf_file *ef)
{
	return ef->entry;
}
