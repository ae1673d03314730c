/*
 * reg_recall.c — the end of a Smart-ID registration (docs/smartid-api.md
 * "POST /register/finish"): the recall check, the certificates, the device.
 *
 * After the portal confirmed, the app asks PIN1 and PIN2 again and signs
 * the registration's challenge with each key.  Both keys are checked on
 * every try, exactly as a login would check them (sk_server_complete on
 * the server key sealed at rest).  [smartid] recall_tries tries (PIN
 * pairs) in all; then "failed" and the keys are useless: start again.
 *
 * The order is what bounds the guesses, also for parallel tries:
 *   1. what can be refused without a PIN is refused first and costs
 *      nothing: a part that does not open (400 invalid_request), a
 *      version the server has passed or one too far ahead (400
 *      invalid_version);
 *   2. the try is charged, in one conditional statement
 *      (store_sid_registration_recall_charge), BEFORE any key is
 *      completed: once the tries are used up (charged by tries still in
 *      flight too) nothing is tested and every answer is the same 403
 *      registration_failed, whatever the PINs;
 *   3. both keys are completed.  The try is given back
 *      (store_sid_registration_recall_refund) only when it tested nothing
 *      (both parts malformed; a server failure) or when the pair was right
 *      but the finish refused it (too many devices, a blocked account,
 *      ...): a right pair proves the PINs, so giving its try back lets no
 *      one guess more.  A right pair whose finish succeeds ends the
 *      registration.  A wrong one (a key wrong, or its part malformed once
 *      the other was tested) keeps its charge; its right key, if any, is
 *      stored advanced by a compare-and-swap on the versions read (a try
 *      that lost the race to another answers 409 already_answered).
 *
 * With both right, the Smart-ID CA of the [pki] dir issues the two
 * certificates for the composite keys (pki_smartid_issue: subject
 * serialNumber PNOBE-<rrn>, GN, SN, C=BE; a document number per device),
 * and store_sid_registration_finish makes, in one transaction, the person,
 * the account (or reuses the person's account: a second device, refused
 * there, inside the transaction, when blocked or at [smartid]
 * max_devices) and the device with its two keys, sealed at rest under the
 * device's id.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "sid_reg_int.h"
#include "../app/app.h"
#include "../../pki/pki.h"

/* One key's try at the recall check. */
struct recall {
	struct sk_server_key rc_key; /* the registration's, its public part (sid_key_open) */
	const char *rc_owner; /* the registration id (the key's AAD) */
	const char *rc_sealed; /* the registration's sealed key */
	struct sid_completion rc_done; /* the key holder's answer: on SK_OK the advanced key, sealed */
	uint64_t rc_version; /* the device's */
	uint8_t *rc_part, *rc_em;
	size_t rc_partlen, rc_emlen;
	enum sk_verdict rc_verdict;
};

/* SHA-256("sleutel smartid recall v1" 0 id 0 use 0 challenge). */
static int
recall_hash(const struct store_sid_registration *r, const char *use, uint8_t out[SL_SHA256_LEN])
{
	size_t clen = 0, n = 0;
	uint8_t *challenge = r->sr_challenge ? sl_b64url_decode(r->sr_challenge, strlen(r->sr_challenge), &clen) : NULL;
	uint8_t buf[sizeof(SID_RECALL_TAG) + 3 + 64 + 8 + SID_REG_CHALLENGE_LEN];
	size_t idlen = strlen(r->sr_id), uselen = strlen(use);
	int rc = SL_EINVAL;

	if (challenge != NULL && clen == SID_REG_CHALLENGE_LEN && idlen <= 64 && uselen <= 8) {
		memcpy(buf, SID_RECALL_TAG, sizeof(SID_RECALL_TAG)); /* with its 0 */
		n = sizeof(SID_RECALL_TAG);
		memcpy(buf + n, r->sr_id, idlen + 1);
		n += idlen + 1;
		memcpy(buf + n, use, uselen + 1);
		n += uselen + 1;
		memcpy(buf + n, challenge, clen);
		n += clen;
		rc = crypto_sha256(buf, n, out);
	}
	free(challenge);
	return rc;
}

/* The body's {"version", "part"} for key `i`, unsealed; SL_EINVAL for a
 * bad one (err says which). */
