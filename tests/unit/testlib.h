/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A tiny unit-test harness in the spirit of the kernel's test_progs: each
 * TEST() registers itself; tests/unit/main.c runs every case in a forked
 * child (a crash fails one case, not the run) and prints one line a case:
 *   PASS name | FAIL name: why | SKIP name: reason
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

typedef void (*testlib_fn)(void);
void testlib_register(const char *name, testlib_fn fn);

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void reg_##name(void)	\
	{ testlib_register(#name, name); }				\
	static void name(void)

#define TEST_FAIL_EXIT	1
#define TEST_SKIP_EXIT	77

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		exit(TEST_FAIL_EXIT);					\
	}								\
} while (0)

#define CHECK_U64(a, b) do {						\
	unsigned long long _a = (a), _b = (b);				\
	if (_a != _b) {							\
		printf("%s:%d: %s == %llu, expected %s == %llu\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		exit(TEST_FAIL_EXIT);					\
	}								\
} while (0)

#define CHECK_I64(a, b) do {						\
	long long _a = (a), _b = (b);					\
	if (_a != _b) {							\
		printf("%s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		exit(TEST_FAIL_EXIT);					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (!_a || !_b || strcmp(_a, _b)) {				\
		printf("%s:%d: %s == \"%s\", expected \"%s\"\n",	\
		       __FILE__, __LINE__, #a, _a ? _a : "(null)",	\
		       _b ? _b : "(null)");				\
		exit(TEST_FAIL_EXIT);					\
	}								\
} while (0)

#define SKIP(...) do {							\
	printf("SKIP: " __VA_ARGS__);					\
	printf("\n");							\
	exit(TEST_SKIP_EXIT);						\
} while (0)

#endif
