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

/* Process first, then the figure (most first), then the id: one order whatever the hash */
#define PY_CMP(name, type, figure, tiebreak, id)                                                   \
	static int name(const void *pa, const void *pb)                                            \
	{                                                                                          \
		const type *x = *(const type *const *)pa, *y = *(const type *const *)pb;           \
                                                                                                   \
		if (x->tgid != y->tgid)                                                            \
			return x->tgid < y->tgid ? -1 : 1;                                         \
		if (x->figure != y->figure)                                                        \
			return x->figure > y->figure ? -1 : 1;                                     \
		if (x->tiebreak != y->tiebreak)                                                    \
			return x->tiebreak > y->tiebreak ? -1 : 1;                                 \
		return x->id < y->id ? -1 : x->id > y->id;                                         \
	}

PY_CMP(cmp_py_held, struct ls_pyfunc, held_samples, samples, id)
PY_CMP(cmp_py_wait, struct ls_pyfunc, gil_wait_ns, gil_waits, id)
PY_CMP(cmp_py_blamed, struct ls_pyfunc, blamed_wait_ns, blamed_waits, id)

static int cmp_py_proc(const void *pa, const void *pb)
{
	const struct ls_pyproc *x = *(const struct ls_pyproc *const *)pa;
	const struct ls_pyproc *y = *(const struct ls_pyproc *const *)pb;

	return x->tgid < y->tgid ? -1 : x->tgid > y->tgid;
}

static int cmp_py_line(const void *pa, const void *pb)
{
	const struct ls_pyline *x = *(const struct ls_pyline *const *)pa;
	const struct ls_pyline *y = *(const struct ls_pyline *const *)pb;

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	if (x->wait_ns != y->wait_ns)
		return x->wait_ns > y->wait_ns ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

size_t ls_report_first_of(void *const *list, size_t n, size_t off, __u32 tgid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		__u32 t = *(const __u32 *)((const char *)list[mid] + off);

		if (t < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first n bytes of s, or fewer: a cut never splits a UTF-8 character */
static int utf8_prefix(const char *s, size_t n)
{
	if (n >= strlen(s))
		return (int)strlen(s);
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

const char *ls_pyfunc_label(const struct ls_pyfunc *f, __s32 line, char *buf, size_t len)
{
	size_t file = strlen(f->file), fixed;
	const char *tail = f->file;
	char num[16];

	snprintf(num, sizeof(num), ":%d)", line);
	/* "name (" + file + ":line)": keep the file's end, which names the module */
	fixed = strlen(f->name) + 2 + strlen(num) + 1;
	if (fixed + file <= len) {
		snprintf(buf, len, "%s (%s%s", f->name, f->file, num);
	} else if (fixed + 3 + 8 <= len) {
		tail += file - (len - fixed - 3);
		while (((unsigned char)*tail & 0xc0) == 0x80)
			tail++;
		snprintf(buf, len, "%s (...%s%s", f->name, tail, num);
	} else {
		snprintf(buf, len, "%.*s...", utf8_prefix(f->name, len > 4 ? len - 4 : 0), f->name);
	}
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
	r->py_procs = (struct ls_pyproc **)ls_htab_sorted(&a->py.procs, cmp_py_proc);
	r->py_by_held = (struct ls_pyfunc **)ls_htab_sorted(&a->py.funcs, cmp_py_held);
	r->py_by_wait = (struct ls_pyfunc **)ls_htab_sorted(&a->py.funcs, cmp_py_wait);
	r->py_by_blamed = (struct ls_pyfunc **)ls_htab_sorted(&a->py.funcs, cmp_py_blamed);
	r->py_lines = (struct ls_pyline **)ls_htab_sorted(&a->py.lines, cmp_py_line);
	if (!r->py_procs || !r->py_by_held || !r->py_by_wait || !r->py_by_blamed || !r->py_lines) {
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
	for (size_t i = 0; r->labels && i < r->labels_cap; i++)
		free(r->labels[i].name);
	free(r->labels);
	free(r->py_procs);
	free(r->py_by_held);
	free(r->py_by_wait);
	free(r->py_by_blamed);
	free(r->py_lines);
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
		char name[LS_LABEL_MAX];

		lock_label(r->a, l, name, sizeof(name));
		r->labels[i].lock = l;
		r->labels[i].name = strdup(name);
	}
	return r->labels[i].name ? r->labels[i].name : "?";
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
