/*
 * sid_confirm.c — POST /device/v1/smartid/requests/{id}: the person refuses
 * a request, or confirms it with PIN1 (docs/smartid-api.md; DESIGN §4
 * lockout schedule and clone detection; docs/splitkey.md).
 *
 * Order matters, so that nothing but a real wrong PIN counts a failure:
 *   1. the device's proof; the request is this account's and, when it is
 *      only for one device (sq_device_only), this device's (else 404),
 *      pending (409 already_answered), not expired (410 request_expired);
 *   2. refuse: recorded, the login denied (an RP API session: the
 *      reason's end result), done;
 *   2b. an RP API request (docs/smart-id.md "POST /requests/{id}"): the
 *      interaction shown and the userChallenge give the hash to complete
 *      (sidrp_request_digest: 400 invalid_request for a bad one, nothing
 *      charged); a certificate choice is approved here, with no PIN; for
 *      PSS (random salts) the device sends the EM it signed, which must
 *      be a PSS encoding of that hash (sk_encode_check) — checked after
 *      the key is read and before anything is charged;
 *   3. confirm: the body (seal_kid, version, part) and the partial
 *      signature unsealed (aad = request id): a blob that does not open is
 *      malformed (400 invalid_request), not a wrong PIN; a key holder that
 *      does not answer is the server's failure (503);
 *   4. the key's version in clear: a version at or below it is a copied
 *      state (clone: 5b), one more than SK_MAX_SKIP ahead 400
 *      invalid_version — neither is charged;
 *   4b. the server key is opened (at rest, aad "<device id> <use>" as
 *      registration seals it: sid_key_open) and the EM rebuilt from the
 *      STORED request (PSS: checked in 2b): a key that does not open (key
 *      holder busy or gone, a row sealed elsewhere) is the server's
 *      failure, 503 with nothing charged, logged;
 *   5. the try is charged to the key BEFORE the signature is completed
 *      (store_sid_key_attempt: one statement that refuses a locked key and
 *      locks at 3 → 3 h, 6 → 24 h, 9 → for good), so that parallel guesses
 *      cannot outrun the lockout: 403 locked;
 *   6. the signature is completed by the key holder
 *      (sk_server_complete), which checks it with the composite key:
 *        SK_OK          the advanced key replaces the old one (compare and
 *                       swap on the version; a lost race answers as a
 *                       replay: 409), failures back to 0, the request
 *                       approved with the signature, the login completed;
 *        SK_WRONG_PIN   400 wrong_pin: the charge stands; the request
 *                       stays pending unless this try locked the key;
 *        SK_CLONE       5b. the device is revoked ("clone") with its
 *                       requests, audited, 403 device_revoked;
 *        SK_BAD_VERSION 400 invalid_version;
 *        SK_ERROR       the key holder failed (busy, gone): the try is
 *                       given back (store_sid_key_refund, a compare and
 *                       swap on the charge's own count and lock), 503.
 * Neither the partial signature nor the server key is logged or kept in
 * clear; both are cleansed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../../sidproto/sidproto.h"
#include "sid_login_int.h"
#include "sid_reg_int.h"

struct confirm_ctx {
	struct server *cc_srv;
	struct http_request *cc_rq;
	char cc_ipbuf[SERVER_IP_MAX]; /* the audit rows' address */
	struct store_sid_device cc_dev;
	struct store_sid_request cc_req;
	struct store_sid_key cc_key;
	struct sk_server_key cc_sk;
	uint8_t *cc_part; /* unsealed partial signature: cleansed */
	size_t cc_partlen;
	uint64_t cc_version;
	int cc_failures; /* after this try's charge */
	int64_t cc_locked_until;
	bool cc_rp; /* an RP API request: */
	struct sidrp_answer cc_answer; /* what the device said (points into the body) */
	uint8_t cc_hash[64]; /* what the signature is completed over */
	size_t cc_hashlen;
	uint8_t *cc_em; /* PSS: the encoding the device signed, checked (its salt is random) */
	size_t cc_emlen;
};

