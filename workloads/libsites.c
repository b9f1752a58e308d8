// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The two call sites (libsites.h). Not a program: linked into sites, and built as libsites.so. */
#include "libsites.h"
#include "truth.h"
#include "work.h"

static inline unsigned long locked_work(pthread_mutex_t *m, unsigned long hold_iters,
					unsigned long x, struct site_stats *st)
{
	unsigned long long t0 = truth_now_ns(CLOCK_MONOTONIC);

	pthread_mutex_lock(m);
	st->wait_ns += truth_now_ns(CLOCK_MONOTONIC) - t0;
	st->calls++;
	x = work_spin(hold_iters, x);
	pthread_mutex_unlock(m);
	return x;
}

/* noinline: each site must stay a frame of its own for the unwinder to find */
__attribute__((noinline)) unsigned long site_a(pthread_mutex_t *m, unsigned long hold_iters,
					       unsigned long x, struct site_stats *st)
{
	return locked_work(m, hold_iters, x, st) + 1;
}

__attribute__((noinline)) unsigned long site_b(pthread_mutex_t *m, unsigned long hold_iters,
					       unsigned long x, struct site_stats *st)
{
	return locked_work(m, hold_iters, x, st) + 2;
}
