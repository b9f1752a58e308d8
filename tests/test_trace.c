// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The trace file: round trip of every record type; cut-short, corrupt and foreign files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "trace.h"

static struct ls_file_header test_header(void)
{
	struct ls_file_header h = {
		.version = LS_TRACE_VERSION,
		.header_size = sizeof(h),
		.byte_order = LS_BYTE_ORDER,
		.nr_cpus = 2,
		.page_size = 4096,
		.clock_id = 1,
		.start_mono_ns = 1000,
		.start_real_ns = 1700000000000000000ULL,
		.mode = LS_MODE_LAUNCH,
		.target_pid = 42,
	};

	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	strcpy(h.kernel, "6.1.0-test");
	strcpy(h.tool_version, "test");
	return h;
}

/* One record of each kind the kernel writes, with every field set to something distinct. */
static size_t sample_records(unsigned char *buf, size_t *offsets, size_t *sizes)
{
	struct ls_futex wait = { { LS_REC_FUTEX_WAIT, sizeof(wait), 101 },
				 2000,
				 3000,
				 0x7f0000001000,
				 0,
				 LS_FUTEX_OP(LS_SYS_FUTEX, 128),
				 2,
				 -11,
				 7 };
	struct ls_futex wake = { { LS_REC_FUTEX_WAKE, sizeof(wake), 102 },
				 3100,
				 3100,
				 0x7f0000001000,
				 0x7f0000002000,
				 LS_FUTEX_OP(LS_SYS_FUTEX, 5),
				 1,
				 1,
				 0x04000001 };
	struct ls_futex_waitv wv = {
		{ LS_REC_FUTEX_WAITV, sizeof(wv), 103 }, 3200, 3300, 1, 3, { 0x10, 0x20, 0x30 }
	};
	struct ls_switch sw = { { LS_REC_SWITCH, sizeof(sw), 101 },   3400, 102, 1, 77, 5, 1,
				LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED };
	struct ls_wakeup wu = { { LS_REC_WAKEUP, sizeof(wu), 101 }, 3500, 102, 0, 0x7f0000001000 };
	struct ls_wakeup wn = { { LS_REC_WAKEUP_NEW, sizeof(wn), 104 }, 3600, 101, 1, 0 };
	struct ls_task_new tn = { { LS_REC_TASK_NEW, sizeof(tn), 104 },
				  3550,
				  42,
				  101,
				  42,
				  LS_TASK_THREAD,
				  "worker",
				  0x7fff0000 };
	struct ls_exec ex = { { LS_REC_EXEC, sizeof(ex), 42 }, 1500, 42, 42, "python3" };
	struct ls_exit et = { { LS_REC_EXIT, sizeof(et), 104 }, 3700, 42, 0x100, 0, 0, "worker" };
	struct ls_task tk = {
		{ LS_REC_TASK, sizeof(tk), 42 }, 1000, 0, 42, 1, 0, LS_TASK_AT_START, "lockscope"
	};
	const void *recs[] = { &tk, &ex, &wait, &wake, &wv, &sw, &wu, &tn, &wn, &et };
	size_t off = 0;

	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		const struct ls_rec_hdr *h = recs[i];

		offsets[i] = off;
		sizes[i] = h->size;
		memcpy(buf + off, h, h->size);
		off += h->size;
	}
	return sizeof(recs) / sizeof(recs[0]);
}

/* A complete trace in memory; returns its length. */
static size_t write_trace(char **data, unsigned char *recs, size_t *offsets, size_t *sizes,
			  size_t *nr)
{
	struct ls_file_header h = test_header();
	struct ls_end end = { .end_mono_ns = 9000, .stop_reason = LS_STOP_EXITED };
	__u64 lost[2] = { 3, 0 };
	char *argv[] = { "python3", "-c", "pass" };
	struct ls_writer w;
	size_t len;
	FILE *f = open_memstream(data, &len);

	assert_non_null(f);
	assert_int_equal(ls_writer_init(&w, f, &h), 0);
	assert_int_equal(ls_writer_cmdline(&w, 3, argv), 0);
	*nr = sample_records(recs, offsets, sizes);
	for (size_t i = 0; i < *nr; i++)
		assert_int_equal(ls_writer_put(&w, recs + offsets[i], sizes[i]), 0);
	assert_int_equal(ls_writer_lost(&w, lost, 2), 0);
	end.nr_lost = 3;
	assert_int_equal(ls_writer_finish(&w, &end), 0);
	fclose(f);
	return len;
}

