/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LS_RECORD_H
#define LS_RECORD_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include "modes.h"

struct record_opts {
	const char *output;
	double duration;   /* seconds, 0: until the workload exits or Ctrl-C */
	__u64 buffer_size; /* ring buffer bytes */
	pid_t pid;	   /* -p, or 0 */
	bool verbose;
	enum ls_gil_mode gil_mode;
	enum ls_stack_mode stack_mode;
	__u32 stack_dump; /* bytes of user stack copied per blocking wait (--stacks=dwarf) */
	bool py_stacks;	  /* --python-stacks: Python stacks read by the kernel */
	int argc;	  /* the command after --, or 0 with -p */
	char **argv;
};

/* Returns the process exit status lockscope should exit with. */
int record_run(const struct record_opts *o);

#endif
