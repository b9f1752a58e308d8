// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What record and top check before they trace (privileges, BTF, the PID namespace, the process
 * asked for), and the traced set they both keep.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "lockscope.h"
#include "lockscope.skel.h"
#include "target.h"

#define PF_KTHREAD     0x00200000
/* The initial PID namespace's fixed inode (PROC_PID_INIT_INO, include/linux/proc_ns.h) */
#define LS_INIT_PID_NS "pid:[4026531836]"

const char *ls_prog_name = "lockscope record";

static bool libbpf_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void ls_libbpf_print_init(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print);
}

int ls_error(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ls_prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return err ? err : -EINVAL;
}

/* LOCKSCOPE_BTF names another file, so that tests can play a kernel without BTF. */
static const char *btf_path(void)
{
	const char *p = getenv("LOCKSCOPE_BTF");

	return p && *p ? p : "/sys/kernel/btf/vmlinux";
}

/* Whether our effective set holds cap. */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or CAP_BPF and CAP_PERFMON (and CAP_SETUID/SETGID to run a command as the user). */
int ls_check_privileges(void)
{
	if (!have_cap(CAP_BPF) || !have_cap(CAP_PERFMON))
		return ls_error(-EPERM, "needs root, or CAP_BPF and CAP_PERFMON: run it with sudo");
	if (access(btf_path(), R_OK))
		return ls_error(-ENOTSUP,
				"this kernel has no BTF (%s): lockscope needs Linux >= 5.18 "
				"built with CONFIG_DEBUG_INFO_BTF=y",
				btf_path());
	return 0;
}

/*
 * The probes name processes as the kernel does, by their pid in the initial PID namespace
 * (task->tgid); getpid, fork, -p and /proc give lockscope its own namespace's. In a namespace of
 * its own (a container, unshare -p) they differ and it would trace whatever process has its
 * child's number on the host. NSpid cannot map them back where /proc is the container's (its
 * first field is the pid in /proc's namespace, not the host's): refuse rather than guess.
 */
int ls_check_pid_namespace(void)
{
	char ns[64];
	ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);

	if (n < 0)
		return ls_error(-errno, "cannot read /proc/self/ns/pid: %s (is /proc mounted?)",
				strerror(errno));
	ns[n] = '\0';
	if (strcmp(ns, LS_INIT_PID_NS))
		return ls_error(
			-ENOTSUP,
			"lockscope runs in a PID namespace of its own (%s; a container, unshare "
			"-p): the kernel's probes see the host's PIDs, which it cannot map "
			"back. Run it in the host's PID namespace: it traces processes in "
			"containers there, by their host PID or launched",
			ns);
	return 0;
}

/* Whether every uid of pid (real, effective, saved, filesystem) is uid, as ptrace asks. */
static bool owned_by(pid_t pid, uid_t uid)
{
	unsigned int ids[4];
	char path[64], line[256];
	bool same = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) == 4) {
			same = ids[0] == uid && ids[1] == uid && ids[2] == uid && ids[3] == uid;
			break;
		}
	}
	fclose(f);
	return same;
}

int ls_read_proc_stat(const char *path, struct ls_proc_stat *st)
{
	char buf[1024], *p;
	FILE *f = fopen(path, "re");

	if (!f)
		return -ENOENT;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	/* after "pid (comm)", whose comm may hold spaces and parentheses: state ppid pgrp session
	 * tty_nr tpgid flags */
	p = p ? strrchr(buf, ')') : NULL;
	if (!p ||
	    sscanf(p + 2, "%c %d %*d %*d %*d %*d %lu", &st->state, &st->ppid, &st->flags) != 3)
		return -EINVAL;
	return 0;
}

bool ls_pid_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return pidfd >= 0 && poll(&p, 1, 0) == 1;
}

/*
 * A user process we may trace: not us, not a kernel thread, alive. The pidfd is taken first and
 * the process confirmed alive through it after the checks: what /proc/PID said was then about
 * the process the pidfd holds, not one that took the pid after it exited.
 */
int ls_check_pid(pid_t pid, int *pidfd)
{
	struct ls_proc_stat st;
	char path[64];
	int err;

	if (pid <= 0)
		return ls_error(-EINVAL, "invalid PID %d", pid);
	if (pid == getpid())
		return ls_error(-EINVAL, "PID %d is lockscope itself", pid);
	*pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (*pidfd < 0) {
		err = -errno;
		if (err == -ESRCH)
			return ls_error(err, "no process with PID %d", pid);
		if (err == -EINVAL)
			return ls_error(err,
					"PID %d is a thread, not a process: give its Tgid (in "
					"/proc/%d/status)",
					pid, pid);
		return ls_error(err, "cannot watch PID %d: %s", pid, strerror(-err));
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	err = ls_read_proc_stat(path, &st);
	/* a process reaped as we read reads as nothing: the pidfd says which it was */
	if (err && ls_pid_exited(*pidfd))
		return ls_error(-ESRCH, "PID %d has exited: nothing to record", pid);
	if (err == -ENOENT)
		return ls_error(-ESRCH, "no process with PID %d", pid);
	if (err)
		return ls_error(-ESRCH, "cannot read %s", path);
	if (st.flags & PF_KTHREAD)
		return ls_error(-EINVAL,
				"PID %d is a kernel thread: lockscope traces user processes", pid);
	/*
	 * The probes see every process. With CAP_BPF and CAP_PERFMON alone (file capabilities),
	 * a user could trace anybody's: only what that user could ptrace, as perf record -p.
	 */
	if (!have_cap(CAP_SYS_PTRACE) && !owned_by(pid, getuid()))
		return ls_error(
			-EPERM,
			"PID %d is not yours (uid %d): tracing it needs root or CAP_SYS_PTRACE",
			pid, (int)getuid());
	if (ls_pid_exited(*pidfd))
		return ls_error(-ESRCH, "PID %d has exited: nothing to record", pid);
	return 0;
}

/* The traced set is a bitmap in the programs' .bss, mapped here (bpf/lockscope.bpf.c). */
int ls_trace_tgid(struct lockscope_bpf *skel, __u32 tgid)
{
	if (tgid >= LS_TGID_MAX)
		return -ERANGE;
	__atomic_fetch_or(&skel->bss->traced[tgid / 64], 1ULL << (tgid % 64), __ATOMIC_RELAXED);
	return 0;
}

void ls_untrace_tgid(struct lockscope_bpf *skel, __u32 tgid)
{
	if (tgid < LS_TGID_MAX)
		__atomic_fetch_and(&skel->bss->traced[tgid / 64], ~(1ULL << (tgid % 64)),
				   __ATOMIC_RELAXED);
}

/*
 * Empty the traced set as the window closes: the probes, still attached while they detach (a
 * few hundred ms for uprobes on a busy machine), record nothing after the window's end.
 */
void ls_untrace_all(struct lockscope_bpf *skel)
{
	for (size_t i = 0; i < LS_TGID_MAX / 64; i++)
		if (skel->bss->traced[i])
			__atomic_store_n(&skel->bss->traced[i], 0, __ATOMIC_RELAXED);
}
