// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* .gst files: round trips, and every kind of damage a reader must survive. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testlib.h"
#include "events.h"
#include "report.h"
#include "tracefile.h"

struct got {
	struct report_meta m;
	uint64_t records, names, last_tid;
	char last_name[64];
};

static void g_meta(void *ctx, uint32_t tag, const void *val, uint32_t len)
{
	gst_meta_apply(&((struct got *)ctx)->m, tag, val, len);
}

static void g_name(void *ctx, int kind, uint64_t key, const char *name)
{
	struct got *g = ctx;

	(void)kind;
	(void)key;
	g->names++;
	snprintf(g->last_name, sizeof(g->last_name), "%s", name);
}

static void g_rec(void *ctx, const void *rec, size_t size)
{
	struct got *g = ctx;
	const struct gs_event_hdr *h = rec;

	CHECK_U64(size, gs_event_size(h->type));
	g->records++;
	g->last_tid = h->tid;
}

static char path[256];

static void tmp_path(void)
{
	snprintf(path, sizeof(path), "/tmp/gilscope-unit-%d.gst", getpid());
	unlink(path);
}

/* Writes @n lock records (tid = i) with a name and metadata. */
static void write_file(int n, bool close_it)
{
	struct report_meta m = {0};
	struct gst_writer *w;
	struct gs_lock_event e = {0};

	m.pid = 4242;
	snprintf(m.comm, sizeof(m.comm), "prog");
	snprintf(m.exe, sizeof(m.exe), "/usr/bin/prog");
	m.start_ts = 1000;
	report_add_probe(&m, "uprobe", "libc.so.6:pthread_mutex_lock+0xe", "emulated");
	/* watched objects, one with its starting count known */
	m.nr_objects = 2;
	m.obj_addr[0] = 0x5000;
	snprintf(m.obj_name[0], sizeof(m.obj_name[0]), "None");
	m.obj_addr[1] = 0x5040;
	snprintf(m.obj_name[1], sizeof(m.obj_name[1]), "gildemo_objects+64");
	m.obj_start_known[1] = true;
	m.obj_start[1] = 1ULL << 48;
	m.watched_threads = 3;
	CHECK(gst_writer__open(path, false, &m, &w) == 0);
	gst_writer__name(w, GST_NAME_DATA, 0x1234, "prog:table_lock");
	for (int i = 0; i < n; i++) {
		e.hdr.type = GS_EV_MUTEX_LOCK;
		e.hdr.tid = i;
		e.hdr.ts = 2000 + i;
		e.addr = 0x1234;
		CHECK(gst_writer__add(w, &e, sizeof(e)) == 0);
	}
	m.end_ts = 9999;
	snprintf(m.end_reason, sizeof(m.end_reason), "duration");
	m.recorded = n;
	m.lost = 7;
	m.nr_cpus = 3;
	m.lost_per_cpu[0] = 2;
	m.lost_per_cpu[2] = 5;
	if (close_it) {
		CHECK(gst_writer__close(w, &m) == 0);
	} else {
		CHECK(gst_writer__flush(w) == 0);
		gst_writer__abort(w);
	}
}

TEST(tracefile_round_trip)
{
	struct gst_read_stats st;
	struct got g = {0};
	struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };
	struct stat sb;

	tmp_path();
	write_file(100000, true);	/* several chunks */
	CHECK(stat(path, &sb) == 0);
	CHECK_U64(sb.st_mode & 0777, 0600);
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK(!st.incomplete);
	CHECK_U64(st.damaged, 0);
	CHECK_U64(g.records, 100000);
	CHECK_U64(g.last_tid, 99999);
	CHECK_STR(g.last_name, "prog:table_lock");
	CHECK_U64(g.m.pid, 4242);
	CHECK_STR(g.m.comm, "prog");
	CHECK_U64(g.m.start_ts, 1000);
	CHECK_U64(g.m.end_ts, 9999);
	CHECK_STR(g.m.end_reason, "duration");
	CHECK_U64(g.m.nr_probes, 1);
	CHECK_STR(g.m.probes[0].where, "libc.so.6:pthread_mutex_lock+0xe");
	CHECK_U64(g.m.nr_objects, 2);
	CHECK_U64(g.m.obj_addr[0], 0x5000);
	CHECK_STR(g.m.obj_name[0], "None");
	CHECK(!g.m.obj_start_known[0]);
	CHECK_STR(g.m.obj_name[1], "gildemo_objects+64");
	CHECK(g.m.obj_start_known[1]);
	CHECK_U64(g.m.obj_start[1], 1ULL << 48);
	CHECK_U64(g.m.watched_threads, 3);
	CHECK_U64(g.m.lost, 7);
	CHECK_U64(g.m.nr_cpus, 3);
	CHECK_U64(g.m.lost_per_cpu[0], 2);
	CHECK_U64(g.m.lost_per_cpu[1], 0);
	CHECK_U64(g.m.lost_per_cpu[2], 5);
	CHECK(st.chunks >= 3);
	/* never over an existing file without force */
	{
		struct report_meta m = {0};
		struct gst_writer *w;

		CHECK(gst_writer__open(path, false, &m, &w) == -EEXIST);
	}
	unlink(path);
}

