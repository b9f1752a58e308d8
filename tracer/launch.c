// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "launch.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum child_stage { STAGE_GROUPS, STAGE_GID, STAGE_UID, STAGE_EXEC, STAGE_WAIT };

static const char *const stage_names[] = {
	[STAGE_GROUPS] = "setting the supplementary groups",
	[STAGE_GID] = "setgid",
	[STAGE_UID] = "setuid",
	[STAGE_EXEC] = "exec",
	[STAGE_WAIT] = "waiting for the tracer",
};

struct child_error {
	int stage;
	int err;
};

static int parse_id(const char *s, unsigned long *id)
{
	char *end;

	errno = 0;
	*id = strtoul(s, &end, 10);
	return errno || !*s || *end || *id > 0x7fffffffUL ? -EINVAL : 0;
}

int ls_user_from_env(struct ls_user *u)
{
	const char *suid = getenv("SUDO_UID"), *sgid = getenv("SUDO_GID");
	unsigned long uid, gid;

	u->drop = false;
	if (!suid || geteuid() != 0)
		return 0;
	if (parse_id(suid, &uid))
		return -EINVAL;
	if (!sgid) {
		struct passwd *pw = getpwuid(uid);

		if (!pw)
			return -EINVAL;
		gid = pw->pw_gid;
	} else if (parse_id(sgid, &gid)) {
		return -EINVAL;
	}
	u->drop = true;
	u->uid = uid;
	u->gid = gid;
	return 0;
}

/* The user's groups as login would set them (initgroups), or their primary group alone. */
static int user_groups(const struct ls_user *u, gid_t **groups, int *nr)
{
	struct passwd *pw = getpwuid(u->uid);
	int n = 32;

	for (;;) {
		gid_t *g = malloc(n * sizeof(*g));
		int want = n;

		if (!g)
			return -ENOMEM;
		if (!pw) {
			g[0] = u->gid;
			want = 1;
		} else if (getgrouplist(pw->pw_name, u->gid, g, &want) < 0) {
			free(g);
			if (want <= n) /* no growth asked for: give up rather than loop */
				return -EINVAL;
			n = want;
			continue;
		}
		*groups = g;
		*nr = want;
		return 0;
	}
}

int ls_user_fs_enter(const struct ls_user *u, struct ls_user_fs *saved)
{
	gid_t *groups = NULL;
	int nr = 0, err;

	memset(saved, 0, sizeof(*saved));
	if (!u->drop)
		return 0;
	saved->nr_groups = getgroups(0, NULL);
	if (saved->nr_groups < 0)
		return -errno;
	saved->groups = calloc(saved->nr_groups + 1, sizeof(gid_t));
	if (!saved->groups)
		return -ENOMEM;
	if (getgroups(saved->nr_groups, saved->groups) < 0) {
		err = -errno;
		goto fail;
	}
	err = user_groups(u, &groups, &nr);
	if (err)
		goto fail;
	/* the groups count in permission checks as much as the fsgid does */
	if (setgroups(nr, groups)) {
		err = -errno;
		goto fail;
	}
	saved->on = true;
	setfsgid(u->gid);
	setfsuid(u->uid); /* drops CAP_DAC_OVERRIDE and the other file capabilities */
	/* setfsuid says nothing of failure: read the ids back (-1 is never valid, so a no-op) */
	if (setfsuid(-1) != (int)u->uid || setfsgid(-1) != (int)u->gid) {
		err = -EPERM;
		goto fail;
	}
	free(groups);
	return 0;
fail:
	free(groups);
	ls_user_fs_leave(saved);
	return err;
}

void ls_user_fs_leave(struct ls_user_fs *saved)
{
	if (saved->on) {
		setfsuid(geteuid());
		setfsgid(getegid());
		setgroups(saved->nr_groups, saved->groups);
	}
	free(saved->groups);
	memset(saved, 0, sizeof(*saved));
}

static void child_fail(int fd, int stage)
{
	struct child_error ce = { stage, errno };

	if (write(fd, &ce, sizeof(ce)) < 0)
		_exit(126);
	_exit(stage == STAGE_EXEC && ce.err == ENOENT ? 127 : 126);
}

/* Become the invoking user, with that user's groups and environment. */
static void drop_privileges(int err_fd, const struct ls_user *u)
{
	struct passwd *pw = getpwuid(u->uid);

	if (pw ? initgroups(pw->pw_name, u->gid) : setgroups(1, &u->gid))
		child_fail(err_fd, STAGE_GROUPS);
	if (setgid(u->gid))
		child_fail(err_fd, STAGE_GID);
	if (setuid(u->uid))
		child_fail(err_fd, STAGE_UID);
	if (pw) {
		setenv("HOME", pw->pw_dir, 1);
		setenv("USER", pw->pw_name, 1);
		setenv("LOGNAME", pw->pw_name, 1);
	}
}

