// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * report --format chrome: the Trace Event Format written as the analysis streams. Each export is
 * checked as JSON, then read back event by event: each thread's slices against its states, the
 * flow arrows against the hand-offs counted, on synthetic streams and on a real recording.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "jsoncheck.h"
#include "render_chrome.h"
#include "synth.h"
#include "testutil.h"

/* One event read back. Times in ns, from the exact decimal microseconds written. */
struct event {
	char ph;
	char name[32];
	long long pid, tid, id;
	__u64 ts, dur;
	bool has_dur, bp_e;
	char lock[32];	    /* args.lock */
	char lock_name[96]; /* args.name */
	long long busy;	    /* args.threads of the busy counter, -1 if absent */
};

struct export
{
	char *text;
	struct event *ev;
	size_t nr;
};

static const char *read_string(const char *p, char *buf, size_t len)
{
	size_t n = 0;

	assert_int_equal(*p++, '"');
	for (; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (n + 1 < len)
			buf[n++] = *p;
	}
	buf[n] = '\0';
	return p + 1;
}

/* "12.345" microseconds as ns, exactly: at most three decimals */
static const char *read_ns(const char *p, __u64 *ns)
{
	char *end;
	unsigned long long us = strtoull(p, &end, 10), frac = 0;
	int digits = 0;

	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++, digits++)
			frac = frac * 10 + (*end - '0');
	assert_true(digits <= 3);
	while (digits++ < 3)
		frac *= 10;
	*ns = us * 1000 + frac;
	return end;
}

/* The string values kept: name, and args.lock and args.name of lock-wait slices */
static char *string_field(struct event *e, const char *key, bool args, size_t *len)
{
	if (!args && !strcmp(key, "name")) {
		*len = sizeof(e->name);
		return e->name;
	}
	if (args && !strcmp(key, "name")) {
		*len = sizeof(e->lock_name);
		return e->lock_name;
	}
	if (args && !strcmp(key, "lock")) {
		*len = sizeof(e->lock);
		return e->lock;
	}
	return NULL;
}

static const char *read_object(const char *p, struct event *e, bool args)
{
	char key[32], value[128], *dst;
	size_t len;

	assert_int_equal(*p++, '{');
	while (*p != '}') {
		p = read_string(p, key, sizeof(key));
		assert_int_equal(*p++, ':');
		if (*p == '{') {
			p = read_object(p, e, !strcmp(key, "args"));
		} else if (*p == '"') {
			dst = string_field(e, key, args, &len);
			p = read_string(p, dst ? dst : value, dst ? len : sizeof(value));
			if (!strcmp(key, "ph"))
				e->ph = value[0];
			if (!strcmp(key, "bp"))
				e->bp_e = !strcmp(value, "e");
		} else if (!strcmp(key, "ts")) {
			p = read_ns(p, &e->ts);
		} else if (!strcmp(key, "dur")) {
			p = read_ns(p, &e->dur);
			e->has_dur = true;
		} else {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (!strcmp(key, "pid"))
				e->pid = v;
			else if (!strcmp(key, "tid"))
				e->tid = v;
			else if (!strcmp(key, "id"))
				e->id = v;
			else if (!strcmp(key, "threads"))
				e->busy = v;
			p = end;
		}
		p = jc_ws(p);
		if (*p == ',')
			p = jc_ws(p + 1);
	}
	return p + 1;
}

/* The events of a valid export, in file order. */
static void read_export(struct export *x)
{
	const char *p = strstr(x->text, "\"traceEvents\":[");
	size_t cap = 0;

	assert_true(json_valid(x->text));
	assert_non_null(p);
	p = jc_ws(p + strlen("\"traceEvents\":["));
	while (*p == '{') {
		if (x->nr == cap) {
			cap = cap ? 2 * cap : 64;
			x->ev = realloc(x->ev, cap * sizeof(*x->ev));
			assert_non_null(x->ev);
		}
		x->ev[x->nr] = (struct event){ .pid = -1, .tid = -1, .id = -1, .busy = -1 };
		p = jc_ws(read_object(p, &x->ev[x->nr++], false));
		if (*p == ',')
			p = jc_ws(p + 1);
	}
	assert_int_equal(*p, ']');
}

