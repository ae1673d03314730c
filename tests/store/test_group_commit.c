/*
 * test_group_commit.c — group commit on the SQLite engine
 * (src/store/sqlite_vfs.c, sqlite.c, engine.c tx_loop): concurrent durable
 * transactions share a sync of the WAL, each returns only once a sync
 * that began after its frames were written has ended, a short-lived one
 * waits for none, and what a power cut would leave (each file as it was
 * when its last sync began) holds every acknowledged durable commit, also
 * across a checkpoint and a restart of the WAL.
 *
 * The platform's VFS is wrapped by an observing one, registered as the
 * default before the store opens, so the store's VFS wraps it in turn:
 * it sees the writes and syncs that reach the kernel.  Its sync of a WAL
 * file is slow (a disk that takes SLOW_SYNC_MS), so that the writers who
 * commit meanwhile must wait for one: without group commit each durable
 * commit syncs on its own and the count of syncs equals the commits.
 * SQLite only: PostgreSQL groups its commits in the server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/store/store_int.h"
#include "../lib/testutil.h"
#include "wal_vfs.h"

#define SLOW_SYNC_MS 15
#define WRITERS 8
#define COMMITS_EACH 6

/* ---- the observing VFS (wal_vfs.h) ---- */

/* What the WAL files were handed (bytes, in order of the writes'
 * returns), and the most a finished sync covers: the bytes handed over
 * before that sync began. */
static _Atomic int64_t wal_written;
static _Atomic int64_t wal_synced;
static atomic_int wal_syncs;
static atomic_int wal_restarts; /* writes of a WAL header: the log started over */
/* The bytes written when this thread's last write to a WAL returned: its
 * commit's frames, for a thread that just committed. */
static _Thread_local int64_t my_written;
/* The WAL as it was when its last sync began: what a power cut leaves. */
static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *wal_image;
static sqlite3_int64 wal_image_len;

static int
o_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off)
{
	int rc = tw_real(f)->pMethods->xWrite(tw_real(f), data, n, off);

	if (rc == SQLITE_OK) {
		my_written = atomic_fetch_add(&wal_written, n) + n;
		if (off == 0)
			atomic_fetch_add(&wal_restarts, 1);
	}
	return rc;
}

/* The image is taken when the sync begins: a write that returns later
 * may or may not be on the disk after a power cut; the test assumes not. */
static int
o_sync(sqlite3_file *f, int flags)
{
	sqlite3_file *r = tw_real(f);
	int64_t before = atomic_load(&wal_written);
	sqlite3_int64 size = 0;
	struct timespec slow = { 0, SLOW_SYNC_MS * 1000000L };
	int rc;

	assert_int_equal(r->pMethods->xFileSize(r, &size), SQLITE_OK);
	pthread_mutex_lock(&image_lock);
	wal_image = realloc(wal_image, (size_t)size + 1);
	assert_non_null(wal_image);
	assert_int_equal(r->pMethods->xRead(r, wal_image, (int)size, 0), SQLITE_OK);
	wal_image_len = size;
	pthread_mutex_unlock(&image_lock);
	nanosleep(&slow, NULL);
	rc = r->pMethods->xSync(r, flags);
	if (rc == SQLITE_OK) {
		int64_t s = atomic_load(&wal_synced);
		while (before > s && !atomic_compare_exchange_weak(&wal_synced, &s, before))
			;
		atomic_fetch_add(&wal_syncs, 1);
	}
	return rc;
}

/* ---- fixture ---- */

static int
setup(void **state)
{
	return tw_fx_open(state, "sl-test-gc", 20000);
}

static int
teardown(void **state)
{
	return tw_fx_close(state);
}

/* One seen jti, `size` bytes long (a page of its own when large). */
struct row {
	const char *jti;
	size_t size;
};

static int
row_tx(struct conn *c, void *arg)
{
	const struct row *r = arg;
	char jti[4096];
	size_t n = strlen(r->jti);

	assert_true(r->size < sizeof(jti) && n <= r->size);
	memcpy(jti, r->jti, n);
	memset(jti + n, 'x', r->size - n);
	jti[r->size] = '\0';
	const struct bind b[] = { BT("client-gc"), BT(jti), BI(sl_now() + 600) };
	return exec_bound(c, Q_JTI_PUT, b, NBIND(b), NULL);
}

/* ---- concurrent durable writers ---- */

struct writer {
	struct store *st;
	int id;
	pthread_barrier_t *start;
	int acked; /* commits returned SL_OK */
	int early; /* of those, returned before a sync covered their frames */
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;

	pthread_barrier_wait(w->start);
	for (int i = 0; i < COMMITS_EACH; i++) {
		char jti[64];
		snprintf(jti, sizeof(jti), "gc-%d-%d-", w->id, i);
		struct row r = { jti, 1000 };
		if (tx_run(w->st, DUR_FULL, row_tx, &r) != SL_OK)
			break;
		/* my_written: this thread's commit write, the last WAL write
		 * it made (its tx_run wrote nothing after COMMIT). */
		if (atomic_load(&wal_synced) < my_written)
			w->early++;
		w->acked++;
	}
	return NULL;
}

