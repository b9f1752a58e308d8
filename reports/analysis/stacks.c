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
