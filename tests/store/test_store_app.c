/*
 * test_store_app.c — the app key's records in the SQLite store (schema 3),
 * on a fresh database file per test: migration from a version 2 database,
 * the new client/code/token fields, enrolments and their finish (same and
 * other person, key uniqueness across enrolments and devices), accounts
 * and atomic failure counting, devices, requests for the phone (replay,
 * expiry, extend once, racing answers), CIBA, the SMS outbox, purging and
 * a person's login history.
 */
#define APP_TEST_PHONE 32
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

#include "fault_engine.h"

/* ---- record fixtures ---- */

static struct store_enrollment
enrollment_fixture(const char *id, const char *phone, const char *jkt, int64_t expires)
{
	struct store_enrollment e = {
		.en_id = (char *)id,
		.en_phone = (char *)phone,
		.en_jkt = (char *)jkt,
		.en_transport_jwk = (char *)"{\"kty\":\"EC\"}",
		.en_device_name = (char *)"Pixel 8",
		.en_lang = (char *)"nl",
		.en_terms = (char *)"2026-11",
		.en_status = (char *)"sms",
		.en_sms_hash = (char *)"aa11",
		.en_sms_sends = 1,
		.en_sms_expires = sl_now() + 600,
		.en_created = sl_now(),
		.en_expires = expires,
	};
	return e;
}

/* Put an enrolment and mark it proofed. */
static void
put_proofed(struct store *st, const char *id, const char *phone, const char *jkt)
{
	struct store_enrollment e = enrollment_fixture(id, phone, jkt, sl_now() + 1800);

	assert_int_equal(store_enrollment_put(st, &e), SL_OK);
	e.en_status = (char *)"proofed";
	e.en_proof_method = (char *)"bank:demo";
	e.en_person = (char *)"{\"given_name\":\"An\"}";
	assert_int_equal(store_enrollment_update(st, &e), SL_OK);
}

/* A device and person as the caller of store_enrollment_finish makes
 * them: owned strings. */
static void
device_in(struct store_device *d, const char *jkt)
{
	memset(d, 0, sizeof(*d));
	d->dv_name = strdup("Pixel 8");
	d->dv_jkt = strdup(jkt);
	d->dv_transport_jwk = strdup("{\"kty\":\"EC\"}");
	d->dv_confirm_key = strdup("c2VhbGVk");
}

static void
person_in(struct store_person *p, const char *rrn, const char *given)
{
	memset(p, 0, sizeof(*p));
	p->p_rrn = strdup(rrn);
	p->p_given_name = strdup(given);
	p->p_family_name = strdup("Peeters");
}

/* Enrol `phone` with key `jkt` for national number `rrn` to the end. */
static int
enrol(struct store *st, const char *en_id, const char *phone, const char *jkt, const char *rrn,
	struct store_account *acc, struct store_device *dev, struct sl_err *err)
{
	struct store_person p;
	int rc;

	put_proofed(st, en_id, phone, jkt);
	person_in(&p, rrn, "An");
	device_in(dev, jkt);
	rc = store_enrollment_finish(st, en_id, &p, dev, acc, err);
	store_person_clear(&p);
	return rc;
}

static struct store_apprq
apprq_fixture(const char *id, const char *account, int64_t expires)
{
	struct store_apprq r = {
		.aq_id = (char *)id,
		.aq_account_id = (char *)account,
		.aq_client_id = (char *)"rp-1",
		.aq_rp_name = (char *)"Mijn gezondheid",
		.aq_action = (char *)"login",
		.aq_display_text = (char *)"Aanmelden bij Mijn gezondheid",
		.aq_codes = (char *)"[\"4821\",\"0937\",\"6610\"]",
		.aq_code = (char *)"0937",
		.aq_nonce = (char *)"n-1",
		.aq_link_kind = (char *)"authreq",
		.aq_link_id = (char *)"ar-1",
		.aq_ip = (char *)"192.0.2.1",
		.aq_created = sl_now(),
		.aq_expires = expires,
	};
	return r;
}

/* ---- schema ---- */

static void
test_migrates_v2_database(void **state)
{
	struct fixture *fx = *state;
	struct store_client cl = { 0 };
	struct store_account acc = { 0 };
	struct store_device dev;
	struct sl_err err = { 0 };
	int version = -1;

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, schema_v4_undo), SQLITE_OK);
	assert_int_equal(raw_exec(fx->fx_path, schema_v3_undo), SQLITE_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE name = 'accounts'"), 0);
	/* A client written by version 2: no CIBA columns. */
	assert_int_equal(raw_exec(fx->fx_path,
				 "INSERT INTO clients (client_id, name, auth_method, redirect_uris, post_logout_uris,"
				 " id_token_alg, sector, require_par, created) VALUES ('old', 'Old RP',"
				 " 'private_key_jwt', '[]', '[]', 'ES256', 'old.example', 0, 1)"),
		SQLITE_OK);

	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(STORE_SCHEMA_VERSION, 20);
	assert_int_equal(store_client_get(fx->fx_store, "old", &cl), SL_OK);
	assert_string_equal(cl.cl_name, "Old RP");
	assert_null(cl.cl_ciba_mode);
	assert_null(cl.cl_ciba_endpoint);
	store_client_clear(&cl);
	/* The new tables work on the migrated file. */
	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &acc, &dev, &err), SL_OK);
	store_account_clear(&acc);
	store_device_clear(&dev);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 1);
}

/* ---- new fields on clients, codes, tokens ---- */

static int
find_ciba_client(const struct store_client *cl, void *arg)
{
	int *found = arg;

	if (strcmp(cl->cl_id, "ciba-rp") == 0 && cl->cl_ciba_mode != NULL && strcmp(cl->cl_ciba_mode, "ping") == 0 &&
		cl->cl_ciba_endpoint != NULL && strcmp(cl->cl_ciba_endpoint, "https://rp.example/cb") == 0)
		(*found)++;
	return SL_OK;
}

static void
test_client_code_token_new_fields(void **state)
{
	struct fixture *fx = *state;
	const char *ad = "[{\"type\":\"payment_initiation\",\"instructedAmount\":{\"currency\":\"EUR\","
			 "\"amount\":\"12.50\"}}]";
	struct store_client cl = {
		.cl_id = (char *)"ciba-rp",
		.cl_name = (char *)"Bank",
		.cl_auth_method = (char *)"private_key_jwt",
		.cl_redirect_uris = (char *)"[]",
		.cl_jwks = (char *)"{\"keys\":[]}",
		.cl_id_token_alg = (char *)"ES256",
		.cl_sector = (char *)"rp.example",
		.cl_ciba_mode = (char *)"ping",
		.cl_ciba_endpoint = (char *)"https://rp.example/cb",
		.cl_created = 5,
	};
	struct store_code co = {
		.co_hash = (char *)"co-1",
		.co_grant_id = (char *)"g-1",
		.co_client_id = (char *)"ciba-rp",
		.co_person_id = (char *)"p",
		.co_redirect_uri = (char *)"https://rp.example/cb",
		.co_scope = (char *)"openid",
		.co_challenge = (char *)"x",
		.co_authz_details = (char *)ad,
		.co_auth_time = 1,
		.co_expires = sl_now() + 60,
	};
	struct store_token t = {
		.t_hash = (char *)"t-1",
		.t_kind = (char *)"refresh",
		.t_grant_id = (char *)"g-1",
		.t_client_id = (char *)"ciba-rp",
		.t_person_id = (char *)"p",
		.t_scope = (char *)"openid",
		.t_authz_details = (char *)ad,
		.t_auth_time = 1,
		.t_expires = sl_now() + 60,
	};
	struct store_client got = { 0 };
	struct store_code cgot = { 0 };
	struct store_token tgot = { 0 };
	struct sl_err err = { 0 };
	int found = 0;

	assert_int_equal(store_client_add(fx->fx_store, &cl, &err), SL_OK);
	assert_int_equal(store_client_get(fx->fx_store, "ciba-rp", &got), SL_OK);
	assert_string_equal(got.cl_ciba_mode, "ping");
	assert_string_equal(got.cl_ciba_endpoint, "https://rp.example/cb");
	store_client_clear(&got);
	assert_int_equal(store_client_each(fx->fx_store, find_ciba_client, &found), SL_OK);
	assert_int_equal(found, 1);

	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	assert_int_equal(store_code_redeem(fx->fx_store, "co-1", "ciba-rp", &cgot), SL_OK);
	assert_string_equal(cgot.co_authz_details, ad);
	store_code_clear(&cgot);
	co.co_hash = (char *)"co-2";
	co.co_authz_details = NULL;
	assert_int_equal(store_code_put(fx->fx_store, &co), SL_OK);
	assert_int_equal(store_code_redeem(fx->fx_store, "co-2", "ciba-rp", &cgot), SL_OK);
	assert_null(cgot.co_authz_details);
	store_code_clear(&cgot);

	assert_int_equal(store_token_put(fx->fx_store, &t), SL_OK);
	assert_int_equal(store_token_get(fx->fx_store, "t-1", &tgot), SL_OK);
	assert_string_equal(tgot.t_authz_details, ad);
	store_token_clear(&tgot);
	/* A rotated refresh token keeps what the next record carries. */
	t.t_hash = (char *)"t-2";
	assert_int_equal(store_token_rotate(fx->fx_store, "t-1", &t), SL_OK);
	assert_int_equal(store_token_get(fx->fx_store, "t-2", &tgot), SL_OK);
	assert_string_equal(tgot.t_authz_details, ad);
	store_token_clear(&tgot);
}

