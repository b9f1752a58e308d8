/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LS_VERSION_H
#define LS_VERSION_H
#define LOCKSCOPE_VERSION "0.1.0"
#endif
