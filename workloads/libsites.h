/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Two call sites of pthread_mutex_lock on one mutex, for the stack tests: built into the sites
 * program, and as libsites.so for sites-so. Each site measures the time its callers spend
 * inside pthread_mutex_lock: the ground truth of where threads wait.
 */
#ifndef LS_LIBSITES_H
#define LS_LIBSITES_H

#include <pthread.h>

struct site_stats {
	unsigned long long wait_ns; /* inside pthread_mutex_lock */
	unsigned long calls;
};

/* hold_iters of work_spin() under the lock, at two different places in the code */
unsigned long site_a(pthread_mutex_t *m, unsigned long hold_iters, unsigned long x,
		     struct site_stats *st);
unsigned long site_b(pthread_mutex_t *m, unsigned long hold_iters, unsigned long x,
		     struct site_stats *st);

#endif
