// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Writing and reading trace files (see trace.h). The reader checks every size against the file. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"

_Static_assert(sizeof(struct ls_rec_hdr) == 8, "record header");
_Static_assert(sizeof(struct ls_futex) == 56, "ls_futex");
_Static_assert(sizeof(struct ls_futex_waitv) == 32 + 8 * LS_WAITV_MAX, "ls_futex_waitv");
_Static_assert(sizeof(struct ls_switch) == 40, "ls_switch");
_Static_assert(sizeof(struct ls_wakeup) == 32, "ls_wakeup");
_Static_assert(sizeof(struct ls_task_new) == 56, "ls_task_new");
_Static_assert(sizeof(struct ls_exec) == 40, "ls_exec");
_Static_assert(sizeof(struct ls_exit) == 48, "ls_exit");
_Static_assert(sizeof(struct ls_file_header) == 168, "ls_file_header");
_Static_assert(sizeof(struct ls_task) == 56, "ls_task");
_Static_assert(sizeof(struct ls_end) == 40, "ls_end");
_Static_assert(sizeof(struct ls_gil_info) == 48, "ls_gil_info");
_Static_assert(sizeof(struct ls_gil_call) == 24, "ls_gil_call");
_Static_assert(sizeof(struct ls_comm) == 32, "ls_comm");
_Static_assert(sizeof(struct ls_other_cpu) == 24, "ls_other_cpu");
_Static_assert(sizeof(struct ls_cpu_untraced) == 64, "ls_cpu_untraced: a cache line");
_Static_assert(sizeof(struct ls_py_sample) == 40 + LS_PY_FRAMES_MAX * 16, "ls_py_sample");
_Static_assert(sizeof(struct ls_py_func) == 24, "ls_py_func");
_Static_assert(sizeof(struct ls_py_stack) == 40, "ls_py_stack");
_Static_assert(sizeof(struct ls_py_status) == 24, "ls_py_status");

static const struct {
	const char *name;
	size_t size;
	size_t comm; /* offset of a comm field to keep terminated, 0 if none */
} rec_types[LS_REC_MAX] = {
	[LS_REC_FUTEX_WAIT] = { "futex-wait", sizeof(struct ls_futex) },
	[LS_REC_FUTEX_WAKE] = { "futex-wake", sizeof(struct ls_futex) },
	[LS_REC_FUTEX_WAITV] = { "futex-waitv", sizeof(struct ls_futex_waitv) },
	[LS_REC_SWITCH] = { "switch", sizeof(struct ls_switch) },
	[LS_REC_WAKEUP] = { "wakeup", sizeof(struct ls_wakeup) },
	[LS_REC_WAKEUP_NEW] = { "wakeup-new", sizeof(struct ls_wakeup) },
	[LS_REC_TASK_NEW] = { "task-new", sizeof(struct ls_task_new),
			      offsetof(struct ls_task_new, comm) },
	[LS_REC_EXEC] = { "exec", sizeof(struct ls_exec), offsetof(struct ls_exec, comm) },
	[LS_REC_EXIT] = { "exit", sizeof(struct ls_exit), offsetof(struct ls_exit, comm) },
	[LS_REC_CMDLINE] = { "cmdline", sizeof(struct ls_cmdline) + 1 },
	[LS_REC_TASK] = { "task", sizeof(struct ls_task), offsetof(struct ls_task, comm) },
	[LS_REC_LOST] = { "lost", sizeof(struct ls_lost) },
	[LS_REC_END] = { "end", sizeof(struct ls_end) },
	[LS_REC_MAPS_BEGIN] = { "maps-begin", sizeof(struct ls_maps_begin) },
	[LS_REC_MAP] = { "map", sizeof(struct ls_map) + 1 },
	[LS_REC_MAPS_FAILED] = { "maps-failed", sizeof(struct ls_maps_failed) },
	[LS_REC_OTHER_CPU] = { "other-cpu", sizeof(struct ls_other_cpu) },
	[LS_REC_PY_FUNC] = { "py-func", sizeof(struct ls_py_func) },
	[LS_REC_PY_STACK] = { "py-stack", sizeof(struct ls_py_stack) },
	[LS_REC_PY_STATUS] = { "py-status", sizeof(struct ls_py_status) + 1 },
	[LS_REC_GIL_INFO] = { "gil-info", sizeof(struct ls_gil_info) },
	[LS_REC_GIL_TAKE] = { "take-gil", sizeof(struct ls_gil_call) },
	[LS_REC_GIL_DROP] = { "drop-gil", sizeof(struct ls_gil_call) },
	[LS_REC_GIL_SAMPLE] = { "gil-sample", sizeof(struct ls_gil_sample) },
	[LS_REC_COMM] = { "comm", sizeof(struct ls_comm), offsetof(struct ls_comm, comm) },
	[LS_REC_STACK] = { "stack", sizeof(struct ls_stack) },
	[LS_REC_WAIT_STACK] = { "wait-stack", sizeof(struct ls_wait_stack) },
	[LS_REC_BUILD_ID] = { "build-id", sizeof(struct ls_build_id) + 1 },
	[LS_REC_PACKED] = { "packed", sizeof(struct ls_packed) },
};

