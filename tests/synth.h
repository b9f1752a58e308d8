/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Synthetic event streams for the analysis tests: each helper feeds one record. */
#ifndef LS_SYNTH_H
#define LS_SYNTH_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"

#define T0 1000000000ULL /* the window's start */
#define US 1000ULL

#define SW_PREEMPT 1
#define SW_FUTEX   2 /* prev switched out inside a futex wait */

/* The observer the next synth_start() attaches, for tests of streaming renderers; NULL: none. */
static const struct ls_observer *synth_observer;

static inline struct ls_analysis *synth_start(__u32 cpus)
{
	struct ls_file_header h = { .version = LS_TRACE_VERSION,
				    .start_mono_ns = T0,
				    .start_real_ns = 1795600000000000000ULL,
				    .mode = LS_MODE_LAUNCH,
				    .target_pid = 10,
				    .nr_cpus = cpus };
	struct ls_analysis *a = malloc(sizeof(*a));

	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	strcpy(h.kernel, "6.1.0-synthetic");
	strcpy(h.tool_version, "test");
	ls_analysis_init(a, &h);
	a->obs = synth_observer;
	strcpy(a->cmdline, "synthetic");
	return a;
}

static inline void synth_finish(struct ls_analysis *a, __u64 end)
{
	a->complete = true;
	a->end.end_mono_ns = end;
	a->end.stop_reason = LS_STOP_EXITED;
	a->end.exit_status = 0;
	ls_analysis_finish(a);
}

static inline void synth_free(struct ls_analysis *a)
{
	ls_analysis_free(a);
	free(a);
}

static inline void feed(struct ls_analysis *a, const void *rec)
{
	assert_int_equal(ls_analysis_feed(a, rec), 0);
}

static inline void task_new(struct ls_analysis *a, __u32 tid, __u32 tgid, __u64 ts)
{
	struct ls_task_new e = { .hdr = { LS_REC_TASK_NEW, sizeof(e), tid },
				 .ts = ts,
				 .tgid = tgid,
				 .parent_tid = tgid,
				 .parent_tgid = tgid,
				 .flags = LS_TASK_THREAD,
				 .comm = "worker" };

	feed(a, &e);
}

static inline void task_exit(struct ls_analysis *a, __u32 tid, __u32 tgid, __u64 ts)
{
	struct ls_exit e = {
		.hdr = { LS_REC_EXIT, sizeof(e), tid }, .ts = ts, .tgid = tgid, .comm = "worker"
	};

	feed(a, &e);
}

/* A task named comm: a process of its own when tid == tgid, else a thread of tgid. */
static inline void task_named(struct ls_analysis *a, __u32 tid, __u32 tgid, __u64 ts,
			      const char *comm)
{
	struct ls_task_new e = { .hdr = { LS_REC_TASK_NEW, sizeof(e), tid },
				 .ts = ts,
				 .tgid = tgid,
				 .parent_tid = tid == tgid ? 1 : tgid,
				 .parent_tgid = tid == tgid ? 1 : tgid,
				 .flags = tid == tgid ? 0 : LS_TASK_THREAD };

	snprintf(e.comm, sizeof(e.comm), "%.15s", comm);
	feed(a, &e);
}

static inline void exit_named(struct ls_analysis *a, __u32 tid, __u32 tgid, __u64 ts,
			      const char *comm)
{
	struct ls_exit e = { .hdr = { LS_REC_EXIT, sizeof(e), tid }, .ts = ts, .tgid = tgid };

	snprintf(e.comm, sizeof(e.comm), "%.15s", comm);
	feed(a, &e);
}