static void
audit(struct confirm_ctx *cc, const char *result)
{
	struct store_sid_account acct = { 0 };
	struct store_audit au = { .au_event = cc->cc_req.sq_action,
		.au_result = result,
		.au_client_id = cc->cc_req.sq_client_id,
		.au_key = SID_KEY_NAME,
		.au_ip = server_audit_ip(cc->cc_srv, cc->cc_rq, cc->cc_ipbuf),
		.au_detail = cc->cc_req.sq_id };

	if (store_sid_account_get(cc->cc_srv->sv_store, cc->cc_req.sq_account_id, &acct) == SL_OK)
		au.au_person_id = acct.sa_person_id;
	store_audit_add(cc->cc_srv->sv_store, &au);
	metrics_login(cc->cc_srv->sv_metrics, SID_KEY_NAME, strcmp(result, "ok") == 0 ? "ok" : "denied");
	store_sid_account_clear(&acct);
}

/* {"locked_until": t} with -1 for good. */
static json_t *
locked_json(int64_t until)
{
	return json_pack("{s:I}", "locked_until", (json_int_t)(until == STORE_LOCKED_FOREVER ? -1 : until));
}

void
sid_request_finished(
	struct server *srv, const struct store_sid_request *r, const char *status, const struct sidrp_answer *a)
{
	struct store_sid_account acct = { 0 };
	struct store_person person = { 0 };
	struct sl_err err = { 0 };
	char key[128];

	if (strcmp(r->sq_link_kind, "authreq") == 0) {
		if (strcmp(status, "approved") == 0 &&
			store_sid_account_get(srv->sv_store, r->sq_account_id, &acct) == SL_OK &&
			store_person_get(srv->sv_store, acct.sa_person_id, &person) == SL_OK) {
			if (oidc_login_complete(
				    srv, r->sq_link_id, &person, SID_KEY_NAME, OIDC_ACR_HIGH, SID_AMR, &err) != SL_OK)
				log_warn("smartid request %s: the login request is gone: %s", r->sq_id, err.msg);
		} else {
			oidc_login_deny(srv, r->sq_link_id);
		}
	}
	if (sidrp_is_rp_request(r))
		sidrp_request_finished(srv, r, status, a);
	store_person_clear(&person);
	store_sid_account_clear(&acct);
	sid_request_wait_key(r->sq_id, key, sizeof(key));
	server_wake(srv, key);
}

/* Record the outcome once; false when it was answered or expired (sent). */
static bool
record(struct confirm_ctx *cc, const char *status, const char *signature)
{
	int rc = store_sid_request_finish(
		cc->cc_srv->sv_store, cc->cc_req.sq_id, status, cc->cc_dev.sd_id, signature, sl_now());

	if (rc == SL_OK)
		return true;
	if (rc == SL_ECONFLICT)
		app_send_error(cc->cc_rq, 409, "already_answered", "This request was already answered.", NULL);
	else if (rc == SL_EEXPIRED)
		app_send_error(cc->cc_rq, 410, "request_expired", "This request has expired.", NULL);
	else
		app_send_error(cc->cc_rq, 404, "not_found", "No such request.", NULL);
	return false;
}

/* Step 1; false when the answer is sent. */
static bool
load_request(struct confirm_ctx *cc)
{
	char id[APP_ID_MAX + 1];

	if (!sid_path_id(cc->cc_rq, SID_DEVICE_BASE "/requests/", NULL, id) ||
		store_sid_request_get(cc->cc_srv->sv_store, id, &cc->cc_req) != SL_OK ||
		strcmp(cc->cc_req.sq_account_id, cc->cc_dev.sd_account_id) != 0 ||
		!sid_request_for_device(&cc->cc_req, cc->cc_dev.sd_id)) {
		app_send_error(cc->cc_rq, 404, "not_found", "No such request.", NULL);
		return false;
	}
	if (strcmp(cc->cc_req.sq_status, "pending") != 0) {
		app_send_error(cc->cc_rq, 409, "already_answered", "This request was already answered.", NULL);
		return false;
	}
	if (sl_now() >= cc->cc_req.sq_expires) {
		app_send_error(cc->cc_rq, 410, "request_expired", "This request has expired.", NULL);
		return false;
	}
	return true;
}

