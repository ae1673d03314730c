/*
 * test_login_issue.c — store_login_complete_issue(), a key's login
 * completed and answered in one transaction: the person, the request's
 * completion, and (when the caller's issue function answers) the session,
 * the audit row and the code; the issue function sees the person's id and
 * consent; on any failure nothing changed.
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

static void
pending(struct fixture *fx, const char *id)
{
	struct store_authreq r = {
		.ar_id = (char *)id,
		.ar_kind = (char *)"authorize",
		.ar_client_id = (char *)"client-a",
		.ar_params = (char *)"{\"scope\":\"openid\"}",
		.ar_browser = (char *)"b1",
		.ar_expires = sl_now() + 600,
	};

	assert_int_equal(store_authreq_put(fx->fx_store, &r), SL_OK);
}

static struct store_authreq
done_of(const char *id)
{
	struct store_authreq done = { .ar_id = (char *)id,
		.ar_status = (char *)"done",
		.ar_key = (char *)"test",
		.ar_acr = (char *)"low",
		.ar_amr = (char *)"[\"test\"]",
		.ar_auth_time = 1700000000 };

	return done;
}

static void
person_init(struct store_person *p)
{
	memset(p, 0, sizeof(*p));
	p->p_rrn = strdup("85073003328");
	p->p_given_name = strdup("Anna");
	p->p_family_name = strdup("Peeters");
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

static void
test_completes_and_answers(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq done = done_of("req-1"), got;
	struct store_person p;
	struct issue is;
	char *consent = NULL;
	bool issued = false;

	pending(fx, "req-1");
	person_init(&p);
	issue_init(&is, "req-1", "code-1");
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, issue_fn, &is, &issued),
		SL_OK);
	assert_true(issued);
	assert_non_null(p.p_id);
	/* the issue function saw the person's id and the (absent) consent */
	assert_true(is.i_calls >= 1);
	assert_string_equal(is.i_person, p.p_id);
	assert_string_equal(is.i_consent, "(none)");
	assert_null(consent);
	/* answered: gone for readers; the person, session, audit row and
	 * code are there, each for this person */
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_ENOTFOUND);
	assert_int_equal(count(fx,
				 "SELECT count(*) FROM auth_requests WHERE id = 'req-1' AND status = 'answered'"
				 " AND person_id",
				 p.p_id),
		1);
	assert_int_equal(count(fx, "SELECT count(*) FROM codes WHERE hash = 'code-1' AND person_id", p.p_id), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM sessions WHERE id = 'code-1' AND person_id", p.p_id), 1);
	assert_int_equal(count(fx, "SELECT count(*) FROM audit WHERE event = 'login' AND person_id", p.p_id), 1);

	/* the consent the person gave is shown to the issue function */
	assert_int_equal(store_consent_put(fx->fx_store, p.p_id, "client-a", "profile"), SL_OK);
	pending(fx, "req-2");
	done = done_of("req-2");
	issue_init(&is, "req-2", "code-2");
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, issue_fn, &is, &issued),
		SL_OK);
	assert_true(issued);
	assert_string_equal(is.i_consent, "profile");
	assert_non_null(consent);
	assert_string_equal(consent, "profile");
	free(consent);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* answered already: SL_ENOTFOUND, nothing more written */
	issue_init(&is, "req-2", "code-3");
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, issue_fn, &is, &issued),
		SL_ENOTFOUND);
	assert_false(issued);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes WHERE hash = 'code-3'"), 0);
	store_person_clear(&p);
}

static void
test_consent_first_or_failure(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq done = done_of("req-1"), got;
	struct store_person p;
	struct issue is;
	char *consent = NULL;
	bool issued = true;

	/* not answered here (the consent page first): completed only */
	pending(fx, "req-1");
	person_init(&p);
	issue_init(&is, "req-1", "code-1");
	is.i_answer = false;
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, issue_fn, &is, &issued),
		SL_OK);
	assert_false(issued);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_OK);
	assert_string_equal(got.ar_status, "done");
	assert_string_equal(got.ar_person_id, p.p_id);
	store_authreq_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM codes"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM audit WHERE event = 'login'"), 0);
	store_person_clear(&p);

	/* the issue function fails: nothing at all, the request still pending */
	pending(fx, "req-2");
	done = done_of("req-2");
	memset(&p, 0, sizeof(p));
	p.p_rrn = strdup("90010100123");
	p.p_given_name = strdup("Jan");
	p.p_family_name = strdup("Janssens");
	issue_init(&is, "req-2", "code-2");
	is.i_rc = SL_ENOMEM;
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, issue_fn, &is, &issued),
		SL_ENOMEM);
	assert_false(issued);
	assert_null(p.p_id);
	assert_null(consent);
	assert_int_equal(store_authreq_get(fx->fx_store, "req-2", &got), SL_OK);
	assert_string_equal(got.ar_status, "pending");
	store_authreq_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons WHERE rrn = '90010100123'"), 0);
	store_person_clear(&p);

	/* no issue function, or no client: refused */
	assert_int_equal(
		store_login_complete_issue(fx->fx_store, &p, &done, NULL, &consent, issue_fn, &is, &issued), SL_EINVAL);
	assert_int_equal(store_login_complete_issue(fx->fx_store, &p, &done, "client-a", &consent, NULL, &is, &issued),
		SL_EINVAL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_completes_and_answers),
		T(test_consent_first_or_failure),
	};
#undef T

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