/* ---- enrolments ---- */

static void
test_enrollment_put_get_update(void **state)
{
	struct fixture *fx = *state;
	int64_t exp = sl_now() + 1800;
	struct store_enrollment e = enrollment_fixture("en-1", "+32470123456", "jkt-a", exp), got;
	int attempts = -1;

	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_OK);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en-1", &got), SL_OK);
	assert_string_equal(got.en_phone, "+32470123456");
	assert_string_equal(got.en_jkt, "jkt-a");
	assert_string_equal(got.en_transport_jwk, "{\"kty\":\"EC\"}");
	assert_string_equal(got.en_device_name, "Pixel 8");
	assert_string_equal(got.en_lang, "nl");
	assert_string_equal(got.en_terms, "2026-11");
	assert_string_equal(got.en_status, "sms");
	assert_string_equal(got.en_sms_hash, "aa11");
	assert_int_equal(got.en_sms_sends, 1);
	assert_int_equal(got.en_sms_attempts, 0);
	assert_null(got.en_person);
	assert_int_equal(got.en_expires, exp);
	store_enrollment_clear(&got);

	/* Tries are charged, never written by an update (a stale copy would undo them). */
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-1", 3, &attempts), SL_OK);
	assert_int_equal(attempts, 1);
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-1", 3, &attempts), SL_OK);
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-1", 3, &attempts), SL_OK);
	assert_int_equal(attempts, 3);
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-1", 3, &attempts), SL_EDENIED);
	e.en_sms_attempts = 0;
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_OK);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en-1", &got), SL_OK);
	assert_int_equal(got.en_sms_attempts, 3);
	store_enrollment_clear(&got);

	e.en_status = (char *)"proofing";
	e.en_sms_hash = NULL;
	e.en_proof_state = (char *)"{\"state\":\"ab\"}";
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_OK);
	assert_int_equal(store_enrollment_by_jkt(fx->fx_store, "jkt-a", &got), SL_OK);
	assert_string_equal(got.en_id, "en-1");
	assert_string_equal(got.en_status, "proofing");
	assert_null(got.en_sms_hash);
	assert_int_equal(got.en_sms_attempts, 3);
	assert_string_equal(got.en_proof_state, "{\"state\":\"ab\"}");
	store_enrollment_clear(&got);

	/* Past "sms", and unknown: no tries. */
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-1", 9, &attempts), SL_EDENIED);
	assert_int_equal(store_enrollment_sms_charge(fx->fx_store, "en-nope", 9, &attempts), SL_EDENIED);

	assert_int_equal(store_enrollment_get(fx->fx_store, "en-nope", &got), SL_ENOTFOUND);
	assert_null(got.en_id);
	assert_int_equal(store_enrollment_by_jkt(fx->fx_store, "jkt-nope", &got), SL_ENOTFOUND);
	e.en_id = (char *)"en-nope";
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_ENOTFOUND);
	e.en_status = NULL;
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_EINVAL);
}

static void
test_enrollment_bad_input(void **state)
{
	struct fixture *fx = *state;
	struct store_enrollment e = enrollment_fixture("en-1", "+32470123456", NULL, sl_now() + 60);

	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_EINVAL);
	e.en_jkt = (char *)"jkt";
	e.en_phone = NULL;
	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM enrollments"), 0);
}

static void
test_enrollment_jkt_unique(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_enrollment live = enrollment_fixture("en-1", "+32470000001", "jkt-a", now + 1800);
	struct store_enrollment again = enrollment_fixture("en-2", "+32470000002", "jkt-a", now + 1800);
	struct store_enrollment old = enrollment_fixture("en-3", "+32470000003", "jkt-b", now - 1);
	struct store_enrollment reuse = enrollment_fixture("en-4", "+32470000004", "jkt-b", now + 1800);
	struct store_enrollment dup_id = enrollment_fixture("en-1", "+32470000005", "jkt-c", now + 1800);
	struct store_enrollment got;

	assert_int_equal(store_enrollment_put(fx->fx_store, &live), SL_OK);
	/* A live enrolment holds its key. */
	assert_int_equal(store_enrollment_put(fx->fx_store, &again), SL_ECONFLICT);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en-2", &got), SL_ENOTFOUND);
	/* An expired one does not: it is replaced. */
	assert_int_equal(store_enrollment_put(fx->fx_store, &old), SL_OK);
	assert_int_equal(store_enrollment_put(fx->fx_store, &reuse), SL_OK);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en-3", &got), SL_ENOTFOUND);
	assert_int_equal(store_enrollment_by_jkt(fx->fx_store, "jkt-b", &got), SL_OK);
	assert_string_equal(got.en_id, "en-4");
	store_enrollment_clear(&got);
	/* The same id twice. */
	assert_int_equal(store_enrollment_put(fx->fx_store, &dup_id), SL_ECONFLICT);
}

static void
test_enrollment_jkt_of_device_refused(void **state)
{
	struct fixture *fx = *state;
	struct store_account acc = { 0 };
	struct store_device dev;
	struct store_enrollment e = enrollment_fixture("en-2", "+32470000002", "jkt-a", sl_now() + 1800);
	struct sl_err err = { 0 };

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-a", "85073003328", &acc, &dev, &err), SL_OK);
	/* The enrolment that made the device expires and is purged; the
	 * device still holds the key, in every status. */
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE enrollments SET expires = 1"), SQLITE_OK);
	assert_true(store_purge_expired(fx->fx_store, sl_now()) >= 1);
	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_ECONFLICT);
	assert_int_equal(store_device_set_status(fx->fx_store, dev.dv_id, "removed"), SL_OK);
	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM enrollments"), 0);
	store_account_clear(&acc);
	store_device_clear(&dev);
}

static void
test_enrollment_finish_creates_account_and_device(void **state)
{
	struct fixture *fx = *state;
	struct store_enrollment e = enrollment_fixture("en-1", "+32470123456", "jkt-a", sl_now() + 1800), got;
	struct store_account acc = { 0 }, acc2 = { 0 };
	struct store_device dev, dgot;
	struct store_person p, pgot;
	struct sl_err err = { 0 };
	int64_t before = sl_now();

	/* Not proofed yet: refused, nothing written. */
	assert_int_equal(store_enrollment_put(fx->fx_store, &e), SL_OK);
	person_in(&p, "85073003328", "An");
	device_in(&dev, "jkt-a");
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-1", &p, &dev, &acc, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "not proofed"));
	assert_null(acc.ac_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 0);

	e.en_status = (char *)"proofed";
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_OK);
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-1", &p, &dev, &acc, &err), SL_OK);
	assert_non_null(p.p_id);
	assert_non_null(acc.ac_id);
	assert_int_equal(strlen(acc.ac_id), 22);
	assert_string_equal(acc.ac_person_id, p.p_id);
	assert_string_equal(acc.ac_phone, "+32470123456");
	assert_string_equal(acc.ac_status, "active");
	assert_int_equal(acc.ac_failures, 0);
	assert_int_equal(acc.ac_locked_until, 0);
	assert_true(acc.ac_created >= before);
	assert_string_equal(dev.dv_account_id, acc.ac_id);
	assert_string_equal(dev.dv_status, "active");
	assert_non_null(dev.dv_id);
	assert_true(dev.dv_created >= before);

	assert_int_equal(store_enrollment_get(fx->fx_store, "en-1", &got), SL_OK);
	assert_string_equal(got.en_status, "done");
	store_enrollment_clear(&got);
	assert_int_equal(store_person_get(fx->fx_store, p.p_id, &pgot), SL_OK);
	assert_string_equal(pgot.p_rrn, "85073003328");
	assert_string_equal(pgot.p_given_name, "An");
	store_person_clear(&pgot);
	assert_int_equal(store_account_by_phone(fx->fx_store, "+32470123456", &acc2), SL_OK);
	assert_string_equal(acc2.ac_id, acc.ac_id);
	store_account_clear(&acc2);
	assert_int_equal(store_device_by_jkt(fx->fx_store, "jkt-a", &dgot), SL_OK);
	assert_string_equal(dgot.dv_id, dev.dv_id);
	assert_string_equal(dgot.dv_account_id, acc.ac_id);
	assert_string_equal(dgot.dv_confirm_key, "c2VhbGVk");
	assert_string_equal(dgot.dv_transport_jwk, "{\"kty\":\"EC\"}");
	assert_string_equal(dgot.dv_name, "Pixel 8");
	assert_int_equal(dgot.dv_last_used, 0);
	store_device_clear(&dgot);

	/* Done is done: a second finish and a late update are refused. */
	store_account_clear(&acc);
	store_device_clear(&dev);
	device_in(&dev, "jkt-z");
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-1", &p, &dev, &acc, &err), SL_ECONFLICT);
	assert_int_equal(store_enrollment_update(fx->fx_store, &e), SL_ENOTFOUND);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 1);
	store_device_clear(&dev);
	store_person_clear(&p);
}

/* A finish whose COMMIT is refused (a serialization failure under
 * PostgreSQL) runs again from the caller's records: run 1 had made the
 * person (and set its id and creation time), the account and the device,
 * all rolled back; run 2 makes them again, once. */