/* Step 3; false when the answer is sent. */
static bool
parse_confirm(struct confirm_ctx *cc, json_t *body)
{
	const char *kid = app_json_str(body, "seal_kid", APP_KID_MAX);
	const char *part = app_json_str(body, "part", APP_SEALED_BIG_MAX);
	json_t *v = json_object_get(body, "version");
	struct sl_err err = { 0 };
	int rc;

	if (kid == NULL || part == NULL || !json_is_integer(v)) {
		app_send_error(cc->cc_rq, 400, "invalid_request", "seal_kid, version and part are required", NULL);
		return false;
	}
	if (json_integer_value(v) < 1 || (uint64_t)json_integer_value(v) > SK_VERSION_MAX) {
		app_send_error(cc->cc_rq, 400, "invalid_version", "The version is out of range.", NULL);
		return false;
	}
	cc->cc_version = (uint64_t)json_integer_value(v);
	rc = app_unseal_b64_big(cc->cc_srv, kid, part, cc->cc_req.sq_id, &cc->cc_part, &cc->cc_partlen, &err);
	if (rc == SL_EBUSY || rc == SL_ENOMEM || rc == SL_EIO) {
		/* The key holder did not answer: the blob was not judged. */
		log_warn("smartid request %s: the part cannot be unsealed now: %s", cc->cc_req.sq_id, err.msg);
		app_send_error(
			cc->cc_rq, 503, "temporarily_unavailable", "the part cannot be opened now; try again", NULL);
		return false;
	}
	if (rc != SL_OK) {
		app_send_error(cc->cc_rq, 400, "invalid_request", "The sealed partial signature does not open.", NULL);
		return false;
	}
	return true;
}

/* The request ends as "failed" (a clone, a lock): the browser learns at
 * once.  Quiet when it was no longer pending. */
static void
end_failed(struct confirm_ctx *cc)
{
	if (store_sid_request_finish(
		    cc->cc_srv->sv_store, cc->cc_req.sq_id, "failed", cc->cc_dev.sd_id, NULL, sl_now()) == SL_OK)
		sid_request_finished(cc->cc_srv, &cc->cc_req, "failed", NULL);
}

/* 5b: a copied state answered: this device and its copy are revoked, and
 * the login it answered does not go on. */
static void
clone_seen(struct confirm_ctx *cc)
{
	struct store_audit au = { .au_event = "smartid.device.revoke",
		.au_result = "clone",
		.au_key = SID_KEY_NAME,
		.au_ip = server_audit_ip(cc->cc_srv, cc->cc_rq, cc->cc_ipbuf),
		.au_detail = cc->cc_dev.sd_id };
	bool mine;

	/* This request first, with the device that answered (its page says
	 * why); then the device, which tells the account's other logins. */
	mine = store_sid_request_finish(
		       cc->cc_srv->sv_store, cc->cc_req.sq_id, "failed", cc->cc_dev.sd_id, NULL, sl_now()) == SL_OK;

	sid_device_end(cc->cc_srv, &cc->cc_dev, "revoked", "clone");
	if (mine)
		sid_request_finished(cc->cc_srv, &cc->cc_req, "failed", NULL);
	store_audit_add(cc->cc_srv->sv_store, &au);
	audit(cc, "clone");
	log_warn("smartid device %s: a stale version answered: revoked as a clone", cc->cc_dev.sd_id);
	app_send_error(cc->cc_rq, 403, "device_revoked",
		"A copy of this device was seen: this device is revoked. Register again.", NULL);
}

/* Step 4 on the version in clear; false when the answer is sent. */
static bool
check_version(struct confirm_ctx *cc)
{
	if (cc->cc_version <= (uint64_t)cc->cc_key.sk_version) {
		clone_seen(cc);
		return false;
	}
	if (cc->cc_version > (uint64_t)cc->cc_key.sk_version + SK_MAX_SKIP) {
		app_send_error(cc->cc_rq, 400, "invalid_version", "The version is too far ahead of the server.", NULL);
		return false;
	}
	return true;
}

