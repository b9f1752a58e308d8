// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One streaming pass over a recording's records, one handler per record type. Thread states move
 * on switches, wakeups, births and exits; futex records feed the lock figures and, together with
 * the last wakeup of the waiter, the hand-offs and inferred holds.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "escape.h"

#define CELL_NS_FIRST 10000ULL /* 10 us: 200 cells cover 2 ms, then they double as needed */

void ls_analysis_init(struct ls_analysis *a, const struct ls_file_header *hdr)
{
	memset(a, 0, sizeof(*a));
	a->hdr = *hdr;
	ls_escape_inplace(a->hdr.kernel, sizeof(a->hdr.kernel));
	ls_escape_inplace(a->hdr.tool_version, sizeof(a->hdr.tool_version));
	a->start_ns = a->last_ts = a->busy_since = a->alive_since = hdr->start_mono_ns;
	a->cell_ns = CELL_NS_FIRST;
	ls_htab_init(&a->threads, sizeof(struct ls_thread), offsetof(struct ls_thread, tid),
		     sizeof(__u32));
	ls_htab_init(&a->locks, sizeof(struct ls_lock), offsetof(struct ls_lock, key),
		     sizeof(struct ls_lock_key));
	ls_htab_init(&a->thread_locks, sizeof(struct ls_thread_lock),
		     offsetof(struct ls_thread_lock, key),
		     sizeof(((struct ls_thread_lock *)0)->key));
	ls_htab_init(&a->handoffs, sizeof(struct ls_handoff), offsetof(struct ls_handoff, key),
		     sizeof(((struct ls_handoff *)0)->key));
	ls_htab_init(&a->gils, sizeof(struct ls_gil), offsetof(struct ls_gil, tgid), sizeof(__u32));
	ls_htab_init(&a->stacks, sizeof(struct ls_stack_entry),
		     offsetof(struct ls_stack_entry, key),
		     sizeof(((struct ls_stack_entry *)0)->key));
	ls_htab_init(&a->wait_sites, sizeof(struct ls_wait_site),
		     offsetof(struct ls_wait_site, key), sizeof(((struct ls_wait_site *)0)->key));
	ls_pyfuncs_init(&a->py);
	a->names = ls_names_new(); /* without it, locks are named by address */
}

void ls_analysis_free(struct ls_analysis *a)
{
	struct ls_thread *t;
	struct ls_lock *l;
	struct ls_gil *g;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		free(t->timeline);
		free(t->turn_cells);
		if (t->gil) {
			ls_hist_free(&t->gil->wait);
			ls_hist_free(&t->gil->hold);
		}
		free(t->gil);
		free(t->py);
	}
	pos = 0;
	while ((l = ls_htab_next(&a->locks, &pos))) {
		ls_hist_free(&l->wait);
		ls_hist_free(&l->hold);
		ls_hist_free(&l->handoff_latency);
	}
	pos = 0;
	while ((g = ls_htab_next(&a->gils, &pos))) {
		ls_hist_free(&g->wait);
		ls_hist_free(&g->hold);
		ls_hist_free(&g->handoff_latency);
	}
	ls_hist_free(&a->runq);
	ls_htab_free(&a->gils);
	ls_stacks_free(a);
	ls_pyfuncs_free(a);
	ls_htab_free(&a->wait_sites);
	ls_htab_free(&a->threads);
	ls_htab_free(&a->locks);
	ls_htab_free(&a->thread_locks);
	ls_htab_free(&a->handoffs);
	ls_names_free(a->names);
	a->names = NULL;
}

enum ls_outcome ls_wait_outcome(__s32 ret)
{
	switch (ret) {
	case 0:
		return LS_OUT_WOKEN;
	case -ETIMEDOUT:
		return LS_OUT_TIMEDOUT;
	case -EAGAIN:
		return LS_OUT_NOBLOCK;
	case -EINTR:
		return LS_OUT_INTR;
	}
	return LS_OUT_ERROR;
}

const char *ls_outcome_name(enum ls_outcome o)
{
	static const char *const names[LS_OUT_NR] = { "woken", "timed out", "no block",
						      "interrupted", "error" };

	return o < LS_OUT_NR ? names[o] : "?";
}

const char *ls_state_name(enum ls_state s)
{
	static const char *const names[LS_ST_NR] = { "running", "runnable", "lock-wait", "gil-wait",
						     "other-wait" };

	return s < LS_ST_NR ? names[s] : "unknown";
}

__u64 ls_thread_lifetime(const struct ls_analysis *a, const struct ls_thread *t)
{
	__u64 end = t->end ? t->end : a->end_ns;

	return end > t->start ? end - t->start : 0;
}

bool ls_lock_is_mutex(const struct ls_lock *l)
{
	return l->pi || (l->waits && l->waits_val2 == l->waits);
}

bool ls_lock_is_others(const struct ls_lock *l)
{
	return l->key.others;
}

static void seen(struct ls_analysis *a, __u64 ts)
{
	if (ts > a->last_ts)
		a->last_ts = ts;
}

/* Timestamps from different CPUs may be a little out of order: never step back. */
static __u64 not_before(__u64 ts, __u64 since)
{
	return ts > since ? ts : since;
}

static __u32 min_u32(__u32 x, __u32 y)
{
	return x < y ? x : y;
}