static void
test_enrollment_finish_retried(void **state)
{
	struct fixture *fx = *state;
	struct store_account acc = { 0 }, agot;
	struct store_device dev, dgot;
	struct store_person p, pgot;
	struct sl_err err = { 0 };

	fault_install(fx->fx_store, 4);
	put_proofed(fx->fx_store, "en-r", "+32470123499", "jkt-r");
	person_in(&p, "85073003328", "An");
	device_in(&dev, "jkt-r");
	fault.fe_commits = 1;
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-r", &p, &dev, &acc, &err), SL_OK);
	assert_int_equal(fault.fe_fired, 1);
	assert_non_null(p.p_id);
	assert_int_equal(store_person_get(fx->fx_store, p.p_id, &pgot), SL_OK);
	assert_string_equal(pgot.p_rrn, "85073003328");
	store_person_clear(&pgot);
	assert_string_equal(acc.ac_person_id, p.p_id);
	assert_int_equal(store_account_get(fx->fx_store, acc.ac_id, &agot), SL_OK);
	assert_string_equal(agot.ac_phone, "+32470123499");
	store_account_clear(&agot);
	assert_int_equal(store_device_by_jkt(fx->fx_store, "jkt-r", &dgot), SL_OK);
	assert_string_equal(dgot.dv_id, dev.dv_id);
	assert_string_equal(dgot.dv_account_id, acc.ac_id);
	store_device_clear(&dgot);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 1);
	store_account_clear(&acc);
	store_device_clear(&dev);
	store_person_clear(&p);
	/* Refused every time: SL_EBUSY, no account for the caller, nothing
	 * written, the enrolment still proofed. */
	put_proofed(fx->fx_store, "en-b", "+32470123498", "jkt-b");
	person_in(&p, "90020199711", "Bo");
	device_in(&dev, "jkt-b");
	fault.fe_commits = TX_TRIES;
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-b", &p, &dev, &acc, &err), SL_EBUSY);
	assert_null(acc.ac_id);
	assert_null(p.p_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 1);
	assert_int_equal(
		raw_count(fx->fx_path, "SELECT count(*) FROM enrollments WHERE id = 'en-b' AND status = 'proofed'"), 1);
	store_device_clear(&dev);
	store_person_clear(&p);
}

struct phones_seen {
	char phone[4][APP_TEST_PHONE];
	int n;
};

static int
phone_seen(const struct store_account *a, void *arg)
{
	struct phones_seen *ps = arg;

	if (ps->n < 4)
		snprintf(ps->phone[ps->n++], APP_TEST_PHONE, "%s", a->ac_phone);
	return SL_OK;
}

static void
test_enrollment_finish_same_and_other_person(void **state)
{
	struct fixture *fx = *state;
	struct store_account a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	struct store_device d1, d2, d3;
	struct store_enrollment got;
	struct sl_err err = { 0 };

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a1, &d1, &err), SL_OK);
	/* The same person, the same number, a second phone: same account. */
	assert_int_equal(enrol(fx->fx_store, "en-2", "+32470000001", "jkt-2", "85073003328", &a2, &d2, &err), SL_OK);
	assert_string_equal(a2.ac_id, a1.ac_id);
	assert_string_equal(a2.ac_person_id, a1.ac_person_id);
	assert_string_equal(d2.dv_account_id, a1.ac_id);
	assert_string_not_equal(d2.dv_id, d1.dv_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);

	/* Another person with that number: refused, and nothing of it kept. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(
		enrol(fx->fx_store, "en-3", "+32470000001", "jkt-3", "90010112345", &a3, &d3, &err), SL_EDENIED);
	assert_string_equal(err.msg, "the number belongs to another person");
	assert_null(a3.ac_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(store_enrollment_get(fx->fx_store, "en-3", &got), SL_OK);
	assert_string_equal(got.en_status, "proofed");
	store_enrollment_clear(&got);
	store_device_clear(&d3);

	/* The same person with another number: a second account. */
	assert_int_equal(enrol(fx->fx_store, "en-4", "+32470000004", "jkt-4", "85073003328", &a3, &d3, &err), SL_OK);
	assert_string_not_equal(a3.ac_id, a1.ac_id);
	assert_string_equal(a3.ac_person_id, a1.ac_person_id);

	/* Both numbers are the person's; nobody else has any. */
	{
		struct phones_seen seen = { 0 };
		assert_int_equal(store_account_each_person(fx->fx_store, a1.ac_person_id, phone_seen, &seen), SL_OK);
		assert_int_equal(seen.n, 2);
		/* Same second: the order is by creation, then id. */
		assert_true(
			(strcmp(seen.phone[0], "+32470000001") == 0 && strcmp(seen.phone[1], "+32470000004") == 0) ||
			(strcmp(seen.phone[0], "+32470000004") == 0 && strcmp(seen.phone[1], "+32470000001") == 0));
		seen.n = 0;
		assert_int_equal(store_account_each_person(fx->fx_store, "nobody", phone_seen, &seen), SL_OK);
		assert_int_equal(seen.n, 0);
		assert_int_equal(store_account_each_person(fx->fx_store, NULL, phone_seen, &seen), SL_EINVAL);
	}

	store_account_clear(&a1);
	store_account_clear(&a2);
	store_account_clear(&a3);
	store_device_clear(&d1);
	store_device_clear(&d2);
	store_device_clear(&d3);
}

/* A recovery of `phone` by national number `rrn` with key `jkt` (a new
 * enrolment, proofed), ending `revoke` (NULL: the number's devices). */
static int
recover(struct store *st, const char *en_id, const char *phone, const char *jkt, const char *rrn,
	const char *const *revoke, size_t n, struct store_recovery *rec, struct store_account *acc,
	struct store_device *dev)
{
	struct store_person p;
	struct sl_err err = { 0 };
	int rc;

	put_proofed(st, en_id, phone, jkt);
	person_in(&p, rrn, "An");
	device_in(dev, jkt);
	memset(rec, 0, sizeof(*rec));
	rec->re_revoke = revoke;
	rec->re_nrevoke = n;
	rc = store_enrollment_recover_audit(st, en_id, &p, dev, acc, rec, NULL, &err);
	store_person_clear(&p);
	return rc;
}

static const char *
device_status(struct store *st, const char *id, char out[16])
{
	struct store_device d;

	out[0] = '\0';
	if (store_device_get(st, id, &d) == SL_OK)
		snprintf(out, 16, "%s", d.dv_status);
	store_device_clear(&d);
	return out;
}

static void
test_enrollment_recover(void **state)
{
	struct fixture *fx = *state;
	struct store *st = fx->fx_store;
	struct store_account a1 = { 0 }, a2 = { 0 }, ar = { 0 }, got = { 0 };
	struct store_device d1, d2, dr;
	struct store_recovery rec;
	struct sl_err err = { 0 };
	const char *nobody[] = { "no-such-device" }, *second[2];
	char st1[16];
	int failures = 0;

	assert_int_equal(enrol(st, "en-1", "+32470000001", "jkt-1", "85073003328", &a1, &d1, &err), SL_OK);
	assert_int_equal(enrol(st, "en-2", "+32470000002", "jkt-2", "85073003328", &a2, &d2, &err), SL_OK);
	assert_int_equal(store_account_failure(st, a1.ac_id, &failures), SL_OK);
	assert_int_equal(store_account_lock(st, a1.ac_id, STORE_LOCKED_FOREVER), SL_OK);

	/* Another person's card: refused, the account's person named, nothing kept. */
	assert_int_equal(
		recover(st, "en-3", "+32470000001", "jkt-3", "90010112345", NULL, 0, &rec, &ar, &dr), SL_EDENIED);
	assert_string_equal(rec.re_person_id, a1.ac_person_id);
	assert_int_equal(rec.re_nrevoked, 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 2);
	assert_string_equal(device_status(st, d1.dv_id, st1), "active");
	store_device_clear(&dr);
	/* A number without an account; a device that is nobody's: refused. */
	assert_int_equal(
		recover(st, "en-4", "+32470000009", "jkt-4", "85073003328", NULL, 0, &rec, &ar, &dr), SL_ENOTFOUND);
	store_device_clear(&dr);
	assert_int_equal(
		recover(st, "en-5", "+32470000001", "jkt-5", "85073003328", nobody, 1, &rec, &ar, &dr), SL_ENOTFOUND);
	store_device_clear(&dr);
	assert_string_equal(device_status(st, d1.dv_id, st1), "active");
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 2);

	/* The person's card: the same account, the number's device ended, the lock cleared. */
	assert_int_equal(recover(st, "en-6", "+32470000001", "jkt-6", "85073003328", NULL, 0, &rec, &ar, &dr), SL_OK);
	assert_string_equal(ar.ac_id, a1.ac_id);
	assert_string_equal(dr.dv_account_id, a1.ac_id);
	assert_int_equal(rec.re_nrevoked, 1);
	assert_string_equal(rec.re_revoked[0], d1.dv_id);
	assert_string_equal(rec.re_revoked_name[0], "Pixel 8");
	assert_string_equal(device_status(st, d1.dv_id, st1), "removed");
	assert_string_equal(device_status(st, d2.dv_id, st1), "active");
	assert_string_equal(device_status(st, dr.dv_id, st1), "active");
	assert_int_equal(store_account_get(st, a1.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, 0);
	assert_int_equal(got.ac_locked_until, 0);
	store_account_clear(&got);
	store_account_clear(&ar);

	/* Devices picked: exactly those (another number's too), the rest kept. */
	second[0] = second[1] = d2.dv_id; /* named twice: ended once */
	store_device_clear(&d1);
	assert_int_equal(recover(st, "en-7", "+32470000001", "jkt-7", "85073003328", second, 2, &rec, &ar, &d1), SL_OK);
	assert_int_equal(rec.re_nrevoked, 1);
	assert_string_equal(rec.re_revoked[0], d2.dv_id);
	assert_string_equal(device_status(st, d2.dv_id, st1), "removed");
	assert_string_equal(device_status(st, dr.dv_id, st1), "active");

	store_account_clear(&a1);
	store_account_clear(&a2);
	store_account_clear(&ar);
	store_device_clear(&d1);
	store_device_clear(&d2);
	store_device_clear(&dr);
}

