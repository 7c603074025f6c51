// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Thread churn, for gilscope's tests: threads created and destroyed by
 * the hundred per second.  Waves of --wave threads start together; each
 * names itself "churn-N", takes the shared mutex churn_lock (the wave's
 * threads queue on it: contention), holds it --hold-us, lets go and
 * exits; the main thread joins the wave and starts the next.  Prints
 * every thread's tid and name, and the run's rate, as JSON.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;

static int hold_us = 200;

struct worker {
	pthread_t th;
	int index, tid;
	char name[16];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct timespec hold = { 0, hold_us * 1000L };

	w->tid = syscall(SYS_gettid);
	snprintf(w->name, sizeof(w->name), "churn-%d", w->index);
	pthread_setname_np(pthread_self(), w->name);
	pthread_mutex_lock(&churn_lock);
	nanosleep(&hold, NULL);
	pthread_mutex_unlock(&churn_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? atoi(argv[1]) : 300;
	int wave = argc > 2 ? atoi(argv[2]) : 4;
	struct worker *ws;
	uint64_t t0, t1;

	if (argc > 3)
		hold_us = atoi(argv[3]);
	if (total < 1 || wave < 1 || hold_us < 0) {
		fprintf(stderr, "usage: churn [THREADS [WAVE [HOLD_US]]]\n");
		return 2;
	}
	ws = calloc(total, sizeof(*ws));
	if (!ws)
		return 1;
	t0 = now_ns();
	for (int i = 0; i < total; i += wave) {
		int n = total - i < wave ? total - i : wave;

		for (int k = 0; k < n; k++) {
			ws[i + k].index = i + k;
			if (pthread_create(&ws[i + k].th, NULL, work, &ws[i + k])) {
				perror("pthread_create");
				return 1;
			}
		}
		for (int k = 0; k < n; k++)
			pthread_join(ws[i + k].th, NULL);
	}
	t1 = now_ns();
	printf("{\"threads\":[");
	for (int i = 0; i < total; i++)
		printf("%s{\"tid\":%d,\"name\":\"%s\"}", i ? "," : "", ws[i].tid, ws[i].name);
	printf("],\"wall_ns\":%llu,\"threads_per_s\":%.0f}\n", (unsigned long long)(t1 - t0),
	       total * 1e9 / (t1 - t0));
	free(ws);
	return 0;
}
