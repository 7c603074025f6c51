// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target, structure-aware: a valid recording is cut into its
 * chunks and mutated at that level -- chunks reordered, dropped, repeated,
 * retyped, their payload inflated, mutated (bytes, or one record's field
 * set to an edge value) and deflated again with a fresh CRC, lengths
 * changed consistently, sequence records renumbered or resealed, header
 * fields changed -- so the input passes every CRC and reaches what lies
 * behind it.  Each input goes through the path `gilscope report` takes:
 * replay__load (reader and analysis), then the text and JSON reports.
 * Inputs that do not parse as chunks fall back to libFuzzer's byte-level
 * mutations (fuzz_tracefile.c does only those).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include "analysis.h"
#include "events.h"
#include "names.h"
#include "replay.h"
#include "report.h"
#include "tracefile.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define MAX_CHUNKS 256
#define MAX_RAW (1u << 20)

struct fchunk {
	uint32_t type, count;
	uint8_t *raw;		/* inflated payload (NULL: keep comp as is) */
	uint32_t rlen;
	uint8_t *comp;		/* the bytes as found, when raw is NULL */
	uint32_t clen, crc, rlen_hdr;
};

struct ffile {
	uint8_t hdr[GST_HEADER_SIZE];
	struct fchunk c[MAX_CHUNKS];
	int n;
};

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return n ? (uint32_t)(rnd_state % n) : 0;
}

static const uint64_t edges[] = {
	0, 1, 2, 0x7f, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 1ULL << 32,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL,
	0xfffffffffffffffeULL, 1ULL << 62, 3ULL << 62, 1000000000ULL,
};

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void ffile_free(struct ffile *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->c[i].raw);
		free(f->c[i].comp);
	}
	f->n = 0;
}

/* 0 when @data is a header and whole chunks; payloads are inflated. */
static int ffile_parse(struct ffile *f, const uint8_t *data, size_t size)
{
	size_t off = GST_HEADER_SIZE;

	f->n = 0;
	if (size < GST_HEADER_SIZE || memcmp(data, GST_MAGIC, 8))
		return -1;
	memcpy(f->hdr, data, GST_HEADER_SIZE);
	while (off + GST_CHUNK_HDR_SIZE <= size && f->n < MAX_CHUNKS) {
		const uint8_t *h = data + off;
		struct fchunk *c = &f->c[f->n];
		uLongf got;

		if (rd32(h) != GST_CHUNK_MAGIC || rd32(h + 12) > size - off - GST_CHUNK_HDR_SIZE)
			return -1;
		memset(c, 0, sizeof(*c));
		c->type = rd32(h + 4);
		c->rlen_hdr = rd32(h + 8);
		c->clen = rd32(h + 12);
		c->crc = rd32(h + 16);
		c->count = rd32(h + 20);
		f->n++;
		got = c->rlen_hdr;
		if (c->rlen_hdr <= MAX_RAW && (c->raw = malloc(got ? got : 1)) &&
		    uncompress(c->raw, &got, h + GST_CHUNK_HDR_SIZE, c->clen) == Z_OK &&
		    got == c->rlen_hdr) {
			c->rlen = got;
		} else {
			free(c->raw);
			c->raw = NULL;
			c->comp = malloc(c->clen ? c->clen : 1);
			if (!c->comp)
				return -1;
			memcpy(c->comp, h + GST_CHUNK_HDR_SIZE, c->clen);
		}
		off += GST_CHUNK_HDR_SIZE + c->clen;
	}
	return f->n ? 0 : -1;
}

/* Writes @c (compressing its raw payload) at @out; returns its size or 0
 * when it does not fit in @cap. */
