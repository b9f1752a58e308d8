// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mutex: threads hammer one futexlock, computing for --hold-us while they hold it and for
 * --think-us between, --iterations times each. With more threads than CPUs they queue on the lock:
 * many contended acquisitions and hand-offs. With --truth FILE it writes what it measured: wall
 * and CPU time, getrusage switches, and the lock's address, acquisitions, contended acquisitions,
 * wait and hold times and hand-offs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "args.h"
#include "futexlock.h"
#include "truth.h"
#include "work.h"

#define MAX_THREADS 256

struct shared {
	struct futexlock lock;
	unsigned long counter; /* under the lock: checks that it excluded */
	long iterations;
	unsigned long hold_iters, think_iters;
};

struct worker {
	pthread_t thread;
	struct shared *sh;
	struct futexlock_stats stats;
	unsigned long sink;	   /* the work's result, kept so that it is not optimised away */
	unsigned long long cpu_ns; /* the thread's CPU time, read as it ends */
	int tid;
} __attribute__((aligned(64)));

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	unsigned long x = w->stats.id;

	for (long i = 0; i < sh->iterations; i++) {
		futexlock_lock(&sh->lock, &w->stats);
		x = work_spin(sh->hold_iters, x);
		sh->counter++;
		futexlock_unlock(&sh->lock, &w->stats);
		x = work_spin(sh->think_iters, x);
	}
	w->sink = x;
	w->cpu_ns = truth_now_ns(CLOCK_THREAD_CPUTIME_ID);
	w->tid = gettid();
	return NULL;
}

static int run_workers(struct worker *w, int n, struct shared *sh)
{
	for (int i = 0; i < n; i++) {
		w[i].sh = sh;
		w[i].stats.id = i + 1;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	return sh->counter == (unsigned long)n * sh->iterations ? 0 : -1;
}

static int write_truth(const char *path, const struct truth_start *start, const struct worker *w,
		       int n, const struct shared *sh)
{
	struct futexlock_stats sum = { 0 };
	FILE *f = truth_open(path);

	if (!f)
		return 1;
	for (int i = 0; i < n; i++)
		futexlock_stats_add(&sum, &w[i].stats);
	truth_write_process(f, start);
	truth_kv(f, "threads", n);
	futexlock_write_truth(f, &sh->lock, &sum);
	for (int i = 0; i < n; i++) {
		char key[32];

		snprintf(key, sizeof(key), "thread%d_tid", i);
		truth_kv(f, key, w[i].tid);
		snprintf(key, sizeof(key), "thread%d_cpu_ns", i);
		truth_kv(f, key, w[i].cpu_ns);
	}
	return truth_end(f, path);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mutex [--threads N] [--iterations N] [--hold-us US] [--think-us US] "
		"[--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	static struct shared sh;
	long threads = 4, hold_us = 20, think_us = 20;
	const char *truth = NULL;
	struct truth_start start;
	const struct arg_opt opts[] = {
		{ "--threads", &threads, NULL, 1, MAX_THREADS },
		{ "--iterations", &sh.iterations, NULL, 1, 100000000 },
		{ "--hold-us", &hold_us, NULL, 0, 1000000 },
		{ "--think-us", &think_us, NULL, 0, 1000000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};
	double per_us;

	sh.iterations = 5000;
	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start); /* the whole run, calibration included: the truth's start_ns */
	per_us = work_calibrate();
	sh.hold_iters = hold_us * per_us;
	sh.think_iters = think_us * per_us;
	if (run_workers(workers, threads, &sh)) {
		fprintf(stderr, "mutex: the lock let two threads in at once\n");
		return 1;
	}
	return truth ? write_truth(truth, &start, workers, threads, &sh) : 0;
}
