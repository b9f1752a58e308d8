/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Duration histograms: log-linear buckets (8 per power of two, exact below 16 ns), so that
 * percentiles are within 1/16 (6.25%) of the true value, and a bcc-style log2 view. Only the
 * buckets used are stored, allocated as they are first used: an empty histogram costs its 48
 * bytes, a full one 5 KB (496 buckets of 10 bytes). ls_hist_free releases them.
 */
#ifndef LS_HIST_H
#define LS_HIST_H

#include <stdio.h>
#include <linux/types.h>

#define LS_HIST_SUB	8
#define LS_HIST_BUCKETS (16 + (64 - 4) * LS_HIST_SUB)

struct ls_hist {
	__u64 count;
	__u64 total;
	__u64 min;
	__u64 max;
	__u64 *counts; /* nr used of cap, then cap bucket numbers (__u16), ascending */
	__u16 nr;
	__u16 cap;
};

/* Out of memory, the sample still counts in count, total, min and max, not in a bucket. */
void ls_hist_add(struct ls_hist *h, __u64 v);
void ls_hist_free(struct ls_hist *h);
/* The value below which a fraction q (0..1) of the samples lie: the middle of its bucket, kept
 * within [min, max]; 0 when empty. */
__u64 ls_hist_quantile(const struct ls_hist *h, double q);
__u64 ls_hist_mean(const struct ls_hist *h);
/* bcc's log2 histogram ("low -> high : count |****|"), values in the unit given (ns per unit). */
void ls_hist_print_log2(FILE *out, const struct ls_hist *h, const char *indent, __u64 unit_ns,
			const char *unit);

#endif
