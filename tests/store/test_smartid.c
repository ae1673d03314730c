/*
 * test_smartid.c — the Smart-ID records in the SQLite store (schema 8), on
 * a fresh database file per test: migration from a version 7 database;
 * registrations (key and code uniqueness across live registrations and
 * devices, expiry, confirm once, the code lookup, recall tries charged
 * before the keys are tested and never past the limit, also when racing,
 * given back, the keys' compare-and-swap, failing); the finish that makes
 * person, account, device and keys in one transaction (and reuses the
 * account for a second device, refusing a blocked account or one at
 * max_devices inside that transaction, also for racing finishes); devices
 * (ending one fails its pending requests); the split keys' lockout
 * schedule, also under concurrent tries, the compare-and-swap advance and
 * the operator's unlock; signing requests; portal visits and their bounded
 * code tries; purging; a code's wrong tries capped over its life (also
 * when racing) and more time for a code and a visit (racing presses count
 * once).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "fault_engine.h"

#define RRN_AN "85073003328"
#define RRN_BO "90020199711"
#define H3 (INT64_C(3) * 3600)
#define H24 (INT64_C(24) * 3600)

/* DESIGN §4: 3 wrong PINs -> 3 h, 6 -> 24 h, 9 -> for good. */
static const struct store_lockout sid_lockout = { 3, H3, 6, H24, 9 };

/* ---- record fixtures ---- */

static struct store_sid_registration
reg_fixture(const char *id, const char *jkt, const char *code_hash, int64_t expires)
{
	struct store_sid_registration r = {
		.sr_id = (char *)id,
		.sr_jkt = (char *)jkt,
		.sr_transport_jwk = (char *)"{\"kty\":\"EC\"}",
		.sr_device_name = (char *)"Pixel 8",
		.sr_lang = (char *)"nl",
		.sr_terms = (char *)"2026-12",
		.sr_country = (char *)"BE",
		.sr_method = (char *)"eid",
		.sr_code_hash = (char *)code_hash,
		.sr_auth_share = (char *)"share-auth",
		.sr_sign_share = (char *)"share-sign",
		.sr_auth_sealed = (char *)"sealed-auth-1", /* ignored by put: made at the confirmation */
		.sr_auth_version = 1,
		.sr_sign_sealed = (char *)"sealed-sign-1",
		.sr_sign_version = 1,
		.sr_created = sl_now(),
		.sr_expires = expires,
	};
	return r;
}

/* The portal's confirmation of a registration. */
static int
confirm(struct store *st, const char *id, const char *email, int64_t now)
{
	struct store_sid_registration r = {
		.sr_id = (char *)id,
		.sr_person = (char *)"{\"given_name\":\"An\",\"family_name\":\"Peeters\"}",
		.sr_email = (char *)email,
		.sr_phone = (char *)"+32470000001",
		.sr_challenge = (char *)"Y2hhbGxlbmdl",
		.sr_auth_sealed = (char *)"sealed-auth-1",
		.sr_auth_version = 1,
		.sr_sign_sealed = (char *)"sealed-sign-1",
		.sr_sign_version = 1,
	};
	return store_sid_registration_confirm(st, &r, now);
}

static void
person_in(struct store_person *p, const char *rrn, const char *given)
{
	memset(p, 0, sizeof(*p));
	p->p_rrn = strdup(rrn);
	p->p_given_name = strdup(given);
	p->p_family_name = strdup("Peeters");
}

/* A device as the registration half makes it: owned strings, only the
 * document number (the rest comes from the registration). */
static void
device_in(struct store_sid_device *d, const char *document)
{
	memset(d, 0, sizeof(*d));
	d->sd_document = strdup(document);
}

/* The two keys' certificates; the server keys are the registration's. */
static const struct store_sid_key auth_in = { .sk_cert_pem = (char *)"PEM-A", .sk_cert_serial = (char *)"0a" };
static const struct store_sid_key sign_in = { .sk_cert_pem = (char *)"PEM-S", .sk_cert_serial = (char *)"0b" };

/* Finish registration `id` for the person of `rrn`. */
static int
finish(struct store *st, const char *id, const char *rrn, const char *document, struct store_sid_account *acc,
	struct store_sid_device *dev, struct sl_err *err)
{
	struct store_person p;
	int rc;

	person_in(&p, rrn, "An");
	device_in(dev, document);
	rc = store_sid_registration_finish(st, id, 0, &p, dev, &auth_in, &sign_in, acc, sl_now(), err);
	store_person_clear(&p);
	return rc;
}

/* Start, confirm and finish a registration: a device of the person of
 * `rrn` with transport key `jkt`. */
static int
register_device(struct store *st, const char *id, const char *jkt, const char *rrn, const char *document,
	struct store_sid_account *acc, struct store_sid_device *dev, struct sl_err *err)
{
	char code[64];
	struct store_sid_registration r;

	snprintf(code, sizeof(code), "code-%s", id);
	r = reg_fixture(id, jkt, code, sl_now() + 900);
	assert_int_equal(store_sid_registration_put(st, &r), SL_OK);
	assert_int_equal(confirm(st, id, "an@example.be", sl_now()), SL_OK);
	return finish(st, id, rrn, document, acc, dev, err);
}

/* ---- racing threads ---- */

#define RACE_MAX 8

/* One thread of a race: what it races for, what came of it. */
struct race_job {
	struct store *rj_store;
	const char *rj_key; /* the device or registration raced for */
	char rj_text[32]; /* this thread's own value: a sealed key, a registration id */
	int64_t rj_now;
	int rj_rc; /* a one-shot job's result */
	int rj_granted; /* a repeating job's SL_OK results */
	int rj_errors; /* and its results other than SL_OK and SL_EDENIED */
};

/* Run fn on the n jobs at once, and wait for them all. */
static void
race(struct store *st, struct race_job *jobs, int n, void *(*fn)(void *))
{
	pthread_t th[RACE_MAX];

	assert_true(n <= RACE_MAX);
	for (int i = 0; i < n; i++) {
		jobs[i].rj_store = st;
		assert_int_equal(pthread_create(&th[i], NULL, fn, &jobs[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* A repeating job's tally of one result (`ok`: an SL_OK as expected). */
static void
race_count(struct race_job *j, int rc, bool ok)
{
	if (rc == SL_OK && ok)
		j->rj_granted++;
	else if (rc != SL_EDENIED)
		j->rj_errors++;
}

/* Repeating jobs: how many were granted in all (none went wrong). */
static int
race_granted(const struct race_job *jobs, int n)
{
	int granted = 0;

	for (int i = 0; i < n; i++) {
		assert_int_equal(jobs[i].rj_errors, 0);
		granted += jobs[i].rj_granted;
	}
	return granted;
}

/* One-shot jobs: exactly one won, every other got `lost`; the winner. */
static int
race_winner(const struct race_job *jobs, int n, int lost)
{
	int wins = 0, winner = -1;

	for (int i = 0; i < n; i++) {
		if (jobs[i].rj_rc == SL_OK) {
			wins++;
			winner = i;
		} else {
			assert_int_equal(jobs[i].rj_rc, lost);
		}
	}
	assert_int_equal(wins, 1);
	return winner;
}

static struct store_sid_request
request_fixture(const char *id, const char *account_id, int64_t expires)
{
	struct store_sid_request r = {
		.sq_id = (char *)id,
		.sq_account_id = (char *)account_id,
		.sq_client_id = (char *)"rp-1",
		.sq_rp_name = (char *)"Demo RP",
		.sq_action = (char *)"login",
		.sq_key_use = (char *)STORE_SID_KEY_AUTH,
		.sq_display_text = (char *)"Log in at Demo RP",
		.sq_nonce = (char *)"bm9uY2U",
		.sq_hash = (char *)"aGFzaA",
		.sq_digest = (char *)"SHA256",
		.sq_padding = (char *)"pkcs1",
		.sq_vc = (char *)"4821",
		.sq_link_kind = (char *)"authreq",
		.sq_link_id = (char *)"ar-1",
		.sq_ip = (char *)"192.0.2.1",
		.sq_created = sl_now(),
		.sq_expires = expires,
	};
	return r;
}

static char *
request_status(struct store *st, const char *id)
{
	struct store_sid_request r;
	char *status;

	assert_int_equal(store_sid_request_get(st, id, &r), SL_OK);
	status = r.sq_status;
	r.sq_status = NULL;
	store_sid_request_clear(&r);
	return status;
}

static void
assert_request_status(struct store *st, const char *id, const char *want)
{
	char *status = request_status(st, id);

	assert_string_equal(status, want);
	free(status);
}

/* ---- migration ---- */

static void
test_migrates_v7_database(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct sl_err err = { 0 };
	int version = -1;

	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V8_UNDO "PRAGMA user_version = 7;"), SQLITE_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'sid_%'"), 0);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_schema_version(fx->fx_store, &version), SL_OK);
	assert_int_equal(version, STORE_SCHEMA_VERSION);
	assert_int_equal(STORE_SCHEMA_VERSION, 20);
	/* The new tables work on the migrated file. */
	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_keys"), 2);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* Step 9: the shares' columns; a registration still waiting for its
 * code was started when the keys were made at the start: dropped (the app
 * starts again); a confirmed one keeps its keys. */
static void
test_migrates_v8_registrations(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900), got;

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, now), SL_OK);
	r = reg_fixture("r2", "jkt-2", "code-2", now + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	store_close(fx->fx_store);
	fx->fx_store = NULL;
	assert_int_equal(raw_exec(fx->fx_path, SCHEMA_V10_UNDO
				 "UPDATE sid_registrations SET auth_sealed = 'old-auth', sign_sealed = 'old-sign'"
				 " WHERE id = 'r2';"
				 "ALTER TABLE sid_registrations DROP COLUMN auth_share;"
				 "ALTER TABLE sid_registrations DROP COLUMN sign_share;"
				 "PRAGMA user_version = 8;"),
		SQLITE_OK);
	fx->fx_store = open_store(fx->fx_path, 2);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r2", &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_status, "confirmed");
	assert_string_equal(got.sr_auth_sealed, "sealed-auth-1");
	assert_null(got.sr_auth_share);
	store_sid_registration_clear(&got);
}

/* ---- registrations ---- */

static void
test_registration_put_get(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900), got;

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_jkt, "jkt-1");
	assert_string_equal(got.sr_status, "code");
	assert_string_equal(got.sr_code_hash, "code-1");
	/* Only the shares until the portal confirms: no server key yet. */
	assert_string_equal(got.sr_auth_share, "share-auth");
	assert_string_equal(got.sr_sign_share, "share-sign");
	assert_null(got.sr_auth_sealed);
	assert_null(got.sr_sign_sealed);
	assert_int_equal(got.sr_auth_version, 0);
	assert_string_equal(got.sr_country, "BE");
	assert_string_equal(got.sr_method, "eid");
	assert_null(got.sr_person);
	assert_int_equal(got.sr_recall_failures, 0);
	assert_int_equal(got.sr_expires, now + 900);
	store_sid_registration_clear(&got);
	assert_int_equal(store_sid_registration_by_jkt(fx->fx_store, "jkt-1", &got), SL_OK);
	assert_string_equal(got.sr_id, "r1");
	store_sid_registration_clear(&got);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_by_jkt(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	/* Required fields. */
	r.sr_id = (char *)"r2";
	r.sr_jkt = (char *)"jkt-2";
	r.sr_code_hash = NULL;
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_EINVAL);
	r.sr_code_hash = (char *)"code-2";
	r.sr_sign_share = NULL;
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_EINVAL);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations"), 1);
}

