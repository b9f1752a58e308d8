/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Opening, as root, the files a traced process names (its mapped files, its command): the process
 * is hostile. A file is looked up once, without opening it (O_PATH: no FIFO to block on, no device
 * to wake), checked by fstat on that descriptor (a regular file, the inode the map names), and
 * only then opened for reading through the descriptor itself (/proc/self/fd/N), so that what was
 * checked is what is read. Paths in a process's root resolve inside that root (RESOLVE_IN_ROOT).
 */
#ifndef LS_SAFEOPEN_H
#define LS_SAFEOPEN_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

/*
 * path (relative to dirfd; in its root with in_root) opened read-only, O_CLOEXEC and O_NONBLOCK,
 * if it is a regular file with that inode (0: any); a final symbolic link is not followed. The
 * fd, or -errno: -ENOENT for anything else (a FIFO, a device, another inode).
 */
int ls_open_regular_at(int dirfd, const char *path, bool in_root, __u64 inode);
/* path as process pid sees it, through /proc/PID/root; as ls_open_regular_at. */
int ls_open_in_root(pid_t pid, const char *path, __u64 inode);
/* The file mapped at [start, end) of process pid, through /proc/PID/map_files: even if deleted. */
int ls_open_map_files(pid_t pid, __u64 start, __u64 end, __u64 inode);
/*
 * The file mapped at [start, end) from path: through map_files, the mapping itself, which works
 * from any mount namespace or chroot; where that is refused (it needs CAP_SYS_ADMIN), path in
 * the process's root, then path in ours (a chrooted process's maps name its files by our path).
 */
int ls_open_mapped(pid_t pid, __u64 start, __u64 end, const char *path, __u64 inode);

#endif
