// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "analyze.h"
#include "gil.h"

void ls_gil_word_label(__u64 off, char *buf, size_t len)
{
	/* a condition variable has several futex words (glibc: two signal words, an internal
	 * lock): each gets its own name, by its offset in the condition */
	if (off >= LS_GIL_COND_LO && off < LS_GIL_COND_HI)
		snprintf(buf, len, "GIL cond+%llu", (unsigned long long)(off - LS_GIL_COND_LO));
	else if (off >= LS_GIL_MUTEX && off < LS_GIL_MUTEX + 40)
		snprintf(buf, len, "GIL mutex");
	else if (off >= LS_GIL_SWITCH_LO && off < LS_GIL_SWITCH_HI)
		snprintf(buf, len, "GIL switch_cond+%llu",
			 (unsigned long long)(off - LS_GIL_SWITCH_LO));
	else
		snprintf(buf, len, "GIL+0x%llx", (unsigned long long)off);
}

const char *ls_gil_word_name(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			     size_t len)
{
	const struct ls_gil *g = ls_htab_find(&a->gils, &tgid);

	if (!g || !g->addr || uaddr < g->addr || uaddr >= g->addr + LS_GIL_SIZE)
		return NULL;
	ls_gil_word_label(uaddr - g->addr, buf, len);
	return buf;
}

const char *ls_gil_source_name(enum ls_gil_source source)
{
	switch (source) {
	case LS_GIL_SRC_NONE:
		break;
	case LS_GIL_SRC_PROBES:
		return "probes";
	case LS_GIL_SRC_FUTEX:
		return "inferred";
	case LS_GIL_SRC_DISABLED:
		return "disabled";
	}
	return "?";
}

static struct ls_gil *gil_of(struct ls_analysis *a, __u32 tgid)
{
	return ls_htab_find(&a->gils, &tgid);
}

static struct ls_thread_gil *thread_gil(struct ls_thread *t)
{
	if (!t->gil)
		t->gil = calloc(1, sizeof(*t->gil));
	return t->gil;
}

int ls_gil_on_info(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_gil_info *in = (const void *)rec;
	bool created;
	struct ls_gil *g = ls_htab_get(&a->gils, &rec->tid, &created);

	if (!g)
		return -ENOMEM;
	if (created) {
		g->idle_state = g->left_state = -1;
		g->phase_since = in->ts > a->start_ns ? in->ts : a->start_ns;
	}
	if (in->flags & LS_GIL_INFO_END) {
		g->switch_number_end = in->switch_number;
		g->have_end = true;
		return 0;
	}
	g->source = in->source;
	g->addr = in->gil_addr;
	g->interval_us = in->interval_us;
	g->version = in->version;
	g->switch_number_start = in->switch_number;
	g->have_start = in->gil_addr != 0;
	return 0;
}

int ls_gil_on_take(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_gil_call *e = (const void *)rec;
	struct ls_thread *t = ls_htab_find(&a->threads, &rec->tid);
	struct ls_thread_gil *tg;
	struct ls_gil *g;
	__u64 got;

	if (!t || !(g = gil_of(a, t->tgid)) || g->source != LS_GIL_SRC_PROBES)
		return 0;
	tg = thread_gil(t);
	if (!tg)
		return -ENOMEM;
	/*
	 * take_gil holds the GIL once its last wait returns; what it does after (signal the forced
	 * dropper, unlock its mutex) may wake that thread onto its CPU before it returns.
	 */
	got = tg->cond_exit >= e->ts_enter && tg->cond_exit < e->ts_exit ? tg->cond_exit
									 : e->ts_exit;
	/* the probes are attached before the window opens: count what falls inside it */
	if (got >= a->start_ns) {
		g->acquisitions++;
		ls_hist_add(&g->wait, got - e->ts_enter);
		ls_hist_add(&tg->wait, got - e->ts_enter);
		tg->wait_ns += got - e->ts_enter;
		tg->acquisitions++;
	}
	/* CPython's switch_number: a take by another thread than the last one */
	if (g->last_taker && g->last_taker != t->tid && got >= a->start_ns) {
		g->handoffs++;
		if (g->last_drop && got >= g->last_drop)
			ls_hist_add(&g->handoff_latency, got - g->last_drop);
	}
	g->last_taker = t->tid;
	g->holder = t->tid;
	g->held_since = got > a->start_ns ? got : a->start_ns;
	g->waiter_timed_out = false;
	return 0;
}

