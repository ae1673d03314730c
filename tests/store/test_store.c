/*
 * test_store.c — the SQLite store on a fresh database file per test:
 * schema, every record kind, single-use and replay rules, the append-only
 * audit trail, purging, and parallel writers on the connection pool.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store_fixture.h"

/* ---- schema ---- */

static void
test_open_creates_schema(void **state)
{
	struct fixture *fx = *state;
	int version = -1;

	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(raw_count(fx->fx_path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(
		raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
				       " ('persons', 'clients', 'signing_keys', 'auth_requests', 'codes', 'tokens',"
				       "  'sessions', 'jti_seen', 'audit', 'key_generation')"),
		10);
}

static void
test_reopen_keeps_schema_and_data(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_result = "ok" };
	int64_t n = 0;
	int version = -1;

	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL; /* a failed open leaves the teardown nothing to close twice */
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 1);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *fx = *state;
	struct store_options opts = { .so_path = fx->fx_path, .so_busy_timeout_ms = 1000, .so_pool = 2 };
	struct sl_err err = { 0 };
	char sql[64];

	if (fx_pg()) {
		opts.so_engine = "postgresql";
		opts.so_conninfo = fx->fx_path;
	}

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 98);
	assert_int_equal(raw_exec(fx->fx_path, sql), SQLITE_OK);
	assert_null(store_open(&opts, &err));
	assert_int_equal(err.code, SL_ESTORE);
	snprintf(sql, sizeof(sql), "%d", STORE_SCHEMA_VERSION + 98);
	if (strstr(err.msg, sql) == NULL)
		fail_msg("message \"%s\" does not name version %s", err.msg, sql);
	/* Refusing it did not touch it. */
	assert_int_equal(raw_count(fx->fx_path, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 98);
}

static void
test_open_in_missing_dir_fails(void **state)
{
	struct fixture *fx = *state;
	struct sl_buf b;
	struct store_options opts = { .so_busy_timeout_ms = 1000, .so_pool = 1 };
	struct sl_err err = { 0 };

	sl_buf_init(&b, 4096);
	assert_int_equal(sl_buf_addf(&b, "%s/no/such/dir/x.db", fx->fx_dir), SL_OK);
	opts.so_path = sl_buf_str(&b);
	assert_null(store_open(&opts, &err));
	assert_true(strlen(err.msg) > 0);
	sl_buf_reset(&b);
}

/* ---- persons ---- */

static void
test_person_upsert_by_rrn(void **state)
{
	struct fixture *fx = *state;
	struct store_person p = { 0 }, q = { 0 }, r = { 0 }, got;
	struct sl_err err = { 0 };
	char *first_id;

	p.p_rrn = strdup("85073003328");
	p.p_given_name = strdup("Jan");
	p.p_family_name = strdup("Peeters");
	p.p_birthdate = strdup("1985-07-30");
	assert_int_equal(store_person_upsert(fx->fx_store, &p, &err), SL_OK);
	assert_non_null(p.p_id);
	assert_true(p.p_created > 0);
	first_id = strdup(p.p_id);

	/* The same person logs in again with a corrected name. */
	q.p_rrn = strdup("85073003328");
	q.p_given_name = strdup("Johan");
	q.p_family_name = strdup("Peters");
	assert_int_equal(store_person_upsert(fx->fx_store, &q, &err), SL_OK);
	assert_string_equal(q.p_id, first_id);
	assert_int_equal(q.p_created, p.p_created);

	assert_int_equal(store_person_get(fx->fx_store, first_id, &got), SL_OK);
	assert_string_equal(got.p_id, first_id);
	assert_string_equal(got.p_rrn, "85073003328");
	assert_string_equal(got.p_given_name, "Johan");
	assert_string_equal(got.p_family_name, "Peters");
	assert_null(got.p_birthdate);
	store_person_clear(&got);

	/* Another rrn is another person. */
	r.p_rrn = strdup("90010112345");
	r.p_given_name = strdup("An");
	assert_int_equal(store_person_upsert(fx->fx_store, &r, &err), SL_OK);
	assert_string_not_equal(r.p_id, first_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 2);

	assert_int_equal(store_person_get(fx->fx_store, "no-such-id", &got), SL_ENOTFOUND);
	store_person_clear(&p);
	store_person_clear(&q);
	store_person_clear(&r);
	free(first_id);
}

/* ---- clients ---- */

static struct store_client
client_fixture(const char *id, int64_t created)
{
	struct store_client c = {
		.cl_id = (char *)id,
		.cl_name = (char *)"Mijn gezondheid",
		.cl_secret_hash = (char *)"ab12",
		.cl_auth_method = (char *)"client_secret_basic",
		.cl_redirect_uris = (char *)"[\"https://rp.example/cb\"]",
		.cl_post_logout_uris = NULL,
		.cl_jwks = NULL,
		.cl_id_token_alg = (char *)"ES256",
		.cl_sector = (char *)"rp.example",
		.cl_require_par = true,
		.cl_created = created,
	};

	return c;
}

struct client_list {
	char cl_ids[8][32];
	int cl_n;
};

static int
collect_client(const struct store_client *c, void *arg)
{
	struct client_list *l = arg;

	if (l->cl_n >= 8)
		return SL_ETOOBIG;
	snprintf(l->cl_ids[l->cl_n++], sizeof(l->cl_ids[0]), "%s", c->cl_id);
	return SL_OK;
}

static int
stop_at_first(const struct store_client *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return SL_ECONFLICT;
}

static void
test_client_add_get_each_remove(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-a", 1000), b = client_fixture("client-b", 2000);
	struct store_client got;
	struct client_list list = { 0 };
	struct sl_err err = { 0 };
	int calls = 0;

	b.cl_secret_hash = NULL;
	b.cl_auth_method = (char *)"private_key_jwt";
	b.cl_jwks = (char *)"{\"keys\":[]}";
	b.cl_require_par = false;
	b.cl_post_logout_uris = (char *)"[\"https://rp.example/bye\"]";
	/* Added out of order: each() orders by creation. */
	assert_int_equal(store_client_add(fx->fx_store, &b, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);

	assert_int_equal(store_client_get(fx->fx_store, "client-a", &got), SL_OK);
	assert_string_equal(got.cl_id, "client-a");
	assert_string_equal(got.cl_name, "Mijn gezondheid");
	assert_string_equal(got.cl_secret_hash, "ab12");
	assert_string_equal(got.cl_auth_method, "client_secret_basic");
	assert_string_equal(got.cl_redirect_uris, "[\"https://rp.example/cb\"]");
	assert_string_equal(got.cl_post_logout_uris, "[]");
	assert_null(got.cl_jwks);
	assert_string_equal(got.cl_id_token_alg, "ES256");
	assert_string_equal(got.cl_sector, "rp.example");
	assert_true(got.cl_require_par);
	assert_int_equal(got.cl_created, 1000);
	store_client_clear(&got);

	assert_int_equal(store_client_get(fx->fx_store, "client-b", &got), SL_OK);
	assert_null(got.cl_secret_hash);
	assert_string_equal(got.cl_jwks, "{\"keys\":[]}");
	assert_string_equal(got.cl_post_logout_uris, "[\"https://rp.example/bye\"]");
	assert_false(got.cl_require_par);
	store_client_clear(&got);

	assert_int_equal(store_client_each(fx->fx_store, collect_client, &list), SL_OK);
	assert_int_equal(list.cl_n, 2);
	assert_string_equal(list.cl_ids[0], "client-a");
	assert_string_equal(list.cl_ids[1], "client-b");

	/* A callback's error stops the walk and is returned. */
	assert_int_equal(store_client_each(fx->fx_store, stop_at_first, &calls), SL_ECONFLICT);
	assert_int_equal(calls, 1);

	assert_int_equal(store_client_remove(fx->fx_store, "client-a"), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "client-a", &got), SL_ENOTFOUND);
	assert_int_equal(store_client_remove(fx->fx_store, "client-a"), SL_ENOTFOUND);
	memset(&list, 0, sizeof(list));
	assert_int_equal(store_client_each(fx->fx_store, collect_client, &list), SL_OK);
	assert_int_equal(list.cl_n, 1);
	assert_string_equal(list.cl_ids[0], "client-b");
}

