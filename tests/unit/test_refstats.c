// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Refcount statistics on hand-made watchpoint streams with known answers. */
#include <string.h>
#include "testlib.h"
#include "events.h"
#include "refstats.h"

#define OBJ 0x1000
#define INC_IP 0x401010
#define DEC_IP 0x402010
#define BULK_IP 0x403010

static struct refstats rs;
static uint64_t now;

static void setup(uint64_t start, bool start_known)
{
	uint64_t addr = OBJ;
	char names[1][128] = { "obj" };

	now = 1000;
	refstats__init(&rs, &addr, names, 1);
	if (start_known)
		refstats__set_start(&rs, 0, start);
}

static void write(uint32_t tid, uint64_t ip, uint64_t value, uint32_t gil)
{
	struct gs_refcount_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.type = GS_EV_REFCOUNT_WRITE;
	e.hdr.tid = tid;
	e.hdr.ts = now += 100;
	e.addr = OBJ;
	e.value = value;
	e.ip = ip;
	e.gil = gil;
	refstats__event(&rs, &e.hdr, sizeof(e));
}

/* Two threads racing on an incref-only count from 10: 6 increments, two
 * of them lost, and the values read late in the trap handler (the reads
 * blur single steps, not the total). */
TEST(racy_increments_telescope_to_the_lost_count)
{
	setup(10, true);
	write(1, INC_IP, 12, GS_GIL_NOT_HELD);	/* 11 by 1, then 12 by 2: read late */
	write(2, INC_IP, 12, GS_GIL_NOT_HELD);
	write(1, INC_IP, 13, GS_GIL_NOT_HELD);
	write(2, INC_IP, 13, GS_GIL_NOT_HELD);	/* lost: both read 12 */
	write(1, INC_IP, 14, GS_GIL_NOT_HELD);
	write(2, INC_IP, 14, GS_GIL_NOT_HELD);	/* lost: both read 13 */
	refstats__finish(&rs);
	CHECK_U64(rs.obj[0].writes, 6);
	CHECK(rs.obj[0].net_known);
	CHECK(rs.obj[0].direction == 1);
	CHECK_U64(rs.obj[0].lost_updates, 2);	/* 6 increments, the count rose 4 */
	CHECK_U64(rs.obj[0].without_gil, 6);
	CHECK_U64(rs.obj[0].cross_thread_switches, 5);
	refstats__free(&rs);
}

/* GIL-serialised increfs and decrefs: every step clean, nothing lost; one
 * instruction adding 3 at a time ([None] * 3) is credited with its steps. */
TEST(serialised_pairs_and_bulk_adds_lose_nothing)
{
	uint64_t v = 100;

	setup(0, false);
	write(1, INC_IP, v, GS_GIL_HELD);	/* first: the baseline */
	for (int i = 0; i < 40; i++) {
		write(1, INC_IP, ++v, GS_GIL_HELD);
		write(1, DEC_IP, --v, GS_GIL_HELD);
	}
	for (int i = 0; i < 5; i++)
		write(2, BULK_IP, v += 3, GS_GIL_HELD);
	refstats__finish(&rs);
	CHECK(rs.obj[0].net_known);
	CHECK(rs.obj[0].direction == 0);
	CHECK_U64(rs.obj[0].lost_updates, 0);
	CHECK_U64(rs.obj[0].without_gil, 0);
	CHECK_U64(rs.obj[0].zero_steps, 0);
	refstats__free(&rs);
}

/* An instruction whose steps go both ways as much: its direction is
 * unclear, and the lost count is unknown rather than guessed. */
TEST(an_unclear_direction_makes_the_count_unknown)
{
	setup(50, true);
	for (int i = 0; i < 10; i++) {
		write(1, INC_IP, 51, GS_GIL_UNKNOWN);
		write(2, INC_IP, 50, GS_GIL_UNKNOWN);
	}
	refstats__finish(&rs);
	CHECK(!rs.obj[0].net_known);
	CHECK_U64(rs.obj[0].gil_unknown, 20);
	refstats__free(&rs);
}

/* Writes to an address nobody watches are counted apart, not mixed in. */
TEST(stray_addresses_are_kept_apart)
{
	struct gs_refcount_event e;

	setup(1, true);
	memset(&e, 0, sizeof(e));
	e.hdr.type = GS_EV_REFCOUNT_WRITE;
	e.hdr.ts = 5000;
	e.addr = OBJ + 8;
	refstats__event(&rs, &e.hdr, sizeof(e));
	refstats__event(&rs, &e.hdr, sizeof(e) - 1);	/* malformed: ignored */
	refstats__finish(&rs);
	CHECK_U64(rs.strays, 1);
	CHECK_U64(rs.obj[0].writes, 0);
	refstats__free(&rs);
}

/* A damaged or hostile recording's values: steps of 2^62 add up past
 * INT64_MAX.  No overflow (UBSan), and no made-up finding: unknown. */
TEST(absurd_steps_do_not_overflow_and_leave_lost_updates_unknown)
{
	setup(0, false);
	write(1, BULK_IP, 0, GS_GIL_HELD);
	write(1, BULK_IP, 1ULL << 62, GS_GIL_HELD);
	write(1, BULK_IP, 1ULL << 63, GS_GIL_HELD);
	write(1, BULK_IP, 3ULL << 62, GS_GIL_HELD);
	refstats__finish(&rs);
	CHECK_U64(rs.obj[0].writes, 4);
	CHECK(!rs.obj[0].net_known);
	refstats__free(&rs);
}
