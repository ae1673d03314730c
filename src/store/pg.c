/*
 * pg.c — the PostgreSQL store engine (several nodes, one database).
 *
 * One libpq connection per pooled connection.  A statement's SQL (SQLite's
 * `?N` parameters) is translated to `$N` once, and prepared on each
 * connection the first time it runs there (PQprepare, named by its id).
 * Parameters are typed from their binding (bigint or text, a NULL text
 * included), so that no SQL needs a cast for the server to infer a type;
 * a statement bound with other types later is prepared again.  Results
 * come in text format: the first step executes, later steps walk the rows.
 *
 * Write transactions are SERIALIZABLE: a serialization failure or deadlock
 * (SQLSTATE 40001, 40P01), in a statement or at COMMIT, sets cn_retry and
 * tx_run runs the transaction again.  A lost connection fails the request
 * (SL_ESTORE) and is re-made on the next use outside a transaction, its
 * prepared statements forgotten.  Messages name the statement and the
 * server's reason, never the conninfo.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_int.h"

/* The most parameters a statement of the store has is 20. */
#define PG_MAX_PARAMS 32
/* Type OIDs of the two kinds of parameters (pg_type.h is server-side). */
#define PG_INT8OID 20
#define PG_TEXTOID 25
/* Keys the migrating node holds (pg_advisory_lock) while it migrates, so
 * that nodes starting together migrate once. */
#define PG_MIGRATE_LOCK "7466526373"
/* Seconds libpq waits for a connection, unless the conninfo says. */
#define PG_CONNECT_TIMEOUT "10"

struct pg_stmt {
	struct stmt ps_base;
	enum stmt_id ps_id;
	char *ps_sql; /* with $N */
	int ps_nparams;
	bool ps_prepared; /* on this connection, with ps_types */
	unsigned ps_gen; /* bumped per re-preparation: names stay unique */
	Oid ps_types[PG_MAX_PARAMS];
	/* The bound values: text (owned), or an integer formatted here. */
	Oid ps_btypes[PG_MAX_PARAMS];
	char *ps_vals[PG_MAX_PARAMS];
	char ps_ints[PG_MAX_PARAMS][24];
	PGresult *ps_res; /* NULL until the first step */
	int ps_row;
};

struct pg_conn {
	PGconn *pc_conn;
	struct pg_stmt pc_stmt[Q_COUNT];
	int pc_changes;
	bool pc_in_tx;
	bool pc_lost; /* re-made on the next use outside a transaction */
};

static struct pg_conn *
pc_of(struct conn *c)
{
	return c->cn_impl;
}

static struct pg_stmt *
ps_of(struct stmt *s)
{
	return (struct pg_stmt *)s;
}

/* Notices (IF NOT EXISTS on migration) are not errors; keep them out of
 * the log. */
static void
pg_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* `?N` → `$N` outside quoted literals and identifiers; *nparams is the
 * largest N.  NULL on a bare `?` or too many parameters. */
