/*
 * test_tx.c — tx_run's retries: a transaction the engine marks for retry
 * (cn_retry, as PostgreSQL's serialization failures do) is rolled back and
 * run again, at most TX_TRIES times, and the store's operations that
 * return records are safe to run again: the caller gets the last run's
 * record, nothing of an earlier run leaks or survives.
 *
 * SQLite never asks for a retry, so the fault is injected: by the test's
 * own transaction function, or by fault_engine.h at a statement or at
 * COMMIT of the store's operations.  Leaks show under ASan or valgrind.
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

#include "store_fixture.h"

#include "fault_engine.h"

/* fixture_setup's pool. */
#define POOL 4

/* The test's fixture, its store's connections on fault_engine.h. */
static struct fixture *
faulty(void **state)
{
	struct fixture *fx = *state;

	fault_install(fx->fx_store, POOL);
	return fx;
}

static int64_t
jti_count(const struct fixture *fx, const char *jti)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM jti_seen WHERE jti = '%s'", jti);
	return raw_count(fx->fx_path, sql);
}

/* ---- tx_run ---- */

/* A transaction that writes "both" in every run and "run-N" in run N, and
 * asks for a retry in its first `tw_retry_runs` runs (as the engine does
 * when the server refuses a statement or the commit). */
struct twice {
	int tw_retry_runs;
	int tw_runs;
	int tw_result;
};

static int
jti_put(struct conn *c, const char *jti)
{
	const struct bind b[] = { BT("client-tx"), BT(jti), BI(sl_now() + 600) };

	return exec_bound(c, Q_JTI_PUT, b, NBIND(b), NULL);
}

static int
twice_tx(struct conn *c, void *arg)
{
	struct twice *t = arg;
	char mine[16];
	int rc;

	/* Every run starts clean: the retry flag is the engine's to set. */
	if (c->cn_retry)
		return SL_EINVAL;
	t->tw_runs++;
	snprintf(mine, sizeof(mine), "run-%d", t->tw_runs);
	rc = jti_put(c, "both");
	if (rc == SL_OK)
		rc = jti_put(c, mine);
	if (t->tw_runs <= t->tw_retry_runs)
		c->cn_retry = true;
	t->tw_result = 100 + t->tw_runs;
	return rc;
}

/* Run 1 was rolled back: its own row is gone, the shared one is there
 * once (run 2 could insert it again). */
static void
assert_run_2_stayed(const struct fixture *fx)
{
	assert_int_equal(jti_count(fx, "run-1"), 0);
	assert_int_equal(jti_count(fx, "run-2"), 1);
	assert_int_equal(jti_count(fx, "both"), 1);
}

static void
test_tx_run_runs_again_on_retry(void **state)
{
	struct fixture *fx = faulty(state);
	struct twice t = { .tw_retry_runs = 1 };

	assert_int_equal(tx_run(fx->fx_store, DUR_NORMAL, twice_tx, &t), SL_OK);
	assert_int_equal(t.tw_runs, 2);
	/* The second run's outcome is the caller's. */
	assert_int_equal(t.tw_result, 102);
	assert_run_2_stayed(fx);
}

static void
test_tx_run_gives_up_after_tries(void **state)
{
	struct fixture *fx = faulty(state);
	struct twice t = { .tw_retry_runs = 1000 };

	assert_int_equal(tx_run(fx->fx_store, DUR_NORMAL, twice_tx, &t), SL_EBUSY);
	assert_int_equal(t.tw_runs, TX_TRIES);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM jti_seen"), 0);
	/* Every connection is back in the pool with no transaction open: each
	 * of them writes again (a held write lock would time this out). */
	for (int i = 0; i < POOL + 1; i++) {
		char jti[16];
		snprintf(jti, sizeof(jti), "after-%d", i);
		assert_int_equal(store_jti_use(fx->fx_store, "client-tx", jti, sl_now() + 60), SL_OK);
	}
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM jti_seen"), POOL + 1);
}