static void
test_client_duplicate_id_conflicts(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-a", 1000), dup = client_fixture("client-a", 3000);
	struct store_client got;
	struct sl_err err = { 0 };

	dup.cl_name = (char *)"Impostor";
	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &dup, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "client-a"));
	assert_int_equal(store_client_get(fx->fx_store, "client-a", &got), SL_OK);
	assert_string_equal(got.cl_name, "Mijn gezondheid");
	store_client_clear(&got);
	/* The connection is still usable after the failed transaction. */
	dup.cl_id = (char *)"client-c";
	assert_int_equal(store_client_add(fx->fx_store, &dup, &err), SL_OK);
}

/* ---- authorization requests ---- */

static struct store_authreq
authreq_fixture(const char *id, int64_t expires)
{
	struct store_authreq r = {
		.ar_id = (char *)id,
		.ar_kind = (char *)"authorize",
		.ar_client_id = (char *)"client-a",
		.ar_params = (char *)"{\"scope\":\"openid\"}",
		.ar_browser = (char *)"b1",
		.ar_expires = expires,
	};

	return r;
}

static void
test_authreq_put_get_take(void **state)
{
	struct fixture *fx = *state;
	int64_t exp = sl_now() + 600;
	struct store_authreq r = authreq_fixture("req-1", exp), got;

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_ECONFLICT);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_OK);
	assert_string_equal(got.ar_id, "req-1");
	assert_string_equal(got.ar_kind, "authorize");
	assert_string_equal(got.ar_client_id, "client-a");
	assert_string_equal(got.ar_params, "{\"scope\":\"openid\"}");
	assert_string_equal(got.ar_browser, "b1");
	assert_int_equal(got.ar_expires, exp);
	assert_string_equal(got.ar_status, "pending");
	assert_null(got.ar_person_id);
	store_authreq_clear(&got);

	assert_int_equal(store_authreq_delete(fx->fx_store, "req-1"), SL_OK);
	assert_int_equal(store_authreq_delete(fx->fx_store, "req-1"), SL_ENOTFOUND);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_ENOTFOUND);

	r = authreq_fixture("req-2", exp);
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_delete(fx->fx_store, "req-2"), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-2", &got), SL_ENOTFOUND);
}

/* The starting browser's context is recorded once: a later page (or
 * another browser that learnt the id) cannot rewrite it. */
static void
test_authreq_context_set_once(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq r = authreq_fixture("req-c", sl_now() + 600), got;

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-c", &got), SL_OK);
	assert_null(got.ar_context);
	store_authreq_clear(&got);
	assert_int_equal(store_authreq_set_context(fx->fx_store, "req-c", "{\"browser\":\"Firefox\"}"), SL_OK);
	assert_int_equal(store_authreq_set_context(fx->fx_store, "req-c", "{\"browser\":\"Other\"}"), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-c", &got), SL_OK);
	assert_string_equal(got.ar_context, "{\"browser\":\"Firefox\"}");
	store_authreq_clear(&got);
	assert_int_equal(store_authreq_set_context(fx->fx_store, "nobody", "{}"), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "nobody", &got), SL_ENOTFOUND);
}

static void
test_authreq_expired_not_returned(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq r = authreq_fixture("old", sl_now() - 1), got;
	struct store_authreq done = { .ar_id = (char *)"old", .ar_status = (char *)"done" };

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "old", &got), SL_ENOTFOUND);
	assert_int_equal(store_authreq_complete(fx->fx_store, &done), SL_ENOTFOUND);
	/* Expiry is exclusive: a request that expires now is gone. */
	r = authreq_fixture("now", sl_now());
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "now", &got), SL_ENOTFOUND);
}

static void
test_authreq_complete_only_pending(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq r = authreq_fixture("req-1", sl_now() + 600), got;
	struct store_authreq done = {
		.ar_id = (char *)"req-1",
		.ar_status = (char *)"done",
		.ar_person_id = (char *)"person-1",
		.ar_key = (char *)"test",
		.ar_acr = (char *)"urn:sleutel:acr:test",
		.ar_amr = (char *)"[\"test\"]",
		.ar_auth_time = 1700000000,
	};
	struct store_authreq denied = { .ar_id = (char *)"req-1", .ar_status = (char *)"denied" };

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_complete(fx->fx_store, &done), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_OK);
	assert_string_equal(got.ar_status, "done");
	assert_string_equal(got.ar_person_id, "person-1");
	assert_string_equal(got.ar_key, "test");
	assert_string_equal(got.ar_acr, "urn:sleutel:acr:test");
	assert_string_equal(got.ar_amr, "[\"test\"]");
	assert_int_equal(got.ar_auth_time, 1700000000);
	store_authreq_clear(&got);

	/* A second outcome for the same request is refused and changes nothing. */
	assert_int_equal(store_authreq_complete(fx->fx_store, &denied), SL_ENOTFOUND);
	assert_int_equal(store_authreq_complete(fx->fx_store, &done), SL_ENOTFOUND);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_OK);
	assert_string_equal(got.ar_status, "done");
	store_authreq_clear(&got);

	denied.ar_id = (char *)"no-such-request";
	assert_int_equal(store_authreq_complete(fx->fx_store, &denied), SL_ENOTFOUND);
}

static void
test_authreq_result_taken_once(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq r = authreq_fixture("req-1", sl_now() + 600);
	struct store_authreq done = { .ar_id = (char *)"req-1", .ar_status = (char *)"denied" };
	char *result = NULL;

	/* No result yet, and none on an unknown request. */
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h1", &result), SL_ENOTFOUND);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "nope", "h1", "{}", sl_now() + 60), SL_ENOTFOUND);

	/* A second result replaces the first: the first hash no longer opens it. */
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h1", "{\"a\":1}", sl_now() + 60), SL_OK);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h2", "{\"a\":2}", sl_now() + 60), SL_OK);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h1", &result), SL_ENOTFOUND);
	assert_null(result);
	/* A wrong hash (or none) takes nothing: the right one still works, once. */
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", NULL, &result), SL_ENOTFOUND);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h2", &result), SL_OK);
	assert_string_equal(result, "{\"a\":2}");
	free(result);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h2", &result), SL_ENOTFOUND);
	assert_null(result);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests WHERE result_hash IS NULL"
						" AND result IS NULL AND status = 'pending'"),
		1);

	/* Past its time the result is taken but not handed out. */
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h3", "{}", sl_now() - 1), SL_OK);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h3", &result), SL_EEXPIRED);
	assert_null(result);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h3", &result), SL_ENOTFOUND);

	/* Only a pending request takes a result. */
	assert_int_equal(store_authreq_complete(fx->fx_store, &done), SL_OK);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h4", "{}", sl_now() + 60), SL_ENOTFOUND);
	/* Nor an expired one. */
	r = authreq_fixture("old", sl_now() - 1);
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "old", "h5", "{}", sl_now() + 60), SL_ENOTFOUND);
}

/* A version 3 database (no result columns) migrates, and its pending
 * requests take a result afterwards. */
static void
test_authreq_result_after_v3_migration(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq r = authreq_fixture("req-1", sl_now() + 600);
	char *result = NULL;
	int version = -1;

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, schema_v4_undo), SQLITE_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM pragma_table_info('auth_requests')"
						" WHERE name = 'result_hash'"),
		0);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_authreq_set_result(fx->fx_store, "req-1", "h1", "{}", sl_now() + 60), SL_OK);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h1", &result), SL_OK);
	assert_string_equal(result, "{}");
	free(result);
}

/* More time (WCAG 2.2.1): the new end, counted, once per end; none for
 * an expired, answered or unknown request, none past the count. */