/* A live registration holds its key and its code; an expired or failed
 * one holds neither. */
static void
test_registration_uniqueness(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r1 = reg_fixture("r1", "jkt-1", "code-1", now + 900);
	struct store_sid_registration r2 = reg_fixture("r2", "jkt-1", "code-2", now + 900);
	struct store_sid_registration r3 = reg_fixture("r3", "jkt-3", "code-1", now + 900);
	struct store_sid_registration got;

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r1), SL_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r2), SL_ECONFLICT); /* key */
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r3), SL_ECONFLICT); /* code */
	/* Expired: its key and its code are free again. */
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE sid_registrations SET expires = 1 WHERE id = 'r1'"), SQLITE_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r3), SL_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r2), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_ENOTFOUND);
	/* A confirmed registration's code is spent: it can be drawn again. */
	assert_int_equal(confirm(fx->fx_store, "r3", NULL, now), SL_OK);
	r1.sr_jkt = (char *)"jkt-9";
	r1.sr_code_hash = (char *)"code-1";
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r1), SL_OK);
	/* Failed: a new start with the same key replaces it. */
	assert_int_equal(store_sid_registration_fail(fx->fx_store, "r2"), SL_OK);
	r2.sr_id = (char *)"r2b";
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r2), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r2", &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_by_jkt(fx->fx_store, "jkt-1", &got), SL_OK);
	assert_string_equal(got.sr_id, "r2b");
	store_sid_registration_clear(&got);
	/* Same id twice. */
	r2.sr_jkt = (char *)"jkt-x";
	r2.sr_code_hash = (char *)"code-x";
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r2), SL_ECONFLICT);
}

/* A device's key (whatever its status) is never a registration's. */
static void
test_registration_jkt_of_device(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct sl_err err = { 0 };
	struct store_sid_registration r = reg_fixture("r2", "jkt-1", "code-2", sl_now() + 900);

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	/* The finished registration expires and is purged; the device holds on. */
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE sid_registrations SET expires = 1"), SQLITE_OK);
	assert_true(store_purge_expired(fx->fx_store, sl_now()) >= 1);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_ECONFLICT);
	assert_int_equal(store_sid_device_end(fx->fx_store, dev.sd_id, "removed", "person"), SL_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_ECONFLICT);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations"), 0);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* The code finds a registration only while it is at "code" and unexpired. */
static void
test_registration_by_code(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900), got;

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, "code-1", now, &got), SL_OK);
	assert_string_equal(got.sr_id, "r1");
	store_sid_registration_clear(&got);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, "code-2", now, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, "code-1", now + 900, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, NULL, now, &got), SL_EINVAL);
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, now), SL_OK);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, "code-1", now, &got), SL_ENOTFOUND);
	assert_null(got.sr_id);
	/* A failed one is not found either. */
	r = reg_fixture("r2", "jkt-2", "code-2", now + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_sid_registration_fail(fx->fx_store, "r2"), SL_OK);
	assert_int_equal(store_sid_registration_by_code(fx->fx_store, "code-2", now, &got), SL_ENOTFOUND);
}

static void
test_registration_confirm_once(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900), got;
	struct store_sid_registration bad = { .sr_id = (char *)"r1" };

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_sid_registration_confirm(fx->fx_store, &bad, now), SL_EINVAL);
	/* Never confirmed without the server keys. */
	bad.sr_person = (char *)"{}";
	bad.sr_challenge = (char *)"Y2hhbGxlbmdl";
	bad.sr_auth_sealed = (char *)"sealed-auth-1";
	assert_int_equal(store_sid_registration_confirm(fx->fx_store, &bad, now), SL_EINVAL);
	/* Expired: refused, nothing changes. */
	assert_int_equal(confirm(fx->fx_store, "r1", "an@example.be", now + 900), SL_EEXPIRED);
	assert_int_equal(confirm(fx->fx_store, "r1", "an@example.be", now), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_status, "confirmed");
	assert_null(got.sr_code_hash);
	assert_non_null(strstr(got.sr_person, "Peeters"));
	assert_string_equal(got.sr_email, "an@example.be");
	assert_string_equal(got.sr_phone, "+32470000001");
	assert_string_equal(got.sr_challenge, "Y2hhbGxlbmdl");
	/* The server keys come with the confirmation; the shares go. */
	assert_string_equal(got.sr_auth_sealed, "sealed-auth-1");
	assert_string_equal(got.sr_sign_sealed, "sealed-sign-1");
	assert_int_equal(got.sr_auth_version, 1);
	assert_null(got.sr_auth_share);
	assert_null(got.sr_sign_share);
	store_sid_registration_clear(&got);
	/* Only once, even when the second would say another e-mail. */
	assert_int_equal(confirm(fx->fx_store, "r1", "other@example.be", now), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_email, "an@example.be");
	store_sid_registration_clear(&got);
	assert_int_equal(confirm(fx->fx_store, "nope", NULL, now), SL_ENOTFOUND);
}

static void
test_registration_recall_keys_fail(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900), got;
	int tries = -1;

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	/* Not confirmed yet: no recall check, no key change. */
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 3, &tries), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_recall_refund(fx->fx_store, "r1"), SL_ENOTFOUND);
	r.sr_auth_sealed = (char *)"sealed-auth-2";
	r.sr_auth_version = 2;
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 1, 1), SL_ECONFLICT);
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, now), SL_OK);
	/* Nothing to give back yet. */
	assert_int_equal(store_sid_registration_recall_refund(fx->fx_store, "r1"), SL_ENOTFOUND);
	for (int n = 1; n <= 3; n++) {
		assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 3, &tries), SL_OK);
		assert_int_equal(tries, n);
	}
	/* Used up: nothing more is charged, so nothing more is tested. */
	tries = -1;
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 3, &tries), SL_EDENIED);
	assert_int_equal(tries, -1);
	/* A try given back (it tested nothing) frees one, once. */
	assert_int_equal(store_sid_registration_recall_refund(fx->fx_store, "r1"), SL_OK);
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 3, &tries), SL_OK);
	assert_int_equal(tries, 3);
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 3, &tries), SL_EDENIED);
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 1, 1), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_auth_sealed, "sealed-auth-2");
	assert_int_equal(got.sr_auth_version, 2);
	assert_string_equal(got.sr_sign_sealed, "sealed-sign-1");
	assert_int_equal(got.sr_recall_failures, 3);
	store_sid_registration_clear(&got);
	r.sr_sign_sealed = NULL;
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 2, 1), SL_EINVAL);
	/* Failing drops the server keys; once. */
	assert_int_equal(store_sid_registration_fail(fx->fx_store, "r1"), SL_OK);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_status, "failed");
	assert_null(got.sr_auth_sealed);
	assert_null(got.sr_sign_sealed);
	store_sid_registration_clear(&got);
	assert_int_equal(store_sid_registration_fail(fx->fx_store, "r1"), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_fail(fx->fx_store, "nope"), SL_ENOTFOUND);
	/* A failed registration's tries are over, whatever the limit. */
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "r1", 10, &tries), SL_EDENIED);
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, "nope", 3, &tries), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_recall_refund(fx->fx_store, "r1"), SL_ENOTFOUND);
	r.sr_sign_sealed = (char *)"sealed-sign-2";
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 2, 1), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_recall_charge(fx->fx_store, NULL, 3, &tries), SL_EINVAL);
}

/* Registration r1 (key jkt-1), confirmed: ready for its recall check. */
static struct store_sid_registration
confirmed_r1(struct fixture *fx)
{
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", sl_now() + 900);

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, sl_now()), SL_OK);
	return r;
}

#define CHARGE_THREADS 6
#define CHARGE_EACH 10

