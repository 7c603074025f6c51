// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `gilscope -p PID`, `gilscope -- CMD`, `gilscope record`, `gilscope
 * refcount`: one tracing session (session.h) and its report.
 */
#include <errno.h>
#include <stdio.h>
#include "live.h"
#include "options.h"
#include "replay.h"
#include "report.h"
#include "session.h"

/* A recording's report is that of `gilscope report FILE --json OUT`:
 * the file read back, since nothing was analysed while it was made. */
static int report_recording(const struct env *env, const struct report_meta *m)
{
	struct replay r = {0};
	int err;

	fprintf(stderr, "gilscope: recorded %llu events (%llu lost) to %s: "
		"gilscope report %s\n", (unsigned long long)m->recorded,
		(unsigned long long)m->lost, env->output, env->output);
	if (!env->json_path)
		return 0;
	err = replay__load(&r, env->output, env->top) ? -EIO : 0;
	err = err ?: report_write_json(r.meta, &r.an, r.names, env->json_path, env->force);
	replay__free(&r);
	return err;
}

static int report(struct session *s)
{
	const struct env *env = s->env;

	if (env->mode == MODE_RECORD)
		return report_recording(env, s->meta);
	return report_write(s->meta, &s->an, s->names, env->json_path, env->force);
}

int cmd_trace(struct env *env)
{
	struct session s;
	int err, ret = 1;

	err = session__prepare(&s, env);
	err = err ?: session__attach(&s);
	err = err ?: session__start(&s);
	if (err)
		goto cleanup;
	session__run(&s);
	err = session__stop(&s);
	err = err ?: report(&s);
	if (!err)
		ret = session__status(&s);
cleanup:
	session__free(&s);
	return ret;
}