static void
test_authreq_extend(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_authreq r = authreq_fixture("req-x", now + 30), got;

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now + 120, 10), SL_OK);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-x", &got), SL_OK);
	assert_int_equal(got.ar_expires, now + 120);
	assert_int_equal(got.ar_extended, 1);
	store_authreq_clear(&got);
	/* Already ending there or later: a racing post adds nothing. */
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now + 120, 10), SL_ECONFLICT);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now + 60, 10), SL_ECONFLICT);
	for (int i = 2; i <= 10; i++)
		assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now + 120 + i, 10), SL_OK);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now + 500, 10), SL_ECONFLICT);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-x", &got), SL_OK);
	assert_int_equal(got.ar_expires, now + 130);
	assert_int_equal(got.ar_extended, 10);
	store_authreq_clear(&got);
	assert_int_equal(store_authreq_extend(fx->fx_store, "nope", now + 500, 10), SL_ENOTFOUND);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-x", now - 1, 10), SL_EINVAL);
	assert_int_equal(store_authreq_extend(fx->fx_store, NULL, now + 500, 10), SL_EINVAL);
	r = authreq_fixture("req-old", now - 1);
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-old", now + 500, 10), SL_EEXPIRED);
	r = authreq_fixture("req-done", now + 30);
	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(
		raw_exec(fx->fx_path, "UPDATE auth_requests SET status = 'answered' WHERE id = 'req-done'"), SQLITE_OK);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-done", now + 500, 10), SL_ECONFLICT);
}

/* Step 18: a request made before it has no extensions and can get them. */
static void
test_authreq_extend_after_v17(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_authreq r = authreq_fixture("req-17", now + 30), got;
	int version = -1;

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V18_UNDO "PRAGMA user_version = 17;"), SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-17", &got), SL_OK);
	assert_int_equal(got.ar_extended, 0);
	store_authreq_clear(&got);
	assert_int_equal(store_authreq_extend(fx->fx_store, "req-17", now + 120, 10), SL_OK);
}

/* ---- codes ---- */

static void
test_code_redeem_once(void **state)
{
	struct fixture *fx = *state;
	struct store_code co = {
		.co_hash = (char *)"code-hash-1",
		.co_grant_id = (char *)"grant-1",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_session_id = (char *)"session-1",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid profile",
		.co_nonce = (char *)"n-0S6_WzA2Mj",
		.co_challenge = (char *)"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.co_acr = (char *)"acr",
		.co_amr = (char *)"[\"test\"]",
		.co_claims = NULL,
		.co_auth_time = 1700000000,
		.co_expires = sl_now() + 60,
	};
	struct store_code got;

	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_ECONFLICT);
	/* Another client's redemption changes nothing and learns nothing. */
	assert_int_equal(store_code_redeem(fx->fx_store, "code-hash-1", "client-b", &got), SL_EDENIED);
	assert_null(got.co_grant_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT used FROM codes WHERE hash = 'code-hash-1'"), 0);
	assert_int_equal(store_code_redeem(fx->fx_store, "code-hash-1", "client-a", &got), SL_OK);
	assert_string_equal(got.co_hash, "code-hash-1");
	assert_string_equal(got.co_grant_id, "grant-1");
	assert_string_equal(got.co_client_id, "client-a");
	assert_string_equal(got.co_person_id, "person-1");
	assert_string_equal(got.co_session_id, "session-1");
	assert_string_equal(got.co_redirect_uri, "https://rp.example/cb");
	assert_string_equal(got.co_scope, "openid profile");
	assert_string_equal(got.co_nonce, "n-0S6_WzA2Mj");
	assert_string_equal(got.co_challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_string_equal(got.co_amr, "[\"test\"]");
	assert_null(got.co_claims);
	assert_int_equal(got.co_auth_time, 1700000000);
	assert_int_equal(got.co_expires, co.co_expires);
	store_code_clear(&got);

	/* The second redemption is a replay: the grant is named for revocation. */
	assert_int_equal(store_code_redeem(fx->fx_store, "code-hash-1", "client-a", &got), SL_ECONFLICT);
	assert_non_null(got.co_grant_id);
	assert_string_equal(got.co_grant_id, "grant-1");
	store_code_clear(&got);
	/* Used: another client is still told only that it is not its code. */
	assert_int_equal(store_code_redeem(fx->fx_store, "code-hash-1", "client-b", &got), SL_EDENIED);
	assert_int_equal(store_code_redeem(fx->fx_store, "code-hash-1", "client-a", &got), SL_ECONFLICT);
	store_code_clear(&got);

	assert_int_equal(store_code_redeem(fx->fx_store, "no-such-code", "client-a", &got), SL_ENOTFOUND);
	assert_null(got.co_grant_id);
}

/* ---- tokens ---- */

static struct store_token
token_fixture(const char *hash, const char *kind, const char *grant)
{
	struct store_token t = {
		.t_hash = (char *)hash,
		.t_kind = (char *)kind,
		.t_grant_id = (char *)grant,
		.t_client_id = (char *)"client-a",
		.t_person_id = (char *)"person-1",
		.t_session_id = (char *)"session-1",
		.t_scope = (char *)"openid",
		.t_acr = (char *)"acr",
		.t_amr = (char *)"[\"test\"]",
		.t_claims = NULL,
		.t_auth_time = 1700000000,
		.t_expires = sl_now() + 3600,
	};

	return t;
}

static bool
token_revoked(struct store *st, const char *hash)
{
	struct store_token t;
	bool r;

	assert_int_equal(store_token_get(st, hash, &t), SL_OK);
	r = t.t_revoked;
	store_token_clear(&t);
	return r;
}

static void
test_token_put_get(void **state)
{
	struct fixture *fx = *state;
	struct store_token t = token_fixture("at-1", "access", "grant-1"), got;

	assert_int_equal(store_token_put(fx->fx_store, &t), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t), SL_ECONFLICT);
	assert_int_equal(store_token_get(fx->fx_store, "at-1", &got), SL_OK);
	assert_string_equal(got.t_hash, "at-1");
	assert_string_equal(got.t_kind, "access");
	assert_string_equal(got.t_grant_id, "grant-1");
	assert_string_equal(got.t_client_id, "client-a");
	assert_string_equal(got.t_person_id, "person-1");
	assert_string_equal(got.t_session_id, "session-1");
	assert_string_equal(got.t_scope, "openid");
	assert_int_equal(got.t_auth_time, 1700000000);
	assert_int_equal(got.t_expires, t.t_expires);
	assert_false(got.t_revoked);
	store_token_clear(&got);
	assert_int_equal(store_token_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
}

static void
test_token_rotate_replay_revokes_grant(void **state)
{
	struct fixture *fx = *state;
	struct store_token r1 = token_fixture("rt-1", "refresh", "grant-1");
	struct store_token a1 = token_fixture("at-1", "access", "grant-1");
	struct store_token r2 = token_fixture("rt-2", "refresh", "grant-1");
	struct store_token r3 = token_fixture("rt-3", "refresh", "grant-1");
	struct store_token x1 = token_fixture("rt-x", "refresh", "grant-2");
	struct store_token got;

	assert_int_equal(store_token_put(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &a1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &x1), SL_OK);

	assert_int_equal(store_token_rotate(fx->fx_store, "rt-1", &r2), SL_OK);
	assert_true(token_revoked(fx->fx_store, "rt-1"));
	assert_false(token_revoked(fx->fx_store, "rt-2"));
	assert_false(token_revoked(fx->fx_store, "at-1"));

	/* rt-1 again: a replay.  Nothing new is issued and the grant dies. */
	assert_int_equal(store_token_rotate(fx->fx_store, "rt-1", &r3), SL_ECONFLICT);
	assert_int_equal(store_token_get(fx->fx_store, "rt-3", &got), SL_ENOTFOUND);
	assert_true(token_revoked(fx->fx_store, "rt-1"));
	assert_true(token_revoked(fx->fx_store, "rt-2"));
	assert_true(token_revoked(fx->fx_store, "at-1"));
	assert_int_equal(
		raw_count(fx->fx_path, "SELECT count(*) FROM tokens WHERE grant_id = 'grant-1' AND revoked = 0"), 0);
	/* Another grant is untouched. */
	assert_false(token_revoked(fx->fx_store, "rt-x"));
}

static void
test_token_revoke_grant(void **state)
{
	struct fixture *fx = *state;
	struct store_token t1 = token_fixture("at-1", "access", "grant-1");
	struct store_token t2 = token_fixture("rt-1", "refresh", "grant-1");
	struct store_token t3 = token_fixture("at-2", "access", "grant-2");

	assert_int_equal(store_token_put(fx->fx_store, &t1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t2), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t3), SL_OK);
	assert_int_equal(store_token_revoke_grant(fx->fx_store, "grant-1"), SL_OK);
	assert_true(token_revoked(fx->fx_store, "at-1"));
	assert_true(token_revoked(fx->fx_store, "rt-1"));
	assert_false(token_revoked(fx->fx_store, "at-2"));
	/* Idempotent, and fine for a grant without tokens. */
	assert_int_equal(store_token_revoke_grant(fx->fx_store, "grant-1"), SL_OK);
	assert_int_equal(store_token_revoke_grant(fx->fx_store, "grant-none"), SL_OK);
	/* A revoked refresh token cannot be rotated. */
	t2.t_hash = (char *)"rt-2";
	assert_int_equal(store_token_rotate(fx->fx_store, "rt-1", &t2), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens WHERE hash = 'rt-2'"), 0);
}

/* ---- client scopes and consents (schema 4) ---- */

static void
test_client_scopes_default_and_set(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-a", 1000), b = client_fixture("client-b", 2000), got;
	struct sl_err err = { 0 };

	b.cl_scopes = (char *)"openid eid";
	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &b, &err), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "client-a", &got), SL_OK);
	assert_string_equal(got.cl_scopes, STORE_CLIENT_SCOPES_DEFAULT);
	store_client_clear(&got);
	assert_int_equal(store_client_get(fx->fx_store, "client-b", &got), SL_OK);
	assert_string_equal(got.cl_scopes, "openid eid");
	store_client_clear(&got);
	assert_int_equal(store_client_set_scopes(fx->fx_store, "client-a", "openid profile eid"), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "client-a", &got), SL_OK);
	assert_string_equal(got.cl_scopes, "openid profile eid");
	store_client_clear(&got);
	assert_int_equal(store_client_set_scopes(fx->fx_store, "nobody", "openid"), SL_ENOTFOUND);
	assert_int_equal(store_client_set_scopes(fx->fx_store, "client-a", NULL), SL_EINVAL);
}

