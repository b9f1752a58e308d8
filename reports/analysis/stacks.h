/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where threads wait (record --stacks): the distinct user stacks of the trace (LS_REC_STACK), and
 * blocked futex wait time by lock, thread and stack. A wait's stack is the LS_REC_WAIT_STACK its
 * thread wrote between the wait's entry and return. Fed by the analysis; rendered by render.c
 * (call sites per lock, top stacks), render_json.c and the folded output.
 */
#ifndef LS_STACKS_H
#define LS_STACKS_H

#include <stdbool.h>
#include <stdio.h>
#include "trace.h"

struct ls_analysis;
struct ls_thread;
struct ls_lock;

#define LS_STACKS_MAX (1 << 20) /* distinct stacks kept: memory stays bounded on any input */

struct ls_stack_entry {
	struct {
		__u32 tgid;
		__u32 id;
	} key;
	__u16 nr;
	__u16 flags;   /* LS_STACK_* */
	__s16 caller;  /* the first frame outside the C library, -1 if none; see resolved */
	bool resolved; /* caller is set */
	__u64 *ips;    /* nr of them: as long as the record, not LS_STACK_MAX */
};

/* Blocked wait time of one thread on one lock from one stack */
struct ls_wait_site {
	struct {
		__u32 tgid;
		__u32 tid;
		__u64 uaddr;
		__u32 stack_id;
		__u32 pad;
	} key;
	__u64 wait_ns;
	__u64 waits;
	struct ls_wait_site *next_of_lock; /* the lock's other sites (ls_lock.sites) */
};

int ls_stacks_on_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec);
void ls_stacks_free(struct ls_analysis *a);
int ls_stacks_on_wait_stack(struct ls_analysis *a, const struct ls_rec_hdr *rec);
/* A blocked wait of t on lock l, [enter, exit], ns of it in the window. -ENOMEM or 0. */
int ls_stacks_on_wait(struct ls_analysis *a, struct ls_thread *t, struct ls_lock *l, __u64 enter,
		      __u64 exit, __u64 ns);

struct ls_stack_entry *ls_stack_find(const struct ls_analysis *a, __u32 tgid, __u32 id);

#endif
