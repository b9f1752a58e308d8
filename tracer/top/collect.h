/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * lockscope top's collector: the BPF programs in aggregate mode (bpf/lockscope.h, "lockscope
 * top"), the workload launched or attached as record does, and every interval the maps' running
 * sums read and differenced into what the interval held (struct ls_top_interval). Task lifecycle
 * records, Python stacks and the other load's samples come through the ring buffers, as few as
 * record's are many.
 */
#ifndef LS_TOP_COLLECT_H
#define LS_TOP_COLLECT_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include "lockscope.h"

#define LS_TOP_THREADS_MAX 16384 /* top_threads entries: threads alive at once */
#define LS_TOP_LOCKS_MAX   16384 /* top_locks entries: futex words in use at once */
#define LS_TOP_GILS_MAX	   1024	 /* processes with a GIL */
#define LS_TOP_LOCK_IDLE   30	 /* intervals a lock may go unused before its entry is evicted */
#define LS_TOP_FUNC_LEN	   96	 /* bytes of a Python function's name kept */

struct ls_top_opts {
	pid_t pid; /* -p, or 0 */
	int argc;  /* the command after --, or 0 */
	char **argv;
	double interval; /* seconds between readings */
	bool py_stacks;	 /* read Python stacks (the GIL holder's function) */
	bool verbose;
};

/* A thread over one interval */
struct ls_top_thread_row {
	__u32 tid, tgid;
	char comm[LS_COMM_LEN];
	__u64 state_ns[LS_TOP_NR_STATES];
	__u64 vol, invol; /* switches away, as the kernel counted them */
	__u64 turns;	  /* blocked lock or GIL waits that ended woken */
	bool exited;	  /* it exited in the interval */
};

/* A futex word over one interval */
struct ls_top_lock_row {
	__u32 tgid;
	__u64 uaddr;
	__s64 gil_off; /* its offset in its process's GIL, or -1 */
	__u64 waits, blocked, wait_ns, timedout, handoffs;
	__u32 hist[LS_TOP_HIST];
};

/* A process's GIL over one interval */
struct ls_top_gil_row {
	__u32 tgid;
	__u32 version;	      /* 0x030b07: 3.11.7 */
	double load;	      /* held time / the interval, sampled (reports/METRICS.md) */
	bool handoffs_known;  /* switch_number could be read at both ends */
	__u64 handoffs;	      /* CPython's switch_number: takes by another thread */
	__u64 forced;	      /* holds a waiter's timeout asked to end (CPython's drop request) */
	__u64 timeouts;	      /* waits on its condition that timed out: each asks for a drop */
	__u64 waits, wait_ns; /* blocked waits on its words, switch_cond's left out */
	__u64 samples;	      /* Python stacks sampled holding it (0: none read) */
	__u64 func_samples;   /* ... of them, in the function below */
	char func[LS_TOP_FUNC_LEN];
};

struct ls_top_interval {
	__u64 start_ns, end_ns; /* CLOCK_MONOTONIC */
	__u64 since_ns;		/* when top began */
	__u32 target;		/* the launched or attached process */
	int nr_cpus;
	bool other_measured;
	double other_cpus; /* CPUs busy with untraced tasks */
	struct ls_top_thread_row *threads;
	size_t nr_threads;
	struct ls_top_lock_row *locks;
	size_t nr_locks;
	struct ls_top_gil_row *gils;
	size_t nr_gils;
	__u64 full[LS_TOP_NR_MAPS]; /* entries refused by a full map, since the start */
	__u64 lost;		    /* lifecycle records lost, since the start */
};

struct ls_top;

/* Check, load and attach, launch or attach to the target. NULL on failure, said on stderr. */
struct ls_top *ls_top_open(const struct ls_top_opts *o);
/* Empty the ring buffers (task lifecycle, Python stacks): call often, every 100 ms or less. */
int ls_top_poll(struct ls_top *t, int timeout_ms);
/* The interval since the last reading (or the start), into iv (its arrays the collector's, valid
 * until the next call). 0 or -errno. */
int ls_top_read(struct ls_top *t, struct ls_top_interval *iv);
/* The target has exited (launched: the command and all it forked). */
bool ls_top_target_gone(struct ls_top *t);
/* Stop the command if it still runs, detach, free. The command's exit status as record gives it
 * (0 with -p). */
int ls_top_close(struct ls_top *t);
/* Signals that end top: it notes them, the caller's loop stops. */
void ls_top_install_signals(void);
extern volatile int ls_top_stop_signal;

#endif /* LS_TOP_COLLECT_H */