struct consent_list {
	char cn_client[4][32];
	char cn_name[4][32];
	char cn_scopes[4][64];
	int cn_n;
};

static int
collect_consent(const struct store_consent *cs, void *arg)
{
	struct consent_list *l = arg;

	if (l->cn_n >= 4)
		return SL_ETOOBIG;
	snprintf(l->cn_client[l->cn_n], sizeof(l->cn_client[0]), "%s", cs->cs_client_id);
	snprintf(l->cn_name[l->cn_n], sizeof(l->cn_name[0]), "%s", cs->cs_client_name);
	snprintf(l->cn_scopes[l->cn_n], sizeof(l->cn_scopes[0]), "%s", cs->cs_scopes);
	l->cn_n++;
	return SL_OK;
}

static void
test_consent_put_get_each(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-a", 1000), b = client_fixture("client-b", 2000);
	struct consent_list list = { 0 };
	struct sl_err err = { 0 };
	char *scopes = NULL;

	b.cl_name = (char *)"Andere site";
	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &b, &err), SL_OK);
	assert_int_equal(store_consent_get(fx->fx_store, "person-1", "client-a", &scopes), SL_ENOTFOUND);
	assert_null(scopes);
	assert_int_equal(store_consent_put(fx->fx_store, "person-1", "client-a", "profile"), SL_OK);
	/* A second answer replaces the scopes (the caller passes the union). */
	assert_int_equal(store_consent_put(fx->fx_store, "person-1", "client-a", "profile eid"), SL_OK);
	assert_int_equal(store_consent_get(fx->fx_store, "person-1", "client-a", &scopes), SL_OK);
	assert_string_equal(scopes, "profile eid");
	free(scopes);
	assert_int_equal(store_consent_get(fx->fx_store, "person-2", "client-a", &scopes), SL_ENOTFOUND);
	assert_int_equal(store_consent_put(fx->fx_store, "person-1", "client-b", "offline_access"), SL_OK);
	assert_int_equal(store_consent_put(fx->fx_store, "person-2", "client-b", "profile"), SL_OK);
	assert_int_equal(store_consent_put(fx->fx_store, NULL, "client-b", "profile"), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM consents"), 3);

	/* The person's consents with the client's name; a removed client's
	 * consent is not listed; at most `limit`. */
	assert_int_equal(store_consent_each(fx->fx_store, "person-1", 10, collect_consent, &list), SL_OK);
	assert_int_equal(list.cn_n, 2);
	assert_int_equal(store_client_remove(fx->fx_store, "client-b"), SL_OK);
	memset(&list, 0, sizeof(list));
	assert_int_equal(store_consent_each(fx->fx_store, "person-1", 10, collect_consent, &list), SL_OK);
	assert_int_equal(list.cn_n, 1);
	assert_string_equal(list.cn_client[0], "client-a");
	assert_string_equal(list.cn_name[0], "Mijn gezondheid");
	assert_string_equal(list.cn_scopes[0], "profile eid");
	assert_int_equal(store_consent_each(fx->fx_store, "person-1", 0, collect_consent, &list), SL_EINVAL);
}

static void
test_consent_withdraw_revokes_tokens(void **state)
{
	struct fixture *fx = *state;
	struct store_token a1 = token_fixture("at-1", "access", "grant-1");
	struct store_token r1 = token_fixture("rt-1", "refresh", "grant-1");
	struct store_token other_client = token_fixture("at-2", "access", "grant-2");
	struct store_token other_person = token_fixture("at-3", "access", "grant-3");
	char *scopes = NULL;
	int revoked = -1;

	other_client.t_client_id = (char *)"client-b";
	other_person.t_person_id = (char *)"person-2";
	assert_int_equal(store_token_put(fx->fx_store, &a1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &other_client), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &other_person), SL_OK);
	assert_int_equal(store_consent_withdraw(fx->fx_store, "person-1", "client-a", &revoked), SL_ENOTFOUND);
	assert_int_equal(revoked, 0);
	assert_false(token_revoked(fx->fx_store, "at-1"));

	/* A code issued a moment before the withdrawal dies with it. */
	struct store_code co = { .co_hash = (char *)"co-w",
		.co_grant_id = (char *)"grant-4",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid profile",
		.co_challenge = (char *)"x",
		.co_expires = sl_now() + 60 };
	struct store_code cgot;
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	assert_int_equal(store_consent_put(fx->fx_store, "person-1", "client-a", "profile eid"), SL_OK);
	assert_int_equal(store_consent_withdraw(fx->fx_store, "person-1", "client-a", &revoked), SL_OK);
	assert_int_equal(revoked, 2);
	assert_int_equal(store_code_redeem(fx->fx_store, "co-w", "client-a", &cgot), SL_ENOTFOUND);
	assert_int_equal(store_consent_get(fx->fx_store, "person-1", "client-a", &scopes), SL_ENOTFOUND);
	assert_true(token_revoked(fx->fx_store, "at-1"));
	assert_true(token_revoked(fx->fx_store, "rt-1"));
	assert_false(token_revoked(fx->fx_store, "at-2"));
	assert_false(token_revoked(fx->fx_store, "at-3"));
	assert_int_equal(store_consent_withdraw(fx->fx_store, "person-1", "client-a", NULL), SL_ENOTFOUND);
}

