// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "summary.h"

const char *ls_verdict_name(enum ls_verdict v)
{
	static const char *const names[LS_VERDICT_NR] = { "serialized", "parallel", "waiting",
							  "mixed", "imbalanced" };

	return v < LS_VERDICT_NR ? names[v] : "?";
}

const char *ls_verdict_title(enum ls_verdict v)
{
	static const char *const titles[LS_VERDICT_NR] = { "SERIALIZED", "PARALLEL", "WAITING",
							   "MIXED", "IMBALANCED" };

	return v < LS_VERDICT_NR ? titles[v] : "?";
}

static double ratio(double x, double y)
{
	return y > 0 ? x / y : 0;
}

/* reports/METRICS.md "Verdict": the first that applies. */
static enum ls_verdict verdict(const struct ls_summary *s)
{
	bool sync = s->peak_alive >= 2 && s->sync_wait_blocked >= 0.5;

	if (sync && s->parallelism < 1.2 && s->turn_takers >= 2)
		return LS_VERDICT_SERIALIZED;
	if (s->utilization >= 0.8)
		return LS_VERDICT_PARALLEL;
	if (sync && s->turn_takers < 2 && s->sync_waiters)
		return LS_VERDICT_IMBALANCED;
	if (s->other_wait_share >= 0.5)
		return LS_VERDICT_WAITING;
	return LS_VERDICT_MIXED;
}

void ls_summary_count_thread(struct ls_summary *s, const struct ls_thread_figures *f, __u64 busiest)
{
	s->working += busiest && f->cpu_ns >= LS_WORKING_SHARE * busiest;
	s->turn_takers +=
		busiest && f->turns >= LS_TURNS_MIN && f->turn_cpu_ns >= LS_WORKING_SHARE * busiest;
	s->sync_waiters += f->lifetime_ns && f->sync_ns * 2 > f->lifetime_ns;
}

static struct ls_thread_figures thread_figures(const struct ls_analysis *a,
					       const struct ls_thread *t)
{
	return (struct ls_thread_figures){
		.cpu_ns = t->state_ns[LS_ST_RUNNING],
		.turns = t->turns,
		.turn_cpu_ns = t->turn_cpu_ns,
		.sync_ns = t->state_ns[LS_ST_LOCK_WAIT] + t->state_ns[LS_ST_GIL_WAIT],
		.lifetime_ns = ls_thread_lifetime(a, t),
	};
}

void ls_summary_derive(struct ls_summary *s)
{
	double wall_s = s->wall_ns / 1e9;

	s->cpu_ns = s->state_ns[LS_ST_RUNNING];
	s->offcpu_ns = s->lifetime_ns - s->cpu_ns;
	s->parallelism = ratio(s->cpu_ns, s->wall_ns);
	s->ceiling = ratio(s->ceiling_ns, s->wall_ns);
	s->utilization = ratio(s->parallelism, s->ceiling);
	s->lock_wait_share = ratio(s->state_ns[LS_ST_LOCK_WAIT], s->lifetime_ns);
	s->gil_wait_share = ratio(s->state_ns[LS_ST_GIL_WAIT], s->lifetime_ns);
	s->other_wait_share = ratio(s->state_ns[LS_ST_OTHER_WAIT], s->lifetime_ns);
	s->sync_wait_offcpu =
		ratio(s->state_ns[LS_ST_LOCK_WAIT] + s->state_ns[LS_ST_GIL_WAIT], s->offcpu_ns);
	s->sync_wait_blocked = ratio(s->state_ns[LS_ST_LOCK_WAIT] + s->state_ns[LS_ST_GIL_WAIT],
				     s->offcpu_ns - s->state_ns[LS_ST_RUNNABLE]);
	s->runnable_offcpu = ratio(s->state_ns[LS_ST_RUNNABLE], s->offcpu_ns);
	s->other_held_back = s->other_measured && s->other_cpus >= LS_OTHER_CPUS_MIN &&
			     s->runnable_offcpu >= LS_RUNNABLE_OFFCPU_MIN;
	s->handoffs_per_s = ratio(s->handoffs, wall_s);
	s->vol_per_s = ratio(s->vol_switches, wall_s);
	s->invol_per_s = ratio(s->invol_switches, wall_s);
	s->verdict = verdict(s);
}

