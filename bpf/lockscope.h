/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by the BPF programs and user space. Each kernel record is
 * written to the ring buffer as-is and copied verbatim into the trace file,
 * so these structs are the on-disk format too: fixed-width fields, no
 * pointers, little-endian, every record starts with struct ls_rec_hdr.
 */
#ifndef LOCKSCOPE_H
#define LOCKSCOPE_H

#define LS_COMM_LEN  16
#define LS_WAITV_MAX 8		/* futex_waitv addresses kept per record */
#define LS_TGID_MAX  (1u << 22) /* the kernel's PID_MAX_LIMIT: pids are below it */
#define LS_CPUS_MAX  4096u	/* CPUs a trace and the BPF programs know of */

enum ls_rec_type {
	/* written by the BPF programs */
	LS_REC_FUTEX_WAIT = 1,	/* struct ls_futex, one per returned wait */
	LS_REC_FUTEX_WAKE = 2,	/* struct ls_futex, one per waking op */
	LS_REC_FUTEX_WAITV = 3, /* struct ls_futex_waitv */
	LS_REC_SWITCH = 4,	/* struct ls_switch */
	LS_REC_WAKEUP = 5,	/* struct ls_wakeup */
	LS_REC_WAKEUP_NEW = 6,	/* struct ls_wakeup */
	LS_REC_TASK_NEW = 7,	/* struct ls_task_new: fork or thread creation */
	LS_REC_EXEC = 8,	/* struct ls_exec */
	LS_REC_EXIT = 9,	/* struct ls_exit */
	LS_REC_GIL_TAKE = 10,	/* struct ls_gil_call: CPython's take_gil, at its return */
	LS_REC_GIL_DROP = 11,	/* struct ls_gil_call: CPython's drop_gil, at its entry */
	LS_REC_COMM = 12, /* struct ls_comm: a task renamed itself (prctl, pthread_setname_np) */
	/* struct ls_stack_sample (record --stacks): the recorder unwinds it, and writes
	 * LS_REC_STACK and LS_REC_WAIT_STACK in its place */
	LS_REC_STACK_SAMPLE = 13,
	LS_REC_GIL_SAMPLE = 14, /* struct ls_gil_sample: a traced Python thread on a CPU, sampled */
	/* struct ls_py_sample: a Python stack read in the kernel; the recorder resolves it, and
	 * writes LS_REC_PY_FUNC and LS_REC_PY_STACK in its place */
	LS_REC_PY_SAMPLE = 15,
	/* written by user space (tracer/format/trace.h) */
	LS_REC_CMDLINE = 32,
	LS_REC_TASK = 33,
	LS_REC_LOST = 34,
	LS_REC_END = 35,
	LS_REC_MAPS_BEGIN = 36,
	LS_REC_MAP = 37,
	LS_REC_GIL_INFO = 38,
	LS_REC_STACK = 39,
	LS_REC_WAIT_STACK = 40,
	LS_REC_BUILD_ID = 41,
	LS_REC_PACKED = 42, /* a block of records in the compact encoding (trace version 2) */
	LS_REC_MAPS_FAILED = 43,
	LS_REC_OTHER_CPU = 44,
	LS_REC_PY_FUNC = 45,   /* struct ls_py_func (tracer/format/trace.h) */
	LS_REC_PY_STACK = 46,  /* struct ls_py_stack */
	LS_REC_PY_STATUS = 47, /* struct ls_py_status */
	LS_REC_MAX = 64,
};

/* Which syscall a futex record comes from: the high 16 bits of ls_futex.op. */
enum ls_futex_sys {
	LS_SYS_FUTEX = 0,	/* futex(2): low 16 bits are its op, flags included */
	LS_SYS_FUTEX_WAITV = 1, /* futex2 calls: low 16 bits are their flags */
	LS_SYS_FUTEX_WAIT = 2,
	LS_SYS_FUTEX_WAKE = 3,
	LS_SYS_FUTEX_REQUEUE = 4,
};

#define LS_FUTEX_SYS(op)     ((op) >> 16)
#define LS_FUTEX_OP(sys, op) (((sys) << 16) | ((op)&0xffff))

