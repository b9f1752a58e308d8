/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The headline figures of a recording (reports/METRICS.md "Parallelism" and "Comparing
 * recordings").
 */
#ifndef LS_SUMMARY_H
#define LS_SUMMARY_H

#include "analyze.h"

enum ls_verdict {
	LS_VERDICT_SERIALIZED,
	LS_VERDICT_PARALLEL,
	LS_VERDICT_WAITING,
	LS_VERDICT_MIXED,
};

struct ls_summary {
	__u64 wall_ns;
	__u64 cpu_ns;			 /* on-CPU time of all traced threads */
	double parallelism;		 /* effective: cpu / wall */
	double ceiling;			 /* mean of min(threads alive, CPUs) */
	double utilization;		 /* parallelism / ceiling */
	double profile[LS_BUSY_MAX + 1]; /* fraction of wall time with busy(t) == i */
	unsigned int profile_top;	 /* highest i with a non-zero fraction */
	__u64 state_ns[LS_ST_NR];	 /* summed over threads */
	__u64 lifetime_ns;		 /* summed over threads */
	__u64 offcpu_ns;		 /* lifetime - running */
	double lock_wait_share;		 /* of thread time (lifetime) */
	double gil_wait_share;
	double other_wait_share;
	double sync_wait_offcpu; /* lock + gil wait, of off-CPU time */
	/* ... of blocked time (off CPU and not runnable): what the threads waited for, whatever
	 * else kept them from a CPU (the machine's other load) */
	double sync_wait_blocked;
	__u64 handoffs;
	double handoffs_per_s;
	__u64 vol_switches, invol_switches;
	double vol_per_s, invol_per_s;
	unsigned int threads, processes, peak_alive;
	const struct ls_lock *top_lock; /* most blocked wait time, or NULL */
	enum ls_verdict verdict;
};

void ls_summarize(const struct ls_analysis *a, struct ls_summary *s);
const char *ls_verdict_name(enum ls_verdict v);
/* One sentence: the verdict and the figures behind it. */
void ls_verdict_explain(FILE *out, const struct ls_summary *s, const char *indent);

#endif
