/*
 * test_login_issue.c — store_login_complete_issue(), a key's login
 * completed and answered in one transaction: the person, the request's
 * completion, and (when the caller's issue function answers) the session,
 * the audit row and the code; the issue function sees the person's id and
 * consent; on any failure nothing changed.  And its eID variant,
 * store_authreq_redeem_complete_issue(): the request's one-time result
 * redeemed first, in the same transaction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

/* What an issue function prepares (as oidc_login_complete_finish does)
 * and what it was shown. */
struct issue {
	struct store_session i_ses;
	struct store_audit i_au;
	struct store_code i_co;
	struct store_login_issue i_li;
	char i_person[128];
	char i_consent[128];
	int i_calls;
	bool i_answer; /* false: the consent page comes first */
	int i_rc;
};

static int
issue_fn(void *ctx, const char *person_id, const char *consent, const struct store_login_issue **li)
{
	struct issue *is = ctx;

	is->i_calls++;
	snprintf(is->i_person, sizeof(is->i_person), "%s", person_id ? person_id : "");
	snprintf(is->i_consent, sizeof(is->i_consent), "%s", consent ? consent : "(none)");
	*li = NULL;
	if (is->i_rc != SL_OK || !is->i_answer)
		return is->i_rc;
	is->i_ses.s_person_id = (char *)person_id;
	is->i_au.au_person_id = person_id;
	is->i_co.co_person_id = (char *)person_id;
	*li = &is->i_li;
	return SL_OK;
}

static void
issue_init(struct issue *is, const char *req, const char *code)
{
	memset(is, 0, sizeof(*is));
	is->i_answer = true;
	is->i_ses = (struct store_session){ .s_id = (char *)code,
		.s_acr = (char *)"low",
		.s_amr = (char *)"[\"test\"]",
		.s_auth_time = 1700000000,
		.s_expires = sl_now() + 600 };
	is->i_au = (struct store_audit){
		.au_event = "login", .au_result = "ok", .au_client_id = "client-a", .au_key = "test"
	};
	is->i_co = (struct store_code){ .co_hash = (char *)code,
		.co_grant_id = (char *)"g1",
		.co_client_id = (char *)"client-a",
		.co_session_id = (char *)code,
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"c",
		.co_auth_time = 1700000000,
		.co_expires = sl_now() + 60 };
	is->i_li = (struct store_login_issue){
		.li_req_id = req, .li_session = &is->i_ses, .li_audit = &is->i_au, .li_code = &is->i_co
	};
}

/* Request `id` put waiting (when `put`), then completed by the test key for
 * person p through store_login_complete_issue. */
struct attempt {
	struct fixture *at_fx;
	struct store_person at_p;
	struct issue at_is;
	char *at_consent;
	bool at_issued;
	int at_fail; /* what the issue function answers when not SL_OK */
};

static int
attempt(struct attempt *at, const char *id, const char *code, bool put, bool answer)
{
	struct store_authreq r;

	memset(&r, 0, sizeof(r));
	r.ar_id = (char *)id;
	r.ar_client_id = (char *)"client-a";
	if (put) {
		r.ar_kind = (char *)"authorize";
		r.ar_params = (char *)"{}";
		r.ar_browser = (char *)"b1";
		r.ar_expires = sl_now() + 600;
		assert_int_equal(store_authreq_put(at->at_fx->fx_store, &r), SL_OK);
	}
	r.ar_status = (char *)"done";
	r.ar_key = (char *)"test";
	r.ar_acr = (char *)"low";
	r.ar_amr = (char *)"[\"test\"]";
	r.ar_auth_time = 1700000000;
	issue_init(&at->at_is, id, code);
	at->at_is.i_answer = answer;
	at->at_is.i_rc = at->at_fail;
	return store_login_complete_issue(
		at->at_fx->fx_store, &at->at_p, &r, "client-a", &at->at_consent, issue_fn, &at->at_is, &at->at_issued);
}

