/*
 * test_limits.c — state every node shares, on a fresh database per test
 * (SQLite, or PostgreSQL with SLEUTEL_TEST_ENGINE=postgresql): rate-limit
 * windows (store_rate_hit) counted by two store handles on one database as
 * two nodes would, also from parallel threads; their purge; the proof
 * state's compare-and-swap; and notifications between nodes (store_listen,
 * store_notify): this node's listener at once, another node's through the
 * engine (PostgreSQL) or a second listener on one SQLite file refused.
 * failures.c: a window read without counting (store_rate_peek), and a
 * phone number's wrong SMS codes across enrolments (per window, in all,
 * cleared by a right code), charged by two nodes.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "store_fixture.h"

#define WINDOW 60
#define T0 1800000000LL

static int
hit1(struct store *st, const char *key, int limit, int64_t now)
{
	struct store_rate_check c = { key, limit };
	size_t which = 99;

	return store_rate_hit(st, &c, 1, WINDOW, now, &which);
}

static void
test_window(void **state)
{
	struct fixture *fx = *state;
	struct store *st = fx->fx_store;

	for (int i = 0; i < 3; i++)
		assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + i), SL_OK);
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + 3), SL_ETOOBIG);
	/* Still refused up to the last second of the window, which started at
	 * the first request (refusals do not move it). */
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + WINDOW - 1), SL_ETOOBIG);
	/* A new window: the count starts again. */
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + WINDOW), SL_OK);
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + WINDOW + 1), SL_OK);
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + WINDOW + 2), SL_OK);
	assert_int_equal(hit1(st, "p:+32470123456", 3, T0 + WINDOW + 3), SL_ETOOBIG);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM rate_limits"), 1);
	/* Refusals were rolled back: the count is the limit, not more. */
	assert_int_equal(raw_count(fx->fx_path, "SELECT count FROM rate_limits"), 3);
}

static void
test_limit_zero_and_one(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(hit1(fx->fx_store, "i:127.0.0.1", 1, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "i:127.0.0.1", 1, T0), SL_ETOOBIG);
	/* A limit of 0 refuses, whether the key has a window or not. */
	assert_int_equal(hit1(fx->fx_store, "i:127.0.0.1", 0, T0 + WINDOW), SL_ETOOBIG);
	assert_int_equal(hit1(fx->fx_store, "i:fresh", 0, T0), SL_ETOOBIG);
}

