/* store_int.h — the store's engine contract, shared by its files; not public.
 *
 * Two layers.  The record files (oidc.c, app.c, ...) hold the SQL of their
 * statements (one dialect: `?N` parameters, SQL both SQLite and PostgreSQL
 * accept) and call the engine-neutral helpers below.  An engine (sqlite.c,
 * pg.c) implements `struct engine`: connections, prepared statements,
 * binding, stepping, transactions and migrations.  engine.c owns the pool
 * and dispatches. */
#ifndef SL_STORE_INT_H
#define SL_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "store.h"

enum durability { DUR_NORMAL = 1, DUR_FULL = 2 };

/* Every prepared statement of the engine.  Each file keeps the SQL of its
 * own statements in a table indexed by this enum (see store_sql_*). */
enum stmt_id {
	/* oidc.c */
	Q_PERSON_BY_RRN,
	Q_PERSON_INSERT,
	Q_PERSON_UPDATE,
	Q_PERSON_GET,
	Q_CLIENT_ADD,
	Q_CLIENT_GET,
	Q_CLIENT_DEL,
	Q_CLIENT_ALL,
	Q_KEY_ADD,
	Q_KEY_RETIRE,
	Q_KEY_ALL,
	Q_KEY_GEN,
	Q_KEY_GEN_BUMP,
	Q_AR_PUT,
	Q_AR_GET,
	Q_AR_GET_CLIENT,
	Q_AR_DEL,
	Q_AR_ANSWER,
	Q_AR_DONE,
	Q_AR_RESULT_SET,
	Q_AR_RESULT_GET,
	Q_AR_RESULT_CLEAR,
	Q_AR_CONTEXT,
	Q_AR_EXTEND,
	Q_AR_STATE,
	Q_CODE_PUT,
	Q_CODE_GET,
	Q_CODE_USE,
	Q_TOK_PUT,
	Q_TOK_GET,
	Q_TOK_REVOKE_GRANT,
	Q_TOK_REVOKE_ONE,
	Q_SES_PUT,
	Q_SES_GET,
	Q_SES_DEL,
	Q_SES_TOK_REVOKE,
	Q_SES_CODE_DEL,
	Q_SES_TOK_MOVE,
	Q_SES_CODE_MOVE,
	Q_KEY_SES_DEL,
	Q_KEY_TOK_REVOKE,
	Q_KEY_CODE_DEL,
	Q_JTI_PUT,
	Q_AUDIT_ADD,
	Q_AUDIT_COUNT,
	Q_AUDIT_PERSON,
	/* app.c: accounts, devices, enrolments */
	Q_ACC_GET,
	Q_ACC_BY_PHONE,
	Q_ACC_ALL,
	Q_ACC_PERSON,
	Q_ACC_INSERT,
	Q_ACC_STATUS,
	Q_ACC_FAILURE,
	Q_ACC_ATTEMPT,
	Q_ACC_LOCK,
	Q_ACC_RESET,
	Q_DEV_GET,
	Q_DEV_BY_JKT,
	Q_DEV_ACC_BY_JKT,
	Q_DEV_OF_ACCOUNT,
	Q_DEV_INSERT,
	Q_DEV_STATUS,
	Q_DEV_TOUCH,
	Q_DEV_JKT_USED,
	Q_EN_PUT,
	Q_EN_GET,
	Q_EN_BY_JKT,
	Q_EN_UPDATE,
	Q_EN_DROP_EXPIRED_JKT,
	Q_EN_DONE,
	Q_EN_SMS_ATTEMPT,
	/* app_requests.c: app requests, CIBA, SMS outbox */
	Q_AQ_PUT,
	Q_AQ_PUT_BOUNDED,
	Q_AQ_GET,
	Q_AQ_COUNT_PENDING,
	Q_AQ_PENDING,
	Q_AQ_FINISH,
	Q_AQ_STATE,
	Q_AQ_EXTEND,
	Q_CB_PUT,
	Q_CB_GET,
	Q_CB_STATUS,
	Q_CB_POLL_GET,
	Q_CB_POLL_SET,
	Q_CB_REDEEM,
	Q_CB_EXISTS,
	Q_SMS_PUT,
	Q_SMS_AFTER,
	/* consent.c: client scopes and secret, and consents */
	Q_CLIENT_SCOPES,
	Q_CLIENT_PROFILE,
	Q_CLIENT_SECRET,
	Q_CLIENT_SIGNED_RO,
	Q_CONSENT_GET,
	Q_CONSENT_PUT,
	Q_CONSENT_ALL,
	Q_CONSENT_DEL,
	Q_CONSENT_REVOKE,
	Q_CONSENT_CODES,
	/* smartid.c: Smart-ID accounts, devices, keys, signing requests */
	Q_SA_GET,
	Q_SA_BY_PERSON,
	Q_SA_BY_RRN,
	Q_SA_ALL,
	Q_SA_INSERT,
	Q_SA_STATUS,
	Q_SA_CONTACT,
	Q_SD_GET,
	Q_SD_BY_JKT,
	Q_SD_BY_DOC,
	Q_SD_OF_ACCOUNT,
	Q_SD_COUNT_ACTIVE,
	Q_SD_INSERT,
	Q_SD_END,
	Q_SD_FAIL_REQUESTS,
	Q_SD_TOUCH,
	Q_SK_GET,
	Q_SK_INSERT,
	Q_SK_ATTEMPT,
	Q_SK_ADVANCE,
	Q_SK_UNLOCK,
	Q_SK_REFUND,
	Q_SK_RESEAL,
	Q_SQ_PUT,
	Q_SQ_GET,
	Q_SQ_COUNT_PENDING,
	Q_SQ_PENDING,
	Q_SQ_FINISH,
	Q_SQ_STATE,
	Q_SQ_EXTEND,
	/* smartid_reg.c: Smart-ID registrations and portal visits */
	Q_SR_PUT,
	Q_SR_GET,
	Q_SR_BY_JKT,
	Q_SR_BY_CODE,
	Q_SR_DROP_STALE,
	Q_SR_FREE_CODE,
	Q_SR_JKT_DEVICE,
	Q_SR_CONFIRM,
	Q_SR_RECALL_CHARGE,
	Q_SR_RECALL_REFUND,
	Q_SR_SET_KEYS,
	Q_SR_FAIL,
	Q_SR_DONE,
	Q_SV_PUT,
	Q_SV_GET,
	Q_SV_ANSWER,
	Q_SV_CHARGE,
	Q_SV_SET_REG,
	Q_SV_DEL,
	Q_SR_CODE_WRONG,
	Q_SR_EXTEND,
	Q_SR_STATE,
	Q_SV_EXTEND,
	Q_SV_STATE,
	/* sidrp.c: Smart-ID RP API relying parties and sessions */
	Q_SP_PUT,
	Q_SP_GET,
	Q_SP_ALL,
	Q_SP_STATUS,
	Q_SP_ACCESS,
	Q_SS_PUT,
	Q_SS_GET,
	Q_SS_BY_TOKEN,
	Q_SS_BY_IDEM,
	Q_SS_CLAIM,
	Q_SS_COMPLETE,
	Q_SS_STATE,
	/* notify.c: telling the other nodes (PostgreSQL) */
	Q_NOTIFY,
	/* limits.c: rate limits shared by every node, proof-state updates */
	Q_RL_HIT,
	Q_EN_PROOF_SWAP,
	/* audit.c: the audit trail read in order, for export */
	Q_AUDIT_RANGE,
	/* partner.c: clients listed on the public site */
	Q_PARTNER_SET,
	Q_PARTNER_GET,
	Q_PARTNER_ALL,
	/* notice.c: what a person is told about their devices; audit.c: one
	 * person's whole audit trail, for the account page's export */
	Q_NOTICE_ADD,
	Q_NOTICE_PERSON,
	Q_NOTICE_DEVICE,
	Q_NOTICE_ACK,
	Q_AUDIT_PERSON_ALL,
	/* failures.c: a number's wrong SMS codes across enrolments, a window read */
	Q_PF_CHARGE,
	Q_PF_SPENT,
	Q_PF_CLEAR,
	Q_RL_PEEK,
	Q_COUNT
};

