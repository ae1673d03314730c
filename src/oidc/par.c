/*
 * par.c — pushed authorization requests (RFC 9126).  The client sends the
 * parameters over its authenticated back channel; they are validated as
 * at the authorization endpoint and kept under a request_uri that lives
 * par_lifetime seconds (its one-time use at /authorize: authorize.c).
 *
 * DPoP (RFC 9449 §10.1): a proof sent with the push binds the code to its
 * key, as a dpop_jkt parameter does; when both come they must agree.
 */
#include <stdlib.h>

#include "oidc_int.h"

void
oidc_par(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	struct store_client c;
	struct store_authreq ar;
	struct authz_error ae;
	const char *repeated, *redirect_uri;
	json_t *in, *params = NULL, *o, *uris;
	char endpoint[512], uri[256], *id = NULL, *json = NULL;
	int rc;
	struct oidc_dpop dp;
	const char *jkt;

	if (!http_form_body_required(rq))
		return;
	in = params_collect(rq, &repeated);
	if (in == NULL) {
		http_send_oauth_error(rq, 400, "invalid_request", "a parameter was given more than once");
		return;
	}
	snprintf(endpoint, sizeof(endpoint), "%s/par", srv->sv_conf->c_issuer);
	if (client_authenticate(srv, rq, endpoint, &c) != SL_OK) {
		json_decref(in);
		return;
	}
	if (oidc_dpop_check(srv, rq, "/par", NULL, &dp) != SL_OK) {
		json_decref(in);
		store_client_clear(&c);
		return;
	}
	/* The authenticated client is the request's client. */
	json_object_set_new(in, "client_id", json_string(c.cl_id));
	json_object_del(in, "client_secret");
	json_object_del(in, "client_assertion");
	json_object_del(in, "client_assertion_type");
	memset(&ae, 0, sizeof(ae));
	rc = request_object_take(srv, in, &c, &ae); /* RFC 9101: its claims are the request */
	/* dpop_jkt is read after the request object replaced the parameters:
	 * inside one, only its own counts. */
	jkt = rc == SL_OK ? params_str(in, "dpop_jkt") : NULL;
	if (jkt != NULL && (!oidc_jkt_valid(jkt) || (dp.od_present && strcmp(jkt, dp.od_jkt) != 0))) {
		oidc_dpop_fail(srv, rq, false, "invalid_dpop_proof",
			"dpop_jkt is not a key thumbprint, or not the thumbprint of the proof's key");
		json_decref(in);
		store_client_clear(&c);
		return;
	}
	if (dp.od_present)
		jkt = dp.od_jkt;
	redirect_uri = params_str(in, "redirect_uri");
	uris = json_loads(c.cl_redirect_uris, 0, NULL);
	if (rc == SL_OK && (redirect_uri == NULL || !json_array_has(uris, redirect_uri))) {
		http_send_oauth_error(rq, 400, "invalid_request", "redirect_uri is missing or not registered");
	} else if (rc != SL_OK || params_validate(srv, in, &c, true, &params, &ae) != SL_OK) {
		http_send_oauth_error(rq, 400, ae.ae_error, ae.ae_desc);
	} else {
		if (jkt != NULL)
			json_object_set_new(params, "dpop_jkt", json_string(jkt));
		id = sl_random_id(32);
		json = json_dumps(params, JSON_COMPACT);
		memset(&ar, 0, sizeof(ar));
		ar.ar_id = id;
		ar.ar_kind = (char *)"par";
		ar.ar_client_id = c.cl_id;
		ar.ar_params = json;
		ar.ar_expires = sl_now() + srv->sv_conf->c_par_lifetime;
		if (id == NULL || json == NULL || store_authreq_put(srv->sv_store, &ar) != SL_OK) {
			http_send_oauth_error(rq, 503, "temporarily_unavailable", NULL);
		} else {
			snprintf(uri, sizeof(uri), "%s%s", OIDC_PAR_URN, id);
			o = json_object();
			json_object_set_new(o, "request_uri", json_string(uri));
			json_object_set_new(o, "expires_in", json_integer(srv->sv_conf->c_par_lifetime));
			if (dp.od_present)
				oidc_dpop_nonce_header(srv, rq);
			http_send_json(rq, 201, o);
		}
	}
	json_decref(uris);
	json_decref(params);
	json_decref(in);
	free(id);
	free(json);
	store_client_clear(&c);
}
