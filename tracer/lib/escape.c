// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"

size_t ls_utf8_len(const unsigned char *p, const unsigned char *end)
{
	uint32_t cp, min;
	size_t n;

	if (p >= end)
		return 0;
	if (*p < 0x80)
		return 1;
	if ((*p & 0xe0) == 0xc0)
		n = 2, cp = *p & 0x1f, min = 0x80;
	else if ((*p & 0xf0) == 0xe0)
		n = 3, cp = *p & 0x0f, min = 0x800;
	else if ((*p & 0xf8) == 0xf0)
		n = 4, cp = *p & 0x07, min = 0x10000;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and beyond Unicode are not UTF-8 */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* C0 controls, DEL, and C1 controls (U+0080-U+009F: 0x9b is CSI on some terminals) */
static int is_control(const unsigned char *p, size_t n)
{
	return (n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

char *ls_escape(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + strlen(src);
	size_t out = 0;

	if (!len)
		return dst;
	while (p < end) {
		size_t n = ls_utf8_len(p, end);

		if (n && !is_control(p, n)) {
			if (out + n >= len)
				break;
			memcpy(dst + out, p, n);
			out += n;
			p += n;
			continue;
		}
		/* one byte at a time: a C1 control's two bytes both show */
		for (size_t i = 0; i < (n ? n : 1); i++) {
			if (out + 4 >= len)
				goto done;
			snprintf(dst + out, 5, "\\x%02x", p[i]);
			out += 4;
		}
		p += n ? n : 1;
	}
done:
	dst[out] = '\0';
	return dst;
}

char *ls_escape_inplace(char *buf, size_t len)
{
	char *copy = strdup(buf);

	if (!copy) { /* no memory for the copy: keep what is safe as it is */
		for (char *c = buf; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return buf;
	}
	ls_escape(buf, len, copy);
	free(copy);
	return buf;
}
