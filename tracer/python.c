// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include "lockscope.h" /* the skeleton names its structs */
#include "lockscope.skel.h"
#include "pyfind.h"
#include "python.h"

#define PY_TRIES 3 /* futex records of an exec'd process before giving up on finding Python */

struct py_proc {
	__u32 tgid; /* key */
	int tries;  /* left, while a candidate */
	bool found;
	bool written; /* its GIL_INFO */
	bool counted_end;
	__u64 switch_number_end;
	__u64 gil_addr;
	enum ls_gil_source source;
	__u32 version, interval_us;
};

int ls_gil_mode_parse(const char *s, enum ls_gil_mode *mode)
{
	static const char *const names[] = { "auto", "probes", "futex", "off" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

void ls_python_init(struct ls_python *p, struct lockscope_bpf *skel, enum ls_gil_mode mode,
		    bool py_stacks)
{
	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->skel = skel;
	ls_pystacks_init(&p->stacks, skel, py_stacks, LS_PY_SAMPLE_HZ);
	ls_htab_init(&p->procs, sizeof(struct py_proc), offsetof(struct py_proc, tgid),
		     sizeof(__u32));
}

void ls_python_detach(struct ls_python *p)
{
	for (int i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	p->nr_links = 0;
	for (int i = 0; i < p->nr_samplers; i++)
		bpf_link__destroy(p->samplers[i]);
	p->nr_samplers = 0;
}

void ls_python_free(struct ls_python *p)
{
	ls_python_detach(p);
	free(p->samplers);
	p->samplers = NULL;
	ls_htab_free(&p->procs);
	ls_pystacks_free(&p->stacks);
}

/* The GIL sampler (gil_sample) on every online CPU, at LS_GIL_SAMPLE_HZ of its clock. */
static int start_sampling(struct ls_python *p)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = 1000000000ULL / LS_GIL_SAMPLE_HZ,
	};
	int cpus = libbpf_num_possible_cpus(), fd, err = 0;
	struct bpf_link *link;

	if (p->samplers || cpus <= 0)
		return cpus <= 0 ? cpus : 0;
	p->samplers = calloc(cpus, sizeof(*p->samplers));
	if (!p->samplers)
		return -ENOMEM;
	for (int cpu = 0; cpu < cpus && !err; cpu++) {
		fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			err = errno == ENODEV ? 0 : -errno; /* a possible CPU that is offline */
			continue;
		}
		link = bpf_program__attach_perf_event(p->skel->progs.gil_sample, fd);
		if (!link) {
			err = -errno;
			close(fd);
			continue;
		}
		p->samplers[p->nr_samplers++] = link;
	}
	return err;
}

/*
 * Tell the BPF programs where process tgid's GIL keeps its state: its switch records then say
 * how each thread left it, and the sampler reads it. The GIL load of an interpreter without
 * probes comes from these; with probes they are a check.
 */
static void watch_gil(struct ls_python *p, const struct py_proc *pp)
{
	struct ls_gil_loc loc = { .locked = pp->gil_addr + 16,
				  .holder = pp->gil_addr + 8,
				  .gil = pp->gil_addr };
	int err;

	if (!pp->gil_addr || pp->source == LS_GIL_SRC_DISABLED)
		return;
	err = bpf_map__update_elem(p->skel->maps.gils, &pp->tgid, sizeof(pp->tgid), &loc,
				   sizeof(loc), BPF_ANY);
	if (!err) {
		p->skel->bss->nr_gils++;
		err = start_sampling(p);
	}
	if (err)
		fprintf(stderr, "lockscope record: cannot sample the GIL of PID %u: %s\n", pp->tgid,
			strerror(-err));
}

static int attach_one(struct ls_python *p, struct bpf_program *prog, bool ret, const char *path,
		      __u64 off)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret);
	struct bpf_link *link;

	if (p->nr_links == LS_PY_LINKS_MAX)
		return -ENOSPC;
	/* every process of that file: the programs keep to the traced set */
	link = bpf_program__attach_uprobe_opts(prog, -1, path, off, &opts);
	if (!link)
		return -errno;
	p->links[p->nr_links++] = link;
	return 0;
}

/*
 * Probes on take_gil (entry, return) and drop_gil (entry) of one interpreter file, once. They
 * go on the very file pyfind read the offsets from: the kernel resolves /proc/self/fd/N to the
 * open file, where a path would be looked up again, and could lead to another file by then.
 */
