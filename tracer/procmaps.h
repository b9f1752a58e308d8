/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Snapshots of a process's memory map in the trace (LS_REC_MAPS_BEGIN, then LS_REC_MAP records),
 * taken while it is alive, so that a report can name lock addresses after it is gone.
 */
#ifndef LS_PROCMAPS_H
#define LS_PROCMAPS_H

#include <stdbool.h>
#include "trace.h"

/* One line of /proc/PID/maps */
struct ls_maps_line {
	__u64 start;
	__u64 end;
	__u64 pgoff;
	__u64 inode;
	__u32 dev;
	__u32 prot;	  /* LS_MAP_* */
	const char *path; /* points into the text read; "" for anonymous memory */
};

/*
 * /proc/TGID/maps read whole and parsed: *lines point into *text, the caller frees both. 0,
 * -ESRCH when the process is gone (or a zombie, with an empty map), or -errno.
 */
int ls_procmaps_read(__u32 tgid, char **text, struct ls_maps_line **lines, size_t *nr);
/* The line maps a file from its start: where an ELF file is loaded. */
bool ls_maps_line_file_start(const struct ls_maps_line *m);

/*
 * Write /proc/TGID/maps as one MAPS_BEGIN record and the MAP records it announces. The file is
 * read whole first, so that nothing is written when it cannot be read. 0, -ESRCH when the
 * process is gone, or -errno.
 */
int ls_procmaps_write(struct ls_writer *w, __u32 tgid, __u64 ts);

#endif /* LS_PROCMAPS_H */