extern const char *const store_sql_oidc[Q_COUNT];
extern const char *const store_sql_app[Q_COUNT];
extern const char *const store_sql_requests[Q_COUNT];
extern const char *const store_sql_consent[Q_COUNT];
extern const char *const store_sql_sid[Q_COUNT];
extern const char *const store_sql_sid_reg[Q_COUNT];
extern const char *const store_sql_sidrp[Q_COUNT];
extern const char *const store_sql_notify[Q_COUNT];
extern const char *const store_sql_limits[Q_COUNT];
extern const char *const store_sql_audit[Q_COUNT];
extern const char *const store_sql_partner[Q_COUNT];
extern const char *const store_sql_notice[Q_COUNT];
extern const char *const store_sql_failures[Q_COUNT];

/* A prepared statement of one connection.  Engines embed this as the
 * first member of their own statement type. */
struct stmt {
	struct conn *s_conn;
	/* Since conn_stmt handed the statement out, a copy failed (out of
	 * memory): of a bound value, which the engine left NULL (the step
	 * then fails with SL_ENOMEM instead of running without it), or of a
	 * non-NULL column by col_text (the row read is incomplete: col_lost). */
	bool s_lost;
};

/* One pooled connection.  Engines keep their handle in cn_impl. */
struct conn {
	const struct engine *cn_engine;
	void *cn_impl;
	bool cn_busy;
	/* A statement of the open transaction, or its COMMIT, failed for a
	 * reason a retry of the whole transaction can cure (a serialization
	 * failure, a deadlock): the transaction is rolled back and tx_run runs
	 * it again (SL_EBUSY once it has tried TX_TRIES times). */
	bool cn_retry;
};

