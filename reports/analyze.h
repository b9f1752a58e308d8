/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Analysis of a recording in one streaming pass: feed it records in file order, then finish it.
 * Memory grows with the number of threads and locks, never with the number of records.
 * Definitions: ../shared/METRICS.md (thread states, futex outcomes, context switches).
 */
#ifndef LS_ANALYZE_H
#define LS_ANALYZE_H

#include <stdbool.h>
#include <stdio.h>
#include "htab.h"
#include "trace.h"

enum ls_outcome {
	LS_OUT_WOKEN,	 /* 0 */
	LS_OUT_TIMEDOUT, /* ETIMEDOUT */
	LS_OUT_NOBLOCK,	 /* EAGAIN: the value had changed, no sleep */
	LS_OUT_INTR,	 /* EINTR */
	LS_OUT_ERROR,	 /* anything else */
	LS_OUT_NR,
};

struct ls_thread {
	__u32 tid; /* key */
	__u32 tgid;
	char comm[LS_COMM_LEN];
	__u64 start; /* lifetime, clipped to the window */
	__u64 end;   /* 0 while alive */
	__u64 oncpu_ns;
	__u64 run_since;      /* valid while running */
	__u64 vol_switches;   /* as the kernel counts them: nvcsw */
	__u64 invol_switches; /* nivcsw */
	__u32 nvcsw, nivcsw;  /* the kernel's counters at the last switch out */
	bool counters_known;
	bool running;
	bool state_known; /* a switch has told whether it runs */
	bool exited;
	__u32 exit_code;
};

struct ls_lock_key {
	__u32 tgid;
	__u32 pad;
	__u64 uaddr;
};

struct ls_lock {
	struct ls_lock_key key;
	__u64 waits;   /* every wait, whatever its outcome */
	__u64 blocked; /* woken, timed out or interrupted */
	__u64 wait_ns; /* total time of the blocked waits */
	__u64 outcomes[LS_OUT_NR];
	__u64 wakes; /* waking ops naming this address */
	__u64 woken; /* tasks those ops reported woken */
};

struct ls_analysis {
	struct ls_file_header hdr;
	char cmdline[LS_CMDLINE_MAX];
	struct ls_htab threads; /* struct ls_thread by tid */
	struct ls_htab locks;	/* struct ls_lock by (tgid, uaddr) */
	__u64 start_ns, end_ns; /* the window */
	__u64 last_ts;		/* the latest timestamp seen, the end of a cut-short file */
	__u64 nr_records;
	__u64 nr_lost;
	__u32 nr_lost_cpus; /* CPUs that lost records */
	bool complete;	    /* the END record was read */
	struct ls_end end;
	char status[192]; /* why the file is incomplete, when it is */
};

void ls_analysis_init(struct ls_analysis *a, const struct ls_file_header *hdr);
int ls_analysis_feed(struct ls_analysis *a, const struct ls_rec_hdr *rec);
/* Close the window: at END's time, or at the last timestamp of a cut-short file. */
void ls_analysis_finish(struct ls_analysis *a);
void ls_analysis_free(struct ls_analysis *a);

/*
 * Read and analyse a whole trace. 0 when complete, 1 when cut short (a is usable, a->status
 * says why), -1 when nothing usable was read (err says why).
 */
int ls_analyze_file(FILE *f, struct ls_analysis *a, char *err, size_t errlen);

enum ls_outcome ls_wait_outcome(__s32 ret);
const char *ls_outcome_name(enum ls_outcome o);
/* The thread's lifetime inside the window. */
__u64 ls_thread_lifetime(const struct ls_analysis *a, const struct ls_thread *t);

#endif