/* Step 5; false when the answer is sent (locked). */
static bool
charge(struct confirm_ctx *cc)
{
	struct server *srv = cc->cc_srv;
	struct store_sid_key now_key = { 0 };
	int rc = store_sid_key_attempt(srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, sl_now(), &sid_lockout,
		&cc->cc_failures, &cc->cc_locked_until);

	if (rc == SL_OK)
		return true;
	if (rc == SL_EDENIED &&
		store_sid_key_get(srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, &now_key) == SL_OK) {
		audit(cc, "locked");
		end_failed(cc);
		app_send_error(cc->cc_rq, 403, "locked", "Too many wrong PINs: this key is locked.",
			locked_json(now_key.sk_locked_until));
	} else {
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	}
	store_sid_key_clear(&now_key);
	return false;
}

/* Wrong PINs left before the next lock. */
static int
attempts_left(int failures)
{
	static const int steps[] = { SID_LOCK1_FAILURES, SID_LOCK2_FAILURES, SID_LOCK_FOREVER_FAILURES };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (failures < steps[i])
			return steps[i] - failures;
	return 0;
}

static void
wrong_pin(struct confirm_ctx *cc)
{
	bool locked = cc->cc_locked_until > sl_now();
	json_t *extra = json_pack("{s:i,s:i,s:I}", "failures", cc->cc_failures, "attempts_left",
		attempts_left(cc->cc_failures), "locked_until",
		(json_int_t)(!locked                                       ? 0
			     : cc->cc_locked_until == STORE_LOCKED_FOREVER ? -1
									   : cc->cc_locked_until));

	audit(cc, "wrong_pin");
	if (locked)
		end_failed(cc);
	app_send_error(cc->cc_rq, 400, "wrong_pin", "The PIN is not right.", extra);
}

/* A key sealed before 45aff05 (under the plain at-rest seal kid, which
 * the key holder no longer opens for use) moves under the split-key seal
 * kid, inside the key holder (KH_OP_SK_RESEAL), once: stored over the old
 * blob (a compare and swap).  True when cc_key holds the new blob. */
static bool
reseal_legacy(struct confirm_ctx *cc)
{
	struct sl_err err = { 0 };
	const char *dev = cc->cc_dev.sd_id, *use = cc->cc_req.sq_key_use;
	char *fresh = sid_key_reseal(cc->cc_srv, dev, use, cc->cc_key.sk_sealed, dev, &err);
	int rc = fresh != NULL ? store_sid_key_reseal(cc->cc_srv->sv_store, dev, use, cc->cc_key.sk_sealed, fresh)
			       : SL_EDENIED;

	if (rc != SL_OK) {
		free(fresh);
		return false;
	}
	log_info("smartid device %s: its %s key sealed again for the key holder only", dev, use);
	free(cc->cc_key.sk_sealed);
	cc->cc_key.sk_sealed = fresh;
	return true;
}

/* The device's server key, opened from the store (at-rest AAD
 * "<device id> <use>", sid_key_open), at the version of its row. */
static int
open_key(struct confirm_ctx *cc, struct sl_err *err)
{
	int rc = sid_key_open(
		cc->cc_srv, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, cc->cc_key.sk_sealed, &cc->cc_sk, err);

	if (rc == SL_EDENIED && reseal_legacy(cc))
		rc = sid_key_open(
			cc->cc_srv, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, cc->cc_key.sk_sealed, &cc->cc_sk, err);

	if (rc == SL_OK && cc->cc_sk.sk_version != (uint64_t)cc->cc_key.sk_version)
		rc = sl_fail(err, SL_ESTORE, "the stored key's version disagrees with its row");
	return rc;
}

/* SK_OK: persist the advanced key the key holder sealed (compare and
 * swap), then the request. */
