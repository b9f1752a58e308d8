/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What lockscope top shows of an interval: the collector's rows (collect.h) turned into rates and
 * shares, sorted, with the interval's effective parallelism and verdict (reports/METRICS.md, as
 * the report computes them: summary.c). The screen, the log line and the JSON lines render it.
 */
#ifndef LS_TOP_FIGURES_H
#define LS_TOP_FIGURES_H

#include "collect.h"
#include "summary.h"

enum ls_top_sort {
	LS_TOP_SORT_CPU, /* running share */
	LS_TOP_SORT_LOCK,
	LS_TOP_SORT_GIL,
	LS_TOP_SORT_SWITCHES,
	LS_TOP_SORT_TID,
	LS_TOP_NR_SORTS,
};

struct ls_top_thread_view {
	const struct ls_top_thread_row *r;
	double share[LS_TOP_NR_STATES]; /* of the interval */
	double switches_per_s;
};

struct ls_top_lock_view {
	const struct ls_top_lock_row *r;
	char name[40];
	double waits_per_s, handoffs_per_s;
	double wait_share; /* blocked wait time / the interval: threads waiting, on average */
	__u64 p99_ns;	   /* the upper bound of the log2 bucket holding the 99th percentile */
};

struct ls_top_model {
	const struct ls_top_interval *iv;
	double wall_s;	     /* the interval */
	double elapsed_s;    /* since top began */
	struct ls_summary s; /* parallelism, shares, switches, verdict */
	struct ls_top_thread_view *threads;
	size_t nr_threads;
	struct ls_top_lock_view *locks;
	size_t nr_locks;
	const struct ls_top_gil_row *gil; /* the target's GIL, else the most loaded; NULL if none */
	enum ls_top_sort sort;
};

/* Build m from iv, threads sorted by sort (locks by wait time). 0 or -ENOMEM. */
int ls_top_model_build(struct ls_top_model *m, const struct ls_top_interval *iv,
		       enum ls_top_sort sort);
void ls_top_model_free(struct ls_top_model *m);
const char *ls_top_sort_name(enum ls_top_sort sort);
const char *ls_top_state_name(int state);

#endif /* LS_TOP_FIGURES_H */