static void
test_enrollment_finish_expired_missing_key_in_use(void **state)
{
	struct fixture *fx = *state;
	struct store_account acc = { 0 }, a1 = { 0 };
	struct store_device dev, d1;
	struct store_person p;
	struct sl_err err = { 0 };

	person_in(&p, "85073003328", "An");
	device_in(&dev, "jkt-x");
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-none", &p, &dev, &acc, &err), SL_ENOTFOUND);

	put_proofed(fx->fx_store, "en-1", "+32470000001", "jkt-x");
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE enrollments SET expires = 1 WHERE id = 'en-1'"), SQLITE_OK);
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-1", &p, &dev, &acc, &err), SL_EEXPIRED);
	store_device_clear(&dev);

	/* The key is a device by the time this enrolment finishes (the
	 * enrolment's own key was swapped): refused, rolled back. */
	assert_int_equal(enrol(fx->fx_store, "en-2", "+32470000002", "jkt-y", "90010112345", &a1, &d1, &err), SL_OK);
	put_proofed(fx->fx_store, "en-3", "+32470000003", "jkt-z");
	device_in(&dev, "jkt-y");
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-3", &p, &dev, &acc, &err), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM accounts"), 1);
	store_device_clear(&dev);

	/* A device without keys is refused before anything. */
	memset(&dev, 0, sizeof(dev));
	assert_int_equal(store_enrollment_finish(fx->fx_store, "en-3", &p, &dev, &acc, &err), SL_EINVAL);

	store_person_clear(&p);
	store_account_clear(&a1);
	store_device_clear(&d1);
}

/* ---- accounts ---- */

struct id_list {
	char il_id[8][40];
	int il_n;
};

/* Append "<a>", or "<a>:<b>" when `b` is given; a full list answers
 * SL_ETOOBIG, which also stops the store's walk. */
static int
id_list_add(struct id_list *l, const char *a, const char *b)
{
	if (l->il_n >= 8)
		return SL_ETOOBIG;
	if (b != NULL)
		snprintf(l->il_id[l->il_n++], sizeof(l->il_id[0]), "%s:%s", a, b);
	else
		snprintf(l->il_id[l->il_n++], sizeof(l->il_id[0]), "%s", a);
	return SL_OK;
}

static int
collect_account(const struct store_account *a, void *arg)
{
	return id_list_add(arg, a->ac_phone, NULL);
}

static int
stop_at_first(const struct store_account *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
	return SL_ECONFLICT;
}

/* The schedule charged before the check: locks at 3 and 6 for a while,
 * at 9 for good; a locked account takes no attempt; success resets. */
static void
test_account_attempt_schedule(void **state)
{
	static const struct store_lockout lo = { 3, 100, 6, 1000, 9 };
	struct fixture *fx = *state;
	struct store_account a = { 0 };
	struct store_device d;
	struct sl_err err = { 0 };
	int64_t now = 5000, until = -1;
	int failures = -1;

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a, &d, &err), SL_OK);
	for (int n = 1; n <= 9; n++) {
		assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
		assert_int_equal(failures, n);
		if (n == 3 || n == 6) {
			assert_int_equal(until, now + (n == 3 ? 100 : 1000));
			/* Locked now: refused, not counted. */
			assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now + 1, &lo, &failures, &until),
				SL_EDENIED);
			now = until; /* the lock has passed */
		} else if (n == 9) {
			assert_int_equal(until, STORE_LOCKED_FOREVER);
		} else {
			assert_true(until <= now);
		}
	}
	assert_int_equal(
		store_account_attempt(fx->fx_store, a.ac_id, now + 1000000, &lo, &failures, &until), SL_EDENIED);
	assert_int_equal(store_account_unlock(fx->fx_store, a.ac_id), SL_OK);
	assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
	assert_int_equal(failures, 1);
	assert_int_equal(store_account_success(fx->fx_store, a.ac_id), SL_OK);
	assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
	assert_int_equal(failures, 1);
	assert_int_equal(store_account_attempt(fx->fx_store, "no-such", now, &lo, &failures, &until), SL_EDENIED);
	store_account_clear(&a);
	store_device_clear(&d);
}

static void
test_account_status_failures_lock(void **state)
{
	struct fixture *fx = *state;
	struct store_account a1 = { 0 }, a2 = { 0 }, got;
	struct store_device d1, d2;
	struct sl_err err = { 0 };
	struct id_list list = { 0 };
	int failures = -1, calls = 0;

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a1, &d1, &err), SL_OK);
	assert_int_equal(enrol(fx->fx_store, "en-2", "+32470000002", "jkt-2", "90010112345", &a2, &d2, &err), SL_OK);

	assert_int_equal(store_account_each(fx->fx_store, collect_account, &list), SL_OK);
	assert_int_equal(list.il_n, 2);
	assert_int_equal(store_account_each(fx->fx_store, stop_at_first, &calls), SL_ECONFLICT);
	assert_int_equal(calls, 1);

	assert_int_equal(store_account_failure(fx->fx_store, a1.ac_id, &failures), SL_OK);
	assert_int_equal(failures, 1);
	assert_int_equal(store_account_failure(fx->fx_store, a1.ac_id, &failures), SL_OK);
	assert_int_equal(failures, 2);
	assert_int_equal(store_account_lock(fx->fx_store, a1.ac_id, 12345), SL_OK);
	assert_int_equal(store_account_get(fx->fx_store, a1.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, 2);
	assert_int_equal(got.ac_locked_until, 12345);
	store_account_clear(&got);
	/* The other account is untouched. */
	assert_int_equal(store_account_get(fx->fx_store, a2.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, 0);
	store_account_clear(&got);

	assert_int_equal(store_account_success(fx->fx_store, a1.ac_id), SL_OK);
	assert_int_equal(store_account_get(fx->fx_store, a1.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, 0);
	assert_int_equal(got.ac_locked_until, 0);
	store_account_clear(&got);

	assert_int_equal(store_account_lock(fx->fx_store, a1.ac_id, STORE_LOCKED_FOREVER), SL_OK);
	assert_int_equal(store_account_get(fx->fx_store, a1.ac_id, &got), SL_OK);
	assert_true(got.ac_locked_until == STORE_LOCKED_FOREVER);
	store_account_clear(&got);
	assert_int_equal(store_account_failure(fx->fx_store, a1.ac_id, &failures), SL_OK);
	assert_int_equal(store_account_unlock(fx->fx_store, a1.ac_id), SL_OK);
	assert_int_equal(store_account_get(fx->fx_store, a1.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, 0);
	assert_int_equal(got.ac_locked_until, 0);
	store_account_clear(&got);

	assert_int_equal(store_account_set_status(fx->fx_store, a1.ac_id, "blocked"), SL_OK);
	assert_int_equal(store_account_by_phone(fx->fx_store, "+32470000001", &got), SL_OK);
	assert_string_equal(got.ac_status, "blocked");
	store_account_clear(&got);
	assert_int_equal(store_account_set_status(fx->fx_store, a1.ac_id, "gone"), SL_EINVAL);
	assert_int_equal(store_account_set_status(fx->fx_store, a1.ac_id, NULL), SL_EINVAL);

	/* Unknown accounts. */
	assert_int_equal(store_account_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_null(got.ac_id);
	assert_int_equal(store_account_by_phone(fx->fx_store, "+32400000000", &got), SL_ENOTFOUND);
	assert_int_equal(store_account_failure(fx->fx_store, "nope", &failures), SL_ENOTFOUND);
	assert_int_equal(store_account_lock(fx->fx_store, "nope", 1), SL_ENOTFOUND);
	assert_int_equal(store_account_success(fx->fx_store, "nope"), SL_ENOTFOUND);
	assert_int_equal(store_account_unlock(fx->fx_store, "nope"), SL_ENOTFOUND);
	assert_int_equal(store_account_set_status(fx->fx_store, "nope", "active"), SL_ENOTFOUND);

	store_account_clear(&a1);
	store_account_clear(&a2);
	store_device_clear(&d1);
	store_device_clear(&d2);
}

#define FAIL_THREADS 4
#define FAIL_EACH 50

struct fail_job {
	struct store *fj_store;
	const char *fj_account;
	int fj_errors;
	int fj_max;
};

static void *
fail_worker(void *arg)
{
	struct fail_job *j = arg;

	for (int i = 0; i < FAIL_EACH; i++) {
		int n = -1;
		if (store_account_failure(j->fj_store, j->fj_account, &n) != SL_OK)
			j->fj_errors++;
		else if (n > j->fj_max)
			j->fj_max = n;
	}
	return NULL;
}

static void
test_account_failures_atomic(void **state)
{
	struct fixture *fx = *state;
	struct store_account acc = { 0 }, got;
	struct store_device dev;
	struct sl_err err = { 0 };
	struct fail_job jobs[FAIL_THREADS];
	pthread_t th[FAIL_THREADS];
	int top = 0;

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &acc, &dev, &err), SL_OK);
	for (int i = 0; i < FAIL_THREADS; i++) {
		jobs[i] = (struct fail_job){ fx->fx_store, acc.ac_id, 0, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, fail_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < FAIL_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].fj_errors, 0);
		if (jobs[i].fj_max > top)
			top = jobs[i].fj_max;
	}
	/* No increment lost, and the last one saw the total. */
	assert_int_equal(store_account_get(fx->fx_store, acc.ac_id, &got), SL_OK);
	assert_int_equal(got.ac_failures, FAIL_THREADS * FAIL_EACH);
	assert_int_equal(top, FAIL_THREADS * FAIL_EACH);
	store_account_clear(&got);
	store_account_clear(&acc);
	store_device_clear(&dev);
}

/* ---- devices ---- */

static int
collect_device(const struct store_device *d, void *arg)
{
	return id_list_add(arg, d->dv_jkt, d->dv_status);
}

static void
test_device_each_status_touch(void **state)
{
	struct fixture *fx = *state;
	struct store_account a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	struct store_device d1, d2, d3, got;
	struct sl_err err = { 0 };
	struct id_list list = { 0 };

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a1, &d1, &err), SL_OK);
	assert_int_equal(enrol(fx->fx_store, "en-2", "+32470000001", "jkt-2", "85073003328", &a2, &d2, &err), SL_OK);
	assert_int_equal(enrol(fx->fx_store, "en-3", "+32470000003", "jkt-3", "90010112345", &a3, &d3, &err), SL_OK);

	assert_int_equal(store_device_set_status(fx->fx_store, d1.dv_id, "blocked"), SL_OK);
	assert_int_equal(store_device_set_status(fx->fx_store, d1.dv_id, "lost"), SL_EINVAL);
	assert_int_equal(store_device_set_status(fx->fx_store, "nope", "removed"), SL_ENOTFOUND);
	assert_int_equal(store_device_each(fx->fx_store, a1.ac_id, collect_device, &list), SL_OK);
	assert_int_equal(list.il_n, 2);
	/* Both statuses listed; ordered by creation (ties by id). */
	assert_true((strcmp(list.il_id[0], "jkt-1:blocked") == 0 && strcmp(list.il_id[1], "jkt-2:active") == 0) ||
		    (strcmp(list.il_id[1], "jkt-1:blocked") == 0 && strcmp(list.il_id[0], "jkt-2:active") == 0));
	list.il_n = 0;
	assert_int_equal(store_device_each(fx->fx_store, "nope", collect_device, &list), SL_OK);
	assert_int_equal(list.il_n, 0);

	assert_int_equal(store_device_touch(fx->fx_store, d3.dv_id, 777), SL_OK);
	assert_int_equal(store_device_get(fx->fx_store, d3.dv_id, &got), SL_OK);
	assert_int_equal(got.dv_last_used, 777);
	assert_string_equal(got.dv_account_id, a3.ac_id);
	store_device_clear(&got);
	assert_int_equal(store_device_touch(fx->fx_store, "nope", 1), SL_ENOTFOUND);
	assert_int_equal(store_device_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_null(got.dv_id);
	assert_int_equal(store_device_by_jkt(fx->fx_store, "nope", &got), SL_ENOTFOUND);

	store_account_clear(&a1);
	store_account_clear(&a2);
	store_account_clear(&a3);
	store_device_clear(&d1);
	store_device_clear(&d2);
	store_device_clear(&d3);
}

