/*
 * test_eid_return.c — store_authreq_redeem_complete_issue(), the eID return's
 * one transaction: the one-time result taken once, the person recorded and
 * the request completed together, and on any failure nothing changed (the
 * result still there to be taken, the request still pending).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

/* The tests' results are a national register number, or "bad". */
static int
person_of(const char *result, struct store_person *p)
{
	memset(p, 0, sizeof(*p));
	if (result == NULL || strcmp(result, "bad") == 0)
		return SL_EINVAL;
	p->p_rrn = strdup(result);
	p->p_given_name = strdup("Anna");
	p->p_family_name = strdup("Peeters");
	return p->p_rrn && p->p_given_name && p->p_family_name ? SL_OK : SL_ENOMEM;
}

/* The issue function of a login that stops at the consent page: the
 * completion alone (the answer is store_login_issue.c's test). */
static int
no_answer(void *ctx, const char *person_id, const char *consent, const struct store_login_issue **li)
{
	(void)ctx;
	(void)person_id;
	(void)consent;
	*li = NULL;
	return SL_OK;
}

static int
redeem_complete(struct store *st, const char *hash, int (*of)(const char *, struct store_person *),
	struct store_person *p, const struct store_authreq *done)
{
	char *consent = NULL;
	bool issued = true;
	int rc = store_authreq_redeem_complete_issue(
		st, hash, of, p, done, "client-a", &consent, no_answer, NULL, &issued);

	assert_false(issued);
	free(consent);
	return rc;
}

static void
pending_with_result(struct fixture *fx, const char *id, const char *hash, const char *result, int64_t until)
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
	assert_int_equal(store_authreq_set_result(fx->fx_store, id, hash, result, until), SL_OK);
}

static struct store_authreq
done_of(const char *id)
{
	struct store_authreq done = {
		.ar_id = (char *)id,
		.ar_status = (char *)"done",
		.ar_key = (char *)"eid",
		.ar_acr = (char *)"http://eidas.europa.eu/LoA/high",
		.ar_amr = (char *)"[\"eid\"]",
		.ar_auth_time = 1700000000,
	};

	return done;
}

/* Still pending, with its result: nothing was written. */
static void
assert_untouched(struct fixture *fx, const char *id, const char *hash)
{
	struct store_authreq got;
	char *result = NULL;

	assert_int_equal(store_authreq_get(fx->fx_store, id, &got), SL_OK);
	assert_string_equal(got.ar_status, "pending");
	assert_null(got.ar_person_id);
	store_authreq_clear(&got);
	assert_int_equal(store_authreq_take_result(fx->fx_store, id, hash, &result), SL_OK);
	free(result);
}

static void
test_redeem_completes_once(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq done = done_of("req-1"), got;
	struct store_person p, again;
	char *result = NULL;

	pending_with_result(fx, "req-1", "h1", "85073003328", sl_now() + 60);
	/* a new person: written (the durable run) */
	assert_int_equal(redeem_complete(fx->fx_store, "h1", person_of, &p, &done), SL_OK);
	assert_non_null(p.p_id);
	assert_string_equal(p.p_rrn, "85073003328");
	assert_int_equal(store_authreq_get(fx->fx_store, "req-1", &got), SL_OK);
	assert_string_equal(got.ar_status, "done");
	assert_string_equal(got.ar_person_id, p.p_id);
	assert_string_equal(got.ar_key, "eid");
	assert_string_equal(got.ar_acr, "http://eidas.europa.eu/LoA/high");
	assert_int_equal(got.ar_auth_time, 1700000000);
	store_authreq_clear(&got);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons WHERE rrn = '85073003328'"), 1);
	/* the result is spent */
	assert_int_equal(redeem_complete(fx->fx_store, "h1", person_of, &again, &done), SL_ENOTFOUND);
	assert_null(again.p_id);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-1", "h1", &result), SL_ENOTFOUND);

	/* a returning person, unchanged: the same record */
	done = done_of("req-2");
	pending_with_result(fx, "req-2", "h2", "85073003328", sl_now() + 60);
	assert_int_equal(redeem_complete(fx->fx_store, "h2", person_of, &again, &done), SL_OK);
	assert_string_equal(again.p_id, p.p_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	store_person_clear(&again);
	store_person_clear(&p);
}

static void
test_redeem_failures_change_nothing(void **state)
{
	struct fixture *fx = *state;
	struct store_authreq done = done_of("req-1"),
			     denied = { .ar_id = (char *)"req-4", .ar_status = (char *)"denied" };
	struct store_person p;
	char *result = NULL;

	/* a wrong hash, or none */
	pending_with_result(fx, "req-1", "h1", "85073003328", sl_now() + 60);
	assert_int_equal(redeem_complete(fx->fx_store, "h2", person_of, &p, &done), SL_ENOTFOUND);
	assert_int_equal(redeem_complete(fx->fx_store, NULL, person_of, &p, &done), SL_ENOTFOUND);
	assert_untouched(fx, "req-1", "h1");

	/* a result that is not a person */
	done = done_of("req-2");
	pending_with_result(fx, "req-2", "h1", "bad", sl_now() + 60);
	assert_int_equal(redeem_complete(fx->fx_store, "h1", person_of, &p, &done), SL_EINVAL);
	assert_null(p.p_id);
	assert_untouched(fx, "req-2", "h1");
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 0);

	/* late: not spent here; store_authreq_take_result spends it */
	done = done_of("req-3");
	pending_with_result(fx, "req-3", "h3", "85073003328", sl_now() - 1);
	assert_int_equal(redeem_complete(fx->fx_store, "h3", person_of, &p, &done), SL_EEXPIRED);
	assert_int_equal(store_authreq_take_result(fx->fx_store, "req-3", "h3", &result), SL_EEXPIRED);
	assert_null(result);

	/* a request answered meanwhile (another key, a denial) */
	done = done_of("req-4");
	pending_with_result(fx, "req-4", "h4", "85073003328", sl_now() + 60);
	assert_int_equal(store_authreq_complete(fx->fx_store, &denied), SL_OK);
	assert_int_equal(redeem_complete(fx->fx_store, "h4", person_of, &p, &done), SL_ENOTFOUND);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM auth_requests WHERE id = 'req-4'"
						" AND status = 'denied' AND result_hash = 'h4'"),
		1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_redeem_completes_once),
		T(test_redeem_failures_change_nothing),
	};
#undef T

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
