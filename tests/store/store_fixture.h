/*
 * store_fixture.h — what the store's test suites share: a fresh database
 * per test, and a second, raw connection to look at (or tamper with) it
 * behind the store's back.
 *
 * The engine is SQLite (a file in a private directory), or PostgreSQL when
 * SLEUTEL_TEST_ENGINE=postgresql: then each test gets a schema of its own
 * in a database of the binary's on the server whose admin conninfo is
 * SLEUTEL_TEST_PG, or, when that is unset, on a server this binary starts
 * (scripts/pg-test-server.sh) and stops at exit.  fx_path is the file or
 * the conninfo of the test's schema.
 * On PostgreSQL the raw connection runs the same SQL; the test database
 * schema gets views named like SQLite's catalog (sqlite_schema, sqlite_master,
 * pragma_table_info) and `PRAGMA user_version [= N]` becomes the
 * schema_version table, so that the tests read the same on both engines.
 *
 * Included by test_store.c and test_store_app.c after <cmocka.h>; static
 * inline so that a suite not using a helper does not warn about it.
 */
#ifndef SL_STORE_FIXTURE_H
#define SL_STORE_FIXTURE_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include "../../src/store/store.h"
#include "../lib/testutil.h"

struct fixture {
	char *fx_dir;
	char *fx_path; /* <dir>/sleutel.db, or the test database's conninfo */
	char *fx_schema; /* PostgreSQL: the test's schema */
	struct store *fx_store;
};

static inline bool
fx_pg(void)
{
	const char *e = getenv("SLEUTEL_TEST_ENGINE");

	return e != NULL && strcmp(e, "postgresql") == 0;
}

/* The server this binary started, if it started one. */
static char fx_pg_server_dir[64];