/* ---- app requests ---- */

static int
collect_apprq(const struct store_apprq *r, void *arg)
{
	return id_list_add(arg, r->aq_id, NULL);
}

static void
test_apprq_put_get_pending(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_apprq r1 = apprq_fixture("rq-1", "acc-1", now + 180), got;
	struct store_apprq r2 = apprq_fixture("rq-2", "acc-1", now + 180);
	struct store_apprq old = apprq_fixture("rq-old", "acc-1", now - 1);
	struct store_apprq other = apprq_fixture("rq-other", "acc-2", now + 180);
	struct id_list list = { 0 };
	int n = -1;

	r1.aq_created = now - 2;
	r2.aq_created = now - 1;
	r2.aq_action = (char *)"payment";
	r2.aq_authz_details = (char *)"[{\"type\":\"payment_initiation\"}]";
	r2.aq_context = (char *)"{\"browser\":\"Firefox\",\"network\":\"192.0.2.x\",\"os\":\"Linux\"}";
	assert_int_equal(store_apprq_put(fx->fx_store, &r2), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &old), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &other), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &r1), SL_ECONFLICT);
	r1.aq_action = NULL;
	assert_int_equal(store_apprq_put(fx->fx_store, &r1), SL_EINVAL);

	assert_int_equal(store_apprq_get(fx->fx_store, "rq-2", &got), SL_OK);
	assert_string_equal(got.aq_account_id, "acc-1");
	assert_string_equal(got.aq_client_id, "rp-1");
	assert_string_equal(got.aq_rp_name, "Mijn gezondheid");
	assert_string_equal(got.aq_action, "payment");
	assert_string_equal(got.aq_display_text, "Aanmelden bij Mijn gezondheid");
	assert_string_equal(got.aq_authz_details, "[{\"type\":\"payment_initiation\"}]");
	assert_string_equal(got.aq_codes, "[\"4821\",\"0937\",\"6610\"]");
	assert_string_equal(got.aq_code, "0937");
	assert_string_equal(got.aq_nonce, "n-1");
	assert_string_equal(got.aq_link_kind, "authreq");
	assert_string_equal(got.aq_link_id, "ar-1");
	assert_string_equal(got.aq_ip, "192.0.2.1");
	assert_string_equal(got.aq_status, "pending");
	assert_null(got.aq_device_id);
	assert_string_equal(got.aq_context, "{\"browser\":\"Firefox\",\"network\":\"192.0.2.x\",\"os\":\"Linux\"}");
	assert_false(got.aq_extended);
	assert_int_equal(got.aq_created, now - 1);
	assert_int_equal(got.aq_expires, now + 180);
	store_apprq_clear(&got);
	assert_int_equal(store_apprq_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_null(got.aq_id);

	assert_int_equal(store_apprq_count_pending(fx->fx_store, "acc-1", now, &n), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_apprq_each_pending(fx->fx_store, "acc-1", now, collect_apprq, &list), SL_OK);
	assert_int_equal(list.il_n, 2);
	assert_string_equal(list.il_id[0], "rq-1"); /* oldest first */
	assert_string_equal(list.il_id[1], "rq-2");

	/* An answered one is no longer pending; at a later `now` none is. */
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "refused", NULL, now), SL_OK);
	assert_int_equal(store_apprq_count_pending(fx->fx_store, "acc-1", now, &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_apprq_count_pending(fx->fx_store, "acc-1", now + 180, &n), SL_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_apprq_count_pending(fx->fx_store, "acc-none", now, &n), SL_OK);
	assert_int_equal(n, 0);
}

static void
test_apprq_finish_replay_expiry(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_apprq r = apprq_fixture("rq-1", "acc-1", now + 180), got;

	assert_int_equal(store_apprq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "pending", "dev-1", now), SL_EINVAL);
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "bogus", "dev-1", now), SL_EINVAL);
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", NULL, "dev-1", now), SL_EINVAL);
	/* Past its expiry: too late, and it stays as it was. */
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "approved", "dev-1", now + 180), SL_EEXPIRED);
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "approved", "dev-1", now), SL_OK);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_string_equal(got.aq_status, "approved");
	assert_string_equal(got.aq_device_id, "dev-1");
	store_apprq_clear(&got);
	/* The same answer again, or another: a replay. */
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "approved", "dev-1", now), SL_ECONFLICT);
	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-1", "refused", "dev-2", now), SL_ECONFLICT);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_string_equal(got.aq_status, "approved");
	assert_string_equal(got.aq_device_id, "dev-1");
	store_apprq_clear(&got);
	assert_int_equal(store_apprq_finish(fx->fx_store, "nope", "approved", NULL, now), SL_ENOTFOUND);
}

/* A right code: the count reset, the outcome and the last use in one
 * transaction; the reset stands when the request was no longer pending. */