static void
test_v3_clients_get_default_scopes(void **state)
{
	struct fixture *fx = *state;
	struct store_client cl = { 0 };
	int version = -1;

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, schema_v4_undo), SQLITE_OK);
	/* A client written by version 3, when any client could get eid. */
	assert_int_equal(raw_exec(fx->fx_path,
				 "INSERT INTO clients (client_id, name, auth_method, redirect_uris, post_logout_uris,"
				 " id_token_alg, sector, require_par, created) VALUES ('old', 'Old RP',"
				 " 'client_secret_basic', '[]', '[]', 'ES256', 'old.example', 0, 1)"),
		SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_client_get(fx->fx_store, "old", &cl), SL_OK);
	assert_string_equal(cl.cl_scopes, "openid profile");
	store_client_clear(&cl);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM consents"), 0);
}

/* ---- sessions ---- */

static void
test_session_put_get_end(void **state)
{
	struct fixture *fx = *state;
	struct store_session s = {
		.s_id = (char *)"sess-1",
		.s_person_id = (char *)"person-1",
		.s_acr = (char *)"acr",
		.s_amr = (char *)"[\"eid\"]",
		.s_auth_time = 1700000000,
		.s_expires = sl_now() + 3600,
	};
	struct store_session got;

	assert_int_equal(store_session_put(fx->fx_store, &s), SL_OK);
	assert_int_equal(store_session_get(fx->fx_store, "sess-1", &got), SL_OK);
	assert_string_equal(got.s_id, "sess-1");
	assert_string_equal(got.s_person_id, "person-1");
	assert_string_equal(got.s_acr, "acr");
	assert_string_equal(got.s_amr, "[\"eid\"]");
	assert_int_equal(got.s_auth_time, 1700000000);
	assert_int_equal(got.s_expires, s.s_expires);
	store_session_clear(&got);
	assert_int_equal(store_session_end(fx->fx_store, "sess-1"), SL_OK);
	assert_int_equal(store_session_get(fx->fx_store, "sess-1", &got), SL_ENOTFOUND);
	assert_int_equal(store_session_end(fx->fx_store, "sess-1"), SL_OK);
}

/* Schema 12, undone: the tables as version 11 made them (rowid tables,
 * the codes' expiry index). */
static const char schema_v12_undo_sqlite[] =
	SCHEMA_V13_UNDO "CREATE TABLE s11 (id TEXT PRIMARY KEY, person_id TEXT NOT NULL, acr TEXT, amr TEXT,"
			" auth_time INTEGER NOT NULL, expires INTEGER NOT NULL);"
			"INSERT INTO s11 SELECT id, person_id, acr, amr, auth_time, expires FROM sessions;"
			"DROP TABLE sessions; ALTER TABLE s11 RENAME TO sessions;"
			"CREATE TABLE j11 (client_id TEXT NOT NULL, jti TEXT NOT NULL, expires INTEGER NOT NULL,"
			" PRIMARY KEY (client_id, jti));"
			"INSERT INTO j11 SELECT client_id, jti, expires FROM jti_seen;"
			"DROP TABLE jti_seen; ALTER TABLE j11 RENAME TO jti_seen;"
			"CREATE TABLE r11 (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER NOT NULL);"
			"INSERT INTO r11 SELECT key, count, expires FROM rate_limits;"
			"DROP TABLE rate_limits; ALTER TABLE r11 RENAME TO rate_limits;"
			"CREATE INDEX rate_limits_expires ON rate_limits(expires);"
			"CREATE INDEX codes_expires ON codes(expires);"
			"PRAGMA user_version = 11;";
static const char schema_v12_undo_pg[] =
	SCHEMA_V13_UNDO "CREATE INDEX codes_expires ON codes(expires); PRAGMA user_version = 11;";

/* A version 11 database migrates to 12 with its rows: sessions, seen jtis
 * and rate-limit windows are copied into their new tables (SQLite: WITHOUT
 * ROWID), keys and counts intact; the codes lose their expiry index. */
static void
test_v11_rows_survive_v12(void **state)
{
	struct fixture *fx = *state;
	struct store_session s = { .s_id = (char *)"sess-v11",
		.s_person_id = (char *)"person-1",
		.s_acr = (char *)"acr",
		.s_amr = (char *)"[\"test\"]",
		.s_auth_time = 1700000000,
		.s_expires = sl_now() + 3600 };
	struct store_rate_check rc = { "i:192.0.2.1", 10 };
	struct store_session got;
	size_t which = 0;
	int version = -1;
	int64_t now = sl_now();

	assert_int_equal(store_session_put(fx->fx_store, &s), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "client-a", "jti-v11", now + 600), SL_OK);
	assert_int_equal(store_rate_hit(fx->fx_store, &rc, 1, 600, now, &which), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, fx_pg() ? schema_v12_undo_pg : schema_v12_undo_sqlite), SQLITE_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'codes_expires'"), 1);
	if (!fx_pg())
		assert_int_equal(
			raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%WITHOUT ROWID%'"),
			0);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'codes_expires'"), 0);
	if (!fx_pg())
		assert_int_equal(
			raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%WITHOUT ROWID%'"
					       " AND name IN ('sessions', 'jti_seen', 'rate_limits')"),
			3);
	assert_int_equal(store_session_get(fx->fx_store, "sess-v11", &got), SL_OK);
	assert_string_equal(got.s_person_id, "person-1");
	assert_string_equal(got.s_amr, "[\"test\"]");
	assert_int_equal(got.s_expires, s.s_expires);
	store_session_clear(&got);
	/* the jti is still seen; the window still counts from 1 */
	assert_int_equal(store_jti_use(fx->fx_store, "client-a", "jti-v11", now + 600), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count FROM rate_limits WHERE key = 'i:192.0.2.1'"), 1);
	assert_int_equal(store_rate_hit(fx->fx_store, &rc, 1, 600, now, &which), SL_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count FROM rate_limits WHERE key = 'i:192.0.2.1'"), 2);
	/* the purge finds expired rows of the new tables */
	assert_true(store_purge_expired(fx->fx_store, now + 7200) >= 2);
	assert_int_equal(store_session_get(fx->fx_store, "sess-v11", &got), SL_ENOTFOUND);
}

/* The request object and ID token encryption settings of a client (13):
 * stored, read, switched; a client of a version 12 database gets the
 * defaults (plain requests allowed, ID tokens signed only). */
static void
test_client_jose_settings_and_v13(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-jar", 1000), old = client_fixture("client-v12", 900);
	struct store_client got;
	struct sl_err err = { 0 };
	int version = -1;

	a.cl_require_signed_ro = true;
	a.cl_id_token_enc_alg = (char *)"ECDH-ES";
	a.cl_id_token_enc_enc = (char *)"A256GCM";
	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "client-jar", &got), SL_OK);
	assert_true(got.cl_require_signed_ro);
	assert_string_equal(got.cl_id_token_enc_alg, "ECDH-ES");
	assert_string_equal(got.cl_id_token_enc_enc, "A256GCM");
	store_client_clear(&got);
	assert_int_equal(store_client_set_signed_ro(fx->fx_store, "client-jar", false), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "client-jar", &got), SL_OK);
	assert_false(got.cl_require_signed_ro);
	assert_string_equal(got.cl_id_token_enc_alg, "ECDH-ES");
	store_client_clear(&got);
	assert_int_equal(store_client_set_signed_ro(fx->fx_store, "no-such-client", true), SL_ENOTFOUND);

	assert_int_equal(store_client_add(fx->fx_store, &old, &err), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V13_UNDO "PRAGMA user_version = 12;"), SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_client_get(fx->fx_store, "client-v12", &got), SL_OK);
	assert_string_equal(got.cl_name, "Mijn gezondheid");
	assert_false(got.cl_require_signed_ro);
	assert_null(got.cl_id_token_enc_alg);
	assert_null(got.cl_id_token_enc_enc);
	store_client_clear(&got);
}

/* Logout: the session, its tokens and its unredeemed codes go together;
 * another session's are untouched. */