static void
test_tx_run_error_is_not_retried(void **state)
{
	struct fixture *fx = faulty(state);
	struct twice t = { 0 };

	assert_int_equal(store_jti_use(fx->fx_store, "client-tx", "both", sl_now() + 60), SL_OK);
	/* A constraint's refusal is an answer, not a conflict to retry. */
	assert_int_equal(tx_run(fx->fx_store, DUR_NORMAL, twice_tx, &t), SL_ECONFLICT);
	assert_int_equal(t.tw_runs, 1);
	assert_int_equal(jti_count(fx, "run-1"), 0);
}

static void
test_tx_run_retries_a_failed_statement(void **state)
{
	struct fixture *fx = faulty(state);
	struct twice t = { 0 };

	/* The second INSERT of run 1 fails as a serialization failure would. */
	fault.fe_step_at = 2;
	assert_int_equal(tx_run(fx->fx_store, DUR_NORMAL, twice_tx, &t), SL_OK);
	assert_int_equal(fault.fe_fired, 1);
	assert_int_equal(t.tw_runs, 2);
	assert_run_2_stayed(fx);
}

/* ---- the store's operations, retried ---- */

static void
put_authreq(struct store *st, const char *id)
{
	const struct store_authreq r = {
		.ar_id = (char *)id,
		.ar_kind = (char *)"authorize",
		.ar_client_id = (char *)"client-a",
		.ar_params = (char *)"{\"scope\":\"openid\"}",
		.ar_browser = (char *)"b1",
		.ar_expires = sl_now() + 600,
	};

	assert_int_equal(store_authreq_put(st, &r), SL_OK);
}

static void
put_code(struct store *st, const char *hash)
{
	const struct store_code co = {
		.co_hash = (char *)hash,
		.co_grant_id = (char *)"grant-1",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_session_id = (char *)"session-1",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid profile",
		.co_nonce = (char *)"n-1",
		.co_challenge = (char *)"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.co_auth_time = 1700000000,
		.co_expires = sl_now() + 60,
	};

	assert_int_equal(store_code_put(st, &co), SL_OK);
}