/* Halve n cells of stride values each (and zero the upper half): the resolution of a timeline. */
static void cells_halve(__u64 *cells, size_t stride)
{
	for (size_t i = 0; i < LS_TL_CELLS; i++)
		for (size_t s = 0; s < stride; s++)
			cells[i * stride + s] = i < LS_TL_CELLS / 2
							? cells[2 * i * stride + s] +
								  cells[(2 * i + 1) * stride + s]
							: 0;
}

/* Halve the timeline's resolution until it reaches ts. */
static void timeline_grow(struct ls_analysis *a, __u64 ts)
{
	while (ts - a->start_ns >= a->cell_ns * LS_TL_CELLS && a->cell_ns < (1ULL << 50)) {
		struct ls_thread *t;
		size_t pos = 0;

		a->cell_ns *= 2;
		cells_halve(&a->state_cells[0][0], LS_ST_NR);
		cells_halve(a->ceiling_cells, 1);
		cells_halve(a->handoff_cells, 1);
		cells_halve(a->other_cells, 1);
		while ((t = ls_htab_next(&a->threads, &pos))) {
			if (t->timeline)
				cells_halve(&t->timeline[0][0], LS_ST_NR);
			if (t->turn_cells)
				cells_halve(&t->turn_cells[0][0], 2);
		}
	}
}

/* The check is on every state change: the halving, rare, out of line */
static inline void timeline_reach(struct ls_analysis *a, __u64 ts)
{
	if (ts - a->start_ns >= a->cell_ns * LS_TL_CELLS)
		timeline_grow(a, ts);
}

/* The cell of ts, after the timeline has reached it */
static size_t cell_of(struct ls_analysis *a, __u64 ts)
{
	__u64 i;

	ts = not_before(ts, a->start_ns);
	timeline_reach(a, ts);
	i = (ts - a->start_ns) / a->cell_ns;
	return i < LS_TL_CELLS ? i : LS_TL_CELLS - 1;
}

/*
 * Spread weight * (to - from) over the cells [from, to) covers, into x[i * stride] and, unless
 * NULL, y[i * stride] too: a thread's lane and the sums over threads in one pass.
 */
static void cells_add(struct ls_analysis *a, __u64 *x, __u64 *y, size_t stride, __u64 from,
		      __u64 to, __u64 weight)
{
	__u64 i;

	from = not_before(from, a->start_ns);
	if (to <= from)
		return;
	timeline_reach(a, to - 1);
	for (i = (from - a->start_ns) / a->cell_ns; from < to && i < LS_TL_CELLS; i++) {
		__u64 cell_end = a->start_ns + (i + 1) * a->cell_ns;
		__u64 seg = (to < cell_end ? to : cell_end) - from;

		x[i * stride] += seg * weight;
		if (y)
			y[i * stride] += seg * weight;
		from += seg;
	}
}

static void alive_change(struct ls_analysis *a, int delta, __u64 ts)
{
	__u32 width;

	ts = not_before(ts, a->alive_since);
	width = min_u32(a->alive, a->hdr.nr_cpus);
	a->ceiling_ns += (ts - a->alive_since) * width;
	cells_add(a, a->ceiling_cells, NULL, 1, a->alive_since, ts, width);
	a->alive += delta;
	a->alive_since = ts;
	if (a->alive > a->peak_alive)
		a->peak_alive = a->alive;
}

static void busy_change(struct ls_analysis *a, int delta, __u64 ts)
{
	ts = not_before(ts, a->busy_since);
	a->profile_ns[min_u32(a->busy, LS_BUSY_MAX)] += ts - a->busy_since;
	a->busy += delta;
	a->busy_since = ts;
	if (delta && a->obs && a->obs->on_busy)
		a->obs->on_busy(a->obs->ctx, a, ts, a->busy);
}

/* [from, to) in state s: into the sums over threads, and t's lane if it has one */
static void timeline_add(struct ls_analysis *a, struct ls_thread *t, enum ls_state s, __u64 from,
			 __u64 to)
{
	cells_add(a, &a->state_cells[0][s], t->timeline ? &t->timeline[0][s] : NULL, LS_ST_NR, from,
		  to, 1);
}

/* t goes on or off a CPU: busy(t), and its process's GIL, which only a running thread changes */
static void running_change(struct ls_analysis *a, const struct ls_thread *t, int delta, __u64 ts)
{
	busy_change(a, delta, ts);
	ls_gil_running(a, t, delta, ts);
}

/* Leave the current state at ts for another; the time spent goes to the state left. */
static void set_state(struct ls_analysis *a, struct ls_thread *t, enum ls_state next, __u64 ts)
{
	enum ls_state prev = t->state;

	ts = not_before(ts, t->state_since);
	if (prev < LS_ST_NR) {
		t->state_ns[prev] += ts - t->state_since;
		timeline_add(a, t, prev, t->state_since, ts);
		if (a->obs && a->obs->on_state)
			a->obs->on_state(a->obs->ctx, a, t, prev, t->state_since, ts);
	}
	if (prev == LS_ST_RUNNING && next != LS_ST_RUNNING)
		running_change(a, t, -1, ts);
	else if (prev != LS_ST_RUNNING && next == LS_ST_RUNNING)
		running_change(a, t, +1, ts);
	t->state = next;
	t->state_since = ts;
	if (next == LS_ST_RUNNABLE)
		t->runnable_since = ts;
}

