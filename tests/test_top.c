// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope top (root + BPF): its JSON lines summed over all intervals against what the C
 * workloads measured themselves (--truth), within test_accuracy's bounds; a Python target's GIL
 * (CPython's own switch_number for hand-offs, the spinning function named); threads of an
 * attached process created later; exited threads' entries evicted (more threads than the map
 * holds); the full-screen view driven in tmux; bad usage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <cmocka.h>
#include "summary.h"
#include "testutil.h"
#include "jsoncheck.h"
#include "pythons.h"
#include "child.h"

#define MAX_OTHER_CPUS 0.2 /* as test_accuracy: above it, a verdict is not the idle machine's */

/* Lines of a JSON lines file, each NUL-terminated; freed with free_lines */
struct lines {
	char **l;
	int n;
};

static void free_lines(struct lines *ls)
{
	for (int i = 0; i < ls->n; i++)
		free(ls->l[i]);
	free(ls->l);
	ls->l = NULL;
	ls->n = 0;
}

/* Every line must be one valid JSON object */
static void read_lines(const char *path, struct lines *ls)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	ls->l = NULL;
	ls->n = 0;
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!json_valid(line))
			fail_msg("not a JSON object: %.200s", line);
		ls->l = realloc(ls->l, (ls->n + 1) * sizeof(*ls->l));
		assert_non_null(ls->l);
		ls->l[ls->n++] = strdup(line);
	}
	free(line);
	fclose(f);
}

/* The number after "key": at or after p (compact JSON); NAN if absent or null */
static double num(const char *p, const char *key)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = p ? strstr(p, pat) : NULL;
	if (!p || !strncmp(p + strlen(pat), "null", 4))
		return NAN;
	return strtod(p + strlen(pat), NULL);
}

/* A lock's entry in a line: from its "addr" on */
static const char *lock_in(const char *line, unsigned long long addr)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"addr\":%llu,", addr);
	return strstr(line, pat);
}

/* Run lockscope top with args (NULL-terminated), its stdout to out, stderr to err */
static int run_top(const char *out, const char *err, char *const args[])
{
	char *argv[40] = { "/bin/sh", "-c", "exec \"$@\" > \"$TOP_OUT\"", "sh", LOCKSCOPE, "top" };
	char env[300];
	char *envp[] = { env, NULL };
	int n = 6;

	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(env, sizeof(env), "TOP_OUT=%s", out);
	return run(argv, err, envp);
}

static int compare(const char *what, double got, double lo, double hi)
{
	int ok = got >= lo && got <= hi;

	print_message("  %-28s top %12.3f  expected %12.3f .. %-12.3f %s\n", what, got, lo, hi,
		      ok ? "ok" : "MISMATCH");
	return ok;
}

static double tol(double want, double floor, double pct)
{
	return want * pct / 100 > floor ? want * pct / 100 : floor;
}

struct workload {
	const char *name;
	char *args[12];
	enum ls_verdict verdict; /* of each interval inside the workload's own */
	bool check_wait;
};

static const struct workload workloads[] = {
	{ "mutex",
	  { "--threads", "4", "--iterations", "200", "--hold-us", "1000", "--think-us", "100" },
	  LS_VERDICT_SERIALIZED,
	  true },
	{ "gil", { "--threads", "4", "--work-ms", "200" }, LS_VERDICT_SERIALIZED, true },
	{ "io",
	  { "--threads", "4", "--sleep-us", "3000", "--iterations", "150" },
	  LS_VERDICT_WAITING,
	  false },
	{ "procs", { "--procs", "4", "--work-ms", "400" }, LS_VERDICT_PARALLEL, false },
};

#define MIN_WAIT_US 200 /* test_accuracy's: shorter waits lose their syscall entry's 1-2 us */

/*
 * The workload under top -i 0.2, its JSON lines summed: switches and hand-offs as getrusage and
 * the workload counted them, CPU time over wall time as its clocks say (plus, at most, the time
 * the hypervisor stole meanwhile: the switch timestamps top adds up hold it, the CPU clock does
 * not), and the verdict of each interval that lay inside the workload's own.
 */