static char *
pg_translate(const char *sql, int *nparams)
{
	size_t n = strlen(sql);
	char *out = malloc(n + 1), *o = out;
	char quote = 0;

	*nparams = 0;
	if (out == NULL)
		return NULL;
	for (const char *p = sql; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (*p == '?') {
			int v = 0;
			if (!isdigit((unsigned char)p[1])) {
				free(out);
				return NULL;
			}
			*o++ = '$';
			while (isdigit((unsigned char)p[1]) && v <= PG_MAX_PARAMS) {
				p++;
				v = v * 10 + (*p - '0');
				*o++ = *p;
			}
			if (v < 1 || v > PG_MAX_PARAMS) {
				free(out);
				return NULL;
			}
			if (v > *nparams)
				*nparams = v;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static void
stmt_clear_binds(struct pg_stmt *s)
{
	for (int i = 0; i < s->ps_nparams; i++) {
		if (s->ps_vals[i] != s->ps_ints[i])
			free(s->ps_vals[i]);
		s->ps_vals[i] = NULL;
		s->ps_btypes[i] = PG_TEXTOID;
	}
}

static void
stmt_clear_result(struct pg_stmt *s)
{
	PQclear(s->ps_res);
	s->ps_res = NULL;
	s->ps_row = -1;
}

/* The connection is gone: its prepared statements went with it. */
static void
conn_forget(struct pg_conn *pc)
{
	for (int q = 0; q < Q_COUNT; q++) {
		stmt_clear_result(&pc->pc_stmt[q]);
		pc->pc_stmt[q].ps_prepared = false;
	}
}

/* Outside a transaction, re-make a connection that was lost.  Inside one
 * it stays lost: running the rest of a transaction on a new connection
 * would commit half of it. */
static bool
conn_usable(struct pg_conn *pc)
{
	if (!pc->pc_lost && PQstatus(pc->pc_conn) == CONNECTION_OK)
		return true;
	if (pc->pc_in_tx)
		return false;
	conn_forget(pc);
	PQreset(pc->pc_conn);
	if (PQstatus(pc->pc_conn) != CONNECTION_OK) {
		log_error("database connection lost and not re-made: %s", PQerrorMessage(pc->pc_conn));
		pc->pc_lost = true;
		return false;
	}
	log_info("database connection re-made");
	pc->pc_lost = false;
	return true;
}

/* The outcome of a result that is not a success, by SQLSTATE. */
static int
pg_failed(struct conn *c, const PGresult *res, const char *what)
{
	struct pg_conn *pc = pc_of(c);
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(pc->pc_conn) != CONNECTION_OK || state == NULL) {
		pc->pc_lost = true;
		log_error("database connection failed (%s): %s", what, PQerrorMessage(pc->pc_conn));
		return SL_ESTORE;
	}
	if (strncmp(state, "23", 2) == 0)
		return SL_ECONFLICT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		c->cn_retry = true;
		return SL_EBUSY;
	}
	/* The primary message only: DETAIL may quote a row's values. */
	log_error("%s: %s (SQLSTATE %s)", what, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), state);
	return SL_ESTORE;
}

