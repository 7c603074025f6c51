// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * user/pyread*.c on synthetic CPython objects built in this process (a
 * reader of getpid() reads them with process_vm_readv like any target's):
 * line tables of every format, str kinds, code objects good and bad.
 */
#include <errno.h>
#include <unistd.h>
#include "pyread.h"
#include "pyread_int.h"
#include "pyread_lines.h"
#include "testlib.h"

/* f() of a small module (def f(a): x = a + 1 / if x: / y = [a, / x] /
 * return x, first line 2), its tables as the real interpreters print
 * them (co_lnotab / co_linetable), and the lines co_lines() gives. */
static const uint8_t lnotab_38[] = { 0, 1, 8, 1, 4, 1, 2, 1, 2, 255, 4, 2 };
static const uint8_t linetable_310[] = { 8, 1, 4, 1, 2, 1, 2, 1, 4, 255, 4, 2 };
static const uint8_t loctable_311[] = {
	128, 0, 216, 8, 9, 136, 65, 137, 5, 128, 65, 216, 7, 8, 240, 0, 2, 5, 16, 216,
	13, 14, 216, 13, 14, 240, 3, 1, 13, 16, 136, 1, 224, 11, 12, 128, 72 };
static const uint8_t loctable_312[] = {
	128, 0, 216, 8, 9, 136, 65, 137, 5, 128, 65, 217, 7, 8, 216, 13, 14, 216, 13, 14,
	240, 3, 1, 13, 16, 136, 1, 224, 11, 12, 128, 72 };
static const uint8_t loctable_314[] = {
	128, 0, 216, 8, 9, 136, 65, 141, 5, 128, 65, 223, 7, 8, 216, 13, 14, 216, 13, 14,
	240, 3, 1, 13, 16, 136, 1, 224, 11, 12, 128, 72 };

struct range { int start, end, line; };	/* bytes, as co_lines() */

static const struct range lines_38_310[] = {
	{ 0, 8, 3 }, { 8, 12, 4 }, { 12, 14, 5 }, { 14, 16, 6 }, { 16, 20, 5 }, { 20, 24, 7 } };
static const struct range lines_311[] = {
	{ 0, 2, 2 }, { 2, 12, 3 }, { 12, 16, 4 }, { 16, 18, 5 }, { 18, 20, 6 }, { 20, 24, 5 },
	{ 24, 28, 7 } };
static const struct range lines_314[] = {
	{ 0, 2, 2 }, { 2, 20, 3 }, { 20, 36, 4 }, { 36, 38, 5 }, { 38, 40, 6 }, { 40, 44, 5 },
	{ 44, 48, 7 } };

#define N(a) (sizeof(a) / sizeof((a)[0]))

TEST(pyread_lnotab_38)
{
	for (size_t i = 0; i < N(lines_38_310); i++)
		for (int a = lines_38_310[i].start; a < lines_38_310[i].end; a += 2)
			CHECK_I64(py_line_lnotab(lnotab_38, sizeof(lnotab_38), 2, a),
				  lines_38_310[i].line);
	/* f_lasti -1: a frame not started is on its first line's entry */
	CHECK_I64(py_line_lnotab(lnotab_38, sizeof(lnotab_38), 2, -1), 2);
	CHECK_I64(py_line_lnotab(lnotab_38, 0, 7, 10), 7);
}

TEST(pyread_linetable_310)
{
	for (size_t i = 0; i < N(lines_38_310); i++)
		for (int a = lines_38_310[i].start; a < lines_38_310[i].end; a += 2)
			CHECK_I64(py_line_310(linetable_310, sizeof(linetable_310), 2, a),
				  lines_38_310[i].line);
	CHECK_I64(py_line_310(linetable_310, sizeof(linetable_310), 2, -2), 2);
	/* past the end, and a -128 (no line) range */
	CHECK_I64(py_line_310(linetable_310, sizeof(linetable_310), 2, 24), -1);
	{
		const uint8_t t[] = { 4, 1, 2, 0x80, 2, 3 };

		CHECK_I64(py_line_310(t, sizeof(t), 10, 2), 11);
		CHECK_I64(py_line_310(t, sizeof(t), 10, 4), -1);
		CHECK_I64(py_line_310(t, sizeof(t), 10, 6), 14);
	}
}

