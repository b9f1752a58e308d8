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
/* record --python-stacks, set before load: off, the walker is not even loaded */
const volatile bool py_stacks = false;
const volatile __u32 py_sample_every = 10; /* GIL sampler ticks per Python stack sample */
/* lockscope top, set before load: figures summed in the top_* maps, no record per event */
const volatile bool aggregate = false;

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

/* Python stacks (--python-stacks): a ring of their own too, sized by user space */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} py_events SEC(".maps");

__u64 py_lost = 0;	/* stacks py_events had no room for */
__u64 py_no_tstate = 0; /* stacks due of threads that no thread state names (C threads) */

/* By tgid, the offsets of its CPython, once user space has found AND checked them */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ls_py_offsets);
} py_offsets SEC(".maps");

__u32 nr_py = 0; /* entries ever put in py_offsets: none, no lookup */

/* A stack being read, per CPU: slot 0 for sched_switch, 1 for the sampler */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct ls_py_sample);
} py_scratch SEC(".maps");

/*
 * Wait stacks a CPU may read per PY_BUDGET_NS, and the window's count: a storm of blocking waits
 * (100,000 a second) would otherwise cost the traced threads microseconds each, and the recorder
 * more. What is over the budget is counted (py_over_budget), not read. GIL waits and other waits
 * each have a budget of their own: a burst of GIL hand-offs must not hide the wait on a lock.
 */
#define PY_BUDGET_NS 100000000ULL
#define PY_BUDGET    100

struct py_budget {
	__u64 since;
	__u32 used;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0: GIL waits, 1: other waits */
	__type(key, __u32);
	__type(value, struct py_budget);
} py_budget SEC(".maps");

__u64 py_over_budget = 0;

/* The sampler's ticks on each CPU: every py_sample_every-th reads a Python stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} py_ticks SEC(".maps");

/* A thread's PyThreadState, found once and checked on each use (it must still name the thread) */
struct py_task {
	__u64 tstate;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_task);
} py_task SEC(".maps");

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

/* lockscope top's figures (bpf/lockscope.h), sized by user space */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ls_top_thread);
} top_exited SEC(".maps"); /* threads that exited since the last reading: their last figures */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ls_top_lock_key);
	__type(value, struct ls_top_lock);
} top_locks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct ls_top_gil);
} top_gil SEC(".maps");

__u64 top_full[LS_TOP_NR_MAPS]; /* entries a full map refused */

/* A row being made, per CPU: too big for the exit hook's stack beside its record */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ls_top_thread);
} top_row_scratch SEC(".maps");

enum { IN_NONE, IN_WAIT, IN_WAKE };

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct ls_task_state);
} task_state SEC(".maps");

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
	struct ls_task_state *f;

	if (kind == IN_NONE || !tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	f = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!f) { /* none could be made (memory, a busy lock): the record made at exit is lost */
		count_lost();
		return 0;
	}
	if (!aggregate || kind == IN_WAIT) /* top does not time wakes */
		f->ts = bpf_ktime_get_ns();
	f->uaddr = first_uaddr(sys, regs);
	f->kind = kind;
	f->sampled = 0;
	f->py_sampled = 0;
	f->handoff = 0;
	return 0;
}

/* --- lockscope top: state times and waits summed in maps (aggregate) --- */

static __always_inline void top_count_full(__u32 map)
{
	__sync_fetch_and_add(&top_full[map % LS_TOP_NR_MAPS], 1);
}

/* floor(log2(v)) for v > 0, without a loop */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	return r + (v >> 1);
}

/*
 * A wait on a word of the current process's GIL timed out: as CPython's take_gil then asks the
 * holder to drop the GIL if it is still held by the hold it waited on, count that hold, once.
 * Read in the waiter's memory (it is current); approximately: take_gil compares the
 * switch_number it saw before waiting, which the kernel does not know.
 */
