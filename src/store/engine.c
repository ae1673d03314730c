/*
 * engine.c — what every engine shares: the connection pool, the dispatch
 * to the engine's primitives, transactions with retries, and the helpers
 * the record files are written in.
 *
 * A fixed pool of connections, one borrowed per operation, the most
 * recently returned first.  Under SQLite readers run in parallel under WAL
 * and the writers of the process take turns on the store's writer mutex,
 * all on one connection of their own (e_one_writer); under PostgreSQL every
 * connection is a server backend and write transactions are serializable,
 * retried when the server says so (tx_run).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "store_int.h"

/* The longest random pause before tx_run runs a transaction again. */
#define TX_PAUSE_MAX_US 2000

struct store {
	pthread_mutex_t st_lock;
	pthread_cond_t st_free;
	const struct engine *st_engine;
	struct conn *st_conns; /* the readers' pool, then the writer (st_wconn) */
	int st_nconns; /* opened, for store_close */
	/* The free connections of the pool, a stack: the most recently used
	 * one first, whose page cache (SQLite) is the likeliest to be valid. */
	struct conn **st_idle;
	int st_nidle;
	int st_waiting; /* threads in conn_get's wait: conn_put wakes one */
	/* e_one_writer engines: the writers' turn and their connection.  A
	 * waiting writer goes the moment the one before ends, instead of
	 * sleeping in SQLite's busy handler (1 to 100 ms polls: the confirm ->
	 * resume tail, docs/performance.md), and the writer's page cache
	 * stays valid from one write to the next, since no other connection
	 * of the process writes (strace, trivial login: pread64 57 -> 20-22 a login). */
	pthread_mutex_t st_writer;
	struct conn *st_wconn;
	atomic_int st_wwaiting; /* writers waiting for their turn: read_one leaves them st_wconn */
	int st_busy_ms; /* [store] busy_timeout_ms: the longest wait for a turn */
	char *st_path; /* sqlite */
	char *st_conninfo; /* postgresql; may hold a password */
	struct notifier *st_notifier; /* notify.c */
};

/* ---- pool ---- */

struct conn *
conn_get(struct store *st)
{
	struct conn *c;

	pthread_mutex_lock(&st->st_lock);
	while (st->st_nidle == 0) {
		st->st_waiting++;
		pthread_cond_wait(&st->st_free, &st->st_lock);
		st->st_waiting--;
	}
	c = st->st_idle[--st->st_nidle];
	c->cn_busy = true;
	pthread_mutex_unlock(&st->st_lock);
	return c;
}

void
conn_put(struct store *st, struct conn *c)
{
	bool wake;

	pthread_mutex_lock(&st->st_lock);
	c->cn_busy = false;
	st->st_idle[st->st_nidle++] = c;
	wake = st->st_waiting > 0;
	pthread_mutex_unlock(&st->st_lock);
	if (wake)
		pthread_cond_signal(&st->st_free);
}

struct conn *
conn_writer(struct store *st)
{
	return st->st_wconn;
}

/* Wait for the writers' turn, at most the busy timeout, measured on the
 * monotonic clock: a wall-clock step (NTP, an operator) must neither end
 * the wait at once nor stretch it. */