/* A thread's name, from a record: control characters escaped, as every string of a trace */
static void set_comm(struct ls_thread *t, const char *comm)
{
	char raw[LS_COMM_LEN + 1];

	memcpy(raw, comm, LS_COMM_LEN);
	raw[LS_COMM_LEN] = '\0';
	ls_escape(t->comm, LS_COMM_LEN, raw);
}

/*
 * A thread seen for the first time: alive from ts (or the window's start) in an unknown state.
 * NULL beyond LS_THREADS_MAX (see no_thread) or out of memory.
 */
/* t, found or made: the next record is most likely its own or a thread's it just met */
static struct ls_thread *thread_seen(struct ls_analysis *a, struct ls_thread *t)
{
	a->recent_threads[t->tid % LS_RECENT] = t;
	return t;
}

static struct ls_thread *thread_get(struct ls_analysis *a, __u32 tid, __u64 ts)
{
	struct ls_thread *t = a->recent_threads[tid % LS_RECENT];
	bool created;

	if (t && t->tid == tid)
		return t;
	t = ls_htab_find(&a->threads, &tid);
	if (t)
		return thread_seen(a, t);
	if (a->threads.nr >= LS_THREADS_MAX) {
		a->too_many_threads = true;
		return NULL;
	}
	t = ls_htab_get(&a->threads, &tid, &created);
	if (!t)
		return NULL;
	/* the first threads get a timeline lane: its memory is 8 KB a thread */
	if (a->threads.nr <= LS_TL_THREADS) {
		t->timeline = calloc(LS_TL_CELLS, sizeof(*t->timeline));
		if (!t->timeline)
			return NULL;
	}
	t->start = not_before(ts, a->start_ns);
	t->state = LS_ST_UNKNOWN;
	t->state_since = t->start;
	t->alive = true;
	alive_change(a, +1, t->start);
	return thread_seen(a, t);
}

/* A record whose thread thread_get refused: left out past the limit, else out of memory. */
static int no_thread(struct ls_analysis *a)
{
	if (a->threads.nr < LS_THREADS_MAX)
		return -ENOMEM;
	a->records_left_out++;
	return 0;
}

/* The state a thread of unknown state must have been in, given what happens to it now. */
static void resolve_unknown(struct ls_analysis *a, struct ls_thread *t, enum ls_state implied)
{
	if (t->state != LS_ST_UNKNOWN)
		return;
	t->state = implied;
	if (implied == LS_ST_RUNNING) /* counted busy from now on only: it was not known before */
		running_change(a, t, +1, t->state_since);
	if (implied == LS_ST_RUNNABLE)
		t->runnable_since = t->state_since;
}

static bool thread_dead(const struct ls_thread *t)
{
	return !t->alive;
}

/* The lock, or beyond LS_LOCKS_MAX, the one entry of all the others. */
static struct ls_lock *lock_get(struct ls_analysis *a, __u32 tgid, __u64 uaddr)
{
	struct ls_lock_key key = { .tgid = tgid, .uaddr = uaddr };
	struct ls_lock **recent = &a->recent_locks[(uaddr >> 2 ^ tgid) % LS_RECENT];
	struct ls_lock *l = *recent;

	if (l && l->key.tgid == tgid && l->key.uaddr == uaddr && !l->key.others)
		return l;
	l = ls_htab_find(&a->locks, &key);
	if (!l && a->locks.nr >= LS_LOCKS_MAX) {
		a->locks_folded = true;
		key = LS_LOCK_OTHERS;
	}
	if (!l)
		l = ls_htab_get(&a->locks, &key, NULL);
	if (l && !l->key.others)
		*recent = l;
	return l;
}

/* The entry of key in a table of pairs, added unless it holds LS_PAIRS_MAX: NULL then. */
static void *pair_get(struct ls_analysis *a, struct ls_htab *h, const void *key)
{
	void *e = ls_htab_find(h, key);

	if (e || h->nr < LS_PAIRS_MAX)
		return e ?: ls_htab_get(h, key, NULL);
	a->pairs_left_out = true;
	return NULL;
}

static int on_cmdline(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_cmdline *c = (const void *)rec;

	ls_escape(a->cmdline, sizeof(a->cmdline), c->text); /* a trace's strings reach terminals */
	return 0;
}

static int on_task(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_task *in = (const void *)rec;
	struct ls_thread *t;

	if (in->flags & LS_TASK_FINAL) {
		/* the final table: exit codes of the tasks already followed */
		t = ls_htab_find(&a->threads, &rec->tid);
		if (t && (in->flags & LS_TASK_EXITED)) {
			t->exited = true;
			t->exit_code = in->exit_code;
		}
		return 0;
	}
	t = thread_get(a, rec->tid, in->ts_start);
	if (!t)
		return no_thread(a);
	t->tgid = in->tgid;
	set_comm(t, in->comm);
	/* reports/METRICS.md: a launched command is traced from its exec */
	t->pre_exec = a->hdr.mode == LS_MODE_LAUNCH && !(in->flags & LS_TASK_AT_START) &&
		      in->hdr.tid == a->hdr.target_pid;
	if (t->state != LS_ST_UNKNOWN)
		return 0;
	if (in->flags & LS_TASK_RUNNABLE)
		set_state(a, t, LS_ST_RUNNING, t->start);
	else if (in->flags & LS_TASK_IN_FUTEX)
		set_state(a, t, LS_ST_LOCK_WAIT, t->start);
	else
		set_state(a, t, LS_ST_OTHER_WAIT, t->start);
	return 0;
}