static int
recall_part(struct server *srv, json_t *body, const struct store_sid_registration *r, int i, struct recall *k,
	struct sl_err *err)
{
	const char *use = sid_uses[i], *kid = app_json_str(body, "seal_kid", APP_KID_MAX);
	json_t *o = json_object_get(body, use);
	const char *sealed = app_json_str(o, "part", APP_SEALED_BIG_MAX);
	json_t *v = json_object_get(o, "version");
	char aad[SID_REG_AAD_MAX];

	if (kid == NULL || sealed == NULL || !json_is_integer(v) || json_integer_value(v) < 0)
		return sl_fail(err, SL_EINVAL, "%s: {\"version\", \"part\"} and seal_kid expected", use);
	k->rc_version = (uint64_t)json_integer_value(v);
	sid_key_aad(r->sr_id, use, aad, sizeof(aad));
	if (app_unseal_b64_big(srv, kid, sealed, aad, &k->rc_part, &k->rc_partlen, err) != SL_OK)
		return SL_EINVAL;
	return SL_OK;
}

/* Everything of key `i` but its completion: the part, the server key, what
 * is signed.  SL_EINVAL (a bad body), SL_ECRYPTO (the server's). */
static int
recall_prepare(struct server *srv, json_t *body, const struct store_sid_registration *r, int i, struct recall *k,
	struct sl_err *err)
{
	const char *sealed = i == 0 ? r->sr_auth_sealed : r->sr_sign_sealed;
	uint8_t hash[SL_SHA256_LEN];
	int rc = recall_part(srv, body, r, i, k, err);

	k->rc_owner = r->sr_id;
	k->rc_sealed = sealed;
	if (rc == SL_OK && sid_key_open(srv, r->sr_id, sid_uses[i], sealed, &k->rc_key, err) != SL_OK)
		rc = SL_ECRYPTO;
	if (rc == SL_OK && (recall_hash(r, sid_uses[i], hash) != SL_OK ||
				   sk_encode(k->rc_key.sk_n, SK_PKCS1, "SHA256", hash, sizeof(hash), &k->rc_em,
					   &k->rc_emlen, err) != SL_OK))
		rc = SL_ECRYPTO;
	return rc;
}

/* Ahead of the server's version by 1..SK_MAX_SKIP (sk_server_complete's
 * rule, checked before the try is charged). */
static bool
recall_version_ok(const struct recall *k)
{
	return k->rc_version > k->rc_key.sk_version && k->rc_version - k->rc_key.sk_version <= SK_MAX_SKIP;
}

/* Complete key `k` in the key holder: its verdict. */
static void
recall_complete(struct server *srv, int i, struct recall *k)
{
	struct sl_err err = { 0 };

	if (sid_key_complete(srv, k->rc_owner, sid_uses[i], k->rc_sealed, k->rc_em, k->rc_emlen, k->rc_version,
		    k->rc_part, k->rc_partlen, &k->rc_done, &err) != SL_OK) {
		log_warn("smartid registration %s: %s", k->rc_owner, err.msg);
		k->rc_verdict = SK_ERROR;
		return;
	}
	k->rc_verdict = k->rc_done.sc_verdict;
	if (k->rc_verdict == SK_OK)
		k->rc_key.sk_version = k->rc_done.sc_version;
}

/* Was the key's PIN tested (right or wrong)? */
static bool
recall_tested(const struct recall *k)
{
	return k->rc_verdict == SK_OK || k->rc_verdict == SK_WRONG_PIN;
}

static void
recall_clear(struct recall *k)
{
	sk_server_key_clear(&k->rc_key);
	sid_completion_clear(&k->rc_done);
	if (k->rc_part != NULL)
		OPENSSL_clear_free(k->rc_part, k->rc_partlen);
	free(k->rc_em);
	memset(k, 0, sizeof(*k));
}

static void
send_failed(struct http_request *rq)
{
	app_send_error(rq, 403, "registration_failed", "Too many wrong PINs; start the registration again.", NULL);
}

/* An audit record of a recall step: the person the portal confirmed (its
 * visit's person id travels in sr_person) and which registration. */
