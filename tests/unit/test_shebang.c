// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Scripts started as their interpreter, as the kernel starts them. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"
#include "shebang.h"

static void script(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
	CHECK(chmod(path, 0755) == 0);
}

TEST(shebang_script_runs_as_its_interpreter_with_its_argument)
{
	char dir[] = "/tmp/gilscope-shebang-XXXXXX", a[PATH_MAX], b[PATH_MAX], sh[PATH_MAX];
	char out[PATH_MAX + 16], **nv, *argv[] = { a, (char *)"x", NULL };

	CHECK(mkdtemp(dir));
	CHECK(realpath("/bin/sh", sh));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	/* a -> b -> /bin/sh: "sh -e b -u a x", as execve builds it */
	script(b, "#!/bin/sh -e\n");
	snprintf(out, sizeof(out), "#!%s -u \n", b);
	script(a, out);
	CHECK_I64(shebang__resolve(a, argv, out, sizeof(out), &nv), 0);
	CHECK(nv != NULL);
	CHECK_STR(out, sh);
	CHECK_STR(nv[0], sh);
	CHECK_STR(nv[1], "-e");
	CHECK_STR(nv[2], b);
	CHECK_STR(nv[3], "-u");
	CHECK_STR(nv[4], a);
	CHECK_STR(nv[5], "x");
	CHECK(nv[6] == NULL);
	shebang__free(nv);
	/* an ELF program: nothing to do */
	argv[0] = sh;
	CHECK_I64(shebang__resolve(sh, argv, out, sizeof(out), &nv), 0);
	CHECK(nv == NULL);
	/* an interpreter that is not there */
	script(a, "#!/nonexistent/python\n");
	argv[0] = a;
	CHECK_I64(shebang__resolve(a, argv, out, sizeof(out), &nv), -ENOENT);
	/* a loop */
	snprintf(out, sizeof(out), "#!%s\n", a);
	script(a, out);
	CHECK_I64(shebang__resolve(a, argv, out, sizeof(out), &nv), -ELOOP);
	unlink(a);
	unlink(b);
	rmdir(dir);
}