/* Where a durable commit's sync must reach (group commit, sqlite_vfs.c;
 * see sqlite_wal_mark below). */
struct wal_file;
struct wal_mark {
	struct wal_file *wm_wal;
	uint64_t wm_mark;
};

/* What an engine implements.  Steps answer SL_OK (a row), SL_ENOTFOUND (no
 * more rows), SL_ECONFLICT (a constraint refused the write), SL_EBUSY (retry
 * the transaction; cn_retry set) or SL_ESTORE. */
struct engine {
	const char *e_name;
	/* Writers exclude each other anyway (SQLite: one writer per file):
	 * the store runs every write transaction on one connection of its
	 * own, the writers of the process taking turns on a mutex bounded by
	 * busy_timeout_ms (engine.c), so that a waiting writer goes the
	 * moment the one before ends instead of polling in SQLite's busy
	 * handler, and the writer's page cache stays valid (no other
	 * connection of the process writes). */
	bool e_one_writer;
	int (*e_open)(struct conn *c, const struct store_options *o, struct sl_err *err);
	void (*e_close)(struct conn *c);
	/* Bring the schema to STORE_SCHEMA_VERSION (on one connection, before
	 * the others are used); refuse a newer one. */
	int (*e_migrate)(struct conn *c, struct sl_err *err);
	int (*e_schema_version)(struct conn *c, int *version);
	/* The statement `id` with text `sql`, prepared once per connection,
	 * reset and unbound.  NULL when it cannot be prepared. */
	struct stmt *(*e_prepare)(struct conn *c, enum stmt_id id, const char *sql);
	void (*e_bind_text)(struct stmt *s, int i, const char *v); /* NULL binds NULL; v must outlive the steps */
	void (*e_bind_int)(struct stmt *s, int i, int64_t v);
	int (*e_step)(struct stmt *s);
	void (*e_reset)(struct stmt *s);
	const char *(*e_col_str)(struct stmt *s, int i); /* NULL for NULL; valid until the next step */
	int64_t (*e_col_int)(struct stmt *s, int i);
	/* Rows changed by the last statement run to its end on `c`. */
	int (*e_changes)(struct conn *c);
	int (*e_exec)(struct conn *c, const char *sql);
	/* `one_statement`: the transaction is a single statement, atomic by
	 * itself, so the engine may run it at a weaker isolation that never
	 * asks for a retry (PostgreSQL: READ COMMITTED, where a conflicting
	 * UPDATE waits for the other and re-reads the row). */
	int (*e_tx_begin)(struct conn *c, enum durability d, bool one_statement);
	/* Commit (when `commit`) or roll back: SL_OK, SL_EBUSY, SL_ESTORE. */
	int (*e_tx_end)(struct conn *c, bool commit);
	/* Group commit, for an engine whose COMMIT of a durable transaction
	 * leaves its sync for later (SQLite; NULL for PostgreSQL, whose server
	 * groups concurrent commits itself): e_tx_mark, right after that
	 * COMMIT on the writers' turn, notes what must be synced; e_tx_sync,
	 * after the turn was released, returns once it is (SL_OK, SL_ESTORE).
	 * tx_run answers only then. */
	int (*e_tx_mark)(struct conn *c, struct wal_mark *m);
	int (*e_tx_sync)(const struct wal_mark *m);
};

