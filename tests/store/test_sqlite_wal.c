/*
 * test_sqlite_wal.c — the SQLite engine's file layer (src/store/sqlite_vfs.c):
 * a write transaction reaches the WAL file in one write at its commit, is
 * visible to another connection as soon as the commit returns, a rolled
 * back one leaves nothing, and one larger than the buffer is written in
 * pieces and kept whole.
 *
 * The platform's VFS is wrapped by a counting one, registered as the
 * default before the store opens, so the store's VFS wraps it in turn:
 * what it counts is what reaches the kernel.  SQLite only: PostgreSQL has
 * no such layer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/store/store_int.h"
#include "../lib/testutil.h"
#include "wal_vfs.h"

/* A WAL frame: its header and a page of a new store (2 KiB, sqlite.c). */
#define FRAME_BYTES ((sqlite3_int64)24 + 2048)

/* ---- the counting VFS (wal_vfs.h) ---- */

/* Writes to WAL files, and their bytes, since the test last reset them. */
static int wal_writes;
static sqlite3_int64 wal_bytes;

static int
c_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	wal_writes++;
	wal_bytes += n;
	return tw_real(f)->pMethods->xWrite(tw_real(f), data, n, off);
}

static int
c_sync(sqlite3_file *f, int flags)
{
	return tw_real(f)->pMethods->xSync(tw_real(f), flags);
}

/* ---- fixture ---- */

static int
setup(void **state)
{
	return tw_fx_open(state, "sl-test-wal", 5000);
}

static int
teardown(void **state)
{
	return tw_fx_close(state);
}

/* n rows of jti_seen whose jti is `prefix`-i padded to `size` bytes. */
struct rows {
	const char *prefix;
	int n;
	size_t size;
	bool fail; /* return an error after the inserts: rolled back */
};

static int
rows_tx(struct conn *c, void *arg)
{
	const struct rows *r = arg;
	char *jti = malloc(r->size + 1);
	int rc = jti ? SL_OK : SL_ENOMEM;

	for (int i = 0; rc == SL_OK && i < r->n; i++) {
		int k = snprintf(jti, r->size + 1, "%s-%d-", r->prefix, i);
		memset(jti + k, 'x', r->size - (size_t)k);
		jti[r->size] = '\0';
		const struct bind b[] = { BT("client-wal"), BT(jti), BI(sl_now() + 600) };
		rc = exec_bound(c, Q_JTI_PUT, b, NBIND(b), NULL);
	}
	free(jti);
	return rc == SL_OK && r->fail ? SL_EINVAL : rc;
}

/* Rows of `prefix`, counted on a connection of the test's own. */
static int64_t
rows_seen(const char *path, const char *prefix)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char like[64];
	int64_t n = -1;

	snprintf(like, sizeof(like), "%s-%%", prefix);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT count(*) FROM jti_seen WHERE jti LIKE ?1", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, like, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* ---- tests ---- */

/* A commit of many pages: one write of all its frames (the platform VFS
 * alone makes two per page), seen by another connection at once. */
static void
test_commit_is_one_write(void **state)
{
	struct tw_fx *fx = *state;
	struct rows warm = { "warm", 1, 100, false }, many = { "many", 12, 900, false };

	/* The first frame of a WAL also writes its header. */
	assert_int_equal(tx_run(fx->st, DUR_NORMAL, rows_tx, &warm), SL_OK);
	wal_writes = 0;
	wal_bytes = 0;
	assert_int_equal(tx_run(fx->st, DUR_NORMAL, rows_tx, &many), SL_OK);
	assert_int_equal(wal_writes, 1);
	/* several frames of 24 + 2048 bytes in that one write */
	assert_true(wal_bytes >= 3 * FRAME_BYTES);
	assert_int_equal(wal_bytes % FRAME_BYTES, 0);
	assert_int_equal(rows_seen(fx->path, "many"), 12);
	/* A durable commit: the same one write, then its sync. */
	wal_writes = 0;
	many.prefix = "durable";
	assert_int_equal(tx_run(fx->st, DUR_FULL, rows_tx, &many), SL_OK);
	assert_int_equal(wal_writes, 1);
	assert_int_equal(rows_seen(fx->path, "durable"), 12);
}

/* A transaction rolled back leaves nothing, and the next commit is whole. */
static void
test_rollback_leaves_nothing(void **state)
{
	struct tw_fx *fx = *state;
	struct rows bad = { "bad", 12, 900, true }, good = { "good", 3, 900, false };

	assert_int_equal(tx_run(fx->st, DUR_NORMAL, rows_tx, &bad), SL_EINVAL);
	assert_int_equal(rows_seen(fx->path, "bad"), 0);
	assert_int_equal(tx_run(fx->st, DUR_NORMAL, rows_tx, &good), SL_OK);
	assert_int_equal(rows_seen(fx->path, "good"), 3);
	assert_int_equal(rows_seen(fx->path, "bad"), 0);
}

/* More than the 120 KiB buffer: written in pieces, all of it kept, also
 * after the store is closed (the last close checkpoints) and opened. */
static void
test_large_transaction(void **state)
{
	struct tw_fx *fx = *state;
	struct rows big = { "big", 600, 3000, false };
	struct store_options o = { .so_path = fx->path, .so_busy_timeout_ms = 5000, .so_pool = 2 };
	struct sl_err err = { 0 };

	wal_writes = 0;
	wal_bytes = 0;
	assert_int_equal(tx_run(fx->st, DUR_NORMAL, rows_tx, &big), SL_OK);
	/* Pieces: no write of the platform's VFS takes more than 128 KiB.
	 * (A transaction that spills SQLite's page cache also rewrites
	 * frames in place, each a write of its own: still fewer writes than
	 * the platform's two per frame.) */
	assert_true(wal_bytes > (sqlite3_int64)1024 * 1024);
	assert_true(wal_writes >= wal_bytes / ((sqlite3_int64)128 * 1024));
	assert_true(wal_writes < 2 * (wal_bytes / FRAME_BYTES));
	assert_int_equal(rows_seen(fx->path, "big"), 600);
	store_close(fx->st);
	fx->st = store_open(&o, &err);
	assert_non_null(fx->st);
	assert_int_equal(rows_seen(fx->path, "big"), 600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_is_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_transaction, setup, teardown),
	};

	tw_register("count-wal", c_write, c_sync);
	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
