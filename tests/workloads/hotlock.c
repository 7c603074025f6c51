// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The hot-lock benchmark: N threads hammer one pthread mutex around a
 * tiny critical section (or, with -u, each its own mutex: uncontended).
 * Prints its own elapsed time; the benchmark divides traced by untraced.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

pthread_mutex_t hot_lock = PTHREAD_MUTEX_INITIALIZER;
static long iters = 2000000;
static int nthreads = 2, uncontended;
static volatile unsigned long counter;	/* under hot_lock */

/* a cache line each: "uncontended" must not share one */
struct worker {
	pthread_t th;
	pthread_mutex_t own;
	volatile unsigned long own_counter;
} __attribute__((aligned(64)));

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_t *m = uncontended ? &w->own : &hot_lock;

	volatile unsigned long *c = uncontended ? &w->own_counter : &counter;

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

	while ((opt = getopt(argc, argv, "n:t:u")) != -1) {
		switch (opt) {
		case 'n': iters = atol(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'u': uncontended = 1; break;
		default:
			fprintf(stderr, "usage: hotlock [-n iters] [-t threads] [-u]\n");
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 64 || iters < 1) {
		fprintf(stderr, "hotlock: -t must be 1..64 and -n positive\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_init(&w[i].own, NULL);
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
