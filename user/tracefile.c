// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "events.h"
#include "grow.h"
#include "outfile.h"
#include "report.h"
#include "tracefile.h"

#define EVENTS_CHUNK_RAW (256u << 10)	/* compress every 256 KB of records */

/* ---- little-endian helpers (x86-64 is little-endian; keep it explicit) ---- */

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

struct buf {
	uint8_t *p;
	size_t len, cap;
};

/* Makes room for @len more bytes. */
static int buf_reserve(struct buf *b, size_t len)
{
	return GROW_ARRAY(b->p, b->cap, b->len + len, 4096);
}

static int buf_add(struct buf *b, const void *data, size_t len)
{
	int err = buf_reserve(b, len);

	if (err || !len)
		return err;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* ---- writer ---- */

struct gst_writer {
	int fd;
	char *path;
	uint64_t off;		/* bytes written */
	uint64_t chunks;
	struct buf events, names, out;
	struct buf index;	/* u32 type, u32 count of every chunk written */
	bool index_lost;	/* out of memory: no CHUNK_INDEX */
	uint32_t nr_events, nr_names;
	int err;		/* first write error: the file ends on a whole chunk */
	int first_probes;	/* probes the first META listed (an exec adds more) */
};

static int write_all(struct gst_writer *w, const void *p, size_t len)
{
	const uint8_t *c = p;

	while (len) {
		ssize_t n = write(w->fd, c, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += n;
		len -= n;
		w->off += n;
	}
	return 0;
}

/* Appends one chunk (header and compressed @raw) to @dst. */
static int chunk_build(struct buf *dst, uint32_t type, const void *raw, size_t len,
		       uint32_t count)
{
	uLongf clen = compressBound(len);
	uint8_t *hdr;
	int err;

	err = buf_reserve(dst, GST_CHUNK_HDR_SIZE + clen);
	if (err)
		return err;
	hdr = dst->p + dst->len;
	/* level 1: recording must keep up with the ring buffer */
	if (compress2(hdr + GST_CHUNK_HDR_SIZE, &clen, raw, len, 1) != Z_OK)
		return -EIO;
	put32(hdr, GST_CHUNK_MAGIC);
	put32(hdr + 4, type);
	put32(hdr + 8, len);
	put32(hdr + 12, clen);
	put32(hdr + 16, crc32(0, hdr + GST_CHUNK_HDR_SIZE, clen));
	put32(hdr + 20, count);
	dst->len += GST_CHUNK_HDR_SIZE + clen;
	return 0;
}

/* Compresses @raw into one chunk and writes it after its SEQ chunk (its
 * sequence number, type, count, and the CRC of its header, which the
 * payload's CRC does not cover); a failed write is truncated away so the
 * file still ends on a complete chunk. */
static int write_chunk(struct gst_writer *w, uint32_t type, const struct buf *raw,
		       uint32_t count)
{
	struct buf data = {0}, *out = &w->out;
	uint8_t seq[GST_SEQ_SIZE], idx[8];
	uint64_t start = w->off;
	int err;

	if (w->err)
		return w->err;
	out->len = 0;
	err = chunk_build(&data, type, raw->p, raw->len, count);
	if (!err) {
		put32(seq, w->chunks);
		put32(seq + 4, type);
		put32(seq + 8, count);
		put32(seq + 12, crc32(0, data.p, GST_CHUNK_HDR_SIZE));
		err = chunk_build(out, GST_CHUNK_SEQ, seq, sizeof(seq), 0);
	}
	err = err ?: buf_add(out, data.p, data.len);
	free(data.p);
	if (err)
		return err;
	err = write_all(w, out->p, out->len);
	if (err) {
		/* disk full, say: drop the partial chunk */
		if (ftruncate(w->fd, start) == 0)
			w->off = start;
		w->err = err;
		fprintf(stderr, "gilscope: writing %s failed: %s; the recording ends at its "
			"last complete chunk (byte %llu)\n", w->path, strerror(-err),
			(unsigned long long)w->off);
		return err;
	}
	/* for the final META's index: what each chunk held */
	put32(idx, type);
	put32(idx + 4, count);
	if (buf_add(&w->index, idx, sizeof(idx)))
		w->index_lost = true;
	w->chunks++;
	return 0;
}

static int tlv(struct buf *b, uint32_t tag, const void *val, uint32_t len)
{
	uint8_t h[8];

	put32(h, tag);
	put32(h + 4, len);
	return buf_add(b, h, 8) ?: buf_add(b, val, len);
}

static int tlv_str(struct buf *b, uint32_t tag, const char *s)
{
	return tlv(b, tag, s, strlen(s));
}

static int tlv_u64(struct buf *b, uint32_t tag, uint64_t v)
{
	return tlv(b, tag, &v, 8);
}

static int tlv_strs(struct buf *b, uint32_t tag, const char *const *s, int n)
{
	struct buf t = {0};
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = buf_add(&t, s[i], strlen(s[i]) + 1);
	err = err ?: tlv(b, tag, t.p, t.len);
	free(t.p);
	return err;
}

/* Which program: the first META's, and the final one's after an exec. */
static int meta_program(struct buf *b, const struct report_meta *m)
{
	uint32_t pid = m->pid;
	int err;

	err = tlv(b, GST_TAG_PID, &pid, 4);
	err = err ?: tlv_str(b, GST_TAG_COMM, m->comm);
	err = err ?: tlv_str(b, GST_TAG_EXE, m->exe);
	return err ?: tlv_str(b, GST_TAG_BUILD_ID, m->build_id);
}

/* Its GIL (or why there is none); the interval at the end only where
 * the caller knows it. */
static int meta_gil(struct buf *b, const struct report_meta *m, bool interval_end)
{
	int err = 0;

	if (m->has_gil) {
		const char *g[5] = { m->gil.python, m->gil.method, m->gil.detail,
				     m->gil.module, m->gil.note };
		uint64_t a[7] = { m->gil.gil, m->gil.interval, m->gil.last_holder,
				  m->gil.locked, m->gil.switch_number, m->gil.cond,
				  m->gil.mutex };

		/* a note only when there is one: readers before it take the
		 * first 4 strings, and a trace without one is unchanged */
		err = tlv_strs(b, GST_TAG_GIL, g, m->gil.note[0] ? 5 : 4);
		err = err ?: tlv(b, GST_TAG_GIL_ADDRS, a, sizeof(a));
		err = err ?: tlv_u64(b, GST_TAG_GIL_INTERVAL, m->gil_interval_us);
		if (interval_end && m->gil_interval_end_us)
			err = err ?: tlv_u64(b, GST_TAG_GIL_INTERVAL_END, m->gil_interval_end_us);
	}
	if (m->gil_note[0])
		err = err ?: tlv_str(b, GST_TAG_GIL_NOTE, m->gil_note);
	if (m->py_stacks[0])
		err = err ?: tlv_str(b, GST_TAG_PY_STACKS, m->py_stacks);
	if (m->py_sample_hz)
		err = err ?: tlv(b, GST_TAG_PY_SAMPLE_HZ, &m->py_sample_hz, 4);
	return err;
}

/* The final META of a target that exec'd: its execs, then what the
 * first META said of the program, now of the last one (a reader applies
 * the tags in order: EXEC forgets the first program's GIL). */
static int meta_execs(struct buf *b, const struct report_meta *m)
{
	uint32_t nr = m->nr_execs;
	int err = 0;

	if (!m->nr_execs)
		return 0;
	for (int i = 0; i < m->nr_execs && i < REPORT_MAX_EXECS && !err; i++) {
		const char *e[2] = { m->execs[i].from, m->execs[i].to };

		err = tlv_strs(b, GST_TAG_EXEC, e, 2);
	}
	err = err ?: tlv(b, GST_TAG_NR_EXECS, &nr, 4);
	err = err ?: meta_program(b, m);
	return err ?: meta_gil(b, m, false);
}

static int meta_chunk(struct gst_writer *w, const struct report_meta *m, bool final)
{
	struct buf b = {0};
	uint32_t clock = 1, top = m->top;
	uint8_t mp = m->mutex_probes;
	struct buf sizes = {0};
	int err = 0;

	if (!final) {
		err = err ?: meta_program(&b, m);
		err = err ?: tlv(&b, GST_TAG_CLOCK, &clock, 4);
		err = err ?: tlv(&b, GST_TAG_BOOT_TO_WALL, &m->boot_to_wall, 8);
		err = err ?: tlv_u64(&b, GST_TAG_START_TS, m->start_ts);
		err = err ?: tlv(&b, GST_TAG_MUTEX_PROBES, &mp, 1);
		err = err ?: tlv(&b, GST_TAG_TOP, &top, 4);
		for (uint32_t t = 1; t < GS_EV_TYPE_MAX && !err; t++) {
			uint8_t rs[8];

			put32(rs, t);
			put32(rs + 4, gs_event_size(t));
			err = buf_add(&sizes, rs, sizeof(rs));
		}
		err = err ?: tlv(&b, GST_TAG_RECORD_SIZES, sizes.p, sizes.len);
		for (int i = 0; i < m->nr_probes && !err; i++) {
			const char *p[3] = { m->probes[i].kind, m->probes[i].where,
					     m->probes[i].note };

			err = tlv_strs(&b, GST_TAG_PROBE, p, 3);
		}
		err = err ?: meta_gil(&b, m, true);
		if (m->nr_objects) {
			uint32_t wt = m->watched_threads;

			err = err ?: tlv(&b, GST_TAG_WATCHED_THREADS, &wt, 4);
		}
		for (int i = 0; i < m->nr_objects && !err; i++) {
			struct buf o = {0};
			uint8_t a[8];

			put64(a, m->obj_addr[i]);
			err = buf_add(&o, a, 8) ?:
			      buf_add(&o, m->obj_name[i], strlen(m->obj_name[i]));
			err = err ?: tlv(&b, GST_TAG_OBJECT, o.p, o.len);
			free(o.p);
			if (m->obj_start_known[i]) {
				uint64_t sv[2] = { m->obj_addr[i], m->obj_start[i] };

				err = err ?: tlv(&b, GST_TAG_OBJECT_START, sv, sizeof(sv));
			}
		}
	} else {
		err = err ?: meta_execs(&b, m);
		/* probes attached since (an exec's new libc), after the first's */
		for (int i = w->first_probes; i < m->nr_probes && !err; i++) {
			const char *p[3] = { m->probes[i].kind, m->probes[i].where,
					     m->probes[i].note };

			err = tlv_strs(&b, GST_TAG_PROBE, p, 3);
		}
		err = err ?: tlv_u64(&b, GST_TAG_END_TS, m->end_ts);
		err = err ?: tlv_str(&b, GST_TAG_END_REASON, m->end_reason);
		err = err ?: tlv_u64(&b, GST_TAG_RECORDED, m->recorded);
		err = err ?: tlv_u64(&b, GST_TAG_LOST, m->lost);
		if (m->nr_cpus > 0)
			err = err ?: tlv(&b, GST_TAG_LOST_PER_CPU, m->lost_per_cpu,
					 m->nr_cpus * sizeof(m->lost_per_cpu[0]));
		err = err ?: tlv_u64(&b, GST_TAG_STACK_ERRORS, m->stack_errors);
		err = err ?: tlv_u64(&b, GST_TAG_LATE, m->late);
		if (m->sn_mem) {
			uint64_t sn[2] = { m->sn_start, m->sn_end };

			err = err ?: tlv(&b, GST_TAG_GIL_SN_MEM, sn, sizeof(sn));
		}
		if (!w->index_lost)
			err = err ?: tlv(&b, GST_TAG_CHUNK_INDEX, w->index.p, w->index.len);
	}
	err = err ?: write_chunk(w, GST_CHUNK_META, &b, 0);
	free(sizes.p);
	free(b.p);
	return err;
}

static int write_header(struct gst_writer *w, uint32_t flags)
{
	uint8_t h[GST_HEADER_SIZE] = {0};

	memcpy(h, GST_MAGIC, 8);
	put16(h + 8, GST_MAJOR);
	put16(h + 10, GST_MINOR);
	put32(h + 12, GST_HEADER_SIZE);
	put32(h + 16, flags);
	memcpy(h + 24, &w->chunks, 8);
	if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? -errno : -EIO;
	return 0;
}

int gst_writer__open(const char *path, bool force, const struct report_meta *m,
		     struct gst_writer **out)
{
	const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
	struct gst_writer *w;
	int err, flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;

	err = outfile__check_regular(path, force);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return -ENOMEM;
	}
	flags |= force ? O_TRUNC : O_EXCL;
	w->fd = open(path, flags, 0600);
	if (w->fd < 0) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot create %s: %s\n", path, strerror(errno));
		free(w->path);
		free(w);
		return err;
	}
	if (geteuid() == 0 && uid && gid && fchown(w->fd, atoi(uid), atoi(gid)))
		fprintf(stderr, "gilscope: warning: cannot chown %s: %s\n", path, strerror(errno));
	err = write_header(w, GST_FLAG_INCOMPLETE);
	w->off = GST_HEADER_SIZE;
	if (!err && lseek(w->fd, GST_HEADER_SIZE, SEEK_SET) < 0)
		err = -errno;
	w->first_probes = m->nr_probes;
	err = err ?: meta_chunk(w, m, false);
	if (err) {
		fprintf(stderr, "gilscope: cannot write %s: %s\n", path, strerror(-err));
		gst_writer__abort(w);
		return err;
	}
	*out = w;
	return 0;
}