/*
 * The compact encoding of LS_REC_PACKED (trace.h): which records are packed, and how each field
 * is. Timestamps and tids change little from one record to the next, and a lock's address
 * repeats: their deltas take a byte or three where the structs take 8 or 4.
 */
enum pk_kind {
	PK_U32,
	PK_S32, /* zigzag: -1 (a bitset of all ones, an error) in one byte */
	PK_TID, /* zigzag delta from the previous tid */
	PK_U64,
	PK_TS,	 /* zigzag delta from the previous timestamp */
	PK_ADDR, /* 0, or 1 + zigzag delta from the previous non-zero address */
};

#define PK_FIELDS_MAX 8
#define PK_RECORD_MAX (1 + 5 + PK_FIELDS_MAX * 10) /* type, tid, fields, at their longest */

struct pk_field {
	__u8 off;
	__u8 kind; /* enum pk_kind */
};

static const struct pk_field pk_futex[] = {
	{ offsetof(struct ls_futex, ts_enter), PK_TS },
	{ offsetof(struct ls_futex, ts_exit), PK_TS },
	{ offsetof(struct ls_futex, uaddr), PK_ADDR },
	{ offsetof(struct ls_futex, uaddr2), PK_U64 },
	{ offsetof(struct ls_futex, op), PK_U32 },
	{ offsetof(struct ls_futex, val), PK_U32 },
	{ offsetof(struct ls_futex, ret), PK_S32 },
	{ offsetof(struct ls_futex, val3), PK_S32 },
};
static const struct pk_field pk_switch[] = {
	{ offsetof(struct ls_switch, ts), PK_TS },
	{ offsetof(struct ls_switch, next_tid), PK_TID },
	{ offsetof(struct ls_switch, prev_state), PK_U32 },
	{ offsetof(struct ls_switch, prev_nvcsw), PK_U32 },
	{ offsetof(struct ls_switch, prev_nivcsw), PK_U32 },
	{ offsetof(struct ls_switch, cpu), PK_U32 },
	{ offsetof(struct ls_switch, flags), PK_U32 },
};
static const struct pk_field pk_wakeup[] = {
	{ offsetof(struct ls_wakeup, ts), PK_TS },
	{ offsetof(struct ls_wakeup, waker_tid), PK_TID },
	{ offsetof(struct ls_wakeup, target_cpu), PK_U32 },
	{ offsetof(struct ls_wakeup, waker_uaddr), PK_ADDR },
};
static const struct pk_field pk_gil[] = {
	{ offsetof(struct ls_gil_call, ts_enter), PK_TS },
	{ offsetof(struct ls_gil_call, ts_exit), PK_TS },
};
static const struct pk_field pk_gil_sample[] = {
	{ offsetof(struct ls_gil_sample, ts), PK_TS },
	{ offsetof(struct ls_gil_sample, holder), PK_ADDR },
	{ offsetof(struct ls_gil_sample, locked), PK_U32 },
	{ offsetof(struct ls_gil_sample, cpu), PK_U32 },
};
static const struct pk_field pk_wait_stack[] = {
	{ offsetof(struct ls_wait_stack, ts), PK_TS },
	{ offsetof(struct ls_wait_stack, stack_id), PK_U32 },
	{ offsetof(struct ls_wait_stack, pad), PK_U32 },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(ARRAY_SIZE(pk_futex) <= PK_FIELDS_MAX, "the longest packed record");
_Static_assert(sizeof(((struct ls_reader *)0)->rec) >= sizeof(struct ls_futex), "unpacked");

/* the fields after the tid, in order; a type without them is written as it is */
static const struct {
	const struct pk_field *f;
	__u8 nr;
} pk_types[LS_REC_MAX] = {
	[LS_REC_FUTEX_WAIT] = { pk_futex, ARRAY_SIZE(pk_futex) },
	[LS_REC_FUTEX_WAKE] = { pk_futex, ARRAY_SIZE(pk_futex) },
	[LS_REC_SWITCH] = { pk_switch, ARRAY_SIZE(pk_switch) },
	[LS_REC_WAKEUP] = { pk_wakeup, ARRAY_SIZE(pk_wakeup) },
	[LS_REC_WAKEUP_NEW] = { pk_wakeup, ARRAY_SIZE(pk_wakeup) },
	[LS_REC_GIL_TAKE] = { pk_gil, ARRAY_SIZE(pk_gil) },
	[LS_REC_GIL_DROP] = { pk_gil, ARRAY_SIZE(pk_gil) },
	[LS_REC_GIL_SAMPLE] = { pk_gil_sample, ARRAY_SIZE(pk_gil_sample) },
	[LS_REC_WAIT_STACK] = { pk_wait_stack, ARRAY_SIZE(pk_wait_stack) },
};

static __u64 zigzag(__s64 v)
{
	return ((__u64)v << 1) ^ (__u64)(v >> 63);
}

static __s64 unzigzag(__u64 v)
{
	return (__s64)(v >> 1) ^ -(__s64)(v & 1);
}

static __u8 *put_varint(__u8 *p, __u64 v)
{
	for (; v >= 0x80; v >>= 7)
		*p++ = (v & 0x7f) | 0x80;
	*p++ = v;
	return p;
}

static const __u8 *get_varint(const __u8 *p, const __u8 *end, __u64 *v)
{
	__u64 x = 0;

	for (int shift = 0; p < end && shift < 64; shift += 7) {
		__u8 b = *p++;

		x |= (__u64)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return p;
		}
	}
	return NULL;
}

