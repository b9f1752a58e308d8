// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Python stacks: functions, per-process status, samples and GIL waits by function (pyfuncs.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "escape.h"
#include "pyfuncs.h"

void ls_pyfuncs_init(struct ls_pyfuncs *py)
{
	memset(py, 0, sizeof(*py));
	ls_htab_init(&py->funcs, sizeof(struct ls_pyfunc), offsetof(struct ls_pyfunc, id),
		     sizeof(__u32));
	ls_htab_init(&py->procs, sizeof(struct ls_pyproc), offsetof(struct ls_pyproc, tgid),
		     sizeof(__u32));
	ls_htab_init(&py->thread_funcs, sizeof(struct ls_pythread_func),
		     offsetof(struct ls_pythread_func, key),
		     sizeof(((struct ls_pythread_func *)0)->key));
	ls_htab_init(&py->lines, sizeof(struct ls_pyline), offsetof(struct ls_pyline, key),
		     sizeof(((struct ls_pyline *)0)->key));
	ls_htab_init(&py->early_locks, sizeof(struct ls_py_early_lock),
		     offsetof(struct ls_py_early_lock, tid), sizeof(__u32));
	ls_htab_init(&py->folds, sizeof(struct ls_pyfold), offsetof(struct ls_pyfold, key),
		     sizeof(((struct ls_pyfold *)0)->key));
}

void ls_pyfuncs_free(struct ls_analysis *a)
{
	struct ls_pyfuncs *py = &a->py;
	struct ls_pyfunc *f;
	size_t pos = 0;

	while ((f = ls_htab_next(&py->funcs, &pos))) {
		free(f->name);
		free(f->file);
	}
	ls_htab_free(&py->funcs);
	ls_htab_free(&py->procs);
	ls_htab_free(&py->thread_funcs);
	ls_htab_free(&py->lines);
	ls_htab_free(&py->folds);
	ls_htab_free(&py->early_locks);
}

/* The process's entry, made unless LS_PY_PROCS_MAX are followed: NULL then, or out of memory */
static struct ls_pyproc *proc_get(struct ls_analysis *a, __u32 tgid, int *err)
{
	struct ls_pyproc *p = ls_htab_find(&a->py.procs, &tgid);

	*err = 0;
	if (p)
		return p;
	if (a->py.procs.nr >= LS_PY_PROCS_MAX) {
		a->py.procs_left_out++;
		return NULL;
	}
	p = ls_htab_get(&a->py.procs, &tgid, NULL);
	if (!p)
		*err = -ENOMEM;
	return p;
}

/* An entry of a table of pairs, added unless it holds max: NULL then (said), or out of memory */
static void *pair_get(struct ls_analysis *a, struct ls_htab *h, const void *key, size_t max,
		      int *err)
{
	void *e = ls_htab_find(h, key);

	*err = 0;
	if (e)
		return e;
	if (h->nr >= max) {
		a->py.pairs_left_out = true;
		return NULL;
	}
	e = ls_htab_get(h, key, NULL);
	if (!e)
		*err = -ENOMEM;
	return e;
}

/* len bytes of a trace's string, at most LS_PY_STR_MAX of them, escaped, in memory of its own */
static char *dup_escaped(const char *s, size_t len)
{
	char raw[LS_PY_STR_MAX + 1], out[4 * LS_PY_STR_MAX + 4];
	size_t n = len < LS_PY_STR_MAX ? len : LS_PY_STR_MAX;

	memcpy(raw, s, n);
	raw[n] = '\0';
	ls_escape(out, sizeof(out) - 3, raw);
	if (n < len)
		strcat(out, "...");
	return strdup(out);
}

