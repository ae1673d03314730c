/*
 * migrations.c — the schema, as numbered steps.  A database is brought to
 * STORE_SCHEMA_VERSION at open, each step in its own transaction; a
 * database whose version is newer than this build knows is refused.
 */
#include "store_int.h"

static const char *const migration_steps[] = {
	/* 1: the foundation */
	"CREATE TABLE persons ("
	" id TEXT PRIMARY KEY, rrn TEXT UNIQUE, given_name TEXT, family_name TEXT,"
	" birthdate TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE clients ("
	" client_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT,"
	" auth_method TEXT NOT NULL, redirect_uris TEXT NOT NULL, post_logout_uris TEXT NOT NULL,"
	" jwks TEXT, id_token_alg TEXT NOT NULL, sector TEXT NOT NULL,"
	" require_par INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE signing_keys ("
	" kid TEXT PRIMARY KEY, alg TEXT NOT NULL, created INTEGER NOT NULL,"
	" use_after INTEGER NOT NULL, retire_after INTEGER NOT NULL);"
	"CREATE TABLE auth_requests ("
	" id TEXT PRIMARY KEY, kind TEXT NOT NULL, client_id TEXT NOT NULL,"
	" params TEXT NOT NULL, browser TEXT, expires INTEGER NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'pending', person_id TEXT, key TEXT, acr TEXT, amr TEXT,"
	" auth_time INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX auth_requests_expires ON auth_requests(expires);"
	"CREATE TABLE codes ("
	" hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,"
	" person_id TEXT NOT NULL, session_id TEXT, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL,"
	" nonce TEXT, challenge TEXT NOT NULL, acr TEXT, amr TEXT, claims TEXT,"
	" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX codes_expires ON codes(expires);"
	"CREATE TABLE tokens ("
	" hash TEXT PRIMARY KEY, kind TEXT NOT NULL, grant_id TEXT NOT NULL, client_id TEXT NOT NULL,"
	" person_id TEXT NOT NULL, session_id TEXT, scope TEXT NOT NULL, acr TEXT, amr TEXT,"
	" claims TEXT, auth_time INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX tokens_grant ON tokens(grant_id);"
	"CREATE INDEX tokens_expires ON tokens(expires);"
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY, person_id TEXT NOT NULL, acr TEXT, amr TEXT,"
	" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL);"
	"CREATE TABLE jti_seen ("
	" client_id TEXT NOT NULL, jti TEXT NOT NULL, expires INTEGER NOT NULL,"
	" PRIMARY KEY (client_id, jti));"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, event TEXT NOT NULL,"
	" result TEXT NOT NULL, person_id TEXT, client_id TEXT, key TEXT, ip TEXT, detail TEXT);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TABLE key_generation (id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER NOT NULL);"
	"INSERT INTO key_generation VALUES (1, 0);",

	/* 2: REPLACE deletes without firing DELETE triggers, so an audit row
	 * could be rewritten by reusing its seq: refuse that too. */
	"CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit"
	" WHEN NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)"
	" BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",
};

int
migrations_apply(sqlite3 *db, struct sl_err *err)
{
	const int latest = (int)(sizeof(migration_steps) / sizeof(migration_steps[0]));
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
	for (int v = version; v < latest; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, migration_steps[v], NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
			sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			sl_fail(err, SL_ESTORE, "migration to version %d failed: %s", v + 1, msg ? msg : "unknown");
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return SL_ESTORE;
		}
		log_info("database migrated to schema version %d", v + 1);
	}
	return SL_OK;
}