/* futex(2) commands and flags (linux/futex.h) */
#define LS_FUTEX_WAIT		 0
#define LS_FUTEX_WAKE		 1
#define LS_FUTEX_FD		 2
#define LS_FUTEX_REQUEUE	 3
#define LS_FUTEX_CMP_REQUEUE	 4
#define LS_FUTEX_WAKE_OP	 5
#define LS_FUTEX_LOCK_PI	 6
#define LS_FUTEX_UNLOCK_PI	 7
#define LS_FUTEX_TRYLOCK_PI	 8
#define LS_FUTEX_WAIT_BITSET	 9
#define LS_FUTEX_WAKE_BITSET	 10
#define LS_FUTEX_WAIT_REQUEUE_PI 11
#define LS_FUTEX_CMP_REQUEUE_PI	 12
#define LS_FUTEX_LOCK_PI2	 13
#define LS_FUTEX_PRIVATE_FLAG	 128
#define LS_FUTEX_CLOCK_REALTIME	 256
#define LS_FUTEX_CMD(op)	 ((op) & ~(LS_FUTEX_PRIVATE_FLAG | LS_FUTEX_CLOCK_REALTIME) & 0xffff)

/* ls_switch.flags */
#define LS_SW_PREEMPT	    (1u << 0)
#define LS_SW_PREV_TRACED   (1u << 1)
#define LS_SW_NEXT_TRACED   (1u << 2)
#define LS_SW_IN_FUTEX_WAIT (1u << 3) /* prev switched out inside a futex wait */
#define LS_SW_GIL_READ	    (1u << 4) /* prev's process has a GIL: its locked flag was read */
#define LS_SW_GIL_LOCKED    (1u << 5) /* ... and the GIL was held */

/* ls_task_new.flags */
#define LS_TASK_THREAD (1u << 0) /* shares the parent's thread group */

/* ls_exit.flags */
#define LS_EXIT_GROUP_DEAD (1u << 0) /* last thread of its process */

/* The kernel's TASK_DEAD: the final switch of an exiting thread. */
#define LS_TASK_DEAD 0x80

struct ls_rec_hdr {
	__u16 type;
	__u16 size; /* of the whole record, header included */
	__u32 tid;  /* the task the record is about */
};

struct ls_futex {
	struct ls_rec_hdr hdr;
	__u64 ts_enter; /* CLOCK_MONOTONIC ns, at the syscall's entry */
	__u64 ts_exit;	/* at its exit; for wakes, == ts_enter (not timed) */
	__u64 uaddr;
	__u64 uaddr2; /* second address of WAKE_OP/REQUEUE ops, else 0 */
	__u32 op;     /* LS_FUTEX_OP(sys, op or flags) */
	__u32 val;    /* expected value (waits), count to wake (wakes) */
	__s32 ret;    /* return value: 0 or -errno for waits, woken count for wakes */
	__u32 val3;   /* bitset or requeue count, as passed */
};

struct ls_futex_waitv {
	struct ls_rec_hdr hdr;
	__u64 ts_enter;
	__u64 ts_exit;
	__s32 ret; /* index of the woken futex, or -errno */
	__u32 nr;  /* addresses named by the call (uaddr holds the first LS_WAITV_MAX) */
	__u64 uaddr[LS_WAITV_MAX];
};

struct ls_switch {
	struct ls_rec_hdr hdr; /* tid: the task switched out */
	__u64 ts;
	__u32 next_tid;
	__u32 prev_state; /* as the sched_switch tracepoint reports it */
	__u32 prev_nvcsw; /* prev's kernel counters after this switch (low 32 bits) */
	__u32 prev_nivcsw;
	__u32 cpu;
	__u32 flags; /* LS_SW_* */
};

struct ls_wakeup {
	struct ls_rec_hdr hdr; /* tid: the task woken */
	__u64 ts;
	__u32 waker_tid; /* the task running the wakeup (0: idle or interrupt) */
	__u32 target_cpu;
	__u64 waker_uaddr; /* the futex the waker was waking, if it was in a waking op */
};