static void check_311(const uint8_t *t, size_t n, const struct range *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		for (int a = r[i].start; a < r[i].end; a += 2)
			CHECK_I64(py_line_311(t, n, 2, a / 2), r[i].line);
	CHECK_I64(py_line_311(t, n, 2, r[nr - 1].end / 2), -1);
	CHECK_I64(py_line_311(t, n, 2, -1), 2);
}

TEST(pyread_loctable_311_312_314)
{
	check_311(loctable_311, sizeof(loctable_311), lines_311, N(lines_311));
	/* 3.12's table of the same f: other entries, the same lines */
	check_311(loctable_312, sizeof(loctable_312), lines_311, N(lines_311));
	check_311(loctable_314, sizeof(loctable_314), lines_314, N(lines_314));
}

/* Every entry kind of PEP 657's table, built from the format's text */
TEST(pyread_loctable_forms)
{
	const uint8_t t[] = {
		0xe8, 10,		/* no columns, 1 unit, line +5 */
		0xf1, 7, 0, 0, 0,	/* long form, 2 units, line -3, end 0, cols 0 */
		0xf8,			/* no location, 1 unit */
		0xe8, 0x48, 0x03,	/* no columns, line +100 (varint 200: 8 | 3 << 6) */
		0xe0, 1, 2,		/* one-line form 2 (code 12), 1 unit, line +2 */
		0x80 | 5 << 3 | 2, 9,	/* short form 5, 3 units, same line */
	};

	CHECK_I64(py_line_311(t, sizeof(t), 10, 0), 15);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 1), 12);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 2), 12);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 3), -1);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 4), 112);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 5), 114);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 8), 114);
	CHECK_I64(py_line_311(t, sizeof(t), 10, 9), -1);
	/* cut inside a varint, and bytes that are no entry: -1, no overread */
	CHECK_I64(py_line_311(t, 10, 10, 4), -1);
	CHECK_I64(py_line_311((const uint8_t *)"\x01\x02", 2, 10, 0), -1);
}

/* ---- synthetic objects -------------------------------------------------- */

struct fake_type {
	uint64_t head[3];	/* refcnt, type, size */
	const char *tp_name;	/* @24 */
};

static struct fake_type str_type = { .tp_name = "str" };
static struct fake_type code_type = { .tp_name = "code" };
static struct fake_type bytes_type = { .tp_name = "bytes" };
static struct fake_type dict_type = { .tp_name = "dict" };

static void put64(void *obj, size_t off, uint64_t v)
{
	memcpy((uint8_t *)obj + off, &v, 8);
}

static void put32(void *obj, size_t off, uint32_t v)
{
	memcpy((uint8_t *)obj + off, &v, 4);
}

/* A compact str of @kind (1, 2, 4) with @n characters; @ascii_hdr: the
 * PyASCIIObject size (48 before 3.12, 40 after) */
static uint64_t *make_str(const void *chars, size_t n, int kind, bool ascii, int ascii_hdr)
{
	uint64_t *o = calloc(1, 256 + n * 4);
	size_t data = ascii ? ascii_hdr : ascii_hdr + 16 + (ascii_hdr == 48 ? 8 : 0);

	put64(o, 8, (uint64_t)&str_type);
	put64(o, 16, n);
	put32(o, 32, kind << 2 | 1 << 5 | (ascii ? 1 << 6 : 0));
	memcpy((uint8_t *)o + data, chars, n * kind);
	return o;
}

static uint64_t *make_bytes(const void *p, size_t n)
{
	uint64_t *o = calloc(1, 64 + n);

	put64(o, 8, (uint64_t)&bytes_type);
	put64(o, 16, n);
	memcpy((uint8_t *)o + 32, p, n);
	return o;
}

