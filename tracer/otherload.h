/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The machine's other load: the sched_switch program sums, per CPU, the CPU time of untraced
 * tasks' runs as they end, and the sample_untraced program adds the runs going on to the sum over
 * the CPUs; this writes that sum into the trace (LS_REC_OTHER_CPU) as the window opens, every
 * LS_OTHER_PERIOD_NS and as it closes.
 */
#ifndef LS_OTHERLOAD_H
#define LS_OTHERLOAD_H

#include <stdbool.h>
#include "trace.h"

#define LS_OTHER_PERIOD_NS 100000000ULL /* 100 ms */

struct ls_otherload {
	int prog_fd;	     /* sample_untraced; -1: nothing is sampled */
	volatile __u64 *sum; /* what it found, in the programs' .bss */
	__u64 next_ns;	     /* when the next sample is due */
};

void ls_otherload_init(struct ls_otherload *o, int prog_fd, volatile __u64 *sum);
/*
 * Run on each CPU that has not switched since the probes were attached (cpus: the programs'
 * entries), so that every CPU has: its run queue is then known, and a run going on there is seen.
 * A CPU running one task alone (a pinned hog) may not switch for a whole window otherwise.
 */
void ls_otherload_visit(const volatile struct ls_cpu_untraced *cpus, int nr_cpus);
/*
 * Write a sample when one is due, or now with force; *ts (may be NULL) is its time. A program
 * that cannot be run ends the sampling, not the recording. 0, or the writer's error.
 */
int ls_otherload_sample(struct ls_otherload *o, struct ls_writer *w, bool force, __u64 *ts);

#endif
