// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Every reports/METRICS.md figure on small synthetic streams, their answers worked out by hand. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "synth.h"
#include "phases.h"
#include "summary.h"

#define X SYNTH_X

static struct ls_analysis *ping_pong(void)
{
	return scenario_ping_pong();
}

static void test_states_sum_to_lifetime(void **state)
{
	struct ls_analysis *a = ping_pong();
	struct ls_thread *t = thread(a, 12);
	__u64 sum = 0;

	assert_int_equal(t->state_ns[LS_ST_RUNNABLE], 20 * US);	 /* 0-10, 50-60 */
	assert_int_equal(t->state_ns[LS_ST_RUNNING], 70 * US);	 /* 10-20, 60-120 */
	assert_int_equal(t->state_ns[LS_ST_LOCK_WAIT], 30 * US); /* 20-50 */
	assert_int_equal(t->state_ns[LS_ST_OTHER_WAIT], 0);
	for (int s = 0; s < LS_ST_NR; s++)
		sum += t->state_ns[s];
	assert_int_equal(sum, ls_thread_lifetime(a, t));
	assert_int_equal(sum, 120 * US);
	assert_int_equal(t->vol_switches, 1);
	assert_int_equal(t->vol_by_state[LS_ST_LOCK_WAIT], 1);
	assert_int_equal(thread(a, 11)->state_ns[LS_ST_RUNNING], 110 * US);
	synth_free(a);
}

static void test_lock_wait_hold_handoff(void **state)
{
	struct ls_analysis *a = ping_pong();
	struct ls_lock *l = lock(a, 10, X);
	struct ls_handoff key = { .key = { 10, 11, X, 12 } }, *h;

	assert_true(ls_lock_is_mutex(l));
	assert_int_equal(l->waits, 1);
	assert_int_equal(l->blocked, 1);
	assert_int_equal(l->wait.total, 45 * US);
	assert_int_equal(l->wait.max, 45 * US);
	assert_int_equal(l->acquisitions, 1);
	assert_int_equal(l->hold.count, 1);
	assert_int_equal(l->hold.total, 35 * US); /* 65 -> 100 */
	assert_int_equal(l->handoffs, 1);
	assert_int_equal(l->handoff_latency.total, 10 * US); /* 50 -> 60 */
	assert_int_equal(l->wakes, 2);
	assert_int_equal(l->woken, 1);
	h = ls_htab_find(&a->handoffs, &key.key);
	assert_non_null(h);
	assert_int_equal(h->count, 1);
	assert_int_equal(a->handoffs.nr, 1);
	synth_free(a);
}

static void test_parallelism(void **state)
{
	struct ls_analysis *a = ping_pong();
	struct ls_summary s;

	ls_summarize(a, &s);
	/* busy: 0 for 0-10, 2 for 10-20, 1 for 20-60, 2 for 60-120 */
	assert_int_equal(a->profile_ns[0], 10 * US);
	assert_int_equal(a->profile_ns[1], 40 * US);
	assert_int_equal(a->profile_ns[2], 70 * US);
	assert_int_equal(s.cpu_ns, 180 * US);
	assert_true(s.parallelism == 1.5);
	assert_true(s.ceiling == 2.0);
	assert_true(s.utilization == 0.75);
	assert_int_equal(s.handoffs, 1);
	/* run-queue latency: 11 at 10, 12 at 10 and 10 */
	assert_int_equal(a->runq.count, 3);
	assert_int_equal(a->runq.total, 30 * US);
	synth_free(a);
}

/*
 * The ping-pong, but the kernel does not report 12's switch onto a CPU (this VM's kernel reports
 * none away from its agent's threads): 12's wait returning at 65 says it ran. The hand-off counts,
 * acquired at 65 at the latest; 12 runs from there.
 */
