// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gentrace FILE RECORDS: a synthetic trace for the reporter benchmark: 8 threads of one process
 * taking turns on a lock, in the record mix a real recording has (switches, wakeups, futex waits
 * and wakes), with time moving forward. Memory for reading it must not depend on its length.
 *
 * gentrace --hostile KIND FILE BYTES: a hostile trace of about that size (hostile.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trace.h"
#include "hostile.h"

#define THREADS 8
#define TGID	1000
#define LOCK	0x7f0000001000ULL

int main(int argc, char **argv)
{
	struct ls_file_header h = { .version = LS_TRACE_VERSION,
				    .header_size = sizeof(h),
				    .byte_order = LS_BYTE_ORDER,
				    .nr_cpus = 2,
				    .start_mono_ns = 1000000000,
				    .mode = LS_MODE_LAUNCH,
				    .target_pid = TGID };
	unsigned long long n, ts = h.start_mono_ns;
	struct ls_end end = { .stop_reason = LS_STOP_EXITED };
	struct ls_writer w;
	FILE *f;

	if (argc == 5 && !strcmp(argv[1], "--hostile")) {
		f = fopen(argv[3], "w");
		if (!f || hostile_write(f, argv[2], strtoull(argv[4], NULL, 10)) || fclose(f)) {
			fprintf(stderr, "gentrace: cannot write %s of kind %s\n", argv[3], argv[2]);
			return 1;
		}
		return 0;
	}
	if (argc != 3 || !(n = strtoull(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: gentrace FILE RECORDS\n"
				"       gentrace --hostile KIND FILE BYTES\n");
		return 2;
	}
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	memcpy(h.magic, LS_TRACE_MAGIC, 8);
	ls_writer_init(&w, f, &h);
	for (int i = 0; i < THREADS; i++) {
		struct ls_task_new t = { .hdr = { LS_REC_TASK_NEW, sizeof(t), TGID + i },
					 .ts = ts,
					 .tgid = TGID,
					 .comm = "worker" };

		ls_writer_put(&w, &t, sizeof(t));
	}
	for (unsigned long long k = 0; w.nr_records < n; k++) {
		__u32 run = TGID + k % THREADS, next = TGID + (k + 1) % THREADS;
		struct ls_futex wake = { .hdr = { LS_REC_FUTEX_WAKE, sizeof(wake), run },
					 .ts_enter = ts + 900,
					 .ts_exit = ts + 1000,
					 .uaddr = LOCK,
					 .op = LS_FUTEX_WAKE | LS_FUTEX_PRIVATE_FLAG,
					 .val = 1,
					 .ret = 1 };
		struct ls_wakeup wu = { .hdr = { LS_REC_WAKEUP, sizeof(wu), next },
					.ts = ts + 950,
					.waker_tid = run,
					.waker_uaddr = LOCK };
		struct ls_switch sw = { .hdr = { LS_REC_SWITCH, sizeof(sw), run },
					.ts = ts + 1100,
					.next_tid = next,
					.prev_state = 1,
					.prev_nvcsw = (__u32)(k / THREADS + 1),
					.flags = LS_SW_PREV_TRACED | LS_SW_NEXT_TRACED |
						 LS_SW_IN_FUTEX_WAIT };
		struct ls_futex wait = { .hdr = { LS_REC_FUTEX_WAIT, sizeof(wait), next },
					 .ts_enter = ts > 8000 ? ts - 7000 : ts,
					 .ts_exit = ts + 1200,
					 .uaddr = LOCK,
					 .op = LS_FUTEX_WAIT | LS_FUTEX_PRIVATE_FLAG,
					 .val = 2 };

		ls_writer_put(&w, &wake, sizeof(wake));
		ls_writer_put(&w, &wu, sizeof(wu));
		ls_writer_put(&w, &sw, sizeof(sw));
		ls_writer_put(&w, &wait, sizeof(wait));
		ts += 2000;
	}
	end.end_mono_ns = ts;
	if (ls_writer_finish(&w, &end) || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
