/* file.c — whole-file reads with a limit, atomic durable writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

int
sl_file_read(const char *path, size_t max, char **out, size_t *outlen, struct sl_err *err)
{
	struct sl_buf buf;
	char chunk[4096];
	ssize_t n;
	int fd, rc = SL_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_fail(err, SL_EIO, "cannot open %s: %s", path, strerror(errno));
	sl_buf_init(&buf, max);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		rc = sl_buf_add(&buf, chunk, (size_t)n);
		if (rc != SL_OK)
			break;
	}
	if (n < 0)
		rc = SL_EIO;
	close(fd);
	if (rc != SL_OK) {
		sl_buf_reset(&buf);
		return sl_fail(
			err, rc, "cannot read %s: %s", path, rc == SL_ETOOBIG ? "file too large" : strerror(errno));
	}
	if (outlen != NULL)
		*outlen = buf.b_len;
	*out = sl_buf_take(&buf);
	return *out ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

int
sl_file_write(const char *path, const void *data, size_t len, int mode, struct sl_err *err)
{
	char tmp[4096];
	const char *p = data;
	int fd;

	/* A fresh, exclusive temporary name: never an existing file or a
	 * symbolic link planted there, never shared with another writer. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return sl_fail(err, SL_EINVAL, "path too long: %s", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sl_fail(err, SL_EIO, "cannot create a file beside %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			unlink(tmp);
			return sl_fail(err, SL_EIO, "cannot write %s: %s", tmp, strerror(errno));
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		unlink(tmp);
		return sl_fail(err, SL_EIO, "cannot write %s: %s", tmp, strerror(errno));
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return sl_fail(err, SL_EIO, "cannot rename %s: %s", tmp, strerror(errno));
	}
	return SL_OK;
}

char *
sl_path_resolve(const char *basedir, const char *rel)
{
	struct sl_buf buf;

	if (rel == NULL)
		return NULL;
	if (rel[0] == '/' || basedir == NULL || basedir[0] == '\0')
		return strdup(rel);
	sl_buf_init(&buf, 8192);
	if (sl_buf_addf(&buf, "%s/%s", basedir, rel) != SL_OK) {
		sl_buf_reset(&buf);
		return NULL;
	}
	return sl_buf_take(&buf);
}
