/*
 * rostore — the store opened read-only by the operator's checks
 * (check-config, backup), without store_open: store_open migrates a
 * database that is behind, and a check must never write.  SQLite is opened
 * with PRAGMA query_only, PostgreSQL with default_transaction_read_only.  Only for a handful of catalogue queries;
 * everything else goes through store.h.
 */
#ifndef SL_CLI_ROSTORE_H
#define SL_CLI_ROSTORE_H

#include <stdint.h>

#include <sqlite3.h>

#include "../config/config.h"

struct rostore;

/* Open the store `conf` names; NULL with `err` filled.  A SQLite file that
 * does not exist is an error (SL_ENOTFOUND), not a new database. */
struct rostore *rostore_open(const struct sl_config *conf, struct sl_err *err);
void rostore_close(struct rostore *rs);
/* An existing SQLite store opened for reading only (PRAGMA query_only).
 * Not SQLITE_OPEN_READONLY: a read-only connection that is the last one on
 * a WAL database leaves its -wal and -shm files behind, owned by whoever ran
 * the command, which a sleuteld running as another user then cannot open;
 * this one removes them at close as sleuteld does.  *db is NULL on error. */
int rostore_sqlite_open(const char *path, int busy_ms, sqlite3 **db, struct sl_err *err);
/* The schema version the store records (0: an empty database). */
int rostore_schema_version(struct rostore *rs, int *version, struct sl_err *err);
/* Run `sql` (no parameters) and hand the first column of each row, as
 * text, to fn until it returns non-zero (returned). */
int rostore_each(
	struct rostore *rs, const char *sql, int (*fn)(const char *value, void *arg), void *arg, struct sl_err *err);

#endif