static int attach_probes(struct ls_python *p, const struct ls_pyinfo *info)
{
	char path[64];
	int err;

	/* probes only on request: each GIL drop and take then costs microseconds (README) */
	if (p->mode != LS_GIL_PROBES || !info->has_symbols)
		return -ENOENT;
	if (info->fd < 0)
		return -EBADF;
	for (int i = 0; i < p->nr_attached; i++)
		if (p->attached[i].dev == info->dev && p->attached[i].ino == info->ino)
			return 0;
	if (p->nr_attached == LS_PY_FILES_MAX)
		return -ENOSPC;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", info->fd);
	err = 0;
	for (int i = 0; !err && i < info->nr_take_gil; i++) {
		err = attach_one(p, p->skel->progs.take_gil_enter, false, path,
				 info->take_gil_offs[i]);
		if (!err)
			err = attach_one(p, p->skel->progs.take_gil_exit, true, path,
					 info->take_gil_offs[i]);
	}
	for (int i = 0; !err && i < info->nr_drop_gil; i++)
		err = attach_one(p, p->skel->progs.drop_gil_enter, false, path,
				 info->drop_gil_offs[i]);
	if (err) {
		fprintf(stderr,
			"lockscope record: cannot probe the GIL in %s: %s; inferring it "
			"from futex traffic\n",
			info->open_path, strerror(-err));
		return err;
	}
	p->attached[p->nr_attached].dev = info->dev;
	p->attached[p->nr_attached++].ino = info->ino;
	return 0;
}

