// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python functions (reports/METRICS.md "Python functions") on synthetic streams, the answers
 * worked out by hand: GIL-held samples, GIL waits charged to the waiter's and the holder's
 * functions, lock waits by line, the bounds, and hostile records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "synth.h"
#include "folded.h"
#include "jsoncheck.h"
#include "render.h"
#include "render_json.h"

static const struct ls_pyfunc *func(struct ls_analysis *a, __u32 tgid, __u32 id)
{
	const struct ls_pyfunc *f = ls_pyfunc_find(a, tgid, id);

	assert_non_null(f);
	return f;
}

static struct ls_pyproc *proc(struct ls_analysis *a, __u32 tgid)
{
	struct ls_pyproc *p = ls_htab_find(&a->py.procs, &tgid);

	assert_non_null(p);
	return p;
}

static void test_held_samples(void **state)
{
	struct ls_analysis *a = scenario_python();
	const struct ls_pyproc *p = proc(a, PY_PID);

	assert_int_equal(func(a, PY_PID, PY_COMPUTE)->samples, 6);
	assert_int_equal(func(a, PY_PID, PY_COMPUTE)->held_samples, 5);
	/* under an unresolved frame: the innermost resolved one is charged */
	assert_int_equal(func(a, PY_PID, PY_IO)->samples, 2);
	assert_int_equal(func(a, PY_PID, PY_IO)->held_samples, 2);
	assert_int_equal(func(a, PY_PID, PY_RUN)->samples, 0);
	assert_int_equal(p->samples, 10);
	assert_int_equal(p->held_samples, 9);
	/* no resolved frame; a function of another process */
	assert_int_equal(p->samples_unattributed, 2);
	assert_null(ls_pyfunc_find(a, PY_PID, PY_OTHER));
	assert_true(ls_py_sample_ns(a, PY_PID) == 1e6);
	/* each thread's top function */
	assert_int_equal(thread(a, 91)->py->top_func, PY_COMPUTE);
	assert_int_equal(thread(a, 91)->py->top_samples, 6);
	assert_int_equal(thread(a, 92)->py->top_func, PY_IO);
	assert_int_equal(thread(a, 93)->py->top_func, 0);
	synth_free(a);
}

static void test_gil_wait_and_blame(void **state)
{
	struct ls_analysis *a = scenario_python();
	const struct ls_pyproc *p = proc(a, PY_PID);

	assert_int_equal(thread(a, 92)->state_ns[LS_ST_GIL_WAIT], 30 * MS);
	assert_int_equal(thread(a, 93)->state_ns[LS_ST_GIL_WAIT], 28 * MS);
	/* 92's first wait: in Worker.run, 91 holding it in compute */
	assert_int_equal(func(a, PY_PID, PY_RUN)->gil_wait_ns, 20 * MS);
	assert_int_equal(func(a, PY_PID, PY_RUN)->gil_waits, 1);
	/* 93's wait (charged as the window closed) and 92's second one, both in io_step */
	assert_int_equal(func(a, PY_PID, PY_IO)->gil_wait_ns, 38 * MS);
	assert_int_equal(func(a, PY_PID, PY_IO)->gil_waits, 2);
	assert_int_equal(func(a, PY_PID, PY_COMPUTE)->gil_wait_ns, 0);
	/* the holders: 91 in compute for the first two, 93 in Worker.run for the last */
	assert_int_equal(func(a, PY_PID, PY_COMPUTE)->blamed_wait_ns, 48 * MS);
	assert_int_equal(func(a, PY_PID, PY_COMPUTE)->blamed_waits, 2);
	assert_int_equal(func(a, PY_PID, PY_RUN)->blamed_wait_ns, 10 * MS);
	assert_int_equal(func(a, PY_PID, PY_IO)->blamed_wait_ns, 0);
	assert_int_equal(p->gil_wait_ns, 58 * MS);
	assert_int_equal(p->gil_wait_unattributed_ns, 0);
	assert_int_equal(p->blamed_unknown_ns, 0);
	synth_free(a);
}

static void test_lock_wait_by_line(void **state)
{
	struct ls_analysis *a = scenario_python();
	struct ls_report r;

	assert_int_equal(ls_report_build(&r, a, "python.data", true), 0);
	assert_non_null(r.py_lines[0]);
	assert_null(r.py_lines[1]);
	assert_int_equal(r.py_lines[0]->key.uaddr, SYNTH_X);
	assert_int_equal(r.py_lines[0]->key.func, PY_COMPUTE);
	assert_int_equal(r.py_lines[0]->key.line, 25);
	assert_int_equal(r.py_lines[0]->waits, 1);
	assert_int_equal(r.py_lines[0]->wait_ns, 10 * MS);
	/* the model's lists: by process, then their figure */
	assert_int_equal(r.py_by_held[0]->id, PY_COMPUTE);
	assert_int_equal(r.py_by_wait[0]->id, PY_IO);
	assert_int_equal(r.py_by_blamed[0]->id, PY_COMPUTE);
	assert_int_equal(r.py_procs[0]->tgid, PY_PID);
	assert_int_equal(r.py_procs[1]->tgid, 99); /* its function made it known */
	assert_int_equal(r.py_procs[2]->tgid, PY_DEAD);
	ls_report_free(&r);
	synth_free(a);
}