static void *
charge_worker(void *arg)
{
	struct race_job *j = arg;

	for (int i = 0; i < CHARGE_EACH; i++) {
		int tries = 0;
		int rc = store_sid_registration_recall_charge(j->rj_store, j->rj_key, 3, &tries);
		race_count(j, rc, tries >= 1 && tries <= 3);
	}
	return NULL;
}

/* Parallel recall tries cannot outrun the limit: of 60 racing charges
 * exactly 3 pass, and the stored count never goes past it. */
static void
test_registration_recall_charge_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_registration got;
	struct race_job jobs[CHARGE_THREADS];

	confirmed_r1(fx);
	for (int i = 0; i < CHARGE_THREADS; i++)
		jobs[i] = (struct race_job){ .rj_key = "r1" };
	race(fx->fx_store, jobs, CHARGE_THREADS, charge_worker);
	assert_int_equal(race_granted(jobs, CHARGE_THREADS), 3);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_int_equal(got.sr_recall_failures, 3);
	store_sid_registration_clear(&got);
}

#define SETKEYS_THREADS 4

static void *
setkeys_worker(void *arg)
{
	struct race_job *j = arg;
	struct store_sid_registration r = reg_fixture(j->rj_key, "jkt-1", "code-1", 0);

	r.sr_auth_sealed = j->rj_text;
	r.sr_auth_version = 2;
	j->rj_rc = store_sid_registration_set_keys(j->rj_store, &r, 1, 1);
	return NULL;
}

/* The recall's key update is a compare-and-swap on the versions read: of
 * racing tries that advanced the same key exactly one stores it, and a try
 * that read older versions is refused. */
static void
test_registration_set_keys_cas(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_registration r = confirmed_r1(fx), got;
	struct race_job jobs[SETKEYS_THREADS];
	int winner;

	for (int i = 0; i < SETKEYS_THREADS; i++) {
		jobs[i] = (struct race_job){ .rj_key = "r1" };
		snprintf(jobs[i].rj_text, sizeof(jobs[i].rj_text), "sealed-auth-%d", i);
	}
	race(fx->fx_store, jobs, SETKEYS_THREADS, setkeys_worker);
	winner = race_winner(jobs, SETKEYS_THREADS, SL_ECONFLICT);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_auth_sealed, jobs[winner].rj_text);
	assert_int_equal(got.sr_auth_version, 2);
	store_sid_registration_clear(&got);
	/* A try that read the sign key at 1 while it is at 1 but the auth key
	 * at 1 while it is at 2: refused, nothing written. */
	r.sr_sign_sealed = (char *)"sealed-sign-2";
	r.sr_sign_version = 2;
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 1, 1), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_string_equal(got.sr_sign_sealed, "sealed-sign-1");
	assert_int_equal(got.sr_sign_version, 1);
	store_sid_registration_clear(&got);
	/* From the versions it is at: stored. */
	r.sr_auth_sealed = (char *)"sealed-auth-9";
	r.sr_auth_version = 2;
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 2, 1), SL_OK);
	/* Versions never go back. */
	r.sr_auth_version = 1;
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 2, 2), SL_EINVAL);
}

/* Set keys on an expired registration: too late. */
static void
test_registration_set_keys_expired(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 900);

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, now), SL_OK);
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE sid_registrations SET expires = 1"), SQLITE_OK);
	assert_int_equal(store_sid_registration_set_keys(fx->fx_store, &r, 1, 1), SL_EEXPIRED);
	assert_int_equal(
		store_sid_registration_set_keys(fx->fx_store,
			&(struct store_sid_registration){
				.sr_id = (char *)"nope", .sr_auth_sealed = (char *)"a", .sr_sign_sealed = (char *)"s" },
			0, 0),
		SL_ENOTFOUND);
}

/* ---- finish ---- */

static void
test_finish_creates_account_device_keys(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 }, got;
	struct store_sid_device dev, dgot;
	struct store_sid_key k;
	struct store_sid_registration reg;
	struct store_person pgot;
	struct sl_err err = { 0 };
	int64_t before = sl_now();

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_non_null(acc.sa_id);
	assert_string_equal(acc.sa_status, "active");
	assert_string_equal(acc.sa_email, "an@example.be");
	assert_string_equal(acc.sa_phone, "+32470000001");
	assert_true(acc.sa_created >= before);
	/* The person, by national number. */
	assert_int_equal(store_person_get(fx->fx_store, acc.sa_person_id, &pgot), SL_OK);
	assert_string_equal(pgot.p_rrn, RRN_AN);
	store_person_clear(&pgot);
	/* The device: the registration's key and name, active. */
	assert_string_equal(dev.sd_account_id, acc.sa_id);
	assert_string_equal(dev.sd_jkt, "jkt-1");
	assert_string_equal(dev.sd_name, "Pixel 8");
	assert_string_equal(dev.sd_status, "active");
	assert_int_equal(store_sid_device_get(fx->fx_store, dev.sd_id, &dgot), SL_OK);
	assert_string_equal(dgot.sd_document, "PNOBE-" RRN_AN "-AAAA-Q");
	assert_string_equal(dgot.sd_transport_jwk, "{\"kty\":\"EC\"}");
	assert_string_equal(dgot.sd_status, "active");
	assert_null(dgot.sd_reason);
	assert_int_equal(dgot.sd_last_used, 0);
	store_sid_device_clear(&dgot);
	/* Both keys: the registration's latest server key, the certificates. */
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_string_equal(k.sk_sealed, "sealed-auth-1");
	assert_int_equal(k.sk_version, 1);
	assert_string_equal(k.sk_cert_pem, "PEM-A");
	assert_string_equal(k.sk_cert_serial, "0a");
	assert_int_equal(k.sk_failures, 0);
	assert_int_equal(k.sk_locked_until, 0);
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_string_equal(k.sk_sealed, "sealed-sign-1");
	assert_string_equal(k.sk_cert_serial, "0b");
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, "other", &k), SL_EINVAL);
	/* The registration is done and keeps no copy of the server keys. */
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &reg), SL_OK);
	assert_string_equal(reg.sr_status, "done");
	assert_null(reg.sr_auth_sealed);
	assert_null(reg.sr_sign_sealed);
	store_sid_registration_clear(&reg);
	/* Lookups of the account. */
	assert_int_equal(store_sid_account_get(fx->fx_store, acc.sa_id, &got), SL_OK);
	assert_string_equal(got.sa_person_id, acc.sa_person_id);
	store_sid_account_clear(&got);
	assert_int_equal(store_sid_account_by_person(fx->fx_store, acc.sa_person_id, &got), SL_OK);
	assert_string_equal(got.sa_id, acc.sa_id);
	store_sid_account_clear(&got);
	assert_int_equal(store_sid_account_by_rrn(fx->fx_store, RRN_AN, &got), SL_OK);
	assert_string_equal(got.sa_id, acc.sa_id);
	store_sid_account_clear(&got);
	assert_int_equal(store_sid_account_by_rrn(fx->fx_store, RRN_BO, &got), SL_ENOTFOUND);
	/* Only once. */
	store_sid_device_clear(&dev);
	store_sid_account_clear(&acc);
	assert_int_equal(finish(fx->fx_store, "r1", RRN_AN, "PNOBE-" RRN_AN "-BBBB-Q", &acc, &dev, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "not confirmed"));
	assert_null(acc.sa_id);
	store_sid_device_clear(&dev);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 1);
}

/* A finish retried after a statement late in it failed (run 1 had made
 * the person, account and device and filled the caller's device from the
 * registration) and after a refused COMMIT: each device, person and
 * account exists once, as the caller was told. */
static void
test_finish_retried(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 }, acc2 = { 0 };
	struct store_sid_device dev, dev2, dgot;
	struct store_person pgot;
	struct sl_err err = { 0 };

	fault_install(fx->fx_store, 4);
	/* The tenth step: past the device, at its keys. */
	fault.fe_step_at = 10;
	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(fault.fe_fired, 1);
	assert_string_equal(dev.sd_jkt, "jkt-1");
	assert_string_equal(dev.sd_name, "Pixel 8");
	assert_string_equal(dev.sd_account_id, acc.sa_id);
	assert_int_equal(store_sid_device_get(fx->fx_store, dev.sd_id, &dgot), SL_OK);
	assert_string_equal(dgot.sd_account_id, acc.sa_id);
	store_sid_device_clear(&dgot);
	assert_int_equal(store_person_get(fx->fx_store, acc.sa_person_id, &pgot), SL_OK);
	assert_string_equal(pgot.p_rrn, RRN_AN);
	store_person_clear(&pgot);
	assert_string_equal(acc.sa_email, "an@example.be");
	/* A second device of the same person, its COMMIT refused once. */
	fault.fe_commits = 1;
	assert_int_equal(
		register_device(fx->fx_store, "r2", "jkt-2", RRN_AN, "PNOBE-" RRN_AN "-BBBB-Q", &acc2, &dev2, &err),
		SL_OK);
	assert_int_equal(fault.fe_fired, 2);
	assert_string_equal(acc2.sa_id, acc.sa_id);
	assert_string_equal(dev2.sd_jkt, "jkt-2");
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_keys"), 4);
	store_sid_device_clear(&dev);
	store_sid_device_clear(&dev2);
	store_sid_account_clear(&acc);
	store_sid_account_clear(&acc2);
}

struct id_list {
	char *ids[8];
	int n;
};

static int
collect_device(const struct store_sid_device *d, void *arg)
{
	struct id_list *l = arg;

	if (l->n < 8)
		l->ids[l->n++] = strdup(d->sd_document);
	return 0;
}

