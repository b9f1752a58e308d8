/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The trace file: a header, then typed, length-prefixed records (struct ls_rec_hdr first), the
 * kernel's records (bpf/lockscope.h) among them; it ends with the task table, the lost counts
 * and an END record. A file without END was cut short; a reader skips types it does not know.
 *
 * Version 2 stores the kernel's frequent records (futex, switch, wakeup, GIL, wait-stack) in
 * LS_REC_PACKED blocks, about a quarter of their size; readers restore the structs. Version 1 files,
 * records as they are, are still read.
 */
#ifndef LS_TRACE_H
#define LS_TRACE_H

#include <stdio.h>
#include <linux/types.h>
#include "lockscope.h"

#define LS_TRACE_MAGIC	 "LOCKSCOP"
/* 3: packed blocks may hold GIL samples (LS_REC_GIL_SAMPLE), which a version 2 reader can't skip */
#define LS_TRACE_VERSION 3
#define LS_BYTE_ORDER	 0x01020304u
#define LS_REC_MAX_SIZE	 65535u
#define LS_CMDLINE_MAX	 4096u

enum ls_mode {
	LS_MODE_LAUNCH = 1, /* record -- CMD */
	LS_MODE_PID = 2,    /* record -p PID */
};

enum ls_stop_reason {
	LS_STOP_EXITED = 1,   /* the command and its descendants (or the PID) exited */
	LS_STOP_DURATION = 2, /* -d elapsed */
	LS_STOP_SIGNAL = 3,   /* SIGINT or SIGTERM */
};

struct ls_file_header {
	char magic[8];
	__u32 version;
	__u32 header_size;
	__u32 byte_order;
	__u32 nr_cpus;
	__u32 page_size;
	__u32 clock_id;	     /* CLOCK_MONOTONIC: the clock of every timestamp */
	__u64 start_mono_ns; /* the window's start: every probe attached */
	__u64 start_real_ns; /* the same instant in CLOCK_REALTIME */
	__u32 mode;	     /* enum ls_mode */
	__u32 target_pid;    /* -p PID, or the launched command's pid */
	char kernel[80];     /* uname -r */
	char tool_version[32];
};

/* LS_REC_CMDLINE: the command line, arguments separated by spaces, NUL-terminated */
struct ls_cmdline {
	struct ls_rec_hdr hdr;
	char text[];
};

/* ls_task.flags */
#define LS_TASK_AT_START (1u << 0) /* alive when the window opened */
#define LS_TASK_EXITED	 (1u << 1) /* exited inside the window */
#define LS_TASK_FINAL	 (1u << 2) /* part of the task table written at the end */
#define LS_TASK_RUNNABLE (1u << 3) /* AT_START: it was running or runnable then */
#define LS_TASK_IN_FUTEX (1u << 4) /* AT_START: it was blocked in a futex call */

/* LS_REC_TASK: a task alive at the start, or (LS_TASK_FINAL) one row of the final task table */
struct ls_task {
	struct ls_rec_hdr hdr;
	__u64 ts_start; /* when it was first seen (the window's start for AT_START) */
	__u64 ts_end;	/* exit time, 0 if alive at the end */
	__u32 tgid;
	__u32 ppid;	 /* parent process */
	__u32 exit_code; /* wait(2) status, when EXITED */
	__u32 flags;
	char comm[LS_COMM_LEN];
};

/* LS_REC_LOST: records the kernel side could not reserve, per CPU */
struct ls_lost {
	struct ls_rec_hdr hdr;
	__u32 nr_cpus;
	__u32 pad;
	__u64 lost[];
};

/*
 * LS_REC_MAPS_BEGIN, then one LS_REC_MAP per line of /proc/PID/maps: a snapshot of a traced
 * process's memory map (hdr.tid = its tgid), which replaces any earlier snapshot of it. Taken
 * while the process is alive, so that reports can name lock addresses.
 */
struct ls_maps_begin {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u32 nr; /* LS_REC_MAP records that follow */
	__u32 pad;
};

/*
 * LS_REC_MAPS_FAILED: a snapshot of process hdr.tid's memory map was due but the map could not be
 * read (not because the process is gone): its locks keep the names of its previous snapshot, if
 * any. Readers that do not know it skip it.
 */
struct ls_maps_failed {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__s32 err; /* errno */
	__u32 pad;
};

/*
 * LS_REC_OTHER_CPU: the time untraced tasks (neither the traced processes' nor the idle task)
 * ran, summed over the CPUs, from the window's start or a little before it up to ts. The
 * recorder writes one as the window opens, every 100 ms and as it closes: the difference between
 * two is the machine's other load between them. Readers that do not know it skip it.
 */
