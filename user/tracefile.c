// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "events.h"
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

static int buf_add(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *n;

		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n)
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
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
	uint32_t nr_events, nr_names;
	int err;		/* first write error: the file ends on a whole chunk */
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

/* Compresses @raw into one chunk and writes it; a failed write is
 * truncated away so the file still ends on a complete chunk. */
static int write_chunk(struct gst_writer *w, uint32_t type, const struct buf *raw,
		       uint32_t count)
{
	uLongf clen = compressBound(raw->len);
	uint8_t hdr[GST_CHUNK_HDR_SIZE];
	uint64_t start = w->off;
	int err;

	if (w->err)
		return w->err;
	if (w->out.cap < clen) {
		uint8_t *n = realloc(w->out.p, clen);

		if (!n)
			return -ENOMEM;
		w->out.p = n;
		w->out.cap = clen;
	}
	/* level 1: recording must keep up with the ring buffer */
	if (compress2(w->out.p, &clen, raw->p, raw->len, 1) != Z_OK)
		return -EIO;
	put32(hdr, GST_CHUNK_MAGIC);
	put32(hdr + 4, type);
	put32(hdr + 8, raw->len);
	put32(hdr + 12, clen);
	put32(hdr + 16, crc32(0, w->out.p, clen));
	put32(hdr + 20, count);
	err = write_all(w, hdr, sizeof(hdr));
	err = err ?: write_all(w, w->out.p, clen);
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

static int meta_chunk(struct gst_writer *w, const struct report_meta *m, bool final)
{
	struct buf b = {0};
	uint32_t pid = m->pid, clock = 1, top = m->top;
	uint8_t mp = m->mutex_probes;
	int err = 0;

	if (!final) {
		err = err ?: tlv(&b, GST_TAG_PID, &pid, 4);
		err = err ?: tlv_str(&b, GST_TAG_COMM, m->comm);
		err = err ?: tlv_str(&b, GST_TAG_EXE, m->exe);
		err = err ?: tlv_str(&b, GST_TAG_BUILD_ID, m->build_id);
		err = err ?: tlv(&b, GST_TAG_CLOCK, &clock, 4);
		err = err ?: tlv(&b, GST_TAG_BOOT_TO_WALL, &m->boot_to_wall, 8);
		err = err ?: tlv_u64(&b, GST_TAG_START_TS, m->start_ts);
		err = err ?: tlv(&b, GST_TAG_MUTEX_PROBES, &mp, 1);
		err = err ?: tlv(&b, GST_TAG_TOP, &top, 4);
		for (int i = 0; i < m->nr_probes && !err; i++) {
			const char *p[3] = { m->probes[i].kind, m->probes[i].where,
					     m->probes[i].note };

			err = tlv_strs(&b, GST_TAG_PROBE, p, 3);
		}
		if (m->has_gil) {
			const char *g[4] = { m->gil.python, m->gil.method, m->gil.detail,
					     m->gil.module };
			uint64_t a[7] = { m->gil.gil, m->gil.interval, m->gil.last_holder,
					  m->gil.locked, m->gil.switch_number, m->gil.cond,
					  m->gil.mutex };

			err = err ?: tlv_strs(&b, GST_TAG_GIL, g, 4);
			err = err ?: tlv(&b, GST_TAG_GIL_ADDRS, a, sizeof(a));
			err = err ?: tlv_u64(&b, GST_TAG_GIL_INTERVAL, m->gil_interval_us);
		}
		if (m->gil_note[0])
			err = err ?: tlv_str(&b, GST_TAG_GIL_NOTE, m->gil_note);
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
	}
	err = err ?: write_chunk(w, GST_CHUNK_META, &b, 0);
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

	err = outfile__check(path, force);
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

static void parse_events(const uint8_t *p, size_t len, const struct gst_read_cb *cb,
			 struct gst_read_stats *st)
{
	size_t off = 0;

	while (off + sizeof(struct gs_event_hdr) <= len) {
		uint32_t type = get32(p + off);
		size_t size = gs_event_size(type);

		if (!size || off + size > len) {
			/* without a valid type there is no way to the next
			 * record: the rest of the chunk is lost */
			st->bad_records++;
			return;
		}
		st->records++;
		if (cb->record)
			cb->record(cb->ctx, p + off, size);
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

static void parse_meta(const uint8_t *p, size_t len, const struct gst_read_cb *cb)
{
	size_t off = 0;

	while (off + 8 <= len) {
		uint32_t tag = get32(p + off), n = get32(p + off + 4);

		if (n > len - off - 8)
			return;
		if (cb->meta_tag)
			cb->meta_tag(cb->ctx, tag, p + off + 8, n);
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

int gst_read(const char *path, const struct gst_read_cb *cb, struct gst_read_stats *st)
{
	uint8_t h[GST_HEADER_SIZE], ch[GST_CHUNK_HDR_SIZE];
	uint8_t *comp = NULL, *raw = NULL;
	size_t comp_cap = 0, raw_cap = 0;
	uint64_t off, size;
	struct stat sb;
	int fd, err = 0;

	memset(st, 0, sizeof(*st));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "gilscope: cannot open %s: %s\n", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		fprintf(stderr, "gilscope: %s is not a regular file: give a .gst trace file\n", path);
		err = -EINVAL;
		goto cleanup;
	}
	size = sb.st_size;
	st->bytes = size;
	if (size < GST_HEADER_SIZE || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		fprintf(stderr, "gilscope: %s: truncated header (%llu bytes, a trace file "
			"starts with %d): not a complete gilscope recording\n", path,
			(unsigned long long)size, GST_HEADER_SIZE);
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
	if (get32(h + 12) < GST_HEADER_SIZE || get32(h + 12) > size) {
		fprintf(stderr, "gilscope: %s: bad header size %u at byte 12\n", path, get32(h + 12));
		err = -EINVAL;
		goto cleanup;
	}
	st->incomplete = get32(h + 16) & GST_FLAG_INCOMPLETE;
	for (off = get32(h + 12); off < size;) {
		uint32_t type, rlen, clen, crc, count;
		uLongf got;
		long long next;

		if (size - off < GST_CHUNK_HDR_SIZE ||
		    pread(fd, ch, sizeof(ch), off) != (ssize_t)sizeof(ch)) {
			damage(st, path, off, "truncated chunk header (the recording was cut short)");
			break;
		}
		type = get32(ch + 4);
		rlen = get32(ch + 8);
		clen = get32(ch + 12);
		crc = get32(ch + 16);
		count = get32(ch + 20);
		(void)count;
		if (get32(ch) != GST_CHUNK_MAGIC) {
			damage(st, path, off, "bad chunk magic");
			goto skip;
		}
		/* zlib cannot inflate more than ~1032:1: a larger claim is
		 * damage, and no allocation follows a claim unchecked */
		if (rlen > GST_MAX_RAW || clen > GST_MAX_RAW || rlen > (uint64_t)clen * 1100 + 64) {
			damage(st, path, off, "absurd chunk length");
			goto skip;
		}
		if (clen > size - off - GST_CHUNK_HDR_SIZE) {
			damage(st, path, off, "chunk length points past the end of the file "
			       "(the recording was cut short)");
			break;
		}
		if (grow(&comp, &comp_cap, clen) || grow(&raw, &raw_cap, rlen)) {
			err = -ENOMEM;
			break;
		}
		if (pread(fd, comp, clen, off + GST_CHUNK_HDR_SIZE) != (ssize_t)clen) {
			damage(st, path, off, "short read");
			break;
		}
		if (crc32(0, comp, clen) != crc) {
			damage(st, path, off, "CRC mismatch");
			goto skip;
		}
		got = rlen;
		if (uncompress(raw, &got, comp, clen) != Z_OK || got != rlen) {
			damage(st, path, off, "does not inflate to its stated length");
			goto skip;
		}
		st->chunks++;
		if (type == GST_CHUNK_EVENTS)
			parse_events(raw, rlen, cb, st);
		else if (type == GST_CHUNK_NAMES)
			parse_names(raw, rlen, cb);
		else if (type == GST_CHUNK_META)
			parse_meta(raw, rlen, cb);
		/* unknown chunk types (a newer minor version) are skipped */
		off += GST_CHUNK_HDR_SIZE + (uint64_t)clen;
		continue;
skip:
		/* look for the next chunk past this header */
		next = resync(fd, off + 4, size);
		if (next < 0)
			break;
		st->resync_skipped += next - off;
		off = next;
	}
cleanup:
	free(comp);
	free(raw);
	close(fd);
	return err;
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