TEST(tracefile_cut_short_keeps_complete_chunks)
{
	struct gst_read_stats st;
	struct got g = {0};
	struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };

	tmp_path();
	write_file(50000, false);	/* collector killed: no final META */
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK(st.incomplete);
	CHECK_U64(g.records, 50000);
	CHECK_U64(g.m.end_ts, 0);
	/* and cut in the middle of the last chunk */
	{
		struct stat sb;

		CHECK(stat(path, &sb) == 0);
		CHECK(truncate(path, sb.st_size - 100) == 0);
	}
	memset(&g, 0, sizeof(g));
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK(st.damaged == 1);
	CHECK(g.records > 0 && g.records < 50000);
	unlink(path);
}

static void flip(long off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	CHECK(fd >= 0);
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

/* A bit flipped inside one chunk loses that chunk only. */
TEST(tracefile_bit_flip_recovers_later_chunks)
{
	struct gst_read_stats st;
	struct got g = {0}, all = {0};
	struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };
	struct gst_read_cb cb_all = { g_meta, g_name, g_rec, &all };

	tmp_path();
	write_file(100000, true);
	CHECK(gst_read(path, &cb_all, &st) == 0);
	flip(GST_HEADER_SIZE + 300 + 4000);	/* inside an early events chunk */
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK_U64(st.damaged, 1);
	CHECK(strstr(st.first_error, "CRC") || strstr(st.first_error, "magic"));
	CHECK(g.records < all.records);
	CHECK(g.records > 0);
	CHECK_U64(g.m.end_ts, 9999);	/* the final META after it survived */
	unlink(path);
}

static int read_bytes(const void *data, size_t len)
{
	struct gst_read_stats st;
	struct got g = {0};
	struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };
	int fd;

	tmp_path();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
	fd = gst_read(path, &cb, &st);
	unlink(path);
	return fd;
}

TEST(tracefile_rejects_non_trace_files)
{
	unsigned char h[GST_HEADER_SIZE] = "GILSCOPE";
	struct gst_read_stats st;
	struct gst_read_cb cb = {0};

	CHECK(read_bytes("", 0) == -EINVAL);			/* empty */
	CHECK(read_bytes("GILSCOPE", 8) == -EINVAL);		/* truncated header */
	memcpy(h, "NOTATRAC", 8);
	CHECK(read_bytes(h, sizeof(h)) == -EINVAL);		/* wrong magic */
	memcpy(h, "GILSCOPE", 8);
	h[8] = 99;						/* future major */
	h[12] = GST_HEADER_SIZE;
	CHECK(read_bytes(h, sizeof(h)) == -EPROTONOSUPPORT);
	CHECK(gst_read("/tmp", &cb, &st) == -EINVAL);		/* a directory */
	CHECK(gst_read("/nonexistent/x.gst", &cb, &st) == -ENOENT);
}

/* A chunk header claiming absurd or out-of-file lengths allocates nothing
 * big and crashes nothing. */
TEST(tracefile_absurd_chunk_lengths)
{
	unsigned char f[GST_HEADER_SIZE + GST_CHUNK_HDR_SIZE + 16] = "GILSCOPE";
	uint32_t v;

	f[8] = GST_MAJOR;
	f[12] = GST_HEADER_SIZE;
	v = GST_CHUNK_MAGIC;
	memcpy(f + GST_HEADER_SIZE, &v, 4);
	v = GST_CHUNK_EVENTS;
	memcpy(f + GST_HEADER_SIZE + 4, &v, 4);
	v = 0xffffffffu;			/* raw length */
	memcpy(f + GST_HEADER_SIZE + 8, &v, 4);
	v = 16;
	memcpy(f + GST_HEADER_SIZE + 12, &v, 4);
	CHECK(read_bytes(f, sizeof(f)) == 0);
	v = 1000;				/* past the end of the file */
	memcpy(f + GST_HEADER_SIZE + 8, &v, 4);
	memcpy(f + GST_HEADER_SIZE + 12, &v, 4);
	CHECK(read_bytes(f, sizeof(f)) == 0);
}