static void
test_apprq_approve(void **state)
{
	static const struct store_lockout lo = { 3, 100, 6, 1000, 9 };
	struct fixture *fx = *state;
	struct store_account a = { 0 }, ga;
	struct store_device d, gd;
	struct store_apprq got, r, old;
	struct sl_err err = { 0 };
	int64_t now = sl_now(), until = 0;
	int failures = 0;

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a, &d, &err), SL_OK);
	r = apprq_fixture("rq-1", a.ac_id, now + 180);
	old = apprq_fixture("rq-old", a.ac_id, now + 10);
	assert_int_equal(store_apprq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &old), SL_OK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
	assert_int_equal(failures, 2);

	assert_int_equal(store_apprq_approve(fx->fx_store, "rq-1", a.ac_id, d.dv_id, now), SL_OK);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_string_equal(got.aq_status, "approved");
	assert_string_equal(got.aq_device_id, d.dv_id);
	store_apprq_clear(&got);
	assert_int_equal(store_account_get(fx->fx_store, a.ac_id, &ga), SL_OK);
	assert_int_equal(ga.ac_failures, 0);
	store_account_clear(&ga);
	assert_int_equal(store_device_get(fx->fx_store, d.dv_id, &gd), SL_OK);
	assert_int_equal(gd.dv_last_used, now);
	store_device_clear(&gd);

	/* A replay: refused, the reset still commits, the outcome stays. */
	assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
	assert_int_equal(failures, 1);
	assert_int_equal(store_apprq_approve(fx->fx_store, "rq-1", a.ac_id, "dev-other", now + 1), SL_ECONFLICT);
	assert_int_equal(store_account_get(fx->fx_store, a.ac_id, &ga), SL_OK);
	assert_int_equal(ga.ac_failures, 0);
	store_account_clear(&ga);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_string_equal(got.aq_device_id, d.dv_id);
	store_apprq_clear(&got);
	assert_int_equal(store_device_get(fx->fx_store, d.dv_id, &gd), SL_OK);
	assert_int_equal(gd.dv_last_used, now); /* not touched by the refused one */
	store_device_clear(&gd);

	/* Expired: refused, still pending, count reset. */
	assert_int_equal(store_account_attempt(fx->fx_store, a.ac_id, now, &lo, &failures, &until), SL_OK);
	assert_int_equal(store_apprq_approve(fx->fx_store, "rq-old", a.ac_id, d.dv_id, now + 10), SL_EEXPIRED);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-old", &got), SL_OK);
	assert_string_equal(got.aq_status, "pending");
	store_apprq_clear(&got);
	assert_int_equal(store_account_get(fx->fx_store, a.ac_id, &ga), SL_OK);
	assert_int_equal(ga.ac_failures, 0);
	store_account_clear(&ga);

	assert_int_equal(store_apprq_approve(fx->fx_store, "nope", a.ac_id, d.dv_id, now), SL_ENOTFOUND);
	assert_int_equal(store_apprq_approve(fx->fx_store, NULL, a.ac_id, d.dv_id, now), SL_EINVAL);
	assert_int_equal(store_apprq_approve(fx->fx_store, "rq-1", NULL, d.dv_id, now), SL_EINVAL);
	assert_int_equal(store_apprq_approve(fx->fx_store, "rq-1", a.ac_id, NULL, now), SL_EINVAL);
	store_account_clear(&a);
	store_device_clear(&d);
}

/* A request made with its audit row in one commit, at the bound nothing;
 * a device and its account read together; a charge that spends a proof's
 * jti (a replay charges nothing); an answer recorded with its audit row,
 * once. */
static void
test_apprq_made_and_answered_with_audit(void **state)
{
	static const struct store_lockout lo = { 3, 100, 6, 1000, 9 };
	struct fixture *fx = *state;
	struct store_account a = { 0 }, ga;
	struct store_device d, gd;
	struct store_apprq r, r2, got;
	struct sl_err err = { 0 };
	int64_t now = sl_now(), until = 0, n = -1;
	int failures = 0;
	const struct store_audit made = { .au_event = "app.request", .au_result = "ok", .au_detail = "rq-a" };
	const struct store_audit ok = { .au_event = "login", .au_result = "ok", .au_key = "app" };
	const struct store_jti jti = { "dev:jkt-1", "jti-0123456789abcdef", now + 61 };
	struct store_apprq_answer an = {
		.aa_id = "rq-a", .aa_status = "approved", .aa_touch = true, .aa_now = now, .aa_audit = &ok
	};

	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &a, &d, &err), SL_OK);
	assert_int_equal(store_device_account_by_jkt(fx->fx_store, "jkt-1", &gd, &ga), SL_OK);
	assert_string_equal(gd.dv_id, d.dv_id);
	assert_string_equal(ga.ac_id, a.ac_id);
	assert_string_equal(ga.ac_phone, "+32470000001");
	store_device_clear(&gd);
	store_account_clear(&ga);
	assert_int_equal(store_device_account_by_jkt(fx->fx_store, "jkt-none", &gd, &ga), SL_ENOTFOUND);
	assert_null(gd.dv_id);
	assert_null(ga.ac_id);

	r = apprq_fixture("rq-a", a.ac_id, now + 180);
	r2 = apprq_fixture("rq-b", a.ac_id, now + 180);
	assert_int_equal(store_apprq_put_audited(fx->fx_store, &r, 1, &made), SL_OK);
	assert_int_equal(store_apprq_put_audited(fx->fx_store, &r2, 1, &made), SL_EBUSY);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-b", &got), SL_ENOTFOUND);
	assert_int_equal(store_audit_count(fx->fx_store, "app.request", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_apprq_put_audited(fx->fx_store, &r2, 0, &made), SL_EINVAL);

	assert_int_equal(store_account_attempt_jti(fx->fx_store, a.ac_id, now, &lo, &jti, &failures, &until), SL_OK);
	assert_int_equal(failures, 1);
	assert_int_equal(
		store_account_attempt_jti(fx->fx_store, a.ac_id, now, &lo, &jti, &failures, &until), SL_ECONFLICT);
	assert_int_equal(store_account_get(fx->fx_store, a.ac_id, &ga), SL_OK);
	assert_int_equal(ga.ac_failures, 1);
	store_account_clear(&ga);

	an.aa_account_id = a.ac_id;
	an.aa_device_id = d.dv_id;
	assert_int_equal(store_apprq_answer(fx->fx_store, &an), SL_OK);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-a", &got), SL_OK);
	assert_string_equal(got.aq_status, "approved");
	store_apprq_clear(&got);
	assert_int_equal(store_account_get(fx->fx_store, a.ac_id, &ga), SL_OK);
	assert_int_equal(ga.ac_failures, 0);
	store_account_clear(&ga);
	assert_int_equal(store_device_get(fx->fx_store, d.dv_id, &gd), SL_OK);
	assert_int_equal(gd.dv_last_used, now);
	store_device_clear(&gd);
	/* Answered already: nothing more, the audit row neither. */
	assert_int_equal(store_apprq_answer(fx->fx_store, &an), SL_ECONFLICT);
	assert_int_equal(store_audit_count(fx->fx_store, "login", "ok", &n), SL_OK);
	assert_int_equal(n, 1);
	/* Only an approval resets a count. */
	an.aa_status = "refused";
	assert_int_equal(store_apprq_answer(fx->fx_store, &an), SL_EINVAL);
	store_account_clear(&a);
	store_device_clear(&d);
}

#define RACE_THREADS 8

struct race_job {
	struct store *rj_store;
	int rj_thread;
	int rj_rc;
};

static void *
race_worker(void *arg)
{
	struct race_job *j = arg;
	char dev[16];

	snprintf(dev, sizeof(dev), "dev-%d", j->rj_thread);
	j->rj_rc = store_apprq_finish(j->rj_store, "rq-race", "approved", dev, sl_now());
	return NULL;
}

#define PUT_THREADS 8

struct put_job {
	struct store *pj_store;
	char pj_id[32];
	const char *pj_account;
	int pj_rc;
};

static void *
put_worker(void *arg)
{
	struct put_job *j = arg;
	struct store_apprq r = apprq_fixture(j->pj_id, j->pj_account, sl_now() + 180);

	j->pj_rc = store_apprq_put_bounded(j->pj_store, &r, 2);
	return NULL;
}

/* Eight requests for one account at once, bound 2: exactly two stored,
 * the others SL_EBUSY (a count read before the insert let all eight
 * through), five rounds. */
static void
test_apprq_put_bounded_race(void **state)
{
	struct fixture *fx = *state;
	struct put_job jobs[PUT_THREADS];
	pthread_t th[PUT_THREADS];
	char account[32];
	int stored, n;

	for (int round = 0; round < 5; round++) {
		snprintf(account, sizeof(account), "acct-put-%d", round);
		for (int i = 0; i < PUT_THREADS; i++) {
			jobs[i] = (struct put_job){ .pj_store = fx->fx_store, .pj_account = account };
			snprintf(jobs[i].pj_id, sizeof(jobs[i].pj_id), "put-%d-%d", round, i);
			assert_int_equal(pthread_create(&th[i], NULL, put_worker, &jobs[i]), 0);
		}
		/* Every worker joined before any assertion: a failed one jumps
		 * out of this frame, which holds the workers' jobs. */
		for (int i = 0; i < PUT_THREADS; i++)
			pthread_join(th[i], NULL);
		stored = 0;
		for (int i = 0; i < PUT_THREADS; i++) {
			if (jobs[i].pj_rc == SL_OK)
				stored++;
			else
				assert_int_equal(jobs[i].pj_rc, SL_EBUSY);
		}
		assert_int_equal(stored, 2);
		assert_int_equal(store_apprq_count_pending(fx->fx_store, account, sl_now(), &n), SL_OK);
		assert_int_equal(n, 2);
	}
}

