// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sampling the CPU time of untraced tasks (see otherload.h). */
#include <sched.h>
#include <time.h>
#include <bpf/bpf.h>
#include "otherload.h"

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void ls_otherload_init(struct ls_otherload *o, int prog_fd, volatile __u64 *sum)
{
	o->prog_fd = prog_fd;
	o->sum = sum;
	o->next_ns = 0;
}

void ls_otherload_visit(const volatile struct ls_cpu_untraced *cpus, int nr_cpus)
{
	cpu_set_t mask, one;

	if (sched_getaffinity(0, sizeof(mask), &mask))
		return;
	for (int i = 0; i < nr_cpus && i < CPU_SETSIZE && i < (int)LS_CPUS_MAX; i++) {
		if (cpus[i].switches || !CPU_ISSET(i, &mask))
			continue;
		CPU_ZERO(&one);
		CPU_SET(i, &one);
		/* returns on CPU i: the CPU switched to us (an offline one refuses) */
		sched_setaffinity(0, sizeof(one), &one);
	}
	sched_setaffinity(0, sizeof(mask), &mask);
}

int ls_otherload_sample(struct ls_otherload *o, struct ls_writer *w, bool force, __u64 *ts)
{
	struct ls_other_cpu rec = { .hdr = { LS_REC_OTHER_CPU, sizeof(rec), 0 } };
	LIBBPF_OPTS(bpf_test_run_opts, run);
	__u64 now = mono_ns();

	if (o->prog_fd < 0 || (!force && now < o->next_ns))
		return 0;
	if (bpf_prog_test_run_opts(o->prog_fd, &run)) {
		o->prog_fd = -1; /* the figure is then absent, or covers less of the window */
		return 0;
	}
	rec.untraced_ns = *o->sum;
	rec.ts = now = mono_ns();
	o->next_ns = now + LS_OTHER_PERIOD_NS;
	if (ts)
		*ts = now;
	return ls_writer_put(w, &rec, sizeof(rec));
}
