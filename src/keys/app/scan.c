/*
 * scan.c — logging in by scanning the portal's QR code instead of typing a
 * phone number (docs/device-api.md, POST /device/v1/scan).
 *
 * The QR code holds sleutel://login?t=<token>, where the token is the
 * pending authorization request's id, a time slot and an HMAC of both
 * under the server's CSRF key (qrtoken.c): only this server makes tokens,
 * a token is taken in its slot and the next only (the page shows a new one
 * every slot), and once (its hash is recorded like a client assertion's
 * jti).  The request made carries the context of the browser that started
 * the login, so the app can say which screen asked.  The phone that scans it is
 * authenticated by its device proof; the request is made for that
 * device's account with one code, the one that came through the camera,
 * so there is nothing to pick: seeing the screen was the shared secret.
 */
#include <stdlib.h>
#include <string.h>

#include "request_int.h"
#include "../../portal/portal.h"

#define QR_JTI_CLIENT "sleutel:qr" /* the jti namespace of used tokens */

int
app_qr_token_check(struct server *srv, const char *token, char *id, size_t idlen)
{
	int64_t slot = app_qr_slot(sl_now(), srv->sv_conf->c_app_qr_rotate);

	return app_qr_token_verify(srv->sv_csrf_key, sizeof(srv->sv_csrf_key), token, slot, id, idlen);
}

/* The token of a {"token": "..."} body, nothing else in it. */
static char *
body_token(struct http_request *rq)
{
	size_t len = 0;
	const uint8_t *body = http_body(rq, &len);
	json_t *o = body ? json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	char *tok = NULL;

	if (json_is_object(o) && json_object_size(o) == 1)
		tok = sl_strdup(json_string_value(json_object_get(o, "token")));
	json_decref(o);
	return tok;
}

static void
answer_error(struct http_request *rq, int rc, const struct sl_err *err)
{
	if (rc == SL_EDENIED)
		http_send_oauth_error(rq, 423, "locked", err->msg);
	else if (rc == SL_EBUSY)
		http_send_oauth_error(rq, 429, "too_many_pending", err->msg);
	else if (rc == SL_ETOOBIG)
		http_send_oauth_error(rq, 429, "rate_limited", err->msg);
	else if (rc == SL_EINVAL)
		http_send_oauth_error(rq, 400, "invalid_request", err->msg);
	else
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
}

/* Make the request for `ar` on `ac` and answer with it. */
static void
scan_make(struct server *srv, struct http_request *rq, const struct store_authreq *ar, const struct store_account *ac)
{
	struct store_client c;
	struct app_request_made made;
	struct app_request_spec spec;
	struct store_apprq r;
	struct sl_err err;
	json_t *params = json_loads(ar->ar_params, 0, NULL);
	const char *details = json_string_value(json_object_get(params, "authorization_details"));
	const char *locales = json_string_value(json_object_get(params, "ui_locales"));
	int64_t left = ar->ar_expires - sl_now();
	int lang = locales ? portal_lang_match(locales, false) : -1, rc;

	if (store_client_get(srv->sv_store, ar->ar_client_id, &c) != SL_OK) {
		json_decref(params);
		http_send_oauth_error(rq, 410, "expired", "the site's login request is gone");
		return;
	}
	memset(&spec, 0, sizeof(spec));
	spec.as_client = &c;
	spec.as_action = details ? "payment" : "login";
	spec.as_authz_details = details;
	spec.as_link_kind = "authreq";
	spec.as_link_id = ar->ar_id;
	spec.as_ip = server_audit_ip(srv, rq, spec.as_ipbuf);
	spec.as_context = ar->ar_context; /* the browser's, not this phone's */
	spec.as_lang = lang >= 0 ? lang : portal_lang_match(srv->sv_conf->c_default_language, false);
	spec.as_lifetime = left < srv->sv_conf->c_app_request_lifetime ? (int)left : 0;
	rc = app_request_for_account(srv, ac, &spec, 1, &made, &err);
	if (rc != SL_OK) {
		answer_error(rq, rc, &err);
	} else if (store_apprq_get(srv->sv_store, made.am_id, &r) != SL_OK) {
		http_send_oauth_error(rq, 503, "temporarily_unavailable", "try again");
	} else {
		http_send_json(rq, 200, app_request_json(&r, sl_now()));
		store_apprq_clear(&r);
	}
	json_decref(params);
	store_client_clear(&c);
}

void
appscan_post(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_device dev;
	struct store_authreq ar;
	struct store_account ac;
	char id[APP_QR_ID_MAX + 1], hash[2 * SL_SHA256_LEN + 1], *tok;
	int rc = SL_EINVAL;

	if (app_device_authenticate(srv, rq, &dev) != SL_OK)
		return; /* answered */
	memset(&ar, 0, sizeof(ar));
	memset(&ac, 0, sizeof(ac));
	tok = body_token(rq);
	if (tok != NULL)
		rc = app_qr_token_check(srv, tok, id, sizeof(id));
	if (rc == SL_EEXPIRED) {
		http_send_oauth_error(rq, 410, "expired",
			"this login code is old: the code on the screen changes every few seconds; scan it again");
	} else if (rc != SL_OK) {
		http_send_oauth_error(rq, 400, "invalid_token", "this is not a sleutel login code");
	} else if (store_authreq_get(srv->sv_store, id, &ar) != SL_OK || strcmp(ar.ar_kind, "authorize") != 0 ||
		   strcmp(ar.ar_status, "pending") != 0 || ar.ar_expires <= sl_now()) {
		http_send_oauth_error(rq, 410, "expired", "this login code has expired; reload the page");
	} else if (crypto_token_hash(tok, hash) != SL_OK ||
		   store_jti_use(srv->sv_store, QR_JTI_CLIENT, hash, ar.ar_expires) != SL_OK) {
		http_send_oauth_error(rq, 409, "already_used", "this login code was scanned before; reload the page");
	} else if (store_account_get(srv->sv_store, dev.dv_account_id, &ac) != SL_OK) {
		http_send_oauth_error(rq, 404, "not_found", "this device has no account");
	} else {
		scan_make(srv, rq, &ar, &ac);
	}
	free(tok);
	store_authreq_clear(&ar);
	store_account_clear(&ac);
	store_device_clear(&dev);
}