static void run_workload(const struct workload *w)
{
	char bin[256], truth_path[256], *args[24] = { "-i", "0.2", "-f", "json", "--", bin };
	double wall = 0, cpu = 0, vol = 0, invol = 0, handoffs = 0, wait_s = 0, blocked = 0, steal0,
	       steal1, want, stolen;
	const char *out = test_path("top.jsonl"), *truth;
	unsigned long long lock, from, to;
	struct lines ls;
	int n = 6, ok = 1, inside = 0;

#ifdef __SANITIZE_ADDRESS__
	print_message("SKIP: accuracy is measured on the normal build\n");
	skip();
#endif
	snprintf(bin, sizeof(bin), "%s/workloads/%s", LS_BUILD_DIR, w->name);
	snprintf(truth_path, sizeof(truth_path), "%s", test_path("truth.json"));
	for (int i = 0; w->args[i]; i++)
		args[n++] = w->args[i];
	args[n++] = "--truth";
	args[n++] = truth_path;
	args[n] = NULL;
	steal0 = steal_seconds();
	assert_int_equal(run_top(out, test_path("top.err"), args), 0);
	steal1 = steal_seconds();
	read_lines(out, &ls);
	truth = slurp(truth_path);
	lock = json_num(truth, "lock_addr") > 0 ? json_num(truth, "lock_addr") : 0;
	from = json_num(truth, "start_ns");
	to = json_num(truth, "end_ns");
	assert_true(ls.n >= 2);
	for (int i = 0; i < ls.n; i++) {
		const char *l = ls.l[i], *k = lock ? lock_in(l, lock) : NULL;
		const char *v = strstr(l, "\"verdict\":\"");
		char verdict[32] = "";

		wall += num(l, "interval_s");
		cpu += num(strstr(l, "\"state_s\""), "running");
		vol += num(l, "voluntary_switches");
		invol += num(l, "involuntary_switches");
		assert_true(num(l, "lost_records") == 0);
		assert_true(num(strstr(l, "\"full\""), "threads") == 0);
		if (k) {
			handoffs += num(k, "handoffs");
			wait_s += num(k, "wait_s");
			blocked += num(k, "blocked");
		}
		if (v)
			sscanf(v + 11, "%31[a-z]", verdict);
		if (num(l, "start_ns") < from || num(l, "end_ns") > to)
			continue;
		inside++;
		if (num(l, "other_cpus") > MAX_OTHER_CPUS) {
			print_message("  interval %d: %s (other load %.2f CPUs: not compared)\n", i,
				      verdict, num(l, "other_cpus"));
			continue;
		}
		print_message("  interval %d: %s (expected %s)\n", i, verdict,
			      ls_verdict_name(w->verdict));
		ok &= !strcmp(verdict, ls_verdict_name(w->verdict));
	}
	print_message("%s: %d intervals, %d inside the workload's own\n", w->name, ls.n, inside);
	/* the kernel's counts since the fork: top follows the command from before its exec */
	want = json_num(truth, "vol_switches_life");
	ok &= compare("voluntary switches", vol, want - tol(want, 2, 1), want + tol(want, 2, 1));
	want = json_num(truth, "invol_switches_life");
	ok &= compare("involuntary switches", invol, want - tol(want, 2, 1),
		      want + tol(want, 2, 1));
	if (lock) {
		want = json_num(truth, "handoffs");
		ok &= compare("hand-offs", handoffs, want - tol(want, 0, 1),
			      want + tol(want, 0, 1));
	}
	if (lock && w->check_wait && blocked &&
	    json_num(truth, "wait_ns") / blocked >= MIN_WAIT_US * 1000) {
		want = json_num(truth, "wait_ns") / 1e9;
		ok &= compare("wait time (s)", wait_s, want - tol(want, 0, 2),
			      want + tol(want, 0, 2));
	}
	/* over top's window (the workload's plus its start and exit, a few ms) */
	want = (double)json_num(truth, "cpu_ns") / json_num(truth, "wall_ns");
	stolen = (steal1 - steal0) / (wall > 0 ? wall : 1);
	print_message("  (window %.3f s, workload %.3f s; stolen meanwhile %.3f CPUs)\n", wall,
		      json_num(truth, "wall_ns") / 1e9, stolen);
	ok &= compare("effective parallelism", cpu / wall, want - 0.05, want + stolen + 0.05);
	free_lines(&ls);
	assert_true(ok);
}