/* A task record (new, exec, exit): the thread, with its process and name brought up to date. */
static struct ls_thread *task_seen(struct ls_analysis *a, __u32 tid, __u64 ts, __u32 tgid,
				   const char *comm)
{
	struct ls_thread *t = thread_get(a, tid, ts);

	seen(a, ts);
	if (t) {
		t->tgid = tgid;
		set_comm(t, comm);
	}
	return t;
}

static int on_task_new(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_task_new *e = (const void *)rec;
	struct ls_thread *t = task_seen(a, rec->tid, e->ts, e->tgid, e->comm);

	if (!t)
		return no_thread(a);
	/* born in the window: the kernel's switch counters started at zero */
	t->counters_known = true;
	if (t->state == LS_ST_UNKNOWN)
		set_state(a, t, LS_ST_RUNNABLE, t->start);
	return 0;
}

static int on_exec(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_exec *e = (const void *)rec;
	struct ls_thread *t = task_seen(a, rec->tid, e->ts, e->tgid, e->comm);

	if (!t)
		return no_thread(a);
	t->pre_exec = false;
	return 0;
}

/* The end of a thread's life; its final switch, if it comes, changes nothing more. */
static void thread_end(struct ls_analysis *a, struct ls_thread *t, __u64 ts)
{
	if (thread_dead(t))
		return;
	resolve_unknown(a, t, LS_ST_RUNNING); /* it runs its own exit */
	set_state(a, t, LS_ST_NR, ts);
	t->end = t->state_since;
	t->alive = false;
	alive_change(a, -1, t->end);
}

static int on_comm(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_comm *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return no_thread(a);
	set_comm(t, e->comm);
	return 0;
}

static int on_task_exit(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_exit *e = (const void *)rec;
	struct ls_thread *t = task_seen(a, rec->tid, e->ts, e->tgid, e->comm);

	if (!t)
		return no_thread(a);
	t->exited = true;
	t->exit_code = e->exit_code;
	thread_end(a, t, e->ts);
	return 0;
}

/* Voluntary or not, as the kernel counted it: which of prev's counters moved. */
static void count_switch(struct ls_analysis *a, struct ls_thread *t, const struct ls_switch *e,
			 enum ls_state next)
{
	bool vol;

	if (t->counters_known)
		vol = e->prev_nvcsw != t->nvcsw;
	else
		vol = !(e->flags & LS_SW_PREEMPT) && e->prev_state != 0;
	t->nvcsw = e->prev_nvcsw;
	t->nivcsw = e->prev_nivcsw;
	t->counters_known = true;
	if (t->pre_exec)
		return;
	/*
	 * An exiting thread's last switch comes after its counts were folded into its process's,
	 * so getrusage never sees it; but a process's leader stays a zombie until reaped, and its
	 * parent's RUSAGE_CHILDREN counts it: keep it for leaders only.
	 */
	if ((e->prev_state & LS_TASK_DEAD) && t->tid != t->tgid)
		return;
	if (a->obs && a->obs->on_switch)
		a->obs->on_switch(a->obs->ctx, a, t, e->ts, vol);
	if (!vol) {
		t->invol_switches++;
		return;
	}
	t->vol_switches++;
	t->vol_by_state[next == LS_ST_RUNNABLE ? LS_ST_OTHER_WAIT : next]++;
}

/*
 * A record the thread made itself (a futex call's entry or return) says it was on a CPU then.
 * Where the analysis has it off-CPU, the switch that put it there was not reported: this VM's
 * kernel reports no sched_switch away from its agent's threads (tokio-rt-worker, pid 1), perf
 * sees the same gaps. It runs from here, and the wake-up it waited for got it a CPU.
 */
static void ran_at(struct ls_analysis *a, struct ls_thread *t, __u64 ts)
{
	if (thread_dead(t) || t->state == LS_ST_RUNNING || t->state == LS_ST_UNKNOWN)
		return;
	if (t->woken_at && !t->woken_ran_at)
		t->woken_ran_at = not_before(ts, t->woken_at);
	set_state(a, t, LS_ST_RUNNING, ts);
}

/*
 * A switch away from a thread the analysis has off-CPU: the switch onto its CPU was not reported
 * (see ran_at). It came after that CPU's last reported switch, which went to an untraced task or
 * idle, and after the thread became runnable: it runs from the later of the two. The untraced
 * task's own run is counted to it: here, the VM agent's thread, whose runs take microseconds.
 */
static void switched_in_unseen(struct ls_analysis *a, struct ls_thread *t,
			       const struct ls_switch *e)
{
	if (t->state == LS_ST_RUNNING || t->state == LS_ST_UNKNOWN || e->cpu >= LS_CPUS_MAX ||
	    !a->cpu_untraced_since[e->cpu])
		return;
	ran_at(a, t, not_before(a->cpu_untraced_since[e->cpu], t->state_since));
}

