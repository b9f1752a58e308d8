// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The analysis on synthetic event streams, with exact expected figures. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analyze.h"
#include "render.h"
#include "render_json.h"

#include "synth.h"

static struct ls_analysis *start(void)
{
	return synth_start(2);
}

static void finish(struct ls_analysis *a, __u64 end)
{
	synth_finish(a, end);
}

/* Two threads hand the CPU to each other; on-CPU time is what lay between switches. */
/* a's report model, rendered as text or JSON */
static void render_to(FILE *out, const struct ls_analysis *a, bool json)
{
	struct ls_render_opts o = { .top = 10, .lanes = 16 };
	struct ls_report r;

	assert_int_equal(ls_report_build(&r, a, "x.data", true), 0);
	if (json)
		ls_render_json(out, &r);
	else
		ls_render_text(out, &r, &o);
	ls_report_free(&r);
}

static void test_ping_pong_oncpu(void **state)
{
	struct ls_analysis *a = start();

	task_new(a, 11, 10, T0 + 10 * US);
	task_new(a, 12, 10, T0 + 20 * US);
	sw(a, T0 + 100 * US, 0, 11, 0, false, 0, 0);  /* 11 runs */
	sw(a, T0 + 300 * US, 11, 12, 1, false, 1, 0); /* 11 sleeps (vol), 12 runs */
	sw(a, T0 + 350 * US, 12, 11, 0, true, 0, 1);  /* 12 preempted (invol) */
	sw(a, T0 + 450 * US, 11, 0, 1, false, 2, 0);  /* 11 sleeps */
	finish(a, T0 + 1000 * US);

	assert_int_equal(thread(a, 11)->state_ns[LS_ST_RUNNING], 300 * US);
	assert_int_equal(thread(a, 12)->state_ns[LS_ST_RUNNING], 50 * US);
	assert_int_equal(thread(a, 11)->vol_switches, 2);
	assert_int_equal(thread(a, 11)->invol_switches, 0);
	assert_int_equal(thread(a, 12)->vol_switches, 0);
	assert_int_equal(thread(a, 12)->invol_switches, 1);
	assert_int_equal(ls_thread_lifetime(a, thread(a, 11)), 990 * US);
	ls_analysis_free(a);
	free(a);
}

/*
 * The kernel's counters decide voluntary vs involuntary: a sleep interrupted by a pending signal
 * reports state 0 but counts as voluntary; sched_yield reports state 0 and counts involuntary.
 */
static void test_switch_counters_decide(void **state)
{
	struct ls_analysis *a = start();

	task_new(a, 21, 20, T0);
	sw(a, T0 + 1 * US, 0, 21, 0, false, 0, 0);
	sw(a, T0 + 2 * US, 21, 0, 0, false, 1, 0); /* state 0, yet nvcsw moved */
	sw(a, T0 + 3 * US, 0, 21, 0, false, 0, 0);
	sw(a, T0 + 4 * US, 21, 0, 0, false, 1, 1); /* yield: nivcsw moved */
	sw(a, T0 + 5 * US, 0, 21, 0, false, 0, 0);
	sw(a, T0 + 6 * US, 21, 0, LS_TASK_DEAD, false, 2, 1); /* the exit's switch: not counted */
	finish(a, T0 + 10 * US);

	assert_int_equal(thread(a, 21)->vol_switches, 1);
	assert_int_equal(thread(a, 21)->invol_switches, 1);
	assert_int_equal(thread(a, 21)->state_ns[LS_ST_RUNNING], 3 * US);
	assert_int_equal(thread(a, 21)->end, T0 + 6 * US);
	ls_analysis_free(a);
	free(a);
}

/* A thread alive before the window: its first switch out means it ran since the start. */
static void test_thread_found_running(void **state)
{
	struct ls_analysis *a = start();
	struct ls_task t = { { LS_REC_TASK, sizeof(t), 31 },	  T0,	 0, 30, 1, 0,
			     LS_TASK_AT_START | LS_TASK_RUNNABLE, "spin" };
	struct ls_task u = {
		{ LS_REC_TASK, sizeof(u), 32 }, T0, 0, 30, 1, 0, LS_TASK_AT_START, "idle"
	};

	feed(a, &t);
	feed(a, &u);
	sw(a, T0 + 40 * US, 31, 0, 0, true, 500, 700); /* counters unknown: the flags decide */
	sw(a, T0 + 50 * US, 0, 32, 0, false, 0, 0);
	finish(a, T0 + 80 * US);

	assert_int_equal(thread(a, 31)->state_ns[LS_ST_RUNNING], 40 * US);
	assert_int_equal(thread(a, 31)->invol_switches, 1);
	assert_int_equal(thread(a, 32)->state_ns[LS_ST_RUNNING],
			 30 * US); /* runs to the window's end */
	ls_analysis_free(a);
	free(a);
}