static bool pk_wide(enum pk_kind kind)
{
	return kind >= PK_U64;
}

static __u64 field_get(const void *rec, const struct pk_field *f)
{
	__u32 v32;
	__u64 v;

	if (pk_wide(f->kind)) {
		memcpy(&v, (const char *)rec + f->off, sizeof(v));
		return v;
	}
	memcpy(&v32, (const char *)rec + f->off, sizeof(v32));
	return v32;
}

static void field_set(void *rec, const struct pk_field *f, __u64 v)
{
	__u32 v32 = v;

	if (pk_wide(f->kind))
		memcpy((char *)rec + f->off, &v, sizeof(v));
	else
		memcpy((char *)rec + f->off, &v32, sizeof(v32));
}

/* The varint for value v of a field of that kind; false if it has none (a 2^63 address jump). */
static bool pk_code(struct ls_pack_state *st, enum pk_kind kind, __u64 v, __u64 *code)
{
	switch (kind) {
	case PK_U32:
	case PK_U64:
		*code = v;
		return true;
	case PK_S32:
		*code = zigzag((__s32)v);
		return true;
	case PK_TID:
		*code = zigzag((__s32)((__u32)v - st->tid));
		st->tid = v;
		return true;
	case PK_TS:
		*code = zigzag(v - st->ts);
		st->ts = v;
		return true;
	case PK_ADDR:
		*code = v ? zigzag(v - st->addr) + 1 : 0;
		st->addr = v ? v : st->addr;
		return !v || *code;
	}
	return false;
}

