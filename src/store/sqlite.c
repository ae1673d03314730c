/*
 * sqlite.c — the embedded store engine (one node).
 *
 * Statements are prepared once per connection and kept.  Writers run on
 * the store's writer connection, one at a time (e_one_writer: engine.c),
 * before SQLite's own lock (BEGIN IMMEDIATE), both bounded by the busy
 * timeout from config, so a transaction never meets a serialization
 * failure and is never retried, and a writer of this process never sleeps
 * in SQLite's busy handler; the handler is left for another process (the
 * CLI) holding the lock.
 * Each writing transaction declares its durability: durable records or
 * short-lived login state (see store.h).  Every connection runs at
 * `synchronous = NORMAL`, whose COMMIT writes the WAL without syncing it;
 * a durable transaction is synced after the writers' turn, one fdatasync
 * shared by the commits that wait at the same time (group commit:
 * sqlite_tx_mark, sqlite_tx_sync, sqlite_vfs.c).  So the connection never
 * switches `PRAGMA synchronous` between classes (a read lock each), and
 * the sync no longer holds the write lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

#define NEW_DB_PAGE_SIZE "2048" /* bytes; see sqlite_open */
#define WAL_CHECKPOINT_BYTES (4 << 20) /* see sqlite_checkpoint_every */

struct sqlite_stmt {
	struct stmt ss_base;
	sqlite3_stmt *ss_stmt;
};

/* The transaction statements, prepared once per connection like the
 * others: parsing them again on every transaction was 15 % of a login's
 * instructions (callgrind, docs/performance.md). */
enum tx_stmt { TX_BEGIN, TX_COMMIT, TX_ROLLBACK, TX_COUNT };

static const char *const tx_sql[TX_COUNT] = {
	[TX_BEGIN] = "BEGIN IMMEDIATE",
	[TX_COMMIT] = "COMMIT",
	[TX_ROLLBACK] = "ROLLBACK",
};

struct sqlite_conn {
	sqlite3 *sc_db;
	struct sqlite_stmt sc_stmt[Q_COUNT];
	sqlite3_stmt *sc_tx[TX_COUNT];
};

static struct sqlite_conn *
sc_of(struct conn *c)
{
	return c->cn_impl;
}

static sqlite3_stmt *
raw(struct stmt *s)
{
	return ((struct sqlite_stmt *)s)->ss_stmt;
}

/* The library's process-wide settings, before its first use.  Without
 * memory statistics every sqlite3_malloc and free of every connection goes
 * through one global mutex: futex calls when the pool's threads meet
 * (SQLITE_CONFIG_MEMSTATUS, docs/performance.md).  When the library was
 * initialized already, sqlite3_config refuses and the default stays. */
static void
sqlite_configure(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* SQLite checkpoints when the WAL holds 1000 pages by default: 4 MiB of
 * 4 KiB pages but only 2 MiB of 2 KiB ones, which doubled the checkpoints
 * and copied more frames of a page overwritten between them (+2.5 pread
 * and +2.3 pwrite per trivial login).  So the same bytes, whatever the
 * page size. */
static int
sqlite_checkpoint_every(sqlite3 *db)
{
	sqlite3_stmt *st;
	int page = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) != SQLITE_OK)
		return SL_ESTORE;
	if (sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (page < 512)
		return SL_ESTORE;
	return sqlite3_wal_autocheckpoint(db, WAL_CHECKPOINT_BYTES / page) == SQLITE_OK ? SL_OK : SL_ESTORE;
}

static int
sqlite_open(struct conn *c, const struct store_options *opts, struct sl_err *err)
{
	static pthread_once_t configured = PTHREAD_ONCE_INIT;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	struct sqlite_conn *sc;

	pthread_once(&configured, sqlite_configure);
	sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	c->cn_impl = sc;
	if (opts->so_path == NULL)
		return sl_fail(err, SL_EINVAL, "no database path ([store] path)");
	if (sqlite3_open_v2(opts->so_path, &sc->sc_db, flags, sqlite_wal_vfs()) != SQLITE_OK)
		return sl_fail(err, SL_ESTORE, "cannot open database %s: %s", opts->so_path,
			sc->sc_db ? sqlite3_errmsg(sc->sc_db) : "out of memory");
	sqlite3_busy_timeout(sc->sc_db, opts->so_busy_timeout_ms);
	sqlite3_extended_result_codes(sc->sc_db, 0);
	/* A new database gets 2 KiB pages: a login's inserts land on random
	 * index pages, each written whole to the WAL, checksummed and later
	 * checkpointed, so half the page is about 40 % fewer bytes and
	 * checksum instructions per login (docs/performance.md, the sixth
	 * round).  An existing database keeps its page size (a no-op then). */
	if (c->cn_engine->e_exec(c, "PRAGMA page_size = " NEW_DB_PAGE_SIZE) != SL_OK ||
		c->cn_engine->e_exec(c, "PRAGMA journal_mode = WAL") != SL_OK ||
		c->cn_engine->e_exec(c, "PRAGMA foreign_keys = ON") != SL_OK ||
		c->cn_engine->e_exec(c, "PRAGMA synchronous = NORMAL") != SL_OK ||
		sqlite_checkpoint_every(sc->sc_db) != SL_OK)
		return sl_fail(err, SL_ESTORE, "cannot configure database %s", opts->so_path);
	return SL_OK;
}

