/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Strings from a trace (command lines, thread names, paths, symbols) are chosen by whoever made
 * it: before they reach a terminal, control characters and bytes that are not UTF-8 are written
 * as \xNN, so that no escape sequence passes and a line stays one line.
 */
#ifndef LS_ESCAPE_H
#define LS_ESCAPE_H

#include <stddef.h>

/* The length of the valid UTF-8 sequence at p (1 to 4 bytes, before end), 0 if there is none. */
size_t ls_utf8_len(const unsigned char *p, const unsigned char *end);
/* src into dst (len bytes, terminated), its control characters and invalid bytes as \xNN. */
char *ls_escape(char *dst, size_t len, const char *src);
/* The same, in place. */
char *ls_escape_inplace(char *buf, size_t len);

#endif
