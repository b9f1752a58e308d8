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
	"for _ in range(3): threading.Thread(target=spin, daemon=True).start()\n"                  \
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

static void analyze(const char *trace, struct ls_analysis *a)
{
	char err[256];
	FILE *f = fopen(trace, "r");

	assert_non_null(f);
	assert_int_equal(ls_analyze_file(f, a, err, sizeof(err)), 0);
	fclose(f);
}

/* Attach to a running interpreter with symbols: hand-offs equal CPython's switch_number. */
static void test_probes_match_switch_number(void **state)
{
	char *py[] = { PYENV_311, "-c", SPIN, NULL }, pid[16];
	char *rec[] = { LOCKSCOPE, "record", "-d", "1", "-o", (char *)test_path("p.data"),
			"-p",	   pid,	     NULL };
	const struct ls_gil *g;
	struct ls_analysis a;
	struct ls_summary s;
	pid_t p;

	need(PYENV_311);
	p = spawn(py, test_path("p.py.out"), NULL, -1);
	usleep(300 * 1000); /* its threads are spinning */
	snprintf(pid, sizeof(pid), "%d", p);
	assert_int_equal(run(rec, test_path("p.out"), NULL), 0);
	kill(p, SIGKILL);
	wait_exit(p);
	analyze(test_path("p.data"), &a);
	g = the_gil(&a);
	assert_non_null(g);
	assert_int_equal(g->source, LS_GIL_SRC_PROBES);
	assert_true(g->have_start && g->have_end);
	print_message(
		"  hand-offs %llu, switch_number moved by %llu, forced %llu, interval %u us\n",
		(unsigned long long)g->handoffs,
		(unsigned long long)(g->switch_number_end - g->switch_number_start),
		(unsigned long long)g->forced, g->interval_us);
	/* a take_gil already under way when the probes went in is not seen: at most one */
	assert_true(within(g->handoffs, g->switch_number_end - g->switch_number_start, 1, 0));
	assert_true(g->handoffs > 100); /* 3 spinners, 5 ms interval, 1 s */
	assert_int_equal(g->interval_us, 5000);
	ls_summarize(&a, &s);
	print_message("  gil-wait %.0f%% of thread time, parallelism %.2f, %s\n",
		      s.gil_wait_share * 100, s.parallelism, ls_verdict_name(s.verdict));
	/* 3 spinners wait 2/3 of the time, the main thread sleeps: about 0.5 of thread time */
	assert_true(s.gil_wait_share > 0.4);
	assert_int_equal(s.verdict, LS_VERDICT_SERIALIZED);
	ls_analysis_free(&a);
}

/* Debian's interpreter has no symbols: the GIL is inferred from its futex words. */
static void test_inferred_without_symbols(void **state)
{
	char script[256];
	char *rec[] = { LOCKSCOPE, "record",	"-o",	(char *)test_path("d.data"),
			"--",	   DEBIAN_311,	script, "--threads",
			"4",	   "--work-ms", "200",	NULL };
	const struct ls_gil *g;
	struct ls_analysis a;
	struct ls_summary s;

	need(DEBIAN_311);
	snprintf(script, sizeof(script), "%s/workloads/cpu_threads.py", LS_SOURCE_DIR);
	assert_int_equal(run(rec, test_path("d.out"), NULL), 0);
	analyze(test_path("d.data"), &a);
	g = the_gil(&a);
	assert_non_null(g);
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
	char script[256];
	char *rec[] = { LOCKSCOPE, "record",	"-o",	(char *)test_path("l.data"),
			"--",	   PYENV_311,	script, "--threads",
			"2",	   "--work-ms", "100",	NULL };
	const struct ls_gil *g;
	struct ls_analysis a;

	need(PYENV_311);
	snprintf(script, sizeof(script), "%s/workloads/cpu_threads.py", LS_SOURCE_DIR);
	assert_int_equal(run(rec, test_path("l.out"), NULL), 0);
	analyze(test_path("l.data"), &a);
	g = the_gil(&a);
	assert_non_null(g);
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
		cmocka_unit_test(test_probes_match_switch_number),
		cmocka_unit_test(test_inferred_without_symbols),
		cmocka_unit_test(test_launch_probed),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("CPython GIL (root + BPF)", tests, test_dir_setup,
					   test_dir_teardown);
}
