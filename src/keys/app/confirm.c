/*
 * confirm.c — POST /device/v1/requests/{id}: the person approves (with the
 * 5-digit code) or refuses a request (PROTOCOL.md "What a confirmation
 * signs"; DESIGN §4 lockout schedule).
 *
 * Order matters, so that nothing but a real wrong code counts a failure:
 *   1. the device's proof; the request is this account's, pending, not
 *      expired (else 404 / 409 already_answered / 410 expired, no count);
 *   2. the account is not locked (423);
 *   3. approve: the chosen verification code is the one the browser shows,
 *      else the request is denied (409 wrong_verification_code);
 *   4. the signature is unsealed (aad = request id); a blob that does not
 *      open is malformed (400), not a wrong code; a key holder that does not
 *      answer is the server's failure (503);
 *   4b. the key that must have signed is obtained: Q (approve: kept, or
 *      opened now from the at-rest key by the key holder) or the transport
 *      key (refuse).  When Q cannot be opened (key holder busy or gone, a
 *      row sealed by another install) nothing is charged: 503, logged and
 *      audited ("unavailable"), so that a flood of the key holder cannot
 *      push anyone into the lockout;
 *   5. approve: the attempt is charged to the account BEFORE the signature
 *      is checked, with the proof's jti spent in the same transaction
 *      (store_account_attempt_jti; a replay charges nothing and gets
 *      401; the answers before this step change nothing a replay could
 *      use, and a refusal or a wrong pick spends the jti first): one
 *      statement that refuses a
 *      locked account and sets the lock at 3 → 3 h, 6 → 24 h, 9 → for
 *      good), so that parallel guesses cannot outrun the lockout.  The
 *      charge commits without a sync; every answer after it (wrong code,
 *      approved, refused) follows this attempt's audit row, a durable
 *      commit that syncs the charge with it;
 *   6. the signed bytes are rebuilt from the STORED request and verified
 *      with the key of 4b, with no I/O that could fail on the server's side
 *      after the charge.  A bad approve signature is a wrong 5-digit code: the
 *      charge stays; the request stays pending.  A good one clears the
 *      count, in the transaction that records the outcome.
 *   7. the outcome is recorded once with its audit row and the outcome of
 *      the login request it was made for, one durable commit
 *      (store_apprq_answer: a crash leaves all or nothing); a CIBA request
 *      copies it; waiters wake.
 * The signature is never logged or stored.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "device_int.h"

struct confirm_ctx {
	struct server *cc_srv;
	struct http_request *cc_rq;
	char cc_ipbuf[SERVER_IP_MAX]; /* the audit rows' address */
	struct store_device cc_dev;
	struct store_apprq cc_req;
	struct store_account cc_acct;
	const char *cc_decision;
	const char *cc_code;
	uint8_t *cc_sig; /* unsealed DER signature: cleansed and freed */
	size_t cc_siglen;
	struct app_proof cc_proof; /* verified; its jti spent with the first write */
	int cc_failures; /* after this attempt's charge */
	int64_t cc_locked_until;
};

static const struct store_lockout app_lockout = { APP_LOCK1_FAILURES, APP_LOCK1_SECONDS, APP_LOCK2_FAILURES,
	APP_LOCK2_SECONDS, APP_LOCK_FOREVER_FAILURES };

static json_t *
locked_json(int64_t until)
{
	return until == STORE_LOCKED_FOREVER ? json_pack("{s:n,s:b}", "locked_until", "locked_for_good", 1)
					     : json_pack("{s:I}", "locked_until", (json_int_t)until);
}

static struct store_audit
audit_row(struct confirm_ctx *cc, const char *result)
{
	return (struct store_audit){ .au_event = cc->cc_req.aq_action,
		.au_result = result,
		.au_person_id = cc->cc_acct.ac_person_id,
		.au_client_id = cc->cc_req.aq_client_id,
		.au_key = APP_KEY_NAME,
		.au_ip = server_audit_ip(cc->cc_srv, cc->cc_rq, cc->cc_ipbuf),
		.au_detail = cc->cc_req.aq_id };
}

static void
metrics(struct confirm_ctx *cc, const char *result)
{
	metrics_login(cc->cc_srv->sv_metrics, APP_KEY_NAME, strcmp(result, "ok") == 0 ? "ok" : "denied");
}

/* An answer that records nothing on the request (a wrong code). */
static void
audit(struct confirm_ctx *cc, const char *result)
{
	struct store_audit au = audit_row(cc, result);

	store_audit_add(cc->cc_srv->sv_store, &au);
	metrics(cc, result);
}