struct ls_task_new {
	struct ls_rec_hdr hdr; /* tid: the new task */
	__u64 ts;
	__u32 tgid;
	__u32 parent_tid;
	__u32 parent_tgid;
	__u32 flags; /* LS_TASK_* */
	char comm[LS_COMM_LEN];
	__u64 user_sp; /* the new task's user stack pointer: names a thread's stack mapping */
};

struct ls_exec {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u32 tgid;
	__u32 old_tid; /* a non-leader thread that execs takes the leader's tid */
	char comm[LS_COMM_LEN];
};

struct ls_exit {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u32 tgid;
	__u32 exit_code; /* wait(2) status: (code << 8) or the signal */
	__u32 flags;	 /* LS_EXIT_* */
	__u32 pad;
	char comm[LS_COMM_LEN];
};

struct ls_comm {
	struct ls_rec_hdr hdr;
	__u64 ts;
	char comm[LS_COMM_LEN]; /* the new name */
};

struct ls_gil_call {
	struct ls_rec_hdr hdr;
	__u64 ts_enter;
	__u64 ts_exit; /* == ts_enter for drop_gil */
};

/*
 * Where a traced process's GIL keeps its state, for the BPF programs to read (the gils map, by
 * tgid): the addresses of its locked flag and last_holder.
 */
struct ls_gil_loc {
	__u64 locked;
	__u64 holder;
	__u64 gil; /* the structure itself (its interval at 0: GIL.md), whose words are below */
};

/* A GIL's futex words, as offsets from ls_gil_loc.gil (GIL.md, glibc 2.36 to 2.41) */
#define LS_GIL_TAKE_LO	     32	 /* cond and mutex, [32, 120): where a thread waits to take it */
#define LS_GIL_TAKE_HI	     120 /* switch_cond and switch_mutex, [120, 208): a forced dropper's */
#define LS_GIL_WORDS_HI	     208
#define LS_GIL_SWITCH_NUMBER 24 /* unsigned long switch_number: CPython's own hand-off count */

/*
 * CPython's GIL as a thread of its process found it when the CPU clock sampled that thread (at
 * a fixed rate on every CPU): whether it was held, and by which thread state.
 */
struct ls_gil_sample {
	struct ls_rec_hdr hdr; /* tid: the thread on the CPU */
	__u64 ts;
	__u64 holder; /* last_holder: the PyThreadState that took it last */
	__u32 locked; /* 1 held, 0 free */
	__u32 cpu;
};

/* Why a Python stack was read (struct ls_py_sample, struct ls_py_stack) */
enum ls_py_stack_kind {
	LS_PY_SAMPLED = 1,    /* a traced Python thread on a CPU, sampled at a fixed rate */
	LS_PY_GIL_WAITER = 2, /* a thread's first switch out of a wait for the GIL: its stack */
	LS_PY_GIL_HOLDER = 3, /* ... and at that moment the GIL holder's (waiter_tid: the waiter) */
	LS_PY_LOCK_WAITER = 4, /* a Python thread's first switch out of a wait on another futex */
};

#define LS_PY_FRAMES_MAX 64 /* Python frames of one stack, innermost first */

/* A frame as the kernel reads it: the code object, and the instruction as the frame holds it */
struct ls_py_raw_frame {
	__u64 code;
	__u64 instr; /* f_lasti (3.8-3.10), or the instruction pointer (3.11+) */
};

struct ls_py_sample {
	struct ls_rec_hdr hdr; /* tid: the thread whose stack it is */
	__u64 ts;
	__u64 uaddr; /* GIL_WAITER, LOCK_WAITER: the futex word waited on */
	__u32 tgid;
	__u32 waiter_tid; /* GIL_HOLDER: the thread whose wait began */
	__u8 kind;	  /* enum ls_py_stack_kind */
	__u8 gil_held;	  /* the thread held the GIL (LS_PY_SAMPLED) */
	__u8 nr;	  /* frames read */
	__u8 truncated;	  /* deeper than LS_PY_FRAMES_MAX, or a read failed on the way */
	__u32 pad;
	struct ls_py_raw_frame frames[LS_PY_FRAMES_MAX];
};