static __always_inline void top_gil_timeout(__u64 uaddr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, locked = 0;
	struct ls_gil_loc *loc = bpf_map_lookup_elem(&gils, &tgid);
	struct ls_top_gil *g;
	__u64 sn = 0, asked;

	if (!loc || uaddr < loc->gil + LS_GIL_TAKE_LO || uaddr >= loc->gil + LS_GIL_TAKE_HI)
		return;
	g = bpf_map_lookup_elem(&top_gil, &tgid);
	if (!g || bpf_probe_read_user(&locked, sizeof(locked), (void *)loc->locked) || !locked ||
	    bpf_probe_read_user(&sn, sizeof(sn), (void *)(loc->gil + LS_GIL_SWITCH_NUMBER)))
		return;
	asked = g->asked_sn;
	/* two waiters timing out on one hold ask once */
	if (asked != sn && __sync_val_compare_and_swap(&g->asked_sn, asked, sn) == asked)
		__sync_fetch_and_add(&g->forced, 1);
}

/* A wait of the current thread on f->uaddr returned ret: its lock's figures. */
static __always_inline void top_wait_done(const struct ls_task_state *f, long ret)
{
	struct ls_top_lock_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .uaddr = f->uaddr };
	struct ls_top_lock *l = bpf_map_lookup_elem(&top_locks, &k);
	__u64 ns;

	if (!l) {
		struct ls_top_lock zero = {};

		bpf_map_update_elem(&top_locks, &k, &zero, BPF_NOEXIST);
		l = bpf_map_lookup_elem(&top_locks, &k);
		if (!l) {
			top_count_full(LS_TOP_MAP_LOCKS);
			return;
		}
	}
	if (ret == -110) { /* ETIMEDOUT */
		__sync_fetch_and_add(&l->timedout, 1);
		if (nr_gils)
			top_gil_timeout(f->uaddr);
	}
	if (ret == 0 && f->handoff)
		__sync_fetch_and_add(&l->handoffs, 1);
	/* timed as record's are: woken, timed out or interrupted, from entry to return */
	if (ret != 0 && ret != -110 && ret != -4 /* EINTR */) {
		__sync_fetch_and_add(&l->noblock, 1);
		return;
	}
	ns = bpf_ktime_get_ns() - f->ts;
	__sync_fetch_and_add(&l->wait_ns, ns);
	__sync_fetch_and_add(&l->hist[(ns ? log2_u64(ns) : 0) & (LS_TOP_HIST - 1)], 1);
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
	struct ls_task_state *f;
	struct ls_futex *e;
	__u64 start;
	__u32 kind;

	/* only calls seen entering by a traced thread have state */
	f = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL, 0);
	if (!f || f->kind == IN_NONE)
		return 0;
	kind = f->kind;
	start = f->ts;
	f->kind = IN_NONE;
	if (aggregate) { /* a futex_waitv's is its first address's */
		if (kind == IN_WAIT)
			top_wait_done(f, ret);
		return 0;
	}
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

/* --- Python stacks (--python-stacks): read as CPython lays them out (struct ls_py_offsets) --- */

#define PY_TSTATES_MAX 256		      /* thread states followed, over all interpreters */
#define PY_SEEN_MAX    (2 * LS_PY_FRAMES_MAX) /* frames visited, C-stack shims (3.11+) included */

static __always_inline long rd_user(void *dst, __u32 len, __u64 addr)
{
	return bpf_probe_read_user(dst, len, (const void *)addr);
}

/* The kernel's tid of the thread state at ts, 0 when it names none (or cannot be read) */
static __always_inline __u32 tstate_tid(const struct ls_py_offsets *o, __u64 ts)
{
	__u64 v = 0;
	__s32 tid = 0;

	if (rd_user(&v, sizeof(v), ts + o->tstate_tid) || !v)
		return 0;
	if (o->tid_kind == LS_PY_TID_NATIVE)
		return v <= 0x7fffffff ? v : 0;
	/* 3.8-3.10: a pthread_t, glibc's struct pthread, the tid inside it */
	if (rd_user(&tid, sizeof(tid), v + o->pthread_tid))
		return 0;
	return tid > 0 ? tid : 0;
}

struct find_ctx {
	const struct ls_py_offsets *o;
	__u64 interp, ts, found;
	__u32 tid;
};