static void switch_out(struct ls_analysis *a, struct ls_thread *t, const struct ls_switch *e)
{
	enum ls_state next;

	if (e->flags & LS_SW_PREEMPT || e->prev_state == 0)
		next = LS_ST_RUNNABLE;
	else if (e->flags & LS_SW_IN_FUTEX_WAIT)
		next = LS_ST_LOCK_WAIT;
	else
		next = LS_ST_OTHER_WAIT;
	count_switch(a, t, e, next);
	if (thread_dead(t))
		return;
	switched_in_unseen(a, t, e);
	if (e->prev_state & LS_TASK_DEAD) {
		thread_end(a, t, e->ts);
		return;
	}
	resolve_unknown(a, t, LS_ST_RUNNING);
	set_state(a, t, next, e->ts);
}

static void switch_in(struct ls_analysis *a, struct ls_thread *t, __u64 ts)
{
	if (thread_dead(t))
		return;
	resolve_unknown(a, t, LS_ST_RUNNABLE);
	if (t->state == LS_ST_RUNNABLE) {
		__u64 lat = not_before(ts, t->runnable_since) - t->runnable_since;

		ls_hist_add(&a->runq, lat);
		t->runq_ns += lat;
		t->runq_count++;
	}
	if (t->woken_at && !t->woken_ran_at)
		t->woken_ran_at = not_before(ts, t->woken_at);
	set_state(a, t, LS_ST_RUNNING, ts);
}

static int on_switch(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_switch *e = (const void *)rec;
	struct ls_thread *t;

	seen(a, e->ts);
	if (e->flags & LS_SW_PREV_TRACED) {
		t = thread_get(a, rec->tid, e->ts);
		if (t) {
			ls_gil_left_cpu(a, t, e->flags);
			switch_out(a, t, e);
		} else if (no_thread(a)) {
			return -ENOMEM;
		}
	}
	if (e->flags & LS_SW_NEXT_TRACED) {
		t = thread_get(a, e->next_tid, e->ts);
		if (t)
			switch_in(a, t, e->ts);
		else if (no_thread(a))
			return -ENOMEM;
	}
	if (e->cpu < LS_CPUS_MAX)
		a->cpu_untraced_since[e->cpu] = e->flags & LS_SW_NEXT_TRACED ? 0 : e->ts;
	return 0;
}

static int on_wakeup(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_wakeup *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return no_thread(a);
	if (thread_dead(t))
		return 0;
	resolve_unknown(a, t, LS_ST_OTHER_WAIT);
	t->waker = e->waker_tid;
	t->waker_uaddr = e->waker_uaddr;
	t->woken_at = e->ts;
	/* woken before it got off the CPU: it goes on without a switch */
	t->woken_ran_at = t->state == LS_ST_RUNNING ? e->ts : 0;
	if (t->state != LS_ST_RUNNING && t->state != LS_ST_RUNNABLE)
		set_state(a, t, LS_ST_RUNNABLE, e->ts);
	return 0;
}

static int on_wakeup_new(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_wakeup *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return no_thread(a);
	if (!thread_dead(t) && t->state != LS_ST_RUNNING)
		set_state(a, t, LS_ST_RUNNABLE, e->ts);
	return 0;
}

/* A wait that ended woken opens a run of waits, or extends the open one. */
static void hold_begin(struct ls_thread *t, struct ls_lock *l, __u64 ts)
{
	int slot = 0;

	for (int i = 0; i < LS_HELD_MAX; i++) {
		if (!t->held[i].lock || t->held[i].lock == l) {
			slot = i;
			break;
		}
		if (t->held[i].since < t->held[slot].since)
			slot = i; /* full: forget the oldest */
	}
	t->held[slot] = (struct ls_held){ l, ts };
}

/* A wait that did not end woken extends an open run: the lock is taken after it. */
static void hold_extend(struct ls_thread *t, struct ls_lock *l, __u64 ts)
{
	for (int i = 0; i < LS_HELD_MAX; i++)
		if (t->held[i].lock == l)
			t->held[i].since = ts;
}

/* The waking op that closes a run: one contended acquisition, one hold. */
static void hold_end(struct ls_thread *t, struct ls_lock *l, __u64 ts)
{
	for (int i = 0; i < LS_HELD_MAX; i++) {
		if (t->held[i].lock == l) {
			l->acquisitions++;
			ls_hist_add(&l->hold, not_before(ts, t->held[i].since) - t->held[i].since);
			t->held[i].lock = NULL;
		}
	}
}

static int count_handoff(struct ls_analysis *a, struct ls_lock *l, struct ls_thread *t)
{
	struct ls_handoff key = { .key = { l->key.tgid, t->waker, l->key.uaddr, t->tid } }, *h;

	h = pair_get(a, &a->handoffs, &key.key);
	if (h)
		h->count++;
	else if (!a->pairs_left_out)
		return -ENOMEM;
	l->handoffs++;
	a->handoff_cells[cell_of(a, t->woken_at)]++;
	ls_hist_add(&l->handoff_latency, t->woken_ran_at - t->woken_at);
	if (a->obs && a->obs->on_handoff)
		a->obs->on_handoff(a->obs->ctx, a, l, t->waker, t->tid, t->woken_at,
				   t->woken_ran_at);
	return 0;
}