/* Offsets of the chunks of @path (SEQ chunks included), in file order. */
static int chunk_offsets(uint64_t *off, uint32_t *type, int max)
{
	int fd = open(path, O_RDONLY), n = 0;
	unsigned char h[GST_CHUNK_HDR_SIZE];
	uint64_t o = GST_HEADER_SIZE;
	uint32_t clen;

	CHECK(fd >= 0);
	while (n < max && pread(fd, h, sizeof(h), o) == (ssize_t)sizeof(h)) {
		off[n] = o;
		memcpy(&type[n], h + 4, 4);
		memcpy(&clen, h + 12, 4);
		o += GST_CHUNK_HDR_SIZE + clen;
		n++;
	}
	close(fd);
	return n;
}

/* 1.1: a sequence record before every chunk, the header's count checked:
 * a closed file cut at a chunk boundary is not passed off as whole. */
TEST(tracefile_1_1_sequence_records_and_missing_chunks)
{
	struct gst_read_stats st;
	struct got g = {0};
	struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };
	uint64_t off[64];
	uint32_t type[64];
	unsigned char h[GST_HEADER_SIZE];
	int n, fd, last_events = -1;
	char d[2048];

	tmp_path();
	write_file(100000, true);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h));
	close(fd);
	CHECK_U64(h[10], GST_MINOR);		/* 1.1 or later: sequence records */
	n = chunk_offsets(off, type, 64);
	CHECK(n >= 6 && n % 2 == 0);
	for (int i = 0; i < n; i += 2)
		CHECK_U64(type[i], GST_CHUNK_SEQ);
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK(!gst_read_stats__partial(&st));
	CHECK_U64(st.chunks, n / 2);
	CHECK_U64(st.chunks_expected, n / 2);
	CHECK_U64(g.records, 100000);
	/* cut before the final META (and its SEQ chunk): whole chunks only */
	CHECK(truncate(path, off[n - 2]) == 0);
	memset(&g, 0, sizeof(g));
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK_U64(st.damaged, 0);
	CHECK(gst_read_stats__partial(&st));
	CHECK_U64(st.nr_problems, 1);
	CHECK(strstr(st.problem[0], "(metadata) is missing"));
	gst_read_stats__describe(&st, d, sizeof(d));
	CHECK(strstr(d, "INCOMPLETE"));
	/* an EVENTS chunk dropped from a whole file: named, with its count */
	unlink(path);
	write_file(100000, true);
	n = chunk_offsets(off, type, 64);
	for (int i = 1; i < n; i += 2)
		if (type[i] == GST_CHUNK_EVENTS)
			last_events = i;
	CHECK(last_events > 0);
	{
		/* cut out the chunk and its SEQ record */
		uint64_t a = off[last_events - 1], b = off[last_events + 1];
		FILE *f = fopen(path, "rb");
		static unsigned char buf[8 << 20];
		size_t len;

		CHECK(f);
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		memmove(buf + a, buf + b, len - b);
		f = fopen(path, "wb");
		CHECK(f && fwrite(buf, 1, len - (b - a), f) == len - (b - a));
		fclose(f);
	}
	memset(&g, 0, sizeof(g));
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK(gst_read_stats__partial(&st));
	CHECK_U64(st.nr_problems, 1);
	CHECK(strstr(st.problem[0], "(events) is missing"));
	CHECK_U64(st.events_missing, 100000 - g.records);
	CHECK(g.records < 100000);
	unlink(path);
}

/* The GIL's strings, the note among them when there is one (a fifth
 * string: readers that know four ignore it). */
TEST(tracefile_gil_note_round_trip)
{
	for (int with = 0; with < 2; with++) {
		struct report_meta m = {0};
		struct gst_read_stats st;
		struct got g = {0};
		struct gst_read_cb cb = { g_meta, g_name, g_rec, &g };
		struct gst_writer *w;

		tmp_path();
		m.pid = 4242;
		m.has_gil = true;
		snprintf(m.gil.python, sizeof(m.gil.python), "3.14.10");
		snprintf(m.gil.method, sizeof(m.gil.method), "debug-offsets");
		snprintf(m.gil.detail, sizeof(m.gil.detail), "_Py_DebugOffsets: ...");
		snprintf(m.gil.module, sizeof(m.gil.module), "/usr/bin/python3.14");
		if (with)
			snprintf(m.gil.note, sizeof(m.gil.note), "1 other interpreter exists");
		CHECK(gst_writer__open(path, false, &m, &w) == 0);
		CHECK(gst_writer__close(w, &m) == 0);
		CHECK(gst_read(path, &cb, &st) == 0);
		unlink(path);
		CHECK(g.m.has_gil);
		CHECK_STR(g.m.gil.python, "3.14.10");
		CHECK_STR(g.m.gil.module, "/usr/bin/python3.14");
		CHECK_STR(g.m.gil.note, with ? "1 other interpreter exists" : "");
	}
}