/*
 * A new thread's LOCK_WAITER stack can come before anything else of the thread (the recorder
 * drains Python stacks from a ring of their own): its wait is still named by its line.
 */
static void test_lock_wait_of_a_new_thread(void **state)
{
	struct ls_analysis *a = synth_start(2);
	struct ls_report r;

	py_status(a, PY_PID, 0, 0x030d00f0, PY_HZ, "");
	py_func(a, PY_PID, PY_IO, "wait_for_lock", "/srv/app.py", 42);
	py_stack(a, 95, PY_PID, T0 + 2 * MS, LS_PY_LOCK_WAITER, 0, SYNTH_X, PY_IO, 44, PY_END);
	task_new(a, 95, PY_PID, T0 + 1 * MS);
	sw(a, T0 + 1 * MS, 0, 95, 0, false, 0, 0);
	sw_full(a, T0 + 2 * MS, 95, 0, 1, SW_FUTEX, 1, 0);
	wait_val(a, 95, SYNTH_X, 0, T0 + 2 * MS, T0 + 30 * MS, 0);
	synth_finish(a, T0 + 40 * MS);
	assert_int_equal(ls_report_build(&r, a, "python.data", true), 0);
	assert_non_null(r.py_lines[0]);
	assert_int_equal(r.py_lines[0]->key.func, PY_IO);
	assert_int_equal(r.py_lines[0]->key.line, 44);
	assert_int_equal(r.py_lines[0]->wait_ns, 28 * MS);
	ls_report_free(&r);
	synth_free(a);
}

static void test_status_unavailable(void **state)
{
	struct ls_analysis *a = scenario_python();
	const struct ls_pyproc *p = proc(a, PY_DEAD);

	assert_true(p->have_status);
	assert_int_equal(p->err, -EPERM);
	assert_non_null(strstr(p->why, "CAP_SYS_PTRACE"));
	assert_int_equal(proc(a, PY_PID)->err, 0);
	synth_free(a);
}

static void test_func_table_overflow(void **state)
{
	struct ls_analysis *a = synth_start(2);

	task_named(a, 21, 20, T0, "python3");
	py_status(a, 20, 0, 0x030b07f0, 100, "");
	for (__u32 id = 1; id <= LS_PY_FUNCS_MAX + 5; id++)
		py_func(a, 20, id, "f", "m.py", 1);
	py_func(a, 20, 1, "again", "m.py", 2); /* a second record of an id: the first stands */
	assert_int_equal(a->py.funcs.nr, LS_PY_FUNCS_MAX);
	assert_int_equal(a->py.funcs_left_out, 5);
	assert_int_equal(proc(a, 20)->funcs_left_out, 5);
	assert_string_equal(func(a, 20, 1)->name, "f");
	/* a frame of a function left out is not charged to the frame above it */
	py_stack(a, 21, 20, T0 + 1, LS_PY_SAMPLED, 1, 0, LS_PY_FUNCS_MAX + 3, 7, 1, 2, PY_END);
	synth_finish(a, T0 + 10 * MS);
	assert_int_equal(proc(a, 20)->samples_unattributed, 1);
	assert_int_equal(func(a, 20, 1)->samples, 0);
	synth_free(a);
}