/* One step of the walk over every interpreter's thread states: 1 to stop */
static long find_step(__u64 i, struct find_ctx *c)
{
	const struct ls_py_offsets *o = c->o;

	if (!c->ts) { /* the next interpreter's threads */
		if (rd_user(&c->interp, sizeof(c->interp), c->interp + o->interp_next) ||
		    !c->interp ||
		    rd_user(&c->ts, sizeof(c->ts), c->interp + o->interp_threads_head))
			return 1;
		return 0;
	}
	if (tstate_tid(o, c->ts) == c->tid) {
		c->found = c->ts;
		return 1;
	}
	return rd_user(&c->ts, sizeof(c->ts), c->ts + o->tstate_next) ? 1 : 0;
}

/*
 * The thread state naming tid, 0 if none. bpf_loop: the verifier checks a step once, where a
 * bounded loop would be checked once per turn (on_switch went past the million instructions).
 */
static __always_inline __u64 find_tstate(const struct ls_py_offsets *o, __u32 tid)
{
	struct find_ctx c = { .o = o, .tid = tid };

	if (rd_user(&c.interp, sizeof(c.interp), o->runtime + o->runtime_interp_head) ||
	    !c.interp || rd_user(&c.ts, sizeof(c.ts), c.interp + o->interp_threads_head))
		return 0;
	bpf_loop(PY_TSTATES_MAX, find_step, &c, 0);
	return c.found;
}