void ls_summarize(const struct ls_analysis *a, struct ls_summary *s)
{
	const struct ls_thread *t;
	const struct ls_lock *l;
	struct ls_htab tgids;
	__u64 busiest = 0;
	size_t pos = 0;

	memset(s, 0, sizeof(*s));
	s->wall_ns = a->end_ns - a->start_ns;
	ls_htab_init(&tgids, sizeof(__u32), 0, sizeof(__u32));
	while ((t = ls_htab_next(&a->threads, &pos))) {
		if (t->state_ns[LS_ST_RUNNING] > busiest)
			busiest = t->state_ns[LS_ST_RUNNING];
		for (int i = 0; i < LS_ST_NR; i++)
			s->state_ns[i] += t->state_ns[i];
		s->lifetime_ns += ls_thread_lifetime(a, t);
		s->vol_switches += t->vol_switches;
		s->invol_switches += t->invol_switches;
		s->threads++;
		ls_htab_get(&tgids, &t->tgid, NULL);
	}
	s->processes = tgids.nr;
	ls_htab_free(&tgids);
	pos = 0;
	while ((t = ls_htab_next(&a->threads, &pos))) {
		struct ls_thread_figures f = thread_figures(a, t);

		ls_summary_count_thread(s, &f, busiest);
	}
	s->ceiling_ns = a->ceiling_ns;
	for (int i = 0; i <= LS_BUSY_MAX; i++) {
		s->profile[i] = ratio(a->profile_ns[i], s->wall_ns);
		if (a->profile_ns[i])
			s->profile_top = i;
	}
	s->other_measured = a->other_measured;
	s->other_cpus = ls_other_cpus(a);
	pos = 0;
	while ((l = ls_htab_next(&a->locks, &pos))) {
		s->handoffs += l->handoffs;
		if (l->wait.total && (!s->top_lock || l->wait.total > s->top_lock->wait.total))
			s->top_lock = l;
	}
	s->peak_alive = a->peak_alive;
	ls_summary_derive(s);
}

void ls_verdict_explain(FILE *out, const struct ls_summary *s, const char *indent)
{
	double sync = s->lock_wait_share + s->gil_wait_share;

	switch (s->verdict) {
	case LS_VERDICT_SERIALIZED:
		fprintf(out,
			"%sSERIALIZED: %u threads kept %.2f CPUs busy on average, and %.0f%% of "
			"the time\n%sthey were blocked they waited for locks (%.0f hand-offs/s): "
			"they took turns.\n",
			indent, s->turn_takers, s->parallelism, s->sync_wait_blocked * 100, indent,
			s->handoffs_per_s);
		break;
	case LS_VERDICT_IMBALANCED:
		fprintf(out,
			"%sIMBALANCED: %.2f CPUs busy of a ceiling of %.2f: fewer threads worked "
			"than "
			"could,\n%sand %u waited for them (%.0f%% of blocked time in lock waits, "
			"%.1f hand-offs/s: not turns).\n",
			indent, s->parallelism, s->ceiling, indent, s->sync_waiters,
			s->sync_wait_blocked * 100, s->handoffs_per_s);
		break;
	case LS_VERDICT_PARALLEL:
		fprintf(out,
			"%sPARALLEL: %.2f CPUs busy on average out of a ceiling of %.2f "
			"(utilization "
			"%.0f%%);\n%slock waits took %.0f%% of thread time.\n",
			indent, s->parallelism, s->ceiling, s->utilization * 100, indent,
			sync * 100);
		break;
	case LS_VERDICT_WAITING:
		fprintf(out,
			"%sWAITING: the threads spent %.0f%% of their time blocked on something "
			"other "
			"than a lock\n%s(I/O, sleep, poll); %.2f CPUs busy on average.\n",
			indent, s->other_wait_share * 100, indent, s->parallelism);
		break;
	case LS_VERDICT_MIXED:
		fprintf(out,
			"%sMIXED: %.2f CPUs busy out of a ceiling of %.2f (utilization %.0f%%); "
			"lock "
			"waits %.0f%%,\n%sother waits %.0f%% of thread time.\n",
			indent, s->parallelism, s->ceiling, s->utilization * 100, sync * 100,
			indent, s->other_wait_share * 100);
		break;
	case LS_VERDICT_NR:
		break;
	}
	if (s->other_held_back)
		fprintf(out,
			"%sThe machine's other load held it back: untraced tasks kept %.2f "
			"CPUs busy, and\n%sthe threads were runnable (waiting for a CPU) %.0f%% "
			"of their off-CPU time.\n",
			indent, s->other_cpus, indent, s->runnable_offcpu * 100);
}
