/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Analysis of a recording in one streaming pass: feed it records in file order, then finish it.
 * Memory grows with the number of threads and locks, never with the number of records, and is
 * bounded on any input (the *_MAX below).
 * Every figure is defined in reports/METRICS.md; the names below follow it.
 */
#ifndef LS_ANALYZE_H
#define LS_ANALYZE_H

#include <stdbool.h>
#include <stdio.h>
#include "gil.h"
#include "hist.h"
#include "htab.h"
#include "names.h"
#include "pyfuncs.h"
#include "stacks.h"
#include "trace.h"

enum ls_outcome {
	LS_OUT_WOKEN,	 /* 0 */
	LS_OUT_TIMEDOUT, /* ETIMEDOUT */
	LS_OUT_NOBLOCK,	 /* EAGAIN: the value had changed, no sleep */
	LS_OUT_INTR,	 /* EINTR */
	LS_OUT_ERROR,	 /* anything else */
	LS_OUT_NR,
};

enum ls_state {
	LS_ST_RUNNING,
	LS_ST_RUNNABLE,
	LS_ST_LOCK_WAIT,
	LS_ST_GIL_WAIT,
	LS_ST_OTHER_WAIT,
	LS_ST_NR,
	LS_ST_UNKNOWN = LS_ST_NR, /* before the first event that tells */
};

#define LS_TL_CELLS    200  /* timeline resolution kept while streaming */
#define LS_BUSY_MAX    64   /* the concurrency profile counts up to this many busy threads */
#define LS_HELD_MAX    4    /* contended acquisitions a thread may hold at once */
#define LS_TL_THREADS  4096 /* threads with a timeline lane */
/*
 * Memory stays bounded on any input: beyond these, threads are left out (their records skipped),
 * locks are counted together in one entry, and pairs are not itemized; the report says so.
 */
#define LS_THREADS_MAX (1 << 18) /* threads analysed */
#define LS_LOCKS_MAX   (1 << 16) /* locks kept apart; the others are LS_LOCK_OTHERS */
#define LS_PAIRS_MAX   (1 << 19) /* (thread, lock) pairs, hand-off pairs, wait sites */
#define LS_GILS_MAX    (1 << 12) /* CPython interpreters followed */
#define LS_RECENT      64	 /* threads and locks looked up without a hash */

struct ls_lock_key {
	__u32 tgid;
	__u32 others; /* 1: LS_LOCK_OTHERS, else 0 */
	__u64 uaddr;
};

/* The entry of the locks beyond LS_LOCKS_MAX (uaddr: no futex word is at an odd address) */
#define LS_LOCK_OTHERS ((struct ls_lock_key){ 0, 1, ~0ULL })

struct ls_lock {
	struct ls_lock_key key;
	__u64 waits;   /* every wait, whatever its outcome */
	__u64 blocked; /* woken, timed out or interrupted: the timed ones */
	__u64 outcomes[LS_OUT_NR];
	struct ls_hist wait; /* blocked waits' durations */
	__u64 waits_val2;    /* waits that expected 2, glibc's "locked, with waiters" */
	bool pi;	     /* used with PI ops */
	__u64 wakes;	     /* waking ops naming this address */
	__u64 woken;	     /* tasks those ops reported woken */
	__u64 acquisitions;  /* contended acquisitions (inferred, see ls_held) */
	struct ls_hist hold; /* inferred hold times */
	__u64 handoffs;
	struct ls_hist handoff_latency;
	struct ls_wait_site *sites; /* its waits by thread and stack (--stacks), a list */
};

/*
 * A contended acquisition (inferred): a run of waits by one thread on a lock, at least one of
 * them woken, closed by that thread's next waking op on the lock (its unlock). A woken waiter of
 * a mutex may lose the race and wait again: the run counts once. The lock is held from the
 * return of the run's last wait to the entry of that waking op.
 */
struct ls_held {
	struct ls_lock *lock;
	__u64 since; /* the return of the last wait of the run */
};

struct ls_thread {
	__u32 tid; /* key */
	__u32 tgid;
	char comm[LS_COMM_LEN];
	__u64 start; /* lifetime, clipped to the window */
	__u64 end;   /* 0 while alive */
	bool alive;  /* counted in the ceiling */
	bool exited;
	__u32 exit_code;