static void test_unreported_switch_in(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_lock *l;
	struct ls_thread *t;

	task_new(a, 11, 10, T0);
	task_new(a, 12, 10, T0);
	sw(a, T0 + 10 * US, 0, 11, 0, false, 0, 0);
	sw(a, T0 + 10 * US, 0, 12, 0, false, 0, 0);
	sw_full(a, T0 + 20 * US, 12, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, T0 + 50 * US, 12, 11, X);
	wake_rec(a, 11, X, T0 + 50 * US, 1);
	wait_rec(a, 12, X, T0 + 20 * US, T0 + 65 * US, 0); /* no switch-in before it */
	wake_rec(a, 12, X, T0 + 100 * US, 0);
	synth_finish(a, T0 + 120 * US);
	l = lock(a, 10, X);
	assert_int_equal(l->handoffs, 1);
	assert_int_equal(l->handoff_latency.total, 15 * US); /* 50 -> 65 */
	assert_int_equal(l->acquisitions, 1);
	t = thread(a, 12);
	assert_int_equal(t->state_ns[LS_ST_RUNNABLE], 25 * US); /* 0-10, 50-65 */
	assert_int_equal(t->state_ns[LS_ST_RUNNING], 65 * US);	/* 10-20, 65-120 */
	assert_int_equal(t->state_ns[LS_ST_LOCK_WAIT], 30 * US);
	synth_free(a);
}

/*
 * A thread preempted by an untraced task at 30 switches out at 80 with no switch back onto its
 * CPU reported: it ran from 30, when its CPU last went to an untraced task. Another, runnable
 * from 60 on a CPU that went idle at 40, ran from 60.
 */
static void test_unreported_switch_in_cpu(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_switch e = { .hdr = { LS_REC_SWITCH, sizeof(e), 0 } };

	task_new(a, 21, 20, T0);
	task_new(a, 22, 20, T0);
	sw(a, T0 + 10 * US, 0, 21, 0, false, 0, 0);
	sw(a, T0 + 30 * US, 21, 0, 0, true, 0, 1);  /* CPU 0: preempted, unreported back */
	sw(a, T0 + 80 * US, 21, 0, 1, false, 1, 1); /* CPU 0: blocks */
	e.ts = T0 + 40 * US;			    /* CPU 1: 22 runs from 40... */
	e.next_tid = 22;
	e.flags = LS_SW_NEXT_TRACED;
	e.cpu = 1;
	feed(a, &e);
	e.hdr.tid = 22; /* ...blocks at 50, CPU 1 goes idle */
	e.ts = T0 + 50 * US;
	e.next_tid = 0;
	e.prev_state = 1;
	e.flags = LS_SW_PREV_TRACED;
	feed(a, &e);
	wakeup(a, T0 + 60 * US, 22, 21, 0); /* woken, its switch onto CPU 1 unreported */
	e.ts = T0 + 90 * US;
	e.prev_nvcsw = 1;
	feed(a, &e);
	synth_finish(a, T0 + 100 * US);
	assert_int_equal(thread(a, 21)->state_ns[LS_ST_RUNNING], 70 * US); /* 10-80 */
	assert_int_equal(thread(a, 21)->state_ns[LS_ST_RUNNABLE], 10 * US);
	assert_int_equal(thread(a, 22)->state_ns[LS_ST_RUNNING], 40 * US); /* 40-50, 60-90 */
	synth_free(a);
}

static void count_switches(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
			   __u64 ts, bool voluntary)
{
	__u64 *n = ctx;

	n[voluntary]++;
}

/* The observer sees each switch the counts hold, as they count it. */
static void test_observer_switches(void **state)
{
	__u64 n[2] = { 0, 0 }, vol = 0, invol = 0;
	const struct ls_observer obs = { .ctx = n, .on_switch = count_switches };
	const struct ls_thread *t;
	struct ls_analysis *a;
	size_t pos = 0;

	synth_observer = &obs;
	a = ping_pong();
	synth_observer = NULL;
	while ((t = ls_htab_next(&a->threads, &pos))) {
		vol += t->vol_switches;
		invol += t->invol_switches;
	}
	assert_int_equal(n[1], vol);
	assert_int_equal(n[0], invol);
	assert_int_equal(vol, 1);
	synth_free(a);
}