static void
test_session_logout_revokes_its_tokens(void **state)
{
	struct fixture *fx = *state;
	struct store_session s = {
		.s_id = (char *)"session-1", .s_person_id = (char *)"person-1", .s_expires = sl_now() + 3600
	};
	struct store_token a1 = token_fixture("at-1", "access", "grant-1");
	struct store_token r1 = token_fixture("rt-1", "refresh", "grant-1");
	struct store_token other = token_fixture("rt-2", "refresh", "grant-2");
	struct store_code co = { .co_hash = (char *)"co-1",
		.co_grant_id = (char *)"grant-3",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_session_id = (char *)"session-1",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"x",
		.co_expires = sl_now() + 60 };
	struct store_session got;
	struct store_code cgot;

	other.t_session_id = (char *)"session-2";
	assert_int_equal(store_session_put(fx->fx_store, &s), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &a1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &other), SL_OK);
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);

	assert_int_equal(store_session_logout(fx->fx_store, "session-1"), SL_OK);
	assert_int_equal(store_session_get(fx->fx_store, "session-1", &got), SL_ENOTFOUND);
	assert_true(token_revoked(fx->fx_store, "at-1"));
	assert_true(token_revoked(fx->fx_store, "rt-1"));
	assert_false(token_revoked(fx->fx_store, "rt-2"));
	assert_int_equal(store_code_redeem(fx->fx_store, "co-1", "client-a", &cgot), SL_ENOTFOUND);
	/* Idempotent. */
	assert_int_equal(store_session_logout(fx->fx_store, "session-1"), SL_OK);
}

/* A session or token of `person` made with `amr`, for test_key_logins_end. */
static struct store_session
key_session(const char *id, const char *person, const char *amr)
{
	return (struct store_session){
		.s_id = (char *)id, .s_person_id = (char *)person, .s_amr = (char *)amr, .s_expires = sl_now() + 3600
	};
}

static struct store_token
key_token(const char *hash, const char *kind, const char *person, const char *amr)
{
	struct store_token t = token_fixture(hash, kind, hash);

	t.t_person_id = (char *)person;
	t.t_amr = (char *)amr;
	return t;
}

/* A key blocked: the person's sessions, tokens and codes of that amr end,
 * but the session kept; another amr's and another person's stay. */
static void
test_key_logins_end(void **state)
{
	static const char app[] = "[\"swk\"]", eid[] = "[\"eid\"]";
	struct fixture *fx = *state;
	const struct store_session sessions[] = { key_session("ses-app-1", "person-1", app),
		key_session("ses-app-2", "person-1", app), key_session("ses-page", "person-1", app),
		key_session("ses-eid", "person-1", eid), key_session("ses-bert", "person-2", app) };
	const struct store_token tokens[] = { key_token("at-app", "access", "person-1", app),
		key_token("rt-app", "refresh", "person-1", app), key_token("rt-eid", "refresh", "person-1", eid),
		key_token("rt-bert", "refresh", "person-2", app) };
	struct store_code co = { .co_hash = (char *)"co-app",
		.co_grant_id = (char *)"grant-co",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"x",
		.co_amr = (char *)app,
		.co_expires = sl_now() + 60 };
	struct store_session got;
	struct store_code cgot;
	int nses = -1, ntok = -1;

	for (size_t i = 0; i < sizeof(sessions) / sizeof(sessions[0]); i++)
		assert_int_equal(store_session_put(fx->fx_store, &sessions[i]), SL_OK);
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		assert_int_equal(store_token_put(fx->fx_store, &tokens[i]), SL_OK);
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);

	assert_int_equal(store_key_logins_end(fx->fx_store, NULL, app, NULL, NULL, NULL), SL_EINVAL);
	assert_int_equal(store_key_logins_end(fx->fx_store, "person-1", app, "ses-page", &nses, &ntok), SL_OK);
	assert_int_equal(nses, 2);
	assert_int_equal(ntok, 2);
	assert_int_equal(store_session_get(fx->fx_store, "ses-app-1", &got), SL_ENOTFOUND);
	assert_int_equal(store_session_get(fx->fx_store, "ses-app-2", &got), SL_ENOTFOUND);
	assert_true(token_revoked(fx->fx_store, "at-app"));
	assert_true(token_revoked(fx->fx_store, "rt-app"));
	assert_int_equal(store_code_redeem(fx->fx_store, "co-app", "client-a", &cgot), SL_ENOTFOUND);
	/* What stays: the page kept, another key's, another person's. */
	for (const char *const *id = (const char *const[]){ "ses-page", "ses-eid", "ses-bert", NULL }; *id; id++) {
		assert_int_equal(store_session_get(fx->fx_store, *id, &got), SL_OK);
		store_session_clear(&got);
	}
	assert_false(token_revoked(fx->fx_store, "rt-eid"));
	assert_false(token_revoked(fx->fx_store, "rt-bert"));
	/* Again: nothing more; without a session to keep, the page's goes. */
	assert_int_equal(store_key_logins_end(fx->fx_store, "person-1", app, NULL, &nses, &ntok), SL_OK);
	assert_int_equal(nses, 1);
	assert_int_equal(ntok, 0);
}

static void
test_session_expired_not_returned(void **state)
{
	struct fixture *fx = *state;
	struct store_session s = {
		.s_id = (char *)"sess-old",
		.s_person_id = (char *)"person-1",
		.s_auth_time = 1700000000,
		.s_expires = sl_now() - 1,
	};
	struct store_session got;

	assert_int_equal(store_session_put(fx->fx_store, &s), SL_OK);
	assert_int_equal(store_session_get(fx->fx_store, "sess-old", &got), SL_ENOTFOUND);
	assert_null(got.s_id);
}

/* ---- jti ---- */

static void
test_jti_use_twice_conflicts(void **state)
{
	struct fixture *fx = *state;
	int64_t exp = sl_now() + 300;

	assert_int_equal(store_jti_use(fx->fx_store, "client-a", "jti-1", exp), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "client-a", "jti-1", exp), SL_ECONFLICT);
	/* jtis are per client. */
	assert_int_equal(store_jti_use(fx->fx_store, "client-b", "jti-1", exp), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "client-a", "jti-2", exp), SL_OK);
}

/* The contract the callers' "+ 1" rests on (store.h): a jti recorded until
 * `expires` survives a purge at expires - 1, the last second its token is
 * accepted, and is forgotten at `expires`. */
static void
test_jti_kept_until_expires(void **state)
{
	struct fixture *fx = *state;
	int64_t expires = sl_now() + 300;

	assert_int_equal(store_jti_use(fx->fx_store, "client-k", "jti-edge", expires), SL_OK);
	assert_true(store_purge_expired(fx->fx_store, expires - 1) >= 0);
	assert_int_equal(store_jti_use(fx->fx_store, "client-k", "jti-edge", expires), SL_ECONFLICT);
	assert_true(store_purge_expired(fx->fx_store, expires) >= 1);
	assert_int_equal(store_jti_use(fx->fx_store, "client-k", "jti-edge", expires), SL_OK);
}

/* ---- audit ---- */

static void
test_audit_add_and_count(void **state)
{
	struct fixture *fx = *state;
	struct store_audit ok = {
		.au_event = "login",
		.au_result = "ok",
		.au_person_id = "person-1",
		.au_client_id = "client-a",
		.au_key = "test",
		.au_ip = "192.0.2.1",
		.au_detail = "{}",
	};
	struct store_audit failed = { .au_event = "login", .au_result = "denied" };
	struct store_audit deflt = { .au_event = "token" }; /* result defaults to ok */
	int64_t n = -1;

	for (int i = 0; i < 3; i++)
		assert_int_equal(store_audit_add(fx->fx_store, &ok), SL_OK);
	assert_int_equal(store_audit_add(fx->fx_store, &failed), SL_OK);
	assert_int_equal(store_audit_add(fx->fx_store, &deflt), SL_OK);

	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 4);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 3);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "denied", &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_count(fx->fx_store, "token", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_audit_count(fx->fx_store, "logout", NULL, &n), SL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(raw_count(fx->fx_path,
				 "SELECT count(*) FROM audit WHERE ip = '192.0.2.1' AND key = 'test' AND time > 0"),
		3);
}