/* The value a varint stands for; false if it cannot be one of a field of that kind. */
static bool pk_value(struct ls_pack_state *st, enum pk_kind kind, __u64 code, __u64 *v)
{
	__s64 d;

	switch (kind) {
	case PK_U32:
		*v = code;
		return code <= UINT32_MAX;
	case PK_S32:
	case PK_TID:
		d = unzigzag(code);
		if (d < INT32_MIN || d > INT32_MAX)
			return false;
		*v = kind == PK_S32 ? (__u32)d : (st->tid += (__u32)d);
		return true;
	case PK_U64:
		*v = code;
		return true;
	case PK_TS:
		*v = st->ts += unzigzag(code);
		return true;
	case PK_ADDR:
		*v = code ? (st->addr += unzigzag(code - 1)) : 0;
		return true;
	}
	return false;
}

size_t ls_rec_min_size(__u16 type)
{
	return type < LS_REC_MAX ? rec_types[type].size : 0;
}

const char *ls_rec_name(__u16 type)
{
	return type < LS_REC_MAX && rec_types[type].name ? rec_types[type].name : "unknown";
}

static int writer_write(struct ls_writer *w, const void *data, size_t size)
{
	if (w->err)
		return w->err;
	if (fwrite(data, 1, size, w->f) != size) {
		w->err = errno ? -errno : -EIO;
		return w->err;
	}
	w->bytes += size;
	return 0;
}

int ls_writer_init(struct ls_writer *w, FILE *f, const struct ls_file_header *h)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	return writer_write(w, h, sizeof(*h));
}

/* Write the block being packed, if any, and start a new one. */
static int block_flush(struct ls_writer *w)
{
	struct ls_packed *b = &w->block;
	int err;

	if (!b->nr)
		return w->err;
	b->hdr = (struct ls_rec_hdr){ LS_REC_PACKED, sizeof(*b) + w->block_len, 0 };
	b->pad = 0;
	err = writer_write(w, b, b->hdr.size);
	b->nr = 0;
	w->block_len = 0;
	w->pack = (struct ls_pack_state){ 0 };
	return err;
}

/* Add rec to the block: 1, or 0 if it is not a record that is packed, or -errno. */
static int pack(struct ls_writer *w, const struct ls_rec_hdr *h, size_t size)
{
	struct ls_pack_state st;
	__u8 *start, *p;
	__u64 code;
	int err;

	if (h->type >= LS_REC_MAX || !pk_types[h->type].nr || size != rec_types[h->type].size)
		return 0;
	if (w->block_len + PK_RECORD_MAX > LS_PACKED_SIZE - sizeof(w->block)) {
		err = block_flush(w);
		if (err)
			return err;
	}
	st = w->pack;
	start = p = w->block.data + w->block_len;
	*p++ = h->type;
	pk_code(&st, PK_TID, h->tid, &code);
	p = put_varint(p, code);
	for (int i = 0; i < pk_types[h->type].nr; i++) {
		const struct pk_field *f = &pk_types[h->type].f[i];

		if (!pk_code(&st, f->kind, field_get(h, f), &code))
			return 0;
		p = put_varint(p, code);
	}
	w->pack = st;
	w->block_len += p - start;
	w->block.nr++;
	return 1;
}

void ls_writer_init_sink(struct ls_writer *w, int (*sink)(void *ctx, const void *rec, size_t size),
			 void *ctx)
{
	memset(w, 0, offsetof(struct ls_writer, pack));
	w->sink = sink;
	w->sink_ctx = ctx;
}

int ls_writer_put(struct ls_writer *w, const void *rec, size_t size)
{
	int err;

	if (size < sizeof(struct ls_rec_hdr) || size > LS_REC_MAX_SIZE)
		return -EINVAL;
	if (w->err)
		return w->err;
	if (w->sink) {
		err = w->sink(w->sink_ctx, rec, size);
		if (err)
			return w->err = err;
		w->nr_records++;
		return 0;
	}
	err = pack(w, rec, size);
	if (!err) /* as it is, after the records before it */
		err = block_flush(w) ?: writer_write(w, rec, size);
	if (err < 0)
		return err;
	w->nr_records++;
	return 0;
}