static void
test_keys_apart(void **state)
{
	struct fixture *fx = *state;
	char key[64];

	/* Each key has its own count; one at its limit does not touch another. */
	assert_int_equal(hit1(fx->fx_store, "p:+32470000001", 2, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "p:+32470000001", 2, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "p:+32470000001", 2, T0), SL_ETOOBIG);
	assert_int_equal(hit1(fx->fx_store, "p:+32470000002", 2, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "i:+32470000001", 2, T0), SL_OK); /* same value, other kind */
	for (int i = 0; i < 200; i++) {
		snprintf(key, sizeof(key), "i:10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(hit1(fx->fx_store, key, 1, T0), SL_OK);
	}
	for (int i = 0; i < 200; i += 7) {
		snprintf(key, sizeof(key), "i:10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(hit1(fx->fx_store, key, 1, T0 + 1), SL_ETOOBIG);
	}
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM rate_limits"), 203);
}

static void
test_all_or_none(void **state)
{
	struct fixture *fx = *state;
	struct store *st = fx->fx_store;
	size_t which = 99;

	assert_int_equal(hit1(st, "i:192.0.2.1", 1, T0), SL_OK);
	/* The IP is at its limit: the phone and RP keys are not counted. */
	struct store_rate_check c[3] = { { "p:+32470123456", 1 }, { "i:192.0.2.1", 1 }, { "r:client", 1 } };
	assert_int_equal(store_rate_hit(st, c, 3, WINDOW, T0, &which), SL_ETOOBIG);
	assert_int_equal(which, 1);
	assert_int_equal(hit1(st, "p:+32470123456", 1, T0), SL_OK);
	assert_int_equal(hit1(st, "r:client", 1, T0), SL_OK);
	/* `which` names the first key at its limit. */
	struct store_rate_check d[2] = { { "p:fresh", 5 }, { "r:client", 1 } };
	assert_int_equal(store_rate_hit(st, d, 2, WINDOW, T0, &which), SL_ETOOBIG);
	assert_int_equal(which, 1);
	/* All under their limits: all counted. */
	struct store_rate_check e[2] = { { "p:a", 1 }, { "p:b", 1 } };
	assert_int_equal(store_rate_hit(st, e, 2, WINDOW, T0, &which), SL_OK);
	assert_int_equal(hit1(st, "p:a", 1, T0), SL_ETOOBIG);
	assert_int_equal(hit1(st, "p:b", 1, T0), SL_ETOOBIG);
}

static void
test_refused_arguments(void **state)
{
	struct fixture *fx = *state;
	struct store_rate_check many[STORE_RATE_CHECKS_MAX + 1];
	char longkey[STORE_RATE_KEY_MAX + 1];
	size_t which = 0;

	for (size_t i = 0; i < STORE_RATE_CHECKS_MAX + 1; i++)
		many[i] = (struct store_rate_check){ "p:x", 100 };
	assert_int_equal(store_rate_hit(fx->fx_store, many, STORE_RATE_CHECKS_MAX + 1, WINDOW, T0, &which), SL_EINVAL);
	assert_int_equal(store_rate_hit(fx->fx_store, many, 0, WINDOW, T0, &which), SL_EINVAL);
	assert_int_equal(store_rate_hit(fx->fx_store, many, 1, 0, T0, &which), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM rate_limits"), 0);
	memset(longkey, 'k', STORE_RATE_KEY_MAX);
	longkey[STORE_RATE_KEY_MAX] = '\0';
	assert_int_equal(hit1(fx->fx_store, longkey, 1, T0), SL_EINVAL);
	longkey[STORE_RATE_KEY_MAX - 1] = '\0'; /* the longest key */
	assert_int_equal(hit1(fx->fx_store, longkey, 1, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, longkey, 1, T0), SL_ETOOBIG);
}

/* Two store handles on one database count against one budget, as two
 * nodes do. */
static void
test_two_nodes_share_budget(void **state)
{
	struct fixture *fx = *state;
	struct store *b = open_store(fx->fx_path, 2);
	int ok = 0;

	for (int i = 0; i < 10; i++)
		if (hit1(i % 2 ? b : fx->fx_store, "p:+32470999999", 5, T0 + i) == SL_OK)
			ok++;
	assert_int_equal(ok, 5);
	assert_int_equal(hit1(b, "p:+32470999999", 5, T0 + 20), SL_ETOOBIG);
	assert_int_equal(hit1(fx->fx_store, "p:+32470999999", 5, T0 + 20), SL_ETOOBIG);
	store_close(b);
}

struct hitter {
	struct store *st;
	atomic_int *ok;
	int n;
};

static void *
hitter_main(void *arg)
{
	struct hitter *h = arg;

	for (int i = 0; i < h->n; i++) {
		int rc = hit1(h->st, "r:busy-client", 40, T0);
		if (rc == SL_OK)
			atomic_fetch_add(h->ok, 1);
		else if (rc != SL_ETOOBIG)
			fprintf(stderr, "store_rate_hit: %d\n", rc);
	}
	return NULL;
}

/* Four threads on two "nodes" at once: exactly the limit gets through. */
static void
test_parallel_hits_exact(void **state)
{
	struct fixture *fx = *state;
	struct store *b = open_store(fx->fx_path, 4);
	atomic_int ok = 0;
	struct hitter h[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hitter){ i % 2 ? b : fx->fx_store, &ok, 25 };
		assert_int_equal(pthread_create(&t[i], NULL, hitter_main, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&ok), 40);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count FROM rate_limits WHERE key = 'r:busy-client'"), 40);
	store_close(b);
}

static void
test_windows_purged(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(hit1(fx->fx_store, "p:old", 3, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "p:new", 3, T0 + 30), SL_OK);
	/* p:old's window ends at T0 + WINDOW: gone; p:new's lives on. */
	assert_true(store_purge_expired(fx->fx_store, T0 + WINDOW) >= 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM rate_limits"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM rate_limits WHERE key = 'p:new'"), 1);
}

/* ---- the proof state's compare-and-swap ---- */

static void
test_proof_swap(void **state)
{
	struct fixture *fx = *state;
	struct store_enrollment e = {
		.en_id = (char *)"en1",
		.en_phone = (char *)"+32470123456",
		.en_jkt = (char *)"jkt1",
		.en_transport_jwk = (char *)"{}",
		.en_status = (char *)"proofing",
		.en_created = sl_now(),
		.en_expires = sl_now() + 600,
	};
	struct store_enrollment got = { 0 };

	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_OK);
	/* From no state to one. */
	e.en_proof_state = (char *)"{\"tickets\":[\"a\"]}";
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, NULL), SL_OK);
	/* A writer that read the old (empty) state loses... */
	e.en_proof_state = (char *)"{\"tickets\":[\"b\"]}";
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, NULL), SL_ECONFLICT);
	/* ...one that read the current one wins. */
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, "{\"tickets\":[\"a\"]}"), SL_OK);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en1", &got), SL_OK);
	assert_string_equal(got.en_proof_state, "{\"tickets\":[\"b\"]}");
	store_enrollment_clear(&got);
	/* Proofed: no further swap, whatever the state. */
	e.en_status = (char *)"proofed";
	e.en_proof_state = (char *)"{}";
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, "{\"tickets\":[\"b\"]}"), SL_OK);
	e.en_status = (char *)"proofing";
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, "{}"), SL_ECONFLICT);
	e.en_id = (char *)"nobody";
	assert_int_equal(store_enrollment_proof_swap(fx->fx_store, &e, NULL), SL_ECONFLICT);
}

