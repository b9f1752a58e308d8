// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Python stacks read in the kernel (record --python-stacks, on by default), end to end, on every
 * interpreter `make pythons` listed, each a test of its own: a script whose threads spin in
 * inner() called from outer() (one through a method, for a qualified name), attached to with -p
 * and launched under record --; the trace's LS_REC_PY_* records, parsed here, must say the stacks
 * are read (LS_REC_PY_STATUS), hold sampled stacks in inner (file and line right, outer below),
 * some of them holding the GIL, and GIL waiters with their holder's stack in inner. Needs root
 * and BPF; each test skips, saying why, where it cannot run.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "trace.h"
#include "testutil.h"
#include "child.h"
#include "pythons.h"

/* The script, compiled under SCRIPT_FILE: its frames name that file wherever it runs */
#define SCRIPT_FILE   "/lockscope-test/pystacks.py"
#define INNER_FIRST   3 /* inner's lines */
#define INNER_LAST    4
#define OUTER_LINE    7
#define CONSUMER_LINE 15 /* its q.get() */
#define SCRIPT                                                                                     \
	"import queue, sys, threading, time\n" /* 1 */                                             \
	"\n"				       /* 2 */                                             \
	"def inner():\n"		       /* 3 */                                             \
	"    while True: pass\n"	       /* 4 */                                             \
	"\n"				       /* 5 */                                             \
	"def outer():\n"		       /* 6 */                                             \
	"    inner()\n"			       /* 7 */                                             \
	"\n"				       /* 8 */                                             \
	"class Spinner:\n"		       /* 9 */                                             \
	"    def run(self):\n"		       /* 10 */                                            \
	"        outer()\n"		       /* 11 */                                            \
	"\n"				       /* 12 */                                            \
	"def consumer(q):\n"		       /* 13 */                                            \
	"    while True:\n"		       /* 14 */                                            \
	"        try: q.get(timeout=0.05)\n"   /* 15 */                                            \
	"        except Exception: pass\n"     /* 16 */                                            \
	"\n"				       /* 17 */                                            \
	"for _ in range(2): threading.Thread(target=outer, daemon=True).start()\n"                 \
	"threading.Thread(target=Spinner().run, daemon=True).start()\n"                            \
	"threading.Thread(target=consumer, args=(queue.Queue(),), daemon=True).start()\n"          \
	"print('ready', flush=True)\n"                                                             \
	"time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 600)\n"
#define BOOT                                                                                       \
	"exec(compile("                                                                            \
	"'''" SCRIPT "'''"                                                                         \
	", '" SCRIPT_FILE "', 'exec'))"

#define FUNCS_MAX 4096

struct func {
	char name[256], file[256];
	int firstlineno;
	__u32 tgid;
};

/* What a trace says of Python stacks in process tgid */
struct pytrace {
	__u32 tgid;
	bool have_status;
	int err;
	__u32 hexversion, sample_hz;
	char why[256];
	struct func funcs[FUNCS_MAX + 1]; /* by id */
	int stacks[5];			  /* by kind */
	int sampled_inner;	    /* LS_PY_SAMPLED, innermost inner (file, line), outer below */
	int sampled_held;	    /* ... holding the GIL */
	int qualified;		    /* a stack through Spinner.run (run before 3.11) */
	int waiters, holders_inner; /* GIL waiters; holder stacks in inner, of a waiter */
	int consumer_waits;	    /* LS_PY_LOCK_WAITER stacks in a queue.get of the consumer */
	int unresolved;		    /* frames */
	__u64 last_waiter_ts;
	__u32 last_waiter_tid;
};

static const struct func *func_of(const struct pytrace *t, __u32 id)
{
	return id && id <= FUNCS_MAX && t->funcs[id].file[0] ? &t->funcs[id] : NULL;
}

/* frames[0] is inner, in the script, on one of its lines; frames[1] outer, calling it */
static bool in_inner(const struct pytrace *t, const struct ls_py_stack *st)
{
	const struct func *f0, *f1;

	if (st->nr < 2)
		return false;
	f0 = func_of(t, st->frames[0].func);
	f1 = func_of(t, st->frames[1].func);
	return f0 && f1 && !strcmp(f0->name, "inner") && !strcmp(f0->file, SCRIPT_FILE) &&
	       st->frames[0].line >= INNER_FIRST && st->frames[0].line <= INNER_LAST &&
	       f0->firstlineno == INNER_FIRST && !strcmp(f1->name, "outer") &&
	       st->frames[1].line == OUTER_LINE;
}