/* A switch from prev to next (0: an untraced task); flags SW_*. */
static inline void sw_full(struct ls_analysis *a, __u64 ts, __u32 prev, __u32 next, __u32 state,
			   int flags, __u32 nvcsw, __u32 nivcsw)
{
	struct ls_switch e = { .hdr = { LS_REC_SWITCH, sizeof(e), prev },
			       .ts = ts,
			       .next_tid = next,
			       .prev_state = state,
			       .prev_nvcsw = nvcsw,
			       .prev_nivcsw = nivcsw };

	e.flags |= flags & SW_PREEMPT ? LS_SW_PREEMPT : 0;
	e.flags |= flags & SW_FUTEX ? LS_SW_IN_FUTEX_WAIT : 0;
	e.flags |= prev ? LS_SW_PREV_TRACED : 0;
	e.flags |= next ? LS_SW_NEXT_TRACED : 0;
	feed(a, &e);
}

static inline void sw(struct ls_analysis *a, __u64 ts, __u32 prev, __u32 next, __u32 state,
		      bool preempt, __u32 nvcsw, __u32 nivcsw)
{
	sw_full(a, ts, prev, next, state, preempt ? SW_PREEMPT : 0, nvcsw, nivcsw);
}

static inline void wakeup(struct ls_analysis *a, __u64 ts, __u32 tid, __u32 waker, __u64 uaddr)
{
	struct ls_wakeup e = { .hdr = { LS_REC_WAKEUP, sizeof(e), tid },
			       .ts = ts,
			       .waker_tid = waker,
			       .waker_uaddr = uaddr };

	feed(a, &e);
}

static inline void futex_rec(struct ls_analysis *a, __u16 type, __u32 tid, __u64 uaddr, __u32 cmd,
			     __u32 val, __u64 enter, __u64 exit, __s32 ret)
{
	struct ls_futex e = { .hdr = { type, sizeof(e), tid },
			      .ts_enter = enter,
			      .ts_exit = exit,
			      .uaddr = uaddr,
			      .op = LS_FUTEX_OP(LS_SYS_FUTEX, cmd | LS_FUTEX_PRIVATE_FLAG),
			      .val = val,
			      .ret = ret };

	feed(a, &e);
}

/* A FUTEX_WAIT expecting val, returning ret. */
static inline void wait_val(struct ls_analysis *a, __u32 tid, __u64 uaddr, __u32 val, __u64 enter,
			    __u64 exit, __s32 ret)
{
	futex_rec(a, LS_REC_FUTEX_WAIT, tid, uaddr, LS_FUTEX_WAIT, val, enter, exit, ret);
}

/* take_gil's timed wait on its condition: glibc waits on the signal word with a bitset */
static inline void gil_wait(struct ls_analysis *a, __u32 tid, __u64 uaddr, __u64 enter, __u64 exit,
			    __s32 ret)
{
	futex_rec(a, LS_REC_FUTEX_WAIT, tid, uaddr, LS_FUTEX_WAIT_BITSET | LS_FUTEX_PRIVATE_FLAG, 0,
		  enter, exit, ret);
}

static inline void wait_rec(struct ls_analysis *a, __u32 tid, __u64 uaddr, __u64 enter, __u64 exit,
			    __s32 ret)
{
	wait_val(a, tid, uaddr, 2, enter, exit, ret);
}

/* A FUTEX_WAKE of one waiter, that woke `woken`. */
static inline void wake_rec(struct ls_analysis *a, __u32 tid, __u64 uaddr, __u64 ts, __s32 woken)
{
	futex_rec(a, LS_REC_FUTEX_WAKE, tid, uaddr, LS_FUTEX_WAKE, 1, ts, ts, woken);
}

/* A sample of the untraced tasks' time, summed over CPUs up to ts. */
static inline void other_cpu(struct ls_analysis *a, __u64 ts, __u64 untraced_ns)
{
	struct ls_other_cpu e = { .hdr = { LS_REC_OTHER_CPU, sizeof(e), 0 },
				  .ts = ts,
				  .untraced_ns = untraced_ns };

	feed(a, &e);
}

static inline struct ls_thread *thread(struct ls_analysis *a, __u32 tid)
{
	struct ls_thread *t = ls_htab_find(&a->threads, &tid);

	assert_non_null(t);
	return t;
}

static inline struct ls_lock *lock(struct ls_analysis *a, __u32 tgid, __u64 uaddr)
{
	struct ls_lock_key k = { .tgid = tgid, .uaddr = uaddr };
	struct ls_lock *l = ls_htab_find(&a->locks, &k);

	assert_non_null(l);
	return l;
}