/* Each workload: its row of workloads[], as the test's state */
static void test_workload(void **state)
{
	SKIP_WITHOUT_BPF();
	run_workload(*state);
}

/* Four threads spinning in one function for argv[1] seconds, after printing argv[2] if given */
static const char spin_script[] =
	"import sys, threading, time\n"
	"def spin_here(end):\n"
	"    n = 0\n"
	"    while time.monotonic() < end:\n"
	"        n += 1\n"
	"if len(sys.argv) > 2: print(sys.argv[2], flush=True)\n"
	"time.sleep(0.3)\n"
	"end = time.monotonic() + float(sys.argv[1])\n"
	"ts = [threading.Thread(target=spin_here, args=(end,)) for _ in range(4)]\n"
	"for t in ts: t.start()\n"
	"for t in ts: t.join()\n";

static struct python *all_pythons, *pythons[4];
static int nr_all, nr_pythons;

/* The interpreters of test_pyfunctions (pythons_pick), running spin_script */
static void choose_pythons(void)
{
	if (nr_all || (nr_all = pythons_load(&all_pythons, spin_script)) <= 0)
		return;
	nr_pythons = pythons_pick(all_pythons, nr_all, pythons);
}

/* The GIL's figures in the lines of a run of spin_script */
static int check_gil_lines(const struct lines *ls, const char *label)
{
	int with_gil = 0, serial = 0, named = 0, handed = 0, ok = 1;
	double all_forced = 0, all_handoffs = 0;

	for (int i = 0; i < ls->n; i++) {
		const char *l = ls->l[i], *g = strstr(l, "\"gil\":{");
		double load, samples, fn;

		if (!g)
			continue;
		with_gil++;
		load = num(g, "load");
		if (num(g, "handoffs") > 0)
			handed++;
		samples = num(g, "held_samples");
		fn = num(g, "top_function_samples");
		if (strstr(g, "\"top_function\":\"spin_here\"") && fn * 2 >= samples)
			named++;
		/* 4 threads spinning through the interval (90% of it at least) hold the GIL in
		 * turn: one runs, the others wait for it */
		if (num(strstr(l, "\"state_s\""), "running") +
			    num(strstr(l, "\"state_s\""), "runnable") +
			    num(strstr(l, "\"state_s\""), "gil") >=
		    3.6 * num(l, "interval_s")) {
			double handoffs = num(g, "handoffs"), forced = num(g, "forced_switches");

			serial++;
			if (load < 0.8 || num(l, "parallelism") >= 1.2) {
				print_message(
					"  %s: interval %d: GIL load %.2f, parallelism %.2f\n",
					label, i, load, num(l, "parallelism"));
				ok = 0;
			}
			/* spinners drop the GIL only when forced: each forced drop is a hand-off,
			 * and most hand-offs are forced drops */
			if (!isnan(handoffs)) {
				all_forced += forced;
				all_handoffs += handoffs;
			}
			if (!isnan(handoffs) && (forced > handoffs + 2 || forced < handoffs / 2)) {
				print_message(
					"  %s: interval %d: %.0f forced switches, %.0f hand-offs\n",
					label, i, forced, handoffs);
				ok = 0;
			}
		}
	}
	print_message("  %s: %d intervals, %d with the GIL, %d of them spinning (%.0f forced "
		      "switches, %.0f hand-offs), %d with hand-offs, %d naming spin_here\n",
		      label, ls->n, with_gil, serial, all_forced, all_handoffs, handed, named);
	return ok && serial >= 3 && handed >= 3 && named >= 1;
}

