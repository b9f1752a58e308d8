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
		size_t whole = 0;

		assert_non_null(f);
		if (ls_reader_open(&r, f)) {
			assert_true(cut < sizeof(struct ls_file_header));
			assert_non_null(
				strstr(r.err, cut < 8 ? "not a lockscope trace" : "cut short"));
			ls_reader_close(&r);
			fclose(f);
			continue;
		}
		while ((st = ls_reader_next(&r, &rec)) == LS_READ_RECORD)
			whole++;
		assert_int_equal(st, LS_READ_TRUNCATED);
		assert_true(r.offset <= cut);
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

static __u64 rand64(void)
{
	return (__u64)rand() << 42 ^ (__u64)rand() << 21 ^ (__u64)rand();
}

/* A record of a type that is packed, every byte after the header random (but a wait's end). */
static void random_record(struct ls_rec_hdr *h, int i)
{
	static const __u16 types[] = { LS_REC_FUTEX_WAIT, LS_REC_FUTEX_WAKE, LS_REC_SWITCH,
				       LS_REC_WAKEUP,	  LS_REC_WAKEUP_NEW, LS_REC_GIL_TAKE,
				       LS_REC_GIL_DROP,	  LS_REC_WAIT_STACK };
	__u16 type = types[i % (sizeof(types) / sizeof(types[0]))];
	size_t size = ls_rec_min_size(type);

	for (size_t k = 0; k < size; k++)
		((unsigned char *)h)[k] = rand();
	h->type = type;
	h->size = size;
	if (i % 3 == 0) /* and values that pack short: nearby timestamps, a repeated address */
		h->tid = 100 + i % 4;
	if (type == LS_REC_FUTEX_WAIT || type == LS_REC_FUTEX_WAKE) {
		struct ls_futex *fx = (struct ls_futex *)h;

		fx->ts_enter >>= 1; /* so that the wait's end does not wrap */
		fx->ts_exit = fx->ts_enter + (i % 2 ? 0 : rand64() >> 8);
		fx->uaddr = i % 7 == 0 ? 0 : i % 7 == 1 ? 1ULL << 63 : i % 3 ? fx->uaddr : 0x7f0010;
	}
}

/*
 * Packed records come back byte for byte, whatever their values: random ones (so that a field
 * left out of the packing table would read back as zeros), time going backwards, an address 0,
 * an address 2^63 away from the last (which has no delta and is written as it is), a block
 * cut by a record that is not packed, by a flush, and by its size.
 */
static void test_packed_round_trip(void **state)
{
	enum { N = 6000 };
	struct ls_file_header h = test_header();
	struct ls_end end = { .end_mono_ns = 1 };
	struct ls_task tk = { { LS_REC_TASK, sizeof(tk), 42 }, 1, 0, 42, 1, 0, 0, "t" };
	struct ls_futex jump = { .hdr = { LS_REC_FUTEX_WAKE, sizeof(jump), 7 },
				 .ts_enter = 5,
				 .ts_exit = 5,
				 .uaddr = 1ULL << 63 };
	static union {
		struct ls_rec_hdr h;
		__u64 q[8];
	} recs[N];
	const struct ls_rec_hdr *rec;
	struct ls_writer *w = malloc(sizeof(*w));
	struct ls_reader r;
	char *data;
	size_t len, packed = 0;
	FILE *f = open_memstream(&data, &len);

	srand(7);
	assert_int_equal(ls_writer_init(w, f, &h), 0);
	for (int i = 0; i < N; i++) {
		random_record(&recs[i].h, i);
		assert_int_equal(ls_writer_put(w, &recs[i], recs[i].h.size), 0);
		packed += recs[i].h.size;
		if (i % 1000 == 500)
			assert_int_equal(ls_writer_put(w, &tk, sizeof(tk)), 0);
		if (i % 1000 == 900) { /* a new block: the last address is 0, 2^63 from jump's */
			assert_int_equal(ls_writer_flush(w), 0);
			assert_int_equal(ls_writer_put(w, &jump, sizeof(jump)), 0);
		}
	}
	assert_int_equal(ls_writer_finish(w, &end), 0);
	fclose(f);
	f = fmemopen(data, len, "r");
	assert_int_equal(ls_reader_open(&r, f), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
		assert_int_equal(rec->size, recs[i].h.size);
		assert_memory_equal(rec, &recs[i], rec->size);
		if (i % 1000 == 500 || i % 1000 == 900) {
			assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
			assert_memory_equal(rec, i % 1000 == 500 ? (void *)&tk : (void *)&jump,
					    rec->size);
		}
	}
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_END);
	assert_int_equal(r.end.nr_records, N + 2 * N / 1000);
	assert_non_null(memmem(data, len, &jump, sizeof(jump))); /* written as it is */
	/* random values are what packs worst: at most 10 bytes a 64-bit field */
	print_message("  random records: %zu bytes as structs, %zu packed\n", packed, len);
	ls_reader_close(&r);
	fclose(f);
	free(data);
	free(w);
}

