// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spawn: many tasks, for the tracer's reliability tests. --threads N threads that each rename
 * themselves ("worker-I") and wait on one futex until all have started; --procs N short-lived
 * processes, one after another; --wakes N futex wakes nobody waits for (one record each, for
 * loss tests), at full speed or, with --rate R, R a second (paced every millisecond, for soak
 * tests); then, with --exec PROGRAM, the process replaces itself with it. With --truth FILE it
 * writes its getrusage switches first: what a tracer recorded about it besides the wakes.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "args.h"
#include "truth.h"

static _Atomic int started;
static long nr_threads;

static void *worker(void *arg)
{
	char name[16];
	int seen;

	snprintf(name, sizeof(name), "worker-%ld", (long)arg);
	pthread_setname_np(pthread_self(), name);
	/* the last to start wakes the others: every thread is alive at once */
	if (atomic_fetch_add(&started, 1) + 1 == nr_threads)
		syscall(SYS_futex, &started, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
	while ((seen = atomic_load(&started)) < nr_threads)
		syscall(SYS_futex, &started, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: spawn [--threads N] [--procs N] [--wakes N [--rate R]] [--exec PROGRAM] "
		"[--truth FILE]\n");
	exit(2);
}

/* n futex wakes nobody waits for; rate > 0: that many a second, a batch every millisecond */
static void wake(long n, long rate)
{
	static int word;
	struct timespec next;
	long done = 0, ms = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (done < n) {
		/* as many as the rate allows by the end of this millisecond: no drift */
		long due = rate > 0 ? (ms + 1) * rate / 1000 : n;

		for (; done < n && done < due; done++)
			syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		if (rate <= 0)
			continue;
		ms++;
		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

int main(int argc, char **argv)
{
	long procs = 0, wakes = 0, rate = 0;
	const char *prog = NULL, *truth = NULL;
	struct truth_start start;
	const struct arg_opt opts[] = {
		{ "--threads", &nr_threads, NULL, 0, 10000 },
		{ "--procs", &procs, NULL, 0, 10000 },
		{ "--wakes", &wakes, NULL, 0, 1000000000 },
		{ "--rate", &rate, NULL, 0, 10000000 },
		{ "--exec", NULL, &prog, 0, 0 },
		{ "--truth", NULL, &truth, 0, 0 },
	};
	pthread_t *t;

	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start);
	t = calloc(nr_threads ? nr_threads : 1, sizeof(*t));
	for (long i = 0; i < nr_threads; i++) {
		/* small stacks: a thousand threads fit anywhere */
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		if (pthread_create(&t[i], &attr, worker, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
		pthread_attr_destroy(&attr);
	}
	for (long i = 0; i < nr_threads; i++)
		pthread_join(t[i], NULL);
	for (long i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			perror("fork");
			return 1;
		}
	}
	wake(wakes, rate);
	free(t);
	if (truth) {
		FILE *f = truth_open(truth);

		if (!f)
			return 1;
		truth_write_usage(f, &start, 1);
		if (truth_end(f, truth))
			return 1;
	}
	if (prog) {
		execl(prog, prog, (char *)NULL);
		perror(prog);
		return 127;
	}
	return 0;
}