/* Where the current frame hangs off a thread state */
enum ls_py_frame_kind {
	LS_PY_FRAMEOBJ = 1, /* 3.8-3.10: PyFrameObject *frame, f_back, f_code, int f_lasti */
	LS_PY_CFRAME,	    /* 3.11-3.12: tstate->cframe->current_frame, a _PyInterpreterFrame */
	LS_PY_IFRAME,	    /* 3.13+: tstate->current_frame, a _PyInterpreterFrame */
};

/* What the frame's instruction field holds */
enum ls_py_lasti_kind {
	LS_PY_LASTI_BYTES = 1, /* int f_lasti, a byte offset (3.8, 3.9) */
	LS_PY_LASTI_UNITS,     /* int f_lasti, in 2-byte code units (3.10) */
	LS_PY_INSTR_PTR,       /* a pointer into the code object's co_code_adaptive (3.11+) */
};

/* The line table's format */
enum ls_py_table_kind {
	LS_PY_LNOTAB = 1, /* co_lnotab: (byte delta, line delta) pairs (3.8, 3.9) */
	LS_PY_LINETABLE,  /* co_linetable of 3.10: (byte delta, line delta or -128) pairs */
	LS_PY_LOCATIONS,  /* co_linetable of 3.11+: the location table, in code units */
};

/* How a thread state names its thread */
enum ls_py_tid_kind {
	LS_PY_TID_NATIVE = 1, /* tstate->native_thread_id, the kernel's tid (3.11+) */
	LS_PY_TID_PTHREAD, /* tstate->thread_id is a pthread_t: glibc's struct pthread, its tid at
				 pthread_tid (3.8-3.10) */
};

#define LS_PY_NONE 0xffff /* an offset that does not apply to the version */

/*
 * Everything a stack walker needs, for one interpreter version in one process (tracer/pyframes.c
 * fills and checks it; the BPF walker reads the py_offsets map of them). Offsets are in bytes from
 * the start of the structure named; addresses are the process's.
 */
struct ls_py_offsets {
	__u32 hexversion; /* major << 24 | minor << 16, as PY_VERSION_HEX */
	__u8 frame_kind;  /* enum ls_py_frame_kind */
	__u8 lasti_kind;  /* enum ls_py_lasti_kind */
	__u8 table_kind;  /* enum ls_py_table_kind */
	__u8 tid_kind;	  /* enum ls_py_tid_kind */
	__u64 runtime;	  /* _PyRuntime */
	__u64 code_type;  /* &PyCode_Type: a frame's code object is checked against it */
	__u64 unicode_type;
	__u64 bytes_type;
	/* _PyRuntime */
	__u16 runtime_interp_head; /* interpreters.head */
	/* PyInterpreterState */
	__u16 interp_next;
	__u16 interp_threads_head; /* tstate_head, threads.head */
	/* PyThreadState */
	__u16 tstate_next;
	__u16 tstate_tid;   /* native_thread_id, or thread_id (a pthread_t) */
	__u16 pthread_tid;  /* LS_PY_TID_PTHREAD: the tid in glibc's struct pthread */
	__u16 tstate_frame; /* frame, cframe or current_frame */
	__u16 cframe_frame; /* LS_PY_CFRAME: _PyCFrame.current_frame */
	/* the frame */
	__u16 frame_previous;
	__u16 frame_code;   /* f_code, f_executable */
	__u16 frame_lasti;  /* f_lasti, prev_instr, instr_ptr */
	__u16 frame_owner;  /* LS_PY_NONE before 3.11; a frame whose owner > owner_max is skipped */
	__u8 owner_max;	    /* the last owner that is a Python function's frame */
	__u8 code_tag_mask; /* low bits of f_executable that tag the pointer (3.14+: _PyStackRef) */
	/* PyCodeObject */
	__u16 code_name; /* co_qualname (3.11+), co_name before */
	__u16 code_filename;
	__u16 code_firstlineno;
	__u16 code_linetable; /* co_lnotab, co_linetable */
	__u16 code_adaptive;  /* co_code_adaptive (3.11+): where instruction pointers count from */
	/* objects */
	__u16 ob_type;
	__u16 var_size;	       /* PyVarObject.ob_size: a bytes object's length */
	__u16 bytes_data;      /* ob_sval */
	__u16 unicode_length;  /* in code points */
	__u16 unicode_state;   /* kind in bits 2-4, compact bit 5, ascii bit 6 */
	__u16 unicode_ascii;   /* the characters of a compact ASCII string: sizeof(PyASCIIObject) */
	__u16 unicode_compact; /* of another compact string: sizeof(PyCompactUnicodeObject) */
	__u16 pad[3];
};