	enum ls_state state;
	__u64 state_since;
	__u64 state_ns[LS_ST_NR];
	__u64 (*timeline)[LS_ST_NR]; /* LS_TL_CELLS cells */
	/*
	 * Turns (reports/METRICS.md "Verdict"): its blocked lock or GIL waits that ended woken,
	 * and its on-CPU time from each such wait's return to its next wait: the work it did with
	 * the turn it was given. Per cell beside timeline: [0] turns, [1] their on-CPU time.
	 */
	__u64 turns, turn_cpu_ns;
	__u64 turn_mark; /* state_ns[LS_ST_RUNNING] when its open turn began */
	bool turn_open;
	__u64 (*turn_cells)[2];

	__u64 vol_switches; /* as the kernel counts them: nvcsw */
	__u64 invol_switches;
	__u64 vol_by_state[LS_ST_NR]; /* voluntary switches by the wait they began */
	__u32 nvcsw, nivcsw;	      /* the kernel's counters at the last switch out */
	bool counters_known;
	bool pre_exec; /* the launched command before its exec: not yet in the traced set */

	__u64 runnable_since;
	__u64 runq_ns, runq_count; /* run-queue latency */

	/* the last wakeup, to recognise a hand-off when the wait returns */
	__u32 waker;
	__u64 waker_uaddr;
	__u64 woken_at;
	__u64 woken_ran_at; /* the first switch onto a CPU after it, 0 until then */

	struct ls_held held[LS_HELD_MAX];
	struct ls_lock *top_lock; /* the lock it waited on longest so far, and how long */
	__u64 top_lock_ns;
	struct ls_thread_gil *gil; /* NULL until it touches a GIL */
	struct ls_thread_py *py;   /* NULL until a Python stack of it */
	__u64 lock_wait_mark;	   /* state_ns[LS_ST_LOCK_WAIT] at its last futex wait record */
	__u64 lock_vol_mark;	   /* vol_by_state[LS_ST_LOCK_WAIT] likewise */
	__u32 wait_stack;	   /* the stack of its current or last blocking wait (--stacks) */
	__u64 wait_stack_ts;	   /* when that stack was taken */
};

/* wait time of one thread on one lock, for "the lock a thread waits on most" */
struct ls_thread_lock {
	struct {
		__u32 tid;
		__u32 tgid;
		__u64 uaddr;
	} key;
	__u64 wait_ns;
};

struct ls_handoff {
	struct {
		__u32 tgid;
		__u32 from;
		__u64 uaddr;
		__u32 to;
		__u32 pad;
	} key;
	__u64 count;
};

/*
 * An optional observer of the analysis as it streams, for renderers that need events rather than
 * totals (render_chrome.c). Each callback may be NULL; ctx is passed back to each. Called:
 * - on_state: a thread leaves a state it was in from since to until (since <= until); the slices
 *   of a thread follow one another without gap or overlap, from its start to its end or the
 *   window's (ls_analysis_finish closes the last), so they sum to ls_thread_lifetime();
 * - on_wait: a futex wait record of t on uaddr: the lock-wait slices t left since its previous
 *   wait record belong to this wait, and are gil-wait instead when gil is true (state_ns moved
 *   likewise);
 * - on_handoff: a hand-off counted (reports/METRICS.md), from the waker's waking op (release, the
 *   wakeup's time) to the waiter's first switch onto a CPU after it (acquire);
 * - on_busy: busy(t) changed to busy at ts (ts never goes back);
 * - on_switch: a switch away from t at ts, counted voluntary or not in its vol_switches or
 *   invol_switches (the switches those counts leave out are not passed);
 * - on_py_stack: a Python stack of thread t (NULL: not followed) once counted (pyfuncs.h).
 */
struct ls_observer {
	void *ctx;
	void (*on_state)(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			 enum ls_state state, __u64 since, __u64 until);
	void (*on_wait)(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			__u64 uaddr, bool gil);
	void (*on_handoff)(void *ctx, const struct ls_analysis *a, const struct ls_lock *l,
			   __u32 from_tid, __u32 to_tid, __u64 release_ts, __u64 acquire_ts);
	void (*on_busy)(void *ctx, const struct ls_analysis *a, __u64 ts, __u32 busy);
	void (*on_switch)(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			  __u64 ts, bool voluntary);
	void (*on_py_stack)(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			    const struct ls_py_stack *ps);
};

