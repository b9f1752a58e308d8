/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A small JSON writer: objects and arrays nest, commas and escaping are taken care of. */
#ifndef LS_JSON_H
#define LS_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#define LS_JSON_DEPTH 16

struct ls_json {
	FILE *out;
	bool compact; /* one line: JSON lines (lockscope top) */
	int depth;
	bool has_items[LS_JSON_DEPTH];
};

void ls_json_init(struct ls_json *j, FILE *out);
/* key is NULL inside arrays and for the outermost value */
void ls_json_object(struct ls_json *j, const char *key);
void ls_json_array(struct ls_json *j, const char *key);
void ls_json_end(struct ls_json *j, char close); /* '}' or ']' */
void ls_json_u64(struct ls_json *j, const char *key, __u64 v);
void ls_json_i64(struct ls_json *j, const char *key, long long v);
void ls_json_double(struct ls_json *j, const char *key, double v);
void ls_json_str(struct ls_json *j, const char *key, const char *s);
void ls_json_bool(struct ls_json *j, const char *key, bool v);
void ls_json_null(struct ls_json *j, const char *key);
/* s as a JSON string, quoted and escaped, for writers that lay out their own lines */
void ls_json_put_string(FILE *out, const char *s);

#endif
