// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A workload with a known amount of contention, for gilscope's tests.
 *
 * Round after round, the "holder" thread takes the global mutex
 * table_lock and keeps it for --hold-ms; as soon as it holds it, the
 * "waiter" thread calls pthread_mutex_lock and must sleep until the
 * holder lets go; it then keeps the lock for --waiter-hold-ms.  The
 * threads hand over with atomics and nanosleep, never a futex, so
 * table_lock is the only futex contended.  Each thread measures its own
 * waits and holds with CLOCK_MONOTONIC and prints them as JSON.
 *
 * Handshakes for tests that attach by pid (instead of sleeping): -g waits
 * for a line on stdin before the rounds start (the tracer attaches
 * meanwhile), -v prints "round N" on stderr as each round ends.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static int rounds = 20, hold_ms = 10, waiter_hold_ms = 1, start_delay_ms, wait_go, verbose;
static atomic_int round_held = -1, round_done = -1;

struct truth {
	int tid;
	unsigned long long wait_ns, hold_ns, max_wait_ns, max_hold_ns;
	int acquisitions;
};
static struct truth holder_truth, waiter_truth;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_ns(unsigned long long ns)
{
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	while (nanosleep(&ts, &ts))
		;
}

/* Lock, measuring how long the call took and how long we then hold. */
static void __attribute__((noinline)) take_table(struct truth *t, unsigned long long hold)
{
	unsigned long long t0 = now_ns(), t1, t2;

	pthread_mutex_lock(&table_lock);
	t1 = now_ns();
	sleep_ns(hold);
	t2 = now_ns();
	pthread_mutex_unlock(&table_lock);
	t->wait_ns += t1 - t0;
	if (t1 - t0 > t->max_wait_ns)
		t->max_wait_ns = t1 - t0;
	t->hold_ns += t2 - t1;
	if (t2 - t1 > t->max_hold_ns)
		t->max_hold_ns = t2 - t1;
	t->acquisitions++;
}

static void *holder(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "holder");
	holder_truth.tid = syscall(SYS_gettid);
	for (int r = 0; r < rounds; r++) {
		unsigned long long t0 = now_ns(), t1, t2;

		pthread_mutex_lock(&table_lock);
		t1 = now_ns();
		atomic_store(&round_held, r);	/* the waiter may go now */
		sleep_ns(hold_ms * 1000000ULL);
		t2 = now_ns();
		pthread_mutex_unlock(&table_lock);
		holder_truth.wait_ns += t1 - t0;
		if (t1 - t0 > holder_truth.max_wait_ns)
			holder_truth.max_wait_ns = t1 - t0;
		holder_truth.hold_ns += t2 - t1;
		if (t2 - t1 > holder_truth.max_hold_ns)
			holder_truth.max_hold_ns = t2 - t1;
		holder_truth.acquisitions++;
		while (atomic_load(&round_done) < r)
			sleep_ns(50000);
		if (verbose)
			fprintf(stderr, "round %d\n", r);
	}
	return NULL;
}

static void __attribute__((noinline)) waiter_round(void)
{
	/* give the holder's sleep a head start so our lock call surely blocks */
	sleep_ns(200000);
	take_table(&waiter_truth, waiter_hold_ms * 1000000ULL);
}

static void *waiter(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "waiter");
	waiter_truth.tid = syscall(SYS_gettid);
	for (int r = 0; r < rounds; r++) {
		while (atomic_load(&round_held) < r)
			sleep_ns(50000);
		waiter_round();
		atomic_store(&round_done, r);
	}
	return NULL;
}

static void print_truth(const char *name, const struct truth *t, int last)
{
	printf("  \"%s\": {\"tid\": %d, \"acquisitions\": %d, \"wait_ns\": %llu, "
	       "\"max_wait_ns\": %llu, \"hold_ns\": %llu, \"max_hold_ns\": %llu}%s\n", name,
	       t->tid, t->acquisitions, t->wait_ns, t->max_wait_ns, t->hold_ns, t->max_hold_ns,
	       last ? "" : ",");
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	int opt;

	while ((opt = getopt(argc, argv, "r:h:w:s:gv")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 'h': hold_ms = atoi(optarg); break;
		case 'w': waiter_hold_ms = atoi(optarg); break;
		case 's': start_delay_ms = atoi(optarg); break;
		case 'g': wait_go = 1; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: lockholder [-r rounds] [-h hold_ms] "
				"[-w waiter_hold_ms] [-s start_delay_ms] [-g] [-v]\n");
			return 2;
		}
	}
	if (start_delay_ms)
		sleep_ns(start_delay_ms * 1000000ULL);
	if (wait_go) {
		char line[16];

		if (!fgets(line, sizeof(line), stdin))
			return 2;
	}
	pthread_create(&a, NULL, holder, NULL);
	pthread_create(&b, NULL, waiter, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("{\n  \"pid\": %d,\n  \"lock_addr\": \"%p\",\n  \"rounds\": %d,\n",
	       getpid(), (void *)&table_lock, rounds);
	print_truth("holder", &holder_truth, 0);
	print_truth("waiter", &waiter_truth, 1);
	printf("}\n");
	return 0;
}