void gst_writer__name(struct gst_writer *w, int kind, uint64_t key, const char *name)
{
	uint8_t h[11];
	size_t len = strlen(name);

	if (len > 4096)
		len = 4096;
	h[0] = kind;
	memcpy(h + 1, &key, 8);
	put16(h + 9, len);
	if (!buf_add(&w->names, h, sizeof(h)) && !buf_add(&w->names, name, len))
		w->nr_names++;
}

int gst_writer__flush(struct gst_writer *w)
{
	int err = 0;

	/* names first: a reader meets a name before the events using it */
	if (w->names.len) {
		err = write_chunk(w, GST_CHUNK_NAMES, &w->names, w->nr_names);
		w->names.len = 0;
		w->nr_names = 0;
	}
	if (w->events.len) {
		err = err ?: write_chunk(w, GST_CHUNK_EVENTS, &w->events, w->nr_events);
		w->events.len = 0;
		w->nr_events = 0;
	}
	return err;
}

int gst_writer__add(struct gst_writer *w, const void *rec, size_t size)
{
	int err = buf_add(&w->events, rec, size);

	if (err)
		return err;
	w->nr_events++;
	if (w->events.len >= EVENTS_CHUNK_RAW)
		return gst_writer__flush(w);
	return 0;
}

uint64_t gst_writer__bytes(const struct gst_writer *w)
{
	return w->off;
}

