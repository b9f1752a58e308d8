// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "analyze.h"
#include "gil.h"

const char *ls_gil_word_name(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			     size_t len)
{
	const struct ls_gil *g = ls_htab_find(&a->gils, &tgid);
	__u64 off;

	if (!g || !g->addr || uaddr < g->addr || uaddr >= g->addr + LS_GIL_SIZE)
		return NULL;
	off = uaddr - g->addr;
	if (off >= LS_GIL_COND_LO && off < LS_GIL_COND_HI)
		snprintf(buf, len, "GIL cond");
	else if (off >= LS_GIL_MUTEX && off < LS_GIL_MUTEX + 40)
		snprintf(buf, len, "GIL mutex");
	else if (off >= LS_GIL_SWITCH_LO && off < LS_GIL_SWITCH_HI)
		snprintf(buf, len, "GIL switch");
	else
		snprintf(buf, len, "GIL+0x%llx", (unsigned long long)off);
	return buf;
}

const char *ls_gil_source_name(__u32 source)
{
	switch (source) {
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
	struct ls_gil *g = ls_htab_get(&a->gils, &rec->tid, NULL);

	if (!g)
		return -ENOMEM;
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

	if (!t || !(g = gil_of(a, t->tgid)) || g->source != LS_GIL_SRC_PROBES)
		return 0;
	tg = thread_gil(t);
	if (!tg)
		return -ENOMEM;
	g->acquisitions++;
	ls_hist_add(&g->wait, e->ts_exit - e->ts_enter);
	ls_hist_add(&tg->wait, e->ts_exit - e->ts_enter);
	tg->wait_ns += e->ts_exit - e->ts_enter;
	tg->acquisitions++;
	/* CPython's switch_number: a take by another thread than the last one */
	if (g->last_taker && g->last_taker != t->tid) {
		g->handoffs++;
		if (g->last_drop && e->ts_exit >= g->last_drop)
			ls_hist_add(&g->handoff_latency, e->ts_exit - g->last_drop);
	}
	g->last_taker = t->tid;
	g->holder = t->tid;
	g->held_since = e->ts_exit;
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

	if (!t || !(g = gil_of(a, t->tgid)) || g->source != LS_GIL_SRC_PROBES ||
	    g->holder != t->tid)
		return 0;
	release(g, thread_gil(t), e->ts_enter);
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

/* Futex inference: a run of waits on the GIL's condition ends in an acquisition. */
static void infer_acquisition(struct ls_gil *g, struct ls_thread *t, struct ls_thread_gil *tg)
{
	__u64 wait = tg->run_end - tg->run_start;

	g->acquisitions++;
	tg->acquisitions++;
	ls_hist_add(&g->wait, wait);
	ls_hist_add(&tg->wait, wait);
	tg->wait_ns += wait;
	if (g->last_taker && g->last_taker != t->tid)
		g->handoffs++;
	g->last_taker = t->tid;
	/* the holder it took over from was asked to drop */
	g->forced += g->waiter_timed_out;
	g->waiter_timed_out = false;
}

int ls_gil_on_wait(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, __u64 enter, __u64 exit,
		   __s32 ret)
{
	struct ls_gil *g = gil_of(a, t->tgid);
	struct ls_thread_gil *tg;

	if (!gil_word(g, uaddr))
		return 0;
	if (!cond_word(g, uaddr))
		return 1;
	/* a waiter that timed out asks the holder to drop: a forced switch follows */
	if (ret == -ETIMEDOUT)
		g->waiter_timed_out = true;
	if (g->source != LS_GIL_SRC_FUTEX)
		return 1;
	tg = thread_gil(t);
	if (!tg)
		return -1;
	/* take_gil waits again at once when it times out or loses the race; a later wait is the
	 * next take_gil, so the GIL was taken (and released without a waiter to signal) between */
	if (tg->in_run && enter > tg->run_end + LS_GIL_RUN_GAP_NS) {
		infer_acquisition(g, t, tg);
		tg->in_run = false;
	}
	if (!tg->in_run) {
		tg->in_run = true;
		tg->run_start = enter;
	}
	tg->run_end = exit;
	return 1;
}

int ls_gil_on_wake(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, __u64 ts)
{
	struct ls_gil *g = gil_of(a, t->tgid);
	struct ls_thread_gil *tg = t->gil;
	__u64 held;

	if (!gil_word(g, uaddr) || !cond_word(g, uaddr) || g->source != LS_GIL_SRC_FUTEX || !tg ||
	    !tg->in_run)
		return 0;
	/* the thread that waited signals the condition as it drops the GIL: the run's end was
	 * its acquisition, this its release */
	infer_acquisition(g, t, tg);
	held = ts > tg->run_end ? ts - tg->run_end : 0;
	ls_hist_add(&g->hold, held);
	ls_hist_add(&tg->hold, held);
	tg->hold_ns += held;
	tg->in_run = false;
	return 0;
}

void ls_gil_finish(struct ls_analysis *a)
{
	struct ls_thread *t;
	struct ls_gil *g;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		g = gil_of(a, t->tgid);
		if (g && g->source == LS_GIL_SRC_FUTEX && t->gil && t->gil->in_run) {
			infer_acquisition(g, t, t->gil); /* taken, never seen released */
			t->gil->in_run = false;
		}
		if (g && g->source == LS_GIL_SRC_PROBES && g->holder == t->tid)
			release(g, t->gil, t->end ? t->end : a->end_ns);
	}
}