/* t was woken from a blocked lock or GIL wait at ts: a turn begins */
static int turn_begin(struct ls_analysis *a, struct ls_thread *t, __u64 ts)
{
	/* a lane's turn cells, from its first turn: most threads of a big recording take none */
	if (t->timeline && !t->turn_cells) {
		t->turn_cells = calloc(LS_TL_CELLS, sizeof(*t->turn_cells));
		if (!t->turn_cells)
			return -ENOMEM;
	}
	t->turns++;
	if (t->turn_cells)
		t->turn_cells[cell_of(a, ts)][0]++;
	t->turn_open = true;
	t->turn_mark = t->state_ns[LS_ST_RUNNING];
	return 0;
}

/* t waits again, or its life or the window ends, at ts: its open turn's work is done */
static void turn_end(struct ls_analysis *a, struct ls_thread *t, __u64 ts)
{
	__u64 ns = t->state_ns[LS_ST_RUNNING] - t->turn_mark;

	if (!t->turn_open)
		return;
	t->turn_open = false;
	t->turn_cpu_ns += ns;
	if (t->turn_cells)
		t->turn_cells[cell_of(a, ts)][1] += ns;
}

static int count_wait(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, __u32 op, __u32 val,
		      __u64 enter, __u64 exit, __s32 ret)
{
	struct ls_lock *l = lock_get(a, t->tgid, uaddr);
	enum ls_outcome o = ls_wait_outcome(ret);
	struct ls_thread_lock *tl, key;
	__u64 ns;

	if (!l)
		return -ENOMEM;
	key = (struct ls_thread_lock){ .key = { t->tid, t->tgid, l->key.uaddr } };
	turn_end(a, t, enter);
	l->waits++;
	l->outcomes[o]++;
	l->waits_val2 += val == 2;
	if (LS_FUTEX_SYS(op) == LS_SYS_FUTEX) {
		__u32 cmd = LS_FUTEX_CMD(op);

		l->pi |= cmd == LS_FUTEX_LOCK_PI || cmd == LS_FUTEX_LOCK_PI2 ||
			 cmd == LS_FUTEX_WAIT_REQUEUE_PI;
	}
	if (o != LS_OUT_WOKEN)
		hold_extend(t, l, exit);
	if (o == LS_OUT_NOBLOCK || o == LS_OUT_ERROR)
		return 0;
	l->blocked++;
	enter = not_before(enter, a->start_ns);
	ns = not_before(exit, enter) - enter;
	ls_hist_add(&l->wait, ns);
	tl = pair_get(a, &a->thread_locks, &key.key);
	if (!tl && !a->pairs_left_out)
		return -ENOMEM;
	if (ls_stacks_on_wait(a, t, l, enter, exit, ns) ||
	    ls_pyfuncs_on_wait(a, t, l, uaddr, enter, exit, ns))
		return -ENOMEM;
	if (tl)
		tl->wait_ns += ns;
	if (tl && tl->wait_ns > t->top_lock_ns) {
		t->top_lock_ns = tl->wait_ns;
		t->top_lock = l;
	}
	if (o != LS_OUT_WOKEN)
		return 0;
	if (turn_begin(a, t, exit))
		return -ENOMEM;
	hold_begin(t, l, exit);
	if (t->waker && t->waker_uaddr == uaddr && t->woken_at >= enter && t->woken_at <= exit &&
	    t->woken_ran_at && count_handoff(a, l, t))
		return -ENOMEM;
	t->waker = 0;
	return 0;
}

/* Lock-wait of the wait [enter, exit] was a GIL wait: move it, and its timeline cells. */
static void lock_wait_to_gil(struct ls_analysis *a, struct ls_thread *t, __u64 enter, __u64 exit)
{
	__u64 moved = t->state_ns[LS_ST_LOCK_WAIT] - t->lock_wait_mark, vol;

	t->state_ns[LS_ST_LOCK_WAIT] -= moved;
	t->state_ns[LS_ST_GIL_WAIT] += moved;
	vol = t->vol_by_state[LS_ST_LOCK_WAIT] - t->lock_vol_mark;
	t->vol_by_state[LS_ST_LOCK_WAIT] -= vol;
	t->vol_by_state[LS_ST_GIL_WAIT] += vol;
	enter = not_before(enter, a->start_ns);
	for (__u64 i = (enter - a->start_ns) / a->cell_ns;
	     t->timeline && moved && i < LS_TL_CELLS && a->start_ns + i * a->cell_ns < exit; i++) {
		__u64 m = t->timeline[i][LS_ST_LOCK_WAIT] < moved ? t->timeline[i][LS_ST_LOCK_WAIT]
								  : moved;

		t->timeline[i][LS_ST_LOCK_WAIT] -= m;
		t->timeline[i][LS_ST_GIL_WAIT] += m;
		a->state_cells[i][LS_ST_LOCK_WAIT] -= m;
		a->state_cells[i][LS_ST_GIL_WAIT] += m;
		moved -= m;
	}
}