static int
pg_open(struct conn *c, const struct store_options *opts, struct sl_err *err)
{
	/* The conninfo comes last: what it says overrides the defaults. */
	const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *vals[] = { PG_CONNECT_TIMEOUT, "sleuteld", opts->so_conninfo, NULL };
	struct pg_conn *pc = calloc(1, sizeof(*pc));

	if (pc == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	c->cn_impl = pc;
	for (int q = 0; q < Q_COUNT; q++) {
		pc->pc_stmt[q].ps_id = (enum stmt_id)q;
		pc->pc_stmt[q].ps_row = -1;
		pc->pc_stmt[q].ps_base.s_conn = c;
	}
	if (opts->so_conninfo == NULL)
		return sl_fail(err, SL_EINVAL, "no database ([store] conninfo)");
	pc->pc_conn = PQconnectdbParams(keys, vals, 1);
	if (pc->pc_conn == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	if (PQstatus(pc->pc_conn) != CONNECTION_OK)
		return sl_fail(err, SL_ESTORE, "cannot connect to PostgreSQL: %s", PQerrorMessage(pc->pc_conn));
	PQsetNoticeProcessor(pc->pc_conn, pg_notice, NULL);
	return SL_OK;
}

static void
pg_close(struct conn *c)
{
	struct pg_conn *pc = pc_of(c);

	if (pc == NULL)
		return;
	for (int q = 0; q < Q_COUNT; q++) {
		stmt_clear_binds(&pc->pc_stmt[q]);
		stmt_clear_result(&pc->pc_stmt[q]);
		free(pc->pc_stmt[q].ps_sql);
	}
	PQfinish(pc->pc_conn);
	free(pc);
	c->cn_impl = NULL;
}

/* Run `sql` (one or more statements) and keep the row count of the last. */
static int
pg_exec(struct conn *c, const char *sql)
{
	struct pg_conn *pc = pc_of(c);
	PGresult *res;
	int rc = SL_OK;

	if (!conn_usable(pc))
		return SL_ESTORE;
	res = PQexec(pc->pc_conn, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		pc->pc_changes = atoi(PQcmdTuples(res));
	else
		rc = pg_failed(c, res, "statement failed");
	PQclear(res);
	return rc;
}

/* One integer of a one-row query, or -1 when there is no row. */
static int
pg_query_int(struct conn *c, const char *sql, int64_t *out)
{
	PGresult *res = PQexec(pc_of(c)->pc_conn, sql);
	int rc = SL_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_failed(c, res, "query failed");
	else
		*out = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
	PQclear(res);
	return rc;
}

static int
pg_schema_version(struct conn *c, int *version)
{
	int64_t v = -1;

	if (!conn_usable(pc_of(c)) || pg_query_int(c, "SELECT version FROM schema_version", &v) != SL_OK || v < 0)
		return SL_ESTORE;
	*version = (int)v;
	return SL_OK;
}

/* The steps from the database's version on, each in its own transaction. */
static int
pg_migrate_steps(struct conn *c, struct sl_err *err)
{
	const int latest = STORE_SCHEMA_VERSION;
	int64_t version = -1;

	if (pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)") != SL_OK ||
		pg_query_int(c, "SELECT version FROM schema_version", &version) != SL_OK)
		return sl_fail(err, SL_ESTORE, "cannot read schema version: %s", PQerrorMessage(pc_of(c)->pc_conn));
	if (version < 0) {
		if (pg_exec(c, "INSERT INTO schema_version VALUES (0)") != SL_OK)
			return sl_fail(err, SL_ESTORE, "cannot write schema version");
		version = 0;
	}
	if (version > latest)
		return sl_fail(err, SL_ESTORE,
			"the database has schema version %d but this sleutel knows only up to %d; "
			"run a newer sleutel",
			(int)version, latest);
	for (int v = (int)version; v < latest; v++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "UPDATE schema_version SET version = %d", v + 1);
		if (pg_exec(c, "BEGIN") != SL_OK || pg_exec(c, store_schema_pg[v]) != SL_OK ||
			pg_exec(c, bump) != SL_OK || pg_exec(c, "COMMIT") != SL_OK) {
			sl_fail(err, SL_ESTORE, "migration to version %d failed: %s", v + 1,
				PQerrorMessage(pc_of(c)->pc_conn));
			pg_exec(c, "ROLLBACK");
			return SL_ESTORE;
		}
		log_info("database migrated to schema version %d", v + 1);
	}
	return SL_OK;
}

static int
pg_migrate(struct conn *c, struct sl_err *err)
{
	int rc;

	if (pg_exec(c, "SELECT pg_advisory_lock(" PG_MIGRATE_LOCK ")") != SL_OK)
		return sl_fail(err, SL_ESTORE, "cannot lock the schema: %s", PQerrorMessage(pc_of(c)->pc_conn));
	rc = pg_migrate_steps(c, err);
	pg_exec(c, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK ")");
	return rc;
}

static struct stmt *
pg_prepare(struct conn *c, enum stmt_id id, const char *sql)
{
	struct pg_conn *pc = pc_of(c);
	struct pg_stmt *s = &pc->pc_stmt[id];

	if (s->ps_sql == NULL && (s->ps_sql = pg_translate(sql, &s->ps_nparams)) == NULL) {
		log_error("cannot translate the parameters of: %s", sql);
		return NULL;
	}
	/* A lost connection is re-made here when it can be; if it cannot,
	 * the step fails (SL_ESTORE), never the caller. */
	(void)conn_usable(pc);
	stmt_clear_result(s);
	stmt_clear_binds(s);
	return &s->ps_base;
}

static void
pg_bind_text(struct stmt *st, int i, const char *v)
{
	struct pg_stmt *s = ps_of(st);

	if (i < 1 || i > s->ps_nparams)
		return;
	if (s->ps_vals[i - 1] != s->ps_ints[i - 1])
		free(s->ps_vals[i - 1]);
	s->ps_vals[i - 1] = v ? strdup(v) : NULL;
	s->ps_btypes[i - 1] = PG_TEXTOID;
	if (v != NULL && s->ps_vals[i - 1] == NULL)
		st->s_lost = true; /* left NULL: the step must not run (step_*) */
}

static void
pg_bind_int(struct stmt *st, int i, int64_t v)
{
	struct pg_stmt *s = ps_of(st);

	if (i < 1 || i > s->ps_nparams)
		return;
	if (s->ps_vals[i - 1] != s->ps_ints[i - 1])
		free(s->ps_vals[i - 1]);
	snprintf(s->ps_ints[i - 1], sizeof(s->ps_ints[i - 1]), "%" PRId64, v);
	s->ps_vals[i - 1] = s->ps_ints[i - 1];
	s->ps_btypes[i - 1] = PG_INT8OID;
}

/* A statement the server refuses to prepare for this reason is a broken
 * build (SQL, a column, a type): class 42, but for a missing privilege or
 * table, which an operator can cause at run time. */
static bool
broken_sql(const char *state)
{
	return state != NULL && strncmp(state, "42", 2) == 0 && strcmp(state, "42501") != 0 &&
	       strcmp(state, "42P01") != 0;
}

/* Prepare `s` on its connection for the types bound now (again when they
 * changed since: the old one is dropped).  A statement the server refuses
 * on a healthy connection as broken SQL aborts, as for SQLite. */
static int
stmt_ready(struct conn *c, struct pg_stmt *s)
{
	struct pg_conn *pc = pc_of(c);
	char name[48];
	PGresult *res;
	int rc = SL_OK;

	if (s->ps_prepared && memcmp(s->ps_types, s->ps_btypes, sizeof(Oid) * (size_t)s->ps_nparams) == 0)
		return SL_OK;
	if (s->ps_prepared) {
		snprintf(name, sizeof(name), "DEALLOCATE q%d_%u", (int)s->ps_id, s->ps_gen);
		PQclear(PQexec(pc->pc_conn, name));
		s->ps_prepared = false;
	}
	memcpy(s->ps_types, s->ps_btypes, sizeof(Oid) * (size_t)s->ps_nparams);
	snprintf(name, sizeof(name), "q%d_%u", (int)s->ps_id, ++s->ps_gen);
	res = PQprepare(pc->pc_conn, name, s->ps_sql, s->ps_nparams, s->ps_types);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		s->ps_prepared = true;
	} else {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (PQstatus(pc->pc_conn) == CONNECTION_OK && broken_sql(state)) {
			log_error("prepare failed: %s: %s", s->ps_sql, PQresultErrorMessage(res));
			abort();
		}
		rc = pg_failed(c, res, "prepare failed");
	}
	PQclear(res);
	return rc;
}

