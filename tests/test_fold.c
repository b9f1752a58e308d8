// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folding short-lived processes that did little (reports/fold.h) on synthetic streams: a process
 * that waited on a lock, held one others waited for, or is the workload is never folded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "fold.h"
#include "synth.h"

/*
 * A short-lived process that waited long on a lock is not folded: 5 ms of 55 ms of lock waits.
 * Waiting 0.1 ms (0.2% of them), it did little and folds with the others.
 */
static void test_lock_waiter_not_folded(void **state)
{
	struct ls_analysis *a = scenario_shim(5000);
	struct ls_fold f;

	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_false(ls_fold_has(&f, SHIM_WAITER));
	assert_false(ls_fold_has(&f, 10));
	assert_true(ls_fold_has(&f, 100));
	assert_int_equal(f.processes, SHIM_PROCS);
	assert_int_equal(f.nr_groups, 2);
	assert_string_equal(f.groups[0].comm, "bash");
	assert_int_equal(f.groups[0].processes, 25);
	assert_string_equal(f.groups[1].comm, "readlink");
	assert_int_equal(f.groups[1].processes, 5);
	ls_fold_free(&f);
	synth_free(a);

	a = scenario_shim(100);
	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_true(ls_fold_has(&f, SHIM_WAITER));
	assert_int_equal(f.processes, SHIM_PROCS + 1);
	assert_int_equal(f.groups[0].processes, 26);
	ls_fold_free(&f);
	synth_free(a);
}

#define WORKLOAD_X 0x9000

/*
 * A workload process pid, from 0 to 100 ms: its leader runs throughout, its second thread waits
 * on WORKLOAD_X from 1 to 99 ms (woken by an untraced task: no hand-off). Records in time order:
 * begin, then what happens between 1 and 99 ms, then end.
 */
static struct ls_analysis *workload_begin(__u32 pid)
{
	struct ls_analysis *a = synth_start(2);

	task_named(a, pid, pid, T0, "work");
	task_named(a, pid + 1, pid, T0, "work");
	sw(a, T0, 0, pid, 0, false, 0, 0);
	sw(a, T0, 0, pid + 1, 0, false, 0, 0);
	sw_full(a, T0 + 1 * MS, pid + 1, 0, 1, SW_FUTEX, 1, 0);
	return a;
}

static void workload_end(struct ls_analysis *a, __u32 pid)
{
	wakeup(a, T0 + 99 * MS, pid + 1, 0, 0);
	sw(a, T0 + 99 * MS, 0, pid + 1, 0, false, 0, 0);
	wait_rec(a, pid + 1, WORKLOAD_X, T0 + 1 * MS, T0 + 99 * MS, 0);
	synth_finish(a, T0 + 100 * MS);
}

/* The launched command (synth_start's target, pid 10) is the workload, short-lived or not. */
static void test_target_not_folded(void **state)
{
	struct ls_analysis *a = workload_begin(20);
	struct ls_fold f;

	for (int i = 0; i < 5; i++)
		short_process(a, 10 + i, "bash", T0 + (2 + i) * MS, 100 * US);
	workload_end(a, 20);
	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_false(ls_fold_has(&f, 10));
	assert_false(ls_fold_has(&f, 20));
	assert_true(ls_fold_has(&f, 11));
	assert_int_equal(f.processes, 4);
	ls_fold_free(&f);
	synth_free(a);
}

/* Fewer than LS_FOLD_MIN that qualify are shown as they are: folding them would save no row. */
static void test_few_not_folded(void **state)
{
	struct ls_analysis *a = workload_begin(20);
	struct ls_fold f;

	for (int i = 0; i < LS_FOLD_MIN - 1; i++)
		short_process(a, 30 + i, "bash", T0 + (2 + i) * MS, 100 * US);
	workload_end(a, 20);
	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_int_equal(f.processes, 0);
	assert_false(ls_fold_has(&f, 30));
	ls_fold_free(&f);
	synth_free(a);
}

/*
 * A short-lived process of two threads that hands a lock over (every hand-off of the recording)
 * holds a lock that others wait for: not folded, though its waits are 0.01% of all of them.
 */
static void test_handoffs_not_folded(void **state)
{
	struct ls_analysis *a = workload_begin(20);
	__u64 t = T0 + 10 * MS;
	struct ls_fold f;

	for (int i = 0; i < LS_FOLD_MIN; i++)
		short_process(a, 30 + i, "bash", T0 + (2 + i) * MS, 100 * US);
	task_named(a, 40, 40, t, "helper");
	task_named(a, 41, 40, t, "helper");
	sw(a, t, 0, 40, 0, false, 0, 0);
	sw(a, t, 0, 41, 0, false, 0, 0);
	sw_full(a, t + 10 * US, 41, 0, 1, SW_FUTEX, 1, 0);
	wakeup(a, t + 20 * US, 41, 40, SYNTH_X);
	wake_rec(a, 40, SYNTH_X, t + 20 * US, 1);
	sw(a, t + 20 * US, 0, 41, 0, false, 0, 0);
	wait_rec(a, 41, SYNTH_X, t + 10 * US, t + 20 * US, 0);
	exit_named(a, 41, 40, t + 30 * US, "helper");
	exit_named(a, 40, 40, t + 40 * US, "helper");
	workload_end(a, 20);
	assert_int_equal(lock(a, 40, SYNTH_X)->handoffs, 1);
	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_false(ls_fold_has(&f, 40));
	assert_int_equal(f.processes, LS_FOLD_MIN);
	ls_fold_free(&f);
	synth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_waiter_not_folded),
		cmocka_unit_test(test_target_not_folded),
		cmocka_unit_test(test_few_not_folded),
		cmocka_unit_test(test_handoffs_not_folded),
	};

	return cmocka_run_group_tests_name("folded processes", tests, NULL, NULL);
}
