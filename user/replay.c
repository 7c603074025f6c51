// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gilscope report`: a recording read back through the same analysis and
 * report code the live run used, so the two print the same thing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "events.h"
#include "names.h"
#include "options.h"
#include "outfile.h"
#include "replay.h"
#include "report.h"
#include "tracefile.h"

/* The analysis is set up once the first META chunk has been read (it is
 * the file's first chunk): it needs to know the probes and the GIL. */
static int start(struct replay *r)
{
	if (r->started)
		return r->err;
	r->started = true;
	r->err = analysis__from_meta(&r->an, r->meta, r->names, r->keep);
	r->an.tap = r->tap;
	r->an.tap_ctx = r->tap_ctx;
	return r->err;
}

static void on_meta(void *ctx, uint32_t tag, const void *val, uint32_t len)
{
	struct replay *r = ctx;

	gst_meta_apply(r->meta, tag, val, len);
}

static void on_name(void *ctx, int kind, uint64_t key, const char *name)
{
	struct replay *r = ctx;

	switch (kind) {
	case GST_NAME_CODE:
		names__set_code(r->names, key, name);
		break;
	case GST_NAME_DATA:
		names__set_data(r->names, key, name[0] ? name : NULL);
		break;
	case GST_NAME_THREAD:
		names__set_thread(r->names, key, name);
		/* live, every thread of the target at attach was listed */
		if (!start(r))
			analysis__add_thread(&r->an, key);
		break;
	case GST_NAME_PYFRAME:
		names__set_pyframe(r->names, key, name);
		break;
	case GST_NAME_PYTHREAD:
		names__set_pythread(r->names, key, name[0] ? name : NULL);
		break;
	case GST_NAME_PYLOCK:
		names__set_pylock(r->names, key, name[0] ? name : NULL);
		break;
	}
}

static void on_record(void *ctx, const void *rec, size_t size)
{
	struct replay *r = ctx;
	uint64_t t;

	if (start(r))
		return;
	t = gs_event_time(rec);
	if (t > r->last_ts)
		r->last_ts = t;
	analysis__push(&r->an, rec, size);
	analysis__flush(&r->an);
}

int replay__load(struct replay *r, const char *path, int top)
{
	struct gst_read_cb cb = { on_meta, on_name, on_record, r };
	struct gst_read_stats *st = &r->st;

	r->meta = calloc(1, sizeof(*r->meta));
	if (!r->meta || names__new(0, NULL, &r->names))
		return 1;
	if (gst_read(path, &cb, st))
		return 1;
	if (start(r)) {
		fprintf(stderr, "gilscope: out of memory\n");
		return 1;
	}
	if (!r->meta->pid) {
		fprintf(stderr, "gilscope: %s: no readable metadata chunk: nothing to report\n",
			path);
		return 1;
	}
	if (gst_read_stats__partial(st)) {
		gst_read_stats__describe(st, r->meta->recovery, sizeof(r->meta->recovery));
		if (!r->meta->end_ts)
			r->meta->end_ts = r->last_ts;
		if (!r->meta->end_reason[0])
			snprintf(r->meta->end_reason, sizeof(r->meta->end_reason), "end of recording");
		if (!r->meta->recorded)
			r->meta->recorded = st->records;
	}
	analysis__finish(&r->an, r->meta->end_ts);
	/* what the reader asks for now, not what the recorder asked then */
	r->meta->top = top;
	return 0;
}

void replay__free(struct replay *r)
{
	if (r->started)
		analysis__free(&r->an);
	names__free(r->names);
	free(r->meta);
	r->started = false;
	r->names = NULL;
	r->meta = NULL;
}

int cmd_report(struct env *env)
{
	struct replay r = {0};
	int ret = 1;

	if (env->json_path && outfile__check(env->json_path, env->force))
		return 1;
	if (env->json_path && outfile__same(env->input, env->json_path)) {
		fprintf(stderr, "gilscope: --json %s is the recording itself: give another "
			"file\n", env->json_path);
		return 1;
	}
	if (replay__load(&r, env->input, env->top))
		goto cleanup;
	r.meta->native = env->native;
	if (report_write(r.meta, &r.an, r.names, env->json_path, env->force))
		goto cleanup;
	ret = gst_read_stats__partial(&r.st) ? 4 : 0;
cleanup:
	replay__free(&r);
	return ret;
}