static int
pg_step(struct stmt *st)
{
	struct pg_stmt *s = ps_of(st);
	struct conn *c = st->s_conn;
	struct pg_conn *pc = pc_of(c);

	if (s->ps_res == NULL) {
		char name[48];
		int rc;

		if (pc->pc_lost || PQstatus(pc->pc_conn) != CONNECTION_OK) {
			pc->pc_lost = true;
			return SL_ESTORE;
		}
		if ((rc = stmt_ready(c, s)) != SL_OK)
			return rc;
		snprintf(name, sizeof(name), "q%d_%u", (int)s->ps_id, s->ps_gen);
		s->ps_res = PQexecPrepared(
			pc->pc_conn, name, s->ps_nparams, (const char *const *)s->ps_vals, NULL, NULL, 0);
		if (PQresultStatus(s->ps_res) != PGRES_TUPLES_OK && PQresultStatus(s->ps_res) != PGRES_COMMAND_OK) {
			rc = pg_failed(c, s->ps_res, "statement failed");
			stmt_clear_result(s);
			return rc;
		}
		pc->pc_changes = atoi(PQcmdTuples(s->ps_res));
		s->ps_row = 0;
	} else if (s->ps_row < PQntuples(s->ps_res)) {
		s->ps_row++;
	}
	return s->ps_row < PQntuples(s->ps_res) ? SL_OK : SL_ENOTFOUND;
}