static void release(struct ls_gil *g, struct ls_thread_gil *tg, __u64 ts)
{
	__u64 held = ts > g->held_since ? ts - g->held_since : 0;

	ls_hist_add(&g->hold, held);
	g->held_ns += held;
	if (tg) {
		ls_hist_add(&tg->hold, held);
		tg->hold_ns += held;
	}
	g->forced += g->waiter_timed_out;
	g->holder = 0;
	g->last_drop = ts;
}

int ls_gil_on_drop(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_gil_call *e = (const void *)rec;
	struct ls_thread *t = ls_htab_find(&a->threads, &rec->tid);
	struct ls_gil *g;

	if (!t || !(g = gil_of(a, t->tgid)) || g->source != LS_GIL_SRC_PROBES)
		return 0;
	/*
	 * A drop with no take before it: the thread held the GIL as the window opened, or was in
	 * take_gil as its probes were attached (a call under way has no return probe). It has held
	 * the GIL since the last drop, or the window's start.
	 */
	if (!g->holder) {
		if (g->last_taker && g->last_taker != t->tid && g->last_drop >= a->start_ns)
			g->handoffs++;
		g->holder = g->last_taker = t->tid;
		g->held_since = g->last_drop > a->start_ns ? g->last_drop : a->start_ns;
	}
	if (g->holder != t->tid)
		return 0;
	release(g, thread_gil(t), e->ts_enter > a->start_ns ? e->ts_enter : a->start_ns);
	return 0;
}

static bool gil_word(const struct ls_gil *g, __u64 uaddr)
{
	return g && g->addr && uaddr >= g->addr && uaddr < g->addr + LS_GIL_SIZE;
}

static bool cond_word(const struct ls_gil *g, __u64 uaddr)
{
	return uaddr >= g->addr + LS_GIL_COND_LO && uaddr < g->addr + LS_GIL_COND_HI;
}

static bool switch_word(const struct ls_gil *g, __u64 uaddr)
{
	return uaddr >= g->addr + LS_GIL_SWITCH_LO && uaddr < g->addr + LS_GIL_SWITCH_HI;
}

static __u64 word_bit(const struct ls_gil *g, __u64 uaddr)
{
	return 1ULL << ((uaddr - g->addr) / 4 % 64);
}

static bool signal_word(const struct ls_gil *g, __u64 uaddr)
{
	return g->signal_words & word_bit(g, uaddr);
}

/*
 * Futex inference: the GIL is taken by thread t at ts. CPython counts a hand-off (switch_number)
 * when the taker is not the last holder; a take seen only through its drop (wait < 0: it did not
 * wait) is no contended acquisition, but may still be a hand-off. The futex probes are attached
 * before the window opens (and switch_number read): takes before it only say who held the GIL.
 */
static void infer_take(const struct ls_analysis *a, struct ls_gil *g, struct ls_thread *t,
		       struct ls_thread_gil *tg, __u64 ts, __s64 wait)
{
	__u32 last = g->last_taker;

	g->last_taker = t->tid;
	if (ts < a->start_ns)
		return;
	if (last && last != t->tid)
		g->handoffs++;
	if (wait >= 0) {
		g->acquisitions++;
		tg->acquisitions++;
		ls_hist_add(&g->wait, wait);
		ls_hist_add(&tg->wait, wait);
		tg->wait_ns += wait;
		/* the holder it took over from was asked to drop */
		g->forced += g->waiter_timed_out;
		g->waiter_timed_out = false;
	}
}

static void infer_hold(struct ls_gil *g, struct ls_thread_gil *tg, __u64 since, __u64 until)
{
	__u64 held = until > since ? until - since : 0;

	ls_hist_add(&g->hold, held);
	ls_hist_add(&tg->hold, held);
	tg->hold_ns += held;
}

/*
 * t shows that it took the GIL: it signals switch_cond, which take_gil does once it holds it
 * (a forced dropper waits there). A run of waits it was in ends here.
 */
