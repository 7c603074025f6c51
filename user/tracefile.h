/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * .gst trace files: a recording that `gilscope report` analyses later,
 * elsewhere, without root.  The format is documented for other readers in
 * docs/trace-format.md; in short:
 *
 *   file header (64 bytes): magic "GILSCOPE", major, minor, header size,
 *     flags (INCOMPLETE until a clean close), chunk count of the close
 *   chunks, each: a 24-byte header (magic "GSCK", type, raw length,
 *     compressed length, CRC-32 of the compressed bytes, record count)
 *     then zlib-compressed payload:
 *       META   tag-length-value fields: target, probes, GIL, clock, counts
 *       NAMES  the names of addresses and threads seen since the last one
 *       EVENTS raw records of bpf/gilscope.h, in arrival order
 *
 * Chunks are written as events arrive, so a recording cut short keeps
 * every complete chunk; the reader checks each chunk on its own, says
 * where damage is, and resynchronises on the next chunk magic.
 */
#ifndef TRACEFILE_H
#define TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GST_MAGIC		"GILSCOPE"
#define GST_CHUNK_MAGIC		0x4b435347u	/* "GSCK" little-endian */
#define GST_MAJOR		1
#define GST_MINOR		4	/* 1.4: PY_STACK records keep the innermost
					 * frames' first locals (592 bytes, 560 in
					 * 1.3); 1.3: Python stacks; 1.1: sequence
					 * records, chunk classes; 1.2: execs (EXEC
					 * records, final META describing the last
					 * program) */
#define GST_HEADER_SIZE		64
#define GST_CHUNK_HDR_SIZE	24
#define GST_FLAG_INCOMPLETE	1u
#define GST_MAX_RAW		(64u << 20)	/* no chunk inflates past this */
#define GST_MAX_CHUNKS		(1u << 22)	/* sequence numbers above are damage */
#define GST_SEQ_SIZE		16	/* raw payload of a SEQ chunk */
#define GST_MAX_PROBLEMS	8	/* problem lines kept (all are counted) */

/*
 * Chunk types (append-only).  Below GST_CHUNK_OPTIONAL a type is
 * "required": a reader that does not know it refuses the file (it could
 * not give a whole answer).  From GST_CHUNK_OPTIONAL up a type is
 * "optional": a reader that does not know it skips it.  Version 1.0
 * files hold types 1-3 only.
 */
enum gst_chunk_type {
	GST_CHUNK_META = 1,
	GST_CHUNK_NAMES = 2,
	GST_CHUNK_EVENTS = 3,
	/* 4-0x7fff: reserved for required types of later minor versions */
	GST_CHUNK_OPTIONAL = 0x8000,
	/* 1.1: u32 seq, u32 type, u32 count, u32 CRC-32 of the 24-byte
	 * header of the chunk right after it */
	GST_CHUNK_SEQ = 0x8001,
	/* reserved for later minor versions (optional: a reader without
	 * them still reports the locks and the GIL) */
	GST_CHUNK_PY_FRAMES = 0x8002,	/* Python frames of events */
	GST_CHUNK_STACKS = 0x8003,	/* native stacks of events */
	GST_CHUNK_BUILD_IDS = 0x8004,	/* build-ids of the modules in stacks */
};

enum gst_name_kind {
	GST_NAME_CODE = 1,
	GST_NAME_DATA = 2,	/* empty string: no data symbol holds it */
	GST_NAME_THREAD = 3,
	GST_NAME_PYFRAME = 4,	/* 1.3: pyread_frame_key() -> "qualname (path:line)" */
	GST_NAME_PYTHREAD = 5,	/* 1.3: tid -> its Python thread name */
	GST_NAME_PYLOCK = 6,	/* 1.3: a PyMutex -> "threading.Lock" / "threading.RLock" */
};

