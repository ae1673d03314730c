/*
 * keyfiles.c — which private key files sleuteld's own account could read.
 *
 * The key holder keeps the keys out of sleuteld's memory; privilege
 * separation (OpenSSH's, OpenBSD's daemons') keeps them out of its reach
 * too: started as root, sleuteld drops to [server] user and the key holder
 * to [server] keyholder_user, and the key files belong to the latter.
 * Code running in sleuteld then cannot open them, and a compromise ends
 * with a restart, not a key rotation.
 *
 * The files: every file in [keys] dir (the master secret too: sleuteld
 * reads it as root, before it drops), every `*.key` in [pki] dir, each
 * listener's TLS key and every `*.key` beside it (`sleutel init`'s local
 * CA).  A file is readable by uid:gid as the kernel decides for a process
 * without supplementary groups (the drop clears them): the owner's bits
 * when it is the owner, else the group's when it is the group, else the
 * others'.  Symbolic links are followed, as the key holder's open() does.
 *
 * sleuteld refuses to start rather than fix ownership itself: [pki] dir is
 * writable by [server] user, and a root that chowns what it finds there
 * chowns whatever that user linked there.  `sleutel init` and `sleutel
 * keys rotate` give the files they make to keyholder_user; check-config
 * lists every file in the way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyholder.h"
#include "../config/config.h"

struct kf_walk {
	uid_t kw_uid;
	gid_t kw_gid;
	keyholder_file_fn kw_fn;
	void *kw_arg;
	int kw_n;
};

static bool
readable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return (st->st_mode & S_IRUSR) != 0;
	if (st->st_gid == gid)
		return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

static void
kf_one(struct kf_walk *w, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && readable_by(&st, w->kw_uid, w->kw_gid)) {
		w->kw_fn(path, w->kw_arg);
		w->kw_n++;
	}
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The files of dir (those ending in `suffix`; NULL: all).  A directory
 * that is not there holds nothing. */
static int
kf_dir(struct kf_walk *w, const char *dir, const char *suffix, struct sl_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return errno == ENOENT ? SL_OK : sl_fail(err, SL_EIO, "cannot read %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *path;
		if (e->d_name[0] == '.' || (suffix != NULL && !ends_with(e->d_name, suffix)))
			continue;
		if ((path = sl_path_resolve(dir, e->d_name)) == NULL) {
			closedir(d);
			return sl_fail(err, SL_ENOMEM, "out of memory");
		}
		kf_one(w, path);
		free(path);
	}
	closedir(d);
	return SL_OK;
}

/* A listener's TLS key and the `*.key` files beside it. */
static int
kf_tls(struct kf_walk *w, const struct sl_listener_conf *lc, struct sl_err *err)
{
	const char *slash;
	char *dir;
	int rc;

	if (!lc->lc_tls || lc->lc_tls_key == NULL)
		return SL_OK;
	kf_one(w, lc->lc_tls_key);
	slash = strrchr(lc->lc_tls_key, '/');
	dir = slash ? sl_strndup(lc->lc_tls_key, (size_t)(slash - lc->lc_tls_key) + 1) : strdup(".");
	if (dir == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	rc = kf_dir(w, dir, ".key", err);
	free(dir);
	return rc;
}

int
keyholder_files_readable(
	const struct sl_config *conf, uid_t uid, gid_t gid, keyholder_file_fn fn, void *arg, struct sl_err *err)
{
	struct kf_walk w = { uid, gid, fn, arg, 0 };
	int rc = kf_dir(&w, conf->c_keys_dir, NULL, err);

	if (rc == SL_OK && conf->c_pki_dir != NULL)
		rc = kf_dir(&w, conf->c_pki_dir, ".key", err);
	if (rc == SL_OK)
		rc = kf_tls(&w, &conf->c_portal, err);
	if (rc == SL_OK && conf->c_eid_enabled)
		rc = kf_tls(&w, &conf->c_eid, err);
	return rc == SL_OK ? w.kw_n : rc;
}

static void
first_file(const char *path, void *arg)
{
	char *first = arg;

	if (first[0] == '\0')
		sl_strlcpy(first, path, KH_ERRMSG_MAX);
}

int
keyholder_files_check(const struct sl_config *conf, struct sl_err *err)
{
	char first[KH_ERRMSG_MAX] = "";
	struct passwd *pw;
	int n;

	if (geteuid() != 0 || conf->c_user[0] == '\0' || conf->c_keyholder_user[0] == '\0')
		return SL_OK;
	if (strcmp(conf->c_user, conf->c_keyholder_user) == 0)
		return sl_fail(err, SL_EINVAL, "[server] keyholder_user must be another account than [server] user");
	if ((pw = getpwnam(conf->c_user)) == NULL)
		return sl_fail(err, SL_EINVAL, "[server] user %s: no such user", conf->c_user);
	if (pw->pw_uid == 0)
		return sl_fail(err, SL_EINVAL, "[server] user %s is root", conf->c_user);
	n = keyholder_files_readable(conf, pw->pw_uid, pw->pw_gid, first_file, first, err);
	if (n < 0)
		return n;
	if (n > 1)
		return sl_fail(err, SL_EDENIED,
			"[server] user %s could read %s and %d more private key files: chown them to [server] "
			"keyholder_user %s, mode 0600 (sleutel check-config lists them)",
			conf->c_user, first, n - 1, conf->c_keyholder_user);
	if (n == 1)
		return sl_fail(err, SL_EDENIED,
			"[server] user %s could read the private key %s: chown it to [server] keyholder_user %s, "
			"mode 0600",
			conf->c_user, first, conf->c_keyholder_user);
	return SL_OK;
}
