/*
 * testutil.h — small file-system helpers the C unit tests share: a private
 * temporary directory per test, paths inside it, and files written whole.
 *
 * Header-only (static inline), so that a test includes it by path and the
 * build needs no extra library; every function returns an error rather
 * than asserting, so that fixtures (which must return -1, not fail) can
 * use it too.
 */
#ifndef SL_TESTUTIL_H
#define SL_TESTUTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* nftw callback: remove each entry; with FTW_DEPTH a directory's contents
 * go before the directory itself. */
static inline int
tu_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove `dir` and everything below it, without following links. */
static inline int
tu_rm_tree(const char *dir)
{
	return nftw(dir, tu_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh, private directory "/tmp/<prefix>-XXXXXX"; the caller frees the
 * name (after tu_rm_tree).  NULL when it cannot be made. */
static inline char *
tu_tmpdir(const char *prefix)
{
	size_t len = strlen("/tmp/") + strlen(prefix) + strlen("-XXXXXX") + 1;
	char *dir = malloc(len);

	if (dir == NULL)
		return NULL;
	snprintf(dir, len, "/tmp/%s-XXXXXX", prefix);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* "<dir>/<name>" in memory the caller frees; NULL when out of memory. */
static inline char *
tu_path(const char *dir, const char *name)
{
	size_t len = strlen(dir) + 1 + strlen(name) + 1;
	char *path = malloc(len);

	if (path != NULL)
		snprintf(path, len, "%s/%s", dir, name);
	return path;
}

/* Write `len` bytes to `path`, replacing what was there: 0 or -1. */
static inline int
tu_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

static inline int
tu_write_text(const char *path, const char *text)
{
	return tu_write_file(path, text, strlen(text));
}

#endif /* SL_TESTUTIL_H */