static void infer_took(const struct ls_analysis *a, struct ls_gil *g, struct ls_thread *t,
		       struct ls_thread_gil *tg, __u64 ts)
{
	if (tg->infer == LS_GIL_WAITING) {
		infer_take(a, g, t, tg, tg->run_end, tg->run_end - tg->run_start);
		tg->held_since = tg->run_end;
	} else if (tg->infer == LS_GIL_IDLE) {
		infer_take(a, g, t, tg, ts, -1);
		tg->held_since = ts;
	}
	tg->infer = LS_GIL_HOLDING;
	tg->signalled = false;
}

/*
 * t shows that it held the GIL until ts: drop_gil signals the condition a waiter sleeps on
 * (signal), and when a drop was forced, waits on switch_cond for the next holder (!signal). Only
 * these tell that a run of waits ended in a take: a woken waiter that finds the GIL taken again
 * waits on, in the same take_gil, however long it was kept from the CPU in between.
 */
static void infer_dropped(const struct ls_analysis *a, struct ls_gil *g, struct ls_thread *t,
			  struct ls_thread_gil *tg, __u64 ts, bool signal)
{
	switch (tg->infer) {
	case LS_GIL_WAITING:
		infer_take(a, g, t, tg, tg->run_end, tg->run_end - tg->run_start);
		infer_hold(g, tg, tg->run_end, ts);
		break;
	case LS_GIL_HOLDING:
		infer_hold(g, tg, tg->held_since, ts);
		break;
	case LS_GIL_IDLE:
		/* the forced wait after the signal is the same drop; else a take without a wait */
		if (signal || !tg->signalled)
			infer_take(a, g, t, tg, ts, -1);
		break;
	}
	tg->infer = LS_GIL_IDLE;
	tg->signalled = signal;
}

static bool bitset_wait(const struct ls_futex *e)
{
	return LS_FUTEX_SYS(e->op) == LS_SYS_FUTEX && LS_FUTEX_CMD(e->op) == LS_FUTEX_WAIT_BITSET;
}

int ls_gil_on_wait(struct ls_analysis *a, struct ls_thread *t, const struct ls_futex *e)
{
	struct ls_gil *g = gil_of(a, t->tgid);
	struct ls_thread_gil *tg;

	if (!gil_word(g, e->uaddr))
		return 0;
	if (bitset_wait(e))
		g->signal_words |= word_bit(g, e->uaddr);
	if (!cond_word(g, e->uaddr) && (g->source != LS_GIL_SRC_FUTEX || !signal_word(g, e->uaddr)))
		return 1;
	tg = thread_gil(t);
	if (!tg)
		return -1;
	if (cond_word(g, e->uaddr)) {
		tg->cond_exit = e->ts_exit;
		/* a waiter that timed out asks the holder to drop: a forced switch follows */
		g->waiter_timed_out |= e->ret == -ETIMEDOUT;
	}
	if (g->source != LS_GIL_SRC_FUTEX || !signal_word(g, e->uaddr))
		return 1;
	if (switch_word(g, e->uaddr)) {
		infer_dropped(a, g, t, tg, e->ts_enter, false);
		return 1;
	}
	if (!cond_word(g, e->uaddr))
		return 1;
	if (tg->infer != LS_GIL_WAITING) {
		tg->infer = LS_GIL_WAITING;
		tg->run_start = e->ts_enter;
	}
	tg->run_end = e->ts_exit;
	tg->signalled = false;
	return 1;
}

int ls_gil_on_wake(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, __u64 ts)
{
	struct ls_gil *g = gil_of(a, t->tgid);
	struct ls_thread_gil *tg;

	if (!gil_word(g, uaddr) || g->source != LS_GIL_SRC_FUTEX || !signal_word(g, uaddr))
		return 0;
	tg = thread_gil(t);
	if (!tg)
		return -ENOMEM;
	if (cond_word(g, uaddr))
		infer_dropped(a, g, t, tg, ts, true);
	else if (switch_word(g, uaddr))
		infer_took(a, g, t, tg, ts);
	return 0;
}

