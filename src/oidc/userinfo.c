/*
 * userinfo.c — the UserInfo endpoint (OIDC Core §5.3): a bearer access
 * token in the Authorization header (GET or POST) or in a form body
 * (RFC 6750 §2.2); the claims its scope and claims request allow.
 * A DPoP-bound token (RFC 9449 §7) comes as "Authorization: DPoP <token>"
 * with a proof of its key.
 */
#include <stdlib.h>

#include <microhttpd.h>

#include "oidc_int.h"

static void
bearer_error(struct http_request *rq, int status, const char *error, const char *desc)
{
	char hdr[256];

	if (error != NULL)
		snprintf(hdr, sizeof(hdr), "Bearer error=\"%s\"", error);
	else
		snprintf(hdr, sizeof(hdr), "Bearer");
	http_add_header(rq, "WWW-Authenticate", hdr);
	http_send_oauth_error(rq, status, error ? error : "invalid_request", desc);
}

/* RFC 9449 §7: a DPoP-bound token goes with the DPoP scheme and a proof
 * of its key (with ath); a bound token sent as a bearer token is refused,
 * and so is the DPoP scheme with a bearer token.  True when the request
 * may go on (the nonce header then added); else the answer is sent. */
static bool
dpop_binding_ok(
	struct server *srv, struct http_request *rq, const struct store_token *t, const char *token, bool dpop_scheme)
{
	struct oidc_dpop dp;

	if (t->t_jkt == NULL && !dpop_scheme)
		return true;
	if (!dpop_scheme) {
		oidc_dpop_fail(srv, rq, true, "invalid_token", "the access token is DPoP-bound: use the DPoP scheme");
		return false;
	}
	if (t->t_jkt == NULL) {
		bearer_error(rq, 401, "invalid_token", "the access token is not DPoP-bound: use the Bearer scheme");
		return false;
	}
	if (oidc_dpop_check(srv, rq, "/userinfo", token, &dp) != SL_OK)
		return false;
	if (!dp.od_present) {
		oidc_dpop_fail(srv, rq, true, "invalid_dpop_proof", "a DPoP proof is required with a DPoP token");
		return false;
	}
	if (!sl_ct_streq(dp.od_jkt, t->t_jkt)) {
		oidc_dpop_fail(
			srv, rq, true, "invalid_dpop_proof", "the proof's key is not the one the token is bound to");
		return false;
	}
	oidc_dpop_nonce_header(srv, rq);
	return true;
}

void
oidc_userinfo(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *authz = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *body_token = http_form(rq, "access_token"), *token = NULL;
	char hash[2 * SL_SHA256_LEN + 1], *sub, *scope;
	const char *asked;
	struct store_client c;
	struct store_token t;
	json_t *claims, *req;
	bool dpop_scheme = false;

	/* auth schemes are case-insensitive (RFC 9110 §11.1) */
	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0)
		token = authz + 7;
	else if (authz != NULL && strncasecmp(authz, "DPoP ", 5) == 0) {
		token = authz + 5;
		dpop_scheme = true;
	}
	if ((token != NULL) + (body_token != NULL) + (http_query(rq, "access_token") != NULL) != 1 ||
		(token == NULL && body_token == NULL)) {
		bearer_error(rq, 401, NULL, "one bearer access token is required");
		return;
	}
	if (token == NULL)
		token = body_token;
	if (strlen(token) > 128 || crypto_token_hash(token, hash) != SL_OK ||
		store_token_get(srv->sv_store, hash, &t) != SL_OK) {
		bearer_error(rq, 401, "invalid_token", "unknown access token");
		return;
	}
	if (strcmp(t.t_kind, "access") != 0 || t.t_revoked || t.t_expires <= sl_now() ||
		store_client_get(srv->sv_store, t.t_client_id, &c) != SL_OK) {
		bearer_error(rq, 401, "invalid_token", "the access token is expired or revoked");
		store_token_clear(&t);
		return;
	}
	if (!dpop_binding_ok(srv, rq, &t, token, dpop_scheme)) {
		store_client_clear(&c);
		store_token_clear(&t);
		return;
	}
	/* What the token was granted, within what its client may be granted
	 * now: an operator who takes eid away from a client stops the
	 * national register number at once, for tokens issued before too. */
	scope = scope_grant(t.t_scope, c.cl_scopes);
	asked = grant_claims_now(&c, t.t_claims);
	req = asked ? json_loads(asked, 0, NULL) : NULL;
	claims = claims_for(srv, t.t_person_id, scope ? scope : "", req, "userinfo");
	sub = oidc_subject(srv, &c, t.t_person_id);
	json_object_set_new(claims, "sub", json_string(sub ? sub : ""));
	http_send_json(rq, 200, claims);
	free(scope);
	free(sub);
	json_decref(req);
	store_client_clear(&c);
	store_token_clear(&t);
}
