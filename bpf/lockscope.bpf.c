// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lockscope's kernel side: futex syscalls and scheduler events from BTF-typed tracepoints (no
 * tracefs needed), recorded for the tasks of the traced processes only.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lockscope.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* record --stacks, set before load: with stacks off, the sampling code is not even loaded */
const volatile bool stacks = false;
const volatile __u32 stack_dump = 0; /* bytes of user stack to copy, a multiple of LS_STACK_CHUNK */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by user space (-b) */
} events SEC(".maps");

/* Stack samples (--stacks), big and optional: a storm of them must not crowd out the records.
 * Sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} stack_events SEC(".maps");

__u64 stack_lost = 0; /* samples stack_events had no room for */

/*
 * The traced set: one bit per tgid, set by user space through the mmapped .bss and here on fork,
 * cleared by user space when it reads a process's last exit (after that process's final switch).
 * Testing a bit is one load; the hash map it replaced cost ~8 ns a lookup, on every hook.
 */
__u64 traced[LS_TGID_MAX / 64];

/* CPython GILs of the traced processes, by tgid: filled by user space as it finds them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ls_gil_loc);
} gils SEC(".maps");

__u32 nr_gils = 0; /* entries in gils: none, no lookup */

/* records dropped, per CPU: no room in the ring buffer, or no task storage for a call's state */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* The machine's other load: the CPU time of untraced tasks, per CPU (no record per switch) */
struct ls_cpu_untraced untraced_cpu[LS_CPUS_MAX];

/* The window's start, set by user space as it opens: a CPU's first switch ran prev from there */
__u64 untraced_origin = 0;

/* The futex call a traced thread is in, from sys_enter to sys_exit. */
struct in_futex {
	__u64 ts;	   /* entry time */
	__u64 uaddr;	   /* first address */
	__u32 kind;	   /* IN_NONE, IN_WAIT, IN_WAKE */
	__u32 sampled;	   /* its stack was taken: once per wait */
	__u64 take_gil_ts; /* entry of the take_gil call the thread is in, 0 if none */
};

enum { IN_NONE, IN_WAIT, IN_WAKE };

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct in_futex);
} in_futex SEC(".maps");

/* tgid's word of the traced set (the mask keeps the verifier sure of the bounds) */
static __always_inline __u64 *traced_word(__u32 tgid)
{
	return &traced[(tgid / 64) & (LS_TGID_MAX / 64 - 1)];
}

static __always_inline bool tgid_traced(__u32 tgid)
{
	return *traced_word(tgid) & (1ULL << (tgid % 64));
}

static __always_inline void count_lost(void)
{
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(&lost, &zero);

	if (cnt)
		(*cnt)++;
}

static __always_inline void *reserve(__u32 size, __u16 type, __u32 tid)
{
	struct ls_rec_hdr *hdr = bpf_ringbuf_reserve(&events, size, 0);

	if (!hdr) {
		count_lost();
		return NULL;
	}
	hdr->type = type;
	hdr->size = size;
	hdr->tid = tid;
	return hdr;
}

/*
 * Never wake the reader: it drains the buffer on a timer sized to the buffer. A wakeup per record
 * would preempt the traced threads (and trace that too); even looking at the buffer's fill to
 * decide costs a cache miss on the reader's position, a fifth of what a record costs.
 */
