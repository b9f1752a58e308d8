/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Hostile traces: well-formed files crafted to make a reporter slow or fat, each of about the
 * size asked. Used by make bench (gentrace --hostile) and test_hostile. The kinds:
 * - reference: the ordinary hand-off mix of gentrace, for a linear-time baseline;
 * - locks: a futex wait on a new address every ~11 bytes;
 * - collide: 30,000 tids whose unkeyed FNV-1a hashes (htab.c's before it was keyed) all fall in
 *   64 slots of a 65,536-slot table, then records cycling over them;
 * - gils: a CPython GIL per process, and as many threads;
 * - sps: one thread created again and again on a new stack pointer each time;
 * - threads: more than 2^18 threads, each woken once;
 * - stacks: distinct empty stacks (LS_REC_STACK), the smallest record that was 536 bytes in memory.
 */
#ifndef LS_HOSTILE_H
#define LS_HOSTILE_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"

#define HOSTILE_TGID  1000
#define HOSTILE_START 1000000000ULL

static const char *const hostile_kinds[] = { "reference", "locks",   "collide", "gils",
					     "sps",	  "threads", "stacks" };
#define HOSTILE_KINDS (sizeof(hostile_kinds) / sizeof(hostile_kinds[0]))

struct hostile {
	struct ls_writer w;
	size_t bytes; /* the size to reach */
	__u64 ts;
};

static inline void hostile_put(struct hostile *h, const void *rec)
{
	ls_writer_put(&h->w, rec, ((const struct ls_rec_hdr *)rec)->size);
}

static inline int hostile_full(const struct hostile *h)
{
	return h->w.bytes + h->w.block_len >= h->bytes;
}

static inline void hostile_task(struct hostile *h, __u32 tid, __u32 tgid, __u64 sp)
{
	struct ls_task_new t = { .hdr = { LS_REC_TASK_NEW, sizeof(t), tid },
				 .ts = h->ts,
				 .tgid = tgid,
				 .parent_tid = tgid,
				 .parent_tgid = tgid,
				 .flags = tid == tgid ? 0 : LS_TASK_THREAD,
				 .comm = "hostile",
				 .user_sp = sp };

	hostile_put(h, &t);
}

static inline void hostile_wakeup(struct hostile *h, __u32 tid)
{
	struct ls_wakeup wu = { .hdr = { LS_REC_WAKEUP, sizeof(wu), tid },
				.ts = h->ts += 100,
				.waker_tid = tid };

	hostile_put(h, &wu);
}

static inline void hostile_wait(struct hostile *h, __u32 tid, __u64 uaddr, __u64 ns, __s32 ret)
{
	struct ls_futex wait = { .hdr = { LS_REC_FUTEX_WAIT, sizeof(wait), tid },
				 .ts_enter = h->ts,
				 .ts_exit = h->ts + ns,
				 .uaddr = uaddr,
				 .op = LS_FUTEX_WAIT | LS_FUTEX_PRIVATE_FLAG,
				 .val = 2,
				 .ret = ret };

	h->ts += ns;
	hostile_put(h, &wait);
}

/* gentrace's mix: 8 threads taking turns on one lock */
static inline void hostile_reference(struct hostile *h)
{
	const __u64 lock = 0x7f0000001000ULL;

	for (int i = 0; i < 8; i++)
		hostile_task(h, HOSTILE_TGID + i, HOSTILE_TGID, 0);
	for (__u64 k = 0; !hostile_full(h); k++) {
		__u32 run = HOSTILE_TGID + k % 8, next = HOSTILE_TGID + (k + 1) % 8;
		struct ls_futex wake = { .hdr = { LS_REC_FUTEX_WAKE, sizeof(wake), run },
					 .ts_enter = h->ts + 900,
					 .ts_exit = h->ts + 1000,
					 .uaddr = lock,
					 .op = LS_FUTEX_WAKE | LS_FUTEX_PRIVATE_FLAG,
					 .val = 1,
					 .ret = 1 };
		struct ls_wakeup wu = { .hdr = { LS_REC_WAKEUP, sizeof(wu), next },
					.ts = h->ts + 950,
					.waker_tid = run,
					.waker_uaddr = lock };
		struct ls_switch sw = { .hdr = { LS_REC_SWITCH, sizeof(sw), run },
					.ts = h->ts + 1100,
					.next_tid = next,
					.prev_state = 1,
					.prev_nvcsw = (__u32)(k / 8 + 1),
					.flags = LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED |
						 LS_SW_IN_FUTEX_WAIT };
		struct ls_futex wait = { .hdr = { LS_REC_FUTEX_WAIT, sizeof(wait), next },
					 .ts_enter = h->ts > 8000 ? h->ts - 7000 : h->ts,
					 .ts_exit = h->ts + 1200,
					 .uaddr = lock,
					 .op = LS_FUTEX_WAIT | LS_FUTEX_PRIVATE_FLAG,
					 .val = 2 };

		hostile_put(h, &wake);
		hostile_put(h, &wu);
		hostile_put(h, &sw);
		hostile_put(h, &wait);
		h->ts += 2000;
	}
}

static inline void hostile_locks(struct hostile *h)
{
	hostile_task(h, HOSTILE_TGID, HOSTILE_TGID, 0);
	/* waits of varied lengths and outcomes, each on a new word */
	for (__u64 k = 0; !hostile_full(h); k++)
		hostile_wait(h, HOSTILE_TGID, 0x10000 + 4 * k, 1000 + (k * 7919) % 1000000,
			     k % 3 ? 0 : -ETIMEDOUT);
}

/* htab.c's hash before it was keyed, and its slot in a table of cap slots */
static inline size_t hostile_fnv_slot(__u32 key, size_t cap)
{
	const unsigned char *p = (const unsigned char *)&key;
	uint64_t x = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(key); i++)
		x = (x ^ p[i]) * 1099511628211ULL;
	return (x ^ (x >> 29)) & (cap - 1);
}