/* Launched: the GIL found, its load and CPython's own hand-off count, the holder's function */
static void test_python_gil(void **state)
{
	int ok = 1;

	SKIP_WITHOUT_BPF();
	choose_pythons();
	if (!nr_pythons) {
		print_message("SKIP: no interpreters listed (%s): run make pythons\n",
			      LS_PYTHONS_LIST);
		skip();
	}
	for (int i = 0; i < nr_pythons; i++) {
		char *args[32] = { "-i", "0.25", "-f", "json", "--" };
		int n = 5;
		struct lines ls;

		for (int w = 0; pythons[i]->argv[w]; w++)
			args[n++] = pythons[i]->argv[w];
		args[n++] = "2.5"; /* seconds, and nothing printed: its stdout is top's */
		args[n] = NULL;
		assert_int_equal(run_top(test_path("py.jsonl"), test_path("py.err"), args), 0);
		read_lines(test_path("py.jsonl"), &ls);
		ok &= check_gil_lines(&ls, pythons[i]->label);
		free_lines(&ls);
	}
	assert_true(ok);
}

/*
 * The first interpreter running spin_script for seconds, started and ready (child.h: killed by
 * the teardown); the test skips without one.
 */
static pid_t start_spinner(char *seconds)
{
	char buf[64], *argv[PY_WORDS + 6] = { NULL };
	pid_t p;
	int n;

	choose_pythons();
	if (!nr_pythons) {
		print_message("SKIP: no interpreters listed: run make pythons\n");
		skip();
	}
	for (n = 0; pythons[0]->argv[n]; n++)
		argv[n] = pythons[0]->argv[n];
	argv[n++] = seconds;
	argv[n] = "ready";
	p = start_child(argv, buf, sizeof(buf), "ready");
	assert_true(p > 0);
	return p;
}

/* Attached before the process starts its threads: they are followed, and so is its GIL */
static void test_attach_later_threads(void **state)
{
	char *args[16] = { "-i", "0.25", "-d", "2.5", "-f", "json", "-p", NULL, NULL };
	char pid[16];
	struct lines ls;
	int tids = 0, ok;
	pid_t p;

	SKIP_WITHOUT_BPF();
	p = start_spinner("2.8"); /* seconds of spinning, from 0.3 s after ready */
	snprintf(pid, sizeof(pid), "%d", p);
	args[7] = pid;
	assert_int_equal(run_top(test_path("attach.jsonl"), test_path("attach.err"), args), 0);
	kill_child(NULL);
	read_lines(test_path("attach.jsonl"), &ls);
	/* the spinners' tids: threads of pid other than pid itself, with CPU time */
	for (int i = 0; i < ls.n; i++) {
		char pat[32];

		snprintf(pat, sizeof(pat), "\"pid\":%d,\"comm\"", p);
		for (const char *t = strstr(ls.l[i], pat); t; t = strstr(t + 1, pat))
			tids += num(t, "running_s") > 0.05;
	}
	print_message("  %s attached: %d thread-intervals on a CPU\n", pythons[0]->label, tids);
	ok = check_gil_lines(&ls, pythons[0]->label) && tids >= 8;
	free_lines(&ls);
	assert_true(ok);
}

/* More threads than top_threads holds, one after another: exited ones make room */
static void test_evicted(void **state)
{
	static const char churn[] = "import threading\n"
				    "for i in range(20000):\n"
				    "    t = threading.Thread(target=int)\n"
				    "    t.start()\n"
				    "    t.join()\n";
	char *args[32] = { "-i", "0.5", "-f", "json", "--" };
	struct python *py = NULL;
	double exited = 0;
	struct lines ls;
	int n = 5, nr;

	SKIP_WITHOUT_BPF();
	nr = pythons_load(&py, churn);
	if (nr <= 0) {
		print_message("SKIP: no interpreters listed: run make pythons\n");
		skip();
	}
	for (int w = 0; py[0].argv[w]; w++) /* the oldest pyenv: the fastest to start threads */
		args[n++] = py[0].argv[w];
	args[n] = NULL;
	assert_int_equal(run_top(test_path("churn.jsonl"), test_path("churn.err"), args), 0);
	pythons_free(py, nr);
	read_lines(test_path("churn.jsonl"), &ls);
	for (int i = 0; i < ls.n; i++) {
		for (const char *t = strstr(ls.l[i], "\"exited\":true"); t;
		     t = strstr(t + 1, "\"exited\":true"))
			exited++;
		assert_true(num(strstr(ls.l[i], "\"full\""), "threads") == 0);
	}
	print_message("  %.0f threads seen exiting over %d intervals, none refused\n", exited,
		      ls.n);
	free_lines(&ls);
	assert_true(exited >= 20000);
}