static void export_free(struct export *x)
{
	free(x->text);
	free(x->ev);
}

/* A synthetic scenario, exported as it is fed. */
static struct ls_analysis *export_scenario(struct ls_analysis *(*scenario)(void), struct export *x)
{
	size_t len = 0;
	FILE *f = open_memstream(&x->text, &len);
	struct ls_chrome *c = ls_chrome_new(f);
	struct ls_analysis *a;

	assert_non_null(c);
	synth_observer = ls_chrome_observer(c);
	a = scenario();
	synth_observer = NULL;
	assert_int_equal(ls_chrome_finish(c, a), 0);
	ls_chrome_free(c);
	fclose(f);
	read_export(x);
	return a;
}

static size_t count(const struct export *x, char ph, long long tid)
{
	size_t n = 0;

	for (size_t i = 0; i < x->nr; i++)
		n += x->ev[i].ph == ph && (tid < 0 || x->ev[i].tid == tid);
	return n;
}

static int state_of(const char *name)
{
	for (int s = 0; s < LS_ST_NR; s++)
		if (!strcmp(name, ls_state_name(s)))
			return s;
	fail_msg("slice named %s: not a state", name);
	return -1;
}

/*
 * Every thread's slices: one after the other from its start, no gap, no overlap, summing to its
 * lifetime, each state to the analysis's total for it, to the ns.
 */
static void check_slices(const struct ls_analysis *a, const struct export *x)
{
	const struct ls_thread *t;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		__u64 by_state[LS_ST_NR] = { 0 }, sum = 0, next = t->start - a->start_ns;

		for (size_t i = 0; i < x->nr; i++) {
			const struct event *e = &x->ev[i];

			if (e->ph != 'X' || e->tid != t->tid)
				continue;
			assert_int_equal(e->pid, t->tgid);
			assert_true(e->has_dur && e->dur > 0);
			assert_int_equal(e->ts, next);
			next = e->ts + e->dur;
			by_state[state_of(e->name)] += e->dur;
			sum += e->dur;
		}
		if (sum != ls_thread_lifetime(a, t))
			print_message("thread %u: slices %llu ns, lifetime %llu ns\n", t->tid,
				      (unsigned long long)sum,
				      (unsigned long long)ls_thread_lifetime(a, t));
		assert_int_equal(sum, ls_thread_lifetime(a, t));
		for (int s = 0; s < LS_ST_NR; s++)
			assert_int_equal(by_state[s], t->state_ns[s]);
	}
}

/*
 * One flow per hand-off counted: as many starts as ends as the hand-off matrix holds, each id
 * started once and ended once, the end bound to its enclosing slice and written after it (the
 * slice starts at the same time, and a viewer takes events at equal times in file order).
 */
static void check_flows(const struct ls_analysis *a, const struct export *x)
{
	const struct ls_handoff *h;
	const struct ls_lock *l;
	__u64 matrix = 0, by_lock = 0;
	size_t pos = 0, starts = count(x, 's', -1), ends = count(x, 'f', -1);

	while ((h = ls_htab_next(&a->handoffs, &pos)))
		matrix += h->count;
	pos = 0;
	while ((l = ls_htab_next(&a->locks, &pos)))
		by_lock += l->handoffs;
	assert_int_equal(matrix, by_lock);
	assert_int_equal(starts, matrix);
	assert_int_equal(ends, matrix);
	for (size_t i = 0; i < x->nr; i++) {
		const struct event *f = &x->ev[i];
		size_t nr_starts = 0;
		bool after_slice = false;

		if (f->ph != 'f')
			continue;
		assert_true(f->bp_e);
		for (size_t j = 0; j < x->nr; j++) {
			const struct event *e = &x->ev[j];

			nr_starts += e->ph == 's' && e->id == f->id;
			if (e->ph == 'X' && e->tid == f->tid && e->ts <= f->ts &&
			    f->ts < e->ts + e->dur)
				after_slice = j < i;
		}
		assert_int_equal(nr_starts, 1);
		/* but a waiter that gets its CPU as the window closes has no slice left */
		assert_true(after_slice || f->ts == a->end_ns - a->start_ns);
	}
}