static void
recall_audit(struct server *srv, struct http_request *rq, const struct store_sid_registration *r, const char *result)
{
	json_t *o = r->sr_person ? json_loads(r->sr_person, 0, NULL) : NULL;
	char detail[128];

	snprintf(detail, sizeof(detail), "registration %s: recall check", r->sr_id);
	sid_reg_audit(srv, rq, "smartid.register", result, json_string_value(json_object_get(o, "id")), detail);
	json_decref(o);
}

/* ---- both right: certificates and the device ---- */

struct finish {
	struct store_person fi_person;
	struct pki_smartid fi_certs;
	struct store_sid_device fi_dev;
	struct store_sid_key fi_keys[2];
	struct store_sid_account fi_account;
	char *fi_dev_id;
};

static void
finish_clear(struct finish *f)
{
	store_person_clear(&f->fi_person);
	pki_smartid_clear(&f->fi_certs);
	for (int i = 0; i < 2; i++)
		free(f->fi_keys[i].sk_sealed);
	store_sid_account_clear(&f->fi_account);
	store_sid_device_clear(&f->fi_dev);
	free(f->fi_dev_id);
}

/* The person the portal's eID login found (sr_person JSON). */
static int
finish_person(const struct store_sid_registration *r, struct store_person *p)
{
	json_t *o = r->sr_person ? json_loads(r->sr_person, 0, NULL) : NULL;

	memset(p, 0, sizeof(*p));
	p->p_rrn = sl_strdup(json_string_value(json_object_get(o, "rrn")));
	p->p_given_name = sl_strdup(json_string_value(json_object_get(o, "given_name")));
	p->p_family_name = sl_strdup(json_string_value(json_object_get(o, "family_name")));
	p->p_birthdate = sl_strdup(json_string_value(json_object_get(o, "birthdate")));
	json_decref(o);
	return p->p_rrn && p->p_given_name && p->p_family_name ? SL_OK : SL_EINVAL;
}

/* The certificates of the two composite keys. */
static int
finish_certs(struct server *srv, struct recall *keys, struct finish *f, struct sl_err *err)
{
	EVP_PKEY *auth = sk_public_key(&keys[0].rc_key, err), *sign = sk_public_key(&keys[1].rc_key, err);
	struct pki_signer kh = { keyholder_pki_sign, srv->sv_kh,
		keyholder_pki_smartid_ca }; /* the CA keys, and the root's, are the key holder's */
	struct pki_smartid_opts o = { .so_signer = &kh,
		.so_given = f->fi_person.p_given_name,
		.so_family = f->fi_person.p_family_name,
		.so_rrn = f->fi_person.p_rrn,
		.so_auth_pub = auth,
		.so_sign_pub = sign };
	int rc = auth && sign ? pki_smartid_issue(srv->sv_conf->c_pki_dir, &o, &f->fi_certs, err) : SL_ECRYPTO;

	EVP_PKEY_free(auth);
	EVP_PKEY_free(sign);
	return rc;
}

/* The device and its keys, sealed under the device's id. */
static int
finish_records(struct server *srv, struct recall *keys, struct finish *f, struct sl_err *err)
{
	const char *pem[2] = { f->fi_certs.sm_auth_pem, f->fi_certs.sm_sign_pem };
	const char *serial[2] = { f->fi_certs.sm_auth_serial, f->fi_certs.sm_sign_serial };

	f->fi_dev_id = sl_random_name(16);
	if (f->fi_dev_id == NULL)
		return sl_fail(err, SL_ENOMEM, "out of memory");
	for (int i = 0; i < 2; i++) {
		f->fi_keys[i] = (struct store_sid_key){ .sk_use = (char *)sid_uses[i],
			.sk_sealed = sid_key_reseal(
				srv, keys[i].rc_owner, sid_uses[i], keys[i].rc_done.sc_sealed, f->fi_dev_id, err),
			.sk_version = (int64_t)keys[i].rc_key.sk_version,
			.sk_cert_pem = (char *)pem[i],
			.sk_cert_serial = (char *)serial[i] };
		if (f->fi_keys[i].sk_sealed == NULL)
			return SL_ECRYPTO;
	}
	/* The store owns the record's fields (it fills in the account, the
	 * transport key and the name from the registration). */
	memset(&f->fi_dev, 0, sizeof(f->fi_dev));
	f->fi_dev.sd_id = strdup(f->fi_dev_id);
	f->fi_dev.sd_document = strdup(f->fi_certs.sm_document);
	return f->fi_dev.sd_id && f->fi_dev.sd_document ? SL_OK : sl_fail(err, SL_ENOMEM, "out of memory");
}