void ls_python_prepare_launch(struct ls_python *p, const char *argv0)
{
	char *paths, *dir, *save = NULL, full[PATH_MAX];
	struct ls_pyinfo info;

	if (p->mode != LS_GIL_PROBES)
		return;
	if (strchr(argv0, '/')) {
		if (!ls_pyfind_file(argv0, &info))
			attach_probes(p, &info);
		ls_pyinfo_release(&info);
		return;
	}
	paths = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	for (dir = strtok_r(paths, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(full, sizeof(full), "%s/%s", dir, argv0);
		if (access(full, X_OK))
			continue;
		/* the first match is what exec will run; a script or shim is looked at later */
		if (!ls_pyfind_file(full, &info))
			attach_probes(p, &info);
		ls_pyinfo_release(&info);
		break;
	}
	free(paths);
}

static int write_info(struct ls_writer *w, struct py_proc *pp, __u64 ts, __u32 flags)
{
	struct ls_gil_info e = { .hdr = { LS_REC_GIL_INFO, sizeof(e), pp->tgid },
				 .ts = ts,
				 .gil_addr = pp->gil_addr,
				 .switch_number = pp->switch_number_end,
				 .interval_us = pp->interval_us,
				 .version = pp->version,
				 .source = pp->source,
				 .flags = flags };

	/* switch_number (GIL.md); at the end it was read as the window closed */
	if (!(flags & LS_GIL_INFO_END) && pp->gil_addr && pp->source != LS_GIL_SRC_DISABLED)
		ls_pyfind_read(pp->tgid, pp->gil_addr + LS_GIL_SWITCH_NUMBER, &e.switch_number,
			       sizeof(e.switch_number));
	pp->written = true;
	return ls_writer_put(w, &e, sizeof(e));
}

/* The sampler reads Python stacks too: it runs once some process's are read */
static void sample_stacks(struct ls_python *p, int enabled)
{
	int err = enabled > 0 ? start_sampling(p) : 0;

	if (err)
		fprintf(stderr, "lockscope record: cannot sample Python stacks: %s\n",
			strerror(-err));
}

int ls_python_flush(struct ls_python *p, struct ls_writer *w, __u64 ts)
{
	struct py_proc *pp;
	size_t pos = 0;
	int err = 0, enabled = 0;

	while (!err && (pp = ls_htab_next(&p->procs, &pos)))
		if (pp->found && !pp->written)
			err = write_info(w, pp, ts, 0);
	if (!err)
		err = ls_pystacks_flush(&p->stacks, w, ts, &enabled);
	sample_stacks(p, enabled);
	return err;
}

int ls_python_attach(struct ls_python *p, __u32 tgid)
{
	struct py_proc *pp = ls_htab_get(&p->procs, &tgid, NULL);
	struct ls_pyinfo info;
	__u64 interval = 0;
	int err, enabled;

	if (!pp)
		return -ENOMEM;
	if (pp->found || p->mode == LS_GIL_OFF)
		return 0;
	err = ls_pyfind(tgid, &info);
	if (err)
		return err;
	pp->found = true;
	pp->written = false;
	pp->tries = 0;
	pp->gil_addr = info.gil_addr;
	pp->version = info.major << 16 | info.minor << 8 | info.micro;
	/* before the interpreter is initialised the check fails: its default is what it will use */
	pp->interval_us = !ls_pyfind_check_gil(tgid, &info, &interval) ? interval : 5000;
	/* free-threaded with its GIL off; on (PYTHON_GIL=1, an extension), it is followed as usual */
	if (info.gil_disabled)
		pp->source = LS_GIL_SRC_DISABLED;
	else if (!attach_probes(p, &info))
		pp->source = LS_GIL_SRC_PROBES;
	else
		pp->source = LS_GIL_SRC_FUTEX;
	if (p->mode == LS_GIL_PROBES && pp->source == LS_GIL_SRC_FUTEX)
		fprintf(stderr,
			"lockscope record: %s has no symbols for take_gil/drop_gil: the GIL "
			"of PID %u is inferred from futex traffic\n",
			info.path, tgid);
	enabled = ls_pystacks_found(&p->stacks, tgid, &info);
	ls_pyinfo_release(&info);
	watch_gil(p, pp);
	sample_stacks(p, enabled);
	return 0;
}

/* A process forked by an interpreter (multiprocessing) runs the same one, with its own GIL. */
static int inherit(struct ls_python *p, struct ls_writer *w, const struct ls_task_new *e, __u64 now)
{
	struct py_proc *parent, *child;

	if (e->flags & LS_TASK_THREAD)
		return 0;
	parent = ls_htab_find(&p->procs, &e->parent_tgid);
	if (!parent || !parent->found)
		return 0;
	child = ls_htab_get(&p->procs, &e->tgid, NULL);
	if (!child)
		return -ENOMEM;
	*child = *parent;
	child->tgid = e->tgid;
	child->written = false;
	child->counted_end = false;
	watch_gil(p, child);
	sample_stacks(p, ls_pystacks_inherit(&p->stacks, e->parent_tgid, e->tgid));
	return ls_python_flush(p, w, now);
}

int ls_python_record(struct ls_python *p, struct ls_writer *w, const struct ls_tasks *tasks,
		     const struct ls_rec_hdr *h, __u64 now)
{
	const struct ls_task *t;
	struct py_proc *pp;
	int err;

	if (p->mode == LS_GIL_OFF)
		return 0;
	if (h->type == LS_REC_EXEC) {
		const struct ls_exec *e = (const void *)h;

		pp = ls_htab_get(&p->procs, &e->tgid, NULL);
		if (!pp)
			return -ENOMEM;
		pp->found = false; /* a new program: its GIL, if any, is elsewhere */
		pp->tries = PY_TRIES;
		bpf_map__delete_elem(p->skel->maps.gils, &e->tgid, sizeof(e->tgid), 0);
		ls_pystacks_forget(&p->stacks, e->tgid);
		return 0;
	}
	if (h->type == LS_REC_EXIT && (((const struct ls_exit *)h)->flags & LS_EXIT_GROUP_DEAD)) {
		ls_pystacks_forget(&p->stacks, ((const struct ls_exit *)h)->tgid);
		return 0;
	}
	if (h->type == LS_REC_TASK_NEW)
		return inherit(p, w, (const struct ls_task_new *)h, now);
	if (h->type != LS_REC_FUTEX_WAIT && h->type != LS_REC_FUTEX_WAKE)
		return 0;
	t = ls_tasks_find(tasks, h->tid);
	pp = t ? ls_htab_find(&p->procs, &t->tgid) : NULL;
	if (!pp || !pp->tries)
		return 0;
	pp->tries--;
	err = ls_python_attach(p, pp->tgid);
	if (err == -ENOMEM)
		return err;
	return err ? 0 : ls_python_flush(p, w, now);
}

void ls_python_stop(struct ls_python *p)
{
	struct py_proc *pp;
	size_t pos = 0;

	while ((pp = ls_htab_next(&p->procs, &pos)))
		pp->counted_end =
			pp->found && pp->gil_addr && pp->source != LS_GIL_SRC_DISABLED &&
			!ls_pyfind_read(pp->tgid, pp->gil_addr + LS_GIL_SWITCH_NUMBER, &pp->switch_number_end,
					sizeof(pp->switch_number_end));
}

int ls_python_finish(struct ls_python *p, struct ls_writer *w, __u64 now)
{
	struct py_proc *pp;
	size_t pos = 0;
	int err = 0;

	while (!err && (pp = ls_htab_next(&p->procs, &pos)))
		if (pp->counted_end) /* a process gone by then has no final count */
			err = write_info(w, pp, now, LS_GIL_INFO_END);
	return err ? err : ls_pystacks_finish(&p->stacks, w);
}
