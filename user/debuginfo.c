// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <elfutils/libdwelf.h>
#include "debuginfo.h"

#define DEFAULT_DIRS	"/usr/lib/debug"
#define MAX_BUILD_ID	64

int debuginfo_where__init(struct debuginfo_where *w, int pid, const char *dirs,
			  char *root_buf, size_t root_len)
{
	struct stat a, b;
	const char *p;

	memset(w, 0, sizeof(*w));
	if (pid > 0 && (size_t)snprintf(root_buf, root_len, "/proc/%d/root", pid) < root_len &&
	    !stat(root_buf, &a) && !stat("/", &b) && (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		w->roots[w->nr_roots++] = root_buf;
	w->roots[w->nr_roots++] = "";
	if (!dirs || !dirs[0])
		dirs = getenv("GILSCOPE_DEBUG_DIRS");
	if (!dirs || !dirs[0])
		dirs = DEFAULT_DIRS;
	for (p = dirs; *p && w->nr_dirs < DEBUGINFO_MAX_DIRS;) {
		size_t n = strcspn(p, ":");

		/* relative directories would depend on our working directory */
		if (n && p[0] == '/') {
			w->dirs[w->nr_dirs] = strndup(p, n);
			if (!w->dirs[w->nr_dirs]) {
				debuginfo_where__free(w);
				return -ENOMEM;
			}
			/* "/usr/lib/debug/" and "/usr/lib/debug" alike */
			while (n > 1 && w->dirs[w->nr_dirs][n - 1] == '/')
				w->dirs[w->nr_dirs][--n] = 0;
			w->nr_dirs++;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return 0;
}

void debuginfo_where__free(struct debuginfo_where *w)
{
	for (size_t i = 0; i < w->nr_dirs; i++)
		free(w->dirs[i]);
	w->nr_dirs = 0;
}

int debuginfo_crc(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0, Z_NULL, 0);
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		c = crc32(c, buf, n);
		off += n;
	}
	*crc = c;
	return 0;
}

/*
 * libelf trusts a file's section table more than gilscope does: a table
 * or a section running past the end of the file is refused here, before
 * libdwfl reads it.
 */
static bool sane_elf(Elf *elf, uint64_t size)
{
	size_t shnum;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    gelf_getclass(elf) != ELFCLASS64 || elf_getshdrnum(elf, &shnum))
		return false;
	if (!shnum || eh.e_shoff > size || shnum > (size - eh.e_shoff) / sizeof(Elf64_Shdr))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return false;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset))
			return false;
	}
	return true;
}

/* Opens @path as a debug file for build-id @id (NULL: any; a file
 * without one passes unless @need_id) and, when @crc is not NULL, with
 * that CRC.  A descriptor or -errno. */
static int try_open(const char *path, const unsigned char *id, size_t id_len,
		    bool need_id, const uint32_t *crc)
{
	const void *have;
	struct stat st;
	Elf *elf = NULL;
	ssize_t n;
	uint32_t c;
	int fd, err = -ENOENT;

	/* O_NONBLOCK: a FIFO planted at a debug path must not hang us */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		goto cleanup;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !sane_elf(elf, st.st_size))
		goto cleanup;
	n = dwelf_elf_gnu_build_id(elf, &have);
	if (need_id && n <= 0)
		goto cleanup;
	if (id && n > 0 && ((size_t)n != id_len || memcmp(have, id, id_len)))
		goto cleanup;	/* another build's */
	if (crc && (debuginfo_crc(fd, &c) || c != *crc))
		goto cleanup;	/* changed since it was linked */
	err = 0;
