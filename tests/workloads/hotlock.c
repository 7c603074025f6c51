// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The hot-lock benchmark: N threads hammer one pthread mutex around a
 * tiny critical section (or, with -u, each its own mutex: uncontended).
 * Prints its own elapsed time; the benchmark divides traced by untraced.
 *
 * -w: a wake storm instead: each thread calls futex(FUTEX_WAKE) on its own
 * word, which nobody waits on, as fast as it can.  Every call is one
 * record for gilscope (the futex tracepoints, 0.3 us a call): the fastest
 * event source there is, for the collector's capacity.  -s N spreads
 * the wakes over N words (a table of futexes: many distinct "locks").
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

pthread_mutex_t hot_lock = PTHREAD_MUTEX_INITIALIZER;
static long iters = 2000000;
static int nthreads = 2, uncontended, wake_storm;
static long spread = 1;
static int *spread_words;
static volatile unsigned long counter;	/* under hot_lock */

/* a cache line each: "uncontended" must not share one */
struct worker {
	pthread_t th;
	pthread_mutex_t own;
	volatile unsigned long own_counter;
	int word;		/* -w: the futex nobody waits on */
} __attribute__((aligned(64)));

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_t *m = uncontended ? &w->own : &hot_lock;

	volatile unsigned long *c = uncontended ? &w->own_counter : &counter;

	if (wake_storm) {
		for (long i = 0; i < iters; i++)
			syscall(SYS_futex, spread > 1 ? &spread_words[i % spread] : &w->word,
				FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		return NULL;
	}
	for (long i = 0; i < iters; i++) {
		pthread_mutex_lock(m);
		(*c)++;
		pthread_mutex_unlock(m);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[64];
	struct timespec a, b;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:uws:")) != -1) {
		switch (opt) {
		case 'n': iters = atol(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'u': uncontended = 1; break;
		case 'w': wake_storm = 1; break;
		case 's': spread = atol(optarg); break;
		default:
			fprintf(stderr, "usage: hotlock [-n iters] [-t threads] [-u | -w [-s words]]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64 || iters < 1 || spread < 1 || spread > 10000000) {
		fprintf(stderr, "hotlock: -t must be 1..64, -n positive, -s 1..10000000\n");
		return 2;
	}
	spread_words = calloc(spread, sizeof(*spread_words));
	if (!spread_words) {
		fprintf(stderr, "hotlock: out of memory\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_init(&w[i].own, NULL);
		w[i].word = 0;
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("{\"elapsed_ns\": %lld, \"ops\": %ld}\n",
	       (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
	       iters * nthreads);
	return 0;
}
