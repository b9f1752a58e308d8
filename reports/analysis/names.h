/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Names for user addresses (reports/METRICS.md, "Locks"): a symbol and offset in the ELF file the
 * address lies in, else the mapping ("libc.so.6+0x1d2a40", "[heap]+0x2a0", "[stack:TID]",
 * "[anon]").
 * Fed the trace's records in file order: memory map snapshots (LS_REC_MAPS_BEGIN, LS_REC_MAP) and
 * new tasks (their stack pointers name thread stacks). Symbols are read from the files named in
 * the snapshot, through /proc/TGID/root when the process is still there; a file whose inode is
 * not the mapping's, or whose build ID is not the one recorded (LS_REC_BUILD_ID), was replaced
 * since the recording and is not used for symbols.
 */
#ifndef LS_NAMES_H
#define LS_NAMES_H

#include <stddef.h>
#include "trace.h"

struct ls_names;

struct ls_names *ls_names_new(void);
void ls_names_free(struct ls_names *n);
/* MAPS_BEGIN, MAP and TASK_NEW records; others are ignored. 0 or -ENOMEM. */
int ls_names_feed(struct ls_names *n, const struct ls_rec_hdr *rec);
/*
 * buf, holding the name of addr in process tgid (truncated to len), or NULL when tgid has no
 * complete snapshot or no mapping of it holds addr.
 */
const char *ls_names_lookup(struct ls_names *n, __u32 tgid, __u64 addr, char *buf, size_t len);

/* The same, for code: the function's name alone where there is a symbol ("site_a"). */
const char *ls_names_function(struct ls_names *n, __u32 tgid, __u64 addr, char *buf, size_t len);

/* The base name of the file mapped at addr ("libc.so.6"), or NULL. */
const char *ls_names_module(struct ls_names *n, __u32 tgid, __u64 addr);

#endif /* LS_NAMES_H */