/* --- the full screen, in tmux --- */

static int tmux(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A server of its own for each session: a killed one may still hold its socket a moment */
static int server_nr;

static int tmux(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int n;

	n = snprintf(cmd, sizeof(cmd), "tmux -L lockscope-test-%d-%d ", (int)getpid(), server_nr);
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* What the pane shows now (static buffer) */
static const char *pane(void)
{
	const char *path = test_path("pane.txt");

	tmux("capture-pane -p -t t > '%s'", path);
	return slurp(path);
}

/* Wait up to ms for the pane to show what */
static bool pane_shows(const char *what, int ms)
{
	for (int i = 0; i < ms / 100; i++) {
		if (strstr(pane(), what))
			return true;
		usleep(100000);
	}
	return strstr(pane(), what) != NULL;
}

static int tmux_teardown(void **state)
{
	tmux("kill-server 2>/dev/null");
	return kill_child(state);
}

/*
 * On a terminal: the target's PID, a GIL line, a key that sorts, q that quits; the terminal as
 * it was (stty's settings, no alternate screen, the cursor shown). Then SIGTERM and the target's
 * death, each also leaving it so.
 */
static void test_screen(void **state)
{
	char want[64], lockscope[PATH_MAX], script[256];
	FILE *f;
	pid_t p;

	SKIP_WITHOUT_BPF();
	if (system("command -v tmux >/dev/null")) {
		print_message("SKIP: tmux is not installed (apt-get install tmux)\n");
		skip();
	}
	p = start_spinner("120"); /* seconds: it outlives the test, which kills it */
	assert_non_null(realpath(LOCKSCOPE, lockscope));
	snprintf(script, sizeof(script), "%s", test_path("screen.sh")); /* test_path's is reused */
	/* the shell in the pane: settings before, top, settings after, its status */
	f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f,
		"stty -g > '%s/stty.before'\n"
		"'%s' top -i 0.25 -p \"$1\"\n"
		"echo \"top-exit=$?\"\n"
		"stty -g > '%s/stty.after'\n"
		"exec sleep 600\n",
		test_dir, lockscope, test_dir);
	fclose(f);
	assert_int_equal(tmux("new-session -d -s t -x 160 -y 45 \"sh '%s' %d\"", script, p), 0);
	snprintf(want, sizeof(want), "lockscope top - pid %d", p);
	if (!pane_shows(want, 15000))
		fail_msg("the screen never showed \"%s\":\n%s", want, pane());
	if (!pane_shows("GIL pid", 10000))
		fail_msg("no GIL line for a Python target:\n%s", pane());
	assert_non_null(strstr(pane(), "(now cpu)"));
	tmux("send-keys -t t l");
	if (!pane_shows("(now lock)", 5000))
		fail_msg("the l key did not sort by lock wait:\n%s", pane());
	tmux("send-keys -t t q");
	if (!pane_shows("top-exit=0", 5000))
		fail_msg("q did not quit with status 0:\n%s", pane());
	assert_null(strstr(pane(), "lockscope top - pid"));
	tmux("display -p -t t '#{alternate_on} #{cursor_flag}' > '%s/modes'", test_dir);
	assert_string_equal(slurp(test_path("modes")), "0 1\n");
	assert_string_equal(slurp(test_path("stty.before")), slurp(test_path("stty.after")));

	/* SIGTERM, then the target's death: the same terminal each time */
	for (int round = 0; round < 2; round++) {
		char line[32];

		tmux("kill-server 2>/dev/null");
		server_nr++;
		unlink(test_path("stty.after"));
		assert_int_equal(tmux("new-session -d -s t -x 160 -y 45 \"sh '%s' %d\"", script, p),
				 0);
		if (!pane_shows(want, 15000))
			fail_msg("round %d: the screen never showed \"%s\":\n%s", round, want,
				 pane());
		if (round == 0) {
			/* [.]: the pattern does not match the shell that runs pkill */
			assert_int_equal(system("pkill -TERM -f 'lockscope top -i 0[.]25 -p'"), 0);
		} else {
			kill_child(NULL);
		}
		snprintf(line, sizeof(line), "top-exit=%d", 0);
		if (!pane_shows(line, 5000))
			fail_msg("top did not end with status 0 (%s):\n%s",
				 round ? "target killed" : "SIGTERM", pane());
		tmux("display -p -t t '#{alternate_on} #{cursor_flag}' > '%s/modes'", test_dir);
		assert_string_equal(slurp(test_path("modes")), "0 1\n");
		assert_string_equal(slurp(test_path("stty.before")),
				    slurp(test_path("stty.after")));
	}
}

/* Bad usage: a message and status 64; a PID that does not exist: status 1 */
static void test_usage(void **state)
{
	static const struct {
		char *args[6];
		int status;
		const char *says;
	} cases[] = {
		{ { NULL }, 64, "give a command" },
		{ { "-i", "0", "--", "true", NULL }, 64, "invalid interval" },
		{ { "-f", "xml", "--", "true", NULL }, 64, "invalid --format" },
		{ { "-p", "1", "--", "true", NULL }, 64, "not both" },
		{ { "-p", "x", NULL }, 64, "invalid PID" },
	};
	const char *out = test_path("usage.out");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[10] = { LOCKSCOPE, "top" };
		int n = 2;

		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = cases[i].args[k];
		assert_int_equal(run(argv, out, NULL), cases[i].status);
		if (!strstr(slurp(out), cases[i].says))
			fail_msg("lockscope top: case %zu: \"%s\" not in:\n%s", i, cases[i].says,
				 slurp(out));
	}
	if (!bpf_unavailable()) {
		char *argv[] = { LOCKSCOPE, "top", "-p", "4194000", NULL };

		assert_int_equal(run(argv, out, NULL), 1);
		assert_non_null(strstr(slurp(out), "no process with PID 4194000"));
	}
}