/* What the store was opened with, for notify.c (engine.c keeps copies):
 * the SQLite file (NULL under PostgreSQL) and the libpq connection string
 * (NULL under SQLite; it may hold a password: never logged). */
const char *store_opt_path(struct store *st);
const char *store_opt_conninfo(struct store *st);
/* notify.c's state hangs off the store (NULL until store_listen). */
struct notifier;
struct notifier **store_notifier(struct store *st);

/* The schema as numbered steps, the same steps in each engine's dialect
 * (sqlite_schema.c, pg_schema.c): step i brings a database to version i+1. */
extern const char *const store_schema_sqlite[STORE_SCHEMA_VERSION];
extern const char *const store_schema_pg[STORE_SCHEMA_VERSION];

/* sqlite_vfs.c: the VFS under which a connection writes each WAL
 * transaction to the kernel in one write, registered on the first call;
 * NULL when it could not be (the platform's VFS is used). */
#define SQLITE_WAL_VFS "sleutel-wal"
const char *sqlite_wal_vfs(void);
/* Group commit (sqlite_vfs.c): a durable transaction's place in its WAL,
 * taken right after its COMMIT (at synchronous = NORMAL, which does not
 * sync) on the writers' turn: wm_wal NULL when there is nothing to wait
 * for (no WAL, or not this layer's file: then sqlite_wal_mark synced it
 * at once).  sqlite_wal_sync_to, after the turn, returns once a sync of
 * the WAL covers the mark, running that sync itself when none runs (one
 * fdatasync for every commit written before it began).  Both answer an
 * SQLite code; a failed sync fails every durable commit after it, until
 * the connection is opened again.  (struct wal_mark: above.) */
struct sqlite3;
int sqlite_wal_mark(struct sqlite3 *db, struct wal_mark *m);
int sqlite_wal_sync_to(const struct wal_mark *m);

extern const struct engine store_engine_sqlite;
extern const struct engine store_engine_pg;

/* A statement's parameters, in order: text (NULL binds NULL) or integer. */
struct bind {
	const char *b_text;
	int64_t b_int;
	bool b_is_int;
};
#define BT(v)                                                                                                          \
	{                                                                                                              \
		(v), 0, false                                                                                          \
	}
#define BI(v)                                                                                                          \
	{                                                                                                              \
		NULL, (v), true                                                                                        \
	}
#define NBIND(a) (sizeof(a) / sizeof((a)[0]))

/* A connection of the readers' pool (the most recently returned first),
 * waiting until one is free; conn_put returns it. */
struct conn *conn_get(struct store *st);
void conn_put(struct store *st, struct conn *c);
/* The writers' own connection of an e_one_writer store, NULL otherwise
 * (the tests put a fault-injecting engine under it). */
struct conn *conn_writer(struct store *st);
/* The statement, prepared once per connection, reset and unbound; NULL when
 * it cannot be prepared (out of memory): bind_*, stmt_reset take NULL, and
 * step_row, step_done, stmt_next return SL_ESTORE for it.  A bound value
 * the engine could not copy fails the step with SL_ENOMEM (s_lost). */
struct stmt *conn_stmt(struct conn *c, enum stmt_id id);
int conn_exec(struct conn *c, const char *sql);
int conn_changes(struct conn *c);
/* Run fn(c, ctx) in a write transaction on the writer's connection
 * (e_one_writer) or a pooled one; when the
 * engine asks for it (SL_EBUSY: a serialization failure or deadlock under
 * PostgreSQL), roll back and run it again, a few times with a short random
 * pause.  fn must therefore be safe to run again: it may only write its
 * outputs from what it reads (clear an output record before filling it),
 * start from the caller's inputs again where a run changes them, and do
 * nothing outside the database.  This is the only way to write: there is
 * no transaction without retries.  fn sees cn_retry false when it starts. */
typedef int (*tx_fn)(struct conn *c, void *ctx);
/* How often tx_run runs a transaction the engine keeps asking to retry
 * before it answers SL_EBUSY. */