static void writer_free(struct gst_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	free(w->events.p);
	free(w->names.p);
	free(w->out.p);
	free(w->index.p);
	free(w->path);
	free(w);
}

int gst_writer__close(struct gst_writer *w, const struct report_meta *m)
{
	int err = gst_writer__flush(w);

	err = err ?: meta_chunk(w, m, true);
	err = err ?: (fsync(w->fd) ? -errno : 0);
	/* only a file whose every chunk made it is marked complete */
	err = err ?: write_header(w, 0);
	if (err && !w->err)
		fprintf(stderr, "gilscope: finishing %s failed: %s\n", w->path, strerror(-err));
	writer_free(w);
	return err;
}

void gst_writer__abort(struct gst_writer *w)
{
	if (w)
		writer_free(w);
}

/* ---- reader ---- */

/* A chunk found and checked by the first pass. */
struct gst_chunk {
	uint64_t off;
	uint32_t type, rlen, clen, crc, count;
	int64_t seq;		/* -1: no sequence record */
};

/* What is known of a sequence number: from its SEQ record or the final
 * META's index, whether or not its chunk was read. */
struct gst_seq {
	uint32_t type, count;
	bool known, read, damaged;
	uint64_t off;		/* where its (damaged) chunk was */
};

struct gst_reader {
	const char *path;
	int fd;
	uint64_t size;
	const struct gst_read_cb *cb;
	struct gst_read_stats *st;
	uint8_t *comp, *raw;
	size_t comp_cap, raw_cap;
	struct gst_chunk *ch;
	size_t nr_ch, cap_ch;
	struct gst_seq *seq;	/* by sequence number */
	size_t nr_seq;
	uint32_t rec_size[256];	/* RECORD_SIZES: sizes of record types */
	uint64_t recorded;	/* RECORDED, from the final META */
	bool has_recorded;
};

static void damage(struct gst_read_stats *st, const char *path, uint64_t off,
		   const char *why)
{
	st->damaged++;
	fprintf(stderr, "gilscope: %s: damaged chunk at byte %llu: %s\n", path,
		(unsigned long long)off, why);
	if (!st->first_error[0])
		snprintf(st->first_error, sizeof(st->first_error),
			 "%s: damaged chunk at byte %llu: %s", path,
			 (unsigned long long)off, why);
}

/* One line about what the file lacks: to stderr, and kept for the report. */
__attribute__((format(printf, 2, 3)))
static void problem(struct gst_reader *r, const char *fmt, ...)
{
	struct gst_read_stats *st = r->st;
	char line[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "gilscope: %s: %s\n", r->path, line);
	if (st->nr_problems < GST_MAX_PROBLEMS)
		snprintf(st->problem[st->nr_problems], sizeof(st->problem[0]), "%s", line);
	st->nr_problems++;
}

/* 2133 -> "2,133" */
static const char *thousands(uint64_t v, char *b, size_t cap)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n && o + 2 < (int)cap; i++) {
		if (i && (n - i) % 3 == 0)
			b[o++] = ',';
		b[o++] = t[i];
	}
	b[o] = 0;
	return b;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case GST_CHUNK_META: return "metadata";
	case GST_CHUNK_NAMES: return "names";
	case GST_CHUNK_EVENTS: return "events";
	default: return "unknown type";
	}
}

