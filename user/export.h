/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `gilscope export FILE.gst --format perfetto|csv|svg -o OUT`: a
 * recording as a Perfetto / chrome://tracing timeline, as CSV events, or
 * as a self-contained SVG picture of the GIL timeline.
 */
#ifndef EXPORT_H
#define EXPORT_H

struct env;

int cmd_export(struct env *env);

#endif