/* Waits by outcome: no-block waits are counted, not timed; blocked ones are timed. */
static void test_wait_outcomes(void **state)
{
	struct ls_analysis *a = start();
	struct ls_lock *l;

	task_new(a, 41, 40, T0);
	wait_rec(a, 41, 0x1000, T0 + 10 * US, T0 + 30 * US, 0);
	wait_rec(a, 41, 0x1000, T0 + 40 * US, T0 + 41 * US, -EAGAIN);
	wait_rec(a, 41, 0x1000, T0 + 50 * US, T0 + 5050 * US, -ETIMEDOUT);
	wait_rec(a, 41, 0x1000, T0 + 6000 * US, T0 + 6100 * US, -EINTR);
	wait_rec(a, 41, 0x2000, T0 + 10 * US, T0 + 20 * US, -EFAULT);
	finish(a, T0 + 10000 * US);

	l = lock(a, 40, 0x1000);
	assert_int_equal(l->waits, 4);
	assert_int_equal(l->blocked, 3);
	assert_int_equal(l->outcomes[LS_OUT_WOKEN], 1);
	assert_int_equal(l->outcomes[LS_OUT_NOBLOCK], 1);
	assert_int_equal(l->outcomes[LS_OUT_TIMEDOUT], 1);
	assert_int_equal(l->outcomes[LS_OUT_INTR], 1);
	assert_int_equal(l->wait.total, (20 + 5000 + 100) * US);
	l = lock(a, 40, 0x2000);
	assert_int_equal(l->blocked, 0);
	assert_int_equal(l->outcomes[LS_OUT_ERROR], 1);
	assert_int_equal(l->wait.total, 0);
	ls_analysis_free(a);
	free(a);
}

/* The same address in two processes is two locks. */
static void test_locks_per_process(void **state)
{
	struct ls_analysis *a = start();

	task_new(a, 51, 50, T0);
	task_new(a, 61, 60, T0);
	wait_rec(a, 51, 0x1000, T0 + 1 * US, T0 + 2 * US, 0);
	wait_rec(a, 61, 0x1000, T0 + 1 * US, T0 + 4 * US, 0);
	finish(a, T0 + 10 * US);

	assert_int_equal(a->locks.nr, 2);
	assert_int_equal(lock(a, 50, 0x1000)->wait.total, 1 * US);
	assert_int_equal(lock(a, 60, 0x1000)->wait.total, 3 * US);
	ls_analysis_free(a);
	free(a);
}

/* Snapshots of a map that could not be read: counted, the first one kept, said in text and JSON. */
static void test_maps_failed(void **state)
{
	struct ls_maps_failed f = { .hdr = { LS_REC_MAPS_FAILED, sizeof(f), 50 },
				    .ts = T0 + 1 * US,
				    .err = EACCES };
	struct ls_analysis *a = start();
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	task_new(a, 51, 50, T0);
	feed(a, &f);
	f.hdr.tid = 60;
	f.err = EMFILE;
	feed(a, &f);
	finish(a, T0 + 10 * US);
	assert_int_equal(a->nr_maps_failed, 2);
	assert_int_equal(a->maps_failed_tgid, 50);
	assert_int_equal(a->maps_failed_err, EACCES);
	out = open_memstream(&text, &len);
	render_to(out, a, false);
	fclose(out);
	assert_non_null(strstr(text, "WARNING: 2 memory map snapshot(s) could NOT be read (the "
				     "first: PID 50, Permission denied)"));
	free(text);
	out = open_memstream(&text, &len);
	render_to(out, a, true);
	fclose(out);
	assert_non_null(strstr(text, "\"map_snapshots_failed\": 2,"));
	assert_non_null(strstr(text, "\"map_snapshot_error\": \"Permission denied\""));
	free(text);
	ls_analysis_free(a);
	free(a);
}

static void assert_other_cells(const struct ls_analysis *a, const __u64 *want, int n)
{
	__u64 sum = 0;

	for (int i = 0; i < n; i++)
		assert_int_equal(a->other_cells[i], want[i]);
	for (int i = 0; i < LS_TL_CELLS; i++)
		sum += a->other_cells[i];
	assert_int_equal(sum, a->other_last_ns - a->other_first_ns);
}

/*
 * The other load from its samples: the first at or after the window's start to the last, and
 * between each two their difference spread evenly over the 10 us cells, rounded so that the
 * cells hold it all.
 */