static inline void
fx_pg_server_stop(void)
{
	char cmd[256];

	if (fx_pg_server_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "sh %s/scripts/pg-test-server.sh stop %s", SL_TEST_SRCDIR, fx_pg_server_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not stop the test PostgreSQL server in %s\n", fx_pg_server_dir);
	fx_pg_server_dir[0] = '\0';
}

/* The admin conninfo: SLEUTEL_TEST_PG, or a server started now. */
static inline const char *
fx_pg_admin(void)
{
	static char conninfo[256];
	const char *env = getenv("SLEUTEL_TEST_PG");
	char cmd[512];
	FILE *f;

	if (env != NULL && env[0] != '\0')
		return env;
	if (conninfo[0] != '\0')
		return conninfo;
	snprintf(fx_pg_server_dir, sizeof(fx_pg_server_dir), "/tmp/sl-test-pg-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "sh %s/scripts/pg-test-server.sh start %s", SL_TEST_SRCDIR, fx_pg_server_dir);
	if ((f = popen(cmd, "r")) == NULL || fgets(conninfo, sizeof(conninfo), f) == NULL) {
		if (f != NULL)
			pclose(f);
		fail_msg("SLEUTEL_TEST_ENGINE=postgresql: no SLEUTEL_TEST_PG and no server started");
	}
	pclose(f);
	conninfo[strcspn(conninfo, "\n")] = '\0';
	atexit(fx_pg_server_stop);
	return conninfo;
}

static inline void
fx_pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Run `sql` on a new connection to `conninfo`: 0 on success, else 1 with
 * the server's message in msg. */
static inline int
fx_pg_exec(const char *conninfo, const char *sql, char *msg, size_t msglen)
{
	PGconn *pc = PQconnectdb(conninfo);
	PGresult *res;
	int rc = 1;

	if (PQstatus(pc) != CONNECTION_OK) {
		snprintf(msg, msglen, "%s", PQerrorMessage(pc));
		PQfinish(pc);
		return 1;
	}
	PQsetNoticeProcessor(pc, fx_pg_notice, NULL);
	res = PQexec(pc, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	snprintf(msg, msglen, "%s", PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(pc);
	return rc;
}

/* SQLite's catalog, as the tests ask it, on a PostgreSQL test database. */
static const char fx_pg_catalog[] =
	"CREATE VIEW sqlite_schema AS SELECT tablename::text AS name, 'table'::text AS type FROM pg_tables"
	" WHERE schemaname = current_schema() UNION ALL SELECT indexname::text, 'index' FROM pg_indexes"
	" WHERE schemaname = current_schema();"
	"CREATE VIEW sqlite_master AS SELECT * FROM sqlite_schema;"
	"CREATE FUNCTION pragma_table_info(t text) RETURNS TABLE (name text) LANGUAGE sql AS"
	" $$SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema()"
	" AND table_name = t$$;";

/* The store on `path` with `pool` connections whose writers wait at most
 * busy_ms for their turn. */
static inline struct store *
open_store_busy(const char *path, int pool, int busy_ms)
{
	struct store_options opts = { .so_path = path, .so_busy_timeout_ms = busy_ms, .so_pool = pool };
	struct sl_err err = { 0 };
	struct store *st;

	if (fx_pg()) {
		opts.so_engine = "postgresql";
		opts.so_conninfo = path;
		opts.so_path = NULL;
	}
	st = store_open(&opts, &err);
	if (st == NULL)
		fail_msg("store_open %s: %s", path, err.msg);
	return st;
}

static inline struct store *
open_store(const char *path, int pool)
{
	return open_store_busy(path, pool, 10000);
}

/* The binary's database on the server, made at its first test and
 * dropped at exit. */
static char fx_pg_db[64];

static inline void
fx_pg_db_drop(void)
{
	char sql[128], msg[256];

	snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", fx_pg_db);
	if (fx_pg_exec(fx_pg_admin(), sql, msg, sizeof(msg)) != 0)
		fprintf(stderr, "%s: %s\n", sql, msg);
}

static inline const char *
fx_pg_database(void)
{
	char sql[128], msg[256];

	if (fx_pg_db[0] != '\0')
		return fx_pg_db;
	snprintf(fx_pg_db, sizeof(fx_pg_db), "sl_unit_%d", (int)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx_pg_db);
	if (fx_pg_exec(fx_pg_admin(), sql, msg, sizeof(msg)) != 0)
		fail_msg("%s: %s", sql, msg);
	atexit(fx_pg_db_drop);
	return fx_pg_db;
}

/* A fresh, empty schema of that database for one test (cheaper than a
 * database each): fx_schema, and fx_path the conninfo whose search_path
 * is that schema and whose application_name names it (test_pg.c finds
 * the store's connections by it). */
static inline int
fx_pg_setup(struct fixture *fx)
{
	static int seq;
	const char *admin = fx_pg_admin(), *db = fx_pg_database();
	char sql[160], msg[256];
	size_t len;

	if ((fx->fx_schema = malloc(32)) == NULL)
		return -1;
	snprintf(fx->fx_schema, 32, "sl_t_%d", ++seq);
	len = strlen(admin) + strlen(db) + 2 * strlen(fx->fx_schema) + 64;
	if ((fx->fx_path = malloc(len)) == NULL)
		return -1;
	snprintf(fx->fx_path, len, "%s dbname=%s application_name=%s options=-csearch_path=%s", admin, db,
		fx->fx_schema, fx->fx_schema);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", fx->fx_schema);
	if (fx_pg_exec(fx->fx_path, sql, msg, sizeof(msg)) != 0 ||
		fx_pg_exec(fx->fx_path, fx_pg_catalog, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "test schema %s: %s\n", fx->fx_schema, msg);
		return -1;
	}
	return 0;
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
	if (fx_pg()) {
		if (fx_pg_setup(fx) != 0)
			return -1;
	} else if ((fx->fx_path = tu_path(fx->fx_dir, "sleutel.db")) == NULL) {
		return -1;
	}
	fx->fx_store = open_store(fx->fx_path, 4);
	*state = fx;
	return 0;
}

static inline int
fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->fx_store);
	if (fx->fx_schema != NULL) {
		char sql[160], msg[256];
		snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", fx->fx_schema);
		if (fx_pg_exec(fx->fx_path, sql, msg, sizeof(msg)) != 0)
			fprintf(stderr, "%s: %s\n", sql, msg);
	}
	tu_rm_tree(fx->fx_dir);
	free(fx->fx_dir);
	free(fx->fx_path);
	free(fx->fx_schema);
	free(fx);
	return 0;
}

/* On PostgreSQL: `PRAGMA user_version = N` → the schema_version update,
 * `PRAGMA user_version` → its query.  A malloc'd copy. */
static inline char *
fx_pg_sql(const char *sql)
{
	static const char set[] = "PRAGMA user_version =", get[] = "PRAGMA user_version";
	static const char set_pg[] = "UPDATE schema_version SET version =",
			  get_pg[] = "SELECT version FROM schema_version";
	size_t len = strlen(sql) * 2 + sizeof(get_pg);
	char *out = malloc(len), *o = out;

	assert_non_null(out);
	while (*sql != '\0') {
		if (strncmp(sql, set, sizeof(set) - 1) == 0) {
			o += sprintf(o, "%s", set_pg);
			sql += sizeof(set) - 1;
		} else if (strncmp(sql, get, sizeof(get) - 1) == 0) {
			o += sprintf(o, "%s", get_pg);
			sql += sizeof(get) - 1;
		} else {
			*o++ = *sql++;
		}
	}
	*o = '\0';
	return out;
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

	if (fx_pg()) {
		char pmsg[512], *q = fx_pg_sql(sql);
		/* msg may be the buffer sql was in: q is a copy. */
		rc = fx_pg_exec(path, q, msg != NULL ? msg : pmsg, msg != NULL ? msglen : sizeof(pmsg));
		free(q);
		if (msg == NULL && rc != 0)
			print_message("raw_exec: %s\n", pmsg);
		return rc;
	}
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

	if (fx_pg()) {
		PGconn *pc = PQconnectdb(path);
		char *q = fx_pg_sql(sql);
		PGresult *res = PQexec(pc, q);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fail_msg("raw_count %s: %s", q, PQresultErrorMessage(res));
		if (PQntuples(res) > 0)
			n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		PQfinish(pc);
		free(q);
		return n;
	}
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
#define SCHEMA_V20_UNDO "DROP TABLE phone_failures;"
#define SCHEMA_V19_UNDO                                                                                                \
	SCHEMA_V20_UNDO                                                                                                \
	"ALTER TABLE sid_registrations DROP COLUMN extended; ALTER TABLE sid_registrations DROP COLUMN code_wrong;"    \
	"ALTER TABLE sid_visits DROP COLUMN extended;"
#define SCHEMA_V18_UNDO SCHEMA_V19_UNDO "ALTER TABLE auth_requests DROP COLUMN extended;"
#define SCHEMA_V17_UNDO SCHEMA_V18_UNDO "ALTER TABLE sid_requests DROP COLUMN extended;"
#define SCHEMA_V16_UNDO SCHEMA_V17_UNDO "DROP TABLE notices;"
#define SCHEMA_V15_UNDO SCHEMA_V16_UNDO "ALTER TABLE clients DROP COLUMN partner_url;"
#define SCHEMA_V14_UNDO                                                                                                \
	SCHEMA_V15_UNDO                                                                                                \
	"ALTER TABLE clients DROP COLUMN profile; ALTER TABLE codes DROP COLUMN dpop_jkt;"                             \
	"ALTER TABLE tokens DROP COLUMN jkt;"
#define SCHEMA_V13_UNDO                                                                                                \
	SCHEMA_V14_UNDO                                                                                                \
	"ALTER TABLE clients DROP COLUMN require_signed_ro; ALTER TABLE clients DROP COLUMN id_token_enc_alg;"         \
	"ALTER TABLE clients DROP COLUMN id_token_enc_enc;"
#define SCHEMA_V11_UNDO SCHEMA_V13_UNDO "DROP TABLE rate_limits;"
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
static const char schema_v3_undo[] = "DROP TABLE devices; DROP TABLE accounts; DROP TABLE enrollments;"
				     "DROP TABLE app_requests; DROP TABLE ciba_requests; DROP TABLE sms_outbox;"
				     "DROP INDEX audit_person;"
				     "ALTER TABLE clients DROP COLUMN ciba_mode;"
				     "ALTER TABLE clients DROP COLUMN ciba_endpoint;"
				     "ALTER TABLE codes DROP COLUMN authz_details;"
				     "ALTER TABLE tokens DROP COLUMN authz_details;"
				     "PRAGMA user_version = 2;";

#endif /* SL_STORE_FIXTURE_H */
