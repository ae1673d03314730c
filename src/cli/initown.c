/*
 * initown.c — `sleutel init --user U --keyholder-user K`, run as root:
 * the installation it just made handed to the two accounts of privilege
 * separation (src/keyholder/keyfiles.c):
 *
 *   DIR            U, group K, 0710   U writes the database; K may pass
 *   DIR/ files     U                  sleutel.ini, the database
 *   DIR/keys, tls  K, 0700, files K   the key holder's alone (sleuteld
 *                                     reads keys/secret and the TLS
 *                                     certificate as root, before it drops)
 *   DIR/pki        U, group K, 0770   sleuteld writes the index; the key
 *                                     holder may make the Smart-ID CA
 *   pki/ .key files K                  every other file there stays U's
 *
 * Only regular files with one link are given away, and never through a
 * symbolic link (fchownat AT_SYMLINK_NOFOLLOW): DIR may have been U's
 * before init ran (tmpfiles.d makes it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* Give dir (owner:group, mode) and its regular files to `files`, or to
 * `keys` for those ending ".key" when keys is set. */
static int
own_dir(int parent, const char *name, uid_t owner, gid_t group, mode_t mode, const struct passwd *files,
	const struct passwd *keys, struct sl_err *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	struct stat st;
	DIR *d;
	int rc = SL_OK;

	if (fd < 0)
		return errno == ENOENT ? SL_OK : sl_fail(err, SL_EIO, "cannot open %s: %s", name, strerror(errno));
	if (fchown(fd, owner, group) != 0 || fchmod(fd, mode) != 0) {
		close(fd);
		return sl_fail(err, SL_EIO, "cannot give %s away: %s", name, strerror(errno));
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return sl_fail(err, SL_EIO, "cannot read %s: %s", name, strerror(errno));
	}
	while (rc == SL_OK && (e = readdir(d)) != NULL) {
		const struct passwd *to = files;
		size_t n = strlen(e->d_name);
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
			continue;
		if (keys != NULL && n > 4 && strcmp(e->d_name + n - 4, ".key") == 0)
			to = keys;
		if (fchownat(fd, e->d_name, to->pw_uid, to->pw_gid, AT_SYMLINK_NOFOLLOW) != 0)
			rc = sl_fail(err, SL_EIO, "cannot give %s/%s away: %s", name, e->d_name, strerror(errno));
	}
	closedir(d);
	return rc;
}

int
cli_init_own(const char *dir, const struct passwd *user, const struct passwd *kh, struct sl_err *err)
{
	int rc = own_dir(AT_FDCWD, dir, user->pw_uid, kh->pw_gid, 0710, user, NULL, err);
	int fd;

	if (rc != SL_OK)
		return rc;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return sl_fail(err, SL_EIO, "cannot open %s: %s", dir, strerror(errno));
	rc = own_dir(fd, "keys", kh->pw_uid, kh->pw_gid, 0700, kh, NULL, err);
	if (rc == SL_OK)
		rc = own_dir(fd, "tls", kh->pw_uid, kh->pw_gid, 0700, kh, NULL, err);
	if (rc == SL_OK)
		rc = own_dir(fd, "pki", user->pw_uid, kh->pw_gid, 0770, user, kh, err);
	close(fd);
	return rc;
}