int ls_gil_on_sample(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_gil_sample *e = (const void *)rec;
	const struct ls_thread *t = ls_htab_find(&a->threads, &rec->tid);
	struct ls_gil *g = t ? gil_of(a, t->tgid) : NULL;
	/* a sampled thread runs, whether or not its switch in was seen */
	double w = 1.0 / (g && g->running > 1 ? g->running : 1);

	if (!g || e->ts < a->start_ns)
		return 0;
	g->samples++;
	g->samples_held += !!e->locked;
	g->weight += w;
	g->weight_held += e->locked ? w : 0;
	return 0;
}

void ls_gil_left_cpu(struct ls_analysis *a, const struct ls_thread *t, __u32 flags)
{
	struct ls_gil *g = gil_of(a, t->tgid);

	if (g)
		g->left_state = !(flags & LS_SW_GIL_READ) ? -1 : !!(flags & LS_SW_GIL_LOCKED);
}

/* Account the time since the last change of g->running, up to ts. */
static void phase_close(struct ls_gil *g, __u64 ts)
{
	__u64 len = ts > g->phase_since ? ts - g->phase_since : 0;

	if (g->running || g->idle_state < 0) {
		g->sampled_ns += len;
	} else {
		g->idle_ns += len;
		g->idle_held_ns += g->idle_state ? len : 0;
	}
	g->phase_since += len;
}

void ls_gil_running(struct ls_analysis *a, const struct ls_thread *t, int delta, __u64 ts)
{
	struct ls_gil *g = gil_of(a, t->tgid);

	if (!g)
		return;
	phase_close(g, ts);
	/* a thread running before the GIL was found leaves unseen: never below none */
	if (delta < 0 && !g->running)
		delta = 0;
	g->running += delta;
	/* the last one to leave says how the GIL stays until one comes back */
	if (delta < 0 && !g->running)
		g->idle_state = g->left_state;
	g->left_state = -1;
}

/* Over the time since the GIL was found: a launched interpreter is found once it runs. */
struct ls_gil_load ls_gil_load_sampled(const struct ls_analysis *a, const struct ls_gil *g)
{
	double window = g->idle_ns + g->sampled_ns, p, se;
	struct ls_gil_load l = { .sampled = true };

	if (window <= 0 || (g->sampled_ns && g->weight <= 0))
		return l;
	p = g->weight > 0 ? g->weight_held / g->weight : 0;
	/* a sample is a yes/no draw: the binomial standard error of the sampled share */
	se = g->samples ? sqrt(p * (1 - p) / g->samples) : 0;
	l.known = true;
	l.load = (g->idle_held_ns + p * g->sampled_ns) / window;
	l.err = 2 * se * g->sampled_ns / window;
	l.sampled_share = g->sampled_ns / window;
	l.covered_ns = window;
	return l;
}

struct ls_gil_load ls_gil_load(const struct ls_analysis *a, const struct ls_gil *g)
{
	__u64 wall = a->end_ns - a->start_ns;
	struct ls_gil_load l = { 0 };

	if (g->source == LS_GIL_SRC_FUTEX)
		return ls_gil_load_sampled(a, g);
	if (g->source == LS_GIL_SRC_PROBES && wall) {
		l.known = true;
		l.load = (double)g->held_ns / wall;
	}
	return l;
}

void ls_gil_finish(struct ls_analysis *a)
{
	struct ls_thread *t;
	struct ls_gil *g;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		g = gil_of(a, t->tgid);
		/* a thread that left its run of waits and was not back in a wait as the window
		 * closed had taken the GIL (the others still wait) */
		if (g && g->source == LS_GIL_SRC_FUTEX && t->gil &&
		    t->gil->infer == LS_GIL_WAITING &&
		    (t->state == LS_ST_RUNNING || t->state == LS_ST_RUNNABLE)) {
			infer_take(a, g, t, t->gil, t->gil->run_end,
				   t->gil->run_end - t->gil->run_start);
			t->gil->infer = LS_GIL_HOLDING;
		}
		if (g && g->source == LS_GIL_SRC_PROBES && g->holder == t->tid)
			release(g, t->gil, t->end ? t->end : a->end_ns);
	}
	pos = 0;
	while ((g = ls_htab_next(&a->gils, &pos)))
		phase_close(g, a->end_ns);
}