/* May the person's account take this device?  An early answer that spares
 * the CA a pair of certificates; the store decides again inside the
 * finish's transaction (racing finishes pass this together).  SL_OK;
 * SL_EDENIED when the operator blocked it; SL_ETOOBIG at [smartid]
 * max_devices active (the store's codes). */
static int
finish_room(struct server *srv, const struct store_person *p)
{
	struct store_sid_account a;
	int n = 0, rc = SL_OK;

	if (store_sid_account_by_rrn(srv->sv_store, p->p_rrn, &a) != SL_OK)
		return SL_OK; /* a first device: the account is made at the finish */
	if (strcmp(a.sa_status, "active") != 0)
		rc = SL_EDENIED;
	else if (store_sid_device_count_active(srv->sv_store, a.sa_id, &n) != SL_OK ||
		 n >= srv->sv_conf->c_sid_max_devices)
		rc = SL_ETOOBIG;
	store_sid_account_clear(&a);
	return rc;
}

/* Has the registration failed (its tries used up by others meanwhile)? */
static bool
registration_failed(struct server *srv, const char *id)
{
	struct store_sid_registration now;
	bool failed =
		store_sid_registration_get(srv->sv_store, id, &now) == SL_OK && strcmp(now.sr_status, "failed") == 0;

	store_sid_registration_clear(&now);
	return failed;
}

/* A right pair whose finish was refused: its try is given back (it proved
 * the PINs), and the refusal answered. */
static void
finish_refused(struct server *srv, struct http_request *rq, const struct store_sid_registration *r, int rc,
	const struct sl_err *err)
{
	store_sid_registration_recall_refund(srv->sv_store, r->sr_id);
	if (rc == SL_EDENIED) {
		app_send_error(
			rq, 403, "account_blocked", "This Smart-ID account is blocked; contact the helpdesk.", NULL);
	} else if (rc == SL_ETOOBIG) {
		app_send_error(rq, 409, "too_many_devices", "This account has as many devices as it may have.",
			json_pack("{s:i}", "max_devices", srv->sv_conf->c_sid_max_devices));
	} else if (rc == SL_EEXPIRED) {
		app_send_error(rq, 410, "registration_expired", "This registration has expired; start again.", NULL);
	} else if (rc == SL_ECONFLICT && registration_failed(srv, r->sr_id)) {
		send_failed(rq);
	} else {
		log_warn("smartid registration %s: %s", r->sr_id, err->msg[0] ? err->msg : sl_strerror(rc));
		app_send_error(rq, rc == SL_ECONFLICT ? 409 : 500,
			rc == SL_ECONFLICT ? "not_confirmed" : "server_error",
			"The registration could not be finished.", NULL);
	}
}

/* The person's account page and other devices are told a device was
 * added (logged when it cannot be written: the registration stands). */
static void
sid_reg_notice(struct server *srv, const char *person_id, const char *device_id, const char *name)
{
	struct store_notice n = { .nt_person_id = (char *)person_id,
		.nt_kind = (char *)"device.added",
		.nt_device_kind = (char *)"smartid",
		.nt_device_id = (char *)device_id,
		.nt_device_name = (char *)name };

	if (person_id == NULL || device_id == NULL || store_notice_add(srv->sv_store, &n) != SL_OK)
		log_warn("Smart-ID registration: the notice of a new device was not recorded");
	free(n.nt_id);
}