/* META tags; append-only, explicit values. */
enum gst_tag {
	GST_TAG_PID = 1,		/* u32 */
	GST_TAG_COMM = 2,		/* string */
	GST_TAG_EXE = 3,
	GST_TAG_BUILD_ID = 4,
	GST_TAG_START_TS = 5,		/* u64, CLOCK_MONOTONIC ns */
	GST_TAG_END_TS = 6,
	GST_TAG_END_REASON = 7,
	GST_TAG_RECORDED = 8,		/* u64 */
	GST_TAG_LOST = 9,
	GST_TAG_STACK_ERRORS = 10,
	GST_TAG_PROBE = 11,		/* kind \0 where \0 note */
	GST_TAG_MUTEX_PROBES = 12,	/* u8 */
	GST_TAG_GIL = 13,		/* python \0 method \0 detail \0 module [\0 note] */
	GST_TAG_GIL_ADDRS = 14,		/* 7 x u64: gil interval last_holder locked
					 * switch_number cond mutex */
	GST_TAG_GIL_INTERVAL = 15,	/* u64 us */
	GST_TAG_GIL_SN_MEM = 16,	/* 2 x u64: at attach, at detach */
	GST_TAG_GIL_NOTE = 17,		/* string */
	GST_TAG_CLOCK = 18,		/* u32 clock id (1 = CLOCK_MONOTONIC) */
	GST_TAG_BOOT_TO_WALL = 19,	/* i64 ns: CLOCK_REALTIME - CLOCK_MONOTONIC */
	GST_TAG_LATE = 20,		/* u64 */
	GST_TAG_TOP = 21,		/* u32 */
	GST_TAG_HOST = 22,		/* string: uname */
	GST_TAG_OBJECT = 23,		/* u64 address, then its name: one per
					 * watched object, in --object order */
	GST_TAG_LOST_PER_CPU = 25,	/* u64 per CPU, CPU 0 first */
	GST_TAG_WATCHED_THREADS = 26,	/* u32: threads given watchpoints at attach */
	GST_TAG_OBJECT_START = 24,	/* 2 x u64: address, its count when the
					 * watchpoints were set on a held child */
	GST_TAG_CHUNK_INDEX = 27,	/* 1.1, final META: u32 type, u32 count of
					 * every chunk before it, by sequence number */
	GST_TAG_RECORD_SIZES = 28,	/* 1.1, first META: u32 type, u32 size of
					 * every record type the writer may write */
	GST_TAG_GIL_INTERVAL_END = 29,	/* u64: the switch interval (us) read
					 * again when tracing stopped */
	GST_TAG_EXEC = 30,		/* 1.2, final META: from \0 to, one per
					 * exec, in order; then the last program's
					 * PID, COMM, EXE, BUILD_ID and GIL tags */
	GST_TAG_NR_EXECS = 31,		/* 1.2, final META: u32 execs (EXEC tags
					 * stop at REPORT_MAX_EXECS) */
	GST_TAG_PY_STACKS = 32,		/* 1.3: string, how Python stacks were read
					 * (or why not); with the GIL tags */
	GST_TAG_PY_SAMPLE_HZ = 33,	/* 1.3: u32, the holder sampler's rate */
};

struct report_meta;
struct names;

/* ---- writing ---- */

struct gst_writer;

/* Creates @path (never through a symlink, mode 0600, not over an existing
 * file without @force) and writes the header and a first META chunk.
 * 0 or -errno, with one line on stderr. */
int gst_writer__open(const char *path, bool force, const struct report_meta *m,
		     struct gst_writer **out);
/* Adds a record; chunks are compressed and written when full. */
int gst_writer__add(struct gst_writer *w, const void *rec, size_t size);
/* Queues a name for the next NAMES chunk (written before the events that
 * use it). */
void gst_writer__name(struct gst_writer *w, int kind, uint64_t key, const char *name);
/* Writes what is buffered (every second or so, live). */
int gst_writer__flush(struct gst_writer *w);
/* Writes the final META chunk, clears INCOMPLETE, closes.  0 or -errno. */
int gst_writer__close(struct gst_writer *w, const struct report_meta *m);
/* Closes without the final META (error paths): the file stays INCOMPLETE. */
void gst_writer__abort(struct gst_writer *w);
uint64_t gst_writer__bytes(const struct gst_writer *w);

/* ---- reading ---- */

struct gst_read_cb {
	void (*meta_tag)(void *ctx, uint32_t tag, const void *val, uint32_t len);
	void (*name)(void *ctx, int kind, uint64_t key, const char *name);
	void (*record)(void *ctx, const void *rec, size_t size);
	void *ctx;
};

struct gst_read_stats {
	bool incomplete;		/* the writer never closed it */
	uint16_t minor;			/* the file's minor version */
	uint64_t chunks, damaged, records, bad_records, bytes;
	uint64_t resync_skipped;	/* bytes skipped to find the next chunk */
	uint64_t chunks_expected;	/* from the header (0: not known) */
	uint64_t chunks_missing;	/* chunks not read: missing or damaged */
	uint64_t events_missing;	/* records in them, when known */
	char first_error[256];		/* "file: damaged chunk at byte N: why" */
	/* what is missing, one line each ("chunk 7 of 12 (events) is
	 * missing: 2,133 events not read"); nr_problems counts them all */
	uint32_t nr_problems;
	char problem[GST_MAX_PROBLEMS][200];
};

/* Reads @path through @cb in two passes: the chunks are found and checked
 * first, then every META chunk is delivered, then the NAMES and EVENTS
 * chunks in sequence order (1.1; file order for 1.0), so a file whose
 * chunks are in any order reads the same.  One chunk in memory at a time.
 * Returns 0 when the file could be read (damage and missing chunks are
 * counted in @st and reported on stderr, one line each), or -errno with
 * one line on stderr when it cannot be (missing, a directory, wrong
 * magic, future version, truncated header, a required chunk type this
 * reader does not know). */
int gst_read(const char *path, const struct gst_read_cb *cb, struct gst_read_stats *st);

/* True when what was read is not the whole recording (cut short, damaged,
 * chunks missing): a report from it must say so and exit 4. */
bool gst_read_stats__partial(const struct gst_read_stats *st);
/* Writes what a partial read kept and lost to @buf: a first line, then
 * one line per problem. */
void gst_read_stats__describe(const struct gst_read_stats *st, char *buf, size_t len);

/* Applies one META tag to @m (strings are copied). */
void gst_meta_apply(struct report_meta *m, uint32_t tag, const void *val, uint32_t len);

#endif
