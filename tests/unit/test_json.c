// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "testlib.h"
#include "json.h"

static char *render(void (*fn)(struct json *))
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct json j;

	json_init(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(struct json *j)
{
	json_obj_begin(j, NULL);
	json_u64(j, "a", 1);
	json_arr_begin(j, "b");
	json_str(j, NULL, "x");
	json_null(j, NULL);
	json_obj_begin(j, NULL);
	json_bool(j, "t", true);
	json_obj_end(j);
	json_arr_end(j);
	json_i64(j, "c", -3);
	json_str(j, "d", NULL);
	json_obj_end(j);
}

TEST(json_nesting_and_commas)
{
	CHECK_STR(render(nested),
		  "{\"a\":1,\"b\":[\"x\",null,{\"t\":true}],\"c\":-3,\"d\":null}\n");
}

static void escapes(struct json *j)
{
	json_obj_begin(j, NULL);
	json_str(j, "s", "q\"b\\n\n\t\x01\xff");
	json_obj_end(j);
}

TEST(json_escapes_quotes_controls_and_high_bytes)
{
	CHECK_STR(render(escapes),
		  "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\ufffd\"}\n");
}

/* json_write_string of @in, without the quotes */
static const char *escaped(const char *in)
{
	static char buf[512];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	size_t n;

	json_write_string(f, in);
	fclose(f);
	n = strlen(buf);
	CHECK(n >= 2 && buf[0] == '"' && buf[n - 1] == '"');
	buf[n - 1] = 0;
	return buf + 1;
}

TEST(json_keeps_valid_utf8_as_is)
{
	/* thread and symbol names: 2-, 3- and 4-byte sequences, and the
	 * edges of the ranges that are well-formed */
	CHECK_STR(escaped("caf\xc3\xa9-\xe2\x86\x92-\xf0\x9f\x98\x80"),
		  "caf\xc3\xa9-\xe2\x86\x92-\xf0\x9f\x98\x80");
	CHECK_STR(escaped("\xc2\x80\xdf\xbf"), "\xc2\x80\xdf\xbf");		/* U+0080, U+07FF */
	CHECK_STR(escaped("\xe0\xa0\x80\xef\xbf\xbf"), "\xe0\xa0\x80\xef\xbf\xbf");	/* U+0800, U+FFFF */
	CHECK_STR(escaped("\xed\x9f\xbf\xee\x80\x80"), "\xed\x9f\xbf\xee\x80\x80");	/* U+D7FF, U+E000 */
	CHECK_STR(escaped("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
		  "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");			/* U+10000, U+10FFFF */
}

TEST(json_escapes_controls_and_del)
{
	CHECK_STR(escaped("a\x01\x1f\x7f\x08z"), "a\\u0001\\u001f\\u007f\\u0008z");
}

TEST(json_replaces_each_byte_of_invalid_utf8)
{
	/* a lone continuation byte, bytes never in UTF-8 */
	CHECK_STR(escaped("a\x80" "b"), "a\\ufffdb");
	CHECK_STR(escaped("\xfe\xff\xf5\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* overlong forms of '/' (2f) and of U+0000 */
	CHECK_STR(escaped("\xc0\xaf"), "\\ufffd\\ufffd");
	CHECK_STR(escaped("\xc1\xbf"), "\\ufffd\\ufffd");
	CHECK_STR(escaped("\xe0\x80\xaf"), "\\ufffd\\ufffd\\ufffd");
	CHECK_STR(escaped("\xf0\x80\x80\xaf"), "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* UTF-16 surrogates U+D800 and U+DFFF, above U+10FFFF */
	CHECK_STR(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");
	CHECK_STR(escaped("\xed\xbf\xbf"), "\\ufffd\\ufffd\\ufffd");
	CHECK_STR(escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* cut short: at the end (comm truncated to 15 bytes), before ASCII,
	 * before another sequence's lead byte */
	CHECK_STR(escaped("worker-\xc3"), "worker-\\ufffd");
	CHECK_STR(escaped("x\xe2\x82"), "x\\ufffd\\ufffd");
	CHECK_STR(escaped("\xf0\x9f\x98"), "\\ufffd\\ufffd\\ufffd");
	CHECK_STR(escaped("\xe2\x82y"), "\\ufffd\\ufffdy");
	CHECK_STR(escaped("\xe2\xc3\xa9"), "\\ufffd\xc3\xa9");
}