struct ls_analysis {
	struct ls_file_header hdr;
	const struct ls_observer *obs; /* NULL: none; set after ls_analysis_init */
	char cmdline[LS_CMDLINE_MAX];
	struct ls_htab threads; /* struct ls_thread by tid */
	/* the threads and locks met last, by tid and by address: most records name them again */
	struct ls_thread *recent_threads[LS_RECENT];
	struct ls_lock *recent_locks[LS_RECENT];
	struct ls_htab locks;	     /* struct ls_lock by (tgid, uaddr) */
	struct ls_htab thread_locks; /* struct ls_thread_lock */
	struct ls_htab handoffs;     /* struct ls_handoff: the hand-off matrices */
	struct ls_names *names;	     /* memory maps, to name lock addresses */
	struct ls_htab gils;	     /* struct ls_gil by tgid */
	struct ls_htab stacks;	     /* struct ls_stack_entry by (tgid, id) */
	struct ls_htab wait_sites;   /* struct ls_wait_site */
	bool has_stacks;	     /* recorded with --stacks */
	__u64 waits_without_stack;   /* blocked waits whose stack was not taken or lost */
	__u64 start_ns, end_ns;	     /* the window */
	__u64 last_ts;		     /* the latest timestamp seen, the end of a cut-short file */
	__u64 nr_records;
	__u64 nr_kernel_records; /* written by the BPF programs (types below LS_REC_CMDLINE) */
	__u64 nr_lost;
	__u32 nr_lost_cpus; /* CPUs that lost records */
	bool complete;	    /* the END record was read */
	bool too_many_threads;
	__u64 records_left_out; /* of threads beyond LS_THREADS_MAX */
	bool locks_folded;	/* locks beyond LS_LOCKS_MAX are in LS_LOCK_OTHERS */
	bool pairs_left_out;	/* pairs beyond LS_PAIRS_MAX were not itemized */
	bool gils_left_out;	/* interpreters beyond LS_GILS_MAX were not followed */
	struct ls_pyfuncs py;	/* Python stacks: functions, their samples and GIL waits */
	struct ls_end end;
	char status[192]; /* why the file is incomplete, when it is */

	/* per CPU: when its last reported switch went to an untraced task or idle, else 0 */
	__u64 cpu_untraced_since[LS_CPUS_MAX];
	/* LS_REC_MAPS_FAILED: map snapshots that could not be read; the first one's tgid, errno */
	__u64 nr_maps_failed;
	__u32 maps_failed_tgid;
	__s32 maps_failed_err;

	/* parallelism */
	__u32 busy, alive, peak_alive;
	__u64 busy_since, alive_since;
	__u64 profile_ns[LS_BUSY_MAX + 1]; /* time with busy(t) == i */
	__u64 ceiling_ns;		   /* integral of min(alive, CPUs) */
	struct ls_hist runq;		   /* run-queue latency, all threads */

	/*
	 * timeline: cell i covers [start + i * cell_ns, start + (i + 1) * cell_ns); the phases
	 * (phases.h) are made of cells. Time in each state summed over threads (on-CPU time:
	 * LS_ST_RUNNING), the ceiling's integral and the hand-offs, per cell.
	 */
	__u64 cell_ns;
	__u64 state_cells[LS_TL_CELLS][LS_ST_NR];
	__u64 ceiling_cells[LS_TL_CELLS];
	__u64 handoff_cells[LS_TL_CELLS];
	/*
	 * The machine's other load (reports/METRICS.md): LS_REC_OTHER_CPU samples from the window's
	 * start on, the first and the last, and the untraced time between each two spread evenly
	 * over the cells between them.
	 */
	__u64 other_samples;
	__u64 other_first_ts, other_first_ns; /* a sample's time, and its untraced time */
	__u64 other_last_ts, other_last_ns;
	__u64 other_cells[LS_TL_CELLS];
	bool other_measured; /* by ls_analysis_finish: two samples, the last inside the window */
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
/* The same, with an observer (NULL: none) watching the pass. */
int ls_analyze_file_observed(FILE *f, struct ls_analysis *a, const struct ls_observer *obs,
			     char *err, size_t errlen);

enum ls_outcome ls_wait_outcome(__s32 ret);
const char *ls_outcome_name(enum ls_outcome o);
const char *ls_state_name(enum ls_state s);
/*
 * The other load: CPUs busy with untraced tasks, on average over the samples' span (the window,
 * but for a file cut short after its last sample); 0 when not measured.
 */
double ls_other_cpus(const struct ls_analysis *a);
/* The thread's lifetime inside the window. */
__u64 ls_thread_lifetime(const struct ls_analysis *a, const struct ls_thread *t);
/* reports/METRICS.md "Kind": mutex when used with PI ops or every wait expected 2. */
bool ls_lock_is_mutex(const struct ls_lock *l);
/* The entry of the locks beyond LS_LOCKS_MAX */
bool ls_lock_is_others(const struct ls_lock *l);

#endif