struct ls_other_cpu {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u64 untraced_ns;
};

#define LS_MAP_READ   (1u << 0)
#define LS_MAP_WRITE  (1u << 1)
#define LS_MAP_EXEC   (1u << 2)
#define LS_MAP_SHARED (1u << 3)

struct ls_map {
	struct ls_rec_hdr hdr;
	__u64 start;
	__u64 end;
	__u64 pgoff;
	__u64 inode;
	__u32 dev;   /* makedev(major, minor) */
	__u32 prot;  /* LS_MAP_* */
	char path[]; /* NUL-terminated; "" for anonymous, "[heap]", "[stack]", ... */
};

/* How a GIL is followed: the one list, recorder and reports; the values are the trace format's. */
enum ls_gil_source {
	LS_GIL_SRC_NONE = 0,	 /* not known yet (no GIL_INFO of its start); never written */
	LS_GIL_SRC_PROBES = 1,	 /* uprobes on take_gil/drop_gil: exact */
	LS_GIL_SRC_FUTEX = 2,	 /* inferred from the futex traffic on the GIL's words */
	LS_GIL_SRC_DISABLED = 3, /* a free-threaded build running without a GIL */
};

#define LS_GIL_INFO_END (1u << 0) /* read at the end of the recording */

/* LS_REC_GIL_INFO: a CPython interpreter in a traced process (hdr.tid = its tgid). */
struct ls_gil_info {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u64 gil_addr;	     /* the GIL structure (struct _gil_runtime_state), 0 if unknown */
	__u64 switch_number; /* CPython's own hand-off count, read from the process then */
	__u32 interval_us;   /* the switch interval, read from the process */
	__u32 version;	     /* 0x030b07: 3.11.7 */
	__u32 source;	     /* enum ls_gil_source */
	__u32 flags;	     /* LS_GIL_INFO_* */
};

#define LS_STACK_MAX 64 /* frames kept of a stack */

/* ls_stack.flags: how it was unwound */
#define LS_STACK_DWARF	   (1u << 0) /* DWARF CFI, from the copied user stack */
#define LS_STACK_FP	   (1u << 1) /* frame pointers, walked by the kernel */
#define LS_STACK_TRUNCATED (1u << 2) /* LS_STACK_MAX frames reached */

/*
 * LS_REC_STACK: a distinct user stack of process hdr.tid (its tgid), written once, before the
 * first LS_REC_WAIT_STACK that names it. ips[0] is where the thread entered the kernel, the
 * others are return addresses, innermost first.
 */
struct ls_stack {
	struct ls_rec_hdr hdr;
	__u32 id; /* 1, 2, ...: unique in the file */
	__u16 nr; /* frames in ips */
	__u16 flags;
	__u64 ips[];
};

/* LS_REC_WAIT_STACK: the stack of the blocking futex wait thread hdr.tid is in */
struct ls_wait_stack {
	struct ls_rec_hdr hdr;
	__u64 ts; /* its first switch out of the wait */
	__u32 stack_id;
	__u32 pad;
};

#define LS_BUILD_ID_MAX 32

/*
 * LS_REC_BUILD_ID: the GNU build ID of a file process hdr.tid maps, read as a snapshot of its map
 * is taken, so that a report can tell the file it opens later from another at the same path.
 */
struct ls_build_id {
	struct ls_rec_hdr hdr;
	__u32 len; /* bytes of id */
	__u32 pad;
	__u8 id[LS_BUILD_ID_MAX];
	char path[]; /* NUL-terminated, as in the process's map */
};

/*
 * LS_REC_PY_FUNC: a Python function of process hdr.tid (its tgid), resolved from its code object
 * while the process ran; written once, before the first LS_REC_PY_STACK that names it. strs holds
 * name_len bytes of its qualified name (co_qualname; co_name before 3.11), then file_len bytes of
 * its file name, neither NUL-terminated.
 */
struct ls_py_func {
	struct ls_rec_hdr hdr;
	__u32 id; /* 1, 2, ...: unique in the file */
	__s32 firstlineno;
	__u16 name_len, file_len;
	__u32 pad;
	char strs[];
};

/* A frame of LS_REC_PY_STACK: its function (0: could not be resolved) and line (0: unknown) */
struct ls_py_frame_rec {
	__u32 func;
	__s32 line;
};

/*
 * LS_REC_PY_STACK: the Python stack of thread hdr.tid, innermost first, as the kernel read it
 * (struct ls_py_sample: kind, gil_held, waiter_tid, uaddr, truncated), its frames resolved.
 */