/*
 * A record's size in this file: the writer's (RECORD_SIZES, 1.1+), else
 * ours.  Layouts only grow at their end (append-only), so a known type
 * reads from any size: a newer writer's longer record as the part we
 * know, an older writer's shorter one (1.3's PY_STACK, before its
 * self[]) with the rest 0 - but only at a size an older version had.
 */
static size_t record_size(const struct gst_reader *r, uint32_t type)
{
	size_t size = gs_event_size(type);

	if (type < 256 && r->rec_size[type] >= sizeof(struct gs_event_hdr))
		return r->rec_size[type];
	return size;
}

/* Sizes known types had in earlier minor versions. */
static bool older_size(uint32_t type, size_t size)
{
	/* 1.3: a Python stack without the frames' first locals */
	return type == GS_EV_PY_STACK && size == offsetof(struct gs_py_stack_event, self);
}

static void parse_events(struct gst_reader *r, const uint8_t *p, size_t len)
{
	struct gst_read_stats *st = r->st;
	/* an older, shorter record made whole: of the types older_size() knows */
	uint8_t grown[sizeof(struct gs_py_stack_event)] __attribute__((aligned(8)));
	size_t off = 0;

	while (off + sizeof(struct gs_event_hdr) <= len) {
		uint32_t type = get32(p + off);
		size_t size = record_size(r, type), ours = gs_event_size(type);

		if (!size || off + size > len) {
			/* without a valid type there is no way to the next
			 * record: the rest of the chunk is lost */
			st->bad_records++;
			return;
		}
		if (ours && size < ours && (!older_size(type, size) || ours > sizeof(grown))) {
			st->bad_records++;	/* a size this type never had */
		} else if (ours) {
			const uint8_t *rec = p + off;

			if (size < ours) {
				memset(grown, 0, ours);
				memcpy(grown, rec, size);
				rec = grown;
			}
			st->records++;
			if (r->cb->record)
				r->cb->record(r->cb->ctx, rec, ours);
		}
		off += size;
	}
	if (off != len)
		st->bad_records++;
}

static void parse_names(const uint8_t *p, size_t len, const struct gst_read_cb *cb)
{
	size_t off = 0;
	char name[4097];

	while (off + 11 <= len) {
		uint16_t n = get16(p + off + 9);

		if (off + 11 + n > len || n > 4096)
			return;
		memcpy(name, p + off + 11, n);
		name[n] = 0;
		if (cb->name)
			cb->name(cb->ctx, p[off], get64(p + off + 1), name);
		off += 11 + (size_t)n;
	}
}

static int seq_note(struct gst_reader *r, uint64_t seq, uint32_t type, uint32_t count)
{
	if (seq >= GST_MAX_CHUNKS)
		return -ERANGE;
	if (seq >= r->nr_seq) {
		size_t was = r->nr_seq;

		if (GROW_ARRAY(r->seq, r->nr_seq, seq + 1, 64))
			return -ENOMEM;
		memset(r->seq + was, 0, (r->nr_seq - was) * sizeof(*r->seq));
	}
	if (!r->seq[seq].known) {
		r->seq[seq].known = true;
		r->seq[seq].type = type;
		r->seq[seq].count = count;
	}
	return 0;
}

/* Tags the reader itself needs; all go on to the callback too. */
static void reader_tag(struct gst_reader *r, uint32_t tag, const uint8_t *v, uint32_t n)
{
	switch (tag) {
	case GST_TAG_RECORD_SIZES:
		for (uint32_t i = 0; i + 8 <= n; i += 8)
			if (get32(v + i) < 256 && get32(v + i + 4) <= 65536)
				r->rec_size[get32(v + i)] = get32(v + i + 4);
		break;
	case GST_TAG_CHUNK_INDEX:
		for (uint32_t i = 0; i + 8 <= n && i / 8 < GST_MAX_CHUNKS; i += 8)
			if (seq_note(r, i / 8, get32(v + i), get32(v + i + 4)))
				break;
		break;
	case GST_TAG_RECORDED:
		if (n == 8) {
			r->recorded = get64(v);
			r->has_recorded = true;
		}
		break;
	}
}

static void parse_meta(struct gst_reader *r, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + 8 <= len) {
		uint32_t tag = get32(p + off), n = get32(p + off + 4);

		if (n > len - off - 8)
			return;
		reader_tag(r, tag, p + off + 8, n);
		if (r->cb->meta_tag)
			r->cb->meta_tag(r->cb->ctx, tag, p + off + 8, n);
		off += 8 + (size_t)n;
	}
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	uint8_t *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, need ? need : 1);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = need;
	return 0;
}

/* Finds the next chunk magic after @from; returns its offset or -1. */
static long long resync(int fd, uint64_t from, uint64_t size)
{
	uint8_t b[65536];

	for (uint64_t off = from; off + 4 <= size;) {
		ssize_t n = pread(fd, b, sizeof(b), off);

		if (n < 4)
			return -1;
		for (ssize_t i = 0; i + 4 <= n; i++)
			if (get32(b + i) == GST_CHUNK_MAGIC)
				return off + i;
		off += n - 3;
	}
	return -1;
}

/* Reads and checks a chunk's payload into r->comp, then inflates it into
 * r->raw.  0, 1 when damaged (said), or -errno. */
static int chunk_load(struct gst_reader *r, const struct gst_chunk *c)
{
	uLongf got = c->rlen;

	if (grow(&r->comp, &r->comp_cap, c->clen) || grow(&r->raw, &r->raw_cap, c->rlen))
		return -ENOMEM;
	if (pread(r->fd, r->comp, c->clen, c->off + GST_CHUNK_HDR_SIZE) != (ssize_t)c->clen) {
		damage(r->st, r->path, c->off, "short read");
		return 1;
	}
	if (crc32(0, r->comp, c->clen) != c->crc) {
		damage(r->st, r->path, c->off, "CRC mismatch");
		return 1;
	}
	if (uncompress(r->raw, &got, r->comp, c->clen) != Z_OK || got != c->rlen) {
		damage(r->st, r->path, c->off, "does not inflate to its stated length");
		return 1;
	}
	return 0;
}

