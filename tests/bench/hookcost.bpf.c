// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What each piece of a hook's work costs: one program on sys_enter that, for getppid(2) calls of
 * the process under test, does one thing (mode, set before load). hookcost.c times the calls.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_GETPPID 110
#define TGID_MAX   (1u << 22)

enum mode { COUNT, HASH, BITMAP, KTIME, TASK_STORAGE, RINGBUF, BATCH, UNTRACED };

const volatile int mode = COUNT;
const volatile __u32 tgid = 0;

__u64 bits[TGID_MAX / 64];
__u64 count = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} set SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} store SEC(".maps");

struct rec {
	__u64 a, b, c, d, e;
};

#define BATCH_SIZE 4096

/* the alternative to a reservation per record: append to a per-CPU batch, output it when full */
struct batch {
	__u32 len;
	__u32 pad;
	__u8 data[BATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct batch);
} batches SEC(".maps");

static __always_inline void batch_append(__u32 me)
{
	struct batch *b = bpf_map_lookup_elem(&batches, &(__u32){ 0 });
	struct rec *r;
	__u32 off;

	if (!b)
		return;
	off = b->len;
	if (off > BATCH_SIZE - sizeof(*r)) {
		bpf_ringbuf_output(&rb, b->data, BATCH_SIZE - BATCH_SIZE % sizeof(*r),
				   BPF_RB_NO_WAKEUP);
		off = 0;
	}
	r = (struct rec *)(b->data + (off & (BATCH_SIZE - 1)));
	if ((void *)(r + 1) > (void *)(b->data + BATCH_SIZE))
		return;
	r->a = me;
	b->len = off + sizeof(*r);
}

/* lockscope's sums of untraced CPU time, which every switch of the machine updates */
struct untraced {
	__u32 seq, pid;
	__u64 runtime, ns, switches, rq, pad[3];
};

static struct untraced untraced_cpu[64]; /* static: the skeleton need not know the type */

static __always_inline void untraced_add(void)
{
	struct untraced *u = &untraced_cpu[bpf_get_smp_processor_id() & 63];
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 sum = t->se.sum_exec_runtime, picked = t->se.prev_sum_exec_runtime;
	__u64 base = u->runtime;

	barrier_var(picked);
	if (t->pid != u->pid)
		base = t->policy == 0 ? picked : sum;
	u->seq++;
	asm volatile("" ::: "memory");
	u->ns += sum > base ? sum - base : 0;
	u->pid = t->pid;
	u->runtime = sum;
	u->switches++;
	asm volatile("" ::: "memory");
	u->seq++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(hook, struct pt_regs *regs, long id)
{
	__u32 me = bpf_get_current_pid_tgid() >> 32;
	struct rec *r;
	__u64 *v;

	if (id != NR_GETPPID || me != tgid)
		return 0;
	switch (mode) {
	case HASH:
		count += bpf_map_lookup_elem(&set, &me) != NULL;
		break;
	case BITMAP:
		count += !!(bits[(me / 64) & (TGID_MAX / 64 - 1)] & (1ULL << (me % 64)));
		break;
	case KTIME:
		count += bpf_ktime_get_ns() & 1;
		break;
	case TASK_STORAGE:
		v = bpf_task_storage_get(&store, bpf_get_current_task_btf(), NULL,
					 BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (v)
			(*v)++;
		break;
	case RINGBUF:
		r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
		if (r) {
			r->a = me;
			bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		}
		break;
	case BATCH:
		batch_append(me);
		break;
	case UNTRACED:
		untraced_add();
		break;
	default:
		count++;
	}
	return 0;
}