static void test_round_trip(void **state)
{
	unsigned char recs[2048];
	size_t offsets[16], sizes[16], nr, len;
	const struct ls_rec_hdr *rec;
	struct ls_reader r;
	char *data;
	FILE *f;

	len = write_trace(&data, recs, offsets, sizes, &nr);
	f = fmemopen(data, len, "r");
	assert_int_equal(ls_reader_open(&r, f), 0);
	assert_int_equal(r.hdr.target_pid, 42);
	assert_string_equal(r.hdr.kernel, "6.1.0-test");

	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
	assert_int_equal(rec->type, LS_REC_CMDLINE);
	assert_string_equal(((const struct ls_cmdline *)rec)->text, "python3 -c pass");
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
		assert_int_equal(rec->size, sizes[i]);
		assert_memory_equal(rec, recs + offsets[i], sizes[i]);
	}
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
	assert_int_equal(rec->type, LS_REC_LOST);
	assert_int_equal(((const struct ls_lost *)rec)->nr_cpus, 2);
	assert_int_equal(((const struct ls_lost *)rec)->lost[0], 3);
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_END);
	assert_int_equal(r.end.end_mono_ns, 9000);
	assert_int_equal(r.end.nr_records, nr + 2);
	assert_int_equal(r.end.nr_lost, 3);
	ls_reader_close(&r);
	fclose(f);
	free(data);
}

/* Every prefix of a good file reads as far as its last whole record, then says "truncated". */
static void test_every_cut(void **state)
{
	unsigned char recs[2048];
	size_t offsets[16], sizes[16], nr, len;
	const struct ls_rec_hdr *rec;
	struct ls_reader r;
	char *data;

	len = write_trace(&data, recs, offsets, sizes, &nr);
	for (size_t cut = 1; cut < len; cut++) {
		FILE *f = fmemopen(data, cut, "r");
		enum ls_read_status st;
		size_t whole = 0, pos = sizeof(struct ls_file_header);

		assert_non_null(f);
		if (ls_reader_open(&r, f)) {
			assert_true(cut < sizeof(struct ls_file_header));
			assert_non_null(
				strstr(r.err, cut < 8 ? "not a lockscope trace" : "cut short"));
			ls_reader_close(&r);
			fclose(f);
			continue;
		}
		while ((st = ls_reader_next(&r, &rec)) == LS_READ_RECORD) {
			pos += rec->size;
			whole++;
		}
		assert_int_equal(st, LS_READ_TRUNCATED);
		assert_true(pos <= cut);
		assert_non_null(strstr(r.err, "truncated"));
		assert_int_equal(r.nr_records, whole);
		ls_reader_close(&r);
		fclose(f);
	}
	free(data);
}

static enum ls_read_status read_all(char *data, size_t len, struct ls_reader *r)
{
	const struct ls_rec_hdr *rec;
	enum ls_read_status st;
	FILE *f = fmemopen(data, len, "r");

	if (ls_reader_open(r, f)) {
		fclose(f);
		return LS_READ_IOERR;
	}
	while ((st = ls_reader_next(r, &rec)) == LS_READ_RECORD)
		;
	fclose(f);
	return st;
}

