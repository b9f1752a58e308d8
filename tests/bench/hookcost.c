// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hookcost: the added time of a getppid(2) call with one tp_btf/sys_enter program attached that
 * does one piece of a tracer's work; medians of interleaved runs. Prints "name ns" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "hookcost.skel.h"

#define CALLS  1000000
#define ROUNDS 7

static const char *const modes[] = {
	"hook (count only)",	"hash map lookup",
	"bitmap test",		"bpf_ktime_get_ns",
	"task storage get",	"ring buffer reserve+submit",
	"per-CPU batch append", "untraced time (per-CPU sums)",
};
#define NR_MODES ((int)(sizeof(modes) / sizeof(modes[0])))

static double ns_per_call(void)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / CALLS;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One timed run with mode attached, or none (mode < 0); negative on failure. */
static double run(int mode)
{
	struct hookcost_bpf *skel;
	__u32 me = getpid();
	__u8 one = 1;
	double ns = -1;

	if (mode < 0)
		return ns_per_call();
	skel = hookcost_bpf__open();
	if (!skel)
		return -1;
	skel->rodata->mode = mode;
	skel->rodata->tgid = me;
	if (hookcost_bpf__load(skel))
		goto cleanup;
	skel->bss->bits[me / 64] |= 1ULL << (me % 64);
	if (bpf_map__update_elem(skel->maps.set, &me, sizeof(me), &one, sizeof(one), 0) ||
	    hookcost_bpf__attach(skel))
		goto cleanup;
	ns = ns_per_call();
cleanup:
	hookcost_bpf__destroy(skel);
	return ns;
}

int main(void)
{
	double t[NR_MODES + 1][ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		for (int m = -1; m < NR_MODES; m++) {
			t[m + 1][r] = run(m);
			if (t[m + 1][r] < 0) {
				fprintf(stderr, "hookcost: cannot load or attach (run as root)\n");
				return 1;
			}
		}
	}
	for (int m = 0; m <= NR_MODES; m++)
		qsort(t[m], ROUNDS, sizeof(double), cmp);
	printf("untraced\t%.1f\n", t[0][ROUNDS / 2]);
	for (int m = 0; m < NR_MODES; m++)
		printf("%s\t%.1f\n", modes[m], t[m + 1][ROUNDS / 2] - t[0][ROUNDS / 2]);
	return 0;
}
