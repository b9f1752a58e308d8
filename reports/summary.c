// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "summary.h"

const char *ls_verdict_name(enum ls_verdict v)
{
	static const char *const names[] = { "serialized", "parallel", "waiting", "mixed" };

	return v <= LS_VERDICT_MIXED ? names[v] : "?";
}

static double ratio(double x, double y)
{
	return y > 0 ? x / y : 0;
}

/* reports/METRICS.md "Verdict": the first that applies. */
static enum ls_verdict verdict(const struct ls_summary *s)
{
	if (s->peak_alive >= 2 && s->parallelism < 1.2 && s->sync_wait_blocked >= 0.5)
		return LS_VERDICT_SERIALIZED;
	if (s->utilization >= 0.8)
		return LS_VERDICT_PARALLEL;
	if (s->other_wait_share >= 0.5)
		return LS_VERDICT_WAITING;
	return LS_VERDICT_MIXED;
}

void ls_summarize(const struct ls_analysis *a, struct ls_summary *s)
{
	const struct ls_thread *t;
	const struct ls_lock *l;
	struct ls_htab tgids;
	size_t pos = 0;
	double wall_s;

	memset(s, 0, sizeof(*s));
	s->wall_ns = a->end_ns - a->start_ns;
	wall_s = s->wall_ns / 1e9;
	ls_htab_init(&tgids, sizeof(__u32), 0, sizeof(__u32));
	while ((t = ls_htab_next(&a->threads, &pos))) {
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
	s->cpu_ns = s->state_ns[LS_ST_RUNNING];
	s->offcpu_ns = s->lifetime_ns - s->cpu_ns;
	s->parallelism = ratio(s->cpu_ns, s->wall_ns);
	s->ceiling = ratio(a->ceiling_ns, s->wall_ns);
	s->utilization = ratio(s->parallelism, s->ceiling);
	for (int i = 0; i <= LS_BUSY_MAX; i++) {
		s->profile[i] = ratio(a->profile_ns[i], s->wall_ns);
		if (a->profile_ns[i])
			s->profile_top = i;
	}
	s->lock_wait_share = ratio(s->state_ns[LS_ST_LOCK_WAIT], s->lifetime_ns);
	s->gil_wait_share = ratio(s->state_ns[LS_ST_GIL_WAIT], s->lifetime_ns);
	s->other_wait_share = ratio(s->state_ns[LS_ST_OTHER_WAIT], s->lifetime_ns);
	s->sync_wait_offcpu =
		ratio(s->state_ns[LS_ST_LOCK_WAIT] + s->state_ns[LS_ST_GIL_WAIT], s->offcpu_ns);
	s->sync_wait_blocked = ratio(s->state_ns[LS_ST_LOCK_WAIT] + s->state_ns[LS_ST_GIL_WAIT],
				     s->offcpu_ns - s->state_ns[LS_ST_RUNNABLE]);
	s->runnable_offcpu = ratio(s->state_ns[LS_ST_RUNNABLE], s->offcpu_ns);
	s->other_measured = a->other_measured;
	s->other_cpus = ls_other_cpus(a);
	s->other_held_back = s->other_measured && s->other_cpus >= LS_OTHER_CPUS_MIN &&
			     s->runnable_offcpu >= LS_RUNNABLE_OFFCPU_MIN;
	pos = 0;
	while ((l = ls_htab_next(&a->locks, &pos))) {
		s->handoffs += l->handoffs;
		if (l->wait.total && (!s->top_lock || l->wait.total > s->top_lock->wait.total))
			s->top_lock = l;
	}
	s->handoffs_per_s = ratio(s->handoffs, wall_s);
	s->vol_per_s = ratio(s->vol_switches, wall_s);
	s->invol_per_s = ratio(s->invol_switches, wall_s);
	s->peak_alive = a->peak_alive;
	s->verdict = verdict(s);
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
			indent, s->peak_alive, s->parallelism, s->sync_wait_blocked * 100, indent,
			s->handoffs_per_s);
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
	}
	if (s->other_held_back)
		fprintf(out,
			"%sThe machine's other load held it back: untraced tasks kept %.2f "
			"CPUs busy, and\n%sthe threads were runnable (waiting for a CPU) %.0f%% "
			"of their off-CPU time.\n",
			indent, s->other_cpus, indent, s->runnable_offcpu * 100);
}