static void
test_audit_is_append_only(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_result = "ok" };
	char msg[256];
	int64_t n = -1;

	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	assert_int_not_equal(
		raw_exec_msg(fx->fx_path, "UPDATE audit SET result = 'forged'", msg, sizeof(msg)), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	assert_int_not_equal(raw_exec_msg(fx->fx_path, "DELETE FROM audit", msg, sizeof(msg)), SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	/* Appending still works. */
	assert_int_equal(
		raw_exec(fx->fx_path, "INSERT INTO audit (time, event, result) VALUES (1, 'login', 'ok')"), SQLITE_OK);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 2);
}

/* A rewrite of the audit that row triggers alone do not see. */
#define AUDIT_REPLACE                                                                                                  \
	(fx_pg() ? "TRUNCATE audit"                                                                                    \
		 : "REPLACE INTO audit (seq, time, event, result) SELECT seq, 0, 'login', 'forged' FROM audit")

static void
test_audit_replace_refused(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_result = "ok", .au_person_id = "person-1" };
	int64_t n = -1;
	int rc;

	/* REPLACE deletes the old row before inserting: a rewrite by another name.
	 * (DELETE triggers do not fire for it unless recursive_triggers is on.)
	 * PostgreSQL's forms of it: an upsert on the row's seq, and TRUNCATE
	 * (which fires no row trigger). */
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	rc = raw_exec(fx->fx_path,
		fx_pg() ? "INSERT INTO audit (seq, time, event, result) OVERRIDING SYSTEM VALUE SELECT seq, 0, 'login',"
			  " 'forged' FROM audit ON CONFLICT (seq) DO UPDATE SET result = excluded.result"
			: "INSERT OR REPLACE INTO audit (seq, time, event, result) SELECT seq, 0, 'login', 'forged'"
			  " FROM audit");
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	if (rc == SQLITE_OK || n != 1)
		fail_msg("INSERT OR REPLACE on audit: rc %d, original rows left %lld", rc, (long long)n);
	rc = raw_exec(fx->fx_path, AUDIT_REPLACE);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	if (rc == SQLITE_OK || n != 1)
		fail_msg("REPLACE INTO audit: rc %d, original rows left %lld", rc, (long long)n);
}

static void
test_existing_database_gets_replace_guard(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_result = "ok" };
	int64_t n = -1;
	int rc;

	/* A database made before the guard existed: schema version 1, no
	 * trigger. Opening it must migrate it to version 2, which adds it. */
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, schema_v4_undo), SQLITE_OK);
	assert_int_equal(raw_exec(fx->fx_path, schema_v3_undo), SQLITE_OK);
	assert_int_equal(raw_exec(fx->fx_path,
				 fx_pg() ? "DROP TRIGGER audit_no_truncate ON audit" : "DROP TRIGGER audit_no_replace"),
		SQLITE_OK);
	assert_int_equal(raw_exec(fx->fx_path, "PRAGMA user_version = 1"), SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	rc = raw_exec(fx->fx_path, AUDIT_REPLACE);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	if (rc == SQLITE_OK || n != 1)
		fail_msg("an upgraded database lets REPLACE rewrite the audit trail (rc %d)", rc);
}

/* ---- signing keys ---- */

struct key_list {
	char kl_kid[4][32];
	int64_t kl_retire[4];
	int64_t kl_use_after[4];
	int kl_n;
};

static int
collect_key(const struct store_key *k, void *arg)
{
	struct key_list *l = arg;

	if (l->kl_n >= 4)
		return SL_ETOOBIG;
	snprintf(l->kl_kid[l->kl_n], sizeof(l->kl_kid[0]), "%s", k->k_kid);
	l->kl_retire[l->kl_n] = k->k_retire_after;
	l->kl_use_after[l->kl_n] = k->k_use_after;
	l->kl_n++;
	return SL_OK;
}

static void
test_key_add_each_generation(void **state)
{
	struct fixture *fx = *state;
	struct store_key k1 = { (char *)"kid-1", (char *)"ES256", 1000, 1000, 0 };
	struct store_key k2 = { (char *)"kid-2", (char *)"ES256", 2000, 2600, 0 };
	struct store_key r1 = { (char *)"kid-r", (char *)"RS256", 1500, 1500, 0 };
	struct key_list list = { 0 };
	int64_t g0 = -1, g1 = -1, g2 = -1, g3 = -1;

	assert_int_equal(store_key_generation(fx->fx_store, &g0), SL_OK);
	assert_int_equal(store_key_add(fx->fx_store, &k1), SL_OK);
	assert_int_equal(store_key_add(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_key_generation(fx->fx_store, &g1), SL_OK);
	assert_true(g1 != g0);

	assert_int_equal(store_key_retire_current(fx->fx_store, "ES256", 5000), SL_OK);
	assert_int_equal(store_key_generation(fx->fx_store, &g2), SL_OK);
	assert_true(g2 != g1);
	assert_int_equal(store_key_add(fx->fx_store, &k2), SL_OK);
	assert_int_equal(store_key_generation(fx->fx_store, &g3), SL_OK);
	assert_true(g3 != g2);

	assert_int_equal(store_key_each(fx->fx_store, collect_key, &list), SL_OK);
	assert_int_equal(list.kl_n, 3);
	assert_string_equal(list.kl_kid[0], "kid-1");
	assert_int_equal(list.kl_retire[0], 5000);
	assert_string_equal(list.kl_kid[1], "kid-r");
	assert_int_equal(list.kl_retire[1], 0); /* another alg: not retired */
	assert_string_equal(list.kl_kid[2], "kid-2");
	assert_int_equal(list.kl_retire[2], 0);
	assert_int_equal(list.kl_use_after[2], 2600);

	/* The same kid twice is refused and the generation stays. */
	assert_int_equal(store_key_add(fx->fx_store, &k1), SL_ECONFLICT);
	assert_int_equal(store_key_generation(fx->fx_store, &g0), SL_OK);
	assert_int_equal(g0, g3);
}

/* ---- purge ---- */

static void
test_purge_expired_removes_only_expired(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now(), past = now - 10, future = now + 600;
	struct store_authreq ar_old = authreq_fixture("ar-old", past), ar_new = authreq_fixture("ar-new", future);
	struct store_code co = {
		.co_hash = (char *)"co-old",
		.co_grant_id = (char *)"g",
		.co_client_id = (char *)"c",
		.co_person_id = (char *)"p",
		.co_redirect_uri = (char *)"https://rp/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"x",
		.co_auth_time = 1,
		.co_expires = past,
	};
	struct store_token t_old = token_fixture("t-old", "access", "g"), t_new = token_fixture("t-new", "access", "g");
	struct store_session s_old = { .s_id = (char *)"s-old", .s_person_id = (char *)"p", .s_expires = past };
	struct store_session s_new = { .s_id = (char *)"s-new", .s_person_id = (char *)"p", .s_expires = future };
	struct store_client cl = client_fixture("client-a", 1);
	struct store_audit au = { .au_event = "login" };
	struct sl_err err = { 0 };
	struct store_token tgot;
	struct store_code cgot;
	struct store_session sgot;
	int64_t n = -1;

	t_old.t_expires = past;
	assert_int_equal(store_authreq_put(fx->fx_store, &ar_old), SL_OK);
	assert_int_equal(store_authreq_put(fx->fx_store, &ar_new), SL_OK);
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	co.co_hash = (char *)"co-new";
	co.co_expires = future;
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t_old), SL_OK);
	assert_int_equal(store_token_put(fx->fx_store, &t_new), SL_OK);
	assert_int_equal(store_session_put(fx->fx_store, &s_old), SL_OK);
	assert_int_equal(store_session_put(fx->fx_store, &s_new), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "c", "j-old", past), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "c", "j-new", future), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &cl, &err), SL_OK);
	assert_int_equal(store_audit_add(fx->fx_store, &au), SL_OK);

	assert_int_equal(store_purge_expired(fx->fx_store, now), 5);

	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests WHERE id = 'ar-new'"), 1);
	assert_int_equal(store_code_redeem(fx->fx_store, "co-old", "c", &cgot), SL_ENOTFOUND);
	assert_int_equal(store_code_redeem(fx->fx_store, "co-new", "c", &cgot), SL_OK);
	store_code_clear(&cgot);
	assert_int_equal(store_token_get(fx->fx_store, "t-old", &tgot), SL_ENOTFOUND);
	assert_int_equal(store_token_get(fx->fx_store, "t-new", &tgot), SL_OK);
	store_token_clear(&tgot);
	assert_int_equal(store_session_get(fx->fx_store, "s-new", &sgot), SL_OK);
	store_session_clear(&sgot);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sessions"), 1);
	/* A purged jti may be seen again; a live one may not. */
	assert_int_equal(store_jti_use(fx->fx_store, "c", "j-old", future), SL_OK);
	assert_int_equal(store_jti_use(fx->fx_store, "c", "j-new", future), SL_ECONFLICT);
	/* Durable records are not touched. */
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM clients"), 1);
	assert_int_equal(store_audit_count(fx->fx_store, "login", NULL, &n), SL_OK);
	assert_int_equal(n, 1);

	assert_int_equal(store_purge_expired(fx->fx_store, now), 0);
}

