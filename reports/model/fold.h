/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Folding: which processes are short-lived and did little (reports/METRICS.md "Folded
 * processes"), so that the text report's threads table and timeline show them together, by
 * command, under the threads that matter. Decided once here for every renderer; the JSON keeps
 * every thread and marks these.
 */
#ifndef LS_FOLD_H
#define LS_FOLD_H

#include <stdbool.h>
#include "analyze.h"

/*
 * A process folds when, of the recording's totals, it took at most these shares (percent), and
 * at least LS_FOLD_MIN processes qualify: fewer are shown as they are.
 */
#define LS_FOLD_LIFETIME_PCT 10 /* of the window, from its first thread's start to its end */
#define LS_FOLD_CPU_PCT	     2	/* of all on-CPU time */
#define LS_FOLD_SYNC_PCT     1	/* of all lock-wait and gil-wait time */
#define LS_FOLD_HANDOFF_PCT  1	/* of all hand-offs */
#define LS_FOLD_MIN	     4

/* The folded processes of one command (their leader's comm) */
struct ls_fold_group {
	char comm[LS_COMM_LEN]; /* key, zero-padded */
	__u32 processes;
	__u32 threads;
	__u64 cpu_ns;
};

struct ls_fold {
	struct ls_htab tgids;	      /* a __u32 per folded process */
	struct ls_fold_group *groups; /* most processes first */
	size_t nr_groups;
	__u32 processes, threads; /* folded */
	__u64 cpu_ns;
};

/*
 * Decide which processes of a fold. 0, or -ENOMEM: f is then empty, as it is when fewer than
 * LS_FOLD_MIN qualify, and nothing is folded. f is always to be freed.
 */
int ls_fold_init(struct ls_fold *f, const struct ls_analysis *a);
/* Nothing folded, for the reports that show every thread (--no-fold). */
void ls_fold_none(struct ls_fold *f);
bool ls_fold_has(const struct ls_fold *f, __u32 tgid);
void ls_fold_free(struct ls_fold *f);

#endif
