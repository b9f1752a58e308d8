/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython's GIL (METRICS.md "The GIL"), per traced interpreter: from take_gil/drop_gil probes
 * (exact), or inferred from the futex traffic on the GIL's words when the interpreter has no
 * symbols. Fed by the analysis (analyze.c); rendered by render.c and render_json.c.
 */
#ifndef LS_GIL_H
#define LS_GIL_H

#include <stdbool.h>
#include "hist.h"
#include "trace.h"

struct ls_analysis;
struct ls_thread;

/* GIL words, from GIL.md: the condition variable, the mutex, the forced-switch condition */
#define LS_GIL_COND_LO	 32
#define LS_GIL_COND_HI	 80
#define LS_GIL_MUTEX	 80
#define LS_GIL_SWITCH_LO 120 /* switch_cond: a forced drop waits here for the next holder */
#define LS_GIL_SWITCH_HI 168
#define LS_GIL_SIZE	 208

struct ls_gil {
	__u32 tgid;   /* key: the main interpreter of this process */
	__u32 source; /* enum ls_gil_source */
	__u64 addr;
	__u32 interval_us;
	__u32 version;
	__u64 switch_number_start, switch_number_end;
	bool have_start, have_end;

	__u32 holder; /* probes: the thread holding it now, 0 if none */
	__u64 held_since;
	__u32 last_taker; /* the thread that took it last */
	__u64 last_drop;
	bool waiter_timed_out; /* during the current hold: the next drop is a forced switch */
	/*
	 * Futex inference: the words (bit = offset / 4) that take_gil or drop_gil waited on with a
	 * bitset, the signal words of its two condition variables. A condition's other words are
	 * its internal lock, which any thread may wake: only a signal word tells who held the GIL.
	 */
	__u64 signal_words;

	__u64 acquisitions;
	__u64 handoffs;
	__u64 forced;	     /* probes: drops after a waiter timed out; futex: waiter timeouts */
	__u64 held_ns;	     /* probes: time some thread held it (the GIL load) */
	struct ls_hist wait; /* probes: take_gil calls; futex: runs of waits on its words */
	struct ls_hist hold; /* probes: take to drop; futex: end of a wait run to the signal */
	struct ls_hist handoff_latency; /* probes only */
};

/* Futex inference: where a thread stands with the GIL, from its own futex traffic */
enum ls_gil_infer {
	LS_GIL_IDLE,	/* not seen to want or hold it since its last drop */
	LS_GIL_WAITING, /* in take_gil: a run of timed waits on the GIL's condition */
	LS_GIL_HOLDING, /* took it: signalled the forced dropper (switch_cond) */
};

/* A thread's share of a GIL */
struct ls_thread_gil {
	__u64 acquisitions;
	__u64 hold_ns;
	__u64 wait_ns;
	struct ls_hist wait;
	struct ls_hist hold;
	/* futex inference */
	enum ls_gil_infer infer;
	bool signalled;		  /* its last GIL event was drop_gil's signal of the condition */
	__u64 run_start, run_end; /* LS_GIL_WAITING: the first wait's entry, the last's return */
	__u64 held_since;	  /* LS_GIL_HOLDING: when it took the GIL */
};

int ls_gil_on_info(struct ls_analysis *a, const struct ls_rec_hdr *rec);
int ls_gil_on_take(struct ls_analysis *a, const struct ls_rec_hdr *rec);
int ls_gil_on_drop(struct ls_analysis *a, const struct ls_rec_hdr *rec);
/* A futex wait or wake by t: true when uaddr is a word of t's process's GIL (its lock-wait is
 * then gil-wait); feeds the inference when the GIL has no probes. -ENOMEM as -1. */
int ls_gil_on_wait(struct ls_analysis *a, struct ls_thread *t, const struct ls_futex *e);
int ls_gil_on_wake(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, __u64 ts);
/* Close what is open at the window's end. */
void ls_gil_finish(struct ls_analysis *a);
const char *ls_gil_source_name(__u32 source);
/* "GIL cond", "GIL mutex", "GIL+0x18" for a word of tgid's GIL, else NULL */
const char *ls_gil_word_name(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			     size_t len);

#endif