/* A target that exec'd: the final META's EXEC tags forget the first
 * program's GIL, and the tags after them describe the last one. */
TEST(tracefile_exec_meta_describes_the_last_program)
{
	struct report_meta m = {0};
	uint8_t exec_tag[] = "taskset\0/usr/bin/python3.11";

	snprintf(m.comm, sizeof(m.comm), "taskset");
	m.has_gil = true;	/* as a first META may say (a -p Python) */
	snprintf(m.gil.python, sizeof(m.gil.python), "3.11.2");
	snprintf(m.gil_note, sizeof(m.gil_note), "old note");
	gst_meta_apply(&m, GST_TAG_EXEC, exec_tag, sizeof(exec_tag) - 1);
	CHECK(!m.has_gil);
	CHECK(m.gil.python[0] == 0 && m.gil_note[0] == 0);
	CHECK_U64(m.nr_execs, 1);
	CHECK(!strcmp(m.execs[0].from, "taskset"));
	CHECK(!strcmp(m.execs[0].to, "/usr/bin/python3.11"));
	gst_meta_apply(&m, GST_TAG_EXEC, exec_tag, sizeof(exec_tag) - 1);
	CHECK_U64(m.nr_execs, 2);
	{
		uint8_t nr[4] = { 12, 0, 0, 0 };

		gst_meta_apply(&m, GST_TAG_NR_EXECS, nr, 4);
	}
	CHECK_U64(m.nr_execs, 12);
	gst_meta_apply(&m, GST_TAG_COMM, "python3.11", 10);
	CHECK(!strcmp(m.comm, "python3.11"));
}

struct py_got {
	uint64_t stacks, self0, self3, bad_size;
};

static void py_rec(void *ctx, const void *rec, size_t size)
{
	const struct gs_py_stack_event *p = rec;
	struct py_got *g = ctx;

	if (p->hdr.type != GS_EV_PY_STACK)
		return;
	if (size != sizeof(*p))
		g->bad_size++;
	g->stacks++;
	g->self0 |= p->self[0];
	g->self3 |= p->self[GS_PY_SELF_FRAMES - 1];
}

/* 1.4: a Python stack keeps its frames' first locals; a 1.3 recording's
 * stacks (560 bytes, before them) still read, as stacks of today's size
 * whose first locals are 0. */
TEST(tracefile_py_stacks_1_4_and_1_3)
{
	struct gst_read_cb cb = { NULL, NULL, py_rec, NULL };
	struct gs_py_stack_event p = {0};
	struct report_meta m = {0};
	struct gst_read_stats st;
	struct gst_writer *w;
	struct py_got g = {0};

	CHECK_U64(offsetof(struct gs_py_stack_event, self), 560);
	tmp_path();
	CHECK(gst_writer__open(path, false, &m, &w) == 0);
	p.hdr.type = GS_EV_PY_STACK;
	p.kind = GS_PY_LOCK_WAIT;
	p.nr_frames = 2;
	p.self[0] = 0x7f0000001230ULL;
	p.self[GS_PY_SELF_FRAMES - 1] = 0x7f0000004560ULL;
	for (int i = 0; i < 3; i++) {
		p.hdr.ts = 100 + i;
		CHECK(gst_writer__add(w, &p, sizeof(p)) == 0);
	}
	CHECK(gst_writer__close(w, &m) == 0);
	cb.ctx = &g;
	CHECK(gst_read(path, &cb, &st) == 0);
	CHECK_U64(st.minor, GST_MINOR);
	CHECK_U64(st.bad_records, 0);
	CHECK_U64(g.stacks, 3);
	CHECK_U64(g.self0, 0x7f0000001230ULL);
	CHECK_U64(g.self3, 0x7f0000004560ULL);
	CHECK_U64(g.bad_size, 0);
	unlink(path);

	/* a sample recording of Debian's python3.11, format 1.3 (run from
	 * the source tree, as `make unit` does) */
	memset(&g, 0, sizeof(g));
	if (access("traces/fib4-cpython.gst", R_OK))
		SKIP("no traces/fib4-cpython.gst here (not run from the source tree)");
	CHECK(gst_read("traces/fib4-cpython.gst", &cb, &st) == 0);
	CHECK_U64(st.minor, 3);
	CHECK_U64(st.bad_records, 0);
	CHECK(g.stacks > 100);
	CHECK_U64(g.self0 | g.self3, 0);
	CHECK_U64(g.bad_size, 0);
}