/* Times in ns from the window's start */
static const struct event *slice_at(const struct export *x, long long tid, __u64 ts)
{
	for (size_t i = 0; i < x->nr; i++)
		if (x->ev[i].ph == 'X' && x->ev[i].tid == tid && x->ev[i].ts == ts)
			return &x->ev[i];
	fail_msg("no slice of thread %lld at %llu ns", tid, (unsigned long long)ts);
	return NULL;
}

static void expect_slice(const struct export *x, long long tid, __u64 from, __u64 to,
			 const char *name)
{
	const struct event *e = slice_at(x, tid, from);

	assert_string_equal(e->name, name);
	assert_int_equal(e->dur, to - from);
}

/* The ping-pong (synth.h): each slice, the one flow, the counter, the names. */
static void test_ping_pong(void **state)
{
	struct export x = { 0 };
	struct ls_analysis *a = export_scenario(scenario_ping_pong, &x);
	const struct event *s = NULL, *f = NULL;
	__u64 busy_ts[8];
	long long busy[8];
	size_t nr_busy = 0;

	expect_slice(&x, 11, 0 * US, 10 * US, "runnable");
	expect_slice(&x, 11, 10 * US, 120 * US, "running");
	expect_slice(&x, 12, 0 * US, 10 * US, "runnable");
	expect_slice(&x, 12, 10 * US, 20 * US, "running");
	expect_slice(&x, 12, 20 * US, 50 * US, "lock-wait");
	expect_slice(&x, 12, 50 * US, 60 * US, "runnable");
	expect_slice(&x, 12, 60 * US, 120 * US, "running");
	assert_int_equal(count(&x, 'X', 11), 2);
	assert_int_equal(count(&x, 'X', 12), 5);
	assert_string_equal(slice_at(&x, 12, 20 * US)->lock, "0x5000");
	assert_string_equal(slice_at(&x, 12, 20 * US)->lock_name, "0x5000"); /* no memory map */
	assert_string_equal(slice_at(&x, 12, 10 * US)->lock, "");
	for (size_t i = 0; i < x.nr; i++) {
		if (x.ev[i].ph == 's')
			s = &x.ev[i];
		if (x.ev[i].ph == 'f')
			f = &x.ev[i];
		if (x.ev[i].ph == 'C' && nr_busy < 8) {
			assert_string_equal(x.ev[i].name, "busy");
			assert_int_equal(x.ev[i].pid, 10);
			busy_ts[nr_busy] = x.ev[i].ts;
			busy[nr_busy++] = x.ev[i].busy;
		}
	}
	/* 11 wakes X at 50; 12 gets onto a CPU at 60 */
	assert_non_null(s);
	assert_non_null(f);
	assert_int_equal(s->id, f->id);
	assert_int_equal(s->tid, 11);
	assert_int_equal(s->ts, 50 * US);
	assert_int_equal(f->tid, 12);
	assert_int_equal(f->ts, 60 * US);
	/* busy(t): 0, then 2 at 10 (the 1 at the same instant left out), 1 at 20, 2 at 60 to 120 */
	assert_int_equal(nr_busy, 5);
	assert_int_equal(busy_ts[0], 0);
	assert_int_equal(busy[0], 0);
	assert_int_equal(busy_ts[1], 10 * US);
	assert_int_equal(busy[1], 2);
	assert_int_equal(busy_ts[2], 20 * US);
	assert_int_equal(busy[2], 1);
	assert_int_equal(busy_ts[3], 60 * US);
	assert_int_equal(busy[3], 2);
	assert_int_equal(busy_ts[4], 120 * US);
	assert_int_equal(busy[4], 2);
	assert_int_equal(count(&x, 'M', 11), 1);
	assert_int_equal(count(&x, 'M', 12), 1);
	assert_int_equal(count(&x, 'M', -1), 3); /* and process 10, named after a thread */
	assert_non_null(strstr(x.text, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":10,"
				       "\"args\":{\"name\":\"worker\"}}"));
	check_slices(a, &x);
	check_flows(a, &x);
	export_free(&x);
	synth_free(a);
}