static struct pyread *reader(int minor)
{
	struct pyread *r;
	char why[128];

	CHECK_I64(pyread__new(getpid(), 3, minor, 0, &r, why, sizeof(why)), 0);
	return r;
}

TEST(pyread_str_kinds)
{
	struct pyread *r = reader(12), *r11 = reader(11);
	const uint16_t omega[] = { 0x3a9, 0x3bc, 0x3ad, 0x3b3, 0x3b1 };
	const uint32_t emoji[] = { 'a', 0x1f600, 'b' };
	char buf[64];

	CHECK_I64(pyread__str(r, (uint64_t)make_str("hello", 5, 1, true, 40), buf, 64), 0);
	CHECK_STR(buf, "hello");
	CHECK_I64(pyread__str(r11, (uint64_t)make_str("hello", 5, 1, true, 48), buf, 64), 0);
	CHECK_STR(buf, "hello");
	CHECK_I64(pyread__str(r, (uint64_t)make_str("caf\xe9", 4, 1, false, 40), buf, 64), 0);
	CHECK_STR(buf, "caf\xc3\xa9");
	CHECK_I64(pyread__str(r11, (uint64_t)make_str("caf\xe9", 4, 1, false, 48), buf, 64), 0);
	CHECK_STR(buf, "caf\xc3\xa9");
	CHECK_I64(pyread__str(r, (uint64_t)make_str(omega, 5, 2, false, 40), buf, 64), 0);
	CHECK_STR(buf, "\xce\xa9\xce\xbc\xce\xad\xce\xb3\xce\xb1");
	CHECK_I64(pyread__str(r, (uint64_t)make_str(emoji, 3, 4, false, 40), buf, 64), 0);
	CHECK_STR(buf, "a\xf0\x9f\x98\x80" "b");
	/* truncated at a character boundary, never inside one */
	CHECK_I64(pyread__str(r, (uint64_t)make_str(emoji, 3, 4, false, 40), buf, 5), 0);
	CHECK_STR(buf, "a");
	CHECK_I64(pyread__str(r, (uint64_t)make_str("hello", 5, 1, true, 40), buf, 3), 0);
	CHECK_STR(buf, "he");
	/* not a str, not readable */
	{
		uint64_t *o = make_str("hello", 5, 1, true, 40);

		put64(o, 8, (uint64_t)&dict_type);
		CHECK_I64(pyread__str(r, (uint64_t)o, buf, 64), -EINVAL);
		CHECK_I64(pyread__str(r, 8, buf, 64), -EFAULT);
	}
	pyread__free(r);
	pyread__free(r11);
}

/* A 3.11 code object: f of the tables above, in t.py, qualname C.f */
static uint64_t *make_code_311(const char *file)
{
	uint64_t *o = calloc(1, 184 + 28 + 8);

	put64(o, 8, (uint64_t)&code_type);
	put64(o, 16, 14);			/* 28 bytes of code: 14 units */
	put32(o, 72, 2);			/* co_firstlineno */
	put64(o, 112, (uint64_t)make_str(file, strlen(file), 1, true, 48));
	put64(o, 120, (uint64_t)make_str("f", 1, 1, true, 48));
	put64(o, 128, (uint64_t)make_str("C.f", 3, 1, true, 48));
	put64(o, 136, (uint64_t)make_bytes(loctable_311, sizeof(loctable_311)));
	return o;
}