/*
 * Per CPU, the CPU time the kernel charged untraced tasks (neither the traced processes' nor the
 * idle task), run by run: the machine's other load. The sched_switch program keeps it without
 * writing a record; seq, odd while it updates the entry, tells a reader on another CPU to read
 * again. A cache line each, so that CPUs do not share one.
 */
struct ls_cpu_untraced {
	__u32 seq;
	__u32 pid;	   /* the untraced task switched in at the last switch; 0: idle or traced */
	__u64 runtime;	   /* that task's sum_exec_runtime then */
	__u64 untraced_ns; /* summed over the runs that ended on this CPU */
	__u64 switches;	   /* seen on this CPU since the probes were attached */
	__u64 rq;	   /* the CPU's struct rq (kernel address), 0 before its first switch */
	__u64 pad[3];
};

/*
 * lockscope top (the programs' aggregate knob): no record per event. The programs keep each
 * thread's state times, each lock's waits and each GIL's figures in the maps below, as running
 * sums; user space reads them every interval and takes differences. Task lifecycle records (new,
 * exec, exit, rename) still go through the ring buffer: they are few.
 */
enum ls_top_state {
	LS_TOP_RUNNING,
	LS_TOP_RUNNABLE,
	LS_TOP_LOCK,
	LS_TOP_GIL,
	LS_TOP_OTHER,
	LS_TOP_NR_STATES,
};

/*
 * A thread's figures: what the task iterator (dump_threads) writes for each traced thread alive,
 * and, for one that exited, what the exit hook leaves in top_exited (by tid) for one last reading.
 * The running sums live in the thread's task storage: no hash lookup per event.
 */
struct ls_top_thread {
	__u32 tid, tgid;
	__u8 state;  /* enum ls_top_state, since `since` */
	__u8 exited; /* a top_exited entry */
	__u16 pad;
	__u32 pad2;
	__u64 created; /* when its storage was made: a tid reused is a new thread */
	__u64 since;
	__u64 state_ns[LS_TOP_NR_STATES]; /* summed as each state ends */
	__u64 nvcsw, nivcsw;		  /* the kernel's counters now (or at its exit) ... */
	__u64 nvcsw0, nivcsw0;		  /* ... and when its storage was made */
	__u64 turns; /* lock or GIL waits it was woken from by a waking op: turns it was given */
	char comm[LS_COMM_LEN];
};

/* The part of a traced thread's task storage that top keeps (struct ls_task_state's top) */
struct ls_top_task {
	__u8 valid;
	__u8 state;
	__u8 exited;
	__u8 pad[5];
	__u64 created;
	__u64 since;
	__u64 state_ns[LS_TOP_NR_STATES];
	__u64 nvcsw0, nivcsw0;
	__u64 turns;
};

/*
 * A traced thread's task storage (the task_state map): the futex call it is in, from sys_enter to
 * sys_exit, and in aggregate mode (lockscope top) its running sums.
 */
struct ls_task_state {
	__u64 ts;	   /* entry time (not read in aggregate mode) */
	__u64 uaddr;	   /* first address */
	__u32 kind;	   /* 0 none, 1 a wait, 2 a wake (lockscope.bpf.c: IN_*) */
	__u16 sampled;	   /* its stack was taken: once per wait */
	__u16 py_sampled;  /* its Python stack was read: once per wait */
	__u64 take_gil_ts; /* entry of the take_gil call the thread is in, 0 if none */
	__u32 handoff;	   /* aggregate: woken by a waking op on the word it waits on */
	__u32 pad;
	struct ls_top_task top;
};

struct ls_top_lock_key {
	__u32 tgid;
	__u32 pad;
	__u64 uaddr;
};