static void on_stack(struct pytrace *t, const struct ls_py_stack *st)
{
	/* the method's name: qualified where the version has qualnames (3.11+) */
	const char *method = ((t->hexversion >> 16) & 0xff) >= 11 ? "Spinner.run" : "run";

	if (st->kind < 5)
		t->stacks[st->kind]++;
	for (int i = 0; i < st->nr; i++) {
		const struct func *f = func_of(t, st->frames[i].func);

		if (!f)
			t->unresolved++;
		else if (st->kind == LS_PY_SAMPLED && !strcmp(f->name, method) &&
			 !strcmp(f->file, SCRIPT_FILE))
			t->qualified++;
	}
	if (st->kind == LS_PY_LOCK_WAITER && st->nr >= 2) {
		/* innermost, queue.get's wait in threading.py; below, the script's consumer */
		const struct func *top = func_of(t, st->frames[0].func), *f;

		for (int i = 1; top && strcmp(top->file, SCRIPT_FILE) && i < st->nr; i++) {
			f = func_of(t, st->frames[i].func);
			if (f && !strcmp(f->name, "consumer") && !strcmp(f->file, SCRIPT_FILE) &&
			    st->frames[i].line == CONSUMER_LINE) {
				t->consumer_waits++;
				break;
			}
		}
	}
	if (st->kind == LS_PY_SAMPLED && in_inner(t, st)) {
		t->sampled_inner++;
		t->sampled_held += st->gil_held;
	}
	if (st->kind == LS_PY_GIL_WAITER) {
		t->waiters++;
		t->last_waiter_ts = st->ts;
		t->last_waiter_tid = st->hdr.tid;
	}
	/* the holder's stack follows its waiter's, read at the same instant */
	if (st->kind == LS_PY_GIL_HOLDER && st->waiter_tid == t->last_waiter_tid &&
	    st->ts == t->last_waiter_ts && in_inner(t, st))
		t->holders_inner++;
}

/* Read path's LS_REC_PY_* records about process t->tgid into t. */
static void read_trace(const char *path, struct pytrace *t)
{
	const struct ls_rec_hdr *h;
	enum ls_read_status rs;
	struct ls_reader r;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_int_equal(ls_reader_open(&r, f), 0);
	while ((rs = ls_reader_next(&r, &h)) == LS_READ_RECORD) {
		if (h->type == LS_REC_PY_STATUS && h->tid == t->tgid) {
			const struct ls_py_status *s = (const void *)h;

			t->have_status = true;
			t->err = s->err;
			t->hexversion = s->hexversion;
			t->sample_hz = s->sample_hz;
			snprintf(t->why, sizeof(t->why), "%s", s->why);
		} else if (h->type == LS_REC_PY_FUNC && h->tid == t->tgid) {
			const struct ls_py_func *pf = (const void *)h;

			assert_true(pf->id > 0);
			if (pf->id > FUNCS_MAX)
				continue;
			assert_int_equal(t->funcs[pf->id].file[0], 0); /* once per function */
			snprintf(t->funcs[pf->id].name, sizeof(t->funcs[0].name), "%.*s",
				 (int)pf->name_len, pf->strs);
			snprintf(t->funcs[pf->id].file, sizeof(t->funcs[0].file), "%.*s",
				 (int)pf->file_len, pf->strs + pf->name_len);
			t->funcs[pf->id].firstlineno = pf->firstlineno;
			t->funcs[pf->id].tgid = h->tid;
		} else if (h->type == LS_REC_PY_STACK) {
			const struct ls_py_stack *st = (const void *)h;

			if (st->tgid != t->tgid)
				continue;
			for (int i = 0; i < st->nr; i++) /* named before it is used */
				assert_true(!st->frames[i].func || func_of(t, st->frames[i].func));
			on_stack(t, st);
		}
	}
	assert_int_equal(rs, LS_READ_END);
	ls_reader_close(&r);
	fclose(f);
}

static void print_trace(const char *label, const char *how, const struct pytrace *t)
{
	print_message("  %s, %s: status %d%s%s (3.%d, %u Hz) | sampled %d (in inner %d, %d "
		      "holding the GIL, %d through the method) | GIL waiters %d, holders %d (in "
		      "inner %d) | lock waiters %d (%d in consumer's get) | %d frames "
		      "unresolved\n",
		      label, how, t->err, t->err ? ": " : "", t->why, (t->hexversion >> 16) & 0xff,
		      t->sample_hz, t->stacks[LS_PY_SAMPLED], t->sampled_inner, t->sampled_held,
		      t->qualified, t->waiters, t->stacks[LS_PY_GIL_HOLDER], t->holders_inner,
		      t->stacks[LS_PY_LOCK_WAITER], t->consumer_waits, t->unresolved);
}

/* What every recording of the script must show */
static void check_trace(const struct pytrace *t)
{
	assert_true(t->have_status);
	if (t->err) {
		/* not available: the report prints why, so there must be a reason */
		assert_true(strlen(t->why) > 10);
		fail_msg("Python stacks unavailable: %s", t->why);
	}
	assert_int_equal(t->sample_hz, 100);
	/* 3 spinners on 2 CPUs for over a second at 100 Hz: dozens of samples */
	assert_true(t->sampled_inner >= 10);
	assert_true(t->sampled_held > 0);
	assert_true(t->qualified > 0);
	assert_true(t->holders_inner > 0);
	/* the consumer's get waits 20 times a second on its queue's lock */
	assert_true(t->consumer_waits > 0);
}

