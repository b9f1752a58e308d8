/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The sub-commands that read recordings: report and compare (argv[0] is "lockscope report"). */
#ifndef LS_COMMANDS_H
#define LS_COMMANDS_H

#define LS_DEFAULT_TRACE "lockscope.data" /* what record writes and report reads by default */

int ls_cmd_report(int argc, char **argv);
int ls_cmd_compare(int argc, char **argv);

#endif
