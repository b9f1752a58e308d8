// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPython's GIL end to end (root + BPF): an interpreter with symbols, probed, against CPython's
 * own switch_number; Debian's stripped interpreter, inferred from futex traffic. Each skips,
 * saying why, where its interpreter is missing.
 */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "summary.h"
#include "testutil.h"

#define PYENV_311  "/root/.pyenv/versions/3.11.7/bin/python3.11"
#define DEBIAN_311 "/usr/bin/python3.11"

/* Threads that spin in Python until killed: they hand the GIL over every switch interval. */
#define SPIN                                                                                       \
	"import threading, time\n"                                                                 \
	"def spin():\n"                                                                            \
	"    while True: pass\n"                                                                   \
	"for _ in range(4): threading.Thread(target=spin, daemon=True).start()\n"                  \
	"time.sleep(60)\n"

static void need(const char *python)
{
	SKIP_WITHOUT_BPF();
	if (access(python, X_OK)) {
		print_message("SKIP: %s is not installed\n", python);
		skip();
	}
}

static const struct ls_gil *the_gil(const struct ls_analysis *a)
{
	size_t pos = 0;

	return ls_htab_next(&a->gils, &pos);
}

/* The interpreters to try: pyenv's builds with symbols, Debian's stripped one. */
static const char *const pythons[] = {
	"/root/.pyenv/versions/3.8.18/bin/python3.8",
	"/root/.pyenv/versions/3.9.18/bin/python3.9",
	"/root/.pyenv/versions/3.10.13/bin/python3.10",
	PYENV_311,
	"/root/.pyenv/versions/3.12.1/bin/python3.12",
	"/root/.pyenv/versions/3.13.0/bin/python3.13",
	DEBIAN_311,
};

/*
 * Attach to a running interpreter whose 4 threads compute: the GIL is found, the verdict is
 * serialized, and its hand-offs agree with CPython's own switch_number, read from the process
 * before and after (within 2% when probed, 10% when inferred).
 */
static void check_version(const char *python, char *gil_mode)
{
	char *py[] = { (char *)python, "-c", SPIN, NULL }, pid[16];
	char *rec[] = { LOCKSCOPE, "record", gil_mode, "-d", "1", "-o", (char *)test_path("v.data"),
			"-p",	   pid,	     NULL };
	const struct ls_gil *g;
	struct ls_analysis a;
	struct ls_summary s;
	__u64 delta;
	pid_t p;

	need(python);
	p = spawn(py, test_path("v.py.out"), NULL, -1);
	usleep(300 * 1000); /* its threads are spinning */
	snprintf(pid, sizeof(pid), "%d", p);
	assert_int_equal(run(rec, test_path("v.out"), NULL), 0);
	kill(p, SIGKILL);
	wait_exit(p);
	assert_int_equal(load_trace(test_path("v.data"), &a), 0);
	g = the_gil(&a);
	assert_non_null(g);
	assert_true(g->have_start && g->have_end);
	delta = g->switch_number_end - g->switch_number_start;
	ls_summarize(&a, &s);
	print_message("  %s: %s, hand-offs %llu, switch_number moved by %llu, GIL load %.1f%%, "
		      "gil-wait %.0f%%, %s\n",
		      python, ls_gil_source_name(g->source), (unsigned long long)g->handoffs,
		      (unsigned long long)delta, g->held_ns * 100.0 / (a.end_ns - a.start_ns),
		      s.gil_wait_share * 100, ls_verdict_name(s.verdict));
	assert_true(delta > 100); /* 4 spinners, 5 ms interval, 1 s */
	if (g->source == LS_GIL_SRC_PROBES) {
		assert_true(within(g->handoffs, delta, 1, 2));
		assert_true(g->held_ns * 10 >= (a.end_ns - a.start_ns) * 9);
	} else {
		assert_int_equal(g->source, LS_GIL_SRC_FUTEX);
		assert_true(within(g->handoffs, delta, 1, 10));
	}
	assert_int_equal(g->interval_us, 5000);
	assert_int_equal(s.verdict, LS_VERDICT_SERIALIZED);
	ls_analysis_free(&a);
}

static void test_version(void **state)
{
	check_version(*state, "--gil=auto");
}

/* The inference, on an interpreter that also has probes: it agrees with switch_number too. */
static void test_futex_mode_with_symbols(void **state)
{
	check_version(PYENV_311, "--gil=futex");
}

/* Threads a Python process starts after the attach appear, with their GIL figures. */
static void test_attach_then_threads(void **state)
{
	char *py[] = { PYENV_311, "-c", "import time; time.sleep(0.5)\n" SPIN, NULL }, pid[16];
	char *rec[] = { LOCKSCOPE, "record", "-d", "1.2", "-o", (char *)test_path("t.data"),
			"-p",	   pid,	     NULL };
	const struct ls_thread *t;
	struct ls_analysis a;
	int with_gil = 0;
	size_t pos = 0;
	pid_t p;

	need(PYENV_311);
	p = spawn(py, test_path("t.py.out"), NULL, -1);
	usleep(200 * 1000); /* before its threads */
	snprintf(pid, sizeof(pid), "%d", p);
	assert_int_equal(run(rec, test_path("t.out"), NULL), 0);
	kill(p, SIGKILL);
	wait_exit(p);
	assert_int_equal(load_trace(test_path("t.data"), &a), 0);
	while ((t = ls_htab_next(&a.threads, &pos)))
		with_gil += t->tgid == (__u32)p && t->tid != (__u32)p && t->gil &&
			    t->gil->acquisitions > 10;
	print_message("  threads created after the attach, with GIL figures: %d\n", with_gil);
	assert_int_equal(with_gil, 4);
	ls_analysis_free(&a);
}