/* The interpreter of the list, or a skip saying why it cannot run */
static void need(const struct python *py)
{
	SKIP_WITHOUT_BPF();
	if (access(py->argv[0][0] == '/' ? py->argv[0] : "/usr/sbin/chroot", X_OK)) {
		print_message("SKIP: %s is missing: run sudo make pythons\n", py->argv[0]);
		skip();
	}
}

/* Attached to with -p once its threads spin */
static void check_attach(struct python *py)
{
	char pid[16];
	char *rec[] = { LOCKSCOPE, "record", "-d", "2", "-o", (char *)test_path("a.data"),
			"-p",	   pid,	     NULL };
	static struct pytrace t;
	char ready[256];
	pid_t p;

	py->argv[py->nr + 2] = NULL; /* until killed */
	p = start_child(py->argv, ready, sizeof(ready), "ready");
	if (p < 0)
		fail_msg("%s did not start, or said no ready line", py->label);
	snprintf(pid, sizeof(pid), "%d", p);
	assert_int_equal(run(rec, test_path("a.out"), NULL), 0);
	kill_child(NULL);
	memset(&t, 0, sizeof(t));
	t.tgid = p;
	read_trace(test_path("a.data"), &t);
	print_trace(py->label, "attached", &t);
	check_trace(&t);
}

/* Launched under record --, for 2 s: the interpreter is found, and its stacks read, from its
 * start */
static void check_launch(struct python *py)
{
	char *rec[PY_WORDS + 10] = { LOCKSCOPE, "record", "-o", (char *)test_path("l.data"), "--" };
	const struct ls_rec_hdr *h;
	static struct pytrace t;
	struct ls_reader r;
	int n = 5;
	FILE *f;

	for (int w = 0; w < py->nr + 2; w++)
		rec[n++] = py->argv[w];
	rec[n++] = "2";
	assert_int_equal(run(rec, test_path("l.out"), NULL), 0);
	/* the launched process: the header's target, or a process it exec'd (chroot) */
	memset(&t, 0, sizeof(t));
	f = fopen(test_path("l.data"), "r");
	assert_non_null(f);
	assert_int_equal(ls_reader_open(&r, f), 0);
	while (ls_reader_next(&r, &h) == LS_READ_RECORD)
		if (h->type == LS_REC_PY_STATUS && !t.tgid)
			t.tgid = h->tid;
	ls_reader_close(&r);
	fclose(f);
	if (!t.tgid)
		fail_msg("no Python stacks' status in the launched recording: %s",
			 slurp(test_path("l.out")));
	read_trace(test_path("l.data"), &t);
	print_trace(py->label, "launched", &t);
	check_trace(&t);
}

static void test_interpreter(void **state)
{
	need(*state);
	check_attach(*state);
	kill_child(NULL);
	check_launch(*state);
}

#define PYENV_311 "/root/.pyenv/versions/3.11.7/bin/python3.11"

/* --python-stacks=off: no interpreter's stacks are read, and no status is written */
static void test_off(void **state)
{
	char *rec[] = { LOCKSCOPE,
			"record",
			"--python-stacks=off",
			"-o",
			(char *)test_path("o.data"),
			"--",
			PYENV_311,
			"-c",
			BOOT,
			"1",
			NULL };
	const struct ls_rec_hdr *h;
	struct ls_reader r;
	int py = 0;
	FILE *f;

	(void)state;
	SKIP_WITHOUT_BPF();
	if (access(PYENV_311, X_OK)) {
		print_message("SKIP: %s is not installed\n", PYENV_311);
		skip();
	}
	assert_int_equal(run(rec, test_path("o.out"), NULL), 0);
	f = fopen(test_path("o.data"), "r");
	assert_non_null(f);
	assert_int_equal(ls_reader_open(&r, f), 0);
	while (ls_reader_next(&r, &h) == LS_READ_RECORD)
		py += h->type == LS_REC_PY_STATUS || h->type == LS_REC_PY_STACK ||
		      h->type == LS_REC_PY_FUNC;
	ls_reader_close(&r);
	fclose(f);
	assert_int_equal(py, 0);
	assert_null(strstr(slurp(test_path("o.out")), "Python stacks"));
}

int main(void)
{
	struct python *py = NULL;
	struct CMUnitTest *tests;
	int n = pythons_load(&py, BOOT), nt = 0, ret;

	setvbuf(stdout, NULL, _IONBF, 0);
	tests = calloc((n > 0 ? n : 1) + 1, sizeof(*tests));
	if (!tests)
		return 1;
	if (n < 0)
		tests[nt++] = (struct CMUnitTest)cmocka_unit_test(pythons_no_list);
	for (int i = 0; i < n; i++)
		tests[nt++] = (struct CMUnitTest){ .name = py[i].label,
						   .test_func = test_interpreter,
						   .teardown_func = kill_child,
						   .initial_state = &py[i] };
	tests[nt++] = (struct CMUnitTest)cmocka_unit_test(test_off);
	ret = _cmocka_run_group_tests("Python stacks (root + BPF)", tests, nt, test_dir_setup,
				      test_dir_teardown);
	free(tests);
	pythons_free(py, n);
	return ret;
}