static int
collect_account(const struct store_sid_account *a, void *arg)
{
	struct id_list *l = arg;

	if (l->n < 8)
		l->ids[l->n++] = strdup(a->sa_person_id);
	return 0;
}

static void
id_list_clear(struct id_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->ids[i]);
	memset(l, 0, sizeof(*l));
}

/* One account per person: a second device joins it; another person gets
 * their own. */
static void
test_finish_second_device_reuses_account(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account a1 = { 0 }, a2 = { 0 }, a3 = { 0 };
	struct store_sid_device d1, d2, d3;
	struct sl_err err = { 0 };
	struct store_sid_registration r = reg_fixture("r2", "jkt-2", "code-2", sl_now() + 900);
	struct store_person p;
	struct id_list l = { 0 };
	char sql[256];
	int n = -1;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &a1, &d1, &err), SL_OK);
	/* The second registration answers another e-mail (the latest wins),
	 * the same phone number. */
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r2", "an@new.example.be", sl_now()), SL_OK);
	person_in(&p, RRN_AN, "Anna");
	device_in(&d2, "PNOBE-" RRN_AN "-BBBB-Q");
	d2.sd_name = strdup("Tablet");
	assert_int_equal(
		store_sid_registration_finish(fx->fx_store, "r2", 0, &p, &d2, &auth_in, &sign_in, &a2, sl_now(), &err),
		SL_OK);
	assert_string_equal(a2.sa_id, a1.sa_id);
	assert_string_equal(p.p_id, a1.sa_person_id);
	assert_string_equal(a2.sa_email, "an@new.example.be");
	assert_string_equal(d2.sd_name, "Tablet");
	store_person_clear(&p);
	assert_int_equal(store_sid_device_count_active(fx->fx_store, a1.sa_id, &n), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	/* Devices in creation order. */
	assert_int_equal(store_sid_device_each(fx->fx_store, a1.sa_id, collect_device, &l), SL_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ids[0], "PNOBE-" RRN_AN "-AAAA-Q");
	assert_string_equal(l.ids[1], "PNOBE-" RRN_AN "-BBBB-Q");
	id_list_clear(&l);
	/* Another person. */
	assert_int_equal(
		register_device(fx->fx_store, "r3", "jkt-3", RRN_BO, "PNOBE-" RRN_BO "-CCCC-Q", &a3, &d3, &err), SL_OK);
	assert_string_not_equal(a3.sa_id, a1.sa_id);
	assert_int_equal(store_sid_account_each(fx->fx_store, collect_account, &l), SL_OK);
	assert_int_equal(l.n, 2);
	id_list_clear(&l);
	/* The schema itself refuses a second account for a person. */
	snprintf(sql, sizeof(sql),
		"INSERT INTO sid_accounts (id, person_id, status, created) VALUES ('dup', '%s', 'active', 1)",
		a1.sa_person_id);
	assert_int_not_equal(raw_exec_msg(fx->fx_path, sql, sql, sizeof(sql)), SQLITE_OK);
	assert_non_null(strcasestr(sql, "UNIQUE"));
	store_sid_account_clear(&a1);
	store_sid_account_clear(&a2);
	store_sid_account_clear(&a3);
	store_sid_device_clear(&d1);
	store_sid_device_clear(&d2);
	store_sid_device_clear(&d3);
}

/* An's first device (registration r1) and a second registration r2 (key
 * jkt-2), not yet confirmed. */
static void
first_device_and_r2(struct fixture *fx, struct store_sid_account *a1, struct store_sid_device *d1)
{
	struct store_sid_registration r = reg_fixture("r2", "jkt-2", "code-2", sl_now() + 900);
	struct sl_err err = { 0 };

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", a1, d1, &err), SL_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
}

/* A refused finish of r2 kept nothing: one device, its two keys, and r2
 * still confirmed. */
static void
r2_refused_cleanly(struct fixture *fx)
{
	struct store_sid_registration got;

	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_keys"), 2);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r2", &got), SL_OK);
	assert_string_equal(got.sr_status, "confirmed");
	store_sid_registration_clear(&got);
}

/* Refusals leave nothing behind: no person, account, device or key, and
 * the registration still confirmed. */
static void
test_finish_refusals_atomic(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account a1 = { 0 }, acc = { 0 };
	struct store_sid_device d1, dev;
	struct store_person p;
	struct sl_err err = { 0 };

	first_device_and_r2(fx, &a1, &d1);
	/* Not confirmed. */
	assert_int_equal(finish(fx->fx_store, "r2", RRN_BO, "PNOBE-" RRN_BO "-BBBB-Q", &acc, &dev, &err), SL_ECONFLICT);
	store_sid_device_clear(&dev);
	assert_int_equal(confirm(fx->fx_store, "r2", NULL, sl_now()), SL_OK);
	/* The document number of another device. */
	assert_int_equal(finish(fx->fx_store, "r2", RRN_BO, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err), SL_ECONFLICT);
	assert_non_null(strstr(err.msg, "document number"));
	assert_null(acc.sa_id);
	store_sid_device_clear(&dev);
	/* Another phone's key than the registration's. */
	person_in(&p, RRN_BO, "Bo");
	device_in(&dev, "PNOBE-" RRN_BO "-BBBB-Q");
	dev.sd_jkt = strdup("jkt-other");
	assert_int_equal(store_sid_registration_finish(
				 fx->fx_store, "r2", 0, &p, &dev, &auth_in, &sign_in, &acc, sl_now(), &err),
		SL_EINVAL);
	/* Rolled back: the person record names no row that is not there. */
	assert_null(p.p_id);
	store_sid_device_clear(&dev);
	/* No document number, no national number. */
	device_in(&dev, "x");
	free(dev.sd_document);
	dev.sd_document = NULL;
	assert_int_equal(store_sid_registration_finish(
				 fx->fx_store, "r2", 0, &p, &dev, &auth_in, &sign_in, &acc, sl_now(), &err),
		SL_EINVAL);
	store_sid_device_clear(&dev);
	free(p.p_rrn);
	p.p_rrn = NULL;
	device_in(&dev, "PNOBE-" RRN_BO "-BBBB-Q");
	assert_int_equal(store_sid_registration_finish(
				 fx->fx_store, "r2", 0, &p, &dev, &auth_in, &sign_in, &acc, sl_now(), &err),
		SL_EINVAL);
	store_sid_device_clear(&dev);
	store_person_clear(&p);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_accounts"), 1);
	r2_refused_cleanly(fx);
	/* Expired: too late, even though confirmed. */
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE sid_registrations SET expires = 1 WHERE id = 'r2'"), SQLITE_OK);
	assert_int_equal(finish(fx->fx_store, "r2", RRN_BO, "PNOBE-" RRN_BO "-BBBB-Q", &acc, &dev, &err), SL_EEXPIRED);
	assert_non_null(strstr(err.msg, "expired"));
	store_sid_device_clear(&dev);
	assert_int_equal(
		finish(fx->fx_store, "nope", RRN_BO, "PNOBE-" RRN_BO "-BBBB-Q", &acc, &dev, &err), SL_ENOTFOUND);
	store_sid_device_clear(&dev);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM persons"), 1);
	store_sid_account_clear(&a1);
	store_sid_device_clear(&d1);
}

/* A reused account must be active and below max_devices, decided inside
 * the finish's transaction: refusals leave nothing behind. */
static void
test_finish_room_in_transaction(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account a1 = { 0 }, acc = { 0 };
	struct store_sid_device d1, dev;
	struct store_sid_registration r;
	struct store_person p;
	struct sl_err err = { 0 };

	first_device_and_r2(fx, &a1, &d1);
	assert_int_equal(confirm(fx->fx_store, "r2", NULL, sl_now()), SL_OK);
	assert_int_equal(store_sid_account_set_status(fx->fx_store, a1.sa_id, "blocked"), SL_OK);
	for (int round = 0; round < 3; round++) {
		/* Blocked (whatever the room), then full at 1, then room at 2. */
		static const int max[] = { 5, 1, 2 };
		static const int want[] = { SL_EDENIED, SL_ETOOBIG, SL_OK };
		if (round == 1)
			assert_int_equal(store_sid_account_set_status(fx->fx_store, a1.sa_id, "active"), SL_OK);
		person_in(&p, RRN_AN, "An");
		device_in(&dev, "PNOBE-" RRN_AN "-BBBB-Q");
		memset(&err, 0, sizeof(err));
		assert_int_equal(store_sid_registration_finish(fx->fx_store, "r2", max[round], &p, &dev, &auth_in,
					 &sign_in, &acc, sl_now(), &err),
			want[round]);
		if (want[round] != SL_OK) {
			assert_non_null(strstr(err.msg, round == 0 ? "blocked" : "1 active devices"));
			assert_null(acc.sa_id);
			assert_null(p.p_id);
			r2_refused_cleanly(fx);
		}
		store_person_clear(&p);
		store_sid_device_clear(&dev);
	}
	assert_string_equal(acc.sa_id, a1.sa_id);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 2);
	/* A device that ended leaves room: only active ones count. */
	assert_int_equal(store_sid_device_end(fx->fx_store, d1.sd_id, "removed", "person"), SL_OK);
	r = reg_fixture("r3", "jkt-3", "code-3", sl_now() + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r3", NULL, sl_now()), SL_OK);
	person_in(&p, RRN_AN, "An");
	device_in(&dev, "PNOBE-" RRN_AN "-CCCC-Q");
	store_sid_account_clear(&acc);
	assert_int_equal(store_sid_registration_finish(
				 fx->fx_store, "r3", 2, &p, &dev, &auth_in, &sign_in, &acc, sl_now(), &err),
		SL_OK);
	store_person_clear(&p);
	store_sid_device_clear(&dev);
	store_sid_account_clear(&acc);
	store_sid_account_clear(&a1);
	store_sid_device_clear(&d1);
}

