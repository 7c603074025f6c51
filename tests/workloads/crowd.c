// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A crowd for the collector: -t N threads (thousands) fight over -l L
 * pthread mutexes, each holding one for a few microseconds, so the futex
 * tracepoints fire as fast as the machine allows, until killed.  Prints
 * "ready" once every thread runs (the tests' handshake).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MAX_LOCKS 64

static pthread_mutex_t locks[MAX_LOCKS];
static int nthreads = 2000, nlocks = 4;
static atomic_int running;

static void *work(void *arg)
{
	unsigned int i = (unsigned int)(unsigned long)arg;
	struct timespec hold = { 0, 2000 };

	atomic_fetch_add(&running, 1);
	for (;;) {
		pthread_mutex_t *m = &locks[i++ % nlocks];

		pthread_mutex_lock(m);
		nanosleep(&hold, NULL);
		pthread_mutex_unlock(m);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	int c;

	while ((c = getopt(argc, argv, "t:l:")) != -1) {
		if (c == 't')
			nthreads = atoi(optarg);
		else if (c == 'l')
			nlocks = atoi(optarg);
		else
			return 2;
	}
	if (nthreads < 1 || nlocks < 1 || nlocks > MAX_LOCKS)
		return 2;
	for (int i = 0; i < nlocks; i++)
		pthread_mutex_init(&locks[i], NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);	/* thousands of threads */
	for (int i = 0; i < nthreads; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, work, (void *)(unsigned long)i)) {
			fprintf(stderr, "crowd: thread %d: cannot create\n", i);
			return 1;
		}
	}
	while (atomic_load(&running) < nthreads)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
