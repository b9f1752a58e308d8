/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPU work in fixed amounts: a loop the compiler cannot shorten, and its speed measured once, so
 * that "300 ms of work" is the same count of iterations however the work is later scheduled.
 */
#ifndef LS_WORK_H
#define LS_WORK_H

#include <time.h>
#include "truth.h"

/* xorshift: each step needs the previous one, so the loop is neither vectorised nor folded. */
static inline unsigned long work_spin(unsigned long iters, unsigned long x)
{
	x |= 1;
	for (unsigned long i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/*
 * Iterations of work_spin() per microsecond of CPU. Timed on this thread's CPU clock, so that
 * preemption by other programs does not count; run before starting threads.
 */
static inline double work_calibrate(void)
{
	volatile unsigned long sink;
	unsigned long iters = 1 << 16;
	unsigned long long dt;

	sink = work_spin(iters, 1); /* wake the CPU up from any idle frequency */
	for (;;) {
		unsigned long long t0 = truth_now_ns(CLOCK_THREAD_CPUTIME_ID);

		sink = work_spin(iters, sink);
		dt = truth_now_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		if (dt >= 20000000) /* 20 ms: timer granularity and interrupts are noise */
			break;
		iters *= 2;
	}
	return iters * 1000.0 / dt;
}

#endif