static void test_other_load_apportioned(void **state)
{
	struct ls_analysis *a = start();
	const __u64 cells[] = { 166, 334, 333, 167 + 10000, 0 };

	other_cpu(a, T0 - 5 * US, 0); /* before the window: left out */
	other_cpu(a, T0 + 5 * US, 1000);
	other_cpu(a, T0 + 35 * US, 2000);  /* 1000 ns over [5, 35): 1/6, 1/3, 1/3, 1/6 */
	other_cpu(a, T0 + 40 * US, 12000); /* 2 CPUs over [35, 40) */
	finish(a, T0 + 50 * US);

	assert_true(a->other_measured);
	assert_int_equal(a->other_samples, 3);
	assert_int_equal(a->other_first_ts, T0 + 5 * US);
	assert_int_equal(a->other_last_ts, T0 + 40 * US);
	assert_int_equal(a->other_last_ns - a->other_first_ns, 11000);
	assert_other_cells(a, cells, 5);
	/* over the 35 us the samples span */
	assert_true(ls_other_cpus(a) == 11000.0 / (35 * US));
	ls_analysis_free(a);
	free(a);
}

/* Cells merged as the timeline's resolution halves keep the other load, and its shape. */
static void test_other_load_timeline_halves(void **state)
{
	struct ls_analysis *a = start();

	other_cpu(a, T0, 7);
	other_cpu(a, T0 + 1000 * US, 7 + 500 * US);  /* 0.5 CPUs in 10 us cells */
	other_cpu(a, T0 + 3000 * US, 7 + 2500 * US); /* 1 CPU: 20 us cells from here */
	finish(a, T0 + 3000 * US);

	assert_int_equal(a->cell_ns, 20 * US);
	assert_int_equal(a->other_cells[0], 10 * US);
	assert_int_equal(a->other_cells[49], 10 * US);
	assert_int_equal(a->other_cells[50], 20 * US);
	assert_int_equal(a->other_cells[149], 20 * US);
	assert_int_equal(a->other_cells[150], 0);
	assert_other_cells(a, NULL, 0);
	assert_true(ls_other_cpus(a) == 2500.0 / 3000);
	ls_analysis_free(a);
	free(a);
}

/*
 * Not measured: without samples (a trace from before them), with one, or with one after the
 * window's end (lockscope writes none). A sum that goes back counts as staying.
 */
static void test_other_load_unmeasured(void **state)
{
	struct ls_analysis *a = start();

	finish(a, T0 + 10 * US);
	assert_false(a->other_measured);
	assert_true(ls_other_cpus(a) == 0);
	ls_analysis_free(a);
	free(a);

	a = start();
	other_cpu(a, T0 + 1 * US, 100);
	finish(a, T0 + 10 * US);
	assert_false(a->other_measured);
	ls_analysis_free(a);
	free(a);

	a = start();
	other_cpu(a, T0, 100);
	other_cpu(a, T0 + 11 * US, 200);
	finish(a, T0 + 10 * US);
	assert_false(a->other_measured);
	ls_analysis_free(a);
	free(a);

	a = start();
	other_cpu(a, T0, 5000);
	other_cpu(a, T0 + 5 * US, 4000); /* back: taken as 5000 */
	other_cpu(a, T0 + 10 * US, 9000);
	finish(a, T0 + 10 * US);
	assert_true(a->other_measured);
	assert_int_equal(a->other_cells[0], 4000);
	assert_true(ls_other_cpus(a) == 0.4);
	ls_analysis_free(a);
	free(a);
}

/* The text report's header says it when measured, and nothing when not; JSON has null then. */
static void test_other_load_rendered(void **state)
{
	struct ls_analysis *a;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	for (int measured = 0; measured < 2; measured++) {
		a = start();
		task_new(a, 51, 50, T0);
		if (measured) {
			other_cpu(a, T0, 0);
			other_cpu(a, T0 + 10 * US, 9300);
		}
		finish(a, T0 + 10 * US);
		out = open_memstream(&text, &len);
		render_to(out, a, false);
		fclose(out);
		assert_true(!strstr(text, "  other:    0.93 CPUs busy with untraced tasks") ==
			    !measured);
		assert_true(!strstr(text, "  other CPUs     |") == !measured);
		free(text);
		out = open_memstream(&text, &len);
		render_to(out, a, true);
		fclose(out);
		assert_non_null(
			strstr(text, measured ? "\"other_cpus\": 0.93," : "\"other_cpus\": null,"));
		free(text);
		ls_analysis_free(a);
		free(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_oncpu),
		cmocka_unit_test(test_switch_counters_decide),
		cmocka_unit_test(test_thread_found_running),
		cmocka_unit_test(test_wait_outcomes),
		cmocka_unit_test(test_locks_per_process),
		cmocka_unit_test(test_maps_failed),
		cmocka_unit_test(test_other_load_apportioned),
		cmocka_unit_test(test_other_load_timeline_halves),
		cmocka_unit_test(test_other_load_unmeasured),
		cmocka_unit_test(test_other_load_rendered),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("analysis", tests, NULL, NULL);
}
