// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gil: threads that may compute only while they hold one global interpreter lock, built as
 * CPython builds its GIL (Python/ceval_gil.c, FORCE_SWITCHING): a mutex, a condition variable
 * that waiters wait on for one switch interval before they ask the holder to drop, and a switch
 * condition on which a holder that was asked to drop waits until another thread has the GIL.
 * The threads take turns: wall time is the sum of their work, about one CPU is busy, and the GIL
 * changes hands about once per interval. The mutex and the condition variables are raw futex
 * words, so --truth FILE can say exactly what happened on them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "args.h"
#include "futexlock.h"
#include "truth.h"
#include "work.h"

#define MAX_THREADS 256
#define SLICE_US    50 /* work between two looks at the drop request, as between bytecodes */

/* A condition variable on one futex word, used with a futexlock as its mutex. */
struct fcond {
	_Atomic unsigned int seq; /* the futex word: bumped by each signal */
	unsigned int waiters;	  /* under the mutex: a signal with no waiter makes no syscall */
};

/* CPython's struct _gil_runtime_state: its fields in its order (not its sizes), + drop request. */
struct gil {
	long interval_us;
	int last_holder; /* id of the thread that took the GIL last, 0 before the first */
	_Atomic int locked;
	unsigned long switch_number; /* hand-offs: takes by another thread than the last holder */
	struct fcond cond;
	struct futexlock mutex;
	struct fcond switch_cond;
	struct futexlock switch_mutex;
	_Atomic int drop_request; /* CPython keeps it in the interpreter's eval breaker */
};

struct job {
	struct gil gil;
	long slices;
	unsigned long slice_iters;
};

struct worker {
	pthread_t thread;
	int id;
	struct job *job;
	struct futexlock_stats mutex, switch_mutex;
	unsigned long takes, drop_requests;
	unsigned long forced;	    /* drops made because of a drop request */
	unsigned long switch_waits; /* of which waited on switch_cond for a taker */
	unsigned long long take_ns, hold_ns, held_since;
	unsigned long sink; /* the work's result, kept so that it is not optimised away */
} __attribute__((aligned(64)));

/*
 * Waits for a signal with the mutex released, until the absolute CLOCK_MONOTONIC deadline (none
 * when NULL). Returns ETIMEDOUT when the deadline passed, else 0 (signalled, or spurious).
 */
static int fcond_wait(struct fcond *c, struct futexlock *m, struct futexlock_stats *s,
		      const struct timespec *deadline)
{
	unsigned int seq = atomic_load(&c->seq);
	int err = 0;

	c->waiters++;
	futexlock_unlock(m, s);
	/* a signal between the unlock and the wait has changed seq: the wait returns EAGAIN */
	if (futex_call(&c->seq, FUTEX_WAIT_BITSET_PRIVATE, seq, deadline, FUTEX_BITSET_MATCH_ANY))
		err = errno;
	futexlock_lock(m, s);
	c->waiters--;
	return err == ETIMEDOUT ? ETIMEDOUT : 0;
}

