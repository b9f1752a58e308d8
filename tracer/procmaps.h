/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Snapshots of a process's memory map in the trace (LS_REC_MAPS_BEGIN, then LS_REC_MAP records),
 * taken while it is alive, so that a report can name lock addresses after it is gone.
 */
#ifndef LS_PROCMAPS_H
#define LS_PROCMAPS_H

#include "trace.h"

/*
 * Write /proc/TGID/maps as one MAPS_BEGIN record and the MAP records it announces. The file is
 * read whole first, so that nothing is written when it cannot be read. 0, -ESRCH when the
 * process is gone, or -errno.
 */
int ls_procmaps_write(struct ls_writer *w, __u32 tgid, __u64 ts);

#endif /* LS_PROCMAPS_H */