#define LS_TOP_HIST 64 /* log2 buckets of blocked wait time: bucket i holds [2^i, 2^(i+1)) ns */

/* top_locks, by (tgid, futex word): its waits as they return */
struct ls_top_lock {
	__u64 noblock;	/* waits that returned without being timed (EAGAIN, errors) */
	__u64 wait_ns;	/* the timed ones' (woken, timed out, interrupted) time from entry to
			 * return; their count is the histogram's: one atomic add less a wait */
	__u64 timedout; /* waits that returned ETIMEDOUT */
	__u64 handoffs; /* woken waits whose waker was in a waking op on this word */
	__u32 hist[LS_TOP_HIST];
};

/*
 * top_gil, by tgid, for a process with a GIL (the gils map): its locked flag as the process's
 * last running thread left a CPU, and the sampler's ticks, each weighted by 1 / the threads of the
 * process running then (LS_TOP_WEIGHT in all), as reports/METRICS.md "GIL load, sampled" says.
 */
#define LS_TOP_WEIGHT 840 /* divisible by 1 to 8 */

struct ls_top_gil {
	__u64 running;	     /* threads of the process on a CPU */
	__u64 idle_locked;   /* the GIL's flag as the last of them left */
	__u64 idle_since;    /* when that was: 0 while some thread runs */
	__u64 run_since;     /* when the first of them went on a CPU: 0 while none runs */
	__u64 idle_held_ns;  /* time with none running and the GIL held */
	__u64 running_ns;    /* time with some running */
	__u64 sample_weight; /* the sampler's ticks, weighted */
	__u64 sample_held;   /* ... those that found the GIL held */
	/* holds that a waiter's timeout asked to end (CPython's drop request: the GIL still held
	 * by the hold it waited on, switch_number unchanged): forced switches */
	__u64 forced;
	__u64 asked_sn; /* the switch_number of the last hold asked */
};

enum ls_top_map {
	LS_TOP_MAP_THREADS,
	LS_TOP_MAP_LOCKS,
	LS_TOP_MAP_GILS,
	LS_TOP_NR_MAPS,
};

/* User registers a stack sample carries: what CFI rules of x86-64 code refer to. */
enum ls_ureg {
	LS_UREG_IP,
	LS_UREG_SP,
	LS_UREG_BP,
	LS_UREG_BX,
	LS_UREG_R12,
	LS_UREG_R13,
	LS_UREG_R14,
	LS_UREG_R15,
	LS_UREG_NR,
};

#define LS_STACK_FP_MAX	  32	     /* return addresses found by the kernel's frame-pointer walk */
#define LS_STACK_CHUNK	  512	     /* the user stack is copied in chunks of this many bytes */
#define LS_STACK_DUMP_MAX (32 << 10) /* bytes of user stack a sample may copy */
#define LS_URET_MAX	  4	     /* pending uretprobes of a sample's thread, innermost first */

/*
 * The user stack of a thread that blocks in a futex wait, taken at its first switch out of the
 * wait. Frame pointers (ips) where the kernel can walk them, and a copy of the stack from dump_base
 * up (dump_size bytes, possibly fewer than asked: the copy stops at the first page it cannot
 * read) with the registers, for unwinding with DWARF CFI in user space.
 */
struct ls_stack_sample {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u32 tgid;
	__u16 nr_ips;
	__u16 dump_size;
	__u64 dump_base; /* regs[LS_UREG_SP] rounded down to LS_STACK_CHUNK */
	__u64 regs[LS_UREG_NR];
	/*
	 * A function with a uretprobe (the GIL's take_gil) returns to the kernel's trampoline: its
	 * return address slot on the stack (uret_slot) holds the trampoline's address, not the
	 * caller's (uret_ip). The unwinder reads the one for the other.
	 */
	__u32 nr_uret;
	__u32 pad;
	__u64 uret_slot[LS_URET_MAX];
	__u64 uret_ip[LS_URET_MAX];
	__u64 ips[LS_STACK_FP_MAX];
	__u8 dump
		[]; /* record size - sizeof(struct ls_stack_sample) bytes, dump_size of them valid */
};

#endif /* LOCKSCOPE_H */
