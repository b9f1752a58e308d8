// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "hist.h"

static unsigned int bucket_of(__u64 v)
{
	unsigned int e;

	if (v < 16)
		return v;
	e = 63 - __builtin_clzll(v); /* 4..63 */
	return 16 + (e - 4) * LS_HIST_SUB + ((v >> (e - 3)) & (LS_HIST_SUB - 1));
}

/* [low, high] of a bucket */
static void bucket_range(unsigned int b, __u64 *low, __u64 *high)
{
	unsigned int e, sub;

	if (b < 16) {
		*low = *high = b;
		return;
	}
	e = (b - 16) / LS_HIST_SUB + 4;
	sub = (b - 16) % LS_HIST_SUB;
	*low = (1ULL << e) + ((__u64)sub << (e - 3));
	*high = *low + (1ULL << (e - 3)) - 1;
}

void ls_hist_add(struct ls_hist *h, __u64 v)
{
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->total += v;
	h->buckets[bucket_of(v)]++;
}

__u64 ls_hist_mean(const struct ls_hist *h)
{
	return h->count ? h->total / h->count : 0;
}

__u64 ls_hist_quantile(const struct ls_hist *h, double q)
{
	__u64 rank, seen = 0, low, high, v;

	if (!h->count)
		return 0;
	if (q >= 1)
		return h->max;
	rank = (__u64)(q * h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (unsigned int b = 0; b < LS_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen > rank) {
			bucket_range(b, &low, &high);
			v = low + (high - low) / 2;
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

void ls_hist_print_log2(FILE *out, const struct ls_hist *h, const char *indent, __u64 unit_ns,
			const char *unit)
{
	__u64 slots[65] = { 0 }, peak = 0;
	int first = -1, last = -1;

	/* fold the buckets into powers of two of the unit */
	for (unsigned int b = 0; b < LS_HIST_BUCKETS; b++) {
		__u64 low, high, v;
		int s;

		if (!h->buckets[b])
			continue;
		bucket_range(b, &low, &high);
		v = low / unit_ns;
		s = v ? 64 - __builtin_clzll(v) : 0;
		slots[s] += h->buckets[b];
	}
	for (int s = 0; s < 65; s++) {
		if (!slots[s])
			continue;
		if (first < 0)
			first = s;
		last = s;
		if (slots[s] > peak)
			peak = slots[s];
	}
	if (first < 0)
		return;
	fprintf(out, "%s%*s%-6s : count    distribution\n", indent, 20, "", unit);
	for (int s = first; s <= last; s++) {
		__u64 low = s ? 1ULL << (s - 1) : 0, high = s ? (1ULL << s) - 1 : 0;
		int stars = peak ? (int)(slots[s] * 40 / peak) : 0;
		char bar[41];

		memset(bar, '*', stars);
		bar[stars] = '\0';
		fprintf(out, "%s%10llu -> %-10llu : %-8llu |%-40s|\n", indent,
			(unsigned long long)low, (unsigned long long)high,
			(unsigned long long)slots[s], bar);
	}
}