/* ---- concurrency ---- */

#define PAR_THREADS 4
#define PAR_PUTS 200

struct put_job {
	struct store *pj_store;
	int pj_thread;
	int pj_failures;
	int pj_last_rc;
};

static void *
put_many(void *arg)
{
	struct put_job *job = arg;
	char id[32];

	for (int i = 0; i < PAR_PUTS; i++) {
		struct store_authreq r;
		int rc;

		snprintf(id, sizeof(id), "t%d-r%d", job->pj_thread, i);
		r = authreq_fixture(id, sl_now() + 600);
		rc = store_authreq_put(job->pj_store, &r);
		if (rc != SL_OK) {
			job->pj_failures++;
			job->pj_last_rc = rc;
		}
	}
	return NULL;
}

static void
test_parallel_authreq_puts(void **state)
{
	struct fixture *fx = *state;
	pthread_t th[PAR_THREADS];
	struct put_job jobs[PAR_THREADS];
	struct store_authreq got;

	for (int t = 0; t < PAR_THREADS; t++) {
		jobs[t] = (struct put_job){ .pj_store = fx->fx_store, .pj_thread = t };
		assert_int_equal(pthread_create(&th[t], NULL, put_many, &jobs[t]), 0);
	}
	for (int t = 0; t < PAR_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < PAR_THREADS; t++)
		if (jobs[t].pj_failures != 0)
			fail_msg("thread %d: %d puts failed, last with %d", t, jobs[t].pj_failures, jobs[t].pj_last_rc);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests"), PAR_THREADS * PAR_PUTS);
	assert_int_equal(store_authreq_get(fx->fx_store, "t3-r199", &got), SL_OK);
	store_authreq_clear(&got);
}

/* Schema 15: a client's listing on the public site.  Listed clients come
 * oldest first, at most `max`; clearing the URL unlists; a removed client
 * is gone from the list; a database from schema 14 gets the column, empty. */
struct partner_seen {
	char pa_ids[4][32];
	int pa_n;
};

static int
collect_partner(const struct store_partner *p, void *arg)
{
	struct partner_seen *ps = arg;

	assert_non_null(p->pa_name);
	assert_non_null(p->pa_url);
	snprintf(ps->pa_ids[ps->pa_n++ % 4], sizeof(ps->pa_ids[0]), "%s", p->pa_client_id);
	return SL_OK;
}

static void
test_partner_listing_and_v15(void **state)
{
	struct fixture *fx = *state;
	struct store_client a = client_fixture("client-a", 3000), b = client_fixture("client-b", 1000),
			    c = client_fixture("client-c", 2000);
	struct partner_seen seen = { 0 };
	struct sl_err err = { 0 };
	char *url = NULL;
	int version = -1;

	assert_int_equal(store_client_add(fx->fx_store, &a, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &b, &err), SL_OK);
	assert_int_equal(store_client_add(fx->fx_store, &c, &err), SL_OK);
	assert_int_equal(store_partner_get(fx->fx_store, "client-a", &url), SL_OK);
	assert_null(url);
	assert_int_equal(store_partner_each(fx->fx_store, 10, collect_partner, &seen), SL_OK);
	assert_int_equal(seen.pa_n, 0);

	assert_int_equal(store_partner_set(fx->fx_store, "client-a", "https://a.example/"), SL_OK);
	assert_int_equal(store_partner_set(fx->fx_store, "client-b", "https://b.example/"), SL_OK);
	assert_int_equal(store_partner_set(fx->fx_store, "no-such-client", "https://x.example/"), SL_ENOTFOUND);
	assert_int_equal(store_partner_get(fx->fx_store, "no-such-client", &url), SL_ENOTFOUND);
	assert_int_equal(store_partner_get(fx->fx_store, "client-a", &url), SL_OK);
	assert_string_equal(url, "https://a.example/");
	free(url);
	assert_int_equal(store_partner_each(fx->fx_store, 10, collect_partner, &seen), SL_OK);
	assert_int_equal(seen.pa_n, 2);
	assert_string_equal(seen.pa_ids[0], "client-b"); /* the oldest first */
	assert_string_equal(seen.pa_ids[1], "client-a");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_partner_each(fx->fx_store, 1, collect_partner, &seen), SL_OK);
	assert_int_equal(seen.pa_n, 1);
	assert_int_equal(store_partner_each(fx->fx_store, 0, collect_partner, &seen), SL_EINVAL);

	assert_int_equal(store_partner_set(fx->fx_store, "client-b", NULL), SL_OK);
	assert_int_equal(store_client_remove(fx->fx_store, "client-a"), SL_OK);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_partner_each(fx->fx_store, 10, collect_partner, &seen), SL_OK);
	assert_int_equal(seen.pa_n, 0);

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V15_UNDO "PRAGMA user_version = 14;"), SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(store_partner_get(fx->fx_store, "client-c", &url), SL_OK);
	assert_null(url);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates_schema),
		T(test_reopen_keeps_schema_and_data),
		T(test_newer_schema_refused),
		T(test_open_in_missing_dir_fails),
		T(test_person_upsert_by_rrn),
		T(test_client_add_get_each_remove),
		T(test_client_duplicate_id_conflicts),
		T(test_authreq_put_get_take),
		T(test_authreq_expired_not_returned),
		T(test_authreq_complete_only_pending),
		T(test_authreq_result_taken_once),
		T(test_authreq_result_after_v3_migration),
		T(test_authreq_extend),
		T(test_authreq_extend_after_v17),
		T(test_v11_rows_survive_v12),
		T(test_client_jose_settings_and_v13),
		T(test_partner_listing_and_v15),
		T(test_code_redeem_once),
		T(test_token_put_get),
		T(test_token_rotate_replay_revokes_grant),
		T(test_token_revoke_grant),
		T(test_client_scopes_default_and_set),
		T(test_consent_put_get_each),
		T(test_consent_withdraw_revokes_tokens),
		T(test_v3_clients_get_default_scopes),
		T(test_session_put_get_end),
		T(test_session_logout_revokes_its_tokens),
		T(test_key_logins_end),
		T(test_session_expired_not_returned),
		T(test_jti_use_twice_conflicts),
		T(test_jti_kept_until_expires),
		T(test_audit_add_and_count),
		T(test_audit_is_append_only),
		T(test_audit_replace_refused),
		T(test_existing_database_gets_replace_guard),
		T(test_authreq_context_set_once),
		T(test_key_add_each_generation),
		T(test_purge_expired_removes_only_expired),
		T(test_parallel_authreq_puts),
	};
#undef T

	/* The store logs each migration; keep the test output readable. */
	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
