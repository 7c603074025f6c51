// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The state machines (bpf/lock_machine.h, bpf/gil_machine.h), compiled
 * with shims that store as the BPF side does (bpf/summary.bpf.h): fixed-
 * size tables looked up by key in place of hash maps (a full table drops
 * the update, as a full map does), log-linear histograms in place of
 * samples, call sites by stack id.  test_machines.c feeds the same events
 * to this side and to the user-space one and compares what they print.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "analysis.h"
#include "events.h"
#include "machine_shim.h"
#include "summary_tables.h"

#define SHIM_SLOTS 64

struct hist_entry { struct gs_hist_key key; struct gs_hist h; bool used; };
struct lock_entry { __u64 addr; struct gs_lock_figs v; bool used; };
struct thread_entry { __u32 tid; struct gs_sum_thread v; bool used; };
struct caller_entry { struct gs_sum_caller_key key; __u64 count, wait_ns; bool used; };
struct stack_entry { __u64 frames[GS_MAX_FRAMES]; __u32 nr; };

static struct {
	struct hist_entry hists[SHIM_SLOTS];
	struct lock_entry locks[SHIM_SLOTS];
	struct thread_entry threads[SHIM_SLOTS];
	struct caller_entry callers[SHIM_SLOTS];
	struct stack_entry stacks[SHIM_SLOTS];
	int nr_stacks;
	bool has_gil, mutex_probes;
	__u64 gil_mutex, gil_cond;
	struct gs_gil_figs gil;
	uint64_t dropped;
} sh;

/* A table lookup that creates the entry, as sum_get() does: NULL when full. */
#define SHIM_GET(table, keyfield, k) ({					\
	__typeof__(&(table)[0]) _e = NULL;				\
	for (int _i = 0; _i < SHIM_SLOTS && !_e; _i++)			\
		if ((table)[_i].used && !memcmp(&(table)[_i].keyfield, &(k), sizeof(k))) \
			_e = &(table)[_i];				\
	for (int _i = 0; _i < SHIM_SLOTS && !_e; _i++)			\
		if (!(table)[_i].used) {				\
			_e = &(table)[_i];				\
			_e->used = true;				\
			memcpy(&_e->keyfield, &(k), sizeof(k));		\
		}							\
	if (!_e)							\
		sh.dropped++;						\
	_e;								\
})

/* ---- the hooks, as summary.bpf.h has them ---- */

struct gs_env {
	const __u64 *frames;	/* the current event's user stack */
	__u32 nr_frames;
};

#define GS_FN static
#define GS_ADD(p, v) (*(p) += (v))

static void shim_hist_add(__u32 kind, __u64 id, __u64 v)
{
	struct gs_hist_key key = { .id = id, .kind = kind };
	struct hist_entry *e = SHIM_GET(sh.hists, key, key);

	if (!e)
		return;
	e->h.slots[gs_hist_slot(v)]++;
	e->h.count++;
	e->h.total += v;
	if (v > e->h.max)
		e->h.max = v;
}

static struct gs_lock_figs *gs_lock_figs_of(struct gs_env *env, __u64 addr)
{
	struct lock_entry *e = SHIM_GET(sh.locks, addr, addr);

	(void)env;
	return e ? &e->v : NULL;
}

static void gs_hist_add(struct gs_env *env, __u32 kind, __u64 id, __u64 v)
{
	(void)env;
	shim_hist_add(kind, id, v);
}

static void gs_lock_span(struct gs_env *env, __u64 addr, __u64 start, __u64 end, int hold)
{
	(void)env, (void)addr, (void)start, (void)end, (void)hold;
}

static void gs_gil_span(struct gs_env *env, struct gs_gil_thread_figs *f, int state,
			__u64 start, __u64 end)
{
	(void)env, (void)f, (void)state, (void)start, (void)end;
}

/* bpf_get_stackid(): the same frames, the same id */
static __s32 stack_id(const __u64 *frames, __u32 nr)
{
	for (int i = 0; i < sh.nr_stacks; i++)
		if (sh.stacks[i].nr == nr && !memcmp(sh.stacks[i].frames, frames, nr * 8))
			return i;
	if (sh.nr_stacks == SHIM_SLOTS)
		return -1;
	memcpy(sh.stacks[sh.nr_stacks].frames, frames, nr * 8);
	sh.stacks[sh.nr_stacks].nr = nr;
	return sh.nr_stacks++;
}

static void gs_site_take(struct gs_env *env, struct gs_lock_tstate *s, int which, __u64 addr)
{
	__s32 id = stack_id(env->frames, env->nr_frames);

	(void)addr;
	if (which == GS_SITE_EP)
		s->ep_site = id;
	else
		s->cond_site = id;
}

static void gs_site_clear(struct gs_env *env, struct gs_lock_tstate *s, int which)
{
	(void)env;
	if (which == GS_SITE_EP)
		s->ep_site = -1;
	else
		s->cond_site = -1;
}

