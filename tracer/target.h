/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What record and top check before they trace, and the traced set they keep: a bitmap of tgids in
 * the programs' .bss (bpf/lockscope.bpf.c).
 */
#ifndef LS_TARGET_H
#define LS_TARGET_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

struct lockscope_bpf;

/* The command messages are prefixed with ("lockscope record", "lockscope top") */
extern const char *ls_prog_name;

/* Print "PROG: message" to stderr; returns err, or -EINVAL when err is 0. */
int ls_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libbpf's messages to stderr, its debugging ones only when verbose (-v) */
void ls_libbpf_print_init(bool verbose);

/* Root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF. 0 or -errno, said on stderr. */
int ls_check_privileges(void);
/* lockscope runs in the initial PID namespace. 0 or -errno, said on stderr. */
int ls_check_pid_namespace(void);
/* pid is a user process we may trace; *pidfd holds it. 0 or -errno, said on stderr. */
int ls_check_pid(pid_t pid, int *pidfd);
/* A pidfd turns readable once its process has exited, zombie or reaped. */
bool ls_pid_exited(int pidfd);

/* The fields of a /proc/.../stat file that lockscope uses. 0, -ENOENT, or -EINVAL. */
struct ls_proc_stat {
	char state;
	int ppid;
	unsigned long flags;
};
int ls_read_proc_stat(const char *path, struct ls_proc_stat *st);

int ls_trace_tgid(struct lockscope_bpf *skel, __u32 tgid);
void ls_untrace_tgid(struct lockscope_bpf *skel, __u32 tgid);
/* Empty the traced set as the window closes. */
void ls_untrace_all(struct lockscope_bpf *skel);

#endif /* LS_TARGET_H */