/* A preempted thread is runnable until it runs again; the switch is involuntary. */
static void test_preempted(void **state)
{
	struct ls_analysis *a = synth_start(1);
	struct ls_thread *t;

	task_new(a, 21, 20, T0);
	task_new(a, 22, 20, T0);
	sw(a, T0, 0, 21, 0, false, 0, 0);
	sw(a, T0 + 30 * US, 21, 22, 0, true, 0, 1); /* 21 preempted by 22 */
	sw(a, T0 + 50 * US, 22, 21, 0, true, 0, 1); /* and back */
	synth_finish(a, T0 + 100 * US);
	t = thread(a, 21);
	assert_int_equal(t->invol_switches, 1);
	assert_int_equal(t->vol_switches, 0);
	assert_int_equal(t->state_ns[LS_ST_RUNNING], 80 * US);
	assert_int_equal(t->state_ns[LS_ST_RUNNABLE], 20 * US);
	assert_int_equal(t->runq_count, 2); /* at 0 (born then), at 50 */
	assert_int_equal(t->runq_ns, 20 * US);
	assert_int_equal(thread(a, 22)->state_ns[LS_ST_RUNNABLE], (30 + 50) * US);
	synth_free(a);
}

/* A wait that times out: blocked and timed, no acquisition, no hand-off; other waits differ. */
static void test_timeout_and_other_wait(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_thread *t;
	struct ls_lock *l;

	task_new(a, 31, 30, T0);
	sw(a, T0, 0, 31, 0, false, 0, 0);
	sw_full(a, T0 + 10 * US, 31, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, T0 + 5010 * US, 31, 0, 0); /* the timer */
	sw(a, T0 + 5010 * US, 0, 31, 0, false, 0, 0);
	wait_val(a, 31, X, 0, T0 + 10 * US, T0 + 5011 * US, -ETIMEDOUT);
	sw(a, T0 + 5020 * US, 31, 0, 1, false, 2, 0); /* a plain sleep: other-wait */
	wakeup(a, T0 + 6020 * US, 31, 0, 0);
	sw(a, T0 + 6020 * US, 0, 31, 0, false, 0, 0);
	synth_finish(a, T0 + 7000 * US);
	l = lock(a, 30, X);
	assert_int_equal(l->outcomes[LS_OUT_TIMEDOUT], 1);
	assert_int_equal(l->blocked, 1);
	assert_int_equal(l->wait.total, 5001 * US);
	assert_int_equal(l->acquisitions, 0);
	assert_int_equal(l->handoffs, 0);
	assert_false(ls_lock_is_mutex(l)); /* expected 0, not 2 */
	t = thread(a, 31);
	assert_int_equal(t->state_ns[LS_ST_LOCK_WAIT], 5000 * US);
	assert_int_equal(t->state_ns[LS_ST_OTHER_WAIT], 1000 * US);
	assert_int_equal(t->vol_by_state[LS_ST_LOCK_WAIT], 1);
	assert_int_equal(t->vol_by_state[LS_ST_OTHER_WAIT], 1);
	synth_free(a);
}

