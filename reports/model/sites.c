// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Where waits come from: frames named, each stack's caller, a lock's call sites. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "sites.h"

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
