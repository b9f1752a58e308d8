// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Where threads wait: stacks and wait time by stack (see stacks.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "stacks.h"

int ls_stacks_on_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_stack *s = (const void *)rec;
	struct ls_stack_entry key = { .key = { rec->tid, s->id } }, *e;
	bool created;

	if (a->stacks.nr >= LS_STACKS_MAX)
		return 0;
	e = ls_htab_get(&a->stacks, &key.key, &created);
	if (!e)
		return -ENOMEM;
	if (!created) /* ids are unique in a file: a second one is damage, the first stands */
		return 0;
	e->flags = s->flags;
	if (!s->nr)
		return 0;
	e->ips = malloc(s->nr * sizeof(s->ips[0]));
	if (!e->ips)
		return -ENOMEM;
	e->nr = s->nr;
	memcpy(e->ips, s->ips, s->nr * sizeof(s->ips[0]));
	return 0;
}

void ls_stacks_free(struct ls_analysis *a)
{
	struct ls_stack_entry *e;
	size_t pos = 0;

	while ((e = ls_htab_next(&a->stacks, &pos)))
		free(e->ips);
	ls_htab_free(&a->stacks);
}

int ls_stacks_on_wait_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec)
{
	const struct ls_wait_stack *w = (const void *)rec;
	struct ls_thread *t = ls_htab_find(&a->threads, &rec->tid);

	a->has_stacks = true;
	if (t) {
		t->wait_stack = w->stack_id;
		t->wait_stack_ts = w->ts;
	}
	return 0;
}

int ls_stacks_on_wait(struct ls_analysis *a, struct ls_thread *t, struct ls_lock *l, __u64 enter,
		      __u64 exit, __u64 ns)
{
	struct ls_wait_site key = { .key = { t->tgid, t->tid, l->key.uaddr, 0, 0 } }, *s;
	bool created;

	if (!a->has_stacks)
		return 0;
	/* the sample is taken inside the wait it belongs to: a lost record cannot shift it */
	if (t->wait_stack && t->wait_stack_ts >= enter && t->wait_stack_ts <= exit)
		key.key.stack_id = t->wait_stack;
	else
		a->waits_without_stack++;
	if (a->wait_sites.nr >= LS_PAIRS_MAX && !ls_htab_find(&a->wait_sites, &key.key)) {
		a->pairs_left_out = true; /* bounded: the lock's call sites miss this wait */
		return 0;
	}
	s = ls_htab_get(&a->wait_sites, &key.key, &created);
	if (!s)
		return -ENOMEM;
	if (created) { /* entries stay where they are: the list is the lock's index of them */
		s->next_of_lock = l->sites;
		l->sites = s;
	}
	s->wait_ns += ns;
	s->waits++;
	return 0;
}

struct ls_stack_entry *ls_stack_find(const struct ls_analysis *a, __u32 tgid, __u32 id)
{
	struct ls_stack_entry key = { .key = { tgid, id } };

	return ls_htab_find(&a->stacks, &key.key);
}

const char *ls_frame_name(const struct ls_analysis *a, __u32 tgid, __u64 ip, char *buf, size_t len)
{
	/* a return address: the call is the byte before (the function may end with it) */
	if (!a->names || !ls_names_lookup(a->names, tgid, ip - 1, buf, len))
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	return buf;
}

const char *ls_frame_function(const struct ls_analysis *a, __u32 tgid, __u64 ip, char *buf,
			      size_t len)
{
	if (!a->names || !ls_names_function(a->names, tgid, ip - 1, buf, len))
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	return buf;
}