/* Threads born and ending inside the window: lifetimes and the ceiling follow them. */
static void test_lifetimes_and_ceiling(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_summary s;

	task_new(a, 41, 40, T0);
	sw(a, T0, 0, 41, 0, false, 0, 0);
	task_new(a, 42, 40, T0 + 40 * US);
	task_new(a, 43, 40, T0 + 40 * US);
	sw(a, T0 + 40 * US, 0, 42, 0, false, 0, 0);
	task_exit(a, 42, 40, T0 + 60 * US);
	sw(a, T0 + 60 * US, 42, 43, LS_TASK_DEAD, false, 1, 0);
	task_exit(a, 43, 40, T0 + 70 * US);
	sw(a, T0 + 70 * US, 43, 0, LS_TASK_DEAD, false, 1, 0);
	synth_finish(a, T0 + 100 * US);
	ls_summarize(a, &s);
	assert_int_equal(ls_thread_lifetime(a, thread(a, 42)), 20 * US);
	assert_int_equal(ls_thread_lifetime(a, thread(a, 43)), 30 * US);
	assert_int_equal(thread(a, 43)->state_ns[LS_ST_RUNNABLE], 20 * US);
	assert_int_equal(thread(a, 43)->state_ns[LS_ST_RUNNING], 10 * US);
	/* alive: 1 for 0-40, 3 for 40-60, 2 for 60-70, 1 for 70-100: min(alive, 2) */
	assert_int_equal(a->ceiling_ns, (40 + 2 * 20 + 2 * 10 + 30) * US);
	assert_int_equal(s.peak_alive, 3);
	/* busy: 1, 2 (41, 42) for 40-60, 2 (41, 43) for 60-70, then 1 */
	assert_int_equal(a->profile_ns[1], 70 * US);
	assert_int_equal(a->profile_ns[2], 30 * US);
	assert_int_equal(thread(a, 42)->vol_switches, 0); /* the exit's switch is not counted */
	synth_free(a);
}

/* A lock never contended makes no futex traffic; a wake nobody waited for holds nothing. */
static void test_uncontended(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_lock *l;

	task_new(a, 51, 50, T0);
	sw(a, T0, 0, 51, 0, false, 0, 0);
	wake_rec(a, 51, X, T0 + 5 * US, 0);
	synth_finish(a, T0 + 10 * US);
	l = lock(a, 50, X);
	assert_int_equal(l->waits, 0);
	assert_int_equal(l->hold.count, 0);
	assert_false(ls_lock_is_mutex(l));
	assert_int_equal(l->wakes, 1);
	synth_free(a);
}

static enum ls_verdict verdict_of(struct ls_analysis *a)
{
	struct ls_summary s;

	ls_summarize(a, &s);
	return s.verdict;
}

static void test_verdict_serialized(void **state)
{
	struct ls_analysis *a = scenario_turns();
	struct ls_summary s;

	ls_summarize(a, &s);
	assert_int_equal(s.turn_takers, 2);
	assert_int_equal(s.verdict, LS_VERDICT_SERIALIZED);
	synth_free(a);
}

static void test_verdict_parallel_and_waiting(void **state)
{
	struct ls_analysis *a = synth_start(2);

	task_new(a, 71, 70, T0);
	task_new(a, 72, 70, T0);
	sw(a, T0, 0, 71, 0, false, 0, 0);
	sw(a, T0, 0, 72, 0, false, 0, 0);
	synth_finish(a, T0 + 1000 * US);
	assert_int_equal(verdict_of(a), LS_VERDICT_PARALLEL);
	synth_free(a);

	a = synth_start(2);
	task_new(a, 81, 80, T0);
	task_new(a, 82, 80, T0);
	sw(a, T0, 0, 81, 0, false, 0, 0);
	sw(a, T0 + 10 * US, 81, 82, 1, false, 1, 0); /* sleeps */
	sw(a, T0 + 20 * US, 82, 0, 1, false, 1, 0);
	synth_finish(a, T0 + 1000 * US);
	assert_int_equal(verdict_of(a), LS_VERDICT_WAITING);
	synth_free(a);
}

/*
 * A straggler (process 90, 2 CPUs): 91 works all along; every 100 us it wakes 92 and 93 from
 * their condition variable (C), each of which works 2 us of its 3 us on a CPU and waits again.
 * They are given turns, but do no work on them: imbalanced, not serialized.
 */
#define COND 0x6000