cleanup:
	if (elf)
		elf_end(elf);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int try_path(char *path, const unsigned char *id, size_t id_len,
		    bool need_id, const uint32_t *crc, char **out)
{
	int fd = try_open(path, id, id_len, need_id, crc);

	if (fd < 0)
		return fd;
	*out = strdup(path);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

static int by_build_id(const struct debuginfo_where *w, const unsigned char *id, size_t len,
		       char **out)
{
	char hex[2 * MAX_BUILD_ID + 1], path[PATH_MAX];

	if (!id || len < 2 || len > MAX_BUILD_ID)
		return -ENOENT;
	for (size_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	for (size_t r = 0; r < w->nr_roots; r++)
		for (size_t d = 0; d < w->nr_dirs; d++) {
			int fd;

			if ((size_t)snprintf(path, sizeof(path), "%s%s/.build-id/%.2s/%s.debug",
					     w->roots[r], w->dirs[d], hex, hex + 2) >= sizeof(path))
				continue;
			/* a debug file without a build-id is not this one */
			fd = try_path(path, id, len, true, NULL, out);
			if (fd >= 0 || fd == -ENOMEM)
				return fd;
		}
	return -ENOENT;
}

/* A debuglink is a file name, never a path: one with a '/' could point
 * anywhere. */
static bool plain_name(const char *name)
{
	return name && name[0] && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static int by_debuglink(const struct debuginfo_where *w, const struct debuginfo_want *want,
			char **out)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash;

	if (!plain_name(want->debuglink) || !want->file || want->file[0] != '/')
		return -ENOENT;
	slash = strrchr(want->file, '/');
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - want->file), want->file);
	for (size_t r = 0; r < w->nr_roots; r++) {
		for (size_t k = 0; k < 2 + w->nr_dirs; k++) {
			int fd, n;

			if (k == 0)	/* beside the file */
				n = snprintf(path, sizeof(path), "%s%s/%s", w->roots[r], dir,
					     want->debuglink);
			else if (k == 1)
				n = snprintf(path, sizeof(path), "%s%s/.debug/%s", w->roots[r],
					     dir, want->debuglink);
			else
				n = snprintf(path, sizeof(path), "%s%s%s/%s", w->roots[r],
					     w->dirs[k - 2], dir, want->debuglink);
			if (n < 0 || (size_t)n >= sizeof(path))
				continue;
			fd = try_path(path, want->build_id, want->build_id_len, false, &want->crc,
				      out);
			if (fd >= 0 || fd == -ENOMEM)
				return fd;
		}
	}
	return -ENOENT;
}

int debuginfo_open(const struct debuginfo_where *w, const struct debuginfo_want *want,
		   char **path)
{
	int fd;

	*path = NULL;
	fd = by_build_id(w, want->build_id, want->build_id_len, path);
	if (fd == -ENOENT)
		fd = by_debuglink(w, want, path);
	return fd;
}

/* .gnu_debugaltlink of @elf: the dwz file's name and build-id. */
static int read_altlink(Elf *elf, char *name, size_t name_len, unsigned char *id,
			size_t *id_len)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *sname, *p;
		Elf_Data *d;
		GElf_Shdr sh;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!sname || strcmp(sname, ".gnu_debugaltlink"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || !d->d_size)
			return -EINVAL;
		p = d->d_buf;
		n = strnlen(p, d->d_size);
		if (n == d->d_size || !n || n >= name_len)
			return -EINVAL;
		memcpy(name, p, n + 1);
		*id_len = d->d_size - n - 1;
		if (*id_len < 2 || *id_len > MAX_BUILD_ID)
			return -EINVAL;
		memcpy(id, p + n + 1, *id_len);
		return 0;
	}
	return -ENOENT;
}

int debuginfo_open_alt(const struct debuginfo_where *w, const char *from, char **path)
{
	char name[PATH_MAX], cand[PATH_MAX];
	unsigned char id[MAX_BUILD_ID];
	size_t id_len = 0;
	Elf *elf = NULL;
	int fd, err;

	*path = NULL;
	fd = open(from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = elf ? read_altlink(elf, name, sizeof(name), id, &id_len) : -EINVAL;
	if (elf)
		elf_end(elf);
	close(fd);
	if (err)
		return err == -EINVAL ? -ENOENT : err;
	fd = by_build_id(w, id, id_len, path);
	if (fd != -ENOENT)
		return fd;
	/* by name: an absolute one in each root, a relative one beside @from */
	for (size_t r = 0; r < w->nr_roots; r++) {
		const char *slash = strrchr(from, '/');
		int n;

		if (name[0] == '/')
			n = snprintf(cand, sizeof(cand), "%s%s", w->roots[r], name);
		else if (r == 0 && slash)
			n = snprintf(cand, sizeof(cand), "%.*s/%s", (int)(slash - from), from, name);
		else
			continue;
		if (n < 0 || (size_t)n >= sizeof(cand))
			continue;
		fd = try_path(cand, id, id_len, true, NULL, path);
		if (fd >= 0 || fd == -ENOMEM)
			return fd;
	}
	return -ENOENT;
}
