/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The process a test starts (an interpreter, mostly), its stdout on a pipe: killed by the
 * teardown, kill_child, whatever the test's outcome.
 */
#ifndef LS_CHILD_H
#define LS_CHILD_H

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_READY_TIMEOUT 30000 /* ms: a busy machine, an interpreter starting in a chroot */

static pid_t child = -1;   /* killed by the teardown */
static int child_out = -1; /* its stdout, open until then: it must not write to a closed pipe */

static inline int kill_child(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (child_out >= 0)
		close(child_out);
	child = -1;
	child_out = -1;
	return 0;
}

/*
 * Start argv with its stdout on a pipe, and wait until what it wrote (into buf, NUL-terminated)
 * holds until: its pid, or -1.
 */
static inline pid_t start_child(char *const argv[], char *buf, size_t len, const char *until)
{
	struct pollfd pfd;
	size_t got = 0;
	int fds[2];
	pid_t pid;

	buf[0] = '\0';
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	child_out = fds[0];
	if (pid < 0)
		return -1;
	child = pid;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (got < len - 1 && !strstr(buf, until)) {
		ssize_t n;

		if (poll(&pfd, 1, CHILD_READY_TIMEOUT) != 1)
			return -1;
		n = read(fds[0], buf + got, len - 1 - got);
		if (n <= 0)
			return -1;
		got += n;
		buf[got] = '\0';
	}
	return pid;
}

#endif
