// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One streaming pass over a recording's records, one handler per record type. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "analyze.h"

void ls_analysis_init(struct ls_analysis *a, const struct ls_file_header *hdr)
{
	memset(a, 0, sizeof(*a));
	a->hdr = *hdr;
	a->start_ns = a->last_ts = hdr->start_mono_ns;
	ls_htab_init(&a->threads, sizeof(struct ls_thread), offsetof(struct ls_thread, tid),
		     sizeof(__u32));
	ls_htab_init(&a->locks, sizeof(struct ls_lock), offsetof(struct ls_lock, key),
		     sizeof(struct ls_lock_key));
}

void ls_analysis_free(struct ls_analysis *a)
{
	ls_htab_free(&a->threads);
	ls_htab_free(&a->locks);
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

__u64 ls_thread_lifetime(const struct ls_analysis *a, const struct ls_thread *t)
{
	__u64 end = t->end ? t->end : a->end_ns;

	return end > t->start ? end - t->start : 0;
}

static void seen(struct ls_analysis *a, __u64 ts)
{
	if (ts > a->last_ts)
		a->last_ts = ts;
}

static struct ls_thread *thread_get(struct ls_analysis *a, __u32 tid, __u64 ts)
{
	bool created;
	struct ls_thread *t = ls_htab_get(&a->threads, &tid, &created);

	if (t && created)
		t->start = ts > a->start_ns ? ts : a->start_ns;
	return t;
}

static struct ls_lock *lock_get(struct ls_analysis *a, __u32 tid, __u64 uaddr)
{
	const struct ls_thread *t = ls_htab_find(&a->threads, &tid);
	struct ls_lock_key key = { .tgid = t ? t->tgid : 0, .uaddr = uaddr };

	return ls_htab_get(&a->locks, &key, NULL);
}

static int on_cmdline(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_cmdline *c = (const void *)rec;

	snprintf(a->cmdline, sizeof(a->cmdline), "%s", c->text);
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
		return -ENOMEM;
	t->tgid = in->tgid;
	memcpy(t->comm, in->comm, LS_COMM_LEN);
	if (in->flags & LS_TASK_AT_START) {
		/* until a switch says otherwise, a thread found runnable is taken as running */
		t->running = in->flags & LS_TASK_RUNNABLE;
		t->run_since = a->start_ns;
	}
	return 0;
}

static int on_task_new(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_task_new *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return -ENOMEM;
	t->tgid = e->tgid;
	memcpy(t->comm, e->comm, LS_COMM_LEN);
	/* born in the window: the kernel's switch counters started at zero */
	t->counters_known = true;
	t->state_known = true;
	return 0;
}

static int on_exec(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_exec *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return -ENOMEM;
	t->tgid = e->tgid;
	memcpy(t->comm, e->comm, LS_COMM_LEN);
	return 0;
}

static int on_task_exit(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_exit *e = (const void *)rec;
	struct ls_thread *t = thread_get(a, rec->tid, e->ts);

	seen(a, e->ts);
	if (!t)
		return -ENOMEM;
	t->tgid = e->tgid;
	t->end = e->ts;
	t->exited = true;
	t->exit_code = e->exit_code;
	return 0;
}

/* Voluntary or not, as the kernel counted it: which of prev's counters moved. */
static void count_switch(struct ls_thread *t, const struct ls_switch *e)
{
	bool vol;

	if (t->counters_known)
		vol = e->prev_nvcsw != t->nvcsw;
	else
		vol = !(e->flags & LS_SW_PREEMPT) && e->prev_state != 0;
	t->nvcsw = e->prev_nvcsw;
	t->nivcsw = e->prev_nivcsw;
	t->counters_known = true;
	/* an exiting thread's last switch is counted after its counts were
	 * folded into the process's: leave it out, as getrusage and /proc do */
	if (e->prev_state & LS_TASK_DEAD)
		return;
	if (vol)
		t->vol_switches++;
	else
		t->invol_switches++;
}

static int on_switch(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_switch *e = (const void *)rec;
	struct ls_thread *t;

	seen(a, e->ts);
	if (e->flags & LS_SW_PREV_TRACED) {
		t = thread_get(a, rec->tid, e->ts);
		if (!t)
			return -ENOMEM;
		if (t->running || !t->state_known)
			t->oncpu_ns += e->ts - (t->running ? t->run_since : t->start);
		t->running = false;
		t->state_known = true;
		count_switch(t, e);
		if (e->prev_state & LS_TASK_DEAD)
			t->end = e->ts;
	}
	if (e->flags & LS_SW_NEXT_TRACED) {
		t = thread_get(a, e->next_tid, e->ts);
		if (!t)
			return -ENOMEM;
		t->running = true;
		t->state_known = true;
		t->run_since = e->ts;
	}
	return 0;
}

static int count_wait(struct ls_analysis *a, __u32 tid, __u64 uaddr, __u64 enter, __u64 exit,
		      __s32 ret)
{
	struct ls_lock *l = lock_get(a, tid, uaddr);
	enum ls_outcome o = ls_wait_outcome(ret);

	if (!l)
		return -ENOMEM;
	l->waits++;
	l->outcomes[o]++;
	if (o == LS_OUT_NOBLOCK || o == LS_OUT_ERROR)
		return 0;
	l->blocked++;
	if (enter < a->start_ns)
		enter = a->start_ns;
	l->wait_ns += exit > enter ? exit - enter : 0;
	return 0;
}

static int on_futex_wait(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex *e = (const void *)rec;

	seen(a, e->ts_exit);
	return count_wait(a, rec->tid, e->uaddr, e->ts_enter, e->ts_exit, e->ret);
}

static int on_futex_waitv(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex_waitv *e = (const void *)rec;
	int err = 0;

	seen(a, e->ts_exit);
	for (__u32 i = 0; i < e->nr && i < LS_WAITV_MAX && !err; i++)
		err = count_wait(a, rec->tid, e->uaddr[i], e->ts_enter, e->ts_exit, e->ret);
	return err;
}

static int on_futex_wake(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_futex *e = (const void *)rec;
	struct ls_lock *l = lock_get(a, rec->tid, e->uaddr);

	seen(a, e->ts_exit);
	if (!l)
		return -ENOMEM;
	l->wakes++;
	l->woken += e->ret > 0 ? e->ret : 0;
	return 0;
}

static int on_wakeup(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	seen(a, ((const struct ls_wakeup *)rec)->ts);
	return 0;
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

typedef int (*record_handler)(struct ls_analysis *a, const struct ls_rec_hdr *rec);

static const record_handler handlers[LS_REC_MAX] = {
	[LS_REC_FUTEX_WAIT] = on_futex_wait,
	[LS_REC_FUTEX_WAKE] = on_futex_wake,
	[LS_REC_FUTEX_WAITV] = on_futex_waitv,
	[LS_REC_SWITCH] = on_switch,
	[LS_REC_WAKEUP] = on_wakeup,
	[LS_REC_WAKEUP_NEW] = on_wakeup,
	[LS_REC_TASK_NEW] = on_task_new,
	[LS_REC_EXEC] = on_exec,
	[LS_REC_EXIT] = on_task_exit,
	[LS_REC_CMDLINE] = on_cmdline,
	[LS_REC_TASK] = on_task,
	[LS_REC_LOST] = on_lost,
};

int ls_analysis_feed(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	a->nr_records++;
	if (rec->type < LS_REC_MAX && handlers[rec->type])
		return handlers[rec->type](a, rec);
	return 0;
}

void ls_analysis_finish(struct ls_analysis *a)
{
	struct ls_thread *t;
	size_t pos = 0;

	a->end_ns = a->complete ? a->end.end_mono_ns : a->last_ts;
	if (a->end_ns < a->start_ns)
		a->end_ns = a->start_ns;
	while ((t = ls_htab_next(&a->threads, &pos))) {
		__u64 end = t->end ? t->end : a->end_ns;

		if (t->running && end > t->run_since)
			t->oncpu_ns += end - t->run_since;
		t->running = false;
	}
}

int ls_analyze_file(FILE *f, struct ls_analysis *a, char *err, size_t errlen)
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
	while ((st = ls_reader_next(&r, &rec)) == LS_READ_RECORD) {
		if (ls_analysis_feed(a, rec)) {
			snprintf(err, errlen, "out of memory");
			ls_reader_close(&r);
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