static void
test_apprq_finish_race_one_winner(void **state)
{
	struct fixture *fx = *state;
	struct store_apprq r = apprq_fixture("rq-race", "acc-1", sl_now() + 180);
	struct race_job jobs[RACE_THREADS];
	pthread_t th[RACE_THREADS];
	int ok = 0, conflict = 0;

	assert_int_equal(store_apprq_put(fx->fx_store, &r), SL_OK);
	for (int i = 0; i < RACE_THREADS; i++) {
		jobs[i] = (struct race_job){ fx->fx_store, i, 1 };
		assert_int_equal(pthread_create(&th[i], NULL, race_worker, &jobs[i]), 0);
	}
	for (int i = 0; i < RACE_THREADS; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rj_rc == SL_OK)
			ok++;
		else if (jobs[i].rj_rc == SL_ECONFLICT)
			conflict++;
	}
	assert_int_equal(ok, 1);
	assert_int_equal(conflict, RACE_THREADS - 1);
}

static void
test_apprq_extend_once(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_apprq r = apprq_fixture("rq-1", "acc-1", now + 60), got;
	struct store_apprq done = apprq_fixture("rq-2", "acc-1", now + 60);
	struct store_apprq late = apprq_fixture("rq-3", "acc-1", now - 1);

	assert_int_equal(store_apprq_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &done), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &late), SL_OK);

	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 180, now + 10000, 1), SL_OK);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_true(got.aq_extended);
	assert_int_equal(got.aq_expires, now + 240);
	store_apprq_clear(&got);
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 360, now + 10000, 1), SL_ECONFLICT);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_int_equal(got.aq_expires, now + 240);
	store_apprq_clear(&got);
	/* A bound of 3: twice more, then no more. */
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 60, now + 10000, 3), SL_OK);
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 60, now + 330, 3), SL_OK);
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 60, now + 10000, 3), SL_ECONFLICT);
	assert_int_equal(store_apprq_get(fx->fx_store, "rq-1", &got), SL_OK);
	assert_int_equal(got.aq_extended, 3);
	assert_int_equal(got.aq_expires, now + 330); /* the cap */
	store_apprq_clear(&got);
	/* At the cap: no room, whatever the count allows. */
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-1", 60, now + 330, 5), SL_ECONFLICT);

	assert_int_equal(store_apprq_finish(fx->fx_store, "rq-2", "refused", NULL, now), SL_OK);
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-2", 60, now + 10000, 1), SL_ECONFLICT);
	assert_int_equal(store_apprq_extend(fx->fx_store, "rq-3", 60, now + 10000, 1), SL_EEXPIRED);
	assert_int_equal(store_apprq_extend(fx->fx_store, "nope", 60, now + 10000, 1), SL_ENOTFOUND);
}

/* ---- CIBA ---- */

/* The answer to a CIBA token request: its access token `hash`. */
static int
ciba_issue(struct store *st, const char *id, const char *hash)
{
	const struct store_audit au = { .au_event = "token", .au_person_id = "p-1", .au_client_id = "bank" };
	const struct store_token at = { .t_hash = (char *)hash,
		.t_kind = (char *)"access",
		.t_grant_id = (char *)"grant-ciba",
		.t_client_id = (char *)"bank",
		.t_person_id = (char *)"p-1",
		.t_scope = (char *)"openid",
		.t_expires = sl_now() + 600 };

	return store_ciba_issue(st, id, &au, NULL, &at);
}

static void
test_ciba_lifecycle(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_ciba cb = {
		.cb_id = (char *)"auth-req-1",
		.cb_client_id = (char *)"bank",
		.cb_apprq_id = (char *)"rq-1",
		.cb_scope = (char *)"openid",
		.cb_acr = (char *)"high",
		.cb_binding_message = (char *)"W4K2",
		.cb_notification_token = (char *)"ntok",
		.cb_authz_details = (char *)"[]",
		.cb_interval = 5,
		.cb_expires = now + 300,
	};
	struct store_ciba got;
	struct store_token tok;
	bool too_soon = true;

	assert_int_equal(store_ciba_put(fx->fx_store, &cb), SL_OK);
	assert_int_equal(store_ciba_put(fx->fx_store, &cb), SL_ECONFLICT);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-1", &got), SL_OK);
	assert_string_equal(got.cb_client_id, "bank");
	assert_string_equal(got.cb_apprq_id, "rq-1");
	assert_string_equal(got.cb_scope, "openid");
	assert_string_equal(got.cb_acr, "high");
	assert_string_equal(got.cb_binding_message, "W4K2");
	assert_string_equal(got.cb_notification_token, "ntok");
	assert_string_equal(got.cb_authz_details, "[]");
	assert_string_equal(got.cb_status, "pending");
	assert_null(got.cb_person_id);
	assert_int_equal(got.cb_last_poll, 0);
	assert_int_equal(got.cb_interval, 5);
	assert_int_equal(got.cb_expires, now + 300);
	store_ciba_clear(&got);

	/* Polls: the first is never too soon; then within the interval is. */
	assert_int_equal(store_ciba_poll(fx->fx_store, "auth-req-1", 1000, &too_soon), SL_OK);
	assert_false(too_soon);
	assert_int_equal(store_ciba_poll(fx->fx_store, "auth-req-1", 1004, &too_soon), SL_OK);
	assert_true(too_soon);
	/* An early poll counts: 1008 is within 5 s of 1004. */
	assert_int_equal(store_ciba_poll(fx->fx_store, "auth-req-1", 1008, &too_soon), SL_OK);
	assert_true(too_soon);
	assert_int_equal(store_ciba_poll(fx->fx_store, "auth-req-1", 1013, &too_soon), SL_OK);
	assert_false(too_soon);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-1", &got), SL_OK);
	assert_int_equal(got.cb_last_poll, 1013);
	store_ciba_clear(&got);
	assert_int_equal(store_ciba_poll(fx->fx_store, "nope", 1000, &too_soon), SL_ENOTFOUND);

	/* Not approved yet: nothing to redeem. */
	assert_int_equal(ciba_issue(fx->fx_store, "auth-req-1", "at-0"), SL_ECONFLICT);
	assert_int_equal(store_token_get(fx->fx_store, "at-0", &tok), SL_ENOTFOUND);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "auth-req-1", "approved", NULL, now), SL_EINVAL);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "auth-req-1", "redeemed", "p-1", now), SL_EINVAL);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "auth-req-1", "approved", "p-1", now), SL_OK);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "auth-req-1", "denied", NULL, now), SL_ECONFLICT);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-1", &got), SL_OK);
	assert_string_equal(got.cb_status, "approved");
	assert_string_equal(got.cb_person_id, "p-1");
	assert_int_equal(got.cb_auth_time, now);
	store_ciba_clear(&got);

	/* Redeemed once, with its token; not again. */
	assert_int_equal(ciba_issue(fx->fx_store, "auth-req-1", "at-1"), SL_OK);
	assert_int_equal(store_token_get(fx->fx_store, "at-1", &tok), SL_OK);
	assert_string_equal(tok.t_grant_id, "grant-ciba");
	store_token_clear(&tok);
	assert_int_equal(store_ciba_get(fx->fx_store, "auth-req-1", &got), SL_OK);
	assert_string_equal(got.cb_status, "redeemed");
	store_ciba_clear(&got);
	assert_int_equal(ciba_issue(fx->fx_store, "auth-req-1", "at-2"), SL_ECONFLICT);
	assert_int_equal(store_token_get(fx->fx_store, "at-2", &tok), SL_ENOTFOUND);
	assert_int_equal(ciba_issue(fx->fx_store, "nope", "at-3"), SL_ENOTFOUND);
	assert_int_equal(store_ciba_set_status(fx->fx_store, "nope", "denied", NULL, now), SL_ENOTFOUND);
	assert_int_equal(store_ciba_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_null(got.cb_id);
	cb.cb_id = NULL;
	assert_int_equal(store_ciba_put(fx->fx_store, &cb), SL_EINVAL);
}

/* ---- SMS outbox ---- */

struct sms_list {
	int64_t sl_seq[8];
	char sl_phone[8][20];
	char sl_text[8][64];
	int sl_n;
};

static int
collect_sms(const struct store_sms *m, void *arg)
{
	struct sms_list *l = arg;

	if (l->sl_n >= 8)
		return SL_ETOOBIG;
	l->sl_seq[l->sl_n] = m->sm_seq;
	snprintf(l->sl_phone[l->sl_n], sizeof(l->sl_phone[0]), "%s", m->sm_phone);
	snprintf(l->sl_text[l->sl_n], sizeof(l->sl_text[0]), "%s", m->sm_text);
	l->sl_n++;
	return SL_OK;
}