int ls_pyfuncs_on_func(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_py_func *pf = (const void *)rec;
	struct ls_pyproc *p;
	struct ls_pyfunc *f;
	bool created;
	int err;

	p = proc_get(a, rec->tid, &err);
	if (err || !pf->id) /* 0 means "not resolved": no function has it */
		return err;
	if (!ls_htab_find(&a->py.funcs, &pf->id) && a->py.funcs.nr >= LS_PY_FUNCS_MAX) {
		a->py.funcs_left_out++;
		if (p)
			p->funcs_left_out++;
		return 0;
	}
	f = ls_htab_get(&a->py.funcs, &pf->id, &created);
	if (!f)
		return -ENOMEM;
	if (!created) /* ids are unique in a file: a second one is damage, the first stands */
		return 0;
	f->tgid = rec->tid;
	f->firstlineno = pf->firstlineno;
	f->name = dup_escaped(pf->strs, pf->name_len);
	f->file = dup_escaped(pf->strs + pf->name_len, pf->file_len);
	if (!f->name || !f->file)
		return -ENOMEM;
	if (p)
		p->funcs++;
	return 0;
}

int ls_pyfuncs_on_status(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_py_status *st = (const void *)rec;
	int err;
	struct ls_pyproc *p = proc_get(a, rec->tid, &err);

	if (!p)
		return err;
	/* the last one stands: the recorder may learn late that it cannot read a process */
	p->have_status = true;
	p->err = st->err;
	p->hexversion = st->hexversion;
	p->sample_hz = st->sample_hz;
	ls_escape(p->why, sizeof(p->why), st->why);
	return 0;
}

const struct ls_pyfunc *ls_pyfunc_find(const struct ls_analysis *a, __u32 tgid, __u32 id)
{
	const struct ls_pyfunc *f = id ? ls_htab_find(&a->py.funcs, &id) : NULL;

	return f && f->tgid == tgid ? f : NULL;
}

static struct ls_pyfunc *func_mut(struct ls_analysis *a, __u32 tgid, __u32 id)
{
	return (struct ls_pyfunc *)ls_pyfunc_find(a, tgid, id);
}

double ls_py_sample_ns(const struct ls_analysis *a, __u32 tgid)
{
	const struct ls_pyproc *p = ls_htab_find(&a->py.procs, &tgid);

	return p && p->sample_hz ? 1e9 / p->sample_hz : 0;
}

/* The innermost frame with a function id, -1 if none: the frame a stack is charged to */
static int innermost(const struct ls_py_stack *ps)
{
	for (int i = 0; i < ps->nr; i++)
		if (ps->frames[i].func)
			return i;
	return -1;
}

static struct ls_thread_py *thread_py(struct ls_thread *t)
{
	if (!t->py)
		t->py = calloc(1, sizeof(*t->py));
	return t->py;
}

/* The thread's folded entry for this stack: its function ids, innermost first */
static struct ls_pyfold *fold_get(struct ls_analysis *a, const struct ls_rec_hdr *rec,
				  enum ls_pyfold_what what, int *err)
{
	const struct ls_py_stack *ps = (const void *)rec;
	struct ls_pyfold key;

	memset(&key, 0, sizeof(key));
	key.key.tid = rec->tid;
	key.key.tgid = ps->tgid;
	key.key.what = what;
	key.key.nr = ps->nr;
	for (int i = 0; i < ps->nr; i++)
		key.key.funcs[i] = ps->frames[i].func;
	return pair_get(a, &a->py.folds, &key.key, LS_PY_STACKS_MAX, err);
}

/* The GIL wait t began at its last GIL_WAITER stack ends: its time goes to both functions */
static void charge_gil_wait(struct ls_analysis *a, struct ls_thread *t)
{
	struct ls_thread_py *tp = t->py;
	struct ls_pyproc *p;
	struct ls_pyfunc *f;
	__u64 ns;

	if (!tp || !tp->wait_open)
		return;
	tp->wait_open = false;
	ns = t->state_ns[LS_ST_GIL_WAIT] > tp->wait_mark
		     ? t->state_ns[LS_ST_GIL_WAIT] - tp->wait_mark
		     : 0;
	p = ls_htab_find(&a->py.procs, &tp->wait_tgid);
	if (!ns || !p)
		return;
	p->gil_wait_ns += ns;
	f = func_mut(a, tp->wait_tgid, tp->wait_func);
	if (f) {
		f->gil_waits++;
		f->gil_wait_ns += ns;
	} else {
		p->gil_wait_unattributed_ns += ns;
	}
	f = tp->holder_known ? func_mut(a, tp->wait_tgid, tp->holder_func) : NULL;
	if (f) {
		f->blamed_waits++;
		f->blamed_wait_ns += ns;
	} else {
		p->blamed_unknown_ns += ns;
	}
	if (tp->wait_fold)
		tp->wait_fold->ns += ns;
}

