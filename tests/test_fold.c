// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folding short-lived processes that did little (reports/model/fold.h) on synthetic streams: the text
 * report's threads table and timeline show them as one line and one lane, the JSON every thread;
 * a process that waited on a lock, held one others waited for, or is the workload stays a row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "fold.h"
#include "jsoncheck.h"
#include "render.h"
#include "render_json.h"
#include "synth.h"

static char *render(const struct ls_analysis *a, bool no_fold, bool json)
{
	struct ls_render_opts o = { .top = 10, .lanes = 16 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ls_report r;

	assert_non_null(f);
	assert_int_equal(ls_report_build(&r, a, "x.data", !no_fold), 0);
	if (json)
		ls_render_json(f, &r);
	else
		ls_render_text(f, &r, &o);
	ls_report_free(&r);
	fclose(f);
	return buf;
}

/* Lines of the section whose title starts with title, from after its first line starting with
 * first to the first line starting with last (or a blank one) */
static int section_lines(const char *text, const char *title, const char *first, const char *last)
{
	const char *p = strstr(text, title);
	int n = 0;

	assert_non_null(p);
	p = strstr(p, first);
	assert_non_null(p);
	for (p = strchr(p, '\n') + 1; *p && *p != '\n' && strncmp(p, last, strlen(last)); n++)
		p = strchr(p, '\n') + 1;
	return n;
}

static int table_rows(const char *text)
{
	return section_lines(text, "\nTHREADS (", "  PID/TID", "\n");
}

static int timeline_lanes(const char *text)
{
	return section_lines(text, "\nTIMELINE (", "TIMELINE", "  busy CPUs");
}

static int count(const char *text, const char *s)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

/* The number after the first "key": in json */
static long long json_num(const char *json, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	assert_non_null(p);
	return strtoll(p + strlen(pat), NULL, 10);
}

static void check_width(const char *text)
{
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n > 100)
			fail_msg("line wider than 100 bytes (%zu): %.*s", n, (int)n, line);
		line += n + (nl != NULL);
	}
}

/*
 * pyenv's shim: 30 bash and readlink processes above a 4-thread workload make one line and one
 * lane; the process that waited 5 ms on a lock (9% of all lock waits) stays a row.
 */
static void test_shim_folded(void **state)
{
	struct ls_analysis *a = scenario_shim(5000);
	char *out = render(a, false, false);

	check_width(out);
	/* the process, its 4 threads, the lock waiter, the folded line */
	if (table_rows(out) != 7)
		print_message("%s", out);
	assert_int_equal(table_rows(out), 7);
	assert_non_null(strstr(out, "\n  (30 short-lived processes folded: bash \u00d725, readlink "
				    "\u00d75; 6.00 ms on CPU)\n"));
	assert_non_null(strstr(out, "\n  200       bash "));
	assert_null(strstr(out, "\n  100 "));
	/* the 4 threads, the lock waiter, the folded lane */
	assert_int_equal(timeline_lanes(out), 6);
	assert_non_null(strstr(out, "\n  (30 folded)    |"));
	assert_null(strstr(out, "\n  100 bash"));
	assert_null(strstr(out, "more threads not shown"));
	free(out);
	synth_free(a);
}

/* --no-fold: every process a row, every thread a lane (up to --lanes) */
static void test_no_fold(void **state)
{
	struct ls_analysis *a = scenario_shim(5000);
	char *out = render(a, true, false);

	assert_int_equal(table_rows(out), 5 + SHIM_PROCS + 1);
	assert_null(strstr(out, "folded"));
	assert_non_null(strstr(out, "\n  100       bash "));
	assert_non_null(strstr(out, "\n  105       readlink "));
	assert_int_equal(timeline_lanes(out), 16 + 1); /* and the "more threads" line */
	assert_non_null(strstr(out, "(19 more threads not shown; --lanes N)"));
	free(out);
	synth_free(a);
}

/* The JSON lists every thread, marks the folded ones, and sums them up by command. */
static void test_json_keeps_every_thread(void **state)
{
	struct ls_analysis *a = scenario_shim(5000);
	char *out = render(a, false, true);
	const char *f;

	assert_true(json_valid(out));
	assert_int_equal(count(out, "\"tid\": "), 4 + SHIM_PROCS + 1);
	assert_int_equal(count(out, "\"folded\": true"), SHIM_PROCS);
	assert_int_equal(count(out, "\"folded\": false"), 5);
	f = strstr(out, "\"folded_processes\": {");
	assert_non_null(f);
	assert_int_equal(json_num(f, "processes"), SHIM_PROCS);
	assert_int_equal(json_num(f, "threads"), SHIM_PROCS);
	assert_int_equal(json_num(f, "cpu_ns"), SHIM_PROCS * 200 * US);
	f = strstr(f, "\"comm\": \"bash\"");
	assert_non_null(f);
	assert_int_equal(json_num(f, "processes"), 25);
	free(out);
	synth_free(a);
}

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
	char *out;

	for (int i = 0; i < LS_FOLD_MIN - 1; i++)
		short_process(a, 30 + i, "bash", T0 + (2 + i) * MS, 100 * US);
	workload_end(a, 20);
	assert_int_equal(ls_fold_init(&f, a), 0);
	assert_int_equal(f.processes, 0);
	assert_false(ls_fold_has(&f, 30));
	out = render(a, false, false);
	assert_int_equal(table_rows(out), 3 + LS_FOLD_MIN - 1);
	assert_null(strstr(out, "folded"));
	free(out);
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

/* A hundred commands: the line stays within 100 bytes and says how many it leaves out. */
static void test_many_commands(void **state)
{
	struct ls_analysis *a = workload_begin(20);
	char comm[16], *out;

	for (int i = 0; i < 100; i++) {
		snprintf(comm, sizeof(comm), "command-%03d", i);
		short_process(a, 1000 + i, comm, T0 + 2 * MS + i * 10 * US, 5 * US);
	}
	workload_end(a, 20);
	out = render(a, false, false);
	check_width(out);
	assert_int_equal(table_rows(out), 4);
	assert_non_null(
		strstr(out, "\n  (100 short-lived processes folded: command-000 \u00d71, "));
	assert_non_null(strstr(out, " more commands; 500.0 us on CPU)\n"));
	free(out);
	synth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shim_folded),
		cmocka_unit_test(test_no_fold),
		cmocka_unit_test(test_json_keeps_every_thread),
		cmocka_unit_test(test_lock_waiter_not_folded),
		cmocka_unit_test(test_target_not_folded),
		cmocka_unit_test(test_few_not_folded),
		cmocka_unit_test(test_handoffs_not_folded),
		cmocka_unit_test(test_many_commands),
	};

	return cmocka_run_group_tests_name("folded processes", tests, NULL, NULL);
}
