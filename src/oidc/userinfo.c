/*
 * userinfo.c — the UserInfo endpoint (OIDC Core §5.3): a bearer access
 * token in the Authorization header (GET or POST) or in a form body
 * (RFC 6750 §2.2); the claims its scope and claims request allow.
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

void
oidc_userinfo(void *ctx, struct http_request *rq)
{
	struct server *srv = ctx;
	const char *authz = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *body_token = http_form(rq, "access_token"), *token = NULL;
	char hash[2 * SL_SHA256_LEN + 1], *sub;
	struct store_client c;
	struct store_token t;
	json_t *claims, *req;

	if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0)
		token = authz + 7;
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
	req = t.t_claims ? json_loads(t.t_claims, 0, NULL) : NULL;
	claims = claims_for(srv, t.t_person_id, t.t_scope, req, "userinfo");
	sub = oidc_subject(srv, &c, t.t_person_id);
	json_object_set_new(claims, "sub", json_string(sub ? sub : ""));
	http_send_json(rq, 200, claims);
	free(sub);
	json_decref(req);
	store_client_clear(&c);
	store_token_clear(&t);
}