#define SYNTH_X 0x5000 /* a mutex word */

/*
 * Hand-off ping-pong, times in us from T0, process 10, threads 11 and 12, 2 CPUs:
 *   0  both born, runnable          10  both switched in
 *  20  12 blocks in FUTEX_WAIT(X, 2) 50  11 wakes X: 12 woken, by 11 on X
 *  60  12 switched in              65  12's wait returns 0: acquired, hand-off 11 -> 12
 * 100  12 wakes X: releases it     120 end
 */
static inline struct ls_analysis *scenario_ping_pong(void)
{
	struct ls_analysis *a = synth_start(2);

	task_new(a, 11, 10, T0);
	task_new(a, 12, 10, T0);
	sw(a, T0 + 10 * US, 0, 11, 0, false, 0, 0);
	sw(a, T0 + 10 * US, 0, 12, 0, false, 0, 0);
	sw_full(a, T0 + 20 * US, 12, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, T0 + 50 * US, 12, 11, SYNTH_X);
	wake_rec(a, 11, SYNTH_X, T0 + 50 * US, 1);
	sw(a, T0 + 60 * US, 0, 12, 0, false, 0, 0);
	wait_rec(a, 12, SYNTH_X, T0 + 20 * US, T0 + 65 * US, 0);
	wake_rec(a, 12, SYNTH_X, T0 + 100 * US, 0);
	synth_finish(a, T0 + 120 * US);
	return a;
}

/*
 * Two threads take turns on SYNTH_X: one runs while the other waits for the lock. Untraced tasks
 * take 0.4 CPUs in the first 500 us, 1 CPU in the 501 us after (0.70 on average).
 */
static inline struct ls_analysis *scenario_turns(void)
{
	struct ls_analysis *a = synth_start(2);

	other_cpu(a, T0, 1000000);
	other_cpu(a, T0 + 500 * US, 1200000);
	task_new(a, 61, 60, T0);
	task_new(a, 62, 60, T0);
	sw(a, T0, 0, 61, 0, false, 0, 0);
	sw(a, T0, 0, 62, 0, false, 0, 0);
	sw_full(a, T0 + 1 * US, 62, 0, 1, SW_FUTEX, 1, 0);
	for (int i = 0; i < 10; i++) {
		__u32 run = i % 2 ? 62 : 61, wait = i % 2 ? 61 : 62;
		__u64 t = T0 + (1 + i * 100) * US;

		wakeup(a, t + 99 * US, wait, run, SYNTH_X);
		wake_rec(a, run, SYNTH_X, t + 99 * US, 1);
		sw_full(a, t + 100 * US, run, wait, 1, SW_FUTEX, i + 2, 0);
		wait_rec(a, wait, SYNTH_X, t - 99 * US, t + 101 * US, 0);
	}
	other_cpu(a, T0 + 1001 * US, 1701000);
	synth_finish(a, T0 + 1001 * US);
	return a;
}

/* A single-thread process born at ts that runs for run_ns, then exits. */
static inline void short_process(struct ls_analysis *a, __u32 pid, const char *comm, __u64 ts,
				 __u64 run_ns)
{
	task_named(a, pid, pid, ts, comm);
	sw(a, ts, 0, pid, 0, false, 0, 0);
	exit_named(a, pid, pid, ts + run_ns, comm);
}

#define MS	      1000000ULL
#define SHIM_PROCS    30
#define SHIM_WAITER   200    /* the process that waits on a lock of its own */
#define SHIM_WAITER_X 0x7000 /* its futex word */