#define ROOM_THREADS 4

static void *
room_worker(void *arg)
{
	struct race_job *j = arg;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_person p;
	struct sl_err err = { 0 };
	char doc[64];

	snprintf(doc, sizeof(doc), "PNOBE-" RRN_BO "-%s-Q", j->rj_text);
	person_in(&p, RRN_BO, "Bo");
	device_in(&dev, doc);
	j->rj_rc = store_sid_registration_finish(
		j->rj_store, j->rj_text, 1, &p, &dev, &auth_in, &sign_in, &acc, sl_now(), &err);
	store_person_clear(&p);
	store_sid_device_clear(&dev);
	store_sid_account_clear(&acc);
	return NULL;
}

/* Racing finishes of one person's registrations at max_devices = 1 make
 * one device: the count is taken inside each finish's transaction. */
static void
test_finish_room_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct race_job jobs[ROOM_THREADS];

	for (int i = 0; i < ROOM_THREADS; i++) {
		char jkt[16], code[16];
		struct store_sid_registration r;
		jobs[i] = (struct race_job){ 0 };
		snprintf(jobs[i].rj_text, sizeof(jobs[i].rj_text), "R%d", i);
		snprintf(jkt, sizeof(jkt), "jkt-%d", i);
		snprintf(code, sizeof(code), "code-%d", i);
		r = reg_fixture(jobs[i].rj_text, jkt, code, sl_now() + 900);
		assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
		assert_int_equal(confirm(fx->fx_store, jobs[i].rj_text, NULL, sl_now()), SL_OK);
	}
	race(fx->fx_store, jobs, ROOM_THREADS, room_worker);
	race_winner(jobs, ROOM_THREADS, SL_ETOOBIG);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations WHERE status = 'done'"), 1);
}

/* ---- accounts and devices ---- */

static void
test_account_status(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 }, got;
	struct store_sid_device dev;
	struct sl_err err = { 0 };

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(store_sid_account_set_status(fx->fx_store, acc.sa_id, "blocked"), SL_OK);
	assert_int_equal(store_sid_account_get(fx->fx_store, acc.sa_id, &got), SL_OK);
	assert_string_equal(got.sa_status, "blocked");
	store_sid_account_clear(&got);
	assert_int_equal(store_sid_account_set_status(fx->fx_store, acc.sa_id, "gone"), SL_EINVAL);
	assert_int_equal(store_sid_account_set_status(fx->fx_store, "nope", "active"), SL_ENOTFOUND);
	assert_int_equal(store_sid_account_get(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

static void
test_device_lookups_touch(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev, got;
	struct sl_err err = { 0 };

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(store_sid_device_by_jkt(fx->fx_store, "jkt-1", &got), SL_OK);
	assert_string_equal(got.sd_id, dev.sd_id);
	store_sid_device_clear(&got);
	assert_int_equal(store_sid_device_by_document(fx->fx_store, "PNOBE-" RRN_AN "-AAAA-Q", &got), SL_OK);
	assert_string_equal(got.sd_id, dev.sd_id);
	store_sid_device_clear(&got);
	assert_int_equal(store_sid_device_by_jkt(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_device_by_document(fx->fx_store, "nope", &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_device_touch(fx->fx_store, dev.sd_id, 12345), SL_OK);
	assert_int_equal(store_sid_device_get(fx->fx_store, dev.sd_id, &got), SL_OK);
	assert_int_equal(got.sd_last_used, 12345);
	store_sid_device_clear(&got);
	assert_int_equal(store_sid_device_touch(fx->fx_store, "nope", 1), SL_ENOTFOUND);
	assert_int_equal(store_sid_device_each(fx->fx_store, NULL, collect_device, NULL), SL_EINVAL);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* The bounded put counts and inserts in one statement: at the bound it is
 * SL_EBUSY and nothing is stored; an answered request frees a place;
 * another account has its own places. */
static void
test_request_put_bounded(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_request q, got;
	char id[16];
	int n = -1;

	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "b-%d", i);
		q = request_fixture(id, "acct-b", now + 180);
		assert_int_equal(store_sid_request_put_bounded(fx->fx_store, &q, 3), SL_OK);
	}
	q = request_fixture("b-over", "acct-b", now + 180);
	assert_int_equal(store_sid_request_put_bounded(fx->fx_store, &q, 3), SL_EBUSY);
	assert_int_equal(store_sid_request_get(fx->fx_store, "b-over", &got), SL_ENOTFOUND);
	q = request_fixture("c-0", "acct-c", now + 180);
	assert_int_equal(store_sid_request_put_bounded(fx->fx_store, &q, 3), SL_OK);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "b-0", "refused", NULL, NULL, now), SL_OK);
	q = request_fixture("b-3", "acct-b", now + 180);
	assert_int_equal(store_sid_request_put_bounded(fx->fx_store, &q, 3), SL_OK);
	assert_int_equal(store_sid_request_count_pending(fx->fx_store, "acct-b", now, &n), SL_OK);
	assert_int_equal(n, 3);
	q = request_fixture("b-unbounded", "acct-b", now + 180);
	assert_int_equal(store_sid_request_put_bounded(fx->fx_store, &q, 0), SL_OK);
}

/* One thread of the bounded-put race: its own request for the raced
 * account (rj_key), bound 2. */
static void *
bounded_put_worker(void *arg)
{
	struct race_job *j = arg;
	struct store_sid_request q = request_fixture(j->rj_text, j->rj_key, j->rj_now + 180);

	j->rj_rc = store_sid_request_put_bounded(j->rj_store, &q, 2);
	return NULL;
}

/* Found by the integration suite on PostgreSQL: the count-guarded insert
 * ran at READ COMMITTED, where eight at once all saw a count of 0 and all
 * inserted.  Now each round of eight stores exactly the bound. */
static void
test_request_put_bounded_race(void **state)
{
	struct fixture *fx = *state;
	struct race_job jobs[RACE_MAX];
	char account[16];
	int granted, n;

	for (int round = 0; round < 5; round++) {
		snprintf(account, sizeof(account), "acct-race-%d", round);
		for (int i = 0; i < RACE_MAX; i++) {
			jobs[i] = (struct race_job){ .rj_key = account, .rj_now = sl_now() };
			snprintf(jobs[i].rj_text, sizeof(jobs[i].rj_text), "race-%d-%d", round, i);
		}
		race(fx->fx_store, jobs, RACE_MAX, bounded_put_worker);
		granted = 0;
		for (int i = 0; i < RACE_MAX; i++) {
			if (jobs[i].rj_rc == SL_OK)
				granted++;
			else
				assert_int_equal(jobs[i].rj_rc, SL_EBUSY);
		}
		assert_int_equal(granted, 2);
		assert_int_equal(store_sid_request_count_pending(fx->fx_store, account, sl_now(), &n), SL_OK);
		assert_int_equal(n, 2);
	}
}

/* Ending a device: once, with its reason; what its phone may show now
 * fails; other accounts' and answered requests stay as they are. */
static void
test_device_end_fails_pending(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_account a1 = { 0 }, a2 = { 0 };
	struct store_sid_device d1, d2, got;
	struct sl_err err = { 0 };
	struct store_sid_request q;
	int n = -1;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &a1, &d1, &err), SL_OK);
	assert_int_equal(
		register_device(fx->fx_store, "r2", "jkt-2", RRN_BO, "PNOBE-" RRN_BO "-BBBB-Q", &a2, &d2, &err), SL_OK);
	q = request_fixture("q-pending", a1.sa_id, now + 180);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	q = request_fixture("q-done", a1.sa_id, now + 180);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "q-done", "approved", d1.sd_id, "c2ln", now), SL_OK);
	q = request_fixture("q-other", a2.sa_id, now + 180);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);

	assert_int_equal(store_sid_device_end(fx->fx_store, d1.sd_id, "active", "x"), SL_EINVAL);
	assert_int_equal(store_sid_device_end(fx->fx_store, d1.sd_id, "revoked", "operator"), SL_OK);
	assert_int_equal(store_sid_device_get(fx->fx_store, d1.sd_id, &got), SL_OK);
	assert_string_equal(got.sd_status, "revoked");
	assert_string_equal(got.sd_reason, "operator");
	store_sid_device_clear(&got);
	assert_request_status(fx->fx_store, "q-pending", "failed");
	assert_request_status(fx->fx_store, "q-done", "approved");
	assert_request_status(fx->fx_store, "q-other", "pending");
	assert_int_equal(store_sid_request_count_pending(fx->fx_store, a1.sa_id, now, &n), SL_OK);
	assert_int_equal(n, 0);
	/* Once: a removed or revoked device stays as it ended. */
	assert_int_equal(store_sid_device_end(fx->fx_store, d1.sd_id, "removed", "person"), SL_ECONFLICT);
	assert_int_equal(store_sid_device_get(fx->fx_store, d1.sd_id, &got), SL_OK);
	assert_string_equal(got.sd_reason, "operator");
	store_sid_device_clear(&got);
	assert_int_equal(store_sid_device_end(fx->fx_store, "nope", "removed", "person"), SL_ENOTFOUND);
	assert_int_equal(store_sid_device_count_active(fx->fx_store, a1.sa_id, &n), SL_OK);
	assert_int_equal(n, 0);
	store_sid_account_clear(&a1);
	store_sid_account_clear(&a2);
	store_sid_device_clear(&d1);
	store_sid_device_clear(&d2);
}

/* ---- keys ---- */

