/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The machine's other load: the sched_switch program sums, per CPU, the time untraced tasks ran
 * (struct ls_cpu_untraced); this writes the sum over the CPUs into the trace (LS_REC_OTHER_CPU)
 * as the window opens, every LS_OTHER_PERIOD_MS and as it closes.
 */
#ifndef LS_OTHERLOAD_H
#define LS_OTHERLOAD_H

#include <stdbool.h>
#include "trace.h"

#define LS_OTHER_PERIOD_NS 100000000ULL /* 100 ms */

struct ls_otherload {
	int map_fd;			 /* the per-CPU map; -1: not sampled */
	int nr_cpus;			 /* possible CPUs, an entry each */
	struct ls_cpu_untraced *copy[2]; /* two copies of the map, one after the other */
	bool *done;			 /* per CPU, while a sample is taken */
	__u64 next_ns;			 /* when the next sample is due */
};

/* Sample map_fd from now on; without memory, nothing is sampled. */
void ls_otherload_init(struct ls_otherload *o, int map_fd, int nr_cpus);
void ls_otherload_free(struct ls_otherload *o);
/*
 * Write a sample when one is due, or now with force; *ts (may be NULL) is its time. A map that
 * cannot be read ends the sampling, not the recording. 0, or the writer's error.
 */
int ls_otherload_sample(struct ls_otherload *o, struct ls_writer *w, bool force, __u64 *ts);

#endif