static int chunk_add(struct gst_reader *r, const struct gst_chunk *c)
{
	if (GROW_ARRAY(r->ch, r->cap_ch, r->nr_ch + 1, 64))
		return -ENOMEM;
	r->ch[r->nr_ch++] = *c;
	return 0;
}

/* A sequence record, waiting for the chunk right after it. */
struct pending_seq {
	bool valid;
	uint64_t end;		/* the offset its chunk must start at */
	uint32_t seq, type, count, hdr_crc;
};

/* The first pass: finds every chunk, checks it, keeps where it is.  On
 * damage, skips to the next chunk magic.  0 or -errno. */
static int reader_scan(struct gst_reader *r, uint64_t from)
{
	struct gst_read_stats *st = r->st;
	struct pending_seq ps = {0};
	uint8_t ch[GST_CHUNK_HDR_SIZE];
	uint64_t off;
	int err = 0;

	for (off = from; off < r->size;) {
		struct gst_chunk c = { .off = off, .seq = -1 };
		struct pending_seq mine = ps;
		long long next;

		ps.valid = false;
		if (r->size - off < GST_CHUNK_HDR_SIZE ||
		    pread(r->fd, ch, sizeof(ch), off) != (ssize_t)sizeof(ch)) {
			damage(st, r->path, off, "truncated chunk header (the recording was cut short)");
			break;
		}
		c.type = get32(ch + 4);
		c.rlen = get32(ch + 8);
		c.clen = get32(ch + 12);
		c.crc = get32(ch + 16);
		c.count = get32(ch + 20);
		if (get32(ch) != GST_CHUNK_MAGIC) {
			damage(st, r->path, off, "bad chunk magic");
			goto skip;
		}
		/* zlib cannot inflate more than ~1032:1: a larger claim is
		 * damage, and no allocation follows a claim unchecked */
		if (c.rlen > GST_MAX_RAW || c.clen > GST_MAX_RAW ||
		    c.rlen > (uint64_t)c.clen * 1100 + 64) {
			damage(st, r->path, off, "absurd chunk length");
			goto skip;
		}
		if (c.clen > r->size - off - GST_CHUNK_HDR_SIZE) {
			damage(st, r->path, off, "chunk length points past the end of the file "
			       "(the recording was cut short)");
			break;
		}
		/* a sequence record covers this header: a flipped type or
		 * count is damage, not a chunk silently skipped */
		if (mine.valid && mine.end == off && c.type != GST_CHUNK_SEQ &&
		    crc32(0, ch, sizeof(ch)) != mine.hdr_crc) {
			damage(st, r->path, off, "header does not match its sequence record");
			r->seq[mine.seq].damaged = true;
			r->seq[mine.seq].off = off;
			goto skip;
		}
		if (c.type == GST_CHUNK_SEQ && st->minor >= 1) {
			err = chunk_load(r, &c);
			if (err < 0)
				break;
			err = 0;
			if (r->raw_cap < GST_SEQ_SIZE || c.rlen != GST_SEQ_SIZE) {
				damage(st, r->path, off, "bad sequence record");
				goto skip;
			}
			ps.valid = true;
			ps.end = off + GST_CHUNK_HDR_SIZE + c.clen;
			ps.seq = get32(r->raw);
			ps.type = get32(r->raw + 4);
			ps.count = get32(r->raw + 8);
			ps.hdr_crc = get32(r->raw + 12);
			if (seq_note(r, ps.seq, ps.type, ps.count)) {
				damage(st, r->path, off, "absurd sequence number");
				ps.valid = false;
			}
			off = ps.end;
			continue;
		}
		if (grow(&r->comp, &r->comp_cap, c.clen)) {
			err = -ENOMEM;
			break;
		}
		if (pread(r->fd, r->comp, c.clen, off + GST_CHUNK_HDR_SIZE) != (ssize_t)c.clen) {
			damage(st, r->path, off, "short read");
			break;
		}
		if (crc32(0, r->comp, c.clen) != c.crc) {
			damage(st, r->path, off, "CRC mismatch");
			if (mine.valid && mine.end == off) {
				r->seq[mine.seq].damaged = true;
				r->seq[mine.seq].off = off;
			}
			goto skip;
		}
		if (mine.valid && mine.end == off)
			c.seq = mine.seq;
		err = chunk_add(r, &c);
		if (err)
			break;
		off += GST_CHUNK_HDR_SIZE + (uint64_t)c.clen;
		continue;
skip:
		/* look for the next chunk past this header */
		next = resync(r->fd, off + 4, r->size);
		if (next < 0)
			break;
		st->resync_skipped += next - off;
		off = next;
	}
	return err;
}