static void
finish_done(struct server *srv, struct http_request *rq, const struct store_sid_registration *r, struct recall *keys)
{
	struct finish f;
	struct sl_err err = { 0 };
	char wk[128];
	int rc;

	memset(&f, 0, sizeof(f));
	rc = finish_person(r, &f.fi_person);
	if (rc == SL_OK)
		rc = finish_room(srv, &f.fi_person);
	if (rc == SL_OK)
		rc = finish_certs(srv, keys, &f, &err);
	if (rc == SL_OK)
		rc = finish_records(srv, keys, &f, &err);
	if (rc == SL_OK)
		rc = store_sid_registration_finish(srv->sv_store, r->sr_id, srv->sv_conf->c_sid_max_devices,
			&f.fi_person, &f.fi_dev, &f.fi_keys[0], &f.fi_keys[1], &f.fi_account, sl_now(), &err);
	if (rc != SL_OK && f.fi_certs.sm_auth_serial != NULL) {
		/* Issued, but no device holds them (a lost race, a full or
		 * blocked account, an expiry, the store): they must not stay
		 * good in OCSP. */
		const char *const issued[] = { f.fi_certs.sm_auth_serial, f.fi_certs.sm_sign_serial };
		sid_certs_revoke(srv, issued, 2);
	}
	if (rc != SL_OK) {
		finish_refused(srv, rq, r, rc, &err);
	} else {
		sid_reg_audit(srv, rq, "smartid.register", "ok", f.fi_person.p_id, f.fi_certs.sm_document);
		sid_reg_notice(srv, f.fi_person.p_id, f.fi_dev_id, f.fi_dev.sd_name);
		sid_registration_wait_key(r->sr_id, wk, sizeof(wk));
		server_wake(srv, wk);
		http_send_json(rq, 201,
			json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "account_id", f.fi_account.sa_id, "device_id",
				f.fi_dev_id, "document_number", f.fi_certs.sm_document, "certificates", "auth",
				f.fi_certs.sm_auth_pem, "sign", f.fi_certs.sm_sign_pem));
	}
	finish_clear(&f);
}

/* ---- a wrong PIN (or two) ---- */

/* Keep the right key advanced: a compare-and-swap on the versions this try
 * completed with.  SL_ECONFLICT when another try moved them. */
static int
recall_keep_right(struct server *srv, const struct store_sid_registration *r, struct recall *keys)
{
	struct store_sid_registration upd = *r;
	char *sealed[2] = { NULL, NULL };
	int rc = SL_OK;

	for (int i = 0; i < 2 && rc == SL_OK; i++)
		if (keys[i].rc_verdict == SK_OK && (sealed[i] = sl_strdup(keys[i].rc_done.sc_sealed)) == NULL)
			rc = SL_ENOMEM;
	if (rc == SL_OK && (sealed[0] != NULL || sealed[1] != NULL)) {
		if (sealed[0] != NULL) {
			upd.sr_auth_sealed = sealed[0];
			upd.sr_auth_version = (int64_t)keys[0].rc_key.sk_version;
		}
		if (sealed[1] != NULL) {
			upd.sr_sign_sealed = sealed[1];
			upd.sr_sign_version = (int64_t)keys[1].rc_key.sk_version;
		}
		rc = store_sid_registration_set_keys(srv->sv_store, &upd, r->sr_auth_version, r->sr_sign_version);
	}
	if (rc != SL_OK && rc != SL_ECONFLICT)
		log_warn("smartid registration %s: the right key not kept: %s", r->sr_id, sl_strerror(rc));
	free(sealed[0]);
	free(sealed[1]);
	return rc;
}

/* A try that tested a wrong PIN: it keeps its charge (`tries`, counting
 * this one).  The last one fails the registration. */
static void
recall_wrong(
	struct server *srv, struct http_request *rq, struct store_sid_registration *r, struct recall *keys, int tries)
{
	int max = srv->sv_conf->c_sid_recall_tries;
	json_t *wrong;

	if (tries >= max) {
		store_sid_registration_fail(srv->sv_store, r->sr_id);
		recall_audit(srv, rq, r, "failed");
		send_failed(rq);
		return;
	}
	recall_audit(srv, rq, r, "wrong_pin");
	if (recall_keep_right(srv, r, keys) == SL_ECONFLICT) {
		app_send_error(
			rq, 409, "already_answered", "Another try overtook this one; check the registration.", NULL);
		return;
	}
	wrong = json_array();
	for (int i = 0; i < 2; i++)
		if (keys[i].rc_verdict != SK_OK)
			json_array_append_new(wrong, json_string(sid_uses[i]));
	app_send_error(rq, 400, "wrong_pin", "A PIN was not the one chosen.",
		json_pack("{s:o,s:i}", "keys", wrong, "attempts_left", max - tries));
}

