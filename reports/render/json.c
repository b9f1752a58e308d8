// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <math.h>
#include <string.h>
#include "escape.h"
#include "json.h"

void ls_json_init(struct ls_json *j, FILE *out)
{
	j->out = out;
	j->compact = false;
	j->depth = 0;
	j->has_items[0] = false;
}

/* Valid JSON whatever the bytes: a byte that is not UTF-8 becomes U+FFFD. */
void ls_json_put_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

	fputc('"', out);
	while (p < end) {
		size_t n = ls_utf8_len(p, end);

		if (!n)
			fputs("\\ufffd", out);
		else if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fwrite(p, 1, n, out);
		p += n ? n : 1;
	}
	fputc('"', out);
}

/* The comma, indentation and key before a value. */
static void item(struct ls_json *j, const char *key)
{
	if (j->depth > 0 && j->compact) {
		if (j->has_items[j->depth])
			fputc(',', j->out);
	} else if (j->depth > 0) {
		fputs(j->has_items[j->depth] ? ",\n" : "\n", j->out);
		fprintf(j->out, "%*s", 2 * j->depth, "");
	}
	j->has_items[j->depth] = true;
	if (key) {
		ls_json_put_string(j->out, key);
		fputs(j->compact ? ":" : ": ", j->out);
	}
}

static void open(struct ls_json *j, const char *key, char c)
{
	item(j, key);
	fputc(c, j->out);
	if (j->depth < LS_JSON_DEPTH - 1)
		j->depth++;
	j->has_items[j->depth] = false;
}

void ls_json_object(struct ls_json *j, const char *key)
{
	open(j, key, '{');
}

void ls_json_array(struct ls_json *j, const char *key)
{
	open(j, key, '[');
}

void ls_json_end(struct ls_json *j, char close)
{
	bool items = j->has_items[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (items && !j->compact)
		fprintf(j->out, "\n%*s", 2 * j->depth, "");
	fputc(close, j->out);
	if (!j->depth)
		fputc('\n', j->out);
}

void ls_json_u64(struct ls_json *j, const char *key, __u64 v)
{
	item(j, key);
	fprintf(j->out, "%llu", (unsigned long long)v);
}

void ls_json_i64(struct ls_json *j, const char *key, long long v)
{
	item(j, key);
	fprintf(j->out, "%lld", v);
}

void ls_json_double(struct ls_json *j, const char *key, double v)
{
	item(j, key);
	if (isfinite(v))
		fprintf(j->out, "%.6g", v);
	else
		fputs("null", j->out);
}

void ls_json_str(struct ls_json *j, const char *key, const char *s)
{
	item(j, key);
	ls_json_put_string(j->out, s);
}

void ls_json_bool(struct ls_json *j, const char *key, bool v)
{
	item(j, key);
	fputs(v ? "true" : "false", j->out);
}

void ls_json_null(struct ls_json *j, const char *key)
{
	item(j, key);
	fputs("null", j->out);
}