/* task's thread state: the one cached, while it still names task; else found again */
static __always_inline __u64 task_tstate(const struct ls_py_offsets *o, struct task_struct *task)
{
	struct py_task *pt =
		bpf_task_storage_get(&py_task, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u32 tid = task->pid;
	__u64 ts;

	if (pt && pt->tstate && tstate_tid(o, pt->tstate) == tid)
		return pt->tstate;
	ts = find_tstate(o, tid);
	if (pt)
		pt->tstate = ts;
	return ts;
}

struct walk_ctx {
	const struct ls_py_offsets *o;
	struct ls_py_sample *s; /* s->nr counts the frames: in the map, not a register the
				 * verifier would follow turn by turn */
	__u64 fr;
};

/* One frame: 1 to stop */
static long walk_step(__u64 i, struct walk_ctx *c)
{
	const struct ls_py_offsets *o = c->o;
	struct ls_py_sample *s = c->s;
	__u64 code = 0, instr = 0, fr = c->fr;
	__s32 lasti = 0;
	__u8 owner = 0;
	__u32 n = s->nr;

	if (!fr)
		return 1;
	if (n >= LS_PY_FRAMES_MAX)
		return 1; /* deeper: truncated */
	/* 3.11+: frames owned by the C stack or the interpreter hold no Python function */
	if (o->frame_owner != LS_PY_NONE && rd_user(&owner, sizeof(owner), fr + o->frame_owner))
		return 1;
	if (o->frame_owner == LS_PY_NONE || owner <= o->owner_max) {
		if (rd_user(&code, sizeof(code), fr + o->frame_code))
			return 1;
		if (o->lasti_kind == LS_PY_INSTR_PTR) {
			if (rd_user(&instr, sizeof(instr), fr + o->frame_lasti))
				return 1;
		} else {
			if (rd_user(&lasti, sizeof(lasti), fr + o->frame_lasti))
				return 1;
			instr = (__s64)lasti;
		}
		s->frames[n & (LS_PY_FRAMES_MAX - 1)].code = code & ~(__u64)o->code_tag_mask;
		s->frames[n & (LS_PY_FRAMES_MAX - 1)].instr = instr;
		s->nr = n + 1;
	}
	if (rd_user(&c->fr, sizeof(c->fr), fr + o->frame_previous))
		return 1;
	return 0;
}

/* The frames of the thread state at ts into s, innermost first: (code object, instruction) */
static __always_inline void py_walk(const struct ls_py_offsets *o, __u64 ts, struct ls_py_sample *s)
{
	struct walk_ctx c = { .o = o, .s = s };

	s->truncated = 1; /* until the walk ends where the stack does */
	s->nr = 0;
	if (rd_user(&c.fr, sizeof(c.fr), ts + o->tstate_frame))
		return;
	if (o->frame_kind == LS_PY_CFRAME && c.fr &&
	    rd_user(&c.fr, sizeof(c.fr), c.fr + o->cframe_frame))
		return;
	bpf_loop(PY_SEEN_MAX, walk_step, &c, 0);
	s->truncated = c.fr != 0;
}

/*
 * Read the Python stack of the thread state at ts (thread tid of tgid) in per-CPU slot, and send
 * it: kind, with what the caller knows (s->uaddr, s->waiter_tid, s->gil_held) set by then.
 */
static __always_inline void py_send(struct ls_py_sample *s, const struct ls_py_offsets *o, __u64 ts,
				    __u32 tid, __u8 kind, __u64 now)
{
	__u32 size;

	py_walk(o, ts, s);
	size = offsetof(struct ls_py_sample, frames) + s->nr * sizeof(s->frames[0]);
	if (size > sizeof(*s))
		size = sizeof(*s);
	s->hdr.type = LS_REC_PY_SAMPLE;
	s->hdr.size = size;
	s->hdr.tid = tid;
	s->ts = now;
	s->kind = kind;
	s->pad = 0;
	if (bpf_ringbuf_output(&py_events, s, size, BPF_RB_NO_WAKEUP))
		__sync_fetch_and_add(&py_lost, 1);
}

static __always_inline struct ls_py_sample *py_slot(__u32 slot)
{
	return bpf_map_lookup_elem(&py_scratch, &slot);
}

/* A wait's stacks (the holder's with a GIL waiter's) are within this CPU's budget for its kind */
static __always_inline bool py_within_budget(__u64 now, bool gil)
{
	__u32 key = gil ? 0 : 1;
	struct py_budget *b = bpf_map_lookup_elem(&py_budget, &key);

	if (!b)
		return false;
	if (now - b->since > PY_BUDGET_NS) {
		b->since = now;
		b->used = 0;
	}
	if (b->used >= PY_BUDGET) {
		__sync_fetch_and_add(&py_over_budget, 1);
		return false;
	}
	b->used++;
	return true;
}

/*
 * prev, a thread of a Python process, leaves its CPU for the first time in a futex wait on
 * uaddr: its stack; and when it waits for the GIL, the holder's (last_holder) as it is now.
 */
static __always_inline void py_wait(struct task_struct *prev, __u64 uaddr, __u64 now)
{
	__u32 tgid = prev->tgid, locked = 0;
	__u8 kind = LS_PY_LOCK_WAITER;
	struct ls_py_offsets *o;
	struct ls_py_sample *s;
	struct ls_gil_loc *loc;
	__u64 ts, holder = 0;

	o = bpf_map_lookup_elem(&py_offsets, &tgid);
	s = py_slot(0);
	if (!o || !s)
		return;
	loc = nr_gils ? bpf_map_lookup_elem(&gils, &tgid) : NULL;
	if (loc && uaddr >= loc->gil + LS_GIL_TAKE_LO && uaddr < loc->gil + LS_GIL_WORDS_HI) {
		if (uaddr >= loc->gil + LS_GIL_TAKE_HI)
			return; /* a forced drop waits for the next holder: no wait for a lock */
		kind = LS_PY_GIL_WAITER;
	}
	if (!py_within_budget(now, kind == LS_PY_GIL_WAITER))
		return;
	ts = task_tstate(o, prev);
	if (!ts) {
		__sync_fetch_and_add(&py_no_tstate, 1);
		return;
	}
	s->uaddr = uaddr;
	s->tgid = tgid;
	s->waiter_tid = 0;
	s->gil_held = 0;
	py_send(s, o, ts, prev->pid, kind, now);
	if (kind != LS_PY_GIL_WAITER || rd_user(&holder, sizeof(holder), loc->holder) || !holder ||
	    holder == ts)
		return;
	rd_user(&locked, sizeof(locked), loc->locked);
	s->waiter_tid = prev->pid;
	s->gil_held = locked != 0;
	py_send(s, o, holder, tstate_tid(o, holder), LS_PY_GIL_HOLDER, now);
}

/* The sampler's tick on this CPU: true every py_sample_every-th */
static __always_inline bool py_tick(void)
{
	__u32 zero = 0, *t = bpf_map_lookup_elem(&py_ticks, &zero);

	if (!t)
		return false;
	if (++*t < py_sample_every)
		return false;
	*t = 0;
	return true;
}

/* The traced Python thread on this CPU: its stack, and whether it holds the GIL */
static __always_inline void py_sample(__u32 tgid, bool locked, __u64 holder)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct ls_py_offsets *o = bpf_map_lookup_elem(&py_offsets, &tgid);
	struct ls_py_sample *s = py_slot(1);
	__u64 ts;

	if (!o || !s)
		return;
	ts = task_tstate(o, task);
	if (!ts) {
		__sync_fetch_and_add(&py_no_tstate, 1);
		return;
	}
	s->uaddr = 0;
	s->tgid = tgid;
	s->waiter_tid = 0;
	s->gil_held = locked && holder == ts;
	py_send(s, o, ts, task->pid, LS_PY_SAMPLED, bpf_ktime_get_ns());
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

/* t's task storage, its top part made in state `state` from now when it has none */
static __always_inline struct ls_task_state *top_task(struct task_struct *t, __u8 state, __u64 now)
{
	struct ls_task_state *s =
		bpf_task_storage_get(&task_state, t, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!s) {
		top_count_full(LS_TOP_MAP_THREADS);
		return NULL;
	}
	if (!s->top.valid) {
		s->top.valid = 1;
		s->top.state = state;
		s->top.created = s->top.since = now;
		s->top.nvcsw0 = t->nvcsw; /* its switches are counted from here */
		s->top.nivcsw0 = t->nivcsw;
	}
	return s;
}

/* The time since e->since goes to its state; it is in `state` from now. */
static __always_inline void top_move(struct ls_top_task *e, __u8 state, __u64 now)
{
	__u8 s = e->state;

	if (s >= LS_TOP_NR_STATES)
		s = LS_TOP_OTHER;
	if (now > e->since)
		e->state_ns[s] += now - e->since;
	e->state = state;
	e->since = now;
}

/* The row user space reads of thread t (task storage e) */
static __always_inline void top_row(struct ls_top_thread *r, struct task_struct *t,
				    const struct ls_top_task *e)
{
	r->tid = t->pid;
	r->tgid = t->tgid;
	r->state = e->state;
	r->exited = e->exited;
	r->pad = 0;
	r->pad2 = 0;
	r->created = e->created;
	r->since = e->since;
	for (int i = 0; i < LS_TOP_NR_STATES; i++)
		r->state_ns[i] = e->state_ns[i];
	r->nvcsw = t->nvcsw;
	r->nivcsw = t->nivcsw;
	r->nvcsw0 = e->nvcsw0;
	r->nivcsw0 = e->nivcsw0;
	r->turns = e->turns;
	bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), t->comm);
}

