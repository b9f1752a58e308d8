/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Python stacks (reports/METRICS.md "Python functions"): the functions the recorder resolved
 * (LS_REC_PY_FUNC), each process's status (LS_REC_PY_STATUS), and the stacks (LS_REC_PY_STACK):
 * sampled ones count against their innermost resolved function, a GIL waiter's charges its GIL
 * wait to its function and to the holder's, a lock waiter's names the line that waits on a
 * futex word. Fed by the analysis (analyze.c); memory is bounded whatever the trace holds.
 */
#ifndef LS_PYFUNCS_H
#define LS_PYFUNCS_H

#include <stdbool.h>
#include "htab.h"
#include "trace.h"

struct ls_analysis;
struct ls_thread;
struct ls_lock;

#define LS_PY_FUNCS_MAX	 (1 << 16) /* functions kept; those beyond are counted, not named */
#define LS_PY_PROCS_MAX	 (1 << 12) /* processes with Python stacks followed */
#define LS_PY_STACKS_MAX (1 << 15) /* distinct (thread, stack) pairs folded (--format folded) */
#define LS_PY_STR_MAX	 160	   /* bytes of a name or file kept, before escaping */

/* A Python function, as its LS_REC_PY_FUNC gave it */
struct ls_pyfunc {
	__u32 id; /* key: unique in the file */
	__u32 tgid;
	__s32 firstlineno;
	char *name;			    /* qualified name, escaped */
	char *file;			    /* escaped */
	__u64 samples;			    /* LS_PY_SAMPLED stacks with it innermost */
	__u64 held_samples;		    /* ... that held the GIL */
	__u64 gil_waits, gil_wait_ns;	    /* its threads' GIL waits, begun in it */
	__u64 blamed_waits, blamed_wait_ns; /* others' GIL waits begun while it held the GIL */
};

/* A process's Python stacks: available or why not, and what could not be attributed */
struct ls_pyproc {
	__u32 tgid; /* key */
	bool have_status;
	__s32 err;	    /* 0: stacks read; else -errno */
	__u32 hexversion;   /* 0: unknown */
	__u32 sample_hz;    /* LS_PY_SAMPLED stacks a second per CPU running a thread; 0: unknown */
	char why[192];	    /* escaped */
	__u64 stacks;	    /* LS_REC_PY_STACK records */
	__u64 samples;	    /* LS_PY_SAMPLED ones */
	__u64 held_samples; /* ... with the GIL held */
	__u64 samples_unattributed; /* no resolved frame, or one of a function not in the table */
	__u64 gil_wait_ns;	    /* charged to a waiter's function, or unattributed: */
	__u64 gil_wait_unattributed_ns;
	__u64 blamed_unknown_ns; /* GIL waits whose holder's function is not known */
	__u32 funcs;		 /* functions in the table */
	__u64 funcs_left_out;	 /* LS_REC_PY_FUNC beyond LS_PY_FUNCS_MAX */
};

/* Samples of one thread in one function, for each thread's top function */
struct ls_pythread_func {
	struct {
		__u32 tid;
		__u32 func;
	} key;
	__u64 samples;
};

/* Blocked wait time on a lock from a Python line (LS_PY_LOCK_WAITER) */
struct ls_pyline {
	struct {
		__u32 tgid;
		__u32 func;
		__u64 uaddr;
		__s32 line;
		__u32 pad;
	} key;
	const struct ls_lock *lock;
	__u64 waits, wait_ns;
};

/* What a thread's next GIL wait charge or lock wait needs of its last stacks */
struct ls_thread_py {
	__u64 samples, held_samples;
	__u32 top_func; /* the function of most of its samples, 0 if none */
	__u64 top_samples;
	/* a GIL wait begun at a GIL_WAITER stack, charged at the thread's next one */
	bool gil_stacks; /* it had one: its GIL waits are folded by Python stack */
	bool wait_open;
	__u64 wait_ts;
	__u64 wait_mark;   /* state_ns[LS_ST_GIL_WAIT] then */
	__u32 wait_func;   /* the waiter's innermost resolved function, 0 if none */
	__u32 holder_func; /* the holder's, from a GIL_HOLDER stack naming this thread */
	bool holder_known;
	__u32 wait_tgid;
	struct ls_pyfold *wait_fold; /* its stack's folded entry, NULL if none */
	/* a LOCK_WAITER stack, for the futex wait it was taken in */
	bool lock_open;
	__u64 lock_ts, lock_uaddr;
	__u32 lock_func;
	__s32 lock_line;
};

/*
 * A LOCK_WAITER stack of a thread the analysis had not met yet: the recorder drains Python stacks
 * from their own ring, so a new thread's first stack can come before its first switch record.
 */
struct ls_py_early_lock {
	__u32 tid; /* key */
	bool open;
	__u64 ts, uaddr;
	__u32 func;
	__s32 line;
};

/* Folded Python stacks: ns per thread, stack and what it did */
enum ls_pyfold_what { LS_PYFOLD_GIL_WAIT, LS_PYFOLD_GIL_HELD };

struct ls_pyfold {
	struct {
		__u32 tid;
		__u32 tgid;
		__u32 what; /* enum ls_pyfold_what */
		__u32 nr;
		__u32 funcs[LS_PY_FRAMES_MAX]; /* innermost first; 0: unresolved */
	} key;
	__u64 ns;      /* LS_PYFOLD_GIL_WAIT: GIL wait charged to the stack */
	__u64 samples; /* LS_PYFOLD_GIL_HELD: samples, each sample_ns when rendered */
};

struct ls_pyfuncs {
	struct ls_htab funcs;	     /* struct ls_pyfunc by id */
	struct ls_htab procs;	     /* struct ls_pyproc by tgid */
	struct ls_htab thread_funcs; /* struct ls_pythread_func */
	struct ls_htab lines;	     /* struct ls_pyline */
	struct ls_htab folds;	     /* struct ls_pyfold */
	/* LOCK_WAITER stacks of threads not met yet (a new thread's first wait): by tid */
	struct ls_htab early_locks; /* struct ls_py_early_lock */
	__u64 funcs_left_out;
	__u64 procs_left_out; /* records of processes beyond LS_PY_PROCS_MAX */
	bool pairs_left_out;  /* thread-function, line or folded entries beyond their bounds */
};

void ls_pyfuncs_init(struct ls_pyfuncs *py);
void ls_pyfuncs_free(struct ls_analysis *a);
int ls_pyfuncs_on_func(struct ls_analysis *a, const struct ls_rec_hdr *rec);
int ls_pyfuncs_on_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec);
int ls_pyfuncs_on_status(struct ls_analysis *a, const struct ls_rec_hdr *rec);
/* A blocked futex wait of t on uaddr (lock l), [enter, exit], ns of it in the window. */
int ls_pyfuncs_on_wait(struct ls_analysis *a, struct ls_thread *t, const struct ls_lock *l,
		       __u64 uaddr, __u64 enter, __u64 exit, __u64 ns);
/* Charge the GIL waits still open as the window closes. */
void ls_pyfuncs_finish(struct ls_analysis *a);

/* Function id of process tgid, or NULL (0, unknown, or another process's). */
const struct ls_pyfunc *ls_pyfunc_find(const struct ls_analysis *a, __u32 tgid, __u32 id);
/* The estimated ns one sample stands for in process tgid, 0 when the rate is unknown. */
double ls_py_sample_ns(const struct ls_analysis *a, __u32 tgid);

#endif
