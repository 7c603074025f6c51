// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A program that hangs, for gilscope's tests: "left" takes lock_a then
 * lock_b, "right" takes lock_b then lock_a, and a barrier makes sure each
 * holds its first lock before asking for its second: a deadlock, every
 * time.  Each notes the CLOCK_MONOTONIC time just before it asks (the
 * start of its wait, within microseconds).  A third thread, "sleeper", waits on a condvar nobody signals
 * (a hang that is no deadlock).  Once both lockers are about to block it
 * prints, as JSON, what it knows: the threads' tids and the locks'
 * addresses; then it hangs until killed (or, with -t SEC, exits after
 * SEC seconds without unlocking).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t both_hold;
static int tid_left, tid_right, tid_sleeper;
static _Atomic unsigned long long since_left, since_right;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void __attribute__((noinline)) take_two(pthread_mutex_t *first, pthread_mutex_t *second,
					       _Atomic unsigned long long *since)
{
	pthread_mutex_lock(first);
	pthread_barrier_wait(&both_hold);
	*since = now_ns();
	pthread_mutex_lock(second);	/* never returns */
	pthread_mutex_unlock(second);
	pthread_mutex_unlock(first);
}

static void *left(void *arg)
{
	(void)arg;
	tid_left = syscall(SYS_gettid);
	take_two(&lock_a, &lock_b, &since_left);
	return NULL;
}

static void *right(void *arg)
{
	(void)arg;
	tid_right = syscall(SYS_gettid);
	take_two(&lock_b, &lock_a, &since_right);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	tid_sleeper = syscall(SYS_gettid);
	pthread_mutex_lock(&idle_mutex);
	for (;;)
		pthread_cond_wait(&never, &idle_mutex);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t l, r, s;
	int secs = 0, c;

	while ((c = getopt(argc, argv, "t:")) != -1) {
		if (c == 't')
			secs = atoi(optarg);
		else
			return 2;
	}
	pthread_barrier_init(&both_hold, NULL, 3);
	pthread_create(&s, NULL, sleeper, NULL);
	pthread_setname_np(s, "sleeper");
	pthread_create(&l, NULL, left, NULL);
	pthread_setname_np(l, "left");
	pthread_create(&r, NULL, right, NULL);
	pthread_setname_np(r, "right");
	/* all three past the barrier: each locker holds its first lock */
	pthread_barrier_wait(&both_hold);
	while (!tid_sleeper || !since_left || !since_right)
		usleep(1000);
	printf("{\"pid\": %d, \"left\": %d, \"right\": %d, \"sleeper\": %d, "
	       "\"lock_a\": \"%p\", \"lock_b\": \"%p\", \"cond\": \"%p\", "
	       "\"left_since_ns\": %llu, \"right_since_ns\": %llu}\n",
	       getpid(), tid_left, tid_right, tid_sleeper, (void *)&lock_a, (void *)&lock_b,
	       (void *)&never, (unsigned long long)since_left,
	       (unsigned long long)since_right);
	fflush(stdout);
	if (secs) {
		sleep(secs);
		_exit(0);
	}
	for (;;)
		pause();
}