int ls_writer_flush(struct ls_writer *w)
{
	if (w->sink)
		return w->err;
	if (block_flush(w))
		return w->err;
	if (fflush(w->f))
		w->err = -errno;
	return w->err;
}

int ls_writer_cmdline(struct ls_writer *w, int argc, char **argv)
{
	char buf[sizeof(struct ls_cmdline) + LS_CMDLINE_MAX];
	struct ls_cmdline *c = (struct ls_cmdline *)buf;
	size_t len = 0;

	for (int i = 0; i < argc && len < LS_CMDLINE_MAX - 1; i++) {
		int n = snprintf(c->text + len, LS_CMDLINE_MAX - len, "%s%s", i ? " " : "",
				 argv[i]);

		len += n < 0 ? 0 : (size_t)n;
	}
	if (len > LS_CMDLINE_MAX - 1)
		len = LS_CMDLINE_MAX - 1;
	c->text[len] = '\0';
	c->hdr = (struct ls_rec_hdr){ LS_REC_CMDLINE, sizeof(*c) + len + 1, 0 };
	return ls_writer_put(w, c, c->hdr.size);
}

int ls_writer_lost(struct ls_writer *w, const __u64 *lost, __u32 nr_cpus)
{
	size_t size;
	struct ls_lost *l;
	int err;

	if (nr_cpus > LS_CPUS_MAX)
		return -EINVAL;
	size = sizeof(*l) + nr_cpus * sizeof(__u64);
	l = calloc(1, size);
	if (!l)
		return -ENOMEM;
	l->hdr = (struct ls_rec_hdr){ LS_REC_LOST, size, 0 };
	l->nr_cpus = nr_cpus;
	memcpy(l->lost, lost, nr_cpus * sizeof(__u64));
	err = ls_writer_put(w, l, size);
	free(l);
	return err;
}

int ls_writer_finish(struct ls_writer *w, const struct ls_end *end)
{
	struct ls_end e = *end;

	e.hdr = (struct ls_rec_hdr){ LS_REC_END, sizeof(e), 0 };
	e.nr_records = w->nr_records;
	if (block_flush(w) || writer_write(w, &e, sizeof(e)))
		return w->err;
	return ls_writer_flush(w);
}

int ls_reader_open(struct ls_reader *r, FILE *f)
{
	size_t n;

	memset(r, 0, sizeof(*r));
	r->f = f;
	n = fread(&r->hdr, 1, sizeof(r->hdr), f);
	if (n < sizeof(r->hdr.magic) || memcmp(r->hdr.magic, LS_TRACE_MAGIC, 8)) {
		snprintf(r->err, sizeof(r->err), "not a lockscope trace (bad magic)");
		return -1;
	}
	if (n < sizeof(r->hdr)) {
		snprintf(r->err, sizeof(r->err), "trace header cut short (%zu of %zu bytes)", n,
			 sizeof(r->hdr));
		return -1;
	}
	if (r->hdr.byte_order != LS_BYTE_ORDER) {
		snprintf(r->err, sizeof(r->err), "trace written with another byte order");
		return -1;
	}
	if (r->hdr.version > LS_TRACE_VERSION) {
		snprintf(r->err, sizeof(r->err),
			 "trace format version %u is newer than this lockscope reads (%u): "
			 "use a newer lockscope",
			 r->hdr.version, LS_TRACE_VERSION);
		return -1;
	}
	if (r->hdr.version == 0 || r->hdr.header_size < sizeof(r->hdr) ||
	    r->hdr.header_size > LS_REC_MAX_SIZE) {
		snprintf(r->err, sizeof(r->err), "bad trace header (version %u, size %u)",
			 r->hdr.version, r->hdr.header_size);
		return -1;
	}
	/* a later minor revision may have a longer header: skip the part we do not know */
	for (__u32 i = sizeof(r->hdr); i < r->hdr.header_size; i++) {
		if (fgetc(f) == EOF) {
			snprintf(r->err, sizeof(r->err), "trace header cut short");
			return -1;
		}
	}
	r->hdr.kernel[sizeof(r->hdr.kernel) - 1] = '\0';
	r->hdr.tool_version[sizeof(r->hdr.tool_version) - 1] = '\0';
	r->offset = r->hdr.header_size;
	r->buf = malloc(LS_REC_MAX_SIZE + 1);
	if (!r->buf) {
		snprintf(r->err, sizeof(r->err), "out of memory");
		return -1;
	}
	return 0;
}

