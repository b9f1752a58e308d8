/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Ground truth the workloads measure about themselves, written as flat JSON (--truth FILE). */
#ifndef LS_TRUTH_H
#define LS_TRUTH_H

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

static inline unsigned long long truth_now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct truth_start {
	unsigned long long wall_ns;
	struct rusage ru;
};

static inline void truth_begin(struct truth_start *s)
{
	getrusage(RUSAGE_SELF, &s->ru);
	s->wall_ns = truth_now_ns(CLOCK_MONOTONIC);
}

/* Opens the JSON object with the process-wide figures since truth_begin(); close with "}\n". */
static inline void truth_write_process(FILE *f, const struct truth_start *s)
{
	unsigned long long wall = truth_now_ns(CLOCK_MONOTONIC) - s->wall_ns;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "{\n  \"wall_ns\": %llu,\n  \"cpu_ns\": %llu,\n", wall,
		(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec - s->ru.ru_utime.tv_sec -
		 s->ru.ru_stime.tv_sec) *
				1000000000ULL +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec - s->ru.ru_utime.tv_usec -
			 s->ru.ru_stime.tv_usec) *
				1000LL);
	fprintf(f, "  \"vol_switches\": %ld,\n  \"invol_switches\": %ld",
		ru.ru_nvcsw - s->ru.ru_nvcsw, ru.ru_nivcsw - s->ru.ru_nivcsw);
}

#endif