static void test_verdict_imbalanced(void **state)
{
	struct ls_analysis *a = synth_start(2);
	__u64 enter92 = T0 + 1 * US, enter93 = T0 + 2 * US;
	struct ls_summary s;

	task_new(a, 91, 90, T0);
	task_new(a, 92, 90, T0);
	task_new(a, 93, 90, T0);
	sw(a, T0, 0, 91, 0, false, 0, 0);
	sw(a, T0, 0, 92, 0, false, 0, 0);
	sw_full(a, enter92, 92, 93, 1, SW_FUTEX, 1, 0);
	sw_full(a, enter93, 93, 0, 1, SW_FUTEX, 1, 0);
	for (int i = 0; i < 10; i++) {
		__u64 t = T0 + (i + 1) * 100 * US;

		wakeup(a, t, 92, 91, COND);
		wakeup(a, t, 93, 91, COND);
		wake_rec(a, 91, COND, t, 2);
		sw(a, t + 1 * US, 0, 92, 0, false, 0, 0);
		wait_val(a, 92, COND, 0, enter92, t + 2 * US, 0);
		enter92 = t + 4 * US;
		sw_full(a, enter92, 92, 93, 1, SW_FUTEX, i + 2, 0);
		wait_val(a, 93, COND, 0, enter93, t + 5 * US, 0);
		enter93 = t + 7 * US;
		sw_full(a, enter93, 93, 0, 1, SW_FUTEX, i + 2, 0);
	}
	synth_finish(a, T0 + 1100 * US);
	ls_summarize(a, &s);
	/* a turn's work runs from the woken wait's return to the next wait: 3 us on a CPU each */
	assert_int_equal(thread(a, 92)->turns, 10);
	assert_int_equal(thread(a, 92)->turn_cpu_ns, 10 * 3 * US);
	assert_int_equal(thread(a, 91)->turns, 0);
	assert_int_equal(s.working, 1);
	assert_int_equal(s.turn_takers, 0);
	assert_int_equal(s.sync_waiters, 2);
	assert_int_equal(s.verdict, LS_VERDICT_IMBALANCED);
	synth_free(a);
}

/*
 * Phases (process 60, 2 CPUs, 20 us cells): both threads compute for 1 ms, sleep for 1 ms but for
 * a 20 us blip of 61's, compute for 1 ms. The blip is a flicker: three phases, split exactly.
 */
static void test_phases(void **state)
{
	static const enum ls_verdict want[] = { LS_VERDICT_PARALLEL, LS_VERDICT_WAITING,
						LS_VERDICT_PARALLEL };
	struct ls_analysis *a = synth_start(2);
	struct ls_phases p;

	task_new(a, 61, 60, T0);
	task_new(a, 62, 60, T0);
	sw(a, T0, 0, 61, 0, false, 0, 0);
	sw(a, T0, 0, 62, 0, false, 0, 0);
	sw(a, T0 + 1000 * US, 61, 0, 1, false, 1, 0);
	sw(a, T0 + 1000 * US, 62, 0, 1, false, 1, 0);
	wakeup(a, T0 + 1500 * US, 61, 0, 0);
	sw(a, T0 + 1500 * US, 0, 61, 0, false, 0, 0);
	sw(a, T0 + 1520 * US, 61, 0, 1, false, 2, 0);
	wakeup(a, T0 + 2000 * US, 61, 0, 0);
	wakeup(a, T0 + 2000 * US, 62, 0, 0);
	sw(a, T0 + 2000 * US, 0, 61, 0, false, 0, 0);
	sw(a, T0 + 2000 * US, 0, 62, 0, false, 0, 0);
	synth_finish(a, T0 + 3000 * US);
	assert_int_equal(a->cell_ns, 20 * US);
	assert_int_equal(ls_phases_find(a, &p), 0);
	assert_int_equal(p.nr, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.v[i].start_ns, T0 + i * 1000 * US);
		assert_int_equal(p.v[i].end_ns, T0 + (i + 1) * 1000 * US);
		assert_int_equal(p.v[i].s.verdict, want[i]);
	}
	assert_true(p.v[0].s.parallelism == 2.0 && p.v[2].s.parallelism == 2.0);
	assert_int_equal(p.v[1].s.cpu_ns, 20 * US);
	synth_free(a);
}

/*
 * Two threads on 2 CPUs over 1 ms, 72 preempted at 400 us (runnable to the end, or asleep from
 * 450 us), and untraced tasks taking other_us of CPU time: the summary of that.
 */