static enum ls_read_status corrupt(struct ls_reader *r, const char *what, __u16 type, __u32 size)
{
	snprintf(r->err, sizeof(r->err), "corrupt record at offset %llu: %s (type %u, size %u)",
		 (unsigned long long)r->offset, what, type, size);
	return LS_READ_CORRUPT;
}

/* Checks of variable-length records beyond their minimum size. */
static enum ls_read_status check_record(struct ls_reader *r, struct ls_rec_hdr *h)
{
	if (h->type == LS_REC_BUILD_ID && ((struct ls_build_id *)h)->len > LS_BUILD_ID_MAX)
		return corrupt(r, "build ID longer than its field", h->type, h->size);
	if (h->type == LS_REC_CMDLINE || h->type == LS_REC_MAP || h->type == LS_REC_BUILD_ID) {
		((char *)h)[h->size - 1] = '\0'; /* a string runs to the end of these */
	} else if (h->type == LS_REC_LOST) {
		struct ls_lost *l = (struct ls_lost *)h;

		if (l->nr_cpus > LS_CPUS_MAX ||
		    sizeof(*l) + (size_t)l->nr_cpus * sizeof(__u64) > h->size)
			return corrupt(r, "lost counts overrun the record", h->type, h->size);
	} else if (h->type == LS_REC_STACK) {
		struct ls_stack *st = (struct ls_stack *)h;

		if (st->nr > LS_STACK_MAX || sizeof(*st) + (size_t)st->nr * sizeof(__u64) > h->size)
			return corrupt(r, "stack frames overrun the record", h->type, h->size);
	} else if (h->type == LS_REC_PY_FUNC) {
		struct ls_py_func *pf = (struct ls_py_func *)h;

		if (sizeof(*pf) + (size_t)pf->name_len + pf->file_len > h->size)
			return corrupt(r, "function names overrun the record", h->type, h->size);
	} else if (h->type == LS_REC_PY_STACK) {
		struct ls_py_stack *ps = (struct ls_py_stack *)h;

		if (ps->nr > LS_PY_FRAMES_MAX ||
		    sizeof(*ps) + (size_t)ps->nr * sizeof(ps->frames[0]) > h->size)
			return corrupt(r, "Python frames overrun the record", h->type, h->size);
	} else if (h->type == LS_REC_PY_STATUS) {
		((char *)h)[h->size - 1] = '\0'; /* why runs to the end */
	} else if (h->type == LS_REC_FUTEX_WAITV) {
		struct ls_futex_waitv *v = (struct ls_futex_waitv *)h;

		if (v->ts_exit < v->ts_enter)
			return corrupt(r, "wait ends before it starts", h->type, h->size);
	} else if (h->type == LS_REC_FUTEX_WAIT || h->type == LS_REC_FUTEX_WAKE) {
		struct ls_futex *fx = (struct ls_futex *)h;

		if (fx->ts_exit < fx->ts_enter)
			return corrupt(r, "wait ends before it starts", h->type, h->size);
	} else if (rec_types[h->type].comm) {
		((char *)h)[rec_types[h->type].comm + LS_COMM_LEN - 1] = '\0';
	}
	return LS_READ_RECORD;
}

