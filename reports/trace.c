// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Writing and reading trace files (see trace.h). The reader checks every size against the file. */
#include <errno.h>
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
	[LS_REC_GIL_INFO] = { "gil-info", sizeof(struct ls_gil_info) },
	[LS_REC_GIL_TAKE] = { "take-gil", sizeof(struct ls_gil_call) },
	[LS_REC_GIL_DROP] = { "drop-gil", sizeof(struct ls_gil_call) },
	[LS_REC_COMM] = { "comm", sizeof(struct ls_comm), offsetof(struct ls_comm, comm) },
	[LS_REC_STACK] = { "stack", sizeof(struct ls_stack) },
	[LS_REC_WAIT_STACK] = { "wait-stack", sizeof(struct ls_wait_stack) },
	[LS_REC_BUILD_ID] = { "build-id", sizeof(struct ls_build_id) + 1 },
};

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

int ls_writer_put(struct ls_writer *w, const void *rec, size_t size)
{
	int err;

	if (size < sizeof(struct ls_rec_hdr) || size > LS_REC_MAX_SIZE)
		return -EINVAL;
	err = writer_write(w, rec, size);
	if (!err)
		w->nr_records++;
	return err;
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
	if (writer_write(w, &e, sizeof(e)))
		return w->err;
	if (fflush(w->f))
		w->err = -errno;
	return w->err;
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
	if (h->type == LS_REC_CMDLINE || h->type == LS_REC_MAP || h->type == LS_REC_BUILD_ID) {
		((char *)h)[h->size - 1] = '\0'; /* a string runs to the end of these */
	} else if (h->type == LS_REC_LOST) {
		struct ls_lost *l = (struct ls_lost *)h;

		if (l->nr_cpus > LS_CPUS_MAX ||
		    sizeof(*l) + (size_t)l->nr_cpus * sizeof(__u64) > h->size)
			return corrupt(r, "lost counts overrun the record", h->type, h->size);
		if (h->type == LS_REC_BUILD_ID && ((struct ls_build_id *)h)->len > LS_BUILD_ID_MAX)
			return corrupt(r, "build ID longer than its field", h->type, h->size);
	} else if (h->type == LS_REC_STACK) {
		struct ls_stack *st = (struct ls_stack *)h;

		if (st->nr > LS_STACK_MAX || sizeof(*st) + (size_t)st->nr * sizeof(__u64) > h->size)
			return corrupt(r, "stack frames overrun the record", h->type, h->size);
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

enum ls_read_status ls_reader_next(struct ls_reader *r, const struct ls_rec_hdr **rec)
{
	struct ls_rec_hdr *h = (struct ls_rec_hdr *)r->buf;
	size_t n, min;

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