static bool is_libc(const char *module)
{
	static const char *const prefixes[] = { "libc.so",  "libc-",   "libpthread",
						"ld-linux", "ld-musl", "libc.musl" };

	for (size_t i = 0; module && i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(module, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

int ls_stack_caller(const struct ls_analysis *a, struct ls_stack_entry *s)
{
	if (s->resolved)
		return s->caller;
	s->resolved = true;
	s->caller = -1;
	for (int i = 0; i < s->nr && a->names; i++) {
		if (!is_libc(ls_names_module(a->names, s->key.tgid, s->ips[i] - 1))) {
			s->caller = i;
			break;
		}
	}
	return s->caller;
}

/* for ls_htab_sorted(): an array of pointers */
static int by_wait_desc(const void *x, const void *y)
{
	const struct ls_call_site *a = *(struct ls_call_site *const *)x,
				  *b = *(struct ls_call_site *const *)y;

	return a->wait_ns < b->wait_ns	 ? 1
	       : a->wait_ns > b->wait_ns ? -1
					 : (a->ip > b->ip) - (a->ip < b->ip);
}

/* A lock's wait by stack, all threads together */
struct lock_stack {
	__u32 stack_id; /* key */
	__u64 wait_ns;
	__u64 waits;
};

size_t ls_lock_call_sites(const struct ls_analysis *a, const struct ls_lock *l,
			  struct ls_call_site *out, size_t max)
{
	struct ls_htab by_stack, by_caller;
	const struct ls_wait_site *w;
	struct ls_call_site *c, **v;
	struct lock_stack *ls;
	size_t pos = 0, nr = 0;

	ls_htab_init(&by_stack, sizeof(struct lock_stack), offsetof(struct lock_stack, stack_id),
		     sizeof(__u32));
	ls_htab_init(&by_caller, sizeof(struct ls_call_site), offsetof(struct ls_call_site, ip),
		     sizeof(__u64));
	for (w = l->sites; w; w = w->next_of_lock) {
		ls = ls_htab_get(&by_stack, &w->key.stack_id, NULL);
		if (!ls)
			goto cleanup;
		ls->wait_ns += w->wait_ns;
		ls->waits += w->waits;
	}
	while ((ls = ls_htab_next(&by_stack, &pos))) {
		struct ls_stack_entry *s =
			ls->stack_id ? ls_stack_find(a, l->key.tgid, ls->stack_id) : NULL;
		__u64 ip = s && ls_stack_caller(a, s) >= 0 ? s->ips[s->caller] : 0;

		c = ls_htab_get(&by_caller, &ip, NULL);
		if (!c)
			goto cleanup;
		c->wait_ns += ls->wait_ns;
		c->waits += ls->waits;
		if (ls->stack_id && ls->wait_ns > c->stack_wait_ns) {
			c->stack_wait_ns = ls->wait_ns;
			c->stack_id = ls->stack_id;
		}
	}
	v = (struct ls_call_site **)ls_htab_sorted(&by_caller, by_wait_desc);
	for (; v && nr < max && v[nr]; nr++)
		out[nr] = *v[nr];
	free(v);
cleanup:
	ls_htab_free(&by_stack);
	ls_htab_free(&by_caller);
	return nr;
}

/* Wait time by (thread, stack), whatever the lock */
struct folded {
	struct {
		__u32 tgid;
		__u32 tid;
		__u32 stack_id;
	} key;
	__u64 wait_ns;
};

/* Flame-graph tools split a line at ';' and at its last space. */
static void put_frame(FILE *f, const char *name)
{
	for (; *name; name++)
		fputc(*name == ';' ? ':' : *name == ' ' ? '_' : *name, f);
}

int ls_render_folded(FILE *f, const struct ls_analysis *a)
{
	const struct ls_wait_site *w;
	struct ls_htab by_stack;
	const struct folded *fo;
	size_t pos = 0;
	char buf[512];
	int err = 0;

	ls_htab_init(&by_stack, sizeof(struct folded), offsetof(struct folded, key),
		     sizeof(((struct folded *)0)->key));
	while ((w = ls_htab_next(&a->wait_sites, &pos))) {
		struct folded key = { .key = { w->key.tgid, w->key.tid, w->key.stack_id } }, *e;

		e = ls_htab_get(&by_stack, &key.key, NULL);
		if (!e) {
			err = -ENOMEM;
			goto cleanup;
		}
		e->wait_ns += w->wait_ns;
	}
	pos = 0;
	while ((fo = ls_htab_next(&by_stack, &pos))) {
		const struct ls_thread *t = ls_htab_find(&a->threads, &fo->key.tid);
		const struct ls_stack_entry *s = ls_stack_find(a, fo->key.tgid, fo->key.stack_id);

		if (!fo->wait_ns)
			continue;
		put_frame(f, t && t->comm[0] ? t->comm : "?");
		fprintf(f, "-%u", fo->key.tid);
		if (!s)
			fputs(";[unknown]", f);
		for (int i = s ? s->nr - 1 : -1; i >= 0; i--) {
			fputc(';', f);
			put_frame(f,
				  ls_frame_function(a, fo->key.tgid, s->ips[i], buf, sizeof(buf)));
		}
		fprintf(f, " %llu\n", (unsigned long long)fo->wait_ns);
	}
	if (ferror(f))
		err = -EIO;
cleanup:
	ls_htab_free(&by_stack);
	return err;
}
