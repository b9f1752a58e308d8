// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fold.h"

/* A process, summed over its threads */
struct proc {
	__u32 tgid; /* key */
	__u32 threads;
	bool running; /* some thread of it did not exit in the window */
	__u64 first, last;
	__u64 cpu_ns, sync_ns, handoffs;
	const struct ls_thread *named; /* its leader, else its first thread seen */
};

struct totals {
	__u64 cpu_ns, sync_ns, handoffs;
};

/* x at most pct percent of total, in doubles: a damaged file's figures can be huge */
static bool within(__u64 x, __u64 total, int pct)
{
	return x * 100.0 <= (double)total * pct;
}

static bool qualifies(const struct ls_analysis *a, const struct proc *p, const struct totals *t)
{
	/* the launched command or the attached process is the workload, whatever it did */
	if (p->tgid == a->hdr.target_pid || p->running)
		return false;
	return within(p->last > p->first ? p->last - p->first : 0, a->end_ns - a->start_ns,
		      LS_FOLD_LIFETIME_PCT) &&
	       within(p->cpu_ns, t->cpu_ns, LS_FOLD_CPU_PCT) &&
	       within(p->sync_ns, t->sync_ns, LS_FOLD_SYNC_PCT) &&
	       within(p->handoffs, t->handoffs, LS_FOLD_HANDOFF_PCT);
}

static int procs_get(const struct ls_analysis *a, struct ls_htab *procs, struct totals *tot)
{
	const struct ls_thread *t;
	const struct ls_lock *l;
	struct proc *p;
	size_t pos = 0;
	bool created;

	while ((t = ls_htab_next(&a->threads, &pos))) {
		__u64 sync = t->state_ns[LS_ST_LOCK_WAIT] + t->state_ns[LS_ST_GIL_WAIT];

		p = ls_htab_get(procs, &t->tgid, &created);
		if (!p)
			return -ENOMEM;
		if (created || t->start < p->first)
			p->first = t->start;
		if (t->end > p->last)
			p->last = t->end;
		p->running |= !t->end;
		if (created || t->tid == t->tgid)
			p->named = t;
		p->threads++;
		p->cpu_ns += t->state_ns[LS_ST_RUNNING];
		p->sync_ns += sync;
		tot->cpu_ns += t->state_ns[LS_ST_RUNNING];
		tot->sync_ns += sync;
	}
	/* a process that takes part in hand-offs holds locks others wait for */
	pos = 0;
	while ((l = ls_htab_next(&a->locks, &pos))) {
		tot->handoffs += l->handoffs;
		if (!ls_lock_is_others(l) && (p = ls_htab_find(procs, &l->key.tgid)))
			p->handoffs += l->handoffs;
	}
	return 0;
}

static int cmp_group(const void *pa, const void *pb)
{
	const struct ls_fold_group *x = pa, *y = pb;

	if (x->processes != y->processes)
		return x->processes > y->processes ? -1 : 1;
	if (x->cpu_ns != y->cpu_ns)
		return x->cpu_ns > y->cpu_ns ? -1 : 1;
	return strcmp(x->comm, y->comm);
}

/* Fold p: its tgid noted, its figures added to its command's group. */
static int fold_proc(struct ls_fold *f, struct ls_htab *groups, const struct proc *p)
{
	char comm[LS_COMM_LEN] = { 0 };
	struct ls_fold_group *g;

	memcpy(comm, p->named->comm, strnlen(p->named->comm, LS_COMM_LEN - 1));
	g = ls_htab_get(groups, comm, NULL);
	if (!g || !ls_htab_get(&f->tgids, &p->tgid, NULL))
		return -ENOMEM;
	g->processes++;
	g->threads += p->threads;
	g->cpu_ns += p->cpu_ns;
	f->processes++;
	f->threads += p->threads;
	f->cpu_ns += p->cpu_ns;
	return 0;
}

/* The groups of the processes that qualify, in f; 0 when fewer than LS_FOLD_MIN do. */
static int fold_all(struct ls_fold *f, const struct ls_analysis *a, const struct ls_htab *procs,
		    const struct totals *tot)
{
	const struct ls_fold_group *g;
	const struct proc *p;
	struct ls_htab groups;
	size_t pos = 0, n = 0;
	int err = 0;

	while ((p = ls_htab_next(procs, &pos)))
		n += qualifies(a, p, tot);
	if (n < LS_FOLD_MIN)
		return 0;
	ls_htab_init(&groups, sizeof(struct ls_fold_group), 0, LS_COMM_LEN);
	pos = 0;
	while (!err && (p = ls_htab_next(procs, &pos)))
		if (qualifies(a, p, tot))
			err = fold_proc(f, &groups, p);
	f->groups = err ? NULL : calloc(groups.nr, sizeof(*f->groups));
	if (!err && !f->groups)
		err = -ENOMEM;
	pos = 0;
	while (!err && (g = ls_htab_next(&groups, &pos)))
		f->groups[f->nr_groups++] = *g;
	if (!err)
		qsort(f->groups, f->nr_groups, sizeof(*f->groups), cmp_group);
	ls_htab_free(&groups);
	return err;
}

void ls_fold_none(struct ls_fold *f)
{
	memset(f, 0, sizeof(*f));
	ls_htab_init(&f->tgids, sizeof(__u32), 0, sizeof(__u32));
}

int ls_fold_init(struct ls_fold *f, const struct ls_analysis *a)
{
	struct totals tot = { 0 };
	struct ls_htab procs;
	int err;

	ls_fold_none(f);
	ls_htab_init(&procs, sizeof(struct proc), 0, sizeof(__u32));
	err = procs_get(a, &procs, &tot);
	if (!err)
		err = fold_all(f, a, &procs, &tot);
	ls_htab_free(&procs);
	if (err) { /* out of memory: every thread shown, as if none qualified */
		ls_fold_free(f);
		ls_fold_none(f);
	}
	return err;
}

bool ls_fold_has(const struct ls_fold *f, __u32 tgid)
{
	return f->tgids.nr && ls_htab_find(&f->tgids, &tgid);
}

void ls_fold_free(struct ls_fold *f)
{
	ls_htab_free(&f->tgids);
	free(f->groups);
	f->groups = NULL;
	f->nr_groups = 0;
}