static void
pg_reset(struct stmt *st)
{
	stmt_clear_result(ps_of(st));
}

static const char *
pg_col_str(struct stmt *st, int i)
{
	struct pg_stmt *s = ps_of(st);

	if (s->ps_res == NULL || s->ps_row >= PQntuples(s->ps_res) || i >= PQnfields(s->ps_res) ||
		PQgetisnull(s->ps_res, s->ps_row, i))
		return NULL;
	return PQgetvalue(s->ps_res, s->ps_row, i);
}

static int64_t
pg_col_int(struct stmt *st, int i)
{
	const char *v = pg_col_str(st, i);

	if (v == NULL)
		return 0;
	/* A boolean column (`x IS NOT NULL`) comes as t or f. */
	if (v[0] == 't' || v[0] == 'f')
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static int
pg_changes(struct conn *c)
{
	return pc_of(c)->pc_changes;
}

static int
pg_tx_begin(struct conn *c, enum durability d, bool one_statement)
{
	struct pg_conn *pc = pc_of(c);
	int rc;

	if (!conn_usable(pc))
		return SL_ESTORE;
	/* Short-lived login state may be lost with the last few commits of
	 * a crashed server (never half of one); durable records wait for
	 * the flush. */
	if (one_statement)
		rc = pg_exec(c, d == DUR_NORMAL
					? "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off"
					: "BEGIN ISOLATION LEVEL READ COMMITTED");
	else
		rc = pg_exec(c, d == DUR_NORMAL
					? "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL synchronous_commit = off"
					: "BEGIN ISOLATION LEVEL SERIALIZABLE");
	pc->pc_in_tx = rc == SL_OK;
	return rc;
}

static int
pg_tx_end(struct conn *c, bool commit)
{
	struct pg_conn *pc = pc_of(c);
	PGresult *res;
	int rc = SL_OK;

	if (!pc->pc_in_tx)
		return SL_ESTORE;
	pc->pc_in_tx = false;
	if (pc->pc_lost || PQstatus(pc->pc_conn) != CONNECTION_OK) {
		/* Lost may mean libpq gave up on its side only (out of memory
		 * mid-answer) while the server still holds this transaction
		 * and its row locks; they would stay held, stalling every other
		 * writer of those rows, until this thread's next use.  Re-made
		 * now, the old session ends and the server rolls it back. */
		pc->pc_lost = true;
		conn_usable(pc);
		return SL_ESTORE;
	}
	if (!commit) {
		pg_exec(c, "ROLLBACK");
		return SL_OK;
	}
	res = PQexec(pc->pc_conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_failed(c, res, "commit failed");
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = SL_ESTORE; /* a failed transaction: COMMIT rolled it back */
	PQclear(res);
	return rc;
}

const struct engine store_engine_pg = {
	.e_name = "postgresql",
	.e_open = pg_open,
	.e_close = pg_close,
	.e_migrate = pg_migrate,
	.e_schema_version = pg_schema_version,
	.e_prepare = pg_prepare,
	.e_bind_text = pg_bind_text,
	.e_bind_int = pg_bind_int,
	.e_step = pg_step,
	.e_reset = pg_reset,
	.e_col_str = pg_col_str,
	.e_col_int = pg_col_int,
	.e_changes = pg_changes,
	.e_exec = pg_exec,
	.e_tx_begin = pg_tx_begin,
	.e_tx_end = pg_tx_end,
};