static char *render(struct ls_analysis *a, int json)
{
	struct ls_render_opts o = { .top = 10, .lanes = 16 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct ls_report r;

	assert_int_equal(ls_report_build(&r, a, "python.data", true), 0);
	if (json == 1)
		ls_render_json(f, &r);
	else if (json == 2)
		assert_int_equal(ls_render_folded(f, a), 0);
	else
		ls_render_text(f, &r, &o);
	ls_report_free(&r);
	fclose(f);
	return buf;
}

/* Names with escapes, ids out of range, huge counts: nothing raw reaches the output */
static void test_hostile(void **state)
{
	struct ls_analysis *a = synth_start(2);
	char name[300];
	char *out;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	task_named(a, 31, 30, T0, "python3");
	sw(a, T0, 0, 31, 0, false, 0, 0);
	py_status(a, 30, -EIO, 0xffffffff, 0xffffffff, "why \x1b[31mred\x1b[0m\nnext line");
	py_status(a, 30, 0, 0xffffffff, 0xffffffff, "");
	py_func(a, 30, 1, "\x1b]0;title\x07evil\n", "\x9b\xff/x.py;a b", -5);
	py_func(a, 30, 2, name, name, 0x7fffffff);
	py_func(a, 30, 0, "zero", "z.py", 1); /* id 0 is no function */
	for (int i = 0; i < 3; i++)
		py_stack(a, 31, 30, T0 + 1 + i, LS_PY_SAMPLED, 255, 0, 1, -1, 2, 0x7fffffff,
			 PY_END);
	py_stack(a, 31, 30, T0 + 5, LS_PY_SAMPLED, 1, 0, 0xffffffff, 1, PY_END);
	py_stack(a, 31, 30, T0 + 6, 99, 1, 0, 1, 1, PY_END);		    /* unknown kind */
	py_stack(a, 31, 30, T0 + 7, LS_PY_GIL_HOLDER, 31, 0, 1, 1, PY_END); /* itself */
	py_stack(a, 31, 30, T0 + 8, LS_PY_GIL_HOLDER, 4242, 0, 1, 1, PY_END);
	py_stack(a, 31, 30, T0 + 9, LS_PY_GIL_WAITER, 0, 0, 2, 1, PY_END);
	py_stack(a, 4343, 30, T0 + 9, LS_PY_GIL_WAITER, 0, 0, 2, 1, PY_END); /* no such thread */
	py_stack(a, 31, 31, T0 + 9, LS_PY_SAMPLED, 1, 0, 1, 1, PY_END);	     /* another process */
	synth_finish(a, T0 + 10 * MS);
	assert_null(ls_pyfunc_find(a, 30, 0));
	assert_int_equal(func(a, 30, 1)->held_samples, 3);
	assert_int_equal(proc(a, 30)->samples_unattributed, 1);
	for (int k = 0; k < 3; k++) {
		out = render(a, k);
		assert_null(strchr(out, '\x1b'));
		assert_null(strchr(out, '\x07'));
		assert_null(strstr(out, "\xc2\x9b"));
		assert_null(strstr(out, "\x9b\xff"));
		if (k == 1)
			assert_true(json_valid(out));
		if (k == 0)
			for (char *l = out; *l;) {
				size_t n = strcspn(l, "\n");

				if (n > 100)
					fail_msg("wider than 100: %.*s", (int)n, l);
				l += n + (l[n] == '\n');
			}
		free(out);
	}
	synth_free(a);
}

static void test_json(void **state)
{
	struct ls_analysis *a = scenario_python();
	char *out = render(a, 1);

	assert_true(json_valid(out));
	assert_non_null(strstr(out, "\"function\": \"compute\",\n"));
	assert_non_null(strstr(out, "\"gil_held_samples\": 5,\n      \"gil_held_ns\": 5000000,\n"
				    "      \"gil_held_error_ns\": 4472136,\n"));
	assert_non_null(strstr(out, "\"blamed_wait_ns\": 48000000\n"));
	assert_non_null(strstr(out, "\"available\": false,\n      \"error\": -1,\n"
				    "      \"why\": \"cannot read"));
	assert_non_null(strstr(out, "\"python_top_function\": {\n"));
	free(out);
	synth_free(a);
}

/* Python frames, outermost first, then what the thread did; unresolved frames unnamed */
static void test_folded(void **state)
{
	struct ls_analysis *a = scenario_python();
	char *out = render(a, 2);

	assert_non_null(strstr(out, "python3-91;<module>;Worker.run;compute;[GIL held] 5000000\n"));
	assert_non_null(strstr(out, "python3-92;io_step;[unknown];[GIL held] 2000000\n"));
	assert_non_null(strstr(out, "python3-93;[unknown];[unknown];[GIL held] 1000000\n"));
	assert_null(strstr(out, "elsewhere")); /* another process's function */
	assert_non_null(strstr(out, "python3-92;<module>;Worker.run;[GIL wait] 20000000\n"));
	assert_non_null(strstr(out, "python3-92;io_step;[GIL wait] 10000000\n"));
	assert_non_null(strstr(out, "python3-93;io_step;[GIL wait] 28000000\n"));
	free(out);
	synth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_samples),
		cmocka_unit_test(test_gil_wait_and_blame),
		cmocka_unit_test(test_lock_wait_by_line),
		cmocka_unit_test(test_lock_wait_of_a_new_thread),
		cmocka_unit_test(test_status_unavailable),
		cmocka_unit_test(test_func_table_overflow),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_folded),
	};

	return cmocka_run_group_tests_name("python functions", tests, NULL, NULL);
}