static int on_sampled(struct ls_analysis *a, struct ls_pyproc *p, struct ls_thread *t,
		      const struct ls_rec_hdr *rec)
{
	const struct ls_py_stack *ps = (const void *)rec;
	int i = innermost(ps), err = 0;
	struct ls_pyfunc *f = i < 0 ? NULL : func_mut(a, ps->tgid, ps->frames[i].func);
	struct ls_thread_py *tp = t ? thread_py(t) : NULL;
	struct ls_pythread_func key = { .key = { rec->tid, f ? f->id : 0 } }, *tf;
	struct ls_pyfold *fo;

	if (t && !tp)
		return -ENOMEM;
	if (ps->ts < a->start_ns) /* the window is what the figures cover */
		return 0;
	p->samples++;
	p->held_samples += !!ps->gil_held;
	if (tp) {
		tp->samples++;
		tp->held_samples += !!ps->gil_held;
	}
	if (!f) {
		p->samples_unattributed++;
	} else {
		f->samples++;
		f->held_samples += !!ps->gil_held;
	}
	if (f && tp && (tf = pair_get(a, &a->py.thread_funcs, &key.key, LS_PAIRS_MAX, &err)) &&
	    ++tf->samples > tp->top_samples) {
		tp->top_samples = tf->samples;
		tp->top_func = f->id;
	}
	if (err || !ps->gil_held)
		return err;
	fo = fold_get(a, rec, LS_PYFOLD_GIL_HELD, &err);
	if (fo)
		fo->samples++;
	return err;
}

static int on_gil_waiter(struct ls_analysis *a, struct ls_thread *t, const struct ls_rec_hdr *rec)
{
	const struct ls_py_stack *ps = (const void *)rec;
	struct ls_thread_py *tp = thread_py(t);
	int i = innermost(ps), err;

	if (!tp)
		return -ENOMEM;
	charge_gil_wait(a, t); /* the GIL wait time since its previous one was that one's */
	tp->wait_open = true;
	tp->gil_stacks = true;
	tp->wait_ts = ps->ts;
	tp->wait_mark = t->state_ns[LS_ST_GIL_WAIT];
	tp->wait_tgid = ps->tgid;
	tp->wait_func =
		i >= 0 && ls_pyfunc_find(a, ps->tgid, ps->frames[i].func) ? ps->frames[i].func : 0;
	tp->holder_known = false;
	tp->holder_func = 0;
	tp->wait_fold = fold_get(a, rec, LS_PYFOLD_GIL_WAIT, &err);
	return err;
}

/* The holder's stack as waiter_tid's wait began: the first one after that wait's stack stands */
static void on_gil_holder(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_py_stack *ps = (const void *)rec;
	struct ls_thread *w = ls_htab_find(&a->threads, &ps->waiter_tid);
	struct ls_thread_py *tp = w ? w->py : NULL;
	int i = innermost(ps);

	if (!tp || !tp->wait_open || tp->holder_known || ps->ts < tp->wait_ts ||
	    ps->tgid != tp->wait_tgid || rec->tid == ps->waiter_tid)
		return;
	tp->holder_known = true;
	tp->holder_func = i >= 0 ? ps->frames[i].func : 0;
}

