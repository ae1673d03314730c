/*
 * backup.c — `sleutel backup DEST` and `sleutel restore SRC` for the SQLite
 * store.
 *
 * Backup uses SQLite's online backup API while sleuteld runs and writes:
 * one sqlite3_backup_step(-1) copies every page inside a single read
 * transaction, and in WAL mode a reader neither blocks the writers nor
 * sees their later commits, so the copy is the database as it was at one
 * commit, with everything committed before the backup started.  The copy
 * is written to DEST.partial, switched to journal_mode DELETE (one
 * self-contained file), checked with PRAGMA integrity_check, synced and
 * only then renamed to DEST: a DEST that exists is a whole, checked backup.
 *
 * Restore replaces the store's contents with SRC's, only while no sleuteld
 * serves the file: sleuteld holds an exclusive flock on <db>-node.lock
 * (store/notify.c) for as long as it runs, so restore takes that lock
 * itself (refused when it cannot) and keeps it until it is done, and a
 * sleuteld started meanwhile refuses to start.  SRC must pass
 * integrity_check and carry a schema this sleutel knows; the database
 * being replaced is first backed up beside it (<db>.pre-restore-<time>).
 * The copy goes through the backup API into the live file, so SQLite's own
 * locking and journal make it all or nothing, WAL and all.
 *
 * PostgreSQL has its own tools: both commands say which and exit 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli.h"
#include "rostore.h"

#define NODE_LOCK_SUFFIX "-node.lock" /* as store/notify.c */
#define BACKUP_BUSY_TRIES 600 /* x 50 ms: a writer's lock for up to 30 s */
#define BACKUP_BUSY_MS 5000 /* sqlite3_busy_timeout of its connections */
#define RESTORE_KEEP_MAX 100 /* copies kept per second of restores */

static void
backup_usage(void)
{
	printf("usage: sleutel [--config FILE] backup DEST\n"
	       "       sleutel [--config FILE] restore SRC\n"
	       "\nbackup copies the SQLite store to DEST (a new file) while sleuteld runs, with SQLite's\n"
	       "online backup API; the copy is checked with PRAGMA integrity_check before it is named DEST.\n"
	       "restore replaces the store with SRC (a backup); sleuteld must be stopped.  The database\n"
	       "replaced is kept as <path>.pre-restore-<time>.  On PostgreSQL use pg_dump and pg_restore\n"
	       "(docs/operator.md).\n");
}

/* Copy every page of `src` into `dst` in one step; waits out a writer's
 * lock (SQLITE_BUSY / SQLITE_LOCKED) for up to BACKUP_BUSY_TRIES x 50 ms. */
static int
copy_db(sqlite3 *dst, sqlite3 *src, struct sl_err *err)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc, tries = 0;

	if (b == NULL)
		return sl_fail(err, SL_ESTORE, "cannot start the copy: %s", sqlite3_errmsg(dst));
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
	} while ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_OK) && ++tries < BACKUP_BUSY_TRIES);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return sl_fail(err, SL_ESTORE, "the copy failed: %s", sqlite3_errstr(rc));
	if (sqlite3_errcode(dst) != SQLITE_OK && sqlite3_errcode(dst) != SQLITE_DONE)
		return sl_fail(err, SL_ESTORE, "the copy failed: %s", sqlite3_errmsg(dst));
	return SL_OK;
}

/* PRAGMA integrity_check says "ok", and the schema version is known. */
static int
verify_db(sqlite3 *db, const char *name, int *version, struct sl_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc = SL_OK;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, NULL) != SQLITE_OK ||
		sqlite3_step(st) != SQLITE_ROW)
		rc = sl_fail(err, SL_ESTORE, "%s: cannot check integrity: %s", name, sqlite3_errmsg(db));
	else if ((res = (const char *)sqlite3_column_text(st, 0)) == NULL || strcmp(res, "ok") != 0)
		rc = sl_fail(err, SL_ESTORE, "%s: integrity_check failed: %s", name, res ? res : "?");
	sqlite3_finalize(st);
	if (rc != SL_OK)
		return rc;
	*version = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (*version < 1 || *version > STORE_SCHEMA_VERSION)
		return sl_fail(err, SL_EINVAL,
			"%s: schema version %d is not a sleutel store this sleutel knows (1 to %d)", name, *version,
			STORE_SCHEMA_VERSION);
	return SL_OK;
}