/* 3 wrong PINs -> 3 h, 6 -> 24 h, 9 -> for good; a locked key takes no
 * try; the right PIN (the advance) clears the count. */
static void
test_key_lockout_schedule(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	int64_t now = 5000, until = -1;
	int failures = -1;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	for (int n = 1; n <= 9; n++) {
		assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, now, &sid_lockout,
					 &failures, &until),
			SL_OK);
		assert_int_equal(failures, n);
		if (n == 3 || n == 6) {
			assert_int_equal(until, now + (n == 3 ? H3 : H24));
			/* Locked until then: refused, not counted. */
			assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, until - 1,
						 &sid_lockout, &failures, &until),
				SL_EDENIED);
			now = until; /* the lock has passed */
		} else if (n == 9) {
			assert_int_equal(until, STORE_LOCKED_FOREVER);
		} else {
			assert_true(until <= now);
		}
	}
	assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, now + 10 * H24,
				 &sid_lockout, &failures, &until),
		SL_EDENIED);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_failures, 9);
	assert_int_equal(k.sk_locked_until, STORE_LOCKED_FOREVER);
	store_sid_key_clear(&k);
	/* The other key is its own count. */
	assert_int_equal(store_sid_key_attempt(
				 fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, now, &sid_lockout, &failures, &until),
		SL_OK);
	assert_int_equal(failures, 1);
	/* The right PIN: the advance clears the count. */
	assert_int_equal(
		store_sid_key_advance(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, 1, "sealed-sign-2", 2), SL_OK);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_int_equal(k.sk_failures, 0);
	store_sid_key_clear(&k);
	/* Unknown device or key use. */
	assert_int_equal(
		store_sid_key_attempt(fx->fx_store, "nope", STORE_SID_KEY_AUTH, now, &sid_lockout, &failures, &until),
		SL_EDENIED);
	assert_int_equal(
		store_sid_key_attempt(fx->fx_store, dev.sd_id, "pin", now, &sid_lockout, &failures, &until), SL_EINVAL);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

#define TRY_THREADS 4
#define TRY_EACH 25

static void *
try_worker(void *arg)
{
	struct race_job *j = arg;

	for (int i = 0; i < TRY_EACH; i++) {
		int failures = 0;
		int64_t until = 0;
		int rc = store_sid_key_attempt(
			j->rj_store, j->rj_key, STORE_SID_KEY_AUTH, j->rj_now, &sid_lockout, &failures, &until);
		race_count(j, rc, true);
	}
	return NULL;
}

/* Parallel guesses cannot outrun the schedule: 3 tries until the 3 h
 * lock, then 3 more after it, never more. */
static void
test_key_lockout_concurrent(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	struct race_job jobs[TRY_THREADS];
	int64_t now = 10000;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	for (int round = 1; round <= 2; round++) {
		for (int i = 0; i < TRY_THREADS; i++)
			jobs[i] = (struct race_job){ .rj_key = dev.sd_id, .rj_now = now };
		race(fx->fx_store, jobs, TRY_THREADS, try_worker);
		assert_int_equal(race_granted(jobs, TRY_THREADS), 3);
		assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
		assert_int_equal(k.sk_failures, 3 * round);
		assert_int_equal(k.sk_locked_until, now + (round == 1 ? H3 : H24));
		now = k.sk_locked_until;
		store_sid_key_clear(&k);
	}
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

#define CAS_THREADS 4

static void *
cas_worker(void *arg)
{
	struct race_job *j = arg;

	j->rj_rc = store_sid_key_advance(j->rj_store, j->rj_key, STORE_SID_KEY_AUTH, 1, j->rj_text, 2);
	return NULL;
}

/* The advance is a compare-and-swap on the version: a stale version is
 * refused, and of racing signatures exactly one wins. */
static void
test_key_advance_cas(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	struct race_job jobs[CAS_THREADS];
	int winner;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	for (int i = 0; i < CAS_THREADS; i++) {
		jobs[i] = (struct race_job){ .rj_key = dev.sd_id };
		snprintf(jobs[i].rj_text, sizeof(jobs[i].rj_text), "sealed-%d", i);
	}
	race(fx->fx_store, jobs, CAS_THREADS, cas_worker);
	winner = race_winner(jobs, CAS_THREADS, SL_ECONFLICT);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_version, 2);
	assert_string_equal(k.sk_sealed, jobs[winner].rj_text);
	store_sid_key_clear(&k);
	/* Stale, backwards, unknown. */
	assert_int_equal(
		store_sid_key_advance(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 1, "late", 3), SL_ECONFLICT);
	assert_int_equal(store_sid_key_advance(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 2, "back", 2), SL_EINVAL);
	assert_int_equal(store_sid_key_advance(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 2, NULL, 3), SL_EINVAL);
	assert_int_equal(store_sid_key_advance(fx->fx_store, "nope", STORE_SID_KEY_AUTH, 2, "x", 3), SL_ENOTFOUND);
	/* The sign key did not move. */
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_int_equal(k.sk_version, 1);
	store_sid_key_clear(&k);
	/* An ended device's key does not advance (a clone's revocation wins). */
	assert_int_equal(store_sid_device_end(fx->fx_store, dev.sd_id, "revoked", "clone"), SL_OK);
	assert_int_equal(
		store_sid_key_advance(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 2, "after", 3), SL_ECONFLICT);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_version, 2);
	store_sid_key_clear(&k);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

static void
test_key_unlock(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	int64_t until = 0;
	int failures = 0;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 100, &sid_lockout,
					 &failures, &until),
			SL_OK);
		assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, 100, &sid_lockout,
					 &failures, &until),
			SL_OK);
	}
	assert_int_equal(store_sid_key_unlock(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH), SL_OK);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_failures, 0);
	assert_int_equal(k.sk_locked_until, 0);
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_int_equal(k.sk_failures, 3);
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_unlock(fx->fx_store, dev.sd_id, NULL), SL_OK);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_int_equal(k.sk_failures, 0);
	assert_int_equal(k.sk_locked_until, 0);
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_unlock(fx->fx_store, "nope", NULL), SL_ENOTFOUND);
	assert_int_equal(store_sid_key_unlock(fx->fx_store, dev.sd_id, "pin"), SL_EINVAL);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* A try given back after a server failure (sid_confirm.c): only while the
 * key is as that try's charge left it, with the lock that charge set. */
static void
test_key_refund_cas(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	int64_t until = 0, now = 100;
	int failures = 0;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_sid_key_attempt(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, now, &sid_lockout,
					 &failures, &until),
			SL_OK);
	assert_int_equal(until, now + H3); /* the third try locked it */
	/* Not as the charge left it: nothing changes. */
	assert_int_equal(
		store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 2, until, now), SL_ENOTFOUND);
	assert_int_equal(
		store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 3, until + 1, now), SL_ENOTFOUND);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_failures, 3);
	assert_int_equal(k.sk_locked_until, now + H3);
	store_sid_key_clear(&k);
	/* As it left it: the try and its lock are given back, once. */
	assert_int_equal(store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 3, until, now), SL_OK);
	assert_int_equal(
		store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, 3, until, now), SL_ENOTFOUND);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_int_equal(k.sk_failures, 2);
	assert_true(k.sk_locked_until <= now);
	store_sid_key_clear(&k);
	/* A try that set no lock keeps the lock field as it was. */
	assert_int_equal(store_sid_key_attempt(
				 fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, now, &sid_lockout, &failures, &until),
		SL_OK);
	assert_int_equal(
		store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, failures, until, now), SL_OK);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_int_equal(k.sk_failures, 0);
	assert_int_equal(k.sk_locked_until, until);
	store_sid_key_clear(&k);
	/* Nothing below zero; bad arguments. */
	assert_int_equal(store_sid_key_refund(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, 0, until, now), SL_EINVAL);
	assert_int_equal(store_sid_key_refund(fx->fx_store, dev.sd_id, "pin", 1, 0, now), SL_EINVAL);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* A key sealed anew (sid_confirm.c, a key sealed before 45aff05): only
 * over the blob that was resealed; the version and count stay. */
static void
test_key_reseal_cas(void **state)
{
	struct fixture *fx = *state;
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct store_sid_key k;
	struct sl_err err = { 0 };
	char *old;

	assert_int_equal(
		register_device(fx->fx_store, "r1", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	old = strdup(k.sk_sealed);
	store_sid_key_clear(&k);
	assert_int_equal(
		store_sid_key_reseal(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, "not-it", "new"), SL_ENOTFOUND);
	assert_int_equal(store_sid_key_reseal(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, old, "new"), SL_OK);
	assert_int_equal(store_sid_key_reseal(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, old, "newer"), SL_ENOTFOUND);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, &k), SL_OK);
	assert_string_equal(k.sk_sealed, "new");
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_get(fx->fx_store, dev.sd_id, STORE_SID_KEY_SIGN, &k), SL_OK);
	assert_string_not_equal(k.sk_sealed, "new");
	store_sid_key_clear(&k);
	assert_int_equal(store_sid_key_reseal(fx->fx_store, dev.sd_id, "pin", old, "new"), SL_EINVAL);
	assert_int_equal(store_sid_key_reseal(fx->fx_store, dev.sd_id, STORE_SID_KEY_AUTH, NULL, "new"), SL_EINVAL);
	free(old);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

/* ---- signing requests ---- */

static int
collect_request(const struct store_sid_request *r, void *arg)
{
	struct id_list *l = arg;

	if (l->n < 8)
		l->ids[l->n++] = strdup(r->sq_id);
	return 0;
}