static void
sqlite_close(struct conn *c)
{
	struct sqlite_conn *sc = sc_of(c);

	if (sc == NULL)
		return;
	for (int q = 0; q < Q_COUNT; q++)
		sqlite3_finalize(sc->sc_stmt[q].ss_stmt);
	for (int t = 0; t < TX_COUNT; t++)
		sqlite3_finalize(sc->sc_tx[t]);
	/* The last close checkpoints the WAL into the main file. */
	if (sqlite3_close(sc->sc_db) != SQLITE_OK)
		log_error("database close failed");
	free(sc);
	c->cn_impl = NULL;
}

static int
sqlite_migrate(sqlite3 *db, struct sl_err *err)
{
	const int latest = STORE_SCHEMA_VERSION;
	sqlite3_stmt *st;
	char *msg = NULL;
	int version = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sl_fail(err, SL_ESTORE, "cannot read schema version: %s", sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > latest)
		return sl_fail(err, SL_ESTORE,
			"the database has schema version %d but this sleutel knows only up to %d; "
			"run a newer sleutel",
			version, latest);
	/* A migration is durable at its COMMIT (it runs before any writer,
	 * outside group commit); the connection is NORMAL again after. */
	if (version < latest && sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
		return sl_fail(err, SL_ESTORE, "cannot configure the migration: %s", sqlite3_errmsg(db));
	for (int v = version; v < latest; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, store_schema_sqlite[v], NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			sl_fail(err, SL_ESTORE, "migration to version %d failed: %s", v + 1, msg ? msg : "unknown");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return SL_ESTORE;
		}
		log_info("database migrated to schema version %d", v + 1);
	}
	if (version < latest && sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
		return sl_fail(err, SL_ESTORE, "cannot configure the database: %s", sqlite3_errmsg(db));
	return SL_OK;
}

static int
sqlite_migrate_conn(struct conn *c, struct sl_err *err)
{
	return sqlite_migrate(sc_of(c)->sc_db, err);
}

static int
sqlite_schema_version(struct conn *c, int *version)
{
	sqlite3_stmt *s;
	int rc = SL_ESTORE;

	if (sqlite3_prepare_v2(sc_of(c)->sc_db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW) {
			*version = sqlite3_column_int(s, 0);
			rc = SL_OK;
		}
		sqlite3_finalize(s);
	}
	return rc;
}

static struct stmt *
sqlite_prepare(struct conn *c, enum stmt_id id, const char *sql)
{
	struct sqlite_conn *sc = sc_of(c);
	struct sqlite_stmt *s = &sc->sc_stmt[id];

	if (s->ss_stmt == NULL) {
		if (sqlite3_prepare_v3(sc->sc_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->ss_stmt, NULL) != SQLITE_OK) {
			log_error("%s", sqlite3_errmsg(sc->sc_db));
			return NULL;
		}
		s->ss_base.s_conn = c;
	}
	sqlite3_reset(s->ss_stmt);
	sqlite3_clear_bindings(s->ss_stmt);
	return &s->ss_base;
}

/* The value is bound where it is, not copied (SQLITE_STATIC): SQLite
 * reads it only while the statement steps, and every step of the store
 * runs in the function that bound its values, from the caller's strings
 * that outlive the call; the next use of the statement unbinds it first
 * (sqlite_prepare).  A copy (SQLITE_TRANSIENT) was a malloc, a memcpy and
 * a free per value, about 59 a trivial login (docs/performance.md, the
 * eighth round). */
static void
sqlite_bind_text(struct stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(raw(s), i);
	else if (sqlite3_bind_text(raw(s), i, v, -1, SQLITE_STATIC) == SQLITE_NOMEM)
		s->s_lost = true; /* left NULL: the step must not run (step_*) */
}

static void
sqlite_bind_int(struct stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(raw(s), i, v);
}

static int
sqlite_step(struct stmt *s)
{
	int r = sqlite3_step(raw(s));

	if (r == SQLITE_ROW)
		return SL_OK;
	if (r == SQLITE_DONE)
		return SL_ENOTFOUND;
	if (r == SQLITE_CONSTRAINT)
		return SL_ECONFLICT;
	log_error("step failed: %s", sqlite3_errmsg(sc_of(s->s_conn)->sc_db));
	return SL_ESTORE;
}

static void
sqlite_reset(struct stmt *s)
{
	sqlite3_reset(raw(s));
}

static const char *
sqlite_col_str(struct stmt *s, int i)
{
	return (const char *)sqlite3_column_text(raw(s), i);
}

static int64_t
sqlite_col_int(struct stmt *s, int i)
{
	return sqlite3_column_int64(raw(s), i);
}

static int
sqlite_changes(struct conn *c)
{
	return sqlite3_changes(sc_of(c)->sc_db);
}

static int
sqlite_exec(struct conn *c, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(sc_of(c)->sc_db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return SL_ESTORE;
	}
	return SL_OK;
}

/* Run one of the transaction statements, prepared on first use. */
static int
tx_stmt_run(struct sqlite_conn *sc, enum tx_stmt t)
{
	int r;

	if (sc->sc_tx[t] == NULL && sqlite3_prepare_v3(sc->sc_db, tx_sql[t], -1, SQLITE_PREPARE_PERSISTENT,
					    &sc->sc_tx[t], NULL) != SQLITE_OK) {
		log_error("%s: %s", tx_sql[t], sqlite3_errmsg(sc->sc_db));
		return SL_ESTORE;
	}
	r = sqlite3_step(sc->sc_tx[t]);
	sqlite3_reset(sc->sc_tx[t]);
	if (r == SQLITE_DONE || r == SQLITE_ROW)
		return SL_OK;
	log_error("%s: %s", tx_sql[t], sqlite3_errmsg(sc->sc_db));
	return SL_ESTORE;
}

/* Begin a write transaction; its durability is settled after COMMIT. */
static int
sqlite_tx_begin(struct conn *c, enum durability d, bool one_statement)
{
	(void)d;
	(void)one_statement; /* writers take turns in engine.c anyway */
	return tx_stmt_run(sc_of(c), TX_BEGIN);
}

static int
sqlite_tx_end(struct conn *c, bool commit)
{
	struct sqlite_conn *sc = sc_of(c);
	int rc = commit ? SL_ESTORE : SL_OK;

	if (commit && tx_stmt_run(sc, TX_COMMIT) == SL_OK)
		rc = SL_OK;
	/* A failed COMMIT leaves the transaction open: roll it back. */
	else if (!sqlite3_get_autocommit(sc->sc_db))
		tx_stmt_run(sc, TX_ROLLBACK);
	return rc;
}

/* A durable commit's place in the WAL, on the writers' turn. */
static int
sqlite_tx_mark(struct conn *c, struct wal_mark *m)
{
	int r = sqlite_wal_mark(sc_of(c)->sc_db, m);

	if (r == SQLITE_OK)
		return SL_OK;
	log_error("a durable commit could not be synced (SQLite error %d)", r);
	return SL_ESTORE;
}

/* After the turn: until a sync of the WAL covers the mark. */
static int
sqlite_tx_sync(const struct wal_mark *m)
{
	int r = sqlite_wal_sync_to(m);

	if (r == SQLITE_OK)
		return SL_OK;
	log_error("a durable commit could not be synced (SQLite error %d)", r);
	return SL_ESTORE;
}

const struct engine store_engine_sqlite = {
	.e_name = "sqlite",
	.e_one_writer = true,
	.e_open = sqlite_open,
	.e_close = sqlite_close,
	.e_migrate = sqlite_migrate_conn,
	.e_schema_version = sqlite_schema_version,
	.e_prepare = sqlite_prepare,
	.e_bind_text = sqlite_bind_text,
	.e_bind_int = sqlite_bind_int,
	.e_step = sqlite_step,
	.e_reset = sqlite_reset,
	.e_col_str = sqlite_col_str,
	.e_col_int = sqlite_col_int,
	.e_changes = sqlite_changes,
	.e_exec = sqlite_exec,
	.e_tx_begin = sqlite_tx_begin,
	.e_tx_end = sqlite_tx_end,
	.e_tx_mark = sqlite_tx_mark,
	.e_tx_sync = sqlite_tx_sync,
};
