// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An application that has an interpreter's "ready" function (it exports
 * Py_RunMain, as one embedding libpython does) but never calls it, and
 * exits: gilscope -- must still trace all of its run.  Two threads take
 * turns on one mutex, ROUNDS times each, holding it 2 ms: the other
 * waits.  Prints its threads' ids and the lock's address as JSON.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROUNDS 20

int Py_RunMain(void);
int Py_RunMain(void)
{
	return 0;
}

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t tids[2];

static void *work(void *arg)
{
	int i = (int)(long)arg;

	tids[i] = syscall(SYS_gettid);
	for (int r = 0; r < ROUNDS; r++) {
		pthread_mutex_lock(&table_lock);
		usleep(2000);
		pthread_mutex_unlock(&table_lock);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2];

	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("{\"lock_addr\": \"%p\", \"tids\": [%d, %d]}\n", (void *)&table_lock,
	       tids[0], tids[1]);
	return 0;
}