static int by_seq(const void *a, const void *b)
{
	const struct gst_chunk *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int by_content_only(const struct gst_chunk *x, const struct gst_chunk *y)
{
	if (x->crc != y->crc)
		return x->crc < y->crc ? -1 : 1;
	if (x->clen != y->clen)
		return x->clen < y->clen ? -1 : 1;
	if (x->rlen != y->rlen)
		return x->rlen < y->rlen ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return 0;
}

static int by_content(const void *a, const void *b)
{
	const struct gst_chunk *x = *(struct gst_chunk *const *)a, *y = *(struct gst_chunk *const *)b;
	int c = by_content_only(x, y);

	return c ? c : x->off < y->off ? -1 : x->off > y->off;
}

static bool known_type(uint32_t type)
{
	return type == GST_CHUNK_META || type == GST_CHUNK_NAMES || type == GST_CHUNK_EVENTS;
}

/* Between the passes: places every chunk, drops repeats and chunks of
 * types that cannot be read.  0, or -EPROTONOSUPPORT for a required chunk
 * type this reader does not know (said). */
static int reader_order(struct gst_reader *r)
{
	struct gst_read_stats *st = r->st;
	size_t n = 0;
	char b[32];

	if (st->minor >= 1) {
		/* a chunk whose sequence record was lost follows the one
		 * before it in the file */
		for (size_t i = 0; i < r->nr_ch; i++)
			if (r->ch[i].seq < 0 && i && r->ch[i - 1].seq >= 0)
				r->ch[i].seq = r->ch[i - 1].seq + 1;
		if (r->nr_ch > 1)
			qsort(r->ch, r->nr_ch, sizeof(*r->ch), by_seq);
	} else if (r->nr_ch > 1) {
		/* 1.0: a chunk identical to an earlier one is a repeat (seq
		 * -2), found by sorting on what identifies a chunk */
		struct gst_chunk **v = calloc(r->nr_ch, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < r->nr_ch; i++)
			v[i] = &r->ch[i];
		qsort(v, r->nr_ch, sizeof(*v), by_content);
		for (size_t i = 1; i < r->nr_ch; i++)
			if (!by_content_only(v[i - 1], v[i]))
				v[i]->seq = -2;
		free(v);
	}
	for (size_t i = 0; i < r->nr_ch; i++) {
		struct gst_chunk *c = &r->ch[i];
		bool repeat = false;

		if (st->minor >= 1) {
			repeat = c->seq < 0 || (n && r->ch[n - 1].seq == c->seq);
			if (!repeat && st->chunks_expected && (uint64_t)c->seq >= st->chunks_expected) {
				problem(r, "chunk at byte %llu claims to be chunk %lld of %llu: ignored",
					(unsigned long long)c->off, (long long)c->seq + 1,
					(unsigned long long)st->chunks_expected);
				continue;
			}
		} else {
			repeat = c->seq == -2;
		}
		if (repeat) {
			if (c->seq < 0 && st->minor >= 1)
				problem(r, "chunk at byte %llu has no sequence record and no place "
					"in the recording: ignored", (unsigned long long)c->off);
			else
				problem(r, "chunk at byte %llu repeats an earlier chunk%s: ignored",
					(unsigned long long)c->off,
					st->minor >= 1 ? " (the same sequence number)" : "");
			continue;
		}
		if (!known_type(c->type)) {
			if (st->minor >= 1 && c->seq >= 0 && (c->type & GST_CHUNK_OPTIONAL)) {
				st->chunks++;	/* optional: skipped by design */
				if ((uint64_t)c->seq < r->nr_seq)
					r->seq[c->seq].read = true;
				continue;
			}
			if (st->minor >= 1 && c->seq >= 0 && (uint64_t)c->seq < r->nr_seq &&
			    r->seq[c->seq].known && r->seq[c->seq].type == c->type) {
				fprintf(stderr, "gilscope: %s: chunk %lld at byte %llu has type %#x, a "
					"required type this gilscope does not know (the file is "
					"version %u.%u): use a newer gilscope\n", r->path,
					(long long)c->seq + 1, (unsigned long long)c->off, c->type,
					GST_MAJOR, st->minor);
				return -EPROTONOSUPPORT;
			}
			/* 1.0 has no other type: a damaged header */
			damage(st, r->path, c->off, "unknown chunk type (a damaged header?)");
			problem(r, "chunk at byte %llu has unknown type %#x: its %s entries not read",
				(unsigned long long)c->off, c->type, thousands(c->count, b, sizeof(b)));
			st->chunks_missing++;
			if (c->seq >= 0 && (uint64_t)c->seq < r->nr_seq)
				r->seq[c->seq].damaged = true;
			continue;
		}
		r->ch[n++] = *c;
	}
	r->nr_ch = n;
	return 0;
}

/* The second pass: META chunks first (what the analysis needs to start),
 * then the others, in order.  0 or -errno. */
static int reader_deliver(struct gst_reader *r)
{
	for (int meta = 1; meta >= 0; meta--) {
		for (size_t i = 0; i < r->nr_ch; i++) {
			const struct gst_chunk *c = &r->ch[i];
			int err;

			if ((c->type == GST_CHUNK_META) != meta)
				continue;
			err = chunk_load(r, c);
			if (err < 0)
				return err;
			if (err)	/* the file changed under us */
				continue;
			r->st->chunks++;
			if (c->seq >= 0 && (uint64_t)c->seq < r->nr_seq)
				r->seq[c->seq].read = true;
			if (c->type == GST_CHUNK_EVENTS)
				parse_events(r, r->raw, c->rlen);
			else if (c->type == GST_CHUNK_NAMES)
				parse_names(r->raw, c->rlen, r->cb);
			else
				parse_meta(r, r->raw, c->rlen);
		}
	}
	return 0;
}

/* One line per run of chunks not read: which, and what was in them. */
static void report_gap(struct gst_reader *r, uint64_t a, uint64_t b, uint64_t total)
{
	uint64_t events = 0, names = 0, unknown = 0;
	bool damaged = false, meta = false;
	char n1[32], n2[32], what[96] = "", which[64];
	const char *kind = NULL;

	for (uint64_t s = a; s <= b; s++) {
		const struct gst_seq *q = s < r->nr_seq ? &r->seq[s] : NULL;
		/* no index describes the last chunk: gilscope ends with META */
		static const struct gst_seq final_meta = { .type = GST_CHUNK_META, .known = true };

		if (s == total - 1 && (!q || !q->known) && r->st->chunks_expected &&
		    !(q && q->damaged))
			q = &final_meta;
		damaged |= q && q->damaged;
		if (!q || !q->known) {
			unknown++;
			continue;
		}
		if (q->type == GST_CHUNK_EVENTS)
			events += q->count;
		else if (q->type == GST_CHUNK_NAMES)
			names += q->count;
		else if (q->type == GST_CHUNK_META)
			meta = true;
		if (!kind)
			kind = type_name(q->type);
		else if (strcmp(kind, type_name(q->type)))
			kind = "several types";
	}
	r->st->chunks_missing += b - a + 1;
	r->st->events_missing += events;
	if (a == b)
		snprintf(which, sizeof(which), "chunk %s of %s", thousands(a + 1, n1, 32),
			 thousands(total, n2, 32));
	else
		snprintf(which, sizeof(which), "chunks %s-%s of %s", thousands(a + 1, n1, 32),
			 thousands(b + 1, n2, 32), thousands(total, n2, 32));
	if (events)
		snprintf(what, sizeof(what), "%s events", thousands(events, n1, 32));
	if (names)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s names",
			 what[0] ? ", " : "", thousands(names, n1, 32));
	if (meta)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%smetadata",
			 what[0] ? ", " : "");
	if (unknown && (events || names || meta))
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 " (and what %s chunk%s of unknown type held)",
			 thousands(unknown, n1, 32), unknown > 1 ? "s" : "");
	problem(r, "%s (%s) %s %s: %s not read", which,
		kind && !unknown ? kind : kind ? "some of unknown type" : "type unknown",
		a == b ? "is" : "are", damaged ? "damaged" : "missing",
		what[0] ? what : "what it held is");
}