struct ls_py_stack {
	struct ls_rec_hdr hdr;
	__u64 ts;
	__u64 uaddr;
	__u32 tgid;
	__u32 waiter_tid;
	__u8 kind; /* enum ls_py_stack_kind */
	__u8 gil_held;
	__u8 nr;
	__u8 truncated;
	__u32 pad;
	struct ls_py_frame_rec frames[];
};

/*
 * LS_REC_PY_STATUS: whether Python stacks are read in process hdr.tid (its tgid): err 0 when
 * they are, else -errno and why, a sentence (NUL-terminated) the report prints as it is.
 */
struct ls_py_status {
	struct ls_rec_hdr hdr;
	__s32 err;
	__u32 hexversion; /* the interpreter's, 0 when unknown */
	__u32 sample_hz;  /* LS_PY_SAMPLED stacks a second on each CPU running a thread of it */
	__u32 pad;
	char why[];
};

/* LS_REC_END: the last record of a complete file */
struct ls_end {
	struct ls_rec_hdr hdr;
	__u64 end_mono_ns; /* the window's end */
	__u64 nr_records;  /* records before this one, header excluded */
	__u64 nr_lost;
	__u32 stop_reason; /* enum ls_stop_reason */
	__s32 exit_status; /* launched command's wait(2) status, -1 if unknown */
};

/*
 * LS_REC_PACKED: nr records, each its type (one byte), then its header's tid and its fields as
 * LEB128 varints: timestamps, addresses and tids as zigzag deltas from the block's previous
 * one, an address 0 as 0 (see trace.c's table). A block is decoded on its own.
 */
struct ls_packed {
	struct ls_rec_hdr hdr;
	__u32 nr;
	__u32 pad;
	__u8 data[];
};

#define LS_PACKED_SIZE (16u << 10) /* a block's size, at most */

/* The deltas of a block being packed or unpacked. */
struct ls_pack_state {
	__u64 ts;
	__u64 addr;
	__u32 tid;
};

/* Writing */
struct ls_writer {
	FILE *f;
	/* or, for lockscope top, each record given to this function as it is (no file, no packing) */
	int (*sink)(void *ctx, const void *rec, size_t size);
	void *sink_ctx;
	__u64 nr_records;
	__u64 bytes; /* written to f */
	int err;     /* first error, -errno */
	/* the block being filled */
	struct ls_pack_state pack;
	__u32 block_len;
	union {
		struct ls_packed block;
		__u8 block_buf[LS_PACKED_SIZE];
	};
};

int ls_writer_init(struct ls_writer *w, FILE *f, const struct ls_file_header *h);
/* A writer that gives each record to sink (its error, -errno, stops the writer) */
void ls_writer_init_sink(struct ls_writer *w, int (*sink)(void *ctx, const void *rec, size_t size),
			 void *ctx);
int ls_writer_put(struct ls_writer *w, const void *rec, size_t size);
int ls_writer_cmdline(struct ls_writer *w, int argc, char **argv);
int ls_writer_lost(struct ls_writer *w, const __u64 *lost, __u32 nr_cpus);
/* Write what is held (the block being packed) and flush f. */
int ls_writer_flush(struct ls_writer *w);
/* END record, then flush; the FILE stays open */
int ls_writer_finish(struct ls_writer *w, const struct ls_end *end);

/* Reading */
enum ls_read_status {
	LS_READ_RECORD = 1,	/* *rec points to a whole, checked record */
	LS_READ_END = 0,	/* the END record was read: the file is complete */
	LS_READ_TRUNCATED = -1, /* the file stops before END: what came before is good */
	LS_READ_CORRUPT = -2,	/* a record is malformed: stop reading */
	LS_READ_IOERR = -3,
};

struct ls_reader {
	FILE *f;
	struct ls_file_header hdr;
	__u64 offset;
	__u64 nr_records;
	char *buf;
	struct ls_end end;
	char err[160];
	/* the block being unpacked: next, end and records left */
	const __u8 *pk, *pk_end;
	__u32 pk_left;
	struct ls_pack_state pack;
	__u64 rec[16]; /* the record unpacked last */
};

/* Check the file's header. 0, or -1 with a message in r->err. */
int ls_reader_open(struct ls_reader *r, FILE *f);
/* One record per call; the record is valid until the next call. */
enum ls_read_status ls_reader_next(struct ls_reader *r, const struct ls_rec_hdr **rec);
void ls_reader_close(struct ls_reader *r);

/* Minimum size of a record type this version knows, 0 if unknown. */
size_t ls_rec_min_size(__u16 type);
const char *ls_rec_name(__u16 type);

#endif /* LS_TRACE_H */