static void
test_request_lifecycle(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_request q = request_fixture("q1", "acc-1", now + 180), got;
	struct id_list l = { 0 };
	int n = -1;

	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_ECONFLICT);
	q = request_fixture("q2", "acc-1", now + 120);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	q = request_fixture("q-old", "acc-1", now - 1);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_OK);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q1", &got), SL_OK);
	assert_string_equal(got.sq_status, "pending");
	assert_string_equal(got.sq_key_use, STORE_SID_KEY_AUTH);
	assert_string_equal(got.sq_vc, "4821");
	assert_string_equal(got.sq_hash, "aGFzaA");
	assert_string_equal(got.sq_padding, "pkcs1");
	assert_string_equal(got.sq_link_id, "ar-1");
	assert_null(got.sq_device_id);
	assert_null(got.sq_signature);
	store_sid_request_clear(&got);
	assert_int_equal(store_sid_request_count_pending(fx->fx_store, "acc-1", now, &n), SL_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_sid_request_each_pending(fx->fx_store, "acc-1", now, collect_request, &l), SL_OK);
	assert_int_equal(l.n, 2);
	id_list_clear(&l);
	/* Answered once, with the signature. */
	assert_int_equal(store_sid_request_finish(fx->fx_store, "q1", "approved", "dev-1", "c2ln", now), SL_OK);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "q1", "refused", "dev-1", NULL, now), SL_ECONFLICT);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q1", &got), SL_OK);
	assert_string_equal(got.sq_status, "approved");
	assert_string_equal(got.sq_device_id, "dev-1");
	assert_string_equal(got.sq_signature, "c2ln");
	store_sid_request_clear(&got);
	/* More time (schema 17): only while pending and unexpired, at most
	 * max_times times; the count is read back. */
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q2", 80, now + 10000, 2), SL_OK);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q2", 80, now + 10000, 2), SL_OK);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q2", 80, now + 10000, 2), SL_ECONFLICT);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q2", &got), SL_OK);
	assert_int_equal(got.sq_extended, 2);
	assert_int_equal(got.sq_expires, now + 280);
	store_sid_request_clear(&got);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q1", 80, now + 10000, 3), SL_ECONFLICT);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q-old", 80, now + 10000, 3), SL_EEXPIRED);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "nope", 80, now + 10000, 3), SL_ENOTFOUND);
	assert_int_equal(store_sid_request_extend(fx->fx_store, "q2", 80, now + 10000, 0), SL_EINVAL);
	/* Past its expiry; unknown; a status that is no outcome. */
	assert_int_equal(
		store_sid_request_finish(fx->fx_store, "q-old", "approved", "dev-1", "c2ln", now), SL_EEXPIRED);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "nope", "refused", NULL, NULL, now), SL_ENOTFOUND);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "q2", "pending", NULL, NULL, now), SL_EINVAL);
	assert_int_equal(store_sid_request_finish(fx->fx_store, "q2", "refused", NULL, NULL, now), SL_OK);
	assert_int_equal(store_sid_request_count_pending(fx->fx_store, "acc-1", now, &n), SL_OK);
	assert_int_equal(n, 0);
	/* Required fields and known values. */
	q = request_fixture("q3", "acc-1", now + 180);
	q.sq_key_use = (char *)"pin";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	q.sq_key_use = (char *)STORE_SID_KEY_SIGN;
	q.sq_action = (char *)"pay";
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	q.sq_action = (char *)"sign";
	q.sq_hash = NULL;
	assert_int_equal(store_sid_request_put(fx->fx_store, &q), SL_EINVAL);
	assert_int_equal(store_sid_request_get(fx->fx_store, "q3", &got), SL_ENOTFOUND);
}

/* ---- the registration code's wrong tries and more time (reg_more.c) ---- */

#define WRONG_THREADS RACE_MAX

/* One wrong code per thread, all at once. */
static void *
wrong_worker(void *arg)
{
	struct race_job *j = arg;
	struct store_sid_registration got;

	j->rj_rc = store_sid_registration_try_code(j->rj_store, "code-wrong", j->rj_now, 4, &got);
	store_sid_registration_clear(&got);
	return NULL;
}

static int
code_wrong_of(struct store *st, const char *id)
{
	struct store_sid_registration got;
	int n = -1;

	if (store_sid_registration_get(st, id, &got) == SL_OK)
		n = got.sr_code_wrong;
	store_sid_registration_clear(&got);
	return n;
}

/* A wrong code is a guess at every other live code: each counts it, never
 * past the cap, also for 8 racing tries; the code itself is not counted
 * by its own try; a code at the cap is dead (SL_EDENIED); an expired or
 * confirmed registration counts nothing. */
static void
test_registration_code_wrong_cap(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r, got;
	struct race_job jobs[WRONG_THREADS];

	r = reg_fixture("r1", "jkt-1", "code-1", now + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	r = reg_fixture("r2", "jkt-2", "code-2", now + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	r = reg_fixture("r3", "jkt-3", "code-3", now + 900);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(confirm(fx->fx_store, "r3", NULL, now), SL_OK);

	/* r1's code: r2 counts one, r1 none. */
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-1", now, 4, &got), SL_OK);
	assert_string_equal(got.sr_id, "r1");
	assert_int_equal(got.sr_code_wrong, 0);
	store_sid_registration_clear(&got);
	assert_int_equal(code_wrong_of(fx->fx_store, "r2"), 1);
	assert_int_equal(code_wrong_of(fx->fx_store, "r1"), 0);
	assert_int_equal(code_wrong_of(fx->fx_store, "r3"), 0);

	for (int i = 0; i < WRONG_THREADS; i++)
		jobs[i] = (struct race_job){ .rj_now = now };
	race(fx->fx_store, jobs, WRONG_THREADS, wrong_worker);
	for (int i = 0; i < WRONG_THREADS; i++)
		assert_int_equal(jobs[i].rj_rc, SL_ENOTFOUND); /* a wrong code finds nothing */
	assert_int_equal(code_wrong_of(fx->fx_store, "r1"), 4);
	assert_int_equal(code_wrong_of(fx->fx_store, "r2"), 4);
	assert_int_equal(code_wrong_of(fx->fx_store, "r3"), 0); /* not at "code" */

	/* Dead: the right code finds it, refused. */
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-1", now, 4, &got), SL_EDENIED);
	assert_string_equal(got.sr_id, "r1");
	store_sid_registration_clear(&got);
	/* With a higher cap it would count again: the cap is the caller's. */
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-x", now, 5, &got), SL_ENOTFOUND);
	assert_int_equal(code_wrong_of(fx->fx_store, "r1"), 5);
	/* Expired registrations count nothing. */
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-x", now + 900, 9, &got), SL_ENOTFOUND);
	assert_int_equal(code_wrong_of(fx->fx_store, "r1"), 5);
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, NULL, now, 4, &got), SL_EINVAL);
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-1", now, 0, &got), SL_EINVAL);
}

#define EXTEND_THREADS 6

static void *
extend_worker(void *arg)
{
	struct race_job *j = arg;

	j->rj_rc = store_sid_registration_extend(j->rj_store, j->rj_key, j->rj_now + 120, j->rj_now + 900, 10, 4);
	return NULL;
}

/* More time for a code: a new end, counted, only when it ends within the
 * warning's window (`near`); at most `max_times`; none when expired, dead
 * or confirmed; racing presses extend once (the first moves the end out
 * of the window). */
static void
test_registration_extend(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_registration r = reg_fixture("r1", "jkt-1", "code-1", now + 20), got;
	struct race_job jobs[EXTEND_THREADS];

	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	for (int i = 0; i < EXTEND_THREADS; i++)
		jobs[i] = (struct race_job){ .rj_key = "r1", .rj_now = now };
	race(fx->fx_store, jobs, EXTEND_THREADS, extend_worker);
	race_winner(jobs, EXTEND_THREADS, SL_ECONFLICT);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_int_equal(got.sr_extended, 1);
	assert_int_equal(got.sr_expires, now + 900);
	store_sid_registration_clear(&got);
	/* More than the window left: nothing, not counted. */
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 120, now + 901, 10, 4), SL_ECONFLICT);
	/* Within it (the window as far as its end): up to max_times, then no more. */
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 900, now + 901, 2, 4), SL_OK);
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 901, now + 902, 2, 4), SL_ECONFLICT);
	assert_int_equal(store_sid_registration_get(fx->fx_store, "r1", &got), SL_OK);
	assert_int_equal(got.sr_extended, 2);
	assert_int_equal(got.sr_expires, now + 901);
	store_sid_registration_clear(&got);
	assert_int_equal(
		store_sid_registration_extend(fx->fx_store, "nope", now + 120, now + 902, 10, 4), SL_ENOTFOUND);
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now - 2, now - 1, 10, 4), SL_EINVAL);
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 902, now + 902, 10, 4), SL_EINVAL);
	/* Dead by wrong tries: left alone. */
	assert_int_equal(store_sid_registration_try_code(fx->fx_store, "code-x", now, 1, &got), SL_ENOTFOUND);
	assert_int_not_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 901, now + 903, 10, 1), SL_OK);
	/* Confirmed: no more time for the code. */
	assert_int_equal(confirm(fx->fx_store, "r1", NULL, now), SL_OK);
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r1", now + 901, now + 903, 10, 4), SL_ECONFLICT);
	/* Expired: over. */
	r = reg_fixture("r2", "jkt-2", "code-2", now - 1);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r), SL_OK);
	assert_int_equal(store_sid_registration_extend(fx->fx_store, "r2", now + 120, now + 900, 10, 4), SL_EEXPIRED);
}

