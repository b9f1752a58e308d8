/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A mutex on a raw futex word, as glibc's lll_lock builds it (Drepper, "Futexes are tricky",
 * mutex 3): 0 unlocked, 1 locked, 2 locked and maybe waited for. Written here rather than taken
 * from pthread_mutex so that the workload knows which of its acquisitions slept in the kernel,
 * for how long, and for how long it then held the lock: the ground truth a tracer is checked on.
 *
 * Counting is done in a struct futexlock_stats per thread (no shared counters, so counting adds
 * no contention); add them up with futexlock_stats_add() at the end.
 */
#ifndef LS_FUTEXLOCK_H
#define LS_FUTEXLOCK_H

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "truth.h"

struct futexlock {
	_Atomic int word;
	int last_holder; /* id of the last thread to acquire it, 0 before the first; under the lock */
} __attribute__((aligned(64)));

struct futexlock_stats {
	int id; /* the thread's id, > 0, unique among the lock's users */
	unsigned long acquisitions;
	unsigned long contended;     /* acquisitions during which a FUTEX_WAIT returned 0 (woken) */
	unsigned long owner_changes; /* acquisitions by another thread than the previous holder */
	unsigned long handoffs;	     /* waiters woken by its unlocks (reports/METRICS.md) */
	unsigned long long wait_ns; /* FUTEX_WAIT calls that slept: woken, timed out, interrupted */
	unsigned long long hold_ns; /* contended acquisitions only: lock return to unlock call */
	unsigned long long held_since; /* nonzero while holding after a contended acquisition */
};

static inline long futex_call(void *uaddr, int op, unsigned int val, const struct timespec *ts,
			      unsigned int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, val3);
}

/* One FUTEX_WAIT while the word says "locked, with waiters"; 1 when it returned woken. */
static inline int futexlock_wait(struct futexlock *l, struct futexlock_stats *s)
{
	unsigned long long t0 = truth_now_ns(CLOCK_MONOTONIC);
	long r = futex_call(&l->word, FUTEX_WAIT_PRIVATE, 2, NULL, 0);

	/* EAGAIN: the word had already changed, the thread never slept, nothing to time */
	if (r == 0 || errno != EAGAIN)
		s->wait_ns += truth_now_ns(CLOCK_MONOTONIC) - t0;
	return r == 0;
}

static inline void futexlock_lock(struct futexlock *l, struct futexlock_stats *s)
{
	int c = 0, woken = 0;

	if (!atomic_compare_exchange_strong(&l->word, &c, 1)) {
		/*
		 * glibc's __lll_lock_wait: whoever leaves the slow path sets 2, not 1, since other
		 * waiters may still sleep and the unlock must wake one of them.
		 */
		if (c == 2)
			woken |= futexlock_wait(l, s);
		while (atomic_exchange(&l->word, 2) != 0)
			woken |= futexlock_wait(l, s);
	}
	s->acquisitions++;
	if (l->last_holder && l->last_holder != s->id)
		s->owner_changes++;
	l->last_holder = s->id;
	if (woken) {
		s->contended++;
		s->held_since = truth_now_ns(CLOCK_MONOTONIC);
	}
}

static inline void futexlock_unlock(struct futexlock *l, struct futexlock_stats *s)
{
	if (s->held_since) {
		s->hold_ns += truth_now_ns(CLOCK_MONOTONIC) - s->held_since;
		s->held_since = 0;
	}
	long woken;

	if (atomic_exchange(&l->word, 0) == 2) {
		woken = futex_call(&l->word, FUTEX_WAKE_PRIVATE, 1, NULL, 0);
		s->handoffs += woken > 0 ? woken : 0;
	}
}

static inline void futexlock_stats_add(struct futexlock_stats *sum, const struct futexlock_stats *s)
{
	sum->acquisitions += s->acquisitions;
	sum->contended += s->contended;
	sum->owner_changes += s->owner_changes;
	sum->handoffs += s->handoffs;
	sum->wait_ns += s->wait_ns;
	sum->hold_ns += s->hold_ns;
}

/* The lock's truth members: lock_addr, acquisitions, contended, wait_ns, hold_ns, handoffs,
 * owner_changes. */
static inline void futexlock_write_truth(FILE *f, const struct futexlock *l,
					 const struct futexlock_stats *sum)
{
	truth_kv(f, "lock_addr", (unsigned long)&l->word);
	truth_kv(f, "acquisitions", sum->acquisitions);
	truth_kv(f, "contended", sum->contended);
	truth_kv(f, "wait_ns", sum->wait_ns);
	truth_kv(f, "hold_ns", sum->hold_ns);
	truth_kv(f, "handoffs", sum->handoffs);
	truth_kv(f, "owner_changes", sum->owner_changes);
}

#endif