static int
open_db(const char *path, int flags, sqlite3 **db, struct sl_err *err)
{
	*db = NULL;
	if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
		sl_fail(err, SL_ESTORE, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return SL_ESTORE;
	}
	sqlite3_busy_timeout(*db, BACKUP_BUSY_MS);
	return SL_OK;
}

/* fsync a file, or the directory holding `path`. */
static int
sync_path(const char *path, bool dir)
{
	char buf[PATH_MAX];
	int fd, rc;

	if (dir && sl_strlcpy(buf, path, sizeof(buf)) >= sizeof(buf))
		return SL_EIO;
	fd = open(dir ? dirname(buf) : path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SL_EIO;
	rc = fsync(fd) == 0 ? SL_OK : SL_EIO;
	close(fd);
	return rc;
}

/* `src` copied into the database file `path` (made when missing), put in
 * journal mode `journal` and checked; `name` is what messages call it. */
static int
copy_into(sqlite3 *src, const char *path, const char *journal, const char *name, int *version, struct sl_err *err)
{
	char pragma[64];
	sqlite3 *dst = NULL;
	int rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &dst, err);

	/* Out of WAL first: SQLite's backup into a WAL database needs equal
	 * page sizes, and a store made before 2 KiB pages has 4 KiB ones
	 * (sqlite.c).  In rollback mode the copy takes SRC's page size, still
	 * all or nothing; a new file is in that mode already. */
	if (rc == SL_OK && sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
		rc = sl_fail(err, SL_ESTORE, "%s: %s", name, sqlite3_errmsg(dst));
	if (rc == SL_OK)
		rc = copy_db(dst, src, err);
	snprintf(pragma, sizeof(pragma), "PRAGMA journal_mode = %s", journal);
	if (rc == SL_OK && sqlite3_exec(dst, pragma, NULL, NULL, NULL) != SQLITE_OK)
		rc = sl_fail(err, SL_ESTORE, "%s: %s", name, sqlite3_errmsg(dst));
	if (rc == SL_OK)
		rc = verify_db(dst, name, version, err);
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK && rc == SL_OK)
		rc = sl_fail(err, SL_ESTORE, "%s: cannot close", name);
	return rc;
}

/* The database `src_path` copied into the new file `dest`, checked. */
static int
backup_file(const char *src_path, const char *dest, int *version, struct sl_err *err)
{
	char tmp[PATH_MAX];
	sqlite3 *src = NULL;
	int rc;

	if (access(dest, F_OK) == 0)
		return sl_fail(err, SL_ECONFLICT, "%s exists already: choose a new name", dest);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial", dest) >= sizeof(tmp))
		return sl_fail(err, SL_EINVAL, "%s: name too long", dest);
	unlink(tmp); /* what a backup interrupted before left */
	rc = rostore_sqlite_open(src_path, BACKUP_BUSY_MS, &src, err);
	/* One self-contained file: no -wal beside it. */
	if (rc == SL_OK)
		rc = copy_into(src, tmp, "DELETE", dest, version, err);
	sqlite3_close(src);
	if (rc == SL_OK && (sync_path(tmp, false) != SL_OK || rename(tmp, dest) != 0 || sync_path(dest, true) != SL_OK))
		rc = sl_fail(err, SL_EIO, "%s: %s", dest, strerror(errno));
	if (rc != SL_OK)
		unlink(tmp);
	return rc;
}

/* The configuration's store, which must be SQLite; NULL after the message
 * (and *code the exit status) otherwise. */
static struct sl_config *
sqlite_conf(const char *config, const char *cmd, int *code)
{
	struct sl_err err = { 0 };
	struct sl_config *conf = config_load(config, &err);

	*code = CLI_FAIL;
	if (conf == NULL) {
		cli_error("%s", err.msg);
		return NULL;
	}
	if (strcmp(conf->c_store_engine, "sqlite") != 0) {
		cli_error("%s: the store is on PostgreSQL: use pg_dump --format=custom for a backup and pg_restore "
			  "into an empty database to restore (docs/operator.md, \"On PostgreSQL\")",
			cmd);
		config_free(conf);
		*code = CLI_USAGE;
		return NULL;
	}
	return conf;
}

static int
cli_backup_run(const char *config, const char *dest)
{
	struct sl_err err = { 0 };
	struct sl_config *conf;
	int code, version = 0, rc;

	if ((conf = sqlite_conf(config, "backup", &code)) == NULL)
		return code;
	if (access(conf->c_store_path, R_OK) != 0) {
		cli_error("backup: %s: %s", conf->c_store_path, strerror(errno));
		config_free(conf);
		return CLI_FAIL;
	}
	rc = backup_file(conf->c_store_path, dest, &version, &err);
	config_free(conf);
	if (rc != SL_OK)
		return cli_error("backup: %s", err.msg);
	printf("%s: a backup of the store, schema version %d, integrity ok\n", dest, version);
	return CLI_OK;
}