/* More time for a visit, as for a code. */
static void
test_visit_extend(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_visit v = { .sv_id = (char *)"v1", .sv_person = (char *)"{}", .sv_expires = now + 20 }, got;

	assert_int_equal(store_sid_visit_put(fx->fx_store, &v), SL_OK);
	assert_int_equal(store_sid_visit_extend(fx->fx_store, "v1", now + 120, now + 900, 1), SL_OK);
	assert_int_equal(store_sid_visit_get(fx->fx_store, "v1", now, &got), SL_OK);
	assert_int_equal(got.sv_extended, 1);
	assert_int_equal(got.sv_expires, now + 900);
	store_sid_visit_clear(&got);
	assert_int_equal(store_sid_visit_extend(fx->fx_store, "v1", now + 120, now + 901, 10), SL_ECONFLICT);
	assert_int_equal(store_sid_visit_extend(fx->fx_store, "v1", now + 900, now + 901, 1), SL_ECONFLICT);
	assert_int_equal(store_sid_visit_extend(fx->fx_store, "nope", now + 120, now + 901, 10), SL_ENOTFOUND);
	v = (struct store_sid_visit){ .sv_id = (char *)"v2", .sv_person = (char *)"{}", .sv_expires = now - 1 };
	assert_int_equal(store_sid_visit_put(fx->fx_store, &v), SL_OK);
	assert_int_equal(store_sid_visit_extend(fx->fx_store, "v2", now + 120, now + 900, 10), SL_EEXPIRED);
}

/* ---- visits ---- */

static void
test_visit_tries_bounded(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_visit v = { .sv_id = (char *)"v1",
		.sv_person = (char *)"{\"given_name\":\"An\"}",
		.sv_expires = now + 600 },
			       got;
	int tries = -1;

	assert_int_equal(store_sid_visit_put(fx->fx_store, &v), SL_OK);
	assert_int_equal(store_sid_visit_put(fx->fx_store, &v), SL_ECONFLICT);
	assert_int_equal(store_sid_visit_get(fx->fx_store, "v1", now, &got), SL_OK);
	assert_string_equal(got.sv_person, "{\"given_name\":\"An\"}");
	assert_null(got.sv_email);
	assert_int_equal(got.sv_code_tries, 0);
	store_sid_visit_clear(&got);
	assert_int_equal(store_sid_visit_get(fx->fx_store, "v1", now + 600, &got), SL_ENOTFOUND);
	assert_int_equal(store_sid_visit_answer(fx->fx_store, "v1", "an@example.be", "+32470000001"), SL_OK);
	for (int n = 1; n <= 5; n++) {
		assert_int_equal(store_sid_visit_charge(fx->fx_store, "v1", 5, &tries), SL_OK);
		assert_int_equal(tries, n);
	}
	assert_int_equal(store_sid_visit_charge(fx->fx_store, "v1", 5, &tries), SL_EDENIED);
	assert_int_equal(store_sid_visit_charge(fx->fx_store, "nope", 5, &tries), SL_EDENIED);
	assert_int_equal(store_sid_visit_set_registration(fx->fx_store, "v1", "r1"), SL_OK);
	assert_int_equal(store_sid_visit_get(fx->fx_store, "v1", now, &got), SL_OK);
	assert_string_equal(got.sv_email, "an@example.be");
	assert_string_equal(got.sv_phone, "+32470000001");
	assert_string_equal(got.sv_registration_id, "r1");
	assert_int_equal(got.sv_code_tries, 5);
	store_sid_visit_clear(&got);
	assert_int_equal(store_sid_visit_answer(fx->fx_store, "nope", "a", "b"), SL_ENOTFOUND);
	assert_int_equal(store_sid_visit_set_registration(fx->fx_store, "nope", "r1"), SL_ENOTFOUND);
	assert_int_equal(store_sid_visit_delete(fx->fx_store, "v1"), SL_OK);
	assert_int_equal(store_sid_visit_delete(fx->fx_store, "v1"), SL_ENOTFOUND);
	assert_int_equal(store_sid_visit_get(fx->fx_store, "v1", now, &got), SL_ENOTFOUND);
	v.sv_person = NULL;
	assert_int_equal(store_sid_visit_put(fx->fx_store, &v), SL_EINVAL);
}

/* ---- purge ---- */

static void
test_purge_sid_rows(void **state)
{
	struct fixture *fx = *state;
	int64_t now = sl_now();
	struct store_sid_account acc = { 0 };
	struct store_sid_device dev;
	struct sl_err err = { 0 };
	struct store_sid_registration r_recent = reg_fixture("r-recent", "jkt-r", "code-r", now + 900);
	struct store_sid_registration r_live = reg_fixture("r-live", "jkt-l", "code-l", now + 900);
	struct store_sid_request q_gone = request_fixture("q-gone", "acc", now - 3601);
	struct store_sid_request q_recent = request_fixture("q-recent", "acc", now - 60);
	struct store_sid_request q_live = request_fixture("q-live", "acc", now + 60);
	struct store_sid_visit v_old = { .sv_id = (char *)"v-old", .sv_person = (char *)"{}", .sv_expires = now - 1 };
	struct store_sid_visit v_new = { .sv_id = (char *)"v-new", .sv_person = (char *)"{}", .sv_expires = now + 60 };
	char sql[128];

	/* The registration that made the device expired over an hour ago. */
	assert_int_equal(
		register_device(fx->fx_store, "r-gone", "jkt-1", RRN_AN, "PNOBE-" RRN_AN "-AAAA-Q", &acc, &dev, &err),
		SL_OK);
	assert_int_equal(raw_exec(fx->fx_path, "UPDATE sid_registrations SET expires = 1"), SQLITE_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r_recent), SL_OK);
	assert_int_equal(store_sid_registration_put(fx->fx_store, &r_live), SL_OK);
	/* Expired a minute ago: kept an hour for the app to learn how it ended. */
	snprintf(sql, sizeof(sql), "UPDATE sid_registrations SET expires = %lld WHERE id = 'r-recent'",
		(long long)now - 60);
	assert_int_equal(raw_exec(fx->fx_path, sql), SQLITE_OK);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q_gone), SL_OK);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q_recent), SL_OK);
	assert_int_equal(store_sid_request_put(fx->fx_store, &q_live), SL_OK);
	assert_int_equal(store_sid_visit_put(fx->fx_store, &v_old), SL_OK);
	assert_int_equal(store_sid_visit_put(fx->fx_store, &v_new), SL_OK);

	assert_int_equal(store_purge_expired(fx->fx_store, now), 3);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations WHERE id = 'r-gone'"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_requests WHERE id = 'q-gone'"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_requests"), 2);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_visits WHERE id = 'v-old'"), 0);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_visits"), 1);
	/* Never the durable records. */
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_accounts"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_devices"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_keys"), 2);
	/* An hour later the rest of the expired ones go too. */
	assert_int_equal(store_purge_expired(fx->fx_store, now + 3600), 3);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations WHERE id = 'r-live'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_registrations"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_requests WHERE id = 'q-live'"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_requests"), 1);
	assert_int_equal(raw_count(fx->fx_path, "SELECT count(*) FROM sid_visits"), 0);
	store_sid_account_clear(&acc);
	store_sid_device_clear(&dev);
}

static void
test_clear_null_safe(void **state)
{
	struct store_sid_account a = { .sa_email = strdup("x") };
	struct store_sid_device d = { .sd_reason = strdup("x") };
	struct store_sid_key k = { .sk_sealed = strdup("x") };
	struct store_sid_registration r = { .sr_challenge = strdup("x") };
	struct store_sid_visit v = { .sv_phone = strdup("x") };
	struct store_sid_request q = { .sq_signature = strdup("x") };

	(void)state;
	store_sid_account_clear(NULL);
	store_sid_device_clear(NULL);
	store_sid_key_clear(NULL);
	store_sid_registration_clear(NULL);
	store_sid_visit_clear(NULL);
	store_sid_request_clear(NULL);
	store_sid_account_clear(&a);
	store_sid_device_clear(&d);
	store_sid_key_clear(&k);
	store_sid_registration_clear(&r);
	store_sid_visit_clear(&v);
	store_sid_request_clear(&q);
	assert_null(a.sa_email);
	assert_null(d.sd_reason);
	assert_null(k.sk_sealed);
	assert_null(r.sr_challenge);
	assert_null(v.sv_phone);
	assert_null(q.sq_signature);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_migrates_v7_database),
		T(test_migrates_v8_registrations),
		T(test_registration_put_get),
		T(test_registration_uniqueness),
		T(test_registration_jkt_of_device),
		T(test_registration_by_code),
		T(test_registration_confirm_once),
		T(test_registration_recall_keys_fail),
		T(test_registration_recall_charge_concurrent),
		T(test_registration_set_keys_cas),
		T(test_registration_set_keys_expired),
		T(test_finish_creates_account_device_keys),
		T(test_finish_retried),
		T(test_finish_second_device_reuses_account),
		T(test_finish_refusals_atomic),
		T(test_finish_room_in_transaction),
		T(test_finish_room_concurrent),
		T(test_account_status),
		T(test_device_lookups_touch),
		T(test_request_put_bounded),
		T(test_request_put_bounded_race),
		T(test_device_end_fails_pending),
		T(test_key_lockout_schedule),
		T(test_key_lockout_concurrent),
		T(test_key_advance_cas),
		T(test_key_unlock),
		T(test_key_refund_cas),
		T(test_key_reseal_cas),
		T(test_request_lifecycle),
		T(test_visit_tries_bounded),
		T(test_registration_code_wrong_cap),
		T(test_registration_extend),
		T(test_visit_extend),
		T(test_purge_sid_rows),
		cmocka_unit_test(test_clear_null_safe),
	};

	sl_log_set_level(SL_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