static void
test_sms_outbox_order(void **state)
{
	struct fixture *fx = *state;
	struct sms_list all = { 0 }, rest = { 0 }, two = { 0 };
	char text[64];

	for (int i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "Je sleutel activatiecode is 1000%d", i);
		assert_int_equal(store_sms_put(fx->fx_store, i % 2 ? "+32470000002" : "+32470000001", text), SL_OK);
	}
	assert_int_equal(store_sms_put(fx->fx_store, NULL, "x"), SL_EINVAL);
	assert_int_equal(store_sms_put(fx->fx_store, "+32470000001", NULL), SL_EINVAL);

	assert_int_equal(store_sms_each(fx->fx_store, 0, 100, collect_sms, &all), SL_OK);
	assert_int_equal(all.sl_n, 5);
	for (int i = 1; i < all.sl_n; i++)
		assert_true(all.sl_seq[i] > all.sl_seq[i - 1]);
	assert_string_equal(all.sl_text[0], "Je sleutel activatiecode is 10000");
	assert_string_equal(all.sl_phone[1], "+32470000002");
	assert_string_equal(all.sl_text[4], "Je sleutel activatiecode is 10004");

	assert_int_equal(store_sms_each(fx->fx_store, all.sl_seq[2], 100, collect_sms, &rest), SL_OK);
	assert_int_equal(rest.sl_n, 2);
	assert_int_equal(rest.sl_seq[0], all.sl_seq[3]);
	assert_int_equal(store_sms_each(fx->fx_store, 0, 2, collect_sms, &two), SL_OK);
	assert_int_equal(two.sl_n, 2);
	assert_int_equal(two.sl_seq[1], all.sl_seq[1]);
	assert_int_equal(store_sms_each(fx->fx_store, 0, 0, collect_sms, &two), SL_EINVAL);
	assert_int_equal(store_sms_each(fx->fx_store, 0, -1, collect_sms, &two), SL_EINVAL);
}

/* ---- purge ---- */

static void
test_purge_app_rows(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_account acc = { 0 };
	struct store_device dev;
	struct sl_err err = { 0 };
	struct store_enrollment e_old = enrollment_fixture("en-old", "+32470000009", "jkt-o", now - 1);
	struct store_enrollment e_new = enrollment_fixture("en-new", "+32470000008", "jkt-n", now + 600);
	struct store_apprq q_gone = apprq_fixture("rq-gone", "acc", now - 3601);
	struct store_apprq q_recent = apprq_fixture("rq-recent", "acc", now - 60);
	struct store_apprq q_live = apprq_fixture("rq-live", "acc", now + 60);
	struct store_ciba c_old = { .cb_id = (char *)"cb-old", .cb_client_id = (char *)"c", .cb_expires = now - 1 };
	struct store_ciba c_new = { .cb_id = (char *)"cb-new", .cb_client_id = (char *)"c", .cb_expires = now + 60 };
	char sql[128];

	/* The enrolment that made the device is long done and expired. */
	assert_int_equal(enrol(fx->fx_store, "en-1", "+32470000001", "jkt-1", "85073003328", &acc, &dev, &err), SL_OK);
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE enrollments SET expires = 1 WHERE id = 'en-1'"), SQLITE_OK);
	assert_int_equal(store_enrollment_put(fx->fx_store, &e_old), SL_OK);
	assert_int_equal(store_enrollment_put(fx->fx_store, &e_new), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &q_gone), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &q_recent), SL_OK);
	assert_int_equal(store_apprq_put(fx->fx_store, &q_live), SL_OK);
	assert_int_equal(store_ciba_put(fx->fx_store, &c_old), SL_OK);
	assert_int_equal(store_ciba_put(fx->fx_store, &c_new), SL_OK);
	assert_int_equal(store_sms_put(fx->fx_store, "+32470000001", "new"), SL_OK);
	assert_int_equal(store_sms_put(fx->fx_store, "+32470000001", "old"), SL_OK);
	/* An hour and a second old: gone (it held a code in clear). */
	assert_int_equal(
		raw_exec(fx->fx_path, "UPDATE sms_outbox SET created = created - 3601 WHERE text = 'old'"), SQLITE_OK);
	/* The new one made at `now` exactly, even when the clock ticked since
	 * (else the purge an hour later may miss it by a second). */
	snprintf(sql, sizeof(sql), "UPDATE sms_outbox SET created = %lld WHERE text = 'new'", (long long)now);
	assert_int_equal(raw_exec(fx->fx_path, sql), SQLITE_OK);

	/* en-1, en-old, rq-gone, cb-old, the old message. */
	assert_int_equal(store_purge_expired(fx->fx_store, now), 5);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM enrollments WHERE id = 'en-new'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM enrollments"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests WHERE id = 'rq-gone'"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM ciba_requests WHERE id = 'cb-new'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM ciba_requests"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sms_outbox WHERE text = 'new'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sms_outbox"), 1);
	/* Durable records stay. */
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM devices"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* The request an hour past expiry goes an hour later. */
	/* rq-recent, en-new, cb-new, and the "new" message, now an hour old. */
	assert_int_equal(store_purge_expired(fx->fx_store, now + 3600), 4);
	assert_int_equal(store_purge_expired(fx->fx_store, now + 3600), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM app_requests WHERE id = 'rq-live'"), 1);
	store_account_clear(&acc);
	store_device_clear(&dev);
}

/* ---- login history ---- */

struct hist {
	char h_detail[8][16];
	char h_result[8][16];
	int h_n;
};

static int
collect_hist(const struct store_audit_entry *r, void *arg)
{
	struct hist *h = arg;

	if (h->h_n >= 8)
		return SL_ETOOBIG;
	assert_string_equal(r->ae_event, "login");
	assert_true(r->ae_time > 0);
	snprintf(h->h_detail[h->h_n], sizeof(h->h_detail[0]), "%s", r->ae_detail ? r->ae_detail : "");
	snprintf(h->h_result[h->h_n], sizeof(h->h_result[0]), "%s", r->ae_result);
	h->h_n++;
	return SL_OK;
}

static void
test_audit_each_person(void **state)
{
	struct fixture *fx = *state;
	struct store_audit a = { .au_event = "login", .au_person_id = "p-1", .au_client_id = "rp", .au_key = "app" };
	struct hist h = { 0 };
	char detail[16];

	for (int i = 0; i < 5; i++) {
		snprintf(detail, sizeof(detail), "n%d", i);
		a.au_detail = detail;
		a.au_result = i == 3 ? "refused" : "ok";
		assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	}
	a.au_event = "token"; /* not a login */
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);
	a.au_event = "login";
	a.au_person_id = "p-2";
	a.au_detail = "other";
	assert_int_equal(store_audit_add(fx->fx_store, &a), SL_OK);

	assert_int_equal(store_audit_each_person(fx->fx_store, "p-1", 3, collect_hist, &h), SL_OK);
	assert_int_equal(h.h_n, 3);
	assert_string_equal(h.h_detail[0], "n4"); /* newest first */
	assert_string_equal(h.h_detail[1], "n3");
	assert_string_equal(h.h_result[1], "refused");
	assert_string_equal(h.h_detail[2], "n2");
	h.h_n = 0;
	assert_int_equal(store_audit_each_person(fx->fx_store, "p-1", 100, collect_hist, &h), SL_OK);
	assert_int_equal(h.h_n, 5);
	h.h_n = 0;
	assert_int_equal(store_audit_each_person(fx->fx_store, "p-none", 10, collect_hist, &h), SL_OK);
	assert_int_equal(h.h_n, 0);
	assert_int_equal(store_audit_each_person(fx->fx_store, "p-1", 0, collect_hist, &h), SL_EINVAL);
	assert_int_equal(store_audit_each_person(fx->fx_store, NULL, 10, collect_hist, &h), SL_EINVAL);
}

/* ---- clear ---- */

static void
test_clear_null_safe(void **state)
{
	struct store_account a = { 0 };
	struct store_device d = { 0 };
	struct store_enrollment e = { 0 };
	struct store_apprq r = { 0 };
	struct store_ciba c = { 0 };

	(void)state;
	store_account_clear(NULL);
	store_device_clear(NULL);
	store_enrollment_clear(NULL);
	store_apprq_clear(NULL);
	store_ciba_clear(NULL);
	/* Twice on the same record: the first zeroes it. */
	a.ac_id = strdup("x");
	store_account_clear(&a);
	store_account_clear(&a);
	assert_null(a.ac_id);
	d.dv_jkt = strdup("x");
	store_device_clear(&d);
	store_device_clear(&d);
	e.en_person = strdup("x");
	store_enrollment_clear(&e);
	store_enrollment_clear(&e);
	r.aq_codes = strdup("x");
	store_apprq_clear(&r);
	store_apprq_clear(&r);
	c.cb_person_id = strdup("x");
	store_ciba_clear(&c);
	store_ciba_clear(&c);
	assert_null(c.cb_person_id);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_migrates_v2_database),
		T(test_client_code_token_new_fields),
		T(test_enrollment_put_get_update),
		T(test_enrollment_bad_input),
		T(test_enrollment_jkt_unique),
		T(test_enrollment_jkt_of_device_refused),
		T(test_enrollment_finish_creates_account_and_device),
		T(test_enrollment_finish_retried),
		T(test_enrollment_finish_same_and_other_person),
		T(test_enrollment_finish_expired_missing_key_in_use),
		T(test_enrollment_recover),
		T(test_account_status_failures_lock),
		T(test_account_attempt_schedule),
		T(test_account_failures_atomic),
		T(test_device_each_status_touch),
		T(test_apprq_put_get_pending),
		T(test_apprq_finish_replay_expiry),
		T(test_apprq_finish_race_one_winner),
		T(test_apprq_put_bounded_race),
		T(test_apprq_approve),
		T(test_apprq_made_and_answered_with_audit),
		T(test_apprq_extend_once),
		T(test_ciba_lifecycle),
		T(test_sms_outbox_order),
		T(test_purge_app_rows),
		T(test_audit_each_person),
		cmocka_unit_test(test_clear_null_safe),
	};

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
