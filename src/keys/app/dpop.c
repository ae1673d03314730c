/*
 * dpop.c — a device proof on an HTTP request: the header, the htm and htu
 * of this request, the jti recorded once per key (store_jti_use under
 * "dev:<jkt>" until iat + [app] proof_window), and
 * app_device_authenticate() for registered devices.  The JWS and claim
 * checks are in proof.c.
 */
#include <stdlib.h>
#include <string.h>

#include "device_int.h"

int
app_htu(struct server *srv, struct http_request *rq, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", srv->sv_conf->c_issuer, http_path(rq));

	return n < 0 || (size_t)n >= len ? SL_ETOOBIG : SL_OK;
}

void
app_proof_jti(struct server *srv, const struct app_proof *pr, struct app_jti_key *key, struct store_jti *out)
{
	snprintf(key->jk_key, sizeof(key->jk_key), "dev:%s", pr->ap_jkt);
	out->jt_key = key->jk_key;
	out->jt_jti = pr->ap_jti;
	/* Remembered one second past the last second the proof is accepted. */
	out->jt_expires = pr->ap_iat + srv->sv_conf->c_app_proof_window + 1;
}

/* Verify the request's proof with `key` (made here from `jwk` when NULL)
 * and, when `record`, record its jti. */
static int
proof_check(struct server *srv, struct http_request *rq, struct jose_key *key, json_t *jwk, bool record,
	struct app_proof *out, struct sl_err *err)
{
	const struct sl_config *c = srv->sv_conf;
	enum http_method m = http_method(rq);
	const char *htm = m == HTTP_POST ? "POST" : m == HTTP_HEAD ? "HEAD" : "GET";
	char htu[1024];
	struct app_jti_key jk;
	struct store_jti jt;
	int64_t now = sl_now();
	int rc;

	if (app_htu(srv, rq, htu, sizeof(htu)) != SL_OK)
		return sl_fail(err, SL_ETOOBIG, "the URL is too long");
	rc = key != NULL
		     ? app_proof_verify_key(
			       http_header(rq, "DPoP"), key, htm, htu, now, c->c_app_proof_window, out, err)
		     : app_proof_verify(http_header(rq, "DPoP"), jwk, htm, htu, now, c->c_app_proof_window, out, err);
	if (rc != SL_OK || !record)
		return rc;
	app_proof_jti(srv, out, &jk, &jt);
	rc = store_jti_use(srv->sv_store, jt.jt_key, jt.jt_jti, jt.jt_expires);
	if (rc == SL_ECONFLICT)
		return sl_fail(err, SL_EDENIED, "the proof was used before (jti replay)");
	if (rc != SL_OK)
		return sl_fail(err, SL_ESTORE, "cannot record the proof");
	return SL_OK;
}

int
app_proof_check(struct server *srv, struct http_request *rq, json_t *jwk, struct app_proof *out, struct sl_err *err)
{
	return proof_check(srv, rq, NULL, jwk, true, out, err);
}

int
app_proof_check_key(
	struct server *srv, struct http_request *rq, struct jose_key *key, struct app_proof *out, struct sl_err *err)
{
	if (key == NULL)
		return sl_fail(err, SL_EINVAL, "the transport key cannot be used");
	return proof_check(srv, rq, key, NULL, true, out, err);
}

void
app_send_invalid_proof(struct http_request *rq, const char *desc)
{
	json_t *o = json_pack("{s:s,s:s}", "error", "invalid_proof", "error_description", desc ? desc : "bad proof");

	http_add_header(rq, "WWW-Authenticate", "DPoP error=\"invalid_dpop_proof\", algs=\"ES256\"");
	http_send_json(rq, 401, o);
}

int
app_device_authenticate(struct server *srv, struct http_request *rq, struct store_device *out)
{
	struct store_account acct = { 0 };
	int rc = app_device_authenticate_account(srv, rq, out, &acct);

	store_account_clear(&acct);
	return rc;
}

/* Authenticate (app_device_authenticate_deferred), recording the proof's
 * jti only when `record`. */
static int
authenticate(struct server *srv, struct http_request *rq, bool record, struct store_device *out,
	struct store_account *acct_out, struct app_proof *proof)
{
	struct sl_err err = { 0 };
	struct store_account acct;
	struct app_proof pr;
	char jkt[APP_JKT_LEN + 1];
	struct jose_key *key = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&acct, 0, sizeof(acct));
	if (app_proof_kid(http_header(rq, "DPoP"), jkt) != SL_OK) {
		app_send_invalid_proof(rq, "no DPoP proof with a key id");
		return SL_EDENIED;
	}
	/* The device and its account in one read: the rows just read decide
	 * below; the kept key only spares parsing. */
	rc = store_device_account_by_jkt(srv->sv_store, jkt, out, &acct);
	if (rc == SL_OK)
		key = app_devkeys_transport(srv->sv_app_keys->ak_devkeys, out, sl_now(), &err);
	if (rc != SL_OK || key == NULL) {
		if (rc == SL_OK || rc == SL_ENOTFOUND)
			app_send_invalid_proof(rq, "unknown device key");
		else
			app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		store_device_clear(out);
		store_account_clear(&acct);
		return SL_EDENIED;
	}
	rc = proof_check(srv, rq, key, NULL, record, &pr, &err);
	jose_key_free(key);
	if (rc == SL_OK && strcmp(out->dv_status, "active") != 0)
		rc = sl_fail(&err, SL_EDENIED, "this device is %s", out->dv_status);
	if (rc == SL_OK && strcmp(acct.ac_status, "active") != 0)
		rc = sl_fail(&err, SL_EDENIED, "this device's account is blocked");
	if (rc != SL_OK) {
		store_account_clear(&acct);
		app_send_invalid_proof(rq, err.msg);
		store_device_clear(out);
		return SL_EDENIED;
	}
	*acct_out = acct;
	if (proof != NULL)
		*proof = pr;
	return SL_OK;
}

int
app_device_authenticate_account(
	struct server *srv, struct http_request *rq, struct store_device *out, struct store_account *acct)
{
	return authenticate(srv, rq, true, out, acct, NULL);
}

int
app_device_authenticate_deferred(struct server *srv, struct http_request *rq, struct store_device *out,
	struct store_account *acct, struct app_proof *proof)
{
	return authenticate(srv, rq, false, out, acct, proof);
}

bool
app_body_key_ok(struct server *srv, struct http_request *rq, json_t *jwk, char jkt[APP_JKT_LEN + 1])
{
	struct sl_err err = { 0 };
	struct app_proof pr;
	char kid[APP_JKT_LEN + 1];

	if (app_jwk_thumbprint(jwk, jkt, &err) != SL_OK) {
		app_send_error(rq, 400, "invalid_key", err.msg, NULL);
		return false;
	}
	if (app_proof_kid(http_header(rq, "DPoP"), kid) != SL_OK || strcmp(kid, jkt) != 0) {
		app_send_invalid_proof(rq, "the proof's kid must be the thumbprint of transport_key");
		return false;
	}
	if (app_proof_check(srv, rq, jwk, &pr, &err) != SL_OK) {
		app_send_invalid_proof(rq, err.msg);
		return false;
	}
	return true;
}

/* Only the public members are kept (the JWK was checked to be P-256). */
char *
app_jwk_public_text(json_t *jwk)
{
	json_t *o = json_pack("{s:s,s:s,s:O,s:O}", "kty", "EC", "crv", "P-256", "x", json_object_get(jwk, "x"), "y",
		json_object_get(jwk, "y"));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(o);
	return text;
}
