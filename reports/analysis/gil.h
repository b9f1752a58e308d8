/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * CPython's GIL (reports/METRICS.md "The GIL"), per traced interpreter: from take_gil/drop_gil
 * probes (exact), or inferred from the futex traffic on the GIL's words when the interpreter has
 * no symbols. Fed by the analysis (analyze.c); rendered by render.c and render_json.c.
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
	__u32 tgid;		   /* key: the main interpreter of this process */
	enum ls_gil_source source; /* as the trace says: may be none of its values */
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

	/*
	 * GIL load sampled, for an interpreter without probes (and beside them, to check them). Only
	 * a running thread of the process changes the GIL: while none runs, it stays as the last
	 * one left it (read as it left the CPU: exact). While some run, the CPU clock samples them at
	 * a fixed rate, and the share of samples that found it held estimates the rest.
	 */
	__u32 running;	    /* threads of its process on a CPU */
	__u64 phase_since;  /* since the last change of running */
	int idle_state;	    /* while none runs: -1 unknown, 0 free, 1 held */
	int left_state;	    /* the GIL as the thread leaving a CPU now left it, -1 unread */
	__u64 idle_ns;	    /* time none ran, the GIL's state known */
	__u64 idle_held_ns; /* ... and it was held */
	__u64 sampled_ns;   /* time some ran, or none did and the state was unknown */
	double weight;	    /* samples, each weighted by 1 / threads running: time, not CPUs */
	double weight_held; /* ... that found it held */
	__u64 samples;	    /* LS_REC_GIL_SAMPLE records */
	__u64 samples_held;
};

/* GIL load: the share of the window some thread held it, exact (probes) or estimated */
struct ls_gil_load {
	bool known;
	bool sampled; /* estimated from samples; else exact */
	double load;  /* 0..1 */
	double err;   /* sampled: 2 standard errors of the sampled part, as a share of the window */
	double sampled_share; /* sampled: the part of the window the samples estimate, 0..1 */
	double covered_ns;    /* sampled: the time it covers, from the interpreter's finding on */
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
	__u64 cond_exit; /* the return of its last wait on the GIL's condition */
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
int ls_gil_on_sample(struct ls_analysis *a, const struct ls_rec_hdr *rec);
/* t leaves a CPU; flags, its switch record's, may say how it left its process's GIL */
void ls_gil_left_cpu(struct ls_analysis *a, const struct ls_thread *t, __u32 flags);
/* t goes on (+1) or off (-1) a CPU at ts */
void ls_gil_running(struct ls_analysis *a, const struct ls_thread *t, int delta, __u64 ts);
/* The GIL load over the window: exact from probes, else sampled where there are samples. */
struct ls_gil_load ls_gil_load(const struct ls_analysis *a, const struct ls_gil *g);
/* The same, sampled, whatever the source (to hold it against the probes). */
struct ls_gil_load ls_gil_load_sampled(const struct ls_analysis *a, const struct ls_gil *g);
/* Close what is open at the window's end. */
void ls_gil_finish(struct ls_analysis *a);
const char *ls_gil_source_name(enum ls_gil_source source);
/* "GIL cond", "GIL mutex", "GIL+0x18" for a word of tgid's GIL, else NULL */
/* The name of the GIL's word at offset off in the GIL ("GIL cond+N", "GIL mutex", ...) */
void ls_gil_word_label(__u64 off, char *buf, size_t len);
const char *ls_gil_word_name(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			     size_t len);

#endif