/* Threads taking turns: ten hand-offs, each with its arrow; every slice sums up. */
static void test_turns(void **state)
{
	struct export x = { 0 };
	struct ls_analysis *a = export_scenario(scenario_turns, &x);

	assert_int_equal(lock(a, 60, SYNTH_X)->handoffs, 10);
	assert_int_equal(count(&x, 's', -1), 10);
	check_slices(a, &x);
	check_flows(a, &x);
	export_free(&x);
	synth_free(a);
}

static struct ls_analysis *gil_probes(void)
{
	return gil_turns(LS_GIL_SRC_PROBES);
}

/* Waits on the GIL's condition are gil-wait slices, named after the GIL's word. */
static void test_gil_wait(void **state)
{
	struct export x = { 0 };
	struct ls_analysis *a = export_scenario(gil_probes, &x);

	expect_slice(&x, 92, 10 * US, 60 * US, "gil-wait");
	expect_slice(&x, 92, 61 * US, 100 * US, "gil-wait");
	expect_slice(&x, 91, 150 * US, 200 * US, "gil-wait");
	assert_string_equal(slice_at(&x, 92, 61 * US)->lock_name, "GIL cond+40");
	assert_int_equal(thread(a, 92)->state_ns[LS_ST_GIL_WAIT], (50 + 39) * US);
	check_slices(a, &x);
	check_flows(a, &x);
	export_free(&x);
	synth_free(a);
}

/*
 * A recording cut short while threads wait (no wait record names their lock), with more threads
 * than have timeline lanes: their last slices are written all the same, and the JSON is whole.
 * Thread 1000 + i is born at i ns, runs from 2 us + i to 5 us + i, then waits, in a futex for
 * odd i; thread 1000 is switched in at 100 us, the last record.
 */
#define MANY (LS_TL_THREADS + 8)

static struct ls_analysis *cut_in_wait(void)
{
	struct ls_analysis *a = synth_start(2);

	for (__u32 i = 0; i < MANY; i++) {
		__u32 tid = 1000 + i;

		task_new(a, tid, 10, T0 + i);
		sw(a, T0 + 2 * US + i, 0, tid, 0, false, 0, 0);
		sw_full(a, T0 + 5 * US + i, tid, 0, 1, i % 2 ? SW_FUTEX : 0, 1, 0);
	}
	sw(a, T0 + 100 * US, 0, 1000, 0, false, 0, 0);
	ls_analysis_finish(a); /* not complete: the window ends at the last record */
	return a;
}

/* GIL-wait slices name the waiter's and the holder's Python functions; samples are instants */
static void test_python(void **state)
{
	struct export x = { 0 };
	struct ls_analysis *a = export_scenario(scenario_python, &x);

	check_slices(a, &x);
	assert_non_null(strstr(x.text, "\"python\":\"Worker.run (/srv/app.py:10)\","
				       "\"holder_python\":\"compute (/srv/app.py:20)\""));
	assert_non_null(strstr(x.text, "\"python\":\"io_step (/srv/lib/io.py:30)\","
				       "\"holder_python\":\"Worker.run (/srv/app.py:10)\""));
	assert_int_equal(count(&x, 'i', -1), 10);
	assert_int_equal(count(&x, 'i', 91), 6);
	assert_non_null(strstr(x.text, "{\"ph\":\"i\",\"name\":\"compute (/srv/app.py:20)\","
				       "\"cat\":\"python\",\"s\":\"t\",\"pid\":90,\"tid\":91,"
				       "\"ts\":1000.000,\"args\":{\"gil_held\":1,\"frames\":3}}"));
	/* its samples' frames had no function of its process: never named */
	assert_non_null(strstr(x.text, "{\"ph\":\"i\",\"name\":\"[unknown]\""));
	export_free(&x);
	synth_free(a);
}