static void
person_set(struct store_person *p, const char *rrn, const char *given, const char *family)
{
	memset(p, 0, sizeof(*p));
	p->p_rrn = strdup(rrn);
	p->p_given_name = strdup(given);
	p->p_family_name = strdup(family);
	assert_true(p->p_rrn && p->p_given_name && p->p_family_name);
}

/* count(*) of `where` (a query ending in "person_id") for this person */
static int
count(struct fixture *fx, const char *where, const char *person_id)
{
	char sql[512];

	snprintf(sql, sizeof(sql), "%s = '%s'", where, person_id);
	return raw_count(fx->fx_path, sql);
}

/* Request `id` completed for `person_id`, not answered. */
static void
assert_completed(struct fixture *fx, const char *id, const char *person_id)
{
	struct store_authreq got;

	assert_int_equal(store_authreq_get(fx->fx_store, id, &got), SL_OK);
	assert_string_equal(got.ar_status, "done");
	assert_string_equal(got.ar_person_id, person_id);
	store_authreq_clear(&got);
}

static void
test_completes_and_answers(void **state)
{
	struct attempt at = { .at_fx = *state };
	struct fixture *fx = at.at_fx;
	struct store_authreq got;
	const char *pid;

	person_set(&at.at_p, "85073003328", "Anna", "Peeters");
	assert_int_equal(attempt(&at, "req-1", "code-1", true, true), SL_OK);
	assert_true(at.at_issued);
	pid = at.at_p.p_id;
	assert_non_null(pid);
	/* the issue function saw the person's id and the (absent) consent */
	assert_true(at.at_is.i_calls >= 1);
	assert_string_equal(at.at_is.i_person, pid);
	assert_string_equal(at.at_is.i_consent, "(none)");
	assert_null(at.at_consent);
	/* answered: gone for readers; the person, session, audit row and
	 * code are there, each for this person */
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_ENOTFOUND);
	assert_int_equal(
		count(fx, "SELECT count(*) FROM auth_requests WHERE status = 'answered' AND person_id", pid), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM codes WHERE hash = 'code-1' AND person_id", pid), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM sessions WHERE id = 'code-1' AND person_id", pid), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM audit WHERE event = 'login' AND person_id", pid), 1);

	/* the consent the person gave is shown to the issue function */
	assert_int_equal(store_consent_put(fx->fx_store, pid, "client-a", "profile"), SL_OK);
	assert_int_equal(attempt(&at, "req-2", "code-2", true, true), SL_OK);
	assert_true(at.at_issued);
	assert_string_equal(at.at_is.i_consent, "profile");
	assert_non_null(at.at_consent);
	assert_string_equal(at.at_consent, "profile");
	free(at.at_consent);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* answered already: SL_ENOTFOUND, nothing more written */
	assert_int_equal(attempt(&at, "req-2", "code-3", false, true), SL_ENOTFOUND);
	assert_false(at.at_issued);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-3'"), 0);
	store_person_clear(&at.at_p);
}

