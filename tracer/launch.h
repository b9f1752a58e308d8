/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Launching the traced command: forked early, held until the probes and the traced-set entry are
 * in place, then exec'd as the invoking user (SUDO_UID/SUDO_GID) when run under sudo.
 */
#ifndef LS_LAUNCH_H
#define LS_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct ls_user {
	bool drop; /* run as uid/gid below rather than as ourselves */
	uid_t uid;
	gid_t gid;
};

/* Our own groups while acting on files as the user */
struct ls_user_fs {
	bool on;
	gid_t *groups;
	int nr_groups;
};

/* How long a command has to exit after SIGTERM before it gets SIGKILL */
#define LS_LAUNCH_GRACE_MS 2000

struct ls_launch {
	pid_t pid;
	int pidfd;    /* the child itself, even once its pid is reaped and reused */
	bool started; /* told to exec */
	int go_fd;    /* write end: one byte lets the child exec */
	int err_fd;   /* read end: the child's errno if setup or exec fails, EOF on exec */
	bool exited;  /* reaped: status is its wait(2) status */
	int status;
};

/* The invoking user from SUDO_UID/SUDO_GID; 0, or -EINVAL if they are malformed. */
int ls_user_from_env(struct ls_user *u);
/*
 * Act on files as u (under sudo): its fsuid, fsgid and supplementary groups, so that the kernel
 * checks paths with the user's rights, until ls_user_fs_leave. Nothing to do when u->drop is
 * false. 0 or -errno, with our identity unchanged on failure. Single-threaded callers only.
 */
int ls_user_fs_enter(const struct ls_user *u, struct ls_user_fs *saved);
void ls_user_fs_leave(struct ls_user_fs *saved);
/* Fork the child, stopped before exec. 0 or -errno. */
int ls_launch_prepare(struct ls_launch *l, char **argv, const struct ls_user *u);
/* Let it exec; 0 once exec succeeded, else -errno with *stage naming the step that failed. */
int ls_launch_start(struct ls_launch *l, const char **stage);
/*
 * Stop the child through its pidfd: SIGTERM, then SIGKILL if it is still alive after grace_ms
 * (at once for a child never started), and reap it. Its wait status, or -1 when it had already
 * been reaped elsewhere (nothing is signalled then, whatever now has its pid). Then l->pid is -1.
 */
int ls_launch_stop(struct ls_launch *l, int grace_ms);
/* The child was reaped elsewhere (waitpid): drop its pidfd, never signal it again. */
void ls_launch_reaped(struct ls_launch *l);
/* SIGCHLD's handler, for ls_launch_done(): install it before the command starts. */
void ls_launch_on_sigchld(int sig);
/*
 * Reap what exited since SIGCHLD last came (lockscope is the subreaper of what the command forks),
 * the command's status noted; true once the command and every descendant are gone.
 */
bool ls_launch_done(struct ls_launch *l);
/* The command's exit status as a shell gives it (128 + the signal that killed it); 0 before it
 * was reaped. */
int ls_launch_exit_status(const struct ls_launch *l);
/* Close the pipes and stop the child with LS_LAUNCH_GRACE_MS; as ls_launch_stop. */
int ls_launch_abort(struct ls_launch *l);

#endif