/* ---- notifications ---- */

struct heard {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char keys[16][STORE_NOTIFY_KEY_MAX];
	int n;
	int all; /* calls with NULL */
};

static void
on_key(void *arg, const char *key)
{
	struct heard *h = arg;

	pthread_mutex_lock(&h->lock);
	if (key == NULL)
		h->all++;
	else if (h->n < 16)
		snprintf(h->keys[h->n++], STORE_NOTIFY_KEY_MAX, "%s", key);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void
heard_init(struct heard *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
}

/* Wait up to `ms` for `n` keys; returns how many came. */
static int
heard_wait(struct heard *h, int n, int ms)
{
	struct timespec ts;
	int got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (h->n < n && pthread_cond_timedwait(&h->cond, &h->lock, &ts) == 0)
		;
	got = h->n;
	pthread_mutex_unlock(&h->lock);
	return got;
}

static void
test_notify_local(void **state)
{
	struct fixture *fx = *state;
	struct heard h;
	struct sl_err err = { 0 };
	char longkey[STORE_NOTIFY_KEY_MAX + 1];

	heard_init(&h);
	/* No listener yet: nothing to call, and no error. */
	assert_int_equal(store_notify(fx->fx_store, "app:acc1"), SL_OK);
	assert_int_equal(store_listen(fx->fx_store, on_key, &h, &err), SL_OK);
	assert_int_equal(store_listen(fx->fx_store, on_key, &h, &err), SL_EINVAL);
	/* This node's listener is called at once, on this thread. */
	assert_int_equal(store_notify(fx->fx_store, "login:abc"), SL_OK);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.keys[0], "login:abc");
	memset(longkey, 'k', STORE_NOTIFY_KEY_MAX);
	longkey[STORE_NOTIFY_KEY_MAX] = '\0';
	assert_int_equal(store_notify(fx->fx_store, longkey), SL_EINVAL);
	assert_int_equal(store_notify(fx->fx_store, ""), SL_EINVAL);
	assert_int_equal(store_notify(fx->fx_store, NULL), SL_EINVAL);
	/* Its own NOTIFY coming back (PostgreSQL) is skipped: still one. */
	assert_int_equal(heard_wait(&h, 2, 300), 1);
	store_unlisten(fx->fx_store);
	store_unlisten(fx->fx_store); /* a no-op the second time */
	assert_int_equal(store_notify(fx->fx_store, "login:abc"), SL_OK);
	assert_int_equal(h.n, 1);
}