/* Wake whoever waits for the answer recorded (record()). */
static void
finish_link(struct confirm_ctx *cc)
{
	struct server *srv = cc->cc_srv;
	const struct store_apprq *r = &cc->cc_req;
	char key[128];

	if (strcmp(r->aq_link_kind, "authreq") == 0) {
		oidc_wait_key(r->aq_link_id, key, sizeof(key));
		server_wake(srv, key);
	} else if (strcmp(r->aq_link_kind, "ciba") == 0) {
		oidc_ciba_finished(srv, r->aq_link_id);
	}
	app_request_wait_key(r->aq_id, key, sizeof(key));
	server_wake(srv, key);
}

/* Record the outcome once, with its audit row `result` and the outcome of
 * the login request it answers, in one durable commit: a crash cannot
 * leave an answered request whose login still waits for it (nobody could
 * answer it again).  False when it was answered or expired (sent).  An
 * approval also resets the account's count (which stands even when the
 * request is no longer pending); an approval or refusal touches the
 * device (store_apprq_answer). */
static bool
record(struct confirm_ctx *cc, const char *status, const char *result)
{
	const struct store_apprq *r = &cc->cc_req;
	struct store_audit au = audit_row(cc, result);
	bool approved = strcmp(status, "approved") == 0;
	int64_t now = sl_now();
	struct store_authreq link = { .ar_id = r->aq_link_id, .ar_status = (char *)(approved ? "done" : "denied") };
	struct store_apprq_answer an = { .aa_id = r->aq_id,
		.aa_status = status,
		.aa_account_id = approved ? cc->cc_acct.ac_id : NULL,
		.aa_device_id = cc->cc_dev.dv_id,
		.aa_touch = approved || strcmp(status, "refused") == 0,
		.aa_now = now,
		.aa_audit = &au };

	if (strcmp(r->aq_link_kind, "authreq") == 0) {
		if (approved) {
			link.ar_person_id = cc->cc_acct.ac_person_id;
			link.ar_key = (char *)APP_KEY_NAME;
			link.ar_acr = (char *)OIDC_ACR_HIGH;
			link.ar_amr = (char *)APP_AMR;
			link.ar_auth_time = now;
		}
		an.aa_link = &link;
	}
	int rc = store_apprq_answer(cc->cc_srv->sv_store, &an);

	if (rc == SL_OK) {
		metrics(cc, result);
		return true;
	}
	if (rc == SL_ECONFLICT)
		app_send_error(cc->cc_rq, 409, "already_answered", "This request was already answered.", NULL);
	else if (rc == SL_EEXPIRED)
		app_send_error(cc->cc_rq, 410, "expired", "This request has expired.", NULL);
	else if (rc == SL_ENOTFOUND)
		app_send_error(cc->cc_rq, 404, "not_found", "No such request.", NULL);
	else
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	return false;
}

/* A replayed proof, or no store: the answer. */
static void
proof_refused(struct confirm_ctx *cc, int rc)
{
	if (rc == SL_ECONFLICT)
		app_send_invalid_proof(cc->cc_rq, "the proof was used before (jti replay)");
	else
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the store is not available", NULL);
}

/* Spend the proof's jti on its own (an answer that is not charged);
 * false when the answer is sent. */
static bool
spend_proof(struct confirm_ctx *cc)
{
	struct app_jti_key jk;
	struct store_jti jt;
	int rc;

	app_proof_jti(cc->cc_srv, &cc->cc_proof, &jk, &jt);
	rc = store_jti_use(cc->cc_srv->sv_store, jt.jt_key, jt.jt_jti, jt.jt_expires);
	if (rc != SL_OK)
		proof_refused(cc, rc);
	return rc == SL_OK;
}

/* Step 5: charge this attempt, the proof's jti spent in the same
 * transaction; false when the answer is sent (locked, a replay). */
static bool
charge(struct confirm_ctx *cc)
{
	struct server *srv = cc->cc_srv;
	struct store_account now_acct;
	struct app_jti_key jk;
	struct store_jti jt;
	int rc;

	app_proof_jti(srv, &cc->cc_proof, &jk, &jt);
	rc = store_account_attempt_jti(
		srv->sv_store, cc->cc_acct.ac_id, sl_now(), &app_lockout, &jt, &cc->cc_failures, &cc->cc_locked_until);
	if (rc == SL_OK)
		return true;
	if (rc == SL_ECONFLICT) {
		proof_refused(cc, rc);
	} else if (rc == SL_EDENIED && store_account_get(srv->sv_store, cc->cc_acct.ac_id, &now_acct) == SL_OK) {
		app_send_error(cc->cc_rq, 423, "locked", "Too many wrong codes: the app key is locked.",
			locked_json(now_acct.ac_locked_until));
		store_account_clear(&now_acct);
	} else {
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the store is not available", NULL);
	}
	return false;
}