static void
approved(struct confirm_ctx *cc, const struct sid_completion *done)
{
	const uint8_t *sig = done->sc_sig;
	size_t siglen = done->sc_siglen;
	char *sig64;
	int rc;

	cc->cc_sk.sk_version = done->sc_version;
	rc = store_sid_key_advance(cc->cc_srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, cc->cc_key.sk_version,
		done->sc_sealed, (int64_t)done->sc_version);
	if (rc == SL_ECONFLICT) {
		/* Another answer moved the key while this one was completed.  If
		 * it reached this answer's version, two answers were made at the
		 * same share: one of them is a copy (the genuine device never
		 * signs twice at one version), exactly as check_version() would
		 * have said had they come one after the other. */
		struct store_sid_key now_key = { 0 };
		bool clone = store_sid_key_get(cc->cc_srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use,
				     &now_key) == SL_OK &&
			     (uint64_t)now_key.sk_version >= cc->cc_version;

		store_sid_key_clear(&now_key);
		if (clone)
			clone_seen(cc);
		else
			app_send_error(cc->cc_rq, 409, "already_answered", "This answer was already used.", NULL);
		return;
	}
	if (rc != SL_OK) {
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the key could not be stored", NULL);
		return;
	}
	sig64 = sl_b64url_encode(sig, siglen);
	if (sig64 != NULL && record(cc, "approved", sig64)) {
		store_sid_device_touch(cc->cc_srv->sv_store, cc->cc_dev.sd_id, sl_now());
		audit(cc, "ok");
		sid_request_finished(cc->cc_srv, &cc->cc_req, "approved", &cc->cc_answer);
		http_send_json(cc->cc_rq, 200, json_pack("{s:s}", "status", "approved"));
	} else if (sig64 == NULL) {
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "out of memory", NULL);
	}
	free(sig64);
}

static enum sk_padding
padding_of(const char *name)
{
	return strcmp(name, "pss") == 0 ? SK_PSS : SK_PKCS1;
}

/* Step 4b, before the charge: the key opened and the EM made from the
 * stored request (PSS: checked by check_em, the key opened there).  False
 * when the answer (503) is sent. */
static bool
prepare(struct confirm_ctx *cc)
{
	struct sl_err err = { 0 };
	uint8_t *hash = NULL;
	size_t hashlen = 0;
	int rc = SL_OK;

	if (cc->cc_em != NULL)
		return true;
	if (cc->cc_rp) {
		hash = malloc(cc->cc_hashlen);
		if (hash != NULL)
			memcpy(hash, cc->cc_hash, cc->cc_hashlen);
		hashlen = cc->cc_hashlen;
	} else {
		hash = sl_b64url_decode(cc->cc_req.sq_hash, strlen(cc->cc_req.sq_hash), &hashlen);
	}
	if (hash == NULL)
		rc = sl_fail(&err, SL_ENOMEM, "the stored hash cannot be read");
	if (rc == SL_OK)
		rc = open_key(cc, &err);
	if (rc == SL_OK)
		rc = sk_encode(cc->cc_sk.sk_n, padding_of(cc->cc_req.sq_padding), cc->cc_req.sq_digest, hash, hashlen,
			&cc->cc_em, &cc->cc_emlen, &err); /* freed with the context */
	free(hash);
	if (rc == SL_OK)
		return true;
	log_warn("smartid request %s: the server key cannot be used, nothing charged: %s", cc->cc_req.sq_id, err.msg);
	app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the key is not available", NULL);
	return false;
}

/* SK_ERROR after the charge: the server's failure, not a wrong PIN.  The
 * try is given back unless another try or an advance moved the key since
 * (then the count is theirs). */
static void
server_failed(struct confirm_ctx *cc, const struct sl_err *err)
{
	int rc = store_sid_key_refund(cc->cc_srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, cc->cc_failures,
		cc->cc_locked_until, sl_now());

	log_warn("smartid request %s: cannot complete (%s); the try %s", cc->cc_req.sq_id, err->msg,
		rc == SL_OK ? "is given back" : "stands: the key moved meanwhile");
	app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the signature could not be completed", NULL);
}

