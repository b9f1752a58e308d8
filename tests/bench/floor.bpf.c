// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The floor for lockscope's overhead: the same hooks, doing nothing but count, per CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int hit(void)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&hits, &zero);

	if (c)
		(*c)++;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter)
{
	return hit();
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit)
{
	return hit();
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch)
{
	return hit();
}

SEC("tp_btf/sched_waking")
int BPF_PROG(floor_waking)
{
	return hit();
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(floor_wakeup_new)
{
	return hit();
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork)
{
	return hit();
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec)
{
	return hit();
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit)
{
	return hit();
}
