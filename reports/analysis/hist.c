// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
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

static __u16 *bucket_ids(const struct ls_hist *h)
{
	return (__u16 *)(h->counts + h->cap);
}

/* Room for one more bucket: 2, 4, 8, ... up to every bucket. */
static int grow(struct ls_hist *h)
{
	unsigned int cap = h->cap ? h->cap * 2 : 2;
	__u64 *counts;

	if (cap > LS_HIST_BUCKETS)
		cap = LS_HIST_BUCKETS;
	counts = malloc(cap * (sizeof(__u64) + sizeof(__u16)));
	if (!counts)
		return -1;
	if (h->nr) {
		memcpy(counts, h->counts, h->nr * sizeof(__u64));
		memcpy((__u16 *)(counts + cap), bucket_ids(h), h->nr * sizeof(__u16));
	}
	free(h->counts);
	h->counts = counts;
	h->cap = cap;
	return 0;
}

/* The position of bucket b among those used, or where it would go. */
static unsigned int find(const struct ls_hist *h, unsigned int b)
{
	const __u16 *ids = h->nr ? bucket_ids(h) : NULL;
	unsigned int lo = 0, hi = h->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (ids[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void ls_hist_add(struct ls_hist *h, __u64 v)
{
	unsigned int b = bucket_of(v), i;
	__u16 *ids;

	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->total += v;
	i = find(h, b);
	if (i < h->nr && bucket_ids(h)[i] == b) {
		h->counts[i]++;
		return;
	}
	if (h->nr == h->cap && grow(h))
		return;
	ids = bucket_ids(h);
	memmove(h->counts + i + 1, h->counts + i, (h->nr - i) * sizeof(__u64));
	memmove(ids + i + 1, ids + i, (h->nr - i) * sizeof(__u16));
	h->counts[i] = 1;
	ids[i] = b;
	h->nr++;
}

void ls_hist_free(struct ls_hist *h)
{
	free(h->counts);
	h->counts = NULL;
	h->nr = h->cap = 0;
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
	for (unsigned int i = 0; i < h->nr; i++) {
		seen += h->counts[i];
		if (seen > rank) {
			bucket_range(bucket_ids(h)[i], &low, &high);
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
	for (unsigned int i = 0; i < h->nr; i++) {
		__u64 low, high, v;
		int s;

		bucket_range(bucket_ids(h)[i], &low, &high);
		v = low / unit_ns;
		s = v ? 64 - __builtin_clzll(v) : 0;
		slots[s] += h->counts[i];
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