/*
 * A thread of process tgid went on a CPU (on) or left it: the process's running threads, and the
 * GIL's flag as the last one left (read in its memory: it is current then).
 */
static __always_inline void top_gil_turn(__u32 tgid, bool on, __u64 now)
{
	struct ls_top_gil *g;
	struct ls_gil_loc *loc;
	__u32 locked = 0;
	__u64 old;

	if (!nr_gils)
		return;
	g = bpf_map_lookup_elem(&top_gil, &tgid);
	if (!g)
		return; /* no GIL found there (user space makes the entry as it finds one) */
	if (on) {
		if (__sync_fetch_and_add(&g->running, 1))
			return;
		if (g->idle_since && g->idle_locked && now > g->idle_since)
			g->idle_held_ns += now - g->idle_since;
		g->idle_since = 0;
		g->run_since = now;
		return;
	}
	old = __sync_fetch_and_add(&g->running, -1);
	if (!old) { /* it was running when the GIL was found: not counted */
		__sync_fetch_and_add(&g->running, 1);
		return;
	}
	if (old != 1)
		return;
	if (g->run_since && now > g->run_since)
		g->running_ns += now - g->run_since;
	g->run_since = 0;
	loc = bpf_map_lookup_elem(&gils, &tgid);
	if (loc)
		bpf_probe_read_user(&locked, sizeof(locked), (void *)loc->locked);
	g->idle_locked = locked != 0;
	g->idle_since = now;
}