static void test_corrupt_sizes(void **state)
{
	unsigned char recs[2048];
	size_t offsets[16], sizes[16], nr, len, first;
	struct ls_reader r;
	struct ls_rec_hdr *h;
	char *data;

	len = write_trace(&data, recs, offsets, sizes, &nr);
	/* the first record after the command line */
	first = sizeof(struct ls_file_header) +
		((struct ls_rec_hdr *)(data + sizeof(struct ls_file_header)))->size;
	h = (struct ls_rec_hdr *)(data + first);

	h->size = 4; /* smaller than a header */
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "smaller than its header"));
	ls_reader_close(&r);

	h->size = sizeof(struct ls_rec_hdr); /* a task record with no body */
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "smaller than its type"));
	ls_reader_close(&r);

	h->size = 60000; /* runs past the end of the file */
	assert_int_equal(read_all(data, len, &r), LS_READ_TRUNCATED);
	ls_reader_close(&r);
	free(data);
}

/* Random damage never crashes the reader, and it always stops. */
static void test_random_damage(void **state)
{
	unsigned char recs[2048];
	size_t offsets[16], sizes[16], nr, len;
	struct ls_reader r;
	char *data, *copy;

	len = write_trace(&data, recs, offsets, sizes, &nr);
	copy = malloc(len);
	srand(1);
	for (int iter = 0; iter < 5000; iter++) {
		memcpy(copy, data, len);
		for (int k = 0; k < 1 + iter % 4; k++)
			copy[sizeof(struct ls_file_header) +
			     rand() % (len - sizeof(struct ls_file_header))] = rand();
		enum ls_read_status st = read_all(copy, len, &r);

		assert_true(st == LS_READ_END || st == LS_READ_TRUNCATED || st == LS_READ_CORRUPT);
		ls_reader_close(&r);
	}
	free(copy);
	free(data);
}

static void test_foreign_files(void **state)
{
	struct ls_file_header h = test_header();
	struct ls_reader r;
	char text[] = "this is not a trace file at all, just some words in a text file.......";
	FILE *f;

	f = fmemopen(text, sizeof(text), "r");
	assert_int_equal(ls_reader_open(&r, f), -1);
	assert_non_null(strstr(r.err, "not a lockscope trace"));
	fclose(f);

	f = tmpfile(); /* empty */
	assert_int_equal(ls_reader_open(&r, f), -1);
	assert_non_null(strstr(r.err, "not a lockscope trace"));
	fclose(f);

	h.version = LS_TRACE_VERSION + 1;
	f = fmemopen(&h, sizeof(h), "r");
	assert_int_equal(ls_reader_open(&r, f), -1);
	assert_non_null(strstr(r.err, "newer"));
	fclose(f);

	h = test_header();
	h.byte_order = 0x04030201;
	f = fmemopen(&h, sizeof(h), "r");
	assert_int_equal(ls_reader_open(&r, f), -1);
	assert_non_null(strstr(r.err, "byte order"));
	fclose(f);
}

/* A record type from a later version is skipped, and the file still ends cleanly. */
static void test_unknown_type_skipped(void **state)
{
	struct ls_file_header h = test_header();
	struct {
		struct ls_rec_hdr hdr;
		__u64 x[3];
	} future = { { 60, sizeof(future), 9 }, {} };
	struct ls_wakeup wu = { { LS_REC_WAKEUP, sizeof(wu), 5 }, 77, 6, 0, 0 };
	struct ls_end end = { .end_mono_ns = 100 };
	const struct ls_rec_hdr *rec;
	struct ls_writer w;
	struct ls_reader r;
	char *data;
	size_t len;
	FILE *f = open_memstream(&data, &len);

	ls_writer_init(&w, f, &h);
	ls_writer_put(&w, &future, sizeof(future));
	ls_writer_put(&w, &wu, sizeof(wu));
	assert_int_equal(ls_writer_finish(&w, &end), 0);
	fclose(f);
	f = fmemopen(data, len, "r");
	assert_int_equal(ls_reader_open(&r, f), 0);
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
	assert_int_equal(rec->type, LS_REC_WAKEUP);
	assert_int_equal(((const struct ls_wakeup *)rec)->ts, 77);
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_END);
	ls_reader_close(&r);
	fclose(f);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_corrupt_sizes), cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_foreign_files), cmocka_unit_test(test_unknown_type_skipped),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("trace file", tests, NULL, NULL);
}