static size_t chunk_put(const struct fchunk *c, uint8_t *out, size_t cap)
{
	uLongf clen;

	if (cap < GST_CHUNK_HDR_SIZE)
		return 0;
	if (c->raw) {
		clen = cap - GST_CHUNK_HDR_SIZE;
		if (compress2(out + GST_CHUNK_HDR_SIZE, &clen, c->raw, c->rlen, 1) != Z_OK)
			return 0;
		wr32(out + 8, c->rlen);
		wr32(out + 16, crc32(0, out + GST_CHUNK_HDR_SIZE, clen));
	} else {
		if (c->clen > cap - GST_CHUNK_HDR_SIZE)
			return 0;
		clen = c->clen;
		memcpy(out + GST_CHUNK_HDR_SIZE, c->comp, clen);
		wr32(out + 8, c->rlen_hdr);
		wr32(out + 16, c->crc);
	}
	wr32(out, GST_CHUNK_MAGIC);
	wr32(out + 4, c->type);
	wr32(out + 12, clen);
	wr32(out + 20, c->count);
	return GST_CHUNK_HDR_SIZE + clen;
}

/* Serialises; with @reseal, every SEQ record's header CRC is made to
 * match the chunk after it (so mutations behind it are not caught by it). */
static size_t ffile_write(struct ffile *f, uint8_t *out, size_t cap, bool reseal)
{
	size_t off = GST_HEADER_SIZE, n;

	if (cap < GST_HEADER_SIZE)
		return 0;
	memcpy(out, f->hdr, GST_HEADER_SIZE);
	for (int i = 0; i < f->n; i++) {
		struct fchunk *c = &f->c[i];
		size_t seq_off = off;

		n = chunk_put(c, out + off, cap - off);
		if (!n)
			return 0;
		off += n;
		if (reseal && c->type == GST_CHUNK_SEQ && c->raw && c->rlen == GST_SEQ_SIZE &&
		    i + 1 < f->n) {
			struct fchunk *d = &f->c[i + 1];
			size_t cap2 = compressBound(d->raw ? d->rlen : 0) + d->clen + 64;
			uint8_t *tmp = malloc(cap2);

			/* the next chunk's header, as it will be written */
			if (!tmp || !chunk_put(d, tmp, cap2)) {
				free(tmp);
				return 0;
			}
			wr32(c->raw, rnd(8) ? rd32(c->raw) : (uint32_t)edges[rnd(16)]);
			wr32(c->raw + 4, d->type);
			wr32(c->raw + 8, d->count);
			wr32(c->raw + 12, crc32(0, tmp, GST_CHUNK_HDR_SIZE));
			free(tmp);
			off = seq_off;
			n = chunk_put(c, out + off, cap - off);
			if (!n)
				return 0;
			off += n;
		}
	}
	return off;
}


/* Sets one field of one record of an EVENTS payload to an edge value, or
 * to a neighbour's; record framing stays valid. */
static void mutate_record(struct fchunk *c)
{
	size_t off = 0, pick, nrec = 0, size;

	for (off = 0; off + sizeof(struct gs_event_hdr) <= c->rlen; off += size, nrec++) {
		size = gs_event_size(rd32(c->raw + off));
		if (!size || off + size > c->rlen)
			break;
	}
	if (!nrec)
		return;
	pick = rnd(nrec);
	for (off = 0; pick; pick--)
		off += gs_event_size(rd32(c->raw + off));
	size = gs_event_size(rd32(c->raw + off));
	if (size <= 8)
		return;
	{
		/* fields after the type (tid, ts, ...), 4- or 8-byte */
		size_t at = 4 + rnd((uint32_t)(size - 12) / 4) * 4;
		uint64_t v = edges[rnd(sizeof(edges) / sizeof(edges[0]))];

		if (rnd(4) == 0)
			v += rnd(1000) - 500;
		memcpy(c->raw + off + at, &v, rnd(2) ? 8 : 4);
	}
}