static void
test_notify_other_node(void **state)
{
	struct fixture *fx = *state;
	struct store *b = open_store(fx->fx_path, 2);
	struct heard ha, hb;
	struct sl_err err = { 0 };

	heard_init(&ha);
	heard_init(&hb);
	assert_int_equal(store_listen(fx->fx_store, on_key, &ha, &err), SL_OK);
	if (!fx_pg()) {
		/* SQLite: one node per file; a second listener is refused with
		 * a message that says what to do instead... */
		assert_int_equal(store_listen(b, on_key, &hb, &err), SL_EBUSY);
		assert_non_null(strstr(err.msg, "engine = postgresql"));
		/* ...until the first one is gone. */
		store_unlisten(fx->fx_store);
		assert_int_equal(store_listen(b, on_key, &hb, &err), SL_OK);
	} else {
		assert_int_equal(store_listen(b, on_key, &hb, &err), SL_OK);
		/* Node A's key reaches node B through NOTIFY, and B's reaches A. */
		assert_int_equal(store_notify(fx->fx_store, "sidrp:s1"), SL_OK);
		assert_int_equal(heard_wait(&hb, 1, 5000), 1);
		assert_string_equal(hb.keys[0], "sidrp:s1");
		assert_int_equal(store_notify(b, "app:acc2"), SL_OK);
		assert_int_equal(heard_wait(&ha, 2, 5000), 2);
		assert_string_equal(ha.keys[0], "sidrp:s1");
		assert_string_equal(ha.keys[1], "app:acc2");
		/* Each node heard each key once. */
		assert_int_equal(heard_wait(&hb, 3, 300), 2);
		assert_int_equal(ha.n, 2);
	}
	store_close(b);
}

/* PostgreSQL: the LISTEN connection is cut (its backend terminated); the
 * listener connects again, calls the listener with NULL (wake all), and
 * hears keys again.  SQLite: closing a listening store frees the file for
 * another node. */
static void
test_notify_reconnect(void **state)
{
	struct fixture *fx = *state;
	struct store *b;
	struct heard hb;
	struct sl_err err = { 0 };
	char msg[256];

	b = open_store(fx->fx_path, 2);
	heard_init(&hb);
	if (!fx_pg()) {
		/* SQLite has no connection to lose; what ends a node's claim on
		 * the file is store_close, without a store_unlisten first. */
		assert_int_equal(store_listen(b, on_key, &hb, &err), SL_OK);
		assert_int_equal(store_listen(fx->fx_store, on_key, &hb, &err), SL_EBUSY);
		store_close(b);
		assert_int_equal(store_listen(fx->fx_store, on_key, &hb, &err), SL_OK);
		return;
	}
	assert_int_equal(store_listen(b, on_key, &hb, &err), SL_OK);
	assert_int_equal(fx_pg_exec(fx->fx_path,
				 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
				 " WHERE query = 'LISTEN sleutel_wake' AND datname = current_database()"
				 " AND pid <> pg_backend_pid()",
				 msg, sizeof(msg)),
		0);
	for (int i = 0; i < 300; i++) { /* up to 15 s on a loaded machine */
		struct timespec ts = { 0, 50 * 1000000L };
		pthread_mutex_lock(&hb.lock);
		int all = hb.all;
		pthread_mutex_unlock(&hb.lock);
		if (all > 0)
			break;
		nanosleep(&ts, NULL);
	}
	assert_int_equal(hb.all, 1);
	assert_int_equal(store_notify(fx->fx_store, "after:cut"), SL_OK);
	assert_int_equal(heard_wait(&hb, 1, 5000), 1);
	assert_string_equal(hb.keys[0], "after:cut");
	store_close(b);
}