static void other_load_summary(__u64 other_us, bool sleeps, struct ls_summary *s)
{
	struct ls_analysis *a = synth_start(2);

	other_cpu(a, T0, 0);
	task_new(a, 71, 70, T0);
	task_new(a, 72, 70, T0);
	sw(a, T0, 0, 71, 0, false, 0, 0);
	sw(a, T0, 0, 72, 0, false, 0, 0);
	sw(a, T0 + 400 * US, 72, 0, 0, true, 0, 1);
	if (sleeps) {
		sw(a, T0 + 410 * US, 0, 72, 0, false, 0, 0);
		sw(a, T0 + 450 * US, 72, 0, 1, false, 1, 1);
	}
	other_cpu(a, T0 + 1000 * US, other_us * US);
	synth_finish(a, T0 + 1000 * US);
	ls_summarize(a, s);
	synth_free(a);
}

/*
 * reports/METRICS.md "Verdict": the other load held the workload back when it kept at least 0.2
 * CPUs busy and the threads were runnable at least a quarter of their off-CPU time.
 */
static void test_verdict_other_load(void **state)
{
	struct ls_summary s;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	other_load_summary(600, false, &s);
	assert_true(s.other_measured);
	assert_true(s.other_cpus == 0.6);
	assert_true(s.runnable_offcpu == 1); /* 72's 600 us off CPU */
	assert_int_equal(s.verdict, LS_VERDICT_MIXED);
	assert_true(s.other_held_back);
	out = open_memstream(&text, &len);
	ls_verdict_explain(out, &s, "  ");
	fclose(out);
	assert_non_null(strstr(text, "  The machine's other load held it back: untraced tasks "
				     "kept 0.60 CPUs busy, and\n  the threads were runnable "
				     "(waiting for a CPU) 100% of their off-CPU time.\n"));
	free(text);

	other_load_summary(200, false, &s);
	assert_true(s.other_held_back);
	other_load_summary(199, false, &s);
	assert_false(s.other_held_back);
	/* 10 us runnable of 560 off CPU: the threads waited for something else */
	other_load_summary(600, true, &s);
	assert_true(s.runnable_offcpu == 10.0 / 560);
	assert_false(s.other_held_back);
}

static void test_gil_probes(void **state)
{
	struct ls_analysis *a = gil_turns(LS_GIL_SRC_PROBES);
	__u32 tgid = 90;
	struct ls_gil *g = ls_htab_find(&a->gils, &tgid);
	struct ls_thread *t92 = thread(a, 92);

	assert_non_null(g);
	assert_int_equal(g->acquisitions, 3);
	assert_int_equal(g->handoffs, 2);
	assert_int_equal(g->switch_number_end - g->switch_number_start, 2);
	assert_int_equal(g->forced, 1);
	/* a take holds the GIL from its last wait's return: 92 at 105, 91 at 200 */
	assert_int_equal(g->held_ns, (99 + 95 + 100) * US);
	assert_int_equal(g->handoff_latency.total, (5 + 0) * US);
	assert_int_equal(g->wait.total, (1 + 95 + 50) * US);
	assert_int_equal(t92->gil->hold_ns, 95 * US);
	/* 92's waits on the GIL's condition are gil-wait, not lock-wait */
	assert_int_equal(t92->state_ns[LS_ST_GIL_WAIT], (50 + 39) * US);
	assert_int_equal(t92->state_ns[LS_ST_LOCK_WAIT], 0);
	assert_int_equal(t92->vol_by_state[LS_ST_GIL_WAIT], 2);
	assert_int_equal(thread(a, 91)->state_ns[LS_ST_GIL_WAIT], 50 * US);
	synth_free(a);
}