/* The next record of the block being unpacked. */
static enum ls_read_status unpack(struct ls_reader *r, const struct ls_rec_hdr **rec)
{
	struct ls_rec_hdr *h = (struct ls_rec_hdr *)r->rec;
	const __u8 *p = r->pk;
	__u64 code, v;
	__u8 type;

	if (p >= r->pk_end)
		return corrupt(r, "packed block holds fewer records than it says", LS_REC_PACKED,
			       0);
	type = *p++;
	if (type >= LS_REC_MAX || !pk_types[type].nr)
		return corrupt(r, "a type that is not packed in a packed block", type, 0);
	memset(h, 0, rec_types[type].size);
	h->type = type;
	h->size = rec_types[type].size;
	p = get_varint(p, r->pk_end, &code);
	if (!p || !pk_value(&r->pack, PK_TID, code, &v))
		goto bad;
	h->tid = v;
	for (int i = 0; i < pk_types[type].nr; i++) {
		const struct pk_field *f = &pk_types[type].f[i];

		p = get_varint(p, r->pk_end, &code);
		if (!p || !pk_value(&r->pack, f->kind, code, &v))
			goto bad;
		field_set(h, f, v);
	}
	r->pk = p;
	if (!--r->pk_left && p != r->pk_end)
		return corrupt(r, "packed block runs past its last record", LS_REC_PACKED, 0);
	if (check_record(r, h) != LS_READ_RECORD)
		return LS_READ_CORRUPT;
	r->nr_records++;
	*rec = h;
	return LS_READ_RECORD;
bad:
	return corrupt(r, "a field that does not decode in a packed block", type, 0);
}

enum ls_read_status ls_reader_next(struct ls_reader *r, const struct ls_rec_hdr **rec)
{
	struct ls_rec_hdr *h = (struct ls_rec_hdr *)r->buf;
	size_t n, min;

	if (r->pk_left)
		return unpack(r, rec);
	for (;;) {
		n = fread(h, 1, sizeof(*h), r->f);
		if (n == 0 && !ferror(r->f))
			goto truncated;
		if (n < sizeof(*h))
			goto short_read;
		if (h->size < sizeof(*h))
			return corrupt(r, "size smaller than its header", h->type, h->size);
		n = fread(h + 1, 1, h->size - sizeof(*h), r->f);
		if (n < h->size - sizeof(*h))
			goto short_read;
		min = ls_rec_min_size(h->type);
		if (min && h->size < min)
			return corrupt(r, "smaller than its type", h->type, h->size);
		r->offset += h->size;
		if (!min) { /* a type from a later version: skip it */
			r->nr_records++;
			continue;
		}
		if (check_record(r, h) != LS_READ_RECORD)
			return LS_READ_CORRUPT;
		if (h->type == LS_REC_PACKED) {
			const struct ls_packed *b = (const void *)h;

			r->pk = b->data;
			r->pk_end = (const __u8 *)h + h->size;
			r->pk_left = b->nr;
			r->pack = (struct ls_pack_state){ 0 };
			if (!b->nr && r->pk != r->pk_end)
				return corrupt(r, "bytes in an empty packed block", h->type,
					       h->size);
			if (!b->nr)
				continue;
			return unpack(r, rec);
		}
		if (h->type == LS_REC_END) {
			memcpy(&r->end, h, sizeof(r->end));
			if (r->end.nr_records != r->nr_records)
				return corrupt(r, "END counts a different number of records",
					       h->type, h->size);
			*rec = h;
			return LS_READ_END;
		}
		r->nr_records++;
		*rec = h;
		return LS_READ_RECORD;
	}
short_read:
	if (ferror(r->f)) {
		snprintf(r->err, sizeof(r->err), "read error at offset %llu: %s",
			 (unsigned long long)r->offset, strerror(errno));
		return LS_READ_IOERR;
	}
truncated:
	snprintf(r->err, sizeof(r->err),
		 "trace truncated after %llu records (offset %llu): no end record",
		 (unsigned long long)r->nr_records, (unsigned long long)r->offset);
	return LS_READ_TRUNCATED;
}

void ls_reader_close(struct ls_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}
