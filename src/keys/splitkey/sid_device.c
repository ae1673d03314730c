/*
 * sid_device.c — who is asking on the Smart-ID device API: the proof (the
 * DPoP header, docs/device-api.md) of an active Smart-ID device of an
 * active account, with the app key's proof toolkit; the request object a
 * device sees; ids in paths.
 *
 * The proof's kid is looked up among Smart-ID devices only: an app-key
 * device's transport key is no Smart-ID device.  A revoked or removed
 * device, or one whose account an operator blocked, gets 401 invalid_proof
 * after its proof checked out, so a stranger learns nothing by trying.
 */
#include <stdlib.h>
#include <string.h>

#include "sid_login_int.h"

const struct store_lockout sid_lockout = { SID_LOCK1_FAILURES, SID_LOCK1_SECONDS, SID_LOCK2_FAILURES, SID_LOCK2_SECONDS,
	SID_LOCK_FOREVER_FAILURES };

/* The device is active and its account too; err says why not. */
static int
usable(struct server *srv, const struct store_sid_device *d, struct sl_err *err)
{
	struct store_sid_account acct = { 0 };
	int rc = SL_OK;

	if (strcmp(d->sd_status, "active") != 0)
		return sl_fail(err, SL_EDENIED, "this device is %s", d->sd_status);
	if (store_sid_account_get(srv->sv_store, d->sd_account_id, &acct) != SL_OK ||
		strcmp(acct.sa_status, "active") != 0)
		rc = sl_fail(err, SL_EDENIED, "this device's account is blocked");
	store_sid_account_clear(&acct);
	return rc;
}

int
sid_device_authenticate(struct server *srv, struct http_request *rq, struct store_sid_device *out)
{
	struct sl_err err = { 0 };
	struct app_proof pr;
	char jkt[APP_JKT_LEN + 1];
	json_t *jwk = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (app_proof_kid(http_header(rq, "DPoP"), jkt) != SL_OK) {
		app_send_invalid_proof(rq, "no DPoP proof with a key id");
		return SL_EDENIED;
	}
	rc = store_sid_device_by_jkt(srv->sv_store, jkt, out);
	if (rc == SL_OK)
		jwk = json_loads(out->sd_transport_jwk, 0, NULL);
	if (rc != SL_OK || jwk == NULL) {
		if (rc == SL_OK || rc == SL_ENOTFOUND)
			app_send_invalid_proof(rq, "unknown device key");
		else
			app_send_error(rq, 503, "temporarily_unavailable", "the store is not available", NULL);
		store_sid_device_clear(out);
		return SL_EDENIED;
	}
	rc = app_proof_check(srv, rq, jwk, &pr, &err);
	json_decref(jwk);
	if (rc == SL_OK)
		rc = usable(srv, out, &err);
	if (rc != SL_OK) {
		app_send_invalid_proof(rq, err.msg);
		store_sid_device_clear(out);
		return SL_EDENIED;
	}
	return SL_OK;
}

/* The portal login's binding fields ("bind"): an RP API request has none
 * (what it signs is built from "rp_api"). */
static json_t *
rp_api_json(const struct store_sid_request *r)
{
	json_t *o = r->sq_extra ? json_loads(r->sq_extra, 0, NULL) : NULL;

	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_object();
}

json_t *
sid_request_json(const struct store_sid_request *r, int64_t now)
{
	bool rp = sidrp_is_rp_request(r);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:I}", "id", r->sq_id, "rp_name", r->sq_rp_name,
		"action", r->sq_action, "key", r->sq_key_use, "display_text", r->sq_display_text, "verification_code",
		r->sq_vc, "digest", r->sq_digest, "padding", r->sq_padding, "expires_in",
		(json_int_t)(r->sq_expires > now ? r->sq_expires - now : 0));

	if (o == NULL)
		return NULL;
	if (!sl_str_empty(r->sq_hash))
		json_object_set_new(o, "hash", json_string(r->sq_hash));
	if (rp)
		json_object_set_new(o, "rp_api", rp_api_json(r));
	else
		json_object_set_new(o, "bind", json_pack("{s:s,s:s}", "rp_id", r->sq_client_id, "nonce", r->sq_nonce));
	return o;
}

bool
sid_request_for_device(const struct store_sid_request *r, const char *device_id)
{
	return r->sq_device_only == NULL || strcmp(r->sq_device_only, device_id) == 0;
}

bool
sid_path_id(struct http_request *rq, const char *prefix, const char *suffix, char out[APP_ID_MAX + 1])
{
	const char *path = http_path(rq);
	size_t plen = strlen(prefix), slen = suffix ? strlen(suffix) : 0, n;

	out[0] = '\0';
	if (strncmp(path, prefix, plen) != 0)
		return false;
	path += plen;
	n = strlen(path);
	if (n <= slen || n - slen > APP_ID_MAX || (slen > 0 && strcmp(path + n - slen, suffix) != 0))
		return false;
	memcpy(out, path, n - slen);
	out[n - slen] = '\0';
	return app_id_ok(out);
}