/* The records of a futex hand-off, as the kernel writes them: about 12 bytes each, packed. */
static void test_packed_size(void **state)
{
	enum { ROUNDS = 20000 };
	struct ls_file_header h = test_header();
	struct ls_end end = { .end_mono_ns = 1 };
	struct ls_writer *w = malloc(sizeof(*w));
	__u64 ts = 5000000000000ULL, lock = 0x55d0c0de1040ULL;
	char *data;
	size_t len;
	FILE *f = open_memstream(&data, &len);

	assert_int_equal(ls_writer_init(w, f, &h), 0);
	for (__u32 i = 0; i < ROUNDS; i++) {
		__u32 a = 4100 + i % 2, b = 4101 - i % 2;
		struct ls_futex wake = { { LS_REC_FUTEX_WAKE, sizeof(wake), a }, ts, ts, lock, 0,
					 LS_FUTEX_OP(LS_SYS_FUTEX, 129),	 1,  1,	 0 };
		struct ls_wakeup wu = { { LS_REC_WAKEUP, sizeof(wu), b }, ts + 700, a, 0, lock };
		struct ls_futex wait = {
			{ LS_REC_FUTEX_WAIT, sizeof(wait), a }, ts + 1500, ts + 4100, lock, 0,
			LS_FUTEX_OP(LS_SYS_FUTEX, 128),		2,	   0,	      0
		};
		struct ls_switch sw = { { LS_REC_SWITCH, sizeof(sw), a },
					ts + 1900,
					b,
					1,
					150000 + i / 2,
					3,
					0,
					LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED |
						LS_SW_IN_FUTEX_WAIT };

		ls_writer_put(w, &wake, sizeof(wake));
		ls_writer_put(w, &wu, sizeof(wu));
		ls_writer_put(w, &sw, sizeof(sw));
		ls_writer_put(w, &wait, sizeof(wait));
		ts += 2300 + i % 17;
	}
	assert_int_equal(ls_writer_finish(w, &end), 0);
	fclose(f);
	len -= sizeof(h) + sizeof(struct ls_end);
	print_message("  hand-off records: %.1f bytes each packed, %.1f as structs\n",
		      (double)len / (4 * ROUNDS),
		      (2.0 * sizeof(struct ls_futex) + sizeof(struct ls_wakeup) +
		       sizeof(struct ls_switch)) /
			      4);
	assert_true(len < 14 * 4 * ROUNDS);
	free(data);
	free(w);
}

/* A version 1 file (every record as it is) still reads. */
static void test_version1(void **state)
{
	struct ls_file_header h = test_header();
	unsigned char recs[2048];
	size_t offsets[16], sizes[16], nr, len;
	struct ls_end end = { .hdr = { LS_REC_END, sizeof(end), 0 } };
	const struct ls_rec_hdr *rec;
	struct ls_reader r;
	char *data;
	FILE *f = open_memstream(&data, &len);

	h.version = 1;
	fwrite(&h, sizeof(h), 1, f);
	nr = sample_records(recs, offsets, sizes);
	for (size_t i = 0; i < nr; i++)
		fwrite(recs + offsets[i], sizes[i], 1, f);
	end.nr_records = nr;
	fwrite(&end, sizeof(end), 1, f);
	fclose(f);
	f = fmemopen(data, len, "r");
	assert_int_equal(ls_reader_open(&r, f), 0);
	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(ls_reader_next(&r, &rec), LS_READ_RECORD);
		assert_memory_equal(rec, recs + offsets[i], sizes[i]);
	}
	assert_int_equal(ls_reader_next(&r, &rec), LS_READ_END);
	ls_reader_close(&r);
	fclose(f);
	free(data);
}

