// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pingpong: threads pass a token around a ring of raw futex words, so that the program knows the
 * outcome of every wait it makes; then more threads than CPUs spin, to be preempted. With
 * --truth FILE it writes what it measured: wall and CPU time, getrusage switches, and per futex
 * word its address and the waits that blocked or did not.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "truth.h"

#define MAX_THREADS 64

struct word {
	_Atomic int token;
	unsigned long blocked; /* waits that slept: woken, timed out, interrupted */
	unsigned long noblock; /* EAGAIN */
	unsigned long long wait_ns;
} __attribute__((aligned(64)));

static struct word ring[MAX_THREADS];
static int nr_threads = 3;
static long rounds = 2000;
static long spin_ms = 200;

static long futex(_Atomic int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *ring_thread(void *arg)
{
	long i = (long)arg;
	struct word *me = &ring[i], *next = &ring[(i + 1) % nr_threads];

	for (long r = 0; r < rounds; r++) {
		while (!atomic_load(&me->token)) {
			unsigned long long t0 = truth_now_ns(CLOCK_MONOTONIC);

			if (futex(&me->token, FUTEX_WAIT_PRIVATE, 0) == 0 || errno != EAGAIN) {
				me->blocked++;
				me->wait_ns += truth_now_ns(CLOCK_MONOTONIC) - t0;
			} else {
				me->noblock++;
			}
		}
		atomic_store(&me->token, 0);
		atomic_store(&next->token, 1);
		futex(&next->token, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

static void *spin_thread(void *arg)
{
	unsigned long long end = truth_now_ns(CLOCK_THREAD_CPUTIME_ID) + spin_ms * 1000000ULL;

	(void)arg;
	while (truth_now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		;
	return NULL;
}

static int run_threads(int n, void *(*fn)(void *))
{
	pthread_t t[MAX_THREADS + 1];

	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (void *)i))
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pingpong [--threads N] [--rounds N] [--spin-ms MS] [--delay-ms MS] "
			"[--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *truth = NULL;
	struct truth_start start;
	long delay_ms = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--threads"))
			nr_threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--spin-ms"))
			spin_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--delay-ms"))
			delay_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--truth"))
			truth = argv[++i];
		else
			usage();
	}
	if (nr_threads < 2 || nr_threads > MAX_THREADS || rounds < 1 || spin_ms < 0)
		usage();
	truth_begin(&start);
	if (delay_ms) /* time for a tracer to attach (-p) before any thread exists */
		usleep(delay_ms * 1000);
	atomic_store(&ring[0].token, 1);
	if (run_threads(nr_threads, ring_thread) ||
	    (spin_ms && run_threads(nr_threads + 1, spin_thread))) {
		perror("pthread_create");
		return 1;
	}
	if (truth) {
		FILE *f = fopen(truth, "w");

		if (!f) {
			perror(truth);
			return 1;
		}
		truth_write_process(f, &start);
		fprintf(f, ",\n  \"threads\": %d", nr_threads);
		for (int i = 0; i < nr_threads; i++)
			fprintf(f,
				",\n  \"word%d_addr\": %llu, \"word%d_blocked\": %lu, "
				"\"word%d_noblock\": %lu, \"word%d_wait_ns\": %llu",
				i, (unsigned long long)(unsigned long)&ring[i].token, i,
				ring[i].blocked, i, ring[i].noblock, i, ring[i].wait_ns);
		fprintf(f, "\n}\n");
		if (fclose(f)) {
			perror(truth);
			return 1;
		}
	}
	return 0;
}