static void
test_consent_first_or_failure(void **state)
{
	struct attempt at = { .at_fx = *state };
	struct fixture *fx = at.at_fx;
	struct store_authreq got;

	/* not answered here (the consent page first): completed only */
	person_set(&at.at_p, "85073003328", "Anna", "Peeters");
	assert_int_equal(attempt(&at, "req-1", "code-1", true, false), SL_OK);
	assert_false(at.at_issued);
	assert_completed(fx, "req-1", at.at_p.p_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM audit WHERE event = 'login'"), 0);
	store_person_clear(&at.at_p);

	/* the issue function fails: nothing at all, the request still pending */
	person_set(&at.at_p, "90010100123", "Jan", "Janssens");
	at.at_fail = SL_ENOMEM;
	assert_int_equal(attempt(&at, "req-2", "code-2", true, true), SL_ENOMEM);
	assert_false(at.at_issued);
	assert_null(at.at_p.p_id);
	assert_null(at.at_consent);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-2", &got), SL_OK);
	assert_string_equal(got.ar_status, "pending");
	store_authreq_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons WHERE rrn = '90010100123'"), 0);
	store_person_clear(&at.at_p);

	/* no issue function, or no client: refused */
	assert_int_equal(store_login_complete_issue(fx->fx_store, &at.at_p, &got, NULL, &at.at_consent, issue_fn,
				 &at.at_is, &at.at_issued),
		SL_EINVAL);
	assert_int_equal(store_login_complete_issue(fx->fx_store, &at.at_p, &got, "client-a", &at.at_consent, NULL,
				 &at.at_is, &at.at_issued),
		SL_EINVAL);
}

/* The eID return's results are a national register number. */
static int
rrn_person(const char *result, struct store_person *p)
{
	memset(p, 0, sizeof(*p));
	return result != NULL && (p->p_rrn = strdup(result)) != NULL ? SL_OK : SL_EINVAL;
}

/* Request `id` waiting with the one-time result `rrn` behind `hash`, then
 * redeemed with `try` through store_authreq_redeem_complete_issue. */
static int
redeem(struct attempt *at, const char *id, const char *hash, const char *try, const char *code, bool answer)
{
	struct store_authreq r = { .ar_id = (char *)id,
		.ar_kind = (char *)"authorize",
		.ar_client_id = (char *)"client-a",
		.ar_params = (char *)"{}",
		.ar_browser = (char *)"b1",
		.ar_expires = sl_now() + 600 };
	struct store_authreq done = { .ar_id = (char *)id,
		.ar_status = (char *)"done",
		.ar_key = (char *)"eid",
		.ar_acr = (char *)"high",
		.ar_amr = (char *)"[\"eid\"]",
		.ar_auth_time = 1700000000 };

	if (hash != NULL) {
		assert_int_equal(store_authreq_put(at->at_fx->fx_store, &r), SL_OK);
		assert_int_equal(
			store_authreq_set_result(at->at_fx->fx_store, id, hash, "85073003328", sl_now() + 60), SL_OK);
	}
	issue_init(&at->at_is, id, code);
	at->at_is.i_answer = answer;
	store_person_clear(&at->at_p);
	free(at->at_consent);
	return store_authreq_redeem_complete_issue(at->at_fx->fx_store, try, rrn_person, &at->at_p, &done, "client-a",
		&at->at_consent, issue_fn, &at->at_is, &at->at_issued);
}

static void
test_redeem_answers_once(void **state)
{
	struct attempt at = { .at_fx = *state };
	struct fixture *fx = at.at_fx;
	struct store_authreq got;

	assert_int_equal(redeem(&at, "req-5", "h5", "h5", "code-5", true), SL_OK);
	assert_true(at.at_issued);
	assert_non_null(at.at_p.p_id);
	assert_string_equal(at.at_p.p_rrn, "85073003328");
	assert_string_equal(at.at_is.i_person, at.at_p.p_id);
	/* answered: the request gone for readers; the session, audit row and code there */
	assert_int_equal(store_authreq_get(fx->fx_store, "req-5", &got), SL_ENOTFOUND);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-5'"), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM audit WHERE key = 'test' AND person_id", at.at_p.p_id), 1);
	/* once: the result is spent */
	assert_int_equal(redeem(&at, "req-5", NULL, "h5", "code-5b", true), SL_ENOTFOUND);
	assert_false(at.at_issued);
	assert_null(at.at_p.p_id);

	/* a wrong value: nothing changed, the result still there */
	assert_int_equal(redeem(&at, "req-6", "h6", "h7", "code-6", true), SL_ENOTFOUND);
	assert_false(at.at_issued);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-6'"), 0);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-6", &got), SL_OK);
	assert_string_equal(got.ar_status, "pending");
	store_authreq_clear(&got);

	/* the consent page first: the completion alone, the result spent */
	assert_int_equal(redeem(&at, "req-6", NULL, "h6", "code-6", false), SL_OK);
	assert_false(at.at_issued);
	assert_completed(fx, "req-6", at.at_p.p_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-6'"), 0);
	assert_int_equal(redeem(&at, "req-6", NULL, "h6", "code-6", true), SL_ENOTFOUND);
	store_person_clear(&at.at_p);
	free(at.at_consent);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_completes_and_answers),
		T(test_consent_first_or_failure),
		T(test_redeem_answers_once),
	};
#undef T

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
