// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where the reports go, for every kind of session (live, --summary, a
 * recording's replay): the text to stdout, the JSON to --json's file
 * (with --json -, the JSON to stdout and the text to stderr).
 * One place, so a live run and `gilscope report` of its recording write
 * their outputs alike.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "outfile.h"
#include "report.h"
#include "timeline.h"

int report_write_json(const struct report_meta *m, struct analysis *a,
		      struct names *names, const char *path, bool force)
{
	struct outfile json = { .fd = -1 };
	int err;

	err = outfile__open(&json, path, force);
	if (err)
		return err;
	report_json(json.f, m, a, names);
	return outfile__commit(&json);	/* on failure, no file is left */
}

int report_write(struct report_meta *m, struct analysis *a, struct names *names,
		 const char *json_path, bool force)
{
	/* --json -: the JSON has standard output, the text goes to stderr */
	FILE *text = json_path && !strcmp(json_path, "-") ? stderr : stdout;

	m->width = timeline_width(text);
	report_text(text, m, a, names);
	/* a full disk or /dev/full: half a report is no report */
	if (fflush(text) || ferror(text)) {
		int err = errno ? -errno : -EIO;

		fprintf(stderr, "gilscope: writing the report to %s failed: %s\n",
			text == stdout ? "standard output" : "standard error", strerror(-err));
		return err;
	}
	if (!json_path)
		return 0;
	return report_write_json(m, a, names, json_path, force);
}
