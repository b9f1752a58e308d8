// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gil.h"
#include "figures.h"

_Static_assert((int)LS_TOP_RUNNING == LS_ST_RUNNING && (int)LS_TOP_RUNNABLE == LS_ST_RUNNABLE &&
		       (int)LS_TOP_LOCK == LS_ST_LOCK_WAIT && (int)LS_TOP_GIL == LS_ST_GIL_WAIT &&
		       (int)LS_TOP_OTHER == LS_ST_OTHER_WAIT && (int)LS_TOP_NR_STATES == LS_ST_NR,
	       "top's states are the report's");

static const char *const sort_names[LS_TOP_NR_SORTS] = {
	[LS_TOP_SORT_CPU] = "cpu",	     [LS_TOP_SORT_LOCK] = "lock", [LS_TOP_SORT_GIL] = "gil",
	[LS_TOP_SORT_SWITCHES] = "switches", [LS_TOP_SORT_TID] = "tid",
};

static const char *const state_names[LS_TOP_NR_STATES] = {
	"running", "runnable", "lock", "gil", "other",
};

const char *ls_top_sort_name(enum ls_top_sort sort)
{
	return sort < LS_TOP_NR_SORTS ? sort_names[sort] : "?";
}

const char *ls_top_state_name(int state)
{
	return state >= 0 && state < LS_TOP_NR_STATES ? state_names[state] : "?";
}

static double thread_key(const struct ls_top_thread_view *v, enum ls_top_sort sort)
{
	switch (sort) {
	case LS_TOP_SORT_LOCK:
		return v->share[LS_TOP_LOCK];
	case LS_TOP_SORT_GIL:
		return v->share[LS_TOP_GIL];
	case LS_TOP_SORT_SWITCHES:
		return v->switches_per_s;
	case LS_TOP_SORT_TID:
		return -(double)v->r->tid;
	default:
		return v->share[LS_TOP_RUNNING];
	}
}

static enum ls_top_sort cmp_sort;

/* Highest first; ties by tid, so that rows do not swap places from one interval to the next */
static int cmp_threads(const void *a, const void *b)
{
	const struct ls_top_thread_view *x = a, *y = b;
	double kx = thread_key(x, cmp_sort), ky = thread_key(y, cmp_sort);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->r->tid < y->r->tid ? -1 : x->r->tid > y->r->tid;
}

static int cmp_locks(const void *a, const void *b)
{
	const struct ls_top_lock_view *x = a, *y = b;

	if (x->r->wait_ns != y->r->wait_ns)
		return x->r->wait_ns < y->r->wait_ns ? 1 : -1;
	if (x->r->waits != y->r->waits)
		return x->r->waits < y->r->waits ? 1 : -1;
	return x->r->uaddr < y->r->uaddr ? -1 : x->r->uaddr > y->r->uaddr;
}

static __u64 p99(const struct ls_top_lock_row *r)
{
	__u64 n = 0, want = (r->blocked * 99 + 99) / 100;

	for (int i = 0; i < LS_TOP_HIST; i++) {
		n += r->hist[i];
		if (n >= want && n)
			return 2ULL << i;
	}
	return 0;
}

int ls_top_model_build(struct ls_top_model *m, const struct ls_top_interval *iv,
		       enum ls_top_sort sort)
{
	struct ls_summary *s = &m->s;
	__u64 wall = iv->end_ns > iv->start_ns ? iv->end_ns - iv->start_ns : 1, busiest = 0;
	double ceiling;

	memset(m, 0, sizeof(*m));
	m->iv = iv;
	m->sort = sort;
	m->wall_s = wall / 1e9;
	m->elapsed_s = (iv->end_ns - iv->since_ns) / 1e9;
	m->threads = calloc(iv->nr_threads ? iv->nr_threads : 1, sizeof(*m->threads));
	m->locks = calloc(iv->nr_locks ? iv->nr_locks : 1, sizeof(*m->locks));
	if (!m->threads || !m->locks) {
		ls_top_model_free(m);
		return -ENOMEM;
	}
	s->wall_ns = wall;
	for (size_t i = 0; i < iv->nr_threads; i++) {
		const struct ls_top_thread_row *r = &iv->threads[i];
		struct ls_top_thread_view *v = &m->threads[m->nr_threads];
		__u64 life = 0;

		for (int k = 0; k < LS_TOP_NR_STATES; k++) {
			life += r->state_ns[k];
			s->state_ns[k] += r->state_ns[k];
			v->share[k] = (double)r->state_ns[k] / wall;
		}
		if (!life && !r->vol && !r->invol)
			continue; /* not alive in the interval */
		v->r = r;
		v->switches_per_s = (r->vol + r->invol) / m->wall_s;
		s->lifetime_ns += life;
		s->vol_switches += r->vol;
		s->invol_switches += r->invol;
		s->threads++;
		if (r->state_ns[LS_TOP_RUNNING] > busiest)
			busiest = r->state_ns[LS_TOP_RUNNING];
		m->nr_threads++;
	}
	for (size_t i = 0; i < m->nr_threads; i++) {
		const struct ls_top_thread_row *r = m->threads[i].r;
		/* a turn's work is not measured in the kernel: the thread's CPU time stands for it */
		struct ls_thread_figures f = {
			.cpu_ns = r->state_ns[LS_TOP_RUNNING],
			.turns = r->turns,
			.turn_cpu_ns = r->turns ? r->state_ns[LS_TOP_RUNNING] : 0,
			.sync_ns = r->state_ns[LS_TOP_LOCK] + r->state_ns[LS_TOP_GIL],
		};

		for (int k = 0; k < LS_TOP_NR_STATES; k++)
			f.lifetime_ns += r->state_ns[k];
		ls_summary_count_thread(s, &f, busiest);
	}
	/* threads alive on average, as many as there are CPUs at most */
	ceiling = (double)s->lifetime_ns / wall;
	if (ceiling > iv->nr_cpus && iv->nr_cpus > 0)
		ceiling = iv->nr_cpus;
	s->ceiling_ns = ceiling * wall;
	s->peak_alive = s->threads;
	s->other_measured = iv->other_measured;
	s->other_cpus = iv->other_cpus;
	for (size_t i = 0; i < iv->nr_locks; i++) {
		const struct ls_top_lock_row *r = &iv->locks[i];
		struct ls_top_lock_view *v = &m->locks[m->nr_locks++];

		v->r = r;
		v->waits_per_s = r->waits / m->wall_s;
		v->handoffs_per_s = r->handoffs / m->wall_s;
		v->wait_share = (double)r->wait_ns / wall;
		v->p99_ns = p99(r);
		s->handoffs += r->handoffs;
		if (r->gil_off >= 0)
			ls_gil_word_label(r->gil_off, v->name, sizeof(v->name));
		else
			snprintf(v->name, sizeof(v->name), "0x%llx", (unsigned long long)r->uaddr);
	}
	ls_summary_derive(s);
	for (size_t i = 0; i < iv->nr_gils; i++) {
		const struct ls_top_gil_row *g = &iv->gils[i];

		if (g->tgid == iv->target || !m->gil ||
		    (m->gil->tgid != iv->target && g->load > m->gil->load))
			m->gil = g;
	}
	cmp_sort = sort;
	qsort(m->threads, m->nr_threads, sizeof(*m->threads), cmp_threads);
	qsort(m->locks, m->nr_locks, sizeof(*m->locks), cmp_locks);
	return 0;
}

void ls_top_model_free(struct ls_top_model *m)
{
	free(m->threads);
	free(m->locks);
	m->threads = NULL;
	m->locks = NULL;
}
