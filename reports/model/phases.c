// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Phases: each timeline cell gets a class from its own figures; runs of one class shorter than
 * LS_PHASE_MIN_SHARE of the window are flickers, merged into their longer neighbour; each run left
 * is a phase, with its verdict from its own figures, and neighbours with one verdict are joined.
 * Serialized and imbalanced share a class: within one cell too few turns are seen to tell them
 * apart, over a phase there are enough.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "phases.h"

struct run {
	size_t lo, hi; /* cells [lo, hi) */
	int cls;
};

static __u64 sum_cells(const __u64 *cells, size_t stride, size_t lo, size_t hi)
{
	__u64 sum = 0;

	for (size_t c = lo; c < hi; c++)
		sum += cells[c * stride];
	return sum;
}

/*
 * The figures of cells [lo, hi); f has room for every thread with a lane, or is NULL to leave the
 * threads out (their turns, for a cell's class, which needs none of them)
 */
static void cells_summary(const struct ls_analysis *a, size_t lo, size_t hi,
			  struct ls_thread_figures *f, struct ls_summary *s)
{
	__u64 start = a->start_ns + lo * a->cell_ns, end = a->start_ns + hi * a->cell_ns;
	const struct ls_thread *t;
	size_t pos = 0, n = 0;
	__u64 busiest = 0;

	memset(s, 0, sizeof(*s));
	s->wall_ns = (end < a->end_ns ? end : a->end_ns) - start;
	for (int st = 0; st < LS_ST_NR; st++) {
		s->state_ns[st] = sum_cells(&a->state_cells[0][st], LS_ST_NR, lo, hi);
		s->lifetime_ns += s->state_ns[st];
	}
	s->ceiling_ns = sum_cells(a->ceiling_cells, 1, lo, hi);
	s->handoffs = sum_cells(a->handoff_cells, 1, lo, hi);
	s->other_measured = a->other_measured;
	s->other_cpus = s->wall_ns ? (double)sum_cells(a->other_cells, 1, lo, hi) / s->wall_ns : 0;
	/* the threads with a lane; the others' time is in the sums above all the same */
	while (f && (t = ls_htab_next(&a->threads, &pos))) {
		struct ls_thread_figures *x = &f[n];

		if (!t->timeline || n >= LS_TL_THREADS)
			continue;
		memset(x, 0, sizeof(*x));
		for (int st = 0; st < LS_ST_NR; st++)
			x->lifetime_ns += sum_cells(&t->timeline[0][st], LS_ST_NR, lo, hi);
		if (!x->lifetime_ns)
			continue;
		x->cpu_ns = sum_cells(&t->timeline[0][LS_ST_RUNNING], LS_ST_NR, lo, hi);
		x->sync_ns = sum_cells(&t->timeline[0][LS_ST_LOCK_WAIT], LS_ST_NR, lo, hi) +
			     sum_cells(&t->timeline[0][LS_ST_GIL_WAIT], LS_ST_NR, lo, hi);
		if (t->turn_cells) {
			x->turns = sum_cells(&t->turn_cells[0][0], 2, lo, hi);
			x->turn_cpu_ns = sum_cells(&t->turn_cells[0][1], 2, lo, hi);
		}
		n++;
	}
	s->threads = s->peak_alive = n; /* threads that lived in it: not all at once, perhaps */
	for (size_t i = 0; i < n; i++)
		if (f[i].cpu_ns > busiest)
			busiest = f[i].cpu_ns;
	for (size_t i = 0; i < n; i++)
		ls_summary_count_thread(s, &f[i], busiest);
	ls_summary_derive(s);
}

/*
 * A cell's class: the verdict's rules, serialized and imbalanced one class (a cell is too short to
 * count turns), more than one thread alive on average for "at least 2 threads"
 */
static int cell_class(const struct ls_summary *s)
{
	bool sync = s->lifetime_ns > s->wall_ns && s->sync_wait_blocked >= 0.5;

	if (sync && s->parallelism < 1.2)
		return LS_VERDICT_SERIALIZED;
	if (s->utilization >= 0.8)
		return LS_VERDICT_PARALLEL;
	if (sync)
		return LS_VERDICT_SERIALIZED;
	if (s->other_wait_share >= 0.5)
		return LS_VERDICT_WAITING;
	return LS_VERDICT_MIXED;
}

/* Drop run i, merged into run into (a neighbour) */
static size_t merge_run(struct run *r, size_t n, size_t i, size_t into)
{
	if (into < i)
		r[into].hi = r[i].hi;
	else
		r[into].lo = r[i].lo;
	memmove(&r[i], &r[i + 1], (n - i - 1) * sizeof(*r));
	return n - 1;
}

/* Join neighbours of one class */
static size_t coalesce(struct run *r, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out && r[out - 1].cls == r[i].cls)
			r[out - 1].hi = r[i].hi;
		else
			r[out++] = r[i];
	}
	return out;
}

/* Merge the shortest flicker into its longer neighbour until none is left: n <= LS_TL_CELLS */
static size_t drop_flickers(struct run *r, size_t n, size_t min_cells)
{
	for (;;) {
		size_t best = n;

		for (size_t i = 0; i < n; i++)
			if (r[i].hi - r[i].lo < min_cells &&
			    (best == n || r[i].hi - r[i].lo < r[best].hi - r[best].lo))
				best = i;
		if (best == n || n < 2)
			return n;
		if (best == 0)
			n = merge_run(r, n, 0, 1);
		else if (best == n - 1 ||
			 r[best - 1].hi - r[best - 1].lo >= r[best + 1].hi - r[best + 1].lo)
			n = merge_run(r, n, best, best - 1);
		else
			n = merge_run(r, n, best, best + 1);
		n = coalesce(r, n);
	}
}

int ls_phases_find(const struct ls_analysis *a, struct ls_phases *p)
{
	__u64 wall = a->end_ns - a->start_ns;
	size_t cells = a->cell_ns ? (wall + a->cell_ns - 1) / a->cell_ns : 0, n = 0, min_cells;
	struct ls_thread_figures *f;
	struct run r[LS_TL_CELLS];
	struct ls_summary s;

	memset(p, 0, sizeof(*p));
	if (cells > LS_TL_CELLS)
		cells = LS_TL_CELLS;
	if (!cells)
		cells = 1;
	f = calloc(LS_TL_THREADS, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t c = 0; c < cells; c++) {
		cells_summary(a, c, c + 1, NULL, &s);
		r[n++] = (struct run){ c, c + 1, cell_class(&s) };
		n = coalesce(r, n);
	}
	min_cells = cells * LS_PHASE_MIN_SHARE + 0.999;
	n = drop_flickers(r, n, min_cells > 2 ? min_cells : 2);
	/* each run's own figures and verdict; a run with its neighbour's verdict joins its phase */
	for (size_t i = 0, lo = 0; i < n && p->nr < LS_PHASES_MAX; i++) {
		struct ls_phase *ph = &p->v[p->nr];

		cells_summary(a, r[i].lo, r[i].hi, f, &ph->s);
		if (p->nr && ph[-1].s.verdict == ph->s.verdict) {
			ph--;
			cells_summary(a, lo, r[i].hi, f, &ph->s);
		} else {
			lo = r[i].lo;
			ph->start_ns = a->start_ns + lo * a->cell_ns;
			p->nr++;
		}
		ph->end_ns = i + 1 < n ? a->start_ns + r[i].hi * a->cell_ns : a->end_ns;
	}
	free(f);
	return 0;
}