/* sleuteld's node lock on `db`, taken for the restore; -1 when sleuteld
 * holds it (or it cannot be had), after the message. */
static int
node_lock(const char *db)
{
	char path[PATH_MAX];
	int fd, e;

	if ((size_t)snprintf(path, sizeof(path), "%s%s", db, NODE_LOCK_SUFFIX) >= sizeof(path)) {
		cli_error("restore: %s: name too long", db);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cli_error("restore: %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	e = errno;
	close(fd);
	if (e == EWOULDBLOCK)
		cli_error("restore: sleuteld is running on %s (it holds %s): stop it first", db, path);
	else
		cli_error("restore: %s: %s", path, strerror(e));
	return -1;
}

/*
 * A free name for the database about to be replaced: <db>.pre-restore-<time>,
 * then -2, -3 ... when restores follow each other within the second, so that
 * no earlier copy is overwritten and a second restore is not refused for it.
 */
static int
keep_name(const char *db, const char *stamp, char *keep, size_t len, struct sl_err *err)
{
	for (int n = 1; n <= RESTORE_KEEP_MAX; n++) {
		int w = n == 1 ? snprintf(keep, len, "%s.pre-restore-%s", db, stamp)
			       : snprintf(keep, len, "%s.pre-restore-%s-%d", db, stamp, n);
		if (w < 0 || (size_t)w >= len)
			return sl_fail(err, SL_EINVAL, "%s: path too long", db);
		if (access(keep, F_OK) != 0)
			return SL_OK;
	}
	return sl_fail(err, SL_ECONFLICT, "%s.pre-restore-%s: %d copies exist already", db, stamp, RESTORE_KEEP_MAX);
}

/* SRC checked, the current database kept aside, SRC copied in. */
static int
restore_into(const char *db, const char *src_path, struct sl_err *err)
{
	sqlite3 *src = NULL;
	char keep[PATH_MAX], stamp[CLI_TIME_LEN];
	int version = 0, rc;

	rc = open_db(src_path, SQLITE_OPEN_READONLY, &src, err);
	if (rc == SL_OK)
		rc = verify_db(src, src_path, &version, err);
	if (rc == SL_OK && access(db, F_OK) == 0) {
		int old = 0;
		rc = keep_name(db, cli_time(sl_now(), stamp), keep, sizeof(keep), err);
		if (rc == SL_OK)
			rc = backup_file(db, keep, &old, err);
		if (rc == SL_OK)
			fprintf(stderr, "sleutel: the database replaced is kept as %s\n", keep);
	}
	/* sleuteld's mode; the copy is one transaction of the live file. */
	if (rc == SL_OK)
		rc = copy_into(src, db, "WAL", db, &version, err);
	sqlite3_close(src);
	return rc;
}

static int
cli_restore_run(const char *config, const char *src)
{
	struct sl_err err = { 0 };
	struct sl_config *conf;
	int code, lock, rc;

	if ((conf = sqlite_conf(config, "restore", &code)) == NULL)
		return code;
	if (access(src, R_OK) != 0) {
		cli_error("restore: %s: %s", src, strerror(errno));
		config_free(conf);
		return CLI_FAIL;
	}
	lock = node_lock(conf->c_store_path);
	if (lock < 0) {
		config_free(conf);
		return CLI_FAIL;
	}
	rc = restore_into(conf->c_store_path, src, &err);
	close(lock);
	if (rc == SL_OK)
		printf("%s: restored from %s, integrity ok\n", conf->c_store_path, src);
	config_free(conf);
	return rc == SL_OK ? CLI_OK : cli_error("restore: %s", err.msg);
}

int
cli_backup(const char *config, const char *cmd, int argc, char **argv)
{
	if (cli_has_flag(argc, argv, "--help")) {
		backup_usage();
		return CLI_OK;
	}
	if (argc != 1 || argv[0][0] == '-' || argv[0][0] == '\0') {
		cli_error(
			"%s: which %s? (see sleutel %s --help)", cmd, strcmp(cmd, "backup") == 0 ? "DEST" : "SRC", cmd);
		return CLI_USAGE;
	}
	return strcmp(cmd, "backup") == 0 ? cli_backup_run(config, argv[0]) : cli_restore_run(config, argv[0]);
}