/* A build ID longer than its field is corrupt; one that fits is read. */
static void test_build_id_length(void **state)
{
	struct ls_file_header h = test_header();
	struct {
		struct ls_build_id b;
		char path[8];
	} rec = { .b = { .hdr = { LS_REC_BUILD_ID, sizeof(rec), 42 }, .len = 20 }, .path = "/lib" };
	struct ls_end end = { .hdr = { LS_REC_END, sizeof(end), 0 }, .nr_records = 1 };
	struct ls_reader r;
	size_t len;
	char *data;
	FILE *f;

	for (int bad = 0; bad < 2; bad++) {
		f = open_memstream(&data, &len);
		rec.b.len = bad ? LS_BUILD_ID_MAX + 1 : LS_BUILD_ID_MAX;
		fwrite(&h, sizeof(h), 1, f);
		fwrite(&rec, sizeof(rec), 1, f);
		fwrite(&end, sizeof(end), 1, f);
		fclose(f);
		assert_int_equal(read_all(data, len, &r), bad ? LS_READ_CORRUPT : LS_READ_END);
		if (bad)
			assert_non_null(strstr(r.err, "build ID longer than its field"));
		ls_reader_close(&r);
		free(data);
	}
}

/* A packed block whose count or bytes disagree is corrupt, said so, never read past. */
static void test_packed_corrupt(void **state)
{
	struct ls_file_header h = test_header();
	struct ls_end end = { .end_mono_ns = 1 };
	struct ls_wakeup wu = { { LS_REC_WAKEUP, sizeof(wu), 5 }, 77, 6, 0, 0x1000 };
	struct ls_writer *w = malloc(sizeof(*w));
	struct ls_packed *b;
	struct ls_reader r;
	char *data;
	size_t len;
	FILE *f = open_memstream(&data, &len);

	ls_writer_init(w, f, &h);
	for (int i = 0; i < 3; i++)
		ls_writer_put(w, &wu, sizeof(wu));
	assert_int_equal(ls_writer_finish(w, &end), 0);
	fclose(f);
	b = (struct ls_packed *)(data + sizeof(h));
	assert_int_equal(b->hdr.type, LS_REC_PACKED);
	assert_int_equal(b->nr, 3);

	b->nr = 4;
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "fewer records"));
	ls_reader_close(&r);
	b->nr = 2;
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "past its last record"));
	ls_reader_close(&r);
	b->nr = 3;
	b->data[0] = LS_REC_TASK;
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "not packed"));
	ls_reader_close(&r);
	b->data[0] = LS_REC_WAKEUP;
	memset(b->data + 1, 0xff, b->hdr.size - sizeof(*b) - 1); /* a varint that never ends */
	assert_int_equal(read_all(data, len, &r), LS_READ_CORRUPT);
	assert_non_null(strstr(r.err, "does not decode"));
	ls_reader_close(&r);
	free(data);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_corrupt_sizes),
		cmocka_unit_test(test_random_damage),
		cmocka_unit_test(test_foreign_files),
		cmocka_unit_test(test_unknown_type_skipped),
		cmocka_unit_test(test_packed_round_trip),
		cmocka_unit_test(test_packed_size),
		cmocka_unit_test(test_version1),
		cmocka_unit_test(test_packed_corrupt),
		cmocka_unit_test(test_build_id_length),
	};

	setvbuf(stdout, NULL, _IONBF, 0);
	return cmocka_run_group_tests_name("trace file", tests, NULL, NULL);
}
