// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include "elffile.h"
#include "procmaps.h"
#include "safeopen.h"

/* Big reads: the kernel builds each read from the live map, so fewer reads tear less. */
#define READ_CHUNK (64 * 1024)

static int read_all(int fd, char **text)
{
	size_t cap = 0, len = 0;
	char *buf = NULL, *p;
	ssize_t n;

	for (;;) {
		if (cap - len < READ_CHUNK) {
			cap += 4 * READ_CHUNK;
			p = realloc(buf, cap + 1);
			if (!p)
				goto err_nomem;
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err;
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
err_nomem:
	errno = ENOMEM;
err:
	n = -errno;
	free(buf);
	return n;
}

static int read_maps(__u32 tgid, char **text)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%u/maps", tgid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = read_all(fd, text);
	close(fd);
	return err;
}

static __u32 parse_prot(const char *perms)
{
	return (perms[0] == 'r' ? LS_MAP_READ : 0) | (perms[1] == 'w' ? LS_MAP_WRITE : 0) |
	       (perms[2] == 'x' ? LS_MAP_EXEC : 0) | (perms[3] == 's' ? LS_MAP_SHARED : 0);
}

/* One line, NUL-terminated: "start-end perms pgoff major:minor inode [path]". */
static int parse_line(const char *line, struct ls_maps_line *m)
{
	unsigned int major, minor;
	char perms[5];
	int pos = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &m->start, &m->end, perms, &m->pgoff,
		   &major, &minor, &m->inode, &pos) != 7 ||
	    !pos || strlen(perms) != 4)
		return -EINVAL;
	m->dev = makedev(major, minor);
	m->prot = parse_prot(perms);
	m->path = line + pos;
	return 0;
}

static size_t count_lines(const char *text)
{
	size_t nr = 0;

	for (; *text; text++)
		nr += *text == '\n';
	return nr + 1; /* a last line without its newline */
}

/* Split text into lines in place; lines that do not parse are left out (and not counted). */
static int parse_maps(char *text, struct ls_maps_line **lines, size_t *nr)
{
	struct ls_maps_line *m = calloc(count_lines(text), sizeof(*m));
	char *line, *save = NULL;

	if (!m)
		return -ENOMEM;
	*nr = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!parse_line(line, &m[*nr]))
			(*nr)++;
	*lines = m;
	return 0;
}

/*
 * Write a record that ends with a path, as MAP and BUILD_ID records do: rec holds the fixed part
 * (fixed bytes, every field set but the header) and room for PATH_MAX more; the path goes after
 * it, NUL-terminated and zero-padded to 8 bytes, the padding to the file too.
 */
static int put_with_path(struct ls_writer *w, void *rec, size_t fixed, __u16 type, __u32 tgid,
			 const char *path)
{
	size_t len = strnlen(path, PATH_MAX - 1);
	size_t size = (fixed + len + 1 + 7) & ~(size_t)7;

	memset((char *)rec + fixed, 0, size - fixed);
	memcpy((char *)rec + fixed, path, len);
	*(struct ls_rec_hdr *)rec = (struct ls_rec_hdr){ type, size, tgid };
	return ls_writer_put(w, rec, size);
}

static int write_map(struct ls_writer *w, __u32 tgid, const struct ls_maps_line *m)
{
	union {
		struct ls_map map;
		char raw[sizeof(struct ls_map) + PATH_MAX + 8];
	} u;

	u.map = (struct ls_map){
		.start = m->start,
		.end = m->end,
		.pgoff = m->pgoff,
		.inode = m->inode,
		.dev = m->dev,
		.prot = m->prot,
	};
	return put_with_path(w, &u, sizeof(u.map), LS_REC_MAP, tgid, m->path);
}

static int write_maps(struct ls_writer *w, __u32 tgid, __u64 ts, const struct ls_maps_line *lines,
		      size_t nr)
{
	struct ls_maps_begin b = {
		.hdr = { LS_REC_MAPS_BEGIN, sizeof(b), tgid },
		.ts = ts,
		.nr = nr,
	};
	int err = ls_writer_put(w, &b, sizeof(b));

	for (size_t i = 0; i < nr && !err; i++)
		err = write_map(w, tgid, &lines[i]);
	return err;
}

/* Build IDs by file, so that a file is read once however many snapshots name it */
#define ID_CACHE 512

static struct id_cache {
	__u64 inode;
	__u32 dev;
	__u32 len;
	__u8 id[LS_BUILD_ID_MAX];
} id_cache[ID_CACHE];

/* Through map_files: the very file mapped, in whatever mount namespace, even if deleted. */
static size_t build_id_of(__u32 tgid, const struct ls_maps_line *m, __u8 *id)
{
	struct id_cache *c = &id_cache[(m->inode ^ m->dev * 31) % ID_CACHE];
	struct ls_elf *e;
	size_t len = 0;
	int fd;

	if (c->inode == m->inode && c->dev == m->dev) {
		memcpy(id, c->id, c->len);
		return c->len;
	}
	/* a regular file only: a mapped device node is not opened (that can act on the device) */
	fd = ls_open_map_files(tgid, m->start, m->end, m->inode);
	if (fd < 0)
		return 0;
	if (!ls_elf_open(&e, fd)) {
		len = ls_elf_build_id(e, id, LS_BUILD_ID_MAX);
		ls_elf_close(e);
	}
	close(fd);
	*c = (struct id_cache){ .inode = m->inode, .dev = m->dev, .len = len };
	memcpy(c->id, id, len);
	return len;
}

/* A build ID record for each ELF file mapped from its start: what a report checks files by. */
static int write_build_ids(struct ls_writer *w, __u32 tgid, const struct ls_maps_line *lines,
			   size_t nr)
{
	union {
		struct ls_build_id b;
		char raw[sizeof(struct ls_build_id) + PATH_MAX + 8];
	} u;
	int err = 0;

	for (size_t i = 0; i < nr && !err; i++) {
		if (!ls_maps_line_file_start(&lines[i]))
			continue;
		u.b = (struct ls_build_id){ 0 };
		u.b.len = build_id_of(tgid, &lines[i], u.b.id);
		if (u.b.len)
			err = put_with_path(w, &u, sizeof(u.b), LS_REC_BUILD_ID, tgid,
					    lines[i].path);
	}
	return err;
}

bool ls_maps_line_file_start(const struct ls_maps_line *m)
{
	return !m->pgoff && m->inode && m->path[0] == '/';
}

int ls_procmaps_read(__u32 tgid, char **text, struct ls_maps_line **lines, size_t *nr)
{
	int err;

	*text = NULL;
	*lines = NULL;
	*nr = 0;
	err = read_maps(tgid, text);
	if (!err)
		err = parse_maps(*text, lines, nr);
	/* A zombie's map is empty: its memory is gone already. */
	if (!err && !*nr)
		err = -ESRCH;
	if (err) {
		free(*lines);
		free(*text);
		*text = NULL;
		*lines = NULL;
	}
	return err;
}

int ls_procmaps_write(struct ls_writer *w, __u32 tgid, __u64 ts)
{
	struct ls_maps_line *lines;
	char *text;
	size_t nr;
	int err;

	err = ls_procmaps_read(tgid, &text, &lines, &nr);
	if (!err)
		err = write_maps(w, tgid, ts, lines, nr);
	if (!err)
		err = write_build_ids(w, tgid, lines, nr);
	free(lines);
	free(text);
	return err;
}
