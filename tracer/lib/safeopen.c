// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Opening a hostile process's files (see safeopen.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "safeopen.h"

/* The O_PATH descriptor opened for reading, if fstat says it is the regular file wanted. */
static int reopen_regular(int pathfd, __u64 inode)
{
	char self[64];
	struct stat st;
	int fd;

	if (fstat(pathfd, &st)) {
		fd = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (inode && st.st_ino != inode)) {
		fd = -ENOENT;
		goto out;
	}
	/* the magic link is the checked file itself, not its path looked up again */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		fd = -errno;
out:
	close(pathfd);
	return fd;
}

int ls_open_regular_at(int dirfd, const char *path, bool in_root, __u64 inode)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		/* inside a process's root, its absolute symbolic links mean its root, not ours */
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	/* openat2 only where its resolution is needed (valgrind, for one, does not know it) */
	int fd = in_root ? syscall(SYS_openat2, dirfd, path, &how, sizeof(how))
			 : openat(dirfd, path, how.flags);

	if (fd < 0)
		return -errno;
	return reopen_regular(fd, inode);
}

int ls_open_in_root(pid_t pid, const char *path, __u64 inode)
{
	char root[64];
	int rootfd, fd;

	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	fd = ls_open_regular_at(rootfd, path, true, inode);
	close(rootfd);
	return fd;
}

int ls_open_map_files(pid_t pid, __u64 start, __u64 end, __u64 inode)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)start, (unsigned long long)end);
	/* the entry is a magic link to the mapped file: followed, but only as far as O_PATH */
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return reopen_regular(fd, inode);
}

int ls_open_mapped(pid_t pid, __u64 start, __u64 end, const char *path, __u64 inode)
{
	int fd = ls_open_map_files(pid, start, end, inode);

	if (fd >= 0 || fd == -ENOENT || fd == -ESRCH)
		return fd;
	fd = ls_open_in_root(pid, path, inode);
	if (fd != -ENOENT)
		return fd;
	return ls_open_regular_at(AT_FDCWD, path, false, inode);
}
