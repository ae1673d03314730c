/* rostore.c — read-only access to either engine (rostore.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "rostore.h"

struct rostore {
	sqlite3 *rs_db; /* sqlite */
	PGconn *rs_pg; /* postgresql */
};

int
rostore_sqlite_open(const char *path, int busy_ms, sqlite3 **db, struct sl_err *err)
{
	struct stat sb;

	*db = NULL;
	if (stat(path, &sb) != 0)
		return sl_fail(err, errno == ENOENT ? SL_ENOTFOUND : SL_EIO, "%s: %s", path, strerror(errno));
	if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		sl_fail(err, SL_ESTORE, "cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "out of memory");
		sqlite3_close(*db);
		*db = NULL;
		return SL_ESTORE;
	}
	sqlite3_busy_timeout(*db, busy_ms);
	if (sqlite3_exec(*db, "PRAGMA query_only = ON", NULL, NULL, NULL) != SQLITE_OK) {
		sl_fail(err, SL_ESTORE, "%s: %s", path, sqlite3_errmsg(*db));
		sqlite3_close(*db);
		*db = NULL;
		return SL_ESTORE;
	}
	return SL_OK;
}

static int
ro_open_pg(struct rostore *rs, const char *conninfo, struct sl_err *err)
{
	/* expand_dbname: the conninfo's own settings win over the defaults
	 * listed before it (docs/config.md: connect_timeout defaults to 10). */
	const char *const keys[] = { "connect_timeout", "options", "dbname", NULL };
	const char *const vals[] = { "10", "-c default_transaction_read_only=on", conninfo, NULL };

	rs->rs_pg = PQconnectdbParams(keys, vals, 1);
	if (rs->rs_pg == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (PQstatus(rs->rs_pg) != CONNECTION_OK) {
		/* libpq's message ends with a newline; it never holds the password. */
		sl_fail(err, SL_ESTORE, "cannot connect to PostgreSQL: %s", PQerrorMessage(rs->rs_pg));
		err->msg[strcspn(err->msg, "\n")] = '\0';
		return SL_ESTORE;
	}
	return SL_OK;
}

struct rostore *
rostore_open(const struct sl_config *conf, struct sl_err *err)
{
	struct rostore *rs = calloc(1, sizeof(*rs));
	int rc;

	if (rs == NULL) {
		sl_fail(err, SL_ENOMEM, "out of memory");
		return NULL;
	}
	if (strcmp(conf->c_store_engine, "postgresql") == 0)
		rc = ro_open_pg(rs, conf->c_store_conninfo, err);
	else
		rc = rostore_sqlite_open(conf->c_store_path, conf->c_store_busy_timeout_ms, &rs->rs_db, err);
	if (rc != SL_OK) {
		rostore_close(rs);
		return NULL;
	}
	return rs;
}

void
rostore_close(struct rostore *rs)
{
	if (rs == NULL)
		return;
	if (rs->rs_db != NULL)
		sqlite3_close(rs->rs_db);
	if (rs->rs_pg != NULL)
		PQfinish(rs->rs_pg);
	free(rs);
}

static int
each_sqlite(struct rostore *rs, const char *sql, int (*fn)(const char *, void *), void *arg, struct sl_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = SL_OK, step;

	if (sqlite3_prepare_v2(rs->rs_db, sql, -1, &st, NULL) != SQLITE_OK)
		return sl_fail(err, SL_ESTORE, "%s", sqlite3_errmsg(rs->rs_db));
	while (rc == SL_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
		rc = fn((const char *)sqlite3_column_text(st, 0), arg);
	if (rc == SL_OK && step != SQLITE_DONE)
		rc = sl_fail(err, SL_ESTORE, "%s", sqlite3_errmsg(rs->rs_db));
	sqlite3_finalize(st);
	return rc;
}

static int
each_pg(struct rostore *rs, const char *sql, int (*fn)(const char *, void *), void *arg, struct sl_err *err)
{
	PGresult *res = PQexec(rs->rs_pg, sql);
	int rc = SL_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		sl_fail(err, SL_ESTORE, "%s", PQresultErrorMessage(res));
		err->msg[strcspn(err->msg, "\n")] = '\0';
		PQclear(res);
		return SL_ESTORE;
	}
	for (int i = 0; rc == SL_OK && i < PQntuples(res); i++)
		rc = fn(PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0), arg);
	PQclear(res);
	return rc;
}

int
rostore_each(struct rostore *rs, const char *sql, int (*fn)(const char *, void *), void *arg, struct sl_err *err)
{
	return rs->rs_pg != NULL ? each_pg(rs, sql, fn, arg, err) : each_sqlite(rs, sql, fn, arg, err);
}

static int
version_of(const char *value, void *arg)
{
	*(int *)arg = value != NULL ? atoi(value) : 0;
	return SL_OK;
}

static int
exists_of(const char *value, void *arg)
{
	*(bool *)arg = value != NULL && strcmp(value, "t") == 0;
	return SL_OK;
}

int
rostore_schema_version(struct rostore *rs, int *version, struct sl_err *err)
{
	bool made = false;
	int rc;

	*version = 0;
	if (rs->rs_pg == NULL)
		return rostore_each(rs, "PRAGMA user_version", version_of, version, err);
	/* An empty PostgreSQL database has no schema_version table yet. */
	rc = rostore_each(rs, "SELECT to_regclass('schema_version') IS NOT NULL", exists_of, &made, err);
	if (rc != SL_OK || !made)
		return rc;
	return rostore_each(rs, "SELECT version FROM schema_version", version_of, version, err);
}
