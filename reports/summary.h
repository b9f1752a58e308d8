/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The headline figures of a recording (reports/METRICS.md "Parallelism" and "Comparing
 * recordings").
 */
#ifndef LS_SUMMARY_H
#define LS_SUMMARY_H

#include "analyze.h"

/* reports/METRICS.md "Verdict": other load that held the workload back */
#define LS_OTHER_CPUS_MIN      0.2  /* CPUs busy with untraced tasks, on average */
#define LS_RUNNABLE_OFFCPU_MIN 0.25 /* runnable time, of the threads' off-CPU time */

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
	double runnable_offcpu; /* runnable time, of off-CPU time */
	bool other_measured;	/* the trace holds the other load's samples (older ones do not) */
	double other_cpus;	/* CPUs busy with untraced tasks, on average: the other load */
	bool other_held_back;	/* the other load explains the threads' runnable time */
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