/* The lock-wait since t's previous wait record was this wait's, on uaddr. */
static void lock_wait_mark(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr, bool gil)
{
	t->lock_wait_mark = t->state_ns[LS_ST_LOCK_WAIT];
	t->lock_vol_mark = t->vol_by_state[LS_ST_LOCK_WAIT];
	if (a->obs && a->obs->on_wait)
		a->obs->on_wait(a->obs->ctx, a, t, uaddr, gil);
}

static int on_futex_wait(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts_exit);
	int gil;

	seen(a, e->ts_exit);
	if (!t)
		return no_thread(a);
	ran_at(a, t, e->ts_exit);
	/* the lock-wait since the previous wait record belongs to this wait */
	gil = ls_gil_on_wait(a, t, e);
	if (gil < 0)
		return -ENOMEM;
	if (gil)
		lock_wait_to_gil(a, t, e->ts_enter, e->ts_exit);
	lock_wait_mark(a, t, e->uaddr, gil);
	return count_wait(a, t, e->uaddr, e->op, e->val, e->ts_enter, e->ts_exit, e->ret);
}

static int on_futex_waitv(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex_waitv *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts_exit);
	__u32 woke = 0;
	int err = 0;

	seen(a, e->ts_exit);
	if (!t)
		return no_thread(a);
	ran_at(a, t, e->ts_exit);
	/* its lock-wait is its own, on the word that woke it (the first one if none did) */
	if (e->ret > 0 && (__u32)e->ret < e->nr && e->ret < LS_WAITV_MAX)
		woke = e->ret;
	if (e->nr)
		lock_wait_mark(a, t, e->uaddr[woke], false);
	/* a waitv returns the index of the futex that woke it; the others did not */
	for (__u32 i = 0; i < e->nr && i < LS_WAITV_MAX && !err; i++)
		err = count_wait(a, t, e->uaddr[i], LS_FUTEX_OP(LS_SYS_FUTEX_WAITV, 0), 0,
				 e->ts_enter, e->ts_exit,
				 e->ret >= 0 && (__u32)e->ret != i ? -ETIMEDOUT
				 : e->ret < 0			   ? e->ret
								   : 0);
	return err;
}

static int count_wake(struct ls_analysis *a, struct ls_thread *t, __u64 uaddr,
		      const struct ls_futex *e)
{
	struct ls_lock *l = lock_get(a, t->tgid, uaddr);

	if (!l)
		return -ENOMEM;
	l->wakes++;
	l->woken += e->ret > 0 ? e->ret : 0;
	if (LS_FUTEX_SYS(e->op) == LS_SYS_FUTEX && LS_FUTEX_CMD(e->op) == LS_FUTEX_UNLOCK_PI)
		l->pi = true;
	hold_end(t, l, e->ts_enter);
	return 0;
}

static int on_futex_wake(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts_exit);
	int err;

	seen(a, e->ts_exit);
	if (!t)
		return no_thread(a);
	ran_at(a, t, e->ts_enter);
	err = ls_gil_on_wake(a, t, e->uaddr, e->ts_enter);
	if (!err)
		err = count_wake(a, t, e->uaddr, e);
	if (!err && e->uaddr2 && e->uaddr2 != e->uaddr)
		err = count_wake(a, t, e->uaddr2, e);
	return err;
}

static int on_lost(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_lost *l = (const void *)rec;

	a->nr_lost = 0;
	a->nr_lost_cpus = 0;
	for (__u32 i = 0; i < l->nr_cpus; i++) {
		a->nr_lost += l->lost[i];
		a->nr_lost_cpus += l->lost[i] != 0;
	}
	return 0;
}

/* A map snapshot that could not be taken: some of the process's locks may go unnamed. */
static int on_maps_failed(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_maps_failed *f = (const void *)rec;

	if (!a->nr_maps_failed++) {
		a->maps_failed_tgid = rec->tid;
		a->maps_failed_err = f->err;
	}
	return 0;
}

/*
 * ns of untraced time over [from, to), spread evenly over the timeline's cells: each gets its
 * share of ns rounded so that they get ns in all.
 */
static void other_add(struct ls_analysis *a, __u64 from, __u64 to, __u64 ns)
{
	__u64 len = to - from, done = 0, given = 0, share;

	timeline_reach(a, len ? to - 1 : to);
	for (__u64 i = (from - a->start_ns) / a->cell_ns; i < LS_TL_CELLS; i++) {
		__u64 cell_end = a->start_ns + (i + 1) * a->cell_ns;

		done = (to < cell_end ? to : cell_end) - from;
		share = len ? (__u64)((unsigned __int128)ns * done / len) : ns;
		a->other_cells[i] += share - given;
		given = share;
		if (done == len)
			break;
	}
}

/* A sample of the untraced time, from the window's start on: what it grew since the last one. */
static int on_other_cpu(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_other_cpu *e = (const void *)rec;
	__u64 ts, ns;

	if (e->ts < a->start_ns)
		return 0;
	seen(a, e->ts);
	if (!a->other_samples++) {
		a->other_first_ts = a->other_last_ts = e->ts;
		a->other_first_ns = a->other_last_ns = e->untraced_ns;
		return 0;
	}
	/* never back: a sum is of times that only grow */
	ts = not_before(e->ts, a->other_last_ts);
	ns = not_before(e->untraced_ns, a->other_last_ns);
	other_add(a, a->other_last_ts, ts, ns - a->other_last_ns);
	a->other_last_ts = ts;
	a->other_last_ns = ns;
	return 0;
}

