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
	struct rusage children; /* RUSAGE_CHILDREN, for workloads that fork */
};

static inline void truth_begin(struct truth_start *s)
{
	getrusage(RUSAGE_SELF, &s->ru);
	getrusage(RUSAGE_CHILDREN, &s->children);
	s->wall_ns = truth_now_ns(CLOCK_MONOTONIC);
}

static inline long long truth_tv_ns(const struct timeval *tv)
{
	return tv->tv_sec * 1000000000LL + tv->tv_usec * 1000LL;
}

/* CPU time and switches between two getrusage() samples, added to *cpu, *vol, *invol. */
static inline void truth_add_usage(const struct rusage *a, const struct rusage *b, long long *cpu,
				   long *vol, long *invol)
{
	*cpu += truth_tv_ns(&b->ru_utime) + truth_tv_ns(&b->ru_stime) - truth_tv_ns(&a->ru_utime) -
		truth_tv_ns(&a->ru_stime);
	*vol += b->ru_nvcsw - a->ru_nvcsw;
	*invol += b->ru_nivcsw - a->ru_nivcsw;
}

/*
 * Opens the JSON object with the figures since truth_begin(): this process, plus with children
 * set its waited-for children (their usage reaches RUSAGE_CHILDREN once reaped). Close the
 * object with truth_end(). start_ns and end_ns bound that interval on CLOCK_MONOTONIC, the
 * trace's clock: a tracer's window also holds the exec before it and the exit after it, so a
 * figure per second is compared over this interval, not over the window.
 */
static inline void truth_write_usage(FILE *f, const struct truth_start *s, int children)
{
	unsigned long long end = truth_now_ns(CLOCK_MONOTONIC), wall = end - s->wall_ns;
	long long cpu = 0;
	long vol = 0, invol = 0;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	truth_add_usage(&s->ru, &ru, &cpu, &vol, &invol);
	if (children) {
		getrusage(RUSAGE_CHILDREN, &ru);
		truth_add_usage(&s->children, &ru, &cpu, &vol, &invol);
	}
	fprintf(f, "{\n  \"start_ns\": %llu,\n  \"end_ns\": %llu,\n", s->wall_ns, end);
	fprintf(f, "  \"wall_ns\": %llu,\n  \"cpu_ns\": %lld,\n", wall, cpu);
	fprintf(f, "  \"vol_switches\": %ld,\n  \"invol_switches\": %ld", vol, invol);
	/* and since the process began (its fork): what a tracer that follows it from before its
	 * exec, as lockscope top does, counts up to here */
	getrusage(RUSAGE_SELF, &ru);
	vol = ru.ru_nvcsw;
	invol = ru.ru_nivcsw;
	if (children) {
		getrusage(RUSAGE_CHILDREN, &ru);
		vol += ru.ru_nvcsw;
		invol += ru.ru_nivcsw;
	}
	fprintf(f, ",\n  \"vol_switches_life\": %ld,\n  \"invol_switches_life\": %ld", vol,
		invol);
}

/* This process only (threads included). */
static inline void truth_write_process(FILE *f, const struct truth_start *s)
{
	truth_write_usage(f, s, 0);
}

/* One more integer member of the object opened by truth_write_usage(). */
static inline void truth_kv(FILE *f, const char *key, unsigned long long val)
{
	fprintf(f, ",\n  \"%s\": %llu", key, val);
}

static inline FILE *truth_open(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		perror(path);
	return f;
}

/* Closes the object and the file; 0, or 1 (the exit status) when the file could not be written. */
static inline int truth_end(FILE *f, const char *path)
{
	fprintf(f, "\n}\n");
	if (fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

#endif
