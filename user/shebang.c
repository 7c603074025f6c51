// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "shebang.h"

#define MAX_DEPTH 4	/* the kernel allows 4 levels of interpreters too */
#define MAX_EXTRA 8

int shebang__which(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char cand[4096];

	if (strchr(name, '/')) {
		if (!realpath(name, out))
			return -errno;
		return strlen(out) < len ? 0 : -ENAMETOOLONG;
	}
	for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, n ? p : ".", name);
		if (!access(cand, X_OK) && realpath(cand, out) && strlen(out) < len)
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	return -ENOENT;
}

/* A pyenv shim: a script in a "shims" directory beside a pyenv. */
static int pyenv_real(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	char cmd[4200], pyenv[4096];
	FILE *p;
	int err = -ENOEXEC;

	if (!base || !strstr(path, "/shims/") || shebang__which("pyenv", pyenv, sizeof(pyenv)))
		return -ENOENT;
	/* the name is a file name from PATH, but quote it all the same */
	if (strchr(base + 1, '\''))
		return -ENOEXEC;
	snprintf(cmd, sizeof(cmd), "'%s' which '%s' 2>/dev/null", pyenv, base + 1);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	if (fgets(out, len, p)) {
		out[strcspn(out, "\n")] = 0;
		err = out[0] == '/' && !access(out, X_OK) ? 0 : -ENOEXEC;
	}
	pclose(p);
	return err;
}

/* "#!interp [arg]" of @path into @interp and @arg (""): 0, or -ENOENT
 * when it is no script. */
static int read_shebang(const char *path, char *interp, size_t ilen, char *arg, size_t alen)
{
	char line[512], *s, *e;
	FILE *f = fopen(path, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f) && line[0] == '#' && line[1] == '!') {
		s = line + 2 + strspn(line + 2, " \t");
		e = s + strcspn(s, " \t\n");
		snprintf(interp, ilen, "%.*s", (int)(e - s), s);
		s = e + strspn(e, " \t");
		snprintf(arg, alen, "%.*s", (int)strcspn(s, "\n"), s);
		/* trailing blanks are not part of the argument */
		for (size_t n = strlen(arg); n && (arg[n - 1] == ' ' || arg[n - 1] == '\t');)
			arg[--n] = 0;
		err = interp[0] ? 0 : -ENOEXEC;
	}
	fclose(f);
	return err;
}

int shebang__resolve(const char *path, char **argv, char *out, size_t len,
		     char ***out_argv)
{
	char cur[4096], interp[512], arg[512], *extra[MAX_EXTRA];
	int nr_extra = 0, argc = 0, err = 0, depth;
	char **nv;

	*out_argv = NULL;
	snprintf(cur, sizeof(cur), "%s", path);
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		if (!pyenv_real(cur, out, len)) {
			snprintf(cur, sizeof(cur), "%s", out);
			break;		/* the Python the shim would exec */
		}
		err = read_shebang(cur, interp, sizeof(interp), arg, sizeof(arg));
		if (err == -ENOENT) {
			err = 0;
			break;		/* an ELF program (or what exec will refuse) */
		}
		if (err || nr_extra + 3 > MAX_EXTRA)
			goto fail;
		/* the script becomes an argument of its interpreter (the first
		 * as the user named it, as the kernel would pass it) */
		extra[nr_extra++] = strdup(!depth && strchr(argv[0], '/') ? argv[0] : cur);
		if (!strcmp(interp, "/usr/bin/env") && arg[0] && arg[0] != '-') {
			err = shebang__which(arg, cur, sizeof(cur));	/* #!/usr/bin/env python3 */
		} else {
			if (arg[0])
				extra[nr_extra++] = strdup(arg);
			err = shebang__which(interp, cur, sizeof(cur));
		}
		if (err)
			goto fail;
	}
	if (depth == MAX_DEPTH) {
		err = -ELOOP;
		goto fail;
	}
	if (!nr_extra && !strcmp(cur, path))
		return 0;	/* nothing to do: an ELF program */
	snprintf(out, len, "%s", cur);
	while (argv[argc])
		argc++;
	nv = calloc(argc + nr_extra + 2, sizeof(*nv));
	if (!nv) {
		err = -ENOMEM;
		goto fail;
	}
	/* interpreter, its argument(s) innermost last, the script, its args:
	 * as the kernel builds it (the outer interpreter's args come first) */
	nv[0] = strdup(cur);
	for (int i = nr_extra - 1, k = 1; i >= 0; i--)
		nv[k++] = extra[i];
	for (int i = 1; i < argc; i++)
		nv[nr_extra + i] = strdup(argv[i]);
	*out_argv = nv;
	return 0;
fail:
	for (int i = 0; i < nr_extra; i++)
		free(extra[i]);
	return err ? err : -ENOEXEC;
}

void shebang__free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}
