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
	LS_VERDICT_IMBALANCED,
	LS_VERDICT_NR,
};

/*
 * reports/METRICS.md "Verdict": a thread worked when its on-CPU time is at least LS_WORKING_SHARE
 * of the busiest thread's; it took turns when it was given at least LS_TURNS_MIN turns and worked
 * on them: its on-CPU time on its turns is at least LS_WORKING_SHARE of the busiest thread's.
 */
#define LS_TURNS_MIN	 3
#define LS_WORKING_SHARE 0.1

/* What the verdict needs of one thread, over the window or a phase */
struct ls_thread_figures {
	__u64 cpu_ns;
	__u64 turns, turn_cpu_ns;
	__u64 sync_ns; /* lock and GIL wait */
	__u64 lifetime_ns;
};

struct ls_summary {
	__u64 wall_ns;
	__u64 cpu_ns;			 /* on-CPU time of all traced threads */
	double parallelism;		 /* effective: cpu / wall */
	__u64 ceiling_ns;		 /* integral of min(threads alive, CPUs) */
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
	unsigned int working;	   /* threads that worked (LS_WORKING_SHARE) */
	unsigned int turn_takers;  /* ... and took turns (LS_TURNS_MIN) */
	unsigned int sync_waiters; /* threads that spent most of their time in lock or GIL waits */
	const struct ls_lock *top_lock; /* most blocked wait time, or NULL */
	enum ls_verdict verdict;
};

void ls_summarize(const struct ls_analysis *a, struct ls_summary *s);
/*
 * The ratios and the verdict, from the sums: wall_ns, state_ns, lifetime_ns, ceiling_ns,
 * handoffs, switches, peak_alive, working, turn_takers, sync_waiters, other_measured and
 * other_cpus. For a phase too.
 */
void ls_summary_derive(struct ls_summary *s);
/* A thread's part in working, turn_takers and sync_waiters; busiest: the most on-CPU time of a
 * thread in the same interval */
void ls_summary_count_thread(struct ls_summary *s, const struct ls_thread_figures *f,
			     __u64 busiest);
const char *ls_verdict_name(enum ls_verdict v);
const char *ls_verdict_title(enum ls_verdict v); /* the name in capitals, as the report heads it */
/* One sentence: the verdict and the figures behind it. */
void ls_verdict_explain(FILE *out, const struct ls_summary *s, const char *indent);

#endif
