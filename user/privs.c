// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "privs.h"

/* linux/capability.h's numbers */
#define CAP_DAC_READ_SEARCH_	2
#define CAP_SYS_PTRACE_		19
#define CAP_SYS_ADMIN_		21

#define HAS(set, cap) (((set) >> (cap)) & 1)

uint64_t privs__effective(void)
{
	char line[256];
	uint64_t eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1)
			break;
	fclose(f);
	return eff;
}

static void add(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

void privs__missing(uint64_t eff, uid_t our_uid, long target_uid, char *buf, size_t len)
{
	buf[0] = 0;
	/* uprobes: CAP_SYS_ADMIN on this kernel, which also stands for
	 * CAP_BPF and CAP_PERFMON */
	if (!HAS(eff, CAP_SYS_ADMIN_))
		add(buf, len, "CAP_SYS_ADMIN (uprobes need it on this kernel; "
			      "CAP_BPF + CAP_PERFMON are not enough)");
	/* tracefs is root's (0700): the tracepoints' ids are read from it,
	 * and another user's files through /proc/PID/root */
	if (!HAS(eff, CAP_DAC_READ_SEARCH_))
		add(buf, len, "CAP_DAC_READ_SEARCH (tracefs, /sys/kernel/tracing, is "
			      "root's)");
	if (target_uid >= 0 && (uid_t)target_uid != our_uid && !HAS(eff, CAP_SYS_PTRACE_))
		add(buf, len, "CAP_SYS_PTRACE (another user's process: its memory and maps)");
}

int privs__check(pid_t pid)
{
	char path[64], missing[512];
	long target_uid = -1;
	struct stat st;

	if (geteuid() == 0 && HAS(privs__effective(), CAP_SYS_ADMIN_))
		return 0;	/* root, as usual */
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid > 0 && !stat(path, &st))
		target_uid = st.st_uid;
	privs__missing(privs__effective(), geteuid(), target_uid, missing, sizeof(missing));
	if (!missing[0])
		return 0;
	fprintf(stderr, "gilscope: not permitted to trace: run as root (sudo), or grant %s\n",
		missing);
	return -EPERM;
}
