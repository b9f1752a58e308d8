// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Sampling the time untraced tasks ran (see otherload.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include "otherload.h"

#define TRIES 16 /* copies of the map per sample, at most: a CPU switching as it is copied */

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void ls_otherload_init(struct ls_otherload *o, int map_fd, int nr_cpus)
{
	memset(o, 0, sizeof(*o));
	o->map_fd = -1;
	if (nr_cpus <= 0)
		return;
	o->copy[0] = calloc(nr_cpus, sizeof(*o->copy[0]));
	o->copy[1] = calloc(nr_cpus, sizeof(*o->copy[1]));
	o->done = calloc(nr_cpus, sizeof(*o->done));
	if (!o->copy[0] || !o->copy[1] || !o->done) {
		ls_otherload_free(o);
		return;
	}
	o->map_fd = map_fd;
	o->nr_cpus = nr_cpus;
}

void ls_otherload_free(struct ls_otherload *o)
{
	free(o->copy[0]);
	free(o->copy[1]);
	free(o->done);
	memset(o, 0, sizeof(*o));
	o->map_fd = -1;
}

static int copy_map(struct ls_otherload *o, struct ls_cpu_untraced *to)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(o->map_fd, &zero, to) ? -errno : 0;
}

/*
 * The sum over the CPUs as of *now. A CPU's entry is taken from a copy when the next copy, made
 * after now was read, shows the same even seq: no switch of that CPU came between, so the entry
 * held at now. A CPU that always switched meanwhile is taken as of its last copy.
 */
static int sum_untraced(struct ls_otherload *o, __u64 *now, __u64 *sum)
{
	struct ls_cpu_untraced *a = o->copy[0], *b = o->copy[1], *tmp;
	int left = o->nr_cpus, err;

	memset(o->done, 0, o->nr_cpus * sizeof(*o->done));
	*sum = 0;
	err = copy_map(o, a);
	for (int t = 0; !err && left && t < TRIES; t++) {
		*now = mono_ns();
		err = copy_map(o, b);
		for (int i = 0; !err && i < o->nr_cpus; i++) {
			bool last = t == TRIES - 1;

			if (o->done[i] || (!last && (a[i].seq != b[i].seq || a[i].seq % 2)))
				continue;
			*sum += a[i].untraced_ns;
			if (a[i].running && *now > a[i].since)
				*sum += *now - a[i].since;
			o->done[i] = true;
			left--;
		}
		tmp = a;
		a = b;
		b = tmp;
	}
	return err;
}

int ls_otherload_sample(struct ls_otherload *o, struct ls_writer *w, bool force, __u64 *ts)
{
	struct ls_other_cpu rec = { .hdr = { LS_REC_OTHER_CPU, sizeof(rec), 0 } };
	__u64 now = mono_ns();

	if (o->map_fd < 0 || (!force && now < o->next_ns))
		return 0;
	if (sum_untraced(o, &now, &rec.untraced_ns)) {
		o->map_fd = -1; /* the figure is then absent, or covers less of the window */
		return 0;
	}
	o->next_ns = now + LS_OTHER_PERIOD_NS;
	rec.ts = now;
	if (ts)
		*ts = now;
	return ls_writer_put(w, &rec, sizeof(rec));
}