TEST(pyread_frame_311)
{
	struct pyread *r = reader(11);
	uint64_t *o = make_code_311("t.py"), code = (uint64_t)o, first = code + 184;
	char buf[128];

	for (size_t i = 0; i < N(lines_311); i++) {
		char want[64];

		snprintf(want, sizeof(want), "C.f (t.py:%d)", lines_311[i].line);
		CHECK_I64(pyread__frame(r, code, first + lines_311[i].start, buf, sizeof(buf)), 0);
		CHECK_STR(buf, want);
		/* again: from the cache */
		CHECK_I64(pyread__frame(r, code, first + lines_311[i].start, buf, sizeof(buf)), 0);
		CHECK_STR(buf, want);
	}
	CHECK_U64(pyread_frame_key(code, first + 4), code | (188ull << 47));
	/* an instruction outside the code, or odd */
	CHECK_I64(pyread__frame(r, code, first + 28, buf, sizeof(buf)), -EINVAL);
	CHECK_STR(buf, "[unknown]");
	CHECK_I64(pyread__frame(r, code, first + 3, buf, sizeof(buf)), -EINVAL);

	/* the object at that address is another code object now: a line not
	 * cached yet shows it (its filename pointer differs) */
	put64(o, 112, (uint64_t)make_str("u.py", 4, 1, true, 48));
	CHECK_I64(pyread__frame(r, code, first + 26, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "C.f (u.py:7)");
	/* and no code object at all: "[unknown]", whatever was cached */
	put64(o, 8, (uint64_t)&dict_type);
	CHECK_I64(pyread__frame(r, code, first + 24, buf, sizeof(buf)), -EINVAL);
	CHECK_STR(buf, "[unknown]");
	CHECK_I64(pyread__frame(r, 16, 32, buf, sizeof(buf)), -EFAULT);
	CHECK_STR(buf, "[unknown]");
	pyread__free(r);
}

/* 3.8: co_name, a co_code bytes object, f_lasti in bytes */
TEST(pyread_frame_38_310)
{
	for (int minor = 8; minor <= 10; minor += 2) {
		struct pyread *r = reader(minor);
		uint64_t *o = calloc(1, 160);
		uint8_t code24[24] = { 0 };
		char buf[128], want[64];

		put64(o, 8, (uint64_t)&code_type);
		put32(o, 40, 2);
		put64(o, 48, (uint64_t)make_bytes(code24, sizeof(code24)));
		put64(o, 104, (uint64_t)make_str("t.py", 4, 1, true, 48));
		put64(o, 112, (uint64_t)make_str("f", 1, 1, true, 48));
		put64(o, 120, minor == 8 ? (uint64_t)make_bytes(lnotab_38, sizeof(lnotab_38)) :
			      (uint64_t)make_bytes(linetable_310, sizeof(linetable_310)));
		for (size_t i = 0; i < N(lines_38_310); i++) {
			int a = lines_38_310[i].start;

			snprintf(want, sizeof(want), "f (t.py:%d)", lines_38_310[i].line);
			CHECK_I64(pyread__frame(r, (uint64_t)o, minor == 8 ? a : a / 2, buf,
						sizeof(buf)), 0);
			CHECK_STR(buf, want);
		}
		CHECK_I64(pyread__frame(r, (uint64_t)o, minor == 8 ? 24 : 12, buf, sizeof(buf)),
			  -EINVAL);
		pyread__free(r);
	}
}

TEST(pyread_layouts)
{
	char why[160];
	struct pyread *r;

	for (int minor = 8; minor <= 12; minor++) {
		const struct gs_py_config *c;

		r = reader(minor);
		c = &pyread__layout(r)->walk;
		CHECK(c->fr_previous < GS_PY_FRAME_READ - 8 && c->fr_code < GS_PY_FRAME_READ - 8 &&
		      c->fr_instr < GS_PY_FRAME_READ - 8 && c->fr_owner < GS_PY_FRAME_READ - 8);
		CHECK_I64(pyread__layout(r)->minor, minor);
		pyread__free(r);
	}
	CHECK_I64(pyread__new(getpid(), 3, 7, 0, &r, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "3.7"));
	/* 3.13+ need the debug offsets: none at this "runtime" */
	{
		static uint64_t no_table[128];

		CHECK_I64(pyread__new(getpid(), 3, 14, (uint64_t)no_table, &r, why, sizeof(why)),
			  -ENOTSUP);
		CHECK(strstr(why, "xdebugpy"));
	}
}