/*
 * pyenv's shim in miniature, in ms from T0, a window of 100 ms on 2 CPUs. The launched process
 * 10, python3, has threads 10-13, born at 0: 10 runs throughout; 12 runs, then waits for
 * SYNTH_X from 1 to 51 (10 wakes it) and sleeps from 80; 11 runs from 1 to 1.5 and sleeps to 90;
 * 13 runs from 1.5 to 2 and sleeps. SHIM_PROCS single-thread processes (100, 101, ...) are born
 * at 2, 3, ... and each runs 0.2 ms, then exits:
 * bash, every sixth one readlink. Process SHIM_WAITER, bash, born at 35, waits on SHIM_WAITER_X
 * from 35.1 for waiter_us (at most 15 ms: records come in time order), runs 0.2 ms more, exits.
 */
static inline struct ls_analysis *scenario_shim(__u64 waiter_us)
{
	struct ls_analysis *a = synth_start(2);
	__u64 w0 = T0 + 35 * MS + 100 * US, w1 = w0 + waiter_us * US;

	strcpy(a->cmdline, "python3 spin.py");
	task_named(a, 10, 10, T0, "python3");
	for (__u32 tid = 11; tid <= 13; tid++)
		task_named(a, tid, 10, T0, "python3");
	sw(a, T0, 0, 10, 0, false, 0, 0);
	sw(a, T0, 0, 12, 0, false, 0, 0);
	sw_full(a, T0 + 1 * MS, 12, 11, 1, SW_FUTEX, 1, 0);
	sw(a, T0 + 1500 * US, 11, 13, 1, false, 1, 0);
	sw(a, T0 + 2 * MS, 13, 0, 1, false, 1, 0);
	for (int i = 0; i < SHIM_PROCS; i++)
		short_process(a, 100 + i, i % 6 == 5 ? "readlink" : "bash", T0 + (2 + i) * MS,
			      200 * US);
	task_named(a, SHIM_WAITER, SHIM_WAITER, T0 + 35 * MS, "bash");
	sw(a, T0 + 35 * MS, 0, SHIM_WAITER, 0, false, 0, 0);
	sw_full(a, w0, SHIM_WAITER, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, w1, SHIM_WAITER, 0, 0);
	sw(a, w1, 0, SHIM_WAITER, 0, false, 0, 0);
	wait_val(a, SHIM_WAITER, SHIM_WAITER_X, 0, w0, w1, 0);
	exit_named(a, SHIM_WAITER, SHIM_WAITER, w1 + 200 * US, "bash");
	wakeup(a, T0 + 51 * MS, 12, 10, SYNTH_X);
	wake_rec(a, 10, SYNTH_X, T0 + 51 * MS, 1);
	sw(a, T0 + 51 * MS, 0, 12, 0, false, 0, 0);
	wait_rec(a, 12, SYNTH_X, T0 + 1 * MS, T0 + 51 * MS, 0);
	sw(a, T0 + 80 * MS, 12, 0, 1, false, 2, 0);
	wakeup(a, T0 + 90 * MS, 11, 0, 0);
	sw(a, T0 + 90 * MS, 0, 11, 0, false, 0, 0);
	synth_finish(a, T0 + 100 * MS);
	return a;
}

static inline void gil_call(struct ls_analysis *a, __u16 type, __u32 tid, __u64 enter, __u64 exit)
{
	struct ls_gil_call e = { .hdr = { type, sizeof(e), tid },
				 .ts_enter = enter,
				 .ts_exit = exit };

	feed(a, &e);
}

#define GIL	 0x10000
#define GIL_COND (GIL + 72)

/*
 * Two threads of process 90 take turns on a GIL seen through probes (us from T0):
 * 91 takes at 1 and drops at 100; 92 calls take_gil at 10, times out on the GIL's condition at
 * 60 (so 91's drop is forced), waits again, is signalled at 100, takes it at 106, drops at 200;
 * 91 calls take_gil at 150, waits, takes it at 201 and holds it to the end, 300.
 */
