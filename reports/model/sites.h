/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where waits come from (--stacks): frames named through reports/analysis/names.h, call sites. */
#ifndef LS_SITES_H
#define LS_SITES_H

#include "analyze.h"

/* Frame i's name: "function+0xoff (module)", or "module+0xoff", or the bare address. */
const char *ls_frame_name(const struct ls_analysis *a, __u32 tgid, __u64 ip, char *buf, size_t len);
/* The same, the function's name alone ("site_a"), for flame graphs and JSON. */
const char *ls_frame_function(const struct ls_analysis *a, __u32 tgid, __u64 ip, char *buf,
			      size_t len);
/* The stack's caller frame: the first one outside libc, libpthread and the dynamic loader. */
int ls_stack_caller(const struct ls_analysis *a, struct ls_stack_entry *s);

/* Call sites of a lock, by caller frame, most wait first. */
struct ls_call_site {
	__u64 ip; /* the caller frame's return address; 0: no stack was recorded */
	__u64 wait_ns;
	__u64 waits;
	__u32 stack_id;	     /* the site's stack with the most wait, all threads together */
	__u64 stack_wait_ns; /* and that wait */
};

/* Up to max call sites of lock l into out; how many. */
size_t ls_lock_call_sites(const struct ls_analysis *a, const struct ls_lock *l,
			  struct ls_call_site *out, size_t max);

#endif