/* The same traffic without probes: acquisitions and holds inferred from the futex words. */
static void test_gil_inferred(void **state)
{
	struct ls_analysis *a = gil_turns(LS_GIL_SRC_FUTEX);
	__u32 tgid = 90;
	struct ls_gil *g = ls_htab_find(&a->gils, &tgid);

	/* the probe records are ignored for an inferred GIL: only the futex traffic counts */
	assert_int_equal(g->acquisitions, 2); /* 92's run (10-105), 91's run (150-200) */
	/* 91 held it first (its signal at 100 says so), then 92 (its signal at 200), then 91,
	 * running as the window closes: two hand-offs, as switch_number counted */
	assert_int_equal(g->handoffs, 2);
	assert_int_equal(g->forced, 1);	    /* one waiter timed out */
	assert_int_equal(g->hold.count, 1); /* 92: from 105 to its signal at 200 */
	assert_int_equal(g->hold.total, 95 * US);
	assert_int_equal(g->wait.total, (95 + 50) * US);
	assert_int_equal(thread(a, 92)->state_ns[LS_ST_GIL_WAIT], (50 + 39) * US);
	synth_free(a);
}

/* What an observer sees of the ping-pong: every slice, the wait record, the hand-off, busy(t). */
struct seen {
	char log[2048];
	size_t len;
};

static void note(struct seen *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	s->len += vsnprintf(s->log + s->len, sizeof(s->log) - s->len, fmt, ap);
	va_end(ap);
}

static void seen_state(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
		       enum ls_state st, __u64 since, __u64 until)
{
	note(ctx, "%u %s %llu-%llu\n", t->tid, ls_state_name(st), (since - T0) / US,
	     (until - T0) / US);
}

static void seen_wait(void *ctx, const struct ls_analysis *a, const struct ls_thread *t,
		      __u64 uaddr, bool gil)
{
	note(ctx, "%u wait 0x%llx%s\n", t->tid, uaddr, gil ? " gil" : "");
}

static void seen_handoff(void *ctx, const struct ls_analysis *a, const struct ls_lock *l,
			 __u32 from, __u32 to, __u64 release, __u64 acquire)
{
	note(ctx, "handoff 0x%llx %u->%u %llu-%llu\n", l->key.uaddr, from, to, (release - T0) / US,
	     (acquire - T0) / US);
}

static void seen_busy(void *ctx, const struct ls_analysis *a, __u64 ts, __u32 busy)
{
	note(ctx, "busy %u at %llu\n", busy, (ts - T0) / US);
}

static void test_observer(void **state)
{
	struct seen s = { .len = 0 };
	const struct ls_observer obs = { .ctx = &s,
					 .on_state = seen_state,
					 .on_wait = seen_wait,
					 .on_handoff = seen_handoff,
					 .on_busy = seen_busy };
	struct ls_analysis *a;

	synth_observer = &obs;
	a = ping_pong();
	synth_observer = NULL;
	assert_string_equal(s.log, "11 runnable 0-10\n"
				   "busy 1 at 10\n"
				   "12 runnable 0-10\n"
				   "busy 2 at 10\n"
				   "12 running 10-20\n"
				   "busy 1 at 20\n"
				   "12 lock-wait 20-50\n"
				   "12 runnable 50-60\n"
				   "busy 2 at 60\n"
				   "12 wait 0x5000\n"
				   "handoff 0x5000 11->12 50-60\n"
				   "11 running 10-120\n"
				   "12 running 60-120\n");
	synth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_sum_to_lifetime),
		cmocka_unit_test(test_lock_wait_hold_handoff),
		cmocka_unit_test(test_unreported_switch_in),
		cmocka_unit_test(test_unreported_switch_in_cpu),
		cmocka_unit_test(test_observer_switches),
		cmocka_unit_test(test_parallelism),
		cmocka_unit_test(test_preempted),
		cmocka_unit_test(test_timeout_and_other_wait),
		cmocka_unit_test(test_lifetimes_and_ceiling),
		cmocka_unit_test(test_uncontended),
		cmocka_unit_test(test_verdict_serialized),
		cmocka_unit_test(test_verdict_parallel_and_waiting),
		cmocka_unit_test(test_verdict_imbalanced),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_verdict_other_load),
		cmocka_unit_test(test_gil_probes),
		cmocka_unit_test(test_gil_inferred),
		cmocka_unit_test(test_observer),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