/* A wrong code: the charge stands; say how many and whether locked now. */
static void
wrong_code(struct confirm_ctx *cc)
{
	bool locked = cc->cc_locked_until > sl_now();
	json_t *extra = locked ? locked_json(cc->cc_locked_until) : json_pack("{s:n}", "locked_until");

	audit(cc, "wrong_code");
	json_object_set_new(extra, "failures", json_integer(cc->cc_failures));
	app_send_error(cc->cc_rq, 403, "wrong_code", "The code is not right.", extra);
}

static EVP_PKEY *
rest_open(void *srv, const char *device_id, const char *sealed_b64, struct sl_err *err)
{
	return app_rest_open(srv, device_id, sealed_b64, err);
}

/* The key that must have signed: Q for approve (kept parsed for this very
 * row: devkeys.c), the transport key for refuse. */
static EVP_PKEY *
signer_key(struct confirm_ctx *cc, struct sl_err *err)
{
	uint8_t pub[P256_PUB_LEN];
	json_t *jwk;
	int rc;

	if (strcmp(cc->cc_decision, "approve") == 0)
		return app_devkeys_confirm(
			cc->cc_srv->sv_app_keys->ak_devkeys, &cc->cc_dev, sl_now(), rest_open, cc->cc_srv, err);
	jwk = json_loads(cc->cc_dev.dv_transport_jwk, 0, NULL);
	rc = app_jwk_point(jwk, pub, err);
	json_decref(jwk);
	return rc == SL_OK ? p256_public_from_bytes(pub, err) : NULL;
}

/* Step 4b failed: the server's fault, nothing charged. */
static void
key_unavailable(struct confirm_ctx *cc, const struct sl_err *err)
{
	struct store_audit au = audit_row(cc, "unavailable");

	log_warn("app request %s: the device's key cannot be used, nothing charged: %s", cc->cc_req.aq_id, err->msg);
	store_audit_add(cc->cc_srv->sv_store, &au);
	app_send_error(cc->cc_rq, 503, "temporarily_unavailable", "the key cannot be checked now; try again", NULL);
}

/* Step 6: no I/O, so that nothing but the signature decides. */
static int
verify(struct confirm_ctx *cc, EVP_PKEY *key)
{
	const struct store_apprq *r = &cc->cc_req;
	struct confirm_fields f = { .cf_request_id = r->aq_id,
		.cf_rp_id = r->aq_client_id,
		.cf_rp_display_name = r->aq_rp_name,
		.cf_action = r->aq_action,
		.cf_display_text = r->aq_display_text,
		.cf_verification_code = cc->cc_code,
		.cf_server_nonce = r->aq_nonce,
		.cf_decision = cc->cc_decision,
		.cf_device_id = cc->cc_dev.dv_id };

	return confirm_verify(key, &f, cc->cc_sig, cc->cc_siglen);
}

/* Steps 1 and 2; false when the answer is sent. */
static bool
load_request(struct confirm_ctx *cc, const char *id)
{
	struct server *srv = cc->cc_srv;
	int64_t now = sl_now();

	if (!app_id_ok(id) || store_apprq_get(srv->sv_store, id, &cc->cc_req) != SL_OK ||
		strcmp(cc->cc_req.aq_account_id, cc->cc_dev.dv_account_id) != 0) {
		app_send_error(cc->cc_rq, 404, "not_found", "No such request.", NULL);
		return false;
	}
	if (strcmp(cc->cc_req.aq_status, "pending") != 0) {
		app_send_error(cc->cc_rq, 409, "already_answered", "This request was already answered.", NULL);
		return false;
	}
	if (now >= cc->cc_req.aq_expires) {
		app_send_error(cc->cc_rq, 410, "expired", "This request has expired.", NULL);
		return false;
	}
	if (cc->cc_acct.ac_locked_until > now) {
		app_send_error(cc->cc_rq, 423, "locked", "Too many wrong codes: the app key is locked.",
			locked_json(cc->cc_acct.ac_locked_until));
		return false;
	}
	return true;
}

