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
		  "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u00ff\"}\n");
}