static inline struct ls_analysis *gil_turns(enum ls_gil_source source)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_gil_info info = { .hdr = { LS_REC_GIL_INFO, sizeof(info), 90 },
				    .gil_addr = GIL,
				    .switch_number = 7,
				    .interval_us = 5000,
				    .version = 0x030b07,
				    .source = source };

	feed(a, &info);
	task_new(a, 91, 90, T0);
	task_new(a, 92, 90, T0);
	sw(a, T0, 0, 91, 0, false, 0, 0);
	sw(a, T0, 0, 92, 0, false, 0, 0);
	gil_call(a, LS_REC_GIL_TAKE, 91, T0, T0 + 1 * US);
	sw_full(a, T0 + 10 * US, 92, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, T0 + 60 * US, 92, 0, 0);
	sw(a, T0 + 60 * US, 0, 92, 0, false, 0, 0);
	gil_wait(a, 92, GIL_COND, T0 + 10 * US, T0 + 60 * US, -ETIMEDOUT);
	sw_full(a, T0 + 61 * US, 92, 0, 1, SW_FUTEX, 2, 0);
	gil_call(a, LS_REC_GIL_DROP, 91, T0 + 100 * US, T0 + 100 * US);
	wakeup(a, T0 + 100 * US, 92, 91, GIL_COND);
	wake_rec(a, 91, GIL_COND, T0 + 100 * US, 1);
	sw(a, T0 + 104 * US, 0, 92, 0, false, 0, 0);
	gil_wait(a, 92, GIL_COND, T0 + 61 * US, T0 + 105 * US, 0);
	gil_call(a, LS_REC_GIL_TAKE, 92, T0 + 10 * US, T0 + 106 * US);
	sw_full(a, T0 + 150 * US, 91, 0, 1, SW_FUTEX, 1, 0);
	gil_call(a, LS_REC_GIL_DROP, 92, T0 + 200 * US, T0 + 200 * US);
	wakeup(a, T0 + 200 * US, 91, 92, GIL_COND);
	wake_rec(a, 92, GIL_COND, T0 + 200 * US, 1);
	sw(a, T0 + 200 * US, 0, 91, 0, false, 0, 0);
	gil_wait(a, 91, GIL_COND, T0 + 150 * US, T0 + 200 * US, 0);
	gil_call(a, LS_REC_GIL_TAKE, 91, T0 + 150 * US, T0 + 201 * US);
	info.flags = LS_GIL_INFO_END;
	info.switch_number = 9;
	feed(a, &info);
	synth_finish(a, T0 + 300 * US);
	return a;
}

/* A Python function of process tgid (LS_REC_PY_FUNC): id, qualified name, file, first line */
static inline void py_func(struct ls_analysis *a, __u32 tgid, __u32 id, const char *name,
			   const char *file, __s32 firstlineno)
{
	size_t nl = strlen(name), fl = strlen(file);
	struct ls_py_func *f = calloc(1, sizeof(*f) + nl + fl);

	f->hdr = (struct ls_rec_hdr){ LS_REC_PY_FUNC, sizeof(*f) + nl + fl, tgid };
	f->id = id;
	f->firstlineno = firstlineno;
	f->name_len = nl;
	f->file_len = fl;
	memcpy(f->strs, name, nl);
	memcpy(f->strs + nl, file, fl);
	feed(a, f);
	free(f);
}

/* Whether process tgid's Python stacks are read (err 0) or why not (LS_REC_PY_STATUS) */
static inline void py_status(struct ls_analysis *a, __u32 tgid, __s32 err, __u32 hexversion,
			     __u32 sample_hz, const char *why)
{
	size_t n = strlen(why) + 1;
	struct ls_py_status *st = calloc(1, sizeof(*st) + n);

	st->hdr = (struct ls_rec_hdr){ LS_REC_PY_STATUS, sizeof(*st) + n, tgid };
	st->err = err;
	st->hexversion = hexversion;
	st->sample_hz = sample_hz;
	memcpy(st->why, why, n);
	feed(a, st);
	free(st);
}

/*
 * A Python stack of thread tid of process tgid at ts (LS_REC_PY_STACK): kind, and for
 * LS_PY_SAMPLED whether it held the GIL, for LS_PY_GIL_HOLDER the waiter, for the waiter kinds
 * the futex word; then "func:line" pairs, innermost first, up to a func of ~0u.
 */