#define TX_TRIES 16
int tx_run(struct store *st, enum durability d, tx_fn fn, void *ctx);
void bind_text(struct stmt *s, int i, const char *v);
void bind_int(struct stmt *s, int i, int64_t v);
char *col_text(struct stmt *s, int i); /* a malloc'd copy, or NULL */
/* Whether a col_text copy of a non-NULL column failed (out of memory) since
 * the statement was handed out: a NULL field of the row is then a lost
 * value, not a NULL column.  A row reader that sees it frees what it read
 * (its record's clear), and conn_read_one, read_one, get_one, read_each
 * and the STORE_VISITOR rows answer SL_ENOMEM. */
bool col_lost(struct stmt *s);
const char *col_str(struct stmt *s, int i); /* borrowed until the next step */
int64_t col_int(struct stmt *s, int i);
void stmt_reset(struct stmt *s);
/* The next row of a statement that returns rows: SL_OK, SL_ENOTFOUND at
 * the end, or an error. */
int stmt_next(struct stmt *s);
int step_done(struct conn *c, struct stmt *s);
int step_row(struct conn *c, struct stmt *s);
/* Bind and run a statement that returns no rows, inside a transaction. */
int exec_bound(struct conn *c, enum stmt_id id, const struct bind *b, size_t n, int *changes);
/* store_key_logins_end's work inside a caller's transaction (a recovery's). */
int key_logins_end_conn(
	struct conn *c, const char *person_id, const char *amr, const char *keep_session, int *sessions, int *tokens);
/* Bind a statement's parameters (for statements that return rows). */
struct stmt *stmt_bound(struct conn *c, enum stmt_id id, const struct bind *b, size_t n);
/* One statement in its own transaction; SL_ENOTFOUND when `must_change`
 * and no row changed. */
int write_one(struct store *st, enum durability d, enum stmt_id id, const struct bind *b, size_t n, bool must_change);
/* The same for a statement whose condition reads other rows (an insert
 * guarded by a count of pending rows): it runs as a full transaction
 * (PostgreSQL: SERIALIZABLE, retried), because at READ COMMITTED two such
 * statements at once both see the count before either insert and both
 * pass. */
int write_guarded(
	struct store *st, enum durability d, enum stmt_id id, const struct bind *b, size_t n, bool must_change);
/* Reads the current row of a SELECT into a record (its text columns
 * copied, so the record outlives the statement); when a copy fails
 * (col_lost) it leaves the record cleared. */
typedef void (*row_reader)(struct stmt *s, void *out);
/* Run a SELECT that returns at most one row on `c` and read that row into
 * `out`; SL_ENOTFOUND when there is none. */
int conn_read_one(struct conn *c, enum stmt_id id, const struct bind *b, size_t n, row_reader rd, void *out);
/* The same on a connection borrowed from the pool for just this read. */
int read_one(struct store *st, enum stmt_id id, const struct bind *b, size_t n, row_reader rd, void *out);
/* Run a SELECT and hand each row to `row` until it returns non-zero
 * (which is returned); SL_ESTORE if a step fails. The connection is held
 * meanwhile, so `row` must not call the store. */
int read_each(struct store *st, enum stmt_id id, const struct bind *b, size_t n, int (*row)(struct stmt *, void *),
	void *ctx);
/* For read_each: the visitor of a record type.  STORE_VISITOR(x, T, rd,
 * clr) defines `struct x_visit {fn, arg}` and `x_row`, which reads each
 * row into a T with rd, hands it to fn (borrowed) and clears it with clr. */
#define STORE_VISITOR(name, type, reader, clear)                                                                       \
	struct name##_visit {                                                                                          \
		int (*fn)(const type *, void *);                                                                       \
		void *arg;                                                                                             \
	};                                                                                                             \
	static int name##_row(struct stmt *s, void *ctx)                                                               \
	{                                                                                                              \
		const struct name##_visit *v = ctx;                                                                    \
		type rec = { 0 };                                                                                      \
		int rc;                                                                                                \
                                                                                                                       \
		reader(s, &rec);                                                                                       \
		if (col_lost(s))                                                                                       \
			return SL_ENOMEM; /* rd cleared rec */                                                         \
		rc = v->fn(&rec, v->arg);                                                                              \
		clear(&rec);                                                                                           \
		return rc;                                                                                             \
	}