static __always_inline void submit(void *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline bool futex_cmd_waits(__u32 cmd)
{
	switch (cmd) {
	case LS_FUTEX_WAIT:
	case LS_FUTEX_WAIT_BITSET:
	case LS_FUTEX_LOCK_PI:
	case LS_FUTEX_LOCK_PI2:
	case LS_FUTEX_WAIT_REQUEUE_PI:
		return true;
	}
	return false;
}

static __always_inline bool futex_cmd_wakes(__u32 cmd)
{
	switch (cmd) {
	case LS_FUTEX_WAKE:
	case LS_FUTEX_WAKE_BITSET:
	case LS_FUTEX_WAKE_OP:
	case LS_FUTEX_UNLOCK_PI:
	case LS_FUTEX_REQUEUE:
	case LS_FUTEX_CMP_REQUEUE:
	case LS_FUTEX_CMP_REQUEUE_PI:
		return true;
	}
	return false;
}

/* IN_WAIT, IN_WAKE, or IN_NONE for ops lockscope does not record */
static __always_inline __u32 op_kind(__u32 sys, const struct pt_regs *regs)
{
	__u32 cmd;

	switch (sys) {
	case LS_SYS_FUTEX:
		cmd = LS_FUTEX_CMD((__u32)regs->si);
		return futex_cmd_waits(cmd) ? IN_WAIT : futex_cmd_wakes(cmd) ? IN_WAKE : IN_NONE;
	case LS_SYS_FUTEX_WAIT:
	case LS_SYS_FUTEX_WAITV:
		return IN_WAIT;
	}
	return IN_WAKE;
}

/* First address a call names: futex_requeue and futex_waitv pass an array of futex_waitv. */
static __always_inline __u64 first_uaddr(__u32 sys, const struct pt_regs *regs)
{
	__u64 di = regs->di, uaddr = 0;

	if (sys != LS_SYS_FUTEX_REQUEUE && sys != LS_SYS_FUTEX_WAITV)
		return di;
	bpf_probe_read_user(&uaddr, sizeof(uaddr), &((struct futex_waitv *)di)->uaddr);
	return uaddr;
}

/* Remember the call, so that a switch can tell a lock wait and a wakeup its waker's lock. */
static __always_inline int futex_enter(__u32 sys, const struct pt_regs *regs)
{
	__u32 kind = op_kind(sys, regs);
	struct in_futex *f;

	if (kind == IN_NONE || !tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	f = bpf_task_storage_get(&in_futex, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!f) { /* none could be made (memory, a busy lock): the record made at exit is lost */
		count_lost();
		return 0;
	}
	f->ts = bpf_ktime_get_ns();
	f->uaddr = first_uaddr(sys, regs);
	f->kind = kind;
	f->sampled = 0;
	return 0;
}

static __always_inline void emit_waitv(const struct pt_regs *regs, long ret, __u64 start)
{
	struct futex_waitv *uw = (struct futex_waitv *)regs->di;
	struct ls_futex_waitv *e;
	__u32 nr = regs->si;

	e = reserve(sizeof(*e), LS_REC_FUTEX_WAITV, (__u32)bpf_get_current_pid_tgid());
	if (!e)
		return;
	e->ts_enter = start;
	e->ts_exit = bpf_ktime_get_ns();
	e->ret = ret;
	e->nr = nr;
	for (int i = 0; i < LS_WAITV_MAX; i++) {
		__u64 addr = 0;

		if (i < nr)
			bpf_probe_read_user(&addr, sizeof(addr), &uw[i].uaddr);
		e->uaddr[i] = addr;
	}
	submit(e);
}

/* Fill addresses and arguments of a futex record from the syscall's registers. */
static __always_inline void futex_args(struct ls_futex *e, __u32 sys, const struct pt_regs *regs)
{
	struct futex_waitv *uw;

	e->uaddr = regs->di;
	e->uaddr2 = 0;
	e->val3 = 0;
	switch (sys) {
	case LS_SYS_FUTEX: /* uaddr, op, val, timeout/val2, uaddr2, val3 */
		e->op = LS_FUTEX_OP(sys, (__u32)regs->si);
		e->val = regs->dx;
		e->uaddr2 = regs->r8;
		e->val3 = regs->r9;
		break;
	case LS_SYS_FUTEX_WAIT: /* uaddr, val, mask, flags, timeout, clockid */
		e->op = LS_FUTEX_OP(sys, (__u32)regs->r10);
		e->val = regs->si;
		e->val3 = regs->dx;
		break;
	case LS_SYS_FUTEX_WAKE: /* uaddr, mask, nr, flags */
		e->op = LS_FUTEX_OP(sys, (__u32)regs->r10);
		e->val = regs->dx;
		e->val3 = regs->si;
		break;
	case LS_SYS_FUTEX_REQUEUE: /* waiters[2], flags, nr_wake, nr_requeue */
		uw = (struct futex_waitv *)regs->di;
		e->uaddr = 0;
		bpf_probe_read_user(&e->uaddr, sizeof(e->uaddr), &uw[0].uaddr);
		bpf_probe_read_user(&e->uaddr2, sizeof(e->uaddr2), &uw[1].uaddr);
		e->op = LS_FUTEX_OP(sys, (__u32)regs->si);
		e->val = regs->dx;
		e->val3 = regs->r10;
		break;
	}
}

static __always_inline int futex_exit(__u32 sys, const struct pt_regs *regs, long ret)
{
	struct in_futex *f;
	struct ls_futex *e;
	__u64 start;
	__u32 kind;

	/* only calls seen entering by a traced thread have state */
	f = bpf_task_storage_get(&in_futex, bpf_get_current_task_btf(), NULL, 0);
	if (!f || f->kind == IN_NONE)
		return 0;
	kind = f->kind;
	start = f->ts;
	f->kind = IN_NONE;
	if (sys == LS_SYS_FUTEX_WAITV) {
		emit_waitv(regs, ret, start);
		return 0;
	}
	e = reserve(sizeof(*e), kind == IN_WAIT ? LS_REC_FUTEX_WAIT : LS_REC_FUTEX_WAKE,
		    (__u32)bpf_get_current_pid_tgid());
	if (!e)
		return 0;
	/* a wake's return is not timed: nothing uses it, and a clock read costs ~25 ns */
	e->ts_exit = kind == IN_WAIT ? bpf_ktime_get_ns() : start;
	e->ts_enter = start;
	e->ret = ret;
	futex_args(e, sys, regs);
	submit(e);
	return 0;
}

/* x86-64 syscall numbers of the futex family */
#define NR_FUTEX	 202
#define NR_FUTEX_WAITV	 449
#define NR_FUTEX_WAKE	 454
#define NR_FUTEX_WAIT	 455
#define NR_FUTEX_REQUEUE 456

/* The futex syscall behind a number, or -1: the one test every other syscall pays. */
static __always_inline int futex_sys(long nr)
{
	switch (nr) {
	case NR_FUTEX:
		return LS_SYS_FUTEX;
	case NR_FUTEX_WAITV:
		return LS_SYS_FUTEX_WAITV;
	case NR_FUTEX_WAIT:
		return LS_SYS_FUTEX_WAIT;
	case NR_FUTEX_WAKE:
		return LS_SYS_FUTEX_WAKE;
	case NR_FUTEX_REQUEUE:
		return LS_SYS_FUTEX_REQUEUE;
	}
	return -1;
}

/* Raw syscall tracepoints: no tracefs, no kprobes, no trampolines needed. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	int sys = futex_sys(id);

	return sys < 0 ? 0 : futex_enter(sys, regs);
}

/* The saved user registers still hold the arguments at exit. */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	int sys = futex_sys(regs->orig_ax);

	return sys < 0 ? 0 : futex_exit(sys, regs, ret);
}

/* The return addresses uretprobes took over on task's stack, innermost first. */
static __always_inline __u32 pending_urets(struct task_struct *task, __u64 *slot, __u64 *ip)
{
	struct return_instance *ri;
	__u32 n = 0;

	if (!bpf_core_field_exists(task->utask))
		return 0;
	ri = BPF_CORE_READ(task, utask, return_instances);
	for (int i = 0; i < LS_URET_MAX && ri; i++) {
		slot[i] = BPF_CORE_READ(ri, stack);
		ip[i] = BPF_CORE_READ(ri, orig_ret_vaddr);
		ri = BPF_CORE_READ(ri, next);
		n++;
	}
	return n;
}

/* The user stack of task, which is current: prev in sched_switch. */
static __always_inline void stack_sample(void *ctx, struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct ls_stack_sample *e;
	__u32 size = 0;
	__u64 base;
	long n;

	e = bpf_ringbuf_reserve(&stack_events, sizeof(*e) + stack_dump, 0);
	if (!e) {
		__sync_fetch_and_add(&stack_lost, 1);
		return;
	}
	e->hdr.type = LS_REC_STACK_SAMPLE;
	e->hdr.size = sizeof(*e) + stack_dump;
	e->hdr.tid = task->pid;
	e->ts = bpf_ktime_get_ns();
	e->tgid = task->tgid;
	e->regs[LS_UREG_IP] = regs->ip;
	e->regs[LS_UREG_SP] = regs->sp;
	e->regs[LS_UREG_BP] = regs->bp;
	e->regs[LS_UREG_BX] = regs->bx;
	e->regs[LS_UREG_R12] = regs->r12;
	e->regs[LS_UREG_R13] = regs->r13;
	e->regs[LS_UREG_R14] = regs->r14;
	e->regs[LS_UREG_R15] = regs->r15;
	e->nr_uret = pending_urets(task, e->uret_slot, e->uret_ip);
	/* the kernel's frame-pointer walk: the fallback where there is no CFI */
	n = bpf_get_stack(ctx, e->ips, sizeof(e->ips), BPF_F_USER_STACK);
	e->nr_ips = n > 0 ? n / sizeof(e->ips[0]) : 0;
	/* chunk-aligned, so that no chunk straddles the end of the stack's mapping */
	base = e->regs[LS_UREG_SP] & ~(__u64)(LS_STACK_CHUNK - 1);
	e->dump_base = base;
	for (__u32 i = 0; i < LS_STACK_DUMP_MAX / LS_STACK_CHUNK; i++) {
		if ((i + 1) * LS_STACK_CHUNK > stack_dump)
			break;
		if (bpf_probe_read_user(e->dump + i * LS_STACK_CHUNK, LS_STACK_CHUNK,
					(void *)(base + i * LS_STACK_CHUNK)))
			break;
		size += LS_STACK_CHUNK;
	}
	e->dump_size = size;
	submit(e);
}

/*
 * LS_SW_GIL_READ and LS_SW_GIL_LOCKED for a thread of process tgid, which is current: the GIL's
 * locked flag as it leaves the CPU. Only its own threads change the flag, so while none of them
 * runs the GIL stays as the last one left it.
 */
static __always_inline __u32 gil_state(__u32 tgid)
{
	struct ls_gil_loc *loc;
	__u32 locked;

	if (!nr_gils)
		return 0;
	loc = bpf_map_lookup_elem(&gils, &tgid);
	if (!loc || bpf_probe_read_user(&locked, sizeof(locked), (void *)loc->locked))
		return 0;
	return LS_SW_GIL_READ | (locked ? LS_SW_GIL_LOCKED : 0);
}

#define barrier() asm volatile("" ::: "memory")

/* the kernel's fair policies: the scheduler notes where a task's run began as it picks it */
#define SCHED_NORMAL 0
#define SCHED_BATCH  3
#define SCHED_IDLE   5

/* A task as untraced_run() needs it. */
struct run_of {
	__u32 pid, policy;
	__u64 sum;    /* se.sum_exec_runtime: the CPU time the kernel charged it */
	__u64 picked; /* se.prev_sum_exec_runtime: the same when the scheduler last picked it */
};

/*
 * The CPU time of t's run on the CPU of entry c, untraced, up to now, as the kernel charged it:
 * since it was switched in. Where that switch went unreported (this VM's kernel leaves 1 switch
 * in 5 to 8 unreported, most of them from the idle task), since the scheduler picked it, as a
 * fair task's prev_sum_exec_runtime says; such a run of a task of another policy is not counted.
 */
static __always_inline __u64 untraced_run(const struct ls_cpu_untraced *c, const struct run_of *t)
{
	__u64 base = c->runtime, origin, now;

	if (t->pid != c->pid)
		base = t->policy == SCHED_NORMAL || t->policy == SCHED_BATCH ||
				       t->policy == SCHED_IDLE
			       ? t->picked
			       : t->sum;
	if (t->sum <= base)
		return 0;
	origin = untraced_origin;
	if (c->switches || !origin)
		return t->sum - base;
	/* no switch on this CPU since the window opened: what ran before it is not the window's */
	now = bpf_ktime_get_ns();
	origin = now > origin ? now - origin : 0;
	return t->sum - base < origin ? t->sum - base : origin;
}

static __always_inline struct ls_cpu_untraced *untraced_entry(__u32 cpu)
{
	return &untraced_cpu[cpu & (LS_CPUS_MAX - 1)];
}

/*
 * The run queue of t's CPU, through its cfs_rq: this kernel's symbols name no data (no
 * KALLSYMS_ALL), so the per-CPU runqueues cannot be reached by name. 0 without group scheduling.
 */
static __always_inline __u64 rq_of(const struct task_struct *t)
{
	if (!bpf_core_field_exists(t->se.cfs_rq))
		return 0;
	return (__u64)BPF_CORE_READ(t, se.cfs_rq, rq);
}

/*
 * Add prev's run to this CPU's untraced time when prev is neither traced nor idle (pid 0), and
 * note next when it is neither. No clock read: the kernel's own accounting says it. prev's
 * sum_exec_runtime was brought up to date before this tracepoint.
 */
static __always_inline void count_untraced(const struct task_struct *prev,
					   const struct task_struct *next, __u32 flags)
{
	struct ls_cpu_untraced *c = untraced_entry(bpf_get_smp_processor_id());
	__u64 run = 0;

	if (!(flags & LS_SW_PREV_TRACED) && prev->pid) {
		struct run_of t = { prev->pid, prev->policy, prev->se.sum_exec_runtime,
				    prev->se.prev_sum_exec_runtime };

		run = untraced_run(c, &t);
	}
	c->seq++;
	barrier();
	c->untraced_ns += run;
	c->pid = flags & LS_SW_NEXT_TRACED ? 0 : next->pid;
	c->runtime = next->se.sum_exec_runtime;
	if (!c->switches++)
		c->rq = rq_of(next);
	barrier();
	c->seq++;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 flags = preempt ? LS_SW_PREEMPT : 0;
	struct in_futex *f = NULL;
	struct ls_switch *e;

	if (tgid_traced(prev->tgid))
		flags |= LS_SW_PREV_TRACED;
	if (tgid_traced(next->tgid))
		flags |= LS_SW_NEXT_TRACED;
	count_untraced(prev, next, flags);
	if (!(flags & (LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED)))
		return 0;
	e = reserve(sizeof(*e), LS_REC_SWITCH, prev->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->next_tid = next->pid;
	e->prev_state = prev_state;
	e->prev_nvcsw = prev->nvcsw;
	e->prev_nivcsw = prev->nivcsw;
	e->cpu = bpf_get_smp_processor_id();
	if (flags & LS_SW_PREV_TRACED) {
		f = bpf_task_storage_get(&in_futex, prev, NULL, 0);
		if (f && f->kind == IN_WAIT)
			flags |= LS_SW_IN_FUTEX_WAIT;
		flags |= gil_state(prev->tgid);
	}
	e->flags = flags;
	submit(e);
	if (stacks && f && (flags & LS_SW_IN_FUTEX_WAIT) && !f->sampled) {
		f->sampled = 1;
		stack_sample(ctx, prev);
	}
	return 0;
}

/* Set by user space before it runs sample_untraced; its answer. */
__u32 untraced_nr_cpus = 0;
__u64 untraced_sum = 0;

/*
 * One CPU's untraced time so far: its entry's, and the run of the task on it now (rq->curr, not
 * which task the last reported switch named), read while no switch of that CPU updates the entry.
 */
static long sum_cpu(__u64 cpu, void *ctx)
{
	struct ls_cpu_untraced *c = untraced_entry(cpu);
	struct task_struct *curr;
	struct run_of t;
	struct rq *rq;
	__u64 ns = 0;
	__u32 seq;

	for (int tries = 0; tries < 8; tries++) {
		seq = *(volatile __u32 *)&c->seq;
		barrier();
		ns = c->untraced_ns;
		rq = (struct rq *)c->rq; /* apart: CO-RE would relocate c->rq too */
		curr = rq ? BPF_CORE_READ(rq, curr) : NULL;
		t.pid = curr ? BPF_CORE_READ(curr, pid) : 0;
		if (t.pid && !tgid_traced(BPF_CORE_READ(curr, tgid))) {
			t.policy = BPF_CORE_READ(curr, policy);
			t.sum = BPF_CORE_READ(curr, se.sum_exec_runtime);
			t.picked = BPF_CORE_READ(curr, se.prev_sum_exec_runtime);
			ns += untraced_run(c, &t);
		}
		barrier();
		if (!(seq & 1) && *(volatile __u32 *)&c->seq == seq)
			break;
	}
	untraced_sum += ns;
	return 0;
}

/* The CPU time of untraced tasks so far, summed over the CPUs, into untraced_sum: run by record. */
SEC("syscall")
int sample_untraced(void *ctx)
{
	untraced_sum = 0;
	bpf_loop(untraced_nr_cpus < LS_CPUS_MAX ? untraced_nr_cpus : LS_CPUS_MAX, sum_cpu, NULL, 0);
	return 0;
}

static __always_inline int wakeup(struct task_struct *p, __u16 type)
{
	struct in_futex *f;
	struct ls_wakeup *e;

	if (!tgid_traced(p->tgid))
		return 0;
	e = reserve(sizeof(*e), type, p->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->waker_tid = (__u32)bpf_get_current_pid_tgid();
	e->target_cpu = p->wake_cpu;
	f = bpf_task_storage_get(&in_futex, bpf_get_current_task_btf(), NULL, 0);
	e->waker_uaddr = f && f->kind == IN_WAKE ? f->uaddr : 0;
	submit(e);
	return 0;
}

/* sched_waking runs in the waker's context, so "current" is the waker. */
SEC("tp_btf/sched_waking")
int BPF_PROG(on_waking, struct task_struct *p)
{
	return wakeup(p, LS_REC_WAKEUP);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	return wakeup(p, LS_REC_WAKEUP_NEW);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, tgid = child->tgid;
	struct ls_task_new *e;

	if (!tgid_traced(ptgid))
		return 0;
	if (tgid != ptgid)
		__sync_fetch_and_or(traced_word(tgid), 1ULL << (tgid % 64));
	e = reserve(sizeof(*e), LS_REC_TASK_NEW, child->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->tgid = tgid;
	e->parent_tid = parent->pid;
	e->parent_tgid = ptgid;
	e->flags = tgid == ptgid ? LS_TASK_THREAD : 0;
	e->user_sp = BPF_CORE_READ((struct pt_regs *)bpf_task_pt_regs(child), sp);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), child->comm);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct ls_exec *e;

	if (!tgid_traced(p->tgid))
		return 0;
	e = reserve(sizeof(*e), LS_REC_EXEC, p->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->tgid = p->tgid;
	e->old_tid = old_pid;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_task_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	bool group_dead;
	struct ls_exit *e;

	if (!tgid_traced(tgid))
		return 0;
	group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
	e = reserve(sizeof(*e), LS_REC_EXIT, p->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->tgid = tgid;
	e->exit_code = p->exit_code;
	e->flags = group_dead ? LS_EXIT_GROUP_DEAD : 0;
	e->pad = 0;
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	submit(e);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(on_rename, struct task_struct *task, const char *comm)
{
	struct ls_comm *e;

	if (!tgid_traced(task->tgid))
		return 0;
	e = reserve(sizeof(*e), LS_REC_COMM, task->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm);
	submit(e);
	return 0;
}

/* CPython's GIL (uprobes, attached only where the interpreter has symbols) */
SEC("uprobe")
int BPF_KPROBE(take_gil_enter)
{
	struct in_futex *f;

	if (!tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	f = bpf_task_storage_get(&in_futex, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (f)
		f->take_gil_ts = bpf_ktime_get_ns();
	else
		count_lost(); /* the take's record, at its return */
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(take_gil_exit)
{
	struct in_futex *f = bpf_task_storage_get(&in_futex, bpf_get_current_task_btf(), NULL, 0);
	struct ls_gil_call *e;

	if (!f || !f->take_gil_ts)
		return 0;
	/* a take that returns after the window closed (the traced set emptied) is not in it */
	e = !tgid_traced(bpf_get_current_pid_tgid() >> 32)
		    ? NULL
		    : reserve(sizeof(*e), LS_REC_GIL_TAKE, (__u32)bpf_get_current_pid_tgid());
	if (e) {
		e->ts_enter = f->take_gil_ts;
		e->ts_exit = bpf_ktime_get_ns();
		submit(e);
	}
	f->take_gil_ts = 0;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(drop_gil_enter)
{
	struct ls_gil_call *e;

	if (!tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	e = reserve(sizeof(*e), LS_REC_GIL_DROP, (__u32)bpf_get_current_pid_tgid());
	if (e) {
		e->ts_enter = e->ts_exit = bpf_ktime_get_ns();
		submit(e);
	}
	return 0;
}

/*
 * The GIL as seen from the thread on this CPU, at a fixed rate (a CPU-clock perf event per CPU,
 * attached once a GIL is found): its load, where no probe on take_gil/drop_gil times it.
 */
SEC("perf_event")
int gil_sample(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct ls_gil_sample *e;
	struct ls_gil_loc *loc;
	__u64 holder = 0;
	__u32 locked;

	if (!tgid_traced(tgid))
		return 0;
	loc = bpf_map_lookup_elem(&gils, &tgid);
	if (!loc || bpf_probe_read_user(&locked, sizeof(locked), (void *)loc->locked))
		return 0;
	bpf_probe_read_user(&holder, sizeof(holder), (void *)loc->holder);
	e = reserve(sizeof(*e), LS_REC_GIL_SAMPLE, (__u32)id);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->holder = holder;
	e->locked = locked != 0;
	e->cpu = bpf_get_smp_processor_id();
	submit(e);
	return 0;
}