#define PY_END (~0u)
static inline void py_stack(struct ls_analysis *a, __u32 tid, __u32 tgid, __u64 ts,
			    enum ls_py_stack_kind kind, __u32 held_or_waiter, __u64 uaddr, ...)
{
	struct {
		struct ls_py_stack s;
		struct ls_py_frame_rec frames[LS_PY_FRAMES_MAX];
	} r = { .s = { .ts = ts, .uaddr = uaddr, .tgid = tgid, .kind = kind } };
	va_list ap;
	__u32 func;

	va_start(ap, uaddr);
	while ((func = va_arg(ap, __u32)) != PY_END && r.s.nr < LS_PY_FRAMES_MAX) {
		r.frames[r.s.nr].func = func;
		r.frames[r.s.nr++].line = va_arg(ap, __s32);
	}
	va_end(ap);
	if (kind == LS_PY_SAMPLED)
		r.s.gil_held = held_or_waiter;
	else if (kind == LS_PY_GIL_HOLDER)
		r.s.waiter_tid = held_or_waiter;
	r.s.hdr = (struct ls_rec_hdr){ LS_REC_PY_STACK,
				       sizeof(r.s) + r.s.nr * sizeof(r.frames[0]), tid };
	feed(a, &r);
}

#define PY_PID	   90
#define PY_HZ	   1000 /* a sample stands for 1 ms */
#define PY_RUN	   2	/* Worker.run */
#define PY_COMPUTE 3
#define PY_IO	   4
#define PY_OTHER   7 /* a function of another process */
#define PY_DEAD	   190 /* a process whose stacks cannot be read */

/*
 * Python stacks of process 90 (GIL at GIL, inferred), threads 91-93, 2 CPUs, in ms from T0, a
 * window of 100 ms, stacks sampled at 1000 Hz:
 * - 91 runs compute() (samples at 1-6 ms, the first 5 holding the GIL), waits on SYNTH_X from
 *   80 to 90 at compute line 25, runs to the end;
 * - 92 waits for the GIL from 10 to 30 in Worker.run (91 holds it, in compute), runs (samples
 *   at 50 and 51 in io_step, under an unresolved frame, holding it), waits again from 60 to 70
 *   in io_step (93 holds it, in Worker.run);
 * - 93 waits for the GIL from 12 to 40 in io_step (91 holds it, in compute); its two samples
 *   (at 7 and 8, holding the GIL) have no function of its process: unattributed.
 * Process 190 ran without Python stacks: its status says why.
 */
