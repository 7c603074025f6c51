// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "inflight.h"
#include "proc.h"

#define SYS_FUTEX_X86_64 202

static bool is_wait(uint32_t op)
{
	return gs_futex_is_wait(op & GS_FUTEX_CMD_MASK);
}

/* "202 0xUADDR 0xOP 0xVAL 0x.. 0x.. 0x.. 0xSP 0xPC": the syscall number,
 * its six arguments, the user stack pointer and program counter. */
int inflight__parse_syscall(const char *line, struct inflight_wait *w)
{
	unsigned long long a[6], sp, pc;
	long nr;

	if (sscanf(line, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &a[0], &a[1],
		   &a[2], &a[3], &a[4], &a[5], &sp, &pc) != 9 ||
	    nr != SYS_FUTEX_X86_64 || !is_wait((uint32_t)a[1]))
		return -ENOENT;
	memset(w, 0, sizeof(*w));
	w->uaddr = a[0];
	w->op = (uint32_t)a[1];
	w->val = (uint32_t)a[2];
	w->sp = sp;
	w->pc = pc;
	return 0;
}

static int read_syscall(pid_t pid, pid_t tid, struct inflight_wait *w)
{
	char path[64], line[512];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f))
		err = inflight__parse_syscall(line, w);
	fclose(f);
	if (!err)
		w->tid = tid;
	return err;
}

int inflight__scan(pid_t pid, struct inflight *in)
{
	pid_t *tids = NULL;
	size_t nr = 0;
	int err;

	memset(in, 0, sizeof(*in));
	err = proc_threads(pid, &tids, &nr);
	if (err)
		return err;
	in->w = calloc(nr ? nr : 1, sizeof(*in->w));
	if (!in->w) {
		free(tids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nr; i++) {
		struct inflight_wait *w = &in->w[in->nr];

		if (read_syscall(pid, tids[i], w))
			continue;
		/* the words above its stack pointer, for its callers (stackfix.h) */
		if (!proc_read_mem(pid, w->sp, w->stack, sizeof(w->stack)))
			w->nr_stack = GS_STACK_WORDS;
		in->nr++;
	}
	free(tids);
	return 0;
}

void inflight__free(struct inflight *in)
{
	free(in->w);
	memset(in, 0, sizeof(*in));
}

/* The owner word of a glibc mutex (its +8) as it is now, else @fallback. */
static uint32_t owner_now(pid_t pid, uint64_t uaddr, uint32_t fallback)
{
	uint32_t owner;

	return proc_read_mem(pid, uaddr + 8, &owner, sizeof(owner)) ? fallback : owner;
}

size_t inflight__emit(const struct inflight *at_attach, pid_t pid, int calls_fd,
		      uint64_t start, uint64_t end, inflight_emit_fn emit, void *ctx)
{
	struct gs_open_wait_event *e = calloc(1, sizeof(*e));
	struct gs_futex_call *c = calloc(1, sizeof(*c));
	struct gs_futex_event *f;
	__u32 key, *prev = NULL;
	size_t n = 0;

	if (!e || !c)
		goto out;
	f = &e->w.f;
	/* begun during the trace: BPF saw the entry, and no exit */
	while (calls_fd >= 0 && !bpf_map_get_next_key(calls_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(calls_fd, &key, c) || !is_wait(c->op) ||
		    proc_tgid_of(key) != pid)
			continue;
		memset(e, 0, sizeof(*e));
		f->hdr.type = GS_EV_FUTEX_WAIT_OPEN;
		f->hdr.tid = key;
		f->hdr.ts = c->ts < start ? start : c->ts;
		e->start_known = c->ts >= start;
		f->end_ts = end;
		f->uaddr = c->uaddr;
		f->op = c->op;
		f->val = c->val;
		f->owner_tid = owner_now(pid, c->uaddr, c->owner_tid);
		e->w.nr_frames = c->nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : c->nr_frames;
		memcpy(e->w.frames, c->frames, sizeof(e->w.frames));
		e->w.sp = c->sp;
		e->w.nr_stack = c->nr_stack;
		memcpy(e->w.stack, c->stack, sizeof(e->w.stack));
		emit(ctx, e, sizeof(*e));
		n++;
	}
	/* begun before: in the same wait at attach and now, and BPF saw no
	 * new one begin (it would be in the map) */
	for (size_t i = 0; at_attach && i < at_attach->nr; i++) {
		const struct inflight_wait *a = &at_attach->w[i];
		struct inflight_wait now;

		key = a->tid;
		if ((calls_fd >= 0 && !bpf_map_lookup_elem(calls_fd, &key, c)) ||
		    read_syscall(pid, a->tid, &now) || now.uaddr != a->uaddr || now.sp != a->sp)
			continue;
		memset(e, 0, sizeof(*e));
		f->hdr.type = GS_EV_FUTEX_WAIT_OPEN;
		f->hdr.tid = a->tid;
		f->hdr.ts = start;
		e->start_known = 0;
		f->end_ts = end;
		f->uaddr = a->uaddr;
		f->op = a->op;
		f->val = a->val;
		f->owner_tid = owner_now(pid, a->uaddr, 0);
		/* where it sleeps; stack_repair() finds its callers in the words */
		e->w.frames[0] = a->pc;
		e->w.nr_frames = 1;
		e->w.sp = a->sp;
		e->w.nr_stack = a->nr_stack;
		memcpy(e->w.stack, a->stack, sizeof(e->w.stack));
		emit(ctx, e, sizeof(*e));
		n++;
	}
out:
	free(e);
	free(c);
	return n;
}
