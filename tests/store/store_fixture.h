/*
 * store_fixture.h — what the store's test suites share: a fresh database
 * file per test in a private directory, and a second, raw SQLite
 * connection to look at (or tamper with) the file behind the store's back.
 *
 * Included by test_store.c and test_store_app.c after <cmocka.h>; static
 * inline so that a suite not using a helper does not warn about it.
 */
#ifndef SL_STORE_FIXTURE_H
#define SL_STORE_FIXTURE_H

#include <sqlite3.h>

#include "../../src/store/store.h"
#include "../lib/testutil.h"

struct fixture {
	char *fx_dir;
	char *fx_path; /* <dir>/sleutel.db */
	struct store *fx_store;
};

/* SQLite only until the PostgreSQL fixture is merged (pg-engine). */
static inline bool
fx_pg(void)
{
	return false;
}

static inline int
fx_pg_exec(const char *conninfo, const char *sql, char *msg, size_t msglen)
{
	(void)conninfo;
	(void)sql;
	snprintf(msg, msglen, "no PostgreSQL");
	return 1;
}

static inline struct store *
open_store(const char *path, int pool)
{
	struct store_options opts = { .so_path = path, .so_busy_timeout_ms = 10000, .so_pool = pool };
	struct sl_err err = { 0 };
	struct store *st = store_open(&opts, &err);

	if (st == NULL)
		fail_msg("store_open %s: %s", path, err.msg);
	return st;
}

static inline int
fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->fx_dir = tu_tmpdir("sl-test-store");
	if (fx->fx_dir == NULL)
		return -1;
	fx->fx_path = tu_path(fx->fx_dir, "sleutel.db");
	if (fx->fx_path == NULL)
		return -1;
	fx->fx_store = open_store(fx->fx_path, 4);
	*state = fx;
	return 0;
}

static inline int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->fx_store);
	tu_rm_tree(fx->fx_dir);
	free(fx->fx_dir);
	free(fx->fx_path);
	free(fx);
	return 0;
}

/* Run one statement on the database file with a connection of our own;
 * returns the SQLite result code.  SQLite's message goes to `msg` when the
 * test wants it, else it is printed on failure to explain an assertion. */
static inline int
raw_exec_msg(const char *path, const char *sql, char *msg, size_t msglen)
{
	sqlite3 *db = NULL;
	char *m = NULL;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &m);
	if (msg != NULL)
		snprintf(msg, msglen, "%s", m ? m : "");
	else if (rc != SQLITE_OK)
		print_message("raw_exec: %s\n", m ? m : "?");
	sqlite3_free(m);
	sqlite3_close(db);
	return rc;
}

static inline int
raw_exec(const char *path, const char *sql)
{
	return raw_exec_msg(path, sql, NULL, 0);
}

/* The first column of the first row of `sql` (a count), or -1 if no row. */
static inline int64_t
raw_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s;
	int64_t n = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* What each schema from 4 on added, undone, newest first; SCHEMA_V4_UNDO
 * leaves the database as a version 3 sleutel left it. */
#define SCHEMA_V11_UNDO "DROP TABLE rate_limits;"
#define SCHEMA_V10_UNDO                                                                                                \
	SCHEMA_V11_UNDO                                                                                                \
	"DROP TABLE sid_sessions; DROP TABLE sid_rps; ALTER TABLE sid_requests DROP COLUMN device_only;"               \
	"ALTER TABLE sid_requests DROP COLUMN extra;"
#define SCHEMA_V8_UNDO                                                                                                 \
	SCHEMA_V10_UNDO                                                                                                \
	"DROP TABLE sid_requests; DROP TABLE sid_visits; DROP TABLE sid_registrations; DROP TABLE sid_keys;"           \
	"DROP TABLE sid_devices; DROP TABLE sid_accounts;"
#define SCHEMA_V7_UNDO                                                                                                 \
	SCHEMA_V8_UNDO "ALTER TABLE auth_requests DROP COLUMN context; ALTER TABLE app_requests DROP COLUMN context;"
#define SCHEMA_V6_UNDO SCHEMA_V7_UNDO "DROP TABLE consents; ALTER TABLE clients DROP COLUMN scopes;"
#define SCHEMA_V5_UNDO                                                                                                 \
	SCHEMA_V6_UNDO "DROP INDEX tokens_session;"                                                                    \
		       "DROP INDEX codes_session;"
#define SCHEMA_V4_UNDO                                                                                                 \
	SCHEMA_V5_UNDO                                                                                                 \
	"ALTER TABLE auth_requests DROP COLUMN result_hash;"                                                           \
	"ALTER TABLE auth_requests DROP COLUMN result;"                                                                \
	"ALTER TABLE auth_requests DROP COLUMN result_expires;"                                                        \
	"PRAGMA user_version = 3;"
static const char schema_v4_undo[] = SCHEMA_V4_UNDO;

/* What schema 3 added, undone (after schema_v4_undo): the database as a
 * version 2 sleutel left it. */
static const char schema_v3_undo[] = "DROP TABLE accounts; DROP TABLE devices; DROP TABLE enrollments;"
				     "DROP TABLE app_requests; DROP TABLE ciba_requests; DROP TABLE sms_outbox;"
				     "DROP INDEX audit_person;"
				     "ALTER TABLE clients DROP COLUMN ciba_mode;"
				     "ALTER TABLE clients DROP COLUMN ciba_endpoint;"
				     "ALTER TABLE codes DROP COLUMN authz_details;"
				     "ALTER TABLE tokens DROP COLUMN authz_details;"
				     "PRAGMA user_version = 2;";

#endif /* SL_STORE_FIXTURE_H */