static inline struct ls_analysis *scenario_python(void)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_gil_info info = { .hdr = { LS_REC_GIL_INFO, sizeof(info), PY_PID },
				    .gil_addr = GIL,
				    .interval_us = 5000,
				    .version = 0x030c01,
				    .source = LS_GIL_SRC_FUTEX };

	strcpy(a->cmdline, "python3 app.py");
	feed(a, &info);
	py_status(a, PY_PID, 0, 0x030c01f0, PY_HZ, "");
	py_status(a, PY_DEAD, -EPERM, 0,
		  0, "cannot read its memory (ptrace denied): record as root or with CAP_SYS_PTRACE");
	py_func(a, PY_PID, 1, "<module>", "/srv/app.py", 1);
	py_func(a, PY_PID, PY_RUN, "Worker.run", "/srv/app.py", 10);
	py_func(a, PY_PID, PY_COMPUTE, "compute", "/srv/app.py", 20);
	py_func(a, PY_PID, PY_IO, "io_step", "/srv/lib/io.py", 30);
	py_func(a, 99, PY_OTHER, "elsewhere", "/other.py", 5);
	task_named(a, 91, PY_PID, T0, "python3");
	task_named(a, 92, PY_PID, T0, "python3");
	task_named(a, 93, PY_PID, T0, "python3");
	sw(a, T0, 0, 91, 0, false, 0, 0);
	sw(a, T0, 0, 92, 0, false, 0, 0);
	sw(a, T0, 0, 93, 0, false, 0, 0);
	for (int i = 1; i <= 6; i++)
		py_stack(a, 91, PY_PID, T0 + i * MS, LS_PY_SAMPLED, i <= 5, 0, PY_COMPUTE, 21,
			 PY_RUN, 12, 1, 3, PY_END);
	py_stack(a, 93, PY_PID, T0 + 7 * MS, LS_PY_SAMPLED, 1, 0, 0, 0, 0, 0, PY_END);
	py_stack(a, 93, PY_PID, T0 + 8 * MS, LS_PY_SAMPLED, 1, 0, PY_OTHER, 6, PY_END);
	/* 92 waits for the GIL held by 91 */
	sw_full(a, T0 + 10 * MS, 92, 0, 1, SW_FUTEX, 1, 0);
	py_stack(a, 92, PY_PID, T0 + 10 * MS, LS_PY_GIL_WAITER, 0, GIL_COND, PY_RUN, 15, 1, 3,
		 PY_END);
	py_stack(a, 91, PY_PID, T0 + 10 * MS, LS_PY_GIL_HOLDER, 92, 0, PY_COMPUTE, 22, PY_RUN, 12,
		 PY_END);
	/* 93 too */
	sw_full(a, T0 + 12 * MS, 93, 0, 1, SW_FUTEX, 1, 0);
	py_stack(a, 93, PY_PID, T0 + 12 * MS, LS_PY_GIL_WAITER, 0, GIL_COND, PY_IO, 31, PY_END);
	py_stack(a, 91, PY_PID, T0 + 12 * MS, LS_PY_GIL_HOLDER, 93, 0, PY_COMPUTE, 23, PY_END);
	wakeup(a, T0 + 30 * MS, 92, 91, GIL_COND);
	sw(a, T0 + 30 * MS, 0, 92, 0, false, 0, 0);
	gil_wait(a, 92, GIL_COND, T0 + 10 * MS, T0 + 30 * MS, 0);
	wakeup(a, T0 + 40 * MS, 93, 91, GIL_COND);
	sw(a, T0 + 40 * MS, 0, 93, 0, false, 0, 0);
	gil_wait(a, 93, GIL_COND, T0 + 12 * MS, T0 + 40 * MS, 0);
	py_stack(a, 92, PY_PID, T0 + 50 * MS, LS_PY_SAMPLED, 1, 0, 0, 0, PY_IO, 33, PY_END);
	py_stack(a, 92, PY_PID, T0 + 51 * MS, LS_PY_SAMPLED, 1, 0, 0, 0, PY_IO, 33, PY_END);
	/* 92 waits again, in io_step, for 93 (in Worker.run): charged as the window closes */
	sw_full(a, T0 + 60 * MS, 92, 0, 1, SW_FUTEX, 2, 0);
	py_stack(a, 92, PY_PID, T0 + 60 * MS, LS_PY_GIL_WAITER, 0, GIL_COND, PY_IO, 34, PY_END);
	py_stack(a, 93, PY_PID, T0 + 60 * MS, LS_PY_GIL_HOLDER, 92, 0, PY_RUN, 16, PY_END);
	wakeup(a, T0 + 70 * MS, 92, 93, GIL_COND);
	sw(a, T0 + 70 * MS, 0, 92, 0, false, 0, 0);
	gil_wait(a, 92, GIL_COND, T0 + 60 * MS, T0 + 70 * MS, 0);
	/* 91 waits on a lock at compute line 25 */
	sw_full(a, T0 + 80 * MS, 91, 0, 1, SW_FUTEX, 1, 0);
	py_stack(a, 91, PY_PID, T0 + 80 * MS, LS_PY_LOCK_WAITER, 0, SYNTH_X, PY_COMPUTE, 25,
		 PY_RUN, 12, PY_END);
	wakeup(a, T0 + 90 * MS, 91, 92, SYNTH_X);
	sw(a, T0 + 90 * MS, 0, 91, 0, false, 0, 0);
	wait_rec(a, 91, SYNTH_X, T0 + 80 * MS, T0 + 90 * MS, 0);
	synth_finish(a, T0 + 100 * MS);
	return a;
}

#endif