static void test_cut_short_many_threads(void **state)
{
	struct export x = { 0 };
	struct ls_analysis *a = export_scenario(cut_in_wait, &x);
	__u32 i = MANY - 1, last = 1000 + i;

	assert_int_equal(a->threads.nr, MANY);
	assert_null(thread(a, last)->timeline); /* beyond the lanes */
	assert_int_equal(a->end_ns, T0 + 100 * US);
	expect_slice(&x, last, i, 2 * US + i, "runnable");
	expect_slice(&x, last, 2 * US + i, 5 * US + i, "running");
	expect_slice(&x, last, 5 * US + i, 100 * US, "lock-wait");
	assert_string_equal(slice_at(&x, last, 5 * US + i)->lock, ""); /* no record named it */
	expect_slice(&x, last - 1, 5 * US + i - 1, 100 * US, "other-wait");
	expect_slice(&x, 1000, 5 * US, 100 * US, "other-wait");
	assert_int_equal(count(&x, 'X', 1000), 3); /* running from 100 us to the end: empty */
	check_slices(a, &x);
	check_flows(a, &x);
	export_free(&x);
	synth_free(a);
}

/* A whole file, NUL-terminated; the caller frees it. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[65536];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)))
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

/*
 * A real recording (root + BPF): four threads taking turns on a mutex. Exported in this process,
 * read back against the analysis; and `lockscope report --format chrome` writes the same bytes.
 */
static void test_recording(void **state)
{
	char *argv[] = { LOCKSCOPE,
			 "record",
			 "-o",
			 (char *)test_path("mutex.data"),
			 "--",
			 WORKLOAD("mutex"),
			 "--threads",
			 "4",
			 "--iterations",
			 "200",
			 "--hold-us",
			 "100",
			 "--think-us",
			 "20",
			 NULL };
	char *report[] = {
		LOCKSCOPE, "report", "--format", "chrome", (char *)test_path("mutex.data"), NULL
	};
	struct export x = { 0 };
	struct ls_analysis a;
	struct ls_chrome *c;
	size_t len = 0, named = 0;
	char err[256], *cli;
	FILE *in, *out;

	SKIP_WITHOUT_BPF();
	assert_int_equal(run(argv, test_path("record.out"), NULL), 0);
	in = fopen(test_path("mutex.data"), "r");
	assert_non_null(in);
	out = open_memstream(&x.text, &len);
	c = ls_chrome_new(out);
	assert_int_equal(ls_analyze_file_observed(in, &a, ls_chrome_observer(c), err, sizeof(err)),
			 0);
	fclose(in);
	assert_int_equal(ls_chrome_finish(c, &a), 0);
	ls_chrome_free(c);
	fclose(out);
	read_export(&x);
	assert_int_equal(a.threads.nr, 5);
	for (size_t i = 0; i < x.nr; i++)
		named += !strcmp(x.ev[i].name, "lock-wait") && x.ev[i].lock[0];
	print_message("  %zu events, %zu hand-offs, %zu lock-wait slices named\n", x.nr,
		      count(&x, 'f', -1), named);
	/* 4 x 200 turns on one mutex: 70 to 240 of them hand-offs here, fewer under ASan */
	assert_true(count(&x, 'f', -1) > 10);
	assert_true(named > 10);
	check_slices(&a, &x);
	check_flows(&a, &x);
	assert_int_equal(run(report, test_path("mutex.json"), NULL), 0);
	cli = read_file(test_path("mutex.json"));
	assert_string_equal(cli, x.text);
	free(cli);
	export_free(&x);
	ls_analysis_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong), cmocka_unit_test(test_turns),
		cmocka_unit_test(test_gil_wait),  cmocka_unit_test(test_cut_short_many_threads),
		cmocka_unit_test(test_recording), cmocka_unit_test(test_python),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("chrome trace export", tests, test_dir_setup,
					   test_dir_teardown);
}
