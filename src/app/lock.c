/*
 * lock.c — every write of the state file is a read-modify-write under an
 * exclusive lock, so two processes (or two handles) on one file never
 * write back an old copy over a newer one.
 *
 * The lock is flock(LOCK_EX) on "<state>.lock" (mode 0600), not on the
 * state itself: sl_file_write replaces the state by a rename, so its
 * inode changes with every write.  Under the lock the file is read again,
 * this handle's changes since it last read or wrote the file are merged
 * into what is on disk (per part: the app key, the Smart-ID device), an
 * optional change is applied to the fresh copy (a signature advances the
 * key from the version on disk), the result is written, and only then is
 * the lock released.  A part that both this handle and another writer
 * changed is a conflict: refused, nothing written.
 *
 * A Smart-ID signature keeps the lock (sapp_hold) until its answer was
 * sent: the server takes a version at or below the last it accepted for a
 * clone, so versions must reach it in the order they were used, and a
 * second process must not sign v+2 and answer before v+1 arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "app_int.h"

#define LOCK_POLL_MS 20 /* between two tries for a held lock */
#define APPKEY_PART offsetof(struct sapp_state, st_sid) /* st_sid is the last member */

int
sapp_lock(const char *path, int *fd, struct sl_err *err)
{
	char lpath[4096];
	int64_t deadline = sl_monotonic_ms() + (int64_t)SAPP_LOCK_WAIT * 1000;
	struct timespec nap = { 0, LOCK_POLL_MS * 1000000L };

	*fd = -1;
	if ((size_t)snprintf(lpath, sizeof(lpath), "%s.lock", path) >= sizeof(lpath))
		return sl_fail(err, SL_EINVAL, "state path too long");
	*fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (*fd < 0)
		return sl_fail(err, SL_EIO, "cannot open %s: %s", lpath, strerror(errno));
	while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || sl_monotonic_ms() >= deadline) {
			int e = errno;
			close(*fd);
			*fd = -1;
			if (e == EWOULDBLOCK)
				return sl_fail(err, SL_EBUSY,
					"%s is locked: another sleutel-app has been using it for %d s; try again", path,
					SAPP_LOCK_WAIT);
			return sl_fail(err, SL_EIO, "cannot lock %s: %s", lpath, strerror(e));
		}
		nanosleep(&nap, NULL);
	}
	return SL_OK;
}

void
sapp_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* `st` as the file would hold it: formatted and parsed again, so it
 * compares byte for byte with a state read from disk. */
static int
normalise(const struct sapp_state *st, struct sapp_state *out, struct sl_err *err)
{
	char *text = sapp_state_format(st, err);
	int rc;

	if (text == NULL)
		return err && err->code ? err->code : SL_ERR;
	rc = sapp_state_parse(text, strlen(text), out, err);
	sapp_state_free_text(text);
	return rc;
}

/* Take this handle's change of one part (`off`, `len` bytes of the
 * state) into `disk`, unless another writer changed that part too. */
static int
merge_part(const struct sapp_state *base, const struct sapp_state *cur, struct sapp_state *disk, size_t off, size_t len,
	const char *what, struct sl_err *err)
{
	const char *b = (const char *)base + off, *c = (const char *)cur + off;
	char *d = (char *)disk + off;

	if (memcmp(c, b, len) == 0 || memcmp(c, d, len) == 0)
		return SL_OK; /* unchanged here (take the disk's), or the same change */
	if (memcmp(d, b, len) != 0)
		return sl_fail(err, SL_ECONFLICT,
			"the state file's %s changed since this app read it (another sleutel-app?): nothing saved, "
			"try again",
			what);
	memcpy(d, c, len);
	return SL_OK;
}

static int
merge(const struct sapp_state *base, const struct sapp_state *cur, struct sapp_state *disk, struct sl_err *err)
{
	int rc = merge_part(base, cur, disk, 0, APPKEY_PART, "app key", err);

	if (rc == SL_OK)
		rc = merge_part(base, cur, disk, APPKEY_PART, sizeof(struct sapp_sid_state), "Smart-ID device", err);
	return rc;
}

/* A transport key as `pem` says, loaded again only when it changed. */
static int
reload_tk(const char *was, const char *pem, struct sapp_transport *tk, struct sl_err *err)
{
	struct sapp_transport fresh = { 0 };
	int rc;

	if (strcmp(was, pem) == 0 && (pem[0] == '\0' || tk->tk_pkey != NULL))
		return SL_OK;
	if (pem[0] != '\0' && (rc = sapp_transport_load(pem, &fresh, err)) != SL_OK)
		return rc;
	sapp_transport_clear(tk);
	*tk = fresh;
	return SL_OK;
}

/* The handle now holds what was written. */
static int
adopt(struct sapp *app, const struct sapp_state *disk, struct sl_err *err)
{
	int rc;

	if ((rc = reload_tk(app->sa_st.st_transport_key, disk->st_transport_key, &app->sa_tk, err)) != SL_OK ||
		(rc = reload_tk(app->sa_st.st_sid.ss_transport_key, disk->st_sid.ss_transport_key, &app->sa_sid_tk,
			 err)) != SL_OK)
		return rc;
	app->sa_st = *disk;
	*app->sa_base = *disk;
	return SL_OK;
}

static void
state_free(struct sapp_state *st)
{
	if (st != NULL)
		OPENSSL_cleanse(st, sizeof(*st));
	free(st);
}

int
sapp_hold(struct sapp *app, struct sl_err *err)
{
	return app->sa_lock >= 0 ? SL_OK : sapp_lock(app->sa_path, &app->sa_lock, err);
}

void
sapp_release(struct sapp *app)
{
	sapp_unlock(app->sa_lock);
	app->sa_lock = -1;
}

int
sapp_commit(struct sapp *app, sapp_apply_fn fn, void *ctx, struct sl_err *err)
{
	struct sapp_state *cur = malloc(sizeof(*cur)), *disk = malloc(sizeof(*disk));
	bool held = app->sa_lock >= 0; /* sapp_hold: use it, keep it */
	int fd = app->sa_lock, rc;

	if (cur == NULL || disk == NULL) {
		rc = sl_fail(err, SL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = normalise(&app->sa_st, cur, err)) != SL_OK ||
		(!held && (rc = sapp_lock(app->sa_path, &fd, err)) != SL_OK))
		goto out;
	if ((rc = sapp_state_load(app->sa_path, disk, err)) != SL_OK ||
		(rc = merge(app->sa_base, cur, disk, err)) != SL_OK ||
		(fn != NULL && (rc = fn(app, disk, ctx, err)) != SL_OK) ||
		(rc = sapp_state_save(app->sa_path, disk, err)) != SL_OK)
		goto out;
	rc = adopt(app, disk, err);
out:
	if (!held)
		sapp_unlock(fd);
	state_free(cur);
	state_free(disk);
	return rc;
}

int
sapp_commit_new(struct sapp *app, struct sl_err *err)
{
	struct sapp_state *cur = malloc(sizeof(*cur));
	struct stat sb;
	int fd = -1, rc;

	if (cur == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if ((rc = normalise(&app->sa_st, cur, err)) != SL_OK || (rc = sapp_lock(app->sa_path, &fd, err)) != SL_OK)
		goto out;
	if (lstat(app->sa_path, &sb) == 0)
		rc = sl_fail(err, SL_ECONFLICT, "%s exists already", app->sa_path);
	else if ((rc = sapp_state_save(app->sa_path, cur, err)) == SL_OK)
		rc = adopt(app, cur, err);
out:
	sapp_unlock(fd);
	state_free(cur);
	return rc;
}