static void child_main(int go_fd, int err_fd, char **argv, const struct ls_user *u)
{
	char go;

	if (u->drop)
		drop_privileges(err_fd, u);
	if (read(go_fd, &go, 1) != 1)
		_exit(125); /* the tracer went away before starting us */
	close(go_fd);
	execvp(argv[0], argv);
	child_fail(err_fd, STAGE_EXEC);
}

int ls_launch_prepare(struct ls_launch *l, char **argv, const struct ls_user *u)
{
	int go[2], errp[2], err;

	l->pid = -1;
	l->pidfd = l->go_fd = l->err_fd = -1;
	l->started = false;
	l->exited = false;
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		return err;
	}
	fflush(NULL);
	l->pid = fork();
	if (l->pid < 0) {
		err = -errno;
		close(go[0]);
		close(go[1]);
		close(errp[0]);
		close(errp[1]);
		return err;
	}
	if (l->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_main(go[0], errp[1], argv, u);
	}
	close(go[0]);
	close(errp[1]);
	l->go_fd = go[1];
	l->err_fd = errp[0];
	/* our child, not reaped yet: the pid cannot have been reused, the pidfd is the child's */
	l->pidfd = pidfd_open(l->pid, 0);
	if (l->pidfd < 0) {
		err = -errno;
		ls_launch_abort(l);
		return err;
	}
	return 0;
}

int ls_launch_start(struct ls_launch *l, const char **stage)
{
	struct child_error ce;
	ssize_t n;
	int err = 0;

	*stage = stage_names[STAGE_WAIT];
	l->started = true;
	if (write(l->go_fd, "g", 1) != 1)
		err = -errno;
	close(l->go_fd);
	l->go_fd = -1;
	do {
		n = read(l->err_fd, &ce, sizeof(ce));
	} while (n < 0 && errno == EINTR);
	close(l->err_fd);
	l->err_fd = -1;
	if (n == sizeof(ce)) {
		if (ce.stage >= 0 && ce.stage <= STAGE_WAIT)
			*stage = stage_names[ce.stage];
		err = -ce.err;
	}
	return err;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Whether the child exits within ms (a pidfd turns readable when it does). */
static bool exits_within(int pidfd, int ms)
{
	long long end = mono_ms() + ms;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int left = ms;

	do {
		if (poll(&p, 1, left) == 1)
			return true;
		left = end - mono_ms();
	} while (left > 0);
	return false;
}

/* siginfo from waitid as a wait(2) status */
static int wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

/*
 * Everything goes through the pidfd: once the child is reaped (by record's waitpid(-1), say) its
 * pid may name another process, which a kill(pid) would hit; the pidfd still names the child.
 */
int ls_launch_stop(struct ls_launch *l, int grace_ms)
{
	siginfo_t si = { 0 };

	if (l->pidfd < 0)
		return -1;
	/* a command gets SIGTERM first; our own fork, not started, has nothing to save */
	if (l->started && !pidfd_send_signal(l->pidfd, SIGTERM, NULL, 0) &&
	    exits_within(l->pidfd, grace_ms))
		goto reap;
	pidfd_send_signal(l->pidfd, SIGKILL, NULL, 0);
reap:
	while (waitid(P_PIDFD, l->pidfd, &si, WEXITED) && errno == EINTR)
		;
	ls_launch_reaped(l);
	if (!si.si_pid)
		return -1; /* reaped by someone else */
	l->exited = true;
	l->status = wait_status(&si);
	return l->status;
}

void ls_launch_reaped(struct ls_launch *l)
{
	if (l->pidfd >= 0)
		close(l->pidfd);
	l->pidfd = -1;
	l->pid = -1;
}

static volatile sig_atomic_t children_changed;

void ls_launch_on_sigchld(int sig)
{
	(void)sig;
	children_changed = 1;
}

bool ls_launch_done(struct ls_launch *l)
{
	int status;
	pid_t pid;

	if (!children_changed)
		return false;
	children_changed = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == l->pid) {
			ls_launch_reaped(l); /* its pid is free for others to take */
			l->exited = true;
			l->status = status;
		}
	}
	return pid < 0 && errno == ECHILD;
}

int ls_launch_exit_status(const struct ls_launch *l)
{
	if (!l->exited)
		return 0;
	if (WIFEXITED(l->status))
		return WEXITSTATUS(l->status);
	return 128 + WTERMSIG(l->status);
}

int ls_launch_abort(struct ls_launch *l)
{
	if (l->go_fd >= 0)
		close(l->go_fd);
	if (l->err_fd >= 0)
		close(l->err_fd);
	l->go_fd = l->err_fd = -1;
	return ls_launch_stop(l, LS_LAUNCH_GRACE_MS);
}