/* Step 6: the EM made in prepare(). */
static void
complete(struct confirm_ctx *cc)
{
	struct sl_err err = { 0 };
	struct sid_completion done = { .sc_verdict = SK_ERROR };
	enum sk_verdict v = SK_ERROR;

	if (sid_key_complete(cc->cc_srv, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, cc->cc_key.sk_sealed, cc->cc_em,
		    cc->cc_emlen, cc->cc_version, cc->cc_part, cc->cc_partlen, &done, &err) == SL_OK)
		v = done.sc_verdict;
	if (v == SK_OK)
		approved(cc, &done);
	else if (v == SK_WRONG_PIN)
		wrong_pin(cc);
	else if (v == SK_CLONE)
		clone_seen(cc);
	else if (v == SK_BAD_VERSION)
		app_send_error(
			cc->cc_rq, 400, "invalid_version", "The version or the partial signature is malformed.", NULL);
	else
		server_failed(cc, &err);
	sid_completion_clear(&done);
}

#define RP_MEMBER_MAX 64 /* bytes of an RP API answer's reason or interaction */

/* An RP API refusal's reason and interaction (docs/smart-id.md); false
 * when the 400 is sent. */
static bool
parse_refusal(struct confirm_ctx *cc, json_t *body)
{
	static const char *const reasons[] = { "refused", "wrong_vc", "interaction", "cert_choice", "not_supported" };
	struct sidrp_answer *a = &cc->cc_answer;
	bool known = false;

	a->sa_refusal = json_object_get(body, "reason") ? app_json_str(body, "reason", RP_MEMBER_MAX) : "refused";
	a->sa_interaction = app_json_str(body, "interaction", RP_MEMBER_MAX);
	for (size_t i = 0; a->sa_refusal != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		known = known || strcmp(a->sa_refusal, reasons[i]) == 0;
	if (!known || (strcmp(a->sa_refusal, "interaction") == 0 &&
			      (a->sa_interaction == NULL || sidp_interaction_type_of(a->sa_interaction) == 0))) {
		app_send_error(cc->cc_rq, 400, "invalid_request",
			"reason must be refused, wrong_vc, interaction (with the interaction), cert_choice or "
			"not_supported",
			NULL);
		return false;
	}
	return true;
}

static void
refuse(struct confirm_ctx *cc, json_t *body)
{
	if (cc->cc_rp && !parse_refusal(cc, body))
		return;
	if (!record(cc, "refused", NULL))
		return;
	store_sid_device_touch(cc->cc_srv->sv_store, cc->cc_dev.sd_id, sl_now());
	audit(cc, "refused");
	sid_request_finished(cc->cc_srv, &cc->cc_req, "refused", &cc->cc_answer);
	http_send_json(cc->cc_rq, 200, json_pack("{s:s}", "status", "refused"));
}

/* A certificate choice needs no PIN, but a certificate whose key is
 * locked is of no use to the RP: the request fails (the session ends
 * DOCUMENT_UNUSABLE) and the device hears 403 locked.  True when so. */
static bool
sign_key_locked(struct confirm_ctx *cc)
{
	struct store_sid_key k = { 0 };
	bool locked = false;

	if (store_sid_key_get(cc->cc_srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, &k) == SL_OK &&
		k.sk_locked_until > sl_now()) {
		locked = true;
		end_failed(cc);
		app_send_error(cc->cc_rq, 403, "locked", "Too many wrong PINs: this key is locked.",
			locked_json(k.sk_locked_until));
	}
	store_sid_key_clear(&k);
	return locked;
}

/* Step 2b; false when the answer is sent (a certificate choice is done
 * here: approved with no signature). */
static bool
rp_confirm(struct confirm_ctx *cc, json_t *body)
{
	struct sidrp_answer *a = &cc->cc_answer;
	struct sl_err err = { 0 };

	a->sa_interaction = app_json_str(body, "interaction", RP_MEMBER_MAX);
	a->sa_user_challenge = app_json_str(body, "user_challenge", RP_MEMBER_MAX);
	if (strcmp(cc->cc_req.sq_action, "cert") == 0) {
		if (sign_key_locked(cc))
			return false;
		if (record(cc, "approved", NULL)) {
			store_sid_device_touch(cc->cc_srv->sv_store, cc->cc_dev.sd_id, sl_now());
			audit(cc, "ok");
			sid_request_finished(cc->cc_srv, &cc->cc_req, "approved", a);
			http_send_json(cc->cc_rq, 200, json_pack("{s:s}", "status", "approved"));
		}
		return false;
	}
	cc->cc_hashlen = sizeof(cc->cc_hash);
	if (sidrp_request_digest(cc->cc_srv, &cc->cc_req, a, cc->cc_hash, &cc->cc_hashlen, &err) != SL_OK) {
		app_send_error(cc->cc_rq, 400, "invalid_request", err.msg, NULL);
		return false;
	}
	return true;
}

/* Step 2b for PSS, before anything is charged: the EM the device signed
 * ("em", b64url, n bytes) must be a PSS encoding of the hash
 * (sk_encode_check); the key is opened for its modulus and kept open for
 * step 6.  False when the answer is sent. */
static bool
check_em(struct confirm_ctx *cc, json_t *body)
{
	const char *em = app_json_str(body, "em", APP_SEALED_BIG_MAX);
	struct sl_err err = { 0 };

	if (!cc->cc_rp || strcmp(cc->cc_req.sq_padding, "pss") != 0)
		return true;
	if (em == NULL || (cc->cc_em = sl_b64url_decode(em, strlen(em), &cc->cc_emlen)) == NULL) {
		app_send_error(cc->cc_rq, 400, "invalid_request", "em (the PSS encoding signed) is required", NULL);
		return false;
	}
	if (open_key(cc, &err) != SL_OK) {
		log_warn("smartid request %s: cannot open the key: %s", cc->cc_req.sq_id, err.msg);
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the key is not available", NULL);
		return false;
	}
	if (sk_encode_check(cc->cc_sk.sk_n, SK_PSS, cc->cc_req.sq_digest, cc->cc_hash, cc->cc_hashlen, cc->cc_em,
		    cc->cc_emlen, &err) != SL_OK) {
		app_send_error(cc->cc_rq, 400, "invalid_request", "em is not a PSS encoding of what is signed", NULL);
		return false;
	}
	return true;
}

static void
confirm_run(struct confirm_ctx *cc, json_t *body)
{
	const char *decision = app_json_str(body, "decision", 8);

	if (decision == NULL || (strcmp(decision, "confirm") != 0 && strcmp(decision, "refuse") != 0)) {
		app_send_error(cc->cc_rq, 400, "invalid_request", "decision must be confirm or refuse", NULL);
		return;
	}
	if (!load_request(cc))
		return;
	cc->cc_rp = sidrp_is_rp_request(&cc->cc_req);
	if (strcmp(decision, "refuse") == 0) {
		refuse(cc, body);
		return;
	}
	if (cc->cc_rp && !rp_confirm(cc, body))
		return;
	if (!parse_confirm(cc, body))
		return;
	if (store_sid_key_get(cc->cc_srv->sv_store, cc->cc_dev.sd_id, cc->cc_req.sq_key_use, &cc->cc_key) != SL_OK) {
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the key is not available", NULL);
		return;
	}
	if (check_em(cc, body) && check_version(cc) && prepare(cc) && charge(cc))
		complete(cc);
}

void
sid_confirm_post(void *ctx, struct http_request *rq)
{
	struct confirm_ctx cc = { .cc_srv = ctx, .cc_rq = rq };
	json_t *body;

	if (sid_device_authenticate(cc.cc_srv, rq, &cc.cc_dev) != SL_OK)
		return;
	body = app_json_body(rq);
	if (body != NULL)
		confirm_run(&cc, body);
	json_decref(body);
	if (cc.cc_part != NULL)
		OPENSSL_clear_free(cc.cc_part, cc.cc_partlen);
	free(cc.cc_em);
	sk_server_key_clear(&cc.cc_sk);
	store_sid_key_clear(&cc.cc_key);
	store_sid_device_clear(&cc.cc_dev);
	store_sid_request_clear(&cc.cc_req);
}