/* The registration may be checked now; false when answered. */
static bool
recall_ready(struct server *srv, struct http_request *rq, const struct store_sid_registration *r)
{
	if (!sid_reg_live(rq, r))
		return false;
	if (strcmp(r->sr_status, "failed") == 0 || r->sr_recall_failures >= srv->sv_conf->c_sid_recall_tries) {
		send_failed(rq);
		return false;
	}
	if (strcmp(r->sr_status, "confirmed") != 0) {
		app_send_error(rq, 409, "not_confirmed", "Confirm the registration on the portal first.", NULL);
		return false;
	}
	return true;
}

/* Step 1: both keys ready and their versions in range, nothing charged;
 * false when answered. */
static bool
recall_inputs(struct server *srv, struct http_request *rq, json_t *body, const struct store_sid_registration *r,
	struct recall *keys)
{
	struct sl_err err = { 0 };
	int rc = SL_OK;

	for (int i = 0; i < 2 && rc == SL_OK; i++)
		rc = recall_prepare(srv, body, r, i, &keys[i], &err);
	if (rc == SL_EINVAL)
		app_send_error(rq, 400, "invalid_request", err.msg, NULL);
	else if (rc != SL_OK)
		app_send_error(rq, 500, "server_error", "The PINs could not be checked; try again.", NULL);
	else if (!recall_version_ok(&keys[0]) || !recall_version_ok(&keys[1]))
		app_send_error(rq, 400, "invalid_version", "version: not ahead of the server by 1..64", NULL);
	return rc == SL_OK && recall_version_ok(&keys[0]) && recall_version_ok(&keys[1]);
}

/* Step 2: charge the try; false when answered (the tries are used up, or
 * the registration moved on). */
static bool
recall_charge(struct server *srv, struct http_request *rq, const struct store_sid_registration *r, int *tries)
{
	int rc = store_sid_registration_recall_charge(srv->sv_store, r->sr_id, srv->sv_conf->c_sid_recall_tries, tries);

	if (rc == SL_EDENIED)
		send_failed(rq);
	else if (rc == SL_ECONFLICT || rc == SL_ENOTFOUND)
		app_send_error(rq, 409, "not_confirmed", "This registration is not waiting for the PINs.", NULL);
	else if (rc != SL_OK)
		app_send_error(rq, 500, "server_error", "The PINs could not be checked; try again.", NULL);
	return rc == SL_OK;
}

/* Step 3: both keys completed; answer. */
static void
recall_verdict(
	struct server *srv, struct http_request *rq, struct store_sid_registration *r, struct recall *keys, int tries)
{
	if (keys[0].rc_verdict == SK_ERROR || keys[1].rc_verdict == SK_ERROR) {
		/* The server's failure, not the person's: the try back. */
		store_sid_registration_recall_refund(srv->sv_store, r->sr_id);
		app_send_error(rq, 500, "server_error", "The PINs could not be checked; try again.", NULL);
	} else if (keys[0].rc_verdict == SK_OK && keys[1].rc_verdict == SK_OK) {
		finish_done(srv, rq, r, keys);
	} else if (!recall_tested(&keys[0]) && !recall_tested(&keys[1])) {
		/* Both parts malformed: nothing was tested. */
		store_sid_registration_recall_refund(srv->sv_store, r->sr_id);
		app_send_error(rq, 400, "invalid_version", "part: not a partial signature at this version", NULL);
	} else {
		recall_wrong(srv, rq, r, keys, tries);
	}
}

void
sid_register_finish(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_sid_registration r;
	struct recall keys[2];
	json_t *body;
	int tries = 0;

	memset(keys, 0, sizeof(keys));
	if (sid_reg_authenticate(srv, rq, &r) != SL_OK)
		return;
	body = app_json_body(rq);
	if (body != NULL && recall_ready(srv, rq, &r) && recall_inputs(srv, rq, body, &r, keys) &&
		recall_charge(srv, rq, &r, &tries)) {
		for (int i = 0; i < 2; i++)
			recall_complete(srv, i, &keys[i]);
		recall_verdict(srv, rq, &r, keys, tries);
	}
	for (int i = 0; i < 2; i++)
		recall_clear(&keys[i]);
	json_decref(body);
	store_sid_registration_clear(&r);
}
