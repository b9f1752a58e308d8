/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LS_TOP_H
#define LS_TOP_H

/* lockscope top [OPTIONS] (-- CMD | -p PID): returns the exit status */
int ls_cmd_top(int argc, char **argv);

#endif