/*
 * -o: the lines appended to a file, the launched command's own output left on stdout; a file
 * reached through a symbolic link is refused
 */
static void test_output_file(void **state)
{
	char file[256], link[256], out[256];
	char *argv[] = { LOCKSCOPE, "top",     "-i", "0.2",
			 "-f",	    "json",    "-o", file,
			 "--",	    "/bin/sh", "-c", "echo from-the-command; sleep 0.5",
			 NULL };
	char *linked[] = { LOCKSCOPE, "top", "-o", link, "--", "/bin/true", NULL };
	struct lines ls;
	int first;

	SKIP_WITHOUT_BPF();
	snprintf(file, sizeof(file), "%s", test_path("out.jsonl"));
	snprintf(link, sizeof(link), "%s", test_path("out.link"));
	snprintf(out, sizeof(out), "%s", test_path("out.txt"));
	assert_int_equal(run(argv, out, NULL), 0);
	assert_non_null(strstr(slurp(out), "from-the-command"));
	read_lines(file, &ls); /* every line a JSON object: nothing of the command's */
	first = ls.n;
	free_lines(&ls);
	assert_true(first >= 2);
	assert_int_equal(run(argv, out, NULL), 0);
	read_lines(file, &ls);
	assert_true(ls.n >= first + 2); /* appended */
	free_lines(&ls);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(run(linked, out, NULL), 1);
	assert_non_null(strstr(slurp(out), "cannot open"));
}

static int teardown(void **state)
{
	if (nr_all > 0)
		pythons_free(all_pythons, nr_all);
	return test_dir_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		{ "mutex", test_workload, NULL, NULL, (void *)&workloads[0] },
		{ "gil", test_workload, NULL, NULL, (void *)&workloads[1] },
		{ "io", test_workload, NULL, NULL, (void *)&workloads[2] },
		{ "procs", test_workload, NULL, NULL, (void *)&workloads[3] },
		cmocka_unit_test_teardown(test_python_gil, kill_child),
		cmocka_unit_test_teardown(test_attach_later_threads, kill_child),
		cmocka_unit_test(test_evicted),
		cmocka_unit_test(test_output_file),
		cmocka_unit_test_teardown(test_screen, tmux_teardown),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("lockscope top (root + BPF)", tests, test_dir_setup,
					   teardown);
}
