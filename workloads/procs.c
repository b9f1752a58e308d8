// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * procs: the work of gil (--work-ms of computation per worker, in the same calibrated slices) in
 * forked processes that share no lock: they run side by side, one per CPU, as Python's
 * multiprocessing does. With --truth FILE it writes wall time, and CPU time and getrusage
 * switches of the parent and its children together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "args.h"
#include "truth.h"
#include "work.h"

#define MAX_PROCS 256
#define SLICE_US  50 /* as in gil.c, so that both do the same loop */

static void worker(long slices, unsigned long slice_iters)
{
	volatile unsigned long sink;
	unsigned long x = getpid();

	for (long i = 0; i < slices; i++)
		x = work_spin(slice_iters, x);
	sink = x;
	(void)sink;
}

/* Forks n workers and reaps them all; -1 when one could not be made or did not exit with 0. */
static int run_procs(int n, long slices, unsigned long slice_iters)
{
	int failed = 0, st;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			failed = 1;
			break;
		}
		if (pid == 0) {
			worker(slices, slice_iters);
			_exit(0);
		}
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed = 1;
	return failed ? -1 : 0;
}

static int write_truth(const char *path, const struct truth_start *start, int n)
{
	FILE *f = truth_open(path);

	if (!f)
		return 1;
	truth_write_usage(f, start, 1);
	truth_kv(f, "procs", n);
	return truth_end(f, path);
}

static void usage(void)
{
	fprintf(stderr, "usage: procs [--procs N] [--work-ms MS] [--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long procs = 4, work_ms = 300;
	const char *truth = NULL;
	struct truth_start start;
	const struct arg_opt opts[] = {
		{ "--procs", &procs, NULL, 1, MAX_PROCS },
		{ "--work-ms", &work_ms, NULL, 0, 3600000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};
	unsigned long slice_iters;

	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start); /* the whole run, calibration included: the truth's start_ns */
	slice_iters = SLICE_US * work_calibrate();
	fflush(NULL); /* nothing buffered may be written twice by the children */
	if (run_procs(procs, work_ms * 1000 / SLICE_US, slice_iters))
		return 1;
	return truth ? write_truth(truth, &start, procs) : 0;
}