/* A PID that runs no Python: --gil=probes refuses; auto records and says so in the report. */
static void test_not_python(void **state)
{
	char *sleeper[] = { "/bin/sleep", "5", NULL }, pid[16];
	char *probes[] = { LOCKSCOPE,
			   "record",
			   "--gil=probes",
			   "-d",
			   "0.2",
			   "-o",
			   (char *)test_path("n.data"),
			   "-p",
			   pid,
			   NULL };
	char *autom[] = { LOCKSCOPE, "record", "-d", "0.2", "-o", (char *)test_path("n.data"),
			  "-p",	     pid,      NULL };
	char *report[] = { LOCKSCOPE, "report", (char *)test_path("n.data"), NULL };
	pid_t p;

	SKIP_WITHOUT_BPF();
	p = spawn(sleeper, test_path("n.sleep.out"), NULL, -1);
	snprintf(pid, sizeof(pid), "%d", p);
	assert_int_not_equal(run(probes, test_path("n.out"), NULL), 0);
	assert_non_null(strstr(slurp(test_path("n.out")), "does not run CPython"));
	assert_int_equal(run(autom, test_path("n.out"), NULL), 0);
	assert_int_equal(run(report, test_path("n.report"), NULL), 0);
	assert_non_null(strstr(slurp(test_path("n.report")), "no CPython interpreter"));
	assert_null(strstr(slurp(test_path("n.report")), "\nGIL ("));
	kill(p, SIGKILL);
	wait_exit(p);
}

/* Launch workloads/cpu_threads.py on python and analyse the recording; its GIL, found. */
static const struct ls_gil *launch_cpu_threads(const char *python, char *threads, char *work_ms,
					       struct ls_analysis *a)
{
	char script[256];
	char *rec[] = { LOCKSCOPE, "record",	   "-o",    (char *)test_path("l.data"),
			"--",	   (char *)python, script,  "--threads",
			threads,   "--work-ms",	   work_ms, NULL };
	const struct ls_gil *g;

	snprintf(script, sizeof(script), "%s/workloads/cpu_threads.py", LS_SOURCE_DIR);
	assert_int_equal(run(rec, test_path("l.out"), NULL), 0);
	assert_int_equal(load_trace(test_path("l.data"), a), 0);
	g = the_gil(a);
	assert_non_null(g);
	return g;
}

/* Debian's interpreter has no symbols: the GIL is inferred from its futex words. */
static void test_inferred_without_symbols(void **state)
{
	const struct ls_gil *g;
	struct ls_analysis a;
	struct ls_summary s;

	need(DEBIAN_311);
	g = launch_cpu_threads(DEBIAN_311, "4", "200", &a);
	assert_int_equal(g->source, LS_GIL_SRC_FUTEX);
	ls_summarize(&a, &s);
	print_message("  inferred: %llu acquisitions, %llu hand-offs, gil-wait %.0f%%, %s\n",
		      (unsigned long long)g->acquisitions, (unsigned long long)g->handoffs,
		      s.gil_wait_share * 100, ls_verdict_name(s.verdict));
	/* 4 threads x 200 ms of work, 5 ms interval: about 160 turns */
	assert_true(g->handoffs > 80 && g->handoffs < 400);
	assert_true(s.gil_wait_share > 0.4);
	assert_int_equal(s.verdict, LS_VERDICT_SERIALIZED);
	ls_analysis_free(&a);
}

/* Launched through its full path, an interpreter with symbols is probed from its first step. */
static void test_launch_probed(void **state)
{
	const struct ls_gil *g;
	struct ls_analysis a;

	need(PYENV_311);
	g = launch_cpu_threads(PYENV_311, "2", "100", &a);
	assert_int_equal(g->source, LS_GIL_SRC_PROBES);
	print_message("  %llu acquisitions, %llu hand-offs\n", (unsigned long long)g->acquisitions,
		      (unsigned long long)g->handoffs);
	/* the interpreter's start-up takes the GIL many times before any thread exists */
	assert_true(g->acquisitions > g->handoffs);
	assert_true(g->handoffs > 0);
	ls_analysis_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_version, (void *)pythons[0]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[1]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[2]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[3]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[4]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[5]),
		cmocka_unit_test_prestate(test_version, (void *)pythons[6]),
		cmocka_unit_test(test_futex_mode_with_symbols),
		cmocka_unit_test(test_attach_then_threads),
		cmocka_unit_test(test_not_python),
		cmocka_unit_test(test_inferred_without_symbols),
		cmocka_unit_test(test_launch_probed),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("CPython GIL (root + BPF)", tests, test_dir_setup,
					   test_dir_teardown);
}