static int on_lock_waiter(struct ls_analysis *a, struct ls_thread *t, const struct ls_py_stack *ps)
{
	struct ls_thread_py *tp = t ? thread_py(t) : NULL;
	int i = innermost(ps), err = 0;
	struct ls_py_early_lock *e = NULL;

	if (t && !tp)
		return -ENOMEM;
	if (!t) {
		e = pair_get(a, &a->py.early_locks, &ps->hdr.tid, LS_PAIRS_MAX, &err);
		if (!e)
			return err;
		*e = (struct ls_py_early_lock){ .tid = ps->hdr.tid, .open = true };
	}
	if (tp) {
		tp->lock_open = true;
		tp->lock_ts = ps->ts;
		tp->lock_uaddr = ps->uaddr;
		tp->lock_func = i >= 0 ? ps->frames[i].func : 0;
		tp->lock_line = i >= 0 ? ps->frames[i].line : 0;
	} else {
		e->ts = ps->ts;
		e->uaddr = ps->uaddr;
		e->func = i >= 0 ? ps->frames[i].func : 0;
		e->line = i >= 0 ? ps->frames[i].line : 0;
	}
	return 0;
}

/* t's LOCK_WAITER stack taken before the analysis met t, now that its wait comes */
static void early_lock(struct ls_analysis *a, struct ls_thread *t)
{
	struct ls_py_early_lock *e =
		a->py.early_locks.nr ? ls_htab_find(&a->py.early_locks, &t->tid) : NULL;
	struct ls_thread_py *tp;

	if (!e || !e->open || !(tp = thread_py(t)))
		return;
	e->open = false;
	tp->lock_open = true;
	tp->lock_ts = e->ts;
	tp->lock_uaddr = e->uaddr;
	tp->lock_func = e->func;
	tp->lock_line = e->line;
}

int ls_pyfuncs_on_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_py_stack *ps = (const void *)rec;
	struct ls_thread *t = ls_htab_find(&a->threads, &rec->tid);
	int err;
	struct ls_pyproc *p = proc_get(a, ps->tgid, &err);

	if (!p)
		return err;
	p->stacks++;
	if (t && t->tgid != ps->tgid) /* a stack that names another process: damage */
		t = NULL;
	switch (ps->kind) {
	case LS_PY_SAMPLED:
		err = on_sampled(a, p, t, rec);
		break;
	case LS_PY_GIL_WAITER:
		err = t ? on_gil_waiter(a, t, rec) : 0;
		break;
	case LS_PY_GIL_HOLDER:
		on_gil_holder(a, rec);
		break;
	case LS_PY_LOCK_WAITER:
		err = on_lock_waiter(a, t, ps);
		break;
	}
	if (!err && a->obs && a->obs->on_py_stack)
		a->obs->on_py_stack(a->obs->ctx, a, t, ps);
	return err;
}

int ls_pyfuncs_on_wait(struct ls_analysis *a, struct ls_thread *t, const struct ls_lock *l,
		       __u64 uaddr, __u64 enter, __u64 exit, __u64 ns)
{
	struct ls_thread_py *tp;
	struct ls_pyline key, *e;
	int err;

	if (!t->py || !t->py->lock_open)
		early_lock(a, t);
	tp = t->py;
	if (!tp || !tp->lock_open || tp->lock_ts > exit)
		return 0;
	/* the stack is taken inside the wait it belongs to; one before this wait lost its own */
	tp->lock_open = false;
	if (tp->lock_ts < enter || tp->lock_uaddr != uaddr)
		return 0;
	memset(&key, 0, sizeof(key));
	key.key.tgid = t->tgid;
	key.key.func = ls_pyfunc_find(a, t->tgid, tp->lock_func) ? tp->lock_func : 0;
	key.key.uaddr = uaddr;
	key.key.line = key.key.func ? tp->lock_line : 0;
	e = pair_get(a, &a->py.lines, &key.key, LS_PAIRS_MAX, &err);
	if (!e)
		return err;
	e->lock = l;
	e->waits++;
	e->wait_ns += ns;
	return 0;
}

void ls_pyfuncs_finish(struct ls_analysis *a)
{
	struct ls_thread *t;
	size_t pos = 0;

	while ((t = ls_htab_next(&a->threads, &pos)))
		charge_gil_wait(a, t);
}