static void gs_site_add(struct gs_env *env, struct gs_lock_tstate *s, int which, __u64 addr,
			__u64 wait)
{
	struct gs_sum_caller_key key = {
		.addr = addr, .stackid = which == GS_SITE_EP ? s->ep_site : s->cond_site,
	};
	struct caller_entry *c = SHIM_GET(sh.callers, key, key);

	(void)env;
	if (!c)
		return;
	c->count++;
	c->wait_ns += wait;
}

static void gs_lock_open_wait(struct gs_env *env, __u64 addr, __u64 start, int start_known)
{
	(void)env, (void)addr, (void)start, (void)start_known;
}

static int gs_mutex_probes(struct gs_env *env)
{
	(void)env;
	return sh.mutex_probes;
}

static void gs_gil_handoff(struct gs_env *env, __u32 from, __u32 to, __u64 released,
			   __u64 taken)
{
	__u64 lat = taken > released ? taken - released : 0;

	(void)env;
	shim_hist_add(GS_H_HANDOFF, (__u64)from << 32 | to, lat);
	shim_hist_add(GS_H_HANDOFF_ALL, 0, lat);
}

static struct gs_gil_tstate *gs_gil_tstate_of(struct gs_env *env, __u32 tid)
{
	(void)env;
	for (int i = 0; i < SHIM_SLOTS; i++)
		if (sh.threads[i].used && sh.threads[i].tid == tid)
			return &sh.threads[i].v.gs;
	return NULL;
}

#include "summary_step.h"

/* ---- what summary.c and the probes do around them ---- */

void shim_begin(const struct shim_config *cfg)
{
	memset(&sh, 0, sizeof(sh));
	sh.mutex_probes = cfg->mutex_probes;
	sh.has_gil = cfg->gil_mutex != 0;
	sh.gil_mutex = cfg->gil_mutex;
	sh.gil_cond = cfg->gil_cond;
	sh.gil.interval_ns = cfg->interval_ns;
	sh.gil.start_ts = cfg->start_ts;
	/* summary__begin(): the threads alive at the start */
	for (int i = 0; i < cfg->nr_tids; i++) {
		struct thread_entry *t = SHIM_GET(sh.threads, tid, cfg->tids[i]);

		t->v.gil.first_ts = t->v.gs.since = cfg->start_ts;
		t->v.gs.seen = 1;
		t->v.ls.ep_site = t->v.ls.cond_site = -1;
	}
}

void shim_event(const struct gs_event_hdr *rec)
{
	struct gs_env env = { 0 };
	struct thread_entry *t = SHIM_GET(sh.threads, tid, rec->tid);
	struct gs_step e;

	if (!t)
		return;
	gs_step_of(rec, &e);
	if (rec->type == GS_EV_FUTEX_WAIT) {
		const struct gs_futex_wait_event *w = (const void *)rec;

		env.frames = w->frames;
		env.nr_frames = w->nr_frames > GS_MAX_FRAMES ? GS_MAX_FRAMES : w->nr_frames;
	}
	gs_sum_step(&env, &t->v, sh.has_gil ? &sh.gil : NULL, sh.gil_mutex, sh.gil_cond, &e);
	if (rec->type == GS_EV_THREAD_EXIT || rec->type == GS_EV_THREAD_RENAME) {
		memcpy(t->v.comm, ((const struct gs_thread_event *)rec)->comm, GS_COMM_LEN);
		t->v.named = 1;
	}
}

static const __u64 *frames_of(__s32 id, __u32 *nr)
{
	*nr = 0;
	if (id < 0 || id >= sh.nr_stacks)
		return NULL;
	*nr = sh.stacks[id].nr;
	return sh.stacks[id].frames;
}

/* summary__read(), in its order. */
int shim_read(struct analysis *a, struct names *names, uint64_t *dropped)
{
	int err = 0;

	for (int i = 0; i < SHIM_SLOTS && !err; i++)
		if (sh.locks[i].used)
			err = summary_tables__lock(a, sh.locks[i].addr, &sh.locks[i].v);
	for (int i = 0; i < SHIM_SLOTS && !err; i++) {
		const struct gs_sum_thread *v = &sh.threads[i].v;
		const __u64 *f = NULL;
		__u32 nr = 0;

		if (!sh.threads[i].used)
			continue;
		if (v->ls.ep_open)
			f = frames_of(v->ls.ep_site, &nr);
		err = summary_tables__thread(a, names, sh.threads[i].tid, v, (const uint64_t *)f, nr);
	}
	for (int i = 0; i < SHIM_SLOTS && !err; i++)
		if (sh.hists[i].used)
			err = summary_tables__hist(a, &sh.hists[i].key, &sh.hists[i].h);
	for (int i = 0; i < SHIM_SLOTS && !err; i++) {
		const struct caller_entry *c = &sh.callers[i];
		const __u64 *f;
		__u32 nr;

		if (!c->used || !c->count)
			continue;
		f = frames_of(c->key.stackid, &nr);
		err = summary_tables__caller(a, c->key.addr, (const uint64_t *)f, nr,
					     PY_STACK_NONE, c->count, c->wait_ns);
	}
	if (sh.has_gil)
		summary_tables__gil(a, &sh.gil);
	*dropped = sh.dropped;
	return err;
}
