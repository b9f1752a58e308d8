/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recorder's side of CPython's GIL: find the interpreter of a traced process, attach the
 * take_gil/drop_gil uprobes where it has symbols, and write what the report needs
 * (LS_REC_GIL_INFO: the GIL's address, interval and switch_number, at the start and the end).
 */
#ifndef LS_PYTHON_H
#define LS_PYTHON_H

#include <bpf/libbpf.h>
#include "htab.h"
#include "modes.h"
#include "pystacks.h"
#include "tasks.h"
#include "trace.h"

#define LS_PY_FILES_MAX	 8    /* interpreter files probed */
#define LS_GIL_SAMPLE_HZ 1000 /* GIL samples a second on each CPU running a traced Python thread */
#define LS_PY_LINKS_MAX	 96   /* 3 per copy of take_gil/drop_gil, up to 4 copies, per file */
/* Python stacks sampled a second on each CPU running a traced Python thread (--python-stacks):
 * every (LS_GIL_SAMPLE_HZ / LS_PY_SAMPLE_HZ)th tick of the GIL sampler */
#define LS_PY_SAMPLE_HZ	 100

struct lockscope_bpf;

struct ls_python {
	enum ls_gil_mode mode;
	struct lockscope_bpf *skel;
	struct ls_htab procs; /* struct py_proc by tgid */
	struct bpf_link *links[LS_PY_LINKS_MAX];
	struct {
		__u64 dev, ino;
	} attached[LS_PY_FILES_MAX]; /* the files probed */
	int nr_links, nr_attached;
	struct bpf_link **samplers; /* the GIL sampler on each CPU, once a GIL is found */
	int nr_samplers;
	struct ls_pystacks stacks; /* --python-stacks */
};

int ls_gil_mode_parse(const char *s, enum ls_gil_mode *mode);
void ls_python_init(struct ls_python *p, struct lockscope_bpf *skel, enum ls_gil_mode mode,
		    bool py_stacks);
void ls_python_free(struct ls_python *p);
/* Launch mode, before the command starts: probe its interpreter if it is one we can see. */
void ls_python_prepare_launch(struct ls_python *p, const char *argv0);
/* Look at process tgid now: if it runs CPython, probe it. 0, -ENOENT when it does not. */
int ls_python_attach(struct ls_python *p, __u32 tgid);
/* Write the GIL_INFO of the interpreters found since the last flush, and the Python stacks'
 * status records due (retrying the interpreters not checked yet): at each drain. */
int ls_python_flush(struct ls_python *p, struct ls_writer *w, __u64 ts);
/* A record just written: an exec makes its process a candidate, looked at on its first futex
 * record (by then the dynamic loader has mapped libpython). 0 or -errno of a failed write. */
int ls_python_record(struct ls_python *p, struct ls_writer *w, const struct ls_tasks *tasks,
		     const struct ls_rec_hdr *h, __u64 now);
/* Read the GIL's switch_number of the processes still alive, as the window closes. */
void ls_python_stop(struct ls_python *p);
/* Write what ls_python_stop() read. */
int ls_python_finish(struct ls_python *p, struct ls_writer *w, __u64 now);
/* Detach the uprobes. */
void ls_python_detach(struct ls_python *p);

#endif
