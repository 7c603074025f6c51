/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The report: what was traced (meta), and the tables.  Text and JSON are
 * both written from the same analysis objects, whether the events came
 * live or from a trace file.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>
#include "gilscope.h"	/* GS_MAX_WATCH */
#include "gil_profile.h"

#define REPORT_MAX_PROBES 32
#define REPORT_MAX_CPUS 256
#define REPORT_MAX_EXECS 8

struct probe_desc {
	char where[160];	/* "libc.so.6:pthread_mutex_lock+0xe" */
	char kind[16];		/* "uprobe", "uretprobe", "tracepoint" */
	char note[96];		/* "emulated jcc", "single-stepped: ~12us a hit" */
};

struct report_meta {
	pid_t pid;
	char comm[64];
	char exe[512];
	uint64_t start_ts, end_ts;	/* CLOCK_MONOTONIC ns */
	uint64_t recorded, lost, stack_errors, late;
	/* lost records by CPU (the ring buffer is shared; the counter is
	 * per CPU: where the bursts were) */
	int nr_cpus;
	uint64_t lost_per_cpu[REPORT_MAX_CPUS];
	/* of lost: records still in the ring buffer at the stop that could
	 * not be read in time (not in recordings: 0 when read back) */
	uint64_t lost_at_stop;
	struct probe_desc probes[REPORT_MAX_PROBES];
	int nr_probes;
	bool mutex_probes;		/* --locks=all */
	char end_reason[160];		/* "duration", "signal", "target exited", and
					 * what was done to a command still running */
	char build_id[64];
	int64_t boot_to_wall;		/* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */
	char recovery[2048];		/* from a damaged trace file: what was kept
					 * and lost, one line each */
	int top;			/* call sites per lock */
	bool native;			/* --native (not recorded: the reader's choice) */
	/* the GIL, when a profile found one */
	bool has_gil;
	struct gil_location gil;
	uint64_t gil_interval_us;
	uint64_t gil_interval_end_us;	/* read again at the stop; 0: not read */
	bool sn_mem;			/* switch_number read from memory ... */
	uint64_t sn_start, sn_end;	/* ... right after attach / before detach */
	char gil_note[256];		/* why there is no GIL section, if a Python */
	/* how Python stacks were read ("" when not: no CPython), or why
	 * not; and the sampling rate of the holder's stacks (0: none) */
	char py_stacks[256];
	unsigned int py_sample_hz;
	/* the programs the target exec'd, in order: the name before each,
	 * the file it exec'd (the report is of the last; GIL and process
	 * name included); nr_execs counts those beyond REPORT_MAX_EXECS too */
	int nr_execs;
	struct {
		char from[64], to[256];
	} execs[REPORT_MAX_EXECS];
	int width;			/* timeline columns */
	/* watched reference counts (--object) */
	int nr_objects;
	uint64_t obj_addr[GS_MAX_WATCH];
	char obj_name[GS_MAX_WATCH][128];
	/* the count when the watchpoints were set, when nothing could write
	 * it meanwhile (a held child); else the first write's value is it */
	bool obj_start_known[GS_MAX_WATCH];
	uint64_t obj_start[GS_MAX_WATCH];
	int watched_threads;		/* threads given watchpoints at attach */
	/* --summary: analysed in BPF, nothing streamed */
	bool summary;
	uint64_t aggregated;		/* events the BPF analysis took in */
	uint64_t map_full;		/* updates a full BPF map dropped */
};

struct analysis;
struct names;
struct json;

/* The first of @frames outside the C library's lock internals: the call
 * site a reader wants to see (0 when all are inside). */
uint32_t report_site_index(struct names *n, const uint64_t *frames, uint32_t nr);
/* The target had no dynamic glibc to probe (its pthread figures are unknown). */
bool report_no_libc(const struct report_meta *m);
void report_add_probe(struct report_meta *m, const char *kind,
		      const char *where, const char *note);
/* Notes that the target, named @from, exec'd @to. */
void report_add_exec(struct report_meta *m, const char *from, const char *to);
/* "taskset -> /usr/bin/python3.11" into @buf. */
void report_exec_chain(const struct report_meta *m, char *buf, size_t len);
void report_text(FILE *f, const struct report_meta *m, struct analysis *a,
		 struct names *names);
/* Writes the JSON report (schema 1) to @f. */
void report_json(FILE *f, const struct report_meta *m, struct analysis *a,
		 struct names *names);

/* The text report to stdout (sized to its terminal), then, when
 * @json_path is set, the JSON report into that file, committed whole or
 * not at all (outfile.h).  0 or -errno (message printed). */
int report_write(struct report_meta *m, struct analysis *a, struct names *names,
		 const char *json_path, bool force);
/* Only the JSON report into @path, the same way. */
int report_write_json(const struct report_meta *m, struct analysis *a,
		      struct names *names, const char *path, bool force);

/* The GIL section (report_gil.c). */
void report_gil_text(FILE *f, const struct report_meta *m, struct analysis *a,
		     struct names *names);
void report_gil_json(struct json *j, const struct report_meta *m, struct analysis *a,
		     struct names *names);

/* Waits still in progress at the end, and deadlocks (report_waits.c):
 * nothing / empty arrays when there are none. */
void report_waits_text(FILE *f, const struct report_meta *m, struct analysis *a,
		       struct names *names);
void report_waits_json(struct json *j, const struct report_meta *m, struct analysis *a,
		       struct names *names);

/* The refcount section (report_refcount.c): nothing / null without --object. */
void report_refcount_text(FILE *f, const struct report_meta *m, struct analysis *a,
			  struct names *names);
void report_refcount_json(struct json *j, const struct report_meta *m, struct analysis *a,
			  struct names *names);

#endif
