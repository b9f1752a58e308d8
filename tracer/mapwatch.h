/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * When to snapshot a traced process's memory map into the trace: at its first futex record, and
 * again at a later futex record once it has made threads (their stacks are new mappings) or
 * exec'd since the last snapshot, at most every MAPWATCH_MIN_NS; and at the end for any process
 * still alive whose last snapshot is stale.
 */
#ifndef LS_MAPWATCH_H
#define LS_MAPWATCH_H

#include "htab.h"
#include "tasks.h"
#include "trace.h"

#define MAPWATCH_MIN_NS 50000000ULL /* 50 ms: reading /proc/PID/maps costs about 100 us */

struct ls_mapwatch {
	struct ls_htab procs; /* struct mapwatch_proc by tgid */
	__u64 nr_failed;      /* snapshots whose map could not be read (LS_REC_MAPS_FAILED) */
	__u32 failed_tgid;    /* the first of them: its process and errno */
	int failed_err;
};

void ls_mapwatch_init(struct ls_mapwatch *m);
void ls_mapwatch_free(struct ls_mapwatch *m);
/*
 * Look at a record just written; snapshot if due. A map that cannot be read is counted and noted
 * in the trace, not an error. 0, or -errno of a failed write (or -ENOMEM).
 */
int ls_mapwatch_record(struct ls_mapwatch *m, struct ls_writer *w, const struct ls_tasks *tasks,
		       const struct ls_rec_hdr *h, __u64 now);
/* Final snapshots of the processes whose last one is stale. */
int ls_mapwatch_flush(struct ls_mapwatch *m, struct ls_writer *w, __u64 now);

#endif
