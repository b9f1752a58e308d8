// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sites: threads take one pthread mutex from two call sites, site_a() on two iterations out of
 * three and site_b() on the third (at random), holding it for --hold-us and working half that outside it. Built with plain -O2 (no frame
 * pointers), as most programs are: naming the sites takes DWARF CFI. With --truth FILE it writes
 * each site's wait time inside pthread_mutex_lock and its calls, and the mutex's address.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "args.h"
#include "libsites.h"
#include "truth.h"
#include "work.h"

#define MAX_THREADS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long iterations = 300;
static unsigned long hold_iters;

struct worker {
	pthread_t thread;
	struct site_stats a, b;
	unsigned long sink;
	unsigned int seed;
} __attribute__((aligned(64)));

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long x = (unsigned long)arg;

	for (long i = 0; i < iterations; i++)
		x = i % 3 == 2 ? site_b(&lock, hold_iters, x, &w->b)
			       : site_a(&lock, hold_iters, x, &w->a);
	w->sink = x;
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sites [--threads N] [--iterations N] [--hold-us US] [--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	long threads = 3, hold_us = 500;
	const char *truth = NULL;
	const struct arg_opt opts[] = {
		{ "--threads", &threads, NULL, 1, MAX_THREADS },
		{ "--iterations", &iterations, NULL, 1, 100000000 },
		{ "--hold-us", &hold_us, NULL, 0, 1000000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};
	struct site_stats a = { 0 }, b = { 0 };
	struct truth_start start;
	FILE *f;

	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start);
	hold_iters = hold_us * work_calibrate();
	for (long i = 0; i < threads; i++) {
		w[i].seed = truth_now_ns(CLOCK_MONOTONIC) + i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			return 1;
		}
	}
	for (long i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		a.wait_ns += w[i].a.wait_ns;
		a.calls += w[i].a.calls;
		b.wait_ns += w[i].b.wait_ns;
		b.calls += w[i].b.calls;
	}
	if (!truth)
		return 0;
	f = truth_open(truth);
	if (!f)
		return 1;
	truth_write_process(f, &start);
	truth_kv(f, "lock_addr", (unsigned long)&lock);
	truth_kv(f, "site_a_wait_ns", a.wait_ns);
	truth_kv(f, "site_a_calls", a.calls);
	truth_kv(f, "site_b_wait_ns", b.wait_ns);
	truth_kv(f, "site_b_calls", b.calls);
	return truth_end(f, truth);
}