static void
run_writers(struct store *st, struct writer *w, int n)
{
	pthread_t t[WRITERS];
	pthread_barrier_t start;

	assert_true(n <= WRITERS);
	pthread_barrier_init(&start, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		w[i] = (struct writer){ .st = st, .id = i, .start = &start };
		assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
}

/* ---- the power cut ---- */

/* A copy of the database as a power cut would leave it: the main file as
 * it is (it changes only in checkpoints, which sync the WAL first and
 * themselves after), the WAL as it was when its last sync began, no
 * shared memory (recovery rebuilds it).  How many of each writer's rows
 * it holds. */
static void
power_cut_rows(const struct tw_fx *fx, const struct writer *w, int n)
{
	char *dir = tu_tmpdir("sl-test-gc-cut"), *db = tu_path(dir, "cut.db"), *wal = tu_path(dir, "cut.db-wal");
	sqlite3 *c = NULL;
	sqlite3_stmt *s = NULL;
	FILE *in = fopen(fx->path, "rb");
	unsigned char *buf = malloc(1 << 20);
	size_t got;
	FILE *out = fopen(db, "wb");

	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(buf);
	while ((got = fread(buf, 1, 1 << 20, in)) > 0)
		assert_int_equal(fwrite(buf, 1, got, out), got);
	fclose(in);
	fclose(out);
	free(buf);
	pthread_mutex_lock(&image_lock);
	assert_int_equal(tu_write_file(wal, wal_image, (size_t)wal_image_len), 0);
	pthread_mutex_unlock(&image_lock);
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(c, "SELECT count(*) FROM jti_seen WHERE jti LIKE ?1", -1, &s, NULL), SQLITE_OK);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < w[i].acked; k++) {
			char like[64];
			snprintf(like, sizeof(like), "gc-%d-%d-%%", w[i].id, k);
			sqlite3_bind_text(s, 1, like, -1, SQLITE_TRANSIENT);
			assert_int_equal(sqlite3_step(s), SQLITE_ROW);
			if (sqlite3_column_int(s, 0) != 1)
				fail_msg("writer %d's acknowledged commit %d is not in the database after a power cut",
					i, k);
			sqlite3_reset(s);
		}
	}
	sqlite3_finalize(s);
	sqlite3_close(c);
	tu_rm_tree(dir);
	free(db);
	free(wal);
	free(dir);
}

/* ---- tests ---- */

/* Eight writers commit durably at once: fewer syncs than commits, each
 * commit returned only after a sync covered it, and all of them survive
 * the power cut. */
static void
test_writers_share_a_sync(void **state)
{
	struct tw_fx *fx = *state;
	struct writer w[WRITERS];
	int syncs = atomic_load(&wal_syncs), acked = 0, early = 0;

	run_writers(fx->st, w, WRITERS);
	for (int i = 0; i < WRITERS; i++) {
		acked += w[i].acked;
		early += w[i].early;
	}
	syncs = atomic_load(&wal_syncs) - syncs;
	assert_int_equal(acked, WRITERS * COMMITS_EACH);
	assert_int_equal(early, 0);
	/* One sync per commit is what FULL in COMMIT does: here the writers
	 * who commit while a (slow) sync runs share the next one. */
	fprintf(stderr, "# %d durable commits, %d syncs\n", acked, syncs);
	assert_true(syncs > 0);
	assert_true(syncs * 2 <= acked);
	power_cut_rows(fx, w, WRITERS);
}

/* A short-lived commit waits for no sync; the durable one after it syncs
 * it too (the WAL is a log: a sync covers everything before). */
static void
test_short_lived_commits_do_not_sync(void **state)
{
	struct tw_fx *fx = *state;
	int syncs = atomic_load(&wal_syncs);
	struct writer w = { .id = 99, .acked = 1 };
	struct row d = { "gc-99-0-", 200 };
	char jti[32];

	for (int i = 0; i < 10; i++) {
		snprintf(jti, sizeof(jti), "short-%d-", i);
		struct row r = { jti, 200 };
		assert_int_equal(tx_run(fx->st, DUR_NORMAL, row_tx, &r), SL_OK);
	}
	assert_int_equal(atomic_load(&wal_syncs), syncs);
	assert_int_equal(tx_run(fx->st, DUR_FULL, row_tx, &d), SL_OK);
	assert_true(atomic_load(&wal_synced) >= my_written);
	assert_int_equal(atomic_load(&wal_syncs), syncs + 1);
	power_cut_rows(fx, &w, 1);
}

/* A transaction large enough for SQLite's automatic checkpoint (1000
 * pages), after which the WAL starts over from its header: the durable
 * commits after the restart (byte marks, not offsets) still wait for
 * their sync and survive the power cut. */
static void
test_commits_after_a_wal_restart(void **state)
{
	struct tw_fx *fx = *state;
	struct writer w[4];
	int restarts = atomic_load(&wal_restarts);
	char jti[32];

	for (int i = 0; i < 1100; i++) {
		snprintf(jti, sizeof(jti), "fill-%d-", i);
		struct row r = { jti, 3000 };
		assert_int_equal(tx_run(fx->st, DUR_NORMAL, row_tx, &r), SL_OK);
	}
	run_writers(fx->st, w, 4);
	assert_true(atomic_load(&wal_restarts) > restarts);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(w[i].acked, COMMITS_EACH);
		assert_int_equal(w[i].early, 0);
	}
	power_cut_rows(fx, w, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writers_share_a_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_lived_commits_do_not_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commits_after_a_wal_restart, setup, teardown),
	};

	tw_register("observe-wal", o_write, o_sync);
	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
