// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * straggler: a pool of worker threads fed in rounds, as a parallel compressor feeds its workers
 * blocks; one worker's share of each round is --skew times the others'. The others finish early
 * and wait on a condition variable for the next round, and the main thread waits on another for
 * the round to end: about one CPU is busy however many there are, and the waits are long and few
 * (a couple per thread and round), not turns taken on a lock. reports/METRICS.md calls this
 * imbalanced, not serialized. --truth FILE writes each thread's CPU time (its own CPU clock) and
 * the main thread's wait time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "args.h"
#include "truth.h"
#include "work.h"

#define MAX_THREADS 64

struct pool {
	pthread_mutex_t mutex;
	pthread_cond_t round_start; /* workers wait here for the next round */
	pthread_cond_t round_done;  /* the main thread waits here for the last worker */
	long round;		    /* the round under way, 0 before the first */
	long rounds;
	int pending; /* workers still working in this round */
	unsigned long straggler_iters, other_iters;
};

struct worker {
	pthread_t thread;
	int id; /* 0 is the straggler */
	pid_t tid;
	struct pool *pool;
	unsigned long long cpu_ns; /* its own CPU clock, over its whole life */
	unsigned long sink;
} __attribute__((aligned(64)));

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	unsigned long x = w->id;

	w->tid = gettid();
	for (long round = 1; round <= p->rounds; round++) {
		pthread_mutex_lock(&p->mutex);
		while (p->round < round)
			pthread_cond_wait(&p->round_start, &p->mutex);
		pthread_mutex_unlock(&p->mutex);
		x = work_spin(w->id ? p->other_iters : p->straggler_iters, x);
		pthread_mutex_lock(&p->mutex);
		if (--p->pending == 0)
			pthread_cond_signal(&p->round_done);
		pthread_mutex_unlock(&p->mutex);
	}
	w->sink = x;
	w->cpu_ns = truth_now_ns(CLOCK_THREAD_CPUTIME_ID);
	return NULL;
}

/* The rounds, from the main thread; returns the time it waited for them to end. */
static unsigned long long run_rounds(struct pool *p, int threads)
{
	unsigned long long waited = 0;

	for (long round = 1; round <= p->rounds; round++) {
		unsigned long long t0;

		pthread_mutex_lock(&p->mutex);
		p->pending = threads;
		p->round = round;
		pthread_cond_broadcast(&p->round_start);
		t0 = truth_now_ns(CLOCK_MONOTONIC);
		while (p->pending)
			pthread_cond_wait(&p->round_done, &p->mutex);
		waited += truth_now_ns(CLOCK_MONOTONIC) - t0;
		pthread_mutex_unlock(&p->mutex);
	}
	return waited;
}

static int write_truth(const char *path, const struct truth_start *start, const struct worker *w,
		       int n, const struct pool *p, unsigned long long waited)
{
	unsigned long long others = 0;
	FILE *f = truth_open(path);

	if (!f)
		return 1;
	for (int i = 1; i < n; i++)
		others += w[i].cpu_ns;
	truth_write_process(f, start);
	truth_kv(f, "threads", n);
	truth_kv(f, "rounds", p->rounds);
	truth_kv(f, "straggler_tid", w[0].tid);
	truth_kv(f, "straggler_cpu_ns", w[0].cpu_ns);
	truth_kv(f, "others_cpu_ns", others);
	truth_kv(f, "main_wait_ns", waited);
	return truth_end(f, path);
}

static void usage(void)
{
	fprintf(stderr, "usage: straggler [--threads N] [--rounds N] [--work-ms MS] [--skew K] "
			"[--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	static struct pool pool = {
		.mutex = PTHREAD_MUTEX_INITIALIZER,
		.round_start = PTHREAD_COND_INITIALIZER,
		.round_done = PTHREAD_COND_INITIALIZER,
	};
	long threads = 4, work_ms = 100, skew = 20;
	const char *truth = NULL;
	struct truth_start start;
	unsigned long long waited;
	double per_us;
	const struct arg_opt opts[] = {
		{ "--threads", &threads, NULL, 1, MAX_THREADS },
		{ "--rounds", &pool.rounds, NULL, 1, 100000 },
		{ "--work-ms", &work_ms, NULL, 0, 3600000 },
		{ "--skew", &skew, NULL, 1, 1000000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};

	pool.rounds = 4;
	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start);
	per_us = work_calibrate();
	pool.straggler_iters = work_ms * 1000 * per_us;
	pool.other_iters = pool.straggler_iters / skew;
	for (int i = 0; i < threads; i++) {
		workers[i].id = i;
		workers[i].pool = &pool;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	waited = run_rounds(&pool, threads);
	for (int i = 0; i < threads; i++)
		pthread_join(workers[i].thread, NULL);
	return truth ? write_truth(truth, &start, workers, threads, &pool, waited) : 0;
}