/* Does the SELECT `q` keyed by one text value return a row (in the
 * caller's transaction)?  SL_OK when it does, SL_ENOTFOUND when not. */
int conn_exists(struct conn *c, enum stmt_id q, const char *key);
/* Read the one row keyed by one text value into `out` (zeroed first, `size`
 * bytes, so that it can be cleared whatever the outcome). */
int get_one(struct store *st, enum stmt_id q, const char *key, row_reader rd, void *out, size_t size);
/* Run an UPDATE ... RETURNING <ncols integers> in its own transaction:
 * out[i] is column i of the one row changed; SL_ENOTFOUND when none. */
int update_returning(
	struct store *st, enum durability d, enum stmt_id q, const struct bind *b, size_t nb, int64_t *out, int ncols);
/* The same for one integer column of the row keyed by `key`. */
int update_returning_int(struct store *st, enum durability d, enum stmt_id q, const char *key, int *value);
/* One conditional statement in its own transaction; when it changes no
 * row, `why` (run in the same transaction, so it sees what the statement
 * saw) says why: its code is returned. */
int write_or_why(struct store *st, enum durability d, enum stmt_id q, const struct bind *b, size_t n,
	int (*why)(struct conn *, const void *), const void *ctx);
/* Why a conditional UPDATE on a pending request (an app request, a
 * Smart-ID signing request, an RP API session) changed nothing, for
 * write_or_why: pr_state selects (status, expires, extended) of the
 * request.  SL_ENOTFOUND (no such request), SL_ECONFLICT (not in
 * pr_status any more, or already extended — taken, for a session — when
 * pr_extending, or pr_now is 0: the expiry did not matter), SL_EEXPIRED
 * (still in pr_status but past its expiry at pr_now). */
struct pending_ref {
	enum stmt_id pr_state;
	const char *pr_id;
	int64_t pr_now;
	bool pr_extending;
	const char *pr_status; /* NULL: "pending" */
	int pr_max_extended; /* pr_extending: times it may be extended; 0: once */
	int64_t pr_cap; /* pr_extending: no more time at or past it; 0: none */
};
int pending_why_not(struct conn *c, const void *ref);
/* For a transaction that fills fields of a caller's record the caller
 * left NULL: at the start of each run, drop what a run before filled
 * (free and NULL *field unless the caller gave it). */
void unfill(char **field, bool given);
/* Is `s` one of the NULL-terminated `set`? */
bool one_of(const char *s, const char *const *set);
/* A row_reader for SELECT count(*): *(int *)out. */
void count_read(struct stmt *s, void *out);
/* One audit row inside the caller's transaction (oidc.c), for a record
 * that is audited in the commit that makes it: the caller's transaction
 * is then durable (DUR_FULL), as the audit trail is. */
int audit_insert(struct conn *c, const struct store_audit *a);
/* One token inside the caller's transaction (oidc.c). */
int token_insert(struct conn *c, const struct store_token *t);
/* Insert or update a person inside the caller's transaction (same
 * national number, same person id); p->p_id and p_created set. */
int person_upsert_tx(struct conn *c, struct store_person *p, int64_t now);
/* A transaction that upserts a caller's person runs on a copy, so that a
 * run again starts from the caller's record and the caller never holds the
 * id of a row that was rolled back.  person_work_reset (at the start of
 * each run): `work` becomes `from` with a p_id of its own (the strings
 * but p_id are borrowed from `from`); SL_ENOMEM.  person_work_end (after
 * tx_run): when rc is SL_OK, `to` takes work's p_id and p_created; work's
 * p_id is freed otherwise. */
int person_work_reset(struct store_person *work, const struct store_person *from);
void person_work_end(struct store_person *to, struct store_person *work, int rc);

/* smartid.c, for smartid_reg.c's finish (inside the caller's transaction):
 * the person's Smart-ID account, made when missing, its e-mail and phone
 * replaced by those given (NULL keeps); a device of `account_id` (id made
 * when NULL; status, times set); one split key of device `device_id`. */
int sid_account_for_person_tx(struct conn *c, const char *person_id, const char *email, const char *phone, int64_t now,
	struct store_sid_account *out);
int sid_device_insert_tx(struct conn *c, struct store_sid_device *dev, const char *account_id, int64_t now);
int sid_key_insert(struct conn *c, const char *device_id, const struct store_sid_key *k);

#endif
