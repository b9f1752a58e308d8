/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A strict JSON syntax check (RFC 8259) for tests: 1 when s is one valid JSON value. */
#ifndef LS_JSONCHECK_H
#define LS_JSONCHECK_H

#include <ctype.h>
#include <string.h>

static const char *jc_value(const char *p, int depth);

static const char *jc_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
		p++;
	return p;
}

static const char *jc_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *jc_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

static const char *jc_items(const char *p, int depth, char close, int object)
{
	p = jc_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = jc_string(jc_ws(p));
			if (!p || *(p = jc_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = jc_value(p, depth + 1);
		if (!p)
			return NULL;
		p = jc_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *jc_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = jc_ws(p);
	switch (*p) {
	case '{':
		return jc_items(p, depth, '}', 1);
	case '[':
		return jc_items(p, depth, ']', 0);
	case '"':
		return jc_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	}
	return jc_number(p);
}

static inline int json_valid(const char *s)
{
	const char *end = jc_value(s, 0);

	return end && !*jc_ws(end);
}

#endif