/* The body; false when the answer is sent. */
static bool
parse_body(struct confirm_ctx *cc, json_t *body, struct sl_err *err)
{
	const char *kid = app_json_str(body, "seal_kid", APP_KID_MAX);
	const char *sealed = app_json_str(body, "sealed_signature", APP_SEALED_MAX);
	int rc;

	cc->cc_decision = app_json_str(body, "decision", 8);
	cc->cc_code = app_json_str(body, "verification_code", APP_CODE_LEN);
	if (cc->cc_decision == NULL ||
		(strcmp(cc->cc_decision, "approve") != 0 && strcmp(cc->cc_decision, "refuse") != 0) ||
		cc->cc_code == NULL || kid == NULL || sealed == NULL) {
		app_send_error(cc->cc_rq, 400, "invalid_request",
			"decision (approve|refuse), verification_code, seal_kid and sealed_signature are required",
			NULL);
		return false;
	}
	/* Step 3 before any cryptography: a wrong pick ends the request. */
	if (strcmp(cc->cc_decision, "approve") == 0 && !sl_ct_streq(cc->cc_code, cc->cc_req.aq_code)) {
		if (spend_proof(cc) && record(cc, "denied", "wrong_verification_code")) {
			finish_link(cc);
			app_send_error(cc->cc_rq, 409, "wrong_verification_code",
				"This is not the code the site shows: the request is cancelled.", NULL);
		}
		return false;
	}
	rc = app_unseal_b64(cc->cc_srv, kid, sealed, cc->cc_req.aq_id, &cc->cc_sig, &cc->cc_siglen, err);
	if (rc == SL_EBUSY || rc == SL_ENOMEM || rc == SL_EIO) {
		/* The key holder did not answer: the blob was not judged. */
		log_warn("app request %s: the signature cannot be unsealed now: %s", cc->cc_req.aq_id, err->msg);
		app_send_error(cc->cc_rq, 503, "temporarily_unavailable",
			"the signature cannot be opened now; try again", NULL);
		return false;
	}
	if (rc != SL_OK || cc->cc_siglen > CONFIRM_SIG_MAX) {
		app_send_error(cc->cc_rq, 400, "invalid_signature", "The sealed signature does not open.", NULL);
		return false;
	}
	return true;
}

static void
confirm_run(struct confirm_ctx *cc, json_t *body)
{
	struct sl_err err = { 0 };
	const char *status;
	EVP_PKEY *key;

	if (!load_request(cc, http_path(cc->cc_rq) + strlen(APP_DEVICE_BASE "/requests/")) ||
		!parse_body(cc, body, &err))
		return;
	if ((key = signer_key(cc, &err)) == NULL) {
		key_unavailable(cc, &err);
		return;
	}
	if (strcmp(cc->cc_decision, "approve") == 0 ? !charge(cc) : !spend_proof(cc)) {
		EVP_PKEY_free(key);
		return;
	}
	if (verify(cc, key) != SL_OK) {
		if (strcmp(cc->cc_decision, "approve") == 0)
			wrong_code(cc);
		else
			app_send_error(
				cc->cc_rq, 400, "invalid_signature", "The refusal is not signed by this device.", NULL);
		EVP_PKEY_free(key);
		return;
	}
	EVP_PKEY_free(key);
	status = strcmp(cc->cc_decision, "approve") == 0 ? "approved" : "refused";
	/* The right code: the count starts again, whatever happens next
	 * (store_apprq_answer commits the reset even when it answers no). */
	if (!record(cc, status, strcmp(status, "approved") == 0 ? "ok" : "refused"))
		return;
	finish_link(cc);
	http_send_json(cc->cc_rq, 200, json_pack("{s:s}", "status", status));
}

void
app_confirm_post(void *ctx, struct http_request *rq)
{
	struct confirm_ctx cc = { .cc_srv = ctx, .cc_rq = rq };
	json_t *body;

	/* The account as read in this request: active, and its lock and count. */
	if (app_device_authenticate_deferred(cc.cc_srv, rq, &cc.cc_dev, &cc.cc_acct, &cc.cc_proof) != SL_OK)
		return;
	body = app_json_body(rq);
	if (body != NULL)
		confirm_run(&cc, body);
	json_decref(body);
	if (cc.cc_sig != NULL)
		OPENSSL_clear_free(cc.cc_sig, cc.cc_siglen);
	store_device_clear(&cc.cc_dev);
	store_apprq_clear(&cc.cc_req);
	store_account_clear(&cc.cc_acct);
}