/* After the passes: what the header and the sequence numbers say is
 * missing. */
static void reader_check(struct gst_reader *r)
{
	struct gst_read_stats *st = r->st;
	char n1[32], n2[32];
	uint64_t total = st->chunks_expected;

	if (st->minor >= 1) {
		uint64_t last = 0, gap = UINT64_MAX;
		bool any = false;

		/* the highest chunk seen or indexed bounds a file cut short */
		for (size_t s = 0; s < r->nr_seq; s++)
			if (r->seq[s].known || r->seq[s].read) {
				last = s;
				any = true;
			}
		if (!total)
			total = any ? last + 1 : 0;
		for (uint64_t s = 0; s < total; s++) {
			bool read = s < r->nr_seq && r->seq[s].read;

			if (!read && gap == UINT64_MAX)
				gap = s;
			if (read && gap != UINT64_MAX) {
				report_gap(r, gap, s - 1, total);
				gap = UINT64_MAX;
			}
		}
		if (gap != UINT64_MAX)
			report_gap(r, gap, total - 1, total);
		return;
	}
	/* 1.0: no sequence numbers, only the header's count */
	if (total && st->chunks < total) {
		st->chunks_missing += total - st->chunks;
		problem(r, "%s of %s chunks not read (missing or damaged; a version 1.0 "
			"recording does not number its chunks to say which)",
			thousands(total - st->chunks, n1, 32), thousands(total, n2, 32));
	} else if (total && st->chunks > total) {
		problem(r, "%s chunks read, but the header says %s were written",
			thousands(st->chunks, n1, 32), thousands(total, n2, 32));
	}
	if (r->has_recorded && st->records < r->recorded) {
		st->events_missing = r->recorded - st->records;
		problem(r, "%s of %s events not read", thousands(st->events_missing, n1, 32),
			thousands(r->recorded, n2, 32));
	}
}

int gst_read(const char *path, const struct gst_read_cb *cb, struct gst_read_stats *st)
{
	struct gst_reader r = { .path = path, .cb = cb, .st = st, .fd = -1 };
	uint8_t h[GST_HEADER_SIZE];
	struct stat sb;
	int err = 0;

	memset(st, 0, sizeof(*st));
	r.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (r.fd < 0) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot open %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstat(r.fd, &sb) || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "gilscope: %s is not a regular file: give a .gst trace file\n", path);
		err = -EINVAL;
		goto cleanup;
	}
	r.size = sb.st_size;
	st->bytes = r.size;
	if (r.size < GST_HEADER_SIZE || pread(r.fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		fprintf(stderr, "gilscope: %s: truncated header (%llu bytes, a trace file "
			"starts with %d): not a complete gilscope recording\n", path,
			(unsigned long long)r.size, GST_HEADER_SIZE);
		err = -EINVAL;
		goto cleanup;
	}
	if (memcmp(h, GST_MAGIC, 8)) {
		fprintf(stderr, "gilscope: %s: not a gilscope trace file (bad magic at byte 0)\n", path);
		err = -EINVAL;
		goto cleanup;
	}
	if (get16(h + 8) != GST_MAJOR) {
		fprintf(stderr, "gilscope: %s: trace format version %u.%u at byte 8; this "
			"gilscope reads version %d: use a matching gilscope\n", path,
			get16(h + 8), get16(h + 10), GST_MAJOR);
		err = -EPROTONOSUPPORT;
		goto cleanup;
	}
	if (get32(h + 12) < GST_HEADER_SIZE || get32(h + 12) > r.size) {
		fprintf(stderr, "gilscope: %s: bad header size %u at byte 12\n", path, get32(h + 12));
		err = -EINVAL;
		goto cleanup;
	}
	st->minor = get16(h + 10);
	st->incomplete = get32(h + 16) & GST_FLAG_INCOMPLETE;
	if (!st->incomplete) {
		st->chunks_expected = get64(h + 24);
		if (st->chunks_expected > GST_MAX_CHUNKS) {
			damage(st, path, 24, "absurd chunk count in the file header");
			st->chunks_expected = 0;
		}
	}
	err = reader_scan(&r, get32(h + 12));
	err = err ?: reader_order(&r);
	err = err ?: reader_deliver(&r);
	if (!err)
		reader_check(&r);
	if (err == -ENOMEM)
		fprintf(stderr, "gilscope: %s: out of memory reading it\n", path);
cleanup:
	free(r.comp);
	free(r.raw);
	free(r.ch);
	free(r.seq);
	close(r.fd);
	return err;
}

bool gst_read_stats__partial(const struct gst_read_stats *st)
{
	return st->incomplete || st->damaged || st->nr_problems;
}

void gst_read_stats__describe(const struct gst_read_stats *st, char *buf, size_t len)
{
	size_t o;

	snprintf(buf, len, "recording %s: recovered %llu chunks, %llu records%s%s",
		 st->incomplete ? "incomplete (cut short)" :
		 st->damaged ? "damaged" : "incomplete (chunks missing)",
		 (unsigned long long)st->chunks, (unsigned long long)st->records,
		 st->damaged ? "; skipped damage: " : "",
		 st->damaged ? st->first_error : "");
	for (uint32_t i = 0; i < st->nr_problems && i < GST_MAX_PROBLEMS; i++) {
		o = strlen(buf);
		snprintf(buf + o, len - o, "\n  %s", st->problem[i]);
	}
	o = strlen(buf);
	if (st->nr_problems > GST_MAX_PROBLEMS)
		snprintf(buf + o, len - o, "\n  and %u more problems (see stderr)",
			 st->nr_problems - GST_MAX_PROBLEMS);
	o = strlen(buf);
	snprintf(buf + o, len - o, "\nINCOMPLETE: the figures below cover only what was read");
}