/* Where a thread blocked in a futex wait on uaddr is: waiting for its process's GIL or a lock */
static __always_inline __u8 top_wait_state(__u32 tgid, __u64 uaddr)
{
	struct ls_gil_loc *loc = nr_gils ? bpf_map_lookup_elem(&gils, &tgid) : NULL;

	if (loc && uaddr >= loc->gil + LS_GIL_TAKE_LO && uaddr < loc->gil + LS_GIL_WORDS_HI)
		return LS_TOP_GIL;
	return LS_TOP_LOCK;
}

static __always_inline void top_switch(struct task_struct *prev, struct task_struct *next,
				       unsigned int prev_state, __u32 flags)
{
	__u64 now = bpf_ktime_get_ns();
	struct ls_task_state *s;
	bool was_running;
	__u8 st;

	if (flags & LS_SW_PREV_TRACED) {
		s = top_task(prev, LS_TOP_RUNNING, now);
		if (s && !s->top.exited) {
			if ((flags & LS_SW_PREEMPT) || prev_state == 0) {
				st = LS_TOP_RUNNABLE;
			} else if (s->kind == IN_WAIT) {
				st = top_wait_state(prev->tgid, s->uaddr);
			} else {
				st = LS_TOP_OTHER;
			}
			was_running = s->top.state == LS_TOP_RUNNING;
			/*
			 * Switched out, not seen switched in: the kernel leaves some switches
			 * unreported, most of them the idle task's, whose CPU took the woken
			 * thread at once. It ran from its wakeup.
			 */
			if (s->top.state == LS_TOP_RUNNABLE)
				s->top.state = LS_TOP_RUNNING;
			top_move(&s->top, st, now);
			if (was_running)
				top_gil_turn(prev->tgid, false, now);
		}
	}
	if (flags & LS_SW_NEXT_TRACED) {
		s = top_task(next, LS_TOP_RUNNABLE, now);
		if (s && !s->top.exited && s->top.state != LS_TOP_RUNNING) {
			top_move(&s->top, LS_TOP_RUNNING, now);
			top_gil_turn(next->tgid, true, now);
		}
	}
}

/*
 * p, a traced thread, is woken: when blocked, it waits for a CPU from now. A hand-off when its
 * waker is in a waking op on the word p waits on, blocked yet or not (as record's analysis); a
 * turn when that ended a blocked lock or GIL wait (a timeout is not one).
 */
static __always_inline void top_waking(struct task_struct *p)
{
	struct ls_task_state *s = bpf_task_storage_get(&task_state, p, NULL, 0), *waker;
	__u8 was;

	if (!s || !s->top.valid || s->top.exited)
		return;
	was = s->top.state;
	if (was != LS_TOP_RUNNING && was != LS_TOP_RUNNABLE)
		top_move(&s->top, LS_TOP_RUNNABLE, bpf_ktime_get_ns());
	waker = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL, 0);
	if (!waker || waker->kind != IN_WAKE)
		return;
	if (was == LS_TOP_LOCK || was == LS_TOP_GIL)
		s->top.turns++;
	if (s->kind == IN_WAIT && s->uaddr == waker->uaddr)
		s->handoff = 1;
}

/* p, current, exits: its last figures wait in top_exited for user space's next reading */
static __always_inline void top_exit(struct task_struct *p, __u32 tgid)
{
	struct ls_task_state *s = bpf_task_storage_get(&task_state, p, NULL, 0);
	struct ls_top_thread *r;
	__u32 tid = p->pid, zero = 0;
	__u64 now;

	if (!s || !s->top.valid || s->top.exited)
		return;
	r = bpf_map_lookup_elem(&top_row_scratch, &zero);
	if (!r)
		return;
	now = bpf_ktime_get_ns();
	if (s->top.state == LS_TOP_RUNNING)
		top_gil_turn(tgid, false, now);
	top_move(&s->top, s->top.state, now);
	s->top.exited = 1;
	top_row(r, p, &s->top);
	/* a leader's final switch, still to come, counts: its parent's getrusage, once it reaps
	 * it, has it (reports/METRICS.md "Context switches") */
	r->nvcsw += p->pid == tgid;
	if (bpf_map_update_elem(&top_exited, &tid, r, BPF_ANY))
		top_count_full(LS_TOP_MAP_THREADS);
}