static inline void hostile_collide(struct hostile *h)
{
	enum { N = 30000 };
	__u32 *tids = malloc(N * sizeof(*tids));
	size_t n = 0;

	if (!tids)
		return;
	/* a cluster at the start of the table, at every size it grows through */
	for (__u32 tid = 1; n < N && tid; tid++)
		if (hostile_fnv_slot(tid, 65536) < 64)
			tids[n++] = tid;
	for (__u64 k = 0; !hostile_full(h); k++)
		hostile_wakeup(h, tids[k % n]);
	free(tids);
}

static inline void hostile_gils(struct hostile *h)
{
	for (__u32 k = 0; !hostile_full(h); k++) {
		struct ls_gil_info g = { .hdr = { LS_REC_GIL_INFO, sizeof(g), 2 + k },
					 .ts = h->ts,
					 .gil_addr = 0x7f0000000000ULL,
					 .interval_us = 5000,
					 .version = 0x030b07,
					 .source = LS_GIL_SRC_FUTEX };

		hostile_put(h, &g);
		hostile_wakeup(h, 2 + k);
	}
}

static inline void hostile_sps(struct hostile *h)
{
	for (__u64 k = 0; !hostile_full(h); k++)
		hostile_task(h, HOSTILE_TGID + 1, HOSTILE_TGID, 0x7f0000000000ULL + (k << 16));
}

static inline void hostile_threads(struct hostile *h)
{
	for (__u32 k = 0; !hostile_full(h); k++)
		hostile_wakeup(h, 2 + k);
}

static inline void hostile_stacks(struct hostile *h)
{
	hostile_wakeup(h, HOSTILE_TGID); /* a thread, for a report */
	for (__u32 k = 1; !hostile_full(h); k++) {
		struct ls_stack s = { .hdr = { LS_REC_STACK, sizeof(s), HOSTILE_TGID }, .id = k };

		hostile_put(h, &s);
	}
}

/* Write a trace of that kind, of about that many bytes, to f: 0, or -1 for an unknown kind. */
static inline int hostile_write(FILE *f, const char *kind, size_t bytes)
{
	static void (*const gen[])(struct hostile *) = { hostile_reference, hostile_locks,
							 hostile_collide,   hostile_gils,
							 hostile_sps,	    hostile_threads,
							 hostile_stacks };
	struct ls_file_header hdr = { .version = LS_TRACE_VERSION,
				      .header_size = sizeof(hdr),
				      .byte_order = LS_BYTE_ORDER,
				      .nr_cpus = 2,
				      .start_mono_ns = HOSTILE_START,
				      .mode = LS_MODE_LAUNCH,
				      .target_pid = HOSTILE_TGID };
	struct ls_end end = { .stop_reason = LS_STOP_EXITED };
	struct hostile *h;
	size_t k;

	for (k = 0; k < HOSTILE_KINDS && strcmp(kind, hostile_kinds[k]); k++)
		;
	if (k == HOSTILE_KINDS)
		return -1;
	h = calloc(1, sizeof(*h)); /* the writer holds a 16 KB block */
	if (!h)
		return -1;
	memcpy(hdr.magic, LS_TRACE_MAGIC, 8);
	snprintf(hdr.kernel, sizeof(hdr.kernel), "hostile-%s", kind);
	h->bytes = bytes;
	h->ts = HOSTILE_START;
	ls_writer_init(&h->w, f, &hdr);
	gen[k](h);
	end.end_mono_ns = h->ts + 1000;
	k = ls_writer_finish(&h->w, &end) ? -1 : 0;
	free(h);
	return k;
}

#endif