static void
test_code_redeem_retried(void **state)
{
	struct fixture *fx = faulty(state);
	struct store_code got;

	put_code(fx->fx_store, "code-1");
	/* The UPDATE that uses the code up is refused after run 1 read it. */
	fault.fe_step_at = 2;
	assert_int_equal(store_code_redeem(fx->fx_store, "code-1", "client-a", &got), SL_OK);
	assert_int_equal(fault.fe_fired, 1);
	assert_string_equal(got.co_hash, "code-1");
	assert_string_equal(got.co_grant_id, "grant-1");
	assert_string_equal(got.co_client_id, "client-a");
	assert_string_equal(got.co_person_id, "person-1");
	assert_string_equal(got.co_session_id, "session-1");
	assert_string_equal(got.co_redirect_uri, "https://rp.example/cb");
	assert_string_equal(got.co_scope, "openid profile");
	assert_string_equal(got.co_nonce, "n-1");
	assert_int_equal(got.co_auth_time, 1700000000);
	store_code_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT used FROM codes WHERE hash = 'code-1'"), 1);
	/* Redeemed once: run 2 of a replay sees it used, as run 1 did, and the
	 * caller still gets the grant to revoke. */
	fault.fe_commits = 1;
	assert_int_equal(store_code_redeem(fx->fx_store, "code-1", "client-a", &got), SL_ECONFLICT);
	assert_int_equal(fault.fe_fired, 2);
	assert_string_equal(got.co_grant_id, "grant-1");
	store_code_clear(&got);
	/* Another client's replay, retried: denied and told nothing. */
	put_code(fx->fx_store, "code-2");
	fault.fe_commits = 1;
	assert_int_equal(store_code_redeem(fx->fx_store, "code-2", "client-b", &got), SL_EDENIED);
	assert_int_equal(fault.fe_fired, 3);
	assert_null(got.co_grant_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT used FROM codes WHERE hash = 'code-2'"), 0);
}

static void
test_person_upsert_retried(void **state)
{
	struct fixture *fx = faulty(state);
	struct store_person p = { .p_rrn = strdup("85073003328"), .p_given_name = strdup("An") };
	struct store_person got = { 0 };
	struct sl_err err = { 0 };
	char *first_id;

	/* Run 1 inserted the person (and learned its id and creation time),
	 * then COMMIT was refused: run 2 must insert it again, not update the
	 * row that was rolled back. */
	fault.fe_commits = 1;
	assert_int_equal(store_person_upsert(fx->fx_store, &p, &err), SL_OK);
	assert_int_equal(fault.fe_fired, 1);
	assert_non_null(p.p_id);
	assert_int_equal(store_person_get(fx->fx_store, p.p_id, &got), SL_OK);
	assert_string_equal(got.p_rrn, "85073003328");
	assert_string_equal(got.p_given_name, "An");
	store_person_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* The same national number again, retried: the same person, updated. */
	first_id = strdup(p.p_id);
	free(p.p_given_name);
	p.p_given_name = strdup("Anna");
	fault.fe_commits = 1;
	assert_int_equal(store_person_upsert(fx->fx_store, &p, &err), SL_OK);
	assert_string_equal(p.p_id, first_id);
	assert_int_equal(store_person_get(fx->fx_store, first_id, &got), SL_OK);
	assert_string_equal(got.p_given_name, "Anna");
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* Given up: the caller's record is as it was. */
	fault.fe_commits = TX_TRIES;
	free(p.p_id);
	p.p_id = NULL;
	p.p_created = 0;
	assert_int_equal(store_person_upsert(fx->fx_store, &p, &err), SL_EBUSY);
	assert_null(p.p_id);
	assert_int_equal(p.p_created, 0);
	free(first_id);
	store_person_clear(&got);
	store_person_clear(&p);
}

static void
test_purge_retried_counts_once(void **state)
{
	struct fixture *fx = faulty(state);
	int64_t now = sl_now();

	for (int i = 0; i < 3; i++) {
		char jti[16];
		snprintf(jti, sizeof(jti), "old-%d", i);
		assert_int_equal(store_jti_use(fx->fx_store, "client-tx", jti, now - 10), SL_OK);
	}
	assert_int_equal(store_jti_use(fx->fx_store, "client-tx", "live", now + 600), SL_OK);
	fault.fe_commits = 1;
	/* Run 1 deleted three rows too, but that was rolled back. */
	assert_int_equal(store_purge_expired(fx->fx_store, now), 3);
	assert_int_equal(fault.fe_fired, 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM jti_seen"), 1);
}

/* ---- a code's exchange for tokens ---- */

struct exchange_probe {
	int ep_verdict;
	int ep_accepts, ep_fills;
};

static int
probe_accept(const struct store_code *co, void *arg)
{
	struct exchange_probe *p = arg;

	p->ep_accepts++;
	assert_string_equal(co->co_grant_id, "grant-1");
	return p->ep_verdict;
}

static int
probe_tokens(const struct store_code *co, void *arg, struct store_token *t, int *n)
{
	struct exchange_probe *p = arg;
	const char *hashes[2] = { "tok-access", "tok-refresh" };

	p->ep_fills++;
	for (int i = 0; i < 2; i++) {
		t[i].t_hash = (char *)hashes[i];
		t[i].t_kind = (char *)(i == 0 ? "access" : "refresh");
		t[i].t_grant_id = co->co_grant_id;
		t[i].t_client_id = co->co_client_id;
		t[i].t_person_id = co->co_person_id;
		t[i].t_scope = co->co_scope;
		t[i].t_expires = sl_now() + 600;
	}
	*n = 2;
	return SL_OK;
}

/* The tokens a code buys are stored with its use, in one transaction
 * (run again as a whole when retried); a refused code is used up all the
 * same and buys nothing; a used one buys nothing again. */
static void
test_code_exchange_one_transaction(void **state)
{
	struct fixture *fx = faulty(state);
	struct exchange_probe probe = { .ep_verdict = SL_EINVAL };
	const struct store_code_exchange cx = { probe_accept, probe_tokens, &probe };
	struct store_code got;

	put_code(fx->fx_store, "code-refused");
	assert_int_equal(store_code_exchange(fx->fx_store, "code-refused", "client-a", &cx, &got), SL_EINVAL);
	store_code_clear(&got);
	assert_int_equal(probe.ep_fills, 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT used FROM codes WHERE hash = 'code-refused'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens"), 0);

	put_code(fx->fx_store, "code-good");
	probe = (struct exchange_probe){ .ep_verdict = SL_OK };
	fault.fe_begun = 0;
	fault.fe_commits = 1;
	assert_int_equal(store_code_exchange(fx->fx_store, "code-good", "client-a", &cx, &got), SL_OK);
	assert_int_equal(fault.fe_begun, 2); /* one transaction, run twice */
	assert_int_equal(probe.ep_accepts, 2);
	assert_string_equal(got.co_grant_id, "grant-1");
	store_code_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens WHERE grant_id = 'grant-1'"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT used FROM codes WHERE hash = 'code-good'"), 1);

	assert_int_equal(store_code_exchange(fx->fx_store, "code-good", "client-a", &cx, &got), SL_ECONFLICT);
	assert_string_equal(got.co_grant_id, "grant-1");
	store_code_clear(&got);
	assert_int_equal(store_code_exchange(fx->fx_store, "code-none", "client-a", &cx, &got), SL_ENOTFOUND);
	assert_int_equal(probe.ep_accepts, 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens"), 2);
}

/* ---- a login's completion and answer ---- */

static struct store_authreq
login_done(const char *id)
{
	const struct store_authreq r = { .ar_id = (char *)id,
		.ar_status = (char *)"done",
		.ar_key = (char *)"test",
		.ar_acr = (char *)"low",
		.ar_amr = (char *)"[\"test\"]",
		.ar_auth_time = 1700000000 };

	return r;
}

/* The person and the request's completion in one transaction, durable
 * only when the person is new or changed; a request no longer waiting
 * writes nothing, not even a new person. */
static void
test_login_complete_durable_when_person_changes(void **state)
{
	struct fixture *fx = faulty(state);
	struct store_person p = {
		.p_rrn = strdup("85073003328"), .p_given_name = strdup("An"), .p_family_name = strdup("Peeters")
	};
	struct store_person got = { 0 };
	struct store_authreq r = login_done("ar-1"), ar;
	char *id;

	put_authreq(fx->fx_store, "ar-1");
	put_authreq(fx->fx_store, "ar-2");
	put_authreq(fx->fx_store, "ar-3");
	fault.fe_begun = fault.fe_durable = 0;
	/* A new person: a non-durable run finds it new, a durable one writes. */
	assert_int_equal(store_login_complete(fx->fx_store, &p, &r), SL_OK);
	assert_int_equal(fault.fe_durable, 1);
	assert_non_null(p.p_id);
	id = strdup(p.p_id);
	assert_int_equal(store_authreq_get(fx->fx_store, "ar-1", &ar), SL_OK);
	assert_string_equal(ar.ar_status, "done");
	assert_string_equal(ar.ar_person_id, id);
	assert_string_equal(ar.ar_key, "test");
	assert_int_equal(ar.ar_auth_time, 1700000000);
	store_authreq_clear(&ar);
	/* The same person again: one transaction, not durable, same id. */
	free(p.p_id);
	p.p_id = NULL;
	fault.fe_begun = fault.fe_durable = 0;
	r = login_done("ar-2");
	assert_int_equal(store_login_complete(fx->fx_store, &p, &r), SL_OK);
	assert_int_equal(fault.fe_begun, 1);
	assert_int_equal(fault.fe_durable, 0);
	assert_string_equal(p.p_id, id);
	/* A changed name is written durably, to the same person. */
	free(p.p_family_name);
	p.p_family_name = strdup("Janssens");
	fault.fe_durable = 0;
	r = login_done("ar-3");
	assert_int_equal(store_login_complete(fx->fx_store, &p, &r), SL_OK);
	assert_int_equal(fault.fe_durable, 1);
	assert_string_equal(p.p_id, id);
	assert_int_equal(store_person_get(fx->fx_store, id, &got), SL_OK);
	assert_string_equal(got.p_family_name, "Janssens");
	store_person_clear(&got);
	/* Answered already: SL_ENOTFOUND, and a new person is not stored. */
	store_person_clear(&p);
	p = (struct store_person){ .p_rrn = strdup("90010100123"), .p_given_name = strdup("Bo") };
	assert_int_equal(store_login_complete(fx->fx_store, &p, &r), SL_ENOTFOUND);
	assert_null(p.p_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* Retried by the engine: the outcome of one run. */
	fault.fe_commits = 1;
	put_authreq(fx->fx_store, "ar-4");
	r = login_done("ar-4");
	assert_int_equal(store_login_complete(fx->fx_store, &p, &r), SL_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 2);
	free(id);
	store_person_clear(&p);
}

/* A login's answer is one transaction: the request deleted, the session
 * in place of the old one, the audit row, the code; durable when it has
 * an audit row.  A request answered already writes nothing. */
static void
test_login_issue_one_transaction(void **state)
{
	struct fixture *fx = faulty(state);
	const struct store_session old = { .s_id = (char *)"ses-old",
		.s_person_id = (char *)"person-1",
		.s_auth_time = 1,
		.s_expires = sl_now() + 600 };
	const struct store_session ses = { .s_id = (char *)"ses-new",
		.s_person_id = (char *)"person-1",
		.s_auth_time = 2,
		.s_expires = sl_now() + 600 };
	const struct store_audit au = { .au_event = "login", .au_result = "ok", .au_person_id = "person-1" };
	struct store_code co = { .co_hash = (char *)"code-li",
		.co_grant_id = (char *)"grant-li",
		.co_client_id = (char *)"client-a",
		.co_person_id = (char *)"person-1",
		.co_session_id = (char *)"ses-new",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"c",
		.co_auth_time = 2,
		.co_expires = sl_now() + 60 };
	struct store_login_issue li = {
		.li_req_id = "ar-li", .li_old_session = "ses-old", .li_session = &ses, .li_audit = &au, .li_code = &co
	};
	struct store_session got;
	struct store_code redeemed;
	struct store_authreq ar, done = login_done("ar-li");
	int64_t n = 0;

	assert_int_equal(store_session_put(fx->fx_store, &old), SL_OK);
	put_authreq(fx->fx_store, "ar-li");
	fault.fe_begun = fault.fe_durable = 0;
	fault.fe_commits = 1; /* and once more after a retry */
	assert_int_equal(store_login_issue(fx->fx_store, &li), SL_OK);
	assert_int_equal(fault.fe_begun, 2);
	assert_int_equal(fault.fe_durable, 2);
	assert_int_equal(store_authreq_get(fx->fx_store, "ar-li", &ar), SL_ENOTFOUND);
	assert_int_equal(store_authreq_complete(fx->fx_store, &done), SL_ENOTFOUND);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests WHERE id = 'ar-li'"
						" AND status = 'answered'"),
		1);
	assert_int_equal(store_session_get(fx->fx_store, "ses-old", &got), SL_ENOTFOUND);
	assert_int_equal(store_session_get(fx->fx_store, "ses-new", &got), SL_OK);
	store_session_clear(&got);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_code_redeem(fx->fx_store, "code-li", "client-a", &redeemed), SL_OK);
	assert_string_equal(redeemed.co_session_id, "ses-new");
	store_code_clear(&redeemed);
	/* The same answer again: the request is gone, nothing else is written. */
	co.co_hash = (char *)"code-li-2";
	assert_int_equal(store_login_issue(fx->fx_store, &li), SL_ENOTFOUND);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-li-2'"), 0);
	/* No audit row (an SSO answer): not durable. */
	put_authreq(fx->fx_store, "ar-sso");
	li = (struct store_login_issue){ .li_req_id = "ar-sso", .li_code = &co };
	fault.fe_durable = 0;
	assert_int_equal(store_login_issue(fx->fx_store, &li), SL_OK);
	assert_int_equal(fault.fe_durable, 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-li-2'"), 1);
}

/* ---- a CIBA request's tokens ---- */

/* The request's redemption, its audit row and its tokens are one durable
 * transaction: rolled back whole (the request still approved, nothing
 * stored), run again whole, and not again once redeemed. */
static void
test_ciba_issue_one_transaction(void **state)
{
	struct fixture *fx = faulty(state);
	const struct store_ciba cb = { .cb_id = (char *)"auth-req-tx",
		.cb_client_id = (char *)"bank",
		.cb_apprq_id = (char *)"rq-tx",
		.cb_scope = (char *)"openid offline_access",
		.cb_acr = (char *)"high",
		.cb_binding_message = (char *)"W4K2",
		.cb_interval = 5,
		.cb_expires = sl_now() + 300 };
	const struct store_audit au = { .au_event = "token",
		.au_result = "ok",
		.au_person_id = "p-1",
		.au_client_id = "bank",
		.au_detail = "ciba" };
	struct store_token t[2] = { { .t_hash = (char *)"ciba-at", .t_kind = (char *)"access" },
		{ .t_hash = (char *)"ciba-rt", .t_kind = (char *)"refresh" } };
	struct store_ciba got;
	int64_t n = -1;

	for (int i = 0; i < 2; i++) {
		t[i].t_grant_id = (char *)"grant-ciba";
		t[i].t_client_id = (char *)"bank";
		t[i].t_person_id = (char *)"p-1";
		t[i].t_scope = cb.cb_scope;
		t[i].t_expires = sl_now() + 600;
	}
	assert_int_equal(store_ciba_put(fx->fx_store, &cb), SL_OK);
	/* Not approved yet: nothing to redeem, nothing written. */
	assert_int_equal(store_ciba_issue(fx->fx_store, "auth-req-tx", &au, &t[1], &t[0]), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens"), 0);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "auth-req-tx", "approved", "p-1", sl_now()), SL_OK);

	/* Every commit refused: rolled back whole, the request still approved. */
	fault.fe_begun = 0;
	fault.fe_commits = TX_TRIES;
	assert_int_equal(store_ciba_issue(fx->fx_store, "auth-req-tx", &au, &t[1], &t[0]), SL_EBUSY);
	assert_int_equal(fault.fe_begun, TX_TRIES);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-tx", &got), SL_OK);
	assert_string_equal(got.cb_status, "approved");
	store_ciba_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens"), 0);
	assert_int_equal(store_audit_count(fx->fx_store, "token", "ok", &n), SL_OK);
	assert_int_equal(n, 0);

	/* The refresh token's insert (step 3, after the redemption and the
	 * audit row) refused once: one durable transaction, run twice. */
	fault.fe_begun = fault.fe_durable = 0;
	fault.fe_step_at = 3;
	assert_int_equal(store_ciba_issue(fx->fx_store, "auth-req-tx", &au, &t[1], &t[0]), SL_OK);
	assert_int_equal(fault.fe_fired, TX_TRIES + 1);
	assert_int_equal(fault.fe_begun, 2);
	assert_int_equal(fault.fe_durable, 2);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-tx", &got), SL_OK);
	assert_string_equal(got.cb_status, "redeemed");
	store_ciba_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens WHERE grant_id = 'grant-ciba'"), 2);
	assert_int_equal(store_audit_count(fx->fx_store, "token", "ok", &n), SL_OK);
	assert_int_equal(n, 1);

	/* Redeemed once: a second answer stores nothing. */
	t[0].t_hash = (char *)"ciba-at-2";
	assert_int_equal(store_ciba_issue(fx->fx_store, "auth-req-tx", &au, NULL, &t[0]), SL_ECONFLICT);
	assert_int_equal(store_ciba_issue(fx->fx_store, "nope", &au, NULL, &t[0]), SL_ENOTFOUND);
	assert_int_equal(store_ciba_issue(fx->fx_store, "auth-req-tx", NULL, NULL, &t[0]), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM tokens"), 2);
	assert_int_equal(store_audit_count(fx->fx_store, "token", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
}

/* A CIBA request's start is one durable commit: the app request, its
 * audit row and the CIBA record (with the request's id and expiry). */
static void
test_apprq_put_ciba_one_transaction(void **state)
{
	struct fixture *fx = faulty(state);
	const struct store_apprq r = { .aq_id = (char *)"rq-c",
		.aq_account_id = (char *)"acct-1",
		.aq_client_id = (char *)"bank",
		.aq_action = (char *)"login",
		.aq_link_kind = (char *)"ciba",
		.aq_link_id = (char *)"auth-req-c",
		.aq_expires = sl_now() + 120 };
	const struct store_ciba cb = {
		.cb_id = (char *)"auth-req-c", .cb_client_id = (char *)"bank", .cb_interval = 5
	};
	const struct store_audit au = { .au_event = "app.request", .au_result = "ok", .au_client_id = "bank" };
	struct store_ciba got;

	/* Every commit refused: neither row, no audit row. */
	fault.fe_commits = TX_TRIES;
	assert_int_equal(store_apprq_put_ciba(fx->fx_store, &r, 5, &au, &cb), SL_EBUSY);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM ciba_requests"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM audit"), 0);
	/* The CIBA record's insert refused once (step 3): run again whole. */
	fault.fe_begun = fault.fe_durable = 0;
	fault.fe_step_at = 3;
	assert_int_equal(store_apprq_put_ciba(fx->fx_store, &r, 5, &au, &cb), SL_OK);
	assert_int_equal(fault.fe_begun, 2);
	assert_int_equal(fault.fe_durable, 2);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-c", &got), SL_OK);
	assert_string_equal(got.cb_apprq_id, "rq-c");
	assert_string_equal(got.cb_status, "pending");
	assert_int_equal(got.cb_expires, r.aq_expires);
	store_ciba_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests WHERE id = 'rq-c'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM audit"), 1);
	/* A CIBA id taken: the app request is not stored either. */
	{
		struct store_apprq r2 = r;
		r2.aq_id = (char *)"rq-c2";
		assert_int_equal(store_apprq_put_ciba(fx->fx_store, &r2, 5, &au, &cb), SL_ECONFLICT);
		assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests WHERE id = 'rq-c2'"), 0);
		assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM audit"), 1);
	}
	assert_int_equal(store_apprq_put_ciba(fx->fx_store, &r, 5, &au, NULL), SL_EINVAL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_tx_run_runs_again_on_retry),
		T(test_tx_run_gives_up_after_tries),
		T(test_tx_run_error_is_not_retried),
		T(test_tx_run_retries_a_failed_statement),
		T(test_code_redeem_retried),
		T(test_person_upsert_retried),
		T(test_purge_retried_counts_once),
		T(test_code_exchange_one_transaction),
		T(test_login_complete_durable_when_person_changes),
		T(test_login_issue_one_transaction),
		T(test_ciba_issue_one_transaction),
		T(test_apprq_put_ciba_one_transaction),
	};
#undef T

	/* The store logs each migration; keep the test output readable. */
	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