static void
test_rate_peek(void **state)
{
	struct fixture *fx = *state;
	int n = -1;

	assert_int_equal(store_rate_peek(fx->fx_store, "sc:r:x", T0, &n), SL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(hit1(fx->fx_store, "sc:r:x", 5, T0), SL_OK);
	assert_int_equal(hit1(fx->fx_store, "sc:r:x", 5, T0 + 1), SL_OK);
	assert_int_equal(store_rate_peek(fx->fx_store, "sc:r:x", T0 + 2, &n), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_rate_peek(fx->fx_store, "sc:r:x", T0 + 3, &n), SL_OK);
	assert_int_equal(n, 2); /* a read counts nothing */
	assert_int_equal(store_rate_peek(fx->fx_store, "sc:r:x", T0 + WINDOW, &n), SL_OK);
	assert_int_equal(n, 0); /* the window is over */
}

static void
test_phone_failures(void **state)
{
	struct fixture *fx = *state;
	struct store *b = open_store(fx->fx_path, 2); /* another node */
	const struct store_fail_limits l = { 3, 5, WINDOW };
	const char *p = "+32470554433";

	for (int i = 0; i < 3; i++)
		assert_int_equal(store_phone_fail_charge(i % 2 ? b : fx->fx_store, &l, p, T0 + i), SL_OK);
	assert_int_equal(store_phone_fail_charge(fx->fx_store, &l, p, T0 + 3), SL_ETOOBIG);
	assert_int_equal(store_phone_fail_spent(b, &l, p, T0 + 3), SL_ETOOBIG);
	assert_int_equal(store_phone_fail_spent(b, &l, "+32470000000", T0 + 3), SL_OK);
	/* the next window: two more make five in all, then nothing */
	assert_int_equal(store_phone_fail_spent(b, &l, p, T0 + WINDOW), SL_OK);
	assert_int_equal(store_phone_fail_charge(b, &l, p, T0 + WINDOW), SL_OK);
	assert_int_equal(store_phone_fail_charge(fx->fx_store, &l, p, T0 + WINDOW + 1), SL_OK);
	assert_int_equal(store_phone_fail_charge(fx->fx_store, &l, p, T0 + 3 * WINDOW), SL_ETOOBIG);
	assert_int_equal(store_phone_fail_spent(fx->fx_store, &l, p, T0 + 9 * WINDOW), SL_ETOOBIG);
	assert_int_equal(raw_count(fx->fx_path, "SELECT total FROM phone_failures"), 5);
	/* a right code clears it */
	assert_int_equal(store_phone_fail_clear(b, p), SL_OK);
	assert_int_equal(store_phone_fail_spent(fx->fx_store, &l, p, T0 + 9 * WINDOW), SL_OK);
	assert_int_equal(store_phone_fail_charge(fx->fx_store, &l, p, T0 + 9 * WINDOW), SL_OK);
	const struct store_fail_limits bad = { 3, 0, WINDOW };
	assert_int_equal(store_phone_fail_charge(fx->fx_store, &bad, p, T0), SL_EINVAL);
	store_close(b);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_window),
		T(test_limit_zero_and_one),
		T(test_keys_apart),
		T(test_all_or_none),
		T(test_refused_arguments),
		T(test_two_nodes_share_budget),
		T(test_parallel_hits_exact),
		T(test_windows_purged),
		T(test_proof_swap),
		T(test_notify_local),
		T(test_notify_other_node),
		T(test_notify_reconnect),
		T(test_rate_peek),
		T(test_phone_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