static int
writer_take(struct store *st)
{
	struct timespec until;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += st->st_busy_ms / 1000;
	until.tv_nsec += (long)(st->st_busy_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	atomic_fetch_add(&st->st_wwaiting, 1);
	r = pthread_mutex_clocklock(&st->st_writer, CLOCK_MONOTONIC, &until);
	atomic_fetch_sub(&st->st_wwaiting, 1);
	if (r == 0)
		return SL_OK;
	log_error("no turn to write within busy_timeout_ms (%d ms): %s", st->st_busy_ms,
		r == ETIMEDOUT ? "other writers held the database" : "lock failed");
	return SL_ESTORE;
}

/* The connection of a write transaction: the writer's, on its turn, or
 * one of the pool.  NULL: no turn within the busy timeout. */
static struct conn *
writer_get(struct store *st)
{
	if (st->st_wconn == NULL)
		return conn_get(st);
	return writer_take(st) == SL_OK ? st->st_wconn : NULL;
}

static void
writer_put(struct store *st, struct conn *c)
{
	if (c == st->st_wconn)
		pthread_mutex_unlock(&st->st_writer);
	else
		conn_put(st, c);
}

/* ---- dispatch ---- */

/* Each file of the store owns the SQL of its statements. */
static const char *
stmt_text(enum stmt_id id)
{
	const char *const *tables[] = { store_sql_oidc, store_sql_app, store_sql_consent, store_sql_sid,
		store_sql_sid_reg, store_sql_sidrp, store_sql_requests, store_sql_notify, store_sql_limits,
		store_sql_audit, store_sql_partner, store_sql_notice, store_sql_failures };

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		if (tables[i][id] != NULL)
			return tables[i][id];
	return NULL;
}

struct stmt *
conn_stmt(struct conn *c, enum stmt_id id)
{
	const char *sql = stmt_text(id);
	struct stmt *s = sql != NULL ? c->cn_engine->e_prepare(c, id, sql) : NULL;

	/* The statements are constants checked by every test run on both
	 * engines, but preparing one also allocates: out of memory, the
	 * request fails (NULL: the bind, step and reset below take it, a step
	 * as SL_ESTORE), not the daemon. */
	if (s == NULL)
		log_error("prepare failed: %s", sql ? sql : "(no SQL)");
	else
		s->s_lost = false;
	return s;
}

int
conn_exec(struct conn *c, const char *sql)
{
	return c->cn_engine->e_exec(c, sql);
}

int
conn_changes(struct conn *c)
{
	return c->cn_engine->e_changes(c);
}

void
bind_text(struct stmt *s, int i, const char *v)
{
	if (s == NULL)
		return;
	s->s_conn->cn_engine->e_bind_text(s, i, v);
}

void
bind_int(struct stmt *s, int i, int64_t v)
{
	if (s == NULL)
		return;
	s->s_conn->cn_engine->e_bind_int(s, i, v);
}

const char *
col_str(struct stmt *s, int i)
{
	return s->s_conn->cn_engine->e_col_str(s, i);
}

char *
col_text(struct stmt *s, int i)
{
	const char *t = col_str(s, i);
	char *copy = t ? strdup(t) : NULL;

	/* Out of memory: the row reader learns it from col_lost, so that a
	 * read answers SL_ENOMEM, not a record with a field missing. */
	if (t != NULL && copy == NULL) {
		log_error("out of memory copying column %d of a row", i);
		s->s_lost = true;
	}
	return copy;
}

bool
col_lost(struct stmt *s)
{
	return s != NULL && s->s_lost;
}

int64_t
col_int(struct stmt *s, int i)
{
	return s->s_conn->cn_engine->e_col_int(s, i);
}

void
stmt_reset(struct stmt *s)
{
	if (s == NULL)
		return;
	s->s_conn->cn_engine->e_reset(s);
}

/* One step, unless the statement could not be prepared or a bound value
 * could not be copied: running it with that value NULL would read or
 * write something else. */
static int
step(struct stmt *s)
{
	if (s == NULL)
		return SL_ESTORE;
	if (s->s_lost) {
		log_error("a value of the statement could not be copied (out of memory)");
		return SL_ENOMEM;
	}
	return s->s_conn->cn_engine->e_step(s);
}

int
stmt_next(struct stmt *s)
{
	return step(s);
}

/* Step a statement that returns no rows. */
int
step_done(struct conn *c, struct stmt *s)
{
	int r = step(s);

	(void)c;
	if (r == SL_ENOTFOUND)
		return SL_OK;
	if (r == SL_OK) {
		log_error("a statement returned a row where none was expected");
		return SL_ESTORE;
	}
	return r;
}

/* Step a statement expected to return at most one row. */
int
step_row(struct conn *c, struct stmt *s)
{
	(void)c;
	return step(s);
}

/* ---- transactions ---- */

/* A write transaction on `c`; tx_end commits when rc is SL_OK, else rolls
 * back, and returns the outcome (SL_EBUSY: run the transaction again).
 * Static: the record files write only through tx_run, which retries. */
static int
tx_begin(struct conn *c, enum durability d, bool one_statement)
{
	c->cn_retry = false;
	return c->cn_engine->e_tx_begin(c, d, one_statement);
}

static int
tx_end(struct conn *c, int rc)
{
	int end = c->cn_engine->e_tx_end(c, rc == SL_OK && !c->cn_retry);

	/* The engine sets cn_retry on a serialization failure or deadlock,
	 * in a statement or at COMMIT. */
	if (c->cn_retry)
		return SL_EBUSY;
	return rc != SL_OK ? rc : end;
}

/* A random pause of up to TX_PAUSE_MAX_US, so that two transactions that
 * collided do not collide again in step. */
static void
tx_pause(int attempt)
{
	uint32_t r = 0;
	struct timespec ts;
	long us;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	us = (long)(r % (uint32_t)(TX_PAUSE_MAX_US * attempt / TX_TRIES + 1));
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	nanosleep(&ts, NULL);
}

/* A committed durable transaction's sync, when the engine leaves it for
 * later (group commit): the mark is taken on the writers' turn, the wait
 * is after it, so that the next writers commit meanwhile and one sync
 * covers them all.  The caller learns of the commit only once it is
 * synced. */
static int
tx_loop(struct store *st, enum durability d, bool one_statement, tx_fn fn, void *ctx)
{
	struct conn *c = writer_get(st);
	const struct engine *e;
	struct wal_mark mark = { 0 };
	int rc = SL_OK;

	if (c == NULL)
		return SL_ESTORE;
	e = c->cn_engine; /* the connection may be another writer's once put back */
	for (int attempt = 1; attempt <= TX_TRIES; attempt++) {
		if (attempt > 1)
			tx_pause(attempt);
		rc = tx_begin(c, d, one_statement);
		if (rc == SL_OK)
			rc = fn(c, ctx);
		rc = tx_end(c, rc);
		if (!c->cn_retry)
			break;
	}
	if (c->cn_retry)
		log_error("a transaction was still in conflict after %d tries", TX_TRIES);
	if (rc == SL_OK && d == DUR_FULL && e->e_tx_mark != NULL && e->e_tx_mark(c, &mark) != SL_OK)
		rc = SL_ESTORE;
	writer_put(st, c);
	if (rc == SL_OK && mark.wm_wal != NULL && e->e_tx_sync(&mark) != SL_OK)
		rc = SL_ESTORE;
	return rc;
}

int
tx_run(struct store *st, enum durability d, tx_fn fn, void *ctx)
{
	return tx_loop(st, d, false, fn, ctx);
}

/* A transaction of one statement (write_one, update_returning): atomic by
 * itself, so a hot row (a failure counter, a rate limit) is updated by
 * waiting for the other writer instead of failing and retrying. */
static int
tx_run_one(struct store *st, enum durability d, tx_fn fn, void *ctx)
{
	return tx_loop(st, d, true, fn, ctx);
}

/* ---- statements with their parameters ---- */

struct stmt *
stmt_bound(struct conn *c, enum stmt_id id, const struct bind *b, size_t n)
{
	struct stmt *s = conn_stmt(c, id);

	for (size_t i = 0; i < n; i++) {
		if (b[i].b_is_int)
			bind_int(s, (int)i + 1, b[i].b_int);
		else
			bind_text(s, (int)i + 1, b[i].b_text);
	}
	return s;
}

int
exec_bound(struct conn *c, enum stmt_id id, const struct bind *b, size_t n, int *changes)
{
	struct stmt *s = stmt_bound(c, id, b, n);
	int rc;

	rc = step_done(c, s);
	if (changes != NULL)
		*changes = conn_changes(c);
	stmt_reset(s);
	return rc;
}

struct write_one_ctx {
	enum stmt_id id;
	const struct bind *b;
	size_t n;
	bool must_change;
};

static int
write_one_tx(struct conn *c, void *arg)
{
	const struct write_one_ctx *w = arg;
	int changes = 0, rc = exec_bound(c, w->id, w->b, w->n, &changes);

	if (rc == SL_OK && w->must_change && changes == 0)
		rc = SL_ENOTFOUND;
	return rc;
}

int
write_one(struct store *st, enum durability d, enum stmt_id id, const struct bind *b, size_t n, bool must_change)
{
	struct write_one_ctx w = { id, b, n, must_change };

	return tx_run_one(st, d, write_one_tx, &w);
}

int
write_guarded(struct store *st, enum durability d, enum stmt_id id, const struct bind *b, size_t n, bool must_change)
{
	struct write_one_ctx w = { id, b, n, must_change };

	return tx_run(st, d, write_one_tx, &w);
}

int
conn_read_one(struct conn *c, enum stmt_id id, const struct bind *b, size_t n, row_reader rd, void *out)
{
	struct stmt *s = stmt_bound(c, id, b, n);
	int rc = step_row(c, s);

	if (rc == SL_OK) {
		rd(s, out);
		if (col_lost(s))
			rc = SL_ENOMEM; /* rd cleared out */
	}
	stmt_reset(s);
	return rc;
}

/* A read of one row goes on the writer's connection when it is free and no
 * writer waits for it: its page cache is valid, since every write of the
 * process goes through it, where a pooled connection's whole cache is
 * dropped by any write of another connection (SQLite), and re-read with a
 * pread per page.  Only here: the row reader only copies the row, where
 * read_each's callback or a caller holding a connection might write. */
static struct conn *
reader_get(struct store *st)
{
	if (st->st_wconn != NULL && atomic_load(&st->st_wwaiting) == 0 && pthread_mutex_trylock(&st->st_writer) == 0)
		return st->st_wconn;
	return conn_get(st);
}

int
read_one(struct store *st, enum stmt_id id, const struct bind *b, size_t n, row_reader rd, void *out)
{
	struct conn *c = reader_get(st);
	int rc = conn_read_one(c, id, b, n, rd, out);

	writer_put(st, c);
	return rc;
}

int
read_each(
	struct store *st, enum stmt_id id, const struct bind *b, size_t n, int (*row)(struct stmt *, void *), void *ctx)
{
	struct conn *c = conn_get(st);
	struct stmt *s = stmt_bound(c, id, b, n);
	int rc = SL_OK, r = SL_OK;

	while (rc == SL_OK && (r = stmt_next(s)) == SL_OK) {
		rc = row(s, ctx);
		/* each row function checks col_lost before it uses the row */
		if (rc == SL_OK && col_lost(s))
			rc = SL_ENOMEM;
	}
	/* A failed step is an error, not the end of the list. */
	if (rc == SL_OK && r != SL_ENOTFOUND && r != SL_OK)
		rc = SL_ESTORE;
	stmt_reset(s);
	conn_put(st, c);
	return rc;
}

/* ---- helpers of the record files ---- */

int
get_one(struct store *st, enum stmt_id q, const char *key, row_reader rd, void *out, size_t size)
{
	const struct bind b[] = { BT(key) };

	memset(out, 0, size);
	return read_one(st, q, b, NBIND(b), rd, out);
}

struct returning_ctx {
	enum stmt_id q;
	const struct bind *b;
	size_t nb;
	int64_t *out;
	int ncols;
};

static int
update_returning_tx(struct conn *c, void *arg)
{
	const struct returning_ctx *r = arg;
	struct stmt *s = stmt_bound(c, r->q, r->b, r->nb);
	int rc = step_row(c, s);

	for (int i = 0; rc == SL_OK && i < r->ncols; i++)
		r->out[i] = col_int(s, i);
	/* Finish the statement before COMMIT: RETURNING completes the
	 * UPDATE only when stepped to the end. */
	if (rc == SL_OK && stmt_next(s) != SL_ENOTFOUND)
		rc = SL_ESTORE;
	stmt_reset(s);
	return rc;
}

int
update_returning(
	struct store *st, enum durability d, enum stmt_id q, const struct bind *b, size_t nb, int64_t *out, int ncols)
{
	struct returning_ctx r = { q, b, nb, out, ncols };

	return tx_run_one(st, d, update_returning_tx, &r);
}

int
conn_exists(struct conn *c, enum stmt_id q, const char *key)
{
	const struct bind b[] = { BT(key) };
	struct stmt *s = stmt_bound(c, q, b, NBIND(b));
	int rc = step_row(c, s);

	stmt_reset(s);
	return rc;
}

int
update_returning_int(struct store *st, enum durability d, enum stmt_id q, const char *key, int *value)
{
	const struct bind b[] = { BT(key) };
	int64_t v = 0;
	int rc = update_returning(st, d, q, b, NBIND(b), &v, 1);

	if (rc == SL_OK)
		*value = (int)v;
	return rc;
}

struct why_ctx {
	enum stmt_id q;
	const struct bind *b;
	size_t n;
	int (*why)(struct conn *, const void *);
	const void *ctx;
};

static int
write_or_why_tx(struct conn *c, void *arg)
{
	const struct why_ctx *w = arg;
	int changes = 0, rc = exec_bound(c, w->q, w->b, w->n, &changes);

	if (rc == SL_OK && changes == 0)
		rc = w->why(c, w->ctx);
	return rc;
}

int
write_or_why(struct store *st, enum durability d, enum stmt_id q, const struct bind *b, size_t n,
	int (*why)(struct conn *, const void *), const void *ctx)
{
	struct why_ctx w = { q, b, n, why, ctx };

	return tx_run(st, d, write_or_why_tx, &w);
}

int
pending_why_not(struct conn *c, const void *arg)
{
	const struct pending_ref *r = arg;
	const struct bind b[] = { BT(r->pr_id) };
	struct stmt *s = stmt_bound(c, r->pr_state, b, NBIND(b));
	int rc = step_row(c, s);

	if (rc == SL_OK) {
		const char *status = col_str(s, 0);
		if (status == NULL || strcmp(status, r->pr_status ? r->pr_status : "pending") != 0 ||
			(r->pr_extending && col_int(s, 2) >= (r->pr_max_extended > 0 ? r->pr_max_extended : 1)) ||
			r->pr_now == 0)
			rc = SL_ECONFLICT;
		else if (col_int(s, 1) <= r->pr_now)
			rc = SL_EEXPIRED;
		else if (r->pr_extending && r->pr_cap > 0 && col_int(s, 1) >= r->pr_cap)
			rc = SL_ECONFLICT; /* no room left below the cap */
		else
			rc = SL_ESTORE; /* the UPDATE should have matched */
	}
	stmt_reset(s);
	return rc;
}

void
unfill(char **field, bool given)
{
	if (!given) {
		free(*field);
		*field = NULL;
	}
}

bool
one_of(const char *s, const char *const *set)
{
	for (; s != NULL && *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

void
count_read(struct stmt *s, void *arg)
{
	*(int *)arg = (int)col_int(s, 0);
}

/* ---- open and close ---- */

static const struct engine *
engine_named(const char *name)
{
	if (name == NULL || strcmp(name, "sqlite") == 0)
		return &store_engine_sqlite;
	if (strcmp(name, "postgresql") == 0)
		return &store_engine_pg;
	return NULL;
}

struct store *
store_open(const struct store_options *opts, struct sl_err *err)
{
	const struct engine *e = engine_named(opts->so_engine);
	struct store *st;
	int n = opts->so_pool > 0 ? opts->so_pool : 4;
	int total;

	if (e == NULL)
		return sl_fail(err, SL_EINVAL, "unknown store engine %s (sqlite or postgresql)", opts->so_engine), NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	pthread_mutex_init(&st->st_lock, NULL);
	pthread_cond_init(&st->st_free, NULL);
	pthread_mutex_init(&st->st_writer, NULL);
	st->st_engine = e;
	st->st_busy_ms = opts->so_busy_timeout_ms;
	total = n + (e->e_one_writer ? 1 : 0);
	st->st_conns = calloc((size_t)total, sizeof(struct conn));
	st->st_idle = calloc((size_t)n, sizeof(struct conn *));
	st->st_path = opts->so_path && e == &store_engine_sqlite ? strdup(opts->so_path) : NULL;
	st->st_conninfo = opts->so_conninfo && e == &store_engine_pg ? strdup(opts->so_conninfo) : NULL;
	if (st->st_conns == NULL || st->st_idle == NULL ||
		(opts->so_path && e == &store_engine_sqlite && st->st_path == NULL) ||
		(opts->so_conninfo && e == &store_engine_pg && st->st_conninfo == NULL)) {
		store_close(st);
		return sl_fail(err, SL_ENOMEM, "out of memory"), NULL;
	}
	for (int i = 0; i < total; i++) {
		struct conn *c = &st->st_conns[i];
		c->cn_engine = e;
		st->st_nconns = i + 1;
		if (e->e_open(c, opts, err) != SL_OK) {
			store_close(st);
			return NULL;
		}
		/* Migrate on the first connection before the others use it. */
		if (i == 0 && e->e_migrate(c, err) != SL_OK) {
			store_close(st);
			return NULL;
		}
		if (i < n)
			st->st_idle[st->st_nidle++] = c;
		else
			st->st_wconn = c;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	/* The listener's thread goes before the connections it may use. */
	store_unlisten(st);
	for (int i = 0; st->st_conns != NULL && i < st->st_nconns; i++)
		st->st_engine->e_close(&st->st_conns[i]);
	free(st->st_conns);
	free(st->st_idle);
	free(st->st_path);
	if (st->st_conninfo != NULL)
		OPENSSL_cleanse(st->st_conninfo, strlen(st->st_conninfo));
	free(st->st_conninfo);
	pthread_mutex_destroy(&st->st_lock);
	pthread_cond_destroy(&st->st_free);
	pthread_mutex_destroy(&st->st_writer);
	free(st);
}

const char *
store_engine_name(struct store *st)
{
	return st->st_engine->e_name;
}

int
store_schema_version(struct store *st, int *version)
{
	struct conn *c = conn_get(st);
	int rc = st->st_engine->e_schema_version(c, version);

	conn_put(st, c);
	return rc;
}

const char *
store_opt_path(struct store *st)
{
	return st->st_path;
}

const char *
store_opt_conninfo(struct store *st)
{
	return st->st_conninfo;
}

struct notifier **
store_notifier(struct store *st)
{
	return &st->st_notifier;
}
