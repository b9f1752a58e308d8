// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

int ls_cmp_lock_wait(const void *pa, const void *pb)
{
	const struct ls_lock *x = *(const struct ls_lock *const *)pa;
	const struct ls_lock *y = *(const struct ls_lock *const *)pb;

	if (x->wait.total != y->wait.total)
		return x->wait.total > y->wait.total ? -1 : 1;
	if (x->waits != y->waits)
		return x->waits > y->waits ? -1 : 1;
	return x->key.uaddr < y->key.uaddr ? -1 : x->key.uaddr > y->key.uaddr;
}

const char *ls_addr_label(const struct ls_analysis *a, __u32 tgid, __u64 uaddr, char *buf,
			  size_t len)
{
	if (ls_gil_word_name(a, tgid, uaddr, buf, len))
		return buf;
	if (a->names && ls_names_lookup(a->names, tgid, uaddr, buf, len))
		return buf;
	snprintf(buf, len, "0x%llx", (unsigned long long)uaddr);
	return buf;
}

static void lock_label(const struct ls_analysis *a, const struct ls_lock *l, char *buf, size_t len)
{
	if (ls_lock_is_others(l))
		snprintf(buf, len, "(other locks)");
	else
		ls_addr_label(a, l->key.tgid, l->key.uaddr, buf, len);
}

int ls_report_build(struct ls_report *r, const struct ls_analysis *a, const char *path, bool fold)
{
	size_t n = a->locks.nr;

	memset(r, 0, sizeof(*r));
	r->path = path;
	r->a = a;
	ls_summarize(a, &r->summary);
	r->phases = calloc(1, sizeof(*r->phases));
	if (r->phases && ls_phases_find(a, r->phases)) {
		free(r->phases);
		r->phases = NULL;
	}
	if (fold)
		ls_fold_init(&r->fold, a); /* out of memory: nothing folded */
	else
		ls_fold_none(&r->fold);
	r->threads = (struct ls_thread **)ls_htab_sorted(&a->threads, NULL);
	r->locks = (struct ls_lock **)ls_htab_sorted(&a->locks, ls_cmp_lock_wait);
	/* a slot a lock, at most half full; its pages are touched only by the names asked for */
	for (r->labels_cap = 2; r->labels_cap < 2 * n; r->labels_cap *= 2)
		;
	r->labels = calloc(r->labels_cap, sizeof(*r->labels));
	if (!r->phases || !r->threads || !r->locks || !r->labels) {
		ls_report_free(r);
		return -ENOMEM;
	}
	return 0;
}

void ls_report_free(struct ls_report *r)
{
	free(r->phases);
	ls_fold_free(&r->fold);
	free(r->threads);
	free(r->locks);
	free(r->labels);
	memset(r, 0, sizeof(*r));
}

/* Resolved the first time a renderer asks for it: a report shows a few of 65,536 locks */
const char *ls_report_lock_label(const struct ls_report *r, const struct ls_lock *l)
{
	size_t i =
		(size_t)(((uintptr_t)l >> 4) * 0x9e3779b97f4a7c15ULL >> 20) & (r->labels_cap - 1);

	while (r->labels[i].lock && r->labels[i].lock != l)
		i = (i + 1) & (r->labels_cap - 1);
	if (!r->labels[i].lock) {
		r->labels[i].lock = l;
		lock_label(r->a, l, r->labels[i].name, sizeof(r->labels[i].name));
	}
	return r->labels[i].name;
}

struct ls_thread **ls_report_threads_by(const struct ls_report *r,
					int (*cmp)(const void *, const void *))
{
	size_t n = r->a->threads.nr;
	struct ls_thread **v = calloc(n + 1, sizeof(*v));

	if (!v)
		return NULL;
	memcpy(v, r->threads, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp);
	return v;
}