double ls_other_cpus(const struct ls_analysis *a)
{
	if (!a->other_measured)
		return 0;
	return (double)(a->other_last_ns - a->other_first_ns) /
	       (a->other_last_ts - a->other_first_ts);
}

/* A GIL_INFO record: a new interpreter, unless LS_GILS_MAX are followed already */
static int on_gil_info(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	if (a->gils.nr >= LS_GILS_MAX && !ls_htab_find(&a->gils, &rec->tid)) {
		a->gils_left_out = true;
		return 0;
	}
	return ls_gil_on_info(a, rec);
}

typedef int (*record_handler)(struct ls_analysis *a, const struct ls_rec_hdr *rec);

static const record_handler handlers[LS_REC_MAX] = {
	[LS_REC_FUTEX_WAIT] = on_futex_wait,
	[LS_REC_FUTEX_WAKE] = on_futex_wake,
	[LS_REC_FUTEX_WAITV] = on_futex_waitv,
	[LS_REC_SWITCH] = on_switch,
	[LS_REC_WAKEUP] = on_wakeup,
	[LS_REC_WAKEUP_NEW] = on_wakeup_new,
	[LS_REC_TASK_NEW] = on_task_new,
	[LS_REC_EXEC] = on_exec,
	[LS_REC_EXIT] = on_task_exit,
	[LS_REC_CMDLINE] = on_cmdline,
	[LS_REC_TASK] = on_task,
	[LS_REC_LOST] = on_lost,
	[LS_REC_MAPS_FAILED] = on_maps_failed,
	[LS_REC_OTHER_CPU] = on_other_cpu,
	[LS_REC_GIL_INFO] = on_gil_info,
	[LS_REC_GIL_TAKE] = ls_gil_on_take,
	[LS_REC_GIL_DROP] = ls_gil_on_drop,
	[LS_REC_GIL_SAMPLE] = ls_gil_on_sample,
	[LS_REC_COMM] = on_comm,
	[LS_REC_STACK] = ls_stacks_on_stack,
	[LS_REC_WAIT_STACK] = ls_stacks_on_wait_stack,
	[LS_REC_PY_FUNC] = ls_pyfuncs_on_func,
	[LS_REC_PY_STACK] = ls_pyfuncs_on_stack,
	[LS_REC_PY_STATUS] = ls_pyfuncs_on_status,
};

int ls_analysis_feed(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	a->nr_records++;
	a->nr_kernel_records += rec->type < LS_REC_CMDLINE;
	if (a->names && ls_names_feed(a->names, rec))
		return -ENOMEM;
	if (rec->type < LS_REC_MAX && handlers[rec->type])
		return handlers[rec->type](a, rec);
	return 0;
}

void ls_analysis_finish(struct ls_analysis *a)
{
	struct ls_thread *t;
	size_t pos = 0;

	a->end_ns = a->complete ? a->end.end_mono_ns : a->last_ts;
	a->end_ns = not_before(a->end_ns, a->start_ns);
	while ((t = ls_htab_next(&a->threads, &pos))) {
		if (thread_dead(t))
			continue;
		/* no event ever told: it slept through the window */
		resolve_unknown(a, t, LS_ST_OTHER_WAIT);
		set_state(a, t, t->state, a->end_ns);
	}
	pos = 0;
	while ((t = ls_htab_next(&a->threads, &pos)))
		turn_end(a, t, t->end ? t->end : a->end_ns);
	busy_change(a, 0, a->end_ns);
	alive_change(a, 0, a->end_ns);
	ls_gil_finish(a);
	ls_pyfuncs_finish(a);
	/* a sample after the window's end (lockscope writes none) would count time outside it */
	a->other_measured = a->other_samples >= 2 && a->other_last_ts > a->other_first_ts &&
			    a->other_last_ts <= a->end_ns;
}

int ls_analyze_file(FILE *f, struct ls_analysis *a, char *err, size_t errlen)
{
	return ls_analyze_file_observed(f, a, NULL, err, errlen);
}

int ls_analyze_file_observed(FILE *f, struct ls_analysis *a, const struct ls_observer *obs,
			     char *err, size_t errlen)
{
	const struct ls_rec_hdr *rec;
	struct ls_reader r;
	enum ls_read_status st;
	int ret = 0;

	if (ls_reader_open(&r, f)) {
		snprintf(err, errlen, "%s", r.err);
		ls_reader_close(&r);
		return -1;
	}
	ls_analysis_init(a, &r.hdr);
	a->obs = obs;
	while ((st = ls_reader_next(&r, &rec)) == LS_READ_RECORD) {
		if (ls_analysis_feed(a, rec)) {
			snprintf(err, errlen, "out of memory");
			ls_reader_close(&r);
			ls_analysis_free(a);
			return -1;
		}
	}
	if (st == LS_READ_END) {
		a->complete = true;
		a->end = r.end;
	} else {
		snprintf(a->status, sizeof(a->status), "%s", r.err);
		ret = 1;
	}
	ls_analysis_finish(a);
	ls_reader_close(&r);
	return ret;
}