/* Every traced thread alive, as user space reads them each interval (a task iterator) */
SEC("iter/task")
int dump_threads(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct ls_task_state *s;
	struct ls_top_thread r;

	if (!t || !tgid_traced(t->tgid))
		return 0;
	s = bpf_task_storage_get(&task_state, t, NULL, 0);
	if (!s || !s->top.valid || s->top.exited)
		return 0;
	top_row(&r, t, &s->top);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 flags = preempt ? LS_SW_PREEMPT : 0;
	struct ls_task_state *f = NULL;
	struct ls_switch *e;
	__u64 now;

	if (tgid_traced(prev->tgid))
		flags |= LS_SW_PREV_TRACED;
	if (tgid_traced(next->tgid))
		flags |= LS_SW_NEXT_TRACED;
	count_untraced(prev, next, flags);
	if (!(flags & (LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED)))
		return 0;
	if (aggregate) {
		top_switch(prev, next, prev_state, flags);
		return 0;
	}
	e = reserve(sizeof(*e), LS_REC_SWITCH, prev->pid);
	if (!e)
		return 0;
	e->ts = now = bpf_ktime_get_ns();
	e->next_tid = next->pid;
	e->prev_state = prev_state;
	e->prev_nvcsw = prev->nvcsw;
	e->prev_nivcsw = prev->nivcsw;
	e->cpu = bpf_get_smp_processor_id();
	if (flags & LS_SW_PREV_TRACED) {
		f = bpf_task_storage_get(&task_state, prev, NULL, 0);
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
	if (py_stacks && nr_py && f && (flags & LS_SW_IN_FUTEX_WAIT) && !f->py_sampled) {
		f->py_sampled = 1;
		py_wait(prev, f->uaddr, now);
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
	struct ls_task_state *f;
	struct ls_wakeup *e;

	if (!tgid_traced(p->tgid))
		return 0;
	if (aggregate) {
		top_waking(p);
		return 0;
	}
	e = reserve(sizeof(*e), type, p->pid);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->waker_tid = (__u32)bpf_get_current_pid_tgid();
	e->target_cpu = p->wake_cpu;
	f = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL, 0);
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
	if (aggregate) /* from its birth: runnable, its switches from 0 */
		top_task(child, LS_TOP_RUNNABLE, bpf_ktime_get_ns());
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
	if (aggregate)
		top_exit(p, tgid);
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
	if (aggregate) /* the iterator reads a thread's name as it is */
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
	struct ls_task_state *f;

	if (!tgid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	f = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL,
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
	struct ls_task_state *f =
		bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL, 0);
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
	/* every CPU's ticks count, whoever runs: a Python thread is sampled for its time on a CPU */
	bool py_due = py_stacks && nr_py && py_tick();
	__u32 tgid = id >> 32, locked = 0;
	struct ls_gil_sample *e;
	struct ls_gil_loc *loc;
	__u64 holder = 0;

	if (!tgid_traced(tgid))
		return 0;
	loc = nr_gils ? bpf_map_lookup_elem(&gils, &tgid) : NULL;
	if (loc && !bpf_probe_read_user(&locked, sizeof(locked), (void *)loc->locked)) {
		bpf_probe_read_user(&holder, sizeof(holder), (void *)loc->holder);
		if (aggregate) {
			struct ls_top_gil *g = bpf_map_lookup_elem(&top_gil, &tgid);
			__u64 n = g ? g->running : 0;
			__u64 w = LS_TOP_WEIGHT / (n ? n : 1);

			if (g) {
				__sync_fetch_and_add(&g->sample_weight, w);
				if (locked)
					__sync_fetch_and_add(&g->sample_held, w);
			}
			goto stacks;
		}
		e = reserve(sizeof(*e), LS_REC_GIL_SAMPLE, (__u32)id);
		if (e) {
			e->ts = bpf_ktime_get_ns();
			e->holder = holder;
			e->locked = locked != 0;
			e->cpu = bpf_get_smp_processor_id();
			submit(e);
		}
	}
stacks:
	if (py_due)
		py_sample(tgid, locked != 0, holder);
	return 0;
}