/* Call with the mutex held. */
static void fcond_signal(struct fcond *c)
{
	if (!c->waiters)
		return;
	atomic_fetch_add(&c->seq, 1);
	futex_call(&c->seq, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
}

static struct timespec deadline_after_us(long us)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += us / 1000000;
	ts.tv_nsec += us % 1000000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Marks the GIL taken by w; called with the mutex held and the GIL free. */
static void gil_mark_taken(struct worker *w)
{
	struct gil *g = &w->job->gil;

	/* the switch mutex orders last_holder with the check a forced drop makes in drop_gil() */
	futexlock_lock(&g->switch_mutex, &w->switch_mutex);
	atomic_store(&g->locked, 1);
	if (g->last_holder != w->id) {
		if (g->last_holder) /* the very first take hands nothing off */
			g->switch_number++;
		g->last_holder = w->id;
	}
	fcond_signal(&g->switch_cond);
	futexlock_unlock(&g->switch_mutex, &w->switch_mutex);
	/* a request aimed at the previous holder is answered */
	atomic_store(&g->drop_request, 0);
}

static void take_gil(struct worker *w)
{
	struct gil *g = &w->job->gil;
	unsigned long long t0 = truth_now_ns(CLOCK_MONOTONIC);

	futexlock_lock(&g->mutex, &w->mutex);
	while (atomic_load(&g->locked)) {
		unsigned long saved_switch = g->switch_number;
		struct timespec deadline = deadline_after_us(g->interval_us);

		/* a whole interval without a hand-off: ask the holder to let go */
		if (fcond_wait(&g->cond, &g->mutex, &w->mutex, &deadline) == ETIMEDOUT &&
		    atomic_load(&g->locked) && g->switch_number == saved_switch) {
			atomic_store(&g->drop_request, 1);
			w->drop_requests++;
		}
	}
	gil_mark_taken(w);
	futexlock_unlock(&g->mutex, &w->mutex);
	w->takes++;
	w->held_since = truth_now_ns(CLOCK_MONOTONIC);
	w->take_ns += w->held_since - t0;
}

/* final: the thread is done, it waits for nobody (CPython 3.13's final_release). */
static void drop_gil(struct worker *w, int final)
{
	struct gil *g = &w->job->gil;

	w->hold_ns += truth_now_ns(CLOCK_MONOTONIC) - w->held_since;
	futexlock_lock(&g->mutex, &w->mutex);
	atomic_store(&g->locked, 0);
	fcond_signal(&g->cond);
	futexlock_unlock(&g->mutex, &w->mutex);
	if (final || !atomic_load(&g->drop_request))
		return;
	/*
	 * The forced switch: without it this thread, already on a CPU, would take the GIL back
	 * before the waiter that asked for it wakes up. A pending request means that a waiter is
	 * in take_gil(), so some other thread does take it.
	 */
	futexlock_lock(&g->switch_mutex, &w->switch_mutex);
	if (g->last_holder == w->id) {
		atomic_store(&g->drop_request, 0);
		w->switch_waits++;
		while (g->last_holder == w->id)
			fcond_wait(&g->switch_cond, &g->switch_mutex, &w->switch_mutex, NULL);
	}
	futexlock_unlock(&g->switch_mutex, &w->switch_mutex);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *job = w->job;
	unsigned long x = w->id;

	take_gil(w);
	for (long i = 0; i < job->slices; i++) {
		x = work_spin(job->slice_iters, x);
		if (atomic_load_explicit(&job->gil.drop_request, memory_order_relaxed)) {
			w->forced++;
			drop_gil(w, 0);
			take_gil(w); /* other threads run meanwhile */
		}
	}
	drop_gil(w, 1);
	w->sink = x;
	return NULL;
}

static void run_workers(struct worker *w, int n, struct job *job)
{
	for (int i = 0; i < n; i++) {
		w[i].id = i + 1;
		w[i].mutex.id = w[i].switch_mutex.id = w[i].id;
		w[i].job = job;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
}

static void write_gil_truth(FILE *f, const struct gil *g, const struct worker *w, int n)
{
	unsigned long takes = 0, forced = 0, switch_waits = 0, requests = 0;
	unsigned long long take_ns = 0, hold_ns = 0;

	for (int i = 0; i < n; i++) {
		takes += w[i].takes;
		forced += w[i].forced;
		switch_waits += w[i].switch_waits;
		requests += w[i].drop_requests;
		take_ns += w[i].take_ns;
		hold_ns += w[i].hold_ns;
	}
	truth_kv(f, "gil_handoffs", g->switch_number);
	truth_kv(f, "gil_acquisitions", takes);
	truth_kv(f, "gil_wait_ns", take_ns);
	truth_kv(f, "gil_hold_ns", hold_ns);
	truth_kv(f, "gil_forced_switches", forced);
	truth_kv(f, "gil_switch_waits", switch_waits);
	truth_kv(f, "gil_drop_requests", requests);
	truth_kv(f, "interval_us", g->interval_us);
	truth_kv(f, "cond_addr", (unsigned long)&g->cond.seq);
	truth_kv(f, "switch_cond_addr", (unsigned long)&g->switch_cond.seq);
}

static int write_truth(const char *path, const struct truth_start *start, const struct worker *w,
		       int n, const struct gil *g)
{
	struct futexlock_stats sum = { 0 };
	FILE *f = truth_open(path);

	if (!f)
		return 1;
	for (int i = 0; i < n; i++)
		futexlock_stats_add(&sum, &w[i].mutex);
	truth_write_process(f, start);
	truth_kv(f, "threads", n);
	futexlock_write_truth(f, &g->mutex, &sum);
	write_gil_truth(f, g, w, n);
	return truth_end(f, path);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: gil [--threads N] [--work-ms MS] [--interval-us US] [--truth FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	static struct job job;
	long threads = 4, work_ms = 300;
	const char *truth = NULL;
	struct truth_start start;
	const struct arg_opt opts[] = {
		{ "--threads", &threads, NULL, 1, MAX_THREADS },
		{ "--work-ms", &work_ms, NULL, 0, 3600000 },
		{ "--interval-us", &job.gil.interval_us, NULL, 1, 10000000 },
		{ "--truth", NULL, &truth, 0, 0 },
	};

	job.gil.interval_us = 5000; /* CPython's default, sys.getswitchinterval() */
	if (args_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0])))
		usage();
	truth_begin(&start); /* the whole run, calibration included: the truth's start_ns */
	job.slice_iters = SLICE_US * work_calibrate();
	job.slices = work_ms * 1000 / SLICE_US;
	run_workers(workers, threads, &job);
	return truth ? write_truth(truth, &start, workers, threads, &job.gil) : 0;
}