static void copy_str(char *dst, size_t cap, const void *val, uint32_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	memcpy(dst, val, n);
	dst[n] = 0;
}

/* The @i-th NUL-terminated string of a packed list, or "". */
static const char *nth(const char *p, uint32_t len, int i, char *out, size_t cap)
{
	uint32_t off = 0;

	for (; i > 0 && off < len; i--)
		off += strnlen(p + off, len - off) + 1;
	out[0] = 0;
	if (off < len)
		copy_str(out, cap, p + off, strnlen(p + off, len - off));
	return out;
}

void gst_meta_apply(struct report_meta *m, uint32_t tag, const void *val, uint32_t len)
{
	char tmp[3][256];

	switch (tag) {
	case GST_TAG_PID:
		if (len == 4)
			m->pid = get32(val);
		break;
	case GST_TAG_COMM: copy_str(m->comm, sizeof(m->comm), val, len); break;
	case GST_TAG_EXE: copy_str(m->exe, sizeof(m->exe), val, len); break;
	case GST_TAG_BUILD_ID: copy_str(m->build_id, sizeof(m->build_id), val, len); break;
	case GST_TAG_END_REASON: copy_str(m->end_reason, sizeof(m->end_reason), val, len); break;
	case GST_TAG_GIL_NOTE: copy_str(m->gil_note, sizeof(m->gil_note), val, len); break;
	case GST_TAG_PY_STACKS: copy_str(m->py_stacks, sizeof(m->py_stacks), val, len); break;
	case GST_TAG_PY_SAMPLE_HZ: if (len == 4) m->py_sample_hz = get32(val); break;
	case GST_TAG_START_TS: if (len == 8) m->start_ts = get64(val); break;
	case GST_TAG_END_TS: if (len == 8) m->end_ts = get64(val); break;
	case GST_TAG_RECORDED: if (len == 8) m->recorded = get64(val); break;
	case GST_TAG_LOST: if (len == 8) m->lost = get64(val); break;
	case GST_TAG_STACK_ERRORS: if (len == 8) m->stack_errors = get64(val); break;
	case GST_TAG_LATE: if (len == 8) m->late = get64(val); break;
	case GST_TAG_BOOT_TO_WALL: if (len == 8) m->boot_to_wall = (int64_t)get64(val); break;
	case GST_TAG_MUTEX_PROBES: if (len == 1) m->mutex_probes = *(const uint8_t *)val; break;
	case GST_TAG_TOP: if (len == 4) m->top = get32(val); break;
	case GST_TAG_GIL_INTERVAL: if (len == 8) m->gil_interval_us = get64(val); break;
	case GST_TAG_GIL_INTERVAL_END: if (len == 8) m->gil_interval_end_us = get64(val); break;
	case GST_TAG_PROBE:
		report_add_probe(m, nth(val, len, 0, tmp[0], 256), nth(val, len, 1, tmp[1], 256),
				 nth(val, len, 2, tmp[2], 256));
		break;
	case GST_TAG_GIL:
		m->has_gil = true;
		nth(val, len, 0, m->gil.python, sizeof(m->gil.python));
		nth(val, len, 1, m->gil.method, sizeof(m->gil.method));
		nth(val, len, 2, m->gil.detail, sizeof(m->gil.detail));
		nth(val, len, 3, m->gil.module, sizeof(m->gil.module));
		nth(val, len, 4, m->gil.note, sizeof(m->gil.note));
		break;
	case GST_TAG_GIL_ADDRS:
		if (len == 56) {
			const uint8_t *p = val;

			m->gil.gil = get64(p);
			m->gil.interval = get64(p + 8);
			m->gil.last_holder = get64(p + 16);
			m->gil.locked = get64(p + 24);
			m->gil.switch_number = get64(p + 32);
			m->gil.cond = get64(p + 40);
			m->gil.mutex = get64(p + 48);
		}
		break;
	case GST_TAG_OBJECT:
		if (len >= 8 && m->nr_objects < GS_MAX_WATCH) {
			m->obj_addr[m->nr_objects] = get64(val);
			copy_str(m->obj_name[m->nr_objects], sizeof(m->obj_name[0]),
				 (const uint8_t *)val + 8, len - 8);
			m->nr_objects++;
		}
		break;
	case GST_TAG_WATCHED_THREADS: if (len == 4) m->watched_threads = get32(val); break;
	case GST_TAG_LOST_PER_CPU:
		m->nr_cpus = 0;
		for (uint32_t off = 0; off + 8 <= len && m->nr_cpus < REPORT_MAX_CPUS; off += 8)
			m->lost_per_cpu[m->nr_cpus++] = get64((const uint8_t *)val + off);
		break;
	case GST_TAG_OBJECT_START:
		for (int i = 0; len == 16 && i < m->nr_objects; i++)
			if (m->obj_addr[i] == get64(val)) {
				m->obj_start[i] = get64((const uint8_t *)val + 8);
				m->obj_start_known[i] = true;
			}
		break;
	case GST_TAG_EXEC:
		if (!m->nr_execs) {
			/* the tags after the execs describe the last program */
			m->has_gil = false;
			memset(&m->gil, 0, sizeof(m->gil));
			m->gil_note[0] = 0;
			m->py_stacks[0] = 0;
			m->py_sample_hz = 0;
		}
		report_add_exec(m, nth(val, len, 0, tmp[0], 256), nth(val, len, 1, tmp[1], 256));
		break;
	case GST_TAG_NR_EXECS: if (len == 4 && m->nr_execs) m->nr_execs = get32(val); break;
	case GST_TAG_GIL_SN_MEM:
		if (len == 16) {
			m->sn_mem = true;
			m->sn_start = get64(val);
			m->sn_end = get64((const uint8_t *)val + 8);
		}
		break;
	default:
		break;	/* newer tags: ignored */
	}
}