static void mutate_once(struct ffile *f, size_t max_size)
{
	int i = rnd(f->n), j = rnd(f->n);
	struct fchunk t;

	switch (rnd(11)) {
	case 0:		/* swap two chunks */
		t = f->c[i];
		f->c[i] = f->c[j];
		f->c[j] = t;
		break;
	case 1:		/* move one chunk elsewhere */
		t = f->c[i];
		if (i < j)
			memmove(&f->c[i], &f->c[i + 1], (j - i) * sizeof(t));
		else
			memmove(&f->c[j + 1], &f->c[j], (i - j) * sizeof(t));
		f->c[j] = t;
		break;
	case 2:		/* drop one */
		if (f->n > 1) {
			free(f->c[i].raw);
			free(f->c[i].comp);
			memmove(&f->c[i], &f->c[i + 1], (f->n - i - 1) * sizeof(t));
			f->n--;
		}
		break;
	case 3:		/* repeat one */
		if (f->n < MAX_CHUNKS) {
			t = f->c[i];
			if (t.raw && !(t.raw = malloc(t.rlen ? t.rlen : 1)))
				break;
			if (t.raw)
				memcpy(t.raw, f->c[i].raw, t.rlen);
			if (t.comp && !(t.comp = malloc(t.clen ? t.clen : 1)))
				break;
			if (t.comp)
				memcpy(t.comp, f->c[i].comp, t.clen);
			memmove(&f->c[j + 1], &f->c[j], (f->n - j) * sizeof(t));
			f->c[j] = t;
			f->n++;
		}
		break;
	case 4:		/* mutate a payload's bytes: re-deflated, new CRC */
	case 5:
		if (f->c[i].raw) {
			size_t cap = f->c[i].rlen * 2 + 64;
			uint8_t *p = realloc(f->c[i].raw, cap);

			if (p) {
				f->c[i].raw = p;
				f->c[i].rlen = LLVMFuzzerMutate(p, f->c[i].rlen, cap);
			}
		}
		break;
	case 6:		/* one record's field to an edge value */
	case 7:
		if (f->c[i].raw && f->c[i].type == GST_CHUNK_EVENTS)
			mutate_record(&f->c[i]);
		else if (f->c[i].raw && f->c[i].type == GST_CHUNK_META && f->c[i].rlen >= 8)
			/* a META value byte (or a length) */
			f->c[i].raw[rnd(f->c[i].rlen)] = (uint8_t)edges[rnd(16)];
		break;
	case 8: {	/* a chunk's type or count */
		static const uint32_t types[] = { 0, 1, 2, 3, 4, 7, 0x7fff, GST_CHUNK_OPTIONAL,
						  GST_CHUNK_SEQ, GST_CHUNK_PY_FRAMES, 0xffffffff };

		if (rnd(2))
			f->c[i].type = types[rnd(sizeof(types) / sizeof(types[0]))];
		else
			f->c[i].count = (uint32_t)edges[rnd(16)];
		break;
	}
	case 9:		/* cut a payload short, lengths consistent */
		if (f->c[i].raw && f->c[i].rlen)
			f->c[i].rlen = rnd(f->c[i].rlen);
		break;
	case 10:	/* the file header: minor, flags, chunk count */
		switch (rnd(3)) {
		case 0: f->hdr[10] = rnd(3); f->hdr[11] = 0; break;
		case 1: f->hdr[16] ^= GST_FLAG_INCOMPLETE; break;
		default: {
			uint64_t v = rnd(2) ? (uint64_t)f->n / 2 + rnd(4) - 2 : edges[rnd(16)];

			memcpy(f->hdr + 24, &v, 8);
		}
		}
		break;
	}
	(void)max_size;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	static struct ffile f;
	uint8_t *out;
	size_t n;

	rnd_state = seed * 2654435761ULL + 1;
	if (rnd(8) == 0 || ffile_parse(&f, data, size)) {
		ffile_free(&f);
		return LLVMFuzzerMutate(data, size, max_size);
	}
	for (int k = 1 + rnd(3); k > 0; k--)
		mutate_once(&f, max_size);
	out = malloc(max_size);
	n = out ? ffile_write(&f, out, max_size, rnd(4) != 0) : 0;
	if (n)
		memcpy(data, out, n);
	free(out);
	ffile_free(&f);
	return n ? n : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static FILE *devnull;
	struct replay r = {0};
	char path[64];

	if (fd < 0)
		fd = memfd_create("fuzz.gst", 0);
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* what cmd_report does, to /dev/null */
	if (!replay__load(&r, path, 10)) {
		r.meta->width = 100;
		report_text(devnull, r.meta, &r.an, r.names);
		report_json(devnull, r.meta, &r.an, r.names);
		fflush(devnull);
	}
	replay__free(&r);
	return 0;
}
