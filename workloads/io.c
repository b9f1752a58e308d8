// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * io: threads that mostly block, as threads serving I/O do. Each iteration either reads one byte
 * from its pipe, which a writer thread feeds once every two --sleep-us so that the read blocks
 * for about --sleep-us, or sleeps --sleep-us; then it takes a futexlock for --hold-us to update a
 * shared counter. The threads spend their time in other-wait, not on the lock. With --truth FILE
 * it writes wall and CPU time, getrusage switches and the lock's figures, as mutex does; threads
 * counts the workers, not the writer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "futexlock.h"
#include "truth.h"
#include "work.h"

#define MAX_THREADS 256

struct shared {
	struct futexlock lock;
	unsigned long counter; /* under the lock */
	long iterations, sleep_us;
	unsigned long hold_iters;
	int nr_workers;
};

struct worker {
	pthread_t thread;
	struct shared *sh;
	int pipe[2]; /* the writer writes [1], the worker reads [0] */
	struct futexlock_stats stats;
	unsigned long sink; /* the work's result, kept so that it is not optimised away */
} __attribute__((aligned(64)));

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	while (nanosleep(&ts, &ts))
		;
}

static void read_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) != 1)
		; /* EINTR only: the writer never closes before the last byte */
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	unsigned long x = w->stats.id;

	for (long i = 0; i < sh->iterations; i++) {
		if (i % 2 == 0)
			read_byte(w->pipe[0]);
		else
			sleep_us(sh->sleep_us);
		futexlock_lock(&sh->lock, &w->stats);
		x = work_spin(sh->hold_iters, x);
		sh->counter++;
		futexlock_unlock(&sh->lock, &w->stats);
	}
	w->sink = x;
	return NULL;
}

/* One byte per worker every two sleep periods, on an absolute clock so that it does not drift. */
static void write_bytes(struct worker *w, const struct shared *sh)
{
	long rounds = (sh->iterations + 1) / 2; /* the workers read on even iterations */
	unsigned long long t0 = truth_now_ns(CLOCK_MONOTONIC);

	for (long r = 0; r < rounds; r++) {
		unsigned long long at = t0 + (2 * r + 1) * sh->sleep_us * 1000ULL;
		struct timespec ts = { at / 1000000000, at % 1000000000 };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			;
		for (int i = 0; i < sh->nr_workers; i++)
			if (write(w[i].pipe[1], "x", 1) != 1) {
				perror("write");
				exit(1);
			}
	}
}

static int run_workers(struct worker *w, struct shared *sh)
{
	for (int i = 0; i < sh->nr_workers; i++) {
		w[i].sh = sh;
		w[i].stats.id = i + 1;
		if (pipe(w[i].pipe) || pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			perror("io: starting a worker");
			exit(1);
		}
	}
	write_bytes(w, sh);
	for (int i = 0; i < sh->nr_workers; i++) {
		pthread_join(w[i].thread, NULL);
		close(w[i].pipe[0]);
		close(w[i].pipe[1]);
	}
	return sh->counter == (unsigned long)sh->nr_workers * sh->iterations ? 0 : -1;
}

static int write_truth(const char *path, const struct truth_start *start, const struct worker *w,
		       const struct shared *sh)
{
	struct futexlock_stats sum = { 0 };
	FILE *f = truth_open(path);

	if (!f)
		return 1;
	for (int i = 0; i < sh->nr_workers; i++)
		futexlock_stats_add(&sum, &w[i].stats);
	truth_write_process(f, start);
	truth_kv(f, "threads", sh->nr_workers);
	futexlock_write_truth(f, &sh->lock, &sum);
	return truth_end(f, path);
}

static void usage(void)
{
	fprintf(stderr, "usage: io [--threads N] [--iterations N] [--sleep-us US] [--hold-us US] "
			"[--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	static struct shared sh = { .iterations = 200, .sleep_us = 1000 };
	long threads = 4, hold_us = 5;
	const char *truth = NULL;
	struct truth_start start;
	const struct arg_opt opts[] = {
		{ "--threads", &threads, NULL, 1, MAX_THREADS },
		{ "--iterations", &sh.iterations, NULL, 1, 100000000 },
		{ "--sleep-us", &sh.sleep_us, NULL, 1, 10000000 },
		{ "--hold-us", &hold_us, NULL, 0, 1000000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};

	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	sh.nr_workers = threads;
	truth_begin(&start); /* the whole run, calibration included: the truth's start_ns */
	sh.hold_iters = hold_us * work_calibrate();
	if (run_workers(workers, &sh)) {
		fprintf(stderr, "io: the lock let two threads in at once\n");
		return 1;
	}
	return truth ? write_truth(truth, &start, workers, &sh) : 0;
}
